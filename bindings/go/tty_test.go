package sprout_test

import (
	"bufio"
	"errors"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"sprout.invalid/sprout"
)

// A fresh pseudo-terminal on stdio: the process leads a session with it as its controlling
// terminal, and Cmd.TTY drives it; a second process cannot take it from that session.
func TestTerminal(t *testing.T) {
	master, slave, err := sprout.Openpty(24, 80)
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	cmd := probeCmd("tty", "say", "ready", "pause")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	if cmd.TTY == nil {
		t.Fatal("no TTY for a process started on a terminal")
	}
	defer cmd.TTY.Close()
	lines := bufio.NewReader(master)
	for _, want := range []string{"devtty=ok", "ready"} {
		line, err := lines.ReadString('\n')
		if err != nil || strings.TrimSpace(line) != want {
			t.Fatalf("read %q, %v; want %q", line, err, want)
		}
	}
	if pgid, err := cmd.TTY.Foreground(); err != nil || pgid != cmd.Process.Pid {
		t.Errorf("Foreground = %d, %v; want the process's group %d", pgid, err, cmd.Process.Pid)
	}
	if err := cmd.TTY.Resize(30, 100); err != nil {
		t.Fatal(err)
	}
	var size struct{ rows, cols, x, y uint16 }
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCGWINSZ, uintptr(unsafe.Pointer(&size))); errno != 0 || size.rows != 30 || size.cols != 100 {
		t.Errorf("window %dx%d (%v), want 30x100", size.rows, size.cols, errno)
	}
	if err := cmd.TTY.SetForeground(cmd.Process.Pid); !errors.Is(err, syscall.EPERM) {
		t.Errorf("SetForeground on another session's terminal = %v, want EPERM", err)
	}

	// The terminal belongs to the process's session now.
	second := probeCmd()
	second.Stdin = slave
	var e *sprout.Error
	if err := second.Run(); !errors.Is(err, syscall.EPERM) || !errors.As(err, &e) || e.Stage != sprout.StageTTY {
		t.Errorf("taking another session's terminal = %v, want EPERM at stage tty", err)
	}
	// Unless told not to treat it as one.
	third := probeCmd("report")
	third.Stdin, third.NoTTY = slave, true
	if r := probeReport(t, third); r.one(t, "sid") == r.one(t, "pid") || third.TTY != nil {
		t.Errorf("NoTTY: sid %q pid %q TTY %v", r["sid"], r["pid"], third.TTY)
	}
	slave.Close()

	if err := cmd.TTY.SignalForeground(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil || err.Error() != "signal: killed" {
		t.Errorf("Wait = %v, want signal: killed", err)
	}
	if err := cmd.TTY.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.TTY.Close(); !errors.Is(err, syscall.EBADF) {
		t.Errorf("a second Close = %v, want EBADF", err)
	}
	if _, err := cmd.TTY.Fd(); !errors.Is(err, syscall.EBADF) {
		t.Errorf("Fd after Close = %v, want EBADF", err)
	}
}

func TestNewSessionLeadsASessionWithoutTerminal(t *testing.T) {
	cmd := probeCmd("report", "tty")
	cmd.NewSession = true
	r := probeReport(t, cmd)
	if r.one(t, "sid") != r.one(t, "pid") || r.one(t, "devtty") == "ok" {
		t.Errorf("sid %q pid %q devtty %q", r["sid"], r["pid"], r["devtty"])
	}
}

package sprout_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"sprout.invalid/sprout"
)

// freePort is a TCP port of 127.0.0.1 nothing listens on (the kernel's pick, released).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// A ruleset built in one call restricts the process: /usr and one directory readable, one
// port to bind, no signal outside its domain; the caller's file stays usable for more spawns.
func TestLandlockRulesetRestrictsTheProgram(t *testing.T) {
	abi, err := sprout.LandlockABI()
	if err != nil || abi < 6 {
		t.Fatalf("LandlockABI = %d, %v (this machine's kernel has 7)", abi, err)
	}
	dir, err := os.MkdirTemp("", "sprout-landlock-")
	if err == nil {
		err = os.Chmod(dir, 0o755) // read by uid 65534 too
	}
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "x"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	ruleset, dropped, err := sprout.CreateLandlockRuleset(&sprout.LandlockRuleset{
		HandledFS:  sprout.LandlockFSAll,
		HandledNet: sprout.LandlockNetBindTCP,
		Scoped:     sprout.LandlockScopeSignal,
		Paths: []sprout.LandlockPath{
			{Path: "/usr", Access: sprout.LandlockFSRead},
			{Path: dir, Access: sprout.LandlockFSRead},
			{Path: probe, Access: sprout.LandlockFSReadFile | sprout.LandlockFSExecute},
		},
		Ports: []sprout.LandlockPort{{Port: uint16(port), Access: sprout.LandlockNetBindTCP}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ruleset.Close()
	if dropped != (sprout.LandlockDropped{}) {
		t.Errorf("strict mode dropped %+v", dropped)
	}
	for i := 0; i < 2; i++ {
		cmd := probeCmd("open", "/etc/passwd", "open", filepath.Join(dir, "x"), "bind",
			strconv.Itoa(port), "bind", strconv.Itoa(port+1), "kill", "ppid", "0")
		cmd.NoNewPrivs = true
		cmd.Landlock = ruleset
		if i == 1 {
			cmd.Credential = &sprout.Credential{Uid: 65534, Gid: 65534}
		}
		r := probeReport(t, cmd)
		want := []string{"errno 13 (Permission denied)", "ok"}
		if !equal(r["open"], want) {
			t.Errorf("spawn %d: open: %q, want %q", i, r["open"], want)
		}
		if b := r["bind"]; len(b) != 2 || b[0] != "ok" || !strings.HasPrefix(b[1], "errno 13 ") {
			t.Errorf("spawn %d: bind %d, %d: %q", i, port, port+1, b)
		}
		if k := r.one(t, "kill"); !strings.HasPrefix(k, "errno 1 ") {
			t.Errorf("spawn %d: kill of the caller: %q", i, k)
		}
	}

	// The same program without the ruleset reaches all of it.
	r := probeReport(t, probeCmd("open", "/etc/passwd", "kill", "ppid", "0"))
	if r.one(t, "open") != "ok" || r.one(t, "kill") != "ok" {
		t.Errorf("without Landlock: %q", r)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Strict mode names what the request lacks; best effort on a right this kernel has drops
// nothing; a bad request is an *Error of StageLandlock.
func TestLandlockRulesetRequestsAreChecked(t *testing.T) {
	_, _, err := sprout.CreateLandlockRuleset(&sprout.LandlockRuleset{
		HandledFS: sprout.LandlockFSReadFile,
		Paths:     []sprout.LandlockPath{{Path: "/usr", Access: sprout.LandlockFSExecute}},
	})
	var e *sprout.Error
	if !errors.As(err, &e) || e.Errno != syscall.EINVAL {
		t.Fatalf("a rule outside the handled rights: %v", err)
	}
	_, _, err = sprout.CreateLandlockRuleset(&sprout.LandlockRuleset{
		HandledFS: sprout.LandlockFSReadFile,
		Paths:     []sprout.LandlockPath{{Path: "/nonexistent-sprout", Access: sprout.LandlockFSReadFile}},
	})
	if !errors.As(err, &e) || e.Errno != syscall.ENOENT || !strings.Contains(e.Error(), "/nonexistent-sprout") {
		t.Fatalf("a missing path: %v", err)
	}
	dir, err := os.Open("/usr")
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	ruleset, dropped, err := sprout.CreateLandlockRuleset(&sprout.LandlockRuleset{
		HandledFS:  sprout.LandlockFSReadFile,
		Paths:      []sprout.LandlockPath{{File: dir, Access: sprout.LandlockFSReadFile}},
		BestEffort: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ruleset.Close()
	if dropped != (sprout.LandlockDropped{}) {
		t.Errorf("best effort dropped %+v on a kernel with every right asked", dropped)
	}
	cmd := probeCmd("report")
	cmd.LandlockRestrictFlags = 1
	if err := cmd.Run(); err == nil || !errors.As(err, &e) || e.Errno != syscall.EINVAL {
		t.Errorf("LandlockRestrictFlags without Landlock: %v", err)
	}
}

// The kernel's struct seccomp_notif and struct seccomp_notif_resp, and their ioctls.
type seccompNotif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Nr    int32
	Arch  uint32
	IP    uint64
	Args  [6]uint64
}

type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

const (
	seccompIoctlNotifRecv = 0xc0502100 // _IOWR('!', 0, struct seccomp_notif)
	seccompIoctlNotifSend = 0xc0182101 // _IOWR('!', 1, struct seccomp_notif_resp)
)

// answer receives one notification of pid and answers it with val and errno (negative).
func answer(t *testing.T, listener *os.File, pid int, val int64, errno int32) {
	t.Helper()
	var req seccompNotif
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, listener.Fd(), seccompIoctlNotifRecv, uintptr(unsafe.Pointer(&req))); e != 0 {
		t.Fatalf("NOTIF_RECV: %v", e)
	}
	if int(req.Pid) != pid {
		t.Fatalf("a notification from pid %d, not %d", req.Pid, pid)
	}
	resp := seccompNotifResp{ID: req.ID, Val: val, Error: errno}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, listener.Fd(), seccompIoctlNotifSend, uintptr(unsafe.Pointer(&resp))); e != 0 {
		t.Fatalf("NOTIF_SEND: %v", e)
	}
}

// mkdirToListener is a seccomp program that sends mkdir to the listener and allows the rest.
func mkdirToListener() []sprout.SockFilter {
	const (
		ldAbsW = 0x20
		jeqK   = 0x15
		retK   = 0x06
		allow  = 0x7fff0000
		notify = 0x7fc00000
	)
	prog := []sprout.SockFilter{{Code: ldAbsW, K: 0}}
	for _, nr := range sysMkdirCalls {
		prog = append(prog,
			sprout.SockFilter{Code: jeqK, Jt: 0, Jf: 1, K: uint32(nr)},
			sprout.SockFilter{Code: retK, K: notify})
	}
	return append(prog, sprout.SockFilter{Code: retK, K: allow})
}

// The child's mkdir goes to the listener the caller took; the caller's answers (an errno,
// then a success with a value) are what the child sees. The listener is handed over once.
func TestSeccompListenerAnswersTheChildsMkdir(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	cmd := probeCmd("mkdir", filepath.Join(dir, "a"), "mkdir", filepath.Join(dir, "b"))
	cmd.Stdout = &out
	cmd.NoNewPrivs = true
	cmd.Seccomp = mkdirToListener()
	cmd.SeccompFlags = sprout.SeccompFlagNewListener
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listener, err := cmd.Process.SeccompListener()
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal(err)
	}
	defer listener.Close()
	if again, err := cmd.Process.SeccompListener(); err == nil {
		again.Close()
		t.Error("the listener was handed over twice")
	}
	answer(t, listener, cmd.Process.Pid, 0, -int32(syscall.EPERM))
	answer(t, listener, cmd.Process.Pid, 42, 0)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	got := parseReport(out.Bytes())["mkdir"]
	if want := []string{"-1 errno=1", "42 errno=0"}; !equal(got, want) {
		t.Errorf("mkdir: %q, want %q", got, want)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the answered mkdirs made %d directories", len(entries))
	}
}

// A paused process is visible (pid, pidfd, /proc/PID/status with everything applied) before
// Resume; Resume runs its program; a kill of a paused process is a clean abort; an exec
// failure comes from Resume.
func TestPausedStartAndResume(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := probeCmd("report")
	cmd.Stdout = w
	cmd.NoNewPrivs = true
	cmd.Paused = true
	err = cmd.Start()
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	pidfd, err := cmd.Process.Pidfd()
	if err != nil {
		t.Fatal(err)
	}
	pidfd.Close()
	if nnp := procStatus(t, cmd.Process.Pid, "NoNewPrivs"); nnp != "1" {
		t.Errorf("paused: NoNewPrivs %q", nnp)
	}
	// Nothing written yet, and the pipe's writer still open: the program has not run.
	// (Fd puts the file in blocking mode: called once.)
	fd := int(r.Fd())
	if err := syscall.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	var buf [1]byte
	if n, err := syscall.Read(fd, buf[:]); err != syscall.EAGAIN {
		t.Errorf("before Resume the pipe read %d, %v", n, err)
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Resume(); err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if pid := parseReport(out).one(t, "pid"); pid != strconv.Itoa(cmd.Process.Pid) {
		t.Errorf("the program's pid %s, not %d", pid, cmd.Process.Pid)
	}

	killed := probeCmd("report")
	killed.Paused = true
	if err := killed.Start(); err != nil {
		t.Fatal(err)
	}
	if err := killed.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	var exit *sprout.ExitError
	if err := killed.Wait(); !errors.As(err, &exit) || exit.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("a paused process killed: %v", err)
	}

	missing := sprout.Command("/nonexistent-sprout-program")
	missing.Paused = true
	if err := missing.Start(); err != nil {
		t.Fatal(err)
	}
	var e *sprout.Error
	if err := missing.Process.Resume(); !errors.As(err, &e) || e.Stage != sprout.StageExec || e.Errno != syscall.ENOENT {
		t.Errorf("Resume of a missing program: %v", err)
	}
	if err := missing.Wait(); err == nil {
		t.Error("Wait after a failed Resume found a process")
	}
}

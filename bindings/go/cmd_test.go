package sprout_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"sprout.invalid/sprout"
)

func TestRunReportsTheExitStatusAsExitError(t *testing.T) {
	if err := probeCmd("exit", "0").Run(); err != nil {
		t.Fatal(err)
	}
	cmd := probeCmd("exit", "7")
	err := cmd.Run()
	var exitErr *sprout.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 7 || exitErr.Success() || !exitErr.Exited() {
		t.Fatalf("Run = %v, want exit status 7", err)
	}
	if err.Error() != "exit status 7" || cmd.ProcessState.ExitCode() != 7 {
		t.Fatalf("%q, %v", err, cmd.ProcessState)
	}
	if status := cmd.ProcessState.Sys().(syscall.WaitStatus); status.ExitStatus() != 7 {
		t.Fatalf("Sys() = %#x", status)
	}
	if cmd.ProcessState.Pid() != cmd.Process.Pid {
		t.Fatalf("Pid() %d, Process.Pid %d", cmd.ProcessState.Pid(), cmd.Process.Pid)
	}
}

func TestAKilledProcessReportsItsSignal(t *testing.T) {
	cmd := probeCmd("pause")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pidfd, err := cmd.Process.Pidfd()
	if err != nil {
		t.Fatal(err)
	}
	pidfd.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var exitErr *sprout.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != -1 || err.Error() != "signal: terminated" {
		t.Fatalf("Wait = %v", err)
	}
	// Reaped: the pid is no longer the library's, and nothing reaches a reused one.
	if err := cmd.Process.Kill(); !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("Kill after Wait = %v, want os.ErrProcessDone", err)
	}
	if _, err := cmd.Process.Pidfd(); !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("Pidfd after Wait = %v, want os.ErrProcessDone", err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("a second Wait succeeded")
	}
}

func TestOutputAndCombinedOutput(t *testing.T) {
	out, err := probeCmd("say", "to stdout").Output()
	if err != nil || string(out) != "to stdout\n" {
		t.Fatalf("Output = %q, %v", out, err)
	}
	// The probe's unknown command goes to stderr, which Output keeps for the ExitError.
	_, err = probeCmd("no-such-command").Output()
	var exitErr *sprout.ExitError
	if !errors.As(err, &exitErr) || !strings.Contains(string(exitErr.Stderr), "unknown command no-such-command") {
		t.Fatalf("Output = %v (stderr %q)", err, exitErr.Stderr)
	}
	out, err = sprout.Command("/bin/sh", "-c", "echo out; echo err >&2; echo out2").CombinedOutput()
	if err != nil || string(out) != "out\nerr\nout2\n" {
		t.Fatalf("CombinedOutput = %q, %v", out, err)
	}
	cmd := probeCmd()
	cmd.Stdout = io.Discard
	if _, err := cmd.Output(); err == nil {
		t.Fatal("Output with Stdout set succeeded")
	}
}

func TestReadersAndWritersGoThroughPipes(t *testing.T) {
	var stdout, stderr bytes.Buffer
	cmd := sprout.Command("/bin/sh", "-c", "tr a-z A-Z; echo done >&2")
	cmd.Stdin = strings.NewReader("hello\n")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != "HELLO\n" || stderr.String() != "done\n" {
		t.Fatalf("stdout %q stderr %q", stdout.String(), stderr.String())
	}
	// A process that does not read its stdin is not an error of the copy.
	big := strings.NewReader(strings.Repeat("x", 1<<20))
	cmd = probeCmd("exit", "0")
	cmd.Stdin = big
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
}

func TestPipes(t *testing.T) {
	cmd := sprout.Command("/bin/sh", "-c", "read line; echo got $line; echo warn >&2")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(stdin, "it\n"); err != nil {
		t.Fatal(err)
	}
	stdin.Close()
	out, _ := io.ReadAll(stdout)
	errOut, _ := io.ReadAll(stderr)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if string(out) != "got it\n" || string(errOut) != "warn\n" {
		t.Fatalf("stdout %q stderr %q", out, errOut)
	}
	if _, err := cmd.StdoutPipe(); err == nil {
		t.Fatal("StdoutPipe after Start succeeded")
	}
}

// Files are passed on as they are: the same open file, at fd 0-2 and 3+ for ExtraFiles; every
// other fd is closed; nil stdio is /dev/null.
func TestFilesAreHandedOnAndEverythingElseIsClosed(t *testing.T) {
	extra, err := os.CreateTemp(t.TempDir(), "extra")
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	leak, err := os.Open("/etc/hostname") // open in the caller, close-on-exec as Go opens all
	if err != nil {
		t.Fatal(err)
	}
	defer leak.Close()
	cmd := probeCmd("report")
	cmd.ExtraFiles = []*os.File{nil, extra}
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	r := parseReport(out.Bytes())
	fds := map[string]bool{}
	for _, line := range r["fd"] {
		fds[line] = true
	}
	for _, want := range []string{"0 inherit -> /dev/null", "2 inherit -> /dev/null", "4 inherit -> " + extra.Name()} {
		if !fds[want] {
			t.Errorf("no fd %q in %q", want, r["fd"])
		}
	}
	if len(r["fd"]) != 4 {
		t.Errorf("fds %q, want 0, 1, 2 and 4 only", r["fd"])
	}
}

func TestEnvNilIsEmptyAndInheritEnvHandsOnTheCallers(t *testing.T) {
	t.Setenv("SPROUT_GO_TEST_VAR", "from-the-caller")
	r := probeReport(t, probeCmd("report"))
	if len(r["env"]) != 0 {
		t.Fatalf("Env nil gave %q, want an empty environment", r["env"])
	}
	cmd := probeCmd("report")
	cmd.Env = []string{"A=1", "B=2"}
	if env := strings.Join(probeReport(t, cmd)["env"], " "); env != "A=1 B=2" {
		t.Fatalf("env %q", env)
	}
	cmd = probeCmd("report")
	cmd.InheritEnv = true
	if env := probeReport(t, cmd)["env"]; !contains(env, "SPROUT_GO_TEST_VAR=from-the-caller") {
		t.Fatalf("InheritEnv gave %q", env)
	}
}

func contains(list []string, item string) bool {
	for _, x := range list {
		if x == item {
			return true
		}
	}
	return false
}

func TestDirDefaultsToRootAndUmaskTo022(t *testing.T) {
	r := probeReport(t, probeCmd("report"))
	if r.one(t, "cwd") != "/" || r.one(t, "umask") != "0022" {
		t.Fatalf("cwd %q umask %q", r["cwd"], r["umask"])
	}
	dir := t.TempDir()
	mask := os.FileMode(0o077)
	cmd := probeCmd("report")
	cmd.Dir, cmd.Umask = dir, &mask
	r = probeReport(t, cmd)
	if r.one(t, "cwd") != dir || r.one(t, "umask") != "0077" {
		t.Fatalf("cwd %q umask %q", r["cwd"], r["umask"])
	}
}

// A name without '/' is searched in the PATH of the new environment, not the caller's.
func TestANameIsSearchedInTheNewEnvironmentsPath(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink(probe, dir+"/sprout-go-probe"); err != nil {
		t.Fatal(err)
	}
	cmd := sprout.Command("sprout-go-probe", "say", "found")
	cmd.Env = []string{"PATH=/nonexistent:" + dir}
	if out, err := cmd.Output(); err != nil || string(out) != "found\n" {
		t.Fatalf("Output = %q, %v", out, err)
	}
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	err := sprout.Command("sprout-go-probe").Run()
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the caller's PATH was searched: %v", err)
	}
}

func TestExecFileRunsAnOpenFile(t *testing.T) {
	f, err := os.Open(probe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := sprout.Command("any-name", "report")
	cmd.ExecFile = f
	r := probeReport(t, cmd)
	if args := r["arg"]; len(args) != 2 || args[0] != "any-name" {
		t.Fatalf("args %q", args)
	}
}

func TestStartTwiceAndNoCommandFail(t *testing.T) {
	cmd := probeCmd("exit", "0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err == nil {
		t.Fatal("a second Start succeeded")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := (&sprout.Cmd{}).Start(); err == nil {
		t.Fatal("an empty Cmd started")
	}
	if err := (&sprout.Cmd{}).Wait(); err == nil {
		t.Fatal("Wait without Start succeeded")
	}
}

func TestCommandContextKillsOnCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	cmd := sprout.CommandContext(ctx, probe, "pause")
	err := cmd.Run()
	if err == nil || err.Error() != "signal: killed" {
		t.Fatalf("Run = %v, want signal: killed", err)
	}
	// A done Context refuses to start.
	if err := sprout.CommandContext(ctx, probe).Start(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Start with a done Context = %v", err)
	}
}

// A process that exits 0 after Cancel reports the Context's error; a Cancel that fails is
// reported too.
func TestCancelErrorsAreReported(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cmd := sprout.CommandContext(ctx, probe, "pause")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGUSR1) }
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := cmd.Wait(); err == nil || err.Error() != "signal: user defined signal 1" {
		t.Fatalf("Wait = %v", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	cmd = sprout.CommandContext(ctx, "/bin/sh", "-c", "read x; exit 0")
	stdin, _ := cmd.StdinPipe()
	cmd.Cancel = func() error { return stdin.Close() } // interrupts: the shell exits 0
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := cmd.Wait(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	cmd = sprout.CommandContext(ctx, "/bin/sh", "-c", "read x; exit 0")
	stdin, _ = cmd.StdinPipe()
	failed := errors.New("cancel failed")
	cmd.Cancel = func() error { stdin.Close(); return failed }
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := cmd.Wait(); !errors.Is(err, failed) {
		t.Fatalf("Wait = %v, want the Cancel's error", err)
	}
}

// WaitDelay kills a process that ignores Cancel, and closes pipes held open by its children.
func TestWaitDelay(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cmd := sprout.CommandContext(ctx, probe, "pause")
	cmd.Cancel = func() error { return nil } // ignored
	cmd.WaitDelay = 50 * time.Millisecond
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := cmd.Wait(); err == nil || err.Error() != "signal: killed" {
		t.Fatalf("Wait = %v, want signal: killed", err)
	}

	// The shell exits at once but leaves a child holding its stdout.
	cmd = sprout.Command("/bin/sh", "-c", probe+" sleep 3000 & echo started")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.WaitDelay = 100 * time.Millisecond
	start := time.Now()
	err := cmd.Run()
	if !errors.Is(err, sprout.ErrWaitDelay) || out.String() != "started\n" {
		t.Fatalf("Run = %v after %v, output %q", err, time.Since(start), out.String())
	}
}

// An *os.File from os.Pipe is non-blocking for Go's poller; the process gets it in blocking
// mode, as from os/exec, or its writes into a full pipe would fail with EAGAIN.
func TestAPipeFileIsHandedOnBlocking(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := probeCmd("spew", "20000")
	cmd.Stdout = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	time.Sleep(100 * time.Millisecond) // let the pipe fill up
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(out), "\n"); lines != 20000 {
		t.Fatalf("%d lines, want 20000", lines)
	}
}

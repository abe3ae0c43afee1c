package sprout_test

import (
	"errors"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"sprout.invalid/sprout"
)

// statFields are the fields of /proc/PID/stat after the command name, from field 3 (state).
func statFields(t *testing.T, pid int) []string {
	t.Helper()
	text, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(text[strings.LastIndexByte(string(text), ')')+1:]))
}

// started starts cmd (the probe in "wait", its stdin a pipe) and returns it with a function
// that releases it and waits.
func started(t *testing.T, cmd *sprout.Cmd) (*sprout.Cmd, func()) {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Error(err)
		}
	}
}

func procStatus(t *testing.T, pid int, field string) string {
	t.Helper()
	text, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(text), "\n") {
		if name, value, ok := strings.Cut(line, ":"); ok && name == field {
			return strings.TrimSpace(value)
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return ""
}

func TestSetpgidAndPgid(t *testing.T) {
	cmd := probeCmd("wait")
	cmd.Setpgid = true
	leader, release := started(t, cmd)
	defer release()
	if pgrp := statFields(t, leader.Process.Pid)[2]; pgrp != strconv.Itoa(leader.Process.Pid) {
		t.Fatalf("pgrp %s, want the process's own %d", pgrp, leader.Process.Pid)
	}
	cmd = probeCmd("wait")
	cmd.Setpgid, cmd.Pgid = true, leader.Process.Pid
	member, release2 := started(t, cmd)
	defer release2()
	if pgrp := statFields(t, member.Process.Pid)[2]; pgrp != strconv.Itoa(leader.Process.Pid) {
		t.Fatalf("pgrp %s, want the leader's %d", pgrp, leader.Process.Pid)
	}
	bad := probeCmd("exit", "0")
	bad.Pgid = 5
	var e *sprout.Error
	if err := bad.Run(); !errors.As(err, &e) || e.Stage != sprout.StageArgs || e.Errno != syscall.EINVAL {
		t.Fatalf("Pgid without Setpgid: %v", err)
	}
}

func TestSignalMaskKeptIgnoredSignalsAndUmask(t *testing.T) {
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	defer signal.Reset(syscall.SIGHUP, syscall.SIGPIPE)
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)

	cmd := probeCmd("report")
	cmd.SignalMask = []syscall.Signal{syscall.SIGUSR1, syscall.SIGTERM}
	cmd.KeepIgnoredSignals = true
	cmd.DefaultSignals = []syscall.Signal{syscall.SIGPIPE}
	cmd.KeepUmask = true
	r := probeReport(t, cmd)
	if blk := r.status(t, "SigBlk"); blk != "0000000000004200" {
		t.Errorf("SigBlk %s", blk)
	}
	ign, _ := strconv.ParseUint(r.status(t, "SigIgn"), 16, 64)
	if ign&(1<<(syscall.SIGHUP-1)) == 0 || ign&(1<<(syscall.SIGPIPE-1)) != 0 {
		t.Errorf("SigIgn %#x: SIGHUP kept ignored, SIGPIPE back to default", ign)
	}
	if umask := r.one(t, "umask"); umask != "0027" {
		t.Errorf("umask %s, want the caller's 0027", umask)
	}
	// Without them: 1.0's defaults.
	r = probeReport(t, probeCmd("report"))
	if ign := r.status(t, "SigIgn"); ign != "0000000000000000" {
		t.Errorf("SigIgn %s without KeepIgnoredSignals", ign)
	}
	if umask := r.one(t, "umask"); umask != "0022" {
		t.Errorf("umask %s without KeepUmask", umask)
	}
}

func TestOOMScoreAdjSchedulerIOPriorityAndCPUAffinity(t *testing.T) {
	adj := 500
	cmd := probeCmd("wait")
	cmd.OOMScoreAdj = &adj
	cmd.Scheduler = &sprout.Scheduler{Policy: sprout.SchedBatch, Nice: 6}
	cmd.IOPriority = &sprout.IOPriority{Class: sprout.IOPrioBestEffort, Level: 5}
	cpu := runtime.NumCPU() - 1
	cmd.CPUAffinity = []int{cpu}
	c, release := started(t, cmd)
	defer release()
	pid := c.Process.Pid
	if got, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/oom_score_adj"); strings.TrimSpace(string(got)) != "500" {
		t.Errorf("oom_score_adj %q", got)
	}
	// struct sched_attr: size, policy, flags (64 bits), nice, ...
	var attr [14]uint32
	if _, _, errno := syscall.Syscall6(sysSchedGetattr, uintptr(pid), uintptr(unsafe.Pointer(&attr[0])), 56, 0, 0, 0); errno != 0 {
		t.Fatal(errno)
	}
	if attr[1] != uint32(sprout.SchedBatch) || int32(attr[4]) != 6 {
		t.Errorf("policy %d nice %d", attr[1], int32(attr[4]))
	}
	if prio, _, _ := syscall.Syscall(syscall.SYS_IOPRIO_GET, 1, uintptr(pid), 0); prio != 2<<13|5 {
		t.Errorf("ioprio %#x", prio)
	}
	if list := procStatus(t, pid, "Cpus_allowed_list"); list != strconv.Itoa(cpu) {
		t.Errorf("Cpus_allowed_list %s, want %d", list, cpu)
	}
	// A scheduler the library refuses: the stage says where.
	bad := probeCmd("exit", "0")
	bad.Scheduler = &sprout.Scheduler{Policy: sprout.SchedFIFO, Nice: 3, Priority: 1}
	var e *sprout.Error
	if err := bad.Run(); !errors.As(err, &e) || e.Stage != sprout.StageArgs {
		t.Fatalf("nice with SCHED_FIFO: %v", err)
	}
	bad = probeCmd("exit", "0")
	bad.CPUAffinity = []int{}
	if err := bad.Run(); !errors.As(err, &e) || e.Stage != sprout.StageArgs {
		t.Fatalf("an empty CPUAffinity: %v", err)
	}
}

func TestPersonalityHostnameAndChroot(t *testing.T) {
	needRoot(t)
	persona := sprout.PerLinux32 | sprout.AddrNoRandomize
	cmd := probeCmd("cat", "/proc/self/personality", "cat", "/proc/sys/kernel/hostname")
	cmd.Personality = &persona
	cmd.Namespaces = []sprout.Namespace{{Type: sprout.UTSNS}}
	cmd.Hostname = "go-box"
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "cat=00040008\ncat=go-box\n" {
		t.Errorf("the program read %q", out)
	}

	root := t.TempDir()
	if err := os.Mkdir(root+"/bin", 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(probe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(root+"/bin/probe", data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, byFile := range []bool{false, true} {
		cmd := sprout.Command("/bin/probe", "wait")
		if byFile {
			f, err := os.Open(root)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cmd.ChrootFile = f
		} else {
			cmd.Chroot = root
		}
		c, release := started(t, cmd)
		if got, _ := os.Readlink("/proc/" + strconv.Itoa(c.Process.Pid) + "/root"); got != root {
			t.Errorf("root %s, want %s (ChrootFile: %v)", got, root, byFile)
		}
		release()
	}
}

// The tracer is the OS thread that called Start: this goroutine, locked to it.
func TestPtrace(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd := probeCmd("exit", "3")
	cmd.Ptrace = true
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	var status syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &status, syscall.WALL, nil); err != nil {
		t.Fatal(err)
	}
	if !status.Stopped() || status.StopSignal() != syscall.SIGTRAP {
		t.Fatalf("status %v, want stopped by SIGTRAP", status)
	}
	if tracer := procStatus(t, pid, "TracerPid"); tracer != strconv.Itoa(syscall.Gettid()) {
		t.Errorf("TracerPid %s, want this thread %d", tracer, syscall.Gettid())
	}
	if err := syscall.PtraceDetach(pid); err != nil {
		t.Fatal(err)
	}
	var exit *sprout.ExitError
	if err := cmd.Wait(); !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("Wait: %v", err)
	}
	bad := probeCmd("exit", "0")
	bad.Ptrace, bad.Pdeathsig = true, syscall.SIGKILL
	var e *sprout.Error
	if err := bad.Run(); !errors.As(err, &e) || e.Stage != sprout.StageArgs {
		t.Fatalf("Ptrace with Pdeathsig: %v", err)
	}
}

package sprout_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"sprout.invalid/sprout"
)

// runHelper is the test binary started again as a helper program (SPROUT_GO_HELPER=mode).
func runHelper(mode string) {
	switch mode {
	case "pdeathsig":
		// Starts a process with a parent-death signal, says its pid, and ends (without
		// waiting for it) when its stdin closes.
		cmd := sprout.Command(os.Getenv("SPROUT_PROBE"), "pause")
		cmd.Pdeathsig = syscall.SIGKILL
		if err := cmd.Start(); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(cmd.Process.Pid)
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		os.Exit(0)
	case "foreground":
		// Runs with a terminal as its controlling terminal and stdin, in the foreground: a
		// process started on it takes the foreground, and Wait must give it back.
		cmd := sprout.Command(os.Getenv("SPROUT_PROBE"), "report")
		cmd.Stdin = os.Stdin
		out, err := cmd.Output()
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		var pgid int32
		syscall.Syscall(syscall.SYS_IOCTL, 0, syscall.TIOCGPGRP, uintptr(unsafe.Pointer(&pgid)))
		fmt.Printf("child-pgid=%s\nforeground=%d\nmine=%d\n", parseReport(out)["pgid"], pgid, syscall.Getpgrp())
		os.Exit(0)
	default:
		fmt.Fprintln(os.Stderr, "unknown helper", mode)
		os.Exit(2)
	}
}

// threads is the number of OS threads of this process, as the kernel counts them.
func threads(t *testing.T) int {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "Threads:") {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "Threads:")))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no Threads in /proc/self/status")
	return 0
}

// Waiting parks no OS thread: 1,000 goroutines each waiting for a running process keep the
// thread count below GOMAXPROCS + 16. The processes are found with List and ended with
// SignalContainer.
func TestThousandWaitersHoldNoThreadEach(t *testing.T) {
	const n = 1000
	container := fmt.Sprintf("go-waiters-%d", os.Getpid())
	cmds := make([]*sprout.Cmd, n)
	for i := range cmds {
		cmds[i] = probeCmd("pause")
		cmds[i].ContainerID = container
		if err := cmds[i].Start(); err != nil {
			sprout.SignalContainer(container, syscall.SIGKILL)
			t.Fatalf("Start %d: %v", i, err)
		}
	}
	errs := make(chan error, n)
	var waiting sync.WaitGroup
	waiting.Add(n)
	for _, cmd := range cmds {
		go func(cmd *sprout.Cmd) {
			waiting.Done()
			errs <- cmd.Wait()
		}(cmd)
	}
	waiting.Wait()
	time.Sleep(300 * time.Millisecond) // let every waiter reach the poller
	during := threads(t)

	pids, err := sprout.List(container)
	if err != nil || len(pids) != n {
		t.Errorf("List = %d pids, %v; want %d", len(pids), err, n)
	}
	for i := 1; i < len(pids); i++ {
		if pids[i-1] >= pids[i] {
			t.Errorf("List is not ascending at %d: %v", i, pids[i-1:i+1])
			break
		}
	}
	signalled, err := sprout.SignalContainer(container, syscall.SIGKILL)
	if err != nil || signalled != n {
		t.Errorf("SignalContainer = %d, %v; want %d", signalled, err, n)
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err == nil || err.Error() != "signal: killed" {
			t.Errorf("Wait = %v, want signal: killed", err)
		}
	}
	if limit := runtime.GOMAXPROCS(0) + 16; during >= limit {
		t.Errorf("%d threads while %d goroutines waited, want fewer than %d", during, n, limit)
	}
	t.Logf("%d threads while %d goroutines waited", during, n)
	if pids, _ := sprout.List(container); len(pids) != 0 {
		t.Errorf("List after Wait = %v", pids)
	}
}

// Spawns from many goroutines at once each get their own process and output.
func TestSpawnsFromManyGoroutines(t *testing.T) {
	var wg sync.WaitGroup
	var failed atomic.Int32
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				want := fmt.Sprintf("goroutine %d spawn %d", g, i)
				out, err := probeCmd("say", want).Output()
				if err != nil || string(out) != want+"\n" {
					t.Errorf("%s: %q, %v", want, out, err)
					failed.Add(1)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}

// A Go program with a large live heap spawns while the garbage collector runs: no Go memory
// is handed to C, and nothing of the heap is copied.
func TestSpawnsWithALargeHeapWhileTheCollectorRuns(t *testing.T) {
	heap := make([][]byte, largeHeapMiB)
	for i := range heap {
		heap[i] = make([]byte, 1<<20)
		for j := 0; j < len(heap[i]); j += 4096 {
			heap[i][j] = byte(i)
		}
	}
	stop := make(chan struct{})
	var collector sync.WaitGroup
	collector.Add(1)
	go func() {
		defer collector.Done()
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	}()
	for i := 0; i < 50; i++ {
		cmd := probeCmd("report")
		cmd.Env = []string{fmt.Sprintf("SPAWN=%d", i)}
		cmd.Credential = &sprout.Credential{Uid: 65534, Gid: 65534}
		if os.Geteuid() != 0 {
			cmd.Credential = nil
		}
		r := probeReport(t, cmd)
		if env := r["env"]; len(env) != 1 || env[0] != fmt.Sprintf("SPAWN=%d", i) {
			t.Fatalf("spawn %d: env %q", i, env)
		}
	}
	close(stop)
	collector.Wait()
	runtime.KeepAlive(heap)
}

// Go installs a handler for every signal and catches some itself (SIGURG preempts goroutines);
// none of them may run in the new process, and the program starts with every signal at
// SIG_DFL, none blocked, however the caller set them. Signals rain on the caller meanwhile.
func TestGoSignalHandlersNeverReachTheChild(t *testing.T) {
	caught := make(chan os.Signal, 64)
	signal.Notify(caught, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(caught)
	signal.Ignore(syscall.SIGHUP)
	defer signal.Reset(syscall.SIGHUP)

	stop := make(chan struct{})
	var sent atomic.Int64
	var rain sync.WaitGroup
	rain.Add(2)
	go func() {
		defer rain.Done()
		for {
			select {
			case <-stop:
				return
			case <-caught:
			}
		}
	}()
	go func() {
		defer rain.Done()
		for {
			select {
			case <-stop:
				return
			default:
				syscall.Kill(os.Getpid(), syscall.SIGUSR1)
				syscall.Kill(os.Getpid(), syscall.SIGUSR2)
				sent.Add(2)
			}
		}
	}()
	defer func() {
		close(stop)
		rain.Wait()
	}()
	for i := 0; i < 200; i++ {
		r := probeReport(t, probeCmd("report"))
		for _, field := range []string{"SigCgt", "SigBlk", "SigIgn", "SigPnd"} {
			if mask := r.status(t, field); mask != "0000000000000000" {
				t.Fatalf("spawn %d: %s %s, want none", i, field, mask)
			}
		}
	}
	if sent.Load() == 0 {
		t.Fatal("no signal was sent during the spawns")
	}
}

// processState is the state letter of /proc/PID/stat ("Z": ended, not yet reaped).
func processState(t *testing.T, pid int) string {
	t.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "gone"
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return fields[0]
}

// onThreadThatEnds runs f on a goroutine locked to its thread, which ends with it (the Go
// runtime ends the thread of a goroutine that returns locked), and returns the thread's id.
// The main thread is never ended, so when the goroutine lands there it holds it and tries
// again on another.
func onThreadThatEnds(f func()) int {
	tid := make(chan int)
	go func() {
		runtime.LockOSThread()
		if syscall.Gettid() == os.Getpid() {
			tid <- onThreadThatEnds(f)
			runtime.UnlockOSThread()
			return
		}
		f()
		tid <- syscall.Gettid()
	}()
	return <-tid
}

// A goroutine that locks its thread and ends with it takes the thread down: a process it
// started with a parent-death signal must not die of it, as it would if the spawn had run on
// that thread.
func TestPdeathsigOutlivesTheSpawningGoroutinesThread(t *testing.T) {
	var cmd *sprout.Cmd
	tid := onThreadThatEnds(func() {
		cmd = probeCmd("pause")
		cmd.Pdeathsig = syscall.SIGKILL
		if err := cmd.Start(); err != nil {
			t.Error(err)
			cmd = nil
		}
	})
	if cmd == nil {
		return
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	task := fmt.Sprintf("/proc/self/task/%d", tid)
	for i := 0; ; i++ {
		if _, err := os.Stat(task); os.IsNotExist(err) {
			break
		}
		if i == 100 {
			t.Fatalf("thread %d did not end", tid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if state := processState(t, cmd.Process.Pid); state == "Z" || state == "gone" {
		t.Fatalf("the process died (state %s) when the spawning goroutine's thread ended", state)
	}
}

// The parent-death signal comes when the program that started the process ends.
func TestPdeathsigComesWhenTheProgramEnds(t *testing.T) {
	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), "SPROUT_GO_HELPER=pdeathsig", "SPROUT_PROBE="+probe)
	stdin, _ := helper.StdinPipe()
	stdout, _ := helper.StdoutPipe()
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		stdin.Close()
		helper.Wait()
		t.Fatalf("helper said %q", line)
	}
	// A pidfd, taken while the helper (its parent) is alive and has not reaped it.
	pidfd, _, errno := syscall.Syscall(434 /* pidfd_open */, uintptr(pid), 0, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	defer syscall.Close(int(pidfd))
	if state := processState(t, pid); state == "Z" || state == "gone" {
		t.Fatalf("the process ended before its parent did (%s)", state)
	}
	stdin.Close()
	helper.Wait()
	fds := []pollFd{{fd: int32(pidfd), events: 1 /* POLLIN */}}
	if n := poll(fds, 5000); n != 1 {
		syscall.Syscall6(424 /* pidfd_send_signal */, pidfd, uintptr(syscall.SIGKILL), 0, 0, 0, 0)
		t.Fatal("the process outlived the program that started it")
	}
}

type pollFd struct {
	fd      int32
	events  int16
	revents int16
}

func poll(fds []pollFd, timeoutMs int) int {
	for {
		n, _, errno := syscall.Syscall(syscall.SYS_POLL, uintptr(unsafe.Pointer(&fds[0])), uintptr(len(fds)), uintptr(timeoutMs))
		if errno != syscall.EINTR {
			return int(n)
		}
	}
}

// A process started on the caller's own controlling terminal leads a new group in the
// foreground; once Wait has it, the terminal is back with the caller's group.
func TestWaitGivesTheCallersTerminalBack(t *testing.T) {
	_, slave, err := sprout.Openpty(24, 80)
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()
	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), "SPROUT_GO_HELPER=foreground", "SPROUT_PROBE="+probe)
	helper.Stdin = slave
	helper.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	out, err := helper.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	r := parseReport(out)
	if r.one(t, "child-pgid") == r.one(t, "mine") {
		t.Fatalf("the process did not lead a group of its own: %q", out)
	}
	if r.one(t, "foreground") != r.one(t, "mine") {
		t.Fatalf("after Wait the terminal's foreground group is %s, not the caller's %s", r["foreground"], r["mine"])
	}
}

package sprout

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"sprout.invalid/sprout/internal/csprout"
)

// Process is a process sprout started. The library tracks it (its pid and a pidfd) until
// Cmd.Wait reaps it, and signals go through the pidfd, so a reaped pid that the kernel gave
// to another process is never hit. Unlike os.Process it has no Wait of its own: Cmd.Wait is
// the one place it is reaped, through the library, never behind the library's table.
type Process struct {
	Pid int
}

// Signal sends sig to the process (through its pidfd); os.ErrProcessDone once it has been
// waited for.
func (p *Process) Signal(sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return errors.New("sprout: unsupported signal type")
	}
	err := csprout.Signal(p.Pid, int(s))
	if err == syscall.ESRCH {
		return os.ErrProcessDone
	}
	if err != nil {
		return os.NewSyscallError("sprout_signal", err)
	}
	return nil
}

// Kill sends SIGKILL.
func (p *Process) Kill() error { return p.Signal(syscall.SIGKILL) }

// Pidfd returns a new pidfd of the process, close-on-exec and owned by the caller, for a
// poller of its own; os.ErrProcessDone once it has been waited for.
func (p *Process) Pidfd() (*os.File, error) {
	fd, err := csprout.Pidfd(p.Pid)
	if err == syscall.ESRCH {
		return nil, os.ErrProcessDone
	}
	if err != nil {
		return nil, os.NewSyscallError("sprout_pidfd", err)
	}
	return os.NewFile(uintptr(fd), fmt.Sprintf("pidfd:%d", p.Pid)), nil
}

// A wait first blocks in the library for up to briefWaitMs, on its goroutine's thread, as a
// blocking system call would: a program that ends within that time (most short ones do) is
// then reaped as soon as it ends, while a wake-up through Go's poller costs some 30 µs more
// (measured here; os/exec's Wait blocks in waitid the same way). At most briefWaitSlots
// waits do so at once, so they hold at most that many threads, whatever the number of
// waiting goroutines.
const (
	briefWaitMs    = 2
	briefWaitSlots = 2
)

var briefWaits = make(chan struct{}, briefWaitSlots)

// wait reaps the process without holding an OS thread for long: after the brief wait above,
// Go's poller watches a pidfd of the process, which becomes readable when it ends, and the
// goroutine sleeps until then; the library then reaps it without blocking (sprout_wait with
// timeout 0).
func (p *Process) wait() (*ProcessState, error) {
	select {
	case briefWaits <- struct{}{}:
		status, failure := csprout.Wait(p.Pid, briefWaitMs)
		<-briefWaits
		if failure == nil {
			return &ProcessState{pid: p.Pid, status: syscall.WaitStatus(status)}, nil
		}
		if failure.Errno != syscall.ETIMEDOUT {
			return nil, newError(failure)
		}
	default:
	}
	fd, err := csprout.Pidfd(p.Pid)
	if err != nil {
		// No pidfd to poll (the library does not track the pid, or cannot dup its pidfd):
		// the library's own wait says which, or waits the slow way.
		return p.waitInLibrary()
	}
	// The pidfd is a dup of the library's own, so O_NONBLOCK (which os.NewFile needs to hand
	// the fd to the poller) is set on the library's too: harmless, as the library only ever
	// polls it here (timeout 0 is WNOHANG). Wait is the only place the process is reaped.
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, &Error{Stage: StageWait, Errno: err.(syscall.Errno),
			Message: fmt.Sprintf("wait: pid %d: O_NONBLOCK on its pidfd: %v", p.Pid, err)}
	}
	pidfd := os.NewFile(uintptr(fd), "pidfd")
	defer pidfd.Close()
	conn, err := pidfd.SyscallConn()
	if err != nil {
		return nil, err
	}
	var status int
	var failure *csprout.Failure
	reap := func(uintptr) bool {
		status, failure = csprout.Wait(p.Pid, 0)
		return failure == nil || failure.Errno != syscall.ETIMEDOUT
	}
	if err := conn.Read(reap); err != nil {
		// The poller would not take the pidfd: block in the library instead.
		_ = conn.Control(func(fd uintptr) { _ = syscall.SetNonblock(int(fd), false) })
		return p.waitInLibrary()
	}
	if failure != nil {
		return nil, newError(failure)
	}
	return &ProcessState{pid: p.Pid, status: syscall.WaitStatus(status)}, nil
}

// waitInLibrary blocks in sprout_wait, holding the goroutine's thread until the process ends.
func (p *Process) waitInLibrary() (*ProcessState, error) {
	status, failure := csprout.Wait(p.Pid, -1)
	if failure != nil {
		return nil, newError(failure)
	}
	return &ProcessState{pid: p.Pid, status: syscall.WaitStatus(status)}, nil
}

// ProcessState is how a process ended, as os.ProcessState (without resource usage: the
// library reaps with waitid and keeps only the status).
type ProcessState struct {
	pid    int
	status syscall.WaitStatus
}

// Pid is the process's pid.
func (p *ProcessState) Pid() int { return p.pid }

// Exited reports whether the process called exit (rather than being killed by a signal).
func (p *ProcessState) Exited() bool { return p.status.Exited() }

// ExitCode is the exit status, or -1 when the process was killed by a signal.
func (p *ProcessState) ExitCode() int {
	if p == nil {
		return -1
	}
	return p.status.ExitStatus()
}

// Success reports whether the process exited with status 0.
func (p *ProcessState) Success() bool { return p.status.Exited() && p.status.ExitStatus() == 0 }

// Sys is the syscall.WaitStatus.
func (p *ProcessState) Sys() any { return p.status }

// String is "exit status N" or "signal: NAME" (with " (core dumped)"), as os.ProcessState's.
func (p *ProcessState) String() string {
	if p == nil {
		return "<nil>"
	}
	switch s := p.status; {
	case s.Exited():
		return fmt.Sprintf("exit status %d", s.ExitStatus())
	case s.Signaled():
		text := "signal: " + s.Signal().String()
		if s.CoreDump() {
			text += " (core dumped)"
		}
		return text
	default:
		return fmt.Sprintf("wait status %#x", int(s))
	}
}

// ExitError is the error of Run, Wait, Output and CombinedOutput for a process that did not
// exit with status 0.
type ExitError struct {
	*ProcessState

	// Stderr holds part of the standard error of Output when Cmd.Stderr was not set.
	Stderr []byte
}

func (e *ExitError) Error() string { return e.ProcessState.String() }

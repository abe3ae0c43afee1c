package sprout

import (
	"os"
	"runtime"
	"sync"
	"syscall"

	"sprout.invalid/sprout/internal/csprout"
)

// TTY is the handle of the terminal a process got (Cmd.TTY): the library keeps a duplicate
// of the terminal's fd, so the caller may close its own right after Start, and the whole
// output of a program that exits at once stays readable from the master. Close it when done;
// a closed or stale handle gives EBADF, never another terminal.
type TTY struct {
	mu     sync.Mutex
	handle uintptr // 0 once closed
}

func newTTY(handle uintptr) *TTY {
	t := &TTY{handle: handle}
	runtime.SetFinalizer(t, (*TTY).Close)
	return t
}

func (t *TTY) live() uintptr {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.handle
}

func ttyError(call string, err error) error {
	if err != nil {
		return os.NewSyscallError(call, err)
	}
	return nil
}

// Fd is the handle's fd of the terminal (close-on-exec), still owned by the handle.
func (t *TTY) Fd() (int, error) {
	fd, err := csprout.TTYFd(t.live())
	return fd, ttyError("sprout_tty_fd", err)
}

// Resize sets the terminal's window size; the foreground process group gets SIGWINCH.
func (t *TTY) Resize(rows, cols uint16) error {
	return ttyError("sprout_tty_resize", csprout.TTYResize(t.live(), rows, cols))
}

// Foreground is the terminal's foreground process group, also from outside the terminal's
// session (where tcgetpgrp cannot tell); ESRCH once the session has ended.
func (t *TTY) Foreground() (int, error) {
	pgid, err := csprout.TTYForeground(t.live())
	return pgid, ttyError("sprout_tty_foreground", err)
}

// SetForeground makes pgid the terminal's foreground process group, also from a background
// group. Only for the caller's own controlling terminal (the process joined the caller's
// session); EPERM for a terminal the process took for a session of its own.
func (t *TTY) SetForeground(pgid int) error {
	return ttyError("sprout_tty_set_foreground", csprout.TTYSetForeground(t.live(), pgid))
}

// SignalForeground sends sig to the terminal's current foreground process group; ESRCH,
// and nothing signalled, when there is none.
func (t *TTY) SignalForeground(sig syscall.Signal) error {
	return ttyError("sprout_tty_signal_foreground", csprout.TTYSignalForeground(t.live(), int(sig)))
}

// Close releases the handle and its fd; the process and the terminal are not affected.
func (t *TTY) Close() error {
	t.mu.Lock()
	handle := t.handle
	t.handle = 0
	t.mu.Unlock()
	if handle == 0 {
		return os.NewSyscallError("sprout_tty_release", syscall.EBADF)
	}
	runtime.SetFinalizer(t, nil)
	return ttyError("sprout_tty_release", csprout.TTYRelease(handle))
}

// Openpty opens a new pseudo-terminal pair of rows x cols, close-on-exec, neither the
// caller's controlling terminal. Pass the slave as Stdin/Stdout/Stderr for a process that
// takes it as its controlling terminal in a session of its own; read and write the master
// (which Go's poller watches).
func Openpty(rows, cols uint16) (master, slave *os.File, err error) {
	m, s, err := csprout.Openpty(rows, cols)
	if err != nil {
		return nil, nil, os.NewSyscallError("sprout_openpty", err)
	}
	if err := syscall.SetNonblock(m, true); err != nil {
		syscall.Close(m)
		syscall.Close(s)
		return nil, nil, os.NewSyscallError("fcntl", err)
	}
	return os.NewFile(uintptr(m), "/dev/ptmx"), os.NewFile(uintptr(s), "pty"), nil
}

package sprout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"sprout.invalid/sprout/internal/csprout"
)

// Cmd is a program to start, shaped like os/exec's Cmd: set its fields, then Start and Wait,
// or Run, Output, CombinedOutput. Where it differs from os/exec (Env, the PATH search,
// Process), the field says so.
type Cmd struct {
	// Path is the program: a path, or a name without '/' that the new process searches in the
	// PATH of its own environment (Env), not the caller's — or in
	// /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin when Env has no PATH — with
	// execvpe's rules, after its namespaces, credentials and working directory are in place.
	// (os/exec looks the name up in the caller's PATH when the Cmd is made.) Empty: Args[0].
	Path string

	// Args is the argument list, Args[0] included; empty means {Path}.
	Args []string

	// Env is the whole environment of the new process.
	//
	// NIL MEANS AN EMPTY ENVIRONMENT, NOT THE CALLER'S: this is where sprout differs from
	// os/exec. Pass os.Environ() (or set InheritEnv) to hand on the caller's environment.
	Env []string

	// InheritEnv gives the new process the caller's environment when Env is nil.
	InheritEnv bool

	// Dir is the working directory; empty: "/" (os/exec: the caller's). A relative path is
	// relative to the caller's working directory.
	Dir string

	// Stdin, Stdout and Stderr are fds 0, 1 and 2. An *os.File is passed on as it is (a
	// terminal among them makes the process take it: see TTY); any other reader or writer
	// through a pipe and a goroutine that Wait waits for, as os/exec does. Nil is /dev/null.
	// When Stdout and Stderr are the same writer, one pipe serves both.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	// ExtraFiles become fds 3, 4, ...; a nil entry leaves that fd closed. Every other fd of
	// the caller is closed in the new process.
	ExtraFiles []*os.File

	// ExecFile runs this open file (execveat with AT_EMPTY_PATH) instead of Path; Args[0] is
	// then only the name the program sees.
	ExecFile *os.File

	// Credential sets the uid, gid and supplementary groups; nil keeps the caller's.
	Credential *Credential

	// Capabilities sets the five capability sets; nil leaves them to execve's rules.
	Capabilities *Capabilities

	// Rlimits are resource limits of the new process; others stay the caller's.
	Rlimits []Rlimit

	// Umask of the new process; nil: 022.
	Umask *fs.FileMode

	// NoNewPrivs sets no_new_privs before execve: from then on execve grants nothing
	// (set-user-ID bits, file capabilities), and a Seccomp filter needs no CAP_SYS_ADMIN.
	NoNewPrivs bool

	// Seccomp is a classic BPF program installed with seccomp(SECCOMP_SET_MODE_FILTER): last
	// before execve with NoNewPrivs, else before the credentials change (it must then allow
	// the system calls of the remaining steps; see the header).
	Seccomp []SockFilter

	// Namespaces lists the namespaces to create or join (see Namespace).
	Namespaces []Namespace

	// UidMappings and GidMappings are the id maps of a new user namespace (one in
	// Namespaces), written by the caller while the process waits, with no copy of the
	// caller's memory (os/exec forks for this).
	UidMappings []IDMap
	GidMappings []IDMap

	// Cgroup is a cgroup2 directory the process starts in (CLONE_INTO_CGROUP), before its
	// first instruction; CgroupPath names one instead. At most one of them.
	Cgroup     *os.File
	CgroupPath string

	// Pdeathsig is sent to the process when its parent dies. Linux sends it when the *thread*
	// that started the process ends, and Go ends threads when it likes (when a goroutine
	// locked to one with runtime.LockOSThread returns): so a Cmd with Pdeathsig is started
	// from one thread sprout keeps locked for the life of the program, and the signal comes
	// when the program ends, not when a thread of it does.
	Pdeathsig syscall.Signal

	// ContainerID labels the process for List and SignalContainer; empty: none.
	ContainerID string

	// NoTTY: never treat terminal stdio as a controlling terminal (TTY stays nil).
	NoTTY bool

	// NewSession: the process leads a new session without a controlling terminal, whatever
	// its stdio (TTY stays nil), so a program handed the caller's terminal cannot push input
	// into it (TIOCSTI).
	NewSession bool

	// The fields below need a library of ABI 1.1 or later; against an older one, setting
	// any of them fails with E2BIG (StageArgs). See attr11.go for their types.

	// Setpgid puts the process in a process group: a new one it leads when Pgid is 0, else
	// the group Pgid of the caller's session (as syscall.SysProcAttr's Setpgid and Pgid).
	// With the caller's own terminal on stdio, that group becomes its foreground group.
	Setpgid bool
	Pgid    int

	// SignalMask is the signal mask the program starts with (empty when nil).
	SignalMask []syscall.Signal

	// KeepIgnoredSignals keeps the signals the caller ignores ignored in the program (the
	// execve rule), except DefaultSignals, which go back to SIG_DFL; every caught signal goes
	// back to SIG_DFL in any case. Without it every signal is at SIG_DFL. (The Go runtime
	// ignores no signal by itself; one a program ignored with signal.Ignore counts.)
	KeepIgnoredSignals bool
	DefaultSignals     []syscall.Signal

	// KeepUmask gives the process the caller's umask instead of Umask: the one it had when
	// the process was created, read without changing it.
	KeepUmask bool

	// OOMScoreAdj sets /proc/PID/oom_score_adj (-1000..1000); nil: the caller's. Going below
	// the caller's oom_score_adj_min needs CAP_SYS_RESOURCE. Not with UidMappings or
	// GidMappings (EINVAL): see the header's oom_score_adj.
	OOMScoreAdj *int

	// Scheduler sets the scheduling policy and its parameters; nil: the caller's.
	Scheduler *Scheduler

	// IOPriority sets the I/O scheduling class and level; nil: the caller's.
	IOPriority *IOPriority

	// CPUAffinity lists the CPUs the process may run on; nil: the caller's. A CPU the
	// kernel does not grant (offline, outside the process's cpuset) fails the start.
	CPUAffinity []int

	// Personality sets the execution domain and flags (personality(2)); nil: the caller's.
	Personality *Personality

	// Hostname and Domainname name the new UTS namespace, which Namespaces must create
	// (EINVAL otherwise); empty: unchanged.
	Hostname   string
	Domainname string

	// Chroot is the root directory of the process (after its namespaces; a relative Dir is
	// then relative to it), or ChrootFile, an open directory; at most one of them.
	Chroot     string
	ChrootFile *os.File

	// Ptrace makes the process stop (SIGTRAP) as its exec completes, traced by the OS thread
	// that calls Start: lock the goroutine to its thread (runtime.LockOSThread) before Start
	// and make every ptrace call from it, as with syscall.SysProcAttr's Ptrace. Wait returns
	// once the process has ended, so detach or continue it first. Not with Pdeathsig, whose
	// spawns run on a thread of sprout's own (EINVAL).
	Ptrace bool

	// Landlock is a Landlock ruleset (from CreateLandlockRuleset) the process is restricted
	// with, last before execve but for a NoNewPrivs Seccomp filter: the program and its
	// execve run in that domain. Needs NoNewPrivs unless the caller has CAP_SYS_ADMIN. The
	// process never holds the ruleset's fd; the caller keeps the file for more spawns.
	// LandlockRestrictFlags are landlock_restrict_self's flags.
	Landlock              *os.File
	LandlockRestrictFlags uint32

	// SeccompFlags are seccomp(2)'s SECCOMP_FILTER_FLAG_* for the Seccomp filter:
	// SeccompFlagNewListener hands its user-notification listener to the caller
	// (Process.SeccompListener); SeccompFlagLog, SeccompFlagSpecAllow and
	// SeccompFlagWaitKillableRecv where the kernel has them.
	SeccompFlags uint64

	// Paused: Start returns once the process exists with every step done but execve, holding
	// there (its pid, pidfd and /proc/PID are visible) until Process.Resume lets it run its
	// program; Signal, Kill and Wait work on it meanwhile (a kill is a clean abort).
	Paused bool

	// Process is the started process (set by Start).
	Process *Process

	// ProcessState is how it ended (set by Wait).
	ProcessState *ProcessState

	// TTY is the handle of the terminal the process got, when one of Stdin, Stdout, Stderr is
	// a terminal (set by Start). When it was the caller's own controlling terminal, Wait gives
	// the terminal back to the process group that had it. The caller closes it.
	TTY *TTY

	// Cancel is called when the Context of CommandContext is done before Wait returns
	// (CommandContext sets it to kill the process), as in os/exec since Go 1.20: if the
	// process then exits with status 0, Wait reports the Context's error, or Cancel's.
	Cancel func() error

	// WaitDelay bounds the wait for a process that does not exit after Cancel, and for I/O
	// pipes left open by the process's own children once it has exited: when it passes, the
	// process is killed and the pipes are closed (Wait then returns ErrWaitDelay if nothing
	// else went wrong). Zero waits as long as it takes. As in os/exec since Go 1.20.
	WaitDelay time.Duration

	ctx context.Context

	childFiles  []*os.File  // our pipe ends for the process: closed once it started
	parentFiles []io.Closer // our pipe ends: closed by Wait (or WaitDelay)
	copiers     []func() error

	goroutineErr <-chan error     // the first error of the copiers, once they all ended
	ctxResult    <-chan ctxResult // what the Context watcher did, when it runs

	foreground int // the caller's terminal's foreground group, when the process took it
}

// Command returns the Cmd to run name with args (see Cmd.Path for how name is found).
func Command(name string, arg ...string) *Cmd {
	return &Cmd{Path: name, Args: append([]string{name}, arg...)}
}

// CommandContext is Command, with ctx: when ctx is done before the process ends, Cancel
// (which kills it, unless changed) is called.
func CommandContext(ctx context.Context, name string, arg ...string) *Cmd {
	if ctx == nil {
		panic("sprout: nil Context")
	}
	c := Command(name, arg...)
	c.ctx = ctx
	c.Cancel = func() error { return c.Process.Kill() }
	return c
}

// String is the command line, for messages.
func (c *Cmd) String() string {
	args := c.Args
	if len(args) == 0 {
		args = []string{c.Path}
	}
	if c.Path != "" && len(args) > 0 && c.Path != args[0] {
		return c.Path + " " + strings.Join(args[1:], " ")
	}
	return strings.Join(args, " ")
}

var devNull struct {
	once sync.Once
	file *os.File
	err  error
}

// nullFd is one /dev/null, opened once for reading and writing and shared by every Cmd, so a
// spawn costs no open for the fds it leaves unset (os/exec opens one per fd and Cmd).
func nullFd() (int32, error) {
	devNull.once.Do(func() {
		devNull.file, devNull.err = os.OpenFile(os.DevNull, os.O_RDWR, 0)
	})
	if devNull.err != nil {
		return -1, devNull.err
	}
	return fileFd(devNull.file)
}

// fileFd is f's fd, left in the mode it is in (os.File.Fd would make it blocking).
func fileFd(f *os.File) (int32, error) {
	conn, err := f.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := int32(-1)
	if err := conn.Control(func(raw uintptr) { fd = int32(raw) }); err != nil {
		return -1, err
	}
	return fd, nil
}

// childPipe is a pipe whose child end is an ordinary blocking fd, and whose parent end
// Go's poller watches.
func childPipe(childReads bool) (child, parent *os.File, err error) {
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		return nil, nil, os.NewSyscallError("pipe2", err)
	}
	childEnd, parentEnd := p[1], p[0]
	if childReads {
		childEnd, parentEnd = p[0], p[1]
	}
	if err := syscall.SetNonblock(parentEnd, true); err != nil {
		syscall.Close(p[0])
		syscall.Close(p[1])
		return nil, nil, os.NewSyscallError("fcntl", err)
	}
	return os.NewFile(uintptr(childEnd), "|0"), os.NewFile(uintptr(parentEnd), "|1"), nil
}

// stdioFd is the fd of a file handed to the process as it is. Like os/exec, it puts the file
// in blocking mode (os.File.Fd does): the process shares the mode, and most programs do not
// expect a non-blocking stdin or stdout.
func stdioFd(f *os.File) int32 { return int32(f.Fd()) }

func (c *Cmd) stdin() (int32, error) {
	switch r := c.Stdin.(type) {
	case nil:
		return nullFd()
	case *os.File:
		return stdioFd(r), nil
	}
	child, parent, err := childPipe(true)
	if err != nil {
		return -1, err
	}
	c.childFiles = append(c.childFiles, child)
	c.parentFiles = append(c.parentFiles, parent)
	reader := c.Stdin
	c.copiers = append(c.copiers, func() error {
		_, err := io.Copy(parent, reader)
		// The process may exit or close its stdin without reading it all: not an error of
		// the copy (as in os/exec).
		if errors.Is(err, syscall.EPIPE) {
			err = nil
		}
		if err1 := parent.Close(); err == nil && !errors.Is(err1, os.ErrClosed) {
			err = err1
		}
		return err
	})
	return fileFd(child)
}

func (c *Cmd) output(w io.Writer) (int32, error) {
	switch w := w.(type) {
	case nil:
		return nullFd()
	case *os.File:
		return stdioFd(w), nil
	}
	child, parent, err := childPipe(false)
	if err != nil {
		return -1, err
	}
	c.childFiles = append(c.childFiles, child)
	c.parentFiles = append(c.parentFiles, parent)
	c.copiers = append(c.copiers, func() error {
		_, err := io.Copy(w, parent)
		parent.Close()
		return err
	})
	return fileFd(child)
}

// sameWriter reports whether Stdout and Stderr are the same writer (and comparable).
func sameWriter(a, b io.Writer) (same bool) {
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}

// spec turns the Cmd into the library's arguments: the Go values are checked and converted
// here, and laid out in C memory by csprout.
func (c *Cmd) spec() (*csprout.Spec, error) {
	s := &csprout.Spec{ExecFD: -1, CgroupFD: -1, Umask: 0o022, Pdeathsig: int32(c.Pdeathsig)}
	s.Argv = c.Args
	if len(s.Argv) == 0 {
		s.Argv = []string{c.Path}
	}
	s.Filename = c.Path
	if c.ExecFile != nil {
		fd, err := fileFd(c.ExecFile)
		if err != nil {
			return nil, err
		}
		s.ExecFD, s.Filename = fd, ""
	}
	if err := noNUL("argv", s.Argv); err != nil {
		return nil, err
	}
	if err := noNUL("env", c.Env); err != nil {
		return nil, err
	}
	for _, field := range [...]struct{ name, value string }{{"Path", c.Path}, {"Dir", c.Dir}, {"ContainerID", c.ContainerID}} {
		if strings.IndexByte(field.value, 0) >= 0 {
			return nil, argsError(syscall.EINVAL, fmt.Sprintf("%s %q holds a NUL byte", field.name, field.value))
		}
	}
	s.Env = c.Env
	s.Dir = c.Dir
	s.ContainerID = c.ContainerID
	if c.InheritEnv {
		s.Flags |= csprout.FlagInheritEnv
	}
	if c.NoNewPrivs {
		s.Flags |= csprout.FlagNoNewPrivs
	}
	if c.NoTTY {
		s.Flags |= csprout.FlagNoTTY
	}
	if c.NewSession {
		s.Flags |= csprout.FlagNewSession
	}
	if cred := c.Credential; cred != nil {
		s.Credentials = &csprout.Credentials{UID: cred.Uid, GID: cred.Gid, Groups: cred.Groups}
	}
	if caps := c.Capabilities; caps != nil {
		s.Caps = &csprout.Caps{
			Effective:   uint64(caps.Effective),
			Permitted:   uint64(caps.Permitted),
			Inheritable: uint64(caps.Inheritable),
			Bounding:    uint64(caps.Bounding),
			Ambient:     uint64(caps.Ambient),
		}
	}
	for _, l := range c.Rlimits {
		s.Rlimits = append(s.Rlimits, csprout.Rlimit{Resource: int32(l.Resource), Soft: l.Soft, Hard: l.Hard})
	}
	if c.Umask != nil {
		s.Umask = uint32(c.Umask.Perm())
	}
	for i, ns := range c.Namespaces {
		fd := int32(-1)
		if ns.File != nil {
			var err error
			if fd, err = fileFd(ns.File); err != nil {
				return nil, fmt.Errorf("sprout: Namespaces[%d].File: %w", i, err)
			}
		}
		s.Namespaces = append(s.Namespaces, csprout.Namespace{Type: int32(ns.Type), FD: fd})
	}
	var err error
	if s.UIDMap, err = idMaps("UidMappings", c.UidMappings); err != nil {
		return nil, err
	}
	if s.GIDMap, err = idMaps("GidMappings", c.GidMappings); err != nil {
		return nil, err
	}
	for _, f := range c.Seccomp {
		s.Seccomp = append(s.Seccomp, csprout.SockFilter{Code: f.Code, Jt: f.Jt, Jf: f.Jf, K: f.K})
	}
	if err := c.spec11(s); err != nil {
		return nil, err
	}
	if err := c.spec14(s); err != nil {
		return nil, err
	}
	return s, nil
}

// noNUL refuses a string the C side would cut short at a NUL byte.
func noNUL(what string, list []string) error {
	for i, str := range list {
		if strings.IndexByte(str, 0) >= 0 {
			return argsError(syscall.EINVAL, fmt.Sprintf("%s[%d] %q holds a NUL byte", what, i, str))
		}
	}
	return nil
}

func idMaps(what string, maps []IDMap) ([]csprout.IDMap, error) {
	var out []csprout.IDMap
	for i, m := range maps {
		for _, v := range []int{m.ContainerID, m.HostID, m.Size} {
			if v < 0 || uint64(v) > math.MaxUint32 {
				return nil, argsError(syscall.EINVAL, fmt.Sprintf("%s[%d] = %d %d %d: out of range",
					what, i, m.ContainerID, m.HostID, m.Size))
			}
		}
		out = append(out, csprout.IDMap{Inside: uint32(m.ContainerID), Outside: uint32(m.HostID), Count: uint32(m.Size)})
	}
	return out, nil
}

// closeFiles closes the files of a Start that failed.
func (c *Cmd) closeFiles() {
	for _, f := range c.childFiles {
		f.Close()
	}
	for _, f := range c.parentFiles {
		f.Close()
	}
	c.childFiles, c.parentFiles = nil, nil
}

// Start starts the process and returns once it runs the program (its execve has succeeded),
// or with an *Error that says which step failed; it does not wait for it to end.
func (c *Cmd) Start() error {
	if c.Process != nil {
		return errors.New("sprout: already started")
	}
	if c.Path == "" && c.ExecFile == nil && len(c.Args) == 0 {
		c.closeFiles()
		return errors.New("sprout: no command")
	}
	if c.ctx != nil {
		select {
		case <-c.ctx.Done():
			c.closeFiles()
			return c.ctx.Err()
		default:
		}
	}
	pid, tty, err := c.start()
	if err != nil {
		c.closeFiles()
		return err
	}
	c.Process = &Process{Pid: pid}
	if tty != 0 {
		c.TTY = newTTY(tty)
	}
	for _, f := range c.childFiles {
		f.Close()
	}
	c.childFiles = nil

	if len(c.copiers) > 0 {
		errc := make(chan error, 1)
		c.goroutineErr = errc
		go runCopiers(c.copiers, errc)
		c.copiers = nil
	}
	if c.ctx != nil && c.ctx.Done() != nil && (c.Cancel != nil || c.WaitDelay != 0) {
		resultc := make(chan ctxResult)
		c.ctxResult = resultc
		go c.watchCtx(resultc)
	}
	return nil
}

// runCopiers runs the pipe goroutines and sends the first error once all have ended.
func runCopiers(copiers []func() error, errc chan<- error) {
	results := make(chan error, len(copiers))
	for _, copier := range copiers {
		go func(copier func() error) { results <- copier() }(copier)
	}
	var first error
	for range copiers {
		if err := <-results; err != nil && first == nil {
			first = err
		}
	}
	errc <- first
}

// start lays out the fds, records the terminal's foreground group, and spawns.
func (c *Cmd) start() (int, uintptr, error) {
	s, err := c.spec()
	if err != nil {
		return 0, 0, err
	}
	stdin, err := c.stdin()
	if err != nil {
		return 0, 0, err
	}
	stdout, err := c.output(c.Stdout)
	if err != nil {
		return 0, 0, err
	}
	stderr := stdout
	if !sameWriter(c.Stdout, c.Stderr) || c.Stdout == nil {
		if stderr, err = c.output(c.Stderr); err != nil {
			return 0, 0, err
		}
	}
	s.Fds = append(s.Fds, stdin, stdout, stderr)
	for _, f := range c.ExtraFiles {
		fd := int32(-1)
		if f != nil {
			fd = stdioFd(f)
		}
		s.Fds = append(s.Fds, fd)
	}
	if c.Cgroup != nil && c.CgroupPath != "" {
		return 0, 0, argsError(syscall.EINVAL, "both Cgroup and CgroupPath are set")
	}
	if c.Cgroup != nil {
		if s.CgroupFD, err = fileFd(c.Cgroup); err != nil {
			return 0, 0, err
		}
	} else if c.CgroupPath != "" {
		dir, err := os.OpenFile(c.CgroupPath, os.O_RDONLY|syscall.O_DIRECTORY, 0)
		if err != nil {
			return 0, 0, &Error{Stage: StageCgroup, Errno: errnoOf(err),
				Message: fmt.Sprintf("cgroup: %s: %v", c.CgroupPath, errnoOf(err))}
		}
		defer dir.Close()
		if s.CgroupFD, err = fileFd(dir); err != nil {
			return 0, 0, err
		}
	}
	c.foreground = c.callersForeground()

	var pid int
	var tty uintptr
	var failure *csprout.Failure
	spawn := func() { pid, tty, failure = csprout.Spawn(s) }
	if c.Pdeathsig != 0 {
		onLongLivedThread(spawn)
	} else {
		spawn()
	}
	// The files whose fds the library read must stay open until it returned.
	runtime.KeepAlive(c)
	if failure != nil {
		err := newError(failure)
		if e, ok := err.(*Error); ok && c.ExecFile == nil {
			program := c.Path
			if program == "" {
				program = s.Argv[0]
			}
			e.searched = !strings.Contains(program, "/")
		}
		return 0, 0, err
	}
	return pid, tty, nil
}

func errnoOf(err error) syscall.Errno {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return syscall.EINVAL
}

// callersForeground is the foreground process group of the caller's controlling terminal
// when it is among the stdio files (TIOCGPGRP answers only for it), else 0: the process will
// take that terminal, and Wait gives it back.
func (c *Cmd) callersForeground() int {
	if c.NoTTY || c.NewSession {
		return 0
	}
	for _, stdio := range []any{c.Stdin, c.Stdout, c.Stderr} {
		f, ok := stdio.(*os.File)
		if !ok {
			continue
		}
		fd, err := fileFd(f)
		if err != nil {
			continue
		}
		var pgid int32
		if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TIOCGPGRP,
			uintptr(unsafe.Pointer(&pgid))); errno == 0 {
			return int(pgid)
		}
	}
	return 0
}

// Wait waits for the process to end and for the pipe goroutines to finish, then closes the
// pipes. The error is nil for an exit status of 0, an *ExitError for another status or a
// signal, or what went wrong with the copying, the Context or WaitDelay (as in os/exec).
func (c *Cmd) Wait() error {
	if c.Process == nil {
		return errors.New("sprout: not started")
	}
	if c.ProcessState != nil {
		return errors.New("sprout: Wait was already called")
	}
	state, err := c.Process.wait()
	if err == nil && !state.Success() {
		err = &ExitError{ProcessState: state}
	}
	c.ProcessState = state
	if c.TTY != nil && c.foreground > 0 {
		_ = c.TTY.SetForeground(c.foreground)
	}

	var timer *time.Timer
	if c.ctxResult != nil {
		watch := <-c.ctxResult
		timer = watch.timer
		if err == nil && watch.err != nil {
			err = watch.err
		}
	}
	if copyErr := c.awaitCopiers(timer); err == nil {
		err = copyErr
	}
	c.closeParentFiles()
	return err
}

func (c *Cmd) closeParentFiles() {
	for _, f := range c.parentFiles {
		f.Close()
	}
	c.parentFiles = nil
}

// awaitCopiers waits for the pipe goroutines; with WaitDelay, at most that long after the
// process ended (or the Context was done: timer), then closes the pipes.
func (c *Cmd) awaitCopiers(timer *time.Timer) error {
	defer func() {
		if timer != nil {
			timer.Stop()
		}
		c.goroutineErr = nil
	}()
	if c.goroutineErr == nil {
		return nil
	}
	if timer == nil {
		if c.WaitDelay == 0 {
			return <-c.goroutineErr
		}
		select {
		case err := <-c.goroutineErr:
			return err
		default:
		}
		timer = time.NewTimer(c.WaitDelay)
	}
	select {
	case err := <-c.goroutineErr:
		return err
	case <-timer.C:
		c.closeParentFiles()
		<-c.goroutineErr
		return ErrWaitDelay
	}
}

type ctxResult struct {
	err   error
	timer *time.Timer // WaitDelay's, when it started
}

// watchCtx calls Cancel when the Context is done before Wait collects the process, then, with
// WaitDelay, kills the process and closes the pipes when the delay passes.
func (c *Cmd) watchCtx(resultc chan<- ctxResult) {
	select {
	case resultc <- ctxResult{}:
		return
	case <-c.ctx.Done():
	}
	var err error
	if c.Cancel != nil {
		if cancelErr := c.Cancel(); cancelErr == nil {
			// Interrupted: whatever the process does now may be because of the Context.
			err = c.ctx.Err()
		} else if !errors.Is(cancelErr, os.ErrProcessDone) {
			err = fmt.Errorf("sprout: canceling Cmd: %w", cancelErr)
		}
	}
	if c.WaitDelay == 0 {
		resultc <- ctxResult{err: err}
		return
	}
	timer := time.NewTimer(c.WaitDelay)
	select {
	case resultc <- ctxResult{err: err, timer: timer}:
		return
	case <-timer.C:
	}
	killed := false
	if killErr := c.Process.Kill(); killErr == nil {
		killed = true
	} else if !errors.Is(killErr, os.ErrProcessDone) {
		err = fmt.Errorf("sprout: killing Cmd: %w", killErr)
	}
	if c.goroutineErr != nil {
		select {
		case copyErr := <-c.goroutineErr:
			if err == nil && !killed {
				err = copyErr
			}
		default:
			// Pipes held open by the process's own children: close them (after the kill,
			// so the process is not the one to die of SIGPIPE).
			c.closeParentFiles()
			<-c.goroutineErr
			if err == nil {
				err = ErrWaitDelay
			}
		}
		c.goroutineErr = nil
	}
	resultc <- ctxResult{err: err}
}

// Run starts the process and waits for it.
func (c *Cmd) Run() error {
	if err := c.Start(); err != nil {
		return err
	}
	return c.Wait()
}

// Output runs the process and returns its standard output. When Stderr is not set, part of
// the standard error is kept in the *ExitError's Stderr.
func (c *Cmd) Output() ([]byte, error) {
	if c.Stdout != nil {
		return nil, errors.New("sprout: Stdout already set")
	}
	var stdout bytes.Buffer
	c.Stdout = &stdout
	var stderr *headTail
	if c.Stderr == nil {
		stderr = &headTail{max: 32 << 10}
		c.Stderr = stderr
	}
	err := c.Run()
	var exitErr *ExitError
	if stderr != nil && errors.As(err, &exitErr) {
		exitErr.Stderr = stderr.bytes()
	}
	return stdout.Bytes(), err
}

// CombinedOutput runs the process and returns its standard output and error, interleaved
// as written, through one pipe.
func (c *Cmd) CombinedOutput() ([]byte, error) {
	if c.Stdout != nil {
		return nil, errors.New("sprout: Stdout already set")
	}
	if c.Stderr != nil {
		return nil, errors.New("sprout: Stderr already set")
	}
	var b bytes.Buffer
	c.Stdout, c.Stderr = &b, &b
	err := c.Run()
	return b.Bytes(), err
}

// StdinPipe returns a pipe to the process's standard input; Wait closes it once the process
// has ended, and closing it earlier lets the process see end of file.
func (c *Cmd) StdinPipe() (io.WriteCloser, error) {
	if c.Stdin != nil {
		return nil, errors.New("sprout: Stdin already set")
	}
	if c.Process != nil {
		return nil, errors.New("sprout: StdinPipe after process started")
	}
	child, parent, err := childPipe(true)
	if err != nil {
		return nil, err
	}
	c.Stdin = child
	c.childFiles = append(c.childFiles, child)
	w := &closeOnce{File: parent}
	c.parentFiles = append(c.parentFiles, w)
	return w, nil
}

// StdoutPipe returns a pipe from the process's standard output. Wait closes it once the
// process has ended: read it all before calling Wait.
func (c *Cmd) StdoutPipe() (io.ReadCloser, error) {
	if c.Stdout != nil {
		return nil, errors.New("sprout: Stdout already set")
	}
	if c.Process != nil {
		return nil, errors.New("sprout: StdoutPipe after process started")
	}
	child, parent, err := childPipe(false)
	if err != nil {
		return nil, err
	}
	c.Stdout = child
	c.childFiles = append(c.childFiles, child)
	c.parentFiles = append(c.parentFiles, parent)
	return parent, nil
}

// StderrPipe is StdoutPipe for the standard error.
func (c *Cmd) StderrPipe() (io.ReadCloser, error) {
	if c.Stderr != nil {
		return nil, errors.New("sprout: Stderr already set")
	}
	if c.Process != nil {
		return nil, errors.New("sprout: StderrPipe after process started")
	}
	child, parent, err := childPipe(false)
	if err != nil {
		return nil, err
	}
	c.Stderr = child
	c.childFiles = append(c.childFiles, child)
	c.parentFiles = append(c.parentFiles, parent)
	return parent, nil
}

// closeOnce is a pipe end that both its user and Wait may close.
type closeOnce struct {
	*os.File
	once sync.Once
	err  error
}

func (c *closeOnce) Close() error {
	c.once.Do(func() { c.err = c.File.Close() })
	return c.err
}

// headTail keeps the first and the last max/2 bytes written to it.
type headTail struct {
	max     int
	head    []byte
	tail    []byte
	skipped int64
}

func (h *headTail) Write(p []byte) (int, error) {
	n := len(p)
	if room := h.max/2 - len(h.head); room > 0 {
		take := len(p)
		if take > room {
			take = room
		}
		h.head = append(h.head, p[:take]...)
		p = p[take:]
	}
	h.tail = append(h.tail, p...)
	if over := len(h.tail) - h.max/2; over > 0 {
		h.skipped += int64(over)
		h.tail = append(h.tail[:0], h.tail[over:]...)
	}
	return n, nil
}

func (h *headTail) bytes() []byte {
	if h.skipped == 0 {
		return append(h.head, h.tail...)
	}
	out := append([]byte{}, h.head...)
	out = append(out, fmt.Sprintf("\n... omitting %d bytes ...\n", h.skipped)...)
	return append(out, h.tail...)
}

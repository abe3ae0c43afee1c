package sprout

import (
	"errors"
	"os/exec"
	"syscall"

	"sprout.invalid/sprout/internal/csprout"
)

// Stage is where a spawn failed (C: enum sprout_stage).
type Stage uint32

const (
	StageNone         Stage = csprout.StageNone
	StageArgs         Stage = csprout.StageArgs // refused before any process existed
	StageSpawn        Stage = csprout.StageSpawn
	StageNamespaces   Stage = csprout.StageNamespaces
	StageCgroup       Stage = csprout.StageCgroup
	StageFds          Stage = csprout.StageFds
	StageTTY          Stage = csprout.StageTTY
	StageRlimits      Stage = csprout.StageRlimits
	StageChdir        Stage = csprout.StageChdir
	StageCredentials  Stage = csprout.StageCredentials
	StageCapabilities Stage = csprout.StageCapabilities
	StageNoNewPrivs   Stage = csprout.StageNoNewPrivs
	StageSeccomp      Stage = csprout.StageSeccomp
	StageExec         Stage = csprout.StageExec // the path search and execve
	StageWait         Stage = csprout.StageWait
	// Since ABI 1.1.
	StageSched       Stage = csprout.StageSched // Scheduler, IOPriority, CPUAffinity
	StageOOMScoreAdj Stage = csprout.StageOOMScoreAdj
	StagePersonality Stage = csprout.StagePersonality
	StageUTS         Stage = csprout.StageUTS // Hostname, Domainname
	StageChroot      Stage = csprout.StageChroot
	StagePtrace      Stage = csprout.StagePtrace
	StageLandlock    Stage = csprout.StageLandlock // a Landlock ruleset, landlock_restrict_self
)

// String is the library's name of the stage: "exec", "credentials", ...
func (s Stage) String() string { return csprout.StageName(uint32(s)) }

// Error is a failure reported by the library: where (Stage), the errno, and a message that
// names the stage, the path / fd / id concerned and the errno's text, for example
// "exec: nosuch (searched PATH): No such file or directory".
//
// It unwraps to its syscall.Errno, so errors.Is(err, fs.ErrNotExist) and
// errors.Is(err, syscall.EPERM) work as for the os package's errors; a program name without
// '/' that the PATH search did not find also satisfies errors.Is(err, exec.ErrNotFound).
type Error struct {
	Stage   Stage
	Errno   syscall.Errno
	Message string

	searched bool // the program was a name without '/', looked up in PATH
}

func (e *Error) Error() string { return "sprout: " + e.Message }

func (e *Error) Unwrap() error { return e.Errno }

// Is reports exec.ErrNotFound for a PATH search that found nothing, as os/exec does.
func (e *Error) Is(target error) bool {
	return target == exec.ErrNotFound && e.searched && e.Stage == StageExec && e.Errno == syscall.ENOENT
}

func newError(f *csprout.Failure) error {
	if f == nil {
		return nil
	}
	msg := f.Message
	if msg == "" {
		msg = Stage(f.Stage).String() + ": " + f.Errno.Error()
	}
	return &Error{Stage: Stage(f.Stage), Errno: f.Errno, Message: msg}
}

// argsError is an Error for arguments refused before the library is called.
func argsError(errno syscall.Errno, what string) error {
	return &Error{Stage: StageArgs, Errno: errno, Message: "args: " + what + ": " + errno.Error()}
}

// ErrWaitDelay is returned by Wait when the process exited successfully but its I/O pipes
// were closed by WaitDelay before they reached EOF (os/exec's ErrWaitDelay, Go 1.20).
var ErrWaitDelay = errors.New("sprout: WaitDelay expired before I/O complete")

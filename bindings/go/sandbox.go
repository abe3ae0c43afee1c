package sprout

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"

	"sprout.invalid/sprout/internal/csprout"
)

// LandlockAccess is a set of Landlock rights, with the values of <linux/landlock.h>:
// LANDLOCK_ACCESS_FS_* and LANDLOCK_ACCESS_NET_* (ABI 1.1).
type LandlockAccess uint64

const (
	LandlockFSExecute    LandlockAccess = csprout.LandlockFSExecute
	LandlockFSWriteFile  LandlockAccess = csprout.LandlockFSWriteFile
	LandlockFSReadFile   LandlockAccess = csprout.LandlockFSReadFile
	LandlockFSReadDir    LandlockAccess = csprout.LandlockFSReadDir
	LandlockFSRemoveDir  LandlockAccess = csprout.LandlockFSRemoveDir
	LandlockFSRemoveFile LandlockAccess = csprout.LandlockFSRemoveFile
	LandlockFSMakeChar   LandlockAccess = csprout.LandlockFSMakeChar
	LandlockFSMakeDir    LandlockAccess = csprout.LandlockFSMakeDir
	LandlockFSMakeReg    LandlockAccess = csprout.LandlockFSMakeReg
	LandlockFSMakeSock   LandlockAccess = csprout.LandlockFSMakeSock
	LandlockFSMakeFifo   LandlockAccess = csprout.LandlockFSMakeFifo
	LandlockFSMakeBlock  LandlockAccess = csprout.LandlockFSMakeBlock
	LandlockFSMakeSym    LandlockAccess = csprout.LandlockFSMakeSym
	LandlockFSRefer      LandlockAccess = csprout.LandlockFSRefer
	LandlockFSTruncate   LandlockAccess = csprout.LandlockFSTruncate
	LandlockFSIoctlDev   LandlockAccess = csprout.LandlockFSIoctlDev

	// LandlockFSAll is every file right Landlock knows (what a sandbox handles).
	LandlockFSAll = LandlockFSExecute | LandlockFSWriteFile | LandlockFSReadFile |
		LandlockFSReadDir | LandlockFSRemoveDir | LandlockFSRemoveFile | LandlockFSMakeChar |
		LandlockFSMakeDir | LandlockFSMakeReg | LandlockFSMakeSock | LandlockFSMakeFifo |
		LandlockFSMakeBlock | LandlockFSMakeSym | LandlockFSRefer | LandlockFSTruncate |
		LandlockFSIoctlDev
	// LandlockFSRead is reading files and directories and running files.
	LandlockFSRead = LandlockFSExecute | LandlockFSReadFile | LandlockFSReadDir

	LandlockNetBindTCP    LandlockAccess = csprout.LandlockNetBindTCP
	LandlockNetConnectTCP LandlockAccess = csprout.LandlockNetConnectTCP
)

// LandlockScope is a set of LANDLOCK_SCOPE_* bits: what the process may not reach outside its
// Landlock domain.
type LandlockScope uint64

const (
	LandlockScopeAbstractUnixSocket LandlockScope = csprout.LandlockScopeAbstract
	LandlockScopeSignal             LandlockScope = csprout.LandlockScopeSignal
)

// LandlockPath allows Access beneath a directory (or on a file): Path, or File when Path is
// empty.
type LandlockPath struct {
	Path   string
	File   *os.File
	Access LandlockAccess
}

// LandlockPort allows Access (bind and/or connect) on a TCP port.
type LandlockPort struct {
	Port   uint16
	Access LandlockAccess
}

// LandlockRuleset describes a Landlock ruleset for CreateLandlockRuleset: the handled rights
// are denied except where a rule allows them; rights not handled stay allowed.
type LandlockRuleset struct {
	HandledFS  LandlockAccess
	HandledNet LandlockAccess
	Scoped     LandlockScope
	Paths      []LandlockPath
	Ports      []LandlockPort
	// BestEffort leaves out what the running kernel's Landlock cannot enforce (reported by
	// CreateLandlockRuleset) instead of failing with EOPNOTSUPP naming it.
	BestEffort bool
}

// LandlockDropped is what a best-effort ruleset left out.
type LandlockDropped struct {
	FS     LandlockAccess
	Net    LandlockAccess
	Scoped LandlockScope
}

// CreateLandlockRuleset builds the ruleset (sprout_landlock_create_ruleset) and returns its
// fd as a file the caller owns (close-on-exec), to give to Cmd.Landlock for any number of
// spawns, and what best effort left out.
func CreateLandlockRuleset(r *LandlockRuleset) (*os.File, LandlockDropped, error) {
	c := &csprout.Ruleset{
		HandledFS:  uint64(r.HandledFS),
		HandledNet: uint64(r.HandledNet),
		Scoped:     uint64(r.Scoped),
	}
	if r.BestEffort {
		c.Flags = csprout.LandlockBestEffort
	}
	for i, p := range r.Paths {
		rule := csprout.LandlockPath{Access: uint64(p.Access), Path: p.Path, FD: -1}
		switch {
		case strings.IndexByte(p.Path, 0) >= 0:
			return nil, LandlockDropped{}, argsError(syscall.EINVAL, fmt.Sprintf("Paths[%d] %q holds a NUL byte", i, p.Path))
		case p.Path == "" && p.File == nil:
			return nil, LandlockDropped{}, argsError(syscall.EINVAL, fmt.Sprintf("Paths[%d]: neither Path nor File", i))
		case p.Path == "":
			fd, err := fileFd(p.File)
			if err != nil {
				return nil, LandlockDropped{}, fmt.Errorf("sprout: Paths[%d].File: %w", i, err)
			}
			rule.FD = fd
		}
		c.Paths = append(c.Paths, rule)
	}
	for _, p := range r.Ports {
		c.Ports = append(c.Ports, csprout.LandlockPort{Access: uint64(p.Access), Port: uint64(p.Port)})
	}
	fd, dropped, failure := csprout.CreateRuleset(c)
	runtime.KeepAlive(r) // the files whose fds the library read
	if failure != nil {
		return nil, LandlockDropped{}, newError(failure)
	}
	return os.NewFile(uintptr(fd), "landlock-ruleset"), LandlockDropped{
		FS:     LandlockAccess(dropped.FS),
		Net:    LandlockAccess(dropped.Net),
		Scoped: LandlockScope(dropped.Scoped),
	}, nil
}

// LandlockABI is the running kernel's Landlock ABI version (sprout_landlock_abi_version):
// ENOSYS or EOPNOTSUPP where Landlock is missing or off.
func LandlockABI() (int, error) { return csprout.LandlockABI() }

// Resume lets a process started with Cmd.Paused run its program (sprout_start), and returns
// once it does: an exec failure (the PATH search runs only now) is an *Error as Start's, and
// leaves no process behind, as a failed Start: the library has reaped and forgotten it (Wait
// then fails).
func (p *Process) Resume() error {
	if failure := csprout.Start(p.Pid); failure != nil {
		return newError(failure)
	}
	return nil
}

// SeccompListener hands over the user-notification listener of the process's seccomp filter
// (Cmd.SeccompFlags with SeccompFlagNewListener), once: a new close-on-exec file the caller
// owns, for SECCOMP_IOCTL_NOTIF_RECV and _SEND. The program never holds it.
func (p *Process) SeccompListener() (*os.File, error) {
	fd, err := csprout.SeccompListener(p.Pid)
	if err == syscall.ESRCH {
		return nil, os.ErrProcessDone
	}
	if err != nil {
		return nil, os.NewSyscallError("sprout_seccomp_listener", err)
	}
	return os.NewFile(uintptr(fd), fmt.Sprintf("seccomp-listener:%d", p.Pid)), nil
}

// The flags of seccomp(SECCOMP_SET_MODE_FILTER) Cmd.SeccompFlags takes.
const (
	SeccompFlagLog              uint64 = 1 << 1
	SeccompFlagSpecAllow        uint64 = 1 << 2
	SeccompFlagNewListener      uint64 = 1 << 3
	SeccompFlagWaitKillableRecv uint64 = 1 << 5
)

// spec14 fills what Cmd's sandboxing fields ask (ABI 1.1).
func (c *Cmd) spec14(s *csprout.Spec) error {
	if c.Landlock != nil {
		fd, err := fileFd(c.Landlock)
		if err != nil {
			return fmt.Errorf("sprout: Landlock: %w", err)
		}
		s.Flags2 |= csprout.Flag2Landlock
		s.LandlockRulesetFD = fd
		s.LandlockRestrictFlags = c.LandlockRestrictFlags
	} else if c.LandlockRestrictFlags != 0 {
		return argsError(syscall.EINVAL, "LandlockRestrictFlags without Landlock")
	}
	s.SeccompFlags = c.SeccompFlags
	if c.Paused {
		s.Flags2 |= csprout.Flag2Paused
	}
	return nil
}

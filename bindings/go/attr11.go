package sprout

import (
	"fmt"
	"strings"
	"syscall"
	"time"

	"sprout.invalid/sprout/internal/csprout"
)

// SchedPolicy is a scheduling policy of sched_setattr(2).
type SchedPolicy uint32

const (
	SchedOther    SchedPolicy = 0
	SchedFIFO     SchedPolicy = 1
	SchedRR       SchedPolicy = 2
	SchedBatch    SchedPolicy = 3
	SchedIdle     SchedPolicy = 5
	SchedDeadline SchedPolicy = 6
)

// Scheduler is a scheduling policy and its parameters, as the OCI runtime spec's `scheduler`:
// Nice for SchedOther and SchedBatch (-20..19), Priority for SchedFIFO and SchedRR (1..99),
// Runtime <= Deadline <= Period for SchedDeadline (a Period of 0 is the Deadline). Applied
// before the credentials change: a real-time or deadline policy, or a lower nice, needs
// CAP_SYS_NICE or the RLIMIT_RTPRIO / RLIMIT_NICE that allows it (StageSched, EPERM).
type Scheduler struct {
	Policy   SchedPolicy
	Nice     int
	Priority int
	// ResetOnFork: the process's children start with SchedOther (SCHED_FLAG_RESET_ON_FORK).
	ResetOnFork bool
	Runtime     time.Duration
	Deadline    time.Duration
	Period      time.Duration
}

// IOPrioClass is an I/O scheduling class of ioprio_set(2).
type IOPrioClass uint32

const (
	IOPrioRealtime   IOPrioClass = 1
	IOPrioBestEffort IOPrioClass = 2
	IOPrioIdle       IOPrioClass = 3
)

// IOPriority is an I/O scheduling class and a level in it, 0 (highest) to 7.
type IOPriority struct {
	Class IOPrioClass
	Level int
}

// Personality is a persona of personality(2): an execution domain and flags, combined with |.
type Personality uint32

const (
	PerLinux         Personality = 0
	PerLinux32       Personality = 0x0008
	AddrNoRandomize  Personality = 0x0040000
	ReadImpliesExec  Personality = 0x0400000
	AddrCompatLayout Personality = 0x0200000
	AddrLimit32Bit   Personality = 0x0800000
	ShortInode       Personality = 0x1000000
	WholeSeconds     Personality = 0x2000000
	StickyTimeouts   Personality = 0x4000000
	AddrLimit3GB     Personality = 0x8000000
	Uname26          Personality = 0x0020000
	MmapPageZero     Personality = 0x0100000
)

// signalSet is a set of signals as the kernel's 64-bit sigset: bit n-1 is signal n.
func signalSet(field string, sigs []syscall.Signal) (uint64, error) {
	var set uint64
	for _, sig := range sigs {
		if sig < 1 || sig > 64 {
			return 0, argsError(syscall.EINVAL, fmt.Sprintf("%s: signal %d", field, int(sig)))
		}
		set |= 1 << (uint(sig) - 1)
	}
	return set, nil
}

// spec11 sets the fields of ABI 1.1.
func (c *Cmd) spec11(s *csprout.Spec) error {
	if c.Setpgid {
		s.Flags2 |= csprout.Flag2Setpgroup
		s.Pgid = int32(c.Pgid)
	} else if c.Pgid != 0 {
		return argsError(syscall.EINVAL, fmt.Sprintf("Pgid %d without Setpgid", c.Pgid))
	}
	var err error
	if s.Sigmask, err = signalSet("SignalMask", c.SignalMask); err != nil {
		return err
	}
	if s.Sigdefault, err = signalSet("DefaultSignals", c.DefaultSignals); err != nil {
		return err
	}
	if c.KeepIgnoredSignals {
		s.Flags2 |= csprout.Flag2KeepIgnoredSignals
	}
	if c.KeepUmask {
		s.Flags2 |= csprout.Flag2KeepUmask
	}
	if c.OOMScoreAdj != nil {
		s.Flags2 |= csprout.Flag2OOMScoreAdj
		s.OOMScoreAdj = int32(*c.OOMScoreAdj)
	}
	if sched := c.Scheduler; sched != nil {
		s.Sched = &csprout.Sched{
			Policy:   uint32(sched.Policy),
			Nice:     int32(sched.Nice),
			Priority: uint32(sched.Priority),
			Runtime:  uint64(sched.Runtime),
			Deadline: uint64(sched.Deadline),
			Period:   uint64(sched.Period),
		}
		if sched.ResetOnFork {
			s.Sched.Flags |= 1
		}
	}
	if io := c.IOPriority; io != nil {
		s.IOPrioClass, s.IOPrioLevel = uint32(io.Class), uint32(io.Level)
	}
	for _, cpu := range c.CPUAffinity {
		if cpu < 0 || cpu >= 1<<20 {
			return argsError(syscall.EINVAL, fmt.Sprintf("CPUAffinity: CPU %d", cpu))
		}
		for len(s.CPUSet) <= cpu/64 {
			s.CPUSet = append(s.CPUSet, 0)
		}
		s.CPUSet[cpu/64] |= 1 << (uint(cpu) % 64)
	}
	if c.CPUAffinity != nil && len(c.CPUAffinity) == 0 {
		return argsError(syscall.EINVAL, "CPUAffinity is empty")
	}
	if c.Personality != nil {
		s.Flags2 |= csprout.Flag2Personality
		s.Personality = uint32(*c.Personality)
	}
	for _, field := range [...]struct{ name, value string }{
		{"Hostname", c.Hostname}, {"Domainname", c.Domainname}, {"Chroot", c.Chroot},
	} {
		if strings.IndexByte(field.value, 0) >= 0 {
			return argsError(syscall.EINVAL, fmt.Sprintf("%s %q holds a NUL byte", field.name, field.value))
		}
	}
	s.Hostname, s.Domainname, s.RootDir = c.Hostname, c.Domainname, c.Chroot
	if c.ChrootFile != nil {
		if c.Chroot != "" {
			return argsError(syscall.EINVAL, "Chroot and ChrootFile: one root directory, not both")
		}
		fd, err := fileFd(c.ChrootFile)
		if err != nil {
			return fmt.Errorf("sprout: ChrootFile: %w", err)
		}
		s.Flags2 |= csprout.Flag2RootFD
		s.RootFD = fd
	}
	if c.Ptrace {
		if c.Pdeathsig != 0 {
			return argsError(syscall.EINVAL, "Ptrace with Pdeathsig: the tracer would be a thread of sprout's own")
		}
		s.Flags2 |= csprout.Flag2Ptrace
	}
	return nil
}

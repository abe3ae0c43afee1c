package sprout

import (
	"os"
	"strconv"
	"strings"
	"syscall"

	"sprout.invalid/sprout/internal/csprout"
)

// Credential is the identity of the new process, as ids inside its user namespace: real,
// effective, saved and filesystem ids all become Uid and Gid, and the supplementary groups
// exactly Groups (none when empty). Applied in the child with raw system calls (setgroups,
// setresgid, setresuid), never the C library's, so no other thread of the caller changes.
// Changing to a non-root uid drops every capability unless Capabilities says otherwise.
type Credential struct {
	Uid    uint32
	Gid    uint32
	Groups []uint32
}

// Caps is a set of capabilities: bit n is capability n of capabilities(7).
type Caps uint64

// The capabilities, as one-bit sets: combine them with |.
const (
	CapChown             Caps = 1 << csprout.CapChown
	CapDacOverride       Caps = 1 << csprout.CapDacOverride
	CapDacReadSearch     Caps = 1 << csprout.CapDacReadSearch
	CapFowner            Caps = 1 << csprout.CapFowner
	CapFsetid            Caps = 1 << csprout.CapFsetid
	CapKill              Caps = 1 << csprout.CapKill
	CapSetgid            Caps = 1 << csprout.CapSetgid
	CapSetuid            Caps = 1 << csprout.CapSetuid
	CapSetpcap           Caps = 1 << csprout.CapSetpcap
	CapLinuxImmutable    Caps = 1 << csprout.CapLinuxImmutable
	CapNetBindService    Caps = 1 << csprout.CapNetBindService
	CapNetBroadcast      Caps = 1 << csprout.CapNetBroadcast
	CapNetAdmin          Caps = 1 << csprout.CapNetAdmin
	CapNetRaw            Caps = 1 << csprout.CapNetRaw
	CapIpcLock           Caps = 1 << csprout.CapIpcLock
	CapIpcOwner          Caps = 1 << csprout.CapIpcOwner
	CapSysModule         Caps = 1 << csprout.CapSysModule
	CapSysRawio          Caps = 1 << csprout.CapSysRawio
	CapSysChroot         Caps = 1 << csprout.CapSysChroot
	CapSysPtrace         Caps = 1 << csprout.CapSysPtrace
	CapSysPacct          Caps = 1 << csprout.CapSysPacct
	CapSysAdmin          Caps = 1 << csprout.CapSysAdmin
	CapSysBoot           Caps = 1 << csprout.CapSysBoot
	CapSysNice           Caps = 1 << csprout.CapSysNice
	CapSysResource       Caps = 1 << csprout.CapSysResource
	CapSysTime           Caps = 1 << csprout.CapSysTime
	CapSysTtyConfig      Caps = 1 << csprout.CapSysTtyConfig
	CapMknod             Caps = 1 << csprout.CapMknod
	CapLease             Caps = 1 << csprout.CapLease
	CapAuditWrite        Caps = 1 << csprout.CapAuditWrite
	CapAuditControl      Caps = 1 << csprout.CapAuditControl
	CapSetfcap           Caps = 1 << csprout.CapSetfcap
	CapMacOverride       Caps = 1 << csprout.CapMacOverride
	CapMacAdmin          Caps = 1 << csprout.CapMacAdmin
	CapSyslog            Caps = 1 << csprout.CapSyslog
	CapWakeAlarm         Caps = 1 << csprout.CapWakeAlarm
	CapBlockSuspend      Caps = 1 << csprout.CapBlockSuspend
	CapAuditRead         Caps = 1 << csprout.CapAuditRead
	CapPerfmon           Caps = 1 << csprout.CapPerfmon
	CapBpf               Caps = 1 << csprout.CapBpf
	CapCheckpointRestore Caps = 1 << csprout.CapCheckpointRestore

	// AllCaps is every capability the header knows; the library refuses a bit above the
	// running kernel's last one (/proc/sys/kernel/cap_last_cap).
	AllCaps Caps = 1<<(csprout.CapLastCap+1) - 1
)

var capNames = [...]string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
	"CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// Has reports whether every capability of want is in c.
func (c Caps) Has(want Caps) bool { return c&want == want }

// String lists the capabilities by their kernel names, "CAP_CHOWN|CAP_NET_RAW"; numbers
// for those without a name here.
func (c Caps) String() string {
	if c == 0 {
		return "0"
	}
	var names []string
	for n := 0; n < 64; n++ {
		if c&(1<<n) == 0 {
			continue
		}
		if n < len(capNames) {
			names = append(names, capNames[n])
		} else {
			names = append(names, "cap"+strconv.Itoa(n))
		}
	}
	return strings.Join(names, "|")
}

// Capabilities are the five capability sets the process is left with before execve, with
// the meaning of the OCI runtime spec (runc): every capability not in Bounding is dropped
// from the bounding set, Effective, Permitted and Inheritable are set with capset after the
// credentials change (which keeps Permitted), and the ambient set becomes exactly Ambient.
// After execve the kernel's rules apply: a non-root program without file capabilities holds
// its ambient set as its effective and permitted sets. Effective must be within Permitted,
// and Ambient within Permitted & Inheritable (else StageArgs, EINVAL).
type Capabilities struct {
	Effective, Permitted, Inheritable, Bounding, Ambient Caps
}

// Resource is a resource of setrlimit(2).
type Resource int32

const (
	RlimitCPU        Resource = csprout.RlimitCPU
	RlimitFsize      Resource = csprout.RlimitFsize
	RlimitData       Resource = csprout.RlimitData
	RlimitStack      Resource = csprout.RlimitStack
	RlimitCore       Resource = csprout.RlimitCore
	RlimitRSS        Resource = csprout.RlimitRSS
	RlimitNproc      Resource = csprout.RlimitNproc
	RlimitNofile     Resource = csprout.RlimitNofile
	RlimitMemlock    Resource = csprout.RlimitMemlock
	RlimitAS         Resource = csprout.RlimitAS
	RlimitLocks      Resource = csprout.RlimitLocks
	RlimitSigpending Resource = csprout.RlimitSigpending
	RlimitMsgqueue   Resource = csprout.RlimitMsgqueue
	RlimitNice       Resource = csprout.RlimitNice
	RlimitRtprio     Resource = csprout.RlimitRtprio
	RlimitRttime     Resource = csprout.RlimitRttime
)

// RlimInfinity is RLIM_INFINITY, as Soft or Hard.
const RlimInfinity = ^uint64(0)

// Rlimit is one resource limit of the new process, set with prlimit64 in the child before
// its credentials change (so a root caller may raise a hard limit); the caller's own limits
// never change. Soft above Hard, or a resource given twice, is StageArgs, EINVAL.
type Rlimit struct {
	Resource   Resource
	Soft, Hard uint64
}

// NamespaceType is the CLONE_NEW* value of a kind of namespace.
type NamespaceType int32

const (
	MountNS  NamespaceType = csprout.CloneNewNS
	UTSNS    NamespaceType = csprout.CloneNewUTS
	IPCNS    NamespaceType = csprout.CloneNewIPC
	NetNS    NamespaceType = csprout.CloneNewNet
	PIDNS    NamespaceType = csprout.CloneNewPID
	UserNS   NamespaceType = csprout.CloneNewUser
	CgroupNS NamespaceType = csprout.CloneNewCgroup
	TimeNS   NamespaceType = csprout.CloneNewTime
)

// Namespace is one namespace of the new process: a new one when File is nil, else the one
// File refers to (a /proc/PID/ns/* file, or a bind mount of one) is joined. Kinds not listed
// stay the caller's; each kind at most once. See the README's "Namespaces and cgroups" for
// the order the library joins and creates them in.
type Namespace struct {
	Type NamespaceType
	File *os.File
}

// IDMap is one line of a uid_map or gid_map of a new user namespace: ids ContainerID ..
// ContainerID+Size-1 inside are HostID.. outside. The same type as syscall.SysProcAttr's.
type IDMap = syscall.SysProcIDMap

// SockFilter is one instruction of a classic BPF program (struct sock_filter), as in
// syscall; Cmd.Seccomp is a ready program.
type SockFilter = syscall.SockFilter

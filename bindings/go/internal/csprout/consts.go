package csprout

/*
#include <linux/capability.h>
#include <linux/sched.h>
#include <sys/resource.h>
*/
import "C"

// Capability numbers, from <linux/capability.h>.
const (
	CapChown             = C.CAP_CHOWN
	CapDacOverride       = C.CAP_DAC_OVERRIDE
	CapDacReadSearch     = C.CAP_DAC_READ_SEARCH
	CapFowner            = C.CAP_FOWNER
	CapFsetid            = C.CAP_FSETID
	CapKill              = C.CAP_KILL
	CapSetgid            = C.CAP_SETGID
	CapSetuid            = C.CAP_SETUID
	CapSetpcap           = C.CAP_SETPCAP
	CapLinuxImmutable    = C.CAP_LINUX_IMMUTABLE
	CapNetBindService    = C.CAP_NET_BIND_SERVICE
	CapNetBroadcast      = C.CAP_NET_BROADCAST
	CapNetAdmin          = C.CAP_NET_ADMIN
	CapNetRaw            = C.CAP_NET_RAW
	CapIpcLock           = C.CAP_IPC_LOCK
	CapIpcOwner          = C.CAP_IPC_OWNER
	CapSysModule         = C.CAP_SYS_MODULE
	CapSysRawio          = C.CAP_SYS_RAWIO
	CapSysChroot         = C.CAP_SYS_CHROOT
	CapSysPtrace         = C.CAP_SYS_PTRACE
	CapSysPacct          = C.CAP_SYS_PACCT
	CapSysAdmin          = C.CAP_SYS_ADMIN
	CapSysBoot           = C.CAP_SYS_BOOT
	CapSysNice           = C.CAP_SYS_NICE
	CapSysResource       = C.CAP_SYS_RESOURCE
	CapSysTime           = C.CAP_SYS_TIME
	CapSysTtyConfig      = C.CAP_SYS_TTY_CONFIG
	CapMknod             = C.CAP_MKNOD
	CapLease             = C.CAP_LEASE
	CapAuditWrite        = C.CAP_AUDIT_WRITE
	CapAuditControl      = C.CAP_AUDIT_CONTROL
	CapSetfcap           = C.CAP_SETFCAP
	CapMacOverride       = C.CAP_MAC_OVERRIDE
	CapMacAdmin          = C.CAP_MAC_ADMIN
	CapSyslog            = C.CAP_SYSLOG
	CapWakeAlarm         = C.CAP_WAKE_ALARM
	CapBlockSuspend      = C.CAP_BLOCK_SUSPEND
	CapAuditRead         = C.CAP_AUDIT_READ
	CapPerfmon           = C.CAP_PERFMON
	CapBpf               = C.CAP_BPF
	CapCheckpointRestore = C.CAP_CHECKPOINT_RESTORE
	CapLastCap           = C.CAP_LAST_CAP
)

// Namespace types, from <linux/sched.h>.
const (
	CloneNewNS     = C.CLONE_NEWNS
	CloneNewUTS    = C.CLONE_NEWUTS
	CloneNewIPC    = C.CLONE_NEWIPC
	CloneNewNet    = C.CLONE_NEWNET
	CloneNewPID    = C.CLONE_NEWPID
	CloneNewUser   = C.CLONE_NEWUSER
	CloneNewCgroup = C.CLONE_NEWCGROUP
	CloneNewTime   = C.CLONE_NEWTIME
)

// Resource limits, from <sys/resource.h>.
const (
	RlimitCPU        = C.RLIMIT_CPU
	RlimitFsize      = C.RLIMIT_FSIZE
	RlimitData       = C.RLIMIT_DATA
	RlimitStack      = C.RLIMIT_STACK
	RlimitCore       = C.RLIMIT_CORE
	RlimitRSS        = C.RLIMIT_RSS
	RlimitNproc      = C.RLIMIT_NPROC
	RlimitNofile     = C.RLIMIT_NOFILE
	RlimitMemlock    = C.RLIMIT_MEMLOCK
	RlimitAS         = C.RLIMIT_AS
	RlimitLocks      = C.RLIMIT_LOCKS
	RlimitSigpending = C.RLIMIT_SIGPENDING
	RlimitMsgqueue   = C.RLIMIT_MSGQUEUE
	RlimitNice       = C.RLIMIT_NICE
	RlimitRtprio     = C.RLIMIT_RTPRIO
	RlimitRttime     = C.RLIMIT_RTTIME
)

// Package csprout is the cgo layer of the Go binding, and the only code that sees C types.
//
// A Spec of plain Go values becomes one C allocation holding the sprout_exec_args and
// everything it points to (strings, arrays), freed when the call returns: no Go pointer is
// ever handed to C. Results come back as Go values, errors as a *Failure.
//
// To pass a field added to sprout_exec_args by a later ABI (issue 11: ABI 1.1), add it to
// Spec, size it in measure and set it in fill; the layout test checks that the Go view of the
// structs matches the installed header.
package csprout

/*
#cgo pkg-config: sprout
#include <stdint.h>
#include <stdlib.h>
#include <sprout.h>

// A sprout_tty handle is a token the library looks up, never memory: Go keeps it as a
// uintptr_t and it becomes a pointer again only here, on the C side.
static int32_t csprout_tty_fd(uintptr_t tty) { return sprout_tty_fd((const sprout_tty *)tty); }
static int32_t csprout_tty_resize(uintptr_t tty, uint16_t rows, uint16_t cols) {
	return sprout_tty_resize((sprout_tty *)tty, rows, cols);
}
static int32_t csprout_tty_foreground(uintptr_t tty, int32_t *pgid) {
	return sprout_tty_foreground((const sprout_tty *)tty, pgid);
}
static int32_t csprout_tty_set_foreground(uintptr_t tty, int32_t pgid) {
	return sprout_tty_set_foreground((sprout_tty *)tty, pgid);
}
static int32_t csprout_tty_signal_foreground(uintptr_t tty, int32_t sig) {
	return sprout_tty_signal_foreground((sprout_tty *)tty, sig);
}
static int32_t csprout_tty_release(uintptr_t tty) { return sprout_tty_release((sprout_tty *)tty); }

// sprout_exec_async with the handle returned as a token.
static int32_t csprout_exec_async(const sprout_exec_args *args, const int32_t *fds, size_t fds_len,
                                  int32_t *pid, uintptr_t *tty, sprout_error *err) {
	sprout_process out;
	int32_t rc = sprout_exec_async(args, fds, fds_len, &out, err);
	if (rc == 0) {
		*pid = out.pid;
		*tty = (uintptr_t)out.tty;
	}
	return rc;
}
*/
import "C"

import (
	"syscall"
	"unsafe"
)

// The flags of sprout_exec_args.
const (
	FlagNoNewPrivs = C.SPROUT_EXEC_NO_NEW_PRIVS
	FlagInheritEnv = C.SPROUT_EXEC_INHERIT_ENV
	FlagNoTTY      = C.SPROUT_EXEC_NO_TTY
	FlagNewSession = C.SPROUT_EXEC_NEW_SESSION
)

// The flags2 bits of sprout_exec_args (ABI 1.1).
const (
	Flag2Setpgroup          = C.SPROUT_EXEC2_SETPGROUP
	Flag2KeepIgnoredSignals = C.SPROUT_EXEC2_KEEP_IGNORED_SIGNALS
	Flag2KeepUmask          = C.SPROUT_EXEC2_KEEP_UMASK
	Flag2OOMScoreAdj        = C.SPROUT_EXEC2_OOM_SCORE_ADJ
	Flag2Personality        = C.SPROUT_EXEC2_PERSONALITY
	Flag2RootFD             = C.SPROUT_EXEC2_ROOT_FD
	Flag2Ptrace             = C.SPROUT_EXEC2_PTRACE
	Flag2NoDefaultPath      = C.SPROUT_EXEC2_NO_DEFAULT_PATH
	Flag2Paused             = C.SPROUT_EXEC2_PAUSED
	Flag2Landlock           = C.SPROUT_EXEC2_LANDLOCK
)

// The values of enum sprout_stage.
const (
	StageNone         = C.SPROUT_STAGE_NONE
	StageArgs         = C.SPROUT_STAGE_ARGS
	StageSpawn        = C.SPROUT_STAGE_SPAWN
	StageNamespaces   = C.SPROUT_STAGE_NAMESPACES
	StageCgroup       = C.SPROUT_STAGE_CGROUP
	StageFds          = C.SPROUT_STAGE_FDS
	StageTTY          = C.SPROUT_STAGE_TTY
	StageRlimits      = C.SPROUT_STAGE_RLIMITS
	StageChdir        = C.SPROUT_STAGE_CHDIR
	StageCredentials  = C.SPROUT_STAGE_CREDENTIALS
	StageCapabilities = C.SPROUT_STAGE_CAPABILITIES
	StageNoNewPrivs   = C.SPROUT_STAGE_NO_NEW_PRIVS
	StageSeccomp      = C.SPROUT_STAGE_SECCOMP
	StageExec         = C.SPROUT_STAGE_EXEC
	StageWait         = C.SPROUT_STAGE_WAIT
	StageSched        = C.SPROUT_STAGE_SCHED
	StageOOMScoreAdj  = C.SPROUT_STAGE_OOM_SCORE_ADJ
	StagePersonality  = C.SPROUT_STAGE_PERSONALITY
	StageUTS          = C.SPROUT_STAGE_UTS
	StageChroot       = C.SPROUT_STAGE_CHROOT
	StagePtrace       = C.SPROUT_STAGE_PTRACE
	StageLandlock     = C.SPROUT_STAGE_LANDLOCK
)

// HeaderABIVersion is the SPROUT_ABI_VERSION of the header this package was built with.
const HeaderABIVersion = C.SPROUT_ABI_VERSION

// Spec is sprout_exec_args and the fd array in Go values. Empty strings and nil slices are
// the C side's NULL; -1 is "not set" for the fds, as in C.
type Spec struct {
	Flags       uint32
	Filename    string // "": argv[0]
	ExecFD      int32
	Argv        []string
	Env         []string // nil: NULL
	Dir         string
	Credentials *Credentials
	Caps        *Caps
	Rlimits     []Rlimit
	Umask       uint32
	Namespaces  []Namespace
	UIDMap      []IDMap
	GIDMap      []IDMap
	CgroupFD    int32
	Seccomp     []SockFilter
	Pdeathsig   int32
	ContainerID string // "": none
	Fds         []int32
	// ABI 1.1; zero values leave each unset.
	Flags2      uint64
	Pgid        int32
	OOMScoreAdj int32
	Sigmask     uint64
	Sigdefault  uint64
	Sched       *Sched
	IOPrioClass uint32
	IOPrioLevel uint32
	CPUSet      []uint64
	Personality uint32
	RootFD      int32
	RootDir     string // "": none
	Hostname    string // "": none
	Domainname  string // "": none
	// For starting in a running container (ABI 1.1): more cgroup directories (v1 ones on a
	// hybrid host), and the session keyring (nil: the caller's; "": a new anonymous one).
	ExtraCgroupFDs []int32
	SessionKeyring *string
	// Sandboxing (ABI 1.1): a Landlock ruleset fd with Flag2Landlock, its
	// landlock_restrict_self flags, and SECCOMP_FILTER_FLAG_* for Seccomp.
	LandlockRulesetFD     int32
	LandlockRestrictFlags uint32
	SeccompFlags          uint64
}

// Sched is struct sprout_sched.
type Sched struct {
	Policy   uint32
	Nice     int32
	Priority uint32
	Flags    uint64
	Runtime  uint64
	Deadline uint64
	Period   uint64
}

type Credentials struct {
	UID, GID uint32
	Groups   []uint32
}

type Caps struct {
	Effective, Permitted, Inheritable, Bounding, Ambient uint64
}

type Rlimit struct {
	Resource   int32
	Soft, Hard uint64
}

type Namespace struct {
	Type int32
	FD   int32 // -1: a new one
}

type IDMap struct {
	Inside, Outside, Count uint32
}

// SockFilter is struct sock_filter.
type SockFilter struct {
	Code   uint16
	Jt, Jf uint8
	K      uint32
}

// Failure is a sprout_error, or a negative return of a call without one.
type Failure struct {
	Errno   syscall.Errno
	Stage   uint32
	Message string
}

func failure(rc C.int32_t, err *C.sprout_error) *Failure {
	f := &Failure{Errno: syscall.Errno(-rc)}
	if err != nil && err.code != 0 {
		f.Errno = syscall.Errno(err.code)
		f.Stage = uint32(err.stage)
		f.Message = C.GoString(&err.message[0])
	}
	return f
}

// argsRoom is what the arguments struct gets in the allocation: at least a page, the most a
// library accepts as `size`, so that sprout_exec_args_init of a newer library, which writes
// its own (larger) size, stays inside.
const argsRoom = 4096

func init() {
	if C.sizeof_sprout_exec_args > argsRoom {
		panic("sprout_exec_args is larger than a page")
	}
}

// arena hands out aligned pieces of one C allocation.
type arena struct {
	base unsafe.Pointer
	used uintptr
}

// The alignment of every piece: enough for the pointers and 64-bit fields of the structs.
const align = 8

func roundUp(n uintptr) uintptr { return (n + align - 1) &^ (align - 1) }

func (a *arena) alloc(n uintptr) unsafe.Pointer {
	p := unsafe.Add(a.base, a.used)
	a.used += roundUp(n)
	return p
}

func (a *arena) str(s string) *C.char {
	p := a.alloc(uintptr(len(s)) + 1)
	b := unsafe.Slice((*byte)(p), len(s)+1)
	copy(b, s)
	b[len(s)] = 0
	return (*C.char)(p)
}

// strs is a NULL-terminated array of strings.
func (a *arena) strs(ss []string) **C.char {
	ptrs := unsafe.Slice((**C.char)(a.alloc(uintptr(len(ss)+1)*unsafe.Sizeof((*C.char)(nil)))), len(ss)+1)
	for i, s := range ss {
		ptrs[i] = a.str(s)
	}
	ptrs[len(ss)] = nil
	return &ptrs[0]
}

// array copies items into the arena; nil for none.
func array[T any](a *arena, items []T) *T {
	if len(items) == 0 {
		return nil
	}
	var zero T
	out := unsafe.Slice((*T)(a.alloc(uintptr(len(items))*unsafe.Sizeof(zero))), len(items))
	copy(out, items)
	return &out[0]
}

func stringsSize(ss []string) uintptr {
	n := roundUp(uintptr(len(ss)+1) * unsafe.Sizeof(uintptr(0)))
	for _, s := range ss {
		n += roundUp(uintptr(len(s)) + 1)
	}
	return n
}

// measure is the size of the allocation fill makes for s, exactly.
func measure(s *Spec) uintptr {
	n := uintptr(argsRoom)
	n += stringsSize(s.Argv)
	if s.Env != nil {
		n += stringsSize(s.Env)
	}
	for _, str := range []string{s.Filename, s.Dir, s.ContainerID, s.RootDir, s.Hostname, s.Domainname} {
		if str != "" {
			n += roundUp(uintptr(len(str)) + 1)
		}
	}
	if s.Credentials != nil {
		n += roundUp(C.sizeof_sprout_credentials) + roundUp(uintptr(len(s.Credentials.Groups))*4)
	}
	if s.Caps != nil {
		n += roundUp(C.sizeof_sprout_capabilities)
	}
	n += roundUp(uintptr(len(s.Rlimits)) * C.sizeof_sprout_rlimit)
	n += roundUp(uintptr(len(s.Namespaces)) * C.sizeof_sprout_namespace)
	n += roundUp(uintptr(len(s.UIDMap)) * C.sizeof_sprout_id_map)
	n += roundUp(uintptr(len(s.GIDMap)) * C.sizeof_sprout_id_map)
	n += roundUp(uintptr(len(s.Seccomp)) * 8)
	n += roundUp(uintptr(len(s.Fds)) * 4)
	if s.Sched != nil {
		n += roundUp(C.sizeof_sprout_sched)
	}
	n += roundUp(uintptr(len(s.CPUSet)) * 8)
	n += roundUp(uintptr(len(s.ExtraCgroupFDs)) * 4)
	if s.SessionKeyring != nil {
		n += roundUp(uintptr(len(*s.SessionKeyring)) + 1)
	}
	return n
}

// fill lays out s in the arena and returns the arguments struct and the fd array.
func fill(a *arena, s *Spec) (*C.sprout_exec_args, *C.int32_t) {
	args := (*C.sprout_exec_args)(a.alloc(argsRoom))
	C.sprout_exec_args_init(args)
	// The size this package was compiled with: fields it knows and a library lacks are then
	// refused (-E2BIG) when set, rather than ignored.
	args.size = C.sizeof_sprout_exec_args
	args.flags = C.uint32_t(s.Flags)
	if s.Filename != "" {
		args.filename = a.str(s.Filename)
	}
	args.exec_fd = C.int32_t(s.ExecFD)
	args.argv = a.strs(s.Argv)
	if s.Env != nil {
		args.envv = a.strs(s.Env)
	}
	if s.Dir != "" {
		args.working_directory = a.str(s.Dir)
	}
	if c := s.Credentials; c != nil {
		creds := (*C.sprout_credentials)(a.alloc(C.sizeof_sprout_credentials))
		*creds = C.sprout_credentials{
			uid:            C.uint32_t(c.UID),
			gid:            C.uint32_t(c.GID),
			extra_gids:     (*C.uint32_t)(unsafe.Pointer(array(a, c.Groups))),
			extra_gids_len: C.size_t(len(c.Groups)),
		}
		args.credentials = creds
	}
	if c := s.Caps; c != nil {
		caps := (*C.sprout_capabilities)(a.alloc(C.sizeof_sprout_capabilities))
		*caps = C.sprout_capabilities{
			effective:   C.uint64_t(c.Effective),
			permitted:   C.uint64_t(c.Permitted),
			inheritable: C.uint64_t(c.Inheritable),
			bounding:    C.uint64_t(c.Bounding),
			ambient:     C.uint64_t(c.Ambient),
		}
		args.capabilities = caps
	}
	if len(s.Rlimits) > 0 {
		limits := unsafe.Slice((*C.sprout_rlimit)(a.alloc(uintptr(len(s.Rlimits))*C.sizeof_sprout_rlimit)), len(s.Rlimits))
		for i, l := range s.Rlimits {
			limits[i] = C.sprout_rlimit{resource: C.int32_t(l.Resource), soft: C.uint64_t(l.Soft), hard: C.uint64_t(l.Hard)}
		}
		args.limits, args.limits_len = &limits[0], C.size_t(len(limits))
	}
	args.umask = C.uint32_t(s.Umask)
	if len(s.Namespaces) > 0 {
		nss := unsafe.Slice((*C.sprout_namespace)(a.alloc(uintptr(len(s.Namespaces))*C.sizeof_sprout_namespace)), len(s.Namespaces))
		for i, ns := range s.Namespaces {
			nss[i] = C.sprout_namespace{_type: C.int32_t(ns.Type), fd: C.int32_t(ns.FD)}
		}
		args.namespaces, args.namespaces_len = &nss[0], C.size_t(len(nss))
	}
	args.uid_map, args.uid_map_len = idMaps(a, s.UIDMap)
	args.gid_map, args.gid_map_len = idMaps(a, s.GIDMap)
	args.cgroup_fd = C.int32_t(s.CgroupFD)
	if len(s.Seccomp) > 0 {
		args.seccomp_filter = unsafe.Pointer(array(a, s.Seccomp))
		args.seccomp_filter_len = C.size_t(len(s.Seccomp))
	}
	args.parent_death_signal = C.int32_t(s.Pdeathsig)
	if s.ContainerID != "" {
		args.container_id = a.str(s.ContainerID)
	}
	fill11(a, args, s)
	return args, (*C.int32_t)(unsafe.Pointer(array(a, s.Fds)))
}

// fill11 sets the fields ABI 1.1 appended.
func fill11(a *arena, args *C.sprout_exec_args, s *Spec) {
	args.flags2 = C.uint64_t(s.Flags2)
	args.pgid = C.int32_t(s.Pgid)
	args.oom_score_adj = C.int32_t(s.OOMScoreAdj)
	args.sigmask = C.uint64_t(s.Sigmask)
	args.sigdefault = C.uint64_t(s.Sigdefault)
	if c := s.Sched; c != nil {
		sched := (*C.sprout_sched)(a.alloc(C.sizeof_sprout_sched))
		*sched = C.sprout_sched{
			policy:   C.uint32_t(c.Policy),
			nice:     C.int32_t(c.Nice),
			priority: C.uint32_t(c.Priority),
			flags:    C.uint64_t(c.Flags),
			runtime:  C.uint64_t(c.Runtime),
			deadline: C.uint64_t(c.Deadline),
			period:   C.uint64_t(c.Period),
		}
		args.sched = sched
	}
	args.ioprio_class = C.uint32_t(s.IOPrioClass)
	args.ioprio_level = C.uint32_t(s.IOPrioLevel)
	if len(s.CPUSet) > 0 {
		args.cpu_set = (*C.uint64_t)(unsafe.Pointer(array(a, s.CPUSet)))
		args.cpu_set_len = C.size_t(len(s.CPUSet))
	}
	args.personality = C.uint32_t(s.Personality)
	args.root_fd = C.int32_t(s.RootFD)
	if s.RootDir != "" {
		args.root_directory = a.str(s.RootDir)
	}
	if s.Hostname != "" {
		args.hostname = a.str(s.Hostname)
	}
	if s.Domainname != "" {
		args.domainname = a.str(s.Domainname)
	}
	if len(s.ExtraCgroupFDs) > 0 {
		args.extra_cgroup_fds = (*C.int32_t)(unsafe.Pointer(array(a, s.ExtraCgroupFDs)))
		args.extra_cgroup_fds_len = C.size_t(len(s.ExtraCgroupFDs))
	}
	if s.SessionKeyring != nil {
		args.session_keyring = a.str(*s.SessionKeyring)
	}
	args.landlock_ruleset_fd = C.int32_t(s.LandlockRulesetFD)
	args.landlock_restrict_flags = C.uint32_t(s.LandlockRestrictFlags)
	args.seccomp_flags = C.uint64_t(s.SeccompFlags)
}

func idMaps(a *arena, maps []IDMap) (*C.sprout_id_map, C.size_t) {
	if len(maps) == 0 {
		return nil, 0
	}
	out := unsafe.Slice((*C.sprout_id_map)(a.alloc(uintptr(len(maps))*C.sizeof_sprout_id_map)), len(maps))
	for i, m := range maps {
		out[i] = C.sprout_id_map{inside: C.uint32_t(m.Inside), outside: C.uint32_t(m.Outside), count: C.uint32_t(m.Count)}
	}
	return &out[0], C.size_t(len(out))
}

// Spawn is sprout_exec_async: the new process's pid and its terminal's handle (0: none).
func Spawn(s *Spec) (pid int, tty uintptr, f *Failure) {
	size := measure(s)
	a := arena{base: C.malloc(C.size_t(size))}
	if a.base == nil {
		return 0, 0, &Failure{Errno: syscall.ENOMEM, Stage: StageArgs, Message: "args: out of memory"}
	}
	defer C.free(a.base)
	args, fds := fill(&a, s)
	if a.used != size {
		panic("csprout: measure and fill disagree")
	}
	var cpid C.int32_t
	var ctty C.uintptr_t
	var cerr C.sprout_error
	if rc := C.csprout_exec_async(args, fds, C.size_t(len(s.Fds)), &cpid, &ctty, &cerr); rc < 0 {
		return 0, 0, failure(rc, &cerr)
	}
	return int(cpid), uintptr(ctty), nil
}

// Wait is sprout_wait: -1 waits as long as it takes, 0 only polls (ETIMEDOUT: still running).
func Wait(pid int, timeoutMs int) (status int, f *Failure) {
	var cstatus C.int32_t
	var cerr C.sprout_error
	if rc := C.sprout_wait(C.int32_t(pid), C.int32_t(timeoutMs), &cstatus, &cerr); rc < 0 {
		return 0, failure(rc, &cerr)
	}
	return int(cstatus), nil
}

func errno(rc C.int32_t) error {
	if rc < 0 {
		return syscall.Errno(-rc)
	}
	return nil
}

// Signal is sprout_signal.
func Signal(pid, sig int) error {
	return errno(C.sprout_signal(C.int32_t(pid), C.int32_t(sig)))
}

// Pidfd is sprout_pidfd: a new close-on-exec pidfd owned by the caller.
func Pidfd(pid int) (int, error) {
	rc := C.sprout_pidfd(C.int32_t(pid))
	return int(rc), errno(rc)
}

// Release is sprout_release.
func Release(pid int) error {
	return errno(C.sprout_release(C.int32_t(pid)))
}

// List is sprout_list; all lists every tracked process, whatever container.
func List(container string, all bool) ([]int, error) {
	var cid *C.char
	if !all {
		cid = C.CString(container)
		defer C.free(unsafe.Pointer(cid))
	}
	capacity := 64
	for {
		buf := (*C.int32_t)(C.malloc(C.size_t(capacity) * 4))
		if buf == nil {
			return nil, syscall.ENOMEM
		}
		var count C.size_t
		rc := C.sprout_list(cid, buf, C.size_t(capacity), &count)
		if rc < 0 {
			C.free(unsafe.Pointer(buf))
			return nil, errno(rc)
		}
		if int(count) <= capacity {
			pids := make([]int, count)
			for i, pid := range unsafe.Slice(buf, count) {
				pids[i] = int(pid)
			}
			C.free(unsafe.Pointer(buf))
			return pids, nil
		}
		C.free(unsafe.Pointer(buf))
		// More arrived than there was room for: ask again with room for them and some more.
		capacity = int(count) * 2
	}
}

// SignalContainer is sprout_signal_container: how many processes were signalled.
func SignalContainer(container string, sig int) (int, error) {
	cid := C.CString(container)
	defer C.free(unsafe.Pointer(cid))
	rc := C.sprout_signal_container(cid, C.int32_t(sig))
	return int(rc), errno(rc)
}

func TTYFd(tty uintptr) (int, error) {
	rc := C.csprout_tty_fd(C.uintptr_t(tty))
	return int(rc), errno(rc)
}

func TTYResize(tty uintptr, rows, cols uint16) error {
	return errno(C.csprout_tty_resize(C.uintptr_t(tty), C.uint16_t(rows), C.uint16_t(cols)))
}

func TTYForeground(tty uintptr) (int, error) {
	var pgid C.int32_t
	rc := C.csprout_tty_foreground(C.uintptr_t(tty), &pgid)
	return int(pgid), errno(rc)
}

func TTYSetForeground(tty uintptr, pgid int) error {
	return errno(C.csprout_tty_set_foreground(C.uintptr_t(tty), C.int32_t(pgid)))
}

func TTYSignalForeground(tty uintptr, sig int) error {
	return errno(C.csprout_tty_signal_foreground(C.uintptr_t(tty), C.int32_t(sig)))
}

func TTYRelease(tty uintptr) error {
	return errno(C.csprout_tty_release(C.uintptr_t(tty)))
}

// Openpty is sprout_openpty.
func Openpty(rows, cols uint16) (master, slave int, err error) {
	var m, s C.int32_t
	if rc := C.sprout_openpty(&m, &s, C.uint16_t(rows), C.uint16_t(cols)); rc < 0 {
		return -1, -1, errno(rc)
	}
	return int(m), int(s), nil
}

// Version is sprout_version: the loaded library's version.
func Version() string { return C.GoString(C.sprout_version()) }

// ABIVersion is sprout_abi_version: the loaded library's ABI generation.
func ABIVersion() uint32 { return uint32(C.sprout_abi_version()) }

// StageName is sprout_stage_name.
func StageName(stage uint32) string { return C.GoString(C.sprout_stage_name(C.uint32_t(stage))) }

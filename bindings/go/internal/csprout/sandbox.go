package csprout

/*
#include <stdint.h>
#include <stdlib.h>
#include <sprout.h>
*/
import "C"

import (
	"syscall"
	"unsafe"
)

// Landlock rights and flags, as the header names them.
const (
	LandlockFSExecute     = C.SPROUT_LANDLOCK_ACCESS_FS_EXECUTE
	LandlockFSWriteFile   = C.SPROUT_LANDLOCK_ACCESS_FS_WRITE_FILE
	LandlockFSReadFile    = C.SPROUT_LANDLOCK_ACCESS_FS_READ_FILE
	LandlockFSReadDir     = C.SPROUT_LANDLOCK_ACCESS_FS_READ_DIR
	LandlockFSRemoveDir   = C.SPROUT_LANDLOCK_ACCESS_FS_REMOVE_DIR
	LandlockFSRemoveFile  = C.SPROUT_LANDLOCK_ACCESS_FS_REMOVE_FILE
	LandlockFSMakeChar    = C.SPROUT_LANDLOCK_ACCESS_FS_MAKE_CHAR
	LandlockFSMakeDir     = C.SPROUT_LANDLOCK_ACCESS_FS_MAKE_DIR
	LandlockFSMakeReg     = C.SPROUT_LANDLOCK_ACCESS_FS_MAKE_REG
	LandlockFSMakeSock    = C.SPROUT_LANDLOCK_ACCESS_FS_MAKE_SOCK
	LandlockFSMakeFifo    = C.SPROUT_LANDLOCK_ACCESS_FS_MAKE_FIFO
	LandlockFSMakeBlock   = C.SPROUT_LANDLOCK_ACCESS_FS_MAKE_BLOCK
	LandlockFSMakeSym     = C.SPROUT_LANDLOCK_ACCESS_FS_MAKE_SYM
	LandlockFSRefer       = C.SPROUT_LANDLOCK_ACCESS_FS_REFER
	LandlockFSTruncate    = C.SPROUT_LANDLOCK_ACCESS_FS_TRUNCATE
	LandlockFSIoctlDev    = C.SPROUT_LANDLOCK_ACCESS_FS_IOCTL_DEV
	LandlockNetBindTCP    = C.SPROUT_LANDLOCK_ACCESS_NET_BIND_TCP
	LandlockNetConnectTCP = C.SPROUT_LANDLOCK_ACCESS_NET_CONNECT_TCP
	LandlockScopeAbstract = C.SPROUT_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
	LandlockScopeSignal   = C.SPROUT_LANDLOCK_SCOPE_SIGNAL
	LandlockBestEffort    = C.SPROUT_LANDLOCK_BEST_EFFORT
)

// LandlockPath and LandlockPort are the rules of a Ruleset; Path "" uses FD.
type LandlockPath struct {
	Access uint64
	Path   string
	FD     int32
}

type LandlockPort struct {
	Access uint64
	Port   uint64
}

// Ruleset is struct sprout_landlock_ruleset in Go values.
type Ruleset struct {
	Flags                         uint32
	HandledFS, HandledNet, Scoped uint64
	Paths                         []LandlockPath
	Ports                         []LandlockPort
}

// LandlockAccess is struct sprout_landlock_access: what a best-effort ruleset left out.
type LandlockAccess struct {
	FS, Net, Scoped uint64
}

// CreateRuleset is sprout_landlock_create_ruleset: the new ruleset fd, and what was left out.
func CreateRuleset(r *Ruleset) (int, LandlockAccess, *Failure) {
	size := roundUp(C.sizeof_sprout_landlock_ruleset) +
		roundUp(uintptr(len(r.Paths))*C.sizeof_sprout_landlock_path_rule) +
		roundUp(uintptr(len(r.Ports))*C.sizeof_sprout_landlock_port_rule)
	for _, p := range r.Paths {
		size += roundUp(uintptr(len(p.Path)) + 1)
	}
	a := arena{base: C.calloc(1, C.size_t(size))}
	if a.base == nil {
		return -1, LandlockAccess{}, &Failure{Errno: syscall.ENOMEM, Stage: StageArgs, Message: "args: out of memory"}
	}
	defer C.free(a.base)
	c := (*C.sprout_landlock_ruleset)(a.alloc(C.sizeof_sprout_landlock_ruleset))
	c.size = C.sizeof_sprout_landlock_ruleset
	c.flags = C.uint32_t(r.Flags)
	c.handled_access_fs = C.uint64_t(r.HandledFS)
	c.handled_access_net = C.uint64_t(r.HandledNet)
	c.scoped = C.uint64_t(r.Scoped)
	if len(r.Paths) > 0 {
		paths := unsafe.Slice((*C.sprout_landlock_path_rule)(a.alloc(uintptr(len(r.Paths))*C.sizeof_sprout_landlock_path_rule)), len(r.Paths))
		for i, p := range r.Paths {
			paths[i].access = C.uint64_t(p.Access)
			paths[i].fd = C.int32_t(p.FD)
			if p.Path != "" {
				paths[i].path = a.str(p.Path)
			}
		}
		c.paths, c.paths_len = &paths[0], C.size_t(len(paths))
	}
	if len(r.Ports) > 0 {
		ports := unsafe.Slice((*C.sprout_landlock_port_rule)(a.alloc(uintptr(len(r.Ports))*C.sizeof_sprout_landlock_port_rule)), len(r.Ports))
		for i, p := range r.Ports {
			ports[i] = C.sprout_landlock_port_rule{access: C.uint64_t(p.Access), port: C.uint64_t(p.Port)}
		}
		c.ports, c.ports_len = &ports[0], C.size_t(len(ports))
	}
	var dropped C.sprout_landlock_access
	var cerr C.sprout_error
	fd := C.sprout_landlock_create_ruleset(c, &dropped, &cerr)
	if fd < 0 {
		return -1, LandlockAccess{}, failure(fd, &cerr)
	}
	return int(fd), LandlockAccess{FS: uint64(dropped.fs), Net: uint64(dropped.net), Scoped: uint64(dropped.scoped)}, nil
}

// LandlockABI is sprout_landlock_abi_version.
func LandlockABI() (int, error) {
	if v := C.sprout_landlock_abi_version(); v < 0 {
		return 0, syscall.Errno(-v)
	} else {
		return int(v), nil
	}
}

// Start is sprout_start.
func Start(pid int) *Failure {
	var cerr C.sprout_error
	if rc := C.sprout_start(C.int32_t(pid), &cerr); rc < 0 {
		return failure(rc, &cerr)
	}
	return nil
}

// SeccompListener is sprout_seccomp_listener: a new fd the caller owns.
func SeccompListener(pid int) (int, error) {
	fd := C.sprout_seccomp_listener(C.int32_t(pid))
	if fd < 0 {
		return -1, syscall.Errno(-fd)
	}
	return int(fd), nil
}

"""The C library: how it is found and loaded, the ctypes view of every type of sprout.h,
and the prototype of every function, declared once here.

The structures mirror include/sprout.h field by field; tests/test_layout.py compiles a C
program that prints the header's sizeof/offsetof and fails when a field differs here.
"""

import ctypes
import ctypes.util
import errno
import os

_c = ctypes

#: The environment variable naming the library file to load, first.
LIBRARY_ENV = "SPROUT_LIBRARY"
#: The SONAME: what the dynamic loader finds when the library is installed.
SONAME = "libsprout.so.1"

# `SPROUT_EXEC_*` bits of `sprout_exec_args.flags`.
EXEC_NO_NEW_PRIVS = 1 << 0
EXEC_INHERIT_ENV = 1 << 1
EXEC_NO_TTY = 1 << 2
EXEC_NEW_SESSION = 1 << 3

# `enum sprout_stage` values the binding itself uses.
STAGE_EXEC = 13

# Since ABI 1.1: `SPROUT_EXEC2_*` bits of `sprout_exec_args.flags2`.
EXEC2_SETPGROUP = 1 << 0
EXEC2_KEEP_IGNORED_SIGNALS = 1 << 1
EXEC2_KEEP_UMASK = 1 << 2
EXEC2_OOM_SCORE_ADJ = 1 << 3
EXEC2_PERSONALITY = 1 << 4
EXEC2_ROOT_FD = 1 << 5
EXEC2_PTRACE = 1 << 6
EXEC2_NO_DEFAULT_PATH = 1 << 7
EXEC2_PAUSED = 1 << 8
EXEC2_LANDLOCK = 1 << 9

# Since ABI 1.1: `sprout_landlock_ruleset.flags`.
LANDLOCK_BEST_EFFORT = 1 << 0

# `CLONE_NEW*` values of `sprout_namespace.type`, by the name `unshare(1)` and
# /proc/PID/ns use.
NAMESPACE_TYPES = {
    "mnt": 0x00020000,
    "uts": 0x04000000,
    "ipc": 0x08000000,
    "net": 0x40000000,
    "pid": 0x20000000,
    "user": 0x10000000,
    "cgroup": 0x02000000,
    "time": 0x00000080,
}


class Credentials(_c.Structure):
    _fields_ = [
        ("uid", _c.c_uint32),
        ("gid", _c.c_uint32),
        ("extra_gids", _c.POINTER(_c.c_uint32)),
        ("extra_gids_len", _c.c_size_t),
    ]


class Capabilities(_c.Structure):
    _fields_ = [
        ("effective", _c.c_uint64),
        ("permitted", _c.c_uint64),
        ("inheritable", _c.c_uint64),
        ("bounding", _c.c_uint64),
        ("ambient", _c.c_uint64),
    ]


class Rlimit(_c.Structure):
    _fields_ = [
        ("resource", _c.c_int32),
        ("soft", _c.c_uint64),
        ("hard", _c.c_uint64),
    ]


class Namespace(_c.Structure):
    _fields_ = [
        ("type", _c.c_int32),
        ("fd", _c.c_int32),
    ]


class IdMap(_c.Structure):
    _fields_ = [
        ("inside", _c.c_uint32),
        ("outside", _c.c_uint32),
        ("count", _c.c_uint32),
    ]


class SockFilter(_c.Structure):
    """`struct sock_filter` of <linux/filter.h>: one cBPF instruction."""

    _fields_ = [
        ("code", _c.c_uint16),
        ("jt", _c.c_uint8),
        ("jf", _c.c_uint8),
        ("k", _c.c_uint32),
    ]


class Sched(_c.Structure):
    """Since ABI 1.1: a scheduling policy and its parameters (sched_setattr)."""

    _fields_ = [
        ("policy", _c.c_uint32),
        ("nice", _c.c_int32),
        ("priority", _c.c_uint32),
        ("flags", _c.c_uint64),
        ("runtime", _c.c_uint64),
        ("deadline", _c.c_uint64),
        ("period", _c.c_uint64),
    ]


class ExecArgs(_c.Structure):
    _fields_ = [
        ("size", _c.c_uint32),
        ("flags", _c.c_uint32),
        ("filename", _c.c_char_p),
        ("exec_fd", _c.c_int32),
        ("argv", _c.POINTER(_c.c_char_p)),
        ("envv", _c.POINTER(_c.c_char_p)),
        ("working_directory", _c.c_char_p),
        ("credentials", _c.POINTER(Credentials)),
        ("capabilities", _c.POINTER(Capabilities)),
        ("limits", _c.POINTER(Rlimit)),
        ("limits_len", _c.c_size_t),
        ("umask", _c.c_uint32),
        ("namespaces", _c.POINTER(Namespace)),
        ("namespaces_len", _c.c_size_t),
        ("uid_map", _c.POINTER(IdMap)),
        ("uid_map_len", _c.c_size_t),
        ("gid_map", _c.POINTER(IdMap)),
        ("gid_map_len", _c.c_size_t),
        ("cgroup_fd", _c.c_int32),
        ("seccomp_filter", _c.c_void_p),
        ("seccomp_filter_len", _c.c_size_t),
        ("parent_death_signal", _c.c_int32),
        ("container_id", _c.c_char_p),
        # ABI 1.1
        ("flags2", _c.c_uint64),
        ("pgid", _c.c_int32),
        ("oom_score_adj", _c.c_int32),
        ("sigmask", _c.c_uint64),
        ("sigdefault", _c.c_uint64),
        ("sched", _c.POINTER(Sched)),
        ("ioprio_class", _c.c_uint32),
        ("ioprio_level", _c.c_uint32),
        ("cpu_set", _c.POINTER(_c.c_uint64)),
        ("cpu_set_len", _c.c_size_t),
        ("personality", _c.c_uint32),
        ("root_fd", _c.c_int32),
        ("root_directory", _c.c_char_p),
        ("hostname", _c.c_char_p),
        ("domainname", _c.c_char_p),
        ("extra_cgroup_fds", _c.POINTER(_c.c_int32)),
        ("extra_cgroup_fds_len", _c.c_size_t),
        ("session_keyring", _c.c_char_p),
        ("landlock_ruleset_fd", _c.c_int32),
        ("landlock_restrict_flags", _c.c_uint32),
        ("seccomp_flags", _c.c_uint64),
    ]

    def __init__(self):
        # What sprout_exec_args_init sets, done here rather than by calling it: the exported
        # function writes the size of the struct the *library* was built with, which differs
        # from this one whenever the binding and the library are of different ABI versions
        # (a smaller struct here would be overrun). `size` is the size of this struct, so a
        # newer library reads its unknown tail as zero and an older one refuses set fields
        # it does not know with E2BIG.
        super().__init__()
        self.size = _c.sizeof(ExecArgs)
        self.umask = 0o022
        self.exec_fd = -1
        self.cgroup_fd = -1


class LandlockAccess(_c.Structure):
    _fields_ = [
        ("fs", _c.c_uint64),
        ("net", _c.c_uint64),
        ("scoped", _c.c_uint64),
    ]


class LandlockPathRule(_c.Structure):
    _fields_ = [
        ("access", _c.c_uint64),
        ("path", _c.c_char_p),
        ("fd", _c.c_int32),
    ]


class LandlockPortRule(_c.Structure):
    _fields_ = [
        ("access", _c.c_uint64),
        ("port", _c.c_uint64),
    ]


class LandlockRuleset(_c.Structure):
    _fields_ = [
        ("size", _c.c_uint32),
        ("flags", _c.c_uint32),
        ("handled_access_fs", _c.c_uint64),
        ("handled_access_net", _c.c_uint64),
        ("scoped", _c.c_uint64),
        ("paths", _c.POINTER(LandlockPathRule)),
        ("paths_len", _c.c_size_t),
        ("ports", _c.POINTER(LandlockPortRule)),
        ("ports_len", _c.c_size_t),
    ]


class Process(_c.Structure):
    _fields_ = [
        ("pid", _c.c_int32),
        ("tty", _c.c_void_p),
    ]


class Error(_c.Structure):
    _fields_ = [
        ("code", _c.c_int32),
        ("stage", _c.c_uint32),
        ("message", _c.c_char * 256),
    ]


#: Every struct of sprout.h by its C name (and the kernel's sock_filter it points to).
STRUCTS = {
    "sprout_credentials": Credentials,
    "sprout_capabilities": Capabilities,
    "sprout_rlimit": Rlimit,
    "sprout_namespace": Namespace,
    "sprout_id_map": IdMap,
    "sprout_sched": Sched,
    "sprout_exec_args": ExecArgs,
    "sprout_landlock_access": LandlockAccess,
    "sprout_landlock_path_rule": LandlockPathRule,
    "sprout_landlock_port_rule": LandlockPortRule,
    "sprout_landlock_ruleset": LandlockRuleset,
    "sprout_process": Process,
    "sprout_error": Error,
    "sock_filter": SockFilter,
}

_P = _c.POINTER
_PROTOTYPES = {
    "sprout_abi_version": (_c.c_uint32, []),
    "sprout_version": (_c.c_char_p, []),
    "sprout_stage_name": (_c.c_char_p, [_c.c_uint32]),
    "sprout_exec_args_init": (None, [_P(ExecArgs)]),
    "sprout_exec_async": (
        _c.c_int32,
        [_P(ExecArgs), _P(_c.c_int32), _c.c_size_t, _P(Process), _P(Error)],
    ),
    "sprout_exec": (
        _c.c_int32,
        [_P(ExecArgs), _P(_c.c_int32), _c.c_size_t, _P(_c.c_int32), _P(Error)],
    ),
    "sprout_wait": (_c.c_int32, [_c.c_int32, _c.c_int32, _P(_c.c_int32), _P(Error)]),
    "sprout_signal": (_c.c_int32, [_c.c_int32, _c.c_int32]),
    "sprout_pidfd": (_c.c_int32, [_c.c_int32]),
    "sprout_release": (_c.c_int32, [_c.c_int32]),
    "sprout_list": (
        _c.c_int32,
        [_c.c_char_p, _P(_c.c_int32), _c.c_size_t, _P(_c.c_size_t)],
    ),
    "sprout_signal_container": (_c.c_int32, [_c.c_char_p, _c.c_int32]),
    "sprout_tty_fd": (_c.c_int32, [_c.c_void_p]),
    "sprout_tty_resize": (_c.c_int32, [_c.c_void_p, _c.c_uint16, _c.c_uint16]),
    "sprout_tty_foreground": (_c.c_int32, [_c.c_void_p, _P(_c.c_int32)]),
    "sprout_tty_set_foreground": (_c.c_int32, [_c.c_void_p, _c.c_int32]),
    "sprout_tty_signal_foreground": (_c.c_int32, [_c.c_void_p, _c.c_int32]),
    "sprout_tty_release": (_c.c_int32, [_c.c_void_p]),
    "sprout_openpty": (
        _c.c_int32,
        [_P(_c.c_int32), _P(_c.c_int32), _c.c_uint16, _c.c_uint16],
    ),
}


# Since ABI 1.1; a 1.0 library lacks them.
_PROTOTYPES_1_1 = {
    "sprout_abi_minor": (_c.c_uint32, []),
    "sprout_exec_args_size": (_c.c_size_t, []),
    "sprout_exec_flags2_known": (_c.c_uint64, []),
    "sprout_start": (_c.c_int32, [_c.c_int32, _c.POINTER(Error)]),
    "sprout_seccomp_listener": (_c.c_int32, [_c.c_int32]),
    "sprout_landlock_abi_version": (_c.c_int32, []),
    "sprout_landlock_create_ruleset": (
        _c.c_int32,
        [_c.POINTER(LandlockRuleset), _c.POINTER(LandlockAccess), _c.POINTER(Error)],
    ),
}


def load():
    """Loads the library: $SPROUT_LIBRARY (a path) when it is set, else what
    ctypes.util.find_library("sprout") finds, else libsprout.so.1 through the loader's own
    search (LD_LIBRARY_PATH, ld.so.cache, the default directories).

    A $SPROUT_LIBRARY that cannot be loaded is an ImportError, without trying the others:
    the caller named that file, and some other libsprout found instead would hide the
    mistake.
    """
    named = os.environ.get(LIBRARY_ENV)
    if named:
        attempts = [(f"${LIBRARY_ENV}={named}", named)]
        skipped = (
            f'ctypes.util.find_library("sprout") and {SONAME}: not tried, '
            f"as ${LIBRARY_ENV} is set"
        )
    else:
        found = ctypes.util.find_library("sprout")
        attempts = [
            ('ctypes.util.find_library("sprout")', found),
            (f"{SONAME} (the dynamic loader's search)", SONAME),
        ]
        skipped = f"${LIBRARY_ENV}: not set"
    tried = [] if named else [skipped]
    for origin, name in attempts:
        if name is None:
            tried.append(f"{origin}: found nothing")
            continue
        try:
            loaded = ctypes.CDLL(name, use_errno=True)
        except OSError as e:
            tried.append(f"{origin}: {e}")
            continue
        for function, (restype, argtypes) in _PROTOTYPES.items():
            f = getattr(loaded, function)
            f.restype = restype
            f.argtypes = argtypes
        for function, (restype, argtypes) in _PROTOTYPES_1_1.items():
            if hasattr(loaded, function):
                f = getattr(loaded, function)
                f.restype = restype
                f.argtypes = argtypes
        return loaded
    if named:
        tried.append(skipped)
    raise ImportError(
        "sprout: cannot load the sprout C library; tried, in order:\n  "
        + "\n  ".join(tried)
        + f"\nInstall it (./install.sh, then ldconfig) or set {LIBRARY_ENV} to the path of "
        f"{SONAME}."
    )


lib = load()

#: The minor ABI version of the loaded library: 0 for a 1.0 library, which knows none of
#: the fields and flags marked "ABI 1.1" (setting one is E2BIG from it).
ABI_MINOR = lib.sprout_abi_minor() if hasattr(lib, "sprout_abi_minor") else 0


def require_minor(minor, what):
    """An error for a feature the loaded library is too old for."""
    if ABI_MINOR < minor:
        raise OSError(
            errno.ENOTSUP,
            f"{what} needs libsprout ABI 1.{minor}; the loaded library is 1.{ABI_MINOR} "
            f"({lib._name})",
        )

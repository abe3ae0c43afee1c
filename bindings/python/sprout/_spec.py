"""From Python values to a filled `sprout_exec_args`.

Every argument is checked here, with TypeError or ValueError, before the library is called;
`Spec` keeps alive every ctypes buffer the struct points to until the spawn returns.
"""

import ctypes
import fcntl
import grp
import os
import pwd
import signal

from . import _lib

# capabilities(7), by number: CAP_<name>.
CAPABILITIES = (
    "CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP "
    "LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER "
    "SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE "
    "SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP "
    "MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF "
    "CHECKPOINT_RESTORE"
).split()
_CAPABILITY_NUMBERS = {f"CAP_{name}": number for number, name in enumerate(CAPABILITIES)}
CAPABILITY_SETS = ("effective", "permitted", "inheritable", "bounding", "ambient")

# The highest RLIMIT_* the kernel knows (RLIMIT_RTTIME).
_RLIMIT_MAX = 15
_RLIM_INFINITY = (1 << 64) - 1
_UINT32_MAX = (1 << 32) - 1


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def fsencode(value, what):
    """bytes for a str, bytes or path-like `value`, without NUL (as os.fsencode and
    subprocess take them)."""
    try:
        encoded = os.fsencode(value)
    except TypeError:
        raise TypeError(
            f"{what}: expected str, bytes or os.PathLike, not {type(value).__name__}"
        ) from None
    if b"\0" in encoded:
        raise ValueError(f"{what}: embedded null byte")
    return encoded


def c_strings(values, what):
    """A NULL-terminated `char *[]` of `values`."""
    encoded = [fsencode(v, f"{what}[{i}]") for i, v in enumerate(values)]
    array = (ctypes.c_char_p * (len(encoded) + 1))(*encoded)
    return array


def environment(env):
    """`KEY=VALUE` bytes of a mapping, as subprocess builds them."""
    try:
        items = env.items()
    except AttributeError:
        raise TypeError(f"env: expected a mapping, not {type(env).__name__}") from None
    out = []
    for key, value in items:
        k = fsencode(key, "env key")
        if b"=" in k:
            raise ValueError("illegal environment variable name")
        out.append(k + b"=" + fsencode(value, f"env[{key!r}]"))
    return out


def uid_of(user):
    """A uid from a user name or id (as subprocess's `user`)."""
    if isinstance(user, str):
        try:
            return pwd.getpwnam(user).pw_uid
        except KeyError:
            raise ValueError(f"user: no user named {user!r}") from None
    return _id(user, "user")


def gid_of(group, what="group"):
    """A gid from a group name or id (as subprocess's `group`)."""
    if isinstance(group, str):
        try:
            return grp.getgrnam(group).gr_gid
        except KeyError:
            raise ValueError(f"{what}: no group named {group!r}") from None
    return _id(group, what)


def _id(value, what):
    if not is_int(value):
        raise TypeError(f"{what}: expected a name (str) or an id (int), not {type(value).__name__}")
    if not 0 <= value < _UINT32_MAX:
        raise ValueError(f"{what}: {value} is not a valid id")
    return value


def capability_bits(names, what):
    """A 64-bit set of capabilities named "CAP_NET_RAW" (any case, CAP_ optional) or given
    by number."""
    if isinstance(names, (str, bytes)) or is_int(names):
        raise TypeError(f"{what}: expected an iterable of capabilities, not {names!r}")
    bits = 0
    for cap in names:
        if is_int(cap):
            number = cap
            if not 0 <= number < 64:
                raise ValueError(f"{what}: capability {cap} is out of range")
        elif isinstance(cap, str):
            name = cap.upper()
            if not name.startswith("CAP_"):
                name = "CAP_" + name
            try:
                number = _CAPABILITY_NUMBERS[name]
            except KeyError:
                raise ValueError(f"{what}: unknown capability {cap!r}") from None
        else:
            raise TypeError(f"{what}: expected a capability name or number, not {cap!r}")
        bits |= 1 << number
    return bits


def capabilities_struct(capabilities):
    """`capabilities`: a mapping of set name ("effective", "permitted", "inheritable",
    "bounding", "ambient") to capabilities (a set not given is empty), or one iterable of
    capabilities meaning that same set in all five (what a non-root program needs to hold
    them after execve)."""
    caps = _lib.Capabilities()
    if hasattr(capabilities, "items"):
        for name, values in capabilities.items():
            if name not in CAPABILITY_SETS:
                raise ValueError(
                    f"capabilities: unknown set {name!r} (expected one of {', '.join(CAPABILITY_SETS)})"
                )
            setattr(caps, name, capability_bits(values, f"capabilities[{name!r}]"))
    else:
        bits = capability_bits(capabilities, "capabilities")
        for name in CAPABILITY_SETS:
            setattr(caps, name, bits)
    return caps


def _limit_value(value, what):
    if value is None or value == -1:  # resource.RLIM_INFINITY is -1
        return _RLIM_INFINITY
    if not is_int(value):
        raise TypeError(f"{what}: expected an int, not {type(value).__name__}")
    if not 0 <= value <= _RLIM_INFINITY:
        raise ValueError(f"{what}: {value} is out of range")
    return value


def rlimits_array(rlimits):
    """{resource.RLIMIT_*: (soft, hard) or one value for both} (resource.RLIM_INFINITY or
    None for no limit)."""
    try:
        items = list(rlimits.items())
    except AttributeError:
        raise TypeError("rlimits: expected a mapping {resource.RLIMIT_*: (soft, hard)}") from None
    array = (_lib.Rlimit * len(items))()
    for entry, (resource, value) in zip(array, items):
        if not is_int(resource):
            raise TypeError(f"rlimits: expected a resource.RLIMIT_* key, not {resource!r}")
        if not 0 <= resource <= _RLIMIT_MAX:
            raise ValueError(f"rlimits: unknown resource {resource}")
        if isinstance(value, (tuple, list)):
            if len(value) != 2:
                raise ValueError(f"rlimits[{resource}]: expected (soft, hard), not {value!r}")
            soft, hard = value
        else:
            soft = hard = value
        entry.resource = resource
        entry.soft = _limit_value(soft, f"rlimits[{resource}] soft")
        entry.hard = _limit_value(hard, f"rlimits[{resource}] hard")
        if entry.soft > entry.hard:
            raise ValueError(f"rlimits[{resource}]: soft limit {soft} above hard limit {hard}")
    return array


def seccomp_program(program):
    """A cBPF program: bytes of `struct sock_filter[]`, or (code, jt, jf, k) tuples."""
    if isinstance(program, (bytes, bytearray, memoryview)):
        raw = bytes(program)
        size = ctypes.sizeof(_lib.SockFilter)
        if not raw or len(raw) % size:
            raise ValueError(f"seccomp: {len(raw)} bytes is no whole number of {size}-byte instructions")
        array = (_lib.SockFilter * (len(raw) // size)).from_buffer_copy(raw)
        return array
    instructions = list(program)
    if not instructions:
        raise ValueError("seccomp: empty program")
    array = (_lib.SockFilter * len(instructions))()
    for i, (slot, insn) in enumerate(zip(array, instructions)):
        try:
            slot.code, slot.jt, slot.jf, slot.k = insn
        except (TypeError, ValueError):
            raise TypeError(f"seccomp[{i}]: expected (code, jt, jf, k), not {insn!r}") from None
    return array


def id_map_array(lines, what):
    """[(inside, outside, count), ...] as lines of /proc/PID/uid_map."""
    lines = list(lines)
    array = (_lib.IdMap * len(lines))()
    for i, (slot, line) in enumerate(zip(array, lines)):
        try:
            inside, outside, count = line
        except (TypeError, ValueError):
            raise TypeError(f"{what}[{i}]: expected (inside, outside, count), not {line!r}") from None
        for value in (inside, outside, count):
            if not is_int(value) or not 0 <= value <= _UINT32_MAX:
                raise ValueError(f"{what}[{i}]: {value!r} is not a valid id or count")
        slot.inside, slot.outside, slot.count = inside, outside, count
    return array


def namespace_items(namespaces):
    """(kind, what to join) pairs: from a mapping {kind: None (new) | path | fd} or an
    iterable of kinds (all new) or (kind, None | path | fd) pairs."""
    if hasattr(namespaces, "items"):
        items = list(namespaces.items())
    elif isinstance(namespaces, (str, bytes)):
        raise TypeError("namespaces: expected an iterable of kinds, not a string")
    else:
        items = [(n, None) if isinstance(n, str) else tuple(n) for n in namespaces]
    for kind, _ in items:
        if kind not in _lib.NAMESPACE_TYPES:
            raise ValueError(
                f"namespaces: unknown kind {kind!r} (expected one of {', '.join(_lib.NAMESPACE_TYPES)})"
            )
    return items


def signal_number(sig, what):
    if not is_int(sig):
        raise TypeError(f"{what}: expected a signal number, not {sig!r}")
    if not 0 < sig < signal.NSIG:
        raise ValueError(f"{what}: {sig} is not a signal")
    return int(sig)


def bounded(value, what, low, high):
    """`value`, an int within low..high."""
    if not is_int(value):
        raise TypeError(f"{what}: expected an int, not {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{what}: {value} is not within {low}..{high}")
    return value


def signal_set(signals, what):
    """The 64-bit set of `signals` (bit n-1 is signal n, as /proc/PID/status shows)."""
    if is_int(signals):
        raise TypeError(f"{what}: expected an iterable of signals, not {signals!r}")
    bits = 0
    for sig in signals:
        bits |= 1 << (signal_number(sig, what) - 1)
    return bits


def check_fd(fd, what):
    if not is_int(fd):
        raise TypeError(f"{what}: expected an fd (int), not {type(fd).__name__}")
    if fd < 0:
        raise ValueError(f"{what}: {fd} is not an fd")
    return fd


class Spec:
    """A `sprout_exec_args` and what it points to; fds the spawn opened itself (a cgroup or
    namespace given by path) are closed by `close()`.

    `argv`: str, bytes or path-likes; `filename`: the program to run instead of argv[0];
    `envv`: `KEY=VALUE` bytes, or None for the caller's environment."""

    def __init__(self, argv, filename=None, envv=None):
        self.c = _lib.ExecArgs()
        self._keep = []
        self._opened = []
        if not argv:
            raise ValueError("args: at least the program's name (argv[0]) is needed")
        self.c.argv = self.keep(c_strings(argv, "args"))
        self.program = argv[0] if filename is None else filename
        if filename is not None:
            self.c.filename = self.keep_bytes(fsencode(filename, "executable"))
        if envv is None:
            self.c.flags |= _lib.EXEC_INHERIT_ENV
        else:
            self.c.envv = self.keep(c_strings(envv, "env"))
        self.cwd = None
        self.cgroup = None
        self.root = None

    def keep_bytes(self, value):
        self._keep.append(value)
        return value

    def keep(self, value):
        self._keep.append(value)
        return value

    def set_cwd(self, cwd):
        self.cwd = cwd
        self.c.working_directory = self.keep_bytes(fsencode(cwd, "cwd"))

    def set_credentials(self, uid, gid, groups):
        creds = _lib.Credentials(uid=uid, gid=gid)
        if groups:
            array = (ctypes.c_uint32 * len(groups))(*groups)
            self._keep.append(array)
            creds.extra_gids = array
            creds.extra_gids_len = len(groups)
        self.c.credentials = ctypes.pointer(self.keep(creds))

    def set_capabilities(self, capabilities):
        self.c.capabilities = ctypes.pointer(self.keep(capabilities_struct(capabilities)))

    def set_rlimits(self, rlimits):
        array = self.keep(rlimits_array(rlimits))
        self.c.limits = array
        self.c.limits_len = len(array)

    def set_seccomp(self, program):
        array = self.keep(seccomp_program(program))
        self.c.seccomp_filter = ctypes.cast(array, ctypes.c_void_p)
        self.c.seccomp_filter_len = len(array)

    def set_namespaces(self, namespaces):
        items = namespace_items(namespaces)
        array = self.keep((_lib.Namespace * len(items))())
        for slot, (kind, target) in zip(array, items):
            slot.type = _lib.NAMESPACE_TYPES[kind]
            slot.fd = self.open_or_fd(target, f"namespaces[{kind!r}]", 0)
        self.c.namespaces = array
        self.c.namespaces_len = len(array)

    def set_id_maps(self, uid_map, gid_map):
        if uid_map is not None:
            array = self.keep(id_map_array(uid_map, "uid_map"))
            self.c.uid_map, self.c.uid_map_len = array, len(array)
        if gid_map is not None:
            array = self.keep(id_map_array(gid_map, "gid_map"))
            self.c.gid_map, self.c.gid_map_len = array, len(array)

    def set_cgroup(self, cgroup):
        self.cgroup = cgroup
        self.c.cgroup_fd = self.open_or_fd(cgroup, "cgroup", os.O_DIRECTORY)

    def open_or_fd(self, target, what, flags):
        """-1 for None, an fd as given, or an fd this spec opens (and closes) for a path."""
        if target is None:
            return -1
        if is_int(target):
            return check_fd(target, what)
        path = fsencode(target, what)
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | flags)
        self._opened.append(fd)
        return fd

    def close(self):
        for fd in self._opened:
            os.close(fd)
        self._opened.clear()


def fd_layout(fds):
    """`int32_t[]` for `fds`: fds[i] is the caller's fd that becomes fd i, None or -1 leaves
    it closed."""
    fds = [-1 if fd is None else fd for fd in fds]
    for i, fd in enumerate(fds):
        if not is_int(fd):
            raise TypeError(f"fds[{i}]: expected an fd (int) or None, not {type(fd).__name__}")
        if fd < -1:
            raise ValueError(f"fds[{i}]: {fd} is not an fd")
    return (ctypes.c_int32 * len(fds))(*fds)


def is_open(fd):
    """Whether `fd` is open in the caller and survives an exec (no FD_CLOEXEC)."""
    try:
        return not fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
    except OSError:
        return False


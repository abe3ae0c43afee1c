"""`spawn`: one sprout_exec_async call, and the `Process` it returns."""

import ctypes
import errno
import math
import os
import signal
import subprocess
import threading

from . import _lib, _spec
from ._errors import call_error, spawn_error
from ._lib import lib

# Pids of Process objects collected before anyone waited for them: reaped (without
# blocking) at the next spawn, as subprocess does with its `_active` list.
_unwaited = []
_unwaited_lock = threading.Lock()


def _reap_unwaited():
    with _unwaited_lock:
        if not _unwaited:
            return
        pending = _unwaited[:]
        _unwaited.clear()
    status = ctypes.c_int32()
    still = [pid for pid in pending if lib.sprout_wait(pid, 0, ctypes.byref(status), None) == -errno.ETIMEDOUT]
    with _unwaited_lock:
        _unwaited.extend(still)


def returncode_of(status):
    """subprocess's convention: the exit status, or -N for a process killed (or stopped) by
    signal N."""
    if os.WIFSTOPPED(status):
        return -os.WSTOPSIG(status)
    return os.waitstatus_to_exitcode(status)


#: The keywords of spawn that subprocess.Popen has no equivalent for; sprout.Popen takes
#: them too.
SANDBOX_KEYWORDS = (
    "capabilities",
    "rlimits",
    "no_new_privs",
    "seccomp",
    "namespaces",
    "uid_map",
    "gid_map",
    "cgroup",
    "pdeathsig",
    "container_id",
    "landlock",
    "landlock_restrict_flags",
    "seccomp_flags",
)


def credentials(spec, user, group, extra_groups):
    """Sets the ids as subprocess does: any of them given sets all three, one not given
    being the caller's (effective uid, effective gid, os.getgroups())."""
    if user is None and group is None and extra_groups is None:
        return
    uid = os.geteuid() if user is None else _spec.uid_of(user)
    gid = os.getegid() if group is None else _spec.gid_of(group)
    if extra_groups is None:
        groups = os.getgroups()
    else:
        if isinstance(extra_groups, (str, bytes)):
            raise TypeError("extra_groups: expected an iterable of groups, not a string")
        groups = [_spec.gid_of(g, "extra_groups") for g in extra_groups]
    spec.set_credentials(uid, gid, groups)


def sandbox(
    spec,
    *,
    capabilities=None,
    rlimits=None,
    no_new_privs=False,
    seccomp=None,
    namespaces=None,
    uid_map=None,
    gid_map=None,
    cgroup=None,
    pdeathsig=None,
    container_id=None,
    landlock=None,
    landlock_restrict_flags=0,
    seccomp_flags=0,
):
    """Sets the SANDBOX_KEYWORDS of a spec (see `spawn`); closes what it opened on error."""
    try:
        if capabilities is not None:
            spec.set_capabilities(capabilities)
        if rlimits is not None:
            spec.set_rlimits(rlimits)
        if no_new_privs:
            spec.c.flags |= _lib.EXEC_NO_NEW_PRIVS
        if seccomp is not None:
            spec.set_seccomp(seccomp)
        if seccomp_flags:
            _lib.require_minor(1, "seccomp_flags")
            spec.c.seccomp_flags = _spec.bounded(seccomp_flags, "seccomp_flags", 0, 2**64 - 1)
        if landlock is not None:
            _lib.require_minor(1, "landlock")
            spec.c.flags2 |= _lib.EXEC2_LANDLOCK
            spec.c.landlock_ruleset_fd = _spec.check_fd(landlock, "landlock")
            spec.c.landlock_restrict_flags = _spec.bounded(
                landlock_restrict_flags, "landlock_restrict_flags", 0, 2**32 - 1
            )
        elif landlock_restrict_flags:
            raise ValueError("landlock_restrict_flags: only with landlock")
        if uid_map is not None or gid_map is not None:
            spec.set_id_maps(uid_map, gid_map)
        if pdeathsig is not None:
            spec.c.parent_death_signal = _spec.signal_number(pdeathsig, "pdeathsig")
        if container_id is not None:
            if not isinstance(container_id, str):
                raise TypeError(f"container_id: expected a str, not {type(container_id).__name__}")
            spec.c.container_id = spec.keep_bytes(_spec.fsencode(container_id, "container_id"))
        # Last: these open fds for paths, which close() releases.
        if namespaces is not None:
            spec.set_namespaces(namespaces)
        if cgroup is not None:
            spec.set_cgroup(cgroup)
    except BaseException:
        spec.close()
        raise


_SCHED_FIELDS = ("policy", "priority", "nice", "flags", "runtime", "deadline", "period")
_IOPRIO_CLASSES = {"rt": 1, "be": 2, "idle": 3}


def properties_1_1(spec, oom_score_adj, scheduler, ioprio, cpus, personality, hostname, domainname, root, ptrace):
    """The process properties of ABI 1.1 that subprocess has no keyword for (see `spawn`)."""
    c = spec.c
    given = [
        name
        for name, value in (
            ("oom_score_adj", oom_score_adj),
            ("scheduler", scheduler),
            ("ioprio", ioprio),
            ("cpus", cpus),
            ("personality", personality),
            ("hostname", hostname),
            ("domainname", domainname),
            ("root", root),
        )
        if value is not None
    ] + (["ptrace"] if ptrace else [])
    if not given:
        return
    _lib.require_minor(1, ", ".join(given))
    if oom_score_adj is not None:
        c.flags2 |= _lib.EXEC2_OOM_SCORE_ADJ
        c.oom_score_adj = _spec.bounded(oom_score_adj, "oom_score_adj", -1000, 1000)
    if scheduler is not None:
        if not hasattr(scheduler, "items"):
            raise TypeError("scheduler: expected a mapping {'policy': os.SCHED_*, 'priority': N, ...}")
        sched = _lib.Sched()
        for key, value in scheduler.items():
            if key not in _SCHED_FIELDS:
                raise ValueError(f"scheduler: unknown field {key!r} (expected {', '.join(_SCHED_FIELDS)})")
            low = -20 if key == "nice" else 0
            high = 19 if key == "nice" else 2**64 - 1 if key in ("flags", "runtime", "deadline", "period") else 2**32 - 1
            setattr(sched, key, _spec.bounded(value, f"scheduler[{key!r}]", low, high))
        c.sched = _c_pointer(spec, sched)
    if ioprio is not None:
        try:
            klass, level = ioprio
        except (TypeError, ValueError):
            raise TypeError(f"ioprio: expected (class, level), not {ioprio!r}") from None
        if isinstance(klass, str):
            if klass.lower() not in _IOPRIO_CLASSES:
                raise ValueError(f"ioprio: unknown class {klass!r} (expected rt, be or idle)")
            klass = _IOPRIO_CLASSES[klass.lower()]
        c.ioprio_class = _spec.bounded(klass, "ioprio class", 1, 3)
        c.ioprio_level = _spec.bounded(level, "ioprio level", 0, 7)
    if cpus is not None:
        numbers = [_spec.bounded(cpu, "cpus", 0, 2**20) for cpu in cpus]
        if not numbers:
            raise ValueError("cpus: empty")
        words = (ctypes.c_uint64 * (max(numbers) // 64 + 1))()
        for cpu in numbers:
            words[cpu // 64] |= 1 << (cpu % 64)
        c.cpu_set = spec.keep(words)
        c.cpu_set_len = len(words)
    if personality is not None:
        c.flags2 |= _lib.EXEC2_PERSONALITY
        c.personality = _spec.bounded(personality, "personality", 0, 2**32 - 1)
    if hostname is not None:
        c.hostname = spec.keep_bytes(_spec.fsencode(hostname, "hostname"))
    if domainname is not None:
        c.domainname = spec.keep_bytes(_spec.fsencode(domainname, "domainname"))
    if root is not None:
        spec.root = root
        if _spec.is_int(root):
            c.flags2 |= _lib.EXEC2_ROOT_FD
            c.root_fd = _spec.check_fd(root, "root")
        else:
            c.root_directory = spec.keep_bytes(_spec.fsencode(root, "root"))
    if ptrace:
        c.flags2 |= _lib.EXEC2_PTRACE


def _c_pointer(spec, struct):
    return ctypes.pointer(spec.keep(struct))


def build(
    args,
    *,
    executable=None,
    env=None,
    cwd=None,
    user=None,
    group=None,
    extra_groups=None,
    umask=None,
    start_new_session=False,
    no_tty=False,
    process_group=None,
    sigmask=None,
    keep_ignored_signals=False,
    sigdefault=None,
    oom_score_adj=None,
    scheduler=None,
    ioprio=None,
    cpus=None,
    personality=None,
    hostname=None,
    domainname=None,
    root=None,
    ptrace=False,
    paused=False,
    **sandbox_keywords,
):
    """The Spec of a spawn's keywords (see `spawn`); every check happens here."""
    if isinstance(args, (str, bytes, os.PathLike)):
        args = [args]
    spec = _spec.Spec(list(args), executable, None if env is None else _spec.environment(env))
    if cwd is not None:
        spec.set_cwd(cwd)
    credentials(spec, user, group, extra_groups)
    if umask == -1:
        _lib.require_minor(1, "umask=-1 (the caller's umask)")
        spec.c.flags2 |= _lib.EXEC2_KEEP_UMASK
    elif umask is not None:
        if not _spec.is_int(umask):
            raise TypeError(f"umask: expected an int, not {type(umask).__name__}")
        if not 0 <= umask <= 0o777:
            raise ValueError(f"umask: {umask:#o} is not a umask")
        spec.c.umask = umask
    if process_group is not None:
        if not _spec.is_int(process_group):
            raise TypeError(f"process_group: expected an int, not {type(process_group).__name__}")
        if process_group < 0:
            raise ValueError(f"process_group: {process_group} is not a process group")
        _lib.require_minor(1, "process_group")
        spec.c.flags2 |= _lib.EXEC2_SETPGROUP
        spec.c.pgid = process_group
    if sigmask is not None:
        _lib.require_minor(1, "sigmask")
        spec.c.sigmask = _spec.signal_set(sigmask, "sigmask")
    if keep_ignored_signals:
        _lib.require_minor(1, "keep_ignored_signals")
        spec.c.flags2 |= _lib.EXEC2_KEEP_IGNORED_SIGNALS
    if sigdefault is not None:
        if not keep_ignored_signals:
            raise ValueError("sigdefault: only with keep_ignored_signals=True")
        spec.c.sigdefault = _spec.signal_set(sigdefault, "sigdefault")
    properties_1_1(spec, oom_score_adj, scheduler, ioprio, cpus, personality, hostname, domainname, root, ptrace)
    if paused:
        _lib.require_minor(1, "paused")
        spec.c.flags2 |= _lib.EXEC2_PAUSED
    if start_new_session:
        spec.c.flags |= _lib.EXEC_NEW_SESSION
    if no_tty:
        spec.c.flags |= _lib.EXEC_NO_TTY
    sandbox(spec, **sandbox_keywords)
    return spec


def start(spec, layout):
    """sprout_exec_async of a Spec and an fd layout; the new process's sprout_process, or an
    OSError."""
    _reap_unwaited()
    out = _lib.Process()
    err = _lib.Error()
    try:
        rc = lib.sprout_exec_async(ctypes.byref(spec.c), layout, len(layout), ctypes.byref(out), ctypes.byref(err))
    finally:
        spec.close()
    if rc < 0:
        raise spawn_error(rc, err, _failed_on(spec, err))
    return out


def _failed_on(spec, err):
    """What the failing stage was about: the program, the working directory, the cgroup."""
    stage = lib.sprout_stage_name(err.stage)
    if stage == b"exec":
        return spec.program
    if stage == b"chdir":
        return spec.cwd
    if stage == b"cgroup" and not _spec.is_int(spec.cgroup):
        return spec.cgroup
    if stage == b"chroot" and not _spec.is_int(spec.root):
        return spec.root
    return None


def spawn(args, *, fds=(0, 1, 2), **keywords):
    """Starts a program and returns its `Process` as soon as it runs, without waiting.

    `args` is the argv (a str is a program without arguments); `executable` runs another
    file than args[0]. A name without '/' is searched in the PATH of the new environment,
    inside the new process. `fds[i]` is the caller's fd that becomes fd i (None: closed);
    every other fd is closed. The default, (0, 1, 2), shares the caller's stdio.

    Keywords, named and typed as subprocess.Popen's where it has them:
      env            mapping; None: the caller's environment (os.environ)
      cwd            working directory; None: "/"
      user, group    name or id; extra_groups: names or ids. Any of them sets all three:
                     one not given is the caller's (effective uid/gid, os.getgroups())
      umask          int; None: 0o022; -1: the caller's (ABI 1.1)
      process_group  0: a new group led by the process; N: join group N (ABI 1.1)
      sigmask        signals the program starts with blocked; None: none (ABI 1.1)
      keep_ignored_signals  signals the caller ignores stay ignored (else every signal
                     starts at SIG_DFL), except those of `sigdefault` (ABI 1.1)
      oom_score_adj  -1000..1000 (ABI 1.1)
      scheduler      {"policy": os.SCHED_*, "priority": N, "nice": N, "flags": N,
                     "runtime"/"deadline"/"period": ns} (ABI 1.1)
      ioprio         (class, level): class "rt", "be", "idle" (or 1-3), level 0-7 (ABI 1.1)
      cpus           CPU numbers the process may run on, as os.sched_setaffinity (ABI 1.1)
      personality    personality(2) value, e.g. 0x0040000 ADDR_NO_RANDOMIZE (ABI 1.1)
      hostname, domainname  of a new UTS namespace the call creates (ABI 1.1)
      root           root directory (chroot), a path or a directory fd (ABI 1.1)
      ptrace         PTRACE_TRACEME: the program stops at its first instruction (ABI 1.1)
      paused         return with everything applied but execve; Process.start() runs the
                     program (ABI 1.1)
      capabilities   {"effective"|"permitted"|"inheritable"|"bounding"|"ambient": caps},
                     or one iterable of caps for all five; a cap is "CAP_NET_BIND_SERVICE"
                     (any case, CAP_ optional) or its number
      rlimits        {resource.RLIMIT_NOFILE: (soft, hard) or one value for both};
                     resource.RLIM_INFINITY (or None) for no limit
      no_new_privs   bool
      seccomp        a cBPF program: bytes of struct sock_filter[] or (code, jt, jf, k)
                     tuples
      seccomp_flags  SECCOMP_FILTER_FLAG_* for it; SECCOMP_FILTER_FLAG_NEW_LISTENER (8) hands
                     its listener to Process.seccomp_listener() (ABI 1.1)
      landlock       a Landlock ruleset fd (sprout.landlock_ruleset): the process is
                     restricted with it last before execve (needs no_new_privs unless the
                     caller has CAP_SYS_ADMIN); landlock_restrict_flags for
                     landlock_restrict_self (ABI 1.1)
      namespaces     {"user"|"pid"|"net"|"mnt"|"uts"|"ipc"|"cgroup"|"time": None (new),
                     a path (/proc/PID/ns/net) or an fd (join)}, or an iterable of kinds
      uid_map, gid_map  [(inside, outside, count), ...] for a new user namespace
      cgroup         a cgroup2 directory (path or fd) to start the process in
      pdeathsig      signal number sent when the calling thread exits
      container_id   str label for sprout_list/sprout_signal_container
      start_new_session  setsid(): a new session without a controlling terminal
      no_tty         never take a terminal among fds 0-2 as controlling terminal

    Failures raise the OSError subclass of their errno (FileNotFoundError, ...) with
    `filename`, and `stage` and `sprout_message` from the library; bad arguments raise
    TypeError or ValueError before anything starts.
    """
    layout = _spec.fd_layout(fds)
    spec = build(args, **keywords)
    out = start(spec, layout)
    return Process(out.pid, out.tty, args)


class Process:
    """A process started by `spawn`, tracked by the library until it is waited for.

    `returncode` is None while it runs, then its exit status, or -N when signal N killed it
    (subprocess's convention). `tty` is a `Tty` when it got a terminal among fds 0-2."""

    def __init__(self, pid, tty, args):
        self.pid = pid
        self.args = args
        self.returncode = None
        self.tty = Tty(tty) if tty else None
        self._wait_lock = threading.Lock()

    def __repr__(self):
        return f"<sprout.Process pid={self.pid} returncode={self.returncode}>"

    def _reap(self, timeout_ms):
        status = ctypes.c_int32()
        err = _lib.Error()
        rc = lib.sprout_wait(self.pid, timeout_ms, ctypes.byref(status), ctypes.byref(err))
        if rc == -errno.ETIMEDOUT:
            return None
        if rc < 0:
            raise spawn_error(rc, err)
        self.returncode = returncode_of(status.value)
        return self.returncode

    def poll(self):
        """The returncode if the process has ended (reaping it), else None."""
        if self.returncode is not None or not self._wait_lock.acquire(False):
            return self.returncode
        try:
            return self.returncode if self.returncode is not None else self._reap(0)
        finally:
            self._wait_lock.release()

    def wait(self, timeout=None):
        """Waits for the process to end and returns its returncode; with `timeout` (seconds)
        raises subprocess.TimeoutExpired when it has not ended by then."""
        if timeout is None:
            timeout_ms = -1
        else:
            timeout_ms = min(max(0, math.ceil(timeout * 1000)), 2**31 - 1)
        with self._wait_lock:
            if self.returncode is not None:
                return self.returncode
            if self._reap(timeout_ms) is None:
                raise subprocess.TimeoutExpired(self.args, timeout)
            return self.returncode

    async def wait_async(self):
        """Waits in the running asyncio loop, on the process's pidfd, without a thread."""
        import asyncio

        if self.returncode is not None:
            return self.returncode
        loop = asyncio.get_running_loop()
        fd = self.pidfd()
        try:
            while self.poll() is None:
                readable = loop.create_future()
                loop.add_reader(fd, readable.set_result, None)
                try:
                    await readable
                finally:
                    loop.remove_reader(fd)
        finally:
            os.close(fd)
        return self.returncode

    def start(self):
        """Lets a process spawned with paused=True run its program (sprout_start); an exec
        failure raises as spawn's would and leaves no process behind, as a failed spawn: the
        library has reaped and forgotten it (wait() then raises ChildProcessError)."""
        err = _lib.Error()
        rc = lib.sprout_start(self.pid, ctypes.byref(err))
        if rc < 0:
            program = self.args if isinstance(self.args, (str, bytes, os.PathLike)) else list(self.args)[0]
            raise spawn_error(rc, err, program if lib.sprout_stage_name(err.stage) == b"exec" else None)

    def seccomp_listener(self):
        """The user-notification listener of the process's seccomp filter (spawned with
        seccomp_flags=SECCOMP_FILTER_FLAG_NEW_LISTENER), once: a new close-on-exec fd the
        caller owns, for the SECCOMP_IOCTL_NOTIF_* ioctls. The program never holds it."""
        fd = lib.sprout_seccomp_listener(self.pid)
        if fd < 0:
            raise call_error(fd, f"seccomp listener of pid {self.pid}")
        return fd

    def send_signal(self, sig):
        """Sends `sig` through the process's pidfd; nothing once it has been waited for."""
        if self.returncode is not None:
            return
        rc = lib.sprout_signal(self.pid, _spec.signal_number(sig, "sig") if sig else 0)
        if rc < 0 and rc != -errno.ESRCH:
            raise call_error(rc, f"signal {sig} to pid {self.pid}")

    def terminate(self):
        self.send_signal(signal.SIGTERM)

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def pidfd(self):
        """A new close-on-exec pidfd of the process, owned by the caller (close it): it
        becomes readable when the process ends, for select/epoll/loop.add_reader."""
        fd = lib.sprout_pidfd(self.pid)
        if fd < 0:
            raise call_error(fd, f"pidfd of pid {self.pid}")
        return fd

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.wait()
        finally:
            if self.tty is not None:
                self.tty.close()

    def __del__(self):
        if self.returncode is None and getattr(self, "_wait_lock", None) is not None:
            with _unwaited_lock:
                _unwaited.append(self.pid)


class Tty:
    """The terminal a process got (a `sprout_tty` handle); `close()` releases the handle
    (the process and the terminal are not affected)."""

    def __init__(self, handle):
        self._handle = handle

    def _check(self, rc, what):
        if rc < 0:
            raise call_error(rc, what)
        return rc

    def _live(self):
        if self._handle is None:
            raise ValueError("the terminal handle is closed")
        return self._handle

    def fileno(self):
        """The handle's own fd of the terminal (do not close it)."""
        return self._check(lib.sprout_tty_fd(self._live()), "tty fd")

    def resize(self, rows, cols):
        self._check(lib.sprout_tty_resize(self._live(), rows, cols), "tty resize")

    def foreground(self):
        """The terminal's foreground process group."""
        pgid = ctypes.c_int32()
        self._check(lib.sprout_tty_foreground(self._live(), ctypes.byref(pgid)), "tty foreground")
        return pgid.value

    def set_foreground(self, pgid):
        self._check(lib.sprout_tty_set_foreground(self._live(), pgid), "tty set foreground")

    def signal_foreground(self, sig):
        self._check(lib.sprout_tty_signal_foreground(self._live(), sig), "tty signal foreground")

    def close(self):
        if self._handle is not None:
            handle, self._handle = self._handle, None
            lib.sprout_tty_release(handle)

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def list_processes(container_id=None):
    """The pids the library tracks (started and not yet waited for), of one container or all,
    ascending."""
    label = None if container_id is None else _spec.fsencode(container_id, "container_id")
    count = ctypes.c_size_t()
    while True:
        capacity = count.value
        pids = (ctypes.c_int32 * capacity)()
        rc = lib.sprout_list(label, pids, capacity, ctypes.byref(count))
        if rc < 0:
            raise call_error(rc, "list")
        if count.value <= capacity:
            return list(pids[: count.value])


def signal_container(container_id, sig):
    """Sends `sig` to every live process of `container_id`; returns how many."""
    label = _spec.fsencode(container_id, "container_id")
    rc = lib.sprout_signal_container(label, _spec.signal_number(sig, "sig"))
    if rc < 0:
        raise call_error(rc, f"signal {sig} to container {container_id}")
    return rc


def openpty(rows=24, cols=80):
    """A new pseudo-terminal (master, slave), both close-on-exec and O_NOCTTY: pass the slave
    in `fds` for a process that gets it as its controlling terminal."""
    master, slave = ctypes.c_int32(), ctypes.c_int32()
    rc = lib.sprout_openpty(ctypes.byref(master), ctypes.byref(slave), rows, cols)
    if rc < 0:
        raise call_error(rc, "openpty")
    return master.value, slave.value

"""subprocess through sprout: `Popen`, and `patch_subprocess()` for the standard library's own.

Both replace exactly the spawning step of subprocess (`_posixsubprocess.fork_exec`) and
nothing else: pipes, communicate, timeouts, text modes and waiting are subprocess's own
code. `fork_exec` below takes the arguments CPython passes to `_posixsubprocess.fork_exec`
and gives the new process the same state CPython's child code would:

- fds 0-2 from the pipes (else the caller's own, when open and inheritable), the fds of
  `pass_fds` at their own numbers, with `close_fds=False` every inheritable fd; every other
  fd closed;
- `cwd` (else the caller's working directory), the environment (else the caller's), the
  program searched along the same list of paths, in the same order, with the same error
  reported (the first that is not ENOENT/ENOTDIR, else the last);
- `user`/`group`/`extra_groups` (those not given stay the caller's), `umask` (-1: the
  caller's), `start_new_session`, `process_group`;
- the calling thread's signal mask; ignored signals stay ignored, except SIGPIPE and SIGXFSZ
  with `restore_signals` (CPython's rule); caught signals back to SIG_DFL.

Failures raise the OSError subclass CPython's child would have reported (filename: the
program for exec, else `cwd`), with `stage` and `sprout_message` added. `preexec_fn` is
refused: no Python code can run between clone and exec in a process that shares the
caller's memory.
"""

import ctypes
import errno
import fcntl
import os
import signal
import subprocess
import sys

from . import _lib, _spawn, _spec
from ._errors import spawn_error
from ._lib import lib

PREEXEC_FN_REFUSED = (
    "sprout cannot run preexec_fn: the new process shares the caller's memory until it "
    "execs, so no Python code can run there; use the keywords that set the same things "
    "(user=, group=, umask=, start_new_session=, process_group=, and sprout.Popen's "
    "rlimits=, capabilities=, ...)"
)

# Signals CPython's restore_signals sets back to SIG_DFL (Python ignores them at start).
_RESTORED = [getattr(signal, name) for name in ("SIGPIPE", "SIGXFZ", "SIGXFSZ") if hasattr(signal, name)]
_RESTORED_BITS = sum(1 << (s - 1) for s in _RESTORED)


def _mask_bits(signals):
    bits = 0
    for sig in signals:
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            bits |= 1 << (sig - 1)
    return bits


def _open_fds():
    """The caller's fds that survive exec (no FD_CLOEXEC), as /proc/self/fd lists them."""
    return [fd for fd in map(int, os.listdir("/proc/self/fd")) if _spec.is_open(fd)]


def _layout(close_fds, fds_to_keep, std, errpipe_write):
    """The fd layout of CPython's child: std[i] (or fd i itself) in 0-2, the kept fds at their
    own numbers, and with close_fds=False every inheritable fd."""
    keep = set(fds_to_keep)
    keep.discard(errpipe_write)  # CPython's exec-error pipe: sprout reports errors itself
    if not close_fds:
        keep.update(_open_fds())
        keep.discard(errpipe_write)
    size = max(3, max(keep, default=0) + 1)
    layout = (ctypes.c_int32 * size)(*([-1] * size))
    for fd in keep:
        if fd >= 3:
            layout[fd] = fd
    for i, source in enumerate(std):
        if source == -1:
            # Not redirected: the caller's own fd i, if it survives exec in CPython's child
            # (open, and inheritable or made so by pass_fds).
            try:
                if i in keep or not fcntl.fcntl(i, fcntl.F_GETFD) & fcntl.FD_CLOEXEC:
                    source = i
            except OSError:  # closed
                pass
        layout[i] = source
    return layout


def _id(value, what, too_large):
    """An id as _posixsubprocess converts it (subprocess has refused negative ones)."""
    value = int(value)
    if not 0 <= value < 2**32 - 1:
        raise too_large(f"invalid {what}" if too_large is ValueError else f"{what} is greater than maximum")
    return value


def _candidates(executable_list):
    """The paths to try in order, as execve would see them: an entry without '/' (from an
    empty PATH entry) is relative to the working directory, not a name to search."""
    for path in executable_list:
        path = os.fsencode(path)
        yield path if b"/" in path else b"./" + path


def fork_exec(
    args,
    executable_list,
    close_fds,
    fds_to_keep,
    cwd,
    env_list,
    p2cread,
    p2cwrite,
    c2pread,
    c2pwrite,
    errread,
    errwrite,
    errpipe_read,
    errpipe_write,
    restore_signals,
    call_setsid,
    pgid_to_set,
    gid,
    extra_groups,
    uid,
    child_umask,
    preexec_fn,
    allow_vfork=True,
    *,
    sandbox=None,
    release=True,
):
    """A drop-in for CPython 3.11's `_posixsubprocess.fork_exec` (its arguments, its return:
    the pid) that starts the process with sprout; see the module's doc. `sandbox`: the
    SANDBOX_KEYWORDS of spawn. With `release` the library forgets the process at once, so
    that subprocess reaps it with waitpid as it does its own children."""
    if preexec_fn is not None:
        raise subprocess.SubprocessError(PREEXEC_FN_REFUSED)
    _lib.require_minor(1, "subprocess through sprout (process groups, kept ignored signals and umask)")
    spec = _spec.Spec(list(args), None, env_list)
    spec.cwd = cwd
    spec.c.working_directory = spec.keep_bytes(b"." if cwd is None else _spec.fsencode(cwd, "cwd"))
    if uid is not None or gid is not None or extra_groups is not None:
        spec.set_credentials(
            os.geteuid() if uid is None else _id(uid, "uid", OverflowError),
            os.getegid() if gid is None else _id(gid, "gid", OverflowError),
            os.getgroups() if extra_groups is None else [_id(g, "group id", ValueError) for g in extra_groups],
        )
    c = spec.c
    c.flags |= _lib.EXEC_NO_TTY
    if call_setsid:
        c.flags |= _lib.EXEC_NEW_SESSION
    if child_umask >= 0:
        c.umask = child_umask
    else:
        c.flags2 |= _lib.EXEC2_KEEP_UMASK
    if pgid_to_set >= 0:
        c.flags2 |= _lib.EXEC2_SETPGROUP
        c.pgid = pgid_to_set
    c.flags2 |= _lib.EXEC2_KEEP_IGNORED_SIGNALS
    if restore_signals:
        c.sigdefault = _RESTORED_BITS
    c.sigmask = _mask_bits(signal.pthread_sigmask(signal.SIG_BLOCK, ()))
    if sandbox:
        _spawn.sandbox(spec, **sandbox)
    try:
        layout = _layout(close_fds, fds_to_keep, (p2cread, c2pwrite, errwrite), errpipe_write)
        return _start_first(spec, layout, executable_list, cwd, release)
    finally:
        spec.close()


def _start_first(spec, layout, executable_list, cwd, release):
    """Spawns the first of executable_list that execs, as CPython's child tries them."""
    first_error = last_error = None
    out, err = _lib.Process(), _lib.Error()
    candidates = list(_candidates(executable_list))
    for i, path in enumerate(candidates):
        # The last one is always tried: when none exists the child still reports what fails
        # before exec (a bad cwd, as CPython reports it), else the missing program.
        if path.startswith(b"/") and i < len(candidates) - 1:
            try:
                os.stat(path)
            except OSError as e:
                if e.errno in (errno.ENOENT, errno.ENOTDIR):
                    # What execve would say, without starting a process to hear it.
                    message = f"exec: {os.fsdecode(path)}: {os.strerror(e.errno)}"
                    last_error = (-e.errno, _lib.Error(e.errno, _lib.STAGE_EXEC, message.encode()[:255]))
                    continue
        spec.c.filename = path
        rc = lib.sprout_exec_async(ctypes.byref(spec.c), layout, len(layout), ctypes.byref(out), ctypes.byref(err))
        if rc == 0:
            if release:
                lib.sprout_release(out.pid)
            return out.pid
        failure = (rc, _lib.Error.from_buffer_copy(err))
        if _errors_stage(err) != b"exec":
            raise _cpython_error(failure, executable_list, cwd)
        if -rc not in (errno.ENOENT, errno.ENOTDIR) and first_error is None:
            first_error = failure
        last_error = failure
    raise _cpython_error(first_error or last_error, executable_list, cwd)


def _errors_stage(err):
    return lib.sprout_stage_name(err.stage)


def _cpython_error(failure, executable_list, cwd):
    """The OSError subprocess raises for what its child reported: for a failed exec, named
    after the program as given; for anything before exec, after `cwd`."""
    rc, err = failure
    code = -rc
    if _errors_stage(err) == b"exec":
        program = executable_list[0]
        if len(executable_list) > 1:
            program = os.path.basename(program)
        filename = os.fsdecode(program)
    else:
        filename = cwd
    return spawn_error(rc, err, filename, os.strerror(code))


class Popen(subprocess.Popen):
    """subprocess.Popen, started through sprout: every argument and behaviour of Popen
    (`preexec_fn` excepted: it raises subprocess.SubprocessError), plus the sandbox keywords
    of `sprout.spawn`: capabilities, rlimits, no_new_privs, seccomp, namespaces, uid_map,
    gid_map, cgroup, pdeathsig, container_id.

    A process with a container_id stays in the library's table for list_processes and
    signal_container until Popen reaps it; the others are subprocess's alone."""

    def __init__(self, args, *positional, **keywords):
        self._sandbox = {k: keywords.pop(k) for k in _spawn.SANDBOX_KEYWORDS if k in keywords}
        if self._sandbox:
            # Checked before any pipe exists, as Popen checks its own arguments.
            check = _spec.Spec([b"x"])
            _spawn.sandbox(check, **self._sandbox)
            check.close()
        super().__init__(args, *positional, **keywords)

    def _execute_child(
        self,
        args,
        executable,
        preexec_fn,
        close_fds,
        pass_fds,
        cwd,
        env,
        startupinfo,
        creationflags,
        shell,
        p2cread,
        p2cwrite,
        c2pread,
        c2pwrite,
        errread,
        errwrite,
        restore_signals,
        gid,
        gids,
        uid,
        umask,
        start_new_session,
        process_group=-1,
    ):
        # CPython's own preparation (Lib/subprocess.py, POSIX _execute_child), then sprout
        # where it calls fork_exec.
        if isinstance(args, (str, bytes)):
            args = [args]
        elif isinstance(args, os.PathLike):
            if shell:
                raise TypeError("path-like args is not allowed when shell is true")
            args = [args]
        else:
            args = list(args)
        if shell:
            args = ["/bin/sh", "-c"] + args
            if executable:
                args[0] = executable
        if executable is None:
            executable = args[0]
        sys.audit("subprocess.Popen", executable, args, cwd, env)
        if env is not None:
            env_list = _spec.environment(env)
        else:
            env_list = None
        executable = os.fsencode(executable)
        if os.path.dirname(executable):
            executable_list = (executable,)
        else:
            executable_list = tuple(os.path.join(os.fsencode(d), executable) for d in os.get_exec_path(env))
        self.pid = fork_exec(
            args,
            executable_list,
            close_fds,
            tuple(sorted(map(int, pass_fds))),
            cwd,
            env_list,
            p2cread,
            p2cwrite,
            c2pread,
            c2pwrite,
            errread,
            errwrite,
            -1,
            -1,
            restore_signals,
            start_new_session,
            process_group if process_group is not None else -1,
            gid,
            gids,
            uid,
            umask,
            preexec_fn,
            sandbox=self._sandbox,
            release="container_id" not in self._sandbox,
        )
        self._child_created = True
        self._close_pipe_fds(p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite)


_saved = None


def patch_subprocess():
    """Routes the standard library's subprocess through sprout: every Popen (run, call,
    check_output, ...) spawns with `fork_exec` above instead of fork/vfork or posix_spawn.
    Idempotent; `unpatch_subprocess()` restores what was there."""
    global _saved
    if _saved is not None:
        return
    _lib.require_minor(1, "subprocess through sprout (process groups, kept ignored signals and umask)")
    if sys.version_info >= (3, 11):
        _saved = ("_fork_exec", subprocess._fork_exec, subprocess._USE_POSIX_SPAWN)
        subprocess._fork_exec = fork_exec
    else:
        # 3.9 and 3.10 call _posixsubprocess.fork_exec, without pgid_to_set and allow_vfork.
        import types

        shim = types.SimpleNamespace(
            fork_exec=lambda *a: fork_exec(*a[:16], -1, *a[16:]),
        )
        _saved = ("_posixsubprocess", subprocess._posixsubprocess, subprocess._USE_POSIX_SPAWN)
        subprocess._posixsubprocess = shim
    subprocess._USE_POSIX_SPAWN = False


def unpatch_subprocess():
    """Undoes `patch_subprocess()`; nothing if it was not patched."""
    global _saved
    if _saved is None:
        return
    name, original, use_posix_spawn = _saved
    setattr(subprocess, name, original)
    subprocess._USE_POSIX_SPAWN = use_posix_spawn
    _saved = None

//! The C faces of spawning and of the process table.

use std::ffi::{CStr, c_char};
use std::os::fd::IntoRawFd;
use std::time::Duration;

use nix::errno::Errno;

use super::types::*;
use super::{readable, slice, with_errno, with_error, writable};
use crate::error::{Error, Stage};

/// The ABI generation of this library (`SPROUT_ABI_VERSION` it was built with): 1 for every
/// 1.x library.
#[unsafe(no_mangle)]
pub extern "C" fn sprout_abi_version() -> u32 {
    SPROUT_ABI_VERSION
}

/// Since 1.1: the minor ABI version of this library (`SPROUT_ABI_MINOR` it was built with).
///
/// A 1.0 library has no such function: a program that must also run against one (where the
/// dynamic linker would report the symbol missing when it is first called, or at start with
/// `-z now`) looks it up with `dlsym(RTLD_DEFAULT, "sprout_abi_minor")`, NULL meaning 0, or
/// just sets the new fields it needs and treats `-E2BIG` from `sprout_exec_async` as "this
/// library predates them".
#[unsafe(no_mangle)]
pub extern "C" fn sprout_abi_minor() -> u32 {
    SPROUT_ABI_MINOR
}

/// Since 1.1 (see `sprout_abi_minor` for 1.0 libraries): the `sizeof(sprout_exec_args)` this
/// library knows. A caller's struct may be smaller (an older header) or larger (a newer one,
/// whose fields past this size must then be left zero).
#[unsafe(no_mangle)]
pub extern "C" fn sprout_exec_args_size() -> usize {
    size_of::<sprout_exec_args>()
}

/// Since 1.1 (see `sprout_abi_minor` for 1.0 libraries): the `SPROUT_EXEC2_*` bits of
/// `flags2` this library knows. (`flags` keeps the four bits of 1.0.)
#[unsafe(no_mangle)]
pub extern "C" fn sprout_exec_flags2_known() -> u64 {
    super::args::KNOWN_FLAGS2
}

/// The library's version, e.g. "0.1.0"; a static string.
#[unsafe(no_mangle)]
pub extern "C" fn sprout_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The name of a `sprout_stage` ("exec", "fds", ...), or "unknown"; a static string.
#[unsafe(no_mangle)]
pub extern "C" fn sprout_stage_name(stage: u32) -> *const c_char {
    Stage::from_u32(stage)
        .map_or("unknown\0", Stage::name_with_nul)
        .as_ptr()
        .cast()
}

/// Zeroes the ABI 1.0 part of `*args` (`SPROUT_EXEC_ARGS_SIZE_1_0` bytes) and sets `size` to
/// that, `umask = 0022`, `exec_fd = -1` and `cgroup_fd = -1`: with `argv` set, a plain spawn.
/// Does nothing when `args` is NULL.
///
/// In a program compiled against this header, `sprout_exec_args_init(args)` is the macro at
/// the end of the header, which zeroes and sizes the struct as *that program* compiled it:
/// the exported function cannot know that size, and keeps the one every 1.0 program relies
/// on (its struct is that small). Calling the function itself, `(sprout_exec_args_init)(a)`,
/// initialises only the 1.0 fields, and the library reads no field past `size`: set
/// `a->size = sizeof *a` and zero the rest yourself to use the fields of 1.1.
#[unsafe(no_mangle)]
pub extern "C" fn sprout_exec_args_init(args: *mut sprout_exec_args) {
    if args.is_null() || !args.is_aligned() {
        return;
    }
    let v1 = SPROUT_EXEC_ARGS_SIZE_1_0;
    // SAFETY: the caller's struct is at least as large as 1.0's (a program that calls this
    // function was compiled against a header whose struct starts with 1.0's), and all-zero
    // bytes are valid for its integer and pointer fields. Only raw pointers: the caller's
    // memory may be smaller than this library's struct, so no reference to one is made, and
    // nothing past 1.0's size is touched.
    unsafe {
        std::ptr::write_bytes(args.cast::<u8>(), 0, v1 as usize);
        (&raw mut (*args).size).write(v1);
        (&raw mut (*args).umask).write(0o022);
        (&raw mut (*args).exec_fd).write(-1);
        (&raw mut (*args).cgroup_fd).write(-1);
    }
}

/// Starts a process and returns as soon as it runs the new program, without waiting for it
/// to finish; `*out` receives its pid (and, when stdio is a terminal, a TTY handle). `out` is
/// written only on success.
///
/// "Runs the new program" is the point of no return of execve, where the kernel lets the
/// caller go on: the last steps of execve (closing close-on-exec fds, filling
/// /proc/PID/cmdline) may still be under way in the new process for a moment after the return.
///
/// A step that fails before that point is an error with its stage (see `sprout_error`). A
/// child that dies before it, killed by a signal without a step to blame, is `-EINTR` with
/// the stage it was in ("the child died before exec (wait status 0x9)"); one that
/// `seccomp_filter` kills at execve or execveat (a KILL_THREAD, KILL_PROCESS or TRAP action) is
/// `-EINTR`, stage EXEC ("exec: /bin/x: the child was killed by SIGSYS (signal 31) in
/// execve, before the program ran"). To tell that case apart, when the filter run on the exec
/// call's number in the parent may kill (or depends on the call's arguments), the child takes
/// the name "sprout/exec" right before execve and the call reads /proc/PID/stat once after
/// it (~10-25 µs); a filter that lets execve through or fail costs nothing more. What the
/// call cannot tell, and reports as started (the wait status then says how the process
/// ended): a kill at execve by a filter the caller itself runs under (inherited, not
/// `seccomp_filter`); a program whose loading fails after the point of no return (the kernel
/// kills it with SIGSEGV); a kill at execve while /proc is not mounted.
///
/// `fds[i]` is the caller's fd that becomes fd `i` in the new process, -1 leaves `i` closed;
/// every other fd is closed, and the caller's fds and their flags are never changed. `fds` may
/// be NULL when `fds_len` is 0: the process then starts with no open fds. Any permutation
/// works within the caller's RLIMIT_NOFILE: a source that an earlier slot replaces first (a
/// swap, a cycle) is first copied to the lowest free fd from `fds_len` up, which needs one
/// free fd below the soft limit per such source (`-EMFILE`, stage FDS, naming the slot,
/// otherwise); other layouts need no spare fd.
///
/// When one of fds[0..2] is a terminal, the process gets it (unless `SPROUT_EXEC_NO_TTY` or
/// `SPROUT_EXEC_NEW_SESSION`) and `out->tty` is its handle, in one of three ways:
///  1. a terminal that is no session's controlling terminal (a fresh pseudo-terminal): the
///     process leads a new session with it as controlling terminal, its group in the
///     foreground, all before exec;
///  2. the caller's own controlling terminal: the process leads a new process group in the
///     caller's session, made the foreground group; once it ends, take the terminal back with
///     `sprout_tty_set_foreground(tty, getpgrp())`;
///  3. another session's controlling terminal: `-EPERM`, stage TTY; it is never taken from
///     its session, even by root.
///
/// Two different terminals among fds[0..2] are `-EINVAL`, stage ARGS. Without a terminal the
/// process stays in the caller's session and process group. When `credentials` are given, a
/// terminal of case 1 is handed to their uid (fchown, the group stays), once the process has
/// taken it; in another user namespace, to the id that namespace maps their uid to (nothing
/// when it maps none: the credentials then fail), by the caller's thread while the process
/// waits; not supported (`-EINVAL`, stage ARGS) together with a joined time namespace. The
/// caller's own terminal (case 2) never changes owner. The terminal is taken before the
/// process enters its namespaces, with the caller's privilege: a write-only terminal fd (for
/// which the kernel wants CAP_SYS_ADMIN in the initial user namespace) works whatever the
/// namespaces, except with a new user namespace created together with a new PID namespace,
/// where the process never holds that privilege (`-EPERM`, stage TTY).
///
/// The process starts with an empty signal mask and every signal at SIG_DFL (since 1.1: the
/// mask `sigmask` says, and the caller's ignored signals kept with
/// `SPROUT_EXEC2_KEEP_IGNORED_SIGNALS`). It stays in the library's table (see `sprout_wait`,
/// `sprout_release`) and is the caller's child: the caller receives SIGCHLD when it ends.
///
/// Since 1.1, with `SPROUT_EXEC2_PTRACE` the call returns once the exec is under way, and the
/// process stops (SIGTRAP) as its exec completes, traced by the calling thread: see
/// `sprout_wait`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sprout_exec_async(
    args: *const sprout_exec_args,
    fds: *const i32,
    fds_len: usize,
    out: *mut sprout_process,
    err: *mut sprout_error,
) -> i32 {
    with_error(err, || {
        let out = writable(out)
            .map_err(|e| Error::args(e, "out is misaligned"))?
            .ok_or_else(|| Error::args(Errno::EINVAL, "out is NULL"))?;
        // SAFETY: the caller vouches for its pointers (see the header).
        let spec = unsafe { super::args::read(args, fds, fds_len) }?;
        let process = crate::spawn(&spec)?;
        out.pid = process.pid;
        out.tty = process
            .tty
            .map_or(std::ptr::null_mut(), super::tty::register);
        Ok(0)
    })
}

/// Since 1.1: lets a process started with `SPROUT_EXEC2_PAUSED` run its program, and returns
/// as `sprout_exec_async` returns for a process started without it: 0 once its execve has
/// passed the point of no return; otherwise the error of the exec with its stage (EXEC: the
/// program, looked up only now, was not found or could not be run; SPAWN, `-EINTR`: the
/// process died while paused, a signal sent to it, its wait status in the message), the
/// process then reaped and forgotten, as a failed `sprout_exec_async` leaves none. `-ESRCH`,
/// stage ARGS, for a pid the library does not track; `-EALREADY` for one that is not paused
/// (started already, by this call on another thread too, or started without the flag).
#[unsafe(no_mangle)]
pub extern "C" fn sprout_start(pid: i32, err: *mut sprout_error) -> i32 {
    with_error(err, || crate::start(pid).map(|()| 0))
}

/// Since 1.1: the seccomp user-notification listener of a process started with
/// `SECCOMP_FILTER_FLAG_NEW_LISTENER` in `sprout_exec_args.seccomp_flags`: a new close-on-exec
/// fd, the caller's from now on (for SECCOMP_IOCTL_NOTIF_RECV / _SEND, poll, or handing to a
/// supervisor), handed over once: later calls are `-ENOENT`, as for a process started without
/// one. `-ESRCH` for a pid the library does not track. Take it right after the spawn: calls
/// the filter sends to it wait until answered, and a blocking `sprout_wait` (or
/// `sprout_release`) closes a listener not taken, after which the kernel fails them (ENOSYS).
/// The listener was taken from the process before its program ran; the program never has it.
#[unsafe(no_mangle)]
pub extern "C" fn sprout_seccomp_listener(pid: i32) -> i32 {
    with_errno(|| crate::seccomp_listener(pid).map(IntoRawFd::into_raw_fd))
}

/// `sprout_exec_async`, then `sprout_wait` without a timeout. `wait_status` may be NULL.
/// When the process got the caller's own controlling terminal, the terminal goes back to the
/// foreground group that had it before the spawn once the process has ended.
///
/// With SIGCHLD ignored (or `SA_NOCLDWAIT`) the kernel reaps the process itself: the status
/// then comes from its pidfd (Linux 6.15 and later); older kernels keep none, and the call
/// returns `-ECHILD`, stage WAIT, after the program ran (see `sprout_wait`).
///
/// `SPROUT_EXEC2_PAUSED` is `-EINVAL` here: nothing could start the process.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sprout_exec(
    args: *const sprout_exec_args,
    fds: *const i32,
    fds_len: usize,
    wait_status: *mut i32,
    err: *mut sprout_error,
) -> i32 {
    with_error(err, || {
        let wait_status =
            writable(wait_status).map_err(|e| Error::args(e, "wait_status is misaligned"))?;
        // SAFETY: the caller vouches for its pointers (see the header).
        let spec = unsafe { super::args::read(args, fds, fds_len) }?;
        let status = crate::run(&spec)?;
        if let Some(out) = wait_status {
            *out = status;
        }
        Ok(0)
    })
}

/// Waits for a process started by sprout, reaps it, stores its raw wait status (WIFEXITED &
/// co work on it; `wait_status` may be NULL) and forgets it. `timeout_ms`: -1 forever, 0 poll,
/// a positive value at most that long. `-ECHILD` for a pid the library does not track (never
/// started by it, already waited for, or released), `-ETIMEDOUT` when the time ran out.
///
/// A process someone else reaped — the caller's own `waitpid(-1)` (a SIGCHLD handler), or the
/// kernel when SIGCHLD is ignored or `SA_NOCLDWAIT` is set — still gives its status here, once:
/// the status the kernel keeps for its pidfd (`PIDFD_GET_INFO` with `PIDFD_INFO_EXIT`, Linux
/// 6.15 and later). Older kernels keep none: the call returns `-ECHILD`, its message saying who
/// reaped the process. The library notices such processes on its own (see `sprout_list`),
/// closes their pidfds and keeps only that outcome, for the last 1024 of them not waited for
/// yet; older ones are forgotten (`-ECHILD`, as for a pid it does not track).
///
/// Only the end of the process counts (`WEXITED`): a stopped process is still running here.
/// A process traced since 1.1's `SPROUT_EXEC2_PTRACE` stops at its exec and at every signal:
/// those stops are its tracer's (the thread that started it) to see, with `waitpid(pid,
/// &status, __WALL)` or `waitid(..., WSTOPPED | WNOWAIT)`, which do not reap it, and to end
/// (`PTRACE_CONT`, `PTRACE_DETACH`); until then a `sprout_wait` without a timeout waits. A
/// tracer thread that exits detaches it, and the SIGTRAP of its exec then ends it.
#[unsafe(no_mangle)]
pub extern "C" fn sprout_wait(
    pid: i32,
    timeout_ms: i32,
    wait_status: *mut i32,
    err: *mut sprout_error,
) -> i32 {
    with_error(err, || {
        let wait_status = writable(wait_status)
            .map_err(|e| Error::new(Stage::Wait, e, "wait_status is misaligned"))?;
        let timeout = match timeout_ms {
            -1 => None,
            ms if ms >= 0 => Some(Duration::from_millis(ms as u64)),
            ms => {
                return Err(Error::new(
                    Stage::Wait,
                    Errno::EINVAL,
                    format!("timeout_ms {ms}"),
                ));
            }
        };
        let status = crate::wait(pid, timeout)?;
        if let Some(out) = wait_status {
            *out = status;
        }
        Ok(0)
    })
}

/// Sends `sig` (0: only check) through the process's pidfd, so a reaped and reused pid is never
/// hit: `-ESRCH` for a pid the library does not track or that someone else reaped. A process
/// that has exited but is not reaped yet takes the signal (returns 0), as kill() does.
///
/// Where a seccomp profile refuses pidfd_send_signal (`ENOSYS`, or `EPERM` as profiles written
/// before pidfds do), the signal goes through kill(), after a check (waitid with `WNOWAIT`)
/// that the process is still an unreaped child of the caller, whose pid nothing else can hold.
/// What remains is the two system calls between the check and the kill: to be hit, a wrong
/// process would need the caller to reap this one in that moment and the kernel to hand its
/// pid, after going round the whole pid space, to a new process.
#[unsafe(no_mangle)]
pub extern "C" fn sprout_signal(pid: i32, sig: i32) -> i32 {
    with_errno(|| crate::signal(pid, sig).map(|()| 0))
}

/// A new close-on-exec pidfd for a tracked process, owned by the caller (for epoll or a
/// runtime's poller); `-ESRCH` for an untracked pid. It is a duplicate of the library's own
/// (dup: one file description), so its file status flags are shared: setting O_NONBLOCK on it
/// is fine, `sprout_wait` still blocks as asked.
#[unsafe(no_mangle)]
pub extern "C" fn sprout_pidfd(pid: i32) -> i32 {
    with_errno(|| crate::pidfd(pid).map(IntoRawFd::into_raw_fd))
}

/// Forgets a process without reaping it; the caller then reaps it itself. `-ESRCH` for an
/// untracked pid. A process someone else reaped is tracked until `sprout_wait` or this call
/// (see `sprout_wait`). Since 1.1, a process paused before execve (`SPROUT_EXEC2_PAUSED`) is
/// ended with SIGKILL first, and the call returns once it no longer runs.
#[unsafe(no_mangle)]
pub extern "C" fn sprout_release(pid: i32) -> i32 {
    with_errno(|| crate::release(pid).map(|()| 0))
}

/// Fills `pids` with up to `capacity` tracked pids of `container_id` (NULL: every tracked
/// process), ascending, and sets `*count` to how many there are in all (which may exceed
/// `capacity`). `pids` may be NULL when `capacity` is 0.
///
/// Listed are the processes not waited for or released, including those that have exited
/// and wait to be reaped by `sprout_wait`, but not those someone else reaped (see
/// `sprout_wait`): each call looks at every tracked process (one poll per 256 of them, then
/// waitid with `WNOWAIT` for each that has ended). The library also looks, on its own, when
/// its table has doubled since it last did, so a caller that reaps with `waitpid(-1)` and
/// never calls `sprout_wait` holds at most about twice as many pidfds as live processes (at
/// least 64).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sprout_list(
    container_id: *const c_char,
    pids: *mut i32,
    capacity: usize,
    count: *mut usize,
) -> i32 {
    with_errno(|| {
        let count = writable(count)?.ok_or(Errno::EINVAL)?;
        // SAFETY: the caller vouches for a NUL-terminated id or NULL.
        let container = unsafe { container_name(container_id) }?;
        let out = slice(pids.cast_const(), capacity)?.as_ptr().cast_mut();
        let found = crate::list(container);
        for (i, pid) in found.iter().take(capacity).enumerate() {
            // SAFETY: `out` holds `capacity` ints (checked by `slice`), and i < capacity.
            unsafe { out.add(i).write(*pid) };
        }
        *count = found.len();
        Ok(0)
    })
}

/// Sends `sig` to every process of `container_id` that is alive, as `sprout_signal` does;
/// returns how many were signalled. Processes that have exited (reaped or not) are neither
/// signalled nor counted.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sprout_signal_container(container_id: *const c_char, sig: i32) -> i32 {
    with_errno(|| {
        // SAFETY: the caller vouches for a NUL-terminated id or NULL.
        let container = unsafe { container_name(container_id) }?.ok_or(Errno::EINVAL)?;
        let signalled = crate::signal_container(container, sig)?;
        Ok(signalled.min(i32::MAX as usize) as i32)
    })
}

/// # Safety
/// `id` is NULL or NUL-terminated.
unsafe fn container_name<'a>(id: *const c_char) -> Result<Option<&'a str>, Errno> {
    if readable(id)?.is_none() {
        return Ok(None);
    }
    // SAFETY: non-NULL, and the caller vouches for NUL termination.
    let id = unsafe { CStr::from_ptr(id) };
    id.to_str().map(Some).map_err(|_| Errno::EINVAL)
}

//! sprout: start Linux processes with an exact, verified set of properties, without waiting
//! for them, and keep track of them until they are waited for.
//!
//! The crate has three rooms:
//! - `ffi`: the C ABI (`include/sprout.h`), the only code that reads pointers from C;
//! - this safe core: describe a process with a [`Spec`], [`spawn`] it, then [`wait`],
//!   [`signal`] or [`release`] it by pid, and drive its terminal through its [`Tty`];
//! - `spawn`: the engine, whose `child` module is the unsafe path between clone and execve.

pub mod attributes;
pub mod error;
mod ffi;
mod fork;
pub mod landlock;
pub mod names;
mod namespaces;
mod pidfd;
mod procfs;
mod spawn;
pub mod spec;
mod table;
mod tty;

use std::os::fd::OwnedFd;
use std::time::Duration;

pub use error::{Error, Result, Stage};
pub use nix::errno::Errno;
pub use spawn::DEFAULT_PATH;
pub use spec::{
    Capabilities, Credentials, IdMap, IoPriority, Landlock, Namespace, ProcessGroup, Program,
    Rlimit, Root, Scheduler, Spec, Terminal,
};
pub use tty::{Tty, TtySession, openpty, openpty_from};

/// A process sprout started and tracks until it is waited for or released.
#[derive(Debug)]
pub struct Process {
    pub pid: i32,
    /// The terminal it got, when stdio was a terminal (see [`Terminal`]).
    pub tty: Option<Tty>,
}

/// Starts the process `spec` describes and returns once it runs the new program; nothing
/// waits for it. The process stays in sprout's table until [`wait`] or [`release`].
///
/// With `spec.paused` it returns once the process holds before execve, every other step done:
/// its pid, pidfd and /proc entries are there, and it runs its program only at [`start`]
/// (see `SPROUT_EXEC2_PAUSED` in the header).
pub fn spawn(spec: &Spec) -> Result<Process> {
    let spawned = spawn::spawn(spec)?;
    table::insert(
        spawned.pid,
        spawned.pidfd,
        spec.container_id.as_deref(),
        spawned.paused,
        spawned.listener,
    );
    Ok(Process {
        pid: spawned.pid,
        tty: spawned.tty,
    })
}

/// The seccomp listener of a process spawned with `SECCOMP_FILTER_FLAG_NEW_LISTENER` in
/// `spec.seccomp_flags`, handed over once: `ENOENT` when it has none left, `ESRCH` for a pid
/// sprout does not track. A blocking [`wait`] closes a listener not taken.
pub fn seccomp_listener(pid: i32) -> std::result::Result<OwnedFd, Errno> {
    table::take_listener(pid)
}

/// Lets a process spawned paused run its program; returns once it does, or the error of its
/// exec with the stage (the process is then reaped and forgotten). `ESRCH` for a pid sprout
/// does not track, `EALREADY` for one that is not paused.
pub fn start(pid: i32) -> Result<()> {
    table::start(pid)
}

/// Waits for `pid` (`None`: as long as it takes), reaps it and returns its raw wait status
/// (use `libc::WIFEXITED` & co on it). Fails with `ECHILD` for a pid sprout does not track and
/// `ETIMEDOUT` when the timeout passes first. A process someone else reaped (a `waitpid(-1)`
/// of the caller's, or the kernel with SIGCHLD ignored) gives the status the kernel kept for
/// it (Linux 6.15+), or `ECHILD` on older kernels.
pub fn wait(pid: i32, timeout: Option<Duration>) -> Result<i32> {
    table::wait(pid, timeout)
}

/// [`spawn`] and [`wait`]: the raw wait status of the finished process. When the process got
/// the caller's own terminal, the terminal goes back to the foreground group that had it
/// before, as a shell does when a foreground job ends.
pub fn run(spec: &Spec) -> Result<i32> {
    if spec.paused {
        return Err(Error::args(
            Errno::EINVAL,
            "a paused start (SPROUT_EXEC2_PAUSED) with sprout_exec, which would wait for ever: \
             use sprout_exec_async, then sprout_start",
        ));
    }
    if spec.seccomp_flags & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER != 0 {
        return Err(Error::args(
            Errno::EINVAL,
            "SECCOMP_FILTER_FLAG_NEW_LISTENER with sprout_exec, which returns only when the \
             process has ended: nobody could take the listener",
        ));
    }
    let process = spawn(spec)?;
    let status = wait(process.pid, None);
    if let Some(tty) = &process.tty {
        tty.give_back();
    }
    status
}

/// Sends `signal` to a tracked process through its pidfd: `ESRCH` when sprout does not track
/// `pid` or someone else reaped it, so a reused pid is never hit.
pub fn signal(pid: i32, signal: i32) -> std::result::Result<(), Errno> {
    table::signal(pid, signal)
}

/// A new close-on-exec pidfd for a tracked process, for epoll or a runtime's poller.
pub fn pidfd(pid: i32) -> std::result::Result<OwnedFd, Errno> {
    table::pidfd(pid)
}

/// Stops tracking `pid` without reaping it (the caller reaps it).
pub fn release(pid: i32) -> std::result::Result<(), Errno> {
    table::release(pid)
}

/// The tracked pids of `container` (`None`: all), ascending: not those someone else reaped.
pub fn list(container: Option<&str>) -> Vec<i32> {
    table::list(container)
}

/// Signals every tracked process of `container` that is alive (not exited); returns how many
/// were signalled.
pub fn signal_container(container: &str, signal: i32) -> std::result::Result<usize, Errno> {
    table::signal_container(container, signal)
}

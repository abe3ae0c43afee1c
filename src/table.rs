//! The process table: every process the library started, with its pidfd and container id,
//! until it is waited for or released.
//!
//! The lock guards only the map; it is never held while a spawn, a wait or a signal is under
//! way. Entries are reference-counted so that a wait can keep using a pidfd while another
//! thread releases the process.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use once_cell::sync::Lazy;
use parking_lot::{MappedMutexGuard, Mutex, MutexGuard};

use crate::error::{Error, Result, Stage};

struct Entry {
    pidfd: OwnedFd,
    container: Option<Arc<str>>,
}

type Processes = HashMap<i32, Arc<Entry>>;

/// The processes, and the process they belong to.
static TABLE: Lazy<Mutex<(u32, Processes)>> =
    Lazy::new(|| Mutex::new((std::process::id(), HashMap::new())));

/// The table, locked. A copy of the caller made by fork inherits the table, but not the
/// processes in it (they are not its children): it starts with an empty one.
fn table() -> MappedMutexGuard<'static, Processes> {
    MutexGuard::map(TABLE.lock(), |(owner, processes)| {
        let me = std::process::id();
        if *owner != me {
            *owner = me;
            processes.clear();
        }
        processes
    })
}

/// Registers a process that has just exec'd.
pub fn insert(pid: i32, pidfd: OwnedFd, container: Option<&str>) {
    let entry = Arc::new(Entry {
        pidfd,
        container: container.map(Arc::from),
    });
    // An older entry under the same pid can only be a process someone else reaped behind our
    // back (the kernel reuses a pid only after its zombie is gone): the new one replaces it.
    table().insert(pid, entry);
}

fn lookup(pid: i32) -> Option<Arc<Entry>> {
    table().get(&pid).cloned()
}

/// Forgets `entry` if the table still holds this very entry under `pid`.
fn forget(pid: i32, entry: &Arc<Entry>) {
    let mut table = table();
    if table
        .get(&pid)
        .is_some_and(|current| Arc::ptr_eq(current, entry))
    {
        remove(&mut table, pid);
    }
}

/// Removes `pid`, giving memory back once the table is mostly empty, so that finished
/// processes cost nothing.
fn remove(table: &mut Processes, pid: i32) -> Option<Arc<Entry>> {
    let entry = table.remove(&pid);
    if table.capacity() > 64 && table.len() * 4 < table.capacity() {
        table.shrink_to(table.len() * 2);
    }
    entry
}

/// Waits for `pid` to end (`None`: forever), reaps it, forgets it, and returns its raw wait
/// status. `ECHILD` when the library does not know `pid` (never started, already waited for,
/// or released); `ETIMEDOUT` when the timeout passed first.
pub fn wait(pid: i32, timeout: Option<Duration>) -> Result<i32> {
    let wait_error = |errno, what: &str| Error::new(Stage::Wait, errno, format!("pid {pid}{what}"));
    let entry = lookup(pid)
        .ok_or_else(|| wait_error(Errno::ECHILD, ": not a live process started by sprout"))?;
    let reaped = match timeout {
        None => reap(&entry.pidfd, Block::Yes),
        Some(timeout) => reap_within(&entry.pidfd, timeout),
    };
    match reaped {
        Ok(Some(status)) => {
            forget(pid, &entry);
            Ok(status)
        }
        Ok(None) => Err(wait_error(Errno::ETIMEDOUT, ": still running")),
        Err(Errno::ECHILD) => {
            // Reaped by someone else (a concurrent wait, or the caller's own waitpid).
            forget(pid, &entry);
            Err(wait_error(Errno::ECHILD, ": already reaped"))
        }
        Err(errno) => Err(wait_error(errno, "")),
    }
}

/// Reaps the process if it ends within `timeout`: polls the pidfd, which becomes readable
/// when the process exits.
fn reap_within(pidfd: &OwnedFd, timeout: Duration) -> std::result::Result<Option<i32>, Errno> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = reap(pidfd, Block::No)? {
            return Ok(Some(status));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        let mut poll = libc::pollfd {
            fd: pidfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let timeout_ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        // SAFETY: one pollfd on this stack.
        if unsafe { libc::poll(&mut poll, 1, timeout_ms) } < 0 && Errno::last() != Errno::EINTR {
            return Err(Errno::last());
        }
    }
}

/// Whether `reap` waits for the process to end.
#[derive(PartialEq, Eq)]
pub enum Block {
    Yes,
    No,
}

/// Reaps the process behind `pidfd` and returns its raw wait status; `None` when it is still
/// running and `block` is `No`.
pub fn reap(pidfd: &OwnedFd, block: Block) -> std::result::Result<Option<i32>, Errno> {
    let flags = libc::WEXITED | if block == Block::No { libc::WNOHANG } else { 0 };
    loop {
        // SAFETY: a zeroed siginfo for waitid to fill.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid on a pidfd we own.
        let ret = unsafe {
            libc::waitid(
                libc::P_PIDFD,
                pidfd.as_raw_fd() as libc::id_t,
                &mut info,
                flags,
            )
        };
        if ret < 0 {
            match Errno::last() {
                Errno::EINTR => continue,
                errno => return Err(errno),
            }
        }
        // SAFETY: waitid filled `info`; si_pid is 0 when the process has not ended yet.
        if unsafe { info.si_pid() } == 0 {
            return Ok(None);
        }
        return Ok(Some(raw_wait_status(&info)));
    }
}

/// The status word waitpid would have returned, so that WIFEXITED & co work on it.
fn raw_wait_status(info: &libc::siginfo_t) -> i32 {
    // SAFETY: called on a siginfo filled by waitid for an ended child.
    let status = unsafe { info.si_status() };
    match info.si_code {
        libc::CLD_EXITED => (status & 0xff) << 8,
        libc::CLD_DUMPED => (status & 0x7f) | 0x80,
        _ => status & 0x7f,
    }
}

/// Sends `signal` through the pidfd, so a reaped and reused pid is never hit. `ESRCH` when the
/// library does not know `pid`.
pub fn signal(pid: i32, signal: i32) -> std::result::Result<(), Errno> {
    let entry = lookup(pid).ok_or(Errno::ESRCH)?;
    send_signal(&entry.pidfd, signal)
}

/// pidfd_send_signal without a siginfo.
pub fn send_signal(pidfd: &OwnedFd, signal: i32) -> std::result::Result<(), Errno> {
    // SAFETY: pidfd_send_signal with a pidfd we own and no siginfo.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if ret < 0 { Err(Errno::last()) } else { Ok(()) }
}

/// A new close-on-exec pidfd for `pid`, owned by the caller.
pub fn pidfd(pid: i32) -> std::result::Result<OwnedFd, Errno> {
    let entry = lookup(pid).ok_or(Errno::ESRCH)?;
    entry
        .pidfd
        .try_clone()
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EMFILE)))
}

/// Forgets `pid` without reaping it. `ESRCH` when the library does not know it.
pub fn release(pid: i32) -> std::result::Result<(), Errno> {
    remove(&mut table(), pid).map(drop).ok_or(Errno::ESRCH)
}

/// The pids of `container` (`None`: every process), in ascending order.
pub fn list(container: Option<&str>) -> Vec<i32> {
    let mut pids: Vec<i32> = table()
        .iter()
        .filter(|(_, entry)| container.is_none() || entry.container.as_deref() == container)
        .map(|(&pid, _)| pid)
        .collect();
    pids.sort_unstable();
    pids
}

/// Signals every live process of `container`; returns how many were signalled.
pub fn signal_container(container: &str, signal: i32) -> std::result::Result<usize, Errno> {
    let entries: Vec<Arc<Entry>> = table()
        .values()
        .filter(|entry| entry.container.as_deref() == Some(container))
        .cloned()
        .collect();
    let mut signalled = 0;
    for entry in entries {
        match send_signal(&entry.pidfd, signal) {
            Ok(()) => signalled += 1,
            Err(Errno::ESRCH) => {}
            Err(errno) => return Err(errno),
        }
    }
    Ok(signalled)
}

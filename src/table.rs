//! The process table: every process the library started, with its pidfd and container id,
//! until it is waited for or released.
//!
//! The lock guards only the map; it is never held while a spawn, a wait or a signal is under
//! way, nor while the kernel is asked about the processes. Entries are reference-counted so
//! that a wait can keep using a pidfd while another thread releases the process.
//!
//! A process can be reaped behind the library's back: by the caller's own waitpid(-1) (a
//! SIGCHLD handler), or by the kernel itself when the caller ignores SIGCHLD. It is then
//! *gone*: its pid is free for reuse, and its pidfd is all that is left of it. The table
//! looks for gone processes (a prune) when the number of processes it holds has doubled since
//! it last looked (so the cost is one poll per 256 processes, amortised over the spawns that
//! doubled it), and in `list` and `signal_container`, which go over the processes anyway. A
//! gone process's pidfd is closed; what stays, a few bytes for one `wait`, is the exit status
//! the kernel kept for it (Linux 6.15+, see `pidfd::kept_status`), or the news that it kept
//! none: for the last `ENDED_KEPT` gone processes.

use std::collections::{BTreeMap, HashMap};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use once_cell::sync::Lazy;

use crate::error::{Error, Result, Stage};
use crate::fork::{self, Lock, LockGuard, MappedLockGuard, Owner, RawLock};
use crate::pidfd::{self, Block, Life};
use crate::spawn::Paused;

/// How many exit statuses of gone processes the table keeps for a `wait` that has not come
/// yet; past that, the oldest are forgotten (a caller that reaps with waitpid(-1) and never
/// calls `wait` must not make the table grow without end).
const ENDED_KEPT: usize = 1024;

/// The table never prunes below this many processes.
const PRUNE_MIN: usize = 64;

/// A process the library started and has not seen gone.
struct Child {
    id: u64,
    pidfd: OwnedFd,
    container: Option<Arc<str>>,
}

/// What the table holds under a pid.
#[derive(Clone)]
enum Entry {
    Child(Arc<Child>),
    /// Reaped by someone else: the raw wait status the kernel kept (if it did), for one
    /// `wait`.
    Ended {
        id: u64,
        status: Option<i32>,
    },
}

impl Entry {
    fn id(&self) -> u64 {
        match self {
            Entry::Child(child) => child.id,
            Entry::Ended { id, .. } => *id,
        }
    }
}

#[derive(Default)]
struct Processes {
    by_pid: HashMap<i32, Entry>,
    /// The pids of the `Ended` entries by id, oldest first.
    ended: BTreeMap<u64, i32>,
    /// Prune when this many children are reached (at least PRUNE_MIN).
    prune_at: usize,
    next_id: u64,
    /// The children started paused and not started yet, by pid, with their id: what each
    /// reads until it has exec'd or died. Dropping one ends its child first (it may block
    /// until the child is gone), so records leave the table to be dropped after the lock.
    paused: HashMap<i32, (u64, Paused)>,
    /// The seccomp listeners not taken yet (`sprout_seccomp_listener`), by pid, with the id.
    listeners: HashMap<i32, (u64, OwnedFd)>,
}

impl Processes {
    /// Empties the table of a copy made by fork: its parent's processes are not its children,
    /// and their paused records hold the parent's memory, which the copy must not free.
    fn clear(&mut self) {
        for (_, (_, paused)) in self.paused.drain() {
            paused.abandon();
        }
        *self = Processes::default();
    }

    /// The paused record of the process `id` at `pid`, if it has one.
    fn take_paused(&mut self, pid: i32, id: u64) -> Option<Paused> {
        match self.paused.get(&pid) {
            Some((paused_id, _)) if *paused_id == id => self.paused.remove(&pid).map(|(_, p)| p),
            _ => None,
        }
    }

    /// The listener of the process `id` at `pid`, if it has one not taken yet.
    fn take_listener(&mut self, pid: i32, id: u64) -> Option<OwnedFd> {
        match self.listeners.get(&pid) {
            Some((owner, _)) if *owner == id => self.listeners.remove(&pid).map(|(_, fd)| fd),
            _ => None,
        }
    }

    fn children(&self) -> impl Iterator<Item = (i32, &Arc<Child>)> {
        self.by_pid.iter().filter_map(|(&pid, entry)| match entry {
            Entry::Child(child) => Some((pid, child)),
            Entry::Ended { .. } => None,
        })
    }

    fn child_count(&self) -> usize {
        self.by_pid.len() - self.ended.len()
    }

    /// Adds a child; true when the table is due for a prune, which the caller then runs.
    fn insert(
        &mut self,
        pid: i32,
        pidfd: OwnedFd,
        container: Option<&str>,
        paused: Option<Paused>,
        listener: Option<OwnedFd>,
    ) -> bool {
        self.next_id += 1;
        let child = Arc::new(Child {
            id: self.next_id,
            pidfd,
            container: container.map(Arc::from),
        });
        if let Some(paused) = paused {
            self.paused.insert(pid, (self.next_id, paused));
        }
        if let Some(listener) = listener {
            self.listeners.insert(pid, (self.next_id, listener));
        }
        // An older entry under the same pid can only be a process someone else reaped (the
        // kernel reuses a pid only after its zombie is gone): the new one replaces it.
        if let Some(Entry::Ended { id, .. }) = self.by_pid.insert(pid, Entry::Child(child)) {
            self.ended.remove(&id);
        }
        let due = self.child_count() >= self.prune_at.max(PRUNE_MIN);
        if due {
            // One prune at a time: the one that runs sets the next threshold.
            self.prune_at = usize::MAX;
        }
        due
    }

    /// Removes `pid`, giving memory back once the table is mostly empty, so that finished
    /// processes cost nothing.
    fn remove(&mut self, pid: i32) -> Option<Entry> {
        let entry = self.by_pid.remove(&pid)?;
        if let Entry::Ended { id, .. } = entry {
            self.ended.remove(&id);
        }
        if self.by_pid.capacity() > 64 && self.by_pid.len() * 4 < self.by_pid.capacity() {
            self.by_pid.shrink_to(self.by_pid.len() * 2);
        }
        Some(entry)
    }

    /// Removes `pid` if it still holds the process `id` (and not a newer one at that pid),
    /// with its listener if not taken.
    fn forget(&mut self, pid: i32, id: u64) {
        if self.by_pid.get(&pid).is_some_and(|entry| entry.id() == id) {
            self.remove(pid);
        }
        self.take_listener(pid, id);
    }

    /// Replaces `child`, found gone, by the status the kernel kept for it.
    fn settle(&mut self, pid: i32, child: &Arc<Child>, status: Option<i32>) {
        let Some(entry) = self.by_pid.get_mut(&pid) else {
            return;
        };
        if !matches!(entry, Entry::Child(current) if Arc::ptr_eq(current, child)) {
            return;
        }
        *entry = Entry::Ended {
            id: child.id,
            status,
        };
        self.ended.insert(child.id, pid);
        while self.ended.len() > ENDED_KEPT {
            if let Some((_, oldest)) = self.ended.pop_first() {
                self.by_pid.remove(&oldest);
            }
        }
    }
}

/// The processes, and the process they belong to.
static TABLE: Lazy<Lock<(Owner, Processes)>> =
    Lazy::new(|| Lock::new((Owner::current(), Processes::default())));

/// For the fork handlers (see fork.rs).
pub(crate) fn lock_word() -> &'static RawLock {
    fork::word(&TABLE)
}

/// The table, locked. A copy of the caller made by fork inherits the table, but not the
/// processes in it (they are not its children): it starts with an empty one.
fn table() -> MappedLockGuard<'static, Processes> {
    LockGuard::map(TABLE.lock(), |(owner, processes)| {
        let me = Owner::current();
        if *owner != me {
            *owner = me;
            processes.clear();
        }
        processes
    })
}

/// Registers a process that has just exec'd, or paused before execve (with its record), and
/// the seccomp listener it handed over, if any.
pub fn insert(
    pid: i32,
    pidfd: OwnedFd,
    container: Option<&str>,
    paused: Option<Paused>,
    listener: Option<OwnedFd>,
) {
    if table().insert(pid, pidfd, container, paused, listener) {
        prune();
    }
}

/// Looks for children someone else reaped, turns them into the status the kernel kept for
/// them (closing their pidfds), and sets the size at which the next prune is due.
fn prune() {
    let children: Vec<(i32, Arc<Child>)> = table()
        .children()
        .map(|(pid, child)| (pid, child.clone()))
        .collect();
    let pidfds: Vec<_> = children
        .iter()
        .map(|(_, child)| child.pidfd.as_fd())
        .collect();
    let ended = pidfd::ended_among(&pidfds);
    let gone = children
        .iter()
        .zip(ended)
        .filter(|((_, child), ended)| *ended && pidfd::life(&child.pidfd) == Ok(Life::Gone))
        .map(|(child, _)| child.clone())
        .collect();
    settle(gone);
    let mut table = table();
    table.prune_at = (table.child_count() * 2).max(PRUNE_MIN);
}

/// Records what became of children found gone.
fn settle(gone: Vec<(i32, Arc<Child>)>) {
    if gone.is_empty() {
        return;
    }
    let statuses: Vec<Option<i32>> = gone
        .iter()
        .map(|(_, child)| pidfd::kept_status(&child.pidfd))
        .collect();
    let mut table = table();
    let mut records = Vec::new();
    for ((pid, child), status) in gone.iter().zip(statuses) {
        table.settle(*pid, child, status);
        records.extend(table.take_paused(*pid, child.id));
        table.take_listener(*pid, child.id);
    }
    drop(table);
    // Gone, so no longer reading them: freed at once.
    drop(records);
}

/// The child tracked under `pid`, if it is not known gone.
fn child(pid: i32) -> Option<Arc<Child>> {
    match table().by_pid.get(&pid) {
        Some(Entry::Child(child)) => Some(child.clone()),
        _ => None,
    }
}

/// Waits for `pid` to end (`None`: forever), reaps it, forgets it, and returns its raw wait
/// status. A process someone else reaped gives the status the kernel kept for it.
/// `ECHILD` when the library does not know `pid` (never started, already waited for, or
/// released) or when it was reaped by someone else and the kernel kept no status;
/// `ETIMEDOUT` when the timeout passed first.
pub fn wait(pid: i32, timeout: Option<Duration>) -> Result<i32> {
    let wait_error = |errno, what: &str| Error::new(Stage::Wait, errno, format!("pid {pid}{what}"));
    let child = {
        let mut table = table();
        match table.by_pid.get(&pid) {
            None => {
                return Err(wait_error(
                    Errno::ECHILD,
                    ": not a live process started by sprout",
                ));
            }
            Some(&Entry::Ended { status, .. }) => {
                table.remove(pid);
                return status.ok_or_else(|| wait_error(Errno::ECHILD, &reaped_elsewhere()));
            }
            Some(Entry::Child(child)) => child.clone(),
        }
    };
    if timeout != Some(Duration::ZERO) {
        // A call of the process's that its filter sent to a listener nobody took would keep it
        // waiting as long as this wait: without a listener the kernel fails such calls (ENOSYS).
        let listener = table().take_listener(pid, child.id);
        drop(listener);
    }
    let reaped = match timeout {
        None => pidfd::reap(&child.pidfd, Block::Yes),
        Some(timeout) => reap_within(&child.pidfd, timeout),
    };
    match reaped {
        Ok(Some(status)) => {
            forget(pid, child.id);
            Ok(status)
        }
        Ok(None) => Err(wait_error(Errno::ETIMEDOUT, ": still running")),
        Err(Errno::ECHILD) => {
            forget(pid, child.id);
            Err(wait_error(Errno::ECHILD, &reaped_elsewhere()))
        }
        Err(errno) => Err(wait_error(errno, "")),
    }
}

/// Forgets the process `id` at `pid`, which no longer runs, with its paused record if any.
fn forget(pid: i32, id: u64) {
    let paused = {
        let mut table = table();
        table.forget(pid, id);
        table.take_paused(pid, id)
    };
    drop(paused);
}

/// The seccomp listener `pid` handed over at its spawn, taken: `ESRCH` for a pid the library
/// does not track, `ENOENT` when it has none (none was asked for, or it was taken already).
pub fn take_listener(pid: i32) -> std::result::Result<OwnedFd, Errno> {
    let mut table = table();
    let id = match table.by_pid.get(&pid) {
        Some(Entry::Child(child)) => child.id,
        _ => return Err(Errno::ESRCH),
    };
    table.take_listener(pid, id).ok_or(Errno::ENOENT)
}

/// Lets a paused process run its program: returns once it does, or the error of its exec,
/// the process then reaped and forgotten. `ESRCH` (stage ARGS) for a pid the library does not
/// track, `EALREADY` for one that is not paused (started, or never paused).
pub fn start(pid: i32) -> Result<()> {
    let not = |errno, what: &str| Error::args(errno, format!("pid {pid}{what}"));
    let (child, paused) = {
        let mut table = table();
        let child = match table.by_pid.get(&pid) {
            Some(Entry::Child(child)) => child.clone(),
            _ => {
                return Err(not(Errno::ESRCH, ": not a live process started by sprout"));
            }
        };
        let paused = table.take_paused(pid, child.id);
        (child, paused)
    };
    let Some(paused) = paused else {
        return Err(not(
            Errno::EALREADY,
            ": not paused (started already, or started without SPROUT_EXEC2_PAUSED)",
        ));
    };
    let started = paused.start(&child.pidfd);
    if started.is_err() {
        // Reaped by the start.
        forget(pid, child.id);
    }
    started
}

/// Why the status of a process someone else reaped is lost.
fn reaped_elsewhere() -> String {
    let reaper = if pidfd::children_reaped_by_kernel() {
        "the kernel (SIGCHLD is ignored)"
    } else {
        "someone else (a waitpid of the caller's)"
    };
    format!(": reaped by {reaper}, and this kernel keeps no exit status (Linux 6.15 does)")
}

/// Reaps the process if it ends within `timeout`: polls the pidfd, which becomes readable
/// when the process exits.
fn reap_within(pidfd: &OwnedFd, timeout: Duration) -> std::result::Result<Option<i32>, Errno> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = pidfd::reap(pidfd, Block::No)? {
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

/// Sends `signal` through the pidfd, so a reaped and reused pid is never hit. `ESRCH` when the
/// library does not know `pid`, or knows it gone.
pub fn signal(pid: i32, signal: i32) -> std::result::Result<(), Errno> {
    let child = child(pid).ok_or(Errno::ESRCH)?;
    pidfd::send_signal(&child.pidfd, pid, signal)
}

/// A new close-on-exec pidfd for `pid`, owned by the caller.
pub fn pidfd(pid: i32) -> std::result::Result<OwnedFd, Errno> {
    let child = child(pid).ok_or(Errno::ESRCH)?;
    child
        .pidfd
        .try_clone()
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EMFILE)))
}

/// Forgets `pid` without reaping it. `ESRCH` when the library does not know it. A paused
/// process is ended first (SIGKILL), as its paused record must be freed and nothing could
/// start it any more.
pub fn release(pid: i32) -> std::result::Result<(), Errno> {
    let (entry, paused) = {
        let mut table = table();
        let entry = table.remove(pid).ok_or(Errno::ESRCH)?;
        let paused = table.take_paused(pid, entry.id());
        table.take_listener(pid, entry.id());
        (entry, paused)
    };
    drop(paused);
    drop(entry);
    Ok(())
}

/// The pids of `container` (`None`: every process) that are not gone, in ascending order.
pub fn list(container: Option<&str>) -> Vec<i32> {
    prune();
    let mut pids: Vec<i32> = table()
        .children()
        .filter(|(_, child)| container.is_none() || child.container.as_deref() == container)
        .map(|(pid, _)| pid)
        .collect();
    pids.sort_unstable();
    pids
}

/// Signals every process of `container` that is alive (not exited); returns how many were
/// signalled.
pub fn signal_container(container: &str, signal: i32) -> std::result::Result<usize, Errno> {
    let members: Vec<(i32, Arc<Child>)> = table()
        .children()
        .filter(|(_, child)| child.container.as_deref() == Some(container))
        .map(|(pid, child)| (pid, child.clone()))
        .collect();
    let mut gone = Vec::new();
    let mut signalled = Ok(0);
    for (pid, child) in members {
        match pidfd::life(&child.pidfd) {
            Ok(Life::Exited) => continue,
            Ok(Life::Gone) => {
                gone.push((pid, child));
                continue;
            }
            // Running, or the kernel would not tell: the signal will.
            Ok(Life::Running) | Err(_) => {}
        }
        match pidfd::send_signal(&child.pidfd, pid, signal) {
            Ok(()) => signalled = signalled.map(|n| n + 1),
            Err(Errno::ESRCH) => {}
            Err(errno) => {
                signalled = Err(errno);
                break;
            }
        }
    }
    settle(gone);
    signalled
}

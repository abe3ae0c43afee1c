//! What the library does to its processes, and learns about them, through their pidfds: reap
//! them, tell whether they still run, signal them, and read the exit status the kernel keeps
//! for a process that someone else reaped.

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;

/// Whether `reap` waits for the process to end.
#[derive(PartialEq, Eq)]
pub enum Block {
    Yes,
    No,
}

/// Reaps the process behind `pidfd` and returns its raw wait status; `None` when it is still
/// running and `block` is `No`. A process that someone else reaped first (the caller's
/// waitpid, or the kernel when SIGCHLD is ignored) gives the status the kernel kept for it,
/// and `ECHILD` where the kernel kept none (see `kept_status`).
///
/// A blocking reap works on a pidfd made non-blocking too: `sprout_pidfd` hands out duplicates,
/// which share the file description, and a caller's poller may set O_NONBLOCK on its copy
/// (waitid then answers EAGAIN instead of waiting): it then waits with poll.
pub fn reap(pidfd: &OwnedFd, block: Block) -> Result<Option<i32>, Errno> {
    let flags = libc::WEXITED | if block == Block::No { libc::WNOHANG } else { 0 };
    loop {
        return match waitid(pidfd, flags) {
            Err(Errno::EAGAIN) if block == Block::Yes => {
                wait_for_exit(pidfd);
                continue;
            }
            Err(Errno::ECHILD) => kept_status(pidfd).map(Some).ok_or(Errno::ECHILD),
            reaped => reaped,
        };
    }
}

/// Waits until the process behind `pidfd` has exited (the pidfd is readable).
fn wait_for_exit(pidfd: &OwnedFd) {
    let mut poll = libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one pollfd on this stack.
    while unsafe { libc::poll(&mut poll, 1, -1) } < 0 && Errno::last() == Errno::EINTR {}
}

/// Where a process the library started stands.
#[derive(Debug, PartialEq, Eq)]
pub enum Life {
    /// Running (or stopped): it can be signalled.
    Running,
    /// Exited, and not reaped yet: still the library's to reap, its pid still its own.
    Exited,
    /// Reaped by someone else: its pid is free for the kernel to reuse.
    Gone,
}

/// Where the process behind `pidfd`, a child of the caller, stands; reaps nothing.
pub fn life(pidfd: &OwnedFd) -> Result<Life, Errno> {
    match waitid(pidfd, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT) {
        Ok(None) => Ok(Life::Running),
        Ok(Some(_)) => Ok(Life::Exited),
        Err(Errno::ECHILD) => Ok(Life::Gone),
        Err(errno) => Err(errno),
    }
}

/// waitid(P_PIDFD) with `flags`, retried on EINTR: the raw wait status of an ended process,
/// `None` for one that has not ended (with WNOHANG).
fn waitid(pidfd: &OwnedFd, flags: i32) -> Result<Option<i32>, Errno> {
    loop {
        // SAFETY: a zeroed siginfo for waitid to fill.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid on a pidfd we own, into `info`.
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

/// The raw wait status the kernel kept for a process that someone else reaped: PIDFD_GET_INFO
/// with PIDFD_INFO_EXIT, Linux 6.15 and later (the kernel records it when it releases the
/// process, for every pidfd open on it). `None` on older kernels: before 6.13 the ioctl does
/// not exist (ENOTTY), 6.13 and 6.14 answer only for a process not yet released.
///
/// Called once waitid said ECHILD. A waiter is told ECHILD as soon as a reaper has claimed
/// the process, a moment before the kernel releases it and records the status: when the
/// status is not there yet, wait for the release, which the pidfd reports as POLLHUP.
pub fn kept_status(pidfd: &OwnedFd) -> Option<i32> {
    for attempt in 0..2 {
        // SAFETY: pidfd_info is plain integers; all-zero is a valid value.
        let mut info: libc::pidfd_info = unsafe { std::mem::zeroed() };
        info.mask = libc::PIDFD_INFO_EXIT.into();
        // SAFETY: PIDFD_GET_INFO writes at most size_of::<pidfd_info>() bytes (the size is
        // encoded in the request) into `info`.
        if unsafe { libc::ioctl(pidfd.as_raw_fd(), libc::PIDFD_GET_INFO, &raw mut info) } < 0 {
            // ESRCH: no process and no status (yet): a claimed process may answer so before
            // its release records the status, so it earns the same second look. Any other
            // error (ENOTTY before 6.13) is final.
            if Errno::last() != Errno::ESRCH {
                return None;
            }
        } else if info.mask & u64::from(libc::PIDFD_INFO_EXIT) != 0 {
            return Some(info.exit_code);
        }
        if attempt == 0 {
            wait_for_release(pidfd);
        }
    }
    None
}

/// Waits (at most a second: the release follows the reaper's claim at once) until the process
/// behind `pidfd` has been released, which pidfds report as POLLHUP from Linux 6.9.
fn wait_for_release(pidfd: &OwnedFd) {
    let mut poll = libc::pollfd {
        fd: pidfd.as_raw_fd(),
        // Only POLLHUP, which poll always reports; POLLIN is already there since the exit.
        events: 0,
        revents: 0,
    };
    // SAFETY: one pollfd on this stack.
    while unsafe { libc::poll(&mut poll, 1, 1000) } < 0 && Errno::last() == Errno::EINTR {}
}

/// Which of `pidfds` belong to processes that have ended (exited, whether reaped or not), as
/// poll reports them: one system call for many processes.
pub fn ended_among(pidfds: &[BorrowedFd]) -> Vec<bool> {
    // poll refuses more fds than RLIMIT_NOFILE, which may have been lowered since they opened.
    const BATCH: usize = 256;
    let mut ended = Vec::with_capacity(pidfds.len());
    for batch in pidfds.chunks(BATCH) {
        let mut polls: Vec<libc::pollfd> = batch
            .iter()
            .map(|fd| libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        // SAFETY: `polls` holds polls.len() pollfds.
        let ready = unsafe { libc::poll(polls.as_mut_ptr(), polls.len() as libc::nfds_t, 0) };
        // Where poll fails (ENOMEM), say nothing ended: the next look will tell.
        ended.extend(polls.iter().map(|p| ready > 0 && p.revents != 0));
    }
    ended
}

/// Sends `signal` to process `pid` through its pidfd, so a reaped and reused pid is never hit.
///
/// Where a seccomp profile written before pidfds refuses pidfd_send_signal (ENOSYS, or EPERM
/// as Docker's did), kill() is just as safe while the process is an unreaped child of the
/// caller: its pid cannot be reused before it is reaped. The fallback checks that first; what
/// remains is the two system calls between that check and the kill, in which someone else
/// would have to reap the process and the kernel hand its pid, after a wrap-around of the pid
/// space, to a new process.
pub fn send_signal(pidfd: &OwnedFd, pid: i32, signal: i32) -> Result<(), Errno> {
    match pidfd_send_signal(pidfd, signal) {
        Err(refused @ (Errno::ENOSYS | Errno::EPERM)) => match life(pidfd) {
            Ok(Life::Running | Life::Exited) => {
                // SAFETY: kill has no memory arguments.
                if unsafe { libc::kill(pid, signal) } < 0 {
                    Err(Errno::last())
                } else {
                    Ok(())
                }
            }
            Ok(Life::Gone) => Err(Errno::ESRCH),
            Err(_) => Err(refused),
        },
        sent => sent,
    }
}

/// pidfd_send_signal without a siginfo.
fn pidfd_send_signal(pidfd: &OwnedFd, signal: i32) -> Result<(), Errno> {
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

/// Whether the caller has the kernel reap its children (SIGCHLD ignored, or SA_NOCLDWAIT), so
/// that no one can wait for them: for messages.
pub fn children_reaped_by_kernel() -> bool {
    // SAFETY: a sigaction is integers, a pointer-sized handler and a sigset; all-zero is valid.
    let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: with a NULL new action, sigaction only reads the current one into `current`.
    let ret = unsafe { libc::sigaction(libc::SIGCHLD, std::ptr::null(), &mut current) };
    ret == 0
        && (current.sa_sigaction == libc::SIG_IGN || current.sa_flags & libc::SA_NOCLDWAIT != 0)
}

//! The C faces of the TTY handle, and `sprout_openpty`.
//!
//! A `sprout_tty *` is a token, not memory: every live handle is kept in a process-wide map
//! under its token, and each function looks the pointer's value up there before anything else.
//! Tokens are never reused, so a released handle, NULL, or any pointer the library did not
//! return is `-EBADF`, and nothing is ever read through it. The map holds an `Arc`, so a
//! release from one thread while another uses the handle closes the fd only when that use is
//! over.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, IntoRawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use nix::errno::Errno;
use once_cell::sync::Lazy;

use super::types::sprout_tty;
use super::{with_errno, writable};
use crate::fork::{self, Lock, RawLock};
use crate::tty::Tty;

/// The live handles. A copy of the caller made by fork keeps them: each refers to the copy's
/// own duplicate of the terminal fd, which fork made, and releasing it in one process does
/// not affect the other.
static LIVE: Lazy<Lock<HashMap<usize, Arc<Tty>>>> = Lazy::new(|| Lock::new(HashMap::new()));

/// For the fork handlers (see fork.rs).
pub(crate) fn lock_word() -> &'static RawLock {
    fork::word(&LIVE)
}

/// The next token divided by `TOKEN_STRIDE`. Starting high keeps tokens clear of small
/// integers a caller might mix them up with.
static NEXT: AtomicUsize = AtomicUsize::new(0x1000);

/// Tokens are spaced and aligned like allocations, for callers that check pointer alignment.
const TOKEN_STRIDE: usize = 16;

/// Makes `tty` a live handle and returns its token.
pub(crate) fn register(tty: Tty) -> *mut sprout_tty {
    let token = NEXT.fetch_add(1, Ordering::Relaxed) * TOKEN_STRIDE;
    LIVE.lock().insert(token, Arc::new(tty));
    std::ptr::without_provenance_mut(token)
}

/// The live handle behind `tty`, looked up by the pointer's value alone.
fn live(tty: *const sprout_tty) -> Result<Arc<Tty>, Errno> {
    LIVE.lock().get(&tty.addr()).cloned().ok_or(Errno::EBADF)
}

/// The handle's fd of the terminal (close-on-exec), still owned by the handle: do not close
/// it. `-EBADF` for anything but a live handle, as for every `sprout_tty_*` function.
#[unsafe(no_mangle)]
pub extern "C" fn sprout_tty_fd(tty: *const sprout_tty) -> i32 {
    with_errno(|| Ok(live(tty)?.fd().as_raw_fd()))
}

/// Sets the terminal's window size (TIOCSWINSZ, pixel sizes 0); the kernel sends SIGWINCH to
/// its foreground process group.
#[unsafe(no_mangle)]
pub extern "C" fn sprout_tty_resize(tty: *mut sprout_tty, rows: u16, cols: u16) -> i32 {
    with_errno(|| live(tty)?.resize(rows, cols).map(|()| 0))
}

/// Stores the terminal's foreground process group in `*pgid` (`-EINVAL` when NULL). Works
/// from outside the terminal's session too, where tcgetpgrp() fails with ENOTTY: the answer
/// then comes from /proc/PID/stat of the session leader the library started. `-ESRCH` when
/// the terminal has no foreground group (its session has ended).
#[unsafe(no_mangle)]
pub extern "C" fn sprout_tty_foreground(tty: *const sprout_tty, pgid: *mut i32) -> i32 {
    with_errno(|| {
        let tty = live(tty)?;
        let pgid = writable(pgid)?.ok_or(Errno::EINVAL)?;
        *pgid = tty.foreground()?;
        Ok(0)
    })
}

/// Makes `pgid` (> 0) the terminal's foreground process group: tcsetpgrp with SIGTTOU blocked
/// on the calling thread, so it works from a background group, as shells do. Only when the
/// terminal is the caller's own controlling terminal (the process was started in the caller's
/// session): with a terminal the process took for a session of its own, the kernel allows
/// this to members of that session only, and the call returns `-EPERM`.
#[unsafe(no_mangle)]
pub extern "C" fn sprout_tty_set_foreground(tty: *mut sprout_tty, pgid: i32) -> i32 {
    with_errno(|| live(tty)?.set_foreground(pgid).map(|()| 0))
}

/// Sends `sig` to the terminal's current foreground process group (as found by
/// `sprout_tty_foreground`). When no group is known nothing is signalled and the call returns
/// `-ESRCH`: kill() never sees a pid of 0 or -1 (the caller's group, every process), so group
/// 1 is refused too. The group is whatever has the terminal at that moment, which after
/// `sprout_tty_set_foreground` may be the caller's own.
#[unsafe(no_mangle)]
pub extern "C" fn sprout_tty_signal_foreground(tty: *mut sprout_tty, sig: i32) -> i32 {
    with_errno(|| live(tty)?.signal_foreground(sig).map(|()| 0))
}

/// Forgets the handle and closes its fd (once no other thread is using it). The process and
/// its terminal are not affected. `-EBADF` for a handle already released, NULL, or a pointer
/// the library never returned.
#[unsafe(no_mangle)]
pub extern "C" fn sprout_tty_release(tty: *mut sprout_tty) -> i32 {
    with_errno(|| {
        let released = LIVE.lock().remove(&tty.addr());
        released.map(|_| 0).ok_or(Errno::EBADF)
    })
}

/// Opens a new pseudo-terminal pair of `rows` x `cols`: `*master` and `*slave` receive fds
/// that are close-on-exec and opened with O_NOCTTY (neither becomes the caller's controlling
/// terminal). The slave is opened through the master (TIOCGPTPEER), never by path. Pass the
/// slave as fds[0..2] for a process that gets it as its controlling terminal (a new session),
/// keep the master to drive it. Both pointers are required; they are written only on success.
#[unsafe(no_mangle)]
pub extern "C" fn sprout_openpty(master: *mut i32, slave: *mut i32, rows: u16, cols: u16) -> i32 {
    with_errno(|| {
        let master = writable(master)?.ok_or(Errno::EINVAL)?;
        let slave = writable(slave)?.ok_or(Errno::EINVAL)?;
        let (master_fd, slave_fd) = crate::tty::openpty(rows, cols)?;
        *master = master_fd.into_raw_fd();
        *slave = slave_fd.into_raw_fd();
        Ok(0)
    })
}

/// Since 1.1: `sprout_openpty` in the devpts instance of `ptmx_fd`, an open multiplexer of a
/// devpts mount (a container's `/dev/pts/ptmx`, say, opened through `/proc/PID/root` with
/// `O_PATH`, or with `openat2` and `RESOLVE_IN_ROOT` so that no link leads out of the
/// container), so that the slave is `/dev/pts/N` of that instance and `ttyname()` works for a
/// process in that container. The multiplexer is opened anew through `/proc/self/fd`, so
/// `ptmx_fd` is left as it was and can serve again (an `O_PATH` fd makes no pair of its own).
/// `-EINVAL` when `ptmx_fd` is neither a devpts multiplexer nor a master (whose file is the
/// multiplexer's) of some pair: a slave, another file, `-EBADF` when it is not open; needs /proc.
#[unsafe(no_mangle)]
pub extern "C" fn sprout_openpty_from(
    ptmx_fd: i32,
    master: *mut i32,
    slave: *mut i32,
    rows: u16,
    cols: u16,
) -> i32 {
    with_errno(|| {
        let master = writable(master)?.ok_or(Errno::EINVAL)?;
        let slave = writable(slave)?.ok_or(Errno::EINVAL)?;
        // SAFETY: F_GETFD only reads the fd table; the fd is borrowed for this call only.
        if ptmx_fd < 0 || unsafe { libc::fcntl(ptmx_fd, libc::F_GETFD) } < 0 {
            return Err(Errno::EBADF);
        }
        // SAFETY: checked open above; borrowed, not closed.
        let ptmx = unsafe { std::os::fd::BorrowedFd::borrow_raw(ptmx_fd) };
        let (master_fd, slave_fd) = crate::tty::openpty_from(ptmx, rows, cols)?;
        *master = master_fd.into_raw_fd();
        *slave = slave_fd.into_raw_fd();
        Ok(0)
    })
}

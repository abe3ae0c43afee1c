//! Closing every fd above the layout, with close_range or, where the kernel lacks it (before
//! 5.9) or a seccomp profile refuses it, without. Same rules as the rest of the child: raw
//! system calls, no allocation (the directory buffer is on this stack), and any error fails
//! the spawn, so that no fd of the caller's ever reaches the program unasked.

use std::mem::MaybeUninit;
use std::sync::atomic::Ordering;

use libc::c_int;

use super::{Context, Failure, ITEM_CLOSE_REST, OnItem, Step};
use crate::spawn::sys::sys;

/// Closes every fd from `first` up: close_range, else `close_each_open_fd`. Never a loop up
/// to RLIMIT_NOFILE, which can be 2^30.
pub(super) fn close_from(first: u32, ctx: &Context) -> Step {
    if !ctx.close_range_missing {
        // SAFETY: close_range on plain integers.
        match unsafe { sys!(libc::SYS_close_range, first, u32::MAX, 0) } {
            Ok(_) => return Ok(()),
            Err(libc::ENOSYS) => ctx.report.close_range_missing.store(1, Ordering::Relaxed),
            Err(libc::EPERM) => {}
            Err(errno) => {
                return Err(Failure {
                    errno,
                    item: ITEM_CLOSE_REST,
                });
            }
        }
    }
    close_each_open_fd(first as c_int).on(ITEM_CLOSE_REST)
}

/// How many free fds in a row the fallback tries before it asks /proc/self/fd where the next
/// open one is. Trying a free fd is one close that fails (~0.2 µs here); asking costs an
/// lseek, a getdents64 and the /proc entries it makes (~5 µs, and their share of the
/// process's exit): a run this long costs about what asking does, so neither a dense nor a
/// sparse fd table costs more than about twice the better of the two ways.
const FREE_RUN: u32 = 32;

/// Closes every fd from `first` up without close_range, in time linear in the number of open
/// fds: closes each fd in turn while they are open, and after `FREE_RUN` free ones jumps to
/// the next open fd that /proc/self/fd lists, until it lists none. A last look at the
/// directory from `first` makes sure that none is left.
///
/// (Listing every entry of /proc/self/fd instead costs ~4 µs per open fd in the kernel, which
/// makes each entry a dentry and an inode, and as much again when the process exits: 30 times
/// close_range at 20,000 fds, where a close per fd costs 3 to 4 times close_range.)
fn close_each_open_fd(first: c_int) -> Result<(), i32> {
    // SAFETY: a NUL-terminated literal path.
    let dir = unsafe {
        sys!(
            libc::SYS_openat,
            libc::AT_FDCWD,
            c"/proc/self/fd".as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC
        )
    }? as c_int;
    let closed = close_all_but(dir, first).and_then(|()| match next_open_fd(dir, first)? {
        // Cannot happen while the directory's offsets count by fd number; if they ever did
        // not, this refuses to go on rather than let an fd through.
        Some(_) => Err(libc::EBADFD),
        None => Ok(()),
    });
    // SAFETY: our own directory fd.
    let _ = unsafe { sys!(libc::SYS_close, dir) };
    closed
}

/// Closes every fd from `first` up but `dir` (see `close_each_open_fd`).
fn close_all_but(dir: c_int, first: c_int) -> Result<(), i32> {
    let mut fd = first;
    loop {
        let mut free_run = 0;
        while free_run < FREE_RUN {
            if fd != dir {
                // SAFETY: close on a plain integer, in this process's own fd table (a copy:
                // no other thread opens fds in it).
                match unsafe { sys!(libc::SYS_close, fd) } {
                    Err(libc::EBADF) => free_run += 1,
                    // Closed whatever close says: Linux releases the fd before it reports an
                    // error of the file's (EIO, EINTR).
                    _ => free_run = 0,
                }
            }
            fd = fd.checked_add(1).ok_or(libc::EMFILE)?;
        }
        match next_open_fd(dir, fd)? {
            Some(next) => fd = next,
            None => return Ok(()),
        }
    }
}

/// The lowest open fd from `from` up other than `dir`, or None: /proc/self/fd read from the
/// offset of `from`'s entry. The directory's offset counts by fd number (fd N's entry is at
/// N + 2, after "." and ".."), so closing fds does not shift the entries of the others.
fn next_open_fd(dir: c_int, from: c_int) -> Result<Option<c_int>, i32> {
    // SAFETY: lseek on our own directory fd.
    unsafe { sys!(libc::SYS_lseek, dir, i64::from(from) + 2, libc::SEEK_SET) }?;
    // Room for two entries: each read makes /proc entries for what fits, and only the first
    // open fd is wanted.
    let mut buffer = MaybeUninit::<[u8; 64]>::uninit();
    loop {
        // SAFETY: the kernel writes at most the length given into the buffer on this stack.
        let len = unsafe { sys!(libc::SYS_getdents64, dir, buffer.as_mut_ptr(), 64) }?;
        if len == 0 {
            return Ok(None);
        }
        // SAFETY: the kernel initialised the first `len` (<= 64) bytes.
        let mut entries =
            unsafe { std::slice::from_raw_parts(buffer.as_ptr().cast::<u8>(), len.min(64)) };
        // struct linux_dirent64: u64 ino, i64 off, u16 reclen, u8 type, char name[].
        while let Some(reclen) = entries
            .get(16..18)
            .and_then(|b| b.try_into().ok())
            .map(|b| u16::from_ne_bytes(b) as usize)
        {
            match parse_fd(entries.get(19..reclen).unwrap_or(&[])) {
                Some(fd) if fd >= from && fd != dir => return Ok(Some(fd)),
                _ => {}
            }
            entries = entries.get(reclen.max(1)..).unwrap_or(&[]);
        }
    }
}

/// The fd a /proc/self/fd entry names (a NUL-terminated decimal), or None for "." and "..".
fn parse_fd(name: &[u8]) -> Option<c_int> {
    let mut fd: c_int = 0;
    let mut digits = 0;
    for &byte in name.iter().take_while(|&&b| b != 0) {
        if !byte.is_ascii_digit() {
            return None;
        }
        fd = fd.checked_mul(10)?.checked_add(c_int::from(byte - b'0'))?;
        digits += 1;
    }
    (digits > 0).then_some(fd)
}

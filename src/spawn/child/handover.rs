//! The child's last exchanges with the parent before execve, over the handover socket (a slot
//! of its own in the fd layout, see `plan::TailSlots`): a seccomp listener goes to the parent
//! there, and a paused start waits there for its verdict. Same rules as the rest of the child:
//! raw system calls, memory of the plan and this stack only.

use std::sync::atomic::Ordering;

use super::{OnItem, Step, exit};
use crate::spawn::report::{Report, SYNC_ABORT, SYNC_PAUSED};
use crate::spawn::sys::sys;

/// The kernel's `struct iovec`.
#[repr(C)]
struct IoVec {
    base: *const u8,
    len: usize,
}

/// The kernel's `struct user_msghdr` (64-bit).
#[repr(C)]
struct MsgHdr {
    name: *const u8,
    name_len: u32,
    iov: *const IoVec,
    iov_len: usize,
    control: *const RightsMessage,
    control_len: usize,
    flags: u32,
}

/// A control message carrying one fd (SCM_RIGHTS): `struct cmsghdr` and its data, padded to
/// CMSG_SPACE(sizeof(int)).
#[repr(C)]
struct RightsMessage {
    len: usize,
    level: i32,
    kind: i32,
    fd: i32,
    padding: i32,
}

/// Sends `fd` (with one byte, which a stream of control messages needs) to the parent over
/// the socket: the parent receives its own copy, which outlives this process.
pub(super) fn send_fd(socket: i32, fd: i32) -> Result<(), i32> {
    let byte: u8 = b'f';
    let iov = IoVec {
        base: &raw const byte,
        len: 1,
    };
    let rights = RightsMessage {
        // CMSG_LEN(sizeof(int)): the header and the data, without the padding.
        len: size_of::<RightsMessage>() - size_of::<i32>(),
        level: libc::SOL_SOCKET,
        kind: libc::SCM_RIGHTS,
        fd,
        padding: 0,
    };
    let message = MsgHdr {
        name: std::ptr::null(),
        name_len: 0,
        iov: &raw const iov,
        iov_len: 1,
        control: &raw const rights,
        control_len: size_of::<RightsMessage>(),
        flags: 0,
    };
    // SAFETY: sendmsg reads the message, its one iovec and its control message, all on this
    // stack; MSG_NOSIGNAL: a parent gone makes it fail (EPIPE), never a SIGPIPE.
    unsafe {
        sys!(
            libc::SYS_sendmsg,
            socket,
            &raw const message,
            libc::MSG_NOSIGNAL
        )
    }?;
    Ok(())
}

/// The byte `sprout_start` sends a paused child: run the program.
pub(crate) const VERDICT_START: u8 = b's';

/// Items of the SPAWN stage for the pause: reading the verdict.
pub(crate) const ITEM_PAUSE: u32 = 1 << 29;

/// Says PAUSED (the sync word, with a futex wake for the parent waiting on it), then waits on
/// the socket: `VERDICT_START` goes on to execve; anything else, or the end of the stream (the
/// caller closed its end, or died: its fds closed with it), ends the child. A signal the caller
/// sends meanwhile acts as on the program: the handlers are SIG_DFL and the mask is the
/// program's, so SIGKILL and SIGTERM end it, SIGSTOP stops it.
pub(super) fn pause(report: &Report, socket: i32) -> Step {
    let sync = &report.sync;
    // The parent wrote its verdict on the id maps (GO) before, or nothing: ABORT only when it
    // gave up on this child while unwinding, and then it waits for the child to end.
    let mut state = sync.load(Ordering::Acquire);
    loop {
        if state == SYNC_ABORT {
            exit();
        }
        match sync.compare_exchange(state, SYNC_PAUSED, Ordering::Release, Ordering::Acquire) {
            Ok(_) => break,
            Err(now) => state = now,
        }
    }
    // SAFETY: FUTEX_WAKE on a word of the shared report page, which the parent keeps mapped
    // until this child has exec'd or exited (a shared futex, as the parent's wait).
    let _ = unsafe { sys!(libc::SYS_futex, sync.as_ptr(), libc::FUTEX_WAKE, 1) };
    let mut verdict: u8 = 0;
    loop {
        // SAFETY: reads one byte into this stack from our own socket.
        match unsafe { sys!(libc::SYS_read, socket, &raw mut verdict, 1) } {
            Ok(1) if verdict == VERDICT_START => break,
            Ok(_) => exit(),
            Err(libc::EINTR) => {}
            Err(errno) => return Err(errno).on(ITEM_PAUSE),
        }
    }
    Ok(())
}

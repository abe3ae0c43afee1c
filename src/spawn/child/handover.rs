//! The child's last exchanges with the parent before execve, over the handover socket (a slot
//! of its own in the fd layout, see `plan::TailSlots`): a paused start waits there for its
//! verdict. Same rules as the rest of the child: raw system calls, memory of the plan and this
//! stack only.

use std::sync::atomic::Ordering;

use super::{OnItem, Step, exit};
use crate::spawn::report::{Report, SYNC_ABORT, SYNC_PAUSED};
use crate::spawn::sys::sys;

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

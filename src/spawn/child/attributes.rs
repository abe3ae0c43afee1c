//! The child's steps for the process properties ABI 1.1 added. Same rules as the rest of the
//! child: raw system calls on what the plan holds, no allocation, and every step says where it
//! runs and why there.

use super::{KernelSigaction, OnItem, Step};
use crate::spawn::sys::sys;

/// Items of the SPAWN stage for the signal steps: the signal number in the low byte.
pub(crate) const ITEM_SIGNAL_KEEP: u32 = 1 << 30;

/// Every signal to SIG_DFL but those the caller ignores, which stay ignored unless
/// `default_set` names them (`SPROUT_EXEC2_KEEP_IGNORED_SIGNALS`): POSIX exec keeps ignored
/// signals ignored, and a caught signal must never reach the program with its handler (which
/// lives in the caller). One rt_sigaction per signal sets SIG_DFL and reads what the child
/// had, from the dispositions it got at clone (its own copy: no CLONE_SIGHAND); a second puts
/// SIG_IGN back where it was. Every signal is blocked meanwhile, so no handler runs.
pub(super) fn reset_signals_keeping_ignored(default_set: u64) -> Step {
    let default = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    let ignore = KernelSigaction {
        handler: libc::SIG_IGN,
        ..default
    };
    for signal in 1..=64 {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        let item = ITEM_SIGNAL_KEEP | signal as u32;
        let mut old = KernelSigaction { ..default };
        // SAFETY: valid kernel sigactions on this stack, the kernel's sigset size.
        unsafe {
            sys!(
                libc::SYS_rt_sigaction,
                signal,
                &raw const default,
                &raw mut old,
                8
            )
        }
        .on(item)?;
        if old.handler == libc::SIG_IGN && default_set & (1 << (signal - 1)) == 0 {
            // SAFETY: as above.
            unsafe { sys!(libc::SYS_rt_sigaction, signal, &raw const ignore, 0, 8) }.on(item)?;
        }
    }
    Ok(())
}

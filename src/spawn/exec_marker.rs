//! Telling a child that was killed at execve from one that runs its program.
//!
//! The parent goes on when the child's memory is released: at execve's point of no return, or
//! when the child dies. A seccomp filter that kills execve (KILL_THREAD, KILL_PROCESS, or TRAP,
//! whose SIGSYS is forced to SIG_DFL) kills the child at the system call's entry: it dies
//! without a failure to report, in stage EXEC, just as a successful exec leaves it. So when
//! the plan's filter may kill execve (run on the call's number, see `seccomp_action`), the
//! child names itself `MARKER` right before execve (before a filter installed last can refuse
//! that): a successful execve replaces the name with the program's file name, which never
//! holds a '/'. When the parent goes on, a child that still bears the marker and is exiting
//! (or dead) never ran the program; one that bears it but is not exiting is past the point of
//! no return, about to take its new name. Exiting, not dead: the memory is released early in
//! the exit, and most of the time (70% in the tests here) the parent looks before the child
//! is a zombie.

use std::ffi::CStr;

use crate::procfs::{stat_command, stat_field};

/// The child's name (comm) from right before execve until the program runs.
pub(crate) const MARKER: &CStr = c"sprout/exec";

/// PF_EXITING in the `flags` of /proc/PID/stat: set as the task starts to exit, before it
/// releases its memory (and so before the parent goes on).
const PF_EXITING: u64 = 0x4;

/// Whether child `pid`, whose memory has just been released, died before running its program:
/// it still bears `MARKER` and is exiting or dead. False when /proc cannot tell (not mounted,
/// or the kernel reaped a child whose parent ignores SIGCHLD): the process is then reported
/// as started, and its wait status tells how it ended.
pub(crate) fn died_before_the_program(pid: i32) -> bool {
    let Ok(stat) = std::fs::read(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let exiting = matches!(stat_field::<char>(&stat, 3), Some('Z' | 'X'))
        || stat_field::<u64>(&stat, 9).is_some_and(|flags| flags & PF_EXITING != 0);
    exiting && stat_command(&stat) == Some(MARKER.to_bytes())
}

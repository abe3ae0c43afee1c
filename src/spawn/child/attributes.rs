//! The child's steps for the process properties ABI 1.1 added. Same rules as the rest of the
//! child: raw system calls on what the plan holds, no allocation, and every step says where it
//! runs and why there.

use std::ffi::CString;

use super::{Failure, KernelSigaction, OnItem, Step};
use crate::error::Stage;
use crate::spawn::attributes::{IOPRIO_WHO_PROCESS, SchedAttr};
use crate::spawn::plan::Plan;
use crate::spawn::report::Report;
use crate::spawn::sys::sys;
use crate::spec::Root;

/// Items of the SPAWN stage for the signal steps: the signal number in the low byte.
pub(crate) const ITEM_SIGNAL_KEEP: u32 = 1 << 30;

/// Every signal to SIG_DFL but those the caller ignores, which stay ignored unless
/// `default_set` names them (`SPROUT_EXEC2_KEEP_IGNORED_SIGNALS`): POSIX exec keeps ignored
/// signals ignored, and a caught signal must never reach the program with its handler (which
/// lives in the caller). clone3's CLONE_CLEAR_SIGHAND did exactly that in the kernel already
/// (handlers reset, SIG_IGN kept): then only the signals of `default_set` need a call. After
/// the legacy clone, the child has the caller's dispositions: one rt_sigaction per signal
/// sets SIG_DFL and reads what the child had (its own copy, no CLONE_SIGHAND), a second puts
/// SIG_IGN back where it was. Every signal is blocked meanwhile, so no handler runs.
pub(super) fn reset_signals_keeping_ignored(default_set: u64, cleared_by_clone: bool) -> Step {
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
        let bit = 1u64 << (signal - 1);
        if signal == libc::SIGKILL
            || signal == libc::SIGSTOP
            || (cleared_by_clone && default_set & bit == 0)
        {
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
        if old.handler == libc::SIG_IGN && default_set & bit == 0 {
            // SAFETY: as above.
            unsafe { sys!(libc::SYS_rt_sigaction, signal, &raw const ignore, 0, 8) }.on(item)?;
        }
    }
    Ok(())
}

/// Items of the SCHED stage.
pub(crate) const ITEM_SCHED_SETATTR: u32 = 0;
pub(crate) const ITEM_IOPRIO: u32 = 1;
pub(crate) const ITEM_AFFINITY: u32 = 2;
pub(crate) const ITEM_AFFINITY_READ: u32 = 3;
/// Or'ed with the lowest CPU asked for that the kernel did not grant.
pub(crate) const ITEM_CPU_NOT_GRANTED: u32 = 1 << 31;

/// Items of the OOM_SCORE_ADJ, UTS and CHROOT stages.
pub(crate) const ITEM_OOM_OPEN: u32 = 0;
pub(crate) const ITEM_OOM_WRITE: u32 = 1;
pub(crate) const ITEM_HOSTNAME: u32 = 0;
pub(crate) const ITEM_DOMAINNAME: u32 = 1;
pub(crate) const ITEM_ROOT_FD: u32 = 0;
pub(crate) const ITEM_CHROOT: u32 = 1;

/// CPU affinity, then the scheduling policy, then the I/O priority: after the rlimits, so that
/// the RLIMIT_NICE and RLIMIT_RTPRIO asked for count, and before the credentials change, while
/// the caller's CAP_SYS_NICE holds. The affinity goes first: the kernel refuses to narrow the
/// CPUs of a SCHED_DEADLINE task, and refuses that policy to a task with narrowed CPUs, so
/// that mix fails either way, and this way it fails at sched_setattr with the kernel's EPERM.
/// The CPUs granted are read back: the kernel silently keeps only those online and in the
/// process's cpuset.
pub(super) fn set_scheduling(plan: &Plan, report: &Report) -> Step {
    let steps = &plan.attributes;
    if steps.affinity.is_none() && steps.sched.is_none() && steps.ioprio.is_none() {
        return Ok(());
    }
    report.enter(Stage::Sched);
    if let Some(affinity) = &steps.affinity {
        // SAFETY: the set lives in the plan, `len` bytes of it are read.
        unsafe {
            sys!(
                libc::SYS_sched_setaffinity,
                0,
                affinity.set.len() * 8,
                affinity.set.as_ptr()
            )
        }
        .on(ITEM_AFFINITY)?;
        // SAFETY: the kernel writes at most `len` bytes of Cells that nothing else uses while
        // this child runs (see `Affinity`).
        unsafe {
            sys!(
                libc::SYS_sched_getaffinity,
                0,
                affinity.granted.len() * 8,
                affinity.granted.as_ptr()
            )
        }
        .on(ITEM_AFFINITY_READ)?;
        for (word, &asked) in affinity.set.iter().enumerate() {
            let granted = affinity.granted.get(word).map_or(0, |cell| cell.get());
            let missing = asked & !granted;
            if missing != 0 {
                return Err(Failure {
                    errno: libc::EINVAL,
                    item: ITEM_CPU_NOT_GRANTED | (word as u32 * 64 + missing.trailing_zeros()),
                });
            }
        }
    }
    if let Some(attr) = &steps.sched {
        // SAFETY: a sched_attr in the plan, of the size it says; 0 is this process.
        unsafe { sys!(libc::SYS_sched_setattr, 0, attr as *const SchedAttr, 0) }
            .on(ITEM_SCHED_SETATTR)?;
    }
    if let Some(ioprio) = steps.ioprio {
        // SAFETY: integers; who 0 is this process.
        unsafe { sys!(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, ioprio) }.on(ITEM_IOPRIO)?;
    }
    Ok(())
}

/// /proc/self/oom_score_adj, first among the privileged steps, with the caller's /proc and
/// privilege: before the namespaces (a joined mount namespace may hold a /proc where this
/// process has no pid, and lowering the value needs CAP_SYS_RESOURCE in the initial user
/// namespace). Only ever in a child started with CLONE_VFORK (see `spawn::attributes::check`):
/// the kernel gives a write to every process that shares the writer's memory unless the
/// writer is a vfork child.
pub(super) fn set_oom_score_adj(plan: &Plan, report: &Report) -> Step {
    let Some((text, len)) = &plan.attributes.oom else {
        return Ok(());
    };
    report.enter(Stage::OomScoreAdj);
    // SAFETY: a NUL-terminated literal path.
    let fd = unsafe {
        sys!(
            libc::SYS_openat,
            libc::AT_FDCWD,
            c"/proc/self/oom_score_adj".as_ptr(),
            libc::O_WRONLY | libc::O_CLOEXEC
        )
    }
    .on(ITEM_OOM_OPEN)?;
    // SAFETY: `len` bytes of the plan's text; then our own fd is closed.
    let written = unsafe { sys!(libc::SYS_write, fd, text.as_ptr(), *len) };
    let _ = unsafe { sys!(libc::SYS_close, fd) };
    written.on(ITEM_OOM_WRITE).map(|_| ())
}

/// The hostname and domain name of the new UTS namespace (the only kind `Spec::validate`
/// lets through), right after the namespaces, before the credentials change: the kernel
/// wants CAP_SYS_ADMIN in the user namespace that owns the UTS namespace.
pub(super) fn set_uts_names(plan: &Plan, report: &Report) -> Step {
    set_uts_name(
        &plan.spec.hostname,
        libc::SYS_sethostname,
        ITEM_HOSTNAME,
        report,
    )?;
    set_uts_name(
        &plan.spec.domainname,
        libc::SYS_setdomainname,
        ITEM_DOMAINNAME,
        report,
    )
}

/// One of `set_uts_names`. (No array of the two: the compiler may copy one with the C
/// library's memcpy, which the child must never call.)
#[inline(always)]
fn set_uts_name(name: &Option<CString>, call: libc::c_long, item: u32, report: &Report) -> Step {
    if let Some(name) = name {
        report.enter(Stage::Uts);
        let bytes = name.as_bytes();
        // SAFETY: `len` bytes of a string the spec keeps alive.
        unsafe { sys!(call, bytes.as_ptr(), bytes.len()) }.on(item)?;
    }
    Ok(())
}

/// A root directory given as an fd: the child changes to it right after the namespaces (a
/// joined mount namespace's setns would reset the working directory), while the caller's fd
/// is still where it was: the fd layout comes next. The chroot itself comes later, from there.
pub(super) fn enter_root_fd(plan: &Plan, report: &Report) -> Step {
    if let Some(Root::Fd(fd)) = plan.spec.root {
        report.enter(Stage::Chroot);
        // SAFETY: fchdir on an fd `Spec::validate` found open.
        unsafe { sys!(libc::SYS_fchdir, fd) }.on(ITEM_ROOT_FD)?;
    }
    Ok(())
}

/// chroot to the root directory, after the namespaces, the fd layout and the rlimits, before
/// the working directory (which is then found from the new root) and the credentials change
/// (which takes CAP_SYS_CHROOT away).
pub(super) fn change_root(plan: &Plan, report: &Report) -> Step {
    let path = match &plan.spec.root {
        None => return Ok(()),
        Some(Root::Path(path)) => path.as_ptr(),
        // `enter_root_fd` made it the working directory.
        Some(Root::Fd(_)) => c".".as_ptr(),
    };
    report.enter(Stage::Chroot);
    // SAFETY: a NUL-terminated path the plan keeps alive.
    unsafe { sys!(libc::SYS_chroot, path) }.on(ITEM_CHROOT)?;
    Ok(())
}

/// personality(2): before the filter installed without no_new_privs, which then need not
/// allow it. Nothing the child does later depends on it; execve keeps it.
pub(super) fn set_personality(plan: &Plan, report: &Report) -> Step {
    if let Some(persona) = plan.spec.personality {
        report.enter(Stage::Personality);
        // SAFETY: an integer; the call returns the previous persona.
        unsafe { sys!(libc::SYS_personality, persona) }.on(0)?;
    }
    Ok(())
}

/// PTRACE_TRACEME, last before the filter and execve: the process is traced by the thread
/// that called sprout_exec_async and stops with SIGTRAP when its exec completes. Only a signal
/// arriving in the moment between the program's signal mask and execve, which the mask does
/// not block, stops it earlier (a tracee stops for every signal), while that thread waits for
/// the exec: that window is one system call.
pub(super) fn trace_me(plan: &Plan, report: &Report) -> Step {
    if plan.spec.ptrace {
        report.enter(Stage::Ptrace);
        // SAFETY: PTRACE_TRACEME takes no pointer.
        unsafe { sys!(libc::SYS_ptrace, libc::PTRACE_TRACEME, 0, 0, 0) }.on(0)?;
    }
    Ok(())
}

//! The child's privilege steps: rlimits, the seccomp filter, the bounding set, the ids, the
//! capability sets and no_new_privs. Same rules as the rest of the child: raw system calls on
//! the plan only. The id calls in particular are never the C library's, whose setxid broadcast
//! would change the credentials of every thread of the caller.

use super::{OnItem, Step, handover};
use crate::error::Stage;
use crate::spawn::plan::{
    BoundingDrops, CapData, CapHeader, CapabilitySteps, Plan, RlimitStep, SeccompWhen,
};
use crate::spawn::report::Report;
use crate::spawn::sys::sys;
use crate::spec::Credentials;

/// Items of the CREDENTIALS stage: which call failed.
pub(crate) const ITEM_GROUPS: u32 = 0;
pub(crate) const ITEM_GID: u32 = 1;
pub(crate) const ITEM_UID: u32 = 2;

/// Items of the CAPABILITIES stage: the step in the high bits, the capability in the low byte.
pub(crate) const ITEM_BOUNDING: u32 = 1 << 8;
pub(crate) const ITEM_KEEPCAPS: u32 = 2 << 8;
pub(crate) const ITEM_CAPSET: u32 = 3 << 8;
pub(crate) const ITEM_AMBIENT_CLEAR: u32 = 4 << 8;
pub(crate) const ITEM_AMBIENT: u32 = 5 << 8;
pub(crate) const ITEM_CAPABILITY_BITS: u32 = 0xff;

/// Each limit with prlimit64 on the child itself. It runs while the child still has the
/// caller's privileges (raising a hard limit needs CAP_SYS_RESOURCE; in another user namespace
/// than the caller's, the hard limits were raised before it was entered); the child has its
/// own copy of the limits (no CLONE_THREAD), so the caller's never change. Item: the index.
pub(super) fn set_rlimits(plan: &Plan, report: &Report) -> Step {
    prlimits(&plan.rlimits, report)
}

/// The hard limits to raise before the child enters its user namespace, where the
/// CAP_SYS_RESOURCE of the caller (checked in the initial user namespace) would not count.
pub(super) fn raise_hard_limits(plan: &Plan, report: &Report) -> Step {
    prlimits(&plan.early_raises, report)
}

fn prlimits(steps: &[RlimitStep], report: &Report) -> Step {
    if steps.is_empty() {
        return Ok(());
    }
    report.enter(Stage::Rlimits);
    for step in steps {
        // SAFETY: pid 0 is this process; the new limit lives in the plan and no old limit is
        // asked for.
        unsafe {
            sys!(
                libc::SYS_prlimit64,
                0,
                step.resource,
                &raw const step.value,
                0
            )
        }
        .on(step.index)?;
    }
    Ok(())
}

/// Items of the SECCOMP stage: installing the filter, handing its listener to the parent.
pub(crate) const ITEM_FILTER: u32 = 0;
pub(crate) const ITEM_LISTENER: u32 = 1;

/// The seccomp filter, if the plan installs it at `when`, with its flags; its listener, if it
/// asks for one, goes to the parent over the handover socket and is closed here.
pub(super) fn install_seccomp(plan: &Plan, report: &Report, when: SeccompWhen) -> Step {
    let Some(seccomp) = plan.seccomp.as_ref().filter(|s| s.when == when) else {
        return Ok(());
    };
    report.enter(Stage::Seccomp);
    // SAFETY: a sock_fprog whose filter points into the spec, which outlives the child's use;
    // the kernel copies the program. No TSYNC: the child is a thread group of its own.
    let installed = unsafe {
        sys!(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            seccomp.flags,
            &raw const seccomp.program
        )
    }
    .on(ITEM_FILTER)?;
    if let (true, Some(socket)) = (seccomp.has_listener(), plan.tail.handover) {
        // The new listener fd (close-on-exec), which only this process holds until it is sent.
        let listener = installed as i32;
        let sent = handover::send_fd(socket, listener).on(ITEM_LISTENER);
        // SAFETY: our own fd: the parent has its own copy once sent.
        let _ = unsafe { sys!(libc::SYS_close, listener) };
        sent?;
    }
    Ok(())
}

/// landlock_restrict_self with the plan's ruleset (its slot of the layout), then the ruleset
/// fd is closed: the process is in its Landlock domain, the fd not needed any more. Without
/// no_new_privs the kernel wants CAP_SYS_ADMIN in the process's user namespace.
pub(super) fn restrict_landlock(plan: &Plan, report: &Report) -> Step {
    let (Some(landlock), Some(ruleset)) = (plan.spec.landlock, plan.tail.ruleset) else {
        return Ok(());
    };
    report.enter(Stage::Landlock);
    // SAFETY: landlock_restrict_self takes an fd of ours and flags.
    unsafe {
        sys!(
            libc::SYS_landlock_restrict_self,
            ruleset,
            landlock.restrict_flags
        )
    }
    .on(0)?;
    // SAFETY: our own fd.
    let _ = unsafe { sys!(libc::SYS_close, ruleset) };
    Ok(())
}

/// Bounding set, then ids, then capability sets: dropping bounding bits needs CAP_SETPCAP,
/// which a change to a non-root uid takes away; PR_SET_KEEPCAPS keeps the permitted set across
/// that change so capset can narrow it to what was asked; ambient bits can only be raised
/// once they are permitted and inheritable.
pub(super) fn set_credentials_and_capabilities(plan: &Plan, report: &Report) -> Step {
    if let Some(caps) = &plan.capabilities {
        report.enter(Stage::Capabilities);
        drop_from_bounding(caps.bounding_drops)?;
        if caps.keep_across_uid_change {
            // SAFETY: prctl with integer arguments; execve clears the flag again.
            unsafe { sys!(libc::SYS_prctl, libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) }
                .on(ITEM_KEEPCAPS)?;
        }
    }
    if let Some(credentials) = &plan.spec.credentials {
        report.enter(Stage::Credentials);
        set_ids(credentials)?;
    }
    if let Some(caps) = &plan.capabilities {
        report.enter(Stage::Capabilities);
        set_capability_sets(caps)?;
    }
    Ok(())
}

/// PR_SET_NO_NEW_PRIVS, when asked.
pub(super) fn set_no_new_privs(plan: &Plan, report: &Report) -> Step {
    if !plan.spec.no_new_privs {
        return Ok(());
    }
    report.enter(Stage::NoNewPrivs);
    // SAFETY: prctl with integer arguments (the kernel wants the unused ones zero).
    unsafe { sys!(libc::SYS_prctl, libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) }
        .on(0)
        .map(|_| ())
}

/// Drops the bounding bits of `drops` (see `BoundingDrops`): those of `if_held` only when
/// still in the set.
fn drop_from_bounding(drops: BoundingDrops) -> Step {
    // SAFETY (all): prctl with integer arguments on this process's own bounding set.
    for bit in bits(drops.if_held) {
        if unsafe { sys!(libc::SYS_prctl, libc::PR_CAPBSET_READ, bit) } == Ok(0) {
            continue;
        }
        unsafe { sys!(libc::SYS_prctl, libc::PR_CAPBSET_DROP, bit) }.on(ITEM_BOUNDING | bit)?;
    }
    for bit in bits(drops.at_once) {
        unsafe { sys!(libc::SYS_prctl, libc::PR_CAPBSET_DROP, bit) }.on(ITEM_BOUNDING | bit)?;
    }
    Ok(())
}

/// Supplementary groups, gid, uid; real, effective and saved alike. setgroups is skipped when
/// no groups are asked and the child has none already: the outcome is the same, and it lets
/// a caller without CAP_SETGID name ids. When none are asked but the child inherited some, in
/// a user namespace whose setgroups is denied (the kernel's rule for a gid map written without
/// CAP_SETGID, the rootless case), they stay, as runc leaves them: nothing can drop them there.
fn set_ids(credentials: &Credentials) -> Step {
    let groups = &credentials.groups;
    // SAFETY: getgroups with size 0 only counts the groups and writes nothing.
    if !groups.is_empty() || unsafe { sys!(libc::SYS_getgroups, 0, 0) } != Ok(0) {
        // SAFETY: `groups` lives in the spec and holds `len` gid_t (u32) values.
        unsafe { sys!(libc::SYS_setgroups, groups.len(), groups.as_ptr()) }
            .or_else(|errno| match errno {
                libc::EPERM if groups.is_empty() && setgroups_denied() => Ok(0),
                errno => Err(errno),
            })
            .on(ITEM_GROUPS)?;
    }
    let (uid, gid) = (credentials.uid, credentials.gid);
    // SAFETY (both): integer arguments; the raw calls change this process only.
    unsafe { sys!(libc::SYS_setresgid, gid, gid, gid) }.on(ITEM_GID)?;
    unsafe { sys!(libc::SYS_setresuid, uid, uid, uid) }.on(ITEM_UID)?;
    Ok(())
}

/// After setgroups failed with EPERM: whether it was refused by the user namespace (setgroups
/// denied there) rather than for want of CAP_SETGID, which the kernel checks first: the child
/// holds CAP_SETGID in its user namespace. Reading /proc/self/setgroups would tell too, but
/// /proc may be another PID namespace's, or missing, in a joined mount namespace.
fn setgroups_denied() -> bool {
    const CAP_SETGID: u32 = 6;
    let mut header = CapHeader::this_thread();
    let mut data = [CapData {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: capget writes the two data words of version 3, on this stack.
    let got = unsafe { sys!(libc::SYS_capget, &raw mut header, data.as_mut_ptr()) };
    let [low, _] = data;
    got.is_ok() && low.effective & (1 << CAP_SETGID) != 0
}

/// capset E/P/I, then the ambient set: cleared, then each asked bit raised.
fn set_capability_sets(caps: &CapabilitySteps) -> Step {
    let mut header = CapHeader::this_thread();
    // SAFETY: a header on this stack (the kernel may write its preferred version into it) and
    // the two data words version 3 reads, in the plan.
    unsafe { sys!(libc::SYS_capset, &raw mut header, caps.words.as_ptr()) }.on(ITEM_CAPSET)?;
    if caps.clear_ambient {
        // SAFETY: prctl with integer arguments (the unused ones zero, as the kernel wants).
        unsafe {
            sys!(
                libc::SYS_prctl,
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_CLEAR_ALL,
                0,
                0,
                0
            )
        }
        .on(ITEM_AMBIENT_CLEAR)?;
    }
    for bit in bits(caps.ambient) {
        // SAFETY: as above.
        unsafe {
            sys!(
                libc::SYS_prctl,
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_RAISE,
                bit,
                0,
                0
            )
        }
        .on(ITEM_AMBIENT | bit)?;
    }
    Ok(())
}

/// The numbers of the bits set in `set`, lowest first.
fn bits(set: u64) -> impl Iterator<Item = u32> {
    (0..64).filter(move |bit| set & (1 << bit) != 0)
}

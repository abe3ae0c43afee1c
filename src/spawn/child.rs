//! The child's program, from clone to execve.
//!
//! This code runs in a process that shares the caller's memory and, without CLONE_SETTLS, the
//! calling thread's TLS, while that thread is suspended (CLONE_VFORK) or, when the child waits
//! for the parent's steps, running on beside it (see `namespaces::Handshake`). (A child that joins
//! a time namespace runs on a copy of the caller's memory instead.) So it obeys the rules of
//! posix_spawn's child:
//! - only raw system calls (`sys!`): no libc wrapper, which could take a lock another thread of
//!   the caller holds, write the caller thread's errno, or broadcast to the caller's threads;
//! - no allocation, no formatting, no panics: no indexing that could go out of bounds, only
//!   iterators and `get`; memory is the plan the parent prepared and this function's stack;
//! - every signal stays blocked until every handler is back to SIG_DFL, so no handler of the
//!   caller ever runs here.
//!
//! Each step records its stage in the report first; a failure records the errno and the item
//! (fd slot, PATH candidate, ...) and the child exits with status 127.

use std::ffi::{CStr, c_void};
use std::os::fd::RawFd;
use std::sync::atomic::Ordering;

use libc::c_int;

pub(super) mod attributes;
mod close_fds;
pub(super) mod handover;
pub(super) mod privileges;

use super::clone::legacy_leftover;
use super::exec_marker::MARKER;
use super::plan::{ChildTty, Exec, FdLayout, Plan, SeccompWhen};
use super::report::{Report, SYNC_GO, SYNC_READY, SYNC_STARTED};
use super::sys::sys;
use crate::error::Stage;
use crate::spec::ProcessGroup;

/// What the parent hands the child.
pub struct Context<'a> {
    pub plan: &'a Plan<'a>,
    pub report: &'a Report,
    /// A copy of `plan.fds.sources` the child may rewrite while laying out fds.
    pub fd_scratch: *mut RawFd,
    /// Whether an earlier child found close_range missing.
    pub close_range_missing: bool,
}

/// A failed step: errno and the item of the stage it failed on.
struct Failure {
    errno: i32,
    item: u32,
}

type Step = Result<(), Failure>;

trait OnItem<T> {
    /// Tags a system call's error with the item it concerned.
    fn on(self, item: u32) -> Result<T, Failure>;
}

impl<T> OnItem<T> for Result<T, i32> {
    #[inline(always)]
    fn on(self, item: u32) -> Result<T, Failure> {
        self.map_err(|errno| Failure { errno, item })
    }
}

/// The item reported when closing the remaining fds fails.
pub(crate) const ITEM_CLOSE_REST: u32 = u32::MAX;
/// Or'ed with the slot whose source could not be parked (see `FdLayout`).
pub(crate) const ITEM_PARK: u32 = 1 << 31;
/// Items of the SPAWN stage: the parent-death signal, the program's signal mask, and (or'ed
/// with the signal's number) resetting a signal's action to SIG_DFL.
pub(crate) const ITEM_PARENT_DEATH_SIGNAL: u32 = 0;
pub(crate) const ITEM_SIGNAL_MASK: u32 = 1;
pub(crate) const ITEM_SIGNAL_ACTION: u32 = 1 << 8;
/// The CREDENTIALS stage's item for the session keyring (after the ids' items 0-2).
pub(crate) const ITEM_SESSION_KEYRING: u32 = 3;
/// Namespaces stage items other than a join (whose item is its index in `Spec::namespaces`):
/// the unshare after the joins, the unshare that makes up for the legacy clone, the wait for
/// the parent's steps.
pub(crate) const ITEM_UNSHARE: u32 = u32::MAX - 1;
pub(crate) const ITEM_LEGACY_UNSHARE: u32 = u32::MAX - 2;
pub(crate) const ITEM_WAIT: u32 = u32::MAX - 3;

/// The child's entry point (see `clone::ChildEntry`).
pub extern "C" fn child_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the Context the parent built for this child; the parent keeps it alive
    // until the child has exec'd or exited.
    let ctx = unsafe { &*(arg as *const Context) };
    if let Err(failure) = run(ctx) {
        ctx.report.fail(failure.errno, failure.item);
    }
    exit()
}

/// Ends the child with status 127, and ends it whatever a seccomp filter of the caller's
/// refuses: the caller is suspended until this process execs or dies, so a child that lived
/// on after a refused exit would hang it for ever. exit_group, then exit (the child is one
/// thread, so either ends it), then SIGKILL to itself (it cannot be blocked, caught or
/// ignored, and dumps no core), then a faulting instruction: the kernel delivers the fault's
/// signal even while it is blocked (as every signal is here until the program's mask is set)
/// by forcing it to SIG_DFL, and SIGILL's default action kills.
pub(super) fn exit() -> ! {
    // SAFETY: system calls on integers that end this process (the child alone: it is not in
    // the caller's thread group), or fail and change nothing.
    unsafe {
        let _ = sys!(libc::SYS_exit_group, 127);
        let _ = sys!(libc::SYS_exit, 127);
        if let Ok(me) = sys!(libc::SYS_getpid) {
            let _ = sys!(libc::SYS_kill, me, libc::SIGKILL);
        }
    }
    fault()
}

/// An instruction that raises SIGILL, the last resort of `exit`.
#[inline(always)]
fn fault() -> ! {
    // SAFETY: the instruction faults and never returns; nothing of this process's state is
    // touched before the kernel ends it.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        std::arch::asm!("ud2", options(noreturn, nostack));
        #[cfg(target_arch = "aarch64")]
        std::arch::asm!("udf #0", options(noreturn, nostack));
    }
}

/// The steps, in the order that makes each possible: joins before anything that depends on
/// the namespace, privileged steps before the credentials drop privilege, the parent-death
/// signal after the credentials change (which clears it), the program's signal mask last but
/// for the seccomp filter and, with a paused start, the wait to be started.
/// Steps of other issues slot in where the bracketed comments say.
fn run(ctx: &Context) -> Step {
    let plan = ctx.plan;
    let report = ctx.report;

    report.enter(Stage::Spawn);
    if plan.spec.keep_ignored_signals {
        attributes::reset_signals_keeping_ignored(
            plan.spec.default_signals,
            !report.legacy_clone(),
        )?;
    } else {
        reset_signal_handlers()?;
    }

    // What the legacy clone could not do comes first: the move into the cgroup is made with
    // the caller's credentials and namespaces, as CLONE_INTO_CGROUP would have made it.
    if report.legacy_clone() {
        make_up_for_legacy_clone(ctx)?;
    }
    join_extra_cgroups(ctx)?;

    // Session and terminal, on the caller's fd of the terminal, and the hard limits to raise:
    // before the namespaces, while the caller's privilege in its own user namespace, which
    // these need (TIOCSCTTY on a write-only fd CAP_SYS_ADMIN, fchown CAP_CHOWN, raising a
    // hard limit CAP_SYS_RESOURCE), still holds: a joined or new user namespace takes it away.
    // Every signal is still blocked, so the TIOCSPGRP of a background caller's child is not
    // stopped by SIGTTOU.
    report.enter(Stage::Tty);
    set_up_terminal(plan)?;
    privileges::raise_hard_limits(plan, report)?;
    attributes::set_oom_score_adj(plan, report)?;

    enter_namespaces(ctx)?;
    join_session_keyring(ctx)?;
    attributes::set_uts_names(plan, report)?;
    attributes::enter_root_fd(plan, report)?;

    report.enter(Stage::Fds);
    lay_out_fds(ctx)?;

    privileges::set_rlimits(plan, report)?;
    attributes::set_scheduling(plan, report)?;
    attributes::change_root(plan, report)?;

    report.enter(Stage::Chdir);
    if plan.attributes.chdir_from_root {
        // A relative working directory is relative to the new root, not to what the working
        // directory was before the chroot (outside the root, for a root given by path).
        // SAFETY: a NUL-terminated literal path.
        unsafe { sys!(libc::SYS_chdir, c"/".as_ptr()) }.on(0)?;
    }
    // SAFETY: a NUL-terminated path the plan keeps alive.
    unsafe { sys!(libc::SYS_chdir, plan.spec.working_directory.as_ptr()) }.on(0)?;
    // Kept: the child has the caller's umask from clone (its own copy, no CLONE_FS), and
    // makes no call that could change or race the caller's.
    if !plan.spec.keep_umask {
        // SAFETY: umask takes a plain integer and cannot fail.
        let _ = unsafe { sys!(libc::SYS_umask, plan.spec.umask) };
    }
    attributes::set_personality(plan, report)?;

    // Without no_new_privs, while CAP_SYS_ADMIN is still held.
    privileges::install_seccomp(plan, report, SeccompWhen::BeforeCredentials)?;
    privileges::set_credentials_and_capabilities(plan, report)?;
    privileges::set_no_new_privs(plan, report)?;

    report.enter(Stage::Spawn);
    set_parent_death_signal(plan)?;

    // Every handler is SIG_DFL (or kept SIG_IGN) now; the program starts with the mask asked
    // for, empty unless `sigmask` says otherwise.
    let mask: u64 = plan.spec.signal_mask;
    // SAFETY: a sigset of the kernel's size (8 bytes) that lives on this stack.
    unsafe {
        sys!(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &raw const mask,
            0,
            8
        )
    }
    .on(ITEM_SIGNAL_MASK)?;
    attributes::trace_me(plan, report)?;

    if plan.checks_exec() {
        mark_exec();
    }
    // Last but for the filter, which then need not let landlock_restrict_self through.
    privileges::restrict_landlock(plan, report)?;
    // With no_new_privs: last, so that it filters the program and not sprout.
    privileges::install_seccomp(plan, report, SeccompWhen::BeforeExec)?;

    // A paused start holds here, with everything but execve done, until it is started.
    if let (true, Some(socket)) = (plan.spec.paused, plan.tail.handover) {
        report.enter(Stage::Spawn);
        handover::pause(report, socket)?;
    }

    report.enter(Stage::Exec);
    exec(plan)
}

/// Takes the name `exec_marker::MARKER`, which a successful execve replaces: the parent then
/// tells a child killed at execve by the filter from one that runs the program. A name the
/// filter refuses to set only leaves that case reported as started.
fn mark_exec() {
    // SAFETY: PR_SET_NAME reads a NUL-terminated name of at most 16 bytes from a static.
    let _ = unsafe { sys!(libc::SYS_prctl, libc::PR_SET_NAME, MARKER.as_ptr(), 0, 0, 0) };
}

/// What a failed TTY step was doing: the report's item for that stage.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TtyItem {
    Setsid,
    Owner,
    TakeTerminal,
    Setpgid,
    Foreground,
    /// setpgid to the group asked for (`sprout_exec_args.pgid`, ABI 1.1).
    ProcessGroup,
}

impl TtyItem {
    pub fn from_u32(item: u32) -> Option<TtyItem> {
        [
            TtyItem::Setsid,
            TtyItem::Owner,
            TtyItem::TakeTerminal,
            TtyItem::Setpgid,
            TtyItem::Foreground,
            TtyItem::ProcessGroup,
        ]
        .get(item as usize)
        .copied()
    }
}

/// Session, process group and controlling terminal, as the parent decided (see `ChildTty`),
/// and the process group asked for (`Spec::process_group`): in the caller's session, or, with
/// the caller's terminal, the group made the foreground one. (A new session makes the process
/// lead a new group already; joining another group from there is refused before clone.)
fn set_up_terminal(plan: &Plan) -> Step {
    // SAFETY: setsid takes no arguments.
    let setsid = || unsafe { sys!(libc::SYS_setsid) }.on(TtyItem::Setsid as u32);
    let join = match plan.spec.process_group {
        Some(ProcessGroup::Join(pgid)) => pgid,
        _ => 0,
    };
    match plan.tty {
        ChildTty::Stay => {
            if plan.spec.process_group.is_some() {
                // SAFETY: setpgid takes plain integers; 0 is a new group led by this process.
                unsafe { sys!(libc::SYS_setpgid, 0, join) }.on(TtyItem::ProcessGroup as u32)?;
            }
        }
        ChildTty::NewSession => {
            setsid()?;
        }
        ChildTty::OwnTerminal { fd, owner, .. } => {
            setsid()?;
            // Without force (0): the kernel refuses a terminal that is another session's
            // controlling terminal (EPERM), even to root, instead of taking it from that
            // session. Taking it also makes this process's group the foreground group.
            // SAFETY: an ioctl with integer arguments on our own fd.
            unsafe { sys!(libc::SYS_ioctl, fd, libc::TIOCSCTTY, 0) }
                .on(TtyItem::TakeTerminal as u32)?;
            // Only once it is this session's: another session's terminal keeps its owner.
            if let Some(uid) = owner {
                hand_over_terminal(fd, uid).on(TtyItem::Owner as u32)?;
            }
        }
        ChildTty::CallerTerminal { fd } => {
            // A new group, or the one asked for, which becomes the foreground group as a
            // shell's pipeline does.
            let (item, pgid) = if join > 0 {
                (TtyItem::ProcessGroup, join)
            } else {
                (TtyItem::Setpgid, 0)
            };
            // SAFETY: setpgid and getpid take plain integers.
            unsafe { sys!(libc::SYS_setpgid, 0, pgid) }.on(item as u32)?;
            let pgid = match pgid {
                0 => unsafe { sys!(libc::SYS_getpid) }.on(TtyItem::Setpgid as u32)? as libc::pid_t,
                pgid => pgid,
            };
            // The raw ioctl behind tcsetpgrp. Every signal is still blocked, and for a group
            // that blocks SIGTTOU the kernel allows the change from the background instead
            // of stopping the group.
            // SAFETY: TIOCSPGRP reads one pid_t from this stack.
            unsafe { sys!(libc::SYS_ioctl, fd, libc::TIOCSPGRP, &raw const pgid) }
                .on(TtyItem::Foreground as u32)?;
        }
    }
    Ok(())
}

/// fchown of the terminal to `uid`, as login and runc do, so that the process can still
/// reopen it (/proc/self/fd/N) once its credentials change. The group stays (usually `tty`),
/// and a terminal that is already `uid`'s is left alone.
fn hand_over_terminal(fd: RawFd, uid: u32) -> Result<(), i32> {
    // Uninitialised, not zeroed: zeroing compiles to a call of the C library's memset.
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat fills the whole stat on this stack, or fails and is not read.
    unsafe { sys!(libc::SYS_fstat, fd, stat.as_mut_ptr()) }?;
    // SAFETY: the successful fstat initialised it.
    let owner = unsafe { stat.assume_init_ref() }.st_uid;
    if owner != uid {
        // SAFETY: fchown with integers; a group of -1 leaves the group unchanged.
        unsafe { sys!(libc::SYS_fchown, fd, uid, u32::MAX) }?;
    }
    Ok(())
}

/// Moves into the cgroup and creates the namespaces that clone3 would have (see
/// `clone::legacy_leftover`), in that order, so that a new cgroup namespace is rooted at the
/// cgroup.
fn make_up_for_legacy_clone(ctx: &Context) -> Step {
    let plan = ctx.plan;
    if let Some(cgroup) = plan.spec.cgroup {
        ctx.report.enter(Stage::Cgroup);
        move_into_cgroup(cgroup, c"cgroup.procs").on(0)?;
    }
    let leftover = legacy_leftover(plan.namespaces.clone_flags, plan.spec.cgroup.is_some());
    if leftover != 0 {
        ctx.report.enter(Stage::Namespaces);
        // SAFETY: unshare takes flags only.
        unsafe { sys!(libc::SYS_unshare, leftover) }.on(ITEM_LEGACY_UNSHARE)?;
    }
    Ok(())
}

/// Moves into each of `extra_cgroups` (a container's cgroup v1 hierarchies), right after the
/// cgroup2 move and with the same credentials, so that the process never runs the program, nor
/// any step of its own that the cgroups limit, outside them. The report's item is the index
/// plus one (0 is `cgroup_fd`).
fn join_extra_cgroups(ctx: &Context) -> Step {
    let cgroups = &ctx.plan.spec.extra_cgroups;
    if cgroups.is_empty() {
        return Ok(());
    }
    ctx.report.enter(Stage::Cgroup);
    let files = &ctx.plan.extra_cgroup_files;
    // Indexing rather than zip: the zipped iterator is a struct that debug builds copy with
    // memcpy (tests/child_code.rs).
    for (index, &dir) in cgroups.iter().enumerate() {
        let file = match files.get(index) {
            Some(file) => *file,
            None => c"cgroup.procs",
        };
        move_into_cgroup(dir, file).on(index as u32 + 1)?;
    }
    Ok(())
}

/// KEYCTL_JOIN_SESSION_KEYRING: the keyring of that name the process may search, else a new
/// one of that name (NULL: a new anonymous one). After the namespaces, so that a name is
/// found among the keyrings of the user namespace the process ends up in, and before the
/// credentials change, as runc does: the keyring belongs to the caller's ids, and the process
/// possesses it as its session keyring whatever its ids become. Only this process's
/// credentials change (a CLONE_VM child has its own), and no id or capability does, so the
/// shared memory's dumpable flag stays.
fn join_session_keyring(ctx: &Context) -> Step {
    let Some(name) = &ctx.plan.spec.session_keyring else {
        return Ok(());
    };
    ctx.report.enter(Stage::Credentials);
    let name = if name.is_empty() {
        std::ptr::null()
    } else {
        name.as_ptr()
    };
    const KEYCTL_JOIN_SESSION_KEYRING: usize = 1;
    // SAFETY: keyctl reads a NUL-terminated name the plan keeps alive, or takes NULL.
    unsafe { sys!(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name) }
        .map(|_| ())
        .on(ITEM_SESSION_KEYRING)
}

/// Writes "0" (this process) to `file` of the cgroup directory: `cgroup.procs`, or a v1
/// hierarchy's `tasks` (see `plan::cgroup_file`).
fn move_into_cgroup(dir: RawFd, file: &CStr) -> Result<(), i32> {
    // SAFETY: a NUL-terminated name (a literal) relative to the caller's cgroup directory fd.
    let procs = unsafe {
        sys!(
            libc::SYS_openat,
            dir,
            file.as_ptr(),
            libc::O_WRONLY | libc::O_CLOEXEC
        )
    }? as c_int;
    // SAFETY: one byte of a static string; then our own fd is closed.
    let written = unsafe { sys!(libc::SYS_write, procs, b"0".as_ptr(), 1) };
    let _ = unsafe { sys!(libc::SYS_close, procs) };
    written.map(|_| ())
}

/// Joins namespaces (a joined user namespace first: it gives the privilege over the ones it
/// owns), creates the ones left to unshare, and waits for the id maps of a new user namespace.
/// See `namespaces::NamespacePlan` for what goes where.
fn enter_namespaces(ctx: &Context) -> Step {
    let namespaces = &ctx.plan.namespaces;
    let steps = &ctx.plan.parent_steps;
    if namespaces.joins.is_empty() && namespaces.unshare_flags == 0 && steps.is_none() {
        return Ok(());
    }
    ctx.report.enter(Stage::Namespaces);
    for join in &namespaces.joins {
        // SAFETY: setns on an fd the parent checked is a namespace of this kind.
        unsafe { sys!(libc::SYS_setns, join.fd, join.kind) }.on(join.index)?;
    }
    if namespaces.unshare_flags != 0 {
        // SAFETY: unshare takes flags only.
        unsafe { sys!(libc::SYS_unshare, namespaces.unshare_flags) }.on(ITEM_UNSHARE)?;
    }
    if let Some(steps) = steps {
        wait_for_parent(ctx, steps.after_ready)?;
    }
    Ok(())
}

/// Waits until the parent has done its steps on this process (the id maps of its new user
/// namespace, ...: see `namespaces::ParentSteps`) and says GO, first saying READY when the
/// parent waits for that; exits if the parent says ABORT.
fn wait_for_parent(ctx: &Context, say_ready: bool) -> Step {
    let sync = &ctx.report.sync;
    // Were the caller to die now, nobody would release this child: the parent-death signal
    // ends it instead. The credentials do not change while it is set, so it stays set.
    // SAFETY: prctl with integer arguments.
    unsafe { sys!(libc::SYS_prctl, libc::PR_SET_PDEATHSIG, libc::SIGKILL) }.on(ITEM_WAIT)?;
    if let Some(parent) = ctx.plan.parent_pid {
        // SAFETY: getppid takes no arguments.
        if unsafe { sys!(libc::SYS_getppid) } != Ok(parent as usize) {
            exit();
        }
    }
    // SAFETY (every futex call): on a word of the shared report page, which the parent keeps
    // mapped until this child has exec'd or exited; shared (not private) futexes, as the
    // parent's.
    if say_ready {
        // Fails only if the parent has given its verdict (ABORT) already.
        let _ = sync.compare_exchange(
            SYNC_STARTED,
            SYNC_READY,
            Ordering::Release,
            Ordering::Relaxed,
        );
        let _ = unsafe { sys!(libc::SYS_futex, sync.as_ptr(), libc::FUTEX_WAKE, 1) };
    }
    loop {
        match sync.load(Ordering::Acquire) {
            SYNC_GO => break,
            waiting @ (SYNC_STARTED | SYNC_READY) => {
                let _ =
                    unsafe { sys!(libc::SYS_futex, sync.as_ptr(), libc::FUTEX_WAIT, waiting, 0) };
            }
            _ => exit(),
        }
    }
    // SAFETY: prctl with integer arguments.
    unsafe { sys!(libc::SYS_prctl, libc::PR_SET_PDEATHSIG, 0) }.on(ITEM_WAIT)?;
    Ok(())
}

/// The kernel's `struct sigaction` (x86_64 and aarch64 share this layout).
#[repr(C)]
pub(super) struct KernelSigaction {
    handler: usize,
    flags: u64,
    restorer: usize,
    mask: u64,
}

/// Every signal to SIG_DFL, handled and ignored ones alike: a handler of the caller must never
/// run here, and an ignored signal would stay ignored across execve. CLONE_CLEAR_SIGHAND,
/// where clone3 has it, already reset the handlers in the kernel, but not the ignored
/// signals, and no system call tells which those are: reading SigIgn from /proc costs as much
/// as these sixty-two calls in a new process, and asking each signal's action first and
/// setting only the ignored ones measured no faster (see BENCHMARKS.md, issue 15).
fn reset_signal_handlers() -> Step {
    let default = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    for signal in 1..=64 {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        // SAFETY: a valid kernel sigaction on this stack, no old action wanted, the kernel's
        // sigset size. This process has its own copy of the handler table (no CLONE_SIGHAND),
        // so the caller's handlers are untouched.
        unsafe { sys!(libc::SYS_rt_sigaction, signal, &raw const default, 0, 8) }
            .on(ITEM_SIGNAL_ACTION | signal as u32)?;
    }
    Ok(())
}

/// Puts `plan.fds.sources[i]` at fd `i` and closes everything else (see `FdLayout`).
fn lay_out_fds(ctx: &Context) -> Step {
    let layout = &ctx.plan.fds;
    let count = layout.sources.len();
    // SAFETY: the parent made `fd_scratch` a copy of `sources` of the same length, used by
    // nothing else until this child has exec'd or exited.
    let sources = unsafe { std::slice::from_raw_parts_mut(ctx.fd_scratch, count) };
    let keep_cloexec_from = count - layout.cloexec_tail;

    for slot in 0..count {
        if FdLayout::must_park(sources, slot) {
            if let Some(source) = sources.get_mut(slot) {
                // SAFETY: fcntl on plain integers: a close-on-exec copy of our own fd at the
                // lowest free fd from `count` up (see `FdLayout`).
                let parked =
                    unsafe { sys!(libc::SYS_fcntl, *source, libc::F_DUPFD_CLOEXEC, count) }
                        .on(ITEM_PARK | slot as u32)?;
                *source = parked as RawFd;
            }
        }
    }
    for (slot, &source) in sources.iter().enumerate() {
        let fd = slot as c_int;
        let cloexec = slot >= keep_cloexec_from;
        // SAFETY (all three): system calls on plain integers, on this process's own fd table.
        let result = if source < 0 {
            unsafe { sys!(libc::SYS_close, fd) }
                .or_else(|e| if e == libc::EBADF { Ok(0) } else { Err(e) })
        } else if source == fd {
            let flags = if cloexec { libc::FD_CLOEXEC } else { 0 };
            unsafe { sys!(libc::SYS_fcntl, fd, libc::F_SETFD, flags) }
        } else {
            let flags = if cloexec { libc::O_CLOEXEC } else { 0 };
            unsafe { sys!(libc::SYS_dup3, source, fd, flags) }
        };
        result.on(slot as u32)?;
    }
    close_fds::close_from(count as u32, ctx)
}

/// PR_SET_PDEATHSIG, then a check that the parent is still the caller: had it died before
/// the prctl, the signal would never come.
fn set_parent_death_signal(plan: &Plan) -> Step {
    let signal = plan.spec.parent_death_signal;
    if signal == 0 {
        return Ok(());
    }
    // SAFETY: prctl with integer arguments.
    unsafe { sys!(libc::SYS_prctl, libc::PR_SET_PDEATHSIG, signal) }
        .on(ITEM_PARENT_DEATH_SIGNAL)?;
    if let Some(parent) = plan.parent_pid {
        // SAFETY: getppid and getpid take no arguments; kill on our own pid. A getppid that
        // fails (a seccomp filter installed before the credentials may refuse it) tells
        // nothing about the parent.
        unsafe {
            if matches!(sys!(libc::SYS_getppid), Ok(ppid) if ppid != parent as usize) {
                let me = sys!(libc::SYS_getpid).unwrap_or(0);
                let _ = sys!(libc::SYS_kill, me, signal);
            }
        }
    }
    Ok(())
}

/// Whether a PATH candidate failing with `errno` means "not here": the search tries the next
/// directory, as execvpe does. Any other errno but EACCES ends the search on that candidate.
#[inline(always)]
pub(crate) fn search_goes_on(errno: i32) -> bool {
    matches!(
        errno,
        libc::ENOENT | libc::ENOTDIR | libc::ESTALE | libc::ENODEV | libc::ETIMEDOUT
    )
}

/// execve with execvpe's rules, or execveat on the exec fd. Returns only on failure.
fn exec(plan: &Plan) -> Step {
    let argv = plan.argv.as_ptr();
    let envp = plan.envp.as_ptr();
    match &plan.exec {
        Exec::Fd(fd) => {
            // SAFETY: NUL-terminated arrays of NUL-terminated strings, alive in the plan.
            let result = unsafe {
                sys!(
                    libc::SYS_execveat,
                    *fd,
                    c"".as_ptr(),
                    argv,
                    envp,
                    libc::AT_EMPTY_PATH
                )
            };
            result.map(|_| ()).on(0)
        }
        Exec::Paths(candidates) => {
            let mut denied = None;
            let mut last = Failure {
                errno: libc::ENOENT,
                item: 0,
            };
            for (item, path) in candidates.iter().enumerate() {
                // SAFETY: as above, and `path` is NUL-terminated.
                let errno = match unsafe { sys!(libc::SYS_execve, path.as_ptr(), argv, envp) } {
                    Ok(_) => return Ok(()),
                    Err(errno) => errno,
                };
                let item = item as u32;
                match errno {
                    errno if search_goes_on(errno) => last = Failure { errno, item },
                    // Remembered: reported if nothing later can be run.
                    libc::EACCES => {
                        if denied.is_none() {
                            denied = Some(Failure { errno, item })
                        }
                    }
                    _ => return Err(Failure { errno, item }),
                }
            }
            Err(denied.unwrap_or(last))
        }
    }
}

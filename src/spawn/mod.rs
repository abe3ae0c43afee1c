//! The spawn engine, parent side: prepare the plan, block signals, clone, read the child's
//! report, and either register the new process or reap it and say what failed.

mod attributes;
mod child;
mod clone;
pub(crate) mod dumpable;
mod exec_marker;
mod listener;
mod namespaces;
mod paused;
mod plan;
mod report;
mod seccomp_action;
mod subject;
pub(crate) mod sys;

use std::ffi::c_void;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};

use crate::error::{Error, Result, Stage};
use crate::pidfd::{self, Block};
use crate::spec::Spec;
use crate::tty::{Prepared, Tty};
use child::{Context, child_main};
use clone::{CloneRequest, SpawnArea, clone_child};
use namespaces::{Handshake, ParentFailure, PidNsSwitch};
use plan::Plan;
use report::{Outcome, Report};
use subject::{clone_error, exec_subject, killed_by, subject};
use sys::sys;

pub(crate) use child::TtyItem;
pub(crate) use paused::Paused;
pub(crate) use plan::ChildTty;
pub use plan::DEFAULT_PATH;

/// A process that has exec'd (or paused before it), not yet registered anywhere.
pub struct Spawned {
    pub pid: i32,
    pub pidfd: OwnedFd,
    /// The terminal the process got, if any.
    pub tty: Option<Tty>,
    /// A paused process's hold on what it reads until it is started (see `paused`).
    pub paused: Option<Paused>,
    /// The seccomp listener the child handed over (`SECCOMP_FILTER_FLAG_NEW_LISTENER`).
    pub listener: Option<OwnedFd>,
}

/// Set once a child found close_range missing, so later children go straight to the
/// /proc/self/fd fallback.
static CLOSE_RANGE_MISSING: AtomicBool = AtomicBool::new(false);

/// Starts the process `spec` describes and returns once it has exec'd (or, paused, once it
/// holds before execve); nothing waits for it.
pub fn spawn(spec: &Spec) -> Result<Spawned> {
    spec.validate()?;
    let terminal = Prepared::for_spec(spec)?;
    if spec.paused {
        return paused::spawn(spec, terminal);
    }
    let handover = has_listener(spec).then(handover_socket).transpose()?;
    let plan = Plan::new(
        spec,
        terminal.child,
        handover.as_ref().map(|(_, theirs)| theirs.as_raw_fd()),
    );
    check_plan(&plan)?;
    let area = take_area(&plan)?;
    let mut fd_scratch = plan.fds.sources.clone();
    let context = context(&plan, &area, &mut fd_scratch);
    let result = launch(&context, &area, &terminal);
    area.put_back();
    let mut spawned = result?;
    if let Some((ours, _)) = &handover {
        spawned.listener = Some(listener::receive(ours).inspect_err(|_| {
            abort(&spawned.pidfd, spawned.pid);
        })?);
    }
    spawned.tty = terminal.into_handle(spawned.pid);
    Ok(spawned)
}

/// Whether the spawn's filter comes with a listener for the caller.
fn has_listener(spec: &Spec) -> bool {
    spec.seccomp_flags & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER != 0
}

/// The socket pair of a spawn whose child hands something over (a seccomp listener) or
/// waits for a verdict (a paused start): our end, and the child's, which becomes a slot of
/// its fd layout (see `plan::TailSlots`).
fn handover_socket() -> Result<(OwnedFd, OwnedFd)> {
    socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|errno| Error::new(Stage::Spawn, errno, "the handover socket (socketpair)"))
}

/// What `Spec::validate` cannot refuse alone: combinations the plan reveals.
fn check_plan(plan: &Plan) -> Result<()> {
    attributes::check(plan)?;
    listener::check_filter(plan)?;
    if plan.namespaces.own_mm && plan.child_waits() {
        // Only the terminal's handover and a paused start can get here (id maps with a joined
        // time namespace are refused earlier): a child that waits needs to share the memory.
        return Err(Error::args(
            Errno::EINVAL,
            if plan.spec.paused {
                "a paused start (SPROUT_EXEC2_PAUSED) while joining a time namespace is not \
                 supported"
            } else {
                "handing the terminal to credentials.uid in a joined user namespace while \
                 joining a time namespace is not supported"
            },
        ));
    }
    Ok(())
}

/// What the child gets: its plan, the area's report (reset), and a scratch copy of the fd
/// sources it may rewrite.
fn context<'a>(
    plan: &'a Plan<'a>,
    area: &'a SpawnArea,
    fd_scratch: &'a mut [RawFd],
) -> Context<'a> {
    let report = area.report();
    report.reset();
    Context {
        plan,
        report,
        fd_scratch: fd_scratch.as_mut_ptr(),
        close_range_missing: CLOSE_RANGE_MISSING.load(Ordering::Relaxed),
    }
}

fn take_area(plan: &Plan) -> Result<SpawnArea> {
    SpawnArea::take(plan.namespaces.own_mm)
        .map_err(|errno| Error::new(Stage::Spawn, errno, "child stack"))
}

/// Starts the child `context` describes on `area` and returns once it has exec'd, or paused
/// before execve, with the outcome of every step the child took.
fn launch(context: &Context, area: &SpawnArea, terminal: &Prepared) -> Result<Spawned> {
    let plan = context.plan;
    let report = context.report;
    let namespaces = &plan.namespaces;
    let mut flags = namespaces.clone_flags | (libc::CLONE_VM | libc::CLONE_VFORK) as u64;
    if plan.child_waits() {
        // The parent works on the child while it waits, or returns while it is paused (see
        // Handshake).
        flags &= !(libc::CLONE_VFORK as u64);
    }
    if namespaces.own_mm {
        flags &= !(libc::CLONE_VM as u64);
    }
    let request = CloneRequest {
        flags,
        cgroup: plan.spec.cgroup,
        child_tid: plan
            .child_waits()
            .then(|| NonNull::from(&report.sync).cast()),
    };

    // Dropped last, once the child has exec'd, paused or died.
    let _dumpable = may_change_dumpable(plan).then(dumpable::Kept::enter);
    // Blocked until the child has exec'd, handshake included: a handler of the caller that ran
    // on this thread meanwhile could leave (longjmp) while the child still uses the plan and
    // the area.
    let blocked = SignalsBlocked::new()
        .map_err(|errno| Error::new(Stage::Spawn, errno, "blocking signals around clone"))?;
    let cloned = clone_and_release(area, terminal, &request, context);
    let cloned = match (cloned, blocked.restore()) {
        (cloned, Ok(())) => cloned?,
        // The caller's thread would go on with every signal blocked: that must not pass in
        // silence, and a call that fails leaves no process behind.
        (cloned, Err(errno)) => {
            let earlier = match cloned {
                Ok(cloned) => {
                    abort(&cloned.pidfd, cloned.pid);
                    String::new()
                }
                Err(error) => format!(" (after: {error})"),
            };
            return Err(Error::new(
                Stage::Spawn,
                errno,
                format!("restoring the calling thread's signal mask after clone{earlier}"),
            ));
        }
    };

    if report.close_range_missing.load(Ordering::Relaxed) != 0 {
        CLOSE_RANGE_MISSING.store(true, Ordering::Relaxed);
    }
    conclude(
        plan,
        report,
        cloned.pid,
        &cloned.pidfd,
        Some(terminal),
        || terminal.undo(cloned.pid),
    )?;
    Ok(Spawned {
        pid: cloned.pid,
        pidfd: cloned.pidfd,
        tty: None,
        paused: None,
        listener: None,
    })
}

/// What the child's report says, once it has exec'd, paused or died: Ok for a child that runs
/// its program or holds before execve; otherwise the child is reaped (`undo` first gives back
/// what it took) and the error says what failed. `terminal` names the terminal in the
/// subject of a failed TTY step.
fn conclude(
    plan: &Plan,
    report: &Report,
    pid: i32,
    pidfd: &OwnedFd,
    terminal: Option<&Prepared>,
    undo: impl Fn(),
) -> Result<()> {
    let failure = match report.outcome() {
        Outcome::Paused => return Ok(()),
        // Only a filter of the plan's that may kill execve (see exec_marker).
        Outcome::Exec if plan.checks_exec() && exec_marker::died_before_the_program(pid) => {
            let status = reap(pidfd);
            Error::new(
                Stage::Exec,
                Errno::EINTR,
                format!(
                    "{}: the child was {} in execve, before the program ran (wait status \
                     {status:#x})",
                    exec_subject(plan),
                    killed_by(status)
                ),
            )
        }
        Outcome::Exec => return Ok(()),
        Outcome::Failed { stage, errno, item } => {
            reap(pidfd);
            describe(plan, terminal, stage, Errno::from_raw(errno), item)
        }
        Outcome::Died { stage } => {
            let status = reap(pidfd);
            Error::new(
                stage,
                Errno::EINTR,
                format!("the child died before exec (wait status {status:#x})"),
            )
        }
    };
    undo();
    Err(failure)
}

/// The error of a step that failed at `stage` on `item`, in the child or the parent.
fn describe(
    plan: &Plan,
    terminal: Option<&Prepared>,
    stage: Stage,
    errno: Errno,
    item: u32,
) -> Error {
    let subject = match (attributes::subject(plan, stage, errno, item), terminal) {
        (Some(subject), _) => subject,
        (None, Some(terminal)) if stage == Stage::Tty => terminal.subject(item, errno as i32),
        (None, _) => subject(plan, stage, errno as i32, item),
    };
    Error::new(stage, errno, subject)
}

/// Starts the child with every signal blocked and, when the parent has steps to take on the
/// waiting child (id maps, terminal handover, rlimit raises), takes them; returns once the
/// child has exec'd or died.
fn clone_and_release(
    area: &SpawnArea,
    terminal: &Prepared,
    request: &CloneRequest,
    context: &Context,
) -> Result<clone::Cloned> {
    let plan = context.plan;
    let namespaces = &plan.namespaces;
    let pid_switch = match &namespaces.pid_join {
        Some(join) => Some(PidNsSwitch::enter(join)?),
        None => None,
    };
    // SAFETY: `child_main` follows the rules of a CLONE_VM child (see child.rs). The
    // context, the plan, the scratch array and the area outlive its use of them: with
    // CLONE_VFORK this call returns only once the child has exec'd or exited, and without
    // it (parent steps, a paused start) the Handshake made right after does not end, even
    // when unwinding, before the child has, or has paused; a paused child's caller keeps
    // them until it has exec'd or died (see `paused`).
    let cloned = unsafe {
        clone_child(
            request,
            area,
            child_main,
            (&raw const *context).cast_mut().cast::<c_void>(),
        )
    };
    let handshake = match &cloned {
        Ok(_) if plan.child_waits() => Some(Handshake::new(context.report, plan.spec.paused)),
        _ => None,
    };
    if let Some(pid_switch) = pid_switch {
        pid_switch.leave();
    }
    let cloned = cloned.map_err(|errno| clone_error(plan, errno))?;
    let released = match (handshake, &plan.parent_steps) {
        (Some(handshake), Some(steps)) => handshake.run(cloned.pid, plan.spec, steps),
        (Some(handshake), None) => {
            handshake.wait();
            Ok(())
        }
        _ => Ok(()),
    };
    if let Err(failure) = released {
        let error = match failure {
            ParentFailure::Maps(error) => error,
            ParentFailure::Step(step) => {
                describe(plan, Some(terminal), step.stage, step.errno, step.item)
            }
        };
        abort(&cloned.pidfd, cloned.pid);
        return Err(error);
    }
    Ok(cloned)
}

/// Ends a started child the spawn gives up on, and reaps it: SIGKILL, which also ends one
/// that holds paused (it waits on its socket, not on the sync word). Once reaped, it no longer
/// runs on the area and the plan.
fn abort(pidfd: &OwnedFd, pid: i32) {
    let _ = pidfd::send_signal(pidfd, pid, libc::SIGKILL);
    reap(pidfd);
}

/// Whether the child may change the dumpable flag of the memory it shares with the caller
/// (see dumpable.rs): it changes its ids or joins a user namespace. A child with memory of its
/// own changes only its own.
fn may_change_dumpable(plan: &Plan) -> bool {
    let namespaces = &plan.namespaces;
    !namespaces.own_mm && (plan.spec.credentials.is_some() || namespaces.joins_user_namespace())
}

/// Waits for a child that failed before exec and returns its raw wait status.
fn reap(pidfd: &OwnedFd) -> i32 {
    pidfd::reap(pidfd, Block::Yes).ok().flatten().unwrap_or(0)
}

/// Every signal blocked on this thread, the C library's internal ones included, for as long
/// as it lives: the child starts with this mask, so no handler can run in it before it has
/// reset them all. `restore` puts the previous mask back; dropping it unrestored (unwinding)
/// tries as well.
struct SignalsBlocked {
    previous: u64,
    restored: bool,
}

/// Attempts at restoring the mask before giving up: rt_sigprocmask with valid arguments fails
/// only when something (a seccomp profile, an injected fault) refuses it.
const RESTORE_ATTEMPTS: usize = 3;

impl SignalsBlocked {
    fn new() -> std::result::Result<SignalsBlocked, Errno> {
        let all: u64 = !0;
        let mut previous: u64 = 0;
        // SAFETY: rt_sigprocmask with two sigsets of the kernel's size on this stack. The raw
        // call is used because the C library's wrapper refuses to block its own signals.
        unsafe {
            sys!(
                libc::SYS_rt_sigprocmask,
                libc::SIG_SETMASK,
                &raw const all,
                &raw mut previous,
                8
            )
        }
        .map_err(Errno::from_raw)?;
        Ok(SignalsBlocked {
            previous,
            restored: false,
        })
    }

    /// Puts the previous mask back; the errno of the last attempt if none worked.
    fn restore(mut self) -> std::result::Result<(), Errno> {
        self.restored = true;
        self.set_previous()
    }

    fn set_previous(&self) -> std::result::Result<(), Errno> {
        let mut outcome = Ok(());
        for _ in 0..RESTORE_ATTEMPTS {
            // SAFETY: as in `new`.
            outcome = unsafe {
                sys!(
                    libc::SYS_rt_sigprocmask,
                    libc::SIG_SETMASK,
                    &raw const self.previous,
                    0,
                    8
                )
            }
            .map(drop)
            .map_err(Errno::from_raw);
            if outcome.is_ok() {
                break;
            }
        }
        outcome
    }
}

impl Drop for SignalsBlocked {
    fn drop(&mut self) {
        if !self.restored {
            let _ = self.set_previous();
        }
    }
}

//! A paused start (`SPROUT_EXEC2_PAUSED`): the child does every step but execve, says so, and
//! holds until the caller starts it, while the caller runs on.
//!
//! The child shares the caller's memory, and until it has exec'd or died it reads its plan (and
//! the spec the plan points into), its context, the scratch copy of its fd sources, and its
//! spawn area (the stack it runs on and the report). A plain spawn keeps them on the calling
//! thread (its stack, its cached area), which the call does not leave before the child has
//! exec'd. A paused child outlives the call, and the caller may spawn again from the same
//! thread, or release the process from another: so `Paused` owns a copy of the spec, the plan,
//! the context and the scratch array on the heap, at addresses that never change, and the area
//! the child runs on (the calling thread's next spawn maps another). It frees them only once
//! the kernel has cleared the report's sync word (CLONE_CHILD_CLEARTID: the child has exec'd or
//! exited), after ending the child with SIGKILL if it still holds. Holding its own copy of the
//! few values it needs for execve instead would not spare the area, whose stack the child is
//! running on; the copy of the spec costs one allocation per string of the caller's request.
//!
//! The verdict comes through a socket (`plan::TailSlots::handover`), not the futex word: the
//! child blocks in read() on its end, so that the caller's death, which closes the caller's
//! end, ends the child as well (EOF). A futex would leave it waiting for ever, and the
//! parent-death signal follows the thread that spawned, which may end while the process
//! is rightly paused (another thread starts it).

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::Ordering;

use nix::errno::Errno;
use nix::sys::socket::{MsgFlags, send};

use super::child::Context;
use super::child::handover::VERDICT_START;
use super::clone::SpawnArea;
use super::namespaces::wait_while;
use super::plan::Plan;
use super::{
    Spawned, check_plan, conclude, context, handover_socket, has_listener, launch, listener,
    take_area,
};
use crate::error::{Error, Result, Stage};
use crate::pidfd;
use crate::spec::Spec;
use crate::tty::{ForegroundUndo, Prepared};

/// A paused process's hold on what it reads until it is started: see the module comment.
pub struct Paused {
    pid: i32,
    /// Our own duplicate of the process's pidfd, to end it before its memory is freed.
    pidfd: OwnedFd,
    /// Our end of the socket the child waits on.
    socket: OwnedFd,
    held: Held,
    area: Option<SpawnArea>,
    /// Gives the caller's terminal back if the program then fails to run (terminal case 2).
    undo: Option<ForegroundUndo>,
}

// SAFETY: a `Paused` is the owner of heap memory, a mapping and fds; the child that reads the
// memory does so whichever thread owns the `Paused`, and nothing in it is tied to a thread (the
// area is cached by the thread that frees it, as any area may be).
unsafe impl Send for Paused {}

/// Starts the paused process `spec` describes (`spec.paused`), and returns once it holds
/// before execve (or has failed, with the error of the step).
pub fn spawn(spec: &Spec, terminal: Prepared) -> Result<Spawned> {
    let (socket, theirs) = handover_socket()?;
    let mut held = Held::new(spec, &terminal, theirs.as_raw_fd());
    check_plan(held.plan())?;
    let area = take_area(held.plan())?;
    let launched = launch(held.attach(&area), &area, &terminal);
    // The child has its own copy (a slot of its layout): ours would keep its end open.
    drop(theirs);
    let spawned = match launched {
        Ok(spawned) => spawned,
        Err(error) => {
            // The child has been reaped: nothing reads the memory any more.
            area.put_back();
            return Err(error);
        }
    };
    let pid = spawned.pid;
    let kept = spawned
        .pidfd
        .try_clone()
        .map_err(|error| {
            Error::new(
                Stage::Spawn,
                Errno::from_raw(error.raw_os_error().unwrap_or(libc::EMFILE)),
                "a duplicate of the paused process's pidfd",
            )
        })
        .and_then(|pidfd| {
            let listener = match has_listener(spec) {
                true => Some(listener::receive(&socket)?),
                false => None,
            };
            Ok((pidfd, listener))
        });
    let (pidfd, listener) = match kept {
        Ok(kept) => kept,
        Err(error) => {
            super::abort(&spawned.pidfd, pid);
            area.put_back();
            return Err(error);
        }
    };
    let paused = Paused {
        pid,
        pidfd,
        socket,
        held,
        area: Some(area),
        undo: terminal.undo_later(),
    };
    Ok(Spawned {
        tty: terminal.into_handle(pid),
        paused: Some(paused),
        listener,
        ..spawned
    })
}

impl Paused {
    /// Lets the child run its program, and returns once it does (the point of no return of
    /// execve), or the error of its exec, the process then reaped (`pidfd` is the table's).
    pub fn start(self, pidfd: &OwnedFd) -> Result<()> {
        // MSG_NOSIGNAL: a child gone already (killed) makes this EPIPE, not SIGPIPE in the
        // caller; its wait status then tells the rest.
        let sent = loop {
            match send(
                self.socket.as_raw_fd(),
                &[VERDICT_START],
                MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT,
            ) {
                Err(Errno::EINTR) => continue,
                other => break other,
            }
        };
        // The child's end closes only as it exits, after the kernel has cleared the sync
        // word (exit_mm comes before exit_files): a refusal while the word is still set is
        // not that, and would leave the child waiting for ever.
        let gone = || self.report().sync.load(Ordering::Acquire) == 0;
        match sent {
            Ok(_) => {}
            Err(Errno::EPIPE | Errno::ECONNRESET) if gone() => {}
            Err(errno) => {
                // The child cannot be told: it is ended (dropping `self`) and reaped.
                drop(self);
                let _ = pidfd::reap(pidfd, pidfd::Block::Yes);
                return Err(Error::new(
                    Stage::Spawn,
                    errno,
                    "starting the paused process (sending its verdict)",
                ));
            }
        }
        let report = self.report();
        let mut state = report.sync.load(Ordering::Acquire);
        while state != 0 {
            state = wait_while(&report.sync, state);
        }
        let undo = || {
            if let Some(undo) = &self.undo {
                undo.run(self.pid);
            }
        };
        conclude(self.held.plan(), report, self.pid, pidfd, None, undo)
    }

    /// In a copy of the caller made by fork: the child is not the copy's, its area is not
    /// mapped there (MADV_DONTFORK) and the memory it reads is the parent's. Only the copy's
    /// duplicates of the fds are closed: the copy's end of the socket would otherwise keep the
    /// child waiting after the parent's death.
    pub fn abandon(self) {
        let mut this = std::mem::ManuallyDrop::new(self);
        if let Some(area) = this.area.take() {
            std::mem::forget(area);
        }
        std::mem::forget(std::mem::replace(&mut this.held, Held::empty()));
        // SAFETY: each field is read once and `this` is never dropped: the fds are closed here,
        // the memory (the parent's, in this copy) is left as it is.
        unsafe {
            drop(std::ptr::read(&this.socket));
            drop(std::ptr::read(&this.pidfd));
            drop(std::ptr::read(&this.undo));
        }
    }

    fn report(&self) -> &super::report::Report {
        self.area
            .as_ref()
            .expect("the area is taken only when dropped or abandoned")
            .report()
    }
}

impl Drop for Paused {
    /// Frees what the child reads only once it no longer runs: a child that still holds (or
    /// runs on, after a start that did not wait) is ended with SIGKILL first, and waited for
    /// until the kernel clears the sync word as it exits. Should even SIGKILL be refused (a
    /// seccomp profile of the caller's refusing both pidfd_send_signal and kill), the memory
    /// is left allocated rather than pulled from under a running child.
    fn drop(&mut self) {
        let Some(area) = self.area.take() else {
            return;
        };
        let held = std::mem::replace(&mut self.held, Held::empty());
        let sync = &area.report().sync;
        let mut state = sync.load(Ordering::Acquire);
        if state != 0 {
            if pidfd::send_signal(&self.pidfd, self.pid, libc::SIGKILL).is_err() {
                std::mem::forget(held);
                std::mem::forget(area);
                return;
            }
            while state != 0 {
                state = wait_while(sync, state);
            }
        }
        drop(held);
        area.put_back();
    }
}

/// What the paused child reads on the heap, each part boxed once and never moved: the spec (a
/// copy of the caller's), the plan pointing into it, the scratch copy of the fd sources, and
/// the context pointing to the plan, the scratch array and the area's report. References
/// handed out are `'static` only in name: they live as long as this, which is freed last.
struct Held {
    spec: Option<NonNull<Spec>>,
    plan: Option<NonNull<Plan<'static>>>,
    scratch: Option<NonNull<[RawFd]>>,
    context: Option<NonNull<Context<'static>>>,
}

impl Held {
    fn new(spec: &Spec, terminal: &Prepared, handover: RawFd) -> Held {
        let spec = NonNull::from(Box::leak(Box::new(spec.clone())));
        // SAFETY: the spec is freed only by `free`, after the plan.
        let spec_ref: &'static Spec = unsafe { spec.as_ref() };
        let plan = Plan::new(spec_ref, terminal.child, Some(handover));
        let scratch = NonNull::from(Box::leak(plan.fds.sources.clone().into_boxed_slice()));
        Held {
            spec: Some(spec),
            plan: Some(NonNull::from(Box::leak(Box::new(plan)))),
            scratch: Some(scratch),
            context: None,
        }
    }

    fn empty() -> Held {
        Held {
            spec: None,
            plan: None,
            scratch: None,
            context: None,
        }
    }

    fn plan(&self) -> &'static Plan<'static> {
        let plan = self.plan.expect("a held plan");
        // SAFETY: the plan is freed only by `free`, which the owner calls once the child no
        // longer runs and nothing borrows it.
        unsafe { plan.as_ref() }
    }

    /// The child's context, with the report of `area`, which the owner keeps as long as this.
    fn attach(&mut self, area: &SpawnArea) -> &Context<'static> {
        let mut scratch = self.scratch.expect("a held scratch array");
        // SAFETY: the area is the owner's and outlives the context (see `Paused`); the scratch
        // array is this struct's, used by the child alone.
        let (area, scratch): (&'static SpawnArea, &'static mut [RawFd]) =
            unsafe { (&*(area as *const SpawnArea), scratch.as_mut()) };
        let context = NonNull::from(Box::leak(Box::new(context(self.plan(), area, scratch))));
        self.context = Some(context);
        // SAFETY: as for the plan.
        unsafe { context.as_ref() }
    }
}

impl Drop for Held {
    /// Frees the parts, the borrowers first. The owner drops a `Held` only once the child no
    /// longer runs (or never ran), and forgets it otherwise.
    fn drop(&mut self) {
        // SAFETY: each pointer came from `Box::leak` and is freed once (taken out here), after
        // what points into it.
        unsafe {
            if let Some(context) = self.context.take() {
                drop(Box::from_raw(context.as_ptr()));
            }
            if let Some(scratch) = self.scratch.take() {
                drop(Box::from_raw(scratch.as_ptr()));
            }
            if let Some(plan) = self.plan.take() {
                drop(Box::from_raw(plan.as_ptr()));
            }
            if let Some(spec) = self.spec.take() {
                drop(Box::from_raw(spec.as_ptr()));
            }
        }
    }
}

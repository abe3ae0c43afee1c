//! The spawn engine, parent side: prepare the plan, block signals, clone, read the child's
//! report, and either register the new process or reap it and say what failed.

mod child;
mod clone;
mod plan;
mod report;
pub(crate) mod sys;

use std::ffi::c_void;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;

use crate::error::{Error, Result, Stage};
use crate::spec::{Program, Spec};
use child::{Context, ITEM_CLOSE_REST, child_main, search_goes_on};
use clone::{CloneRequest, SpawnArea, clone_child};
use plan::{Exec, Plan};
use report::Outcome;
use sys::sys;

pub use plan::DEFAULT_PATH;

/// A process that has exec'd, not yet registered anywhere.
pub struct Spawned {
    pub pid: i32,
    pub pidfd: OwnedFd,
}

/// Set once a child found close_range missing, so later children go straight to the
/// /proc/self/fd fallback.
static CLOSE_RANGE_MISSING: AtomicBool = AtomicBool::new(false);

/// Starts the process `spec` describes and returns once it has exec'd; nothing waits for it.
pub fn spawn(spec: &Spec) -> Result<Spawned> {
    spec.validate()?;
    let plan = Plan::new(spec);
    let area = SpawnArea::take().map_err(|errno| Error::new(Stage::Spawn, errno, "child stack"))?;
    let result = spawn_on(&plan, &area);
    area.put_back();
    result
}

fn spawn_on(plan: &Plan, area: &SpawnArea) -> Result<Spawned> {
    let report = area.report();
    report.reset();
    let mut fd_scratch = plan.fds.sources.clone();
    let context = Context {
        plan,
        report,
        fd_scratch: fd_scratch.as_mut_ptr(),
        close_range_missing: CLOSE_RANGE_MISSING.load(Ordering::Relaxed),
    };
    let request = CloneRequest {
        flags: (libc::CLONE_VM | libc::CLONE_VFORK) as u64,
        cgroup: None,
        child_tid: None,
    };

    let cloned = {
        let _blocked = SignalsBlocked::new();
        // SAFETY: `child_main` follows the rules of a CLONE_VM child (see child.rs); the
        // context, the plan and the scratch array outlive it, because with CLONE_VFORK this
        // call returns only once the child has exec'd or exited.
        unsafe {
            clone_child(
                &request,
                area,
                child_main,
                (&raw const context).cast_mut().cast::<c_void>(),
            )
        }
    }
    .map_err(|errno| Error::new(Stage::Spawn, errno, "clone"))?;

    if report.close_range_missing.load(Ordering::Relaxed) != 0 {
        CLOSE_RANGE_MISSING.store(true, Ordering::Relaxed);
    }
    match report.outcome() {
        Outcome::Exec => Ok(Spawned {
            pid: cloned.pid,
            pidfd: cloned.pidfd,
        }),
        Outcome::Failed { stage, errno, item } => {
            reap(&cloned.pidfd);
            Err(Error::new(
                stage,
                Errno::from_raw(errno),
                subject(plan, stage, errno, item),
            ))
        }
        Outcome::Died { stage } => {
            let status = reap(&cloned.pidfd);
            Err(Error::new(
                stage,
                Errno::EINTR,
                format!("the child died before exec (wait status {status:#x})"),
            ))
        }
    }
}

/// What a failed stage failed on, in words.
fn subject(plan: &Plan, stage: Stage, errno: i32, item: u32) -> String {
    let spec = plan.spec;
    match stage {
        Stage::Fds if item == ITEM_CLOSE_REST => {
            format!("closing every fd from {}", plan.fds.close_from())
        }
        Stage::Fds => match spec.fds.get(item as usize) {
            Some(Some(fd)) => format!("fds[{item}] = {fd}"),
            Some(None) => format!("fds[{item}] (closing)"),
            None => match spec.program {
                Program::Fd(fd) => format!("exec_fd {fd}"),
                _ => format!("fd {item}"),
            },
        },
        Stage::Chdir => spec.working_directory.to_string_lossy().into_owned(),
        Stage::Exec => match &plan.exec {
            Exec::Fd(_) => match spec.program {
                Program::Fd(fd) => format!("exec_fd {fd}"),
                _ => String::new(),
            },
            // The search ran out: no one candidate is to blame. Otherwise (EACCES remembered,
            // or an error that ended the search, such as ENOEXEC) the candidate is named.
            Exec::Paths(candidates) if candidates.len() > 1 && search_goes_on(errno) => {
                let name = match &spec.program {
                    Program::Path(path) => path,
                    _ => &spec.argv[0],
                };
                format!("{} (searched PATH)", name.to_string_lossy())
            }
            Exec::Paths(candidates) => candidates
                .get(item as usize)
                .map(|path| path.to_string_lossy().into_owned())
                .unwrap_or_default(),
        },
        Stage::Spawn if spec.parent_death_signal != 0 => {
            format!("parent_death_signal {}", spec.parent_death_signal)
        }
        _ => String::new(),
    }
}

/// Waits for a child that failed before exec and returns its raw wait status.
fn reap(pidfd: &OwnedFd) -> i32 {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: waitid on our own pidfd with a zeroed siginfo to fill.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let ret = unsafe {
            libc::waitid(
                libc::P_PIDFD,
                pidfd.as_raw_fd() as libc::id_t,
                &mut info,
                libc::WEXITED,
            )
        };
        if ret == 0 {
            return crate::table::raw_wait_status(&info);
        }
        if Errno::last() != Errno::EINTR {
            return 0;
        }
    }
}

/// Every signal blocked on this thread, the C library's internal ones included, for as long
/// as it lives: the child starts with this mask, so no handler can run in it before it has
/// reset them all. Restores the previous mask when dropped.
struct SignalsBlocked {
    previous: u64,
}

impl SignalsBlocked {
    fn new() -> SignalsBlocked {
        let all: u64 = !0;
        let mut previous: u64 = 0;
        // SAFETY: rt_sigprocmask with two sigsets of the kernel's size on this stack. The raw
        // call is used because the C library's wrapper refuses to block its own signals.
        let _ = unsafe {
            sys!(
                libc::SYS_rt_sigprocmask,
                libc::SIG_SETMASK,
                &raw const all,
                &raw mut previous,
                8
            )
        };
        SignalsBlocked { previous }
    }
}

impl Drop for SignalsBlocked {
    fn drop(&mut self) {
        // SAFETY: as in `new`.
        let _ = unsafe {
            sys!(
                libc::SYS_rt_sigprocmask,
                libc::SIG_SETMASK,
                &raw const self.previous,
                0,
                8
            )
        };
    }
}

//! The spawn engine, parent side: prepare the plan, block signals, clone, read the child's
//! report, and either register the new process or reap it and say what failed.

mod child;
mod clone;
mod namespaces;
mod plan;
mod report;
pub(crate) mod sys;

use std::ffi::c_void;
use std::os::fd::OwnedFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;

use crate::error::{Error, Result, Stage};
use crate::names;
use crate::namespaces as kinds;
use crate::spec::{Capabilities, Namespace, Program, Spec};
use crate::table::{self, Block};
use crate::tty::{Prepared, Tty};
use child::privileges::{
    ITEM_AMBIENT, ITEM_AMBIENT_CLEAR, ITEM_BOUNDING, ITEM_CAPABILITY_BITS, ITEM_CAPSET, ITEM_GID,
    ITEM_GROUPS, ITEM_KEEPCAPS, ITEM_UID,
};
use child::{
    Context, ITEM_CLOSE_REST, ITEM_LEGACY_UNSHARE, ITEM_MAPS, ITEM_UNSHARE, child_main,
    search_goes_on,
};
use clone::{CloneRequest, SpawnArea, clone_child, legacy_leftover};
use namespaces::{MapsHandshake, PidNsSwitch};
use plan::{Exec, Plan};
use report::Outcome;
use sys::sys;

pub(crate) use child::TtyItem;
pub(crate) use plan::ChildTty;
pub use plan::DEFAULT_PATH;

/// A process that has exec'd, not yet registered anywhere.
pub struct Spawned {
    pub pid: i32,
    pub pidfd: OwnedFd,
    /// The terminal the process got, if any.
    pub tty: Option<Tty>,
}

/// Set once a child found close_range missing, so later children go straight to the
/// /proc/self/fd fallback.
static CLOSE_RANGE_MISSING: AtomicBool = AtomicBool::new(false);

/// Starts the process `spec` describes and returns once it has exec'd; nothing waits for it.
pub fn spawn(spec: &Spec) -> Result<Spawned> {
    spec.validate()?;
    let terminal = Prepared::for_spec(spec)?;
    let mut plan = Plan::new(spec);
    plan.tty = terminal.child;
    let area = SpawnArea::take().map_err(|errno| Error::new(Stage::Spawn, errno, "child stack"))?;
    let result = spawn_on(&plan, &area, &terminal);
    area.put_back();
    let mut spawned = result?;
    spawned.tty = terminal.into_handle(spawned.pid);
    Ok(spawned)
}

fn spawn_on(plan: &Plan, area: &SpawnArea, terminal: &Prepared) -> Result<Spawned> {
    let report = area.report();
    report.reset();
    let mut fd_scratch = plan.fds.sources.clone();
    let context = Context {
        plan,
        report,
        fd_scratch: fd_scratch.as_mut_ptr(),
        close_range_missing: CLOSE_RANGE_MISSING.load(Ordering::Relaxed),
    };
    let namespaces = &plan.namespaces;
    let mut flags = namespaces.clone_flags | (libc::CLONE_VM | libc::CLONE_VFORK) as u64;
    if namespaces.maps.is_some() {
        // The parent writes the maps while the child waits (see MapsHandshake).
        flags &= !(libc::CLONE_VFORK as u64);
    }
    if namespaces.own_mm {
        flags &= !(libc::CLONE_VM as u64);
    }
    let request = CloneRequest {
        flags,
        cgroup: plan.spec.cgroup,
        child_tid: namespaces
            .maps
            .as_ref()
            .map(|_| NonNull::from(&report.sync).cast()),
    };

    let cloned = {
        // Blocked until the child has exec'd, handshake included: a handler of the caller
        // that ran on this thread meanwhile could leave (longjmp) while the child still uses
        // the plan and the area.
        let _blocked = SignalsBlocked::new();
        let pid_switch = match &namespaces.pid_join {
            Some(join) => Some(PidNsSwitch::enter(join)?),
            None => None,
        };
        // SAFETY: `child_main` follows the rules of a CLONE_VM child (see child.rs). The
        // context, the plan, the scratch array and the area outlive its use of them: with
        // CLONE_VFORK this call returns only once the child has exec'd or exited, and without
        // it (id maps) the MapsHandshake made right after does not end, even when unwinding,
        // before the child has.
        let cloned = unsafe {
            clone_child(
                &request,
                area,
                child_main,
                (&raw const context).cast_mut().cast::<c_void>(),
            )
        };
        let handshake = match (&cloned, &namespaces.maps) {
            (Ok(_), Some(_)) => Some(MapsHandshake::new(report)),
            _ => None,
        };
        let restored = pid_switch.map_or(Ok(()), PidNsSwitch::leave);
        let cloned = match cloned {
            Ok(cloned) => cloned,
            Err(errno) => {
                restored?;
                return Err(clone_error(plan, errno));
            }
        };
        let released = match (restored, handshake, &namespaces.maps) {
            (Ok(()), Some(handshake), Some(maps)) => handshake.run(
                cloned.pid,
                plan.spec,
                maps,
                namespaces.user_namespace_unshared(),
            ),
            // Dropping an unfinished handshake tells the child to exit and waits for it.
            (restored, handshake, _) => {
                drop(handshake);
                restored
            }
        };
        if let Err(error) = released {
            kill(&cloned.pidfd);
            reap(&cloned.pidfd);
            return Err(error);
        }
        cloned
    };

    if report.close_range_missing.load(Ordering::Relaxed) != 0 {
        CLOSE_RANGE_MISSING.store(true, Ordering::Relaxed);
    }
    match report.outcome() {
        Outcome::Exec => Ok(Spawned {
            pid: cloned.pid,
            pidfd: cloned.pidfd,
            tty: None,
        }),
        Outcome::Failed { stage, errno, item } => {
            reap(&cloned.pidfd);
            terminal.undo(cloned.pid);
            let subject = match stage {
                Stage::Tty => terminal.subject(item, errno),
                _ => subject(plan, stage, errno, item),
            };
            Err(Error::new(stage, Errno::from_raw(errno), subject))
        }
        Outcome::Died { stage } => {
            let status = reap(&cloned.pidfd);
            terminal.undo(cloned.pid);
            Err(Error::new(
                stage,
                Errno::EINTR,
                format!("the child died before exec (wait status {status:#x})"),
            ))
        }
    }
}

/// A failed clone, in the stage of what made it fail: the cgroup or the namespaces it was to
/// start in when the errno is one they give, else clone itself.
fn clone_error(plan: &Plan, errno: Errno) -> Error {
    let new = plan.namespaces.clone_flags;
    match plan.spec.cgroup {
        Some(fd)
            if matches!(
                errno,
                Errno::ENOENT
                    | Errno::ENODEV
                    | Errno::EBUSY
                    | Errno::EOPNOTSUPP
                    | Errno::EBADF
                    | Errno::EACCES
            ) =>
        {
            Error::new(Stage::Cgroup, errno, format!("cgroup_fd {fd}"))
        }
        _ if new != 0
            && matches!(
                errno,
                Errno::EPERM | Errno::EINVAL | Errno::ENOSPC | Errno::EUSERS
            ) =>
        {
            Error::new(
                Stage::Namespaces,
                errno,
                format!("creating namespaces {} (clone)", kinds::names(new)),
            )
        }
        _ => Error::new(Stage::Spawn, errno, "clone"),
    }
}

/// What failed in the namespaces stage, in words.
fn namespace_subject(plan: &Plan, item: u32) -> String {
    let planned = &plan.namespaces;
    match item {
        ITEM_UNSHARE => format!(
            "creating namespaces {} (unshare)",
            kinds::names(planned.unshare_flags)
        ),
        ITEM_LEGACY_UNSHARE => format!(
            "creating namespaces {} (unshare, as clone could not)",
            kinds::names(legacy_leftover(
                planned.clone_flags,
                plan.spec.cgroup.is_some()
            ))
        ),
        ITEM_MAPS => "waiting for the id maps".to_string(),
        index => match plan.spec.namespaces.get(index as usize) {
            Some(Namespace { kind, fd: Some(fd) }) => format!(
                "namespaces[{index}]: joining {} from fd {fd}",
                kinds::name(*kind).unwrap_or("?")
            ),
            _ => String::new(),
        },
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
        Stage::Namespaces => namespace_subject(plan, item),
        Stage::Cgroup => match spec.cgroup {
            Some(fd) => format!("cgroup_fd {fd}: moving into it (cgroup.procs)"),
            None => String::new(),
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
        Stage::Rlimits => spec
            .rlimits
            .get(item as usize)
            .map(|limit| {
                format!(
                    "limits[{item}] {} soft {} hard {}",
                    names::resource(limit.resource),
                    names::limit(limit.soft),
                    names::limit(limit.hard)
                )
            })
            .unwrap_or_default(),
        Stage::Credentials => match (&spec.credentials, item) {
            (Some(ids), ITEM_GROUPS) => format!("extra_gids {:?}", ids.groups),
            (Some(ids), ITEM_GID) => format!("gid {}", ids.gid),
            (Some(ids), ITEM_UID) => format!("uid {}", ids.uid),
            _ => String::new(),
        },
        Stage::Capabilities => capabilities_subject(plan, item),
        Stage::NoNewPrivs => "PR_SET_NO_NEW_PRIVS".to_owned(),
        Stage::Seccomp => {
            // Without no_new_privs the filter went in before the credentials change, and the
            // kernel wants CAP_SYS_ADMIN for it.
            let why = if errno == libc::EACCES && !spec.no_new_privs {
                ", installed without no_new_privs (which needs CAP_SYS_ADMIN)"
            } else {
                ""
            };
            format!(
                "seccomp_filter of {} instructions{why}",
                spec.seccomp_filter.len()
            )
        }
        _ => String::new(),
    }
}

/// The capability step that failed, and the capability concerned.
fn capabilities_subject(plan: &Plan, item: u32) -> String {
    let Some(caps) = plan.spec.capabilities else {
        return String::new();
    };
    let capability = names::capability(item & ITEM_CAPABILITY_BITS);
    match item & !ITEM_CAPABILITY_BITS {
        ITEM_BOUNDING => format!("dropping {capability} from the bounding set"),
        ITEM_KEEPCAPS => "PR_SET_KEEPCAPS".to_owned(),
        ITEM_CAPSET => {
            let sets = format!(
                "capset effective {:#x} permitted {:#x} inheritable {:#x}",
                caps.effective, caps.permitted, caps.inheritable
            );
            match capset_culprit(&caps) {
                Some(why) => format!("{sets} ({why})"),
                None => sets,
            }
        }
        ITEM_AMBIENT_CLEAR => "clearing the ambient set".to_owned(),
        ITEM_AMBIENT => format!("raising {capability} in the ambient set"),
        _ => String::new(),
    }
}

/// What capset most likely refused, judged from the calling thread's own sets, which the child
/// started with: a permitted capability the caller lacks, or an inheritable one neither in the
/// new bounding set nor already inheritable.
fn capset_culprit(caps: &Capabilities) -> Option<String> {
    let status = std::fs::read_to_string("/proc/thread-self/status").ok()?;
    let set = |key: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|value| u64::from_str_radix(value.trim(), 16).ok())
    };
    let lowest = |bits: u64| (bits != 0).then(|| names::capability(bits.trailing_zeros()));
    if let Some(cap) = lowest(caps.permitted & !set("CapPrm:")?) {
        return Some(format!("the caller does not hold {cap}"));
    }
    lowest(caps.inheritable & !(set("CapInh:")? | caps.bounding)).map(|cap| {
        format!("inheritable {cap} is neither in bounding nor inheritable in the caller")
    })
}

/// SIGKILL through the pidfd (a child that already exited is left as it is).
fn kill(pidfd: &OwnedFd) {
    use std::os::fd::AsRawFd;
    // SAFETY: pidfd_send_signal on our own pidfd, without a siginfo.
    unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            libc::SIGKILL,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
}

/// Waits for a child that failed before exec and returns its raw wait status.
fn reap(pidfd: &OwnedFd) -> i32 {
    table::reap(pidfd, Block::Yes).ok().flatten().unwrap_or(0)
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

//! What a failed spawn failed on, in words: the subject of its error message, from the stage
//! and item the child reported and the plan it followed.

use nix::errno::Errno;

use super::child::attributes::ITEM_SIGNAL_KEEP;
use super::child::handover::ITEM_PAUSE;
use super::child::privileges::ITEM_LISTENER;
use super::child::privileges::{
    ITEM_AMBIENT, ITEM_AMBIENT_CLEAR, ITEM_BOUNDING, ITEM_CAPABILITY_BITS, ITEM_CAPSET, ITEM_GID,
    ITEM_GROUPS, ITEM_KEEPCAPS, ITEM_UID,
};
use super::child::{
    ITEM_CLOSE_REST, ITEM_LEGACY_UNSHARE, ITEM_PARENT_DEATH_SIGNAL, ITEM_PARK,
    ITEM_SESSION_KEYRING, ITEM_SIGNAL_ACTION, ITEM_SIGNAL_MASK, ITEM_UNSHARE, ITEM_WAIT,
    search_goes_on,
};
use super::clone::legacy_leftover;
use super::plan::{Exec, Plan};
use crate::error::{Error, Stage};
use crate::landlock::restrict_flag_names;
use crate::names;
use crate::namespaces as kinds;
use crate::procfs::{status_field, thread_status};
use crate::spec::{Capabilities, Namespace, Program, seccomp_flag_names};

/// A failed clone, in the stage of what made it fail: the cgroup or the namespaces it was to
/// start in when the errno is one they give, else clone itself.
pub(super) fn clone_error(plan: &Plan, errno: Errno) -> Error {
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
        ITEM_WAIT => "waiting for the parent (id maps, terminal, limits)".to_string(),
        index => match plan.spec.namespaces.get(index as usize) {
            Some(Namespace { kind, fd: Some(fd) }) => format!(
                "namespaces[{index}]: joining {} from fd {fd}",
                kinds::name(*kind).unwrap_or("?")
            ),
            _ => String::new(),
        },
    }
}

/// Slot `slot` of the fd layout and its source: `fds[i] = fd`, or which of the child's own
/// slots after them (`TailSlots`) it is.
fn fd_slot(plan: &Plan, slot: u32) -> String {
    if let Some(Some(fd)) = plan.spec.fds.get(slot as usize) {
        return format!("fds[{slot}] = {fd}");
    }
    let tail = Some(slot as i32);
    match (&plan.spec.program, plan.spec.landlock) {
        (Program::Fd(fd), _) if plan.tail.exec == tail => format!("exec_fd {fd}"),
        (_, Some(landlock)) if plan.tail.ruleset == tail => {
            format!("landlock_ruleset_fd {}", landlock.ruleset)
        }
        _ if plan.tail.handover == tail => {
            "the handover socket (seccomp listener, paused start)".to_owned()
        }
        _ => format!("fd {slot}"),
    }
}

/// The program a child was to exec, as the caller named it: the path, the name searched in
/// PATH, or the exec fd.
pub(super) fn exec_subject(plan: &Plan) -> String {
    let spec = plan.spec;
    match (&plan.exec, &spec.program) {
        (Exec::Fd(_), Program::Fd(fd)) => format!("exec_fd {fd}"),
        (Exec::Paths(candidates), Program::Path(name)) if candidates.len() > 1 => {
            format!("{} (searching PATH)", name.to_string_lossy())
        }
        (Exec::Paths(candidates), _) if candidates.len() > 1 => {
            format!("{} (searching PATH)", spec.argv[0].to_string_lossy())
        }
        (Exec::Paths(candidates), _) => candidates
            .first()
            .map(|path| path.to_string_lossy().into_owned())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// How a process ended, from its wait status: "killed by SIGSYS (signal 31)", or "died".
pub(super) fn killed_by(status: i32) -> String {
    if !libc::WIFSIGNALED(status) {
        return "died".to_owned();
    }
    let number = libc::WTERMSIG(status);
    match nix::sys::signal::Signal::try_from(number) {
        Ok(signal) => format!("killed by {} (signal {number})", signal.as_str()),
        Err(_) => format!("killed by signal {number}"),
    }
}

/// What a failed stage failed on, in words.
pub(super) fn subject(plan: &Plan, stage: Stage, errno: i32, item: u32) -> String {
    let spec = plan.spec;
    match stage {
        Stage::Fds if item == ITEM_CLOSE_REST => {
            format!("closing every fd from {}", plan.fds.close_from())
        }
        Stage::Fds if item & ITEM_PARK != 0 => {
            // The source of this slot is the fd of an earlier slot, which takes it first.
            let slot = item & !ITEM_PARK;
            let source = plan.fds.sources.get(slot as usize).copied().unwrap_or(-1);
            format!(
                "{}: copying it aside, as fds[{source}] takes fd {source} first",
                fd_slot(plan, slot)
            )
        }
        Stage::Fds => match spec.fds.get(item as usize) {
            Some(None) => format!("fds[{item}] (closing)"),
            _ => fd_slot(plan, item),
        },
        Stage::Namespaces => namespace_subject(plan, item),
        Stage::Cgroup if item > 0 => match (
            spec.extra_cgroups.get(item as usize - 1),
            plan.extra_cgroup_files.get(item as usize - 1),
        ) {
            (Some(fd), Some(file)) => format!(
                "extra_cgroup_fds[{}] = {fd}: moving into it ({})",
                item - 1,
                file.to_string_lossy()
            ),
            _ => String::new(),
        },
        Stage::Cgroup => match spec.cgroup {
            Some(fd) => format!("cgroup_fd {fd}: moving into it (cgroup.procs)"),
            None => String::new(),
        },
        Stage::Credentials if item == ITEM_SESSION_KEYRING => match &spec.session_keyring {
            Some(name) if name.is_empty() => "joining a new anonymous session keyring".into(),
            Some(name) => format!("joining session keyring {}", name.to_string_lossy()),
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
            Exec::Paths(candidates) if candidates.is_empty() => {
                let name = match &spec.program {
                    Program::Path(path) => path,
                    _ => &spec.argv[0],
                };
                format!(
                    "{} (no PATH in the environment, and no default PATH asked for)",
                    name.to_string_lossy()
                )
            }
            Exec::Paths(candidates) => candidates
                .get(item as usize)
                .map(|path| path.to_string_lossy().into_owned())
                .unwrap_or_default(),
        },
        Stage::Spawn => match item {
            ITEM_PARENT_DEATH_SIGNAL => format!(
                "parent_death_signal {} (PR_SET_PDEATHSIG)",
                spec.parent_death_signal
            ),
            ITEM_SIGNAL_MASK if spec.signal_mask == 0 => {
                "emptying the signal mask (rt_sigprocmask)".to_owned()
            }
            ITEM_SIGNAL_MASK => format!(
                "setting the signal mask to sigmask {:#x} (rt_sigprocmask)",
                spec.signal_mask
            ),
            ITEM_PAUSE => "holding paused until sprout_start (read on its socket)".to_owned(),
            item if item & ITEM_SIGNAL_KEEP != 0 => format!(
                "setting the program's signal actions, keeping the caller's ignored signals: \
                 {} (rt_sigaction)",
                crate::attributes::signal_name((item & 0xff) as i32)
            ),
            _ => format!(
                "resetting signal {} to SIG_DFL (rt_sigaction)",
                item & !ITEM_SIGNAL_ACTION
            ),
        },
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
        Stage::Seccomp if item == ITEM_LISTENER => {
            "handing the seccomp listener to the caller (sendmsg)".to_owned()
        }
        Stage::Seccomp => {
            // Without no_new_privs the filter went in before the credentials change, and the
            // kernel wants CAP_SYS_ADMIN for it.
            let why = if errno == libc::EACCES && !spec.no_new_privs {
                ", installed without no_new_privs (which needs CAP_SYS_ADMIN)"
            } else {
                ""
            };
            let flags = match spec.seccomp_flags {
                0 => String::new(),
                flags => format!(" with {}", seccomp_flag_names(flags)),
            };
            format!(
                "seccomp_filter of {} instructions{flags}{why}",
                spec.seccomp_filter.len()
            )
        }
        Stage::Landlock => match spec.landlock {
            Some(landlock) => {
                let flags = match landlock.restrict_flags {
                    0 => String::new(),
                    flags => format!(", {}", restrict_flag_names(flags)),
                };
                let why = match errno {
                    libc::EPERM => {
                        ": without no_new_privs (SPROUT_EXEC_NO_NEW_PRIVS) the kernel wants \
                         CAP_SYS_ADMIN"
                    }
                    libc::EBADF | libc::EBADFD => ": not a Landlock ruleset",
                    libc::E2BIG => ": the process is in too many nested Landlock domains (16)",
                    _ => "",
                };
                format!(
                    "landlock_restrict_self(landlock_ruleset_fd {}{flags}){why}",
                    landlock.ruleset
                )
            }
            None => String::new(),
        },
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
    let status = thread_status();
    let set = |key| status_field(&status, key);
    let lowest = |bits: u64| (bits != 0).then(|| names::capability(bits.trailing_zeros()));
    if let Some(cap) = lowest(caps.permitted & !set("CapPrm")?) {
        return Some(format!("the caller does not hold {cap}"));
    }
    lowest(caps.inheritable & !(set("CapInh")? | caps.bounding)).map(|cap| {
        format!("inheritable {cap} is neither in bounding nor inheritable in the caller")
    })
}

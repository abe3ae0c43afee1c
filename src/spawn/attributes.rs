//! The process properties of ABI 1.1, parent side: what can be refused only once the plan
//! says how the spawn is carried out (the terminal case, whether the child waits for the
//! caller), and what a failed step of theirs failed on, in words.

use nix::errno::Errno;

use super::TtyItem;
use super::child::attributes::{
    ITEM_AFFINITY, ITEM_AFFINITY_READ, ITEM_CPU_NOT_GRANTED, ITEM_HOSTNAME, ITEM_OOM_OPEN,
    ITEM_ROOT_FD, ITEM_SCHED_SETATTR,
};
use super::plan::{ChildTty, Plan};
use crate::error::{Error, Result, Stage};
use crate::spec::{ProcessGroup, Root, Spec};

/// Refuses what the plan makes impossible.
pub(super) fn check(plan: &Plan) -> Result<()> {
    let spec = plan.spec;
    if let Some(ProcessGroup::Join(pgid)) = spec.process_group {
        if matches!(
            plan.tty,
            ChildTty::NewSession | ChildTty::OwnTerminal { .. }
        ) {
            return Err(Error::args(
                Errno::EINVAL,
                format!(
                    "pgid {pgid} with a new session (SPROUT_EXEC_NEW_SESSION, or a terminal no \
                     session has): the process leads a group of its own in it, and cannot \
                     join a group of another session"
                ),
            ));
        }
    }
    if let (Some(adj), true) = (spec.oom_score_adj, plan.child_waits()) {
        return Err(Error::args(
            Errno::EINVAL,
            format!(
                "oom_score_adj {adj} in a spawn whose child waits for the caller (id maps, a \
                 terminal handed over, hard limits raised by the caller, or a paused start): \
                 the kernel would apply it to the caller too, whose memory that child shares"
            ),
        ));
    }
    Ok(())
}

/// What a failed step of these properties failed on, if `stage` and `item` are one of theirs.
pub(super) fn subject(plan: &Plan, stage: Stage, errno: Errno, item: u32) -> Option<String> {
    let spec = plan.spec;
    match stage {
        Stage::Tty if item == TtyItem::ProcessGroup as u32 => {
            let pgid = match spec.process_group {
                Some(ProcessGroup::Join(pgid)) => pgid,
                _ => 0,
            };
            let why = if errno == Errno::EPERM {
                " (no process group of the caller's session has this id)"
            } else {
                ""
            };
            Some(format!("pgid {pgid}: setpgid(0, {pgid}){why}"))
        }
        Stage::Sched => Some(sched_subject(spec, errno, item)),
        Stage::OomScoreAdj => Some(match item {
            ITEM_OOM_OPEN => "/proc/self/oom_score_adj".to_owned(),
            _ => {
                let why = match errno {
                    Errno::EACCES => {
                        " (below oom_score_adj_min, which needs CAP_SYS_RESOURCE in the initial \
                         user namespace)"
                    }
                    _ => "",
                };
                format!("oom_score_adj {}{why}", spec.oom_score_adj.unwrap_or(0))
            }
        }),
        Stage::Personality => Some(format!("personality {:#x}", spec.personality.unwrap_or(0))),
        Stage::Uts => Some(match item {
            ITEM_HOSTNAME => format!(
                "hostname {:?}",
                spec.hostname.as_deref().unwrap_or_default()
            ),
            _ => format!(
                "domainname {:?}",
                spec.domainname.as_deref().unwrap_or_default()
            ),
        }),
        Stage::Chroot => Some(match (&spec.root, item) {
            (Some(Root::Fd(fd)), ITEM_ROOT_FD) => format!("root_fd {fd}: fchdir"),
            (Some(Root::Fd(fd)), _) => format!("root_fd {fd}: chroot"),
            (Some(Root::Path(path)), _) => format!("root_directory {path:?}"),
            (None, _) => String::new(),
        }),
        Stage::Ptrace => Some(match errno {
            Errno::EPERM => "PTRACE_TRACEME (refused: Yama's ptrace_scope, or a filter)".to_owned(),
            _ => "PTRACE_TRACEME".to_owned(),
        }),
        _ => None,
    }
}

fn sched_subject(spec: &Spec, errno: Errno, item: u32) -> String {
    if item & ITEM_CPU_NOT_GRANTED != 0 {
        return format!(
            "cpu_set: CPU {} is not available to the process (offline, or outside its cpuset)",
            item & !ITEM_CPU_NOT_GRANTED
        );
    }
    let privilege = match errno {
        Errno::EPERM => {
            " (needs CAP_SYS_NICE in the initial user namespace, or an RLIMIT_RTPRIO or \
             RLIMIT_NICE that allows it)"
        }
        _ => "",
    };
    match item {
        ITEM_AFFINITY | ITEM_AFFINITY_READ => format!(
            "cpu_set {}",
            crate::attributes::format_cpu_list(&spec.cpu_affinity)
        ),
        ITEM_SCHED_SETATTR => {
            let s = spec.scheduler.unwrap_or_default();
            let mut text = format!("sched {}", crate::attributes::policy_name(s.policy));
            match s.policy {
                p if p == libc::SCHED_FIFO as u32 || p == libc::SCHED_RR as u32 => {
                    text += &format!(" priority {}", s.priority)
                }
                crate::attributes::SCHED_DEADLINE => {
                    text += &format!(
                        " runtime {} deadline {} period {}",
                        s.runtime, s.deadline, s.period
                    )
                }
                _ => text += &format!(" nice {}", s.nice),
            }
            let why = match errno {
                Errno::EBUSY => " (not enough deadline bandwidth left)",
                _ => privilege,
            };
            text + why
        }
        _ => {
            let io = spec
                .io_priority
                .unwrap_or(crate::spec::IoPriority { class: 0, level: 0 });
            let why = match errno {
                Errno::EPERM => " (the realtime class needs CAP_SYS_NICE or CAP_SYS_ADMIN)",
                _ => "",
            };
            format!("ioprio_class {} level {}{why}", io.class, io.level)
        }
    }
}

/// The kernel's `struct sched_attr` as of its first version (`SCHED_ATTR_SIZE_VER0`, 48
/// bytes): what sched_setattr reads.
#[repr(C)]
pub struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
}

/// `IOPRIO_WHO_PROCESS`, and where the class goes in an I/O priority (`IOPRIO_CLASS_SHIFT`).
pub const IOPRIO_WHO_PROCESS: u32 = 1;
const IOPRIO_CLASS_SHIFT: u32 = 13;

/// What the child does for the properties of ABI 1.1 that need more than a field of the spec,
/// prepared here so that the child only reads it.
pub struct Steps {
    pub sched: Option<SchedAttr>,
    /// The value for ioprio_set.
    pub ioprio: Option<u32>,
    /// The CPU set to set, and room for the one the kernel then reports: at least as many
    /// words as the kernel's CPU mask has, as sched_getaffinity wants.
    pub affinity: Option<Affinity>,
    /// `oom_score_adj` as the text written to /proc/self/oom_score_adj.
    pub oom: Option<([u8; 8], usize)>,
    /// Whether the working directory must be found from the new root (a relative one with a
    /// root directory): the child then changes to "/" first.
    pub chdir_from_root: bool,
}

/// `cpu_set` as the child sets it and checks it.
pub struct Affinity {
    /// The set asked for, as sched_setaffinity reads it.
    pub set: Vec<u64>,
    /// Written by the child's sched_getaffinity, read by nothing else: `Cell`s, so that the
    /// child may write through the shared plan.
    pub granted: Box<[std::cell::Cell<u64>]>,
}

impl Steps {
    pub fn new(spec: &Spec) -> Steps {
        Steps {
            sched: spec.scheduler.map(|s| SchedAttr {
                size: size_of::<SchedAttr>() as u32,
                policy: s.policy,
                flags: s.flags,
                nice: s.nice,
                priority: s.priority,
                runtime: s.runtime,
                deadline: s.deadline,
                period: s.period,
            }),
            ioprio: spec
                .io_priority
                .map(|io| io.class << IOPRIO_CLASS_SHIFT | io.level),
            affinity: (!spec.cpu_affinity.is_empty()).then(|| {
                let words = spec
                    .cpu_affinity
                    .len()
                    .max(crate::attributes::possible_cpus().div_ceil(64));
                Affinity {
                    set: spec.cpu_affinity.clone(),
                    granted: (0..words).map(|_| std::cell::Cell::new(0)).collect(),
                }
            }),
            oom: spec.oom_score_adj.map(|adj| {
                let text = adj.to_string();
                let mut bytes = [0u8; 8];
                bytes[..text.len()].copy_from_slice(text.as_bytes());
                (bytes, text.len())
            }),
            chdir_from_root: spec.root.is_some()
                && spec.working_directory.as_bytes().first() != Some(&b'/'),
        }
    }
}

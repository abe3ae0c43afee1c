//! The process properties ABI 1.1 added — process group, signal mask and dispositions,
//! oom_score_adj, scheduling, I/O priority, CPU affinity, personality, hostname and domain
//! name, root directory, ptrace — as far as they can be checked without a process, and the
//! names front ends use for them (signals, policies, classes, personalities, CPU lists), so
//! that the CLI and an OCI mapping read them the same way.
//!
//! How the child applies them is in `spawn::child::attributes`.

use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::spec::{ProcessGroup, Root, Scheduler, Spec};

/// SIGKILL and SIGSTOP, which can be neither blocked nor given another disposition.
const UNCATCHABLE: [i32; 2] = [libc::SIGKILL, libc::SIGSTOP];

/// The bit of signal `signal` in a 64-bit signal set (`/proc/PID/status` `SigBlk`).
pub const fn signal_bit(signal: i32) -> u64 {
    1u64 << (signal - 1)
}

/// The most bytes sethostname and setdomainname take (`__NEW_UTS_LEN`).
const UTS_LEN: usize = 64;

/// The `SCHED_*` policies sched_setattr takes, by name as chrt spells them.
pub const POLICIES: [(&str, u32); 6] = [
    ("other", libc::SCHED_OTHER as u32),
    ("fifo", libc::SCHED_FIFO as u32),
    ("rr", libc::SCHED_RR as u32),
    ("batch", libc::SCHED_BATCH as u32),
    ("idle", libc::SCHED_IDLE as u32),
    ("deadline", SCHED_DEADLINE),
];
pub(crate) const SCHED_DEADLINE: u32 = 6;

/// `SCHED_FLAG_*` accepted: RESET_ON_FORK, and for SCHED_DEADLINE RECLAIM and DL_OVERRUN.
pub(crate) const SCHED_FLAG_RESET_ON_FORK: u64 = 0x01;
const SCHED_FLAGS_DEADLINE: u64 = 0x02 | 0x04;

/// The I/O scheduling classes, by name as ionice spells them (`IOPRIO_CLASS_*`).
pub const IOPRIO_CLASSES: [(&str, u32); 3] = [("realtime", 1), ("best-effort", 2), ("idle", 3)];

/// The personality(2) execution domains accepted (the low byte): PER_LINUX and PER_LINUX32.
pub(crate) const PER_LINUX32: u32 = 0x0008;
/// The personality(2) flags, by name as setarch spells them.
pub const PERSONALITY_FLAGS: [(&str, u32); 11] = [
    ("uname-2.6", 0x002_0000),
    ("addr-no-randomize", 0x004_0000),
    ("fdpic-funcptrs", 0x008_0000),
    ("mmap-page-zero", 0x010_0000),
    ("addr-compat-layout", 0x020_0000),
    ("read-implies-exec", 0x040_0000),
    ("addr-limit-32bit", 0x080_0000),
    ("short-inode", 0x100_0000),
    ("whole-seconds", 0x200_0000),
    ("sticky-timeouts", 0x400_0000),
    ("addr-limit-3gb", 0x800_0000),
];

fn invalid(subject: impl Into<String>) -> Error {
    Error::args(Errno::EINVAL, subject)
}

/// `SIGINT (2)`, or `signal 40` for one without a name.
pub fn signal_name(signal: i32) -> String {
    match nix::sys::signal::Signal::try_from(signal) {
        Ok(sig) => format!("{} ({signal})", sig.as_str()),
        Err(_) => format!("signal {signal}"),
    }
}

/// A signal by number or name, with or without "SIG" (`INT`, `SIGINT`, `2`).
pub fn parse_signal(text: &str) -> Option<i32> {
    if let Ok(number) = text.parse::<i32>() {
        return (1..=64).contains(&number).then_some(number);
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse::<nix::sys::signal::Signal>()
        .ok()
        .map(|s| s as i32)
}

/// A CPU list as taskset -c and cpuset take it ("0-3,7", "0-6:2") as a CPU set (bit n%64
/// of word n/64 is CPU n).
pub fn parse_cpu_list(text: &str) -> Option<Vec<u64>> {
    let mut set: Vec<u64> = Vec::new();
    for part in text.split(',') {
        let (range, stride) = match part.split_once(':') {
            Some((range, stride)) => (range, stride.trim().parse::<usize>().ok()?),
            None => (part, 1),
        };
        let (first, last) = match range.split_once('-') {
            Some((a, b)) => (a.trim().parse::<usize>().ok()?, b.trim().parse().ok()?),
            None => {
                let cpu = range.trim().parse::<usize>().ok()?;
                (cpu, cpu)
            }
        };
        if first > last || stride == 0 || last >= 1 << 20 {
            return None;
        }
        for cpu in (first..=last).step_by(stride) {
            if set.len() <= cpu / 64 {
                set.resize(cpu / 64 + 1, 0);
            }
            set[cpu / 64] |= 1 << (cpu % 64);
        }
    }
    (!set.is_empty()).then_some(set)
}

/// The CPUs in a CPU set, lowest first.
pub fn cpus(set: &[u64]) -> impl Iterator<Item = usize> + '_ {
    set.iter().enumerate().flat_map(|(word, &bits)| {
        (0..64)
            .filter(move |bit| bits & (1 << bit) != 0)
            .map(move |bit| word * 64 + bit)
    })
}

/// A CPU set as a list, "0-3,7".
pub fn format_cpu_list(set: &[u64]) -> String {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for cpu in cpus(set) {
        match ranges.last_mut() {
            Some((_, last)) if *last + 1 == cpu => *last = cpu,
            _ => ranges.push((cpu, cpu)),
        }
    }
    ranges
        .iter()
        .map(|&(first, last)| match first == last {
            true => first.to_string(),
            false => format!("{first}-{last}"),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// How many CPUs this kernel can ever have (nr_cpu_ids): /sys/devices/system/cpu/possible,
/// or where /sys is missing, the bytes sched_getaffinity fills. Read once.
pub(crate) fn possible_cpus() -> usize {
    static POSSIBLE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *POSSIBLE.get_or_init(|| {
        std::fs::read_to_string("/sys/devices/system/cpu/possible")
            .ok()
            .and_then(|text| {
                text.trim()
                    .split(',')
                    .filter_map(|part| part.rsplit('-').next()?.trim().parse::<usize>().ok())
                    .max()
            })
            .map(|last| last + 1)
            .unwrap_or_else(|| affinity_mask_bytes() * 8)
    })
}

/// The size of the kernel's CPU mask for sched_getaffinity: the smallest buffer it accepts,
/// a multiple of 8 bytes (it answers EINVAL to a smaller one).
pub(crate) fn affinity_mask_bytes() -> usize {
    let mut words = vec![0u64; 1];
    while words.len() < 1 << 17 {
        // SAFETY: sched_getaffinity writes at most `len` bytes into the buffer.
        let got = unsafe {
            libc::syscall(
                libc::SYS_sched_getaffinity,
                0,
                words.len() * 8,
                words.as_mut_ptr(),
            )
        };
        if got > 0 {
            return got as usize;
        }
        words.resize(words.len() * 2, 0);
    }
    words.len() * 8
}

/// Refuses, before any process exists, a 1.1 property that cannot be what was asked.
pub fn validate(spec: &Spec) -> Result<()> {
    check_process_group(spec)?;
    check_signals(spec)?;
    if let Some(adj) = spec.oom_score_adj {
        if !(-1000..=1000).contains(&adj) {
            return Err(invalid(format!(
                "oom_score_adj {adj} is outside -1000..1000"
            )));
        }
    }
    if let Some(sched) = &spec.scheduler {
        check_scheduler(sched)?;
    }
    if let Some(io) = &spec.io_priority {
        if !(1..=3).contains(&io.class) {
            return Err(invalid(format!(
                "ioprio_class {} is not 1 (realtime), 2 (best-effort) or 3 (idle)",
                io.class
            )));
        }
        if io.level > 7 {
            return Err(invalid(format!(
                "ioprio_level {} is outside 0..7",
                io.level
            )));
        }
    }
    check_cpu_affinity(&spec.cpu_affinity)?;
    if let Some(persona) = spec.personality {
        check_personality(persona)?;
    }
    check_uts(spec)?;
    if let Some(Root::Path(path)) = &spec.root {
        if path.is_empty() {
            return Err(invalid("root_directory is empty"));
        }
    }
    Ok(())
}

fn check_process_group(spec: &Spec) -> Result<()> {
    let Some(ProcessGroup::Join(pgid)) = spec.process_group else {
        return Ok(());
    };
    if pgid <= 0 {
        return Err(invalid(format!("pgid {pgid}: a process group id is > 0")));
    }
    if let Some(index) = spec
        .namespaces
        .iter()
        .position(|ns| ns.kind == libc::CLONE_NEWPID)
    {
        return Err(invalid(format!(
            "pgid {pgid} with a PID namespace (namespaces[{index}]): no group of the caller's \
             session is visible there"
        )));
    }
    Ok(())
}

fn check_signals(spec: &Spec) -> Result<()> {
    for signal in UNCATCHABLE {
        if spec.signal_mask & signal_bit(signal) != 0 {
            return Err(invalid(format!(
                "sigmask: {} cannot be blocked",
                signal_name(signal)
            )));
        }
        if spec.default_signals & signal_bit(signal) != 0 {
            return Err(invalid(format!(
                "sigdefault: {} is always SIG_DFL",
                signal_name(signal)
            )));
        }
    }
    if spec.default_signals != 0 && !spec.keep_ignored_signals {
        return Err(invalid(
            "sigdefault without SPROUT_EXEC2_KEEP_IGNORED_SIGNALS: every signal goes back to \
             SIG_DFL already",
        ));
    }
    if spec.ptrace && spec.signal_mask & signal_bit(libc::SIGTRAP) != 0 {
        return Err(invalid(
            "sigmask blocks SIGTRAP (5) with ptrace: the program would not stop at its exec",
        ));
    }
    Ok(())
}

/// The name of a `SCHED_*` policy, as in the messages.
pub fn policy_name(policy: u32) -> String {
    match POLICIES.iter().find(|(_, p)| *p == policy) {
        Some((name, _)) => format!("SCHED_{}", name.to_ascii_uppercase()),
        None => format!("policy {policy}"),
    }
}

fn check_scheduler(sched: &Scheduler) -> Result<()> {
    let policy = sched.policy;
    if !POLICIES.iter().any(|(_, p)| *p == policy) {
        return Err(invalid(format!(
            "sched.policy {policy} is not SCHED_OTHER, _FIFO, _RR, _BATCH, _IDLE or _DEADLINE"
        )));
    }
    let name = policy_name(policy);
    let fair = policy == libc::SCHED_OTHER as u32 || policy == libc::SCHED_BATCH as u32;
    let realtime = policy == libc::SCHED_FIFO as u32 || policy == libc::SCHED_RR as u32;
    let deadline = policy == SCHED_DEADLINE;
    if sched.nice != 0 && !fair {
        return Err(invalid(format!(
            "sched.nice {} with {name}: only SCHED_OTHER and SCHED_BATCH have a nice value",
            sched.nice
        )));
    }
    if !(-20..=19).contains(&sched.nice) {
        return Err(invalid(format!(
            "sched.nice {} is outside -20..19",
            sched.nice
        )));
    }
    if realtime && !(1..=99).contains(&sched.priority) {
        return Err(invalid(format!(
            "sched.priority {} with {name}: 1..99",
            sched.priority
        )));
    }
    if !realtime && sched.priority != 0 {
        return Err(invalid(format!(
            "sched.priority {} with {name}: only SCHED_FIFO and SCHED_RR have one",
            sched.priority
        )));
    }
    let known = SCHED_FLAG_RESET_ON_FORK | if deadline { SCHED_FLAGS_DEADLINE } else { 0 };
    if sched.flags & !known != 0 {
        return Err(invalid(format!(
            "sched.flags {:#x}: unknown, or for SCHED_DEADLINE only",
            sched.flags & !known
        )));
    }
    if !deadline {
        if sched.runtime | sched.deadline | sched.period != 0 {
            return Err(invalid(format!(
                "sched.runtime, .deadline and .period with {name}: for SCHED_DEADLINE only"
            )));
        }
        return Ok(());
    }
    let period = if sched.period == 0 {
        sched.deadline
    } else {
        sched.period
    };
    if sched.runtime < 1024 || sched.runtime > sched.deadline || sched.deadline > period {
        return Err(invalid(format!(
            "sched: SCHED_DEADLINE wants 1024 <= runtime <= deadline <= period (ns), not \
             runtime {} deadline {} period {}",
            sched.runtime, sched.deadline, sched.period
        )));
    }
    Ok(())
}

fn check_cpu_affinity(set: &[u64]) -> Result<()> {
    if set.is_empty() {
        return Ok(());
    }
    let Some(highest) = cpus(set).last() else {
        return Err(invalid("cpu_set holds no CPU"));
    };
    let possible = possible_cpus();
    if highest >= possible {
        return Err(invalid(format!(
            "cpu_set: CPU {highest} is above the last CPU this kernel can have ({})",
            possible - 1
        )));
    }
    Ok(())
}

fn check_personality(persona: u32) -> Result<()> {
    let flags = PERSONALITY_FLAGS.iter().fold(0, |all, (_, bit)| all | bit);
    let domain = persona & 0xff;
    if domain != 0 && domain != PER_LINUX32 {
        return Err(invalid(format!(
            "personality {persona:#x}: execution domain {domain:#x} is neither PER_LINUX (0) \
             nor PER_LINUX32 (8)"
        )));
    }
    if persona & !(flags | 0xff) != 0 {
        return Err(invalid(format!(
            "personality {persona:#x}: unknown flags {:#x}",
            persona & !(flags | 0xff)
        )));
    }
    Ok(())
}

fn check_uts(spec: &Spec) -> Result<()> {
    for (what, name) in [
        ("hostname", &spec.hostname),
        ("domainname", &spec.domainname),
    ] {
        let Some(name) = name else { continue };
        if name.as_bytes().len() > UTS_LEN {
            return Err(invalid(format!(
                "{what} is {} bytes, more than the kernel's {UTS_LEN}",
                name.as_bytes().len()
            )));
        }
        let creates_uts = spec
            .namespaces
            .iter()
            .any(|ns| ns.kind == libc::CLONE_NEWUTS && ns.fd.is_none());
        if !creates_uts {
            return Err(invalid(format!(
                "{what} without a new UTS namespace (a CLONE_NEWUTS entry with fd -1): it would \
                 rename the caller's, or a joined, namespace"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{IoPriority, Namespace};

    fn spec() -> Spec {
        Spec::from_strs(&["/bin/true"]).unwrap()
    }

    fn refused(spec: &Spec) -> String {
        let error = validate(spec).expect_err("should be refused");
        assert_eq!(error.errno, Errno::EINVAL);
        error.subject
    }

    #[test]
    fn cpu_lists_read_as_taskset_reads_them() {
        assert_eq!(parse_cpu_list("0"), Some(vec![1]));
        assert_eq!(parse_cpu_list("0-3,7"), Some(vec![0x8f]));
        assert_eq!(parse_cpu_list("0-6:2"), Some(vec![0x55]));
        assert_eq!(parse_cpu_list("65"), Some(vec![0, 2]));
        assert_eq!(cpus(&[0x8f, 2]).collect::<Vec<_>>(), [0, 1, 2, 3, 7, 65]);
        assert_eq!(format_cpu_list(&[0x8f, 2]), "0-3,7,65");
        for bad in ["", "x", "3-1", "1-", "0:0", "-1"] {
            assert_eq!(parse_cpu_list(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn signals_read_by_name_or_number() {
        assert_eq!(parse_signal("INT"), Some(libc::SIGINT));
        assert_eq!(parse_signal("sigterm"), Some(libc::SIGTERM));
        assert_eq!(parse_signal("40"), Some(40));
        assert_eq!(parse_signal("65"), None);
        assert_eq!(parse_signal("NOPE"), None);
        assert_eq!(signal_name(9), "SIGKILL (9)");
        assert_eq!(signal_name(40), "signal 40");
    }

    #[test]
    fn uncatchable_signals_and_orphan_sigdefault_are_refused() {
        let mut s = spec();
        s.signal_mask = signal_bit(libc::SIGKILL);
        assert_eq!(refused(&s), "sigmask: SIGKILL (9) cannot be blocked");
        s.signal_mask = signal_bit(libc::SIGTRAP);
        validate(&s).unwrap();
        s.ptrace = true;
        assert!(refused(&s).contains("SIGTRAP"));
        s = spec();
        s.default_signals = signal_bit(libc::SIGPIPE);
        assert!(refused(&s).starts_with("sigdefault without"));
        s.keep_ignored_signals = true;
        validate(&s).unwrap();
        s.default_signals |= signal_bit(libc::SIGSTOP);
        assert_eq!(refused(&s), "sigdefault: SIGSTOP (19) is always SIG_DFL");
    }

    #[test]
    fn scheduler_parameters_must_fit_the_policy() {
        let mut s = spec();
        let other = Scheduler::default();
        s.scheduler = Some(Scheduler { nice: 5, ..other });
        validate(&s).unwrap();
        s.scheduler = Some(Scheduler { nice: 20, ..other });
        assert!(refused(&s).contains("outside -20..19"));
        let fifo = Scheduler {
            policy: libc::SCHED_FIFO as u32,
            priority: 10,
            ..other
        };
        s.scheduler = Some(fifo);
        validate(&s).unwrap();
        s.scheduler = Some(Scheduler { nice: 1, ..fifo });
        assert!(refused(&s).contains("only SCHED_OTHER and SCHED_BATCH"));
        s.scheduler = Some(Scheduler {
            priority: 0,
            ..fifo
        });
        assert!(refused(&s).contains("1..99"));
        s.scheduler = Some(Scheduler { policy: 4, ..other });
        assert!(refused(&s).starts_with("sched.policy 4"));
        let deadline = Scheduler {
            policy: SCHED_DEADLINE,
            runtime: 10_000,
            deadline: 20_000,
            period: 0,
            ..other
        };
        s.scheduler = Some(deadline);
        validate(&s).unwrap();
        s.scheduler = Some(Scheduler {
            runtime: 30_000,
            ..deadline
        });
        assert!(refused(&s).contains("runtime <= deadline"));
        s.scheduler = Some(Scheduler {
            runtime: 5,
            ..other
        });
        assert!(refused(&s).contains("for SCHED_DEADLINE only"));
        s.scheduler = Some(Scheduler { flags: 2, ..other });
        assert!(refused(&s).starts_with("sched.flags 0x2"));
    }

    #[test]
    fn io_priority_cpus_personality_and_names_have_their_ranges() {
        let mut s = spec();
        s.io_priority = Some(IoPriority { class: 4, level: 0 });
        assert!(refused(&s).starts_with("ioprio_class 4"));
        s.io_priority = Some(IoPriority { class: 2, level: 8 });
        assert!(refused(&s).starts_with("ioprio_level 8"));
        s.io_priority = None;
        s.cpu_affinity = vec![0];
        assert_eq!(refused(&s), "cpu_set holds no CPU");
        s.cpu_affinity = vec![0; 1 << 14];
        s.cpu_affinity[(1 << 14) - 1] = 1 << 63;
        assert!(refused(&s).contains("above the last CPU"));
        s.cpu_affinity = vec![1];
        validate(&s).unwrap();
        s.personality = Some(PER_LINUX32 | 0x4_0000);
        validate(&s).unwrap();
        s.personality = Some(0x0001);
        assert!(refused(&s).contains("execution domain 0x1"));
        s.personality = Some(0x1000_0000);
        assert!(refused(&s).contains("unknown flags 0x10000000"));
        s.personality = None;
        s.hostname = Some(c"box".to_owned());
        assert!(refused(&s).starts_with("hostname without a new UTS namespace"));
        s.namespaces = vec![Namespace {
            kind: libc::CLONE_NEWUTS,
            fd: None,
        }];
        validate(&s).unwrap();
        s.domainname = Some(std::ffi::CString::new(vec![b'x'; 65]).unwrap());
        assert!(refused(&s).contains("65 bytes"));
    }

    #[test]
    fn a_group_to_join_is_positive_and_outside_pid_namespaces() {
        let mut s = spec();
        s.process_group = Some(ProcessGroup::Join(0));
        assert!(refused(&s).starts_with("pgid 0"));
        s.process_group = Some(ProcessGroup::Join(42));
        validate(&s).unwrap();
        s.namespaces = vec![Namespace {
            kind: libc::CLONE_NEWPID,
            fd: None,
        }];
        assert!(refused(&s).contains("namespaces[0]"));
        s.process_group = Some(ProcessGroup::New);
        validate(&s).unwrap();
    }
}

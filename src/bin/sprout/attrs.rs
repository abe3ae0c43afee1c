//! The names of the ABI 1.1 properties as `setsid`, `chrt`, `ionice`, `taskset`, `choom` and
//! `setarch` spell them, and as the OCI `scheduler`, `ioPriority` and `execCPUAffinity`
//! objects do: process groups, signal sets, scheduling policies, I/O classes, CPU lists,
//! personalities.

use sprout::spec::{IoPriority, ProcessGroup, Scheduler};

use crate::names;
use crate::status::{Outcome, refuse};

/// `new`, or the id of a group to join.
pub fn pgroup(text: &str) -> Outcome<ProcessGroup> {
    if text == "new" || text == "0" {
        return Ok(ProcessGroup::New);
    }
    match text.parse::<i32>() {
        Ok(pgid) if pgid > 0 => Ok(ProcessGroup::Join(pgid)),
        _ => refuse(format!("--pgroup {text}: want `new` or a process group id")),
    }
}

/// `INT,TERM,USR1`: bit n-1 for signal n, as /proc/PID/status shows a set.
pub fn signal_set(text: &str) -> Outcome<u64> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .try_fold(0u64, |set, name| Ok(set | 1 << (names::signal(name)? - 1)))
}

/// A scheduling policy by chrt's name, the OCI name (`SCHED_FIFO`) or number.
pub fn policy(text: &str) -> Outcome<u32> {
    let upper = text.to_ascii_uppercase();
    let name = upper.strip_prefix("SCHED_").unwrap_or(&upper);
    Ok(match name {
        "OTHER" | "NORMAL" => 0,
        "FIFO" => 1,
        "RR" => 2,
        "BATCH" => 3,
        "IDLE" => 5,
        "DEADLINE" => 6,
        _ => match text.parse() {
            Ok(policy) => policy,
            Err(_) => {
                return refuse(format!(
                    "unknown scheduling policy {text:?} (other, fifo, rr, batch, idle, deadline)"
                ));
            }
        },
    })
}

/// `--sched POLICY[:PRIORITY]`.
pub fn sched(text: &str) -> Outcome<Scheduler> {
    let (name, priority) = text.split_once(':').unwrap_or((text, "0"));
    let priority = priority.parse().or_else(|_| {
        refuse(format!(
            "--sched {text}: priority {priority:?} is not a number"
        ))
    })?;
    Ok(Scheduler {
        policy: policy(name)?,
        priority,
        ..Scheduler::default()
    })
}

/// An I/O class by ionice's name, the OCI name (`IOPRIO_CLASS_BE`) or number.
pub fn io_class(text: &str) -> Outcome<u32> {
    let upper = text.to_ascii_uppercase().replace('-', "_");
    let name = upper.strip_prefix("IOPRIO_CLASS_").unwrap_or(&upper);
    Ok(match name {
        "RT" | "REALTIME" | "1" => 1,
        "BE" | "BEST_EFFORT" | "2" => 2,
        "IDLE" | "3" => 3,
        _ => {
            return refuse(format!(
                "unknown I/O class {text:?} (realtime, best-effort, idle)"
            ));
        }
    })
}

/// `--ioprio CLASS[:LEVEL]`; the level is 4 when left out (ionice's default), 0 for idle.
pub fn ioprio(text: &str) -> Outcome<IoPriority> {
    let (class, level) = match text.split_once(':') {
        Some((class, level)) => (
            io_class(class)?,
            level
                .parse()
                .or_else(|_| refuse(format!("--ioprio {text}: level {level:?} is not 0-7")))?,
        ),
        None => {
            let class = io_class(text)?;
            (class, if class == 3 { 0 } else { 4 })
        }
    };
    Ok(IoPriority { class, level })
}

/// A CPU list as taskset -c takes it (`0-3,6,8-15:2`) → 64-bit words, bit n%64 of word n/64.
pub fn cpus(text: &str) -> Outcome<Vec<u64>> {
    let bad = || refuse(format!("CPU list {text:?}: want e.g. 0-3,6,8-15:2"));
    let mut words: Vec<u64> = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (range, stride) = part.split_once(':').unwrap_or((part, "1"));
        let (first, last) = range.split_once('-').unwrap_or((range, range));
        let (Ok(first), Ok(last), Ok(stride)) = (
            first.parse::<usize>(),
            last.parse::<usize>(),
            stride.parse::<usize>(),
        ) else {
            return bad();
        };
        if first > last || stride == 0 || last >= 1 << 16 {
            return bad();
        }
        for cpu in (first..=last).step_by(stride) {
            if words.len() <= cpu / 64 {
                words.resize(cpu / 64 + 1, 0);
            }
            words[cpu / 64] |= 1 << (cpu % 64);
        }
    }
    if words.iter().all(|w| *w == 0) {
        return bad();
    }
    Ok(words)
}

/// A personality: setarch's names (`linux32`, `addr-no-randomize`, ...) or a number, several
/// joined with commas (`linux32,addr-no-randomize`).
pub fn personality(text: &str) -> Outcome<u32> {
    let mut value = 0u32;
    for name in text.split(',').map(str::trim) {
        value |= match name.to_ascii_lowercase().replace('_', "-").as_str() {
            "linux" => 0x0000,
            "linux32" | "i386" | "i486" | "i586" | "i686" => 0x0008,
            "addr-no-randomize" | "-r" => 0x0040000,
            "uname26" => 0x0020000,
            "fdpic-funcptrs" => 0x0080000,
            "mmap-page-zero" => 0x0100000,
            "addr-compat-layout" => 0x0200000,
            "read-implies-exec" => 0x0400000,
            "addr-limit-32bit" => 0x0800000,
            "short-inode" => 0x1000000,
            "whole-seconds" => 0x2000000,
            "sticky-timeouts" => 0x4000000,
            "addr-limit-3gb" => 0x8000000,
            other => {
                let number = other
                    .strip_prefix("0x")
                    .map(|hex| u32::from_str_radix(hex, 16))
                    .unwrap_or_else(|| other.parse());
                match number {
                    Ok(number) => number,
                    Err(_) => return refuse(format!("unknown personality {name:?}")),
                }
            }
        };
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_signal_sets_and_policies() {
        assert_eq!(pgroup("new").unwrap(), ProcessGroup::New);
        assert_eq!(pgroup("42").unwrap(), ProcessGroup::Join(42));
        assert!(pgroup("-3").is_err());
        assert_eq!(signal_set("INT,TERM").unwrap(), 1 << 1 | 1 << 14);
        assert_eq!(signal_set("").unwrap(), 0);
        assert!(signal_set("INT,NOPE").is_err());
        let s = sched("fifo:10").unwrap();
        assert_eq!((s.policy, s.priority), (1, 10));
        assert_eq!(sched("SCHED_BATCH").unwrap().policy, 3);
        assert!(sched("fast").is_err());
    }

    #[test]
    fn io_priorities_as_ionice_and_oci_name_them() {
        assert_eq!(
            ioprio("best-effort:7").unwrap(),
            IoPriority { class: 2, level: 7 }
        );
        assert_eq!(
            ioprio("IOPRIO_CLASS_RT").unwrap(),
            IoPriority { class: 1, level: 4 }
        );
        assert_eq!(ioprio("idle").unwrap(), IoPriority { class: 3, level: 0 });
        assert!(ioprio("fast").is_err());
    }

    #[test]
    fn cpu_lists_as_taskset_takes_them() {
        assert_eq!(cpus("0-3,6").unwrap(), [0b100_1111]);
        assert_eq!(cpus("0-6:2").unwrap(), [0b101_0101]);
        assert_eq!(cpus("65").unwrap(), [0, 0b10]);
        assert!(cpus("3-1").is_err());
        assert!(cpus("x").is_err());
        assert!(cpus("").is_err());
    }

    #[test]
    fn personalities_by_setarch_name() {
        assert_eq!(personality("linux32").unwrap(), 8);
        assert_eq!(personality("linux32,addr-no-randomize").unwrap(), 0x0040008);
        assert_eq!(personality("0x0040000").unwrap(), 0x0040000);
        assert!(personality("amiga").is_err());
    }
}

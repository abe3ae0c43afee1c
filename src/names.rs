//! Names of capabilities and resource limits, so that an error says `CAP_NET_ADMIN (12)` or
//! `RLIMIT_NOFILE` rather than a bare number, and so that a front end (the `sprout` command,
//! an OCI `process` object) can take them by name.

/// capabilities(7), indexed by capability number; a kernel may know more than these.
const CAPABILITIES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// getrlimit(2), indexed by resource number.
const RESOURCES: [&str; 16] = [
    "RLIMIT_CPU",
    "RLIMIT_FSIZE",
    "RLIMIT_DATA",
    "RLIMIT_STACK",
    "RLIMIT_CORE",
    "RLIMIT_RSS",
    "RLIMIT_NPROC",
    "RLIMIT_NOFILE",
    "RLIMIT_MEMLOCK",
    "RLIMIT_AS",
    "RLIMIT_LOCKS",
    "RLIMIT_SIGPENDING",
    "RLIMIT_MSGQUEUE",
    "RLIMIT_NICE",
    "RLIMIT_RTPRIO",
    "RLIMIT_RTTIME",
];

/// How many resources Linux has (RLIMIT_RTTIME is the last); the kernel refuses any other.
pub(crate) const RESOURCE_COUNT: i32 = RESOURCES.len() as i32;

/// `CAP_NET_ADMIN (12)`, or `capability 45` for a number without a name.
pub fn capability(bit: u32) -> String {
    match CAPABILITIES.get(bit as usize) {
        Some(name) => format!("{name} ({bit})"),
        None => format!("capability {bit}"),
    }
}

/// `RLIMIT_NOFILE`, or `resource 99` for a number Linux does not have.
pub fn resource(resource: i32) -> String {
    match usize::try_from(resource)
        .ok()
        .and_then(|r| RESOURCES.get(r))
    {
        Some(name) => (*name).to_owned(),
        None => format!("resource {resource}"),
    }
}

/// The number of a capability by its name: `CAP_NET_ADMIN`, `cap_net_admin` or `net_admin`
/// (case does not matter), as capabilities(7), runc and setpriv spell it.
pub fn capability_number(name: &str) -> Option<u32> {
    let upper = name.to_ascii_uppercase();
    let full = upper.strip_prefix("CAP_").unwrap_or(&upper);
    CAPABILITIES
        .iter()
        .position(|known| &known[4..] == full)
        .map(|bit| bit as u32)
}

/// The number of a resource by its name: `RLIMIT_NOFILE`, `rlimit_nofile` or `nofile`.
pub fn resource_number(name: &str) -> Option<i32> {
    let upper = name.to_ascii_uppercase();
    let short = upper.strip_prefix("RLIMIT_").unwrap_or(&upper);
    RESOURCES
        .iter()
        .position(|known| &known[7..] == short)
        .map(|resource| resource as i32)
}

/// The bare name of a capability this table knows (`CAP_NET_ADMIN`), without its number.
pub fn capability_name(bit: u32) -> Option<&'static str> {
    CAPABILITIES.get(bit as usize).copied()
}

/// A limit as getrlimit shows it: a number, or `unlimited` for RLIM_INFINITY.
pub fn limit(value: u64) -> String {
    if value == libc::RLIM_INFINITY {
        "unlimited".to_owned()
    } else {
        value.to_string()
    }
}

/// The highest capability number the running kernel knows: /proc/sys/kernel/cap_last_cap, or
/// where /proc is not mounted, the last bit PR_CAPBSET_READ accepts. Read once: it cannot
/// change while the kernel runs. Threads that ask at once may each read it (they find the
/// same): a one-time initialisation under way on another thread would never end in a copy
/// made by fork at that moment.
pub fn last_capability() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const UNKNOWN: u32 = u32::MAX;
    static LAST: AtomicU32 = AtomicU32::new(UNKNOWN);
    let known = LAST.load(Ordering::Relaxed);
    if known != UNKNOWN {
        return known;
    }
    let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
        .unwrap_or_else(|| {
            // SAFETY: PR_CAPBSET_READ only reads this thread's bounding set; it fails with
            // EINVAL for a number above the last capability.
            (1..64u32)
                .take_while(|&bit| unsafe { libc::prctl(libc::PR_CAPBSET_READ, bit) } >= 0)
                .last()
                .unwrap_or(0)
        })
        .min(63);
    LAST.store(last, Ordering::Relaxed);
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_kernel_numbers() {
        assert_eq!(capability(12), "CAP_NET_ADMIN (12)");
        assert_eq!(capability(40), "CAP_CHECKPOINT_RESTORE (40)");
        assert_eq!(capability(45), "capability 45");
        assert_eq!(resource(libc::RLIMIT_NOFILE as i32), "RLIMIT_NOFILE");
        assert_eq!(resource(libc::RLIMIT_RTTIME as i32), "RLIMIT_RTTIME");
        assert_eq!(resource(-1), "resource -1");
        assert_eq!(limit(u64::MAX), "unlimited");
    }

    #[test]
    fn names_are_found_in_any_spelling() {
        assert_eq!(capability_number("CAP_NET_ADMIN"), Some(12));
        assert_eq!(capability_number("net_admin"), Some(12));
        assert_eq!(capability_number("Cap_Chown"), Some(0));
        assert_eq!(capability_number("CAP_NOPE"), None);
        assert_eq!(capability_number("CAP_"), None);
        assert_eq!(resource_number("RLIMIT_NOFILE"), Some(7));
        assert_eq!(resource_number("nofile"), Some(7));
        assert_eq!(resource_number("rttime"), Some(15));
        assert_eq!(resource_number("files"), None);
        assert_eq!(capability_name(12), Some("CAP_NET_ADMIN"));
    }
}

//! Names of capabilities and resource limits, so that an error says `CAP_NET_ADMIN (12)` or
//! `RLIMIT_NOFILE` rather than a bare number.

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

/// A limit as getrlimit shows it: a number, or `unlimited` for RLIM_INFINITY.
pub fn limit(value: u64) -> String {
    if value == libc::RLIM_INFINITY {
        "unlimited".to_owned()
    } else {
        value.to_string()
    }
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
}

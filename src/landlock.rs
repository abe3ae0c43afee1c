//! Landlock rulesets for the processes sprout starts: the rights named as in the kernel's uapi
//! (`<linux/landlock.h>`), the running kernel's Landlock ABI version, and a ruleset built in
//! one call from path, port and scope rules, strictly or on a best-effort basis.
//!
//! Raw system calls through libc rather than the `landlock` crate: the child must restrict
//! itself with a raw `landlock_restrict_self` anyway (it runs no library code), the parent needs
//! only `landlock_create_ruleset` and `landlock_add_rule` on three small structs, and the crate's
//! model (a ruleset applied to the calling thread, with its own compatibility levels) is not
//! the one here: a ruleset fd handed to another process, and a report of exactly which rights
//! a best-effort ruleset left out.

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

use crate::error::{Error, Result, Stage};

/// `LANDLOCK_ACCESS_FS_*`: what a file hierarchy allows (`Ruleset::handled.fs`, path rules).
pub const ACCESS_FS_EXECUTE: u64 = 1 << 0;
pub const ACCESS_FS_WRITE_FILE: u64 = 1 << 1;
pub const ACCESS_FS_READ_FILE: u64 = 1 << 2;
pub const ACCESS_FS_READ_DIR: u64 = 1 << 3;
pub const ACCESS_FS_REMOVE_DIR: u64 = 1 << 4;
pub const ACCESS_FS_REMOVE_FILE: u64 = 1 << 5;
pub const ACCESS_FS_MAKE_CHAR: u64 = 1 << 6;
pub const ACCESS_FS_MAKE_DIR: u64 = 1 << 7;
pub const ACCESS_FS_MAKE_REG: u64 = 1 << 8;
pub const ACCESS_FS_MAKE_SOCK: u64 = 1 << 9;
pub const ACCESS_FS_MAKE_FIFO: u64 = 1 << 10;
pub const ACCESS_FS_MAKE_BLOCK: u64 = 1 << 11;
pub const ACCESS_FS_MAKE_SYM: u64 = 1 << 12;
/// Landlock ABI 2 (Linux 5.19).
pub const ACCESS_FS_REFER: u64 = 1 << 13;
/// Landlock ABI 3 (Linux 6.2).
pub const ACCESS_FS_TRUNCATE: u64 = 1 << 14;
/// Landlock ABI 5 (Linux 6.10).
pub const ACCESS_FS_IOCTL_DEV: u64 = 1 << 15;
/// `LANDLOCK_ACCESS_NET_*`, Landlock ABI 4 (Linux 6.7): what a TCP port allows.
pub const ACCESS_NET_BIND_TCP: u64 = 1 << 0;
pub const ACCESS_NET_CONNECT_TCP: u64 = 1 << 1;
/// `LANDLOCK_SCOPE_*`, Landlock ABI 6 (Linux 6.12): what the process may not reach outside its
/// Landlock domain.
pub const SCOPE_ABSTRACT_UNIX_SOCKET: u64 = 1 << 0;
pub const SCOPE_SIGNAL: u64 = 1 << 1;
/// `LANDLOCK_RESTRICT_SELF_*`, flags of `landlock_restrict_self`, Landlock ABI 7 (Linux 6.15):
/// audit logging of the denials.
pub const RESTRICT_SELF_LOG_SAME_EXEC_OFF: u32 = 1 << 0;
pub const RESTRICT_SELF_LOG_NEW_EXEC_ON: u32 = 1 << 1;
pub const RESTRICT_SELF_LOG_SUBDOMAINS_OFF: u32 = 1 << 2;

/// The rights that apply to a file (the others only to the content of a directory).
const ACCESS_FILE: u64 = ACCESS_FS_EXECUTE
    | ACCESS_FS_WRITE_FILE
    | ACCESS_FS_READ_FILE
    | ACCESS_FS_TRUNCATE
    | ACCESS_FS_IOCTL_DEV;

/// Every right of each kind, with its name and the Landlock ABI that brought it.
const FS_RIGHTS: &[(u64, &str, u32)] = &[
    (ACCESS_FS_EXECUTE, "LANDLOCK_ACCESS_FS_EXECUTE", 1),
    (ACCESS_FS_WRITE_FILE, "LANDLOCK_ACCESS_FS_WRITE_FILE", 1),
    (ACCESS_FS_READ_FILE, "LANDLOCK_ACCESS_FS_READ_FILE", 1),
    (ACCESS_FS_READ_DIR, "LANDLOCK_ACCESS_FS_READ_DIR", 1),
    (ACCESS_FS_REMOVE_DIR, "LANDLOCK_ACCESS_FS_REMOVE_DIR", 1),
    (ACCESS_FS_REMOVE_FILE, "LANDLOCK_ACCESS_FS_REMOVE_FILE", 1),
    (ACCESS_FS_MAKE_CHAR, "LANDLOCK_ACCESS_FS_MAKE_CHAR", 1),
    (ACCESS_FS_MAKE_DIR, "LANDLOCK_ACCESS_FS_MAKE_DIR", 1),
    (ACCESS_FS_MAKE_REG, "LANDLOCK_ACCESS_FS_MAKE_REG", 1),
    (ACCESS_FS_MAKE_SOCK, "LANDLOCK_ACCESS_FS_MAKE_SOCK", 1),
    (ACCESS_FS_MAKE_FIFO, "LANDLOCK_ACCESS_FS_MAKE_FIFO", 1),
    (ACCESS_FS_MAKE_BLOCK, "LANDLOCK_ACCESS_FS_MAKE_BLOCK", 1),
    (ACCESS_FS_MAKE_SYM, "LANDLOCK_ACCESS_FS_MAKE_SYM", 1),
    (ACCESS_FS_REFER, "LANDLOCK_ACCESS_FS_REFER", 2),
    (ACCESS_FS_TRUNCATE, "LANDLOCK_ACCESS_FS_TRUNCATE", 3),
    (ACCESS_FS_IOCTL_DEV, "LANDLOCK_ACCESS_FS_IOCTL_DEV", 5),
];
const NET_RIGHTS: &[(u64, &str, u32)] = &[
    (ACCESS_NET_BIND_TCP, "LANDLOCK_ACCESS_NET_BIND_TCP", 4),
    (ACCESS_NET_CONNECT_TCP, "LANDLOCK_ACCESS_NET_CONNECT_TCP", 4),
];
const SCOPES: &[(u64, &str, u32)] = &[
    (
        SCOPE_ABSTRACT_UNIX_SOCKET,
        "LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET",
        6,
    ),
    (SCOPE_SIGNAL, "LANDLOCK_SCOPE_SIGNAL", 6),
];
const RESTRICT_FLAGS: &[(u64, &str, u32)] = &[
    (
        RESTRICT_SELF_LOG_SAME_EXEC_OFF as u64,
        "LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF",
        7,
    ),
    (
        RESTRICT_SELF_LOG_NEW_EXEC_ON as u64,
        "LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON",
        7,
    ),
    (
        RESTRICT_SELF_LOG_SUBDOMAINS_OFF as u64,
        "LANDLOCK_RESTRICT_SELF_LOG_SUBDOMAINS_OFF",
        7,
    ),
];

/// Every `LANDLOCK_ACCESS_FS_*` right this library knows.
pub const ACCESS_FS_ALL: u64 = (ACCESS_FS_IOCTL_DEV << 1) - 1;
/// Every `LANDLOCK_ACCESS_NET_*` right this library knows.
pub const ACCESS_NET_ALL: u64 = ACCESS_NET_BIND_TCP | ACCESS_NET_CONNECT_TCP;
/// Every `LANDLOCK_SCOPE_*` this library knows.
pub const SCOPE_ALL: u64 = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL;

/// The Linux release of each Landlock ABI, for messages.
fn linux_of(abi: u32) -> &'static str {
    match abi {
        1 => "5.13",
        2 => "5.19",
        3 => "6.2",
        4 => "6.7",
        5 => "6.10",
        6 => "6.12",
        _ => "6.15",
    }
}

/// Rights of the three kinds: what a ruleset handles, or what a best-effort one dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Access {
    /// `LANDLOCK_ACCESS_FS_*`.
    pub fs: u64,
    /// `LANDLOCK_ACCESS_NET_*`.
    pub net: u64,
    /// `LANDLOCK_SCOPE_*`.
    pub scoped: u64,
}

/// The file hierarchy a path rule names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Beneath {
    /// Opened by the library (O_PATH), then closed.
    Path(CString),
    /// An open fd of the caller's (O_PATH is enough).
    Fd(RawFd),
}

/// What a file hierarchy allows: `access` is `LANDLOCK_ACCESS_FS_*` rights, within the
/// ruleset's handled ones. On a file (not a directory), the rights that apply only to the
/// content of a directory are left out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathRule {
    pub beneath: Beneath,
    pub access: u64,
}

/// What a TCP port allows: `LANDLOCK_ACCESS_NET_BIND_TCP` and/or `_CONNECT_TCP`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRule {
    pub port: u64,
    pub access: u64,
}

/// A ruleset: the rights it handles (denied unless a rule allows them), the rules, and the
/// mode.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ruleset {
    pub handled: Access,
    pub paths: Vec<PathRule>,
    pub ports: Vec<PortRule>,
    /// Drop what the running kernel's Landlock ABI cannot enforce (and report it) instead of
    /// failing with `EOPNOTSUPP`, as the Landlock documentation recommends.
    pub best_effort: bool,
}

const CREATE_RULESET_VERSION: u32 = 1 << 0;
const RULE_PATH_BENEATH: u32 = 1;
const RULE_NET_PORT: u32 = 2;

/// `struct landlock_ruleset_attr` (ABI 6's, the kernel takes a shorter one's zero tail).
#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
    handled_access_net: u64,
    scoped: u64,
}

/// `struct landlock_path_beneath_attr`, packed as the kernel declares it.
#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// `struct landlock_net_port_attr`.
#[repr(C)]
struct NetPortAttr {
    allowed_access: u64,
    port: u64,
}

/// The Landlock ABI version of the running kernel (1 for Linux 5.13, 7 for 6.15); `EOPNOTSUPP`
/// when Landlock is built in but not enabled (not in the `lsm=` list at boot), `ENOSYS` when
/// the kernel has no Landlock at all.
pub fn abi_version() -> std::result::Result<u32, Errno> {
    // SAFETY: with LANDLOCK_CREATE_RULESET_VERSION the kernel reads no attribute (NULL, 0).
    let version = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<RulesetAttr>(),
            0usize,
            CREATE_RULESET_VERSION,
        )
    };
    if version < 0 {
        return Err(Errno::last());
    }
    Ok(version as u32)
}

fn abi_or_error() -> Result<u32> {
    abi_version().map_err(|errno| {
        let why = match errno {
            Errno::EOPNOTSUPP => "Landlock is not enabled in this kernel (see its lsm= list)",
            Errno::ENOSYS => "this kernel has no Landlock (Linux 5.13 brought it)",
            _ => "asking the kernel for its Landlock ABI version",
        };
        Error::new(Stage::Landlock, errno, why)
    })
}

/// The names of the bits of `set` in `table`, "A | B"; unknown bits in hex.
fn names(set: u64, table: &[(u64, &str, u32)]) -> String {
    let mut parts: Vec<String> = table
        .iter()
        .filter(|(bit, _, _)| set & bit != 0)
        .map(|(_, name, _)| (*name).to_owned())
        .collect();
    let unknown = set & !table.iter().fold(0, |all, (bit, _, _)| all | bit);
    if unknown != 0 {
        parts.push(format!("{unknown:#x}"));
    }
    parts.join(" | ")
}

/// Of `set`, what the Landlock ABI `abi` has.
fn supported(set: u64, table: &[(u64, &str, u32)], abi: u32) -> u64 {
    table
        .iter()
        .filter(|(_, _, since)| *since <= abi)
        .fold(0, |all, (bit, _, _)| all | bit)
        & set
}

/// `EOPNOTSUPP` naming the first right of `missing` (a non-empty part of `set`), and the ABI it
/// needs.
fn unsupported(what: &str, missing: u64, table: &[(u64, &str, u32)], abi: u32) -> Error {
    let (_, name, since) = table
        .iter()
        .find(|(bit, _, _)| missing & bit != 0)
        .copied()
        .unwrap_or((missing, "?", 0));
    Error::new(
        Stage::Landlock,
        Errno::EOPNOTSUPP,
        format!(
            "{what}: {name} needs Landlock ABI {since} (Linux {}); this kernel has ABI {abi}",
            linux_of(since)
        ),
    )
}

/// Refuses bits of `set` this library does not know.
fn check_known(what: &str, set: u64, table: &[(u64, &str, u32)]) -> Result<()> {
    let known = table.iter().fold(0, |all, (bit, _, _)| all | bit);
    if set & !known != 0 {
        return Err(Error::args(
            Errno::EINVAL,
            format!("{what}: unknown bits {:#x}", set & !known),
        ));
    }
    Ok(())
}

impl Ruleset {
    /// Builds the ruleset in the kernel: a new close-on-exec ruleset fd, to hand to a spawn
    /// (`Spec::landlock`), and the rights left out because the running kernel cannot enforce
    /// them (all zero unless `best_effort`; in strict mode such a right is `EOPNOTSUPP`, stage
    /// LANDLOCK, naming it). A rule whose rights were all left out is left out; so is every
    /// port rule when the kernel has no network rights.
    ///
    /// Refused with `EINVAL`, stage ARGS: an unknown bit, a rule right outside the handled
    /// ones, a rule with no right, a path rule without a path or fd. A path that cannot be
    /// opened, or a rule the kernel refuses, is stage LANDLOCK naming the rule.
    pub fn create(&self) -> Result<(OwnedFd, Access)> {
        self.check()?;
        self.create_for(abi_or_error()?)
    }

    /// `create` on a kernel of Landlock ABI `abi` (or later: what an older ABI lacks is left
    /// out or refused as on that ABI).
    fn create_for(&self, abi: u32) -> Result<(OwnedFd, Access)> {
        let handled = Access {
            fs: supported(self.handled.fs, FS_RIGHTS, abi),
            net: supported(self.handled.net, NET_RIGHTS, abi),
            scoped: supported(self.handled.scoped, SCOPES, abi),
        };
        let dropped = Access {
            fs: self.handled.fs & !handled.fs,
            net: self.handled.net & !handled.net,
            scoped: self.handled.scoped & !handled.scoped,
        };
        if !self.best_effort {
            if dropped.fs != 0 {
                return Err(unsupported("handled_access_fs", dropped.fs, FS_RIGHTS, abi));
            }
            if dropped.net != 0 {
                return Err(unsupported(
                    "handled_access_net",
                    dropped.net,
                    NET_RIGHTS,
                    abi,
                ));
            }
            if dropped.scoped != 0 {
                return Err(unsupported("scoped", dropped.scoped, SCOPES, abi));
            }
        }
        let attr = RulesetAttr {
            handled_access_fs: handled.fs,
            handled_access_net: handled.net,
            scoped: handled.scoped,
        };
        // SAFETY: the attribute lives on this stack for the call; the kernel takes the size
        // of a newer ABI's struct as long as the fields it does not know are zero, which the
        // `supported` masks make them.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                &raw const attr,
                size_of::<RulesetAttr>(),
                0u32,
            )
        };
        if fd < 0 {
            return Err(Error::new(
                Stage::Landlock,
                Errno::last(),
                format!(
                    "creating a ruleset (handled_access_fs {:#x}, handled_access_net {:#x}, \
                     scoped {:#x})",
                    handled.fs, handled.net, handled.scoped
                ),
            ));
        }
        // SAFETY: a new close-on-exec fd (landlock_create_ruleset always sets O_CLOEXEC) that
        // nothing else owns.
        let ruleset = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
        for (index, rule) in self.paths.iter().enumerate() {
            let access = rule.access & handled.fs;
            if access != 0 {
                add_path_rule(&ruleset, index, rule, access)?;
            }
        }
        for (index, rule) in self.ports.iter().enumerate() {
            let access = rule.access & handled.net;
            if access != 0 {
                add_port_rule(&ruleset, index, rule, access)?;
            }
        }
        Ok((ruleset, dropped))
    }

    /// What can be refused without the kernel.
    fn check(&self) -> Result<()> {
        check_known("handled_access_fs", self.handled.fs, FS_RIGHTS)?;
        check_known("handled_access_net", self.handled.net, NET_RIGHTS)?;
        check_known("scoped", self.handled.scoped, SCOPES)?;
        for (index, rule) in self.paths.iter().enumerate() {
            let what = format!("paths[{index}]");
            check_known(&what, rule.access, FS_RIGHTS)?;
            check_rule_access(&what, rule.access, self.handled.fs, FS_RIGHTS, "fs")?;
            if let Beneath::Fd(fd) = rule.beneath {
                if fd < 0 {
                    return Err(Error::args(
                        Errno::EBADF,
                        format!("{what}: no path, and fd {fd}"),
                    ));
                }
            }
        }
        for (index, rule) in self.ports.iter().enumerate() {
            let what = format!("ports[{index}] (port {})", rule.port);
            check_known(&what, rule.access, NET_RIGHTS)?;
            check_rule_access(&what, rule.access, self.handled.net, NET_RIGHTS, "net")?;
            if rule.port > u64::from(u16::MAX) {
                return Err(Error::args(
                    Errno::EINVAL,
                    format!("{what}: not a TCP port (0-65535)"),
                ));
            }
        }
        Ok(())
    }
}

/// A rule's rights: at least one, all of them handled by the ruleset (a right it does not
/// handle is allowed everywhere already: asking for it is a mistake the kernel refuses too).
fn check_rule_access(
    what: &str,
    access: u64,
    handled: u64,
    table: &[(u64, &str, u32)],
    kind: &str,
) -> Result<()> {
    if access == 0 {
        return Err(Error::args(Errno::EINVAL, format!("{what}: no right")));
    }
    if access & !handled != 0 {
        return Err(Error::args(
            Errno::EINVAL,
            format!(
                "{what}: {} not in handled_access_{kind}",
                names(access & !handled, table)
            ),
        ));
    }
    Ok(())
}

fn add_path_rule(ruleset: &OwnedFd, index: usize, rule: &PathRule, access: u64) -> Result<()> {
    let what = match &rule.beneath {
        Beneath::Path(path) => format!("paths[{index}] {}", path.to_string_lossy()),
        Beneath::Fd(fd) => format!("paths[{index}] fd {fd}"),
    };
    let failed = |errno, why: &str| Error::new(Stage::Landlock, errno, format!("{what}{why}"));
    let opened;
    let parent = match &rule.beneath {
        Beneath::Path(path) => {
            opened = nix::fcntl::open(
                path.as_c_str(),
                nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
            .map_err(|errno| failed(errno, ""))?;
            opened.as_raw_fd()
        }
        Beneath::Fd(fd) => *fd,
    };
    // SAFETY: an fd of the caller's or the one just opened, borrowed for the fstat.
    let is_dir = nix::sys::stat::fstat(unsafe { BorrowedFd::borrow_raw(parent) })
        .map_err(|errno| failed(errno, ""))?
        .st_mode
        & libc::S_IFMT
        == libc::S_IFDIR;
    let allowed_access = if is_dir { access } else { access & ACCESS_FILE };
    if allowed_access == 0 {
        return Ok(());
    }
    let attr = PathBeneathAttr {
        allowed_access,
        parent_fd: parent,
    };
    // SAFETY: the attribute lives on this stack; the kernel copies it.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_landlock_add_rule,
            ruleset.as_raw_fd(),
            RULE_PATH_BENEATH,
            &raw const attr,
            0u32,
        )
    };
    if ret < 0 {
        return Err(failed(
            Errno::last(),
            &format!(" ({})", names(allowed_access, FS_RIGHTS)),
        ));
    }
    Ok(())
}

fn add_port_rule(ruleset: &OwnedFd, index: usize, rule: &PortRule, access: u64) -> Result<()> {
    let attr = NetPortAttr {
        allowed_access: access,
        port: rule.port,
    };
    // SAFETY: the attribute lives on this stack; the kernel copies it.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_landlock_add_rule,
            ruleset.as_raw_fd(),
            RULE_NET_PORT,
            &raw const attr,
            0u32,
        )
    };
    if ret < 0 {
        return Err(Error::new(
            Stage::Landlock,
            Errno::last(),
            format!(
                "ports[{index}] (port {}, {})",
                rule.port,
                names(access, NET_RIGHTS)
            ),
        ));
    }
    Ok(())
}

/// Checks a spawn's `landlock_restrict_self` flags: known, and within the running kernel's
/// ABI (`EOPNOTSUPP`, stage ARGS, naming the flag, otherwise).
pub(crate) fn check_restrict_flags(flags: u32) -> Result<()> {
    check_known("landlock_restrict_flags", u64::from(flags), RESTRICT_FLAGS)?;
    if flags == 0 {
        return Ok(());
    }
    let abi = abi_or_error()?;
    let missing = u64::from(flags) & !supported(u64::from(flags), RESTRICT_FLAGS, abi);
    if missing != 0 {
        let mut error = unsupported("landlock_restrict_flags", missing, RESTRICT_FLAGS, abi);
        error.stage = Stage::Args;
        return Err(error);
    }
    Ok(())
}

/// The names of `landlock_restrict_self` flags, for messages.
pub(crate) fn restrict_flag_names(flags: u32) -> String {
    names(u64::from(flags), RESTRICT_FLAGS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_list_each_right_and_the_unknown_rest() {
        assert_eq!(
            names(ACCESS_FS_READ_FILE | ACCESS_FS_EXECUTE, FS_RIGHTS),
            "LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE"
        );
        assert_eq!(
            names(1 << 40 | SCOPE_SIGNAL, SCOPES),
            "LANDLOCK_SCOPE_SIGNAL | 0x10000000000"
        );
    }

    #[test]
    fn an_older_abi_keeps_only_what_it_has() {
        assert_eq!(supported(ACCESS_FS_ALL, FS_RIGHTS, 1), (1 << 13) - 1);
        assert_eq!(supported(ACCESS_FS_ALL, FS_RIGHTS, 3), (1 << 15) - 1);
        assert_eq!(supported(ACCESS_FS_ALL, FS_RIGHTS, 5), ACCESS_FS_ALL);
        assert_eq!(supported(ACCESS_NET_ALL, NET_RIGHTS, 3), 0);
        assert_eq!(supported(SCOPE_ALL, SCOPES, 6), SCOPE_ALL);
        let error = unsupported("scoped", SCOPE_SIGNAL, SCOPES, 5);
        assert_eq!(
            error.subject,
            "scoped: LANDLOCK_SCOPE_SIGNAL needs Landlock ABI 6 (Linux 6.12); this kernel has ABI 5"
        );
    }

    /// What an older kernel would do, on this one: best effort leaves out what that ABI lacks
    /// (and says so), strict refuses it naming the first right.
    #[test]
    fn an_older_abi_drops_or_refuses_what_it_lacks() {
        if abi_version().is_err() {
            return;
        }
        let ruleset = Ruleset {
            handled: Access {
                fs: ACCESS_FS_ALL,
                net: ACCESS_NET_ALL,
                scoped: SCOPE_ALL,
            },
            paths: vec![PathRule {
                beneath: Beneath::Path(c"/usr".to_owned()),
                access: ACCESS_FS_READ_FILE | ACCESS_FS_IOCTL_DEV,
            }],
            ports: vec![PortRule {
                port: 80,
                access: ACCESS_NET_CONNECT_TCP,
            }],
            best_effort: true,
        };
        let (_, dropped) = ruleset.create_for(3).unwrap();
        assert_eq!(
            dropped,
            Access {
                fs: ACCESS_FS_IOCTL_DEV,
                net: ACCESS_NET_ALL,
                scoped: SCOPE_ALL,
            }
        );
        let (_, dropped) = ruleset.create_for(1).unwrap();
        assert_eq!(
            dropped.fs,
            ACCESS_FS_REFER | ACCESS_FS_TRUNCATE | ACCESS_FS_IOCTL_DEV
        );
        let strict = Ruleset {
            best_effort: false,
            ..ruleset
        };
        let error = strict.create_for(4).unwrap_err();
        assert_eq!(
            (error.stage, error.errno, error.subject.as_str()),
            (
                Stage::Landlock,
                Errno::EOPNOTSUPP,
                "handled_access_fs: LANDLOCK_ACCESS_FS_IOCTL_DEV needs Landlock ABI 5 (Linux \
                 6.10); this kernel has ABI 4"
            )
        );
        assert!(strict.create_for(7).is_ok());
    }

    #[test]
    fn rules_must_name_handled_rights() {
        let ruleset = |access| Ruleset {
            handled: Access {
                fs: ACCESS_FS_READ_FILE,
                ..Access::default()
            },
            paths: vec![PathRule {
                beneath: Beneath::Path(c"/usr".to_owned()),
                access,
            }],
            ..Ruleset::default()
        };
        assert!(ruleset(ACCESS_FS_READ_FILE).check().is_ok());
        let error = ruleset(ACCESS_FS_READ_FILE | ACCESS_FS_EXECUTE)
            .check()
            .unwrap_err();
        assert_eq!(
            (error.stage, error.errno, error.subject.as_str()),
            (
                Stage::Args,
                Errno::EINVAL,
                "paths[0]: LANDLOCK_ACCESS_FS_EXECUTE not in handled_access_fs"
            )
        );
        assert_eq!(
            ruleset(0).check().unwrap_err().subject,
            "paths[0]: no right"
        );
        assert_eq!(
            ruleset(1 << 20).check().unwrap_err().subject,
            "paths[0]: unknown bits 0x100000"
        );
    }
}

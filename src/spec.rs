//! The owned description of a process to start, and the checks that need no process.
//!
//! A `Spec` is what a Rust caller builds directly and what the C layer builds from
//! `sprout_exec_args`. `Spec::validate` refuses, before any process exists, everything that can
//! be known to be wrong without trying it.

use std::ffi::CString;
use std::os::fd::RawFd;

use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::names;

/// Which file the new process runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Program {
    /// `argv[0]` names the program (searched in `PATH` when it has no '/').
    Argv0,
    /// A path; searched in `PATH` when it has no '/'.
    Path(CString),
    /// An open file, run with execveat(AT_EMPTY_PATH); it does not survive into the program.
    Fd(RawFd),
}

/// Ids of the new process inside its user namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups; empty means none.
    pub groups: Vec<u32>,
}

/// The five capability sets; bit n is capability n.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub bounding: u64,
    pub ambient: u64,
}

/// One resource limit; `u64::MAX` is unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rlimit {
    pub resource: i32,
    pub soft: u64,
    pub hard: u64,
}

/// A namespace to create (`fd: None`) or join (`fd: Some`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Namespace {
    /// One `CLONE_NEW*` value.
    pub kind: i32,
    pub fd: Option<RawFd>,
}

/// One line of a uid or gid map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdMap {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

/// What to do about sessions and a terminal on stdio (see the `tty` module).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Terminal {
    /// Give the process the terminal its stdio names, if any: a new session with it as the
    /// controlling terminal, or, when it is the caller's own, a new foreground process group
    /// in the caller's session. Without a terminal, stay in the caller's session and group.
    #[default]
    Auto,
    /// Never treat terminal stdio as a controlling terminal: stay in the caller's session and
    /// process group (`SPROUT_EXEC_NO_TTY`).
    Ignore,
    /// A new session without a controlling terminal, whatever stdio is
    /// (`SPROUT_EXEC_NEW_SESSION`): a program handed the caller's terminal cannot push input
    /// into it with TIOCSTI.
    NewSession,
}

/// The process group of the new process (ABI 1.1; see `sprout_exec_args.pgid`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessGroup {
    /// A new group, led by the process (`setpgid(0, 0)`).
    New,
    /// The group with this id, in the caller's session.
    Join(i32),
}

/// A scheduling policy and its parameters, as sched_setattr(2) and the OCI `scheduler` object
/// take them (see `sprout_sched`). `policy` is a `SCHED_*` value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scheduler {
    pub policy: u32,
    pub nice: i32,
    pub priority: u32,
    pub flags: u64,
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
}

/// An I/O scheduling class (`IOPRIO_CLASS_RT` 1, `_BE` 2, `_IDLE` 3) and level (0-7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoPriority {
    pub class: u32,
    pub level: u32,
}

/// The root directory of the new process: a path, or a directory fd of the caller's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Root {
    Path(CString),
    Fd(RawFd),
}

/// Everything about a process to start. `Spec::new(argv)` is a plain spawn: empty environment,
/// working directory "/", umask 022, no open fds, the caller's ids and namespaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    pub program: Program,
    pub argv: Vec<CString>,
    /// `KEY=VALUE` strings, exactly the new process's environment.
    pub env: Vec<CString>,
    pub working_directory: CString,
    pub credentials: Option<Credentials>,
    pub capabilities: Option<Capabilities>,
    pub rlimits: Vec<Rlimit>,
    pub umask: u32,
    pub no_new_privs: bool,
    pub namespaces: Vec<Namespace>,
    pub uid_map: Vec<IdMap>,
    pub gid_map: Vec<IdMap>,
    /// A cgroup2 directory fd the process starts in.
    pub cgroup: Option<RawFd>,
    /// A cBPF program (`struct sock_filter[]`); empty: none.
    pub seccomp_filter: Vec<libc::sock_filter>,
    /// 0: none.
    pub parent_death_signal: i32,
    pub container_id: Option<String>,
    /// `fds[i]` is the caller's fd that becomes fd `i` in the new process; `None` leaves `i`
    /// closed. Every other fd is closed.
    pub fds: Vec<Option<RawFd>>,
    pub terminal: Terminal,
    /// Cgroup directories (v1 hierarchies, or more cgroup2 ones) the process moves itself
    /// into before anything else, with the caller's credentials: on a hybrid host, the v1
    /// cgroups of a container it joins. Empty: none.
    pub extra_cgroups: Vec<RawFd>,
    /// The session keyring: `None` keeps the caller's; `Some(name)` joins the keyring of that
    /// name the process may search, or creates it (KEYCTL_JOIN_SESSION_KEYRING, as runc does
    /// with `_ses.ID`), and an empty name makes a new anonymous one.
    pub session_keyring: Option<CString>,
    /// With no `PATH` in `env`, a name without '/' is not searched in [`crate::DEFAULT_PATH`]
    /// but fails (ENOENT, stage EXEC), as runc and crun fail.
    pub no_default_path: bool,
    // What ABI 1.1 added (see the fields of `sprout_exec_args` for each).
    /// None: the caller's process group (or the one the terminal case makes).
    pub process_group: Option<ProcessGroup>,
    /// The program's signal mask; bit n-1 is signal n.
    pub signal_mask: u64,
    /// Keep the signals the caller ignores ignored, except `default_signals`.
    pub keep_ignored_signals: bool,
    /// With `keep_ignored_signals`: the signals that go back to SIG_DFL all the same.
    pub default_signals: u64,
    /// Keep the caller's umask; `umask` is then not used.
    pub keep_umask: bool,
    pub oom_score_adj: Option<i32>,
    pub scheduler: Option<Scheduler>,
    pub io_priority: Option<IoPriority>,
    /// A CPU set (bit n%64 of word n/64 is CPU n); empty: the caller's affinity.
    pub cpu_affinity: Vec<u64>,
    pub personality: Option<u32>,
    /// The hostname and domain name of a new UTS namespace.
    pub hostname: Option<CString>,
    pub domainname: Option<CString>,
    pub root: Option<Root>,
    /// PTRACE_TRACEME before execve.
    pub ptrace: bool,
    /// Hold before execve until [`crate::start`] (`SPROUT_EXEC2_PAUSED`).
    pub paused: bool,
    /// `SECCOMP_FILTER_FLAG_*` for `seccomp_filter`; with `NEW_LISTENER` the listener goes
    /// to the caller ([`crate::seccomp_listener`]).
    pub seccomp_flags: u64,
    /// A Landlock ruleset the process restricts itself with, last before execve.
    pub landlock: Option<Landlock>,
}

/// A Landlock ruleset to enforce on the new process (see [`crate::landlock`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Landlock {
    /// The caller's ruleset fd (from [`crate::landlock::Ruleset::create`] or the kernel's
    /// landlock_create_ruleset); it does not survive into the program.
    pub ruleset: RawFd,
    /// `LANDLOCK_RESTRICT_SELF_*` flags of landlock_restrict_self.
    pub restrict_flags: u32,
}

impl Spec {
    pub fn new(argv: Vec<CString>) -> Spec {
        Spec {
            program: Program::Argv0,
            argv,
            env: Vec::new(),
            working_directory: c"/".to_owned(),
            credentials: None,
            capabilities: None,
            rlimits: Vec::new(),
            umask: 0o022,
            no_new_privs: false,
            namespaces: Vec::new(),
            uid_map: Vec::new(),
            gid_map: Vec::new(),
            cgroup: None,
            seccomp_filter: Vec::new(),
            parent_death_signal: 0,
            container_id: None,
            fds: Vec::new(),
            terminal: Terminal::Auto,
            extra_cgroups: Vec::new(),
            session_keyring: None,
            no_default_path: false,
            process_group: None,
            signal_mask: 0,
            keep_ignored_signals: false,
            default_signals: 0,
            keep_umask: false,
            oom_score_adj: None,
            scheduler: None,
            io_priority: None,
            cpu_affinity: Vec::new(),
            personality: None,
            hostname: None,
            domainname: None,
            root: None,
            ptrace: false,
            paused: false,
            seccomp_flags: 0,
            landlock: None,
        }
    }

    /// Builds a spec from strings, for callers that have them (the CLI, tests).
    /// Fails with `EINVAL` when a string holds a NUL byte.
    pub fn from_strs<S: AsRef<str>>(argv: &[S]) -> Result<Spec> {
        let argv = argv
            .iter()
            .map(|arg| cstring(arg.as_ref(), "argv"))
            .collect::<Result<Vec<_>>>()?;
        Ok(Spec::new(argv))
    }

    /// Checks everything that can be refused without starting a process, including that every
    /// fd named in the spec is open in the caller.
    pub fn validate(&self) -> Result<()> {
        if self.argv.is_empty() {
            return Err(Error::args(
                Errno::EINVAL,
                "argv is empty: argv[0] is required",
            ));
        }
        if let Program::Path(path) = &self.program {
            if path.is_empty() {
                return Err(Error::args(Errno::EINVAL, "filename is empty"));
            }
        }
        if let Program::Argv0 = self.program {
            if self.argv[0].is_empty() {
                return Err(Error::args(
                    Errno::EINVAL,
                    "argv[0] is empty and names no program",
                ));
            }
        }
        if !self.keep_umask && self.umask & !0o777 != 0 {
            return Err(Error::args(
                Errno::EINVAL,
                format!("umask {:o}", self.umask),
            ));
        }
        if !(0..=64).contains(&self.parent_death_signal) {
            return Err(Error::args(
                Errno::EINVAL,
                format!("parent_death_signal {}", self.parent_death_signal),
            ));
        }
        self.check_credentials()?;
        self.check_capabilities()?;
        self.check_rlimits()?;
        self.check_seccomp_filter()?;
        for (index, fd) in self.fds.iter().enumerate() {
            if let Some(fd) = *fd {
                check_open(fd, || format!("fds[{index}] = {fd}"))?;
            }
        }
        if let Program::Fd(fd) = self.program {
            check_open(fd, || format!("exec_fd {fd}"))?;
        }
        if let Some(fd) = self.cgroup {
            check_open(fd, || format!("cgroup_fd {fd}"))?;
        }
        for (index, &fd) in self.extra_cgroups.iter().enumerate() {
            check_open(fd, || format!("extra_cgroup_fds[{index}] = {fd}"))?;
        }
        if let Some(Root::Fd(fd)) = self.root {
            check_open(fd, || format!("root_fd {fd}"))?;
        }
        if let Some(landlock) = self.landlock {
            let fd = landlock.ruleset;
            check_open(fd, || format!("landlock_ruleset_fd {fd}"))?;
            crate::landlock::check_restrict_flags(landlock.restrict_flags)?;
        }
        crate::namespaces::validate(self)?;
        crate::attributes::validate(self)
    }

    /// `(uid_t)-1` is "leave unchanged" to setresuid and setresgid, so it is no id to ask for.
    fn check_credentials(&self) -> Result<()> {
        let Some(credentials) = &self.credentials else {
            return Ok(());
        };
        let no_id = |what: String| {
            Err(Error::args(
                Errno::EINVAL,
                format!("{what} is 4294967295, which is (uid_t)-1 and names no id"),
            ))
        };
        if credentials.uid == u32::MAX {
            return no_id("credentials.uid".into());
        }
        if credentials.gid == u32::MAX {
            return no_id("credentials.gid".into());
        }
        if let Some(index) = credentials.groups.iter().position(|&g| g == u32::MAX) {
            return no_id(format!("credentials.extra_gids[{index}]"));
        }
        check_extra_gids_len(credentials.groups.len())
    }

    /// Every bit must be a capability of the running kernel, and the sets must be a state the
    /// kernel can hold: effective within permitted, ambient within permitted and inheritable.
    fn check_capabilities(&self) -> Result<()> {
        let Some(caps) = &self.capabilities else {
            return Ok(());
        };
        let last = names::last_capability();
        let known = capability_mask(last);
        let sets = [
            ("effective", caps.effective),
            ("permitted", caps.permitted),
            ("inheritable", caps.inheritable),
            ("bounding", caps.bounding),
            ("ambient", caps.ambient),
        ];
        for (name, set) in sets {
            if let Some(bit) = lowest_bit(set & !known) {
                return Err(Error::args(
                    Errno::EINVAL,
                    format!(
                        "capabilities.{name}: bit {bit} is above cap_last_cap {last} of this kernel"
                    ),
                ));
            }
        }
        if let Some(bit) = lowest_bit(caps.effective & !caps.permitted) {
            return Err(Error::args(
                Errno::EINVAL,
                format!(
                    "capabilities.effective: {} is not in permitted",
                    names::capability(bit)
                ),
            ));
        }
        if let Some(bit) = lowest_bit(caps.ambient & !(caps.permitted & caps.inheritable)) {
            return Err(Error::args(
                Errno::EINVAL,
                format!(
                    "capabilities.ambient: {} is not in both permitted and inheritable",
                    names::capability(bit)
                ),
            ));
        }
        Ok(())
    }

    /// A known resource, soft within hard, and each resource once (two entries for one
    /// resource would leave the outcome to their order).
    fn check_rlimits(&self) -> Result<()> {
        for (index, limit) in self.rlimits.iter().enumerate() {
            let invalid = |what: String| {
                Err(Error::args(
                    Errno::EINVAL,
                    format!("limits[{index}]: {what}"),
                ))
            };
            if !(0..names::RESOURCE_COUNT).contains(&limit.resource) {
                return invalid(format!("unknown resource {}", limit.resource));
            }
            let name = names::resource(limit.resource);
            if limit.soft > limit.hard {
                return invalid(format!(
                    "{name} soft limit {} is above the hard limit {}",
                    names::limit(limit.soft),
                    names::limit(limit.hard)
                ));
            }
            if let Some(first) = self.rlimits[..index]
                .iter()
                .position(|other| other.resource == limit.resource)
            {
                return invalid(format!("{name} is already set by limits[{first}]"));
            }
        }
        Ok(())
    }

    /// The kernel takes at most BPF_MAXINSNS instructions, and sock_fprog counts them in 16
    /// bits: a longer program could not even be handed over intact. Flags only with a filter,
    /// and only those that mean something for one process about to run one program.
    fn check_seccomp_filter(&self) -> Result<()> {
        check_seccomp_filter_len(self.seccomp_filter.len())?;
        let flags = self.seccomp_flags;
        let refuse = |what: String| Err(Error::args(Errno::EINVAL, what));
        if flags & !SECCOMP_FLAGS_KNOWN != 0 {
            return refuse(format!(
                "seccomp_flags: unknown bits {:#x}",
                flags & !SECCOMP_FLAGS_KNOWN
            ));
        }
        if flags & SECCOMP_TSYNC_FLAGS != 0 {
            return refuse(format!(
                "seccomp_flags: {}: the process is one thread until its program starts more, \
                 and they inherit the filter",
                seccomp_flag_names(flags & SECCOMP_TSYNC_FLAGS)
            ));
        }
        if flags != 0 && self.seccomp_filter.is_empty() {
            return refuse(format!(
                "seccomp_flags {} without a seccomp_filter",
                seccomp_flag_names(flags)
            ));
        }
        let listener = libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
        let killable = libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
        if flags & killable != 0 && flags & listener == 0 {
            return refuse(
                "seccomp_flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV without \
                 SECCOMP_FILTER_FLAG_NEW_LISTENER, whose notifications it is about"
                    .to_owned(),
            );
        }
        Ok(())
    }
}

/// The `SECCOMP_FILTER_FLAG_*` bits, with their names.
const SECCOMP_FLAGS: &[(u64, &str)] = &[
    (libc::SECCOMP_FILTER_FLAG_TSYNC, "SECCOMP_FILTER_FLAG_TSYNC"),
    (libc::SECCOMP_FILTER_FLAG_LOG, "SECCOMP_FILTER_FLAG_LOG"),
    (
        libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    ),
    (
        libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
        "SECCOMP_FILTER_FLAG_NEW_LISTENER",
    ),
    (
        libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH,
        "SECCOMP_FILTER_FLAG_TSYNC_ESRCH",
    ),
    (
        libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    ),
];
const SECCOMP_FLAGS_KNOWN: u64 = (libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV << 1) - 1;
const SECCOMP_TSYNC_FLAGS: u64 =
    libc::SECCOMP_FILTER_FLAG_TSYNC | libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH;

/// "SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_NEW_LISTENER", for messages.
pub(crate) fn seccomp_flag_names(flags: u64) -> String {
    SECCOMP_FLAGS
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(" | ")
}

/// More than NGROUPS_MAX supplementary groups is `-EINVAL`. The C layer checks the length
/// before it reads the groups.
pub(crate) fn check_extra_gids_len(len: usize) -> Result<()> {
    if len > NGROUPS_MAX {
        return Err(Error::args(
            Errno::EINVAL,
            format!("credentials.extra_gids_len {len} is above NGROUPS_MAX {NGROUPS_MAX}"),
        ));
    }
    Ok(())
}

/// A filter longer than BPF_MAXINSNS is `-EINVAL`. The C layer checks the length before it
/// reads the program.
pub(crate) fn check_seccomp_filter_len(len: usize) -> Result<()> {
    if len > BPF_MAXINSNS {
        return Err(Error::args(
            Errno::EINVAL,
            format!("seccomp_filter_len {len} is above BPF_MAXINSNS {BPF_MAXINSNS}"),
        ));
    }
    Ok(())
}

/// The most supplementary groups a process can have (linux/limits.h).
const NGROUPS_MAX: usize = 65536;

/// The most instructions a seccomp filter can have (linux/bpf_common.h).
const BPF_MAXINSNS: usize = 4096;

/// The bits of capabilities 0..=last.
pub(crate) fn capability_mask(last: u32) -> u64 {
    u64::MAX >> (63 - last.min(63))
}

fn lowest_bit(set: u64) -> Option<u32> {
    (set != 0).then(|| set.trailing_zeros())
}

/// `EBADF` unless `fd` is open in the caller.
fn check_open(fd: RawFd, subject: impl FnOnce() -> String) -> Result<()> {
    // SAFETY: F_GETFD only reads the fd table; a closed or negative fd is reported as EBADF.
    if fd < 0 || unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(Error::args(Errno::EBADF, subject()));
    }
    Ok(())
}

/// This process's environment as `KEY=VALUE` strings, for a spec that inherits it
/// (`SPROUT_EXEC_INHERIT_ENV`, `sprout run --inherit-env`).
pub fn caller_environment() -> Vec<CString> {
    use std::os::unix::ffi::OsStrExt;
    std::env::vars_os()
        .filter_map(|(key, value)| {
            let mut entry = key.as_bytes().to_vec();
            entry.push(b'=');
            entry.extend_from_slice(value.as_bytes());
            CString::new(entry).ok()
        })
        .collect()
}

/// A C string from Rust text, `EINVAL` naming `what` when it holds a NUL byte.
pub fn cstring(text: &str, what: &str) -> Result<CString> {
    CString::new(text)
        .map_err(|_| Error::args(Errno::EINVAL, format!("{what}: {text:?} holds a NUL byte")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Stage;

    fn spec() -> Spec {
        Spec::from_strs(&["/bin/true"]).unwrap()
    }

    fn refused(spec: &Spec) -> String {
        let error = spec.validate().expect_err("should be refused");
        assert_eq!((error.stage, error.errno), (Stage::Args, Errno::EINVAL));
        error.subject
    }

    #[test]
    fn capability_mask_covers_capabilities_up_to_the_last() {
        assert_eq!(capability_mask(0), 1);
        assert_eq!(capability_mask(40), 0x1ff_ffff_ffff);
        assert_eq!(capability_mask(63), u64::MAX);
    }

    #[test]
    fn capabilities_must_exist_and_be_a_state_the_kernel_can_hold() {
        let last = names::last_capability();
        let mut s = spec();
        let ok = Capabilities {
            effective: 1,
            permitted: 0b11,
            inheritable: 0b10,
            bounding: capability_mask(last),
            ambient: 0b10,
        };
        s.capabilities = Some(ok);
        s.validate().unwrap();
        if last < 63 {
            s.capabilities = Some(Capabilities {
                bounding: capability_mask(last + 1),
                ..ok
            });
            assert!(refused(&s).starts_with("capabilities.bounding: bit"));
        }
        s.capabilities = Some(Capabilities {
            effective: 0b100,
            ..ok
        });
        assert_eq!(
            refused(&s),
            "capabilities.effective: CAP_DAC_READ_SEARCH (2) is not in permitted"
        );
        s.capabilities = Some(Capabilities { ambient: 0b1, ..ok });
        assert_eq!(
            refused(&s),
            "capabilities.ambient: CAP_CHOWN (0) is not in both permitted and inheritable"
        );
    }

    #[test]
    fn rlimits_must_be_known_ordered_and_unique() {
        let limit = |resource, soft, hard| Rlimit {
            resource,
            soft,
            hard,
        };
        let nofile = libc::RLIMIT_NOFILE as i32;
        let mut s = spec();
        s.rlimits = vec![limit(nofile, 1, u64::MAX), limit(0, u64::MAX, u64::MAX)];
        s.validate().unwrap();
        s.rlimits = vec![limit(16, 1, 1)];
        assert_eq!(refused(&s), "limits[0]: unknown resource 16");
        s.rlimits = vec![limit(nofile, u64::MAX, 5)];
        assert_eq!(
            refused(&s),
            "limits[0]: RLIMIT_NOFILE soft limit unlimited is above the hard limit 5"
        );
        s.rlimits = vec![limit(nofile, 1, 1), limit(0, 1, 1), limit(nofile, 2, 2)];
        assert_eq!(
            refused(&s),
            "limits[2]: RLIMIT_NOFILE is already set by limits[0]"
        );
    }

    #[test]
    fn minus_one_is_no_id_and_filters_have_a_size_limit() {
        let mut s = spec();
        s.credentials = Some(Credentials {
            uid: 1,
            gid: 1,
            groups: vec![2, u32::MAX],
        });
        assert!(refused(&s).starts_with("credentials.extra_gids[1] is 4294967295"));
        s.credentials = None;
        let allow = libc::sock_filter {
            code: 0x06, // BPF_RET | BPF_K
            jt: 0,
            jf: 0,
            k: 0x7fff_0000, // SECCOMP_RET_ALLOW
        };
        s.seccomp_filter = vec![allow; BPF_MAXINSNS];
        s.validate().unwrap();
        s.seccomp_filter.push(allow);
        assert_eq!(
            refused(&s),
            "seccomp_filter_len 4097 is above BPF_MAXINSNS 4096"
        );
    }
}

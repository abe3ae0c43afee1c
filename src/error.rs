//! Errors: the stage a call failed in, the errno, and what it failed on. The one place that
//! turns them into text.

use std::fmt;

use nix::errno::Errno;

/// Where a spawn failed. The values are part of the C ABI (`enum sprout_stage`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    None = 0,
    /// Refused before any process existed: bad pointer, size, flag, fd, cap, limit.
    Args,
    /// clone3/clone itself (EAGAIN, ENOMEM, ...).
    Spawn,
    /// setns, new namespaces, id maps.
    Namespaces,
    Cgroup,
    /// Laying out the fd array.
    Fds,
    /// setsid, TIOCSCTTY, foreground.
    Tty,
    Rlimits,
    Chdir,
    /// setgroups, setresgid, setresuid.
    Credentials,
    Capabilities,
    NoNewPrivs,
    Seccomp,
    /// Path search and execve.
    Exec,
    Wait,
    /// Since 1.1: sched_setattr, ioprio_set, sched_setaffinity (`sched`, `ioprio_class`,
    /// `cpu_set`).
    Sched,
    /// Since 1.1: writing /proc/self/oom_score_adj.
    OomScoreAdj,
    /// Since 1.1: personality(2).
    Personality,
    /// Since 1.1: sethostname, setdomainname in the new UTS namespace.
    Uts,
    /// Since 1.1: the root directory (fchdir to `root_fd`, chroot).
    Chroot,
    /// Since 1.1: PTRACE_TRACEME.
    Ptrace,
    /// Since 1.1: building a Landlock ruleset, or landlock_restrict_self in the child.
    Landlock,
}

impl Stage {
    const ALL: [Stage; 22] = [
        Stage::None,
        Stage::Args,
        Stage::Spawn,
        Stage::Namespaces,
        Stage::Cgroup,
        Stage::Fds,
        Stage::Tty,
        Stage::Rlimits,
        Stage::Chdir,
        Stage::Credentials,
        Stage::Capabilities,
        Stage::NoNewPrivs,
        Stage::Seccomp,
        Stage::Exec,
        Stage::Wait,
        Stage::Sched,
        Stage::OomScoreAdj,
        Stage::Personality,
        Stage::Uts,
        Stage::Chroot,
        Stage::Ptrace,
        Stage::Landlock,
    ];

    pub fn from_u32(value: u32) -> Option<Stage> {
        Stage::ALL.get(value as usize).copied()
    }

    /// The stage's name as it starts an error message, NUL-terminated for the C ABI.
    pub fn name_with_nul(self) -> &'static str {
        match self {
            Stage::None => "none\0",
            Stage::Args => "args\0",
            Stage::Spawn => "spawn\0",
            Stage::Namespaces => "namespaces\0",
            Stage::Cgroup => "cgroup\0",
            Stage::Fds => "fds\0",
            Stage::Tty => "tty\0",
            Stage::Rlimits => "rlimits\0",
            Stage::Chdir => "chdir\0",
            Stage::Credentials => "credentials\0",
            Stage::Capabilities => "capabilities\0",
            Stage::NoNewPrivs => "no_new_privs\0",
            Stage::Seccomp => "seccomp\0",
            Stage::Exec => "exec\0",
            Stage::Wait => "wait\0",
            Stage::Sched => "sched\0",
            Stage::OomScoreAdj => "oom_score_adj\0",
            Stage::Personality => "personality\0",
            Stage::Uts => "uts\0",
            Stage::Chroot => "chroot\0",
            Stage::Ptrace => "ptrace\0",
            Stage::Landlock => "landlock\0",
        }
    }

    pub fn name(self) -> &'static str {
        let name = self.name_with_nul();
        &name[..name.len() - 1]
    }
}

/// A failed call: the stage, the errno, and what it failed on (a path, `fds[3] = 7`, `uid 0`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub stage: Stage,
    pub errno: Errno,
    pub subject: String,
}

impl Error {
    pub fn new(stage: Stage, errno: Errno, subject: impl Into<String>) -> Error {
        Error {
            stage,
            errno,
            subject: subject.into(),
        }
    }

    /// Refused before any process existed.
    pub fn args(errno: Errno, subject: impl Into<String>) -> Error {
        Error::new(Stage::Args, errno, subject)
    }

    /// The negative errno the C functions return.
    pub fn to_return(&self) -> i32 {
        -(self.errno as i32)
    }
}

impl fmt::Display for Error {
    /// `stage: subject: errno text`, e.g. `exec: /opt/x/prog: No such file or directory`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.stage.name())?;
        if !self.subject.is_empty() {
            write!(f, "{}: ", self.subject)?;
        }
        f.write_str(&errno_text(self.errno))
    }
}

/// The C library's text for an errno (`strerror`), as C programs print it: nix's own table
/// differs for some ("Bad file number" for EBADF).
fn errno_text(errno: Errno) -> String {
    let mut buffer = [0 as libc::c_char; 256];
    // SAFETY: the XSI strerror_r (which the libc crate binds on Linux) writes a NUL-terminated
    // text of at most `buffer.len()` bytes into the buffer.
    let ret = unsafe { libc::strerror_r(errno as i32, buffer.as_mut_ptr(), buffer.len()) };
    if ret != 0 {
        return errno.desc().to_string();
    }
    // SAFETY: strerror_r succeeded, so the buffer holds a NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(buffer.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

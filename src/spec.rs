//! The owned description of a process to start, and the checks that need no process.
//!
//! A `Spec` is what a Rust caller builds directly and what the C layer builds from
//! `sprout_exec_args`. `Spec::validate` refuses, before any process exists, everything that can
//! be known to be wrong without trying it.

use std::ffi::CString;
use std::os::fd::RawFd;

use nix::errno::Errno;

use crate::error::{Error, Result};

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

/// What to do when stdio is a terminal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Terminal {
    /// Give the process the terminal its stdio names, if any.
    #[default]
    Auto,
    /// Never treat terminal stdio as a controlling terminal (`SPROUT_EXEC_NO_TTY`).
    Ignore,
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
        if self.umask & !0o777 != 0 {
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
        self.refuse_unsupported()?;
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
        crate::namespaces::validate(self)
    }

    /// Fields of the v1 ABI whose implementation has not landed yet: refused, never ignored.
    fn refuse_unsupported(&self) -> Result<()> {
        let unsupported = |what: &str| Err(Error::args(Errno::ENOTSUP, what));
        if self.credentials.is_some() {
            return unsupported("credentials");
        }
        if self.capabilities.is_some() {
            return unsupported("capabilities");
        }
        if !self.rlimits.is_empty() {
            return unsupported("limits");
        }
        if self.no_new_privs {
            return unsupported("no_new_privs");
        }
        if !self.seccomp_filter.is_empty() {
            return unsupported("seccomp_filter");
        }
        if self.terminal == Terminal::Auto && self.stdio_is_terminal() {
            return unsupported("a terminal on stdio (set SPROUT_EXEC_NO_TTY)");
        }
        Ok(())
    }

    fn stdio_is_terminal(&self) -> bool {
        self.fds.iter().take(3).flatten().any(|&fd| {
            nix::unistd::isatty(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }).unwrap_or(false)
        })
    }
}

/// `EBADF` unless `fd` is open in the caller.
fn check_open(fd: RawFd, subject: impl FnOnce() -> String) -> Result<()> {
    // SAFETY: F_GETFD only reads the fd table; a closed or negative fd is reported as EBADF.
    if fd < 0 || unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(Error::args(Errno::EBADF, subject()));
    }
    Ok(())
}

/// A C string from Rust text, `EINVAL` naming `what` when it holds a NUL byte.
pub fn cstring(text: &str, what: &str) -> Result<CString> {
    CString::new(text)
        .map_err(|_| Error::args(Errno::EINVAL, format!("{what}: {text:?} holds a NUL byte")))
}

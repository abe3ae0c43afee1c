//! The `--landlock-*` flags: a Landlock ruleset built from paths, TCP ports and scopes, which
//! the program is restricted by, last before execve.

use std::os::fd::{AsRawFd, OwnedFd};

use clap::Args;
use sprout::landlock::{
    ACCESS_FS_ALL, ACCESS_FS_EXECUTE, ACCESS_FS_READ_DIR, ACCESS_FS_READ_FILE, ACCESS_NET_BIND_TCP,
    ACCESS_NET_CONNECT_TCP, Access, Beneath, PathRule, PortRule, Ruleset,
    SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL,
};
use sprout::{Errno, Landlock, Spec};

use crate::flags::cstring;
use crate::status::{Outcome, refuse};

/// What `--landlock-ro` allows: reading files, listing directories, running programs.
const READ_ONLY: u64 = ACCESS_FS_READ_FILE | ACCESS_FS_READ_DIR | ACCESS_FS_EXECUTE;

#[derive(Args, Debug, Default)]
pub struct LandlockFlags {
    /// Landlock: the program may read, list and run what is beneath PATH (a directory) or
    /// PATH itself (a file). Any --landlock-ro or --landlock-rw denies every file access
    /// these do not allow, the program's own files included (e.g. --landlock-ro /usr).
    #[arg(long, value_name = "PATH", help_heading = "Landlock")]
    pub landlock_ro: Vec<String>,
    /// Landlock: the program may do anything with files beneath PATH (read, write, create,
    /// remove, rename, truncate).
    #[arg(long, value_name = "PATH", help_heading = "Landlock")]
    pub landlock_rw: Vec<String>,
    /// Landlock: the program may bind these TCP ports (PORT or PORT,PORT,...), and no other.
    #[arg(long, value_name = "PORT,...", help_heading = "Landlock")]
    pub landlock_bind: Vec<String>,
    /// Landlock: the program may connect to these TCP ports, and no other.
    #[arg(long, value_name = "PORT,...", help_heading = "Landlock")]
    pub landlock_connect: Vec<String>,
    /// Landlock: what the program may not reach outside its sandbox: `signal` (send
    /// signals), `abstract-unix` (connect to abstract UNIX sockets), or both.
    #[arg(long, value_name = "SCOPE,...", help_heading = "Landlock")]
    pub landlock_scope: Vec<String>,
    /// Landlock: leave out, with a warning, what this kernel's Landlock cannot enforce
    /// (and run without Landlock on a kernel that has none), instead of refusing.
    #[arg(long, help_heading = "Landlock")]
    pub landlock_best_effort: bool,
}

impl LandlockFlags {
    /// Builds the ruleset the flags describe, if any, and hands it to `spec`; the ruleset fd
    /// goes to `held` (open until the spawn).
    pub fn apply(&self, spec: &mut Spec, held: &mut Vec<OwnedFd>) -> Outcome<()> {
        let Some(ruleset) = self.ruleset()? else {
            return Ok(());
        };
        let (fd, dropped) = match ruleset.create() {
            Ok(created) => created,
            Err(error)
                if self.landlock_best_effort
                    && matches!(error.errno, Errno::EOPNOTSUPP | Errno::ENOSYS) =>
            {
                eprintln!("sprout: warning: running without Landlock: {error}");
                return Ok(());
            }
            Err(error) => return Err(error.into()),
        };
        if dropped != Access::default() {
            eprintln!(
                "sprout: warning: this kernel's Landlock cannot enforce, so leaves out: {}",
                describe(dropped)
            );
        }
        spec.landlock = Some(Landlock {
            ruleset: fd.as_raw_fd(),
            restrict_flags: 0,
        });
        held.push(fd);
        Ok(())
    }

    fn ruleset(&self) -> Outcome<Option<Ruleset>> {
        let mut ruleset = Ruleset {
            best_effort: self.landlock_best_effort,
            ..Ruleset::default()
        };
        let mut paths = |list: &[String], access: u64, flag: &str| -> Outcome<()> {
            for path in list {
                ruleset.paths.push(PathRule {
                    beneath: Beneath::Path(cstring(path, flag)?),
                    access,
                });
            }
            Ok(())
        };
        paths(&self.landlock_ro, READ_ONLY, "--landlock-ro")?;
        paths(&self.landlock_rw, ACCESS_FS_ALL, "--landlock-rw")?;
        if !ruleset.paths.is_empty() {
            ruleset.handled.fs = ACCESS_FS_ALL;
        }
        for (flags, access, name) in [
            (&self.landlock_bind, ACCESS_NET_BIND_TCP, "--landlock-bind"),
            (
                &self.landlock_connect,
                ACCESS_NET_CONNECT_TCP,
                "--landlock-connect",
            ),
        ] {
            for port in ports(flags, name)? {
                ruleset.ports.push(PortRule { port, access });
            }
            if !flags.is_empty() {
                ruleset.handled.net |= access;
            }
        }
        for list in &self.landlock_scope {
            for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                ruleset.handled.scoped |= match name {
                    "signal" => SCOPE_SIGNAL,
                    "abstract-unix" => SCOPE_ABSTRACT_UNIX_SOCKET,
                    _ => {
                        return refuse(format!(
                            "--landlock-scope {name}: want signal or abstract-unix"
                        ));
                    }
                };
            }
        }
        let asked = ruleset.handled != Access::default();
        if !asked && self.landlock_best_effort {
            return refuse("--landlock-best-effort without a --landlock-* rule to apply it to");
        }
        Ok(asked.then_some(ruleset))
    }
}

/// The ports of every `--landlock-bind` (or `-connect`) flag: numbers, comma-separated.
fn ports(flags: &[String], name: &str) -> Outcome<Vec<u64>> {
    let mut ports = Vec::new();
    for text in flags {
        for port in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match port.parse::<u16>() {
                Ok(port) => ports.push(u64::from(port)),
                Err(_) => return refuse(format!("{name} {port}: not a TCP port (0-65535)")),
            }
        }
    }
    Ok(ports)
}

/// What a best-effort ruleset left out, in words.
fn describe(dropped: Access) -> String {
    let mut parts = Vec::new();
    if dropped.fs != 0 {
        parts.push(format!("file rights {:#x}", dropped.fs));
    }
    if dropped.net != 0 {
        parts.push(format!("TCP rights {:#x}", dropped.net));
    }
    if dropped.scoped != 0 {
        parts.push(format!("scopes {:#x}", dropped.scoped));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(ro: &[&str], bind: &[&str], scope: &[&str]) -> LandlockFlags {
        let strings = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        LandlockFlags {
            landlock_ro: strings(ro),
            landlock_bind: strings(bind),
            landlock_scope: strings(scope),
            ..LandlockFlags::default()
        }
    }

    #[test]
    fn each_kind_is_handled_only_when_a_flag_names_it() {
        assert_eq!(flags(&[], &[], &[]).ruleset().unwrap(), None);
        let ruleset = flags(&["/usr"], &[], &[]).ruleset().unwrap().unwrap();
        assert_eq!(ruleset.handled.fs, ACCESS_FS_ALL);
        assert_eq!((ruleset.handled.net, ruleset.handled.scoped), (0, 0));
        assert_eq!(ruleset.paths[0].access, READ_ONLY);
        let ruleset = flags(&[], &["80,443", "8080"], &["signal,abstract-unix"])
            .ruleset()
            .unwrap()
            .unwrap();
        assert_eq!(ruleset.handled.fs, 0);
        assert_eq!(ruleset.handled.net, ACCESS_NET_BIND_TCP);
        assert_eq!(
            ruleset.ports.iter().map(|p| p.port).collect::<Vec<_>>(),
            [80, 443, 8080]
        );
        assert_eq!(
            ruleset.handled.scoped,
            SCOPE_SIGNAL | SCOPE_ABSTRACT_UNIX_SOCKET
        );
        assert!(flags(&[], &["70000"], &[]).ruleset().is_err());
        assert!(flags(&[], &[], &["ipc"]).ruleset().is_err());
    }
}

//! What `sprout` exits with, in one place: the program's own status, 128+N when signal N
//! ended it, and the statuses of the shells and of `env`, `nice`, `chroot` when the program
//! never ran: 127 when it was not found, 126 when it could not be run, 125 when sprout refused
//! the request (a flag, a process.json field, the library's checks, a failed set-up step).
//! Each failure is one line on stderr: `sprout: STAGE: CULPRIT: REASON`.

use std::fmt;

use sprout::{Errno, Stage};

/// Why sprout did not run the program to its end.
#[derive(Debug)]
pub enum Failure {
    /// The request itself is refused before anything starts: a flag, a file it names, a
    /// process.json field. The text names the culprit (`--rlimit nofle=1: unknown resource`).
    Refused(String),
    /// The library refused or failed, at the stage its error names.
    Spawn(sprout::Error),
}

pub type Outcome<T> = Result<T, Failure>;

/// `Err(Failure::Refused(..))` from anything printable.
pub fn refuse<T>(text: impl Into<String>) -> Outcome<T> {
    Err(Failure::Refused(text.into()))
}

impl From<sprout::Error> for Failure {
    fn from(error: sprout::Error) -> Failure {
        Failure::Spawn(error)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Refused(text) => write!(f, "args: {text}"),
            Failure::Spawn(error) => write!(f, "{error}"),
        }
    }
}

impl Failure {
    /// 127: not found; 126: found but not runnable; 125: anything else sprout refused.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Spawn(error) if error.stage == Stage::Exec => match error.errno {
                Errno::ENOENT | Errno::ENOTDIR => 127,
                _ => 126,
            },
            _ => 125,
        }
    }
}

/// The exit code that tells a shell how the program ended: its own exit status, or 128+N
/// when signal N ended it (as shells report it).
pub fn from_wait_status(status: i32) -> u8 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status) as u8
    } else if libc::WIFSIGNALED(status) {
        128u8.wrapping_add(libc::WTERMSIG(status) as u8)
    } else {
        125
    }
}

/// Prints the failure as one line and gives the exit code for it.
pub fn exit(outcome: Outcome<u8>) -> u8 {
    match outcome {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("sprout: {failure}");
            failure.exit_code()
        }
    }
}

/// A command-line parse error: `--help` and `--version` print and succeed; anything else is
/// one line (clap's first, without its "error: ") and status 125, as for any refused request.
pub fn usage_error(error: clap::Error) -> u8 {
    use clap::error::ErrorKind;
    match error.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            0
        }
        _ => {
            let text = error.render().to_string();
            let first = text.lines().next().unwrap_or("bad arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("sprout: args: {first} (see sprout --help)");
            125
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_statuses_become_shell_exit_codes() {
        assert_eq!(from_wait_status(0), 0);
        assert_eq!(from_wait_status(3 << 8), 3);
        assert_eq!(from_wait_status(255 << 8), 255);
        assert_eq!(from_wait_status(libc::SIGKILL), 137);
        assert_eq!(from_wait_status(libc::SIGINT | 0x80), 130); // with a core dump
    }

    #[test]
    fn failures_map_to_125_126_127() {
        let exec = |errno| Failure::Spawn(sprout::Error::new(Stage::Exec, errno, "x"));
        assert_eq!(exec(Errno::ENOENT).exit_code(), 127);
        assert_eq!(exec(Errno::EACCES).exit_code(), 126);
        assert_eq!(exec(Errno::ENOEXEC).exit_code(), 126);
        let creds = Failure::Spawn(sprout::Error::new(
            Stage::Credentials,
            Errno::EPERM,
            "uid 0",
        ));
        assert_eq!(creds.exit_code(), 125);
        assert_eq!(
            creds.to_string(),
            "credentials: uid 0: Operation not permitted"
        );
        assert_eq!(Failure::Refused("--uid x".into()).exit_code(), 125);
        assert_eq!(
            Failure::Refused("--uid x".into()).to_string(),
            "args: --uid x"
        );
    }
}

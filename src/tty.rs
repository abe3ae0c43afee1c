//! Terminals: which case a spawn with a terminal on stdio is in (decided by the parent before
//! clone, carried out by the child), and [`Tty`], the handle to the terminal a process got.
//!
//! The kernel lets a terminal be the controlling terminal of one session at most, so what a
//! process can get depends on whose terminal it is:
//! 1. no session's (a fresh pseudo-terminal): the process leads a new session and takes the
//!    terminal as its controlling terminal, which makes its group the foreground group;
//! 2. the caller's own controlling terminal: the process leads a new process group in the
//!    caller's session, and that group becomes the foreground group;
//! 3. another session's: `EPERM`, stage TTY. A terminal is never taken from its session.
//!
//! Seen through a slave fd, the kernel tells the caller only whether a terminal is the
//! caller's own (TIOCGSID answers ENOTTY for every other terminal, whether it has a session or
//! not). So the parent tells case 2 from the rest, and the child tells 1 from 3: TIOCSCTTY
//! without force refuses, with EPERM, a terminal that already has a session. Only through a
//! master fd does the parent see another session, and refuses it itself.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
use nix::unistd::Pid;

use crate::error::{Error, Result, Stage};
use crate::procfs::stat_field;
use crate::spawn::{ChildTty, TtyItem};
use crate::spec::{Spec, Terminal};

/// Whose session the terminal of a [`Tty`] belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TtySession {
    /// Case 1: the session the process leads; the caller is outside it.
    Own,
    /// Case 2: the caller's session; the process leads a process group in it.
    Caller,
}

/// The terminal a process got: its own duplicate of the terminal fd, the process it was given
/// to (the session leader in case 1, the process group leader in case 2), and the case.
///
/// Dropping it closes the fd. While it lives the terminal stays open, so the output of a
/// process that wrote and exited stays readable from the master side.
#[derive(Debug)]
pub struct Tty {
    fd: OwnedFd,
    pid: i32,
    session: TtySession,
    /// The terminal's device number, as /proc/PID/stat's `tty_nr` shows it.
    device: u32,
    /// Case 2: the foreground group before the spawn, which [`crate::run`] restores.
    previous_foreground: i32,
}

impl Tty {
    /// The handle's fd of the terminal (close-on-exec), owned by the handle.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The process the terminal was given to: the leader of its session (case 1) or of its
    /// process group (case 2).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    pub fn session(&self) -> TtySession {
        self.session
    }

    /// Sets the window size (TIOCSWINSZ); the kernel sends SIGWINCH to the foreground group.
    pub fn resize(&self, rows: u16, cols: u16) -> std::result::Result<(), Errno> {
        set_window_size(self.fd.as_fd(), rows, cols)
    }

    /// The terminal's foreground process group. In case 1 the caller is outside the
    /// terminal's session, where the kernel answers tcgetpgrp with ENOTTY: the answer then
    /// comes from the `tpgid` of a process whose controlling terminal this is, the session
    /// leader sprout started. `ESRCH` when the terminal has no foreground group (its session
    /// has ended).
    pub fn foreground(&self) -> std::result::Result<i32, Errno> {
        let pgid = match nix::unistd::tcgetpgrp(&self.fd) {
            Ok(pgid) => pgid.as_raw(),
            Err(Errno::ENOTTY) if self.session == TtySession::Own => self.foreground_from_proc()?,
            Err(errno) => return Err(errno),
        };
        if pgid <= 0 {
            return Err(Errno::ESRCH);
        }
        Ok(pgid)
    }

    /// `tpgid` of the session leader, if that pid still names a process whose controlling
    /// terminal is this one. Whoever holds the pid then, its `tpgid` is this terminal's
    /// foreground group, so a reused pid cannot give a wrong answer (short of a process on a
    /// pty of another devpts instance with the same device number).
    fn foreground_from_proc(&self) -> std::result::Result<i32, Errno> {
        let mut stat = [0u8; 1024];
        let len = File::open(format!("/proc/{}/stat", self.pid))
            .and_then(|mut file| file.read(&mut stat))
            .map_err(|_| Errno::ESRCH)?;
        let field = |n| stat_field::<i64>(stat.get(..len)?, n);
        match (field(7), field(8)) {
            (Some(tty_nr), Some(tpgid)) if tty_nr == i64::from(self.device) && tpgid > 0 => {
                Ok(tpgid as i32)
            }
            _ => Err(Errno::ESRCH),
        }
    }

    /// Makes `pgid` the foreground group (tcsetpgrp) with SIGTTOU blocked, so that a caller
    /// in a background group is not stopped. Case 2 only: in case 1 the kernel lets only
    /// members of the terminal's session do this, and the caller is not one (`EPERM`).
    pub fn set_foreground(&self, pgid: i32) -> std::result::Result<(), Errno> {
        if self.session == TtySession::Own {
            return Err(Errno::EPERM);
        }
        if pgid <= 0 {
            return Err(Errno::EINVAL);
        }
        set_foreground(self.fd.as_fd(), pgid)
    }

    /// Sends `signal` to the terminal's current foreground group. Nothing is sent when no
    /// group is known (`ESRCH`): kill() with 0 or -1 would hit the caller's group or every
    /// process, and group 1 would read as -1.
    pub fn signal_foreground(&self, signal: i32) -> std::result::Result<(), Errno> {
        let pgid = self.foreground()?;
        if pgid <= 1 {
            return Err(Errno::ESRCH);
        }
        // SAFETY: kill with plain integers; -pgid > 1 names exactly one process group.
        if unsafe { libc::kill(-pgid, signal) } < 0 {
            return Err(Errno::last());
        }
        Ok(())
    }

    /// After the process ended (case 2): gives the terminal back to the group that had it
    /// before the spawn, as a shell does when a foreground job ends. Best effort: that group
    /// may be gone.
    pub(crate) fn give_back(&self) {
        if self.session == TtySession::Caller && self.foreground() != Ok(self.previous_foreground) {
            let _ = set_foreground(self.fd.as_fd(), self.previous_foreground);
        }
    }
}

/// A new pseudo-terminal pair `(master, slave)` of `rows` x `cols`, both close-on-exec and
/// neither becoming the caller's controlling terminal (O_NOCTTY).
pub fn openpty(rows: u16, cols: u16) -> std::result::Result<(OwnedFd, OwnedFd), Errno> {
    use nix::fcntl::OFlag;
    let flags = OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
    let master = nix::pty::posix_openpt(flags)?;
    nix::pty::grantpt(&master)?;
    nix::pty::unlockpt(&master)?;
    pair(master.into(), rows, cols)
}

/// [`openpty`] in the devpts instance of `ptmx`, an open `ptmx` of some devpts mount (a
/// container's `/dev/pts/ptmx`, opened through `/proc/PID/root`), so that the pair's slave is
/// `/dev/pts/N` of that instance: `ttyname()` works for a process that sees that mount. The
/// multiplexer is opened anew through `/proc/self/fd` (each open of it makes a new pair), so
/// `ptmx` itself is left as it was and can serve again; it may be an `O_PATH` fd, which made
/// no pair of its own. `EINVAL` when `ptmx` is not a devpts
/// `ptmx` or a master (whose file is the multiplexer's) of one: a slave, another file; needs
/// /proc.
pub fn openpty_from(
    ptmx: BorrowedFd,
    rows: u16,
    cols: u16,
) -> std::result::Result<(OwnedFd, OwnedFd), Errno> {
    use nix::fcntl::OFlag;
    use nix::sys::stat::{fstat, major, minor};
    // SAFETY: fstatfs fills a zeroed statfs on this stack.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatfs(ptmx.as_raw_fd(), &mut fs) } < 0 {
        return Err(Errno::last());
    }
    let st = fstat(ptmx)?;
    let is_char = st.st_mode & libc::S_IFMT == libc::S_IFCHR;
    // The multiplexer of a devpts instance is character device 5:2.
    if fs.f_type != libc::DEVPTS_SUPER_MAGIC
        || !is_char
        || (major(st.st_rdev), minor(st.st_rdev)) != (5, 2)
    {
        return Err(Errno::EINVAL);
    }
    let path = format!("/proc/self/fd/{}", ptmx.as_raw_fd());
    let flags = OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
    let master = nix::fcntl::open(path.as_str(), flags, nix::sys::stat::Mode::empty())?;
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int from this stack (0: unlock the slave), on our own fd.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) } < 0 {
        return Err(Errno::last());
    }
    pair(master, rows, cols)
}

/// The slave of a new `master`, opened through it, and the pair's window size.
fn pair(master: OwnedFd, rows: u16, cols: u16) -> std::result::Result<(OwnedFd, OwnedFd), Errno> {
    use nix::fcntl::OFlag;
    let flags = OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
    // TIOCGPTPEER (Linux 4.13) opens the slave through the master, in the master's devpts
    // instance: no path lookup that could find another instance's /dev/pts/N.
    // SAFETY: an ioctl on our own master fd; the result is a new fd we then own.
    let slave = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTPEER, flags.bits()) };
    if slave < 0 {
        return Err(Errno::last());
    }
    // SAFETY: `slave` is a new fd nothing else owns.
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };
    set_window_size(slave.as_fd(), rows, cols)?;
    Ok((master, slave))
}

fn set_window_size(fd: BorrowedFd, rows: u16, cols: u16) -> std::result::Result<(), Errno> {
    let size = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize from this stack.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &size) } < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// tcsetpgrp with SIGTTOU blocked on this thread, as shells do: the kernel then lets a
/// background group take the terminal instead of stopping it.
fn set_foreground(fd: BorrowedFd, pgid: i32) -> std::result::Result<(), Errno> {
    let mut sigttou = SigSet::empty();
    sigttou.add(Signal::SIGTTOU);
    let mut previous = SigSet::empty();
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&sigttou), Some(&mut previous))?;
    let result = nix::unistd::tcsetpgrp(fd, Pid::from_raw(pgid));
    pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&previous), None)?;
    result
}

/// What the parent found out about stdio terminals before the spawn: what the child does,
/// and the makings of the handle.
pub(crate) struct Prepared {
    pub child: ChildTty,
    handle: Option<Pending>,
}

/// A handle waiting for its process.
struct Pending {
    /// fds[slot] of the spec, for messages.
    slot: usize,
    caller_fd: RawFd,
    fd: OwnedFd,
    session: TtySession,
    device: u32,
    previous_foreground: i32,
}

impl Prepared {
    /// Which terminal `spec` hands over and in which case. Refuses two different terminals
    /// among fds[0..3] (`EINVAL`, stage ARGS) and, when it can see it, another session's
    /// terminal (`EPERM`, stage TTY).
    pub fn for_spec(spec: &Spec) -> Result<Prepared> {
        let nothing = |child| Prepared {
            child,
            handle: None,
        };
        match spec.terminal {
            Terminal::Ignore => return Ok(nothing(ChildTty::Stay)),
            Terminal::NewSession => return Ok(nothing(ChildTty::NewSession)),
            Terminal::Auto => {}
        }
        let Some((slot, caller_fd, id)) = stdio_terminal(&spec.fds)? else {
            return Ok(nothing(ChildTty::Stay));
        };
        let subject = || format!("fds[{slot}] = {caller_fd}");
        // SAFETY: `validate` found this fd open; it is only borrowed for this call.
        let terminal = unsafe { BorrowedFd::borrow_raw(caller_fd) };
        let fd = terminal.try_clone_to_owned().map_err(|e| {
            Error::new(
                Stage::Tty,
                Errno::from_raw(e.raw_os_error().unwrap_or(libc::EMFILE)),
                format!("{}: a duplicate for the handle", subject()),
            )
        })?;
        let (child, session, previous_foreground) = match nix::sys::termios::tcgetsid(terminal) {
            Ok(sid) if Ok(sid) == nix::unistd::getsid(None) => {
                let previous = nix::unistd::tcgetpgrp(terminal)
                    .unwrap_or_else(|_| nix::unistd::getpgrp())
                    .as_raw();
                (
                    ChildTty::CallerTerminal { fd: caller_fd },
                    TtySession::Caller,
                    previous,
                )
            }
            Ok(sid) => {
                return Err(Error::new(
                    Stage::Tty,
                    Errno::EPERM,
                    format!(
                        "{}: the controlling terminal of session {sid}, which keeps it",
                        subject()
                    ),
                ));
            }
            Err(Errno::ENOTTY) => (
                ChildTty::OwnTerminal {
                    fd: caller_fd,
                    owner: spec.credentials.as_ref().map(|c| c.uid),
                    write_only: nix::fcntl::fcntl(terminal, nix::fcntl::FcntlArg::F_GETFL)
                        .is_ok_and(|flags| flags & libc::O_ACCMODE == libc::O_WRONLY),
                },
                TtySession::Own,
                0,
            ),
            Err(errno) => return Err(Error::new(Stage::Tty, errno, subject())),
        };
        Ok(Prepared {
            child,
            handle: Some(Pending {
                slot,
                caller_fd,
                fd,
                session,
                device: id.device,
                previous_foreground,
            }),
        })
    }

    /// The handle for the process `pid` that has exec'd with its terminal.
    pub fn into_handle(self, pid: i32) -> Option<Tty> {
        self.handle.map(|pending| Tty {
            fd: pending.fd,
            pid,
            session: pending.session,
            device: pending.device,
            previous_foreground: pending.previous_foreground,
        })
    }

    /// After child `pid` failed: in case 2 it may have taken the caller's terminal before it
    /// died, which would leave the caller in a background group of a dead foreground group.
    pub fn undo(&self, pid: i32) {
        if let Some(pending) = &self.handle {
            if pending.session == TtySession::Caller {
                give_back_from(pending.fd.as_fd(), pid, pending.previous_foreground);
            }
        }
    }

    /// What `undo` does, for later: a paused process that fails when it is started (its
    /// handle is the caller's by then). None when there is nothing to undo (not case 2).
    pub fn undo_later(&self) -> Option<ForegroundUndo> {
        let pending = self.handle.as_ref()?;
        if pending.session != TtySession::Caller {
            return None;
        }
        Some(ForegroundUndo {
            fd: pending.fd.try_clone().ok()?,
            previous_foreground: pending.previous_foreground,
        })
    }

    /// What a failed TTY step of the child failed on, in words.
    pub fn subject(&self, item: u32, errno: i32) -> String {
        let Some(pending) = &self.handle else {
            return "setsid".to_owned();
        };
        let fd = format!("fds[{}] = {}", pending.slot, pending.caller_fd);
        match TtyItem::from_u32(item) {
            Some(TtyItem::Setsid) => format!("{fd}: setsid"),
            Some(TtyItem::TakeTerminal) if errno == libc::EPERM => match &self.child {
                ChildTty::OwnTerminal {
                    write_only: true, ..
                } => format!(
                    "{fd}: TIOCSCTTY refused: another session's terminal, or a write-only fd \
                     without CAP_SYS_ADMIN in the initial user namespace (none in a new user \
                     namespace made with a new PID namespace)"
                ),
                _ => format!(
                    "{fd}: TIOCSCTTY refused: the terminal is another session's controlling \
                     terminal, which keeps it"
                ),
            },
            Some(TtyItem::TakeTerminal) => format!("{fd}: TIOCSCTTY"),
            Some(TtyItem::Owner) => match &self.child {
                ChildTty::OwnTerminal {
                    owner: Some(uid), ..
                } => format!("{fd}: fchown to uid {uid}"),
                _ => format!("{fd}: fchown"),
            },
            Some(TtyItem::Setpgid | TtyItem::ProcessGroup) => format!("{fd}: setpgid"),
            Some(TtyItem::Foreground) => format!("{fd}: TIOCSPGRP"),
            None => fd,
        }
    }
}

/// `Prepared::undo`, kept with a duplicate of the caller's terminal (case 2).
pub(crate) struct ForegroundUndo {
    fd: OwnedFd,
    previous_foreground: i32,
}

impl ForegroundUndo {
    pub fn run(&self, pid: i32) {
        give_back_from(self.fd.as_fd(), pid, self.previous_foreground);
    }
}

/// Gives the terminal `fd` back to `previous` if process `pid`'s group has it.
fn give_back_from(fd: BorrowedFd, pid: i32, previous: i32) {
    if nix::unistd::tcgetpgrp(fd) == Ok(Pid::from_raw(pid)) {
        let _ = set_foreground(fd, previous);
    }
}

/// Identifies a terminal across fds opened different ways.
struct TerminalId {
    /// TIOCGDEV: the terminal's own device number, also through /dev/tty or a master fd.
    device: u32,
    /// (st_dev, st_ino) when the fd was opened through the terminal's own device node: ptys
    /// of two devpts instances can share a device number.
    node: Option<(u64, u64)>,
}

impl TerminalId {
    fn of(fd: RawFd) -> Option<TerminalId> {
        // SAFETY: isatty and ioctl on an fd `validate` found open, writing a u32 on this
        // stack; fstat fills a stat on this stack.
        unsafe {
            if libc::isatty(fd) != 1 {
                return None;
            }
            let mut device: u32 = 0;
            if libc::ioctl(fd, libc::TIOCGDEV, &mut device) < 0 {
                return None;
            }
            let mut stat: libc::stat = std::mem::zeroed();
            let node = (libc::fstat(fd, &mut stat) == 0
                && stat.st_rdev
                    == libc::makedev(libc::major(device as _), libc::minor(device as _)))
            .then_some((stat.st_dev, stat.st_ino));
            Some(TerminalId { device, node })
        }
    }

    fn same(&self, other: &TerminalId) -> bool {
        self.device == other.device
            && match (self.node, other.node) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

/// The first terminal among fds[0..3] as (slot, caller fd, id); `EINVAL` (stage ARGS) when
/// another of them is a different terminal: a process has one controlling terminal.
fn stdio_terminal(fds: &[Option<RawFd>]) -> Result<Option<(usize, RawFd, TerminalId)>> {
    let mut found: Option<(usize, RawFd, TerminalId)> = None;
    for (slot, fd) in fds.iter().take(3).enumerate() {
        let Some(fd) = *fd else { continue };
        let Some(id) = TerminalId::of(fd) else {
            continue;
        };
        match &found {
            None => found = Some((slot, fd, id)),
            Some((first, first_fd, first_id)) if !first_id.same(&id) => {
                return Err(Error::args(
                    Errno::EINVAL,
                    format!(
                        "fds[{first}] = {first_fd} and fds[{slot}] = {fd} are different \
                         terminals: a process has one controlling terminal"
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pty_and_a_duplicate_are_one_terminal_and_two_ptys_are_two() {
        let (master, slave) = openpty(24, 80).unwrap();
        let (_other_master, other) = openpty(24, 80).unwrap();
        let copy = slave.try_clone().unwrap();
        let fd = |f: &OwnedFd| Some(f.as_raw_fd());
        let one = stdio_terminal(&[fd(&slave), fd(&copy), fd(&master)]).unwrap();
        assert_eq!(one.map(|(slot, _, _)| slot), Some(0));
        let err = stdio_terminal(&[None, fd(&slave), fd(&other)])
            .err()
            .unwrap();
        assert_eq!((err.stage, err.errno), (Stage::Args, Errno::EINVAL));
        assert!(
            stdio_terminal(&[None, None, None, fd(&slave)])
                .unwrap()
                .is_none()
        );
    }
}

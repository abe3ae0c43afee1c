//! Running the program to its end: signal forwarding, and with `--tty` a pseudo-terminal
//! relayed to sprout's own stdio.
//!
//! Without a terminal the program stays in sprout's process group: a key the terminal turns
//! into a signal (^C, ^\) reaches both, so sprout forwards only signals sent to it alone (not
//! those the kernel sent from a terminal, `SI_KERNEL`), unless the program leads a session of
//! its own (`--new-session`), which no terminal reaches: then every one is forwarded.
//! With `--tty` the program leads a session on a new pseudo-terminal; sprout's terminal is in
//! raw mode meanwhile, so ^C and ^Z are bytes that the pseudo-terminal turns into SIGINT and
//! SIGTSTP for the program's foreground group, as a terminal does (as `runc exec -t` and ssh
//! do). Signals sent to sprout go to that foreground group, SIGWINCH becomes a resize, and
//! sprout's terminal is restored on every way out (a failure, a panic, a signal).

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{self, SetArg, Termios};
use sprout::Terminal;

use crate::flags::Launch;
use crate::status::{self, Outcome};

/// The signals sprout passes on to the program.
const FORWARDED: [Signal; 6] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// `si_code` of a signal the kernel itself sent, as a terminal's ^C.
const SI_KERNEL: i32 = 0x80;

/// Starts `launch` and waits for it, relaying signals (and the terminal with `--tty`);
/// returns the exit code that reports how it ended. `ptmx`: the pseudo-terminal multiplexer
/// to allocate a `--tty` from (a container's own), else the host's.
pub fn run(launch: Launch, ptmx: Option<BorrowedFd>) -> Outcome<u8> {
    let mut mask = SigSet::empty();
    for signal in FORWARDED {
        mask.add(signal);
    }
    if launch.tty.is_some() {
        mask.add(Signal::SIGWINCH);
    }
    // Blocked before the spawn, so none is lost in between; the library starts the program
    // with an empty mask whatever sprout's is.
    let previous = block(&mask);
    let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(|e| status::Failure::Refused(format!("signalfd: {e}")))?;
    let outcome = match launch.tty {
        None => forward(launch, &signals),
        Some(size) => with_terminal(launch, size, ptmx, &signals),
    };
    let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&previous), None);
    outcome
}

fn block(mask: &SigSet) -> SigSet {
    let mut previous = SigSet::empty();
    let _ = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(mask), Some(&mut previous));
    previous
}

/// No terminal: forward signals until the program ends.
fn forward(launch: Launch, signals: &SignalFd) -> Outcome<u8> {
    let same_group = launch.spec.terminal == Terminal::Ignore;
    let process = sprout::spawn(&launch.spec)?;
    drop(launch.held);
    let pid = process.pid;
    if launch.spec.ptrace {
        leave_stopped(pid)?;
    }
    let pidfd = sprout::pidfd(pid).map_err(|e| spawn_error("pidfd", e))?;
    loop {
        let mut fds = [
            PollFd::new(pidfd.as_fd(), PollFlags::POLLIN),
            PollFd::new(signals.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(spawn_error("poll", e)),
        }
        if fds[0].any().unwrap_or(false) {
            break;
        }
        while let Ok(Some(info)) = signals.read_signal() {
            let from_terminal = info.ssi_code == SI_KERNEL;
            if !(same_group && from_terminal) {
                let _ = sprout::signal(pid, info.ssi_signo as i32);
            }
        }
    }
    let status = sprout::wait(pid, None)?;
    Ok(status::from_wait_status(status))
}

/// `--tty`: a new pseudo-terminal for the program, relayed to sprout's stdio.
fn with_terminal(
    mut launch: Launch,
    size: Option<(u16, u16)>,
    ptmx: Option<BorrowedFd>,
    signals: &SignalFd,
) -> Outcome<u8> {
    let (rows, cols) = size.or_else(own_size).unwrap_or((24, 80));
    let (master, slave) = match ptmx {
        Some(ptmx) => sprout::openpty_from(ptmx, rows, cols),
        None => sprout::openpty(rows, cols),
    }
    .map_err(|e| spawn_error("allocating a pseudo-terminal", e))?;
    for slot in 0..3 {
        launch.spec.fds[slot] = Some(slave.as_raw_fd());
    }
    launch.spec.terminal = Terminal::Auto;
    let raw = RawMode::enter();
    let process = sprout::spawn(&launch.spec)?;
    drop(slave);
    if launch.spec.ptrace {
        leave_stopped(process.pid)?;
    }
    drop(launch.held);
    let tty = process
        .tty
        .ok_or_else(|| status::Failure::Refused("the program got no terminal".into()))?;
    let pidfd = sprout::pidfd(process.pid).map_err(|e| spawn_error("pidfd", e))?;
    let _ = nix::fcntl::fcntl(
        &master,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    );
    Pump {
        master: &master,
        tty: &tty,
        signals,
        raw: raw.as_ref(),
    }
    .run(&pidfd)?;
    let status = sprout::wait(process.pid, None)?;
    drop(raw);
    Ok(status::from_wait_status(status))
}

/// The relay's state: sprout's stdin to the master, the master to sprout's stdout.
struct Pump<'a> {
    master: &'a OwnedFd,
    tty: &'a sprout::Tty,
    signals: &'a SignalFd,
    raw: Option<&'a RawMode>,
}

impl Pump<'_> {
    fn run(&self, pidfd: &OwnedFd) -> Outcome<()> {
        let stdin = std::io::stdin();
        let mut stdout = std::io::stdout().lock();
        let mut pending: Vec<u8> = Vec::new();
        let mut stdin_open = true;
        let mut master_open = true;
        let mut buffer = vec![0u8; 65536];
        loop {
            let want_stdin = stdin_open && pending.is_empty();
            let master_events = if pending.is_empty() {
                PollFlags::POLLIN
            } else {
                PollFlags::POLLIN | PollFlags::POLLOUT
            };
            let mut fds = vec![
                PollFd::new(pidfd.as_fd(), PollFlags::POLLIN),
                PollFd::new(self.signals.as_fd(), PollFlags::POLLIN),
            ];
            if master_open {
                fds.push(PollFd::new(self.master.as_fd(), master_events));
            }
            let stdin_index = fds.len();
            if want_stdin {
                fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
            }
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => return Err(spawn_error("poll", e)),
            }
            let ready = |i: usize| {
                fds.get(i)
                    .and_then(|f| f.revents())
                    .unwrap_or(PollFlags::empty())
            };
            let exited = !ready(0).is_empty();
            if !ready(1).is_empty() {
                self.on_signals();
            }
            if master_open && !ready(2).is_empty() {
                master_open = self.drain(&mut buffer, &mut stdout);
                if !pending.is_empty() {
                    match nix::unistd::write(self.master, &pending) {
                        Ok(n) => drop(pending.drain(..n)),
                        Err(Errno::EAGAIN) => {}
                        Err(_) => pending.clear(),
                    }
                }
            }
            if want_stdin && !ready(stdin_index).is_empty() {
                match nix::unistd::read(&stdin, &mut buffer) {
                    Ok(0) | Err(Errno::EIO) => {
                        stdin_open = false;
                        // End of input: the end-of-file character, which the terminal (in
                        // canonical mode) turns into a read of 0 bytes for the program.
                        if let Ok(attrs) = termios::tcgetattr(self.master) {
                            pending.push(attrs.control_chars[libc::VEOF]);
                        }
                    }
                    Ok(n) => pending.extend_from_slice(&buffer[..n]),
                    Err(Errno::EAGAIN | Errno::EINTR) => {}
                    Err(_) => stdin_open = false,
                }
            }
            if exited {
                // What the program wrote before it ended is in the terminal's buffer.
                if master_open {
                    self.drain(&mut buffer, &mut stdout);
                }
                return Ok(());
            }
        }
    }

    /// Copies what the master has to stdout; false once the master is done (EIO: every
    /// slave fd closed).
    fn drain(&self, buffer: &mut [u8], stdout: &mut impl Write) -> bool {
        loop {
            match nix::unistd::read(self.master, buffer) {
                Ok(0) | Err(Errno::EIO) => return false,
                Ok(n) => {
                    if stdout
                        .write_all(&buffer[..n])
                        .and_then(|_| stdout.flush())
                        .is_err()
                    {
                        return false;
                    }
                }
                Err(Errno::EAGAIN) => return true,
                Err(Errno::EINTR) => {}
                Err(_) => return false,
            }
        }
    }

    fn on_signals(&self) {
        while let Ok(Some(info)) = self.signals.read_signal() {
            let signal = info.ssi_signo as i32;
            if signal == libc::SIGWINCH {
                if let Some((rows, cols)) = self.raw.and_then(|_| own_size()).or_else(own_size) {
                    let _ = self.tty.resize(rows, cols);
                }
            } else {
                let _ = self.tty.signal_foreground(signal);
            }
        }
    }
}

/// `--ptrace`: the program stopped at its exec (SIGTRAP), traced by this thread. Detach and
/// leave it stopped (SIGSTOP), so that a debugger can attach (one tracer at a time), and say so.
fn leave_stopped(pid: i32) -> Outcome<()> {
    let mut status = 0;
    // SAFETY: waitpid for a stop of our own traced child, into a local; PTRACE_DETACH with
    // integer arguments.
    let detached = unsafe {
        libc::waitpid(pid, &mut status, libc::__WALL) == pid
            && libc::WIFSTOPPED(status)
            && libc::ptrace(libc::PTRACE_DETACH, pid, 0, libc::SIGSTOP) == 0
    };
    if !detached {
        return Err(spawn_error(
            "--ptrace: detaching from the stopped program",
            Errno::last(),
        ));
    }
    eprintln!(
        "sprout: pid {pid} is stopped before its first instruction: attach a debugger \
         (gdb -p {pid}) or send it SIGCONT"
    );
    Ok(())
}

/// The size of sprout's own terminal (stdin's, else stdout's).
fn own_size() -> Option<(u16, u16)> {
    [0, 1].into_iter().find_map(|fd| {
        let mut size: libc::winsize = unsafe { std::mem::zeroed() };
        // SAFETY: TIOCGWINSZ fills the winsize on this stack; a non-terminal fd fails.
        (unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) } == 0 && size.ws_row > 0)
            .then_some((size.ws_row, size.ws_col))
    })
}

/// sprout's stdin terminal in raw mode, put back as it was when dropped.
struct RawMode {
    saved: Termios,
}

impl RawMode {
    /// None when stdin is no terminal (then there is nothing to put in raw mode).
    fn enter() -> Option<RawMode> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(&stdin).ok()?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(&stdin, SetArg::TCSADRAIN, &raw).ok()?;
        Some(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(std::io::stdin(), SetArg::TCSADRAIN, &self.saved);
    }
}

fn spawn_error(what: &str, errno: Errno) -> status::Failure {
    status::Failure::Spawn(sprout::Error::new(sprout::Stage::Wait, errno, what))
}

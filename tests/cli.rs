//! The `sprout` command, run as a user runs it: exit statuses and their one stderr line, the
//! flags and a process object as the started process sees them (the probe's report of its
//! own /proc/self/status), signals forwarded, and `--tty` driven through a pseudo-terminal
//! the test holds, as a person's terminal would be.

mod common;

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

const SPROUT: &str = env!("CARGO_BIN_EXE_sprout");

fn probe() -> String {
    common::c::probe().to_str().unwrap().to_owned()
}

fn sprout(args: &[&str]) -> Output {
    Command::new(SPROUT)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The probe's `status=` lines as `key -> value`.
fn status_value(report: &str, key: &str) -> String {
    report
        .lines()
        .filter_map(|l| l.strip_prefix("status="))
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| panic!("no {key} in {report}"))
}

fn values<'a>(report: &'a str, key: &str) -> Vec<&'a str> {
    report
        .lines()
        .filter_map(|l| l.strip_prefix(key).and_then(|l| l.strip_prefix('=')))
        .collect()
}

/// Exit status and stderr, which must be exactly one line starting "sprout: " on failure.
fn failed(args: &[&str]) -> (i32, String) {
    let out = sprout(args);
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "one line wanted: {stderr:?}");
    assert!(stderr.starts_with("sprout: "), "{stderr:?}");
    (out.status.code().unwrap(), stderr)
}

#[test]
fn exit_statuses_follow_the_program_and_the_shell_conventions() {
    let p = probe();
    assert_eq!(
        sprout(&["run", "--", &p, "exit", "0"]).status.code(),
        Some(0)
    );
    assert_eq!(
        sprout(&["run", "--", &p, "exit", "3"]).status.code(),
        Some(3)
    );
    assert_eq!(
        sprout(&["run", "--", &p, "exit", "255"]).status.code(),
        Some(255)
    );
    let killed = sprout(&["run", "--", "/bin/sh", "-c", "kill -KILL $$"]);
    assert_eq!(killed.status.code(), Some(137));
    assert!(killed.stderr.is_empty());

    let (code, line) = failed(&["run", "--", "no-such-program-anywhere"]);
    assert_eq!(code, 127);
    assert!(line.contains("exec: no-such-program-anywhere"), "{line}");
    let (code, line) = failed(&["run", "--", "/etc/passwd"]);
    assert_eq!(code, 126);
    assert!(line.contains("exec: /etc/passwd"), "{line}");
    let (code, line) = failed(&["run", "--rlimit", "nofle=1", "--", "true"]);
    assert_eq!(code, 125);
    assert!(line.contains("nofle"), "{line}");
    let (code, line) = failed(&["run", "--no-such-flag", "--", "true"]);
    assert_eq!(code, 125);
    assert!(line.contains("--no-such-flag"), "{line}");
    let (code, line) = failed(&["run", "--cwd", "/no/such/dir", "--", &p]);
    assert_eq!(code, 125);
    assert!(line.starts_with("sprout: chdir: /no/such/dir"), "{line}");
    let (code, line) = failed(&["run", "--join-ns", "net=/proc/self/ns/uts", "--", &p]);
    assert_eq!(code, 125);
    assert!(line.contains("namespaces[0]"), "{line}");
    assert_eq!(sprout(&["run", "--help"]).status.code(), Some(0));
}

#[test]
fn flags_reach_the_process_as_the_kernel_shows_it() {
    if !nix::unistd::geteuid().is_root() {
        panic!("needs root (CI runs as root)");
    }
    let p = probe();
    let out = sprout(&[
        "run",
        "--uid",
        "1234",
        "--gid",
        "2345",
        "--groups",
        "7,8",
        "--caps",
        "inheritable,permitted,effective=net_raw",
        "--caps",
        "ambient=net_raw",
        "--caps",
        "bounding=net_raw,chown",
        "--rlimit",
        "nofile=77:88",
        "--umask",
        "027",
        "--no-new-privs",
        "--env",
        "A=1",
        "--env",
        "A=2",
        "--cwd",
        "/tmp",
        "--unshare",
        "uts,ipc",
        "--pdeathsig",
        "USR2",
        "--",
        &p,
        "report",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert_eq!(status_value(&report, "Uid"), "1234\t1234\t1234\t1234");
    assert_eq!(status_value(&report, "Gid"), "2345\t2345\t2345\t2345");
    assert_eq!(status_value(&report, "Groups"), "7 8");
    assert_eq!(status_value(&report, "CapAmb"), "0000000000002000");
    assert_eq!(status_value(&report, "CapEff"), "0000000000002000");
    assert_eq!(status_value(&report, "CapBnd"), "0000000000002001");
    assert_eq!(status_value(&report, "NoNewPrivs"), "1");
    assert_eq!(values(&report, "umask"), ["0027"]);
    assert_eq!(values(&report, "env"), ["A=2"]);
    assert_eq!(values(&report, "cwd"), ["/tmp"]);
    assert!(values(&report, "rlimit").contains(&"7 77 88"));
    let own = |ns: &str| std::fs::read_link(format!("/proc/self/ns/{ns}")).unwrap();
    let ns = values(&report, "ns");
    assert!(!ns.contains(&format!("uts -> {}", own("uts").display()).as_str()));
    assert!(ns.contains(&format!("net -> {}", own("net").display()).as_str()));
}

#[test]
fn names_come_from_the_processs_passwd_and_group() {
    let out = sprout(&[
        "run",
        "--uid",
        "nobody",
        "--cap-drop",
        "all",
        "--",
        &probe(),
        "report",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    let nobody = std::fs::read_to_string("/etc/passwd")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("nobody:"))
        .map(|l| l.split(':').nth(3).unwrap().to_owned())
        .unwrap();
    assert!(status_value(&report, "Uid").starts_with("65534\t"));
    assert!(status_value(&report, "Gid").starts_with(&format!("{nobody}\t")));
    assert_eq!(status_value(&report, "Groups"), "");
    assert_eq!(status_value(&report, "CapBnd"), "0000000000000000");
}

#[test]
fn a_process_object_is_read_as_runc_reads_it() {
    let dir = std::env::temp_dir().join(format!("sprout-cli-process-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("process.json");
    let json = format!(
        r#"{{"args":["{}","report"],"cwd":"/tmp","env":["PATH=/bin","X=y"],
            "user":{{"uid":4321,"gid":4322,"umask":18,"additionalGids":[9]}},
            "capabilities":{{"bounding":["CAP_KILL","CAP_CHOWN"],"permitted":["CAP_KILL"],
              "effective":["CAP_KILL"],"inheritable":["CAP_KILL"],
              "ambient":["CAP_KILL","CAP_CHOWN"]}},
            "rlimits":[{{"type":"RLIMIT_NOFILE","hard":64,"soft":32}}],
            "noNewPrivileges":true,"annotations":{{}}}}"#,
        probe()
    );
    std::fs::write(&path, json).unwrap();
    let out = sprout(&["run", "--process", path.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert_eq!(status_value(&report, "Uid"), "4321\t4321\t4321\t4321");
    assert_eq!(status_value(&report, "Groups"), "9");
    assert_eq!(status_value(&report, "CapAmb"), "0000000000000020");
    assert_eq!(status_value(&report, "CapBnd"), "0000000000000021");
    assert_eq!(status_value(&report, "NoNewPrivs"), "1");
    assert_eq!(values(&report, "umask"), ["0022"]);
    assert_eq!(values(&report, "env"), ["PATH=/bin", "X=y"]);
    assert!(values(&report, "rlimit").contains(&"7 32 64"));
    // CAP_CHOWN is ambient without being permitted and inheritable: dropped, as runc does,
    // with a warning; "annotations" is no process field: ignored, with a warning.
    let stderr = text(&out.stderr);
    assert!(stderr.contains("dropping CAP_CHOWN"), "{stderr}");
    assert!(stderr.contains("\"annotations\""), "{stderr}");

    let refused = Command::new(SPROUT)
        .args(["run", "--process", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(br#"{"args":["true"],"cwd":"/","selinuxLabel":"x"}"#)?;
            child.wait_with_output()
        })
        .unwrap();
    assert_eq!(refused.status.code(), Some(125));
    assert!(text(&refused.stderr).contains("selinuxLabel"));
}

/// A started `sprout` whose stdout is read line by line.
fn start_with_ready_line(
    args: &[&str],
) -> (
    std::process::Child,
    std::io::BufReader<std::process::ChildStdout>,
) {
    use std::io::BufRead;
    let mut child = Command::new(SPROUT)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    (child, stdout)
}

#[test]
fn signals_sent_to_sprout_reach_the_program() {
    let p = probe();
    for (signal, flags) in [
        (libc::SIGTERM, &[][..]),
        (libc::SIGUSR1, &[][..]),
        (libc::SIGHUP, &["--new-session"][..]),
        (libc::SIGINT, &["--new-session"][..]),
    ] {
        let mut args = vec!["run"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["--", &p, "say", "ready", "pause"]);
        let (mut child, _stdout) = start_with_ready_line(&args);
        // SAFETY: kill on the pid of our own child, which has not been waited for.
        assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
        let status = child.wait().unwrap();
        assert_eq!(
            status.code(),
            Some(128 + signal),
            "signal {signal} with {flags:?}"
        );
    }
}

/// The test's own pseudo-terminal, made sprout's controlling terminal as a login's would be.
struct Terminal {
    master: OwnedFd,
    slave: OwnedFd,
    seen: String,
}

impl Terminal {
    fn new(rows: u16, cols: u16) -> Terminal {
        let (master, slave) = sprout::openpty(rows, cols).unwrap();
        Terminal {
            master,
            slave,
            seen: String::new(),
        }
    }

    fn start(&self, args: &[&str]) -> std::process::Child {
        let mut command = Command::new(SPROUT);
        command.args(args);
        for (i, stdio) in [0, 1, 2].iter().enumerate() {
            let fd = self.slave.try_clone().unwrap();
            let _ = stdio;
            match i {
                0 => command.stdin(fd),
                1 => command.stdout(fd),
                _ => command.stderr(fd),
            };
        }
        // SAFETY: setsid and TIOCSCTTY are async-signal-safe system calls.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        command.spawn().unwrap()
    }

    fn write(&self, bytes: &[u8]) {
        nix::unistd::write(&self.master, bytes).unwrap();
    }

    /// Reads until `needle` appears in what the terminal showed since the last match.
    fn expect(&mut self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut buffer = [0u8; 4096];
        while !self.seen.contains(needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no {needle:?} in {:?}", self.seen);
            let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
            let ms = PollTimeout::try_from(left.as_millis().min(1000) as i32).unwrap();
            if poll(&mut fds, ms).unwrap() == 0 {
                continue;
            }
            match nix::unistd::read(&self.master, &mut buffer) {
                Ok(n) if n > 0 => self.seen.push_str(&text(&buffer[..n])),
                _ => panic!("terminal closed; saw {:?}", self.seen),
            }
        }
        let end = self.seen.find(needle).unwrap() + needle.len();
        self.seen.drain(..end);
    }

    fn attrs(&self) -> nix::sys::termios::Termios {
        nix::sys::termios::tcgetattr(&self.slave).unwrap()
    }
}

#[test]
fn tty_relays_both_ways_follows_the_window_and_restores_the_terminal() {
    use nix::sys::termios::LocalFlags;
    let mut terminal = Terminal::new(33, 101);
    let before = terminal.attrs();
    assert!(
        before
            .local_flags
            .contains(LocalFlags::ICANON | LocalFlags::ECHO)
    );
    // After the resize below, the script waits for the inner terminal to follow (the relay
    // handles SIGWINCH when it gets the CPU; `expect` bounds the wait), so no sleep guesses.
    let script = "stty size; tty; echo ready; read line; echo \"got:$line\"; \
                  until [ \"$(stty size)\" = '44 55' ]; do sleep 0.05; done; \
                  echo resized; echo sleeping; exec sleep 100";
    let mut child = terminal.start(&[
        "run",
        "--tty",
        "--env",
        "PATH=/usr/bin:/bin",
        "--",
        "/bin/sh",
        "-c",
        script,
    ]);
    terminal.expect("33 101");
    terminal.expect("/dev/pts/");
    terminal.expect("ready");
    // While the program runs, the test's terminal is raw: its keys go through untouched.
    let raw = terminal.attrs();
    assert!(
        !raw.local_flags
            .intersects(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG)
    );
    // A window change of the outer terminal reaches the inner one (SIGWINCH → resize).
    let size = libc::winsize {
        ws_row: 44,
        ws_col: 55,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize from this stack.
    assert_eq!(
        unsafe { libc::ioctl(terminal.master.as_raw_fd(), libc::TIOCSWINSZ, &size) },
        0
    );
    terminal.write(b"hello\r");
    terminal.expect("got:hello");
    terminal.expect("resized");
    terminal.expect("sleeping");
    // ^C is a byte in raw mode; the inner terminal makes it SIGINT for the program.
    terminal.write(b"\x03");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let after = terminal.attrs();
    assert_eq!(after.local_flags, before.local_flags);
    assert_eq!(after.input_flags, before.input_flags);
    assert_eq!(after.output_flags, before.output_flags);
}

#[test]
fn tty_restores_the_terminal_when_the_spawn_fails_and_forwards_signals_to_the_foreground() {
    let mut terminal = Terminal::new(24, 80);
    let before = terminal.attrs();
    let child = terminal.start(&["run", "--tty", "--", "/no/such/program"]);
    let status = child.wait_with_output().unwrap().status;
    assert_eq!(status.code(), Some(127));
    terminal.expect("exec: /no/such/program");
    assert_eq!(terminal.attrs().local_flags, before.local_flags);

    let mut child = terminal.start(&[
        "run",
        "--tty",
        "--",
        "/bin/sh",
        "-c",
        "echo ready; exec /bin/sleep 100",
    ]);
    terminal.expect("ready");
    // SAFETY: kill on our own unwaited child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    assert_eq!(child.wait().unwrap().code(), Some(128 + libc::SIGTERM));
    assert_eq!(terminal.attrs().local_flags, before.local_flags);
}

#[test]
fn completions_are_generated() {
    let out = sprout(&["completions", "bash"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("--cap-drop"));
}

/// A process in new UTS and IPC namespaces, killed when dropped.
struct Holder(std::process::Child);

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn ns_of(pid: &str, kind: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .unwrap()
        .display()
        .to_string()
}

#[test]
fn exec_joins_the_targets_namespaces_that_differ_or_those_asked() {
    if !nix::unistd::geteuid().is_root() {
        panic!("needs root (CI runs as root)");
    }
    let holder = Holder(
        Command::new("unshare")
            .args(["--uts", "--ipc", "sleep", "1000"])
            .spawn()
            .unwrap(),
    );
    let pid = holder.0.id().to_string();
    // unshare execs sleep once its namespaces exist.
    let deadline = Instant::now() + Duration::from_secs(10);
    while ns_of(&pid, "uts") == ns_of("self", "uts")
        || !std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .unwrap()
            .starts_with("sleep")
    {
        assert!(Instant::now() < deadline, "unshare did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let p = probe();
    let run = |extra: &[&str]| {
        let mut args = vec!["exec", "--pid", &pid];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", &p, "report"]);
        let out = sprout(&args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let joined = |report: &str, kind: &str, of: &str| {
        values(report, "ns").contains(&format!("{kind} -> {}", ns_of(of, kind)).as_str())
    };
    let all = run(&[]);
    assert!(
        joined(&all, "uts", &pid) && joined(&all, "ipc", &pid),
        "{all}"
    );
    assert!(joined(&all, "net", "self"));
    let some = run(&["--ns", "uts"]);
    assert!(
        joined(&some, "uts", &pid) && joined(&some, "ipc", "self"),
        "{some}"
    );
    // Without --process, the program starts from the target's environment.
    let theirs = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let theirs: Vec<String> = theirs
        .split(|&b| b == 0)
        .filter(|e| !e.is_empty())
        .map(|e| String::from_utf8_lossy(e).into_owned())
        .collect();
    assert_eq!(values(&all, "env"), theirs);
}

/// `sprout ARGS` run by a shell that first runs `setup` (a trap, a umask): sprout inherits
/// what it sets, and the test's own process is left alone.
fn sprout_after(setup: &str, args: &[&str]) -> Output {
    let script = format!("{setup}; exec \"$0\" \"$@\"");
    Command::new("/bin/sh")
        .args(["-c", &script, SPROUT])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn signal_and_umask_flags_reach_the_process() {
    let p = probe();
    // SIGHUP ignored by sprout's caller: --keep-ignored-signals keeps it ignored, and SIGPIPE
    // (which sprout itself ignores) too; without the flag every signal is at SIG_DFL.
    let ignored = |extra: &[&str]| {
        let mut args = vec!["run", "--sigmask", "USR1,TERM"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", &p, "report"]);
        let out = sprout_after("trap '' HUP", &args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let report = text(&out.stdout);
        assert_eq!(status_value(&report, "SigBlk"), "0000000000004200");
        u64::from_str_radix(&status_value(&report, "SigIgn"), 16).unwrap()
    };
    assert_eq!(ignored(&[]), 0);
    let hup_and_pipe = 1 << (libc::SIGHUP - 1) | 1 << (libc::SIGPIPE - 1);
    assert_eq!(
        ignored(&["--keep-ignored-signals"]) & hup_and_pipe,
        hup_and_pipe
    );

    // --keep-umask: the program gets sprout's umask, whatever it is.
    let keep = sprout_after("umask 027", &["run", "--keep-umask", "--", &p, "report"]);
    assert_eq!(values(&text(&keep.stdout), "umask"), ["0027"]);
    let default = sprout_after("umask 027", &["run", "--", &p, "report"]);
    assert_eq!(values(&text(&default.stdout), "umask"), ["0022"]);
}

#[test]
fn abi_1_1_attributes_reach_the_process() {
    let p = probe();
    let out = sprout(&[
        "run",
        "--pgroup",
        "new",
        "--oom-score-adj",
        "321",
        "--nice",
        "5",
        "--cpus",
        "0",
        "--personality",
        "addr-no-randomize",
        "--unshare",
        "uts",
        "--hostname",
        "sprout-box",
        "--ioprio",
        "idle",
        "--",
        &p,
        "report",
        "cat",
        "/proc/self/oom_score_adj",
        "cat",
        "/proc/self/personality",
        "cat",
        "/proc/sys/kernel/hostname",
        "cat",
        "/proc/self/stat",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert_eq!(values(&report, "pgid"), values(&report, "pid"));
    assert_eq!(status_value(&report, "Cpus_allowed_list"), "0");
    let cat = values(&report, "cat");
    assert_eq!(&cat[..3], ["321", "00040000", "sprout-box"]);
    let stat = cat[3].rsplit(')').next().unwrap();
    assert_eq!(stat.split_whitespace().nth(16), Some("5"), "nice in {stat}");

    // --ptrace: stopped before its first instruction, left stopped for a debugger.
    use std::io::BufRead;
    let mut child = Command::new(SPROUT)
        .args(["run", "--ptrace", "--", &p, "exit", "7"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let pid: i32 = line
        .strip_prefix("sprout: pid ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    // Stopped: the SIGSTOP sprout left it with takes effect as it resumes from the trap.
    let state = || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        stat.rsplit(')')
            .next()
            .unwrap()
            .split_whitespace()
            .next()
            .map(str::to_owned)
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while state().as_deref() != Some("T") {
        assert!(
            Instant::now() < deadline,
            "pid {pid} is {:?}, not stopped",
            state()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: kill on the program sprout started for this test, still unreaped (its parent,
    // sprout, waits for it).
    assert_eq!(unsafe { libc::kill(pid, libc::SIGCONT) }, 0);
    assert_eq!(child.wait().unwrap().code(), Some(7));
}

#[test]
fn exec_takes_the_targets_oom_score_adj() {
    if !nix::unistd::geteuid().is_root() {
        panic!("needs root (CI runs as root)");
    }
    let holder = Holder(
        Command::new("unshare")
            .args(["--uts", "sleep", "1000"])
            .spawn()
            .unwrap(),
    );
    let pid = holder.0.id().to_string();
    std::fs::write(format!("/proc/{pid}/oom_score_adj"), "456").unwrap();
    let out = sprout(&[
        "exec",
        "--pid",
        &pid,
        "--",
        &probe(),
        "cat",
        "/proc/self/oom_score_adj",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(values(&text(&out.stdout), "cat"), ["456"]);
}

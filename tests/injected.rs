//! Injected kernel refusals (issue 9): every system call the child makes between clone and
//! exec is made to fail in turn, with strace's `-e inject=NAME:error=E:when=N` (`-f` follows
//! the CLONE_VM child), and each failure must be reported at its own stage, with its errno and
//! what it concerned, leaving nothing behind: no child, no fd, the caller's state unchanged.
//! A step whose failure the library works around (a fallback, a question it can do without)
//! must instead still give a process that is exactly what was asked. The parent's own steps
//! around the child (clone3, the id-map writes, the handover socket of issue 14) are failed too.
//!
//! The steps are not listed by hand: each spawn configuration of c-tests/injected.c is first
//! traced as it is, and every call its child made becomes a case. A call with no expectation
//! in `expectation` below fails the test, so a new step of the child cannot go untested.
//!
//! strace counts injections per process and from the moment it attaches: the driver waits
//! for it once set up, and burns the calls of its own that the injection would hit (see
//! c-tests/injected.c).

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use common::c::{build_dir, compile, probe, skip_unless_root};

/// The spawn configurations of c-tests/injected.c (ABI 1.1's attributes and issue 14's
/// Landlock, seccomp listener and paused start in the last two).
const CONFIGS: &[&str] = &[
    "full",
    "early-seccomp",
    "tty",
    "own-tty",
    "join",
    "maps",
    "maps-after-join",
    "legacy",
    "close-fallback",
    "exec-fd",
    "path",
    "attributes",
    "sandbox",
];

/// The errno injected, unless a case says otherwise: one no step treats specially.
const ERRNO: (&str, i32) = ("EIO", libc::EIO);

/// What a failed step must give.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    /// The spawn fails with the errno injected, at this stage, the message naming this.
    Fails(&'static str, String),
    /// The same with another errno than the one injected.
    FailsWith(&'static str, String, i32),
    /// The library does without the call: the spawn succeeds and the process is as asked.
    Works,
    /// Not injected: a call the kernel cannot fail (only a seccomp filter of the caller could,
    /// which the hostile-caller tests cover), or one the child repeats until it sees a change.
    NotInjected,
}

/// The `i`th comma-separated argument of a strace line, without a closing parenthesis.
fn arg(args: &str, i: usize) -> Option<&str> {
    args.split(", ")
        .nth(i)
        .map(|a| a.split(')').next().unwrap_or(a).trim())
}

/// A signal's number from strace's name for it.
fn signal_number(name: &str) -> Option<i32> {
    const NAMES: [&str; 31] = [
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    match name.strip_prefix("SIGRT_") {
        Some(n) => n.parse::<i32>().ok().map(|n| 32 + n),
        None => NAMES.iter().position(|&n| n == name).map(|i| i as i32 + 1),
    }
}

/// What failing the child's call `line` (strace's text for it) with `errno` must give.
fn expectation(config: &str, line: &str, errno: &str) -> Option<Expect> {
    let fails = |stage, culprit: &str| Some(Expect::Fails(stage, culprit.to_owned()));
    let (name, args) = line.split_once('(')?;
    let first = arg(args, 0)?;
    match name {
        "umask" | "getpid" | "getppid" | "futex" => Some(Expect::NotInjected),
        // Every signal must be at SIG_DFL in the program: an ignored one would stay ignored.
        "rt_sigaction" => fails("spawn", &format!("signal {}", signal_number(first)?)),
        "rt_sigprocmask" => fails("spawn", "signal mask"),
        // The exec fd's close-on-exec slot after the layout (5 slots in every config).
        "fcntl" | "dup3"
            if config == "exec-fd" && line.contains("5, ") && line.contains("CLOEXEC") =>
        {
            fails("fds", "exec_fd")
        }
        // The Landlock ruleset's and the handover socket's slots after the layout.
        "fcntl" | "dup3" if config == "sandbox" && fd_slot(name, args) == Some(5) => {
            fails("fds", "landlock_ruleset_fd ")
        }
        "fcntl" | "dup3" if config == "sandbox" && fd_slot(name, args) == Some(6) => {
            fails("fds", "the handover socket")
        }
        "fcntl" | "dup3" => fails("fds", "fds["),
        "close_range" if errno == "ENOSYS" || errno == "EPERM" => Some(Expect::Works),
        "close_range" | "getdents64" | "lseek" => fails("fds", "closing every fd from"),
        "openat" if args.contains("\"/proc/self/fd\"") => fails("fds", "closing every fd from"),
        "openat" if args.contains("\"cgroup.procs\"") => fails("cgroup", "moving into it"),
        // ABI 1.1's attributes (the "attributes" config).
        "openat" if args.contains("/oom_score_adj\"") => {
            fails("oom_score_adj", "/proc/self/oom_score_adj")
        }
        "write" if args.contains("\"500\", 3") => fails("oom_score_adj", "oom_score_adj 500"),
        "sethostname" => fails("uts", "hostname \"injected\""),
        "setdomainname" => fails("uts", "domainname \"sprout\""),
        "sched_setaffinity" | "sched_getaffinity" => fails("sched", "cpu_set 0-"),
        "sched_setattr" => fails("sched", "sched SCHED_BATCH nice 5"),
        "ioprio_set" => fails("sched", "ioprio_class 2 level 6"),
        "chroot" => fails("chroot", "root_directory \"/\""),
        "personality" => fails("personality", "personality 0x40000"),
        "write" if args.contains("\"0\", 1") => fails("cgroup", "moving into it"),
        "prlimit64" => fails("rlimits", &format!("{} soft", arg(args, 1)?)),
        "chdir" => fails("chdir", args.split('"').nth(1)?),
        // Asked only to skip a setgroups that would change nothing.
        "getgroups" => Some(Expect::Works),
        "setgroups" => fails("credentials", "extra_gids"),
        "setresgid" => fails("credentials", &format!("gid {first}")),
        "setresuid" => fails("credentials", &format!("uid {first}")),
        "capset" => fails("capabilities", "capset"),
        "prctl" => match first {
            // Asked first only to skip a drop: without the answer the drop is made anyway.
            "PR_CAPBSET_READ" => Some(Expect::Works),
            "PR_CAPBSET_DROP" => fails("capabilities", &format!("dropping {}", arg(args, 1)?)),
            "PR_SET_KEEPCAPS" => fails("capabilities", "PR_SET_KEEPCAPS"),
            "PR_CAP_AMBIENT" if arg(args, 1)? == "PR_CAP_AMBIENT_CLEAR_ALL" => {
                fails("capabilities", "clearing the ambient set")
            }
            "PR_CAP_AMBIENT" => fails("capabilities", &format!("raising {}", arg(args, 2)?)),
            "PR_SET_NO_NEW_PRIVS" => fails("no_new_privs", "PR_SET_NO_NEW_PRIVS"),
            _ => None,
        },
        "seccomp" => fails("seccomp", "seccomp_filter of 1 instructions"),
        // Issue 14's steps (the "sandbox" config); with a paused start, the wait and the
        // program's execve fail at sprout_start.
        "landlock_restrict_self" => {
            fails("landlock", "landlock_restrict_self(landlock_ruleset_fd ")
        }
        "sendmsg" => fails("seccomp", "handing the seccomp listener to the caller"),
        "read" => fails("spawn", "holding paused until sprout_start"),
        "setns" => fails("namespaces", "joining uts from fd"),
        "unshare" => fails("namespaces", "creating namespaces"),
        "setsid" => fails("tty", "setsid"),
        "fstat" | "fchown" => fails("tty", "fchown"),
        "ioctl" if args.contains("TIOCSCTTY") => fails("tty", "TIOCSCTTY"),
        "ioctl" if args.contains("TIOCSPGRP") => fails("tty", "TIOCSPGRP"),
        "setpgid" => fails("tty", "setpgid"),
        "execve" => fails("exec", args.split('"').nth(1)?),
        "execveat" => fails("exec", "exec_fd"),
        _ => None,
    }
}

/// The slot of the layout a fcntl (its fd) or dup3 (its new fd) sets.
fn fd_slot(name: &str, args: &str) -> Option<usize> {
    arg(args, if name == "dup3" { 1 } else { 0 })?.parse().ok()
}

/// A close: of a slot the layout leaves closed (the drivers' layouts have 5 slots), a step of
/// its own; of the child's cgroup.procs fd, one whose error changes nothing (Linux frees the
/// fd whatever close returns); of an fd found in /proc/self/fd, one the final check of the
/// listing finds still open (an injected error skips the call): the spawn fails closed, with
/// EBADFD; of the listing's own directory fd, or of the Landlock ruleset or the seccomp
/// listener once used (right after landlock_restrict_self / sendmsg), close-on-exec anyway.
fn close_expectation(lines: &[String], index: usize) -> Expect {
    let line = &lines[index];
    let fd: usize = arg(line.split_once('(').unwrap().1, 0)
        .and_then(|fd| fd.parse().ok())
        .unwrap_or(usize::MAX);
    let in_layout = lines[index..]
        .iter()
        .any(|l| l.starts_with("close_range(") || l.contains("\"/proc/self/fd\""));
    let after_cgroup = lines[index - 1].starts_with("write(");
    let used = ["landlock_restrict_self(", "sendmsg("]
        .iter()
        .any(|call| lines[index - 1].starts_with(call));
    // The listing's own directory fd, close-on-exec anyway.
    let listing_dir = lines[..index]
        .iter()
        .rev()
        .find(|l| l.contains("\"/proc/self/fd\""))
        .and_then(|l| l.rsplit(" = ").next())
        .and_then(|ret| ret.trim().parse::<usize>().ok());
    if after_cgroup || used || listing_dir == Some(fd) {
        Expect::Works
    } else if fd < 5 && in_layout {
        Expect::Fails("fds", format!("fds[{fd}] (closing)"))
    } else {
        Expect::FailsWith("fds", "closing every fd from".to_owned(), libc::EBADFD)
    }
}

/// The parent-death signal is set twice with id maps: while the child waits for them, and
/// for the program. Which one a line is depends on where it comes in the child's steps.
fn pdeathsig_expectation(lines: &[String], index: usize) -> Expect {
    let waits_after = lines[index..].iter().any(|l| l.starts_with("futex("));
    let clears = lines[index].starts_with("prctl(PR_SET_PDEATHSIG, 0");
    if waits_after || clears {
        Expect::Fails("namespaces", "waiting for the parent".to_owned())
    } else {
        Expect::Fails("spawn", "parent_death_signal".to_owned())
    }
}

/// The injection driver, built once.
fn driver() -> PathBuf {
    compile("injected.c", "injected", &[])
}

/// What one run of the driver under strace gave.
struct Run {
    pid: u32,
    /// The driver's stdout after the "waiting" line.
    output: String,
    stderr: String,
    ok: bool,
}

/// Runs the driver for `config` (burning `burn` of its own calls) and attaches
/// `strace ARGS -p PID` to it once it waits.
fn run_traced(config: &str, strace: &[String], burn: Option<(&str, usize)>) -> Run {
    let mut command = Command::new(driver());
    command.arg(config);
    if let Some((name, count)) = burn {
        command.arg(name).arg(count.to_string());
    }
    let mut child = command
        .env("SPROUT_PROBE", probe())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running the injection driver");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let pid: u32 = match first.strip_prefix("waiting ") {
        Some(pid) => pid.trim().parse().unwrap(),
        None => {
            let mut stderr = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
            let _ = child.wait();
            panic!("{config}: the driver did not wait: {first}{stderr}");
        }
    };
    let tracer = Command::new("strace")
        .args(strace)
        // The driver's sign that strace traces it (see c-tests/injected.c).
        .args(["-e", "inject=getcpu:retval=42"])
        .arg("-p")
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running strace (apt-get install strace)");
    let mut output = String::new();
    stdout.read_to_string(&mut output).unwrap();
    let mut stderr = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
    let status = child.wait().unwrap();
    let traced = tracer.wait_with_output().unwrap();
    stderr.push_str(&String::from_utf8_lossy(&traced.stderr));
    Run {
        pid,
        output,
        stderr,
        ok: status.success(),
    }
}

/// One configuration traced as it is: its child's calls up to its exec, and the calls the
/// driver itself made from the attach on.
struct Recording {
    child: Vec<String>,
    parent: Vec<String>,
}

fn record(config: &str) -> Recording {
    let dir = build_dir().join(format!("injected-{config}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let prefix = dir.join("trace");
    let strace = ["-ff", "-qq", "-o"].map(String::from);
    let mut args = strace.to_vec();
    args.push(prefix.display().to_string());
    let run = run_traced(config, &args, None);
    assert!(
        run.ok && run.output.contains("outcome rc=0 "),
        "{config} does not work untouched:\n{}{}",
        run.output,
        run.stderr
    );
    let lines = |path: &Path| -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("+++") && !l.starts_with("---"))
            .map(String::from)
            .collect()
    };
    let parent = lines(&dir.join(format!("trace.{}", run.pid)));
    let mut child = None;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path == dir.join(format!("trace.{}", run.pid)) {
            continue;
        }
        let all = lines(&path);
        let exec = all.iter().position(|l| {
            (l.starts_with("execve(") || l.starts_with("execveat(")) && l.ends_with(") = 0")
        });
        if let Some(exec) = exec {
            assert!(child.is_none(), "{config}: two children exec'd");
            child = Some(all[..=exec].to_vec());
        }
    }
    Recording {
        child: child.unwrap_or_else(|| panic!("{config}: no child exec'd in {}", dir.display())),
        parent,
    }
}

/// One injection.
#[derive(Debug, Clone)]
struct Case {
    config: &'static str,
    /// The call as the recording shows it.
    line: String,
    name: String,
    /// Which call of `name` in the process concerned fails (1-based).
    when: usize,
    errno: (&'static str, i32),
    /// Harmless calls of `name` the driver makes first (the injection is in the child).
    burn: Option<usize>,
    expect: Expect,
}

/// The line with its addresses blanked, to tell steps already covered.
fn step_key(line: &str) -> String {
    let mut key = String::new();
    let mut rest = line.split(" = ").next().unwrap_or(line);
    while let Some(at) = rest.find("0x") {
        key.push_str(&rest[..at + 2]);
        rest = rest[at + 2..].trim_start_matches(|c: char| c.is_ascii_hexdigit());
    }
    key.push_str(rest);
    key
}

fn cases_of(config: &'static str, recording: &Recording, seen: &mut BTreeSet<String>) -> Vec<Case> {
    let mut cases = Vec::new();
    let parent_calls = |name: &str| {
        recording
            .parent
            .iter()
            .filter(|l| l.split('(').next() == Some(name))
            .count()
    };
    let child = &recording.child;
    for (index, line) in child.iter().enumerate() {
        let name = line.split('(').next().unwrap().to_owned();
        let when = child[..=index]
            .iter()
            .filter(|l| l.split('(').next() == Some(&name))
            .count();
        let total = child
            .iter()
            .filter(|l| l.split('(').next() == Some(&name))
            .count();
        // Sixty-odd rt_sigaction calls, one per signal: the first two and the last.
        if total > 4 && when > 2 && when < total {
            continue;
        }
        let burn = (parent_calls(&name) > 0).then_some(when);
        let mut errnos = vec![ERRNO];
        if name == "close_range" {
            errnos.extend([("ENOSYS", libc::ENOSYS), ("EPERM", libc::EPERM)]);
        }
        for errno in errnos {
            let expect = if line.starts_with("prctl(PR_SET_PDEATHSIG") {
                pdeathsig_expectation(child, index)
            } else if name == "close" {
                close_expectation(child, index)
            } else {
                expectation(config, line, errno.0).unwrap_or_else(|| {
                    panic!("{config}: no expectation for the child's call {line}")
                })
            };
            if expect == Expect::NotInjected
                || !seen.insert(format!("{} {} {expect:?}", step_key(line), errno.0))
            {
                continue;
            }
            cases.push(Case {
                config,
                line: line.clone(),
                name: name.clone(),
                when,
                errno,
                burn,
                expect,
            });
        }
    }
    cases
}

/// The parent's own steps: clone3, the id-map writes (the Nth openat / write of the driver
/// after the attach, no burn: the child makes none of those before it waits), and the
/// handover socket's (socketpair, recvmsg, sendto: the child makes none of those).
fn parent_cases(config: &'static str, recording: &Recording) -> Vec<Case> {
    let mut cases = Vec::new();
    let nth = |index: usize, name: &str| {
        recording.parent[..=index]
            .iter()
            .filter(|l| l.split('(').next() == Some(name))
            .count()
    };
    // The fd each map file was opened at, for the write that follows.
    let mut map_fds: Vec<(String, &'static str)> = Vec::new();
    for (index, line) in recording.parent.iter().enumerate() {
        let name = line.split('(').next().unwrap();
        let map_file = ["uid_map", "gid_map", "setgroups"]
            .into_iter()
            .find(|file| line.contains(&format!("/{file}\"")));
        let expect = match (name, map_file) {
            ("clone3", _) if config == "full" => Expect::Fails("spawn", "clone".to_owned()),
            // Issue 14's exchanges with the child: the socket, the listener it sends, and the
            // verdict that starts it.
            ("socketpair", _) if config == "sandbox" => {
                Expect::Fails("spawn", "the handover socket (socketpair)".to_owned())
            }
            ("recvmsg", _) if config == "sandbox" => Expect::Fails(
                "seccomp",
                "receiving the seccomp listener from the child".to_owned(),
            ),
            ("sendto", _) if config == "sandbox" => Expect::Fails(
                "spawn",
                "starting the paused process (sending its verdict)".to_owned(),
            ),
            ("openat", Some(file)) => {
                let fd = line.rsplit(" = ").next().unwrap_or("").trim().to_owned();
                map_fds.push((format!("write({fd}, "), file));
                Expect::Fails("namespaces", format!("/{file}"))
            }
            ("write", _) => match map_fds
                .iter()
                .rev()
                .find(|(start, _)| line.starts_with(start))
            {
                Some((_, file)) => Expect::Fails("namespaces", format!("/{file}")),
                None => continue,
            },
            _ => continue,
        };
        cases.push(Case {
            config,
            line: line.clone(),
            name: name.to_owned(),
            when: nth(index, name),
            errno: if name == "clone3" {
                ("EAGAIN", libc::EAGAIN)
            } else {
                ERRNO
            },
            burn: None,
            expect,
        });
        if name == "clone3" {
            cases.push(Case {
                errno: ("ENOSYS", libc::ENOSYS),
                expect: Expect::Works,
                ..cases.last().unwrap().clone()
            });
        }
        // What a child gone already gives, which must not be taken for one: the live child
        // is ended, not left waiting for its verdict.
        if name == "sendto" {
            cases.push(Case {
                errno: ("EPIPE", libc::EPIPE),
                ..cases.last().unwrap().clone()
            });
        }
    }
    cases
}

/// Runs one case; an error says what went wrong. Either way, what happened is added to `log`.
fn run_case(case: &Case, log: &Mutex<Vec<String>>) -> Result<(), String> {
    let inject = format!(
        "inject={}:error={}:when={}",
        case.name, case.errno.0, case.when
    );
    let strace = ["-f", "-qq", "-o", "/dev/null", "-e", &inject].map(String::from);
    let run = run_traced(
        case.config,
        &strace,
        case.burn.map(|count| (case.name.as_str(), count)),
    );
    let what = format!("{} {} ({}): {}", case.config, inject, case.line, run.output);
    let outcome = run
        .output
        .lines()
        .find_map(|l| l.strip_prefix("outcome "))
        .ok_or_else(|| format!("{what}: no outcome\n{}", run.stderr))?;
    if !run.ok {
        return Err(format!(
            "{what}: the caller's checks failed:\n{}",
            run.stderr
        ));
    }
    let field = |key: &str| {
        outcome
            .split(' ')
            .find_map(|f| f.strip_prefix(key))
            .unwrap_or("")
    };
    let message = outcome.split_once("message=").map_or("", |(_, m)| m);
    log.lock()
        .unwrap()
        .push(format!("{} {inject}: {outcome}", case.config));
    match &case.expect {
        Expect::Works if field("rc=") == "0" => Ok(()),
        Expect::Works => Err(format!("{what}: should have worked around it")),
        Expect::Fails(stage, culprit) | Expect::FailsWith(stage, culprit, _) => {
            let errno = match case.expect {
                Expect::FailsWith(_, _, errno) => errno,
                _ => case.errno.1,
            };
            // SAFETY: strerror returns a static string for any errno.
            let text = unsafe { std::ffi::CStr::from_ptr(libc::strerror(errno)) }
                .to_string_lossy()
                .into_owned();
            if field("rc=") != format!("-{errno}")
                || field("code=") != errno.to_string()
                || field("stage=") != *stage
                || !message.contains(culprit.as_str())
                || !message.ends_with(&text)
            {
                return Err(format!(
                    "{what}: want -{} at stage {stage}, naming \"{culprit}\"",
                    case.errno.0
                ));
            }
            Ok(())
        }
        Expect::NotInjected => unreachable!(),
    }
}

#[test]
fn every_step_of_the_child_fails_in_turn() {
    if skip_unless_root("injecting failures with strace") {
        return;
    }
    let mut seen = BTreeSet::new();
    let mut cases = Vec::new();
    for config in CONFIGS {
        let recording = record(config);
        cases.extend(cases_of(config, &recording, &mut seen));
        cases.extend(parent_cases(config, &recording));
    }
    // Two at a time: each run is a process traced from start to end.
    let queue = Mutex::new(cases.clone().into_iter());
    let failures = Mutex::new(Vec::new());
    let log = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let Some(case) = queue.lock().unwrap().next() else {
                        break;
                    };
                    if let Err(failure) = run_case(&case, &log) {
                        failures.lock().unwrap().push(failure);
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    let mut log = log.into_inner().unwrap();
    log.sort();
    println!("{}", log.join("\n"));
    assert!(
        failures.is_empty(),
        "{} of {} injected failures were not handled as they must be:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(cases.len() > 60, "only {} cases", cases.len());
}

//! The safe Rust API: describe a process with a `Spec`, `spawn` it, then `wait`, `signal`,
//! `pidfd`, `release`, `list` and `signal_container`, checked from outside (the probe's report
//! and /proc). The tests run on parallel threads of one process, so each uses its own
//! container names and never counts processes it did not start.

mod common;

use std::ffi::CString;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd};
use std::time::Duration;

use nix::fcntl::OFlag;
use nix::unistd::pipe2;
use sprout::{Errno, Program, Spec, Stage};

fn probe() -> String {
    common::c::probe().to_str().unwrap().to_owned()
}

fn cs(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// A spec running the probe with `commands`.
fn probe_spec(commands: &[&str]) -> Spec {
    let mut argv = vec![probe()];
    argv.extend(commands.iter().map(|c| c.to_string()));
    Spec::from_strs(&argv).unwrap()
}

/// A started probe with its stdin (to release "wait") and stdout (its report) held by us.
struct Started {
    pid: i32,
    stdin: Option<File>,
    stdout: BufReader<File>,
}

impl Started {
    /// Reads stdout up to and including the line "end".
    fn report(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        for line in (&mut self.stdout).lines() {
            let line = line.unwrap();
            let end = line == "end";
            lines.push(line);
            if end {
                break;
            }
        }
        lines
    }

    /// Reads one line (the probe's `say`): once it is there, the exec is complete.
    fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        line.trim_end().to_owned()
    }

    fn release_stdin(&mut self) {
        self.stdin = None;
    }
}

/// Spawns `spec` with pipes from and to us on fds 0 and 1 and our stderr on 2, plus `extra`.
fn start(mut spec: Spec) -> Result<Started, sprout::Error> {
    let (in_r, in_w) = pipe2(OFlag::O_CLOEXEC).unwrap();
    let (out_r, out_w) = pipe2(OFlag::O_CLOEXEC).unwrap();
    let mut fds = vec![Some(in_r.as_raw_fd()), Some(out_w.as_raw_fd()), Some(2)];
    fds.extend(spec.fds.iter().copied());
    spec.fds = fds;
    let process = sprout::spawn(&spec)?;
    Ok(Started {
        pid: process.pid,
        stdin: Some(File::from(in_w)),
        stdout: BufReader::new(File::from(out_r)),
    })
}

fn values<'a>(report: &'a [String], key: &str) -> Vec<&'a str> {
    let prefix = format!("{key}=");
    report
        .iter()
        .filter_map(|l| l.strip_prefix(prefix.as_str()))
        .collect()
}

fn value<'a>(report: &'a [String], key: &str) -> &'a str {
    values(report, key)
        .first()
        .copied()
        .unwrap_or_else(|| panic!("no {key} in {report:#?}"))
}

fn proc_status(pid: i32, key: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
        .trim()
        .to_owned()
}

fn proc_fds(pid: i32) -> Vec<i32> {
    let mut fds: Vec<i32> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_str().unwrap().parse().unwrap())
        .collect();
    fds.sort_unstable();
    fds
}

/// A fresh directory under the test target dir, removed by the caller.
fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("rust-api-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.canonicalize().unwrap()
}

fn exited_with(status: i32) -> Option<i32> {
    libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status))
}

fn killed_by(status: i32) -> Option<i32> {
    libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status))
}

#[test]
fn a_spec_is_exactly_what_the_process_gets() {
    let dir = temp_dir("cwd");
    let mut spec = probe_spec(&["report", "wait"]);
    spec.env = vec![cs("A=1"), cs("B=two words")];
    spec.working_directory = CString::new(dir.to_str().unwrap()).unwrap();
    spec.umask = 0o077;
    let mut p = start(spec).unwrap();
    let report = p.report();
    assert_eq!(values(&report, "env"), ["A=1", "B=two words"]);
    assert_eq!(values(&report, "arg"), [probe().as_str(), "report", "wait"]);
    assert_eq!(value(&report, "cwd"), dir.to_str().unwrap());
    assert_eq!(value(&report, "umask"), "0077");
    assert_eq!(value(&report, "pid"), p.pid.to_string());
    assert_eq!(value(&report, "ppid"), std::process::id().to_string());
    assert_eq!(values(&report, "fd").len(), 3, "{report:#?}");
    assert_eq!(proc_status(p.pid, "Umask"), "0077");
    assert_eq!(proc_status(p.pid, "SigBlk"), "0000000000000000");
    assert_eq!(proc_status(p.pid, "SigIgn"), "0000000000000000");
    assert_eq!(proc_fds(p.pid), [0, 1, 2]);
    assert_eq!(
        std::fs::read_link(format!("/proc/{}/cwd", p.pid)).unwrap(),
        dir
    );
    p.release_stdin();
    assert_eq!(exited_with(sprout::wait(p.pid, None).unwrap()), Some(0));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn spec_new_is_a_plain_spawn() {
    let spec = Spec::new(vec![cs("x")]);
    assert_eq!(spec.program, Program::Argv0);
    assert!(spec.env.is_empty());
    assert_eq!(spec.working_directory.as_bytes(), b"/");
    assert_eq!(spec.umask, 0o022);
    assert!(spec.fds.is_empty());
    assert_eq!(spec.parent_death_signal, 0);
    assert_eq!(spec.container_id, None);

    let mut p = start(probe_spec(&["report", "wait"])).unwrap();
    let report = p.report();
    assert!(values(&report, "env").is_empty(), "{report:#?}");
    assert_eq!(value(&report, "cwd"), "/");
    assert_eq!(value(&report, "umask"), "0022");
    p.release_stdin();
    sprout::wait(p.pid, None).unwrap();
}

#[test]
fn wait_times_out_then_returns_the_raw_status_once() {
    let mut p = start(probe_spec(&["say", "ready", "wait", "exit", "7"])).unwrap();
    assert_eq!(p.line(), "ready");
    for timeout in [Duration::ZERO, Duration::from_millis(100)] {
        let error = sprout::wait(p.pid, Some(timeout)).unwrap_err();
        assert_eq!((error.stage, error.errno), (Stage::Wait, Errno::ETIMEDOUT));
    }
    p.release_stdin();
    let status = sprout::wait(p.pid, None).unwrap();
    assert_eq!(exited_with(status), Some(7));
    let error = sprout::wait(p.pid, None).unwrap_err();
    assert_eq!((error.stage, error.errno), (Stage::Wait, Errno::ECHILD));
}

/// A process of this test's own at exactly `pid` (clone3 with set_tid, which needs root),
/// pausing until it is killed and reaped when dropped.
struct Newcomer(i32);

impl Newcomer {
    /// `EEXIST` when another process holds `pid` already.
    fn at(pid: i32) -> Result<Newcomer, Errno> {
        /// struct clone_args up to set_tid_size (CLONE_ARGS_SIZE_VER1).
        #[repr(C)]
        struct CloneArgs {
            flags: u64,
            pidfd: u64,
            child_tid: u64,
            parent_tid: u64,
            exit_signal: u64,
            stack: u64,
            stack_size: u64,
            tls: u64,
            set_tid: u64,
            set_tid_size: u64,
        }
        let tid = pid;
        let args = CloneArgs {
            flags: 0,
            pidfd: 0,
            child_tid: 0,
            parent_tid: 0,
            exit_signal: libc::SIGCHLD as u64,
            stack: 0,
            stack_size: 0,
            tls: 0,
            set_tid: &raw const tid as u64,
            set_tid_size: 1,
        };
        // SAFETY: a fork-like clone3 (no CLONE_VM); the child of this multi-threaded process
        // only calls pause, which is async-signal-safe, until it is killed.
        let got =
            unsafe { libc::syscall(libc::SYS_clone3, &raw const args, size_of::<CloneArgs>()) };
        match got {
            0 => loop {
                // SAFETY: see above.
                unsafe { libc::pause() };
            },
            -1 => Err(Errno::last()),
            pid => Ok(Newcomer(pid as i32)),
        }
    }

    /// Whether it has not exited (nothing is reaped).
    fn alive(&self) -> bool {
        use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        waitid(Id::Pid(nix::unistd::Pid::from_raw(self.0)), flags).unwrap()
            == WaitStatus::StillAlive
    }
}

impl Drop for Newcomer {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.0);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(pid, None);
    }
}

#[test]
fn signal_goes_through_the_pidfd_and_stops_after_the_wait() {
    let mut p = start(probe_spec(&["say", "ready", "pause"])).unwrap();
    assert_eq!(p.line(), "ready");
    sprout::signal(p.pid, 0).unwrap();
    sprout::signal(p.pid, libc::SIGTERM).unwrap();
    let status = sprout::wait(p.pid, Some(Duration::from_secs(10))).unwrap();
    assert_eq!(killed_by(status), Some(libc::SIGTERM));
    assert_eq!(sprout::signal(p.pid, libc::SIGTERM), Err(Errno::ESRCH));
    assert_eq!(
        sprout::signal(std::process::id() as i32, 0),
        Err(Errno::ESRCH)
    );

    // What going through the pidfd is for: a tracked process is reaped behind sprout's back
    // and a new process takes exactly its pid. kill(pid) would hit the newcomer.
    if common::c::skip_unless_root("putting a process at a chosen pid (clone3 with set_tid)") {
        return;
    }
    let name = format!("rust-api-{}-reused", std::process::id());
    let (pid, newcomer) = (0..20)
        .find_map(|_| {
            let mut spec = probe_spec(&["say", "ready", "pause"]);
            spec.container_id = Some(name.clone());
            let mut p = start(spec).unwrap();
            assert_eq!(p.line(), "ready");
            let pid = nix::unistd::Pid::from_raw(p.pid);
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
            nix::sys::wait::waitpid(pid, None).unwrap();
            match Newcomer::at(p.pid) {
                Ok(newcomer) => Some((p.pid, newcomer)),
                // Another process took the pid first: try again.
                Err(Errno::EEXIST) => {
                    let _ = sprout::release(p.pid);
                    None
                }
                Err(errno) => panic!("clone3 with set_tid {}: {errno}", p.pid),
            }
        })
        .expect("no pid could be reused in 20 attempts");
    assert_eq!(newcomer.0, pid);
    assert_eq!(sprout::signal(pid, libc::SIGKILL), Err(Errno::ESRCH));
    assert_eq!(sprout::signal(pid, 0), Err(Errno::ESRCH));
    assert_eq!(sprout::signal_container(&name, libc::SIGKILL), Ok(0));
    assert!(sprout::list(Some(&name)).is_empty());
    // A SIGKILL sent would have ended it by now.
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        newcomer.alive(),
        "the process that took pid {pid} was killed"
    );
    // The wait is about the tracked process (its status where the kernel keeps it), and
    // never reaps the newcomer.
    match sprout::wait(pid, Some(Duration::ZERO)) {
        Ok(status) => assert_eq!(killed_by(status), Some(libc::SIGKILL)),
        Err(error) => assert_eq!(error.errno, Errno::ECHILD, "{error}"),
    }
    assert!(newcomer.alive(), "the wait reaped the newcomer");
}

#[test]
fn run_returns_the_status() {
    let status = sprout::run(&probe_spec(&["exit", "7"])).unwrap();
    assert_eq!(exited_with(status), Some(7));
}

#[test]
fn pidfd_is_close_on_exec_and_readable_after_exit() {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let mut p = start(probe_spec(&["say", "ready", "wait"])).unwrap();
    assert_eq!(p.line(), "ready");
    let pidfd: OwnedFd = sprout::pidfd(p.pid).unwrap();
    // SAFETY: F_GETFD on an fd we own.
    let flags = unsafe { libc::fcntl(pidfd.as_raw_fd(), libc::F_GETFD) };
    assert_eq!(flags, libc::FD_CLOEXEC);
    let mut fds = [PollFd::new(
        std::os::fd::AsFd::as_fd(&pidfd),
        PollFlags::POLLIN,
    )];
    assert_eq!(poll(&mut fds, PollTimeout::ZERO).unwrap(), 0);
    p.release_stdin();
    assert_eq!(poll(&mut fds, PollTimeout::from(10_000u16)).unwrap(), 1);
    assert_eq!(
        exited_with(sprout::wait(p.pid, Some(Duration::ZERO)).unwrap()),
        Some(0)
    );
    assert_eq!(sprout::pidfd(p.pid).err(), Some(Errno::ESRCH));
}

#[test]
fn release_hands_the_process_back_to_the_caller() {
    let process = sprout::spawn(&probe_spec(&["exit", "9"])).unwrap();
    sprout::release(process.pid).unwrap();
    assert_eq!(sprout::release(process.pid), Err(Errno::ESRCH));
    let error = sprout::wait(process.pid, None).unwrap_err();
    assert_eq!((error.stage, error.errno), (Stage::Wait, Errno::ECHILD));
    let status = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(process.pid), None).unwrap();
    assert_eq!(
        status,
        nix::sys::wait::WaitStatus::Exited(nix::unistd::Pid::from_raw(process.pid), 9)
    );
}

#[test]
fn list_and_signal_a_container() {
    let name = format!("rust-api-{}-list", std::process::id());
    let other = format!("{name}-other");
    let mut started = Vec::new();
    for container in [&name, &name, &other] {
        let mut spec = probe_spec(&["say", "ready", "pause"]);
        spec.container_id = Some(container.clone());
        let mut p = start(spec).unwrap();
        assert_eq!(p.line(), "ready");
        started.push(p.pid);
    }
    let mut mine = started[..2].to_vec();
    mine.sort_unstable();
    assert_eq!(sprout::list(Some(&name)), mine);
    assert_eq!(sprout::list(Some(&other)), [started[2]]);
    let all = sprout::list(None);
    assert!(started.iter().all(|pid| all.contains(pid)), "{all:?}");
    assert!(sprout::list(Some("rust-api-no-such-container")).is_empty());

    assert_eq!(sprout::signal_container(&name, libc::SIGKILL), Ok(2));
    for &pid in &mine {
        let status = sprout::wait(pid, Some(Duration::from_secs(10))).unwrap();
        assert_eq!(killed_by(status), Some(libc::SIGKILL));
    }
    let error = sprout::wait(started[2], Some(Duration::ZERO)).unwrap_err();
    assert_eq!(error.errno, Errno::ETIMEDOUT, "the other container was hit");
    assert!(sprout::list(Some(&name)).is_empty());
    assert_eq!(sprout::signal_container(&name, libc::SIGKILL), Ok(0));
    assert_eq!(sprout::signal_container(&other, libc::SIGKILL), Ok(1));
    sprout::wait(started[2], None).unwrap();
}

#[test]
fn errors_name_the_stage_the_subject_and_the_errno() {
    let error =
        sprout::spawn(&Spec::from_strs(&["/nonexistent/sprout-prog"]).unwrap()).unwrap_err();
    assert_eq!((error.stage, error.errno), (Stage::Exec, Errno::ENOENT));
    assert_eq!(
        error.to_string(),
        "exec: /nonexistent/sprout-prog: No such file or directory"
    );
    assert_eq!(error.to_return(), -libc::ENOENT);

    let mut spec = probe_spec(&["exit", "0"]);
    spec.working_directory = cs("/nonexistent/dir");
    let error = sprout::spawn(&spec).unwrap_err();
    assert_eq!((error.stage, error.errno), (Stage::Chdir, Errno::ENOENT));
    assert_eq!(
        error.to_string(),
        "chdir: /nonexistent/dir: No such file or directory"
    );

    let closed = File::open("/dev/null").unwrap().into_raw_fd();
    // SAFETY: closing the fd we just took out of the File.
    unsafe { libc::close(closed) };
    let mut spec = probe_spec(&["exit", "0"]);
    spec.fds = vec![None, None, None, Some(closed)];
    let error = sprout::spawn(&spec).unwrap_err();
    assert_eq!((error.stage, error.errno), (Stage::Args, Errno::EBADF));
    assert_eq!(error.subject, format!("fds[3] = {closed}"));

    let error = sprout::spawn(&Spec::new(Vec::new())).unwrap_err();
    assert_eq!((error.stage, error.errno), (Stage::Args, Errno::EINVAL));
    let error = Spec::from_strs(&["a\0b"]).unwrap_err();
    assert_eq!((error.stage, error.errno), (Stage::Args, Errno::EINVAL));
}

#[test]
fn stage_names_and_values() {
    assert_eq!(Stage::Exec.name(), "exec");
    assert_eq!(Stage::NoNewPrivs.name(), "no_new_privs");
    assert_eq!(Stage::from_u32(Stage::Wait as u32), Some(Stage::Wait));
    assert_eq!(Stage::from_u32(13), Some(Stage::Exec));
    // ABI 1.1 appended stages after WAIT; a number past every stage is none.
    assert_eq!(Stage::from_u32(15), Some(Stage::Sched));
    assert_eq!(Stage::from_u32(20), Some(Stage::Ptrace));
    assert_eq!(Stage::from_u32(21), Some(Stage::Landlock));
    assert_eq!(Stage::from_u32(22), None);
}

#[test]
fn program_path_and_fd_run_with_any_argv0() {
    let mut spec = Spec::from_strs(&["any name", "say", "ready", "wait"]).unwrap();
    spec.program = Program::Path(cs(&probe()));
    let mut p = start(spec.clone()).unwrap();
    assert_eq!(p.line(), "ready");
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", p.pid)).unwrap();
    assert!(cmdline.starts_with(b"any name\0say\0"), "{cmdline:?}");
    p.release_stdin();
    sprout::wait(p.pid, None).unwrap();

    let file = File::open(probe()).unwrap();
    spec.program = Program::Fd(file.as_raw_fd());
    let mut p = start(spec).unwrap();
    assert_eq!(p.line(), "ready");
    assert_eq!(
        std::fs::read_link(format!("/proc/{}/exe", p.pid)).unwrap(),
        std::fs::canonicalize(probe()).unwrap()
    );
    assert_eq!(
        proc_fds(p.pid),
        [0, 1, 2],
        "the exec fd reached the program"
    );
    p.release_stdin();
    sprout::wait(p.pid, None).unwrap();
}

#[test]
fn a_name_is_searched_in_the_default_path_without_path_in_env() {
    assert!(
        std::str::from_utf8(sprout::DEFAULT_PATH)
            .unwrap()
            .contains("/bin")
    );
    let mut spec = Spec::from_strs(&["sh", "-c", "exit 3"]).unwrap();
    spec.env = vec![cs("HOME=/")];
    assert_eq!(exited_with(sprout::run(&spec).unwrap()), Some(3));
}

#[test]
fn fds_are_laid_out_as_asked() {
    let dir = temp_dir("fds");
    let a = File::create(dir.join("a")).unwrap();
    let b = File::create(dir.join("b")).unwrap();
    let mut spec = probe_spec(&["report", "wait"]);
    spec.fds = vec![Some(b.as_raw_fd()), None, Some(a.as_raw_fd())];
    let mut p = start(spec).unwrap();
    p.report();
    assert_eq!(proc_fds(p.pid), [0, 1, 2, 3, 5]);
    let target = |fd| std::fs::read_link(format!("/proc/{}/fd/{fd}", p.pid)).unwrap();
    assert_eq!(target(3), dir.join("b"));
    assert_eq!(target(5), dir.join("a"));
    p.release_stdin();
    sprout::wait(p.pid, None).unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_child_sprout_did_not_start_is_never_reaped() {
    let mut child = std::process::Command::new("/bin/sh")
        .args(["-c", "read line; exit 5"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let error = sprout::wait(pid, Some(Duration::ZERO)).unwrap_err();
    assert_eq!((error.stage, error.errno), (Stage::Wait, Errno::ECHILD));
    assert_eq!(sprout::signal(pid, 0), Err(Errno::ESRCH));
    drop(child.stdin.take());
    assert_eq!(child.wait().unwrap().code(), Some(5));
}

/// A paused spawn holds before execve, its properties in place, until `start` (issue 14).
#[test]
fn a_paused_spawn_runs_its_program_only_once_started() {
    let mut spec = probe_spec(&["say", "started"]);
    spec.paused = true;
    spec.no_new_privs = true;
    let mut started = start(spec).unwrap();
    assert_eq!(proc_status(started.pid, "NoNewPrivs"), "1");
    let mut pending = libc::pollfd {
        fd: started.stdout.get_ref().as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one pollfd on this stack.
    assert_eq!(unsafe { libc::poll(&mut pending, 1, 100) }, 0, "ran early");
    sprout::start(started.pid).unwrap();
    assert_eq!(started.line(), "started");
    assert_eq!(
        sprout::start(started.pid).unwrap_err().errno,
        Errno::EALREADY
    );
    drop(started.stdin.take());
    let status = sprout::wait(started.pid, None).unwrap();
    assert!(libc::WIFEXITED(status), "{status:#x}");
}

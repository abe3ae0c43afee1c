//! The differential test against real OCI runtimes: a busybox container started by Debian's
//! `runc` (and one by `crun`), and for each of several process objects, a probe started by `runc exec --process
//! P` and one started by `sprout exec --pid … --process P`, compared on what the kernel shows
//! of each (ids, groups, the five capability sets, NoNewPrivs, Seccomp, rlimits, umask, cwd,
//! env, every namespace, every cgroup line, oom_score_adj, the root directory, the signal
//! mask and ignored set, the session keyring, the terminal).
//!
//! What differs on purpose is listed in the README ("sprout exec and runc exec") and handled
//! where it shows: the resource limits when the process object has none, the keyring of a
//! user-namespace container. NOFILE is asked with soft = hard: runc 1.1 (Go 1.19) at times
//! hands the program a soft limit raised to the hard one, which Go's runtime does to itself.

mod common;

use std::collections::BTreeMap;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use serde_json::{Value, json};

const SPROUT: &str = env!("CARGO_BIN_EXE_sprout");

/// runc and busybox-static come from `.ci/run`; without them (or root) the test cannot run.
fn prerequisites() -> bool {
    let missing: Vec<&str> = [("runc", "runc"), ("busybox", "busybox-static")]
        .into_iter()
        .filter(|(cmd, _)| {
            Command::new("sh")
                .args(["-c", &format!("command -v {cmd}")])
                .output()
                .map_or(true, |o| !o.status.success())
        })
        .map(|(_, package)| package)
        .collect();
    let root = nix::unistd::geteuid().is_root();
    if missing.is_empty() && root {
        return true;
    }
    let why = if root {
        format!(
            "needs Debian's {} (.ci/run installs them)",
            missing.join(" and ")
        )
    } else {
        "needs root".to_owned()
    };
    common::c::skip(&format!("runc differential test {why}"));
    false
}

/// A container of a busybox bundle, run by runc or crun, killed and deleted on every path.
struct Container {
    runtime: &'static str,
    dir: PathBuf,
    id: String,
    pid: i32,
}

impl Container {
    /// A runc container; `linux` is merged into the config's `linux` object.
    fn start(name: &str, linux: Value) -> Container {
        Container::start_with("runc", name, linux)
    }

    fn start_with(runtime: &'static str, name: &str, linux: Value) -> Container {
        let id = format!("sprout-{name}-{}", std::process::id());
        let dir = std::env::temp_dir().join(&id);
        let _ = std::fs::remove_dir_all(&dir);
        let rootfs = dir.join("bundle/rootfs");
        for sub in ["bin", "etc", "tmp", "proc", "dev", "sys"] {
            std::fs::create_dir_all(rootfs.join(sub)).unwrap();
        }
        let busybox = which("busybox");
        std::fs::copy(&busybox, rootfs.join("bin/busybox")).unwrap();
        for applet in ["sh", "sleep", "cat"] {
            std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
        }
        std::fs::copy(common::c::probe(), rootfs.join("probe")).unwrap();
        std::fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
        let bundle = dir.join("bundle");
        run(Command::new("runc").arg("spec").current_dir(&bundle));
        let path = bundle.join("config.json");
        let mut config: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        config["process"]["terminal"] = json!(false);
        config["process"]["args"] = json!(["/bin/sleep", "1000"]);
        config["root"]["readonly"] = json!(false);
        if let (Some(base), Some(extra)) = (config["linux"].as_object_mut(), linux.as_object()) {
            for (key, value) in extra {
                base.insert(key.clone(), value.clone());
            }
        }
        if let Some(maps) = linux.get("uidMappings") {
            let outside = maps[0]["hostID"].as_u64().unwrap();
            let namespaces = config["linux"]["namespaces"].as_array_mut().unwrap();
            namespaces.push(json!({"type": "user"}));
            run(Command::new("chown")
                .args(["-R", &format!("{outside}:{outside}")])
                .arg(&rootfs));
        }
        std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
        let mut container = Container {
            runtime,
            dir,
            id,
            pid: 0,
        };
        // The container keeps runc's stdio: nothing of the test's, or a read of it would
        // wait for the container's end.
        let status = container
            .runc()
            .args(["run", "-d", &container.id])
            .current_dir(&bundle)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "runc run -d {}: {status}", container.id);
        let state: Value =
            serde_json::from_str(&run(container.runc().args(["state", &container.id]))).unwrap();
        container.pid = state["pid"].as_i64().unwrap() as i32;
        container
    }

    /// The runtime's command, with a state directory of the test's own. crun 1.8 refuses a
    /// hybrid cgroup host (cgroup2 mounted beside the v1 hierarchies): it runs in a mount
    /// namespace of its own where the cgroup2 mount is gone, and sees cgroup v1 only.
    fn runc(&self) -> Command {
        let mut command = match (self.runtime, hybrid_cgroup2_mount()) {
            ("crun", Some(cgroup2)) => {
                let mut command = Command::new("unshare");
                command.args(["-m", "sh", "-c", "umount \"$0\" && exec crun \"$@\""]);
                command.arg(cgroup2);
                command
            }
            (runtime, _) => Command::new(runtime),
        };
        command.arg("--root").arg(self.dir.join("state"));
        command
    }

    fn process_file(&self, name: &str, process: &Value) -> PathBuf {
        let path = self.dir.join(format!("{name}.json"));
        std::fs::write(&path, process.to_string()).unwrap();
        path
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = self.runc().args(["delete", "-f", &self.id]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Where cgroup2 is mounted beside v1 hierarchies (a hybrid host), from mountinfo.
fn hybrid_cgroup2_mount() -> Option<String> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let fs = |line: &str| {
        line.split_once(" - ")
            .and_then(|(_, after)| after.split(' ').next().map(str::to_owned))
    };
    let point = |line: &str| line.split(' ').nth(4).map(str::to_owned);
    let has_v1 = mountinfo
        .lines()
        .any(|l| fs(l).as_deref() == Some("cgroup"));
    let v2 = mountinfo
        .lines()
        .find(|l| fs(l).as_deref() == Some("cgroup2"))?;
    has_v1.then(|| point(v2)).flatten()
}

fn which_opt(program: &str) -> Option<PathBuf> {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
}

fn which(program: &str) -> PathBuf {
    let out = run(Command::new("sh").args(["-c", &format!("command -v {program}")]));
    PathBuf::from(out.trim())
}

/// Runs `command` to success and returns its stdout.
fn run(command: &mut Command) -> String {
    let out = command.stderr(Stdio::piped()).output().unwrap();
    assert!(
        out.status.success(),
        "{command:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What the probe reports of itself, keyed for comparison (values of repeated keys joined).
fn facts(report: &str) -> BTreeMap<String, String> {
    const STATUS: [&str; 13] = [
        "Uid",
        "Gid",
        "Groups",
        "CapInh",
        "CapPrm",
        "CapEff",
        "CapBnd",
        "CapAmb",
        "NoNewPrivs",
        "Seccomp",
        "Seccomp_filters",
        "SigBlk",
        "SigIgn",
    ];
    let mut facts = BTreeMap::new();
    for line in report.lines().map(|l| l.trim_end_matches('\r')) {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = match key {
            "status" => {
                let Some((name, v)) = value.split_once(':') else {
                    continue;
                };
                if !STATUS.contains(&name) {
                    continue;
                }
                (format!("status {name}"), v.trim().to_owned())
            }
            "umask" | "cwd" | "env" | "ns" | "rlimit" | "cat" | "keyring" | "root" | "rootid"
            | "ttyname" | "devtty" | "getppid" => (key.to_owned(), value.to_owned()),
            _ => continue,
        };
        let entry: &mut String = facts.entry(key).or_default();
        if !entry.is_empty() {
            entry.push_str(" | ");
        }
        entry.push_str(&value);
    }
    facts
}

const PROBE: [&str; 12] = [
    "/probe",
    "report",
    "cat",
    "/proc/self/cgroup",
    "cat",
    "/proc/self/oom_score_adj",
    "keyring",
    "root",
    "ttyname",
    "tty",
    "try-getppid",
    "exit",
];

/// The probe's facts under `runc exec` and under `sprout exec`, for one process object.
fn both(
    container: &Container,
    name: &str,
    process: &Value,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let path = container.process_file(name, process);
    let terminal = process["terminal"].as_bool().unwrap_or(false);
    let mut runc = container.runc();
    runc.args(["exec", "--process"])
        .arg(&path)
        .arg(&container.id);
    let state = run(container.runc().args(["state", &container.id]));
    let state_path = container.dir.join("state.json");
    std::fs::write(&state_path, state).unwrap();
    // Both start from a clean signal state: runc passes on what its caller ignores (this
    // test harness ignores some), which sprout never does.
    default_signals(&mut runc);
    let mut sprout = Command::new(SPROUT);
    default_signals(&mut sprout);
    sprout
        .args(["exec", "--state"])
        .arg(&state_path)
        .arg("--process")
        .arg(&path);
    let (by_runc, by_sprout) = if terminal {
        (on_terminal(&mut runc), on_terminal(&mut sprout))
    } else {
        (
            run(runc.stdin(Stdio::null())),
            run(sprout.stdin(Stdio::null())),
        )
    };
    let (mut runc, mut sprout) = (facts(&by_runc), facts(&by_sprout));
    if container.runtime == "crun" {
        // crun 1.8's exec gives the process no session keyring of the container's (it keeps
        // the user's session keyring); sprout gives one as runc does.
        runc.remove("keyring");
        sprout.remove("keyring");
    }
    if process.get("rlimits").is_none() {
        // runc 1.1 means to give the container's limits (its newInitConfig takes them) but
        // sets them on its intermediate process, so the program keeps runc's own; sprout gives
        // the container's (README: "sprout exec and runc exec").
        let limits = sprout.remove("rlimit").unwrap_or_default();
        assert!(
            limits.contains("7 1024 1024"),
            "{name}: want the container's nofile: {limits}"
        );
        runc.remove("rlimit");
    }
    (runc, sprout)
}

/// Every signal at SIG_DFL in the started command.
fn default_signals(command: &mut Command) {
    // SAFETY: rt_sigaction is async-signal-safe; raw, because the C library refuses to touch
    // its own signals (32, 33), which the test's process may have ignored.
    unsafe {
        command.pre_exec(|| {
            let default: [u64; 4] = [libc::SIG_DFL as u64, 0, 0, 0];
            for signal in 1..=64 {
                if signal != libc::SIGKILL && signal != libc::SIGSTOP {
                    libc::syscall(libc::SYS_rt_sigaction, signal, default.as_ptr(), 0, 8);
                }
            }
            Ok(())
        });
    }
}

/// Runs `command` on a pseudo-terminal of the test's (its controlling terminal, as a user's
/// shell would give it) and returns what it showed there.
fn on_terminal(command: &mut Command) -> String {
    let (master, slave) = sprout::openpty(30, 90).unwrap();
    let clone = |fd: &OwnedFd| Stdio::from(fd.try_clone().unwrap());
    command
        .stdin(clone(&slave))
        .stdout(clone(&slave))
        .stderr(clone(&slave));
    // SAFETY: setsid and an ioctl: async-signal-safe system calls.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().unwrap();
    drop(slave);
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buffer = [0u8; 4096];
    loop {
        let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, PollTimeout::from(200u16)).unwrap() > 0 {
            match nix::unistd::read(&master, &mut buffer) {
                Ok(n) if n > 0 => seen.extend_from_slice(&buffer[..n]),
                _ => break,
            }
        } else if child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "{command:?} did not end");
    }
    let status = child.wait().unwrap();
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert!(status.success(), "{command:?}: {status}\n{text}");
    text
}

/// Compares, and says every difference at once.
fn assert_same(case: &str, runc: &BTreeMap<String, String>, sprout: &BTreeMap<String, String>) {
    let keys: std::collections::BTreeSet<&String> = runc.keys().chain(sprout.keys()).collect();
    let differences: Vec<String> = keys
        .into_iter()
        .filter(|k| runc.get(*k) != sprout.get(*k))
        .map(|k| {
            format!(
                "  {k}:\n    runc:   {:?}\n    sprout: {:?}",
                runc.get(k),
                sprout.get(k)
            )
        })
        .collect();
    assert!(
        differences.is_empty(),
        "{case}: sprout exec differs from runc exec:\n{}",
        differences.join("\n")
    );
    assert!(
        runc.contains_key("status Uid") && runc.contains_key("ns"),
        "{case}: no report: {runc:?}"
    );
}

fn process(extra: Value) -> Value {
    let mut process = json!({
        "args": PROBE.iter().chain(&["0"]).collect::<Vec<_>>(),
        "cwd": "/",
        "env": ["PATH=/bin", "HOME=/root"],
        "user": {"uid": 0, "gid": 0},
    });
    for (key, value) in extra.as_object().unwrap() {
        process[key] = value.clone();
    }
    process
}

/// The process objects compared in every container.
fn cases() -> Vec<(&'static str, Value)> {
    let all_caps = json!([
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FOWNER",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_RAW",
        "CAP_SYS_CHROOT",
        "CAP_AUDIT_WRITE"
    ]);
    vec![
        (
            "root",
            process(json!({
                "capabilities": {"bounding": all_caps, "effective": all_caps, "permitted": all_caps},
            })),
        ),
        (
            "groups",
            process(json!({
                "user": {"uid": 1000, "gid": 1000, "additionalGids": [5, 6, 1000]},
                "capabilities": {"bounding": ["CAP_KILL"]},
                "noNewPrivileges": true,
            })),
        ),
        (
            "ambient",
            process(json!({
                "user": {"uid": 1000, "gid": 1000},
                "capabilities": {
                    "bounding": ["CAP_NET_BIND_SERVICE", "CAP_KILL"],
                    "effective": ["CAP_NET_BIND_SERVICE"], "permitted": ["CAP_NET_BIND_SERVICE"],
                    "inheritable": ["CAP_NET_BIND_SERVICE"], "ambient": ["CAP_NET_BIND_SERVICE"],
                },
            })),
        ),
        (
            "rlimits",
            process(json!({
                "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 150, "hard": 150},
                            {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
                            {"type": "RLIMIT_NPROC", "soft": 500, "hard": 600}],
                "noNewPrivileges": true,
            })),
        ),
        (
            "env-cwd",
            process(json!({
                "cwd": "/tmp", "env": ["PATH=/bin:/usr/bin", "HOME=/tmp", "LANG=C.UTF-8", "EMPTY="],
            })),
        ),
        (
            "terminal",
            process(json!({
                "terminal": true, "consoleSize": {"height": 30, "width": 90},
            })),
        ),
    ]
}

#[test]
fn sprout_exec_matches_runc_exec() {
    if !prerequisites() {
        return;
    }
    let seccomp = json!({"seccomp": {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}],
    }});
    let container = Container::start("plain", seccomp);
    for (case, process) in cases() {
        let (runc, sprout) = both(&container, case, &process);
        assert_same(case, &runc, &sprout);
    }
    // The container's init was stopped for a moment to read its filter, and goes on.
    assert!(Path::new(&format!("/proc/{}", container.pid)).exists());
}

#[test]
fn sprout_exec_matches_crun_exec() {
    if !prerequisites() {
        return;
    }
    if which_opt("crun").is_none() {
        common::c::skip("the crun comparison needs Debian's crun (.ci/run installs it)");
        return;
    }
    let seccomp = json!({"seccomp": {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}],
    }});
    let container = Container::start_with("crun", "crun", seccomp);
    // crun 1.8's own terminal relay mixes "\e[0m" into the output and loses bytes of it when
    // the program ends at once (seen here under load): the terminal case is runc's only.
    for (case, process) in cases().into_iter().filter(|(case, _)| *case != "terminal") {
        let (crun, sprout) = both(&container, case, &process);
        assert_same(&format!("crun {case}"), &crun, &sprout);
    }
}

#[test]
fn sprout_exec_matches_runc_exec_in_a_user_namespace_container() {
    if !prerequisites() {
        return;
    }
    let userns = json!({
        "uidMappings": [{"containerID": 0, "hostID": 200000, "size": 65536}],
        "gidMappings": [{"containerID": 0, "hostID": 200000, "size": 65536}],
    });
    let container = Container::start("userns", userns);
    for (case, process) in cases() {
        let (mut runc, mut sprout) = both(&container, case, &process);
        // In a user-namespace container runc 1.1's exec runs as the container's root, which
        // the container's `_ses.ID` keyring (made by runc's init) does not let search it, so
        // it makes a new keyring of that name; sprout joins the container's own, as runc does
        // for other containers. The name is the same, the keyring's permissions tell them
        // apart (README: "sprout exec and runc exec").
        for facts in [&mut runc, &mut sprout] {
            if let Some(keyring) = facts.get_mut("keyring") {
                *keyring = keyring.rsplit(';').next().unwrap_or_default().to_owned();
            }
        }
        assert_same(&format!("userns {case}"), &runc, &sprout);
    }
    // Without a process object, sprout exec takes the target's ids as its user namespace sees
    // them (root inside, 200000 outside), with its capability sets.
    let pid = container.pid.to_string();
    let out = run(Command::new(SPROUT)
        .args(["exec", "--pid", &pid, "--", "/probe", "report"])
        .stdin(Stdio::null()));
    let facts = facts(&out);
    assert_eq!(facts["status Uid"], "0\t0\t0\t0", "{out}");
    let init = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let host_uid = init
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(host_uid, "200000");
    let caps = |status: &str, key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}:")))
            .unwrap()
            .trim()
            .to_owned()
    };
    assert_eq!(facts["status CapBnd"], caps(&init, "CapBnd"));
}

//! What the library gained for `sprout exec` (issue 12), through the Rust API and seen from
//! outside: extra cgroup directories joined before the program runs (a container's cgroup v1
//! hierarchies), a session keyring of the process's own, a pseudo-terminal from a given devpts
//! multiplexer, and no default PATH on request.

mod common;

use std::ffi::CString;
use std::io::{BufRead, BufReader};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use nix::fcntl::OFlag;
use nix::unistd::pipe2;
use sprout::{Errno, Spec, Stage};

fn probe_spec(commands: &[&str]) -> Spec {
    let mut argv = vec![common::c::probe().to_str().unwrap().to_owned()];
    argv.extend(commands.iter().map(|c| c.to_string()));
    Spec::from_strs(&argv).unwrap()
}

/// Runs `spec` with stdout to a pipe; returns what it printed.
fn output(mut spec: Spec) -> Result<Vec<String>, sprout::Error> {
    let (read, write) = pipe2(OFlag::O_CLOEXEC).unwrap();
    spec.fds = vec![None, Some(write.as_raw_fd()), Some(2)];
    let process = sprout::spawn(&spec)?;
    drop(write);
    let lines = BufReader::new(std::fs::File::from(read))
        .lines()
        .map(Result::unwrap)
        .collect();
    sprout::wait(process.pid, None).unwrap();
    Ok(lines)
}

fn value(lines: &[String], key: &str) -> String {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in {lines:?}"))
        .to_owned()
}

#[test]
fn without_path_and_the_default_path_the_program_is_not_found() {
    let mut spec = Spec::from_strs(&["sh", "-c", "exit 0"]).unwrap();
    assert!(output(spec.clone()).is_ok(), "found in the default PATH");
    spec.no_default_path = true;
    let error = output(spec.clone()).unwrap_err();
    assert_eq!((error.stage, error.errno), (Stage::Exec, Errno::ENOENT));
    assert_eq!(
        error.to_string(),
        "exec: sh (no PATH in the environment, and no default PATH asked for): No such file or \
         directory"
    );
    spec.env = vec![CString::new("PATH=/usr/bin:/bin").unwrap()];
    assert!(
        output(spec).is_ok(),
        "a PATH in the environment is searched"
    );
}

#[test]
fn a_session_keyring_of_its_own_named_or_anonymous() {
    let describe = |spec: Spec| value(&output(spec).unwrap(), "keyring");
    let name = format!("sprout-test-{}", std::process::id());
    let mut spec = probe_spec(&["keyring"]);
    let caller = describe(spec.clone());
    spec.session_keyring = Some(CString::new(name.clone()).unwrap());
    let named = describe(spec.clone());
    assert!(named.ends_with(&format!(";{name}")), "{named}");
    spec.session_keyring = Some(CString::default());
    let anonymous = describe(spec);
    assert!(anonymous.ends_with(";_ses"), "{anonymous}");
    assert_ne!(caller, anonymous);
}

/// A v1 hierarchy to test in (pids, else any), or the cgroup2 mount on hosts without v1.
fn some_cgroup_mount() -> PathBuf {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mounts: Vec<(String, String, String)> = mountinfo
        .lines()
        .filter_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            let point = before.split(' ').nth(4)?.to_owned();
            let mut after = after.split(' ');
            Some((after.next()?.to_owned(), point, after.nth(1)?.to_owned()))
        })
        .filter(|(fs, _, _)| fs == "cgroup" || fs == "cgroup2")
        .collect();
    let v1 = |want: &str| {
        mounts
            .iter()
            .find(|(fs, _, opts)| fs == "cgroup" && opts.split(',').any(|o| o == want))
    };
    let found = v1("pids")
        .or_else(|| mounts.iter().find(|(fs, _, _)| fs == "cgroup"))
        .or_else(|| mounts.iter().find(|(fs, _, _)| fs == "cgroup2"))
        .expect("a cgroup mount");
    PathBuf::from(&found.1)
}

/// A cgroup directory made for one test, removed when dropped.
struct Cgroup(PathBuf);

impl Drop for Cgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn extra_cgroups_are_joined_before_the_program_runs() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "needs root (CI runs as root)"
    );
    let mount = some_cgroup_mount();
    let name = format!("sprout-test-extra-{}", std::process::id());
    let cgroup = Cgroup(mount.join(&name));
    std::fs::create_dir(&cgroup.0).unwrap();
    let dir = OwnedFd::from(std::fs::File::open(&cgroup.0).unwrap());
    let mut spec = probe_spec(&["cat", "/proc/self/cgroup"]);
    spec.extra_cgroups = vec![dir.as_raw_fd()];
    let lines = output(spec.clone()).unwrap();
    assert!(
        lines.iter().any(|l| l.ends_with(&format!(":/{name}"))),
        "not in {}: {lines:?}",
        cgroup.0.display()
    );

    let not_a_cgroup = std::fs::File::open("/tmp").unwrap();
    spec.extra_cgroups = vec![dir.as_raw_fd(), not_a_cgroup.as_raw_fd()];
    let error = output(spec.clone()).unwrap_err();
    assert_eq!((error.stage, error.errno), (Stage::Args, Errno::EINVAL));
    assert!(
        error.subject.starts_with("extra_cgroup_fds[1] = "),
        "{error}"
    );

    // A cgroup that is gone: the move fails at stage CGROUP, naming the entry.
    let gone = Cgroup(mount.join(format!("{name}-gone")));
    std::fs::create_dir(&gone.0).unwrap();
    let gone_fd = OwnedFd::from(std::fs::File::open(&gone.0).unwrap());
    std::fs::remove_dir(&gone.0).unwrap();
    spec.extra_cgroups = vec![dir.as_raw_fd(), gone_fd.as_raw_fd()];
    let error = output(spec).unwrap_err();
    assert_eq!(error.stage, Stage::Cgroup, "{error}");
    assert!(
        error.subject.starts_with("extra_cgroup_fds[1] = "),
        "{error}"
    );
}

#[test]
fn a_pty_from_a_given_devpts_multiplexer() {
    // The host's own multiplexer stands in for a container's, opened O_PATH: the open makes
    // no pair of its own.
    let ptmx = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH)
        .open("/dev/pts/ptmx")
        .unwrap();
    let (_master, slave) = sprout::openpty_from(ptmx.as_fd(), 20, 70).unwrap();
    let name = std::fs::read_link(format!("/proc/self/fd/{}", slave.as_raw_fd())).unwrap();
    assert!(name.starts_with("/dev/pts/"), "{}", name.display());
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ fills the winsize on this stack.
    assert_eq!(
        unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCGWINSZ, &mut size) },
        0
    );
    assert_eq!((size.ws_row, size.ws_col), (20, 70));
    let regular = std::fs::File::open("/etc/passwd").unwrap();
    assert_eq!(
        sprout::openpty_from(regular.as_fd(), 20, 70).unwrap_err(),
        Errno::EINVAL
    );
}

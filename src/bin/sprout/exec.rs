//! `sprout exec`: start a program inside a running container (or beside any process): in the
//! target's namespaces and cgroups, with its resource limits and oom_score_adj unless the
//! request sets its own, as `runc exec` does.
//!
//! What the program gets from the target, all before its first instruction:
//! - every namespace of the target that differs from sprout's (user first; `--ns` chooses),
//!   which also gives it the container's root and, for a relative cwd, its root directory;
//! - the target's cgroup2 directory at birth (CLONE_INTO_CGROUP), and on hybrid hosts every
//!   cgroup v1 hierarchy the target is in (its devices, memory and pids limits live there),
//!   which the library joins before the process does anything else;
//! - the target's resource limits where they differ from sprout's, unless the process object
//!   has `rlimits` (then those only, as runc does) or `--rlimit` names the resource;
//! - the target's oom_score_adj, unless the request sets one;
//! - without `--process`: the target's ids (as its user namespace sees them) and capability
//!   sets unless flags say otherwise, and, without `--clear-env`, its environment under `--env`.
//!
//! The target's files are read through one open directory /proc/PID while a pidfd of it is
//! held, and the pidfd is checked alive after the last read: a pid reused meanwhile is
//! refused. Each file is read once, whole, in one read(2) (std's read_to_string would stat it
//! and read a /proc file 32 bytes first, then double: 8 reads for a status file), and only
//! the files the request needs: the id maps only where the target's user namespace is not
//! sprout's, mountinfo only where a cgroup differs. What `sprout exec` costs and where it
//! goes is in BENCHMARKS.md.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;
use sprout::{Credentials, Namespace, Rlimit, Terminal};

use crate::flags::{self, Context, ProcessFlags};
use crate::names;
use crate::relay;
use crate::status::{self, Outcome, refuse};

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// The target process (a container's init, e.g. `runc state ID`'s pid).
    #[arg(
        long,
        value_name = "PID",
        help_heading = "Target",
        required_unless_present = "state",
        conflicts_with = "state"
    )]
    pub pid: Option<i32>,
    /// An OCI state document (JSON, `-` for stdin; what `runc state ID` prints): the target
    /// is its `pid`, and its `id` names the session keyring and labels the process.
    #[arg(long, value_name = "FILE|-", help_heading = "Target")]
    pub state: Option<String>,
    /// The namespaces to join [default: each one of the target's that differs from sprout's].
    #[arg(long, value_name = "NS,...", help_heading = "Target")]
    pub ns: Option<String>,
    #[command(flatten)]
    pub flags: ProcessFlags,
    /// The program and its arguments (or the process object's `args`).
    #[arg(last = true, value_name = "PROG ARGS")]
    pub argv: Vec<String>,
}

/// The parts of an OCI state document sprout uses.
#[derive(Deserialize)]
struct State {
    id: Option<String>,
    pid: Option<i32>,
    status: Option<String>,
}

struct Target {
    pid: i32,
    container: Option<String>,
    /// Held from before the first read of /proc/PID to after the last.
    pidfd: OwnedFd,
    /// /proc/PID, every file of the target is read relative to it: once the process is gone,
    /// a read through it fails (ESRCH) even if the pid is reused.
    dir: OwnedFd,
}

/// A directory of /proc (the target's or sprout's own) and the name to show for it.
#[derive(Clone, Copy)]
struct ProcDir<'a> {
    fd: BorrowedFd<'a>,
    path: &'a Path,
}

impl ProcDir<'_> {
    /// The whole of a small /proc file (an open of the name under the directory, a read of
    /// up to 8 KiB that a seq_file answers whole, and the read that sees its end).
    fn read(&self, name: &str) -> Outcome<Vec<u8>> {
        use nix::fcntl::{OFlag, openat};
        let failed = |e: nix::Error| {
            status::Failure::Refused(format!("{}/{name}: {}", self.path.display(), e.desc()))
        };
        let file = openat(
            self.fd,
            name,
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(failed)?;
        let mut bytes = vec![0; 8192];
        let mut len = 0;
        loop {
            if len == bytes.len() {
                bytes.resize(len * 2, 0);
            }
            match nix::unistd::read(&file, &mut bytes[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(nix::Error::EINTR) => {}
                Err(e) => return Err(failed(e)),
            }
        }
        bytes.truncate(len);
        Ok(bytes)
    }

    fn read_text(&self, name: &str) -> Outcome<String> {
        String::from_utf8(self.read(name)?)
            .or_else(|_| refuse(format!("{}/{name}: not UTF-8", self.path.display())))
    }
}

pub fn main(args: ExecArgs) -> Outcome<u8> {
    if args.state.as_deref() == Some("-") && args.flags.process.as_deref() == Some("-") {
        return refuse("--state - and --process - cannot both read stdin");
    }
    let target = target(&args)?;
    let pid = target.pid;
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    let theirs = ProcDir {
        fd: target.dir.as_fd(),
        path: &proc_dir,
    };
    let own_dir = flags::open("/proc/self", "sprout's own /proc", true)?;
    let ours = ProcDir {
        fd: own_dir.as_fd(),
        path: Path::new("/proc/self"),
    };
    let root = proc_dir.join("root");
    let status = theirs.read_text("status")?;
    let (joins, other_user_namespace) = namespaces(theirs, ours, args.ns.as_deref())?;
    let base_env =
        (args.flags.process.is_none() && !args.flags.clear_env && !args.flags.inherit_env)
            .then(|| environment(theirs))
            .transpose()?;
    let mut launch = args.flags.launch(
        &args.argv,
        &Context {
            root: &root,
            base_env,
            base_caps: Some(flags::capabilities_in(&status)),
            base_credentials: Some(credentials_of(theirs, &status, other_user_namespace)?),
        },
    )?;
    if launch.spec.container_id.is_none() {
        launch.spec.container_id = target.container.clone();
    }
    // As runc: no default PATH, and a session keyring of the container's (or a new one), so
    // that sprout's own session keyring is out of the container's reach.
    launch.spec.no_default_path = true;
    if launch.spec.session_keyring.is_none() {
        let name = target
            .container
            .as_ref()
            .map_or(String::new(), |id| format!("_ses.{id}"));
        launch.spec.session_keyring = Some(flags::cstring(&name, "--state")?);
    }
    // As runc: a session of its own (sprout forwards signals to it), unless --no-tty keeps it
    // in sprout's, or it gets a terminal.
    if launch.tty.is_none() && !args.flags.no_tty && launch.spec.terminal == Terminal::Ignore {
        launch.spec.terminal = Terminal::NewSession;
    }
    if launch.spec.seccomp_filter.is_empty() {
        launch.spec.seccomp_filter = target_seccomp(pid, &status)?;
    }
    join_namespaces(&mut launch, joins);
    join_cgroups(&mut launch, theirs, ours)?;
    if !launch.sets_rlimits {
        copy_rlimits(&mut launch.spec, pid)?;
    }
    if launch.spec.oom_score_adj.is_none() {
        launch.spec.oom_score_adj = target_oom_score_adj(theirs, ours)?;
    }

    let ptmx = match launch.tty {
        Some(_) => container_ptmx(&root),
        None => None,
    };
    if nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_err()
        || !alive(&target.pidfd)
    {
        return refuse(format!(
            "--pid {pid}: the target ended while sprout read it"
        ));
    }
    relay::run(launch, ptmx.as_ref().map(|fd| fd.as_fd()))
}

fn target(args: &ExecArgs) -> Outcome<Target> {
    let (pid, container) = match (&args.pid, &args.state) {
        (Some(pid), _) => (*pid, None),
        (None, Some(path)) => {
            let text = flags::read_text(path)?;
            let state: State =
                serde_json::from_str(&text).or_else(|e| refuse(format!("--state {path}: {e}")))?;
            if let Some(status) = state.status.as_deref() {
                if status != "running" && status != "created" {
                    return refuse(format!(
                        "--state {path}: the container is {status}, not running"
                    ));
                }
            }
            match state.pid {
                Some(pid) if pid > 0 => (pid, state.id),
                _ => return refuse(format!("--state {path}: no pid")),
            }
        }
        (None, None) => return refuse("give --pid or --state"),
    };
    if pid <= 0 {
        return refuse(format!("--pid {pid}: not a process id"));
    }
    // SAFETY: pidfd_open takes integers and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return refuse(format!("--pid {pid}: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: a new fd that nothing else owns.
    let pidfd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as i32) };
    let dir = flags::open(&format!("/proc/{pid}"), "--pid", true)?;
    Ok(Target {
        pid,
        container,
        pidfd,
        dir,
    })
}

/// Whether the process of `pidfd` still runs (signal 0 through the pidfd).
fn alive(pidfd: &OwnedFd) -> bool {
    // SAFETY: pidfd_send_signal with signal 0 only checks; no pointers passed.
    unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            0,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        ) == 0
    }
}

/// The target's effective uid and gid and its groups, as its own user namespace sees them (the
/// library takes ids inside the namespace the process ends up in): /proc/PID/status shows them
/// as sprout's namespace does, and where the target's user namespace is another one,
/// /proc/PID/uid_map and gid_map translate.
fn credentials_of(
    theirs: ProcDir,
    status: &str,
    other_user_namespace: bool,
) -> Outcome<Credentials> {
    let field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or("")
            .split_whitespace()
            .filter_map(|n| n.parse::<u32>().ok())
            .collect::<Vec<u32>>()
    };
    let (uid_map, gid_map) = if other_user_namespace {
        (
            Some(parse_map(&theirs.read_text("uid_map")?)),
            Some(parse_map(&theirs.read_text("gid_map")?)),
        )
    } else {
        (None, None)
    };
    let inside = |map: &Option<Vec<(u64, u64, u64)>>, id: u32, what: &str| -> Outcome<u32> {
        let Some(map) = map else {
            return Ok(id);
        };
        let id = u64::from(id);
        match map
            .iter()
            .find(|(_, out, count)| *out <= id && id < out + count)
        {
            Some((inner, out, _)) => Ok((inner + id - out) as u32),
            None => refuse(format!(
                "the target's {what} {id} has no id in its user namespace (give --uid/--gid)"
            )),
        }
    };
    let (Some(&uid), Some(&gid)) = (field("Uid:").get(1), field("Gid:").get(1)) else {
        return refuse(format!("{}/status: no Uid or Gid", theirs.path.display()));
    };
    Ok(Credentials {
        uid: inside(&uid_map, uid, "uid")?,
        gid: inside(&gid_map, gid, "gid")?,
        // A group the namespace does not map cannot be asked for there; it is left out.
        groups: field("Groups:")
            .into_iter()
            .filter_map(|g| inside(&gid_map, g, "group").ok())
            .collect(),
    })
}

/// The lines of a /proc/PID/uid_map or gid_map: (inside, outside, count).
fn parse_map(text: &str) -> Vec<(u64, u64, u64)> {
    text.lines()
        .filter_map(|line| {
            let mut n = line.split_whitespace().map(|f| f.parse::<u64>().ok());
            Some((n.next()??, n.next()??, n.next()??))
        })
        .collect()
}

/// The target's environment, /proc/PID/environ.
fn environment(theirs: ProcDir) -> Outcome<Vec<CString>> {
    let bytes = theirs.read("environ")?;
    Ok(bytes
        .split(|&b| b == 0)
        .filter(|entry| !entry.is_empty())
        .filter_map(|entry| CString::new(entry).ok())
        .collect())
}

/// A namespace of the target's to join, open.
struct Join {
    kind: i32,
    file: OwnedFd,
}

/// The target's namespaces to join, opened, user first (the order of `names::NAMESPACES`):
/// each one that differs from sprout's, or each one `only` names (the user namespace only if
/// it differs: a process cannot join its own); and whether its user namespace differs.
/// Compared by the links' text ("mnt:[4026531841]": the kind and the inode number in nsfs),
/// which readlink gives without opening either one.
fn namespaces(theirs: ProcDir, ours: ProcDir, only: Option<&str>) -> Outcome<(Vec<Join>, bool)> {
    use nix::fcntl::{OFlag, openat, readlinkat};
    let chosen = only.map(names::namespaces).transpose()?;
    let dir = |proc: ProcDir| {
        openat(
            proc.fd,
            "ns",
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .or_else(|e| refuse(format!("{}/ns: {}", proc.path.display(), e.desc())))
    };
    let (their_dir, our_dir) = (dir(theirs)?, dir(ours)?);
    let mut joins = Vec::new();
    let mut other_user = false;
    for (name, kind) in names::NAMESPACES {
        let failed = |e: nix::Error| {
            status::Failure::Refused(format!("{}/ns/{name}: {}", theirs.path.display(), e.desc()))
        };
        let link = readlinkat(&their_dir, name).map_err(failed)?;
        let differs = readlinkat(&our_dir, name).map_or(true, |own| own != link);
        other_user |= differs && kind == libc::CLONE_NEWUSER;
        let join = match &chosen {
            Some(kinds) => kinds.contains(&kind) && (differs || kind != libc::CLONE_NEWUSER),
            None => differs,
        };
        if join {
            let file = openat(
                &their_dir,
                name,
                OFlag::O_RDONLY | OFlag::O_CLOEXEC,
                nix::sys::stat::Mode::empty(),
            )
            .map_err(failed)?;
            joins.push(Join { kind, file });
        }
    }
    Ok((joins, other_user))
}

/// Adds the joins to the launch, after any user namespace join it already has.
fn join_namespaces(launch: &mut flags::Launch, joins: Vec<Join>) {
    for Join { kind, file } in joins {
        launch.spec.namespaces.insert(
            launch
                .spec
                .namespaces
                .iter()
                .filter(|n| n.kind == libc::CLONE_NEWUSER)
                .count(),
            Namespace {
                kind,
                fd: Some(file.as_raw_fd()),
            },
        );
        launch.held.push(file);
    }
}

/// One line of /proc/PID/cgroup: hierarchy id, controllers, path.
struct CgroupLine {
    hierarchy: u32,
    controllers: String,
    path: String,
}

fn cgroup_lines(text: &str) -> Vec<CgroupLine> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, ':');
            Some(CgroupLine {
                hierarchy: fields.next()?.parse().ok()?,
                controllers: fields.next()?.to_owned(),
                path: fields.next()?.to_owned(),
            })
        })
        .collect()
}

/// A cgroup mount of /proc/self/mountinfo: mount point, root within the hierarchy, file
/// system type and super-block options (the controllers of a v1 hierarchy).
pub struct CgroupMount {
    pub point: PathBuf,
    pub root: String,
    pub v2: bool,
    pub options: Vec<String>,
}

pub fn cgroup_mounts(mountinfo: &str) -> Vec<CgroupMount> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            let before: Vec<&str> = before.split(' ').collect();
            let after: Vec<&str> = after.split(' ').collect();
            let v2 = match *after.first()? {
                "cgroup2" => true,
                "cgroup" => false,
                _ => return None,
            };
            Some(CgroupMount {
                point: PathBuf::from(unescape(before.get(4)?)),
                root: unescape(before.get(3)?),
                v2,
                options: after.get(2)?.split(',').map(str::to_owned).collect(),
            })
        })
        .collect()
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .and_then(|d| std::str::from_utf8(d).ok());
        if bytes[i] == b'\\' {
            if let Some(code) = octal.and_then(|d| u8::from_str_radix(d, 8).ok()) {
                out.push(code);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The directory of `line` under a mount of its hierarchy, or None where it is mounted
/// nowhere in sprout's mount namespace.
fn cgroup_dir(line: &CgroupLine, mounts: &[CgroupMount]) -> Option<PathBuf> {
    let mount = mounts.iter().find(|m| {
        if line.hierarchy == 0 {
            return m.v2;
        }
        !m.v2
            && !line.controllers.is_empty()
            && line
                .controllers
                .split(',')
                .all(|c| m.options.iter().any(|o| o == c))
    })?;
    let relative = if mount.root == "/" {
        line.path.as_str()
    } else {
        line.path.strip_prefix(&mount.root)?
    };
    Some(mount.point.join(relative.trim_start_matches('/')))
}

/// The target's cgroups that differ from sprout's: the cgroup2 one at birth, the v1 ones
/// before the process runs anything.
fn join_cgroups(launch: &mut flags::Launch, theirs: ProcDir, ours: ProcDir) -> Outcome<()> {
    let their_lines = cgroup_lines(&theirs.read_text("cgroup")?);
    let our_lines = cgroup_lines(&ours.read_text("cgroup")?);
    let mut mounts = None;
    for line in &their_lines {
        let same = our_lines
            .iter()
            .any(|o| o.hierarchy == line.hierarchy && o.path == line.path);
        if same || (line.hierarchy != 0 && line.controllers.is_empty()) {
            continue;
        }
        // mountinfo only where a cgroup differs.
        if mounts.is_none() {
            mounts = Some(cgroup_mounts(&ours.read_text("mountinfo")?));
        }
        let Some(dir) = cgroup_dir(line, mounts.as_deref().unwrap_or_default()) else {
            return refuse(format!(
                "the target's cgroup {}:{}:{} is in a hierarchy not mounted here",
                line.hierarchy, line.controllers, line.path
            ));
        };
        let file = flags::open(&dir.to_string_lossy(), "cgroup", true)?;
        if line.hierarchy == 0 {
            if launch.spec.cgroup.is_none() {
                launch.spec.cgroup = Some(file.as_raw_fd());
            }
        } else {
            launch.spec.extra_cgroups.push(file.as_raw_fd());
        }
        launch.held.push(file);
    }
    Ok(())
}

/// The target's limits where they differ from sprout's and the request does not set them.
fn copy_rlimits(spec: &mut sprout::Spec, pid: i32) -> Outcome<()> {
    for resource in 0..16 {
        if spec.rlimits.iter().any(|l| l.resource == resource) {
            continue;
        }
        let mut theirs = libc::rlimit64 {
            rlim_cur: 0,
            rlim_max: 0,
        };
        let mut ours = theirs;
        // SAFETY: prlimit64 only reads the limits into these locals (no new limit given).
        let read = unsafe {
            libc::prlimit64(pid, resource as _, std::ptr::null(), &mut theirs) == 0
                && libc::prlimit64(0, resource as _, std::ptr::null(), &mut ours) == 0
        };
        if !read {
            return refuse(format!(
                "--pid {pid}: reading its {}: {}",
                sprout::names::resource(resource),
                std::io::Error::last_os_error()
            ));
        }
        if (theirs.rlim_cur, theirs.rlim_max) != (ours.rlim_cur, ours.rlim_max) {
            spec.rlimits.push(Rlimit {
                resource,
                soft: theirs.rlim_cur,
                hard: theirs.rlim_max,
            });
        }
    }
    Ok(())
}

/// The target's seccomp filter, when it has one, so that the program is filtered as the
/// container's own processes are (runc applies the container's profile to `runc exec` too).
/// Read with PTRACE_SECCOMP_GET_FILTER (CAP_SYS_ADMIN), the target stopped for that moment
/// (PTRACE_SEIZE + PTRACE_INTERRUPT; a system call it sleeps in is restarted) and let go.
fn target_seccomp(pid: i32, status: &str) -> Outcome<Vec<libc::sock_filter>> {
    let mode = status
        .lines()
        .find_map(|l| l.strip_prefix("Seccomp:"))
        .map(str::trim);
    match mode {
        None | Some("0") => return Ok(Vec::new()),
        Some("2") => {}
        Some(mode) => return refuse(format!("--pid {pid}: seccomp mode {mode} cannot be copied")),
    }
    let failed = |what: &str| {
        refuse(format!(
            "--pid {pid}: reading its seccomp filter ({what}): {} (give --seccomp FILE instead)",
            std::io::Error::last_os_error()
        ))
    };
    const PTRACE_SECCOMP_GET_FILTER: libc::c_uint = 0x420c;
    // SAFETY (every ptrace call): integer arguments, and for GET_FILTER a buffer of the size the
    // count call returned.
    unsafe {
        if libc::ptrace(libc::PTRACE_SEIZE, pid, 0, 0) < 0 {
            return failed("PTRACE_SEIZE");
        }
    }
    let detach = || unsafe { libc::ptrace(libc::PTRACE_DETACH, pid, 0, 0) };
    let result = (|| {
        unsafe {
            if libc::ptrace(libc::PTRACE_INTERRUPT, pid, 0, 0) < 0 {
                return failed("PTRACE_INTERRUPT");
            }
            let mut status = 0;
            if libc::waitpid(pid, &mut status, libc::__WALL) < 0 {
                return failed("waiting for the stop");
            }
        }
        let count = unsafe { libc::ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 1, 0) };
        if count >= 0 {
            return refuse(format!(
                "--pid {pid}: it has more than one seccomp filter; sprout installs one (give                  --seccomp FILE)"
            ));
        }
        let count = unsafe { libc::ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, 0) };
        if count <= 0 {
            return failed("PTRACE_SECCOMP_GET_FILTER");
        }
        let mut filter = vec![
            libc::sock_filter {
                code: 0,
                jt: 0,
                jf: 0,
                k: 0
            };
            count as usize
        ];
        if unsafe { libc::ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, filter.as_mut_ptr()) } != count
        {
            return failed("PTRACE_SECCOMP_GET_FILTER");
        }
        Ok(filter)
    })();
    detach();
    result
}

/// The target's oom_score_adj where it differs from sprout's (as `runc exec` gives the
/// container's).
fn target_oom_score_adj(theirs: ProcDir, ours: ProcDir) -> Outcome<Option<i32>> {
    let read = |proc: ProcDir| {
        proc.read_text("oom_score_adj")?
            .trim()
            .parse::<i32>()
            .or_else(|e| refuse(format!("{}/oom_score_adj: {e}", proc.path.display())))
    };
    let theirs = read(theirs)?;
    Ok((theirs != read(ours)?).then_some(theirs))
}

/// The container's own pseudo-terminal multiplexer, opened inside its root (never following
/// a link out of it), so that `--tty` allocates from its devpts.
fn container_ptmx(root: &Path) -> Option<OwnedFd> {
    use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2};
    let dir = flags::open(&root.to_string_lossy(), "--pid", true).ok()?;
    let how = OpenHow::new()
        // O_PATH: an open of the multiplexer itself would make a pair nobody uses.
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    match openat2(&dir, "dev/pts/ptmx", how) {
        Ok(fd) => Some(fd),
        Err(e) => {
            eprintln!(
                "sprout: warning: the target has no usable /dev/pts/ptmx ({e}): the terminal \
                 comes from sprout's devpts, where ttyname() inside fails"
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
35 24 0:30 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
36 35 0:31 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
37 35 0:32 / /sys/fs/cgroup/systemd rw shared:11 - cgroup cgroup rw,xattr,name=systemd
40 35 0:35 / /sys/fs/cgroup/cpu,cpuacct rw shared:16 - cgroup cgroup rw,cpu,cpuacct
41 35 0:36 /sub /sys/fs/cgroup/with\\040space rw shared:17 - cgroup cgroup rw,pids";

    #[test]
    fn cgroup_lines_find_their_directories_on_a_hybrid_host() {
        let mounts = cgroup_mounts(HYBRID);
        assert_eq!(mounts.len(), 4);
        let lines = cgroup_lines(
            "5:cpu,cpuacct:/c1\n1:name=systemd:/user.slice\n0::/c1\n7:pids:/sub/c1\n3:memory:/c1\n",
        );
        let dirs: Vec<Option<PathBuf>> = lines.iter().map(|l| cgroup_dir(l, &mounts)).collect();
        assert_eq!(
            dirs,
            [
                Some(PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/c1")),
                Some(PathBuf::from("/sys/fs/cgroup/systemd/user.slice")),
                Some(PathBuf::from("/sys/fs/cgroup/unified/c1")),
                Some(PathBuf::from("/sys/fs/cgroup/with space/c1")),
                None,
            ]
        );
    }

    #[test]
    fn mountinfo_escapes_are_undone() {
        assert_eq!(unescape("a\\040b\\011c\\134"), "a b\tc\\");
        assert_eq!(unescape("plain"), "plain");
    }
}

//! The flags of `sprout run` and `sprout exec` that describe the new process, and how they
//! become a `Spec`: on top of the `--process` object when one is given, else of a plain spawn.

use std::ffi::CString;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use clap::Args;
use sprout::{Capabilities, Credentials, Namespace, Program, Root, Spec, Terminal};

use crate::attrs;
use crate::landlock::LandlockFlags;
use crate::names::{self, CapSet};
use crate::oci;
use crate::status::{Outcome, refuse};

#[derive(Args, Debug, Default)]
pub struct ProcessFlags {
    /// Read an OCI runtime-spec `process` object (JSON, `-` for stdin), as `runc exec
    /// --process` does; the flags below then apply on top of it.
    #[arg(long, value_name = "FILE|-", help_heading = "Program")]
    pub process: Option<String>,
    /// Set KEY to VALUE in the environment, replacing an inherited KEY; KEY alone copies
    /// sprout's own value of KEY. The environment is otherwise empty.
    #[arg(long, value_name = "KEY[=VALUE]", help_heading = "Program")]
    pub env: Vec<String>,
    /// Start from sprout's own environment.
    #[arg(long, conflicts_with = "clear_env", help_heading = "Program")]
    pub inherit_env: bool,
    /// Start from an empty environment (the default; for scripts that want to say so).
    #[arg(long, help_heading = "Program")]
    pub clear_env: bool,
    /// Working directory of the program [default: /].
    #[arg(long, value_name = "DIR", help_heading = "Program")]
    pub cwd: Option<String>,
    /// The program's root directory (chroot), after the namespace joins; --cwd is then
    /// inside it.
    #[arg(long, value_name = "DIR", help_heading = "Program")]
    pub chroot: Option<String>,
    /// Run this open file instead of looking PROG up (PROG is then only argv[0]).
    #[arg(long, value_name = "FD", help_heading = "Program")]
    pub exec_fd: Option<i32>,
    /// With no PATH in the environment, fail instead of searching the default PATH (as
    /// runc and crun do; `sprout exec` always does).
    #[arg(long, help_heading = "Program")]
    pub no_default_path: bool,

    /// User: a number or a name of the new process's /etc/passwd (its primary group is then
    /// the group unless --gid says otherwise).
    #[arg(long, value_name = "USER", help_heading = "Identity")]
    pub uid: Option<String>,
    /// Group: a number or a name of the new process's /etc/group.
    #[arg(long, value_name = "GROUP", help_heading = "Identity")]
    pub gid: Option<String>,
    /// Supplementary groups, comma-separated numbers or names ("" for none). Without it,
    /// --uid/--gid leave the process no supplementary groups.
    #[arg(long, value_name = "GROUP,...", help_heading = "Identity")]
    pub groups: Option<String>,

    /// Set capability sets exactly: SETS=CAPS, e.g. `bounding,permitted=net_raw` or `all=`
    /// (sets: bounding, effective, permitted, inheritable, ambient, all).
    #[arg(long, value_name = "SETS=CAPS", help_heading = "Capabilities")]
    pub caps: Vec<String>,
    /// Add capabilities ([SETS=]CAPS; every set when SETS is left out), after --caps and
    /// --cap-drop. Sets start from sprout's own.
    #[arg(long, value_name = "[SETS=]CAPS", help_heading = "Capabilities")]
    pub cap_add: Vec<String>,
    /// Drop capabilities ([SETS=]CAPS; `all` drops every one), after --caps.
    #[arg(long, value_name = "[SETS=]CAPS", help_heading = "Capabilities")]
    pub cap_drop: Vec<String>,

    /// A resource limit by name, in the kernel's units (bytes, not 8M): nofile=1024:2048, core=0,
    /// stack=8388608:unlimited.
    #[arg(
        long,
        value_name = "RES=SOFT[:HARD]",
        help_heading = "Limits and security"
    )]
    pub rlimit: Vec<String>,
    /// The program's umask, in octal [default: 022].
    #[arg(long, value_name = "MASK", help_heading = "Limits and security")]
    pub umask: Option<String>,
    /// Keep sprout's own umask, read without a race (not 022, not --umask).
    #[arg(long, conflicts_with = "umask", help_heading = "Limits and security")]
    pub keep_umask: bool,
    /// Set no_new_privs: execve grants nothing from then on (setuid bits, file caps).
    #[arg(long, help_heading = "Limits and security")]
    pub no_new_privs: bool,
    /// Install this seccomp filter: a file of raw `struct sock_filter` (cBPF, as bwrap's
    /// --seccomp takes).
    #[arg(long, value_name = "FILE", help_heading = "Limits and security")]
    pub seccomp: Option<PathBuf>,
    #[command(flatten)]
    pub landlock: LandlockFlags,

    /// Create these namespaces: user,mnt,pid,net,ipc,uts,cgroup,time (or all).
    #[arg(long, value_name = "NS,...", help_heading = "Namespaces and cgroups")]
    pub unshare: Vec<String>,
    /// Join a namespace from a file: TYPE=PATH, e.g. net=/run/netns/blue.
    #[arg(
        long,
        value_name = "TYPE=PATH",
        help_heading = "Namespaces and cgroups"
    )]
    pub join_ns: Vec<String>,
    /// A uid_map line of the new user namespace: INSIDE:OUTSIDE:COUNT.
    #[arg(
        long,
        value_name = "IN:OUT:COUNT",
        help_heading = "Namespaces and cgroups"
    )]
    pub uid_map: Vec<String>,
    /// A gid_map line of the new user namespace: INSIDE:OUTSIDE:COUNT.
    #[arg(
        long,
        value_name = "IN:OUT:COUNT",
        help_heading = "Namespaces and cgroups"
    )]
    pub gid_map: Vec<String>,
    /// Start in this cgroup directory: a cgroup2 one at birth (CLONE_INTO_CGROUP), v1 ones
    /// (hybrid hosts; repeat the flag) before anything else runs.
    #[arg(long, value_name = "DIR", help_heading = "Namespaces and cgroups")]
    pub cgroup: Vec<PathBuf>,

    /// Process group: `new` (the program leads a new one) or the id of a group to join in
    /// sprout's session.
    #[arg(long, value_name = "new|PGID", help_heading = "Process")]
    pub pgroup: Option<String>,
    /// The signals blocked when the program starts (its signal mask): SIG,SIG,...
    #[arg(long, value_name = "SIG,...", help_heading = "Process")]
    pub sigmask: Option<String>,
    /// Signals sprout ignores stay ignored in the program (execve's own rule); caught ones go
    /// back to SIG_DFL all the same. By default every signal is at SIG_DFL.
    #[arg(long, help_heading = "Process")]
    pub keep_ignored_signals: bool,
    /// The personality, as setarch names it: linux32, addr-no-randomize, ... (comma-joined).
    #[arg(long, value_name = "NAME", help_heading = "Process")]
    pub personality: Option<String>,
    /// Stop the program before its first instruction (PTRACE_TRACEME) and leave it stopped
    /// (SIGSTOP) for a debugger to attach; sprout prints its pid and waits for it.
    #[arg(long, help_heading = "Process")]
    pub ptrace: bool,
    /// oom_score_adj, -1000 to 1000 (as choom -n).
    #[arg(
        long,
        value_name = "N",
        allow_hyphen_values = true,
        help_heading = "Scheduling"
    )]
    pub oom_score_adj: Option<i32>,
    /// Nice value, -20 to 19 (as nice -n).
    #[arg(
        long,
        value_name = "N",
        allow_hyphen_values = true,
        help_heading = "Scheduling"
    )]
    pub nice: Option<i32>,
    /// Scheduling policy and priority, as chrt: other, batch, idle, fifo:PRIO, rr:PRIO.
    #[arg(long, value_name = "POLICY[:PRIORITY]", help_heading = "Scheduling")]
    pub sched: Option<String>,
    /// I/O class and level, as ionice: realtime[:0-7], best-effort[:0-7], idle.
    #[arg(long, value_name = "CLASS[:LEVEL]", help_heading = "Scheduling")]
    pub ioprio: Option<String>,
    /// CPUs the program may run on, as taskset -c: 0-3,6,8-15:2.
    #[arg(long, value_name = "LIST", help_heading = "Scheduling")]
    pub cpus: Option<String>,
    /// Hostname of the new UTS namespace (with --unshare uts).
    #[arg(long, value_name = "NAME", help_heading = "Namespaces and cgroups")]
    pub hostname: Option<String>,
    /// NIS domain name of the new UTS namespace (with --unshare uts).
    #[arg(long, value_name = "NAME", help_heading = "Namespaces and cgroups")]
    pub domainname: Option<String>,

    /// Signal the process gets when sprout's thread that started it dies.
    #[arg(long, value_name = "SIG", help_heading = "Process")]
    pub pdeathsig: Option<String>,
    /// Label the process with a container id (the library's process table).
    #[arg(long, value_name = "ID", help_heading = "Process")]
    pub container: Option<String>,
    /// Join the session keyring NAME, or create it (KEYCTL_JOIN_SESSION_KEYRING); an empty
    /// NAME makes a new anonymous one. Default: sprout's own (`sprout exec`: the container's
    /// `_ses.ID` with --state, else a new anonymous one).
    #[arg(long, value_name = "NAME", help_heading = "Process")]
    pub session_keyring: Option<String>,

    /// Give the program fd CHILD from sprout's fd PARENT (`-` leaves it closed). Fds 0-2
    /// are sprout's own unless said otherwise; every other fd is closed.
    #[arg(long, value_name = "CHILD=PARENT", help_heading = "Stdio and terminal")]
    pub fd: Vec<String>,
    /// Run the program on a new pseudo-terminal, relayed to sprout's stdio (raw mode while
    /// it runs, window size followed).
    #[arg(
        long,
        short = 't',
        conflicts_with = "no_tty",
        help_heading = "Stdio and terminal"
    )]
    pub tty: bool,
    /// No terminal, even when --process says `terminal: true`; the program stays in
    /// sprout's session and process group (the default).
    #[arg(long, help_heading = "Stdio and terminal")]
    pub no_tty: bool,
    /// The program leads a new session without a controlling terminal (so it cannot push
    /// input into sprout's terminal with TIOCSTI).
    #[arg(long, conflicts_with = "tty", help_heading = "Stdio and terminal")]
    pub new_session: bool,
}

/// A spec and what it refers to.
pub struct Launch {
    pub spec: Spec,
    /// Files the spec names by fd (namespaces, cgroup, exec fd): open until the spawn.
    pub held: Vec<OwnedFd>,
    /// Allocate a pseudo-terminal: with this size, or the size of sprout's own terminal.
    pub tty: Option<Option<(u16, u16)>>,
    /// Whether the process object has rlimits (`exec` otherwise copies the target's).
    pub sets_rlimits: bool,
}

/// What the flags are read against.
pub struct Context<'a> {
    /// The root of the new process's file system, where names are looked up.
    pub root: &'a Path,
    /// The environment to start from without --process (`exec`: the target's).
    pub base_env: Option<Vec<CString>>,
    /// The capability sets when neither the process object nor --caps says (`exec`: the
    /// target's), and where --cap-add/--cap-drop start (else sprout's own).
    pub base_caps: Option<Capabilities>,
    /// The ids when neither the process object nor --uid/--gid says (`exec`: the target's).
    pub base_credentials: Option<Credentials>,
}

impl ProcessFlags {
    /// The spec these flags (and the process object) describe, for `argv` when it is not
    /// empty (it must be, or the process object must give args, not both).
    pub fn launch(&self, argv: &[String], context: &Context) -> Outcome<Launch> {
        let mut held = Vec::new();
        let (mut spec, mut tty, sets_rlimits) = match &self.process {
            Some(path) => {
                if !argv.is_empty() {
                    return refuse(
                        "give the program either as the process object's args or after --, \
                         not both",
                    );
                }
                let mapped = oci::to_spec(&oci::parse(&read_text(path)?)?, oci::Host::this_one())?;
                for warning in &mapped.warnings {
                    eprintln!("sprout: warning: {warning}");
                }
                let tty = mapped.terminal.then_some(mapped.console_size);
                (mapped.spec, tty, mapped.sets_rlimits)
            }
            None if argv.is_empty() => return refuse("no program: give PROG after --"),
            None => (
                Spec::from_strs(argv).or_else(|e| refuse(e.subject))?,
                None,
                false,
            ),
        };
        if self.process.is_none() {
            if let Some(env) = &context.base_env {
                spec.env = env.clone();
            }
        }
        spec.fds = vec![Some(0), Some(1), Some(2)];
        spec.terminal = Terminal::Ignore;

        self.program(&mut spec)?;
        if spec.credentials.is_none() {
            spec.credentials = context.base_credentials.clone();
        }
        self.identity(&mut spec, context)?;
        if spec.capabilities.is_none() {
            spec.capabilities = context.base_caps;
        }
        self.capabilities(&mut spec)?;
        self.limits(&mut spec)?;
        self.landlock.apply(&mut spec, &mut held)?;
        self.namespaces(&mut spec, &mut held)?;
        if let Some(sig) = &self.pdeathsig {
            spec.parent_death_signal = names::signal(sig)?;
        }
        if let Some(id) = &self.container {
            spec.container_id = Some(id.clone());
        }
        if let Some(name) = &self.session_keyring {
            spec.session_keyring = Some(cstring(name, "--session-keyring")?);
        }
        self.attributes(&mut spec)?;
        self.stdio(&mut spec)?;
        if self.tty {
            tty = Some(tty.flatten());
        }
        if self.no_tty || self.new_session {
            tty = None;
        }
        if self.new_session {
            spec.terminal = Terminal::NewSession;
        }
        Ok(Launch {
            spec,
            held,
            tty,
            sets_rlimits,
        })
    }

    fn program(&self, spec: &mut Spec) -> Outcome<()> {
        if self.inherit_env {
            spec.env = sprout::spec::caller_environment();
        } else if self.clear_env {
            spec.env.clear();
        }
        for entry in &self.env {
            set_env(&mut spec.env, entry)?;
        }
        if let Some(cwd) = &self.cwd {
            spec.working_directory = cstring(cwd, "--cwd")?;
        }
        if let Some(fd) = self.exec_fd {
            spec.program = Program::Fd(fd);
        }
        spec.no_default_path |= self.no_default_path;
        Ok(())
    }

    fn identity(&self, spec: &mut Spec, context: &Context) -> Outcome<()> {
        if self.uid.is_none() && self.gid.is_none() && self.groups.is_none() {
            return Ok(());
        }
        let mut credentials = spec.credentials.clone().unwrap_or_else(|| Credentials {
            // SAFETY (both): getuid/getgid cannot fail.
            uid: unsafe { libc::getuid() },
            gid: unsafe { libc::getgid() },
            groups: Vec::new(),
        });
        let mut primary = None;
        if let Some(text) = &self.uid {
            let user = names::user(text, context.root)?;
            credentials.uid = user.uid;
            primary = user.gid;
            credentials.groups.clear();
        }
        match (&self.gid, primary) {
            (Some(text), _) => credentials.gid = names::group("--gid", text, context.root)?,
            (None, Some(gid)) => credentials.gid = gid,
            (None, None) if self.uid.is_some() => {
                return refuse(format!(
                    "--uid {}: no entry in {}/etc/passwd to take the group from: give --gid",
                    self.uid.as_deref().unwrap_or_default(),
                    context.root.display()
                ));
            }
            (None, None) => {}
        }
        if let Some(list) = &self.groups {
            credentials.groups = list
                .split(',')
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(|g| names::group("--groups", g, context.root))
                .collect::<Outcome<_>>()?;
        }
        spec.credentials = Some(credentials);
        Ok(())
    }

    fn capabilities(&self, spec: &mut Spec) -> Outcome<()> {
        if self.caps.is_empty() && self.cap_add.is_empty() && self.cap_drop.is_empty() {
            return Ok(());
        }
        let last = sprout::names::last_capability();
        let mut caps = match spec.capabilities {
            Some(caps) => caps,
            None => capabilities_of("self")?,
        };
        let sets_and_caps = |text: &str, flag: &str, default_all: bool| -> Outcome<_> {
            match text.split_once('=') {
                Some((sets, list)) => {
                    Ok((names::cap_sets(sets)?, names::capabilities(list, last)?))
                }
                None if default_all => {
                    Ok((names::ALL_SETS.to_vec(), names::capabilities(text, last)?))
                }
                None => refuse(format!(
                    "{flag} {text}: want SETS=CAPS, e.g. ambient=net_raw"
                )),
            }
        };
        for text in &self.caps {
            let (sets, bits) = sets_and_caps(text, "--caps", false)?;
            for set in sets {
                *field(&mut caps, set) = bits;
            }
        }
        for text in &self.cap_drop {
            let (sets, bits) = sets_and_caps(text, "--cap-drop", true)?;
            for set in sets {
                *field(&mut caps, set) &= !bits;
            }
        }
        for text in &self.cap_add {
            let (sets, bits) = sets_and_caps(text, "--cap-add", true)?;
            for set in sets {
                *field(&mut caps, set) |= bits;
            }
        }
        spec.capabilities = Some(caps);
        Ok(())
    }

    fn limits(&self, spec: &mut Spec) -> Outcome<()> {
        for text in &self.rlimit {
            let limit = names::rlimit(text)?;
            spec.rlimits.retain(|l| l.resource != limit.resource);
            spec.rlimits.push(limit);
        }
        if let Some(text) = &self.umask {
            spec.umask = names::umask(text)?;
        }
        if self.no_new_privs {
            spec.no_new_privs = true;
        }
        if let Some(path) = &self.seccomp {
            spec.seccomp_filter = read_filter(path)?;
        }
        Ok(())
    }

    fn namespaces(&self, spec: &mut Spec, held: &mut Vec<OwnedFd>) -> Outcome<()> {
        for list in &self.unshare {
            for kind in names::namespaces(list)? {
                spec.namespaces.push(Namespace { kind, fd: None });
            }
        }
        for text in &self.join_ns {
            let Some((kind, path)) = text.split_once('=') else {
                return refuse(format!(
                    "--join-ns {text}: want TYPE=PATH, e.g. net=/run/netns/x"
                ));
            };
            let kind = names::namespace(kind)?;
            let file = open(path, "--join-ns", false)?;
            spec.namespaces.push(Namespace {
                kind,
                fd: Some(file.as_raw_fd()),
            });
            held.push(file);
        }
        for text in &self.uid_map {
            spec.uid_map.push(names::id_map("--uid-map", text)?);
        }
        for text in &self.gid_map {
            spec.gid_map.push(names::id_map("--gid-map", text)?);
        }
        for dir in &self.cgroup {
            let file = open(&dir.to_string_lossy(), "--cgroup", true)?;
            if spec.cgroup.is_none() && is_cgroup2(&file) {
                spec.cgroup = Some(file.as_raw_fd());
            } else {
                spec.extra_cgroups.push(file.as_raw_fd());
            }
            held.push(file);
        }
        Ok(())
    }

    /// The properties of ABI 1.1, by the names of setsid, chrt, ionice, taskset, choom and
    /// setarch.
    fn attributes(&self, spec: &mut Spec) -> Outcome<()> {
        if let Some(text) = &self.pgroup {
            spec.process_group = Some(attrs::pgroup(text)?);
        }
        if let Some(text) = &self.sigmask {
            spec.signal_mask = attrs::signal_set(text)?;
        }
        spec.keep_ignored_signals |= self.keep_ignored_signals;
        spec.keep_umask |= self.keep_umask;
        if let Some(adj) = self.oom_score_adj {
            spec.oom_score_adj = Some(adj);
        }
        if self.sched.is_some() || self.nice.is_some() {
            let mut scheduler = match &self.sched {
                Some(text) => attrs::sched(text)?,
                None => spec.scheduler.unwrap_or_default(),
            };
            if let Some(nice) = self.nice {
                scheduler.nice = nice;
            }
            spec.scheduler = Some(scheduler);
        }
        if let Some(text) = &self.ioprio {
            spec.io_priority = Some(attrs::ioprio(text)?);
        }
        if let Some(text) = &self.cpus {
            spec.cpu_affinity = attrs::cpus(text)?;
        }
        if let Some(text) = &self.personality {
            spec.personality = Some(attrs::personality(text)?);
        }
        if let Some(name) = &self.hostname {
            spec.hostname = Some(cstring(name, "--hostname")?);
        }
        if let Some(name) = &self.domainname {
            spec.domainname = Some(cstring(name, "--domainname")?);
        }
        if let Some(dir) = &self.chroot {
            spec.root = Some(Root::Path(cstring(dir, "--chroot")?));
        }
        spec.ptrace |= self.ptrace;
        Ok(())
    }

    fn stdio(&self, spec: &mut Spec) -> Outcome<()> {
        for text in &self.fd {
            let parsed = text.split_once('=').and_then(|(child, parent)| {
                let child = child.parse::<usize>().ok().filter(|c| *c < 4096)?;
                let parent = match parent {
                    "-" => None,
                    p => Some(p.parse::<i32>().ok().filter(|p| *p >= 0)?),
                };
                Some((child, parent))
            });
            let Some((child, parent)) = parsed else {
                return refuse(format!("--fd {text}: want CHILD=PARENT, e.g. 3=5 or 0=-"));
            };
            if spec.fds.len() <= child {
                spec.fds.resize(child + 1, None);
            }
            spec.fds[child] = parent;
        }
        Ok(())
    }
}

fn is_cgroup2(dir: &OwnedFd) -> bool {
    // SAFETY: fstatfs fills a zeroed statfs on this stack.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::fstatfs(dir.as_raw_fd(), &mut fs) } == 0;
    ok && fs.f_type == libc::CGROUP2_SUPER_MAGIC
}

fn field(caps: &mut Capabilities, set: CapSet) -> &mut u64 {
    match set {
        CapSet::Bounding => &mut caps.bounding,
        CapSet::Effective => &mut caps.effective,
        CapSet::Permitted => &mut caps.permitted,
        CapSet::Inheritable => &mut caps.inheritable,
        CapSet::Ambient => &mut caps.ambient,
    }
}

/// The five sets of a process (`self` or a pid), as /proc/PID/status shows them.
pub fn capabilities_of(process: &str) -> Outcome<Capabilities> {
    let path = format!("/proc/{process}/status");
    let status = std::fs::read_to_string(&path).or_else(|e| refuse(format!("{path}: {e}")))?;
    Ok(capabilities_in(&status))
}

/// The five capability sets of a /proc/PID/status text.
pub fn capabilities_in(status: &str) -> Capabilities {
    let set = |key: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            .unwrap_or(0)
    };
    Capabilities {
        effective: set("CapEff:"),
        permitted: set("CapPrm:"),
        inheritable: set("CapInh:"),
        bounding: set("CapBnd:"),
        ambient: set("CapAmb:"),
    }
}

/// `KEY=VALUE` replaces KEY; `KEY` alone copies sprout's own value (nothing if it has none).
fn set_env(env: &mut Vec<CString>, entry: &str) -> Outcome<()> {
    let (key, value) = match entry.split_once('=') {
        Some((key, value)) => (key, Some(value.to_owned())),
        None => (entry, std::env::var(entry).ok()),
    };
    if key.is_empty() {
        return refuse(format!("--env {entry}: the name is empty"));
    }
    let prefix = format!("{key}=");
    env.retain(|e| !e.to_bytes().starts_with(prefix.as_bytes()));
    if let Some(value) = value {
        env.push(cstring(&format!("{key}={value}"), "--env")?);
    }
    Ok(())
}

pub fn cstring(text: &str, flag: &str) -> Outcome<CString> {
    CString::new(text).or_else(|_| refuse(format!("{flag} {text:?}: holds a NUL byte")))
}

/// The text of FILE, or of stdin for `-`.
pub fn read_text(path: &str) -> Outcome<String> {
    let mut text = String::new();
    let result = if path == "-" {
        std::io::stdin().read_to_string(&mut text)
    } else {
        File::open(path).and_then(|mut f| f.read_to_string(&mut text))
    };
    result.or_else(|e| refuse(format!("{path}: {e}")))?;
    Ok(text)
}

/// Opens a file the spec will name by fd (close-on-exec: the library hands it over).
pub fn open(path: &str, flag: &str, directory: bool) -> Outcome<OwnedFd> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    if directory {
        options.custom_flags(libc::O_DIRECTORY);
    }
    options
        .open(path)
        .map(OwnedFd::from)
        .or_else(|e| refuse(format!("{flag} {path}: {e}")))
}

/// A cBPF program: the file's bytes as `struct sock_filter` (8 bytes each, native endian).
fn read_filter(path: &Path) -> Outcome<Vec<libc::sock_filter>> {
    let bytes =
        std::fs::read(path).or_else(|e| refuse(format!("--seccomp {}: {e}", path.display())))?;
    if bytes.is_empty() || bytes.len() % 8 != 0 {
        return refuse(format!(
            "--seccomp {}: {} bytes is not a whole number of 8-byte sock_filter instructions",
            path.display(),
            bytes.len()
        ));
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|i| libc::sock_filter {
            code: u16::from_ne_bytes([i[0], i[1]]),
            jt: i[2],
            jf: i[3],
            k: u32::from_ne_bytes([i[4], i[5], i[6], i[7]]),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Test {
        #[command(flatten)]
        flags: ProcessFlags,
        #[arg(last = true)]
        argv: Vec<String>,
    }

    fn launch(args: &[&str]) -> Outcome<Launch> {
        let mut all = vec!["test"];
        all.extend_from_slice(args);
        let parsed = Test::try_parse_from(all)
            .map_err(|e| crate::status::Failure::Refused(e.to_string()))?;
        parsed.flags.launch(
            &parsed.argv,
            &Context {
                root: Path::new("/"),
                base_env: None,
                base_caps: None,
                base_credentials: None,
            },
        )
    }

    #[test]
    fn a_bare_command_is_a_plain_spawn_on_sprouts_stdio() {
        let spec = launch(&["--", "true"]).unwrap().spec;
        assert_eq!(spec.argv, [c"true".to_owned()]);
        assert!(spec.env.is_empty());
        assert_eq!(spec.fds, [Some(0), Some(1), Some(2)]);
        assert_eq!(spec.terminal, Terminal::Ignore);
        assert_eq!((spec.credentials, spec.capabilities), (None, None));
    }

    #[test]
    fn env_entries_replace_and_copy() {
        // SAFETY: the test sets a variable no other test reads.
        unsafe { std::env::set_var("SPROUT_CLI_TEST_VALUE", "from-sprout") };
        let spec = launch(&[
            "--env",
            "A=1",
            "--env",
            "B=2",
            "--env",
            "A=3",
            "--env",
            "SPROUT_CLI_TEST_VALUE",
            "--env",
            "UNSET_ANYWHERE_XYZ",
            "--",
            "x",
        ])
        .unwrap()
        .spec;
        assert_eq!(
            spec.env,
            [
                c"B=2".to_owned(),
                c"A=3".to_owned(),
                c"SPROUT_CLI_TEST_VALUE=from-sprout".to_owned()
            ]
        );
        let spec = launch(&["--inherit-env", "--", "x"]).unwrap().spec;
        assert!(
            spec.env
                .iter()
                .any(|e| e.to_bytes().starts_with(b"SPROUT_CLI_TEST_VALUE="))
        );
        assert!(launch(&["--inherit-env", "--clear-env", "--", "x"]).is_err());
    }

    #[test]
    fn identity_by_number_and_name() {
        let spec = launch(&["--uid", "0", "--groups", "1,2", "--", "x"])
            .unwrap()
            .spec;
        assert_eq!(
            spec.credentials,
            Some(Credentials {
                uid: 0,
                gid: 0,
                groups: vec![1, 2]
            })
        );
        let err = launch(&["--uid", "4242123", "--", "x"])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("give --gid"), "{err}");
        let spec = launch(&["--uid", "4242123", "--gid", "7", "--", "x"])
            .unwrap()
            .spec;
        assert_eq!(spec.credentials.unwrap().gid, 7);
    }

    #[test]
    fn capability_flags_apply_caps_then_drops_then_adds() {
        let caps = launch(&[
            "--cap-add",
            "ambient,inheritable,permitted=net_raw",
            "--cap-drop",
            "all",
            "--caps",
            "bounding=chown,net_raw",
            "--",
            "x",
        ])
        .unwrap()
        .spec
        .capabilities
        .unwrap();
        assert_eq!(caps.bounding, 0);
        assert_eq!(
            (caps.ambient, caps.inheritable, caps.permitted),
            (1 << 13, 1 << 13, 1 << 13)
        );
        assert_eq!(caps.effective, 0);
        let caps = launch(&[
            "--cap-drop",
            "all",
            "--cap-add",
            "net_bind_service",
            "--",
            "x",
        ])
        .unwrap()
        .spec
        .capabilities
        .unwrap();
        assert_eq!(caps.bounding, 1 << 10);
        assert_eq!(caps.ambient, 1 << 10);
        assert!(launch(&["--caps", "net_raw", "--", "x"]).is_err());
    }

    #[test]
    fn limits_namespaces_fds_and_terminal_flags() {
        let launch_ok = launch(&[
            "--rlimit",
            "nofile=10:20",
            "--rlimit",
            "nofile=30",
            "--umask",
            "077",
            "--no-new-privs",
            "--unshare",
            "user,pid",
            "--unshare",
            "net",
            "--uid-map",
            "0:1000:1",
            "--join-ns",
            "uts=/proc/self/ns/uts",
            "--fd",
            "3=2",
            "--fd",
            "1=-",
            "--pdeathsig",
            "KILL",
            "--container",
            "c1",
            "--tty",
            "--",
            "x",
        ])
        .unwrap();
        let spec = &launch_ok.spec;
        assert_eq!(spec.rlimits.len(), 1);
        assert_eq!((spec.rlimits[0].soft, spec.rlimits[0].hard), (30, 30));
        assert_eq!(spec.umask, 0o77);
        assert!(spec.no_new_privs);
        let kinds: Vec<i32> = spec.namespaces.iter().map(|n| n.kind).collect();
        assert_eq!(
            kinds,
            [
                libc::CLONE_NEWUSER,
                libc::CLONE_NEWPID,
                libc::CLONE_NEWNET,
                libc::CLONE_NEWUTS
            ]
        );
        assert_eq!(spec.namespaces[3].fd, Some(launch_ok.held[0].as_raw_fd()));
        assert_eq!(spec.uid_map.len(), 1);
        assert_eq!(spec.fds, [Some(0), None, Some(2), Some(2)]);
        assert_eq!(spec.parent_death_signal, libc::SIGKILL);
        assert_eq!(spec.container_id.as_deref(), Some("c1"));
        assert_eq!(launch_ok.tty, Some(None));
        assert!(launch(&["--tty", "--new-session", "--", "x"]).is_err());
        assert!(launch(&["--fd", "x=1", "--", "x"]).is_err());
        assert!(launch(&["--join-ns", "/proc/self/ns/uts", "--", "x"]).is_err());
        assert!(launch(&[]).is_err());
    }

    #[test]
    fn seccomp_files_are_whole_instructions() {
        let path = std::env::temp_dir().join(format!("sprout-cli-filter-{}", std::process::id()));
        // BPF_RET|BPF_K SECCOMP_RET_ALLOW
        let allow = [0x06u8, 0, 0, 0, 0, 0, 0xff, 0x7f];
        std::fs::write(&path, allow).unwrap();
        let filter = read_filter(&path).unwrap();
        assert_eq!((filter[0].code, filter[0].k), (6, 0x7fff_0000));
        std::fs::write(&path, &allow[..5]).unwrap();
        assert!(read_filter(&path).is_err());
        std::fs::remove_file(&path).unwrap();
    }
}

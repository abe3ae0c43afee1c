//! Everything the child needs, prepared in the parent: pointer arrays for execve, the PATH
//! candidates, the fd layout, the capability words, the rlimits and the seccomp program. After
//! clone the child only reads this (and writes the scratch array it is given), so it never
//! allocates.

use std::ffi::{CStr, CString, c_char};
use std::os::fd::RawFd;

use super::namespaces::{Handover, NamespacePlan, ParentSteps, id_maps, parent_pid};
use super::seccomp_action::{THIS_ARCH, action_for, may_kill};
use crate::names::last_capability;
use crate::spec::{Program, Spec, capability_mask};

/// The search path when the environment has no `PATH`: the one OCI runtimes and Docker use.
pub const DEFAULT_PATH: &[u8] = b"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// How the child calls execve.
pub enum Exec {
    /// execve each candidate in turn with execvpe's rules.
    Paths(Vec<CString>),
    /// execveat(fd, "", AT_EMPTY_PATH) on this fd of the child (the last slot of the layout).
    Fd(RawFd),
}

/// The child's program, flat.
pub struct Plan<'a> {
    pub spec: &'a Spec,
    /// NULL-terminated pointers into `spec.argv`.
    pub argv: Vec<*const c_char>,
    /// NULL-terminated pointers into `spec.env`.
    pub envp: Vec<*const c_char>,
    pub exec: Exec,
    pub fds: FdLayout,
    /// Where the fds the child itself needs until execve sit in its layout.
    pub tail: TailSlots,
    /// The caller's pid, which the child's getppid() must still return after it asked for its
    /// parent-death signal; `None` where getppid() cannot tell (another pid namespace).
    pub parent_pid: Option<i32>,
    pub rlimits: Vec<RlimitStep>,
    /// Hard limits the child raises before it enters its user namespace (see `hard_raises`).
    pub early_raises: Vec<RlimitStep>,
    pub capabilities: Option<CapabilitySteps>,
    pub seccomp: Option<SeccompStep>,
    pub namespaces: NamespacePlan,
    /// What the parent does on the child while it waits, if anything (see `ParentSteps`).
    pub parent_steps: Option<ParentSteps>,
    /// Session, process group and terminal, as `tty::Prepared` decided.
    pub tty: ChildTty,
    /// The properties ABI 1.1 added, as the child applies them.
    pub attributes: super::attributes::Steps,
    /// For each of `spec.extra_cgroups`, the file the child writes "0" to (`cgroup_file`).
    pub extra_cgroup_files: Vec<&'static CStr>,
}

/// What the child does about its session and terminal. `fd` is the caller's fd of the
/// terminal: the child does this first, before its namespaces and its fd layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildTty {
    /// Stay in the caller's session and process group.
    Stay,
    /// setsid, and no controlling terminal.
    NewSession,
    /// Case 1: setsid, TIOCSCTTY without force (on a write-only fd the kernel wants
    /// CAP_SYS_ADMIN for it), then fchown of the terminal to `owner` (a credentials change).
    /// When the process enters a user namespace the parent hands the terminal over instead
    /// (see `ParentSteps`), and `owner` is None here.
    OwnTerminal {
        fd: RawFd,
        owner: Option<u32>,
        write_only: bool,
    },
    /// Case 2: setpgid(0, 0), then TIOCSPGRP to the new group.
    CallerTerminal { fd: RawFd },
}

impl<'a> Plan<'a> {
    /// `tty` is what `tty::Prepared` decided about the session and terminal; `handover` is the
    /// child's end of the socket it hands the parent what it must (see `handover`), when the
    /// spawn has one.
    pub fn new(spec: &'a Spec, tty: ChildTty, handover: Option<RawFd>) -> Plan<'a> {
        let env = &spec.env;
        let default = (!spec.no_default_path).then_some(DEFAULT_PATH);
        let exec_source = match spec.program {
            Program::Fd(fd) => Some(fd),
            _ => None,
        };
        let ruleset = spec.landlock.map(|landlock| landlock.ruleset);
        let (fds, tail) = FdLayout::with_tail(&spec.fds, exec_source, ruleset, handover);
        let exec = match (&spec.program, tail.exec) {
            (Program::Fd(_), Some(slot)) => Exec::Fd(slot),
            (Program::Path(path), _) => Exec::Paths(candidates(path.as_bytes(), env, default)),
            _ => Exec::Paths(candidates(spec.argv[0].as_bytes(), env, default)),
        };
        let around = UserNamespaceSteps::new(spec, tty);
        Plan {
            spec,
            argv: null_terminated(&spec.argv),
            envp: null_terminated(env),
            exec,
            fds,
            tail,
            parent_pid: parent_pid(spec, &around.namespaces, around.parent_steps.is_some()),
            rlimits: spec
                .rlimits
                .iter()
                .enumerate()
                .map(|(index, limit)| RlimitStep {
                    index: index as u32,
                    resource: limit.resource as u32,
                    value: libc::rlimit64 {
                        rlim_cur: limit.soft,
                        rlim_max: limit.hard,
                    },
                })
                .collect(),
            early_raises: around.early_raises,
            capabilities: spec.capabilities.map(|caps| CapabilitySteps {
                bounding_drops: BoundingDrops::new(
                    !caps.bounding & capability_mask(last_capability()),
                ),
                keep_across_uid_change: spec.credentials.is_some() && caps.permitted != 0,
                words: capset_words(caps.effective, caps.permitted, caps.inheritable),
                // capset itself trims the ambient set to permitted & inheritable: only bits
                // left there but not asked for need clearing.
                clear_ambient: caps.permitted & caps.inheritable & !caps.ambient != 0,
                ambient: caps.ambient,
            }),
            seccomp: (!spec.seccomp_filter.is_empty()).then(|| SeccompStep {
                program: libc::sock_fprog {
                    // `Spec::validate` keeps the length within BPF_MAXINSNS.
                    len: spec.seccomp_filter.len() as u16,
                    filter: spec.seccomp_filter.as_ptr().cast_mut(),
                },
                when: if spec.no_new_privs {
                    SeccompWhen::BeforeExec
                } else {
                    SeccompWhen::BeforeCredentials
                },
                may_kill_exec: may_kill_exec(spec),
                // `Spec::validate` keeps the flags to the kernel's 32-bit ones.
                flags: spec.seccomp_flags as u32,
            }),
            tty: around.tty,
            namespaces: around.namespaces,
            parent_steps: around.parent_steps,
            attributes: super::attributes::Steps::new(spec),
            extra_cgroup_files: spec
                .extra_cgroups
                .iter()
                .map(|&fd| cgroup_file(fd))
                .collect(),
        }
    }
}

/// The file of a cgroup directory that moves the writer in: `tasks` in a cgroup v1 hierarchy,
/// `cgroup.procs` in cgroup2 (which has no `tasks`). A v1 `tasks` write moves one thread, and
/// the kernel makes it without the write lock of the global cgroup_threadgroup_rwsem that a
/// `cgroup.procs` write takes to move a whole thread group (which makes every fork, exec and
/// exit of the machine wait, and waits itself for an RCU grace period); the child has one
/// thread, so the result is the same. 0.1-0.2 ms less per spawn that joins 9 v1 hierarchies
/// (BENCHMARKS.md).
fn cgroup_file(dir: RawFd) -> &'static CStr {
    // SAFETY: fstatfs fills a zeroed struct on this stack.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    let v1 = unsafe { libc::fstatfs(dir, &mut fs) } == 0 && fs.f_type == libc::CGROUP_SUPER_MAGIC;
    if v1 { c"tasks" } else { c"cgroup.procs" }
}

/// Where the steps that need the caller's privilege in its own user namespace are done, which
/// a process in another user namespace lacks (the kernel checks them in the initial one):
/// raising a hard limit (CAP_SYS_RESOURCE), TIOCSCTTY on a write-only terminal
/// (CAP_SYS_ADMIN), fchown of the terminal (CAP_CHOWN). The child does the first two before it
/// enters its user namespace; when clone creates that namespace along with a new PID
/// namespace, the process is in it from its first instruction, and the parent raises the
/// limits (prlimit on the child) while the child waits. The terminal is handed over by the
/// parent whenever the process changes user namespace: the uid it gets there is only known
/// from the namespace's map.
struct UserNamespaceSteps {
    namespaces: NamespacePlan,
    tty: ChildTty,
    early_raises: Vec<RlimitStep>,
    parent_steps: Option<ParentSteps>,
}

impl UserNamespaceSteps {
    fn new(spec: &Spec, tty: ChildTty) -> UserNamespaceSteps {
        let raises = if spec
            .namespaces
            .iter()
            .any(|ns| ns.kind == libc::CLONE_NEWUSER)
        {
            hard_raises(spec)
        } else {
            Vec::new()
        };
        let write_only_terminal = matches!(
            tty,
            ChildTty::OwnTerminal {
                write_only: true,
                ..
            }
        );
        let namespaces = NamespacePlan::new(spec, !raises.is_empty() || write_only_terminal);
        let changes_user = namespaces.enters_user_namespace();
        let maps = id_maps(spec);
        let (tty, handover) = match tty {
            ChildTty::OwnTerminal {
                fd,
                owner: Some(uid),
                write_only,
            } if changes_user => (
                ChildTty::OwnTerminal {
                    fd,
                    owner: None,
                    write_only,
                },
                // A new user namespace without a uid map maps no uid: the credentials fail.
                (namespaces.joins_user_namespace() || maps.is_some())
                    .then_some(Handover { fd, uid }),
            ),
            tty => (tty, None),
        };
        let (early_raises, parent_raises) = match changes_user {
            false => (Vec::new(), Vec::new()),
            true if namespaces.user_namespace_cloned() => (Vec::new(), raises),
            true => (raises, Vec::new()),
        };
        let parent_steps = (maps.is_some() || handover.is_some() || !parent_raises.is_empty())
            .then(|| ParentSteps {
                // The handover waits for the child's TIOCSCTTY, so that a terminal it may
                // not take is never handed over; a namespace the child creates or joins
                // itself must be there before anything is done to it.
                after_ready: !namespaces.user_namespace_cloned() || handover.is_some(),
                maps,
                terminal: handover,
                raises: parent_raises,
            });
        UserNamespaceSteps {
            namespaces,
            tty,
            early_raises,
            parent_steps,
        }
    }
}

/// One prlimit64 call on the child.
pub struct RlimitStep {
    /// Its index in `Spec::rlimits`, to name it in errors.
    pub index: u32,
    pub resource: u32,
    /// UINT64_MAX is RLIM64_INFINITY already.
    pub value: libc::rlimit64,
}

/// The limits of `spec` whose hard limit is above the caller's (which the child starts with),
/// as steps that raise only the hard limit: the soft one stays the caller's (or the new hard
/// limit, if lower), so that the fd layout, which comes later, still has the caller's room;
/// the limits asked for are set after it as usual, and then lower nothing that needs raising.
fn hard_raises(spec: &Spec) -> Vec<RlimitStep> {
    let mut raises = Vec::new();
    for (index, limit) in spec.rlimits.iter().enumerate() {
        let mut caller = libc::rlimit64 {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: prlimit64 on this process, reading its limit into this stack.
        let read =
            unsafe { libc::prlimit64(0, limit.resource as _, std::ptr::null(), &mut caller) };
        if read == 0 && limit.hard > caller.rlim_max {
            raises.push(RlimitStep {
                index: index as u32,
                resource: limit.resource as u32,
                value: libc::rlimit64 {
                    rlim_cur: caller.rlim_cur.min(limit.hard),
                    rlim_max: limit.hard,
                },
            });
        }
    }
    raises
}

/// The capability sets, as the child applies them around the credentials change.
pub struct CapabilitySteps {
    /// Bounding-set bits to drop: every capability of this kernel that was not asked for.
    pub bounding_drops: BoundingDrops,
    /// PR_SET_KEEPCAPS before the ids change, so that the permitted set survives a change
    /// from uid 0 to another uid and capset can then narrow it to what was asked.
    pub keep_across_uid_change: bool,
    /// capset's `_LINUX_CAPABILITY_VERSION_3` data: capabilities 0-31, then 32-63.
    pub words: [CapData; 2],
    /// Whether the ambient set the child inherited must be cleared after capset.
    pub clear_ambient: bool,
    /// Raised one bit at a time after capset (and the clear).
    pub ambient: u64,
}

/// The bounding-set bits to drop, split by whether the child may drop them at once.
///
/// A drop commits new credentials (~1 µs) whether the bit was in the set or not, and needs
/// CAP_SETPCAP; asking first (PR_CAPBSET_READ, ~0.2 µs) skips bits already out, and lets a
/// caller without CAP_SETPCAP pass its own bounding set. The caller's permitted set predicts
/// its bounding set well (a root caller on a host holds all of both, one in a container the
/// same reduced set), so a caller holding CAP_SETPCAP has the child drop its permitted bits
/// at once and ask only about the others. A wrong prediction costs a drop that changes
/// nothing, never a wrong set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoundingDrops {
    pub at_once: u64,
    pub if_held: u64,
}

impl BoundingDrops {
    fn new(unwanted: u64) -> BoundingDrops {
        const CAP_SETPCAP: u32 = 8;
        match caller_capabilities() {
            Some((effective, permitted)) if effective & (1 << CAP_SETPCAP) != 0 => BoundingDrops {
                at_once: unwanted & permitted,
                if_held: unwanted & !permitted,
            },
            _ => BoundingDrops {
                at_once: 0,
                if_held: unwanted,
            },
        }
    }
}

/// The calling thread's effective and permitted sets (capget), which the child starts with.
fn caller_capabilities() -> Option<(u64, u64)> {
    let mut header = CapHeader::this_thread();
    let mut data = [CapData {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: capget fills the two data words version 3 uses, both on this stack.
    let ret = unsafe { libc::syscall(libc::SYS_capget, &raw mut header, data.as_mut_ptr()) };
    let join = |low: u32, high: u32| u64::from(low) | u64::from(high) << 32;
    (ret == 0).then(|| {
        (
            join(data[0].effective, data[1].effective),
            join(data[0].permitted, data[1].permitted),
        )
    })
}

/// The kernel's `struct __user_cap_header_struct`.
#[repr(C)]
pub struct CapHeader {
    version: u32,
    /// 0: the calling thread.
    pid: i32,
}

impl CapHeader {
    /// `_LINUX_CAPABILITY_VERSION_3` (64-bit sets, as two `CapData` words), the calling thread.
    pub const fn this_thread() -> CapHeader {
        CapHeader {
            version: 0x2008_0522,
            pid: 0,
        }
    }
}

/// The kernel's `struct __user_cap_data_struct`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapData {
    pub effective: u32,
    pub permitted: u32,
    pub inheritable: u32,
}

fn capset_words(effective: u64, permitted: u64, inheritable: u64) -> [CapData; 2] {
    let word = |shift: u32| CapData {
        effective: (effective >> shift) as u32,
        permitted: (permitted >> shift) as u32,
        inheritable: (inheritable >> shift) as u32,
    };
    [word(0), word(32)]
}

/// The seccomp filter and when the child installs it.
pub struct SeccompStep {
    /// Points into `spec.seccomp_filter`.
    pub program: libc::sock_fprog,
    pub when: SeccompWhen,
    /// Whether the filter may kill the child at its execve (or execveat): then the child takes
    /// the exec marker's name and the parent checks how it ended (see `exec_marker`).
    pub may_kill_exec: bool,
    /// `SECCOMP_FILTER_FLAG_*`.
    pub flags: u32,
}

impl SeccompStep {
    /// Whether the filter comes with a listener, for the caller.
    pub fn has_listener(&self) -> bool {
        self.flags & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32 != 0
    }
}

impl Plan<'_> {
    /// Whether the child waits for the parent at some point before execve (id maps, terminal,
    /// limits, a paused start): it is then started without CLONE_VFORK, and the parent waits
    /// for the kernel to clear the report's sync word (CLONE_CHILD_CLEARTID) instead.
    pub fn child_waits(&self) -> bool {
        self.parent_steps.is_some() || self.spec.paused
    }

    /// Whether the parent must check that the child did not die at execve (see `exec_marker`).
    pub fn checks_exec(&self) -> bool {
        self.seccomp.as_ref().is_some_and(|step| step.may_kill_exec)
    }
}

/// Whether the spec's filter may kill the process at the system call that runs its program,
/// whatever the call's arguments: true unless running the filter on that call's number tells
/// an action that lets the call go on or fail.
fn may_kill_exec(spec: &Spec) -> bool {
    let call = match spec.program {
        Program::Fd(_) => libc::SYS_execveat,
        _ => libc::SYS_execve,
    };
    action_for(&spec.seccomp_filter, call as u32, THIS_ARCH).is_none_or(may_kill)
}

/// When the filter goes in, as runc does it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeccompWhen {
    /// Without no_new_privs the kernel accepts a filter only from a process holding
    /// CAP_SYS_ADMIN, which the credentials change may take away: so before it. The filter
    /// then also applies to the rest of the child's own steps.
    BeforeCredentials,
    /// With no_new_privs any process may install it: last before execve, so that it filters
    /// the program and as little of sprout as possible.
    BeforeExec,
}

fn null_terminated(strings: &[CString]) -> Vec<*const c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// The paths execve is tried on, in order: `name` itself when it holds a '/', else
/// `dir/name` for each entry of the first `PATH=` in `env` (an empty entry is the working
/// directory, as in execvpe), or of `default` when `env` has none (no candidate at all
/// without a default).
pub fn candidates(name: &[u8], env: &[CString], default: Option<&[u8]>) -> Vec<CString> {
    if name.contains(&b'/') {
        return vec![CString::new(name).expect("came from a CString")];
    }
    let Some(path) = env
        .iter()
        .find_map(|var| var.as_bytes().strip_prefix(b"PATH="))
        .or(default)
    else {
        return Vec::new();
    };
    path.split(|&b| b == b':')
        .map(|dir| {
            let mut full = Vec::with_capacity(dir.len() + 1 + name.len());
            if !dir.is_empty() {
                full.extend_from_slice(dir);
                full.push(b'/');
            }
            full.extend_from_slice(name);
            CString::new(full).expect("no NUL: both parts came from C strings")
        })
        .collect()
}

/// The fd layout of the child: `sources[i]` is the caller's fd that becomes fd `i`, or -1.
///
/// The child applies it in two passes (the algorithm of Go's forkAndExecInChild1, parking
/// only what must be parked):
/// 1. every source that a slot before its own would destroy (see `must_park`) is first copied
///    out of the way with `F_DUPFD_CLOEXEC` from the slot count: the lowest free fd at or
///    above it, which is never a slot and never a source still needed (those are open);
/// 2. for each slot `i` in order: -1 closes `i`; a source equal to `i` only loses close-on-exec;
///    anything else is dup'ed onto `i`.
///
/// Parking takes no more fds than the caller would need to build the layout itself: one per
/// source that an earlier slot overwrites, at the lowest free numbers, so a layout works
/// whenever the caller's RLIMIT_NOFILE leaves that many free (none for most layouts).
/// The fds the child needs itself until execve (see `TailSlots`) are more slots at the end
/// that keep close-on-exec, so the child can use them and the program never sees them.
pub struct FdLayout {
    pub sources: Vec<RawFd>,
    /// How many of `sources`, from the end, keep close-on-exec (the child's own fds).
    pub cloexec_tail: usize,
}

/// The child's fd of each file it needs itself until execve, each a close-on-exec slot after
/// the program's fds (`FdLayout`): the program run from an fd (execveat), the Landlock ruleset
/// it restricts itself with, and the socket of a spawn that hands something to the parent (a
/// seccomp listener) or waits for it (a paused start).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TailSlots {
    pub exec: Option<RawFd>,
    pub ruleset: Option<RawFd>,
    pub handover: Option<RawFd>,
}

impl FdLayout {
    /// The program's fds, then `tail`: the child's own fds, one more slot each, which keep
    /// close-on-exec.
    pub fn new(fds: &[Option<RawFd>], tail: &[RawFd]) -> FdLayout {
        let mut sources: Vec<RawFd> = fds.iter().map(|fd| fd.unwrap_or(-1)).collect();
        sources.extend_from_slice(tail);
        FdLayout {
            cloexec_tail: tail.len(),
            sources,
        }
    }

    /// The layout with the exec fd, the Landlock ruleset and the handover socket (each if any)
    /// after the program's fds, and the slots they take.
    fn with_tail(
        fds: &[Option<RawFd>],
        exec_fd: Option<RawFd>,
        ruleset: Option<RawFd>,
        handover: Option<RawFd>,
    ) -> (FdLayout, TailSlots) {
        let mut tail = Vec::new();
        let mut slot = |source: Option<RawFd>| {
            source.map(|fd| {
                tail.push(fd);
                (fds.len() + tail.len() - 1) as RawFd
            })
        };
        let slots = TailSlots {
            exec: slot(exec_fd),
            ruleset: slot(ruleset),
            handover: slot(handover),
        };
        (FdLayout::new(fds, &tail), slots)
    }

    /// The first fd the child closes everything from.
    pub fn close_from(&self) -> u32 {
        self.sources.len() as u32
    }

    /// Whether the source of `slot` must be parked before pass 2, given `sources` as pass 1
    /// has left the slots before it: when it is the fd of an earlier slot (`source < slot`)
    /// that pass 2 writes first, i.e. unless that slot keeps its own fd (`sources[source] ==
    /// source`: only its close-on-exec flag changes). A source at or above its own slot is
    /// still intact when its slot's turn comes.
    #[inline(always)]
    pub fn must_park(sources: &[RawFd], slot: usize) -> bool {
        match sources.get(slot) {
            Some(&source) if source >= 0 && (source as usize) < slot => {
                sources.get(source as usize) != Some(&source)
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cs(s: &str) -> CString {
        CString::new(s).unwrap()
    }

    #[test]
    fn bounding_drops_split_by_what_the_caller_holds_and_cover_every_bit() {
        let unwanted = 0b1011_0110;
        let drops = BoundingDrops::new(unwanted);
        assert_eq!(drops.at_once | drops.if_held, unwanted);
        assert_eq!(drops.at_once & drops.if_held, 0);
        let (effective, permitted) = caller_capabilities().expect("capget works");
        if effective & (1 << 8) != 0 {
            assert_eq!(drops.at_once, unwanted & permitted);
        } else {
            assert_eq!(
                drops.at_once, 0,
                "without CAP_SETPCAP every drop is asked about first"
            );
        }
    }

    #[test]
    fn a_name_with_a_slash_is_not_searched() {
        let env = [cs("PATH=/usr/bin")];
        assert_eq!(candidates(b"./x", &env, Some(DEFAULT_PATH)), [cs("./x")]);
        assert_eq!(
            candidates(b"/bin/true", &env, Some(DEFAULT_PATH)),
            [cs("/bin/true")]
        );
    }

    #[test]
    fn path_comes_from_the_new_environment_with_empty_entries_as_the_working_directory() {
        let env = [cs("HOME=/"), cs("PATH=/a::/b"), cs("PATH=/ignored")];
        assert_eq!(
            candidates(b"p", &env, Some(DEFAULT_PATH)),
            [cs("/a/p"), cs("p"), cs("/b/p")]
        );
    }

    #[test]
    fn without_path_the_default_is_searched() {
        let got = candidates(b"sh", &[], Some(DEFAULT_PATH));
        assert_eq!(got.first(), Some(&cs("/usr/local/sbin/sh")));
        assert_eq!(got.last(), Some(&cs("/bin/sh")));
        assert!(candidates(b"sh", &[], None).is_empty());
        assert_eq!(candidates(b"sh", &[cs("PATH=/x")], None), [cs("/x/sh")]);
    }

    /// Applies a layout the way the child does, on a model fd table (fd -> (file, cloexec)):
    /// parking at the lowest free fd at or above the slot count, as F_DUPFD_CLOEXEC does.
    fn apply(layout: &FdLayout, table: &mut std::collections::BTreeMap<RawFd, (char, bool)>) {
        let mut sources = layout.sources.clone();
        for slot in 0..sources.len() {
            if FdLayout::must_park(&sources, slot) {
                let source = sources[slot];
                let file = table[&source].0;
                let park = (sources.len() as RawFd..)
                    .find(|fd| !table.contains_key(fd))
                    .unwrap();
                table.insert(park, (file, true));
                sources[slot] = park;
            }
        }
        for (i, &src) in sources.iter().enumerate() {
            let i = i as RawFd;
            if src < 0 {
                table.remove(&i);
            } else if src == i {
                table.get_mut(&i).unwrap().1 = false;
            } else {
                let file = table[&src].0;
                table.insert(i, (file, false));
            }
        }
    }

    #[test]
    fn every_permutation_of_four_fds_lands_where_asked() {
        let files = ['a', 'b', 'c', 'd', 'e', 'f'];
        // The caller holds file k at fd k; each layout picks 4 of 6 fds in any order.
        let mut count = 0;
        for a in 0..6 {
            for b in 0..6 {
                for c in 0..6 {
                    for d in -1..6 {
                        let fds = [Some(a), Some(b), Some(c), (d >= 0).then_some(d)];
                        let layout = FdLayout::new(&fds, &[]);
                        let mut table = (0..6).map(|fd| (fd, (files[fd as usize], true))).collect();
                        apply(&layout, &mut table);
                        for (slot, src) in fds.iter().enumerate() {
                            match src {
                                Some(src) => assert_eq!(
                                    table.get(&(slot as RawFd)).map(|e| e.0),
                                    Some(files[*src as usize]),
                                    "{fds:?}"
                                ),
                                None => assert!(!table.contains_key(&(slot as RawFd))),
                            }
                        }
                        count += 1;
                    }
                }
            }
        }
        assert_eq!(count, 6 * 6 * 6 * 7);
    }

    #[test]
    fn only_sources_an_earlier_slot_overwrites_are_parked() {
        let parked = |fds: &[RawFd]| {
            let layout = FdLayout::new(&fds.iter().map(|&fd| Some(fd)).collect::<Vec<_>>(), &[]);
            (0..fds.len())
                .filter(|&slot| FdLayout::must_park(&layout.sources, slot))
                .collect::<Vec<_>>()
        };
        // Slot 1 keeps fd 1, so slot 2 can still take it: no copy (issue 9, defect 5).
        assert_eq!(parked(&[63, 1, 1]), Vec::<usize>::new());
        assert_eq!(parked(&[0, 1, 2, 2, 1]), Vec::<usize>::new());
        // A swap: slot 3 takes fd 3 before slot 4 reads it.
        assert_eq!(parked(&[0, 1, 2, 4, 3]), [4]);
        // Stdio rotated: 0 and 1 are overwritten before slots 1 and 2 read them.
        assert_eq!(parked(&[1, 2, 0]), [2]);
        assert_eq!(parked(&[2, 0, 1]), [1, 2]);
    }

    #[test]
    fn only_a_filter_that_may_kill_the_exec_call_makes_the_parent_check() {
        let rule = |code: u32, k: u32, jt: u8, jf: u8| libc::sock_filter {
            code: code as u16,
            jt,
            jf,
            k,
        };
        let load_nr = rule(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0, 0, 0);
        let ret = |k| rule(libc::BPF_RET | libc::BPF_K, k, 0, 0);
        // `action` for system call `nr`, everything else allowed.
        let filter = |nr: libc::c_long, action: u32| {
            vec![
                load_nr,
                rule(libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K, nr as u32, 0, 1),
                ret(action),
                ret(libc::SECCOMP_RET_ALLOW),
            ]
        };
        let checks = |filter: Vec<libc::sock_filter>, program: Program| {
            let mut spec = Spec::new(vec![cs("prog")]);
            spec.seccomp_filter = filter;
            spec.program = program;
            Plan::new(&spec, ChildTty::Stay, None).checks_exec()
        };
        let kill = libc::SECCOMP_RET_KILL_PROCESS;
        let eperm = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;
        assert!(!checks(Vec::new(), Program::Argv0), "no filter");
        assert!(!checks(filter(libc::SYS_ptrace, kill), Program::Argv0));
        assert!(!checks(filter(libc::SYS_execve, eperm), Program::Argv0));
        assert!(checks(filter(libc::SYS_execve, kill), Program::Argv0));
        assert!(checks(
            filter(libc::SYS_execve, libc::SECCOMP_RET_TRAP),
            Program::Argv0
        ));
        // exec_fd runs the program with execveat.
        assert!(!checks(filter(libc::SYS_execve, kill), Program::Fd(0)));
        assert!(checks(filter(libc::SYS_execveat, kill), Program::Fd(0)));
        // A filter that looks at the arguments may kill some execve calls.
        let by_argument = vec![
            rule(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 16, 0, 0),
            ret(libc::SECCOMP_RET_ALLOW),
        ];
        assert!(checks(by_argument, Program::Argv0));
    }

    #[test]
    fn capability_sets_split_into_capset_words() {
        let words = capset_words(1 << 33 | 1, 1 << 40 | 1 << 33 | 3, 1 << 31);
        assert_eq!(
            words,
            [
                CapData {
                    effective: 1,
                    permitted: 3,
                    inheritable: 1 << 31
                },
                CapData {
                    effective: 2,
                    permitted: 1 << 8 | 2,
                    inheritable: 0
                },
            ]
        );
    }

    #[test]
    fn the_childs_own_fds_are_close_on_exec_slots_after_the_programs() {
        let (layout, tail) = FdLayout::with_tail(&[Some(5), None, Some(2)], Some(9), None, None);
        assert_eq!(layout.sources, [5, -1, 2, 9]);
        assert_eq!(layout.cloexec_tail, 1);
        assert_eq!(layout.close_from(), 4);
        assert_eq!(tail.exec, Some(3));
        let (layout, tail) = FdLayout::with_tail(&[Some(0)], Some(9), Some(8), Some(7));
        assert_eq!((layout.sources, layout.cloexec_tail), (vec![0, 9, 8, 7], 3));
        assert_eq!(
            (tail.exec, tail.ruleset, tail.handover),
            (Some(1), Some(2), Some(3))
        );
        let (layout, tail) = FdLayout::with_tail(&[], None, None, Some(7));
        assert_eq!(
            (layout.sources, tail.exec, tail.handover),
            (vec![7], None, Some(0))
        );
    }
}

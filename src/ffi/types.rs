//! The `#[repr(C)]` types and constants of the C ABI (1.0, and what 1.1 appended): what cbindgen
//! turns into `include/sprout.h`. Names follow the C spelling of the contract, so the header reads as C.
//! Nothing here is interpreted: `ffi::args` reads these structs and builds a `Spec`.
#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_void};

/// The ABI generation this header describes; `sprout_abi_version()` returns the library's. It
/// changes only with the SONAME (`libsprout.so.1`): everything of generation 1 stays.
pub const SPROUT_ABI_VERSION: u32 = 1;

/// The minor version of the ABI this header describes: 1 for ABI 1.1. A minor version only
/// adds (functions, flags, fields appended to `sprout_exec_args`); `sprout_abi_minor()` returns
/// the library's (since 1.1: a 1.0 library has no such function, see `sprout_abi_minor`).
pub const SPROUT_ABI_MINOR: u32 = 1;

/// `sizeof(sprout_exec_args)` in ABI 1.0: the `size` a caller compiled against 1.0 passes.
pub const SPROUT_EXEC_ARGS_SIZE_1_0: u32 = 176;

/// `sizeof(sprout_exec_args)` in ABI 1.1 (since 1.1).
pub const SPROUT_EXEC_ARGS_SIZE_1_1: u32 = 312;

/// prctl(PR_SET_NO_NEW_PRIVS) in the child, after its credentials and capabilities are set:
/// from then on execve grants nothing (set-user-ID bits and file capabilities are ignored), and
/// the seccomp filter, if any, is installed last before execve without needing CAP_SYS_ADMIN.
/// `/proc/PID/status` shows `NoNewPrivs: 1`. It cannot be undone, in the process or its children.
pub const SPROUT_EXEC_NO_NEW_PRIVS: u32 = 1u32 << 0;
/// `envv == NULL` means the caller's environ, not an empty environment.
pub const SPROUT_EXEC_INHERIT_ENV: u32 = 1u32 << 1;
/// Never treat terminal stdio as a controlling terminal: the process stays in the caller's
/// session and process group and `sprout_process.tty` is NULL.
pub const SPROUT_EXEC_NO_TTY: u32 = 1u32 << 2;
/// setsid without taking a terminal: the process leads a new session that has no controlling
/// terminal, whatever its stdio is, and `sprout_process.tty` is NULL (with or without
/// `SPROUT_EXEC_NO_TTY`). For handing the caller's terminal to an untrusted program: outside
/// the terminal's session it cannot push input into it with TIOCSTI (CVE-2017-5226; the
/// reason for bubblewrap's `--new-session`), nor change its foreground group.
pub const SPROUT_EXEC_NEW_SESSION: u32 = 1u32 << 3;

/// Since 1.1, a bit of `sprout_exec_args.flags2`: set the process group, as `pgid` says
/// (`setpgid(0, pgid)`, POSIX_SPAWN_SETPGROUP). See `sprout_exec_args.pgid`.
pub const SPROUT_EXEC2_SETPGROUP: u64 = 1u64 << 0;
/// Since 1.1, a bit of `flags2`: signals the caller ignores stay ignored in the program (the
/// execve rule), except those in `sigdefault`; caught signals go back to SIG_DFL all the same.
/// See `sprout_exec_args.sigdefault`.
pub const SPROUT_EXEC2_KEEP_IGNORED_SIGNALS: u64 = 1u64 << 1;
/// Since 1.1, a bit of `flags2`: the process keeps the caller's umask as it was when the
/// process was created, and `umask` is not used. See `sprout_exec_args.umask`.
pub const SPROUT_EXEC2_KEEP_UMASK: u64 = 1u64 << 2;
/// Since 1.1, a bit of `flags2`: set `/proc/PID/oom_score_adj` to `oom_score_adj`.
pub const SPROUT_EXEC2_OOM_SCORE_ADJ: u64 = 1u64 << 3;
/// Since 1.1, a bit of `flags2`: set the execution domain and flags to `personality`.
pub const SPROUT_EXEC2_PERSONALITY: u64 = 1u64 << 4;
/// Since 1.1, a bit of `flags2`: the root directory is the directory `root_fd` refers to.
/// See `sprout_exec_args.root_directory`.
pub const SPROUT_EXEC2_ROOT_FD: u64 = 1u64 << 5;
/// Since 1.1, a bit of `flags2`: PTRACE_TRACEME right before execve, so the program stops
/// (SIGTRAP) before its first instruction, traced by the thread that called
/// `sprout_exec_async` (only that thread may make ptrace requests on it, and if it exits the
/// process gets its SIGTRAP and ends). See `sprout_wait` for what it does with a stopped
/// process. SIGTRAP in `sigmask` is `-EINVAL`, stage ARGS (the program would not stop); a
/// refusal (Yama's ptrace_scope 3, a seccomp filter of the caller's) is `-EPERM`, stage
/// PTRACE. A signal the program's mask does not block that arrives in the moment between
/// that mask and execve stops the process before its exec, while the calling thread waits
/// for the exec: the call then returns only once the process is killed.
pub const SPROUT_EXEC2_PTRACE: u64 = 1u64 << 6;
/// Since 1.1, a bit of `flags2`: with no `PATH` in the environment, a name without '/' is not
/// searched in the default `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`: the
/// spawn fails with `-ENOENT`, stage EXEC, as runc and crun refuse such a program.
pub const SPROUT_EXEC2_NO_DEFAULT_PATH: u64 = 1u64 << 7;
/// Since 1.1, a bit of `flags2`: a paused start (runc's create/start split, bubblewrap's
/// `--block-fd`). `sprout_exec_async` returns once the process exists with every step done but
/// execve, holding there: the caller can see it (its pid, `sprout_pidfd`, /proc/PID/status
/// with its ids, capabilities, NoNewPrivs and Seccomp; /proc/PID/ns/*; its cgroup) and prepare
/// what is around it (write its cgroup's limits, move a veth end into its network namespace,
/// take its seccomp listener) before `sprout_start(pid)` lets it run its program. The program,
/// and the PATH search for it, run only then, so an exec failure is reported by
/// `sprout_start`.
///
/// A paused process takes signals as its program would (every handler is SIG_DFL and its mask
/// the program's `sigmask` already): `sprout_signal(pid, SIGKILL)` is a clean abort, after
/// which `sprout_wait` gives its status; SIGSTOP stops it. `sprout_wait` waits for it to end,
/// which it does only when signalled. `sprout_release` ends it (SIGKILL) before forgetting it:
/// nothing could start it any more. It also ends (status 127) when the caller's process exits
/// or execs, as it waits on a socket whose other end only the caller holds (close-on-exec; a
/// copy of the caller made by fork holds it too, until that copy exits, execs or next calls
/// the library).
///
/// Until it runs its program it shares the caller's memory (CLONE_VM), like any sprout child
/// before execve, so /proc/PID/exe, cmdline and the memory figures of its status are the
/// caller's; it holds one fd more than its program will, close-on-exec: the socket it waits on.
/// The library keeps what it reads until then (a copy of the request, the plan, its stack), so
/// the caller may free its arguments, spawn again from the same thread, or start it from any
/// other. A seccomp filter installed with no_new_privs is in place while it is paused, and must
/// let through the calls it makes to pause and go on: futex, read, then execve (see
/// `seccomp_flags` for a listener, which may take the execve). Not with `sprout_exec` (which would wait for ever) nor with
/// a joined time namespace (the child cannot wait without sharing the caller's memory):
/// `-EINVAL`, stage ARGS.
pub const SPROUT_EXEC2_PAUSED: u64 = 1u64 << 8;
/// Since 1.1, a bit of `flags2`: Landlock, with `landlock_ruleset_fd` and
/// `landlock_restrict_flags` (see them).
pub const SPROUT_EXEC2_LANDLOCK: u64 = 1u64 << 9;

/// Since 1.1: `LANDLOCK_ACCESS_FS_*` of `<linux/landlock.h>`, same names and values: what a
/// file hierarchy allows. A file can be given only EXECUTE, WRITE_FILE, READ_FILE, TRUNCATE
/// and IOCTL_DEV; the others concern the content of a directory.
pub const SPROUT_LANDLOCK_ACCESS_FS_EXECUTE: u64 = 1u64 << 0;
pub const SPROUT_LANDLOCK_ACCESS_FS_WRITE_FILE: u64 = 1u64 << 1;
pub const SPROUT_LANDLOCK_ACCESS_FS_READ_FILE: u64 = 1u64 << 2;
pub const SPROUT_LANDLOCK_ACCESS_FS_READ_DIR: u64 = 1u64 << 3;
pub const SPROUT_LANDLOCK_ACCESS_FS_REMOVE_DIR: u64 = 1u64 << 4;
pub const SPROUT_LANDLOCK_ACCESS_FS_REMOVE_FILE: u64 = 1u64 << 5;
pub const SPROUT_LANDLOCK_ACCESS_FS_MAKE_CHAR: u64 = 1u64 << 6;
pub const SPROUT_LANDLOCK_ACCESS_FS_MAKE_DIR: u64 = 1u64 << 7;
pub const SPROUT_LANDLOCK_ACCESS_FS_MAKE_REG: u64 = 1u64 << 8;
pub const SPROUT_LANDLOCK_ACCESS_FS_MAKE_SOCK: u64 = 1u64 << 9;
pub const SPROUT_LANDLOCK_ACCESS_FS_MAKE_FIFO: u64 = 1u64 << 10;
pub const SPROUT_LANDLOCK_ACCESS_FS_MAKE_BLOCK: u64 = 1u64 << 11;
pub const SPROUT_LANDLOCK_ACCESS_FS_MAKE_SYM: u64 = 1u64 << 12;
/// Landlock ABI 2 (Linux 5.19).
pub const SPROUT_LANDLOCK_ACCESS_FS_REFER: u64 = 1u64 << 13;
/// Landlock ABI 3 (Linux 6.2).
pub const SPROUT_LANDLOCK_ACCESS_FS_TRUNCATE: u64 = 1u64 << 14;
/// Landlock ABI 5 (Linux 6.10).
pub const SPROUT_LANDLOCK_ACCESS_FS_IOCTL_DEV: u64 = 1u64 << 15;
/// Since 1.1: `LANDLOCK_ACCESS_NET_*`, Landlock ABI 4 (Linux 6.7): what a TCP port allows.
pub const SPROUT_LANDLOCK_ACCESS_NET_BIND_TCP: u64 = 1u64 << 0;
pub const SPROUT_LANDLOCK_ACCESS_NET_CONNECT_TCP: u64 = 1u64 << 1;
/// Since 1.1: `LANDLOCK_SCOPE_*`, Landlock ABI 6 (Linux 6.12): connecting to an abstract UNIX
/// socket, and sending a signal, to a process outside the Landlock domain are denied.
pub const SPROUT_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET: u64 = 1u64 << 0;
pub const SPROUT_LANDLOCK_SCOPE_SIGNAL: u64 = 1u64 << 1;
/// Since 1.1: `LANDLOCK_RESTRICT_SELF_*`, Landlock ABI 7 (Linux 6.15), for
/// `sprout_exec_args.landlock_restrict_flags`: audit logging of the denials.
pub const SPROUT_LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF: u32 = 1u32 << 0;
pub const SPROUT_LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON: u32 = 1u32 << 1;
pub const SPROUT_LANDLOCK_RESTRICT_SELF_LOG_SUBDOMAINS_OFF: u32 = 1u32 << 2;
/// Since 1.1, a bit of `sprout_landlock_ruleset.flags`: best effort (see
/// `sprout_landlock_create_ruleset`).
pub const SPROUT_LANDLOCK_BEST_EFFORT: u32 = 1u32 << 0;

/// Where a call failed, with the errno and a message naming the stage, the path / fd index / id /
/// resource concerned and the errno's text, e.g. `exec: /opt/x/prog: No such file or directory`.
#[repr(C)]
pub struct sprout_error {
    /// Positive errno; 0 when none.
    pub code: i32,
    /// `enum sprout_stage`.
    pub stage: u32,
    /// NUL-terminated, truncated to fit.
    pub message: [c_char; 256],
}

/// Identity of the new process, as ids inside its user namespace.
///
/// Applied in the child with raw system calls, never the C library's wrappers (whose setxid
/// broadcast would reach the caller's threads): setgroups(`extra_gids`), then
/// setresgid(`gid`, `gid`, `gid`), then setresuid(`uid`, `uid`, `uid`), so real, effective,
/// saved (and filesystem) ids are all equal. It runs after the rlimits, the working directory
/// and (without `SPROUT_EXEC_NO_NEW_PRIVS`) the seccomp filter, while the caller's privileges
/// still hold. setgroups is skipped when no groups are asked and the process already has none,
/// so a caller without CAP_SETGID can still name its own ids; and when none are asked in a
/// user namespace whose setgroups is denied (a rootless caller's, see `sprout_id_map`), where
/// the groups the process inherited cannot be dropped: they stay, shown as the overflow gid
/// inside, as runc leaves them. Changing to a non-root uid drops every capability unless
/// `capabilities` says otherwise. (uid_t)-1 as any id, or more than 65536 groups, is `-EINVAL`
/// (stage ARGS); a change the caller may not make is `-EPERM`, stage CREDENTIALS, naming the id
/// (`uid 0`).
///
/// The child shares the caller's memory, whose dumpable flag the kernel resets when the
/// child's ids change (or when it joins a user namespace the caller's euid does not own):
/// the library puts the caller's flag back before the call returns, so PR_GET_DUMPABLE, the
/// owner of /proc/CALLER and core dumps stay as they were, whatever fs.suid_dumpable says.
/// While such a spawn is under way on one thread, another thread may read the flag changed
/// for a moment, and a PR_SET_DUMPABLE the caller makes meanwhile may be undone.
#[repr(C)]
pub struct sprout_credentials {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups; `extra_gids_len == 0` means no supplementary groups at all.
    pub extra_gids: *const u32,
    pub extra_gids_len: usize,
}

/// The five capability sets; bit n is capability n, as in capabilities(7). Meaning as in the
/// OCI runtime spec and runc: what the process is left with before execve, after which the
/// kernel's execve rules apply.
///
/// Order in the child: every capability not in `bounding` is dropped from the bounding set
/// (PR_CAPBSET_DROP, while CAP_SETPCAP is held; bits already out are skipped);
/// PR_SET_KEEPCAPS when `credentials` are given, so the permitted set survives the uid change;
/// the credentials; capset of `effective`, `permitted`, `inheritable`; then the ambient set is
/// cleared and each `ambient` bit raised (PR_CAP_AMBIENT). After execve a non-root program
/// without file capabilities holds its ambient set in its effective and permitted sets, and a
/// root program holds `bounding | inheritable`.
///
/// `-EINVAL`, stage ARGS, before any process exists: a bit above the running kernel's last
/// capability (`/proc/sys/kernel/cap_last_cap`) in any set, `effective` not within `permitted`,
/// or `ambient` not within `permitted & inheritable`. What the kernel refuses at run time
/// (e.g. a permitted capability the caller lacks, an inheritable one outside the bounding set
/// that the caller's inheritable set does not hold) is `-EPERM`, stage CAPABILITIES, naming
/// the step and capability.
#[repr(C)]
pub struct sprout_capabilities {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub bounding: u64,
    pub ambient: u64,
}

/// One resource limit, applied in the child only with prlimit64 on itself, first among the
/// privilege steps: before the credentials change, while the caller's CAP_SYS_RESOURCE (needed
/// to raise a hard limit) still holds. The caller's own limits never change. The kernel checks
/// CAP_SYS_RESOURCE in the initial user namespace, so in a new or joined user namespace a
/// hard limit above the caller's is raised before the process enters it: by the process itself
/// (a new user namespace without a new PID namespace is then created by unshare, not clone),
/// or, when clone creates the user namespace along with a new PID namespace (which it must
/// own), by the caller's thread with prlimit on the process while it waits (as runc does).
///
/// An unknown resource, `soft > hard`, or one resource given twice is `-EINVAL`, stage ARGS; a
/// limit the kernel refuses (raising a hard limit without CAP_SYS_RESOURCE: `-EPERM`) fails
/// at stage RLIMITS, naming the entry and resource (`limits[1] RLIMIT_NOFILE ...`).
#[repr(C)]
pub struct sprout_rlimit {
    /// `RLIMIT_*`, 0 to `RLIMIT_RTTIME`.
    pub resource: i32,
    /// `UINT64_MAX` is RLIM_INFINITY.
    pub soft: u64,
    pub hard: u64,
}

/// One namespace of the new process: a new one, or one joined from a namespace file.
///
/// Any mix of kinds in one call, each at most once. Kinds not listed stay the caller's.
/// - New namespaces are created by clone (the process is pid 1 of a new PID namespace, and
///   the others are owned by a new user namespace created in the same call). When the call
///   joins a user namespace, or creates one and joins other namespaces, the new ones other than
///   PID are created after the joins, so they are owned by the user namespace the process ends
///   up in; a new PID namespace is then owned by the caller's. So are they when a new user
///   namespace without a new PID namespace must wait for steps that need the caller's
///   privilege (raising a hard limit, taking a write-only terminal; see `sprout_rlimit`).
/// - Joins: the user namespace first (it gives the privilege over the namespaces it owns, as
///   `runc exec` does), then the others in the order given. Joining the caller's own user
///   namespace is staying in it. A joined PID namespace holds the process under the next free
///   pid there, while `sprout_process.pid` is its pid in the caller's namespace (wait for and
///   signal it as any other); the calling thread enters the namespace only around clone, so
///   the caller's own later children are never born there (a switch back that fails for
///   lack of memory is retried until it works). Joining a PID namespace needs
///   CAP_SYS_ADMIN in the caller's user namespace.
/// - A joined time namespace makes the spawn copy the caller's page tables (the kernel lets
///   only a process that shares its memory with none join one): its cost grows with the
///   caller's memory, like fork's.
/// - A new time namespace is entered at execve: the child shares the caller's memory until
///   then, and the kernel moves such a process into its new time namespace only when it gets
///   memory of its own. Linux does that at exec from 6.2 on (`exec_task_namespaces`, "fs/exec:
///   switch timens when a task gets a new mm"). On 5.6 to 6.1 execve does not switch time
///   namespaces (the switch on vfork + exec of 6.0-rc1 was reverted before 6.0): the program
///   runs in the caller's time namespace (`/proc/PID/ns/time`) and only the processes it
///   forks enter the new one (`/proc/PID/ns/time_for_children`). From 6.2 on the program is
///   in it when this call returns, so the namespace's clock offsets can no longer be set
///   (`/proc/PID/timens_offsets` is writable only until a process enters) and stay zero.
///
/// Refused with -EINVAL, stage ARGS: an unknown or combined type, a type given twice, an fd
/// that is not a namespace file of that type (a closed fd is -EBADF), a joined time namespace
/// together with id maps. What the kernel refuses is stage NAMESPACES, the message naming
/// `namespaces[i]` and the kind.
#[repr(C)]
pub struct sprout_namespace {
    /// Exactly one `CLONE_NEW*` value: CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET,
    /// CLONE_NEWPID, CLONE_NEWUSER, CLONE_NEWCGROUP or CLONE_NEWTIME.
    pub r#type: i32,
    /// -1: create a new one; >= 0: join the namespace this fd refers to (a /proc/PID/ns/*
    /// file or a bind mount of one; not a pidfd).
    pub fd: i32,
}

/// One line of `/proc/PID/uid_map` or `gid_map` of a new user namespace: ids
/// `inside .. inside+count-1` in the namespace are `outside ..` in the caller's.
///
/// The maps are written by the parent while the child waits (sharing the caller's memory,
/// without CLONE_VFORK: a futex handshake, some 0.05-0.07 ms more than a plain spawn whatever
/// the caller's size), before the child does anything that depends on its ids. Writing them
/// needs /proc and a dumpable caller. `credentials` are ids inside the namespace (uid_map
/// 0 100000 65536 with credentials uid 0 gives a process that is root inside and 100000
/// outside; with NULL credentials the process keeps the caller's ids, the overflow id inside
/// where unmapped).
/// setgroups stays allowed in the namespace unless the kernel requires it denied for the gid
/// map (a caller without CAP_SETGID). A map the kernel refuses is -EPERM or -EINVAL, stage
/// NAMESPACES, the message naming the offending line where the kernel's rules tell which.
#[repr(C)]
pub struct sprout_id_map {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

/// What to start. Initialise with `sprout_exec_args_init`, then set `argv` and what you need.
///
/// Extensible like the kernel's `clone3` and `openat2` arguments: `size` is
/// `sizeof(sprout_exec_args)` as the caller compiled it, and new versions only append fields,
/// each of which means "not set" when all its bytes are zero (a flag bit in `flags2` turns on
/// those where zero is a value). So:
/// - a caller compiled against an older header passes a smaller size (1.0:
///   `SPROUT_EXEC_ARGS_SIZE_1_0`): the library reads no byte past `size` and takes what
///   follows as zero, so the caller gets the behaviour it was written for;
/// - a caller compiled against a newer header than the library passes a larger size: accepted
///   when every byte the library does not know is zero (the caller set nothing new), else
///   `-E2BIG`, stage ARGS, naming the first such byte; at most 4096 bytes (`-E2BIG`);
/// - a size below 1.0's is `-EINVAL`, stage ARGS. As with clone3, any size from 1.0's up is
///   taken this way, a size between two versions' too (a 1.0 caller's struct with zero bytes
///   after it, say).
///
/// Nothing past `size` bytes is ever read, and no array past its length.
#[repr(C)]
pub struct sprout_exec_args {
    /// `sizeof(sprout_exec_args)` as the caller compiled it.
    pub size: u32,
    /// `SPROUT_EXEC_*`; unknown bits are `-EINVAL`.
    pub flags: u32,
    /// NULL or "": `argv[0]`. Without '/': searched in the `PATH` of `envv` (not the caller's),
    /// or in `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` when `envv` has
    /// none, inside the new process with execvpe's rules. No shell fallback on ENOEXEC.
    pub filename: *const c_char,
    /// -1: use `filename`; else run this open file (execveat AT_EMPTY_PATH), `filename` must be
    /// NULL. The fd does not survive into the new program (so a `#!` script given this way
    /// fails with ENOENT, as fexecve of a close-on-exec fd does).
    pub exec_fd: i32,
    /// NULL-terminated, at least `argv[0]`.
    pub argv: *const *const c_char,
    /// NULL-terminated `KEY=VALUE` strings; NULL: an empty environment, or the caller's with
    /// `SPROUT_EXEC_INHERIT_ENV`. Passed to execve as given, in order: an entry without '=' or
    /// a name given twice reaches the program as it is (the kernel accepts any string;
    /// getenv skips entries without '=' and finds the first of a name). The PATH searched for
    /// `filename` is the value of the first `PATH=` entry.
    pub envv: *const *const c_char,
    /// NULL: "/". A relative path is relative to the caller's working directory, except when
    /// `namespaces` joins a mount namespace: joining one moves the process's root and working
    /// directory to that namespace's root, so the path is relative to it and resolved inside
    /// the joined namespace (never through a directory of the caller's mount namespace, which
    /// could let the program reach outside a container's root: CVE-2024-21626). chdir runs
    /// after the namespaces are entered, with `chdir(2)`'s rules there.
    pub working_directory: *const c_char,
    /// NULL: the caller's ids. See `sprout_credentials`.
    pub credentials: *const sprout_credentials,
    /// NULL: the sets execve gives. See `sprout_capabilities`.
    pub capabilities: *const sprout_capabilities,
    /// Resource limits of the new process; see `sprout_rlimit`. Others are the caller's.
    pub limits: *const sprout_rlimit,
    pub limits_len: usize,
    /// The umask of the process, set in the child right after its working directory;
    /// `sprout_exec_args_init` sets 0022. Since 1.1, with `SPROUT_EXEC2_KEEP_UMASK` it is not
    /// used: the process keeps the umask it got from the caller when clone created it. The
    /// child then makes no umask call at all, so nothing races another thread of the caller
    /// that changes the umask meanwhile (that change lands before or after the spawn, whole),
    /// and the caller's umask is never changed, not even for a moment, as reading it with
    /// umask(2) would.
    pub umask: u32,
    /// See `sprout_namespace`.
    pub namespaces: *const sprout_namespace,
    pub namespaces_len: usize,
    /// Only with a new user namespace (else -EINVAL, stage ARGS); see `sprout_id_map`. At most
    /// 340 lines each, as the kernel takes.
    pub uid_map: *const sprout_id_map,
    pub uid_map_len: usize,
    pub gid_map: *const sprout_id_map,
    pub gid_map_len: usize,
    /// -1: the caller's cgroup. Else a cgroup2 directory fd (-EINVAL, stage ARGS, if it is
    /// not one): the process starts in that cgroup, before its first instruction
    /// (CLONE_INTO_CGROUP), or, where clone3 is missing, by writing itself to the cgroup's
    /// cgroup.procs before anything else; either way before exec. A new cgroup namespace is
    /// rooted at that cgroup. What the kernel refuses (a removed cgroup, one with controllers
    /// enabled for its children) is stage CGROUP.
    pub cgroup_fd: i32,
    /// `struct sock_filter[]`: a ready cBPF program, installed with
    /// seccomp(SECCOMP_SET_MODE_FILTER), where runc installs it. With
    /// `SPROUT_EXEC_NO_NEW_PRIVS`: last, right before execve. Without it: before the
    /// credentials change, while the caller's CAP_SYS_ADMIN still holds (so a root caller can
    /// give a filter to a non-root process without no_new_privs); the filter then also applies
    /// to the child's remaining setup calls (getgroups, setgroups, setresgid, setresuid,
    /// capset, prctl, getppid, rt_sigprocmask, since 1.1 ptrace with `SPROUT_EXEC2_PTRACE`,
    /// landlock_restrict_self with `SPROUT_EXEC2_LANDLOCK`, sendmsg and close with a listener,
    /// futex and read with `SPROUT_EXEC2_PAUSED`, and execve or execveat), which it must
    /// allow; a call it refuses fails the step that made it. With no_new_privs the child still
    /// makes those of a listener and a paused start after it, then execve. See also
    /// `seccomp_flags`. A program the kernel rejects is
    /// `-EINVAL`, stage SECCOMP; without no_new_privs and without CAP_SYS_ADMIN, `-EACCES`.
    /// A filter that kills the process at execve is `-EINTR`, stage EXEC (see
    /// `sprout_exec_async`). On Linux before 5.16, a core-dumping signal in the child before
    /// exec (a KILL or TRAP action of the filter, when the caller is dumpable) also kills the
    /// caller, whose memory the child shares: those kernels killed every process sharing the
    /// memory of one that dumps core.
    pub seccomp_filter: *const c_void,
    /// In instructions; 0: none; more than BPF_MAXINSNS (4096): `-EINVAL`, stage ARGS.
    pub seccomp_filter_len: usize,
    /// PR_SET_PDEATHSIG; 0: none. Linux sends it when the *thread* that called
    /// `sprout_exec_async` exits, not when the whole caller does.
    pub parent_death_signal: i32,
    /// Label for `sprout_list` / `sprout_signal_container`; NULL: none.
    pub container_id: *const c_char,

    // ---- ABI 1.1: every field below is new in 1.1, and all-zero bytes leave it unset ----
    /// Since 1.1. `SPROUT_EXEC2_*` bits; unknown bits are `-EINVAL`. A separate word from
    /// `flags`, in the part of the struct a 1.0 library does not know, so that one of these
    /// bits is `-E2BIG` from a 1.0 library instead of being mistaken for a flag it knows.
    pub flags2: u64,
    /// Since 1.1, with `SPROUT_EXEC2_SETPGROUP`: 0 makes the process the leader of a new
    /// process group (`setpgid(0, 0)`, Go's `Setpgid`, Python's `process_group=0`); a pgid > 0
    /// joins that group, which must be in the caller's session (`-EPERM`, stage TTY,
    /// otherwise), as a shell puts the second process of a pipeline in the first's group. Set
    /// in the child's first step, with the session and terminal:
    /// - no terminal, or `SPROUT_EXEC_NO_TTY`: `setpgid(0, pgid)` in the caller's session;
    /// - the caller's own terminal (terminal case 2 of `sprout_exec_async`, where the process
    ///   leads a new foreground group already): with a pgid, it joins that group instead, and
    ///   that group is made the terminal's foreground group (TIOCSPGRP), as a shell's job
    ///   control does for a pipeline in the foreground;
    /// - a new session (`SPROUT_EXEC_NEW_SESSION`, or terminal case 1): the process leads a
    ///   new group already (setsid), so 0 changes nothing, and a pgid, in another session, is
    ///   `-EINVAL`, stage ARGS.
    ///
    /// A pgid < 0, a pgid without the flag, or a pgid together with a new or joined PID
    /// namespace (where no group of the caller's session is visible) are `-EINVAL`, stage
    /// ARGS.
    pub pgid: i32,
    /// Since 1.1, with `SPROUT_EXEC2_OOM_SCORE_ADJ`: `/proc/PID/oom_score_adj`, -1000 to 1000
    /// (else `-EINVAL`, stage ARGS); without the flag the process has the caller's value.
    /// Written by the child to /proc/self/oom_score_adj first among its privileged steps,
    /// right after its session and terminal, before it enters any namespace (the caller's
    /// /proc and privilege hold there): a value below the caller's `oom_score_adj_min` (the
    /// lowest value a writer with CAP_SYS_RESOURCE set, 0 by default) needs CAP_SYS_RESOURCE in
    /// the initial user namespace (`-EACCES`, stage OOM_SCORE_ADJ, without; a process that
    /// clone puts in a new user namespace, with a new PID namespace, never has it). The kernel applies a write to the oom_score_adj of every process that
    /// shares the writer's memory unless the writer is a vfork child (a child made with
    /// CLONE_VM but without CLONE_VFORK marks the memory as shared for good): so the child
    /// writes it only when it is started with CLONE_VFORK, and a spawn whose child must wait
    /// for the caller instead (id maps for a new user namespace, a terminal handed to
    /// `credentials.uid` in another user namespace, hard limits raised by the caller for a
    /// new user and PID namespace: see `sprout_id_map`; a paused start, `SPROUT_EXEC2_PAUSED`)
    /// refuses it with `-EINVAL`, stage ARGS,
    /// rather than change the caller's. The caller's own value never changes.
    pub oom_score_adj: i32,
    /// Since 1.1: the signal mask the program starts with (POSIX_SPAWN_SETSIGMASK); bit
    /// `n - 1` is signal `n`, as in `/proc/PID/status` `SigBlk`. 0: empty, as in 1.0. SIGKILL
    /// and SIGSTOP, which cannot be blocked, are `-EINVAL`, stage ARGS, as is SIGTRAP with
    /// `SPROUT_EXEC2_PTRACE` (the program would not stop at its exec). The child runs with
    /// every signal blocked until it sets this mask, last before execve.
    pub sigmask: u64,
    /// Since 1.1, with `SPROUT_EXEC2_KEEP_IGNORED_SIGNALS`: the signals that go back to SIG_DFL
    /// even when the caller ignores them (POSIX_SPAWN_SETSIGDEF; Python's `restore_signals`
    /// is SIGPIPE and SIGXFSZ), bits as in `sigmask`. Without the flag every signal goes back
    /// to SIG_DFL, as in 1.0, and a non-zero `sigdefault` is `-EINVAL`, stage ARGS; so are
    /// SIGKILL and SIGSTOP (always SIG_DFL). Which signals are ignored is read in the child,
    /// from the dispositions it got at clone: a disposition another thread changes during
    /// the call is either before or after the spawn, never half of each. A caught signal is
    /// always reset: its handler lives in the caller.
    pub sigdefault: u64,
    /// Since 1.1: the scheduling policy and its parameters (OCI `scheduler`); NULL: the
    /// caller's. See `sprout_sched`.
    pub sched: *const sprout_sched,
    /// Since 1.1: the I/O scheduling class (OCI `ioPriority`): 1 `IOPRIO_CLASS_RT`, 2
    /// `IOPRIO_CLASS_BE`, 3 `IOPRIO_CLASS_IDLE`; 0: the caller's I/O priority (a class of
    /// "none", which follows the nice value, cannot be asked for, as in OCI). Set with
    /// `ioprio_set(IOPRIO_WHO_PROCESS, 0, ...)` with the scheduling policy, after the rlimits
    /// and before the credentials change. Another class, or a level above 7, is `-EINVAL`,
    /// stage ARGS; the real-time class without CAP_SYS_NICE or CAP_SYS_ADMIN (in the initial
    /// user namespace) is `-EPERM`, stage SCHED.
    pub ioprio_class: u32,
    /// Since 1.1: the level within `ioprio_class`, 0 (highest) to 7; must be 0 without a class.
    pub ioprio_level: u32,
    /// Since 1.1: the CPUs the process may run on (OCI `execCPUAffinity.final`), a CPU set of
    /// any size: bit `n % 64` of `cpu_set[n / 64]` is CPU n; NULL with `cpu_set_len` 0: the
    /// caller's. `sched_setaffinity` in the child with the scheduling policy; the kernel keeps
    /// only the CPUs that are online and in the process's cpuset, and the child checks what it
    /// got: a CPU asked for but not granted is `-EINVAL`, stage SCHED, naming it. An empty
    /// set, or a CPU above the highest this kernel can have, is `-EINVAL`, stage ARGS.
    pub cpu_set: *const u64,
    /// In 64-bit words.
    pub cpu_set_len: usize,
    /// Since 1.1, with `SPROUT_EXEC2_PERSONALITY`: personality(2) (OCI `linux.personality`),
    /// e.g. `PER_LINUX32` (8, `uname -m` then says i686) or `PER_LINUX | ADDR_NO_RANDOMIZE`
    /// (0x0040000). The execution domain (low byte) must be PER_LINUX (0) or PER_LINUX32 (8),
    /// and the flags among personality(2)'s (`-EINVAL`, stage ARGS, otherwise). Set in the
    /// child after the working directory (what the kernel refuses is stage PERSONALITY).
    /// execve keeps it, except what the kernel clears itself: the flags of
    /// `PER_CLEAR_ON_SETID` for a set-user-ID program, and, on x86_64, READ_IMPLIES_EXEC for a
    /// 64-bit program (unless its ELF headers ask for it).
    pub personality: u32,
    /// Since 1.1, with `SPROUT_EXEC2_ROOT_FD`: a directory fd to make the root directory; see
    /// `root_directory`.
    pub root_fd: i32,
    /// Since 1.1: the root directory of the process (chroot, as Go's `Chroot` and minijail's
    /// `-C`); NULL: the caller's (or the joined mount namespace's). A relative path is relative
    /// to the working directory the child has then (the caller's, or the root of a joined mount
    /// namespace). Or, with `SPROUT_EXEC2_ROOT_FD` (and `root_directory` NULL, else `-EINVAL`,
    /// stage ARGS), the directory `root_fd` refers to (fchdir right after the namespaces, then
    /// chroot(".") later: the fd itself needs to stay open only until the call returns).
    /// The chroot comes after the namespaces are joined and created, the fd layout and the
    /// rlimits, before the working directory: a relative `working_directory` is then relative
    /// to the new root, and the program, its PATH search and `#!` interpreter are looked up
    /// inside it. Needs CAP_SYS_CHROOT in the process's user namespace (`-EPERM`, stage
    /// CHROOT, without).
    pub root_directory: *const c_char,
    /// Since 1.1: the hostname of the process's new UTS namespace (sethostname, OCI
    /// `hostname`); NULL: unchanged. At most 64 bytes. Only when the call creates a new UTS
    /// namespace (a `CLONE_NEWUTS` entry with fd -1 in `namespaces`): else `-EINVAL`, stage
    /// ARGS, so that no spawn renames the caller's or a joined namespace. Set right after the
    /// namespaces, before the credentials change; a refusal is stage UTS.
    pub hostname: *const c_char,
    /// Since 1.1: the NIS domain name of the new UTS namespace (setdomainname, OCI
    /// `domainname`); NULL: unchanged. As `hostname`.
    pub domainname: *const c_char,
    /// Since 1.1: more cgroup directories the process moves into, `extra_cgroup_fds_len` fds
    /// of directories of any cgroup hierarchy, v1 or v2 (`-EINVAL`, stage ARGS, otherwise):
    /// on a hybrid host, the cgroup v1 hierarchies of a container the process joins (its
    /// devices, memory and pids limits live there), which `cgroup_fd` (cgroup2 only) cannot
    /// name. The child writes itself to each one's `cgroup.procs` (in a v1 hierarchy its
    /// `tasks`: the same move for a process of one thread, without the machine-wide lock a
    /// `cgroup.procs` write takes), in order, right after `cgroup_fd` and before anything else
    /// (namespaces, terminal, credentials), with the caller's credentials: the program never
    /// runs outside them. A move the kernel refuses is stage CGROUP, naming
    /// `extra_cgroup_fds[i]`. NULL with 0: none.
    pub extra_cgroup_fds: *const i32,
    pub extra_cgroup_fds_len: usize,
    /// Since 1.1: the session keyring. NULL keeps the caller's (which a program in a container
    /// could then reach); "" gives the process a new anonymous one; a name joins the keyring of
    /// that name the process may search, or creates it (KEYCTL_JOIN_SESSION_KEYRING, as `runc
    /// exec` joins `_ses.ID`). Joined after the namespaces (a name is looked up in the user
    /// namespace the process ends up in) and before the credentials change; a refusal is
    /// stage CREDENTIALS, naming the keyring.
    pub session_keyring: *const c_char,
    /// Since 1.1, with `SPROUT_EXEC2_LANDLOCK`: a Landlock ruleset fd (from
    /// `sprout_landlock_create_ruleset`, or the kernel's landlock_create_ruleset) the process
    /// restricts itself with (landlock_restrict_self), with `landlock_restrict_flags`. This is
    /// the last step before execve, but for a seccomp filter installed with no_new_privs
    /// (which so need not allow landlock_restrict_self) and a paused start's wait: every other
    /// step still runs with the caller's access, and the program's execve (its PATH search, its
    /// `#!` interpreter and shared libraries) already runs under the ruleset, so a ruleset
    /// that handles `LANDLOCK_ACCESS_FS_EXECUTE` must allow the program's files. It comes after
    /// no_new_privs, which an unprivileged caller needs: without `SPROUT_EXEC_NO_NEW_PRIVS` the
    /// kernel wants CAP_SYS_ADMIN in the process's user namespace (`-EPERM`, stage LANDLOCK).
    /// The child closes the fd right after, so the program never has it; the caller's stays
    /// the caller's. Without the flag, a non-zero fd or flags is `-EINVAL`, stage ARGS; an fd
    /// that is not a ruleset is `-EBADFD`, stage LANDLOCK.
    pub landlock_ruleset_fd: i32,
    /// Since 1.1: `SPROUT_LANDLOCK_RESTRICT_SELF_*` (`LANDLOCK_RESTRICT_SELF_*`, the audit
    /// logging flags of Landlock ABI 7), with `SPROUT_EXEC2_LANDLOCK`. A flag the running
    /// kernel's Landlock ABI lacks is `-EOPNOTSUPP`, stage ARGS, naming it.
    pub landlock_restrict_flags: u32,
    /// Since 1.1: `SECCOMP_FILTER_FLAG_*` for `seccomp_filter` (`-EINVAL`, stage ARGS, without
    /// one), as seccomp(2) takes them: LOG (2), SPEC_ALLOW (4), NEW_LISTENER (8),
    /// WAIT_KILLABLE_RECV (32, only with NEW_LISTENER). TSYNC and TSYNC_ESRCH are `-EINVAL`,
    /// stage ARGS: the process is one thread until its program starts more, which inherit the
    /// filter. A flag the running kernel lacks is its `-EINVAL`, stage SECCOMP, the message
    /// naming the flags.
    ///
    /// With NEW_LISTENER the filter's user-notification listener goes to the caller, through
    /// `sprout_seccomp_listener(pid)`: the child sends it over a socket pair of the library's
    /// (SCM_RIGHTS, no ptrace rights needed) right after installing the filter, and closes its
    /// own, so the program never has it. Until the listener is taken and answered, a call the
    /// filter sends to it waits (a blocking `sprout_wait` closes a listener not taken, and the
    /// kernel then fails such calls with ENOSYS). The child makes a few calls itself after the
    /// filter is in place, when nobody holds the listener yet to answer: a filter that sends
    /// one of them to the listener, or may depending on its arguments, is `-EINVAL`, stage
    /// ARGS, naming the call. They are sendmsg and close (the handover); with a paused start,
    /// futex and read (its wait); without one, the execve or execveat that runs the program
    /// (a paused start lets the caller take the listener and answer it: `sprout_start` returns
    /// once it has); and for a filter installed without no_new_privs, before the credentials
    /// change, also getgroups, setgroups, setresgid, setresuid, capget, capset, prctl, getppid,
    /// getpid, kill, rt_sigprocmask, ptrace and landlock_restrict_self. Not with `sprout_exec`,
    /// which returns only when the process has ended: `-EINVAL`, stage ARGS.
    pub seccomp_flags: u64,
}

/// Since 1.1: rights of each kind Landlock knows; what `sprout_landlock_create_ruleset` left
/// out in best-effort mode.
#[repr(C)]
pub struct sprout_landlock_access {
    /// `SPROUT_LANDLOCK_ACCESS_FS_*`.
    pub fs: u64,
    /// `SPROUT_LANDLOCK_ACCESS_NET_*`.
    pub net: u64,
    /// `SPROUT_LANDLOCK_SCOPE_*`.
    pub scoped: u64,
}

/// Since 1.1: a file hierarchy and what it allows (a Landlock `path_beneath` rule): the
/// directory or file `path` names, or, with `path` NULL, the one `fd` refers to (an fd of the
/// caller's, O_PATH is enough). On a file, the rights that concern the content of a directory
/// are left out.
#[repr(C)]
pub struct sprout_landlock_path_rule {
    /// `SPROUT_LANDLOCK_ACCESS_FS_*`: at least one, all within `handled_access_fs`.
    pub access: u64,
    /// Opened by the library with O_PATH, then closed; NULL: `fd`.
    pub path: *const c_char,
    /// Used when `path` is NULL.
    pub fd: i32,
}

/// Since 1.1: a TCP port and what it allows (a Landlock `net_port` rule).
#[repr(C)]
pub struct sprout_landlock_port_rule {
    /// `SPROUT_LANDLOCK_ACCESS_NET_*`: at least one, all within `handled_access_net`.
    pub access: u64,
    /// 0 to 65535, host byte order.
    pub port: u64,
}

/// Since 1.1: a Landlock ruleset to build with `sprout_landlock_create_ruleset`.
///
/// The handled rights are denied to the process except where a rule allows them; rights not
/// handled stay allowed everywhere (Landlock's rule for compatibility), so a sandbox handles
/// every right it can (`SPROUT_LANDLOCK_ACCESS_FS_*` all or'ed: what it does not handle, it
/// does not restrict). Extensible like `sprout_exec_args`: `size` is `sizeof` as the caller
/// compiled it; a larger struct is accepted when the bytes this library does not know are
/// zero, else `-E2BIG`.
#[repr(C)]
pub struct sprout_landlock_ruleset {
    /// `sizeof(sprout_landlock_ruleset)` as the caller compiled it.
    pub size: u32,
    /// `SPROUT_LANDLOCK_BEST_EFFORT`, or 0 for strict; unknown bits are `-EINVAL`.
    pub flags: u32,
    /// `SPROUT_LANDLOCK_ACCESS_FS_*` the ruleset restricts.
    pub handled_access_fs: u64,
    /// `SPROUT_LANDLOCK_ACCESS_NET_*` the ruleset restricts.
    pub handled_access_net: u64,
    /// `SPROUT_LANDLOCK_SCOPE_*`: what the process may not reach outside its domain.
    pub scoped: u64,
    pub paths: *const sprout_landlock_path_rule,
    pub paths_len: usize,
    pub ports: *const sprout_landlock_port_rule,
    pub ports_len: usize,
}

/// Since 1.1: a scheduling policy and its parameters, as `sched_setattr(2)` and the OCI
/// `scheduler` object take them. Set in the child with `sched_setattr(0, ..., 0)` after the
/// rlimits (so RLIMIT_NICE and RLIMIT_RTPRIO asked for count) and before the credentials
/// change; the process keeps it across execve.
///
/// `-EINVAL`, stage ARGS: an unknown policy or flag, a nice outside -20..19 or given with a
/// policy other than SCHED_OTHER or SCHED_BATCH, a priority outside 1..99 for SCHED_FIFO and
/// SCHED_RR or other than 0 for the others, deadline fields with another policy than
/// SCHED_DEADLINE, or for SCHED_DEADLINE `runtime` below 1024 ns or not `runtime <= deadline
/// <= period` (a period of 0 is the deadline). What the kernel refuses is stage SCHED: a
/// real-time or deadline policy, or a lower nice, without CAP_SYS_NICE in the initial user
/// namespace or the RLIMIT_RTPRIO / RLIMIT_NICE that allows it (`-EPERM`); SCHED_DEADLINE
/// beyond the bandwidth left (`-EBUSY`) or with a `cpu_set` narrower than the CPUs of its root
/// domain (`-EPERM`, the kernel's rule for deadline tasks).
#[repr(C)]
pub struct sprout_sched {
    /// SCHED_OTHER (0), SCHED_FIFO (1), SCHED_RR (2), SCHED_BATCH (3), SCHED_IDLE (5) or
    /// SCHED_DEADLINE (6).
    pub policy: u32,
    /// For SCHED_OTHER and SCHED_BATCH: -20 (most favourable) to 19.
    pub nice: i32,
    /// For SCHED_FIFO and SCHED_RR: 1 to 99.
    pub priority: u32,
    /// `SCHED_FLAG_*`: RESET_ON_FORK (0x01), RECLAIM (0x02), DL_OVERRUN (0x04).
    pub flags: u64,
    /// For SCHED_DEADLINE, in nanoseconds.
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
}

/// The terminal a process got: owns its own close-on-exec duplicate of the terminal fd, so
/// the caller may close its fds right after the spawn. Opaque: a handle is a token the library
/// looks up among its live handles, never memory to read. Free with `sprout_tty_release`.
pub struct sprout_tty {
    _private: [u8; 0],
}

/// What `sprout_exec_async` started.
#[repr(C)]
pub struct sprout_process {
    pub pid: i32,
    /// Non-NULL when one of fds[0..2] is a terminal that the process got (neither
    /// `SPROUT_EXEC_NO_TTY` nor `SPROUT_EXEC_NEW_SESSION`); free with `sprout_tty_release`.
    pub tty: *mut sprout_tty,
}

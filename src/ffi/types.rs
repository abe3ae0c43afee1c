//! The `#[repr(C)]` types and constants of the v1 C ABI: what cbindgen turns into
//! `include/sprout.h`. Names follow the C spelling of the contract, so the header reads as C.
//! Nothing here is interpreted: `ffi::args` reads these structs and builds a `Spec`.
#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_void};

/// The ABI generation this header describes; `sprout_abi_version()` returns the library's.
pub const SPROUT_ABI_VERSION: u32 = 1;

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
/// `sizeof(sprout_exec_args)` as the caller compiled it. A smaller size than v1's is `-EINVAL`;
/// a larger one is accepted when every byte this library does not know is zero, else `-E2BIG`;
/// above 4096 bytes (a page, as clone3) it is `-E2BIG` whatever the bytes. Nothing past `size`
/// bytes is ever read, and no array past its length.
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
    /// Always applied; `sprout_exec_args_init` sets 0022.
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
    /// capset, prctl, getppid, rt_sigprocmask, execve or execveat), which it must allow; a
    /// call it refuses fails the step that made it. A program the kernel rejects is
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

//! `sprout_exec_args` and the fd array → `Spec`: the size rule, the flags, and every pointer
//! the caller handed over, read once into owned values.

use std::ffi::{CStr, CString, c_char};

use nix::errno::Errno;

use super::types::*;
use super::{readable, slice};
use crate::error::{Error, Result};
use crate::namespaces::MAX_MAP_LINES;
use crate::spec::{
    Capabilities, Credentials, IdMap, IoPriority, Landlock, Namespace, ProcessGroup, Program,
    Rlimit, Root, Scheduler, Spec, Terminal, check_extra_gids_len, check_seccomp_filter_len,
};

/// The flags this library knows.
pub(crate) const KNOWN_FLAGS: u32 = SPROUT_EXEC_NO_NEW_PRIVS
    | SPROUT_EXEC_INHERIT_ENV
    | SPROUT_EXEC_NO_TTY
    | SPROUT_EXEC_NEW_SESSION;

/// The `SPROUT_EXEC2_*` bits of `flags2` this library knows.
pub(crate) const KNOWN_FLAGS2: u64 = SPROUT_EXEC2_SETPGROUP
    | SPROUT_EXEC2_KEEP_IGNORED_SIGNALS
    | SPROUT_EXEC2_KEEP_UMASK
    | SPROUT_EXEC2_OOM_SCORE_ADJ
    | SPROUT_EXEC2_PERSONALITY
    | SPROUT_EXEC2_ROOT_FD
    | SPROUT_EXEC2_PTRACE
    | SPROUT_EXEC2_NO_DEFAULT_PATH
    | SPROUT_EXEC2_PAUSED
    | SPROUT_EXEC2_LANDLOCK;

/// The largest `size` accepted, as for clone3: a page.
const MAX_ARGS_SIZE: usize = 4096;

const _: () = {
    assert!(SPROUT_EXEC_ARGS_SIZE_1_1 as usize == size_of::<sprout_exec_args>());
    assert!(std::mem::offset_of!(sprout_exec_args, flags2) == SPROUT_EXEC_ARGS_SIZE_1_0 as usize);
};

fn bad(errno: Errno, subject: impl Into<String>) -> Error {
    Error::args(errno, subject)
}

/// Reads the caller's arguments.
///
/// # Safety
/// Every non-NULL pointer must point to readable memory of its documented type: `args` to at
/// least `args->size` bytes, `fds` to `fds_len` ints, strings NUL-terminated, arrays with the
/// lengths given.
pub unsafe fn read(args: *const sprout_exec_args, fds: *const i32, fds_len: usize) -> Result<Spec> {
    // SAFETY: forwarded from the caller.
    let args = &unsafe { read_sized(args) }?;
    if args.flags & !KNOWN_FLAGS != 0 {
        return Err(bad(
            Errno::EINVAL,
            format!("flags: unknown bits {:#x}", args.flags & !KNOWN_FLAGS),
        ));
    }
    if args.flags2 & !KNOWN_FLAGS2 != 0 {
        return Err(bad(
            Errno::EINVAL,
            format!("flags2: unknown bits {:#x}", args.flags2 & !KNOWN_FLAGS2),
        ));
    }
    // SAFETY (for every call below): forwarded from the caller.
    let argv =
        unsafe { strings(args.argv, "argv") }?.ok_or_else(|| bad(Errno::EINVAL, "argv is NULL"))?;
    let mut spec = Spec::new(argv);

    spec.program = match (unsafe { string(args.filename) }?, args.exec_fd) {
        (Some(path), -1) if !path.is_empty() => Program::Path(path),
        (_, -1) => Program::Argv0,
        (None, fd) if fd >= 0 => Program::Fd(fd),
        (Some(_), fd) if fd >= 0 => {
            return Err(bad(
                Errno::EINVAL,
                format!("exec_fd {fd} is set, so filename must be NULL"),
            ));
        }
        (_, fd) => return Err(bad(Errno::EBADF, format!("exec_fd {fd}"))),
    };

    spec.env = match unsafe { strings(args.envv, "envv") }? {
        Some(env) => env,
        None if args.flags & SPROUT_EXEC_INHERIT_ENV != 0 => crate::spec::caller_environment(),
        None => Vec::new(),
    };
    if let Some(dir) = unsafe { string(args.working_directory) }? {
        spec.working_directory = dir;
    }
    spec.credentials = match optional(args.credentials, "credentials")? {
        None => None,
        Some(c) => {
            check_extra_gids_len(c.extra_gids_len)?;
            Some(Credentials {
                uid: c.uid,
                gid: c.gid,
                groups: array(c.extra_gids, c.extra_gids_len, "credentials.extra_gids")?.to_vec(),
            })
        }
    };
    spec.capabilities = optional(args.capabilities, "capabilities")?.map(|c| Capabilities {
        effective: c.effective,
        permitted: c.permitted,
        inheritable: c.inheritable,
        bounding: c.bounding,
        ambient: c.ambient,
    });
    spec.rlimits = array(args.limits, args.limits_len, "limits")?
        .iter()
        .map(|l| Rlimit {
            resource: l.resource,
            soft: l.soft,
            hard: l.hard,
        })
        .collect();
    spec.umask = args.umask;
    spec.no_new_privs = args.flags & SPROUT_EXEC_NO_NEW_PRIVS != 0;
    spec.namespaces = array(args.namespaces, args.namespaces_len, "namespaces")?
        .iter()
        .enumerate()
        .map(|(i, ns)| match ns.fd {
            -1 => Ok(Namespace {
                kind: ns.r#type,
                fd: None,
            }),
            fd if fd >= 0 => Ok(Namespace {
                kind: ns.r#type,
                fd: Some(fd),
            }),
            fd => Err(bad(Errno::EBADF, format!("namespaces[{i}].fd = {fd}"))),
        })
        .collect::<Result<_>>()?;
    spec.uid_map = id_maps(args.uid_map, args.uid_map_len, "uid_map")?;
    spec.gid_map = id_maps(args.gid_map, args.gid_map_len, "gid_map")?;
    spec.cgroup = match args.cgroup_fd {
        -1 => None,
        fd if fd >= 0 => Some(fd),
        fd => return Err(bad(Errno::EBADF, format!("cgroup_fd {fd}"))),
    };
    check_seccomp_filter_len(args.seccomp_filter_len)?;
    spec.seccomp_filter = array(
        args.seccomp_filter.cast::<libc::sock_filter>(),
        args.seccomp_filter_len,
        "seccomp_filter",
    )?
    .to_vec();
    spec.parent_death_signal = args.parent_death_signal;
    spec.container_id = match unsafe { string(args.container_id) }? {
        None => None,
        Some(id) => Some(
            id.into_string()
                .map_err(|_| bad(Errno::EINVAL, "container_id is not UTF-8"))?,
        ),
    };
    spec.fds = array(fds, fds_len, "fds")?
        .iter()
        .enumerate()
        .map(|(i, &fd)| match fd {
            -1 => Ok(None),
            fd if fd >= 0 => Ok(Some(fd)),
            fd => Err(bad(Errno::EBADF, format!("fds[{i}] = {fd}"))),
        })
        .collect::<Result<_>>()?;
    spec.terminal = if args.flags & SPROUT_EXEC_NEW_SESSION != 0 {
        Terminal::NewSession
    } else if args.flags & SPROUT_EXEC_NO_TTY != 0 {
        Terminal::Ignore
    } else {
        Terminal::Auto
    };
    // SAFETY: forwarded from the caller.
    unsafe { read_1_1(args, &mut spec) }?;
    Ok(spec)
}

/// The fields ABI 1.1 appended (all zero, so unset, in a 1.0 caller's struct).
///
/// # Safety
/// As for `read`.
unsafe fn read_1_1(args: &sprout_exec_args, spec: &mut Spec) -> Result<()> {
    let flag = |bit: u64| args.flags2 & bit != 0;
    let unflagged = |field: &str, value: i64, bit: &str| {
        Err(bad(
            Errno::EINVAL,
            format!("{field} is {value} without {bit}, which it needs"),
        ))
    };
    spec.process_group = match (flag(SPROUT_EXEC2_SETPGROUP), args.pgid) {
        (false, 0) => None,
        (false, pgid) => return unflagged("pgid", pgid.into(), "SPROUT_EXEC2_SETPGROUP"),
        (true, 0) => Some(ProcessGroup::New),
        (true, pgid) => Some(ProcessGroup::Join(pgid)),
    };
    spec.oom_score_adj = match (flag(SPROUT_EXEC2_OOM_SCORE_ADJ), args.oom_score_adj) {
        (true, adj) => Some(adj),
        (false, 0) => None,
        (false, adj) => {
            return unflagged("oom_score_adj", adj.into(), "SPROUT_EXEC2_OOM_SCORE_ADJ");
        }
    };
    spec.personality = match (flag(SPROUT_EXEC2_PERSONALITY), args.personality) {
        (true, persona) => Some(persona),
        (false, 0) => None,
        (false, persona) => {
            return unflagged("personality", persona.into(), "SPROUT_EXEC2_PERSONALITY");
        }
    };
    spec.signal_mask = args.sigmask;
    spec.keep_ignored_signals = flag(SPROUT_EXEC2_KEEP_IGNORED_SIGNALS);
    spec.default_signals = args.sigdefault;
    spec.keep_umask = flag(SPROUT_EXEC2_KEEP_UMASK);
    spec.ptrace = flag(SPROUT_EXEC2_PTRACE);
    spec.scheduler = optional(args.sched, "sched")?.map(|s| Scheduler {
        policy: s.policy,
        nice: s.nice,
        priority: s.priority,
        flags: s.flags,
        runtime: s.runtime,
        deadline: s.deadline,
        period: s.period,
    });
    spec.io_priority = match (args.ioprio_class, args.ioprio_level) {
        (0, 0) => None,
        (0, level) => {
            return Err(bad(
                Errno::EINVAL,
                format!("ioprio_level {level} without an ioprio_class"),
            ));
        }
        (class, level) => Some(IoPriority { class, level }),
    };
    spec.cpu_affinity = array(args.cpu_set, args.cpu_set_len, "cpu_set")?.to_vec();
    // SAFETY (the three strings): forwarded from the caller.
    let root_directory = unsafe { string(args.root_directory) }?;
    spec.root = match (flag(SPROUT_EXEC2_ROOT_FD), args.root_fd, root_directory) {
        (false, 0, path) => path.map(Root::Path),
        (false, fd, _) => return unflagged("root_fd", fd.into(), "SPROUT_EXEC2_ROOT_FD"),
        (true, fd, None) if fd >= 0 => Some(Root::Fd(fd)),
        (true, fd, None) => return Err(bad(Errno::EBADF, format!("root_fd {fd}"))),
        (true, _, Some(_)) => {
            return Err(bad(
                Errno::EINVAL,
                "root_directory and SPROUT_EXEC2_ROOT_FD: one root directory, not both",
            ));
        }
    };
    spec.hostname = unsafe { string(args.hostname) }?;
    spec.domainname = unsafe { string(args.domainname) }?;
    spec.no_default_path = flag(SPROUT_EXEC2_NO_DEFAULT_PATH);
    spec.paused = flag(SPROUT_EXEC2_PAUSED);
    spec.landlock = match (
        flag(SPROUT_EXEC2_LANDLOCK),
        args.landlock_ruleset_fd,
        args.landlock_restrict_flags,
    ) {
        (false, 0, 0) => None,
        (false, 0, flags) => {
            return unflagged(
                "landlock_restrict_flags",
                flags.into(),
                "SPROUT_EXEC2_LANDLOCK",
            );
        }
        (false, fd, _) => {
            return unflagged("landlock_ruleset_fd", fd.into(), "SPROUT_EXEC2_LANDLOCK");
        }
        (true, fd, _) if fd < 0 => {
            return Err(bad(Errno::EBADF, format!("landlock_ruleset_fd {fd}")));
        }
        (true, ruleset, restrict_flags) => Some(Landlock {
            ruleset,
            restrict_flags,
        }),
    };
    spec.seccomp_flags = args.seccomp_flags;
    spec.extra_cgroups = array(
        args.extra_cgroup_fds,
        args.extra_cgroup_fds_len,
        "extra_cgroup_fds",
    )?
    .iter()
    .enumerate()
    .map(|(i, &fd)| match fd {
        fd if fd >= 0 => Ok(fd),
        fd => Err(bad(Errno::EBADF, format!("extra_cgroup_fds[{i}] = {fd}"))),
    })
    .collect::<Result<_>>()?;
    // SAFETY: forwarded from the caller.
    spec.session_keyring = unsafe { string(args.session_keyring) }?;
    Ok(())
}

/// Applies the size rule of clone3 and openat2 and returns the caller's struct as this
/// library knows it: the fields past the caller's `size` (a caller compiled against an older
/// header) are zero, which leaves each unset.
///
/// # Safety
/// `args` is NULL or points to at least `args->size` readable bytes.
unsafe fn read_sized(args: *const sprout_exec_args) -> Result<sprout_exec_args> {
    if args.is_null() {
        return Err(bad(Errno::EINVAL, "args is NULL"));
    }
    if !args.is_aligned() {
        return Err(bad(Errno::EINVAL, "args is misaligned"));
    }
    // Only `size` may be read before it is checked, and only through raw pointers: the
    // caller's struct may be shorter than this library's.
    // SAFETY: `size` is the first field, inside any struct the caller could have passed.
    let size = unsafe { std::ptr::addr_of!((*args).size).read() } as usize;
    let known = size_of::<sprout_exec_args>();
    let oldest = SPROUT_EXEC_ARGS_SIZE_1_0;
    if size < oldest as usize {
        return Err(bad(
            Errno::EINVAL,
            format!(
                "args.size {size} is smaller than sprout_exec_args v1 (ABI 1.0: {oldest} \
                 bytes): use sprout_exec_args_init"
            ),
        ));
    }
    if size > known {
        if size > MAX_ARGS_SIZE {
            return Err(bad(
                Errno::E2BIG,
                format!("args.size {size} is larger than {MAX_ARGS_SIZE}"),
            ));
        }
        // SAFETY: the caller declares `size` readable bytes at `args`.
        let tail =
            unsafe { std::slice::from_raw_parts(args.cast::<u8>().add(known), size - known) };
        if let Some(offset) = tail.iter().position(|&b| b != 0) {
            return Err(bad(
                Errno::E2BIG,
                format!(
                    "args.size {size}: byte {} is set but unknown to this library",
                    known + offset
                ),
            ));
        }
    }
    // SAFETY: all-zero bytes are a valid sprout_exec_args (integers and NULL pointers); the
    // caller's first min(size, known) bytes are readable, and become the same fields here.
    unsafe {
        let mut copy: sprout_exec_args = std::mem::zeroed();
        std::ptr::copy_nonoverlapping(
            args.cast::<u8>(),
            (&raw mut copy).cast::<u8>(),
            size.min(known),
        );
        Ok(copy)
    }
}

/// A caller's optional struct: NULL is None, a misaligned pointer `-EINVAL` naming it.
fn optional<'a, T>(ptr: *const T, what: &str) -> Result<Option<&'a T>> {
    readable(ptr).map_err(|errno| bad(errno, format!("{what} is misaligned")))
}

/// A caller's array of `len` items (see `ffi::slice`); `-EINVAL` naming it and saying why.
fn array<'a, T>(ptr: *const T, len: usize, what: &str) -> Result<&'a [T]> {
    slice(ptr, len).map_err(|errno| {
        let why = if ptr.is_null() {
            format!("is NULL with {what}_len {len}")
        } else if !ptr.is_aligned() {
            format!("is misaligned (address {ptr:p})")
        } else {
            format!("of {len} items is larger than memory")
        };
        bad(errno, format!("{what} {why}"))
    })
}

/// A NULL-terminated array of C strings, or None for NULL.
///
/// # Safety
/// `array` is NULL or a NULL-terminated array of NUL-terminated strings.
unsafe fn strings(array: *const *const c_char, what: &str) -> Result<Option<Vec<CString>>> {
    if array.is_null() {
        return Ok(None);
    }
    if !array.is_aligned() {
        return Err(bad(Errno::EINVAL, format!("{what} is misaligned")));
    }
    let mut out = Vec::new();
    // SAFETY: the caller vouches the array ends with NULL and holds NUL-terminated strings.
    unsafe {
        let mut item = array;
        while !(*item).is_null() {
            out.push(CStr::from_ptr(*item).to_owned());
            item = item.add(1);
        }
    }
    Ok(Some(out))
}

/// A C string, or None for NULL.
///
/// # Safety
/// `ptr` is NULL or NUL-terminated.
unsafe fn string(ptr: *const c_char) -> Result<Option<CString>> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller vouches for a NUL-terminated string.
    Ok(Some(unsafe { CStr::from_ptr(ptr) }.to_owned()))
}

fn id_maps(ptr: *const sprout_id_map, len: usize, what: &str) -> Result<Vec<IdMap>> {
    if len > MAX_MAP_LINES {
        return Err(bad(
            Errno::EINVAL,
            format!("{what}_len {len} is above the {MAX_MAP_LINES} lines the kernel takes"),
        ));
    }
    Ok(array(ptr, len, what)?
        .iter()
        .map(|m| IdMap {
            inside: m.inside,
            outside: m.outside,
            count: m.count,
        })
        .collect())
}

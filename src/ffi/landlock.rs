//! The Landlock functions of the C ABI: the running kernel's Landlock ABI version, and a
//! ruleset built in one call (`sprout_landlock_ruleset` → `landlock::Ruleset`).

use std::ffi::CStr;
use std::os::fd::IntoRawFd;

use nix::errno::Errno;

use super::types::*;
use super::{slice, with_error, writable};
use crate::error::{Error, Result};
use crate::landlock::{self, Access, Beneath, PathRule, PortRule, Ruleset};

// The C names are the kernel's, with the same values as the library's own.
const _: () = {
    assert!(SPROUT_LANDLOCK_ACCESS_FS_EXECUTE == landlock::ACCESS_FS_EXECUTE);
    assert!(SPROUT_LANDLOCK_ACCESS_FS_WRITE_FILE == landlock::ACCESS_FS_WRITE_FILE);
    assert!(SPROUT_LANDLOCK_ACCESS_FS_READ_FILE == landlock::ACCESS_FS_READ_FILE);
    assert!(SPROUT_LANDLOCK_ACCESS_FS_READ_DIR == landlock::ACCESS_FS_READ_DIR);
    assert!(SPROUT_LANDLOCK_ACCESS_FS_REMOVE_DIR == landlock::ACCESS_FS_REMOVE_DIR);
    assert!(SPROUT_LANDLOCK_ACCESS_FS_REMOVE_FILE == landlock::ACCESS_FS_REMOVE_FILE);
    assert!(SPROUT_LANDLOCK_ACCESS_FS_MAKE_CHAR == landlock::ACCESS_FS_MAKE_CHAR);
    assert!(SPROUT_LANDLOCK_ACCESS_FS_MAKE_DIR == landlock::ACCESS_FS_MAKE_DIR);
    assert!(SPROUT_LANDLOCK_ACCESS_FS_MAKE_REG == landlock::ACCESS_FS_MAKE_REG);
    assert!(SPROUT_LANDLOCK_ACCESS_FS_MAKE_SOCK == landlock::ACCESS_FS_MAKE_SOCK);
    assert!(SPROUT_LANDLOCK_ACCESS_FS_MAKE_FIFO == landlock::ACCESS_FS_MAKE_FIFO);
    assert!(SPROUT_LANDLOCK_ACCESS_FS_MAKE_BLOCK == landlock::ACCESS_FS_MAKE_BLOCK);
    assert!(SPROUT_LANDLOCK_ACCESS_FS_MAKE_SYM == landlock::ACCESS_FS_MAKE_SYM);
    assert!(SPROUT_LANDLOCK_ACCESS_FS_REFER == landlock::ACCESS_FS_REFER);
    assert!(SPROUT_LANDLOCK_ACCESS_FS_TRUNCATE == landlock::ACCESS_FS_TRUNCATE);
    assert!(SPROUT_LANDLOCK_ACCESS_FS_IOCTL_DEV == landlock::ACCESS_FS_IOCTL_DEV);
    assert!(SPROUT_LANDLOCK_ACCESS_NET_BIND_TCP == landlock::ACCESS_NET_BIND_TCP);
    assert!(SPROUT_LANDLOCK_ACCESS_NET_CONNECT_TCP == landlock::ACCESS_NET_CONNECT_TCP);
    assert!(SPROUT_LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET == landlock::SCOPE_ABSTRACT_UNIX_SOCKET);
    assert!(SPROUT_LANDLOCK_SCOPE_SIGNAL == landlock::SCOPE_SIGNAL);
    assert!(
        SPROUT_LANDLOCK_RESTRICT_SELF_LOG_SAME_EXEC_OFF
            == landlock::RESTRICT_SELF_LOG_SAME_EXEC_OFF
    );
    assert!(
        SPROUT_LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON == landlock::RESTRICT_SELF_LOG_NEW_EXEC_ON
    );
    assert!(
        SPROUT_LANDLOCK_RESTRICT_SELF_LOG_SUBDOMAINS_OFF
            == landlock::RESTRICT_SELF_LOG_SUBDOMAINS_OFF
    );
};

/// Since 1.1: the Landlock ABI version of the running kernel (1 for Linux 5.13, 4 for 6.7,
/// 6 for 6.12, 7 for 6.15): which `SPROUT_LANDLOCK_*` rights it can enforce (each says the
/// version that brought it). `-EOPNOTSUPP` when Landlock is built into the kernel but not
/// enabled (missing from its `lsm=` list), `-ENOSYS` when the kernel has no Landlock.
#[unsafe(no_mangle)]
pub extern "C" fn sprout_landlock_abi_version() -> i32 {
    match landlock::abi_version() {
        Ok(version) => version.min(i32::MAX as u32) as i32,
        Err(errno) => -(errno as i32),
    }
}

/// Since 1.1: builds a Landlock ruleset in one call and returns its fd (new, close-on-exec,
/// the caller's to close once no spawn needs it), for `sprout_exec_args.landlock_ruleset_fd`
/// with `SPROUT_EXEC2_LANDLOCK`. One fd serves any number of spawns.
///
/// The ruleset handles `handled_access_fs`, `handled_access_net` and `scoped`, and allows
/// each path rule's rights beneath its directory (or on its file) and each port rule's on its
/// TCP port. Two modes, as the Landlock documentation describes:
/// - strict (`flags` 0): every right asked must be one the running kernel's Landlock ABI
///   enforces, else `-EOPNOTSUPP`, stage LANDLOCK, naming the first missing right and the ABI
///   that brought it (`handled_access_net: LANDLOCK_ACCESS_NET_BIND_TCP needs Landlock ABI 4
///   (Linux 6.7); this kernel has ABI 3`);
/// - best effort (`SPROUT_LANDLOCK_BEST_EFFORT`): what the kernel cannot enforce is left out
///   of the handled rights and of every rule (a rule left with no right is left out, as is
///   every port rule without network rights), and `*dropped` says what was left out. The
///   process is then restricted as far as this kernel can.
///
/// `dropped` may be NULL; it is written on success (all zero in strict mode). A kernel without
/// Landlock, or with Landlock disabled, is `-ENOSYS` or `-EOPNOTSUPP`, stage LANDLOCK, in both
/// modes: there is no ruleset to make, and running the process without one is the caller's
/// call. Refused with `-EINVAL`, stage ARGS: an unknown bit (flags, rights), a rule with no
/// right or a right not handled, a port above 65535, a `size` below 1.1's; a path rule with
/// neither path nor fd is `-EBADF`. A path that cannot be opened (`paths[1] /opt/x: No such
/// file or directory`) or a rule the kernel refuses is stage LANDLOCK, naming the rule.
///
/// # Safety
/// `ruleset` points to at least `ruleset->size` readable bytes; its arrays hold their
/// lengths' items; each `path` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sprout_landlock_create_ruleset(
    ruleset: *const sprout_landlock_ruleset,
    dropped: *mut sprout_landlock_access,
    err: *mut sprout_error,
) -> i32 {
    with_error(err, || {
        let dropped = writable(dropped).map_err(|e| Error::args(e, "dropped is misaligned"))?;
        // SAFETY: forwarded from the caller.
        let ruleset = unsafe { read_ruleset(ruleset) }?;
        let (fd, left_out) = ruleset.create()?;
        if let Some(out) = dropped {
            out.fs = left_out.fs;
            out.net = left_out.net;
            out.scoped = left_out.scoped;
        }
        Ok(fd.into_raw_fd())
    })
}

/// The caller's ruleset as a `Ruleset`, with the size rule of `sprout_exec_args`.
///
/// # Safety
/// As for `sprout_landlock_create_ruleset`.
unsafe fn read_ruleset(ruleset: *const sprout_landlock_ruleset) -> Result<Ruleset> {
    let bad = |errno, what: String| Error::args(errno, what);
    if ruleset.is_null() {
        return Err(bad(Errno::EINVAL, "ruleset is NULL".into()));
    }
    if !ruleset.is_aligned() {
        return Err(bad(Errno::EINVAL, "ruleset is misaligned".into()));
    }
    // Only `size` is read before it is checked, through a raw pointer.
    // SAFETY: `size` is the first field, inside any struct a caller could have passed.
    let size = unsafe { std::ptr::addr_of!((*ruleset).size).read() } as usize;
    let known = size_of::<sprout_landlock_ruleset>();
    if size < known {
        return Err(bad(
            Errno::EINVAL,
            format!("ruleset.size {size} is smaller than sprout_landlock_ruleset ({known} bytes)"),
        ));
    }
    if size > 4096 {
        return Err(bad(
            Errno::E2BIG,
            format!("ruleset.size {size} is larger than 4096"),
        ));
    }
    // SAFETY: the caller declares `size` readable bytes at `ruleset`.
    let tail = unsafe { std::slice::from_raw_parts(ruleset.cast::<u8>().add(known), size - known) };
    if let Some(offset) = tail.iter().position(|&b| b != 0) {
        return Err(bad(
            Errno::E2BIG,
            format!(
                "ruleset.size {size}: byte {} is set but unknown to this library",
                known + offset
            ),
        ));
    }
    // SAFETY: non-NULL, aligned, and at least this library's size of readable bytes.
    let head = unsafe { &*ruleset };
    if head.flags & !SPROUT_LANDLOCK_BEST_EFFORT != 0 {
        return Err(bad(
            Errno::EINVAL,
            format!(
                "ruleset.flags: unknown bits {:#x}",
                head.flags & !SPROUT_LANDLOCK_BEST_EFFORT
            ),
        ));
    }
    let array_error =
        |what: &'static str| move |e| bad(e, format!("ruleset.{what} is NULL or misaligned"));
    let paths = slice(head.paths, head.paths_len)
        .map_err(array_error("paths"))?
        .iter()
        .map(|rule| PathRule {
            beneath: if rule.path.is_null() {
                Beneath::Fd(rule.fd)
            } else {
                // SAFETY: the caller vouches for a NUL-terminated path.
                Beneath::Path(unsafe { CStr::from_ptr(rule.path) }.to_owned())
            },
            access: rule.access,
        })
        .collect();
    let ports = slice(head.ports, head.ports_len)
        .map_err(array_error("ports"))?
        .iter()
        .map(|rule| PortRule {
            port: rule.port,
            access: rule.access,
        })
        .collect();
    Ok(Ruleset {
        handled: Access {
            fs: head.handled_access_fs,
            net: head.handled_access_net,
            scoped: head.scoped,
        },
        paths,
        ports,
        best_effort: head.flags & SPROUT_LANDLOCK_BEST_EFFORT != 0,
    })
}

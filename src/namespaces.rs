//! What a namespace or cgroup request means, and the checks on it that need no process: the
//! namespace kinds and their names, which fd is which namespace, the id map rules.
//!
//! How the requests are carried out is in `spawn::namespaces` (the parent's part) and
//! `spawn::child` (the child's part).

use std::os::fd::RawFd;

use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::spec::{IdMap, Namespace, Spec};

/// The kinds of namespace Linux has: the `CLONE_NEW*` value and the name /proc/PID/ns uses.
const KINDS: [(i32, &str); 8] = [
    (libc::CLONE_NEWNS, "mnt"),
    (libc::CLONE_NEWUTS, "uts"),
    (libc::CLONE_NEWIPC, "ipc"),
    (libc::CLONE_NEWNET, "net"),
    (libc::CLONE_NEWPID, "pid"),
    (libc::CLONE_NEWUSER, "user"),
    (libc::CLONE_NEWCGROUP, "cgroup"),
    (libc::CLONE_NEWTIME, "time"),
];

/// The /proc/PID/ns name of a `CLONE_NEW*` value, or None for anything else.
pub fn name(kind: i32) -> Option<&'static str> {
    KINDS.iter().find(|(k, _)| *k == kind).map(|(_, n)| *n)
}

/// The names of every kind in `flags`, comma-separated ("user, pid").
pub fn names(flags: u64) -> String {
    KINDS
        .iter()
        .filter(|(k, _)| flags & *k as u32 as u64 != 0)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The most lines a uid_map or gid_map may have (the kernel's UID_GID_MAP_MAX_EXTENTS).
pub(crate) const MAX_MAP_LINES: usize = 340;

/// Refuses, before any process exists, a namespace, id map or cgroup request that cannot work:
/// an unknown or repeated kind, an fd that is not a namespace of the kind it is given as, id
/// maps without a new user namespace, a `cgroup_fd` that is not a cgroup2 directory.
pub fn validate(spec: &Spec) -> Result<()> {
    for (index, ns) in spec.namespaces.iter().enumerate() {
        let Some(kind_name) = name(ns.kind) else {
            return Err(Error::args(
                Errno::EINVAL,
                format!(
                    "namespaces[{index}].type = {:#x} is not one CLONE_NEW* value",
                    ns.kind
                ),
            ));
        };
        if let Some(first) = spec.namespaces[..index]
            .iter()
            .position(|other| other.kind == ns.kind)
        {
            return Err(Error::args(
                Errno::EINVAL,
                format!(
                    "namespaces[{index}]: a second {kind_name} namespace (namespaces[{first}] is one)"
                ),
            ));
        }
        if let Some(fd) = ns.fd {
            check_namespace_fd(index, fd, ns.kind, kind_name)?;
        }
    }
    let new_user = spec
        .namespaces
        .iter()
        .any(|ns| ns.kind == libc::CLONE_NEWUSER && ns.fd.is_none());
    for (map, what) in [(&spec.uid_map, "uid_map"), (&spec.gid_map, "gid_map")] {
        if !map.is_empty() && !new_user {
            return Err(Error::args(
                Errno::EINVAL,
                format!("{what} is given without a new user namespace to apply it to"),
            ));
        }
    }
    // A joined time namespace needs a child with its own memory (the kernel lets only a
    // process that shares its memory with no other join one), and id maps need a child that
    // shares the caller's memory so that it can wait without CLONE_VFORK: not both at once.
    let joins_time = joins(spec, libc::CLONE_NEWTIME);
    if joins_time && (!spec.uid_map.is_empty() || !spec.gid_map.is_empty()) {
        return Err(Error::args(
            Errno::EINVAL,
            "joining a time namespace and writing id maps for a new user namespace in one \
             spawn is not supported",
        ));
    }
    if let Some(fd) = spec.cgroup {
        check_cgroup_fd(fd)?;
    }
    for (index, &fd) in spec.extra_cgroups.iter().enumerate() {
        check_any_cgroup_fd(index, fd)?;
    }
    Ok(())
}

/// An extra cgroup is a directory of any cgroup hierarchy, v1 or v2.
fn check_any_cgroup_fd(index: usize, fd: RawFd) -> Result<()> {
    // SAFETY: fstatfs and fstat fill zeroed structs on this stack.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let cgroup = unsafe { libc::fstatfs(fd, &mut fs) } == 0
        && (fs.f_type == libc::CGROUP_SUPER_MAGIC || fs.f_type == libc::CGROUP2_SUPER_MAGIC)
        && unsafe { libc::fstat(fd, &mut st) } == 0
        && st.st_mode & libc::S_IFMT == libc::S_IFDIR;
    if !cgroup {
        return Err(Error::args(
            Errno::EINVAL,
            format!("extra_cgroup_fds[{index}] = {fd} is not a cgroup directory (v1 or v2)"),
        ));
    }
    Ok(())
}

/// Whether `spec` joins a namespace of `kind` from an fd.
pub fn joins(spec: &Spec, kind: i32) -> bool {
    spec.namespaces
        .iter()
        .any(|ns: &Namespace| ns.kind == kind && ns.fd.is_some())
}

fn check_namespace_fd(index: usize, fd: RawFd, kind: i32, kind_name: &str) -> Result<()> {
    // SAFETY: F_GETFD only reads the fd table.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(Error::args(
            Errno::EBADF,
            format!("namespaces[{index}].fd = {fd}"),
        ));
    }
    // SAFETY: NS_GET_NSTYPE takes no argument and only reads which namespace the fd is.
    let actual = unsafe { libc::ioctl(fd, libc::NS_GET_NSTYPE) };
    if actual < 0 {
        return Err(Error::args(
            Errno::EINVAL,
            format!("namespaces[{index}].fd = {fd} is not a namespace file ({kind_name} wanted)"),
        ));
    }
    if actual != kind {
        return Err(Error::args(
            Errno::EINVAL,
            format!(
                "namespaces[{index}].fd = {fd} is a {} namespace, not {kind_name}",
                name(actual).unwrap_or("unknown")
            ),
        ));
    }
    Ok(())
}

fn check_cgroup_fd(fd: RawFd) -> Result<()> {
    // SAFETY: fstatfs fills a zeroed statfs on this stack.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatfs(fd, &mut fs) } < 0 {
        return Err(Error::args(Errno::last(), format!("cgroup_fd {fd}")));
    }
    // SAFETY: as above, fstat fills a zeroed stat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let is_dir =
        unsafe { libc::fstat(fd, &mut st) } == 0 && st.st_mode & libc::S_IFMT == libc::S_IFDIR;
    if fs.f_type != libc::CGROUP2_SUPER_MAGIC || !is_dir {
        return Err(Error::args(
            Errno::EINVAL,
            format!("cgroup_fd {fd} is not a cgroup2 directory"),
        ));
    }
    Ok(())
}

/// The text the kernel takes for a map: one "inside outside count" line per entry.
pub fn map_text(map: &[IdMap]) -> String {
    map.iter()
        .map(|m| format!("{} {} {}\n", m.inside, m.outside, m.count))
        .collect()
}

/// Who writes a map, as far as the kernel's rules for it go.
pub struct MapWriter {
    /// Its effective uid (for a uid map) or gid (for a gid map).
    pub id: u32,
    /// Whether it has CAP_SETUID (uid map) or CAP_SETGID (gid map).
    pub privileged: bool,
    /// Whether it has CAP_SETFCAP, without which it may not map root (Linux 5.12).
    pub may_map_root: bool,
}

/// Which part of a map the kernel refused with `errno`, as precisely as the kernel's rules
/// tell (it only says EINVAL or EPERM): the first line that breaks a rule, else the whole map.
/// `own` is the writer's own map (/proc/self/uid_map or gid_map): the outside ids of a line
/// must be ids the writer has.
pub fn map_culprit(
    what: &str,
    map: &[IdMap],
    errno: Errno,
    own: &[IdMap],
    writer: &MapWriter,
) -> String {
    let line =
        |i: usize, m: &IdMap| format!("{what}[{i}] = {} {} {}", m.inside, m.outside, m.count);
    let end = |first: u32, count: u32| u64::from(first) + u64::from(count);
    let id = if what == "uid_map" { "uid" } else { "gid" };
    let culprit = match errno {
        Errno::EINVAL => map
            .iter()
            .enumerate()
            .find(|(i, m)| {
                m.count == 0
                    || m.inside == u32::MAX
                    || m.outside == u32::MAX
                    || end(m.inside, m.count) >= 1 << 32
                    || end(m.outside, m.count) >= 1 << 32
                    || map[..*i].iter().any(|o| {
                        overlap(o.inside, o.count, m.inside, m.count)
                            || overlap(o.outside, o.count, m.outside, m.count)
                    })
            })
            .map(|(i, m)| line(i, m)),
        Errno::EPERM => {
            let unowned = map
                .iter()
                .enumerate()
                .find(|(_, m)| !covered(m.outside, m.count, own))
                .map(|(i, m)| format!("{}: outside ids the caller does not have", line(i, m)));
            let unprivileged = || {
                map.iter()
                    .enumerate()
                    .find(|(i, m)| *i > 0 || m.count != 1 || m.outside != writer.id)
                    .map(|(i, m)| {
                        format!(
                            "{}: without CAP_SET{} a caller maps only its own {id}, in one line",
                            line(i, m),
                            id.to_uppercase()
                        )
                    })
            };
            let root = || {
                map.iter()
                    .enumerate()
                    .find(|(_, m)| what == "uid_map" && m.outside == 0)
                    .map(|(i, m)| format!("{}: mapping root needs CAP_SETFCAP", line(i, m)))
            };
            unowned
                .or_else(|| (!writer.privileged).then(unprivileged).flatten())
                .or_else(|| (!writer.may_map_root).then(root).flatten())
        }
        _ => None,
    };
    culprit.unwrap_or_else(|| {
        let lines = map.len();
        let plural = if lines == 1 { "" } else { "s" };
        if lines > MAX_MAP_LINES {
            format!("{what} ({lines} lines; the kernel takes at most {MAX_MAP_LINES})")
        } else {
            format!("{what} ({lines} line{plural})")
        }
    })
}

fn overlap(a: u32, a_count: u32, b: u32, b_count: u32) -> bool {
    let (a, b) = (u64::from(a), u64::from(b));
    a < b + u64::from(b_count) && b < a + u64::from(a_count)
}

/// Whether every id in [first, first + count) is inside one of `own`'s lines.
fn covered(first: u32, count: u32, own: &[IdMap]) -> bool {
    let mut next = u64::from(first);
    let end = next + u64::from(count);
    while next < end {
        match own.iter().find(|o| {
            let start = u64::from(o.inside);
            start <= next && next < start + u64::from(o.count)
        }) {
            Some(o) => next = u64::from(o.inside) + u64::from(o.count),
            None => return false,
        }
    }
    true
}

/// Parses /proc/PID/uid_map or gid_map text ("inside outside count" lines).
pub fn parse_map(text: &str) -> Vec<IdMap> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace().map(|f| f.parse::<u32>().ok());
            Some(IdMap {
                inside: fields.next()??,
                outside: fields.next()??,
                count: fields.next()??,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(inside: u32, outside: u32, count: u32) -> IdMap {
        IdMap {
            inside,
            outside,
            count,
        }
    }

    const HOST: [IdMap; 1] = [IdMap {
        inside: 0,
        outside: 0,
        count: u32::MAX,
    }];
    const ROOT: MapWriter = MapWriter {
        id: 0,
        privileged: true,
        may_map_root: true,
    };
    const USER: MapWriter = MapWriter {
        id: 1000,
        privileged: false,
        may_map_root: false,
    };

    #[test]
    fn names_follow_proc_ns() {
        assert_eq!(name(libc::CLONE_NEWNS), Some("mnt"));
        assert_eq!(name(libc::CLONE_NEWTIME), Some("time"));
        assert_eq!(name(0x1234), None);
        let flags = (libc::CLONE_NEWUSER | libc::CLONE_NEWPID) as u64;
        assert_eq!(names(flags), "pid, user");
    }

    #[test]
    fn map_text_is_one_line_per_entry() {
        assert_eq!(
            map_text(&[m(0, 100000, 65536), m(65536, 1, 1)]),
            "0 100000 65536\n65536 1 1\n"
        );
    }

    #[test]
    fn an_invalid_map_names_its_first_bad_line() {
        let culprit = |map: &[IdMap]| map_culprit("uid_map", map, Errno::EINVAL, &HOST, &ROOT);
        assert_eq!(
            culprit(&[m(0, 1000, 10), m(5, 2000, 1), m(20, 3000, 0)]),
            "uid_map[1] = 5 2000 1"
        );
        assert_eq!(
            culprit(&[m(0, 1000, 1), m(1, 1000, 1)]),
            "uid_map[1] = 1 1000 1"
        );
        assert_eq!(
            culprit(&[m(0, 1, 1), m(1, u32::MAX, 1)]),
            "uid_map[1] = 1 4294967295 1"
        );
        assert_eq!(
            culprit(&[m(0, u32::MAX - 1, 2)]),
            "uid_map[0] = 0 4294967294 2"
        );
        assert_eq!(culprit(&[m(0, 1, 1), m(1, 2, 1)]), "uid_map (2 lines)");
    }

    #[test]
    fn a_refused_map_names_the_line_with_ids_the_caller_lacks() {
        // The caller's own ids are the first column of its own map.
        let own = [m(0, 1000, 1), m(1, 100000, 65536)];
        let map = [m(0, 0, 1), m(1, 1, 65537)];
        assert_eq!(
            map_culprit("uid_map", &map, Errno::EPERM, &own, &ROOT),
            "uid_map[1] = 1 1 65537: outside ids the caller does not have"
        );
        // Every id is the caller's: the kernel refused for another reason.
        assert_eq!(
            map_culprit("uid_map", &[m(0, 0, 1)], Errno::EPERM, &own, &ROOT),
            "uid_map (1 line)"
        );
    }

    #[test]
    fn a_refused_map_of_an_unprivileged_caller_names_the_line_beyond_its_own_id() {
        let culprit = |what, map: &[IdMap]| map_culprit(what, map, Errno::EPERM, &HOST, &USER);
        assert_eq!(
            culprit("uid_map", &[m(0, 1000, 1), m(1, 1001, 1)]),
            "uid_map[1] = 1 1001 1: without CAP_SETUID a caller maps only its own uid, in one line"
        );
        assert_eq!(
            culprit("gid_map", &[m(0, 1000, 2)]),
            "gid_map[0] = 0 1000 2: without CAP_SETGID a caller maps only its own gid, in one line"
        );
        let privileged = MapWriter {
            privileged: true,
            ..USER
        };
        assert_eq!(
            map_culprit("uid_map", &[m(0, 0, 1)], Errno::EPERM, &HOST, &privileged),
            "uid_map[0] = 0 0 1: mapping root needs CAP_SETFCAP"
        );
    }

    #[test]
    fn coverage_spans_adjacent_lines() {
        let own = [m(0, 0, 10), m(10, 50, 10)];
        assert!(covered(5, 15, &own));
        assert!(!covered(5, 16, &own));
    }

    #[test]
    fn proc_maps_parse() {
        let text = "         0     100000      65536\n     65536          1          1\n";
        assert_eq!(parse_map(text), [m(0, 100000, 65536), m(65536, 1, 1)]);
    }
}

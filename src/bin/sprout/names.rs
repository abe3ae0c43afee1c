//! The names people type for what the library takes as numbers: capabilities, capability
//! sets, resource limits, signals, namespace kinds, users and groups (from the new process's
//! own /etc/passwd and /etc/group), id-map lines. Each parser says what it refused.

use std::path::Path;

use sprout::names::{capability_number, resource_number};

use crate::status::{Outcome, refuse};

/// The five capability sets, in the order of the flags' help.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapSet {
    Bounding,
    Effective,
    Permitted,
    Inheritable,
    Ambient,
}

pub const ALL_SETS: [CapSet; 5] = [
    CapSet::Bounding,
    CapSet::Effective,
    CapSet::Permitted,
    CapSet::Inheritable,
    CapSet::Ambient,
];

/// `bounding,ambient`, `b,a` or `all`.
pub fn cap_sets(text: &str) -> Outcome<Vec<CapSet>> {
    let mut sets = Vec::new();
    for word in text.split(',').map(str::trim) {
        let found: &[CapSet] = match word.to_ascii_lowercase().as_str() {
            "all" => &ALL_SETS,
            "bounding" | "b" | "bnd" => &[CapSet::Bounding],
            "effective" | "e" | "eff" => &[CapSet::Effective],
            "permitted" | "p" | "prm" => &[CapSet::Permitted],
            "inheritable" | "i" | "inh" => &[CapSet::Inheritable],
            "ambient" | "a" | "amb" => &[CapSet::Ambient],
            _ => {
                return refuse(format!(
                    "unknown capability set {word:?} (bounding, effective, permitted, \
                     inheritable, ambient or all)"
                ));
            }
        };
        sets.extend_from_slice(found);
    }
    Ok(sets)
}

/// `net_admin,CAP_CHOWN,12` or `all` (every capability of the running kernel) or "" (none).
pub fn capabilities(text: &str, last_cap: u32) -> Outcome<u64> {
    let mut bits = 0u64;
    for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        if word.eq_ignore_ascii_case("all") {
            bits |= u64::MAX >> (63 - last_cap.min(63));
            continue;
        }
        let bit = match word.parse::<u32>() {
            Ok(bit) => Some(bit),
            Err(_) => capability_number(word),
        };
        match bit {
            Some(bit) if bit <= last_cap => bits |= 1 << bit,
            Some(bit) => {
                return refuse(format!(
                    "capability {word:?} ({bit}) is above cap_last_cap {last_cap} of this kernel"
                ));
            }
            None => return refuse(format!("unknown capability {word:?}")),
        }
    }
    Ok(bits)
}

/// `nofile=1024:2048`, `nofile=1024` (soft and hard), `core=0:unlimited`.
pub fn rlimit(text: &str) -> Outcome<sprout::Rlimit> {
    let Some((name, values)) = text.split_once('=') else {
        return refuse(format!(
            "--rlimit {text}: want RESOURCE=SOFT[:HARD], e.g. nofile=1024:2048"
        ));
    };
    let Some(resource) = resource_number(name) else {
        return refuse(format!("--rlimit {text}: unknown resource {name:?}"));
    };
    let (soft, hard) = values.split_once(':').unwrap_or((values, values));
    let value = |v: &str| match v {
        "unlimited" | "infinity" | "inf" => Ok(libc::RLIM_INFINITY),
        v => v.parse::<u64>().or_else(|_| {
            refuse(format!(
                "--rlimit {text}: {v:?} is not a number or unlimited"
            ))
        }),
    };
    Ok(sprout::Rlimit {
        resource,
        soft: value(soft)?,
        hard: value(hard)?,
    })
}

/// A signal by name (`TERM`, `SIGTERM`, `sigterm`, `RTMIN+2`) or number.
pub fn signal(text: &str) -> Outcome<i32> {
    if let Ok(number) = text.parse::<i32>() {
        if (1..=64).contains(&number) {
            return Ok(number);
        }
        return refuse(format!("signal {text} is not between 1 and 64"));
    }
    let upper = text.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(offset) = name.strip_prefix("RTMIN") {
        let offset = if offset.is_empty() {
            Some(0)
        } else {
            offset.strip_prefix('+').and_then(|n| n.parse::<i32>().ok())
        };
        if let Some(number) = offset.map(|n| libc::SIGRTMIN() + n) {
            if number <= libc::SIGRTMAX() {
                return Ok(number);
            }
        }
    }
    if let Some(offset) = name.strip_prefix("RTMAX") {
        let offset = if offset.is_empty() {
            Some(0)
        } else {
            offset.strip_prefix('-').and_then(|n| n.parse::<i32>().ok())
        };
        if let Some(number) = offset.map(|n| libc::SIGRTMAX() - n) {
            if number >= libc::SIGRTMIN() {
                return Ok(number);
            }
        }
    }
    match format!("SIG{name}").parse::<nix::sys::signal::Signal>() {
        Ok(signal) => Ok(signal as i32),
        Err(_) => refuse(format!("unknown signal {text:?}")),
    }
}

/// The namespace kinds: the name in /proc/PID/ns and unshare(1), and the `CLONE_NEW*` value.
pub const NAMESPACES: [(&str, i32); 8] = [
    ("user", libc::CLONE_NEWUSER),
    ("mnt", libc::CLONE_NEWNS),
    ("pid", libc::CLONE_NEWPID),
    ("net", libc::CLONE_NEWNET),
    ("ipc", libc::CLONE_NEWIPC),
    ("uts", libc::CLONE_NEWUTS),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("time", libc::CLONE_NEWTIME),
];

/// `mnt`, `mount`, `network`, ... : the `CLONE_NEW*` value.
pub fn namespace(text: &str) -> Outcome<i32> {
    let name = match text.to_ascii_lowercase().as_str() {
        "mount" | "mnt" => "mnt",
        "network" | "net" => "net",
        other => return lookup_namespace(other, text),
    };
    lookup_namespace(name, text)
}

fn lookup_namespace(name: &str, text: &str) -> Outcome<i32> {
    match NAMESPACES.iter().find(|(n, _)| *n == name) {
        Some((_, kind)) => Ok(*kind),
        None => refuse(format!(
            "unknown namespace {text:?} (user, mnt, pid, net, ipc, uts, cgroup, time)"
        )),
    }
}

/// A comma list of namespace kinds; `all` is all eight.
pub fn namespaces(text: &str) -> Outcome<Vec<i32>> {
    if text.eq_ignore_ascii_case("all") {
        return Ok(NAMESPACES.iter().map(|(_, kind)| *kind).collect());
    }
    text.split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(namespace)
        .collect()
}

/// `INSIDE:OUTSIDE:COUNT` (also with spaces, as /proc/PID/uid_map shows it).
pub fn id_map(flag: &str, text: &str) -> Outcome<sprout::IdMap> {
    let fields: Vec<&str> = text
        .split(|c: char| c == ':' || c.is_whitespace())
        .filter(|f| !f.is_empty())
        .collect();
    let numbers: Option<Vec<u32>> = fields.iter().map(|f| f.parse().ok()).collect();
    match numbers.as_deref() {
        Some(&[inside, outside, count]) => Ok(sprout::IdMap {
            inside,
            outside,
            count,
        }),
        _ => refuse(format!(
            "{flag} {text}: want INSIDE:OUTSIDE:COUNT, e.g. 0:100000:65536"
        )),
    }
}

/// Umask in octal: `022`, `0o077`.
pub fn umask(text: &str) -> Outcome<u32> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    match u32::from_str_radix(digits, 8) {
        Ok(mask) if mask <= 0o777 => Ok(mask),
        _ => refuse(format!("--umask {text}: want an octal mask up to 0777")),
    }
}

/// A user of the new process's /etc/passwd: its uid and primary gid.
pub struct User {
    pub uid: u32,
    pub gid: Option<u32>,
}

/// `--uid` as a number or a name of `ROOT/etc/passwd` (ROOT is the new process's root: `/`,
/// or the container's for `sprout exec`). A number needs no entry.
pub fn user(text: &str, root: &Path) -> Outcome<User> {
    let passwd = root.join("etc/passwd");
    let entries = std::fs::read_to_string(&passwd).unwrap_or_default();
    let numeric = text.parse::<u32>().ok();
    for line in entries.lines() {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() < 4 {
            continue;
        }
        let (Ok(uid), Ok(gid)) = (fields[2].parse::<u32>(), fields[3].parse::<u32>()) else {
            continue;
        };
        if fields[0] == text || numeric == Some(uid) {
            return Ok(User {
                uid,
                gid: Some(gid),
            });
        }
    }
    match numeric {
        Some(uid) => Ok(User { uid, gid: None }),
        None => refuse(format!(
            "--uid {text}: no such user in {}",
            passwd.display()
        )),
    }
}

/// A group by number or by its name in `ROOT/etc/group`.
pub fn group(flag: &str, text: &str, root: &Path) -> Outcome<u32> {
    if let Ok(gid) = text.parse::<u32>() {
        return Ok(gid);
    }
    let path = root.join("etc/group");
    let entries = std::fs::read_to_string(&path).unwrap_or_default();
    entries
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.len() >= 3 && fields[0] == text)
        .and_then(|fields| fields[2].parse().ok())
        .map_or_else(
            || {
                refuse(format!(
                    "{flag} {text}: no such group in {}",
                    path.display()
                ))
            },
            Ok,
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_lists_take_names_numbers_and_all() {
        assert_eq!(
            capabilities("net_admin,CAP_CHOWN,1", 40).unwrap(),
            0b1_0000_0000_0011
        );
        assert_eq!(capabilities("", 40).unwrap(), 0);
        assert_eq!(capabilities("all", 40).unwrap(), (1 << 41) - 1);
        let err = capabilities("chown,nope", 40).unwrap_err().to_string();
        assert_eq!(err, r#"args: unknown capability "nope""#);
        assert!(capabilities("40", 39).is_err());
    }

    #[test]
    fn capability_sets_by_long_short_and_all() {
        assert_eq!(
            cap_sets("b,ambient").unwrap(),
            [CapSet::Bounding, CapSet::Ambient]
        );
        assert_eq!(cap_sets("all").unwrap(), ALL_SETS);
        assert!(cap_sets("everything").is_err());
    }

    #[test]
    fn rlimits_by_name_with_one_or_two_values() {
        let l = rlimit("nofile=1024:2048").unwrap();
        assert_eq!((l.resource, l.soft, l.hard), (7, 1024, 2048));
        let l = rlimit("RLIMIT_CORE=0").unwrap();
        assert_eq!((l.resource, l.soft, l.hard), (4, 0, 0));
        let l = rlimit("stack=8388608:unlimited").unwrap();
        assert_eq!(l.hard, u64::MAX);
        assert!(rlimit("nofle=1").unwrap_err().to_string().contains("nofle"));
        assert!(rlimit("nofile").is_err());
        assert!(rlimit("nofile=lots").is_err());
    }

    #[test]
    fn signals_by_name_and_number() {
        assert_eq!(signal("TERM").unwrap(), libc::SIGTERM);
        assert_eq!(signal("sigkill").unwrap(), libc::SIGKILL);
        assert_eq!(signal("9").unwrap(), 9);
        assert_eq!(signal("RTMIN+2").unwrap(), libc::SIGRTMIN() + 2);
        assert_eq!(signal("SIGRTMAX").unwrap(), libc::SIGRTMAX());
        assert!(signal("0").is_err());
        assert!(signal("BOGUS").is_err());
    }

    #[test]
    fn namespaces_by_any_common_name() {
        assert_eq!(
            namespaces("pid,mount,network").unwrap(),
            [libc::CLONE_NEWPID, libc::CLONE_NEWNS, libc::CLONE_NEWNET]
        );
        assert_eq!(namespaces("all").unwrap().len(), 8);
        assert!(namespaces("pid,vm").is_err());
    }

    #[test]
    fn id_maps_and_umasks() {
        let m = id_map("--uid-map", "0:100000:65536").unwrap();
        assert_eq!((m.inside, m.outside, m.count), (0, 100000, 65536));
        assert_eq!(id_map("--uid-map", "0 1000 1").unwrap().outside, 1000);
        assert!(id_map("--uid-map", "0:1").is_err());
        assert_eq!(umask("077").unwrap(), 0o77);
        assert_eq!(umask("0o022").unwrap(), 0o22);
        assert!(umask("8").is_err());
        assert!(umask("1777").is_err());
    }

    #[test]
    fn users_and_groups_come_from_the_given_root() {
        let root = std::env::temp_dir().join(format!("sprout-cli-names-{}", std::process::id()));
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(
            root.join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\nbuild:x:1500:1600::/home:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(root.join("etc/group"), "root:x:0:\nstaff:x:50:build\n").unwrap();
        let u = user("build", &root).unwrap();
        assert_eq!((u.uid, u.gid), (1500, Some(1600)));
        let u = user("1500", &root).unwrap();
        assert_eq!(u.gid, Some(1600));
        let u = user("4242", &root).unwrap();
        assert_eq!((u.uid, u.gid), (4242, None));
        assert!(user("nobody-here", &root).is_err());
        assert_eq!(group("--gid", "staff", &root).unwrap(), 50);
        assert_eq!(group("--gid", "7", &root).unwrap(), 7);
        assert!(group("--groups", "wheel", &root).is_err());
        std::fs::remove_dir_all(&root).unwrap();
    }
}

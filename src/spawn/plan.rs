//! Everything the child needs, prepared in the parent: pointer arrays for execve, the PATH
//! candidates, the fd layout. After clone the child only reads this (and writes the scratch
//! array it is given), so it never allocates.

use std::ffi::{CString, c_char};
use std::os::fd::RawFd;

use super::namespaces::{NamespacePlan, parent_pid};
use crate::spec::{Program, Spec};

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
    /// The caller's pid, which the child's getppid() must still return after it asked for its
    /// parent-death signal; `None` where getppid() cannot tell (another pid namespace).
    pub parent_pid: Option<i32>,
    pub namespaces: NamespacePlan,
}

impl<'a> Plan<'a> {
    pub fn new(spec: &'a Spec) -> Plan<'a> {
        let env = &spec.env;
        let exec = match &spec.program {
            Program::Fd(_) => Exec::Fd(spec.fds.len() as RawFd),
            Program::Argv0 => Exec::Paths(candidates(spec.argv[0].as_bytes(), env)),
            Program::Path(path) => Exec::Paths(candidates(path.as_bytes(), env)),
        };
        let exec_source = match spec.program {
            Program::Fd(fd) => Some(fd),
            _ => None,
        };
        let namespaces = NamespacePlan::new(spec);
        Plan {
            spec,
            argv: null_terminated(&spec.argv),
            envp: null_terminated(env),
            exec,
            fds: FdLayout::new(&spec.fds, exec_source),
            parent_pid: parent_pid(spec, &namespaces),
            namespaces,
        }
    }
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
/// directory, as in execvpe).
pub fn candidates(name: &[u8], env: &[CString]) -> Vec<CString> {
    if name.contains(&b'/') {
        return vec![CString::new(name).expect("came from a CString")];
    }
    let path = env
        .iter()
        .find_map(|var| var.as_bytes().strip_prefix(b"PATH="))
        .unwrap_or(DEFAULT_PATH);
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
/// The child applies it in two passes (the algorithm of Go's forkAndExecInChild1):
/// 1. every source that is below its own slot (`sources[i] < i`) is first copied above every
///    fd involved, to `park`, `park + 1`, ... (close-on-exec);
/// 2. for each slot `i` in order: -1 closes `i`; a source equal to `i` only loses close-on-exec;
///    anything else is dup'ed onto `i`.
///
/// Writing slot `i` in pass 2 can only destroy a source that a later slot `j > i` still needs
/// if `sources[j] == i < j`, and pass 1 has already moved exactly those out of the way.
/// When the program is run from an fd, that fd is one more slot at the end that keeps
/// close-on-exec, so execveat can use it and the program never sees it.
pub struct FdLayout {
    pub sources: Vec<RawFd>,
    /// How many of `sources`, from the end, keep close-on-exec (the exec fd).
    pub cloexec_tail: usize,
    /// The first fd above every fd involved.
    pub park: RawFd,
}

impl FdLayout {
    pub fn new(fds: &[Option<RawFd>], exec_fd: Option<RawFd>) -> FdLayout {
        let mut sources: Vec<RawFd> = fds.iter().map(|fd| fd.unwrap_or(-1)).collect();
        sources.extend(exec_fd);
        let highest = sources.iter().copied().max().unwrap_or(-1);
        FdLayout {
            park: highest.max(sources.len() as RawFd - 1) + 1,
            cloexec_tail: usize::from(exec_fd.is_some()),
            sources,
        }
    }

    /// The first fd the child closes everything from.
    pub fn close_from(&self) -> u32 {
        self.sources.len() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cs(s: &str) -> CString {
        CString::new(s).unwrap()
    }

    #[test]
    fn a_name_with_a_slash_is_not_searched() {
        let env = [cs("PATH=/usr/bin")];
        assert_eq!(candidates(b"./x", &env), [cs("./x")]);
        assert_eq!(candidates(b"/bin/true", &env), [cs("/bin/true")]);
    }

    #[test]
    fn path_comes_from_the_new_environment_with_empty_entries_as_the_working_directory() {
        let env = [cs("HOME=/"), cs("PATH=/a::/b"), cs("PATH=/ignored")];
        assert_eq!(candidates(b"p", &env), [cs("/a/p"), cs("p"), cs("/b/p")]);
    }

    #[test]
    fn without_path_the_default_is_searched() {
        let got = candidates(b"sh", &[]);
        assert_eq!(got.first(), Some(&cs("/usr/local/sbin/sh")));
        assert_eq!(got.last(), Some(&cs("/bin/sh")));
    }

    /// Applies a layout the way the child does, on a model fd table, and checks every slot
    /// ends up holding the file its source held.
    fn apply(layout: &FdLayout, table: &mut std::collections::BTreeMap<RawFd, (char, bool)>) {
        let mut sources = layout.sources.clone();
        let mut park = layout.park;
        for (i, src) in sources.iter_mut().enumerate() {
            if *src >= 0 && (*src as usize) < i {
                let file = table[src].0;
                table.insert(park, (file, true));
                *src = park;
                park += 1;
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
                        let layout = FdLayout::new(&fds, None);
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
    fn the_exec_fd_is_one_more_close_on_exec_slot() {
        let layout = FdLayout::new(&[Some(5), None, Some(2)], Some(9));
        assert_eq!(layout.sources, [5, -1, 2, 9]);
        assert_eq!(layout.cloexec_tail, 1);
        assert_eq!(layout.park, 10);
        assert_eq!(layout.close_from(), 4);
    }
}

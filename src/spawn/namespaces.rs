//! Namespaces, parent side: which namespaces clone creates, which the child joins or creates
//! itself, the PID namespace the calling thread enters around clone, and the id maps written
//! while the child waits for them.
//!
//! Where each request is carried out, and why:
//! - New namespaces are `CLONE_NEW*` flags of clone, so that the process is pid 1 of a new PID
//!   namespace and the others are owned by a new user namespace created in the same clone.
//!   When the process joins a user namespace, or creates one together with joined namespaces,
//!   the new ones other than PID are instead created by the child with unshare after its
//!   joins: joined namespaces must be entered while the child still has the caller's
//!   privilege, and new ones are then owned by the user namespace the process ends up in.
//! - Joined namespaces are setns calls in the child, the user namespace first (it gives the
//!   privilege over the namespaces it owns). A joined PID namespace is the exception: setns
//!   only changes where the caller's *children* go, so the calling thread enters it just
//!   around clone and goes back to its own right after (`PidNsSwitch`); the switch is per
//!   thread, so the caller's other threads never see it.
//! - A joined time namespace can only be entered by a process that shares its memory with no
//!   other (the kernel answers EUSERS otherwise), so that spawn runs without CLONE_VM.
//! - A new user namespace with id maps: the parent writes /proc/PID/uid_map, setgroups and
//!   gid_map while the child waits on a futex in the report page (`Handshake`). The parent
//!   also does there what needs the caller's privilege in its own user namespace once the
//!   child is in another (`ParentSteps`).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, Ordering};

use nix::errno::Errno;

use crate::error::{Error, Result, Stage};
use crate::namespaces::{MapWriter, map_culprit, map_text, parse_map};
use crate::procfs::{status_field, thread_status};
use crate::spec::Spec;

use super::TtyItem;
use super::dumpable;
use super::plan::RlimitStep;
use super::report::{Report, SYNC_ABORT, SYNC_GO, SYNC_PAUSED, SYNC_READY, SYNC_STARTED};

/// One setns the child (or, for PID, the calling thread) makes.
pub struct Join {
    pub fd: RawFd,
    /// The `CLONE_NEW*` value.
    pub kind: i32,
    /// Its index in `Spec::namespaces`, to name it in errors.
    pub index: u32,
}

/// The id maps to write, as the kernel takes them.
pub struct Maps {
    pub uid: String,
    pub gid: String,
}

/// How the namespaces of one spawn are carried out.
#[derive(Default)]
pub struct NamespacePlan {
    /// `CLONE_NEW*` flags for clone.
    pub clone_flags: u64,
    /// The child's setns calls, in order: a joined user namespace first.
    pub joins: Vec<Join>,
    /// `CLONE_NEW*` flags the child unshares after its joins.
    pub unshare_flags: u64,
    /// The PID namespace the calling thread enters around clone.
    pub pid_join: Option<Join>,
    /// The child must not share the caller's memory (a joined time namespace).
    pub own_mm: bool,
}

impl NamespacePlan {
    /// `privileged_first`: the child has steps to take with the caller's privilege before it
    /// enters a new user namespace, so clone must not create it unless it has to (along with
    /// a new PID namespace, which must be owned by it).
    pub fn new(spec: &Spec, privileged_first: bool) -> NamespacePlan {
        let mut plan = NamespacePlan::default();
        let mut new: u64 = 0;
        let mut user_join = None;
        let mut others = Vec::new();
        for (index, ns) in spec.namespaces.iter().enumerate() {
            let Some(fd) = ns.fd else {
                new |= ns.kind as u32 as u64;
                continue;
            };
            let join = Join {
                fd,
                kind: ns.kind,
                index: index as u32,
            };
            match ns.kind {
                libc::CLONE_NEWPID => plan.pid_join = Some(join),
                // The kernel refuses to re-enter one's own user namespace (it would give back
                // dropped capabilities); staying in it is what was asked.
                libc::CLONE_NEWUSER if !is_own_user_namespace(fd) => user_join = Some(join),
                libc::CLONE_NEWUSER => {}
                _ => {
                    plan.own_mm |= ns.kind == libc::CLONE_NEWTIME;
                    others.push(join);
                }
            }
        }
        let new_user = new & libc::CLONE_NEWUSER as u64 != 0;
        let new_pid = new & libc::CLONE_NEWPID as u64 != 0;
        let create_late = user_join.is_some()
            || (new_user && !others.is_empty())
            || (new_user && !new_pid && privileged_first);
        if create_late {
            plan.clone_flags = new & libc::CLONE_NEWPID as u64;
            plan.unshare_flags = new & !(libc::CLONE_NEWPID as u64);
        } else {
            plan.clone_flags = new;
        }
        plan.joins = user_join.into_iter().chain(others).collect();
        plan
    }

    /// Whether the process ends up in another user namespace than the caller's.
    pub fn enters_user_namespace(&self) -> bool {
        (self.clone_flags | self.unshare_flags) & libc::CLONE_NEWUSER as u64 != 0
            || self.joins_user_namespace()
    }

    /// Whether the child joins a user namespace (other than the caller's own).
    pub fn joins_user_namespace(&self) -> bool {
        self.joins
            .iter()
            .any(|join| join.kind == libc::CLONE_NEWUSER)
    }

    /// Whether clone creates the process in a new user namespace.
    pub fn user_namespace_cloned(&self) -> bool {
        self.clone_flags & libc::CLONE_NEWUSER as u64 != 0
    }

    /// Whether the process is created in a new PID namespace.
    pub fn new_pid(&self) -> bool {
        self.clone_flags & libc::CLONE_NEWPID as u64 != 0
    }
}

/// The id maps of `spec`'s new user namespace, if it has both.
pub fn id_maps(spec: &Spec) -> Option<Maps> {
    let new_user = spec
        .namespaces
        .iter()
        .any(|ns| ns.kind == libc::CLONE_NEWUSER && ns.fd.is_none());
    (new_user && (!spec.uid_map.is_empty() || !spec.gid_map.is_empty())).then(|| Maps {
        uid: map_text(&spec.uid_map),
        gid: map_text(&spec.gid_map),
    })
}

/// Whether `fd` is the user namespace the caller is in.
fn is_own_user_namespace(fd: RawFd) -> bool {
    match (fd_identity(fd), path_identity(c"/proc/self/ns/user")) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// (device, inode): what tells two namespace files apart.
fn fd_identity(fd: RawFd) -> Option<(u64, u64)> {
    // SAFETY: fstat fills a zeroed stat on this stack.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    (unsafe { libc::fstat(fd, &mut st) } == 0).then_some((st.st_dev, st.st_ino))
}

fn path_identity(path: &std::ffi::CStr) -> Option<(u64, u64)> {
    // SAFETY: a NUL-terminated path; stat fills a zeroed stat on this stack.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    (unsafe { libc::stat(path.as_ptr(), &mut st) } == 0).then_some((st.st_dev, st.st_ino))
}

/// The caller's pid as the child's getppid() will return it while the caller lives: its pid,
/// or 0 when the child is in another PID namespace, where the caller has no pid (after the
/// caller's death the child is reparented inside that namespace, so getppid() changes then).
/// None when nothing can tell: the child is pid 1 of a new PID namespace, and stays parented
/// outside it.
/// `child_waits`: the child waits for the parent (see `ParentSteps`), and checks it lives.
pub fn parent_pid(spec: &Spec, namespaces: &NamespacePlan, child_waits: bool) -> Option<i32> {
    let me = crate::fork::pid() as i32;
    if namespaces.new_pid() {
        return None;
    }
    let children_ns = match &namespaces.pid_join {
        Some(join) => fd_identity(join.fd),
        // A caller that entered a PID namespace with setns itself sends its children there.
        None if spec.parent_death_signal != 0 || child_waits => {
            path_identity(c"/proc/thread-self/ns/pid_for_children")
        }
        None => return Some(me),
    };
    match (children_ns, path_identity(c"/proc/self/ns/pid")) {
        (Some(child), Some(own)) if child != own => Some(0),
        _ => Some(me),
    }
}

/// The calling thread's PID namespace for children, switched to a joined one for as long as
/// this lives (around clone), then switched back. setns(CLONE_NEWPID) changes only the calling
/// thread's namespace for *children* (pid_for_children), never its own, and no other thread's.
pub struct PidNsSwitch {
    saved: OwnedFd,
}

impl PidNsSwitch {
    pub fn enter(join: &Join) -> Result<PidNsSwitch> {
        let failed = |errno: Errno| {
            Error::new(
                Stage::Namespaces,
                errno,
                format!(
                    "namespaces[{}]: joining pid from fd {}",
                    join.index, join.fd
                ),
            )
        };
        let saved = File::open("/proc/thread-self/ns/pid_for_children")
            .map_err(|e| failed(io_errno(&e)))?;
        // SAFETY: setns on a namespace fd validated as a PID namespace; it affects only this
        // thread's pid_for_children.
        if unsafe { libc::setns(join.fd, libc::CLONE_NEWPID) } < 0 {
            return Err(failed(Errno::last()));
        }
        Ok(PidNsSwitch {
            saved: saved.into(),
        })
    }

    /// Switches back: the caller's later children are born where they were before.
    pub fn leave(self) {
        drop(self)
    }
}

impl Drop for PidNsSwitch {
    /// Never returns with the thread still switched: its later fork()s and spawns would be
    /// born inside the joined namespace, a container's say, for good. The kernel always allows
    /// this setns (the saved namespace is the thread's active PID namespace or a descendant,
    /// and every signal is blocked, so no setxid broadcast can take CAP_SYS_ADMIN away
    /// meanwhile); what can fail is the allocation of the thread's new namespace set
    /// (ENOMEM), retried until it works. Any other errno means the saved fd is no longer the
    /// one opened here (another thread closed or replaced it): the thread then goes back to
    /// its own active PID namespace, opened anew, which is where its children were born
    /// unless the caller had itself moved them elsewhere with setns. Only when even that
    /// cannot be opened or entered is the process aborted, rather than left with its children
    /// going into the joined namespace.
    fn drop(&mut self) {
        let restored = restore_pid_for_children(self.saved.as_raw_fd()).or_else(|_| {
            let home = File::open("/proc/thread-self/ns/pid").map_err(|e| io_errno(&e))?;
            restore_pid_for_children(home.as_raw_fd())
        });
        if let Err(errno) = restored {
            eprintln!(
                "sprout: cannot restore the calling thread's PID namespace for children \
                 ({errno}); aborting rather than leaving its children to be born in a joined \
                 namespace"
            );
            std::process::abort();
        }
    }
}

/// setns(CLONE_NEWPID) to `fd`, retrying what can pass (ENOMEM above all) until it works.
fn restore_pid_for_children(fd: RawFd) -> std::result::Result<(), Errno> {
    let mut pause = std::time::Duration::from_micros(100);
    loop {
        // SAFETY: setns on an fd this module opened; it changes only this thread's namespace
        // for children.
        if unsafe { libc::setns(fd, libc::CLONE_NEWPID) } == 0 {
            return Ok(());
        }
        match Errno::last() {
            Errno::ENOMEM | Errno::EINTR | Errno::EAGAIN => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(10));
            }
            errno => return Err(errno),
        }
    }
}

fn io_errno(error: &std::io::Error) -> Errno {
    Errno::from_raw(error.raw_os_error().unwrap_or(libc::EIO))
}

/// What the parent does on the child while the child waits for it, right after the child
/// entered its namespaces: each step needs the caller's privilege in its own user namespace
/// (or, for the maps, the parent's view of the new one), which the child no longer has there.
pub struct ParentSteps {
    /// Wait until the child says READY first: it creates or joins its user namespace itself,
    /// or has just taken its terminal, which is handed over only then.
    pub after_ready: bool,
    /// The id maps of a new user namespace.
    pub maps: Option<Maps>,
    /// The terminal to hand to the credentials' uid, as the child's user namespace maps it.
    pub terminal: Option<Handover>,
    /// Hard limits to raise (prlimit on the child): clone put the child in its new user
    /// namespace from its first instruction, where CAP_SYS_RESOURCE (checked in the initial
    /// user namespace) is not the child's.
    pub raises: Vec<RlimitStep>,
}

/// fchown of a terminal to the id outside that a user namespace maps `uid` to.
pub struct Handover {
    /// The caller's fd of the terminal: the same file as the child's.
    pub fd: RawFd,
    /// The uid inside the child's user namespace (`credentials.uid`).
    pub uid: u32,
}

/// A parent step the kernel refused: the stage and item, as the child would report them.
pub struct StepFailure {
    pub stage: Stage,
    pub errno: Errno,
    pub item: u32,
}

impl ParentSteps {
    /// Does the steps on the child `pid`. An error of the maps is complete; other steps say
    /// what failed as the child would.
    fn run(&self, pid: i32, spec: &Spec) -> std::result::Result<(), ParentFailure> {
        if let Some(maps) = &self.maps {
            write_maps(pid, spec, maps).map_err(ParentFailure::Maps)?;
        }
        if let Some(handover) = &self.terminal {
            handover.run(pid).map_err(|errno| {
                ParentFailure::Step(StepFailure {
                    stage: Stage::Tty,
                    errno,
                    item: TtyItem::Owner as u32,
                })
            })?;
        }
        for raise in &self.raises {
            // SAFETY: prlimit64 on the child, which waits; the new limit lives in the plan.
            if unsafe {
                libc::prlimit64(pid, raise.resource as _, &raise.value, std::ptr::null_mut())
            } < 0
            {
                return Err(ParentFailure::Step(StepFailure {
                    stage: Stage::Rlimits,
                    errno: Errno::last(),
                    item: raise.index,
                }));
            }
        }
        Ok(())
    }
}

/// Why the parent's steps failed.
pub enum ParentFailure {
    Maps(Error),
    Step(StepFailure),
}

impl Handover {
    /// Hands the terminal to the id the user namespace of `pid` maps `uid` to, as its
    /// /proc/PID/uid_map shows it to this process (ids of the caller's namespace). Nothing is
    /// done when the namespace does not map `uid`: the credentials fail then (EINVAL).
    fn run(&self, pid: i32) -> std::result::Result<(), Errno> {
        let text =
            std::fs::read_to_string(format!("/proc/{pid}/uid_map")).map_err(|e| io_errno(&e))?;
        let Some(outside) = parse_map(&text).iter().find_map(|line| {
            let offset = self.uid.checked_sub(line.inside)?;
            (offset < line.count).then(|| line.outside.checked_add(offset))?
        }) else {
            return Ok(());
        };
        // SAFETY: the caller's fd, borrowed for these two calls.
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(self.fd) };
        if nix::sys::stat::fstat(fd)?.st_uid != outside {
            nix::unistd::fchown(fd, Some(nix::unistd::Uid::from_raw(outside)), None)?;
        }
        Ok(())
    }
}

/// The parent's half of the wait: the child is started with CLONE_VM but without CLONE_VFORK,
/// so this thread runs on. It does `ParentSteps` as soon as it can (at once when clone
/// created the child's user namespace, else once the child says READY), says GO, or ABORT when
/// the kernel refused one, and waits until the kernel zeroes the word (CLONE_CHILD_CLEARTID),
/// which happens when the child execs or exits: exactly where CLONE_VFORK would have let the
/// parent go. The child meanwhile waits for the verdict on the same word. In the common case
/// (id maps) the extra cost is the map writes, and a futex wake when the child got to its wait
/// first.
///
/// Until then the child runs on the spawn area's stack and reads the plan and the context in
/// the caller's memory: this thread must keep all three alive and untouched, which is why
/// dropping a handshake that did not finish (a panic) still aborts the child and waits for it.
///
/// A paused start (`SPROUT_EXEC2_PAUSED`) uses the same word: the child says PAUSED once it has
/// done everything but execve, and the parent's wait ends there too (`pauses`).
pub struct Handshake<'a> {
    sync: &'a AtomicU32,
    finished: bool,
    pauses: bool,
}

impl<'a> Handshake<'a> {
    /// `pauses`: the child will pause before execve, which ends the parent's wait.
    pub fn new(report: &'a Report, pauses: bool) -> Handshake<'a> {
        Handshake {
            sync: &report.sync,
            finished: false,
            pauses,
        }
    }

    /// Without steps to take (a paused start alone): returns once the child has paused, or
    /// exited before it could.
    pub fn wait(mut self) {
        self.finished = true;
        self.wait_for_exec_or_pause();
    }

    /// Does `steps` on the child `pid`, releases it, and returns once it has exec'd or
    /// exited. Err only when a step was refused (the child is then told to exit); a child
    /// that ended on its own before it was told failed for a reason its report gives.
    pub fn run(
        mut self,
        pid: i32,
        spec: &Spec,
        steps: &ParentSteps,
    ) -> std::result::Result<(), ParentFailure> {
        if steps.after_ready && wait_while(self.sync, SYNC_STARTED) != SYNC_READY {
            self.finish(SYNC_ABORT);
            return Ok(());
        }
        let done = steps.run(pid, spec);
        let told = self.finish(if done.is_ok() { SYNC_GO } else { SYNC_ABORT });
        if told { done } else { Ok(()) }
    }

    /// Tells the child `verdict` unless it is gone already, then waits until it has exec'd or
    /// exited. Returns whether it was told.
    fn finish(&mut self, verdict: u32) -> bool {
        self.finished = true;
        let mut state = self.sync.load(Ordering::Acquire);
        // The kernel's zero must never be overwritten: the wait below would never end.
        let told = loop {
            if state == 0 {
                break false;
            }
            match self
                .sync
                .compare_exchange(state, verdict, Ordering::Release, Ordering::Acquire)
            {
                Ok(_) => {
                    futex_wake(self.sync);
                    break true;
                }
                Err(now) => state = now,
            }
        };
        self.wait_for_exec_or_pause();
        told
    }

    fn wait_for_exec_or_pause(&self) {
        let mut state = self.sync.load(Ordering::Acquire);
        while state != 0 && !(self.pauses && state == SYNC_PAUSED) {
            state = wait_while(self.sync, state);
        }
    }
}

impl Drop for Handshake<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.finish(SYNC_ABORT);
        }
    }
}

/// Waits until `word` no longer holds `value` and returns what it holds.
pub(super) fn wait_while(word: &AtomicU32, value: u32) -> u32 {
    loop {
        let now = word.load(Ordering::Acquire);
        if now != value {
            return now;
        }
        // SAFETY: FUTEX_WAIT on a word of the report page, which stays mapped; it returns at
        // once if the word no longer holds `value`. Not FUTEX_PRIVATE_FLAG: the kernel's
        // CLONE_CHILD_CLEARTID wake is a shared-futex wake, and the page is MAP_SHARED.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAIT,
                value,
                std::ptr::null::<libc::timespec>(),
            )
        };
    }
}

fn futex_wake(word: &AtomicU32) {
    // SAFETY: FUTEX_WAKE on a word of the report page (see `wait_while`).
    unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, 1) };
}

/// Writes uid_map, then gid_map. An unprivileged caller may only write a gid map once
/// setgroups is denied in the namespace: on EPERM, setgroups is denied and the gid map tried
/// again, so a privileged caller keeps setgroups usable inside.
fn write_maps(pid: i32, spec: &Spec, maps: &Maps) -> Result<()> {
    if !maps.uid.is_empty() {
        write_proc(pid, "uid_map", &maps.uid)
            .map_err(|errno| map_error(pid, "uid_map", &spec.uid_map, errno))?;
    }
    if !maps.gid.is_empty() {
        let mut written = write_proc(pid, "gid_map", &maps.gid);
        if written == Err(Errno::EPERM) && write_proc(pid, "setgroups", "deny").is_ok() {
            written = write_proc(pid, "gid_map", &maps.gid);
        }
        written.map_err(|errno| map_error(pid, "gid_map", &spec.gid_map, errno))?;
    }
    Ok(())
}

/// One write of `text` to /proc/PID/NAME: the kernel takes a map in a single write only.
fn write_proc(pid: i32, name: &str, text: &str) -> std::result::Result<(), Errno> {
    let path = format!("/proc/{pid}/{name}");
    // The child shares the caller's memory: a concurrent spawn's child can make it
    // non-dumpable for a moment, and the file root's.
    let mut file = dumpable::retry_while_changed(|| {
        OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| io_errno(&e))
    })?;
    match file.write(text.as_bytes()) {
        Ok(n) if n == text.len() => Ok(()),
        Ok(_) => Err(Errno::EINVAL),
        Err(e) => Err(io_errno(&e)),
    }
}

fn map_error(pid: i32, what: &str, map: &[crate::spec::IdMap], errno: Errno) -> Error {
    let subject = match errno {
        Errno::EINVAL | Errno::EPERM => {
            let own = std::fs::read_to_string(format!("/proc/self/{what}")).unwrap_or_default();
            map_culprit(what, map, errno, &parse_map(&own), &map_writer(what))
        }
        _ => format!("/proc/{pid}/{what}"),
    };
    Error::new(Stage::Namespaces, errno, subject)
}

/// Capability numbers (capabilities(7)).
const CAP_SETGID: u32 = 6;
const CAP_SETUID: u32 = 7;
const CAP_SETFCAP: u32 = 31;

/// This thread as the writer of a uid or gid map.
fn map_writer(what: &str) -> MapWriter {
    let effective = status_field(&thread_status(), "CapEff").unwrap_or(0);
    let has = |cap: u32| effective & (1 << cap) != 0;
    let (id, cap) = if what == "uid_map" {
        // SAFETY: geteuid cannot fail.
        (unsafe { libc::geteuid() }, CAP_SETUID)
    } else {
        // SAFETY: getegid cannot fail.
        (unsafe { libc::getegid() }, CAP_SETGID)
    };
    MapWriter {
        id,
        privileged: has(cap),
        may_map_root: has(CAP_SETFCAP),
    }
}

//! The caller's dumpable flag, kept as it was across spawns whose child could change it.
//!
//! The flag (PR_GET_DUMPABLE) belongs to the memory, not to a process: a CLONE_VM child shares
//! it with the caller, and the kernel's commit_creds sets it to fs.suid_dumpable whenever the
//! child's effective or filesystem ids change, or its permitted capabilities do not stay a
//! subset of what it had. Tried one step at a time (fs.suid_dumpable 0, a dumpable root
//! caller), these flip it: `credentials` with a uid or gid other than the caller's
//! (setresuid, setresgid), credentials inside a new user namespace whose maps send them to
//! other ids, and joining a user namespace that is not a child of the caller's owned by its
//! euid (a namespace owned by another uid: cred_cap_issubset fails). These leave it alone:
//! setgroups, capset, bounding-set drops, the ambient set, no_new_privs, seccomp, a new user
//! namespace (by clone or unshare), with or without maps, joining a child user namespace the
//! caller owns, credentials equal to the caller's ids. Left unrepaired, one spawn with
//! credentials made the caller non-dumpable for good: no core dumps, /proc/CALLER/* owned by
//! root, and an unprivileged caller's later id-map spawns refused; with fs.suid_dumpable=1 a
//! caller that made itself non-dumpable on purpose became dumpable again.
//!
//! So a spawn whose child may do one of those (`credentials`, or a user namespace to join) is
//! "in flight" from before clone until its child has exec'd or died: the first such spawn
//! saves the caller's flag, the last one puts it back. A small lock guards the count and is
//! never held across a spawn; other spawns pay nothing. While such a spawn is in flight, the
//! flag may read otherwise for a moment.

use nix::errno::Errno;

use crate::fork::{self, Lock, RawLock};

/// The value of PR_GET_DUMPABLE that lets the caller's own uid open its /proc files.
const SUID_DUMP_USER: i32 = 1;

struct InFlight {
    /// Spawns whose child may change the flag and has not exec'd or died yet.
    count: u32,
    /// The caller's flag before the first of them.
    saved: i32,
    /// How many such spawns ever started: tells a map writer that one ran meanwhile.
    started: u64,
}

static IN_FLIGHT: Lock<InFlight> = Lock::new(InFlight {
    count: 0,
    saved: SUID_DUMP_USER,
    started: 0,
});

/// For the fork handlers (see fork.rs).
pub(crate) fn lock_word() -> &'static RawLock {
    fork::word(&IN_FLIGHT)
}

/// In a copy made by fork, which has no spawn of its own in flight: when its parent had
/// some, the copy's memory carries the flag one of their children may have set, so the
/// parent's own is put back.
pub(crate) fn forked_copy() {
    let mut in_flight = IN_FLIGHT.lock();
    if in_flight.count > 0 {
        in_flight.count = 0;
        set(in_flight.saved);
    }
}

fn get() -> i32 {
    // SAFETY: PR_GET_DUMPABLE takes no pointer. nix's get_dumpable would turn the kernel's
    // three values into a bool.
    unsafe { libc::prctl(libc::PR_GET_DUMPABLE) }
}

/// Puts the flag back to `saved`. prctl accepts only 0 and 1: a caller at 2 (SUID_DUMP_ROOT,
/// after a setuid exec with fs.suid_dumpable=2) is left as the kernel put it.
fn set(saved: i32) {
    if (saved == 0 || saved == SUID_DUMP_USER) && get() != saved {
        // SAFETY: PR_SET_DUMPABLE takes an integer; it affects only this process's memory.
        unsafe { libc::prctl(libc::PR_SET_DUMPABLE, saved as libc::c_ulong) };
    }
}

/// One spawn whose child may change the flag, in flight for as long as this lives: dropped
/// once the child has exec'd or died (also when unwinding).
pub struct Kept(());

impl Kept {
    pub fn enter() -> Kept {
        let mut in_flight = IN_FLIGHT.lock();
        if in_flight.count == 0 {
            in_flight.saved = get();
        }
        in_flight.count += 1;
        in_flight.started += 1;
        Kept(())
    }
}

impl Drop for Kept {
    fn drop(&mut self) {
        let mut in_flight = IN_FLIGHT.lock();
        in_flight.count -= 1;
        if in_flight.count == 0 {
            set(in_flight.saved);
        }
    }
}

/// Runs `open` (of a /proc/PID file of a child that shares the caller's memory) and retries
/// it while it fails with EACCES because a concurrent spawn's child made the shared memory
/// non-dumpable, which makes those files root's: the flag is put back first. A failure when
/// no such spawn ran meanwhile (a caller non-dumpable on purpose) is returned at once. Each
/// such child changes the flag a bounded number of times, so the retries end.
pub fn retry_while_changed<T>(mut open: impl FnMut() -> Result<T, Errno>) -> Result<T, Errno> {
    const ATTEMPTS: u32 = 1000;
    let mut attempt = 0;
    loop {
        let before = {
            let in_flight = IN_FLIGHT.lock();
            if in_flight.count > 0 && in_flight.saved == SUID_DUMP_USER {
                set(SUID_DUMP_USER);
            }
            (in_flight.count, in_flight.started)
        };
        let result = open();
        attempt += 1;
        if result.as_ref().err() != Some(&Errno::EACCES) || attempt == ATTEMPTS {
            return result;
        }
        let changed_meanwhile = {
            let in_flight = IN_FLIGHT.lock();
            let concurrent = before.0 > 0 || in_flight.count > 0 || in_flight.started != before.1;
            concurrent && in_flight.saved == SUID_DUMP_USER
        };
        if !changed_meanwhile {
            return result;
        }
        std::thread::yield_now();
    }
}

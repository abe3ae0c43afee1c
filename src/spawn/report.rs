//! What the child tells the parent, through memory both can see (the first page of the
//! `SpawnArea`, shared even with a child that does not share the caller's memory).
//!
//! The child records each stage as it enters it and, if one fails, the errno and which item
//! of the stage failed (fd slot, rlimit, PATH candidate, ...), then exits. The parent reads
//! the report once the child has exec'd or exited, which the kernel orders after the child's
//! writes (the vfork completion, or the futex wake of CLONE_CHILD_CLEARTID).

use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

use crate::error::Stage;

#[repr(C)]
pub struct Report {
    stage: AtomicU32,
    errno: AtomicI32,
    item: AtomicU32,
    /// Set by a child that found close_range missing, so later spawns skip trying it.
    pub close_range_missing: AtomicU32,
    /// Set by clone.rs right before it starts the child with the legacy clone, cleared before
    /// clone3. The legacy clone lacks some of clone3's flags, whose work the child then does
    /// itself (see `clone::legacy_leftover`).
    legacy_clone: AtomicU32,
    /// The handshake with a child that waits for the parent (its id maps, or a paused start:
    /// `SYNC_*`), and that child's CLONE_CHILD_CLEARTID word: the kernel zeroes it, with a
    /// futex wake, when the child execs or exits.
    pub sync: AtomicU32,
}

/// `Report::sync` values. 0 is the kernel's: the child has exec'd or exited.
pub(crate) const SYNC_STARTED: u32 = 1;
/// Child: the user namespace I created myself exists; I wait for my id maps.
pub(crate) const SYNC_READY: u32 = 2;
/// Parent: the maps are written, go on.
pub(crate) const SYNC_GO: u32 = 3;
/// Parent: the kernel refused the maps, exit.
pub(crate) const SYNC_ABORT: u32 = 4;
/// Child: everything but execve is done; I wait for my verdict on the handover socket
/// (`SPROUT_EXEC2_PAUSED`).
pub(crate) const SYNC_PAUSED: u32 = 5;

/// How a child ended its time between clone and exec.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// execve succeeded.
    Exec,
    /// Everything but execve is done, and the child waits to be started.
    Paused,
    /// A step failed: the stage, the errno and which item of the stage.
    Failed { stage: Stage, errno: i32, item: u32 },
    /// The child died without reporting, while in this stage (killed by a signal).
    Died { stage: Stage },
}

impl Report {
    /// Readies the report for a new child.
    pub fn reset(&self) {
        self.stage.store(Stage::None as u32, Ordering::Relaxed);
        self.errno.store(0, Ordering::Relaxed);
        self.item.store(0, Ordering::Relaxed);
        self.sync.store(SYNC_STARTED, Ordering::Relaxed);
    }

    /// Parent: whether the clone about to happen is the legacy one.
    pub fn set_legacy_clone(&self, legacy: bool) {
        self.legacy_clone
            .store(u32::from(legacy), Ordering::Relaxed);
    }

    /// Child: whether it was started by the legacy clone.
    #[inline(always)]
    pub fn legacy_clone(&self) -> bool {
        self.legacy_clone.load(Ordering::Relaxed) != 0
    }

    /// Child: entering `stage`.
    #[inline(always)]
    pub fn enter(&self, stage: Stage) {
        self.stage.store(stage as u32, Ordering::Relaxed);
    }

    /// Child: the current stage failed on `item` with `errno`.
    #[inline(always)]
    pub fn fail(&self, errno: i32, item: u32) {
        self.item.store(item, Ordering::Relaxed);
        self.errno.store(errno, Ordering::Release);
    }

    /// Parent, once the child has exec'd, exited or paused.
    pub fn outcome(&self) -> Outcome {
        if self.sync.load(Ordering::Acquire) == SYNC_PAUSED {
            return Outcome::Paused;
        }
        let errno = self.errno.load(Ordering::Acquire);
        let stage = Stage::from_u32(self.stage.load(Ordering::Relaxed)).unwrap_or(Stage::None);
        if errno != 0 {
            Outcome::Failed {
                stage,
                errno,
                item: self.item.load(Ordering::Relaxed),
            }
        } else if stage == Stage::Exec {
            Outcome::Exec
        } else {
            // A child that died before it recorded its first stage died in the spawn itself.
            let stage = if stage == Stage::None {
                Stage::Spawn
            } else {
                stage
            };
            Outcome::Died { stage }
        }
    }
}

//! Creating the child: its stack, clone3 with a fallback to clone, and what the kernel lacks.
//!
//! The child runs `entry(arg)` on a stack of its own inside a `SpawnArea`, and shares the
//! caller's memory (CLONE_VM) so that the cost of a spawn does not depend on the caller's size.

use std::ffi::c_void;
use std::ptr::NonNull;
#[cfg(target_arch = "x86_64")]
use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;
use nix::sys::mman::{MapFlags, MmapAdvise, ProtFlags, madvise, mmap_anonymous, mprotect, munmap};

use super::report::Report;
use crate::fork::Owner;

/// Bytes of stack for the child. Its frames are small (no formatting, no allocation, one 1 KiB
/// directory buffer), but glibc's posix_spawn keeps at least 32 KiB and unoptimised builds use
/// far bigger frames than release ones; an overflow hits the guard page, never the report.
const STACK_SIZE: usize = 128 * 1024;
const PAGE: usize = 4096;

/// One mapping: [report page][guard page][stack ..... top]. MAP_SHARED so that the report and
/// the futex words in it stay shared with a child that does not share the caller's memory.
///
/// Each thread keeps one and reuses it: a spawn is over (the child exec'd or died) before the
/// area is used again, so one per thread is enough and mmap is not paid per spawn. That area
/// is MADV_DONTFORK: a copy of the caller made by fork does not have it at all, so it can
/// neither read nor write the report and stack its parent may be spawning on at that moment.
/// The copy's thread still holds the cached value, whose owner is the parent (see
/// `fork::Owner`): the copy forgets it without munmap, since that range may hold a mapping of
/// the copy's own by then. A child with memory of its own (a joined time namespace) is such a
/// copy too: its spawn gets an area without MADV_DONTFORK, unmapped once the spawn is over.
pub struct SpawnArea {
    base: NonNull<c_void>,
    owner: Owner,
    /// Cached for the thread's next spawn (MADV_DONTFORK), or unmapped after this one.
    cached: bool,
}

const AREA_SIZE: usize = PAGE + PAGE + STACK_SIZE;

thread_local! {
    static CACHED_AREA: std::cell::Cell<Option<SpawnArea>> = const { std::cell::Cell::new(None) };
}

impl SpawnArea {
    /// This thread's area, or a new one; for a child with memory of its own, always a new one
    /// (see above).
    pub fn take(child_has_own_memory: bool) -> Result<SpawnArea, Errno> {
        if child_has_own_memory {
            return SpawnArea::new(false);
        }
        match CACHED_AREA.with(|cell| cell.take()) {
            Some(area) if area.owner == Owner::current() => Ok(area),
            Some(inherited) => {
                // The parent's, not mapped in this copy (MADV_DONTFORK).
                std::mem::forget(inherited);
                SpawnArea::new(true)
            }
            None => SpawnArea::new(true),
        }
    }

    /// Gives the area back for this thread's next spawn, or unmaps it.
    pub fn put_back(self) {
        if self.cached {
            CACHED_AREA.with(|cell| cell.set(Some(self)));
        }
    }

    fn new(cached: bool) -> Result<SpawnArea, Errno> {
        let size = std::num::NonZeroUsize::new(AREA_SIZE).expect("constant is non-zero");
        // SAFETY: a fresh anonymous mapping; nothing else refers to it.
        let base = unsafe {
            mmap_anonymous(
                None,
                size,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED | MapFlags::MAP_STACK,
            )?
        };
        let area = SpawnArea {
            base,
            owner: Owner::current(),
            cached,
        };
        // SAFETY: the guard page lies inside the mapping just made.
        unsafe { mprotect(area.at(PAGE), PAGE, ProtFlags::PROT_NONE)? };
        if cached {
            // SAFETY: advice on the mapping just made, which nothing else uses yet.
            unsafe { madvise(area.base, AREA_SIZE, MmapAdvise::MADV_DONTFORK)? };
        }
        Ok(area)
    }

    fn at(&self, offset: usize) -> NonNull<c_void> {
        // SAFETY: callers stay inside the mapping of AREA_SIZE bytes.
        unsafe { self.base.byte_add(offset) }
    }

    pub fn report(&self) -> &Report {
        // SAFETY: the first page is zero-filled at mmap and only ever holds a Report, whose
        // fields are atomics; it is page-aligned, so aligned for Report.
        unsafe { self.base.cast::<Report>().as_ref() }
    }

    /// The top of the stack, 16-byte aligned as both ABIs require at a call.
    fn stack_top(&self) -> *mut c_void {
        self.at(AREA_SIZE).as_ptr()
    }
}

impl Drop for SpawnArea {
    fn drop(&mut self) {
        // SAFETY: the mapping is ours and no child uses it any more (see `put_back`).
        let _ = unsafe { munmap(self.base, AREA_SIZE) };
    }
}

/// The child's first function. It never returns (it execs or exits); the `int` result is only
/// there because the C library's clone wants that type.
pub type ChildEntry = extern "C" fn(*mut c_void) -> libc::c_int;

/// What to ask the kernel for.
pub struct CloneRequest {
    /// CLONE_* flags, without CLONE_PIDFD and without CLONE_INTO_CGROUP (added here).
    pub flags: u64,
    /// A cgroup2 directory fd to start the child in (CLONE_INTO_CGROUP), when clone3 has it.
    pub cgroup: Option<i32>,
    /// Zeroed by the kernel, with a futex wake, when the child execs or exits
    /// (CLONE_CHILD_CLEARTID; only while the child shares the caller's memory), if set. Not
    /// CLONE_CHILD_SETTID: the word keeps the value the parent gave it until then.
    pub child_tid: Option<NonNull<u32>>,
}

/// What the legacy clone cannot do of `flags` (with a cgroup to start in or not), which the
/// child then does itself with unshare (after moving into the cgroup): a new time namespace
/// (clone3 only: legacy clone has no bit for it) and, with a cgroup, a new cgroup namespace,
/// which must be created after the move so that it is rooted at the cgroup as with clone3.
pub const fn legacy_leftover(flags: u64, cgroup: bool) -> u64 {
    let cgroup_ns = if cgroup {
        libc::CLONE_NEWCGROUP as u64
    } else {
        0
    };
    flags & (libc::CLONE_NEWTIME as u64 | cgroup_ns)
}

/// A started child.
pub struct Cloned {
    pub pid: i32,
    pub pidfd: std::os::fd::OwnedFd,
}

/// Set once clone3 has been found missing (ENOSYS, kernel < 5.3) or refused whatever it is
/// asked (EPERM from a seccomp profile such as older Docker defaults): later spawns go straight
/// to clone. Never set for a refusal of what one request asked for (new namespaces without the
/// privilege), which the next request may not ask for.
#[cfg(target_arch = "x86_64")]
static CLONE3_UNUSABLE: AtomicBool = AtomicBool::new(false);

/// Starts `entry(arg)` in a child on `area`'s stack.
///
/// # Safety
/// `entry` runs on the new stack in a process that shares the caller's memory (with
/// CLONE_VM): it must only use raw system calls and memory that `arg` keeps alive until the
/// child has exec'd or exited, and it must never return.
pub unsafe fn clone_child(
    request: &CloneRequest,
    area: &SpawnArea,
    entry: ChildEntry,
    arg: *mut c_void,
) -> Result<Cloned, Errno> {
    #[cfg(target_arch = "x86_64")]
    if !CLONE3_UNUSABLE.load(Ordering::Relaxed) {
        // SAFETY: forwarded from the caller.
        match unsafe { clone3(request, area, entry, arg) } {
            Err(Errno::ENOSYS) => CLONE3_UNUSABLE.store(true, Ordering::Relaxed),
            // EPERM: clone3 refused by a seccomp profile, or what was asked refused (new
            // namespaces without the privilege), which the legacy clone would refuse too, or
            // hide (it has no bit for CLONE_NEWTIME) until the child's unshare fails.
            Err(Errno::EPERM) if clone3_refused() => CLONE3_UNUSABLE.store(true, Ordering::Relaxed),
            // EINVAL: a flag this kernel's clone3 does not know (CLONE_CLEAR_SIGHAND before
            // 5.5, CLONE_INTO_CGROUP before 5.7). clone can still start the child.
            Err(Errno::EINVAL) => {}
            other => return other,
        }
    }
    // SAFETY: forwarded from the caller.
    unsafe { clone_legacy(request, area, entry, arg) }
}

/// Whether clone3 itself is refused, whatever it is asked. A seccomp filter sees the system
/// call number and the registers, never the `clone_args` they point to, so a profile that
/// refuses clone3 refuses it for any arguments: a clone3 without arguments, which the kernel
/// answers EINVAL before creating anything, tells a refused clone3 from a refused request.
#[cfg(target_arch = "x86_64")]
fn clone3_refused() -> bool {
    // SAFETY: clone3 with a NULL argument struct of size 0 is refused (EINVAL) before the
    // kernel reads anything or creates a process.
    let ret = unsafe { libc::syscall(libc::SYS_clone3, std::ptr::null::<CloneArgs>(), 0) };
    ret < 0 && Errno::last() != Errno::EINVAL
}

/// clone3-only flags (libc declares them as a too-narrow int).
#[cfg(target_arch = "x86_64")]
const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;
#[cfg(target_arch = "x86_64")]
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// `struct clone_args` up to `cgroup` (CLONE_ARGS_SIZE_VER2).
#[cfg(target_arch = "x86_64")]
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// clone3 with a stack of our own (the C library has no public clone3 wrapper).
///
/// # Safety
/// As for `clone_child`.
#[cfg(target_arch = "x86_64")]
unsafe fn clone3(
    request: &CloneRequest,
    area: &SpawnArea,
    entry: ChildEntry,
    arg: *mut c_void,
) -> Result<Cloned, Errno> {
    use std::os::fd::FromRawFd;

    let mut pidfd: i32 = -1;
    let mut flags = request.flags | libc::CLONE_PIDFD as u64 | CLONE_CLEAR_SIGHAND;
    if request.child_tid.is_some() {
        flags |= libc::CLONE_CHILD_CLEARTID as u64;
    }
    let mut args = CloneArgs {
        flags,
        pidfd: &raw mut pidfd as u64,
        child_tid: request.child_tid.map_or(0, |p| p.as_ptr() as u64),
        exit_signal: libc::SIGCHLD as u64,
        stack: area.at(2 * PAGE).as_ptr() as u64,
        stack_size: STACK_SIZE as u64,
        ..CloneArgs::default()
    };
    if let Some(cgroup) = request.cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = cgroup as u64;
    }
    area.report().set_legacy_clone(false);
    // SAFETY: forwarded from the caller; clone3 reads `args` and writes `pidfd`, both alive
    // on this stack for the call.
    let ret = unsafe {
        clone_syscall(
            libc::SYS_clone3,
            [&raw mut args as usize, size_of::<CloneArgs>(), 0, 0, 0],
            entry,
            arg,
        )
    };
    if ret < 0 {
        return Err(Errno::from_raw(-ret as i32));
    }
    Ok(Cloned {
        pid: ret as i32,
        // SAFETY: CLONE_PIDFD stored a new close-on-exec pidfd that nothing else owns.
        pidfd: unsafe { std::os::fd::OwnedFd::from_raw_fd(pidfd) },
    })
}

/// A clone-family system call whose child starts `entry(arg)` on the stack the call gives it.
/// A plain syscall cannot return into Rust on a new stack, so the child branch is written here
/// in assembly: it calls `entry(arg)` on the new stack and never comes back. The C library's
/// clone() is not used: tools that interpose it (ThreadSanitizer's runtime, for one) run their
/// own bookkeeping in the child, which must run nothing but sprout's raw system calls.
/// Returns the kernel's raw result in the parent.
///
/// # Safety
/// `args` are valid for system call `nr` (clone or clone3) with a new stack, and `entry`/`arg`
/// are as for `clone_child`.
#[cfg(target_arch = "x86_64")]
unsafe fn clone_syscall(nr: i64, args: [usize; 5], entry: ChildEntry, arg: *mut c_void) -> isize {
    let ret: isize;
    // SAFETY: in the parent this is a plain system call on the caller's arguments. In the
    // child (rax == 0) the kernel has already switched to the new stack, whose top is 16-byte
    // aligned, so `call` enters `entry` with the alignment the ABI requires; r12/r13 hold the
    // same values in both processes because the child starts as a copy of the parent's
    // registers. `entry` never returns, and ud2 stops the child if it ever did.
    unsafe {
        std::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "xor ebp, ebp",
            "mov rdi, r12",
            "call r13",
            "ud2",
            "2:",
            inlateout("rax") nr as isize => ret,
            in("rdi") args[0],
            in("rsi") args[1],
            in("rdx") args[2],
            in("r10") args[3],
            in("r8") args[4],
            in("r12") arg,
            in("r13") entry,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// The legacy clone, where clone3 is missing or refused. CLONE_PIDFD (Linux 5.2) puts the
/// pidfd where clone's parent_tid would go. On x86_64 it is the raw system call with the same
/// stack switch as clone3; elsewhere the C library's clone(), which does the switch for every
/// architecture.
///
/// # Safety
/// As for `clone_child`.
unsafe fn clone_legacy(
    request: &CloneRequest,
    area: &SpawnArea,
    entry: ChildEntry,
    arg: *mut c_void,
) -> Result<Cloned, Errno> {
    use std::os::fd::FromRawFd;

    area.report().set_legacy_clone(true);
    let mut pidfd: i32 = -1;
    let kept = request.flags & !legacy_leftover(request.flags, request.cgroup.is_some());
    let mut flags = kept as libc::c_int | libc::CLONE_PIDFD | libc::SIGCHLD;
    let child_tid = request
        .child_tid
        .map_or(std::ptr::null_mut(), |p| p.as_ptr());
    if !child_tid.is_null() {
        flags |= libc::CLONE_CHILD_CLEARTID;
    }
    // SAFETY: x86_64's clone takes (flags, stack, parent_tid, child_tid, tls); the pidfd slot
    // and the child_tid word stay alive for the call (the latter until the child has exec'd,
    // which the caller of clone_child guarantees); the caller vouches for `entry` and `arg`.
    #[cfg(target_arch = "x86_64")]
    let pid = match unsafe {
        clone_syscall(
            libc::SYS_clone,
            [
                flags as u32 as usize,
                area.stack_top() as usize,
                &raw mut pidfd as usize,
                child_tid as usize,
                0,
            ],
            entry,
            arg,
        )
    } {
        ret if ret < 0 => return Err(Errno::from_raw(-ret as i32)),
        pid => pid as i32,
    };
    // SAFETY: the caller vouches for `entry` and `arg`; the C library's clone switches to the
    // area's stack and calls `entry(arg)` in the child.
    #[cfg(not(target_arch = "x86_64"))]
    let pid = match unsafe {
        libc::clone(
            entry,
            area.stack_top(),
            flags,
            arg,
            &raw mut pidfd,
            std::ptr::null_mut::<c_void>(),
            child_tid,
        )
    } {
        pid if pid < 0 => return Err(Errno::last()),
        pid => pid,
    };
    Ok(Cloned {
        pid,
        // SAFETY: CLONE_PIDFD stored a new close-on-exec pidfd that nothing else owns.
        pidfd: unsafe { std::os::fd::OwnedFd::from_raw_fd(pidfd) },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's view of the area: its mappings in /proc/self/maps, as (start, end, perms).
    fn mappings_of(area: &SpawnArea) -> Vec<(usize, usize, String)> {
        let base = area.base.as_ptr() as usize;
        std::fs::read_to_string("/proc/self/maps")
            .unwrap()
            .lines()
            .filter_map(|line| {
                let mut fields = line.split_whitespace();
                let (start, end) = fields.next()?.split_once('-')?;
                let start = usize::from_str_radix(start, 16).ok()?;
                let end = usize::from_str_radix(end, 16).ok()?;
                let perms = fields.next()?.to_owned();
                (start >= base && end <= base + AREA_SIZE).then_some((start, end, perms))
            })
            .collect()
    }

    /// A copy made by fork must not even see the area its parent spawns on; an area for a
    /// child with memory of its own must stay in it.
    #[test]
    fn a_forked_copy_has_no_cached_area_but_keeps_an_own_memory_one() {
        let cached = SpawnArea::new(true).unwrap();
        let own_memory = SpawnArea::new(false).unwrap();
        // SAFETY: the copy makes only system calls (mincore, _exit) before it ends.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let mapped = |area: &SpawnArea| {
                let mut resident = [0u8; 1];
                // SAFETY: mincore of one page into a one-byte vector; ENOMEM when unmapped.
                unsafe { libc::mincore(area.base.as_ptr(), PAGE, resident.as_mut_ptr()) == 0 }
            };
            let code = if !mapped(&cached) && mapped(&own_memory) {
                0
            } else {
                1
            };
            // SAFETY: ends the copy without running anything of the parent's.
            unsafe { libc::_exit(code) };
        }
        assert!(pid > 0);
        let mut status = 0;
        // SAFETY: waits for the copy just made.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert_eq!(
            status, 0,
            "the copy saw the cached area, or lost the other one"
        );
    }

    #[test]
    fn the_child_stack_is_large_and_an_overflow_hits_a_guard_page_not_the_report() {
        let area = SpawnArea::new(true).unwrap();
        let base = area.base.as_ptr() as usize;
        let maps = mappings_of(&area);
        let find = |address: usize| maps.iter().find(|(s, e, _)| (*s..*e).contains(&address));
        assert!(
            find(base).unwrap().2.starts_with("rw"),
            "report page: {maps:?}"
        );
        assert!(
            find(base + PAGE).unwrap().2.starts_with("---"),
            "guard page: {maps:?}"
        );
        let stack = find(base + 2 * PAGE).unwrap();
        assert!(stack.2.starts_with("rw"), "stack: {maps:?}");
        assert_eq!(
            stack.1,
            base + AREA_SIZE,
            "the stack runs to the top of the area"
        );
        // glibc's posix_spawn keeps at least 32 KiB; the child's frames are far smaller.
        assert!(stack.1 - stack.0 >= 32 * 1024);
        assert_eq!(
            area.stack_top() as usize % 16,
            0,
            "the ABI wants a 16-byte aligned stack"
        );
    }
}

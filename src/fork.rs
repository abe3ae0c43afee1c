//! What a copy of the caller made by fork() finds of the library.
//!
//! A copy has one thread, the one that called fork, and a copy of all memory: a lock that
//! another thread held at that moment stays held for ever there, and whatever the library
//! keeps per process (the spawn areas, the process table) is its parent's. So:
//!
//! - Every process-wide lock of the library is a `Lock`, and the fork handlers take them all
//!   before fork (`prepare`), release them in the parent and reset them in the copy. A `Lock`
//!   is a plain futex word rather than parking_lot's mutex: releasing the latter when a thread
//!   was parked on it goes through parking_lot's global table of parked threads, whose own
//!   locks a thread of the parent may have held at fork, so the copy could hang right there.
//! - `Owner::current()` names the process as the pid and a fork generation that the handler
//!   bumps in every copy: what belongs to one process (a spawn area, the table's processes)
//!   records its owner and is given up when found in another. The pid alone was not enough:
//!   pid 1 of a new PID namespace has the pid of the pid 1 that forked it. The pid still
//!   catches a copy made without the C library's fork (a raw clone, `_Fork`), where no
//!   handler runs. It is kept in a page the kernel wipes in every copy, however made
//!   (MADV_WIPEONFORK), so that a spawn and its wait do not ask the kernel for it five times.
//! - Lazily initialised statics are initialised before fork: an initialisation under way on
//!   another thread would never finish in the copy.
//!
//! The handlers are registered when the library is loaded (an ELF constructor), not at first
//! use: a first use racing a fork on another thread could otherwise leave the copy with a
//! half-made registration to wait for. glibc's `pthread_atfork` (from libc_nonshared.a)
//! registers them under this library's `__dso_handle`, so a `dlclose` that unloads the library
//! removes them too.

use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};

use parking_lot::lock_api::{self, GuardNoSend, RawMutex as _};

/// A mutex the fork handlers know how to hand over to a copy (see the module comment). Only
/// for the library's process-wide state, held briefly and never two at a time.
pub type Lock<T> = lock_api::Mutex<RawLock, T>;
pub type LockGuard<'a, T> = lock_api::MutexGuard<'a, RawLock, T>;
pub type MappedLockGuard<'a, T> = lock_api::MappedMutexGuard<'a, RawLock, T>;

/// A futex word: 0 free, 1 held, 2 held with threads (maybe) waiting.
pub struct RawLock {
    state: AtomicU32,
}

const FREE: u32 = 0;
const HELD: u32 = 1;
const CONTENDED: u32 = 2;

// SAFETY: `lock` returns only once this thread moved the word from FREE to HELD or CONTENDED
// (acquire), and `unlock` stores FREE (release): one holder at a time.
unsafe impl lock_api::RawMutex for RawLock {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: RawLock = RawLock {
        state: AtomicU32::new(FREE),
    };

    type Guard = GuardNoSend;

    fn lock(&self) -> GuardNoSend {
        if self
            .state
            .compare_exchange(FREE, HELD, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        GuardNoSend::new()
    }

    fn try_lock(&self) -> Option<GuardNoSend> {
        self.state
            .compare_exchange(FREE, HELD, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| GuardNoSend::new())
    }

    unsafe fn unlock(&self, _guard: GuardNoSend) {
        if self.state.swap(FREE, Ordering::Release) == CONTENDED {
            self.futex(libc::FUTEX_WAKE, 1);
        }
    }

    fn is_locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) != FREE
    }
}

impl RawLock {
    #[cold]
    fn lock_contended(&self) {
        // The holders only touch a small map: spin a little before sleeping.
        for _ in 0..100 {
            if self.state.load(Ordering::Relaxed) == FREE
                && self
                    .state
                    .compare_exchange(FREE, HELD, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                return;
            }
            std::hint::spin_loop();
        }
        // Whoever takes it from here on marks it CONTENDED, so that its release wakes a waiter.
        while self.state.swap(CONTENDED, Ordering::Acquire) != FREE {
            self.futex(libc::FUTEX_WAIT, CONTENDED);
        }
    }

    fn futex(&self, op: i32, value: u32) {
        // SAFETY: a futex operation on this word, which lives as long as `self`; FUTEX_WAIT
        // returns at once if the word no longer holds `value`, and on a signal.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                self.state.as_ptr(),
                op | libc::FUTEX_PRIVATE_FLAG,
                value,
                std::ptr::null::<libc::timespec>(),
            )
        };
    }
}

/// The library's process-wide locks, each held only briefly and never together with another,
/// so the prepare handler may take them in any order. Lazily made ones are made here, before
/// fork.
fn locks() -> [&'static RawLock; 3] {
    [
        crate::table::lock_word(),
        crate::ffi::tty::lock_word(),
        crate::spawn::dumpable::lock_word(),
    ]
}

/// The word of `lock`, for the fork handlers.
pub fn word<T>(lock: &'static Lock<T>) -> &'static RawLock {
    // SAFETY: the word is only taken and released by the handlers as a holder would, or reset
    // in a copy where no thread holds it any more.
    unsafe { lock.raw() }
}

/// Counts the forks this process descends from (in this process's own line).
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Which process something belongs to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Owner {
    pid: u32,
    generation: u64,
}

impl Owner {
    /// This process.
    pub fn current() -> Owner {
        Owner {
            pid: pid(),
            generation: GENERATION.load(Ordering::Relaxed),
        }
    }
}

/// Where `pid()` keeps the pid: a page of its own that the kernel hands every copy of the
/// process zero-filled (MADV_WIPEONFORK, Linux 4.14), whatever made the copy; 0 there means
/// "ask again". Null where the page could not be made: then the pid is asked each time.
static PID_PAGE: AtomicPtr<AtomicU32> = AtomicPtr::new(std::ptr::null_mut());

/// This process's pid, as `std::process::id()`, without a system call once known.
pub(crate) fn pid() -> u32 {
    // SAFETY: a non-null PID_PAGE is a page mapped for the life of the process, never unmapped
    // (see `map_pid_page`), holding an AtomicU32 at its start.
    let page = unsafe { PID_PAGE.load(Ordering::Acquire).as_ref() };
    match page.map(|word| word.load(Ordering::Relaxed)) {
        Some(pid) if pid != 0 => pid,
        _ => {
            let pid = std::process::id();
            if let Some(word) = page {
                word.store(pid, Ordering::Relaxed);
            }
            pid
        }
    }
}

/// Maps the page of `pid()`, for the life of the process: nothing tells when the last thread
/// using it is done, and it is 4 KiB per load of the library.
fn map_pid_page() {
    // SAFETY: a fresh private anonymous mapping, then advice on it alone; it is published only
    // once the advice holds, and unmapped while nothing else knows of it.
    unsafe {
        let page = libc::mmap(
            std::ptr::null_mut(),
            PAGE_SIZE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if page == libc::MAP_FAILED {
            return;
        }
        if libc::madvise(page, PAGE_SIZE, libc::MADV_WIPEONFORK) != 0 {
            libc::munmap(page, PAGE_SIZE);
            return;
        }
        PID_PAGE.store(page.cast(), Ordering::Release);
    }
}

/// Enough for one AtomicU32 on any page size Linux uses (the mapping is rounded up).
const PAGE_SIZE: usize = 4096;

extern "C" fn prepare() {
    for lock in locks() {
        // Released by `parent` or reset by `child`: the guard is not kept.
        let _ = lock.lock();
    }
}

extern "C" fn parent() {
    for lock in locks() {
        // SAFETY: `prepare` took every lock on this thread.
        unsafe { lock.unlock(GuardNoSend::new()) };
    }
}

extern "C" fn child() {
    GENERATION.fetch_add(1, Ordering::Relaxed);
    for lock in locks() {
        // The threads that waited for it do not exist here.
        lock.state.store(FREE, Ordering::Relaxed);
    }
    crate::spawn::dumpable::forked_copy();
}

extern "C" fn register() {
    // SAFETY: three functions that live as long as the library. ENOMEM at load time cannot be
    // reported to anyone; the library then works as before, without fork safety.
    let _ = unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
    map_pid_page();
}

// Run by the dynamic loader (or the C runtime of a static program) when the library is loaded.
#[used]
#[unsafe(link_section = ".init_array")]
static REGISTER: extern "C" fn() = register;

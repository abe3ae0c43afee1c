//! Raw Linux system calls for the child, issued with inline assembly.
//!
//! The child shares the caller's memory and, without CLONE_SETTLS, the calling thread's TLS.
//! libc's `syscall()` writes `errno` (a TLS variable of the caller's thread) and glibc's named
//! wrappers may take locks or, for the id calls, signal every thread of the caller. These
//! functions do neither: the kernel's result comes back in a register, and nothing else is
//! touched.

use core::arch::asm;

/// A kernel return value: `Ok(value)` or `Err(errno)`.
pub type SysResult = Result<usize, i32>;

#[inline(always)]
fn result(ret: isize) -> SysResult {
    // The kernel returns -4095..-1 for errors, anything else is a value.
    if (-4095..0).contains(&ret) {
        Err(-ret as i32)
    } else {
        Ok(ret as usize)
    }
}

/// # Safety
/// The caller must pass arguments that are valid for system call `nr`: pointers into memory
/// that stays alive and, for output pointers, writable for the call.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn syscall6(
    nr: i64,
    a: usize,
    b: usize,
    c: usize,
    d: usize,
    e: usize,
    f: usize,
) -> SysResult {
    let ret: isize;
    // SAFETY: the `syscall` instruction clobbers only rax (result), rcx and r11; the caller
    // vouches for the arguments.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a, in("rsi") b, in("rdx") c, in("r10") d, in("r8") e, in("r9") f,
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    result(ret)
}

/// # Safety
/// As for the x86_64 version.
#[cfg(target_arch = "aarch64")]
#[inline(always)]
pub unsafe fn syscall6(
    nr: i64,
    a: usize,
    b: usize,
    c: usize,
    d: usize,
    e: usize,
    f: usize,
) -> SysResult {
    let ret: isize;
    // SAFETY: `svc 0` returns in x0 and clobbers nothing else; the caller vouches for the
    // arguments.
    unsafe {
        asm!(
            "svc 0",
            in("x8") nr,
            inlateout("x0") a => ret, in("x1") b, in("x2") c, in("x3") d, in("x4") e, in("x5") f,
            options(nostack),
        );
    }
    result(ret as isize)
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("sprout's child path issues raw system calls for x86_64 and aarch64 only");

/// Shorthand for calls with fewer arguments.
macro_rules! sys {
    ($nr:expr) => { $crate::spawn::sys::syscall6($nr, 0, 0, 0, 0, 0, 0) };
    ($nr:expr, $a:expr) => { $crate::spawn::sys::syscall6($nr, $a as usize, 0, 0, 0, 0, 0) };
    ($nr:expr, $a:expr, $b:expr) => {
        $crate::spawn::sys::syscall6($nr, $a as usize, $b as usize, 0, 0, 0, 0)
    };
    ($nr:expr, $a:expr, $b:expr, $c:expr) => {
        $crate::spawn::sys::syscall6($nr, $a as usize, $b as usize, $c as usize, 0, 0, 0)
    };
    ($nr:expr, $a:expr, $b:expr, $c:expr, $d:expr) => {
        $crate::spawn::sys::syscall6($nr, $a as usize, $b as usize, $c as usize, $d as usize, 0, 0)
    };
    ($nr:expr, $a:expr, $b:expr, $c:expr, $d:expr, $e:expr) => {
        $crate::spawn::sys::syscall6(
            $nr, $a as usize, $b as usize, $c as usize, $d as usize, $e as usize, 0,
        )
    };
}
pub(crate) use sys;

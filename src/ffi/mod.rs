//! The C boundary: the only code that reads pointers from C. Each `extern "C"` function checks
//! its pointers and sizes, converts to owned Rust values, calls the safe core, and turns the
//! result into a return code (0, a count or an fd, or a negative errno) and a `sprout_error`.
//! No panic crosses this boundary: each body runs under `catch_unwind`.

mod args;
mod landlock;
mod process;
pub(crate) mod tty;
pub mod types;

use std::ffi::c_char;
use std::panic::{AssertUnwindSafe, catch_unwind};

use nix::errno::Errno;

use crate::error::{Error, Stage};
use types::sprout_error;

/// The return code for a panic caught at the boundary: a bug in sprout, never the caller's.
const PANIC_ERRNO: Errno = Errno::ENOTRECOVERABLE;

/// Runs `body`, reports its error in `err` (when non-NULL) and returns its value or `-errno`.
/// `err` is cleared first, so a caller can tell a success from a stale error.
fn with_error(err: *mut sprout_error, body: impl FnOnce() -> Result<i32, Error>) -> i32 {
    let mut err = match writable(err) {
        Ok(err) => err,
        Err(errno) => return -(errno as i32),
    };
    if let Some(err) = err.as_deref_mut() {
        err.code = 0;
        err.stage = Stage::None as u32;
        err.message[0] = 0;
    }
    let result = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(Error::new(
            Stage::None,
            PANIC_ERRNO,
            format!("internal error in sprout: {what}"),
        ))
    });
    match result {
        Ok(value) => value,
        Err(error) => {
            if let Some(err) = err {
                fill(err, &error);
            }
            error.to_return()
        }
    }
}

/// Runs `body` for a function without a `sprout_error`: its value or `-errno`.
fn with_errno(body: impl FnOnce() -> Result<i32, Errno>) -> i32 {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => value,
        Ok(Err(errno)) => -(errno as i32),
        Err(_) => -(PANIC_ERRNO as i32),
    }
}

fn fill(err: &mut sprout_error, error: &Error) {
    err.code = error.errno as i32;
    err.stage = error.stage as u32;
    let text = error.to_string();
    let mut len = text.len().min(err.message.len() - 1);
    while !text.is_char_boundary(len) {
        len -= 1;
    }
    for (dst, &src) in err.message.iter_mut().zip(&text.as_bytes()[..len]) {
        *dst = src as c_char;
    }
    err.message[len] = 0;
}

/// A caller's optional output pointer: NULL is `None`, a misaligned one is `EINVAL`.
fn writable<'a, T>(ptr: *mut T) -> Result<Option<&'a mut T>, Errno> {
    if ptr.is_null() {
        return Ok(None);
    }
    if !ptr.is_aligned() {
        return Err(Errno::EINVAL);
    }
    // SAFETY: non-NULL and aligned; the C caller vouches that it points to a writable T.
    Ok(Some(unsafe { &mut *ptr }))
}

/// A caller's optional input pointer: NULL is `None`, a misaligned one is `EINVAL`.
fn readable<'a, T>(ptr: *const T) -> Result<Option<&'a T>, Errno> {
    if ptr.is_null() {
        return Ok(None);
    }
    if !ptr.is_aligned() {
        return Err(Errno::EINVAL);
    }
    // SAFETY: non-NULL and aligned; the C caller vouches that it points to a readable T.
    Ok(Some(unsafe { &*ptr }))
}

/// A caller's array of `len` items: empty when `len` is 0 (whatever `ptr`), `EINVAL` when NULL
/// or misaligned with a non-zero length, or when the byte size overflows.
fn slice<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], Errno> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null()
        || !ptr.is_aligned()
        || len
            .checked_mul(size_of::<T>())
            .is_none_or(|n| n > isize::MAX as usize)
    {
        return Err(Errno::EINVAL);
    }
    // SAFETY: checked above; the C caller vouches for `len` readable items.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

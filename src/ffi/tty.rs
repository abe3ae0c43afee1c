//! The C faces of the TTY handle. No function here trusts the pointer it is given: a handle is
//! looked up among the live ones first, and anything else is `-EBADF`.
//!
//! Until terminals are supported (stdio terminals are refused with `-ENOTSUP`), no handle is
//! ever live, so every call answers `-EBADF`.

use super::types::sprout_tty;

const NOT_A_HANDLE: i32 = -libc::EBADF;

/// The handle's duplicate of the terminal fd, still owned by the handle.
#[unsafe(no_mangle)]
pub extern "C" fn sprout_tty_fd(_tty: *const sprout_tty) -> i32 {
    NOT_A_HANDLE
}

/// Sets the terminal's window size (TIOCSWINSZ); the foreground group gets SIGWINCH.
#[unsafe(no_mangle)]
pub extern "C" fn sprout_tty_resize(_tty: *mut sprout_tty, _rows: u16, _cols: u16) -> i32 {
    NOT_A_HANDLE
}

/// The terminal's foreground process group.
#[unsafe(no_mangle)]
pub extern "C" fn sprout_tty_foreground(_tty: *const sprout_tty, _pgid: *mut i32) -> i32 {
    NOT_A_HANDLE
}

/// Makes `pgid` the terminal's foreground process group.
#[unsafe(no_mangle)]
pub extern "C" fn sprout_tty_set_foreground(_tty: *mut sprout_tty, _pgid: i32) -> i32 {
    NOT_A_HANDLE
}

/// Sends `sig` to the terminal's foreground process group.
#[unsafe(no_mangle)]
pub extern "C" fn sprout_tty_signal_foreground(_tty: *mut sprout_tty, _sig: i32) -> i32 {
    NOT_A_HANDLE
}

/// Frees the handle and closes its fd.
#[unsafe(no_mangle)]
pub extern "C" fn sprout_tty_release(_tty: *mut sprout_tty) -> i32 {
    NOT_A_HANDLE
}

//! A seccomp user-notification listener for the caller (`SECCOMP_FILTER_FLAG_NEW_LISTENER`),
//! parent side: which filters the child can install with one, and receiving it.
//!
//! The child installs the filter, which gives it the listener fd, and sends it to the parent
//! over the handover socket (SCM_RIGHTS) before it closes it and execs: so the listener never
//! reaches the program, the parent gets it without ptrace rights over the child (which
//! pidfd_getfd would need, and which a child that changed its ids no longer grants an
//! unprivileged caller), and a plain spawn keeps CLONE_VFORK (the message waits in the socket
//! until the parent reads it, once the child has exec'd).

use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};

use super::plan::{Plan, SeccompWhen};
use super::seccomp_action::{THIS_ARCH, action_for};
use crate::error::{Error, Result, Stage};

/// The system calls the child makes after installing a filter before its credentials change
/// (without no_new_privs), beyond those of `AFTER_ANY_FILTER`.
const AFTER_EARLY_FILTER: &[(libc::c_long, &str)] = &[
    (libc::SYS_getgroups, "getgroups"),
    (libc::SYS_setgroups, "setgroups"),
    (libc::SYS_setresgid, "setresgid"),
    (libc::SYS_setresuid, "setresuid"),
    (libc::SYS_capget, "capget"),
    (libc::SYS_capset, "capset"),
    (libc::SYS_prctl, "prctl"),
    (libc::SYS_getppid, "getppid"),
    (libc::SYS_getpid, "getpid"),
    (libc::SYS_kill, "kill"),
    (libc::SYS_rt_sigprocmask, "rt_sigprocmask"),
    (libc::SYS_ptrace, "ptrace"),
    (libc::SYS_landlock_restrict_self, "landlock_restrict_self"),
];

/// What the child calls after any filter with a listener: handing it over.
const AFTER_ANY_FILTER: &[(libc::c_long, &str)] =
    &[(libc::SYS_sendmsg, "sendmsg"), (libc::SYS_close, "close")];

/// What a paused child calls to pause and to wait for its verdict.
const TO_PAUSE: &[(libc::c_long, &str)] = &[(libc::SYS_futex, "futex"), (libc::SYS_read, "read")];

/// What runs the program.
const TO_EXEC: &[(libc::c_long, &str)] = &[
    (libc::SYS_execve, "execve"),
    (libc::SYS_execveat, "execveat"),
];

/// Refuses a filter with a listener that may send to it a call the child itself makes before
/// its program runs: nobody holds the listener yet to answer (the child would wait for ever,
/// and the caller with it). The execve that starts the program is one, unless the start is
/// paused: the caller then takes the listener before `sprout_start` and can answer it.
pub fn check_filter(plan: &Plan) -> Result<()> {
    let Some(seccomp) = plan.seccomp.as_ref().filter(|s| s.has_listener()) else {
        return Ok(());
    };
    let early: &[_] = match seccomp.when {
        SeccompWhen::BeforeCredentials => AFTER_EARLY_FILTER,
        SeccompWhen::BeforeExec => &[],
    };
    let pause: &[_] = if plan.spec.paused { TO_PAUSE } else { &[] };
    let exec: &[_] = if plan.spec.paused { &[] } else { TO_EXEC };
    let filter = &plan.spec.seccomp_filter;
    for &(nr, name) in early
        .iter()
        .chain(AFTER_ANY_FILTER)
        .chain(pause)
        .chain(exec)
    {
        let notifies = match action_for(filter, nr as u32, THIS_ARCH) {
            None => "may send",
            Some(action)
                if action & libc::SECCOMP_RET_ACTION_FULL == libc::SECCOMP_RET_USER_NOTIF =>
            {
                "sends"
            }
            Some(_) => continue,
        };
        let hint = if exec.iter().any(|&(call, _)| call == nr) {
            "; with SPROUT_EXEC2_PAUSED the caller takes the listener first and answers it"
        } else {
            ""
        };
        return Err(Error::args(
            Errno::EINVAL,
            format!(
                "seccomp_filter {notifies} {name} ({nr}) to its listener \
                 (SECCOMP_RET_USER_NOTIF), and the process calls it before its program runs, \
                 when nobody could answer{hint}"
            ),
        ));
    }
    Ok(())
}

/// The listener the child sent over `socket`, once it has exec'd or paused (the message is
/// queued by then): a new close-on-exec fd.
pub fn receive(socket: &OwnedFd) -> Result<OwnedFd> {
    let failed = |errno| {
        Error::new(
            Stage::Seccomp,
            errno,
            "receiving the seccomp listener from the child",
        )
    };
    let mut byte = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!(std::os::fd::RawFd);
    let message = loop {
        match recvmsg::<()>(
            socket.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(Errno::EINTR) => continue,
            other => break other.map_err(failed)?,
        }
    };
    let mut fds = Vec::new();
    for control in message.cmsgs().map_err(failed)? {
        if let ControlMessageOwned::ScmRights(rights) = control {
            // SAFETY: SCM_RIGHTS gave this process new fds that nothing else owns.
            fds.extend(
                rights
                    .into_iter()
                    .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
            );
        }
    }
    let mut fds = fds.into_iter();
    match (fds.next(), fds.next()) {
        (Some(listener), None) => Ok(listener),
        // No room for the fd in this process (RLIMIT_NOFILE): the kernel drops it.
        _ if message.flags.contains(MsgFlags::MSG_CTRUNC) => Err(failed(Errno::EMFILE)),
        _ => Err(failed(Errno::EPROTO)),
    }
}

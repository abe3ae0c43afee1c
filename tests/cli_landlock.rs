//! `sprout run`'s `--landlock-*` flags, seen from the sandboxed probe: files outside the
//! allowed paths, ports outside the lists, signals outside the sandbox are refused by the
//! kernel; the same as root and as an unprivileged user (with --no-new-privs).

mod common;

use std::os::unix::process::CommandExt;
use std::process::{Command, Output, Stdio};

fn landlock_abi() -> i64 {
    // SAFETY: LANDLOCK_CREATE_RULESET_VERSION reads no attribute.
    unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            1u32,
        )
    }
}

/// `sprout run FLAGS -- probe COMMANDS`, as `uid` (0: as the test runs).
fn run(uid: u32, flags: &[&str], commands: &[&str]) -> Output {
    let probe = common::c::probe();
    // Run as `uid`, which must reach the binary (a checkout under a 0700 /root: a copy).
    let sprout = common::c::reachable_copy(std::path::Path::new(env!("CARGO_BIN_EXE_sprout")));
    let mut command = Command::new(sprout);
    command
        .arg("run")
        .args(flags)
        .arg("--")
        .arg(probe)
        .args(commands)
        .stdin(Stdio::null());
    if uid != 0 {
        // std drops the supplementary groups when root changes uid.
        command.uid(uid).gid(uid);
    }
    command.output().unwrap()
}

fn lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// What the issue asks of the command line, for one caller.
fn sandbox_as(uid: u32) {
    let probe = common::c::probe();
    let dir =
        std::env::temp_dir().join(format!("sprout-cli-landlock-{}-{uid}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("file"), "x").unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let base = 30000 + (std::process::id() % 10000) as u16 + if uid == 0 { 0 } else { 20000 };
    let (allowed, denied) = (base.to_string(), (base + 1).to_string());
    let flags = [
        "--no-new-privs",
        "--landlock-ro",
        "/usr",
        "--landlock-ro",
        dir.to_str().unwrap(),
        "--landlock-ro",
        probe.to_str().unwrap(),
        "--landlock-bind",
        &allowed,
        "--landlock-scope",
        "signal,abstract-unix",
    ];
    let file = dir.join("file");
    let output = run(
        uid,
        &flags,
        &[
            "open",
            "/etc/passwd",
            "open",
            file.to_str().unwrap(),
            "bind",
            &allowed,
            "bind",
            &denied,
            "kill",
            "ppid",
            "0",
        ],
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        lines(&output),
        [
            "open=errno 13 (Permission denied)",
            "open=ok",
            "bind=ok",
            "bind=errno 13 (Permission denied)",
            "kill=errno 1 (Operation not permitted)",
        ],
        "as uid {uid}"
    );
}

/// Without the flags, the same probe reaches all of it (so the refusals above are Landlock's).
fn unsandboxed_as(uid: u32) {
    let output = run(uid, &[], &["open", "/usr/bin/env", "kill", "ppid", "0"]);
    assert_eq!(
        lines(&output),
        ["open=ok", "kill=ok"],
        "as uid {uid}: {output:?}"
    );
}

#[test]
fn landlock_flags_sandbox_the_program_as_root_and_as_nobody() {
    if landlock_abi() < 6 {
        common::c::skip("this kernel's Landlock has no scopes (ABI 6)");
        return;
    }
    for uid in [0, 65534] {
        unsandboxed_as(uid);
        sandbox_as(uid);
    }
}

#[test]
fn an_unprivileged_caller_needs_no_new_privs_and_is_told_so() {
    if landlock_abi() < 1 {
        common::c::skip("this kernel has no Landlock");
        return;
    }
    let output = run(65534, &["--landlock-ro", "/usr"], &["exit", "0"]);
    assert_eq!(output.status.code(), Some(125), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("sprout: landlock: ") && stderr.contains("without no_new_privs"),
        "{stderr}"
    );
    let output = run(0, &["--landlock-scope", "ipc"], &["exit", "0"]);
    assert_eq!(output.status.code(), Some(125), "{output:?}");
    let output = run(0, &["--landlock-bind", "70000"], &["exit", "0"]);
    assert_eq!(output.status.code(), Some(125), "{output:?}");
}

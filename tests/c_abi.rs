//! Builds the C tests in c-tests/ with the system C compiler against the committed header
//! and the freshly built libsprout.so, and runs them. One Rust test per C file.

mod common;

use common::c::{run_c_test, run_c_test_with};

/// Fails when a c-tests/test_*.c file has no Rust test below, so none is forgotten.
#[test]
fn every_c_test_file_is_run() {
    // Without whitespace, so that rustfmt's line breaks do not matter.
    let listed: String = include_str!("c_abi.rs").split_whitespace().collect();
    for entry in std::fs::read_dir(common::c::root().join("c-tests")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(stem) = name
            .strip_prefix("test_")
            .and_then(|n| n.strip_suffix(".c"))
        {
            assert!(
                listed.contains(&format!("run_c_test(\"{stem}\")"))
                    || listed.contains(&format!("run_c_test_with(\"{stem}\",")),
                "c-tests/{name} is not run by tests/c_abi.rs"
            );
        }
    }
}

#[test]
fn exec_support() {
    run_c_test("exec_support");
}

#[test]
fn core() {
    run_c_test("core");
}

#[test]
fn privileges() {
    run_c_test("privileges");
}

#[test]
fn tty() {
    run_c_test("tty");
}

/// Under AddressSanitizer: misused handles must not touch freed memory.
#[test]
fn tty_misuse() {
    run_c_test_with(
        "tty_misuse",
        &["-fsanitize=address", "-fno-omit-frame-pointer"],
    );
}

#[test]
fn core_fds() {
    run_c_test("core_fds");
}

#[test]
fn core_exec() {
    run_c_test("core_exec");
}

#[test]
fn core_table() {
    run_c_test("core_table");
}

/// Hostile callers of the process table: 8 threads for 30 s, then 20,000 mixed spawns.
#[test]
fn table_stress() {
    run_c_test("table_stress");
}

#[test]
fn namespaces() {
    run_c_test("namespaces");
}

/// Issue 9's bad-input table: each row's errno, stage and culprit, the caller unchanged.
#[test]
fn bad_input() {
    run_c_test("bad_input");
}

#[test]
fn exec_outcome() {
    run_c_test("exec_outcome");
}

/// Hostile callers (issue 9): a signal flood, RLIMIT_NOFILE 0-3, 20,000 open fds.
#[test]
fn hostile() {
    run_c_test("hostile");
}

#[test]
fn dumpable() {
    run_c_test("dumpable");
}

#[test]
fn spawn_mask() {
    run_c_test("spawn_mask");
}

#[test]
fn fork() {
    run_c_test("fork");
}

#[test]
fn args_bounds() {
    run_c_test("args_bounds");
}

/// ABI 1.1: sprout_exec_args_init's macro and function, version queries, the size rule.
#[test]
fn abi_versions() {
    run_c_test("abi_versions");
}

/// ABI 1.1: the program's signal mask, kept ignored signals, the caller's umask.
#[test]
fn signal_state() {
    run_c_test("signal_state");
}

/// ABI 1.1: a new process group, or one of the caller's session joined.
#[test]
fn process_group() {
    run_c_test("process_group");
}

/// ABI 1.1: scheduling policy, I/O priority, CPU affinity, oom_score_adj.
#[test]
fn scheduling() {
    run_c_test("scheduling");
}

/// ABI 1.1: root directory, hostname and domain name, personality, ptrace.
#[test]
fn isolation() {
    run_c_test("isolation");
}

/// Issue 14: a paused start (SPROUT_EXEC2_PAUSED) and sprout_start.
#[test]
fn paused() {
    run_c_test("paused");
}

/// Issue 14: Landlock at spawn and sprout_landlock_create_ruleset.
#[test]
fn landlock() {
    run_c_test("landlock");
}

/// Issue 14: the seccomp listener handed to the caller (SECCOMP_FILTER_FLAG_NEW_LISTENER).
#[test]
fn seccomp_listener() {
    run_c_test("seccomp_listener");
}

/// SECURITY.md's guarantees that no other file proves: the caller's whole state around a spawn
/// that sets everything, /proc/self/fd as a working directory, privileged steps before the uid.
#[test]
fn guarantees() {
    run_c_test("guarantees");
}

//! Builds the C tests in c-tests/ with the system C compiler against the committed header
//! and the freshly built libsprout.so, and runs them. One Rust test per C file.

mod common;

use common::c::{
    build_c_test, compile, run_c_test, run_c_test_with, run_c_tests, skip_unless_root, wrapped,
};

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

/// The cgroup tests on the layout of a pure cgroup-v2 host, whatever this host's is: in a
/// private mount namespace, cgroup2 alone at /sys/fs/cgroup (no `unified` directory). The
/// tests find the hierarchy in /proc/self/mountinfo, so none may skip there.
#[test]
fn namespaces_cgroup_tests_with_cgroup2_at_sys_fs_cgroup() {
    if skip_unless_root("the cgroup tests in a private mount namespace") {
        return;
    }
    const REMOUNT: &str = "set -e
        umount --lazy /sys/fs/cgroup 2>/dev/null || true
        mount -t cgroup2 cgroup2 /sys/fs/cgroup
        test ! -e /sys/fs/cgroup/unified
        test \"$(grep ' - cgroup2 ' /proc/self/mountinfo | cut -d' ' -f5)\" = /sys/fs/cgroup
        exec \"$0\"";
    let binary = build_c_test("namespaces", &[]);
    let mut command = wrapped(&["unshare", "--mount", "sh", "-c", REMOUNT], &binary);
    let summary = run_c_tests(
        command.env("SPROUT_TEST_FILTER", "cgroup"),
        "test_namespaces (cgroup tests, cgroup2 at /sys/fs/cgroup)",
    );
    assert_eq!(summary.skipped, 0);
    assert!(summary.passed >= 9, "{summary:?}");
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

/// What the C tests cannot check under c-tests/old_kernel.c, because the test itself (not the
/// library) needs a system call the wrapper hides.
const NEEDS_NEW_SYSCALLS_ITSELF: &[(&str, &[&str])] = &[
    (
        "core_table",
        &[
            // A new process at a chosen pid: clone3 with set_tid. (Signals with
            // pidfd_send_signal refused are what the whole run under old_kernel checks.)
            "a_reused_pid_is_never_signalled",
            "signals_without_pidfd_send_signal_enosys",
            "signals_without_pidfd_send_signal_eperm",
        ],
    ),
    // Asserts that the library uses clone3 after a refusal.
    (
        "namespaces",
        &["a_refused_namespace_does_not_make_later_spawns_give_up_clone3"],
    ),
    // Asserts Seccomp: 0 in a process started without a filter.
    (
        "privileges",
        &["seccomp_filter_makes_getppid_fail_with_its_errno"],
    ),
];

/// Older kernels (issue 9): the C tests under c-tests/old_kernel.c, a seccomp filter that
/// answers ENOSYS to clone3, close_range, pidfd_open and pidfd_send_signal (and ENOTTY to
/// PIDFD_GET_INFO): every feature must work through its fallback (the legacy clone, the
/// /proc/self/fd listing, kill() for a child not yet reaped), with the same results.
#[test]
fn older_kernels() {
    if skip_unless_root("the C tests under a seccomp filter installed without no_new_privs") {
        return;
    }
    let wrapper = compile("old_kernel.c", "old_kernel", &[]);
    let wrapper = wrapper.to_str().unwrap();
    for name in [
        "core",
        "core_fds",
        "core_exec",
        "core_table",
        "namespaces",
        "privileges",
        "tty",
        "bad_input",
        "exec_outcome",
    ] {
        let excluded = NEEDS_NEW_SYSCALLS_ITSELF
            .iter()
            .filter(|(file, _)| *file == name)
            .flat_map(|(_, tests)| tests.iter().copied())
            .collect::<Vec<_>>()
            .join(",");
        let binary = build_c_test(name, &[]);
        run_c_tests(
            wrapped(&[wrapper], &binary).env("SPROUT_TEST_EXCLUDE", excluded),
            &format!("test_{name} under old_kernel"),
        );
    }
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

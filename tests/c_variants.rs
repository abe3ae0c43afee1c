//! The C tests run again in other conditions than tests/c_abi.rs runs them: with cgroup2
//! mounted as on a pure cgroup-v2 host, as on older kernels (a seccomp wrapper hiding the
//! newer system calls), and as AddressSanitizer and ThreadSanitizer builds of the callers.

mod common;

use common::c::{build_c_test, compile, run_c_tests, skip_unless_root, wrapped};

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
        "dumpable",
        "spawn_mask",
        "fork",
        // ABI 1.1's kept ignored signals take another path after the legacy clone.
        "signal_state",
        "paused",
        // Issue 14's Landlock restriction and listener handover after the legacy clone, in a
        // layout closed through /proc/self/fd.
        "landlock",
        "seccomp_listener",
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

/// The C test programs run again as AddressSanitizer and ThreadSanitizer builds (issue 9): the
/// callers are instrumented, the library is not (it is Rust, built as usual).
const SANITIZED: &[&str] = &[
    "core",
    "core_fds",
    "core_exec",
    "core_table",
    "namespaces",
    "privileges",
    "tty",
    "tty_misuse",
    "bad_input",
    "hostile",
    "exec_outcome",
    "dumpable",
    "spawn_mask",
    "fork",
    "abi_versions",
    "signal_state",
    "process_group",
    "scheduling",
    "isolation",
    "paused",
    "landlock",
    "seccomp_listener",
];

/// How many times longer than usual the sanitizer builds may take for anything with a time
/// limit (c-tests/harness.h's test_seconds): their callers run several times slower (test_fork's
/// thousand forks copy ASan's shadow memory's page tables each time: ~27 s at load 9 here), and
/// CI's machine may be as loaded as a shared one (load 20 on 2 cores). The limits only catch
/// hangs.
const SANITIZER_TIME_SCALE: &str = "5";

#[test]
fn under_address_sanitizer() {
    for name in SANITIZED {
        let binary = build_c_test(name, &["-fsanitize=address", "-fno-omit-frame-pointer"]);
        run_c_tests(
            wrapped(&[], &binary).env("SPROUT_TEST_TIME_SCALE", SANITIZER_TIME_SCALE),
            &format!("test_{name} under AddressSanitizer"),
        );
    }
}

/// What fails under ThreadSanitizer for a reason known and tracked on the board.
const NOT_UNDER_TSAN: &[&str] = &[
    // Its namespace holder forks, then unshares a user namespace: libtsan restarts its
    // background thread in a forked child, and a process with two threads cannot unshare
    // CLONE_NEWUSER (EINVAL).
    "spawns_that_change_ids_or_join_a_foreign_user_namespace_keep_the_callers_flag",
];

/// ThreadSanitizer: a report fails the test process (TSan's exit code 66). c-tests/tsan.supp
/// ignores what TSan's interceptors see from inside libsprout.so, whose own synchronisation
/// (parking_lot, atomics) TSan cannot see.
#[test]
fn under_thread_sanitizer() {
    let options = format!(
        "suppressions={}",
        common::c::root().join("c-tests/tsan.supp").display()
    );
    for name in SANITIZED {
        let binary = build_c_test(name, &["-fsanitize=thread", "-fno-omit-frame-pointer"]);
        run_c_tests(
            wrapped(&[], &binary)
                .env("TSAN_OPTIONS", &options)
                .env("SPROUT_TEST_TIME_SCALE", SANITIZER_TIME_SCALE)
                .env("SPROUT_TEST_EXCLUDE", NOT_UNDER_TSAN.join(",")),
            &format!("test_{name} under ThreadSanitizer"),
        );
    }
}

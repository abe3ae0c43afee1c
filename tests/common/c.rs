//! Compiling and running C programs against the built library.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// target/<profile>: where cargo put libsprout.so for this test run.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// Where `cargo test` wrote the libsprout.so and libsprout.a built for this run: deps/ (it
/// copies them up to target/<profile> only on `cargo build`, so those may be missing or stale).
pub fn built_libraries() -> PathBuf {
    profile_dir().join("deps")
}

/// A directory with `libsprout.so.1` (the SONAME C programs look for) and the C test
/// binaries, created once per test process.
pub fn build_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "c-tests-{}",
            std::env::current_exe()
                .unwrap()
                .file_stem()
                .unwrap()
                .to_string_lossy()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let lib = built_libraries().join("libsprout.so");
        assert!(lib.exists(), "{} was not built", lib.display());
        let link = dir.join("libsprout.so.1");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&lib, &link).unwrap();
        dir
    })
}

/// Runs a command and panics with its output unless it succeeds.
pub fn check(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{command:?} failed with {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    stdout
}

/// The static probe program (c-tests/probe.c), built once.
pub fn probe() -> &'static Path {
    static PROBE: OnceLock<PathBuf> = OnceLock::new();
    PROBE.get_or_init(|| {
        let out = build_dir().join("probe");
        check(
            Command::new("cc")
                .args([
                    "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-static", "-o",
                ])
                .arg(&out)
                .arg(root().join("c-tests/probe.c")),
        );
        reachable_copy(&out)
    })
}

/// `path`, or where the checkout is out of other users' reach (a clone under a 0700 /root, as
/// CI may make), a copy of it that every user can reach, in a directory of the system's
/// temporary directory that this test process removes when it exits: tests run the probe (and
/// the `sprout` binary) as unprivileged uids (65534, 100000), which must find it.
pub fn reachable_copy(path: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let everyone_passes =
        |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o001 != 0);
    if path.ancestors().skip(1).all(everyone_passes) {
        return path.to_path_buf();
    }
    static REMOVED_AT_EXIT: std::sync::Once = std::sync::Once::new();
    REMOVED_AT_EXIT.call_once(|| {
        extern "C" fn remove_copies() {
            let _ = std::fs::remove_dir_all(copies_dir());
        }
        // SAFETY: registers a plain function without arguments.
        unsafe { libc::atexit(remove_copies) };
    });
    // Files of one name from different places (each test binary has its own probe) apart.
    let mut hasher = std::hash::DefaultHasher::new();
    std::hash::Hash::hash(path, &mut hasher);
    let dir = copies_dir().join(format!("{:016x}", std::hash::Hasher::finish(&hasher)));
    std::fs::create_dir_all(&dir).unwrap();
    for made in [copies_dir(), dir.clone()] {
        std::fs::set_permissions(made, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // Unique to this call: tests of one process may copy the same file at once.
    static COPIES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let copy_number = COPIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = path.file_name().unwrap();
    let partial = dir.join(format!("{}.{copy_number}", name.to_string_lossy()));
    std::fs::copy(path, &partial).unwrap();
    std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755)).unwrap();
    let copy = dir.join(name);
    std::fs::rename(&partial, &copy).unwrap();
    assert!(
        copy.ancestors().skip(1).all(everyone_passes),
        "{} is out of other users' reach too",
        dir.display()
    );
    copy
}

/// Where `reachable_copy` puts its copies: one directory per test process.
fn copies_dir() -> PathBuf {
    std::env::temp_dir().join(format!("sprout-tests-{}", std::process::id()))
}

/// Compiles c-tests/<source> with `extra` flags into the build directory, once per test
/// process and output name: tests running at once that want the same program share one build
/// (a second compile replacing a binary another test is running fails with "Text file busy").
pub fn compile(source: &str, output: &str, extra: &[&str]) -> PathBuf {
    compile_against(source, output, &root().join("include"), build_dir(), extra)
}

/// `compile` against the `sprout.h` in `include` (a frozen older header, say) and the
/// `libsprout.so.1` in `lib_dir` (linked with an rpath to it).
pub fn compile_against(
    source: &str,
    output: &str,
    include: &Path,
    lib_dir: &Path,
    extra: &[&str],
) -> PathBuf {
    type Builds = HashMap<String, Arc<OnceLock<PathBuf>>>;
    static BUILDS: Mutex<Option<Builds>> = Mutex::new(None);
    let build = BUILDS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get_or_insert_with(HashMap::new)
        .entry(output.to_owned())
        .or_default()
        .clone();
    build
        .get_or_init(|| compile_now(source, output, include, lib_dir, extra))
        .clone()
}

fn compile_now(
    source: &str,
    output: &str,
    include: &Path,
    lib_dir: &Path,
    extra: &[&str],
) -> PathBuf {
    let out = build_dir().join(output);
    check(
        Command::new("cc")
            .args([
                "-std=c99",
                "-D_GNU_SOURCE",
                "-g",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-pedantic",
            ])
            .arg("-I")
            .arg(include)
            .arg("-o")
            .arg(&out)
            .arg(root().join("c-tests").join(source))
            .args(extra)
            .arg("-L")
            .arg(lib_dir)
            .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
            .args(["-l:libsprout.so.1", "-lpthread"]),
    );
    out
}

/// Builds c-tests/test_<name>.c and runs it; its TAP-style output is shown on failure.
pub fn run_c_test(name: &str) {
    run_c_test_with(name, &[]);
}

/// `run_c_test` with extra compiler flags, e.g. `-fsanitize=address`.
pub fn run_c_test_with(name: &str, flags: &[&str]) {
    let binary = build_c_test(name, flags);
    run_c_tests(&mut c_test_command(&binary), &format!("test_{name}"));
}

/// Compiles c-tests/test_<name>.c with `extra` flags (the binary's name says which).
pub fn build_c_test(name: &str, flags: &[&str]) -> PathBuf {
    let suffix: String = flags
        .iter()
        .flat_map(|f| f.chars().filter(char::is_ascii_alphanumeric))
        .collect();
    let output = match suffix.is_empty() {
        true => format!("test_{name}"),
        false => format!("test_{name}-{suffix}"),
    };
    compile(&format!("test_{name}.c"), &output, flags)
}

/// A command running `program` with the environment the C tests expect. Wrappers (unshare,
/// strace, ...) go in front with `wrapped`.
pub fn c_test_command(program: &Path) -> Command {
    wrapped(&[], program)
}

/// `wrapper... program`, with the C tests' environment.
pub fn wrapped(wrapper: &[&str], program: &Path) -> Command {
    let mut command = match wrapper.split_first() {
        Some((first, rest)) => {
            let mut command = Command::new(first);
            command.args(rest).arg(program);
            command
        }
        None => Command::new(program),
    };
    // LeakSanitizer is off: leaks are not what these tests look for, and it needs ptrace,
    // which sandboxes and containers often refuse. LD_LIBRARY_PATH goes: cargo sets it to
    // target/debug (among others), which the loader searches before the programs' rpath, and
    // where a libsprout.so.1 link made by hand (the README's build from a clone) names the
    // library of the last `cargo build`, not this run's.
    command
        .env("SPROUT_PROBE", probe())
        .env("ASAN_OPTIONS", "detect_leaks=0")
        .env_remove("LD_LIBRARY_PATH");
    command
}

/// What a C test program's closing line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Summary {
    /// Reads "N passed, M failed, K skipped" from the last such line of `output`.
    pub fn parse(output: &str) -> Option<Summary> {
        output.lines().rev().find_map(|line| {
            let [passed, failed, skipped] = line.split(", ").collect::<Vec<_>>()[..] else {
                return None;
            };
            let count = |part: &str, word: &str| -> Option<usize> {
                part.strip_suffix(word)?.strip_suffix(' ')?.parse().ok()
            };
            Some(Summary {
                passed: count(passed, "passed")?,
                failed: count(failed, "failed")?,
                skipped: count(skipped, "skipped")?,
            })
        })
    }
}

/// Whether skipped C tests are allowed (`SPROUT_TESTS_ALLOW_SKIP=1`, for runs without root).
/// Otherwise a skip fails the run: CI runs as root with every feature these tests use.
pub fn skips_allowed() -> bool {
    std::env::var_os("SPROUT_TESTS_ALLOW_SKIP").is_some_and(|v| v == "1")
}

/// For a Rust test that cannot run without root: true (skip) when not root and skips are
/// allowed, saying so on the real stderr; a failure when not root otherwise.
pub fn skip_unless_root(what: &str) -> bool {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return false;
    }
    skip(&format!("{what} needs root"));
    true
}

/// A Rust test (or part of one) that cannot run here, for `why`: a failure unless skips are
/// allowed, else a "SKIP: why" line on the real stderr (cargo shows it even when it captures
/// the test's output, as it does eprintln!'s). The caller then returns.
pub fn skip(why: &str) {
    assert!(
        skips_allowed(),
        "{why} (set SPROUT_TESTS_ALLOW_SKIP=1 to skip it)"
    );
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!("\nSKIP: {why}\n").as_bytes(),
    );
}

/// Runs a C test program (built with the harness of c-tests/harness.h) and checks its
/// outcome: it must end with status 0 and its closing line, with at least one test run, and
/// no test skipped unless `skips_allowed()`. Skips are written to the real stderr, which
/// `cargo test` shows even when it captures the test's output. `what` names the run.
pub fn run_c_tests(command: &mut Command, what: &str) -> Summary {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let context = format!("{command:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
    let summary = Summary::parse(&stdout);
    assert!(
        output.status.success(),
        "{what} failed with {}: {context}",
        output.status
    );
    let summary = summary
        .unwrap_or_else(|| panic!("{what}: no \"N passed, M failed, K skipped\" line: {context}"));
    assert!(
        summary.passed + summary.skipped > 0,
        "{what}: no test ran: {context}"
    );
    let skips: Vec<&str> = stdout.lines().filter(|l| l.contains(" # SKIP")).collect();
    assert_eq!(skips.len(), summary.skipped, "{what}: {context}");
    if !skips.is_empty() {
        // Not eprintln!, which the test harness captures: a skip must be seen.
        let mut text = format!(
            "\n{what}: {} passed, {} skipped:\n",
            summary.passed, summary.skipped
        );
        for skip in &skips {
            text.push_str(&format!("    {skip}\n"));
        }
        let _ = std::io::Write::write_all(&mut std::io::stderr(), text.as_bytes());
        assert!(
            skips_allowed(),
            "{what}: {} C tests skipped (set SPROUT_TESTS_ALLOW_SKIP=1 to allow that):\n{}",
            skips.len(),
            skips.join("\n")
        );
    }
    print!("{stdout}");
    summary
}

//! The Python binding (bindings/python) against the installed library: `pip install` of the
//! package into a fresh virtual environment with no package index (the install must need
//! none), then its pytest tests (the layout check against the installed header included), and
//! CPython's own test_subprocess with subprocess routed through sprout, whose counts the
//! README states.
//!
//! Python 3 with pip, and pytest, are required: without them the test fails, unless
//! SPROUT_TESTS_ALLOW_SKIP=1 (`.ci/run` installs pytest).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::c::{check, probe, root, skip, skips_allowed};
use common::install::installed;

/// Whether `python3 -c CODE` succeeds; a failure when it does not, unless skips are allowed.
fn python_has(code: &str, what: &str) -> bool {
    match Command::new("python3").args(["-c", code]).output() {
        Ok(out) if out.status.success() => true,
        _ if skips_allowed() => {
            skip(&format!("{what} (the Python binding is not tested)"));
            false
        }
        _ => panic!(
            "{what}: install Python 3 with pip and pytest (`python3 -m pip install pytest`, or \
             Debian's python3-pytest), or set SPROUT_TESTS_ALLOW_SKIP=1 to skip the Python \
             binding's tests"
        ),
    }
}

/// A virtual environment (seeing the system's site-packages, for pytest) with the binding
/// installed by pip from bindings/python, without any package index; made once per test
/// binary. Returns its python.
fn venv() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("python-venv");
        let _ = std::fs::remove_dir_all(&dir);
        check(
            Command::new("python3")
                .args(["-m", "venv", "--without-pip", "--system-site-packages"])
                .arg(&dir),
        );
        let python = dir.join("bin/python");
        check(
            Command::new("python3")
                .args(["-m", "pip", "--python"])
                .arg(&python)
                .args([
                    "install",
                    "--no-index",
                    "--no-cache-dir",
                    "--disable-pip-version-check",
                    "--quiet",
                ])
                .arg(root().join("bindings/python")),
        );
        python
    })
}

/// The venv's site-packages, where pip installed the binding.
fn site_packages() -> &'static str {
    static DIR: OnceLock<String> = OnceLock::new();
    DIR.get_or_init(|| {
        check(Command::new(venv()).args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ]))
        .trim()
        .to_owned()
    })
}

/// The venv's python, run outside the source tree (so that `import sprout` finds the
/// installed package, not bindings/python/sprout) with the installed library.
fn python(args: &[&str]) -> Command {
    in_install(Command::new(venv()), args)
}

/// The system's python3 with the binding the venv installed on its path: for CPython's
/// test_subprocess, four of whose tests skip themselves in a venv.
fn system_python(args: &[&str]) -> Command {
    let mut command = in_install(Command::new("python3"), args);
    command.env("PYTHONPATH", site_packages());
    command
}

fn in_install(mut command: Command, args: &[&str]) -> Command {
    let i = installed();
    command
        .args(args)
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .env("SPROUT_LIBRARY", i.lib("libsprout.so.1"))
        .env("SPROUT_INCLUDE_DIR", &i.includedir)
        .env("SPROUT_PROBE", probe())
        .env("SPROUT_EXPECT_INSTALLED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    command
}

#[test]
fn python_binding_installs_without_an_index_and_passes_its_tests() {
    if !python_has("import pytest", "no pytest for python3") {
        return;
    }
    let out = check(&mut python(&[
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-rs",
        root().join("bindings/python/tests").to_str().unwrap(),
    ]));
    print!("{out}");
    let summary = out.lines().last().unwrap_or_default();
    assert!(summary.contains(" passed"), "{out}");
    if summary.contains(" skipped") {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("\nPython binding tests: {summary}\n").as_bytes(),
        );
        assert!(
            skips_allowed(),
            "Python binding tests were skipped (set SPROUT_TESTS_ALLOW_SKIP=1 to allow): {out}"
        );
    }
}

/// The "N passed, M failed, K skipped" the README states after `marker`.
fn readme_counts(marker: &str) -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let line = readme
        .lines()
        .find_map(|l| l.split(marker).nth(1))
        .unwrap_or_else(|| panic!("README.md has no line with {marker:?}"));
    line.trim_matches(|c: char| c == '`' || c == '.' || c.is_whitespace())
        .to_owned()
}

/// Runs bindings/python/tests/cpython_subprocess.py with `args`; checks that it passes with
/// the counts the README gives after `marker`.
fn cpython_suite(args: &[&str], marker: &str) {
    let script = root().join("bindings/python/tests/cpython_subprocess.py");
    let mut all = vec![script.to_str().unwrap()];
    all.extend(args);
    let output = system_python(&all).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let counts = stdout.lines().last().unwrap_or_default();
    assert!(
        output.status.success(),
        "CPython's test_subprocess {args:?} failed ({counts}):\n{stdout}\n{stderr}"
    );
    print!("{stdout}");
    assert_eq!(
        counts,
        readme_counts(marker),
        "the counts changed: update README.md (Python quick start)\n{stdout}"
    );
}

/// CPython's own test_subprocess, once with the standard library's subprocess patched through
/// sprout (patch_subprocess), once with subprocess.Popen replaced by sprout.Popen.
#[test]
fn cpython_subprocess_tests_pass_through_sprout_with_the_counts_the_readme_gives() {
    if !python_has(
        "import test.test_subprocess",
        "no CPython test package (test.test_subprocess)",
    ) {
        return;
    }
    cpython_suite(
        &[],
        "CPython's test_subprocess through patch_subprocess(): ",
    );
    cpython_suite(
        &["--popen"],
        "CPython's test_subprocess through sprout.Popen: ",
    );
}

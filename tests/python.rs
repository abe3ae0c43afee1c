//! The Python binding (bindings/python) against the installed library: `pip install` of the
//! package into a fresh virtual environment with no package index (the install must need
//! none), then its pytest tests (the layout check against the installed header included).
//!
//! Python 3 with pip, and pytest, are required: without them the test fails, unless
//! SPROUT_TESTS_ALLOW_SKIP=1 (`.ci/run` installs pytest).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::c::{check, probe, root, skips_allowed};
use common::install::installed;

/// Whether `python3 -c CODE` succeeds; a failure when it does not, unless skips are allowed.
fn python_has(code: &str, what: &str) -> bool {
    match Command::new("python3").args(["-c", code]).output() {
        Ok(out) if out.status.success() => true,
        _ if skips_allowed() => {
            eprintln!("skip: {what} (the Python binding is not tested)");
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

/// The venv's python, run outside the source tree (so that `import sprout` finds the
/// installed package, not bindings/python/sprout) with the installed library.
fn python(args: &[&str]) -> Command {
    let i = installed();
    let mut command = Command::new(venv());
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

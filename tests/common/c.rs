//! Compiling and running C programs against the built library.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// target/<profile>: where cargo put libsprout.so for this test run.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
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
        // `cargo test` writes the cdylib to deps/ and copies it up to target/<profile> only on
        // `cargo build`, so the copy there is missing on a clean checkout or stale after an
        // edit: deps/ holds the one built for this run.
        let lib = profile_dir().join("deps/libsprout.so");
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
        out
    })
}

/// Compiles c-tests/<source> with `extra` flags into the build directory.
pub fn compile(source: &str, output: &str, extra: &[&str]) -> PathBuf {
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
            .arg(root().join("include"))
            .arg("-o")
            .arg(&out)
            .arg(root().join("c-tests").join(source))
            .args(extra)
            .arg("-L")
            .arg(build_dir())
            .arg(format!("-Wl,-rpath,{}", build_dir().display()))
            .args(["-l:libsprout.so.1", "-lpthread"]),
    );
    out
}

/// Builds c-tests/test_<name>.c and runs it; its TAP-style output is shown on failure.
pub fn run_c_test(name: &str) {
    let binary = compile(&format!("test_{name}.c"), &format!("test_{name}"), &[]);
    let stdout = check(Command::new(&binary).env("SPROUT_PROBE", probe()));
    print!("{stdout}");
}

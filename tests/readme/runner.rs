//! Runs one README example as a new user would: its commands, exactly as written, with `sh`,
//! in a fresh directory holding what a clone of this repository holds, plus the example's files.
//!
//! What differs from a user's fresh clone, and why:
//! - `cargo run -- ARGS` runs the `sprout` binary this `cargo test` built (on PATH as `sprout`,
//!   as an installed one would be), and `cargo test` does nothing: it is the command running
//!   these examples. Any other cargo command runs for real.
//! - The copy's `target/` starts with hard links to this run's compiled dependencies, so that
//!   `cargo build` there compiles sprout itself only (seconds, not minutes).
//! - HOME is an empty directory of the example's own (an install into `~/.local` stays there);
//!   the toolchains' homes and caches (cargo, rustup, pyenv, Go) stay the user's.
//! - The shell holds an extra open fd (7) and an extra variable (SPROUT_README_LEAK), which a
//!   process sprout starts must not get unless asked: an example that claims a clean fd table
//!   or environment shows them if they leak.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::blocks::{Block, Marker};

pub struct Output {
    pub stdout: String,
    pub stderr: String,
}

const PRELUDE: &str = r#"# Set by tests/readme/runner.rs before the README's commands.
cargo() {
    if [ "$*" = test ]; then
        echo "(cargo test: the command running these examples)" >&2
    elif [ "${1-}" = run ] && [ "${2-}" = -- ]; then
        shift 2
        sprout "$@"
    else
        command cargo "$@"
    fi
}
exec 7</dev/null
export SPROUT_README_LEAK=1
set -x
"#;

/// No example takes longer unless something hangs (a build from nothing takes ~2 minutes).
const TIMEOUT_SECONDS: &str = "900";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs example `name` (its blocks in README order) and returns its output; panics with the
/// script and its output when a command fails.
pub fn run(name: &str, blocks: &[Block]) -> Output {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("readme")
        .join(name);
    match fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("cannot clear {}: {e}", dir.display()),
    }
    let checkout = dir.join("checkout");
    let home = dir.join("home");
    let bin = dir.join("bin");
    for d in [&checkout, &home, &bin] {
        fs::create_dir_all(d).unwrap();
    }
    copy_checkout(&root(), &checkout);
    let profile = profile_dir();
    seed_target(
        &profile,
        &checkout.join("target").join(profile.file_name().unwrap()),
    );
    symlink(env!("CARGO_BIN_EXE_sprout"), bin.join("sprout")).unwrap();

    let mut script = String::from(PRELUDE);
    let mut commands = 0;
    for block in blocks {
        match &block.marker {
            Marker::File(path) => {
                let dest = checkout.join(path);
                fs::create_dir_all(dest.parent().unwrap()).unwrap();
                fs::write(&dest, &block.text).unwrap();
            }
            Marker::Example(example) if example == name => {
                assert_eq!(
                    block.lang, "sh",
                    "README.md:{}: example {name} has a ```{} block; its commands must be a \
                     ```sh block",
                    block.line, block.lang
                );
                script.push_str(&format!("# README.md:{}\n{}", block.line, block.text));
                commands += 1;
            }
            Marker::Example(_) => {}
        }
    }
    assert!(
        commands > 0,
        "README.md has no block marked <!-- example: {name} -->"
    );
    let script_path = dir.join("example.sh");
    fs::write(&script_path, &script).unwrap();

    let mut command = Command::new("timeout");
    command
        .args([TIMEOUT_SECONDS, "sh", "-e"])
        .arg(&script_path)
        .current_dir(&checkout)
        .stdin(Stdio::null());
    user_environment(&mut command, &home, &bin);
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "README example {name} failed ({}) in {}\n--- script ({})\n{script}\n--- stdout\n\
         {stdout}\n--- stderr (commands traced with +)\n{stderr}",
        output.status,
        checkout.display(),
        script_path.display(),
    );
    Output { stdout, stderr }
}

/// target/<profile>, where this test binary was built.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// The environment of a user's shell: this process's, less what cargo set for the test, with
/// the example's own HOME and the built `sprout` first on PATH.
fn user_environment(command: &mut Command, home: &Path, bin: &Path) {
    let real_home = PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()));
    const SET_BY_CARGO: &[&str] = &[
        "CARGO_PKG_",
        "CARGO_BIN_",
        "CARGO_MANIFEST_",
        "CARGO_CRATE_",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
        "CARGO_MAKEFLAGS",
    ];
    // CARGO_TARGET_DIR too: the README's commands expect cargo's output in ./target.
    const EXACT: &[&str] = &[
        "CARGO",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET_DIR",
        "LD_LIBRARY_PATH",
    ];
    for (key, _) in std::env::vars_os() {
        let key_str = key.to_string_lossy();
        if EXACT.contains(&&*key_str) || SET_BY_CARGO.iter().any(|p| key_str.starts_with(p)) {
            command.env_remove(&key);
        }
    }
    for (var, default) in [
        ("CARGO_HOME", ".cargo"),
        ("RUSTUP_HOME", ".rustup"),
        ("PYENV_ROOT", ".pyenv"),
        ("GOPATH", "go"),
        ("GOCACHE", ".cache/go-build"),
    ] {
        if std::env::var_os(var).is_none() {
            command.env(var, real_home.join(default));
        }
    }
    let mut path = bin.as_os_str().to_owned();
    if let Some(old) = std::env::var_os("PATH") {
        path.push(":");
        path.push(old);
    }
    command.env("HOME", home).env("PATH", path);
}

/// Copies the files a clone would have (tracked ones, and new ones not ignored, as they are in
/// the work tree now).
fn copy_checkout(from: &Path, to: &Path) {
    let listed = Command::new("git")
        .arg("-C")
        .arg(from)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output()
        .expect("git lists the checkout's files");
    assert!(
        listed.status.success(),
        "git ls-files in {}: {}",
        from.display(),
        String::from_utf8_lossy(&listed.stderr)
    );
    for relative in listed.stdout.split(|&b| b == 0).filter(|p| !p.is_empty()) {
        let relative = Path::new(OsStr::from_bytes(relative));
        let source = from.join(relative);
        let Ok(meta) = fs::symlink_metadata(&source) else {
            continue; // deleted in the work tree, not yet in git
        };
        let dest = to.join(relative);
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        if meta.file_type().is_symlink() {
            symlink(fs::read_link(&source).unwrap(), &dest).unwrap();
        } else if meta.is_file() {
            fs::copy(&source, &dest).unwrap();
        }
    }
}

/// Gives the copy this run's compiled dependencies: `deps/` and `build/` hard linked (cargo
/// writes a unit's files only when it rebuilds it, and those of sprout itself, which it does
/// rebuild, are left out), `.fingerprint/` copied (small files cargo rewrites).
fn seed_target(profile: &Path, to: &Path) {
    link_tree(&profile.join("deps"), &to.join("deps"), true);
    link_tree(&profile.join("build"), &to.join("build"), true);
    link_tree(
        &profile.join(".fingerprint"),
        &to.join(".fingerprint"),
        false,
    );
}

fn link_tree(from: &Path, to: &Path, hard_link: bool) {
    fs::create_dir_all(to).unwrap();
    let Ok(entries) = fs::read_dir(from) else {
        return;
    };
    for entry in entries {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let crate_part = name
            .as_bytes()
            .strip_prefix(b"lib")
            .unwrap_or(name.as_bytes());
        if crate_part.starts_with(b"sprout-") || crate_part.starts_with(b"sprout.") {
            continue;
        }
        let (source, dest) = (entry.path(), to.join(&name));
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            link_tree(&source, &dest, hard_link);
        } else if kind.is_symlink() {
            symlink(fs::read_link(&source).unwrap(), &dest).unwrap();
        } else if hard_link {
            fs::hard_link(&source, &dest).unwrap();
        } else {
            fs::copy(&source, &dest).unwrap();
        }
    }
}

//! Runs one README example as a new user would: its commands, exactly as written, with `sh -e`,
//! in a fresh directory holding what a clone of this repository holds, plus the README's files.
//!
//! What differs from a user's fresh clone, and why:
//! - The example runs in a private mount namespace where /usr, /etc and /opt are overlays whose
//!   writes land in the example's directory (`Output::written`): a system-wide install
//!   (`sudo ./install.sh`, `sudo ldconfig`) is carried out, and checked, without touching this
//!   machine or the other tests. (Mounts below those directories are not carried over.)
//! - `sudo CMD` runs CMD as sudo does for root by default: environment reset, Debian's
//!   secure_path as PATH (sudo itself need not be installed). HOME stays the example's.
//! - `cargo run -- ARGS` runs the `sprout` binary this `cargo test` built (on PATH as `sprout`,
//!   as an installed one would be), and `cargo test` does nothing: it is the command running
//!   these examples. Any other cargo command runs for real.
//! - The copy's `target/` starts with hard links to compiled dependencies (this run's for its
//!   profile, those kept from earlier examples for others), so that `cargo build` there
//!   compiles sprout itself only: seconds, not minutes.
//! - HOME is an empty directory of the example's own (an install into `~/.local` stays there);
//!   the toolchains' homes and caches (cargo, rustup, pyenv, Go) stay the user's.
//! - The shell holds extra open fds (7, and 9 while the examples it runs after run) and an
//!   extra variable (SPROUT_README_LEAK), which a process sprout starts must not get unless
//!   asked: an example that claims a clean fd table or environment shows them if they leak.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use crate::blocks::{Block, Marker};

pub struct Output {
    /// What the example's own commands printed (those of the examples it runs after print to
    /// stderr).
    pub stdout: String,
    pub stderr: String,
    sandbox: PathBuf,
}

impl Output {
    /// Where the file the example wrote at `path` (under /usr, /etc or /opt) is kept, if it
    /// wrote one there.
    pub fn written(&self, path: &str) -> Option<PathBuf> {
        let relative = path.strip_prefix('/').expect("an absolute path");
        let kept = self.sandbox.join(relative.replacen('/', "/upper/", 1));
        fs::symlink_metadata(&kept).is_ok().then_some(kept)
    }
}

/// The directories a system-wide install writes to, given to each example as overlays.
const SYSTEM_DIRS: [&str; 3] = ["usr", "etc", "opt"];

const SUDO_SECURE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn prelude(sandbox: &Path) -> String {
    let mut s = String::from("# Set by tests/readme/runner.rs before the README's commands.\n");
    for dir in SYSTEM_DIRS {
        let keep = sandbox.join(dir);
        s += &format!(
            "mkdir -p '{k}/upper' '{k}/work' && mount -t overlay -o \
             lowerdir=/{dir},upperdir='{k}/upper',workdir='{k}/work' readme-{dir} /{dir}\n",
            k = keep.display()
        );
    }
    s + &format!(
        r#"sudo() {{
    env -i PATH={SUDO_SECURE_PATH} HOME="$HOME" TERM="${{TERM-}}" LANG="${{LANG-}}" "$@"
}}
cargo() {{
    if [ "$*" = test ]; then
        echo "(cargo test: the command running these examples)" >&2
    elif [ "${{1-}}" = run ] && [ "${{2-}}" = -- ]; then
        shift 2
        sprout "$@"
    else
        command cargo "$@"
    fi
}}
exec 7</dev/null
export SPROUT_README_LEAK=1
set -x
"#
    )
}

/// No example takes longer unless something hangs (a build from nothing takes minutes).
const TIMEOUT_SECONDS: &str = "1200";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tmp() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("readme")
}

/// Runs the examples of `chain` (the examples `name` runs after, then `name`) and returns
/// the output; panics with the script and its output when a command fails.
pub fn run(name: &str, chain: &[&str], blocks: &[Block]) -> Output {
    // One example at a time: on a fresh clone the first `cargo build --release` compiles every
    // dependency (minutes), and the examples after it find them in the seed; side by side,
    // each would compile them all.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let dir = tmp().join(name);
    match fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("cannot clear {}: {e}", dir.display()),
    }
    let checkout = dir.join("checkout");
    let home = dir.join("home");
    let bin = dir.join("bin");
    let sandbox = dir.join("sandbox");
    for d in [&checkout, &home, &bin, &sandbox] {
        fs::create_dir_all(d).unwrap();
    }
    copy_checkout(&root(), &checkout);
    let this_run = profile_dir();
    let this_profile = this_run.file_name().unwrap().to_owned();
    seed_target(&this_run, &checkout.join("target").join(&this_profile));
    for kept in fs::read_dir(seed_dir()).into_iter().flatten() {
        let kept = kept.unwrap();
        if kept.file_name() != this_profile {
            seed_target(
                &kept.path(),
                &checkout.join("target").join(kept.file_name()),
            );
        }
    }
    symlink(env!("CARGO_BIN_EXE_sprout"), bin.join("sprout")).unwrap();

    let mut script = prelude(&sandbox);
    for (i, example) in chain.iter().enumerate() {
        let own = i + 1 == chain.len();
        if own && chain.len() > 1 {
            script.push_str("exec 1>&9 9>&-\n");
        } else if !own && i == 0 {
            script.push_str("exec 9>&1 1>&2 # the examples this one runs after print to stderr\n");
        }
        let mut commands = 0;
        for block in blocks {
            if block.marker == Marker::Example(example.to_string()) {
                assert_eq!(
                    block.lang, "sh",
                    "README.md:{}: example {example} has a ```{} block; its commands must be \
                     a ```sh block",
                    block.line, block.lang
                );
                script += &format!("# README.md:{} ({example})\n{}", block.line, block.text);
                commands += 1;
            }
        }
        assert!(
            commands > 0,
            "README.md has no block marked <!-- example: {example} -->"
        );
    }
    for block in blocks {
        if let Marker::File(path) = &block.marker {
            let dest = checkout.join(path);
            fs::create_dir_all(dest.parent().unwrap()).unwrap();
            fs::write(&dest, &block.text).unwrap();
        }
    }
    let script_path = dir.join("example.sh");
    fs::write(&script_path, &script).unwrap();

    let mut command = Command::new("unshare");
    command
        .args(["--mount", "--propagation", "private", "timeout"])
        .args([TIMEOUT_SECONDS, "sh", "-e"])
        .arg(&script_path)
        .current_dir(&checkout)
        .stdin(Stdio::null());
    user_environment(&mut command, &home, &bin);
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    keep_compiled_dependencies(&checkout.join("target"), &this_profile);
    fs::write(dir.join("stdout"), &output.stdout).unwrap();
    fs::write(dir.join("stderr"), &output.stderr).unwrap();
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
    Output {
        stdout,
        stderr,
        sandbox,
    }
}

/// target/<profile>, where this test binary was built.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// Compiled dependencies of other profiles (`cargo build --release` in an example), kept
/// from one example to the next and across runs of the same Cargo.toml and Cargo.lock. A seed
/// made for other dependencies is removed: its artifacts would mix with new ones (rustc then
/// fails with E0460, "found possibly newer version of crate").
fn seed_dir() -> PathBuf {
    use std::hash::{Hash, Hasher};
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        for manifest in ["Cargo.toml", "Cargo.lock"] {
            fs::read(root().join(manifest))
                .unwrap_or_default()
                .hash(&mut hasher);
        }
        let name = format!("seed-{:016x}", hasher.finish());
        for old in fs::read_dir(tmp()).into_iter().flatten().flatten() {
            let old_name = old.file_name();
            let old_name = old_name.to_string_lossy();
            if old_name.starts_with("seed") && old_name != name {
                let _ = fs::remove_dir_all(old.path());
            }
        }
        tmp().join(name)
    })
    .clone()
}

/// The environment of a user's shell: this process's, less what cargo set for the test, with
/// the example's own HOME and the built `sprout` first on PATH.
fn user_environment(command: &mut Command, home: &Path, bin: &Path) {
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
    let real_home = PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()));
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

/// Gives a profile directory of the copy compiled dependencies: `deps/` and `build/` hard
/// linked (cargo writes a unit's files only when it rebuilds it, and those of sprout itself,
/// which it does rebuild, are left out), `.fingerprint/` copied (small files cargo rewrites).
fn seed_target(from: &Path, to: &Path) {
    link_tree(&from.join("deps"), &to.join("deps"), true);
    link_tree(&from.join("build"), &to.join("build"), true);
    link_tree(&from.join(".fingerprint"), &to.join(".fingerprint"), false);
}

/// Adds the dependencies an example compiled for other profiles than this run's to the seed.
fn keep_compiled_dependencies(target: &Path, this_profile: &OsStr) {
    for profile in fs::read_dir(target).into_iter().flatten() {
        let profile = profile.unwrap();
        if profile.file_name() != this_profile && profile.path().join(".fingerprint").is_dir() {
            seed_target(&profile.path(), &seed_dir().join(profile.file_name()));
        }
    }
}

fn link_tree(from: &Path, to: &Path, hard_link: bool) {
    let Ok(entries) = fs::read_dir(from) else {
        return;
    };
    fs::create_dir_all(to).unwrap();
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
        let made = if kind.is_dir() {
            link_tree(&source, &dest, hard_link);
            Ok(())
        } else if kind.is_symlink() {
            symlink(fs::read_link(&source).unwrap(), &dest)
        } else if hard_link {
            fs::hard_link(&source, &dest)
        } else {
            fs::copy(&source, &dest).map(drop)
        };
        match made {
            // Another example kept the same file first.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            other => other.unwrap(),
        }
    }
}

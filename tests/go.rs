//! The Go binding (bindings/go) against the installed library: `gofmt`, `go vet`, and
//! `go test ./...` once plainly and once under the race detector (with cgo's strictest pointer
//! checks), the module finding libsprout through pkg-config alone.
//!
//! Go is required: without it the test fails, unless SPROUT_TESTS_ALLOW_SKIP is set (`.ci/run`
//! installs Debian's golang-go).

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::c::{check, probe, root, skip, skips_allowed};
use common::install::installed;

fn go_found() -> bool {
    match Command::new("go").arg("version").output() {
        Ok(out) if out.status.success() => true,
        _ if skips_allowed() => {
            skip("no `go` in PATH (the Go binding is not tested)");
            false
        }
        _ => panic!(
            "no `go` in PATH: install Go 1.19 or later (Debian: apt-get install golang-go), \
             or set SPROUT_TESTS_ALLOW_SKIP=1 to skip the Go binding's tests"
        ),
    }
}

/// `go ARGS` in bindings/go, against the installed library, offline.
fn go(args: &[&str]) -> Command {
    let i = installed();
    let mut command = Command::new("go");
    command
        .args(args)
        .current_dir(root().join("bindings/go"))
        .env("CGO_ENABLED", "1")
        // The module has no dependencies: nothing to download, no toolchain switch.
        .env("GOPROXY", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=mod")
        .env("SPROUT_PROBE", probe())
        .env("SPROUT_VERSION", env!("CARGO_PKG_VERSION"));
    if std::env::var_os("HOME").is_none() && std::env::var_os("GOCACHE").is_none() {
        command.env(
            "GOCACHE",
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("go-build"),
        );
    }
    i.with_pkg_config(&mut command);
    i.with_library_path(&mut command);
    command
}

#[test]
fn go_binding_passes_its_tests_with_and_without_the_race_detector() {
    if !go_found() {
        return;
    }
    let unformatted = check(
        Command::new("gofmt")
            .arg("-l")
            .arg(root().join("bindings/go")),
    );
    assert!(
        unformatted.trim().is_empty(),
        "not gofmt-formatted:\n{unformatted}"
    );
    check(&mut go(&["vet", "./..."]));
    print!("{}", check(&mut go(&["test", "-count=1", "./..."])));
    print!(
        "{}",
        check(go(&["test", "-count=1", "-race", "./..."]).env("GODEBUG", "cgocheck=2"))
    );
}

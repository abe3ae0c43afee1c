//! The installed library (`install.sh`): its files and links, its SONAME and exports, and C
//! programs built against it with pkg-config alone, shared and static.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::c::{build_dir, check, root};
use common::install::{Installed, installed, links_to};

#[test]
fn installs_the_library_its_links_the_header_and_sprout_pc() {
    let i = installed();
    let real = std::fs::read_dir(&i.libdir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| n.starts_with("libsprout.so.1."))
        .expect("no libsprout.so.1.x.y installed");
    let version: Vec<&str> = real["libsprout.so.".len()..].split('.').collect();
    assert!(
        version.len() == 3 && version.iter().all(|n| n.parse::<u32>().is_ok()),
        "{real} is not libsprout.so.MAJOR.MINOR.PATCH"
    );
    // The file name carries the ABI the header declares (1.1.0 for ABI 1.1).
    let header = std::fs::read_to_string(root().join("include/sprout.h")).unwrap();
    let define = |name: &str| {
        header
            .lines()
            .find_map(|l| l.strip_prefix(&format!("#define {name} ")))
            .unwrap_or_else(|| panic!("no {name} in sprout.h"))
            .trim()
            .to_owned()
    };
    assert_eq!(
        version[..2],
        [define("SPROUT_ABI_VERSION"), define("SPROUT_ABI_MINOR")],
        "{real} does not carry the header's ABI version"
    );
    assert!(
        std::fs::symlink_metadata(i.lib(&real))
            .unwrap()
            .file_type()
            .is_file()
    );
    assert!(links_to(&i.lib("libsprout.so.1"), &real));
    assert!(links_to(&i.lib("libsprout.so"), "libsprout.so.1"));
    assert!(i.lib("libsprout.a").is_file());
    assert_eq!(
        std::fs::read(i.includedir.join("sprout.h")).unwrap(),
        std::fs::read(root().join("include/sprout.h")).unwrap(),
        "the installed sprout.h is not include/sprout.h"
    );
    assert_eq!(i.pkg_config(&["--modversion"]), [env!("CARGO_PKG_VERSION")]);
}

/// The function names the installed header declares.
fn header_functions(i: &Installed) -> BTreeSet<String> {
    let header = std::fs::read_to_string(i.includedir.join("sprout.h")).unwrap();
    header
        .lines()
        // Not `static inline` helpers: header code, never exported.
        .filter(|l| {
            !l.starts_with("//")
                && !l.starts_with(' ')
                && !l.starts_with('#')
                && !l.starts_with("static ")
        })
        .filter_map(|l| {
            let name = &l[l.find("sprout_")?..l.find('(')?];
            Some(name.to_owned())
        })
        .collect()
}

#[test]
fn installed_library_has_soname_libsprout_so_1_and_exports_exactly_the_header_functions() {
    let i = installed();
    let lib = i.lib("libsprout.so.1");
    let dynamic = check(Command::new("readelf").arg("-d").arg(&lib));
    assert!(
        dynamic
            .lines()
            .any(|l| l.contains("(SONAME)") && l.contains("[libsprout.so.1]")),
        "{dynamic}"
    );
    let symbols = check(
        Command::new("nm")
            .args(["-D", "--defined-only", "--format=posix"])
            .arg(&lib),
    );
    let exported: BTreeSet<String> = symbols
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    let declared = header_functions(i);
    assert!(declared.contains("sprout_exec_async"), "{declared:?}");
    assert_eq!(
        exported, declared,
        "exports differ from the header's functions"
    );
}

/// `cc` on c-tests/installed.c with `flags` after it.
fn compile_installed_c(output: &str, flags: &[String]) -> std::path::PathBuf {
    let out = build_dir().join(output);
    check(
        Command::new("cc")
            .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-o"])
            .arg(&out)
            .arg(root().join("c-tests/installed.c"))
            .args(flags),
    );
    out
}

/// Runs the program built from c-tests/installed.c on a shell command; returns its stdout.
fn run_installed_c(program: &Path, library_path: Option<&Path>) -> String {
    let mut command = Command::new(program);
    command.args(["/bin/sh", "-c", "echo spawned by sprout; exit 3"]);
    if let Some(dir) = library_path {
        command.env("LD_LIBRARY_PATH", dir);
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(
        output.status.code(),
        Some(3),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("spawned by sprout\n"), "{stdout}");
    assert!(
        stdout.contains(&format!("version={} ", env!("CARGO_PKG_VERSION"))),
        "{stdout}"
    );
    stdout
}

fn needed(program: &Path) -> Vec<String> {
    check(Command::new("readelf").arg("-d").arg(program))
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn pkg_config_alone_builds_a_c_program_that_runs_on_the_installed_library() {
    let i = installed();
    let flags = i.pkg_config(&["--cflags", "--libs"]);
    let prefix = i.prefix.to_string_lossy();
    assert!(
        flags
            .iter()
            .filter_map(|f| f.strip_prefix("-I").or_else(|| f.strip_prefix("-L")))
            .all(|dir| dir.starts_with(&*prefix)),
        "pkg-config points outside the installed prefix: {flags:?}"
    );
    let program = compile_installed_c("installed_shared", &flags);
    assert!(
        needed(&program)
            .iter()
            .any(|l| l.contains("[libsprout.so.1]")),
        "{:?}",
        needed(&program)
    );
    let stdout = run_installed_c(&program, Some(&i.libdir));
    let expected = format!("loaded-from={}\n", i.lib("libsprout.so.1").display());
    assert!(stdout.contains(&expected), "{stdout}");
}

/// libsprout.a links with the libraries sprout.pc lists for static linking (Libs.private),
/// and the program then needs no libsprout.so at run time.
#[test]
fn static_library_links_with_the_libraries_sprout_pc_lists_as_private() {
    let i = installed();
    let shared = i.pkg_config(&["--libs"]);
    let private: Vec<String> = i
        .pkg_config(&["--static", "--libs"])
        .into_iter()
        .filter(|f| !shared.contains(f))
        .collect();
    assert!(!private.is_empty(), "sprout.pc has no Libs.private");
    let mut flags = i.pkg_config(&["--cflags"]);
    flags.push(i.lib("libsprout.a").to_string_lossy().into_owned());
    flags.extend(private);
    let program = compile_installed_c("installed_static", &flags);
    assert!(
        !needed(&program).iter().any(|l| l.contains("libsprout")),
        "{:?}",
        needed(&program)
    );
    let stdout = run_installed_c(&program, None);
    let expected = format!("loaded-from={}\n", program.display());
    assert!(stdout.contains(&expected), "{stdout}");
}

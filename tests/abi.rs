//! The shape of what ships: the committed header is current and compiles as C99 and C++, and
//! libsprout.so has its SONAME and exports only `sprout_*`.

mod common;

use std::process::Command;

use common::c::{build_dir, check, compile, root};

#[test]
fn committed_header_matches_the_generated_one() {
    let generated = include_str!(concat!(env!("OUT_DIR"), "/sprout.h"));
    let committed = std::fs::read_to_string(root().join("include/sprout.h")).unwrap();
    assert!(
        generated == committed,
        "include/sprout.h is stale: run `SPROUT_UPDATE_HEADER=1 cargo build` and commit it"
    );
}

#[test]
fn header_compiles_as_strict_c99() {
    compile("abi_header.c", "abi_header_c99", &[]);
}

#[test]
fn header_compiles_as_cpp() {
    let out = build_dir().join("abi_header_cpp.o");
    check(
        Command::new("c++")
            .args([
                "-std=c++11",
                "-x",
                "c++",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-pedantic",
                "-c",
                "-I",
            ])
            .arg(root().join("include"))
            .arg("-o")
            .arg(&out)
            .arg(root().join("c-tests/abi_header.c")),
    );
}

fn library() -> std::path::PathBuf {
    build_dir().join("libsprout.so.1")
}

#[test]
fn library_has_soname_libsprout_so_1() {
    let dynamic = check(Command::new("readelf").arg("-d").arg(library()));
    assert!(
        dynamic
            .lines()
            .any(|l| l.contains("(SONAME)") && l.contains("[libsprout.so.1]")),
        "{dynamic}"
    );
}

#[test]
fn library_exports_only_sprout_symbols() {
    let symbols = check(
        Command::new("nm")
            .args(["-D", "--defined-only", "--format=posix"])
            .arg(library()),
    );
    let names: Vec<&str> = symbols
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(names.contains(&"sprout_exec_async"), "{symbols}");
    let foreign: Vec<&&str> = names.iter().filter(|n| !n.starts_with("sprout_")).collect();
    assert!(
        foreign.is_empty(),
        "exported without the sprout_ prefix: {foreign:?}"
    );
}

/// glibc's id wrappers signal every thread of the process to change its credentials too (the
/// "setxid broadcast"); in a child that shares the caller's memory they must never run, so
/// the library must not even link them: the child changes ids with raw system calls.
#[test]
fn library_never_links_the_c_librarys_id_changing_wrappers() {
    let imports = check(
        Command::new("nm")
            .args(["-D", "--undefined-only", "--format=posix"])
            .arg(library()),
    );
    let broadcasting = [
        "setuid",
        "setgid",
        "seteuid",
        "setegid",
        "setreuid",
        "setregid",
        "setresuid",
        "setresgid",
        "setgroups",
        "initgroups",
    ];
    let linked: Vec<&str> = imports
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|symbol| broadcasting.contains(&symbol.split('@').next().unwrap_or(symbol)))
        .collect();
    assert!(linked.is_empty(), "libsprout.so imports {linked:?}");
}

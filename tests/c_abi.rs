//! Builds the C tests in c-tests/ with the system C compiler against the committed header
//! and the freshly built libsprout.so, and runs them. One Rust test per C file.

mod common;

use common::c::run_c_test;

/// Fails when a c-tests/test_*.c file has no Rust test below, so none is forgotten.
#[test]
fn every_c_test_file_is_run() {
    let listed = include_str!("c_abi.rs");
    for entry in std::fs::read_dir(common::c::root().join("c-tests")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(stem) = name
            .strip_prefix("test_")
            .and_then(|n| n.strip_suffix(".c"))
        {
            assert!(
                listed.contains(&format!("run_c_test(\"{stem}\")")),
                "c-tests/{name} is not run by tests/c_abi.rs"
            );
        }
    }
}

#[test]
fn core() {
    run_c_test("core");
}

#[test]
fn privileges() {
    run_c_test("privileges");
}

#[test]
fn namespaces() {
    run_c_test("namespaces");
}

//! The child's machine code, read from the built libsprout.so: between clone and execve the
//! child shares the caller's memory and may call no function of the C library (not even
//! memset or memcpy, which the compiler emits for zeroing or copying a buffer): a caller
//! linked statically with lazy binding would enter the dynamic linker, and any such function
//! may take a lock or touch the calling thread's state. Every function the child's entry can
//! reach must stay inside the library.

#![cfg(target_arch = "x86_64")]

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::c::{build_dir, check};

/// A call or jump that leaves the function it is in.
enum Callee {
    /// A function of the library, by symbol.
    Function(String),
    /// Through the global offset table entry at this address.
    Got(u64),
    /// A PLT stub: a function of another library.
    Plt(String),
    /// A call through a register or memory that this reading cannot follow.
    Unknown(String),
}

/// objdump's view of the library: each function (mangled name) with what it calls.
struct Disassembly {
    calls: HashMap<String, Vec<Callee>>,
    at: HashMap<u64, String>,
    /// GOT entry address -> the function of the library it holds (Ok) or the symbol of
    /// another library it is bound to (Err).
    got: HashMap<u64, Result<u64, String>>,
}

fn hex(text: &str) -> Option<u64> {
    u64::from_str_radix(text.trim_start_matches("0x"), 16).ok()
}

/// The address in objdump's "# 11cd08 <_DYNAMIC+0x10f8>" comment.
fn commented_address(operands: &str) -> Option<u64> {
    operands
        .split_once('#')?
        .1
        .split_whitespace()
        .next()
        .and_then(hex)
}

impl Disassembly {
    fn read(library: &Path) -> Disassembly {
        let relocations = check(Command::new("objdump").arg("-R").arg(library));
        let mut got = HashMap::new();
        for line in relocations.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if let [offset, _kind, value] = fields[..] {
                let Some(offset) = hex(offset).filter(|_| offset.len() >= 8) else {
                    continue;
                };
                let target = match value.strip_prefix("*ABS*+") {
                    Some(address) => hex(address).ok_or_else(|| value.to_owned()),
                    None => Err(value.to_owned()),
                };
                got.insert(offset, target);
            }
        }
        let code = check(
            Command::new("objdump")
                .args(["-d", "--no-show-raw-insn"])
                .arg(library),
        );
        let mut calls: HashMap<String, Vec<Callee>> = HashMap::new();
        let mut at = HashMap::new();
        let mut current = String::new();
        // Register -> GOT entry it was last loaded from ("mov 0x..(%rip),%rax # addr").
        let mut loaded: HashMap<String, u64> = HashMap::new();
        for line in code.lines() {
            if let Some((address, name)) = line
                .strip_suffix(">:")
                .and_then(|l| l.split_once(" <"))
                .and_then(|(a, n)| Some((hex(a)?, n)))
            {
                current = name.to_owned();
                at.insert(address, current.clone());
                calls.entry(current.clone()).or_default();
                loaded.clear();
                continue;
            }
            let Some((_, instruction)) = line.split_once(":\t") else {
                continue;
            };
            let (mnemonic, operands) = instruction
                .trim()
                .split_once(char::is_whitespace)
                .map(|(m, o)| (m, o.trim()))
                .unwrap_or((instruction.trim(), ""));
            if mnemonic.starts_with("mov") && operands.contains("(%rip),%") {
                if let (Some(register), Some(entry)) = (
                    operands
                        .split_once("(%rip),")
                        .map(|(_, r)| r.split_whitespace().next().unwrap_or("").to_owned()),
                    commented_address(operands),
                ) {
                    loaded.insert(register, entry);
                }
                continue;
            }
            let is_call = mnemonic.starts_with("call");
            if !is_call && !mnemonic.starts_with("jmp") {
                continue;
            }
            let callee = if let Some(indirect) = operands.strip_prefix('*') {
                if indirect.contains("(%rip)") {
                    commented_address(operands).map(Callee::Got)
                } else if let Some(&entry) =
                    loaded.get(indirect.split_whitespace().next().unwrap_or(""))
                {
                    Some(Callee::Got(entry))
                } else if is_call {
                    Some(Callee::Unknown(operands.to_owned()))
                } else {
                    None // a jump table of the function itself
                }
            } else {
                operands
                    .split_once('<')
                    .and_then(|(_, s)| s.strip_suffix('>'))
                    .and_then(|symbol| match symbol.split_once('+') {
                        // Inside a function: its own labels, or (rarely) a tail into another.
                        Some((base, _)) if base == current => None,
                        Some((base, _)) => Some(base.to_owned()),
                        None => Some(symbol.to_owned()),
                    })
                    .map(|symbol| match symbol.strip_suffix("@plt") {
                        Some(name) => Callee::Plt(name.to_owned()),
                        None => Callee::Function(symbol),
                    })
            };
            if let Some(callee) = callee {
                calls.entry(current.clone()).or_default().push(callee);
            }
        }
        Disassembly { calls, at, got }
    }
}

/// Where a panic starts or an unwind goes on: not followed. The child's code has no panic of
/// its own (no indexing, no unwrap); what a debug build adds (overflow and precondition checks)
/// ends there, and a release build reaches only the abort guard of the extern "C" entry.
fn is_panic_path(symbol: &str) -> bool {
    symbol.contains("panicking") || symbol == "_Unwind_Resume"
}

/// What the child's entry can reach in `library`.
struct Reach {
    /// Every function reached (mangled names), panic paths included.
    seen: BTreeSet<String>,
    /// The panic and unwind entries reached (not followed further).
    panics: BTreeSet<String>,
    /// Each call that leaves the library, as "caller -> callee".
    outside: Vec<String>,
}

fn reach_of_the_child(library: &Path) -> Reach {
    let code = Disassembly::read(library);
    let roots: Vec<String> = code
        .calls
        .keys()
        .filter(|name| name.contains("5spawn5child10child_main"))
        .cloned()
        .collect();
    assert!(
        !roots.is_empty(),
        "no child_main in {} (symbols stripped?)",
        library.display()
    );
    let mut reach = Reach {
        seen: BTreeSet::new(),
        panics: BTreeSet::new(),
        outside: Vec::new(),
    };
    let mut todo = roots;
    while let Some(function) = todo.pop() {
        if !reach.seen.insert(function.clone()) {
            continue;
        }
        if is_panic_path(&function) {
            reach.panics.insert(function);
            continue;
        }
        for callee in &code.calls[&function] {
            match callee {
                Callee::Function(name) if code.calls.contains_key(name) => todo.push(name.clone()),
                Callee::Got(entry) => match code.got.get(entry) {
                    Some(Ok(address)) if code.at.contains_key(address) => {
                        todo.push(code.at[address].clone())
                    }
                    other => reach
                        .outside
                        .push(format!("{function} -> GOT {entry:#x} {other:?}")),
                },
                Callee::Plt(name) if is_panic_path(name) => {}
                Callee::Plt(name) => reach.outside.push(format!("{function} -> {name}@plt")),
                Callee::Function(name) => reach.outside.push(format!("{function} -> {name}")),
                Callee::Unknown(how) => reach.outside.push(format!("{function} -> {how}")),
            }
        }
    }
    assert!(
        reach.outside.is_empty(),
        "the child's code in {} ({} functions) calls outside the library:\n{}",
        library.display(),
        reach.seen.len(),
        reach.outside.join("\n")
    );
    assert!(
        reach
            .seen
            .iter()
            .filter(|f| f.contains("5spawn5child"))
            .count()
            >= 2,
        "the reading missed the child's functions: {:?}",
        reach.seen
    );
    reach
}

#[test]
fn the_child_calls_no_function_outside_the_library() {
    reach_of_the_child(&build_dir().join("libsprout.so.1"));
}

/// The library as it ships: a release build (the one this test run built, or one built here
/// with `cargo build --release --lib` beside it when the tests run as a debug build, whose
/// overflow checks add panic paths that a release build does not have).
fn release_library() -> PathBuf {
    if !cfg!(debug_assertions) {
        return build_dir().join("libsprout.so.1");
    }
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap();
    check(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--release", "--lib", "--quiet", "--manifest-path"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .arg("--target-dir")
            .arg(target),
    );
    target.join("release/libsprout.so")
}

#[test]
fn a_release_build_of_the_child_cannot_panic() {
    let reach = reach_of_the_child(&release_library());
    assert!(
        reach
            .panics
            .iter()
            .all(|p| p.contains("panic_cannot_unwind")),
        "a release build of the child can panic: {:?}",
        reach.panics
    );
}

//! Every example of README.md, run exactly as written, with its visible effect checked, so that
//! an example cannot rot.
//!
//! In README.md each code block stands right after a marker (an HTML comment, invisible on the
//! rendered page): `<!-- example: NAME -->` before a ```sh block of commands, or
//! `<!-- file: PATH -->` before a file those commands use (a C program, a main.go, ...). The
//! commands of an example run in README order with `sh -e`, as root, in a fresh copy of this
//! checkout holding the README's files, with a throwaway /usr, /etc and /opt (runner.rs says
//! what else differs from a user's clone). A block without a marker, or an example not listed
//! below, fails `every_readme_block_is_checked`.
//!
//! To add an example: mark its blocks in README.md and add one line below: its name, `after`
//! the example whose commands must run first if any (e.g. `after install`), and a function
//! (or closure) that checks what it printed and wrote.

mod blocks;
#[path = "../common/mod.rs"]
mod common;
mod runner;

use std::collections::BTreeSet;
use std::process::Command;

use runner::Output;

/// One `#[test]` per README example, and the table of them (name, the example it runs after).
macro_rules! readme_examples {
    ($($name:ident $(after $after:ident)? => $check:expr,)*) => {
        const EXAMPLES: &[(&str, Option<&str>)] =
            &[$((stringify!($name), readme_examples!(@after $($after)?))),*];
        $(
            #[test]
            fn $name() {
                let check: fn(&Output) = $check;
                if let Some(output) = run_example(stringify!($name)) {
                    check(&output);
                }
            }
        )*
    };
    (@after) => { None };
    (@after $after:ident) => { Some(stringify!($after)) };
}

readme_examples! {
    spawn => shows_clean_process_in_tmp,
    install => installs_system_library,
    c_quick_start after install => lists_root_directory,
    c_from_clone => lists_root_directory,
    go_quick_start => |out| assert!(out.stdout.ends_with("64\nNoNewPrivs:\t1\n"), "{}", out.stdout),
    python_quick_start after install => |out| assert_eq!(
        out.stdout, "64\nNoNewPrivs:\t1\n32\nvia sprout\n"
    ),
    cli_sandbox => |out| assert_eq!(out.stdout, "64\n0077\n/tmp\nNoNewPrivs:\t1\n"),
    cli_nobody => |out| assert_eq!(out.stdout, "65534\nCapBnd:\t0000000000000000\n"),
    cli_one_capability => |out| assert_eq!(out.stdout, "CapEff:\t0000000000000400\n"),
    cli_namespaces => |out| assert!(
        out.stdout.starts_with("pid 1, uid 0, mapped to ") && out.stdout.contains("100000"),
        "{}", out.stdout
    ),
    cli_process => |out| assert!(
        out.stdout.starts_with("uid=1000") && out.stdout.ends_with("hello\n"),
        "{}", out.stdout
    ),
    cli_exec => |out| {
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(lines.len(), 3, "{}", out.stdout);
        assert!(lines[0].starts_with("uid=1000 gid=1000 groups=100"), "{}", out.stdout);
        assert_eq!(lines[1], "hi");
        assert!(lines[2].starts_with("uid=1000 gid=1000"), "{}", out.stdout);
    },
    cli_tty => |out| assert!(out.stdout.starts_with("/dev/pts/"), "{}", out.stdout),
    cli_status => |out| assert_eq!(out.stdout, "status 143\nstatus 127\nstatus 125\n"),
    cli_completions => |out| assert_ne!(out.stdout.trim(), "0"),
    cli_landlock => |out| assert_eq!(out.stdout, "refused: exit 1\n"),
}

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// None when skipped (not root, and skips allowed).
fn run_example(name: &str) -> Option<Output> {
    if common::c::skip_unless_root(&format!("README example {name}")) {
        return None;
    }
    let mut chain = vec![name];
    while let Some(&(_, Some(after))) = EXAMPLES.iter().find(|(n, _)| n == chain.last().unwrap()) {
        assert!(
            !chain.contains(&after),
            "examples run after each other: {chain:?}"
        );
        chain.push(after);
    }
    chain.reverse();
    let (blocks, _) = blocks::parse(&readme());
    Some(runner::run(name, &chain, &blocks))
}

#[test]
fn every_readme_block_is_checked() {
    let (blocks, mut problems) = blocks::parse(&readme());
    let mut in_readme = BTreeSet::new();
    let mut files = BTreeSet::new();
    for block in &blocks {
        match &block.marker {
            blocks::Marker::Example(name) => {
                if !EXAMPLES.iter().any(|(n, _)| n == name) {
                    problems.push(format!(
                        "README.md:{}: example {name} is not checked: add a line for it to \
                         readme_examples! in tests/readme/main.rs",
                        block.line
                    ));
                }
                if block.lang != "sh" {
                    problems.push(format!(
                        "README.md:{}: example {name}: commands are run from ```sh blocks, \
                         not ```{}; a file they use is marked <!-- file: PATH -->",
                        block.line, block.lang
                    ));
                }
                in_readme.insert(name.as_str());
            }
            blocks::Marker::File(path) => {
                if !files.insert(path.as_str()) {
                    problems.push(format!(
                        "README.md:{}: a second block writes the file {path}",
                        block.line
                    ));
                }
            }
        }
    }
    for (name, _) in EXAMPLES {
        if !in_readme.contains(name) {
            problems.push(format!(
                "tests/readme/main.rs checks example {name}, which README.md no longer marks"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The "Try it" spawn: `sh -c 'echo "pid $$ in $(pwd), env: $(env)"; ls -l /proc/self/fd'`
/// started with `--env PATH=/usr/bin:/bin --cwd /tmp`.
fn shows_clean_process_in_tmp(out: &Output) {
    let mut lines = out.stdout.lines();
    let first = lines.next().unwrap_or("");
    let (pid, rest) = first
        .strip_prefix("pid ")
        .and_then(|r| r.split_once(" in "))
        .unwrap_or_else(|| panic!("no `pid N in DIR` line:\n{}", out.stdout));
    assert!(pid.parse::<u32>().is_ok_and(|p| p > 1), "pid {pid:?}");
    let (cwd, first_var) = rest.split_once(", env: ").unwrap();
    assert_eq!(cwd, "/tmp", "working directory");

    // env's lines up to ls's "total N"; the shell adds PWD (and some shells SHLVL, _ or
    // OLDPWD) itself.
    let mut env = vec![first_var];
    let mut fds = Vec::new();
    for line in lines.by_ref() {
        if line.starts_with("total ") {
            break;
        }
        env.push(line);
    }
    assert!(env.contains(&"PATH=/usr/bin:/bin"), "PATH missing: {env:?}");
    for var in &env {
        let name = var.split('=').next().unwrap();
        assert!(
            var == &"PATH=/usr/bin:/bin" || ["PWD", "SHLVL", "_", "OLDPWD"].contains(&name),
            "the process got {var:?}, which it did not ask for (environment {env:?})"
        );
    }

    // `ls -l /proc/self/fd`: "lr-x------ 1 root root 64 Nov 30 16:25 3 -> /proc/2277/fd".
    for line in lines {
        let (left, target) = line
            .split_once(" -> ")
            .unwrap_or_else(|| panic!("not an fd line: {line:?}\n{}", out.stdout));
        let fd: u32 = left.rsplit(' ').next().unwrap().parse().unwrap();
        fds.push((fd, target.to_string()));
    }
    fds.sort();
    let numbers: Vec<u32> = fds.iter().map(|(fd, _)| *fd).collect();
    assert!(
        numbers.starts_with(&[0, 1, 2]),
        "fds 0-2 are not all open: {fds:?}"
    );
    // Beyond 0-2, only ls's own handle on the directory it lists.
    let (ls_handles, leaked): (Vec<_>, Vec<_>) = fds[3..]
        .iter()
        .partition(|(_, target)| target.starts_with("/proc/") && target.ends_with("/fd"));
    assert!(
        leaked.is_empty() && ls_handles.len() <= 1,
        "fds leaked into the process: {leaked:?} (all: {fds:?})"
    );
}

/// The C quick start runs `ls -l /`: its listing names what / holds.
fn lists_root_directory(out: &Output) {
    let listed: BTreeSet<&str> = out
        .stdout
        .lines()
        .filter(|line| !line.starts_with("total "))
        .map(|line| {
            let entry = line.split(" -> ").next().unwrap();
            entry.rsplit(' ').next().unwrap()
        })
        .collect();
    let root: BTreeSet<String> = std::fs::read_dir("/")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        .collect();
    let root: BTreeSet<&str> = root.iter().map(String::as_str).collect();
    assert!(
        !root.is_empty() && listed == root,
        "`ls -l /` listed {listed:?}, / holds {root:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.stdout,
        out.stderr
    );
}

/// `sudo ./install.sh ...` and `sudo ldconfig`: the library, its links, header and sprout.pc
/// under /usr/local, and the loader's cache naming libsprout.so.1.
fn installs_system_library(out: &Output) {
    for path in [
        "/usr/local/lib/libsprout.so.1",
        "/usr/local/lib/libsprout.so",
        "/usr/local/lib/libsprout.a",
        "/usr/local/include/sprout.h",
        "/usr/local/lib/pkgconfig/sprout.pc",
    ] {
        assert!(
            out.written(path).is_some(),
            "{path} was not installed\n{}",
            out.stderr
        );
    }
    let cache = out
        .written("/etc/ld.so.cache")
        .expect("ldconfig did not write /etc/ld.so.cache");
    let listed = common::c::check(Command::new("ldconfig").arg("-C").arg(&cache).arg("-p"));
    assert!(
        listed
            .lines()
            .any(|l| l.trim_start().starts_with("libsprout.so.1 ")
                && l.contains("/usr/local/lib/libsprout.so.1")),
        "the loader's cache has no libsprout.so.1 in /usr/local/lib:\n{listed}"
    );
}

//! SECURITY.md names, for each guarantee, the tests that prove it and the command that runs
//! them. This keeps it honest: every link must be a relative path that exists (and a heading
//! that exists, for an anchor), every test it names must exist in the file it links, and every
//! table row or paragraph that names a test must also give a `cargo test` command that runs it.
//!
//! What SECURITY.md writes, and what is checked:
//! - ``[`NAME`](c-tests/test_X.c)``: a C test, `RUN(NAME)` in that file (or a row `R(NAME, ...)`
//!   / `ROOT(NAME, ...)` of a table-driven one), which tests/c_abi.rs runs; its row must have
//!   ``` `cargo test --test c_abi X` ```.
//! - ``[`NAME`](tests/T.rs)``: a `#[test] fn NAME` there; its row must have
//!   ``` `cargo test --test T` ``` with no filter or a filter that NAME contains.
//! - ``[`FILE`](PATH)`` where FILE is PATH's file name: a plain link to a file.
//! - `` `cargo test --test T FILTER` ``: tests/T.rs (or tests/T/main.rs) exists and has a test
//!   whose name contains FILTER (equals it, with `-- --exact`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What SECURITY.md refers to, with its line.
#[derive(Debug)]
enum Reference {
    /// `[text](dest)`; `code` is the text when it is one code span.
    Link { dest: String, code: Option<String> },
    /// A code span that starts with `cargo test`.
    Command(String),
}

/// The references of SECURITY.md grouped by table row, paragraph or list item (the innermost),
/// each with its line.
fn groups(text: &str) -> Vec<Vec<(usize, Reference)>> {
    let line_of = |offset: usize| text[..offset].matches('\n').count() + 1;
    let mut done = Vec::new();
    let mut open: Vec<Vec<(usize, Reference)>> = Vec::new();
    // The link being read: (line, dest, code spans, other text seen).
    let mut link: Option<(usize, String, Vec<String>, bool)> = None;
    for (event, range) in Parser::new_ext(text, Options::ENABLE_TABLES).into_offset_iter() {
        match event {
            Event::Start(Tag::TableRow | Tag::TableHead | Tag::Paragraph | Tag::Item) => {
                open.push(Vec::new())
            }
            Event::End(TagEnd::TableRow | TagEnd::TableHead | TagEnd::Paragraph | TagEnd::Item) => {
                done.push(open.pop().expect("a group ends after it starts"))
            }
            Event::Start(Tag::Link { dest_url, .. }) => {
                link = Some((
                    line_of(range.start),
                    dest_url.to_string(),
                    Vec::new(),
                    false,
                ))
            }
            Event::End(TagEnd::Link) => {
                let (line, dest, codes, other) = link.take().expect("a link ends after it starts");
                let code = match (&codes[..], other) {
                    ([one], false) => Some(one.clone()),
                    _ => None,
                };
                if let Some(group) = open.last_mut() {
                    group.push((line, Reference::Link { dest, code }));
                }
            }
            Event::Code(code) => match link.as_mut() {
                Some((_, _, codes, _)) => codes.push(code.to_string()),
                None => {
                    if code.starts_with("cargo test") {
                        if let Some(group) = open.last_mut() {
                            group
                                .push((line_of(range.start), Reference::Command(code.to_string())));
                        }
                    }
                }
            },
            Event::Text(_) => {
                if let Some((_, _, _, other)) = link.as_mut() {
                    *other = true;
                }
            }
            _ => {}
        }
    }
    done
}

/// GitHub's anchors for the headings of a Markdown file.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut anchors = BTreeSet::new();
    let mut heading: Option<String> = None;
    for event in Parser::new_ext(text, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = heading.as_mut() {
                    h.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                let h = heading.take().unwrap_or_default();
                let slug: String = h
                    .to_lowercase()
                    .chars()
                    .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
                    .map(|c| if c == ' ' { '-' } else { c })
                    .collect();
                anchors.insert(slug);
            }
            _ => {}
        }
    }
    anchors
}

/// The names of the `#[test]` functions of a Rust file.
fn rust_tests(source: &str) -> BTreeSet<String> {
    source
        .split("#[test]")
        .skip(1)
        .filter_map(|after| {
            let name = after.split_once("fn ")?.1;
            let end = name.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
            Some(name[..end].to_owned())
        })
        .collect()
}

/// Whether a C test file runs a test of that name.
fn c_test_exists(source: &str, name: &str) -> bool {
    [
        format!("RUN({name})"),
        format!("R({name},"),
        format!("ROOT({name},"),
    ]
    .iter()
    .any(|form| source.contains(form.as_str()))
}

/// The source of the test target `cargo test --test NAME` builds.
fn test_target(name: &str) -> Option<PathBuf> {
    [format!("tests/{name}.rs"), format!("tests/{name}/main.rs")]
        .into_iter()
        .map(|p| root().join(p))
        .find(|p| p.is_file())
}

/// `cargo test --test TARGET [FILTER] [-- --exact]`: (target, filter, exact).
fn parse_command(command: &str) -> Result<(Option<String>, Option<String>, bool), String> {
    let words: Vec<&str> = command.split_whitespace().collect();
    let (ours, theirs) = match words.iter().position(|w| *w == "--") {
        Some(at) => (&words[..at], &words[at + 1..]),
        None => (&words[..], &[][..]),
    };
    let mut target = None;
    let mut filter = None;
    let mut rest = ours[2..].iter();
    while let Some(word) = rest.next() {
        match *word {
            "--test" => target = Some(rest.next().ok_or("--test without a name")?.to_string()),
            "--release" => {}
            w if w.starts_with('-') => {
                return Err(format!("an option this check does not know: {w}"));
            }
            w if filter.is_none() => filter = Some(w.to_string()),
            w => return Err(format!("a second filter: {w}")),
        }
    }
    Ok((target, filter, theirs.contains(&"--exact")))
}

#[test]
fn security_md_names_only_files_tests_and_commands_that_exist() {
    let text = read(&root().join("SECURITY.md"));
    let mut problems = Vec::new();
    let mut tests_named = 0;
    for group in groups(&text) {
        let commands: Vec<(Option<String>, Option<String>, bool)> = group
            .iter()
            .filter_map(|(line, r)| match r {
                Reference::Command(c) => match parse_command(c) {
                    Ok(parsed) => Some(parsed),
                    Err(why) => {
                        problems.push(format!("SECURITY.md:{line}: `{c}`: {why}"));
                        None
                    }
                },
                _ => None,
            })
            .collect();
        // Each command: its target exists and its filter selects a test of it.
        for (line, reference) in &group {
            let Reference::Command(c) = reference else {
                continue;
            };
            let Ok((Some(target), filter, exact)) = parse_command(c) else {
                continue;
            };
            let Some(source) = test_target(&target) else {
                problems.push(format!(
                    "SECURITY.md:{line}: `{c}`: no test target {target}"
                ));
                continue;
            };
            let tests = rust_tests(&read(&source));
            if let Some(filter) = filter {
                let selects = |t: &String| {
                    if exact {
                        *t == filter
                    } else {
                        t.contains(&filter)
                    }
                };
                if !tests.iter().any(selects) {
                    problems.push(format!(
                        "SECURITY.md:{line}: `{c}` runs no test: {} has none named {filter}",
                        source.display()
                    ));
                }
            }
        }
        // Each link: a relative path that exists; a test named in its text exists, and the
        // group has the command that runs it.
        for (line, reference) in &group {
            let Reference::Link { dest, code } = reference else {
                continue;
            };
            let (path, anchor) = match dest.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (dest.as_str(), None),
            };
            if dest.contains("://") || dest.starts_with("mailto:") || path.starts_with('/') {
                problems.push(format!("SECURITY.md:{line}: {dest}: not a relative path"));
                continue;
            }
            let file = root().join(if path.is_empty() { "SECURITY.md" } else { path });
            if !file.exists() {
                problems.push(format!("SECURITY.md:{line}: {path} does not exist"));
                continue;
            }
            if let Some(anchor) = anchor {
                if !anchors(&read(&file)).contains(anchor) {
                    problems.push(format!(
                        "SECURITY.md:{line}: {path} has no heading #{anchor}"
                    ));
                }
            }
            let Some(name) = code else { continue };
            let file_name = Path::new(path).file_name().unwrap().to_string_lossy();
            if *name == file_name || name == path {
                continue;
            }
            tests_named += 1;
            if let Some(stem) = path
                .strip_prefix("c-tests/test_")
                .and_then(|p| p.strip_suffix(".c"))
            {
                if !c_test_exists(&read(&file), name) {
                    problems.push(format!("SECURITY.md:{line}: {path} has no test {name}"));
                }
                // Without whitespace, so that rustfmt's line breaks do not matter.
                let c_abi: String = read(&root().join("tests/c_abi.rs"))
                    .split_whitespace()
                    .collect();
                if !c_abi.contains(&format!("run_c_test(\"{stem}\")"))
                    && !c_abi.contains(&format!("run_c_test_with(\"{stem}\","))
                {
                    problems.push(format!(
                        "SECURITY.md:{line}: tests/c_abi.rs does not run {path}"
                    ));
                }
                let runs = commands.iter().any(|(target, filter, _)| {
                    target.as_deref() == Some("c_abi") && filter.as_deref() == Some(stem)
                });
                if !runs {
                    problems.push(format!(
                        "SECURITY.md:{line}: {name} ({path}) without `cargo test --test c_abi \
                         {stem}` beside it"
                    ));
                }
            } else if let Some(target) = path
                .strip_prefix("tests/")
                .and_then(|p| p.strip_suffix(".rs"))
                .filter(|t| !t.contains('/'))
            {
                if !rust_tests(&read(&file)).contains(name.as_str()) {
                    problems.push(format!(
                        "SECURITY.md:{line}: {path} has no #[test] fn {name}"
                    ));
                }
                let runs = commands.iter().any(|(t, filter, exact)| {
                    t.as_deref() == Some(target)
                        && filter.as_ref().is_none_or(|f| match exact {
                            true => f == name,
                            false => name.contains(f.as_str()),
                        })
                });
                if !runs {
                    problems.push(format!(
                        "SECURITY.md:{line}: {name} ({path}) without a `cargo test --test \
                         {target}` that runs it beside it"
                    ));
                }
            } else {
                problems.push(format!(
                    "SECURITY.md:{line}: `{name}` links {path}, which holds no tests this check \
                     knows (c-tests/test_*.c, tests/*.rs); link a file by its own name"
                ));
            }
        }
    }
    assert!(
        tests_named >= 50,
        "only {tests_named} tests named: the check is not reading SECURITY.md as it is written"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_readme_links_security_md() {
    assert!(
        read(&root().join("README.md")).contains("](SECURITY.md)"),
        "README.md has no link to SECURITY.md"
    );
}

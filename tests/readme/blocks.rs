//! Finds README.md's code blocks and the markers that say what each one is.
//!
//! A marker is an HTML comment (invisible on a rendered page) standing on its own right before
//! a fenced block:
//!
//! - `<!-- example: NAME -->` before a `sh` block: commands of the example NAME. An example may
//!   have several blocks; they run in README order as one script.
//! - `<!-- file: PATH -->` before a block of any language: a file that examples use, written
//!   at PATH (relative) in each example's directory before its commands run.
//!
//! Every code block must have one, so that no example goes unchecked.

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};

#[derive(Clone, Debug, PartialEq)]
pub enum Marker {
    Example(String),
    File(String),
}

#[derive(Debug)]
pub struct Block {
    /// 1-based line of the opening fence, for messages.
    pub line: usize,
    /// The first word of the fence's info string ("" when none).
    pub lang: String,
    pub text: String,
    pub marker: Marker,
}

/// The marked blocks, and what is wrong in the README's marking (empty when all is well).
pub fn parse(readme: &str) -> (Vec<Block>, Vec<String>) {
    let line_of = |offset: usize| readme[..offset].matches('\n').count() + 1;
    let mut blocks = Vec::new();
    let mut problems = Vec::new();
    // The marker read last, waiting for its block: (line, marker).
    let mut pending: Option<(usize, Marker)> = None;
    let mut html = String::new();
    let mut code: Option<(usize, String, String)> = None;

    for (event, range) in Parser::new(readme).into_offset_iter() {
        match event {
            Event::Start(Tag::HtmlBlock) => html.clear(),
            Event::Html(text) => html.push_str(&text),
            Event::End(TagEnd::HtmlBlock) => match parse_marker(&html) {
                Some(Ok(marker)) => {
                    if let Some((line, _)) = pending.replace((line_of(range.start), marker)) {
                        problems.push(format!("README.md:{line}: marker without a code block"));
                    }
                }
                Some(Err(why)) => {
                    problems.push(format!("README.md:{}: {why}", line_of(range.start)))
                }
                None => {
                    if let Some((line, _)) = pending.take() {
                        problems.push(format!(
                            "README.md:{line}: marker not followed directly by a code block"
                        ));
                    }
                }
            },
            Event::Start(Tag::CodeBlock(kind)) => {
                let line = line_of(range.start);
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => {
                        info.split_whitespace().next().unwrap_or("").to_string()
                    }
                    CodeBlockKind::Indented => {
                        problems.push(format!(
                            "README.md:{line}: an indented code block; write examples as fenced \
                             blocks (```sh) with a marker"
                        ));
                        String::new()
                    }
                };
                code = Some((line, lang, String::new()));
            }
            Event::Text(text) => {
                if let Some((_, _, body)) = code.as_mut() {
                    body.push_str(&text);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                let (line, lang, text) = code.take().expect("a code block ends after it starts");
                match pending.take() {
                    Some((_, marker)) => blocks.push(Block {
                        line,
                        lang,
                        text,
                        marker,
                    }),
                    None => problems.push(format!(
                        "README.md:{line}: a code block without a marker: put \
                         `<!-- example: NAME -->` (commands run by tests/readme) or \
                         `<!-- file: PATH -->` (a file examples use) on the line before it"
                    )),
                }
            }
            Event::Start(_) => {
                if let Some((line, _)) = pending.take() {
                    problems.push(format!(
                        "README.md:{line}: marker not followed directly by a code block"
                    ));
                }
            }
            _ => {}
        }
    }
    if let Some((line, _)) = pending {
        problems.push(format!("README.md:{line}: marker without a code block"));
    }
    (blocks, problems)
}

/// `Some` for an HTML comment that is a marker (or tries to be one), `None` for other HTML.
fn parse_marker(html: &str) -> Option<Result<Marker, String>> {
    let inner = html
        .trim()
        .strip_prefix("<!--")?
        .strip_suffix("-->")?
        .trim();
    let (kind, value) = inner.split_once(':')?;
    let value = value.trim();
    Some(match kind.trim() {
        "example"
            if !value.is_empty()
                && value
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') =>
        {
            Ok(Marker::Example(value.to_string()))
        }
        "example" => Err(format!(
            "example name {value:?}: use lowercase letters, digits and '_' (it is a Rust test name)"
        )),
        "file"
            if !value.is_empty()
                && !value.starts_with('/')
                && !value.split('/').any(|c| c == "..") =>
        {
            Ok(Marker::File(value.to_string()))
        }
        "file" => Err(format!(
            "file path {value:?}: give a relative path inside the example's directory"
        )),
        _ => return None,
    })
}

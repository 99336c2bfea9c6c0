//! Property tests: no input makes the loader, the validator or a renderer
//! panic, and every diagnostic points inside its file.
//!
//! Each property runs `SPEC_FUZZ_CASES` cases (default [`DEFAULT_CASES`],
//! sized to keep this file well under a minute in a debug build on two
//! cores). For a long run: `SPEC_FUZZ_CASES=100000 cargo test --release
//! --test integration fuzz`.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError};
use spec::render;
use spec::source::FileId;
use spec::validate::Project;
use spec::yaml::{self, Node, Value};

use crate::common;

const DEFAULT_CASES: u32 = 1000;

fn config() -> Config {
    let cases = match std::env::var("SPEC_FUZZ_CASES") {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("SPEC_FUZZ_CASES must be a number, not `{text}`")),
        Err(_) => DEFAULT_CASES,
    };
    Config {
        cases,
        // Failures print their minimal input; no regression files are
        // written into the source tree.
        failure_persistence: None,
        ..Config::default()
    }
}

/// Pieces of YAML (and of templates) that arbitrary text rarely hits by
/// chance: indicators, anchors, tags, directives, BOMs, wide characters.
const TOKENS: &[&str] = &[
    "\n",
    "\n",
    "  ",
    "    ",
    "- ",
    ": ",
    ":",
    "[",
    "]",
    "{",
    "}",
    ", ",
    "? ",
    "&a ",
    "*a",
    "&b ",
    "*b",
    "!!str ",
    "!!binary ",
    "!local ",
    "|",
    "|-",
    ">",
    "'",
    "\"",
    "\\",
    "# ",
    "---\n",
    "...\n",
    "%YAML 1.2\n",
    "%TAG ! tag:x,2000:\n",
    "\t",
    "\r\n",
    "\u{feff}",
    "\u{0}",
    "é",
    "聚水潭",
    "🦀",
    "~",
    "null",
    "true",
    "false",
    "yes",
    "0x1F",
    "0o17",
    "012",
    "1e400",
    "-.inf",
    ".nan",
    "18446744073709551616",
    "-9223372036854775809",
    "<<: *a",
    "spec_version: 1\n",
    "app:\n",
    "auth:\n",
    "actions:\n",
    "triggers:\n",
    "  type: none\n",
    "key",
    "id: 1",
    "{{ input.x }}",
    "{{",
    "}}",
    "{%",
    "%}",
    "{# ",
    "Bearer ",
    "0123456789abcdef0123456789abcdef",
];

fn yamlish() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(TOKENS).prop_map(str::to_string),
            1 => any::<char>().prop_map(String::from),
            1 => "[a-z_]{1,12}",
        ],
        0..200,
    )
    .prop_map(|parts| {
        let mut text = parts.concat();
        truncate_to(&mut text, 4096);
        text
    })
}

fn truncate_to(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

/// Every span of a parsed tree lies inside the text.
fn check_tree(node: &Node, len: usize) -> Result<(), TestCaseError> {
    let in_text = |start: u32, end: u32| start <= end && end as usize <= len;
    prop_assert!(
        in_text(node.span.start, node.span.end),
        "node span {:?} outside {len} bytes",
        node.span
    );
    match &node.value {
        Value::Seq(items) => items.iter().try_for_each(|n| check_tree(n, len)),
        Value::Map(entries) => entries.iter().try_for_each(|(key, value)| {
            prop_assert!(
                in_text(key.span.start, key.span.end),
                "key span {:?} outside {len} bytes",
                key.span
            );
            check_tree(value, len)
        }),
        _ => Ok(()),
    }
}

/// The characters of 1-based `line` including its line break, with lines
/// as `SourceFile` splits them (a column may point at the break).
fn raw_line_chars(file: &spec::source::SourceFile, line: usize) -> usize {
    // The first offset on `line` or later; `line_col` grows with the offset.
    let start_of = |line: usize| {
        let (mut lo, mut hi) = (0, file.text.len() + 1);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if mid <= file.text.len() && file.line_col(mid).0 < line {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo.min(file.text.len())
    };
    let (start, end) = (start_of(line), start_of(line + 1));
    file.text
        .get(start..end)
        .map_or(end - start, |raw| raw.chars().count())
}

/// Every diagnostic (and related note) points inside its file, and every
/// renderer copes with it.
fn check_project(project: &Project) -> Result<(), TestCaseError> {
    for d in &project.diagnostics {
        let spans = d
            .span
            .into_iter()
            .chain(d.related.as_ref().map(|(s, _)| *s));
        for span in spans {
            let file = project.sources.get(span.file);
            prop_assert!(
                span.start <= span.end && span.end as usize <= file.text.len(),
                "{} span {span:?} outside the file's {} bytes",
                d.code,
                file.text.len()
            );
            let position = render::position(&project.sources, span);
            prop_assert!(
                position.line >= 1 && position.end_line <= file.line_count(),
                "{} at line {}..{} of a {}-line file",
                d.code,
                position.line,
                position.end_line,
                file.line_count()
            );
            prop_assert!(position.column >= 1);
            let line_chars = raw_line_chars(file, position.line);
            prop_assert!(
                position.column <= line_chars + 1,
                "{} at column {} of a {line_chars}-character line",
                d.code,
                position.column
            );
        }
    }
    let summary = common::summary(project);
    let human = render::human(&project.sources, &project.diagnostics, true);
    let json = render::json(&project.sources, &project.diagnostics, summary);
    let github = render::github(&project.sources, &project.diagnostics);
    prop_assert_eq!(human.is_empty(), project.diagnostics.is_empty());
    prop_assert!(
        serde_json::from_str::<serde_json::Value>(&json).is_ok(),
        "json report does not parse"
    );
    // Workflow commands escape newlines: one line per diagnostic.
    prop_assert_eq!(github.lines().count(), project.diagnostics.len());
    Ok(())
}

/// Writes `bytes` to `path` and validates it: must not panic, must not be
/// an I/O error, and must satisfy [`check_project`].
fn validate_bytes(path: &Path, bytes: &[u8]) -> Result<(), TestCaseError> {
    std::fs::write(path, bytes).expect("writing the case");
    validate_path(path)
}

fn validate_path(path: &Path) -> Result<(), TestCaseError> {
    let project = spec::validate::validate(&[path.to_path_buf()])
        .map_err(|e| TestCaseError::fail(format!("unexpected I/O error: {e}")))?;
    prop_assert!(!project.sources.is_empty(), "nothing was read");
    check_project(&project)
}

#[test]
fn yaml_parse_never_panics_on_arbitrary_text() {
    proptest!(config(), |(text in prop_oneof![yamlish(), ".{0,1024}"])| {
        match yaml::parse(FileId(0), &text) {
            Ok(root) => check_tree(&root, text.len())?,
            Err(error) => prop_assert!(
                error.span.start <= error.span.end && error.span.end as usize <= text.len(),
                "error span {:?} outside {} bytes", error.span, text.len()
            ),
        }
    });
}

#[test]
fn validate_never_panics_on_arbitrary_bytes() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("spec.yaml");
    proptest!(config(), |(bytes in prop::collection::vec(any::<u8>(), 0..4096))| {
        validate_bytes(&path, &bytes)?;
    });
}

#[test]
fn validate_never_panics_on_yamlish_text() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("spec.yaml");
    proptest!(config(), |(text in yamlish())| {
        validate_bytes(&path, text.as_bytes())?;
    });
}

// --- Structured mutations of real specs ---------------------------------------

/// A connector to mutate: one file, or a connector directory's files
/// (relative path, bytes), validated as a directory.
struct Seed {
    origin: PathBuf,
    files: Vec<(PathBuf, Vec<u8>)>,
    is_directory: bool,
}

impl Seed {
    /// Writes the seed (with `files[mutated]` replaced by `bytes`) into a
    /// fresh `case` directory under `dir`; returns the path to validate.
    fn write(&self, dir: &Path, mutated: Option<(usize, &[u8])>) -> PathBuf {
        let case = dir.join("case");
        if case.exists() {
            std::fs::remove_dir_all(&case).expect("clearing the previous case");
        }
        for (n, (relative, original)) in self.files.iter().enumerate() {
            let bytes = match mutated {
                Some((m, bytes)) if m == n => bytes,
                _ => original,
            };
            let path = case.join(relative);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            std::fs::write(&path, bytes).expect("writing the case");
        }
        if self.is_directory {
            case
        } else {
            case.join(&self.files[0].0)
        }
    }
}

/// The clean fixtures, the schema-valid model fixtures and every connector
/// in `specs/`: realistic documents to mutate.
fn seeds() -> Vec<Seed> {
    let mut seeds = Vec::new();
    for dir in [
        common::fixture("valid"),
        common::fixture("model/valid"),
        common::root().join("specs"),
    ] {
        collect_seeds(&dir, &mut seeds);
    }
    assert!(seeds.len() >= 2, "no seeds to mutate");
    seeds
}

fn collect_seeds(dir: &Path, out: &mut Vec<Seed>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries
        .map(|e| e.expect("a directory entry").path())
        .collect();
    paths.sort();
    for path in paths {
        if path.join("connector.yaml").is_file() {
            let mut files = Vec::new();
            collect_yaml(&path, &mut files);
            let files = files
                .into_iter()
                .map(|file| {
                    let bytes = std::fs::read(&file).expect("reading a seed");
                    let relative = file
                        .strip_prefix(&path)
                        .expect("below the seed")
                        .to_path_buf();
                    (relative, bytes)
                })
                .collect();
            out.push(Seed {
                origin: path,
                files,
                is_directory: true,
            });
        } else if path.is_dir() {
            collect_seeds(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            let bytes = std::fs::read(&path).expect("reading a seed");
            out.push(Seed {
                origin: path,
                files: vec![(PathBuf::from("spec.yaml"), bytes)],
                is_directory: false,
            });
        }
    }
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries
        .map(|e| e.expect("a directory entry").path())
        .collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            collect_yaml(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

/// Values of other types to put where a scalar was.
const REPLACEMENTS: &[&str] = &[
    "true",
    "false",
    "0",
    "-1",
    "4294967296",
    "1.5",
    "\"text\"",
    "''",
    "null",
    "~",
    "[]",
    "{}",
    "[1, 2]",
    "{a: 1}",
    "yes",
    "\"{{ input.nope }}\"",
    "\"{{ unclosed\"",
    "&x 1",
    "*x",
    "|\n  block",
];

/// Where a mutation applies: an index into whatever it picks from.
#[derive(Debug, Clone, Copy)]
struct Pick(u64);

impl Pick {
    /// An index below `len` (which must not be zero).
    fn of(self, len: usize) -> usize {
        (self.0 % len as u64) as usize
    }
}

fn pick() -> impl Strategy<Value = Pick> {
    any::<u64>().prop_map(Pick)
}

#[derive(Debug, Clone)]
enum Mutation {
    /// Remove one line (a key, a list item, part of a block).
    DeleteLine(Pick),
    /// Repeat one line (a duplicate key or list item).
    DuplicateLine(Pick),
    /// Replace the value after `key:` on one line with another type.
    ChangeScalar(Pick, &'static str),
    /// Cut the file at a byte (possibly inside a UTF-8 character).
    Truncate(Pick),
    /// Insert bytes at a byte offset (possibly inside a UTF-8 character).
    Insert(Pick, Vec<u8>),
    /// Swap the indentation of one line for another amount.
    Reindent(Pick, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let insert = prop_oneof![
        prop::sample::select(TOKENS).prop_map(|t| t.as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 1..8),
    ];
    prop_oneof![
        pick().prop_map(Mutation::DeleteLine),
        pick().prop_map(Mutation::DuplicateLine),
        (pick(), prop::sample::select(REPLACEMENTS))
            .prop_map(|(i, r)| Mutation::ChangeScalar(i, r)),
        pick().prop_map(Mutation::Truncate),
        (pick(), insert).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (pick(), 0..12usize).prop_map(|(i, n)| Mutation::Reindent(i, n)),
    ]
}

fn split_lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    let mut lines = split_lines(bytes);
    match mutation {
        Mutation::DeleteLine(i) if !lines.is_empty() => {
            lines.remove(i.of(lines.len()));
        }
        Mutation::DuplicateLine(i) if !lines.is_empty() => {
            let n = i.of(lines.len());
            let line = lines[n].clone();
            lines.insert(n, line);
        }
        Mutation::ChangeScalar(i, replacement) => {
            // Lines of the form `  key: value` (or `- key: value`).
            let candidates: Vec<usize> = (0..lines.len())
                .filter(|&n| {
                    let line = String::from_utf8_lossy(&lines[n]);
                    let body = line.trim_start().trim_start_matches("- ");
                    !body.starts_with('#')
                        && body.split_once(": ").is_some_and(|(k, v)| {
                            !k.is_empty() && !k.contains(' ') && !v.trim().is_empty()
                        })
                })
                .collect();
            if !candidates.is_empty() {
                let n = candidates[i.of(candidates.len())];
                let line = String::from_utf8_lossy(&lines[n]).into_owned();
                let colon = line.find(": ").expect("a candidate has `: `");
                lines[n] = format!("{}: {replacement}\n", &line[..colon]).into_bytes();
            }
        }
        Mutation::Truncate(i) => {
            let at = i.of(bytes.len() + 1);
            bytes.truncate(at);
            return;
        }
        Mutation::Insert(i, inserted) => {
            let at = i.of(bytes.len() + 1);
            bytes.splice(at..at, inserted.iter().copied());
            return;
        }
        Mutation::Reindent(i, width) if !lines.is_empty() => {
            let n = i.of(lines.len());
            let rest: Vec<u8> = lines[n]
                .iter()
                .copied()
                .skip_while(|&b| b == b' ')
                .collect();
            lines[n] = [vec![b' '; *width], rest].concat();
        }
        _ => {}
    }
    *bytes = lines.concat();
}

#[test]
fn mutated_specs_never_panic_and_point_inside_the_file() {
    let seeds = seeds();
    let dir = tempfile::tempdir().expect("a temporary directory");
    proptest!(
        config(),
        |(seed in pick(), file in pick(), mutations in prop::collection::vec(mutation(), 1..4))| {
            let seed = &seeds[seed.of(seeds.len())];
            let file = file.of(seed.files.len());
            let mut bytes = seed.files[file].1.clone();
            for m in &mutations {
                apply(&mut bytes, m);
            }
            validate_path(&seed.write(dir.path(), Some((file, &bytes))))?;
        }
    );
}

#[test]
fn mutations_do_what_they_say() {
    let mut bytes = b"a: 1\nb: two\n".to_vec();
    apply(&mut bytes, &Mutation::ChangeScalar(Pick(1), "[]"));
    assert_eq!(bytes, b"a: 1\nb: []\n");
    apply(&mut bytes, &Mutation::DuplicateLine(Pick(0)));
    assert_eq!(bytes, b"a: 1\na: 1\nb: []\n");
    apply(&mut bytes, &Mutation::DeleteLine(Pick(2)));
    assert_eq!(bytes, b"a: 1\na: 1\n");
    apply(&mut bytes, &Mutation::Reindent(Pick(1), 3));
    assert_eq!(bytes, b"a: 1\n   a: 1\n");
    apply(&mut bytes, &Mutation::Truncate(Pick(0)));
    assert_eq!(bytes, b"");
    apply(&mut bytes, &Mutation::Insert(Pick(0), b"x".to_vec()));
    assert_eq!(bytes, b"x");
}

/// The seeds themselves pass the span checks, and the clean fixtures have
/// no diagnostics, so a failure above is the mutation's.
#[test]
fn seeds_are_checked_unmutated() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for seed in seeds() {
        let path = seed.write(dir.path(), None);
        let project = common::validate(std::slice::from_ref(&path));
        check_project(&project)
            .unwrap_or_else(|e| panic!("{}: {e}", common::display(&seed.origin)));
        if seed.origin.starts_with(common::fixture("valid")) {
            assert!(
                project.diagnostics.is_empty(),
                "{} is not clean:\n{}",
                common::display(&seed.origin),
                common::human(&project)
            );
        }
    }
}

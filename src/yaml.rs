//! YAML to a located tree.
//!
//! The spec is parsed once into [`Node`]s that remember their span. From
//! that tree we derive the plain JSON value the schema validator and the
//! model see, and we map any JSON Pointer back to a file:line:col. Parsing
//! goes through serde-saphyr with explicit budgets, so alias bombs and deep
//! nesting are refused quickly, and on a thread with a large stack, so a
//! deep-but-within-budget document cannot overflow the caller's stack.
//!
//! Most documents take a fast path first: [`scan`], a direct scanner for
//! the part of YAML specs are written in, then [`events`], the same tree
//! built straight from the parser's events. Each is several times faster
//! than the one after it, and each leaves whatever it does not handle
//! exactly like serde-saphyr (errors, tags, aliases, merge keys, budgets,
//! and for the scanner anything outside its part of YAML) to the next, so
//! serde-saphyr decides every hard case as before.

use compact_str::CompactString;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::source::{FileId, Span};

mod deserializer;
mod events;
mod scan;

/// Nesting deeper than this is refused (a connector needs ~10 levels plus
/// two per nested group).
pub const MAX_DEPTH: usize = 64;
/// More YAML nodes than this in one file is refused (the largest real
/// connectors have a few thousand).
pub const MAX_NODES: usize = 200_000;
/// Alias references allowed in one file.
pub const MAX_ALIASES: usize = 1_000;
/// Total scalar bytes in one file.
pub const MAX_SCALAR_BYTES: usize = 16 * 1024 * 1024;
/// Stack for the parser thread: serde's recursive descent takes several KiB
/// per level in debug builds.
const PARSER_STACK_BYTES: usize = 64 * 1024 * 1024;

/// A YAML node with its location.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
    /// For a string written verbatim in the source (no escapes or folding),
    /// the byte offset where its text starts, so a problem inside the string
    /// can be pointed at exactly.
    pub verbatim_start: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    /// Most strings in a spec (names, types, labels) are short: a
    /// [`CompactString`] holds up to 24 bytes inline, without the heap
    /// allocation (and free) a `String` costs.
    String(CompactString),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

/// A mapping key with its location.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// Keys are short words: inline, as a [`Value::String`].
    pub name: CompactString,
    pub span: Span,
}

/// Why a document could not be parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub kind: ParseErrorKind,
    pub message: String,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseErrorKind {
    Syntax,
    DuplicateKey,
    ResourceLimit,
}

/// Parses one YAML document from `text` (file `file`).
pub fn parse(file: FileId, text: &str) -> Result<Node, ParseError> {
    // Both fast paths need no large stack: the scanner recurses at most
    // `events::FAST_MAX_DEPTH` levels, the event builder is iterative.
    if let Some(root) = scan::parse(file, text) {
        return Ok(root);
    }
    if let Some(root) = events::parse(file, text) {
        return Ok(root);
    }
    parse_with_serde_saphyr(file, text)
}

/// The slow path: serde-saphyr's `Spanned` deserialization, which decides
/// every case the fast path leaves to it.
fn parse_with_serde_saphyr(file: FileId, text: &str) -> Result<Node, ParseError> {
    // The parse runs on its own thread so that stack use does not depend on
    // the caller (tests run on 2 MiB threads). Scoped: `text` is borrowed.
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("spec-yaml".into())
            .stack_size(PARSER_STACK_BYTES)
            .spawn_scoped(scope, || parse_on_this_thread(file, text))
            .expect("spawning the YAML parser thread")
            .join()
            .unwrap_or_else(|_| {
                Err(ParseError {
                    kind: ParseErrorKind::Syntax,
                    message: "the YAML parser failed unexpectedly on this input".into(),
                    span: Span::file_start(file),
                })
            })
    })
}

fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH;
    budget.max_nodes = MAX_NODES;
    budget.max_aliases = MAX_ALIASES;
    budget.max_total_scalar_bytes = MAX_SCALAR_BYTES;
    budget.max_documents = 1;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    // YAML 1.2 core schema: only `true`/`false` are booleans (`yes`/`no`
    // stay strings) and `012` is not silently an octal or float.
    options.strict_booleans = true;
    options.legacy_octal_numbers = false;
    options.leading_zero_numbers_as_strings = true;
    options.with_snippet = false;
    options
}

fn parse_on_this_thread(file: FileId, text: &str) -> Result<Node, ParseError> {
    let raw: Spanned<RawValue> = serde_saphyr::from_str_with_options(text, options())
        .map_err(|error| convert_error(file, text, &error))?;
    Ok(locate(file, text, raw))
}

fn convert_error(file: FileId, text: &str, error: &serde_saphyr::Error) -> ParseError {
    let full = error.to_string();
    // serde-saphyr prefixes "line L column C: "; we render positions ourselves.
    let first_line = full.lines().next().unwrap_or("invalid YAML");
    let message = first_line
        .trim_start_matches("error: ")
        .split_once(": ")
        .filter(|(prefix, _)| prefix.starts_with("line "))
        .map(|(_, rest)| rest)
        .unwrap_or(first_line);
    // ... and some messages end with " at line L, column C".
    let message = match message.rfind(" at line ") {
        Some(i)
            if message[i + " at line ".len()..]
                .split(", column ")
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) =>
        {
            &message[..i]
        }
        _ => message,
    }
    .to_string();
    let span = error
        .location()
        .map(|loc| span_of_location(file, text, &loc))
        .unwrap_or_else(|| Span::file_start(file));
    let kind = if message.contains("budget breached")
        || message.contains("recursion limit")
        || message.contains("limit exceeded")
    {
        ParseErrorKind::ResourceLimit
    } else if message.contains("duplicate mapping key") {
        ParseErrorKind::DuplicateKey
    } else {
        ParseErrorKind::Syntax
    };
    let message = match kind {
        ParseErrorKind::ResourceLimit => describe_budget(&message),
        ParseErrorKind::DuplicateKey => message
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(&message)
            .to_string(),
        ParseErrorKind::Syntax => message,
    };
    ParseError {
        kind,
        message,
        span,
    }
}

fn describe_budget(message: &str) -> String {
    if message.contains("Depth") || message.contains("recursion limit") {
        format!("nesting is deeper than {MAX_DEPTH} levels")
    } else if message.contains("Nodes") || message.contains("Events") {
        format!(
            "the document has more than {MAX_NODES} nodes (an alias bomb, or a file far larger than any connector)"
        )
    } else if message.contains("Alias") || message.contains("alias") {
        format!("the document uses more than {MAX_ALIASES} aliases or expands them too often")
    } else if message.contains("Documents") {
        "a spec file holds one YAML document; remove the second `---` and what follows, or move it to its own file".to_string()
    } else if message.contains("Scalar") {
        format!(
            "the document's strings add up to more than {} MiB",
            MAX_SCALAR_BYTES / (1024 * 1024)
        )
    } else {
        format!("the document exceeds a loader budget ({message})")
    }
}

/// Converts a serde-saphyr location (character offsets, 1-based line and
/// column) into a byte span.
fn span_of_location(file: FileId, text: &str, loc: &serde_saphyr::Location) -> Span {
    let span = loc.span();
    if let (Some(start), Some(len)) = (span.byte_offset(), span.byte_len()) {
        let start = usize::try_from(start).unwrap_or(usize::MAX);
        if start <= text.len() {
            let end = start.saturating_add(usize::try_from(len).unwrap_or(0));
            return Span::new(file, start, end.min(text.len()));
        }
    }
    // Fall back to line/column when byte offsets are unknown.
    let (line, column) = (loc.line() as usize, loc.column() as usize);
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let col_bytes: usize = l
                .chars()
                .take(column.saturating_sub(1))
                .map(char::len_utf8)
                .sum();
            return Span::new(file, offset + col_bytes, offset + col_bytes);
        }
        offset += l.len();
    }
    Span::new(file, text.len(), text.len())
}

fn locate(file: FileId, text: &str, raw: Spanned<RawValue>) -> Node {
    let span = span_of_location(file, text, &raw.referenced);
    let verbatim_start = match &raw.value {
        RawValue::String(value) => verbatim_start(text, span, value),
        _ => None,
    };
    let value = match raw.value {
        RawValue::Null => Value::Null,
        RawValue::Bool(b) => Value::Bool(b),
        RawValue::Int(i) => Value::Int(i),
        RawValue::UInt(u) => Value::UInt(u),
        RawValue::Float(f) => Value::Float(f),
        RawValue::String(s) => Value::String(s.into()),
        RawValue::Seq(items) => {
            Value::Seq(items.into_iter().map(|n| locate(file, text, n)).collect())
        }
        RawValue::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let key = Key {
                        span: span_of_location(file, text, &k.referenced),
                        name: k.value.into(),
                    };
                    (key, locate(file, text, v))
                })
                .collect(),
        ),
    };
    Node {
        value,
        span,
        verbatim_start,
    }
}

/// Where `value` starts in the source, if the scalar at `span` is its
/// verbatim text (plain, or quoted without escapes).
fn verbatim_start(text: &str, span: Span, value: &str) -> Option<u32> {
    let source = text.get(span.start as usize..span.end as usize)?;
    if source == value {
        return Some(span.start);
    }
    let inner = source.get(1..)?;
    (inner.starts_with(value) && matches!(source.as_bytes()[0], b'"' | b'\''))
        .then_some(span.start + 1)
}

/// What serde-saphyr produces; converted to [`Node`] with byte spans.
enum RawValue {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    String(String),
    Seq(Vec<Spanned<RawValue>>),
    Map(Vec<(Spanned<String>, Spanned<RawValue>)>),
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawValue;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }
    fn visit_none<E>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawValue, D::Error> {
        RawValue::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<RawValue, E> {
        Ok(RawValue::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<RawValue, E> {
        Ok(RawValue::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<RawValue, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => RawValue::Int(i),
            Err(_) => RawValue::UInt(v),
        })
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<RawValue, E> {
        i64::try_from(v)
            .map(RawValue::Int)
            .map_err(|_| E::custom("integer out of range"))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<RawValue, E> {
        u64::try_from(v)
            .map(|v| self.visit_u64::<E>(v).unwrap_or(RawValue::UInt(v)))
            .map_err(|_| E::custom("integer out of range"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<RawValue, E> {
        Ok(RawValue::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<RawValue, E> {
        Ok(RawValue::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<RawValue, E> {
        Ok(RawValue::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(RawValue::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key()? {
            let value = map.next_value()?;
            entries.push((key, value));
        }
        Ok(RawValue::Map(entries))
    }
}

impl Node {
    /// The plain JSON value of this node (what the schema and model see).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::UInt(u) => J::from(*u),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                // NaN and infinities have no JSON form; keep them visible as text.
                .unwrap_or_else(|| J::String(f.to_string())),
            Value::String(s) => J::String(s.as_str().to_owned()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.as_str().to_owned(), v.to_json()))
                    .collect(),
            ),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    pub fn entry(&self, key: &str) -> Option<(&Key, &Node)> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.name == key)
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// Finds the node a JSON Pointer names. Returns the node and, when the
    /// last step was a mapping key, that key.
    pub fn lookup(&self, pointer: &str) -> Option<(&Node, Option<&Key>)> {
        let mut node = self;
        let mut key = None;
        if pointer.is_empty() {
            return Some((node, None));
        }
        for raw in pointer.strip_prefix('/')?.split('/') {
            let step = raw.replace("~1", "/").replace("~0", "~");
            match &node.value {
                Value::Map(entries) => {
                    let (k, v) = entries.iter().find(|(k, _)| k.name == step)?;
                    key = Some(k);
                    node = v;
                }
                Value::Seq(items) => {
                    node = items.get(step.parse::<usize>().ok()?)?;
                    key = None;
                }
                _ => return None,
            }
        }
        Some((node, key))
    }

    /// The best span for a problem with the value at `pointer`: the value
    /// itself when it is a scalar, else its key, else the nearest ancestor.
    pub fn value_span(&self, pointer: &str) -> Span {
        let mut pointer = pointer.to_string();
        loop {
            if let Some((node, key)) = self.lookup(&pointer) {
                let is_container = matches!(node.value, Value::Map(_) | Value::Seq(_));
                return match (is_container, key) {
                    (true, Some(key)) => key.span,
                    _ => node.span,
                };
            }
            match pointer.rfind('/') {
                Some(i) => pointer.truncate(i),
                None => return self.span,
            }
        }
    }

    /// The span of `needle` inside this string, when the string is written
    /// verbatim.
    pub fn sub_span(&self, needle: &str) -> Option<Span> {
        let Value::String(value) = &self.value else {
            return None;
        };
        let start = self.verbatim_start? as usize + value.find(needle)?;
        Some(Span::new(self.span.file, start, start + needle.len()))
    }

    /// The best span for a problem with the key at `pointer` (unknown key,
    /// duplicate): the key when there is one, else the value.
    pub fn key_span(&self, pointer: &str) -> Span {
        match self.lookup(pointer) {
            Some((_, Some(key))) => key.span,
            _ => self.value_span(pointer),
        }
    }
}

/// Escapes one JSON Pointer token.
pub fn pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Every `.yaml` file under `dirs` (relative to the crate) that is UTF-8,
/// with its text, in path order: the specs and fixtures tests read.
#[cfg(test)]
pub(crate) fn yaml_files_under(dirs: &[&str]) -> Vec<(std::path::PathBuf, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    let mut pending: Vec<_> = dirs.iter().map(|d| root.join(d)).collect();
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml")
                && let Ok(text) = std::fs::read_to_string(&path)
            {
                files.push((path, text));
            }
        }
    }
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Node, ParseError> {
        parse(FileId(0), text)
    }

    #[test]
    fn spans_point_at_keys_and_values() {
        let text = "app:\n  key: demo\n  id: 7\nlist:\n  - a\n  - b: 1\n";
        let root = parse_str(text).unwrap();
        let (node, key) = root.lookup("/app/key").unwrap();
        assert_eq!(
            &text[node.span.start as usize..node.span.end as usize],
            "demo"
        );
        assert_eq!(
            &text[key.unwrap().span.start as usize..key.unwrap().span.end as usize],
            "key"
        );
        let span = root.key_span("/list/1/b");
        assert_eq!(&text[span.start as usize..span.end as usize], "b");
        assert_eq!(root.to_json()["app"]["id"], 7);
    }

    #[test]
    fn yaml_1_1_booleans_and_octals_stay_strings() {
        let root = parse_str("a: yes\nb: 012\nc: true\n").unwrap();
        let json = root.to_json();
        assert_eq!(json["a"], "yes");
        assert_eq!(json["b"], "012");
        assert_eq!(json["c"], true);
    }

    #[test]
    fn duplicate_keys_are_reported_at_the_second_key() {
        let err = parse_str("a: 1\na: 2\n").unwrap_err();
        assert_eq!(err.kind, ParseErrorKind::DuplicateKey);
        assert_eq!(err.span.start, 5);
    }

    #[test]
    fn alias_bombs_and_deep_nesting_are_refused() {
        let mut bomb = String::from("a: &a [x,x,x,x,x,x,x,x,x,x]\n");
        for (i, c) in "bcdefghij".chars().enumerate() {
            let prev = (b'a' + i as u8) as char;
            bomb.push_str(&format!(
                "{c}: &{c} [{}]\n",
                vec![format!("*{prev}"); 10].join(",")
            ));
        }
        assert_eq!(
            parse_str(&bomb).unwrap_err().kind,
            ParseErrorKind::ResourceLimit
        );
        let deep = "[".repeat(10_000);
        assert!(parse_str(&deep).is_err());
        let deep_block: String = (0..10_000)
            .map(|i| format!("{}k:\n", " ".repeat(i)))
            .collect();
        assert_eq!(
            parse_str(&deep_block).unwrap_err().kind,
            ParseErrorKind::ResourceLimit
        );
    }

    /// The fast paths either step aside or build exactly what serde-saphyr
    /// builds (values, spans, verbatim starts); says whether the event
    /// builder took the text.
    fn assert_paths_agree(text: &str) -> bool {
        assert_scanner_agrees(text);
        agrees_with_serde_saphyr("event builder", events::parse(FileId(0), text), text)
    }

    /// The scanner either steps aside or builds exactly what serde-saphyr
    /// builds; says whether it took the text.
    fn assert_scanner_agrees(text: &str) -> bool {
        agrees_with_serde_saphyr("scanner", scan::parse(FileId(0), text), text)
    }

    fn agrees_with_serde_saphyr(path: &str, built: Option<Node>, text: &str) -> bool {
        let Some(built) = built else {
            return false;
        };
        assert_eq!(
            Ok(built),
            parse_with_serde_saphyr(FileId(0), text),
            "{path} and serde-saphyr disagree on {text:?}"
        );
        true
    }

    #[test]
    fn scanner_builds_what_serde_saphyr_builds() {
        // (text, whether the scanner should take it)
        let cases: &[(&str, bool)] = &[
            (
                "a: 1\nb:\n  c: x  # c\n  d: 'q'\ne:\n- 1\n- k: v\n  k2: \"w\"\nf:\ng: [1, {x: y}]\n",
                true,
            ),
            ("- a\n-\n- - b\n  - c\n", true),
            ("- # c\n-  # d\n- x\na:\n  - # e\n  - y\n", false),
            ("k:\n  - # c\n  - x\n", true),
            ("-   a\n-    \n-   - b\n    - c\n", true),
            ("a: |\n  lit\n  two\nb: >-\n  fold\n  ed\nc: x\n", true),
            (
                "a: |\n  lit\n\n   more\n    x\n\n\nb: |-\n  s\n\nc: |+\n  k\n\n\nd: 1\n",
                true,
            ),
            (
                "a: >\n  one\n  two\n\n  three\n\n\n  four\nb: >+\n  kept\n\n",
                true,
            ),
            ("a: |  # header comment\n  x # not a comment\n", true),
            ("k:\n- |\n  in seq\n- >-\n  folded\n  item\n", true),
            ("- k: |\n    deep\n  j: 2\n", true),
            (
                "{\n \"a\": 1,\n \"b\": [\n  \"x\",\n  2\n ],\n \"c\": {}\n}\n",
                true,
            ),
            ("a:\n  - x\n", true),
            ("k:   \n  # comment\nz: 1", true),
            (
                "# lead\n\na: 1 # c\n\n# mid\nb: [a, 'b', \"c\"] # c\n# end\n",
                true,
            ),
            ("a: [1, [2, [3]], {b: {c: d}}]\n", true),
            ("a: [\n  1, # one\n  2\n  ]\n", true),
            ("a: {x: 1,\n  y: 2}\n", true),
            (
                "a: \"esc \\\" \\\\ \\/ \\n \\t \\u00e9 \\u4e2d\"\nb: 'it''s'\n",
                true,
            ),
            ("url: http://x.y/z?a=b#frag\nt: 12:30\nh: a#b\n", true),
            ("neg: -1\nlist: [-1, -2.5, -x]\nd: -\n", false),
            ("\"quoted key\": 1\n'single': 2\n名: 值\n", true),
            ("- \"k\": v\n  'j': w\n", true),
            ("a: b: c\n", false),
            ("a: b:\n", false),
            ("a:\n  b\n", false),
            ("a: plain\n  continued\n", false),
            ("a: 'two\n  lines'\n", false),
            ("a: |2\n    x\n", false),
            ("a: >\n  x\n    more\n  y\n", false),
            ("a: |\n\n  x\n", false),
            ("a: |\n  x", false),
            ("a: [1, 2,]\n", false),
            ("a: [1, 2\n", false),
            ("a: {b}\n", false),
            ("a: {\"b\":1}\n", false),
            ("a: [b: c]\n", false),
            ("a:\n- x\nb: 1\n", true),
            ("a:\n-\n- x\n", false),
            ("a: 1\n  b: 2\n", false),
            ("a: 1\n- b\n", false),
            ("- a\nb: 1\n", false),
            ("a: &x 1\nb: *x\n", false),
            ("a: !!str 1\n", false),
            ("? a\n: b\n", false),
            ("--- \na: 1\n", false),
            ("a: 1\n...\n", false),
            ("a: [\n---\n]\n", false),
            ("a:\t1\n", false),
            ("a: 1\r\n", false),
            ("a: 1\na: 2\n", false),
            ("1: a\n0x1: b\n", false),
            ("~: a\n", false),
            ("<<: {a: 1}\n", false),
            ("key : v\n", false),
            ("a: \"\\ud83d\\ude00\"\n", false),
            ("a: \"\\x41\"\n", false),
            ("just a scalar\n", false),
            ("", false),
            ("# nothing\n", false),
            ("a: [1]x\n", false),
            ("a: 'x'y\n", false),
            ("a: 1\n b: 2\n", false),
            ("k:\n  - a\n  b: 1\n", false),
            ("a: 1 #c\nb: x#y\n", true),
            (
                "a: \"\"\nb: ''\nc: ~\nd: null\ne: true\nf: 0x1F\ng: 1e3\nh: 012\n",
                true,
            ),
        ];
        for (text, taken) in cases {
            assert_eq!(
                assert_scanner_agrees(text),
                *taken,
                "the scanner should {}take {text:?}",
                if *taken { "" } else { "not " }
            );
        }
    }

    /// Every spec file in specs/, with its text, in path order.
    fn example_specs() -> Vec<(std::path::PathBuf, String)> {
        yaml_files_under(&["specs"])
    }

    /// Every spec in specs/ without anchors is plain enough for the scanner.
    #[test]
    fn scanner_takes_every_example_spec() {
        let specs = example_specs();
        assert!(specs.len() > 5);
        for (path, text) in &specs {
            // Anchors and aliases are the parser's business.
            let anchors = text.contains(": &") || text.contains(": *");
            assert_eq!(
                assert_scanner_agrees(text),
                !anchors,
                "{} was {}scanned",
                path.display(),
                if anchors { "" } else { "not " }
            );
        }
    }

    /// Plain scalar spellings at the edges of YAML 1.2 core resolution.
    const SCALARS: &[&str] = &[
        "a",
        "yes",
        "no",
        "on",
        "off",
        "y",
        "n",
        "true",
        "True",
        "TRUE",
        "tRue",
        "false",
        "False",
        "FALSE",
        "null",
        "Null",
        "NULL",
        "nULL",
        "~",
        "0",
        "-0",
        "+0",
        "00",
        "012",
        "-012",
        "+012",
        "0.5",
        "00.5",
        "1",
        "-1",
        "+1",
        "1_000",
        "1__0",
        "_1",
        "1_",
        "0x1F",
        "0X1F",
        "0x_1",
        "0o17",
        "0O17",
        "0o8",
        "0b101",
        "0B101",
        "0b2",
        "0xg",
        "1e5",
        "1E5",
        "1e-5",
        "-1.5e+3",
        ".5",
        "5.",
        "-.5",
        "+.5",
        "1.",
        ".",
        "-",
        "+",
        "e5",
        "1e",
        "1e999",
        "-1e999",
        ".inf",
        "-.inf",
        "+.inf",
        ".Inf",
        ".INF",
        ".nan",
        ".NaN",
        ".NAN",
        "-.nan",
        "+.nan",
        "nan",
        "NaN",
        "inf",
        "-inf",
        "infinity",
        "Infinity",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "340282366920938463463374607431768211456",
        "0x7FFFFFFFFFFFFFFF",
        "0xFFFFFFFFFFFFFFFF",
        "0x10000000000000000",
        "-0x8000000000000000",
        "-0x1",
        "1.0",
        "1.5.5",
        "1,5",
        "12:30",
        "2024-01-01",
        "1 2",
        "a b",
        "{{ input.x }}x",
        "0.1e1_0",
        "٣",
        "１",
        "é",
        "😀",
        "\u{a0}1",
    ];

    #[test]
    fn fast_path_resolves_scalars_like_serde_saphyr() {
        let mut fast = 0;
        let mut total = 0;
        for scalar in SCALARS {
            for text in [
                format!("k: {scalar}\n"),
                format!("- {scalar}\n- x\n"),
                format!("[{scalar}, x]\n"),
                format!("{{a: {scalar}}}\n"),
                format!("{scalar}: v\nw: 1\n"),
                format!("k: '{scalar}'\n"),
                format!("k: \"{scalar}\"\n"),
                format!("k: |\n  {scalar}\n"),
                format!("{scalar}\n"),
            ] {
                total += 1;
                fast += usize::from(assert_paths_agree(&text));
            }
        }
        // Only non-finite floats, null keys and odd flow keys step aside.
        assert!(
            fast * 10 > total * 9,
            "{fast} of {total} took the fast path"
        );
    }

    #[test]
    fn fast_path_handles_keys_like_serde_saphyr() {
        for text in [
            "1: a\n0x1: b\n",
            "1: a\n'1': b\n",
            "a: 1\n'a': 2\n",
            "+1: a\n1: b\n",
            "01: a\n1: b\n",
            "true: a\n'true': b\n",
            "~: a\n",
            ": a\n",
            "null: a\n",
            "<<: {a: 1}\nb: 2\n",
            "'<<': 1\n",
            "? [a]\n: b\n",
            "? {a: 1}\n: b\n",
            "{[a]: b}\n",
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "!!map {a: 1}\n",
            "a: 1\n---\nb: 2\n",
            "---\na: 1\n...\n",
            "%YAML 1.2\n---\na: 1\n",
            "",
            "# only a comment\n",
            "---\n",
            "a:\n",
            "a:\n  - \n  -\n",
            "a: 1\r\nb: x y\r\nc:\r\n  - d\r\n",
            "\u{feff}a: 1\n",
            "a: \"tab\\there\"\nb: 'it''s'\nc: \"\\u00e9\"\n",
            "a: plain\n  continued\n  lines\nb: 2\n",
            "a: |2\n    indented\n   less\nb: >-\n  folded\n  text\n\n  para\n",
            "a: |\n  keep\n\n\nb: |+\n  keep\n\n",
            "a:\t1\n",
            "- - - x\n    - y\n  - z\n- {a: [1, {b: c}], d: e}\n",
            "key with spaces: v\n\"quoted key\": w\n'single': x\n",
            "a: 名字\nb: \"聚水潭\"\n名: x\n",
            "? a\n: b\n",
            "a: b: c\n",
            "a: [1, 2\n",
            "a: 'unterminated\n",
        ] {
            assert_paths_agree(text);
        }
        let many: String = (0..100).map(|i| format!("k{i}: {i}\n")).collect();
        assert!(assert_paths_agree(&many));
        let duplicate = format!("{many}k7: again\n");
        assert!(!assert_paths_agree(&duplicate));
        assert_eq!(
            parse_str(&duplicate).unwrap_err().kind,
            ParseErrorKind::DuplicateKey
        );
        let ints: String = (0..40).map(|i| format!("{i}: x\n")).collect();
        assert!(!assert_paths_agree(&format!("{ints}0x5: y\n")));
    }

    /// Every spec and fixture in the repository.
    #[test]
    fn fast_path_agrees_on_every_repository_spec() {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if matches!(
                    path.extension().and_then(|e| e.to_str()),
                    Some("yaml" | "yml")
                ) {
                    out.push(path);
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        walk(&root.join("specs"), &mut files);
        walk(&root.join("tests"), &mut files);
        let mut fast = 0;
        for path in &files {
            let Ok(text) = std::fs::read_to_string(path) else {
                continue;
            };
            if assert_paths_agree(&text) {
                fast += 1;
            }
        }
        assert!(
            fast * 2 > files.len(),
            "{fast} of {} files took the fast path",
            files.len()
        );
    }

    mod generated {
        use super::*;
        use proptest::prelude::*;

        fn scalar() -> impl Strategy<Value = String> {
            prop_oneof![
                prop::sample::select(SCALARS).prop_map(str::to_string),
                "[a-z0-9 ._:+-]{0,8}",
                prop::sample::select(SCALARS).prop_map(|s| format!("'{s}'")),
                prop::sample::select(SCALARS).prop_map(|s| format!("\"{s}\"")),
                Just("\"a\\tb\"".to_string()),
                Just("'it''s'".to_string()),
            ]
        }

        #[derive(Debug, Clone)]
        enum Doc {
            Scalar(String),
            Seq(Vec<Doc>),
            Map(Vec<(String, Doc)>),
        }

        fn doc() -> impl Strategy<Value = Doc> {
            scalar()
                .prop_map(Doc::Scalar)
                .prop_recursive(4, 40, 5, |inner| {
                    prop_oneof![
                        prop::collection::vec(inner.clone(), 0..5).prop_map(Doc::Seq),
                        prop::collection::vec((scalar(), inner), 0..5).prop_map(Doc::Map),
                    ]
                })
        }

        fn flow(doc: &Doc, out: &mut String) {
            match doc {
                Doc::Scalar(s) => out.push_str(s),
                Doc::Seq(items) => {
                    out.push('[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        flow(item, out);
                    }
                    out.push(']');
                }
                Doc::Map(entries) => {
                    out.push('{');
                    for (i, (k, v)) in entries.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        out.push_str(k);
                        out.push_str(": ");
                        flow(v, out);
                    }
                    out.push('}');
                }
            }
        }

        fn block(doc: &Doc, indent: usize, out: &mut String) {
            let pad = " ".repeat(indent);
            match doc {
                Doc::Seq(items) if !items.is_empty() => {
                    for item in items {
                        out.push_str(&format!("{pad}-"));
                        nested(item, indent + 2, out);
                    }
                }
                Doc::Map(entries) if !entries.is_empty() => {
                    for (k, v) in entries {
                        out.push_str(&format!("{pad}{k}:"));
                        nested(v, indent + 2, out);
                    }
                }
                other => {
                    out.push_str(&pad);
                    flow(other, out);
                    out.push('\n');
                }
            }
        }

        fn nested(doc: &Doc, indent: usize, out: &mut String) {
            match doc {
                Doc::Seq(items) if !items.is_empty() => {
                    out.push('\n');
                    block(doc, indent, out);
                }
                Doc::Map(entries) if !entries.is_empty() => {
                    out.push('\n');
                    block(doc, indent, out);
                }
                other => {
                    out.push(' ');
                    flow(other, out);
                    out.push('\n');
                }
            }
        }

        /// What a hand editing YAML adds or breaks.
        const EDITS: &[&str] = &[
            " ", "  ", "\n", ":", ": ", "-", "- ", "#", " #", "\"", "'", "|", ">-", "[", "]", "{",
            "}", ",", "\\", "~", "0", "1.5", "true", "&a", "*a", "!", "?", "%", "\t", "é", "\n  ",
            "\n- ", "\n\n",
        ];

        proptest! {
            // About one edited spec in eight is still plain enough for
            // the scanner; those are compared.
            #![proptest_config(ProptestConfig::with_cases(3000))]

            /// Real specs with a few random edits: whatever the scanner
            /// accepts, serde-saphyr builds identically.
            #[test]
            fn scanner_agrees_on_edited_specs(
                which in any::<prop::sample::Index>(),
                edits in prop::collection::vec(
                    (any::<prop::sample::Index>(), prop::sample::select(EDITS), 0usize..3),
                    1..4,
                ),
            ) {
                let specs = example_specs();
                let mut text = specs[which.index(specs.len())].1.clone();
                for (at, edit, removed) in edits {
                    let mut i = at.index(text.len() + 1);
                    while !text.is_char_boundary(i) {
                        i -= 1;
                    }
                    let mut end = (i + removed).min(text.len());
                    while !text.is_char_boundary(end) {
                        end += 1;
                    }
                    text.replace_range(i..end, edit);
                }
                assert_scanner_agrees(&text);
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(400))]

            #[test]
            fn fast_path_agrees_on_generated_documents(doc in doc(), as_flow in any::<bool>()) {
                let mut text = String::new();
                if as_flow {
                    flow(&doc, &mut text);
                    text.push('\n');
                } else {
                    block(&doc, 0, &mut text);
                }
                assert_paths_agree(&text);
            }
        }
    }
}

//! The fast path of [`super::parse`]: the located tree built straight from
//! the parser's events.
//!
//! serde-saphyr's `Spanned<T>` deserialization costs several times the
//! parse itself (a location struct is deserialized through serde for every
//! node, and every event is buffered and replayed). This builder reads the
//! same parser (`granit_parser`, with the options serde-saphyr gives it) and
//! resolves scalars with the same YAML 1.2 core rules and our options
//! (strict booleans, no legacy octal, leading-zero numbers as strings).
//!
//! It only takes the easy road: anything it does not handle exactly like
//! serde-saphyr — a parse error, a tag, an anchor or alias, a merge key, a
//! duplicate or non-string key, a non-finite float, a document near a
//! budget, more than one document — makes it return `None`, and the caller
//! parses the text again with serde-saphyr, which then produces the very
//! value or diagnostic it always did. Real connectors never leave the fast
//! path; hostile or broken input costs one extra partial parse. The unit
//! tests in `super` compare both paths on many inputs.

use std::borrow::Cow;
use std::collections::HashSet;

use compact_str::CompactString;
use serde_saphyr::granit_parser::{self, Event, ScalarStyle};

use super::{Key, MAX_DEPTH, MAX_NODES, MAX_SCALAR_BYTES, Node, Value, verbatim_start};
use crate::source::{FileId, Span};

/// Leaves room under serde-saphyr's depth budget: anything this deep goes
/// the slow way, which reports the budget exactly.
pub(super) const FAST_MAX_DEPTH: usize = MAX_DEPTH - 4;
/// Maps with more keys than this check duplicates through a hash set.
const LINEAR_KEY_CHECK: usize = 16;

/// The identity serde-saphyr compares keys by: integers by value (`1`,
/// `+1` and `0x1` are one key), everything else by text.
#[derive(Clone, PartialEq, Eq, Hash)]
enum KeyId {
    Int(bool, u128),
    Text(CompactString),
}

enum Frame {
    Seq {
        span: Span,
        items: Vec<Node>,
    },
    Map {
        span: Span,
        entries: Vec<(Key, Node)>,
        /// A key waiting for its value, with its identity.
        pending: Option<(Key, Option<(bool, u128)>)>,
        keys: Keys,
    },
}

/// The identities of a mapping's keys so far, to find a duplicate as
/// serde-saphyr does.
#[derive(Default)]
pub(super) struct Keys {
    /// The integer identities of the entries' integer keys, with their
    /// places: most maps have none, and then no allocation.
    ints: Vec<(usize, (bool, u128))>,
    /// Every key identity, once the map outgrows a linear check.
    seen: Option<HashSet<KeyId>>,
}

impl Keys {
    /// Whether `key` repeats one of `entries`' keys (the entries these
    /// identities were recorded for).
    pub(super) fn contains(
        &self,
        entries: &[(Key, Node)],
        (key, int): &(Key, Option<(bool, u128)>),
    ) -> bool {
        if let Some(seen) = &self.seen {
            return seen.contains(&key_id(&key.name, *int));
        }
        match int {
            Some(int) => self.ints.iter().any(|(_, other)| other == int),
            // A key without an integer identity repeats one of those by name.
            None => {
                let name = key.name.as_str();
                entries.iter().enumerate().any(|(i, (k, _))| {
                    k.name.as_str() == name && !self.ints.iter().any(|(at, _)| *at == i)
                })
            }
        }
    }

    /// Records the identity of the key just appended to `entries`.
    pub(super) fn push(&mut self, entries: &[(Key, Node)], int: Option<(bool, u128)>) {
        let Some((key, _)) = entries.last() else {
            return;
        };
        if let Some(seen) = &mut self.seen {
            seen.insert(key_id(&key.name, int));
        }
        if let Some(int) = int {
            self.ints.push((entries.len() - 1, int));
        }
        if entries.len() == LINEAR_KEY_CHECK {
            self.seen = Some(
                entries
                    .iter()
                    .enumerate()
                    .map(|(i, (k, _))| {
                        let int = self.ints.iter().find(|(at, _)| *at == i).map(|(_, id)| *id);
                        key_id(&k.name, int)
                    })
                    .collect(),
            );
        }
    }
}

/// Builds the tree of `text`, or `None` when serde-saphyr must decide.
pub(super) fn parse(file: FileId, text: &str) -> Option<Node> {
    let mut options = granit_parser::Options::default();
    options.set_emit_comments(false);
    let parser = granit_parser::Parser::new_from_str_with_options(text, options);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0usize;
    let mut events = 0usize;
    let mut scalar_bytes = 0usize;
    for item in parser {
        let (event, event_span) = item.ok()?;
        events += 1;
        if events > MAX_NODES {
            return None;
        }
        match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return None;
                }
            }
            Event::Scalar(value, style, anchor, tag) => {
                if anchor != 0 || tag.is_some() {
                    return None;
                }
                scalar_bytes += value.len();
                if scalar_bytes > MAX_SCALAR_BYTES / 2 {
                    return None;
                }
                let span = span_of(file, text, &event_span)?;
                if let Some(Frame::Map {
                    entries,
                    pending: pending @ None,
                    keys,
                    ..
                }) = stack.last_mut()
                {
                    let key = map_key(value, style, span)?;
                    if keys.contains(entries, &key) {
                        return None;
                    }
                    *pending = Some(key);
                    continue;
                }
                let value = resolve(value, style)?;
                let verbatim_start = match &value {
                    Value::String(s) => verbatim_start(text, span, s),
                    _ => None,
                };
                attach(
                    &mut stack,
                    &mut root,
                    Node {
                        value,
                        span,
                        verbatim_start,
                    },
                )?;
            }
            Event::SequenceStart(_, anchor, tag) => {
                let span = span_of(file, text, &event_span)?;
                open(&mut stack, anchor, tag.is_some(), || Frame::Seq {
                    span,
                    items: Vec::new(),
                })?;
            }
            Event::MappingStart(_, anchor, tag) => {
                let span = span_of(file, text, &event_span)?;
                open(&mut stack, anchor, tag.is_some(), || Frame::Map {
                    span,
                    entries: Vec::new(),
                    pending: None,
                    keys: Keys::default(),
                })?;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let node = match stack.pop()? {
                    Frame::Seq { span, items } => Node {
                        value: Value::Seq(items),
                        span,
                        verbatim_start: None,
                    },
                    Frame::Map {
                        span,
                        entries,
                        pending: None,
                        ..
                    } => Node {
                        value: Value::Map(entries),
                        span,
                        verbatim_start: None,
                    },
                    Frame::Map { .. } => return None,
                };
                attach(&mut stack, &mut root, node)?;
            }
            // Aliases, and any event this builder does not know.
            _ => return None,
        }
    }
    // No document at all (serde-saphyr synthesizes a null), or an empty one:
    // rare, tiny, and left to serde-saphyr.
    match root {
        Some(node) if stack.is_empty() && !matches!(node.value, Value::Null) => Some(node),
        _ => None,
    }
}

/// Starts a collection.
fn open(
    stack: &mut Vec<Frame>,
    anchor: usize,
    tagged: bool,
    frame: impl FnOnce() -> Frame,
) -> Option<()> {
    if anchor != 0 || tagged || stack.len() >= FAST_MAX_DEPTH {
        return None;
    }
    // A collection as a mapping key: serde-saphyr's business.
    if matches!(stack.last(), Some(Frame::Map { pending: None, .. })) {
        return None;
    }
    stack.push(frame());
    Some(())
}

/// Adds a finished node to its parent, or makes it the root.
fn attach(stack: &mut [Frame], root: &mut Option<Node>, node: Node) -> Option<()> {
    match stack.last_mut() {
        None if root.is_none() => *root = Some(node),
        None => return None,
        Some(Frame::Seq { items, .. }) => items.push(node),
        Some(Frame::Map {
            entries,
            pending,
            keys,
            ..
        }) => {
            let (key, int) = pending.take()?;
            entries.push((key, node));
            keys.push(entries, int);
        }
    }
    Some(())
}

fn key_id(name: &CompactString, int: Option<(bool, u128)>) -> KeyId {
    match int {
        Some((negative, magnitude)) => KeyId::Int(negative, magnitude),
        None => KeyId::Text(name.clone()),
    }
}

/// The string of a scalar: a borrowed one is copied (inline when short),
/// an owned one kept. (`CompactString::from(Cow)` is not inlined and costs
/// more than either.)
pub(super) fn compact(value: Cow<'_, str>) -> CompactString {
    match value {
        Cow::Borrowed(text) => CompactString::new(text),
        Cow::Owned(text) => CompactString::from(text),
    }
}

/// A scalar mapping key and its identity; `None` for the keys serde-saphyr
/// treats specially (null keys, merge keys).
pub(super) fn map_key(
    value: Cow<'_, str>,
    style: ScalarStyle,
    span: Span,
) -> Option<(Key, Option<(bool, u128)>)> {
    if value == "<<" {
        return None;
    }
    let int = if style == ScalarStyle::Plain {
        if is_nullish(&value) {
            return None;
        }
        int_identity(&value)
    } else {
        None
    };
    Some((
        Key {
            name: compact(value),
            span,
        },
        int,
    ))
}

/// serde-saphyr's integer identity of a plain key (`integer_key_fingerprint`).
fn int_identity(value: &str) -> Option<(bool, u128)> {
    // Most keys are words, and no integer starts with a letter (trimming
    // removes only white space).
    if value
        .as_bytes()
        .first()
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
    {
        return None;
    }
    let t = yaml_trim(value);
    if t.starts_with('-') {
        let parsed = parse_int_signed(t)?;
        Some((parsed < 0, parsed.unsigned_abs()))
    } else {
        Some((false, parse_int_unsigned(t)?))
    }
}

/// The byte span of an event, as `super::span_of_location` computes it from
/// serde-saphyr's location; `None` when byte offsets are missing.
fn span_of(file: FileId, text: &str, span: &granit_parser::Span) -> Option<Span> {
    let start = span.start.byte_offset()?;
    let end = span.end.byte_offset()?;
    let len = end.saturating_sub(start);
    if start > u32::MAX as usize || len > u32::MAX as usize || start > text.len() {
        return None;
    }
    Some(Span::new(file, start, (start + len).min(text.len())))
}

/// The value of an untagged scalar; `None` when serde-saphyr rejects it.
pub(super) fn resolve(value: Cow<'_, str>, style: ScalarStyle) -> Option<Value> {
    if style != ScalarStyle::Plain {
        return Some(Value::String(compact(value)));
    }
    match resolve_plain(&value)? {
        Value::String(_) => Some(Value::String(compact(value))),
        other => Some(other),
    }
}

/// serde-saphyr's `deserialize_any` for an untagged plain scalar, with our
/// options (`strict_booleans`, `leading_zero_numbers_as_strings`, no
/// `legacy_octal_numbers`). A string comes back empty: the caller keeps
/// the text. `None`: a non-finite float, which serde-saphyr refuses.
fn resolve_plain(value: &str) -> Option<Value> {
    if is_nullish(value) {
        return Some(Value::Null);
    }
    let t = yaml_trim(value);
    match t {
        "true" | "True" | "TRUE" => return Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Some(Value::Bool(false)),
        _ => {}
    }
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    let uppercase_radix = matches!(unsigned.as_bytes(), [b'0', b'X' | b'O' | b'B', ..]);
    if uppercase_radix || is_signed_nan(t) || leading_zero_decimal(t) {
        return Some(Value::String(CompactString::default()));
    }
    if t.starts_with('-') {
        if let Some(v) = parse_int_signed(t).and_then(|v| i64::try_from(v).ok()) {
            return Some(Value::Int(v));
        }
    } else if let Some(v) = parse_int_unsigned(t).and_then(|v| u64::try_from(v).ok()) {
        return Some(match i64::try_from(v) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::UInt(v),
        });
    }
    match parse_float(t) {
        Some(f) if f.is_finite() => Some(Value::Float(f)),
        Some(_) => None,
        None => Some(Value::String(CompactString::default())),
    }
}

fn is_nullish(value: &str) -> bool {
    matches!(value, "" | "~" | "null" | "Null" | "NULL")
}

fn yaml_trim(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\r', '\n'])
}

fn is_signed_nan(t: &str) -> bool {
    t.strip_prefix(['+', '-'])
        .is_some_and(|unsigned| matches!(unsigned, ".nan" | ".NaN" | ".NAN"))
}

fn leading_zero_decimal(t: &str) -> bool {
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `0x`/`0o`/`0b` prefixes select the radix (no legacy octal).
fn radix_and_digits(rest: &str) -> (u32, &str) {
    if let Some(r) = rest.strip_prefix("0x").or_else(|| rest.strip_prefix("0X")) {
        (16, r)
    } else if let Some(r) = rest.strip_prefix("0o").or_else(|| rest.strip_prefix("0O")) {
        (8, r)
    } else if let Some(r) = rest.strip_prefix("0b").or_else(|| rest.strip_prefix("0B")) {
        (2, r)
    } else {
        (10, rest)
    }
}

/// Digits with single underscores between them, in `radix`.
fn parse_digits(digits: &str, radix: u32) -> Option<u128> {
    let bytes = digits.as_bytes();
    let mut value: u128 = 0;
    let mut saw = false;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'_' {
            let prev_ok = i > 0 && bytes[i - 1] != b'_';
            let next_ok = i + 1 < bytes.len() && bytes[i + 1] != b'_';
            if !prev_ok || !next_ok {
                return None;
            }
            continue;
        }
        let digit = (b as char).to_digit(16).filter(|d| *d < radix)?;
        value = value
            .checked_mul(u128::from(radix))?
            .checked_add(u128::from(digit))?;
        saw = true;
    }
    saw.then_some(value)
}

/// A signed integer, as serde-saphyr's `parse_int_signed::<i128>`.
fn parse_int_signed(t: &str) -> Option<i128> {
    let (negative, rest) = match t.strip_prefix('+') {
        Some(r) => (false, r),
        None => match t.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, t),
        },
    };
    let (radix, digits) = radix_and_digits(rest);
    if radix == 10 && digits.starts_with('0') && digits != "0" {
        return None;
    }
    let magnitude = parse_digits(digits, radix)?;
    if negative {
        if magnitude == i128::MAX as u128 + 1 {
            Some(i128::MIN)
        } else {
            i128::try_from(magnitude).ok()?.checked_neg()
        }
    } else {
        i128::try_from(magnitude).ok()
    }
}

/// An unsigned integer, as serde-saphyr's `parse_int_unsigned::<u128>`.
fn parse_int_unsigned(t: &str) -> Option<u128> {
    if t.starts_with('-') {
        return None;
    }
    let rest = t.strip_prefix('+').unwrap_or(t);
    let (radix, digits) = radix_and_digits(rest);
    if radix == 10 && digits.starts_with('0') && digits != "0" {
        return None;
    }
    parse_digits(digits, radix)
}

/// serde-saphyr's `try_parse_float_incl_overflow` for an untagged scalar:
/// `.inf`/`.nan` spellings, Rust's float syntax for finite values, and
/// numerals that overflow to infinity.
fn parse_float(t: &str) -> Option<f64> {
    let (negative, unsigned) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    match unsigned {
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        ".inf" | ".Inf" | ".INF" if negative => return Some(f64::NEG_INFINITY),
        ".inf" | ".Inf" | ".INF" => return Some(f64::INFINITY),
        _ => {}
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Some(v),
        Ok(v)
            if v.is_infinite()
                && t.strip_prefix(['+', '-'])
                    .unwrap_or(t)
                    .as_bytes()
                    .first()
                    .is_some_and(u8::is_ascii_digit) =>
        {
            Some(v)
        }
        _ => None,
    }
}

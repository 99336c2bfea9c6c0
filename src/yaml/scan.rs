//! The fastest path of [`super::parse`]: a direct scanner for the YAML that
//! specs are written in.
//!
//! Even the event builder ([`super::events`]) spends most of its time in
//! the general YAML scanner (a token queue with simple-key bookkeeping for
//! every scalar). Specs use a small part of YAML: block mappings and
//! sequences, flow collections (a JSON document is one), plain and quoted
//! one-line scalars, literal and folded block scalars, comments. This
//! scanner reads exactly that part, byte by byte, and builds the same tree
//! with the same spans the event builder builds.
//!
//! Like the event builder it never decides anything it is unsure of: a tab,
//! a carriage return, a BOM, a directive or document marker, an anchor,
//! alias or tag, a complex key, a multi-line plain or quoted scalar, an
//! escape it does not know, a block scalar with an indentation indicator or
//! more-indented lines, an empty first item of an indentless sequence, a
//! document near a budget, anything malformed: it returns `None` and the
//! caller parses the text the slower ways, which then produce exactly the
//! value or diagnostic they always did. The unit tests in `super` check that
//! whatever this scanner accepts, serde-saphyr builds identically.

use std::borrow::Cow;
use std::cmp::Ordering;

use compact_str::CompactString;
use serde_saphyr::granit_parser::ScalarStyle;

use super::events::{FAST_MAX_DEPTH, Keys, compact, map_key, resolve};
use super::{Key, MAX_NODES, MAX_SCALAR_BYTES, Node, Value, verbatim_start};
use crate::source::{FileId, Span};

/// Anything bigger goes the slower ways, which enforce the budgets exactly.
const MAX_FAST_NODES: usize = MAX_NODES / 4;
/// YAML limits an implicit key to 1024 characters; longer ones are left to
/// the parser that reports them.
const MAX_IMPLICIT_KEY: usize = 1024;

/// Builds the tree of `text`, or `None` when a slower path must decide.
pub(super) fn parse(file: FileId, text: &str) -> Option<Node> {
    let bytes = text.as_bytes();
    if memchr::memchr2(b'\t', b'\r', bytes).is_some() || text.starts_with('\u{feff}') {
        return None;
    }
    let mut scanner = Scanner {
        file,
        text,
        bytes,
        pos: 0,
        nodes: 0,
        scalar_bytes: 0,
    };
    let indent = scanner.skip_to_content()?;
    // An empty document: serde-saphyr's null, left to it.
    let column = usize::try_from(indent).ok()?;
    let (root, next) = scanner.block_node(column, -1, 0)?;
    (next == -1).then_some(root)
}

struct Scanner<'a> {
    file: FileId,
    text: &'a str,
    bytes: &'a [u8],
    /// The next byte to read.
    pos: usize,
    nodes: usize,
    scalar_bytes: usize,
}

/// A mapping key with serde-saphyr's integer identity of it, as
/// [`map_key`] gives it.
type KeyWithId = (Key, Option<(bool, u128)>);

/// What follows a node: the indentation of the next content line, with the
/// scanner at its first character, or -1 at the end of the text.
type Next = isize;

/// Whether a plain scalar is certainly a string, without trying the YAML
/// 1.2 core rules: it starts with a letter (or any non-ASCII character) and
/// is no spelling of null or a boolean. (Numbers start with a digit, a sign
/// or a dot; `inf` and `nan` are strings unless written `.inf`, `.nan`.)
fn is_plain_text(raw: &str) -> bool {
    let Some(&first) = raw.as_bytes().first() else {
        return false;
    };
    (first.is_ascii_alphabetic() || !first.is_ascii())
        && !matches!(
            raw,
            "null" | "Null" | "NULL" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE"
        )
}

/// The bytes [`Scanner::flow_plain`] looks at: any other byte is part of
/// the scalar, found with one table look-up.
static FLOW_PLAIN_STOPS: [bool; 256] = crate::bytes::byte_set(b"\n,[]{}:# ");

fn is_flow_indicator(b: u8) -> bool {
    matches!(b, b',' | b'[' | b']' | b'{' | b'}')
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.pos + offset).copied()
    }

    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start, end)
    }

    /// Counts a node and checks the depth; `None` near a budget.
    fn enter(&mut self, depth: usize) -> Option<()> {
        self.nodes += 1;
        (depth < FAST_MAX_DEPTH && self.nodes <= MAX_FAST_NODES).then_some(())
    }

    fn count_scalar(&mut self, len: usize) -> Option<()> {
        self.scalar_bytes += len;
        (self.scalar_bytes <= MAX_SCALAR_BYTES / 2).then_some(())
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    /// Whether a `#` at the scanner starts a comment (it follows a space or
    /// starts the line).
    fn at_comment(&self) -> bool {
        self.peek() == Some(b'#')
            && (self.pos == 0 || matches!(self.bytes[self.pos - 1], b' ' | b'\n'))
    }

    /// The rest of the line holds only spaces and a comment; leaves the
    /// scanner at the line break (or the end).
    fn end_of_line(&mut self) -> Option<()> {
        self.skip_spaces();
        if self.at_comment() {
            self.pos = memchr::memchr(b'\n', &self.bytes[self.pos..])
                .map_or(self.bytes.len(), |i| self.pos + i);
        }
        matches!(self.peek(), None | Some(b'\n')).then_some(())
    }

    /// From the start of a line, skips blank and comment lines; returns the
    /// indentation of the next content line, the scanner at its first
    /// character, or -1 at the end.
    fn skip_to_content(&mut self) -> Option<Next> {
        loop {
            let line_start = self.pos;
            self.skip_spaces();
            let indent = self.pos - line_start;
            match self.peek() {
                None => return Some(-1),
                Some(b'\n') => {
                    self.pos += 1;
                    continue;
                }
                Some(b'#') => {
                    self.end_of_line()?;
                    if self.peek().is_some() {
                        self.pos += 1;
                    }
                    continue;
                }
                _ => {}
            }
            if indent == 0 && (self.at_document_marker() || self.peek() == Some(b'%')) {
                return None;
            }
            return isize::try_from(indent).ok();
        }
    }

    /// Whether a document marker (`---`, `...`) is at the scanner, which
    /// is at the start of a line.
    fn at_document_marker(&self) -> bool {
        let rest = &self.bytes[self.pos..];
        (rest.starts_with(b"---") || rest.starts_with(b"..."))
            && matches!(rest.get(3), None | Some(b' ' | b'\n'))
    }

    /// `node` ends its line (but for spaces and a comment); returns it with
    /// the next content line.
    fn finish_line(&mut self, node: Node) -> Option<(Node, Next)> {
        self.end_of_line()?;
        Some((node, self.next_line()?))
    }

    /// From the end of a line (its break, or the end of the text), moves to
    /// the next content line.
    fn next_line(&mut self) -> Option<Next> {
        match self.peek() {
            None => Some(-1),
            Some(b'\n') => {
                self.pos += 1;
                self.skip_to_content()
            }
            Some(_) => None,
        }
    }

    /// A block entry indicator (`- ` or `-` at the end of the line) at the
    /// scanner.
    fn at_seq_entry(&self) -> bool {
        self.peek() == Some(b'-') && matches!(self.peek_at(1), None | Some(b' ' | b'\n'))
    }

    /// Whether a plain scalar may start at the scanner; in flow context the
    /// flow indicators end it.
    fn plain_starts_here(&self, flow: bool) -> bool {
        match self.peek() {
            None => false,
            Some(
                b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\''
                | b'"' | b'%' | b'@' | b'`' | b'?' | b':' | b' ' | b'\n',
            ) => false,
            Some(b'-') => match self.peek_at(1) {
                None | Some(b' ' | b'\n') => false,
                Some(next) => !(flow && is_flow_indicator(next)),
            },
            Some(_) => true,
        }
    }

    /// A node that starts a line, at column `column` (more than
    /// `parent_indent`): a block collection or a flow collection.
    fn block_node(
        &mut self,
        column: usize,
        parent_indent: isize,
        depth: usize,
    ) -> Option<(Node, Next)> {
        match self.peek()? {
            b'-' if self.at_seq_entry() => self.block_seq(column, false, depth),
            b'[' | b'{' => {
                let node = self.flow_node(parent_indent, depth)?;
                self.finish_line(node)
            }
            _ if self.key_here() => self.block_map(column, depth),
            // A scalar on a line of its own: rare, left to the parser.
            _ => None,
        }
    }

    /// Whether a mapping key (`key:` followed by a space or the line's end)
    /// starts at the scanner.
    fn key_here(&self) -> bool {
        let rest = &self.bytes[self.pos..];
        let after_key = match rest.first() {
            Some(&quote @ (b'"' | b'\'')) => match memchr::memchr2(quote, b'\n', &rest[1..]) {
                Some(i) if rest[1 + i] == quote => 2 + i,
                _ => return false,
            },
            _ if self.plain_starts_here(false) => {
                let line_end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
                match memchr::memchr(b':', &rest[..line_end]) {
                    Some(i) => i,
                    None => return false,
                }
            }
            _ => return false,
        };
        rest.get(after_key) == Some(&b':')
            && matches!(rest.get(after_key + 1), None | Some(b' ' | b'\n'))
    }

    /// A block mapping whose keys are at column `indent`; the scanner is at
    /// its first key.
    fn block_map(&mut self, indent: usize, depth: usize) -> Option<(Node, Next)> {
        self.enter(depth)?;
        let span = self.span(self.pos, self.pos);
        // Room for a usual field's keys at once.
        let mut entries: Vec<(Key, Node)> = Vec::with_capacity(8);
        let mut keys = Keys::default();
        loop {
            let (key, colon) = self.block_key()?;
            if keys.contains(&entries, &key) {
                return None;
            }
            let (value, next) = self.block_value(indent as isize, Some(colon), depth + 1)?;
            let (key, int) = key;
            entries.push((key, value));
            keys.push(&entries, int);
            match next.cmp(&(indent as isize)) {
                Ordering::Equal if !self.at_seq_entry() => {}
                Ordering::Less => {
                    let node = Node {
                        value: Value::Map(entries),
                        span,
                        verbatim_start: None,
                    };
                    return Some((node, next));
                }
                _ => return None,
            }
        }
    }

    /// A block mapping key and its `:`; returns the key with its identity,
    /// and where the colon is.
    fn block_key(&mut self) -> Option<(KeyWithId, usize)> {
        let start = self.pos;
        let (name, style, end) = match self.peek()? {
            b'"' => {
                let name = self.double_quoted()?;
                (name, ScalarStyle::DoubleQuoted, self.pos)
            }
            b'\'' => {
                let name = self.single_quoted()?;
                (name, ScalarStyle::SingleQuoted, self.pos)
            }
            _ if self.plain_starts_here(false) => {
                let rest = &self.bytes[start..];
                // The line's first colon; none before its end, no key.
                let colon = memchr::memchr2(b':', b'\n', rest).filter(|&i| rest[i] == b':')?;
                let end = start + colon;
                // `key :` and `a #b:` are left to the parser.
                if self.bytes[end - 1] == b' ' || has_comment(&rest[..colon]) {
                    return None;
                }
                self.pos = end;
                (
                    Cow::Borrowed(&self.text[start..end]),
                    ScalarStyle::Plain,
                    end,
                )
            }
            _ => return None,
        };
        if end - start > MAX_IMPLICIT_KEY
            || self.peek() != Some(b':')
            || !matches!(self.peek_at(1), None | Some(b' ' | b'\n'))
        {
            return None;
        }
        self.count_scalar(name.len())?;
        let colon = self.pos;
        self.pos += 1;
        let key = map_key(name, style, self.span(start, end))?;
        Some((key, colon))
    }

    /// The value after a mapping key's `:` (`colon` is where it is) or a
    /// sequence's `-`, in a block collection at column `indent`.
    fn block_value(
        &mut self,
        indent: isize,
        colon: Option<usize>,
        depth: usize,
    ) -> Option<(Node, Next)> {
        self.skip_spaces();
        match self.peek() {
            None | Some(b'\n') | Some(b'#') => {
                self.end_of_line()?;
                // An empty value's span: at the colon, or at the end of the
                // dash's line (after any comment).
                let empty_at = colon.unwrap_or(self.pos);
                let next = self.next_line()?;
                if next > indent {
                    return self.block_node(next as usize, indent, depth);
                }
                if colon.is_some() && next == indent && self.at_seq_entry() {
                    return self.block_seq(indent as usize, true, depth);
                }
                self.enter(depth)?;
                let node = Node {
                    value: Value::Null,
                    span: self.span(empty_at, empty_at),
                    verbatim_start: None,
                };
                Some((node, next))
            }
            Some(b'[' | b'{') => {
                let node = self.flow_node(indent, depth)?;
                self.finish_line(node)
            }
            Some(b'|' | b'>') => self.block_scalar(indent, depth),
            _ if colon.is_none() && self.key_here() => {
                let column = self.column();
                self.block_map(column, depth)
            }
            Some(b'"' | b'\'') => {
                let node = self.quoted_node(depth)?;
                self.finish_line(node)
            }
            Some(b'-') if self.at_seq_entry() => {
                if colon.is_some() {
                    return None;
                }
                let column = self.column();
                self.block_seq(column, false, depth)
            }
            _ if self.plain_starts_here(false) => {
                let node = self.block_plain(depth)?;
                self.finish_line(node)
            }
            _ => None,
        }
    }

    /// The column of the scanner.
    fn column(&self) -> usize {
        let line_start = memchr::memrchr(b'\n', &self.bytes[..self.pos]).map_or(0, |i| i + 1);
        self.pos - line_start
    }

    /// A block sequence whose dashes are at column `indent`; the scanner is
    /// at the first dash. An indentless sequence (the value of a mapping key
    /// at the key's own column) ends at the first line that is no entry.
    fn block_seq(&mut self, indent: usize, indentless: bool, depth: usize) -> Option<(Node, Next)> {
        self.enter(depth)?;
        let mut span = self.span(self.pos, self.pos);
        if indentless {
            // Such a sequence starts where its first item does.
            let first = self.pos
                + 1
                + self.bytes[self.pos + 1..]
                    .iter()
                    .take_while(|&&b| b == b' ')
                    .count();
            if matches!(self.bytes.get(first), None | Some(b'\n' | b'#')) {
                return None;
            }
            span = self.span(first, first);
        }
        let mut items = Vec::new();
        // The caller found the first entry.
        let next = loop {
            self.pos += 1;
            let (item, next) = self.block_value(indent as isize, None, depth + 1)?;
            items.push(item);
            match next.cmp(&(indent as isize)) {
                Ordering::Equal if self.at_seq_entry() => {}
                Ordering::Equal if indentless => break next,
                Ordering::Less => break next,
                _ => return None,
            }
        };
        let node = Node {
            value: Value::Seq(items),
            span,
            verbatim_start: None,
        };
        Some((node, next))
    }

    /// A plain scalar in block context, up to the end of its line or a
    /// comment (the caller finishes the line).
    fn block_plain(&mut self, depth: usize) -> Option<Node> {
        self.enter(depth)?;
        let start = self.pos;
        let rest = &self.bytes[start..];
        // One pass to the end of the line or a comment, noting any `: `.
        let mut content_end = rest.len();
        let mut colon_space = false;
        for i in memchr::memchr3_iter(b'\n', b'#', b':', rest) {
            match rest[i] {
                b'\n' => {
                    content_end = i;
                    break;
                }
                b'#' if i > 0 && rest[i - 1] == b' ' => {
                    content_end = i - 1;
                    break;
                }
                b':' if rest.get(i + 1) == Some(&b' ') => colon_space = true,
                _ => {}
            }
        }
        let content = &rest[..content_end];
        let trimmed_len = content.len() - content.iter().rev().take_while(|&&b| b == b' ').count();
        let content = &content[..trimmed_len];
        // `a: b: c` and `a: b:` are errors, for the parser to report (a
        // `: ` that only a comment or trailing spaces follow ends in `:`).
        if colon_space || content.ends_with(b":") {
            return None;
        }
        let end = start + trimmed_len;
        self.pos = end;
        self.plain_node(start, end)
    }

    /// The node of the plain scalar `text[start..end]`.
    fn plain_node(&mut self, start: usize, end: usize) -> Option<Node> {
        let raw = &self.text[start..end];
        self.count_scalar(raw.len())?;
        let span = self.span(start, end);
        let (value, verbatim_start) = if is_plain_text(raw) {
            // The text itself, where it stands.
            (Value::String(CompactString::new(raw)), Some(span.start))
        } else {
            let value = resolve(Cow::Borrowed(raw), ScalarStyle::Plain)?;
            let verbatim_start = match &value {
                Value::String(s) => verbatim_start(self.text, span, s),
                _ => None,
            };
            (value, verbatim_start)
        };
        Some(Node {
            value,
            span,
            verbatim_start,
        })
    }

    /// A quoted scalar node; the scanner is at its opening quote.
    fn quoted_node(&mut self, depth: usize) -> Option<Node> {
        self.enter(depth)?;
        let start = self.pos;
        let value = if self.peek() == Some(b'"') {
            self.double_quoted()?
        } else {
            self.single_quoted()?
        };
        let value = compact(value);
        self.count_scalar(value.len())?;
        let span = self.span(start, self.pos);
        let verbatim_start = verbatim_start(self.text, span, &value);
        Some(Node {
            value: Value::String(value),
            span,
            verbatim_start,
        })
    }

    /// A one-line single-quoted scalar's value; the scanner is at the
    /// opening quote and is left after the closing one.
    fn single_quoted(&mut self) -> Option<Cow<'a, str>> {
        let start = self.pos + 1;
        let mut value: Option<String> = None;
        let mut from = start;
        loop {
            let i = from + memchr::memchr2(b'\'', b'\n', &self.bytes[from..])?;
            if self.bytes[i] == b'\n' {
                return None;
            }
            if self.bytes.get(i + 1) == Some(&b'\'') {
                let buffer = value.get_or_insert_with(String::new);
                buffer.push_str(&self.text[from..=i]);
                from = i + 2;
                continue;
            }
            self.pos = i + 1;
            return Some(match value {
                Some(mut buffer) => {
                    buffer.push_str(&self.text[from..i]);
                    Cow::Owned(buffer)
                }
                None => Cow::Borrowed(&self.text[start..i]),
            });
        }
    }

    /// A one-line double-quoted scalar's value, with the common escapes;
    /// the scanner is at the opening quote and is left after the closing
    /// one.
    fn double_quoted(&mut self) -> Option<Cow<'a, str>> {
        let start = self.pos + 1;
        let mut value: Option<String> = None;
        let mut from = start;
        loop {
            let i = from + memchr::memchr3(b'"', b'\\', b'\n', &self.bytes[from..])?;
            match self.bytes[i] {
                b'"' => {
                    self.pos = i + 1;
                    return Some(match value {
                        Some(mut buffer) => {
                            buffer.push_str(&self.text[from..i]);
                            Cow::Owned(buffer)
                        }
                        None => Cow::Borrowed(&self.text[start..i]),
                    });
                }
                b'\\' => {
                    let buffer = value.get_or_insert_with(String::new);
                    buffer.push_str(&self.text[from..i]);
                    let (c, len) = match *self.bytes.get(i + 1)? {
                        b'\\' => ('\\', 2),
                        b'"' => ('"', 2),
                        b'/' => ('/', 2),
                        b'n' => ('\n', 2),
                        b't' => ('\t', 2),
                        b'r' => ('\r', 2),
                        b'b' => ('\u{8}', 2),
                        b'f' => ('\u{c}', 2),
                        b'0' => ('\0', 2),
                        b'u' => {
                            let hex = self.text.get(i + 2..i + 6)?;
                            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                                return None;
                            }
                            // Surrogates (pairs or not) are left to the parser.
                            (char::from_u32(u32::from_str_radix(hex, 16).ok()?)?, 6)
                        }
                        _ => return None,
                    };
                    buffer.push(c);
                    from = i + len;
                }
                _ => return None,
            }
        }
    }

    /// A literal (`|`) or folded (`>`) block scalar in a collection at
    /// column `indent`; the scanner is at the indicator.
    fn block_scalar(&mut self, indent: isize, depth: usize) -> Option<(Node, Next)> {
        self.enter(depth)?;
        let literal = self.peek() == Some(b'|');
        self.pos += 1;
        #[derive(PartialEq)]
        enum Chomp {
            Clip,
            Strip,
            Keep,
        }
        let chomp = match self.peek() {
            Some(b'-') => Chomp::Strip,
            Some(b'+') => Chomp::Keep,
            _ => Chomp::Clip,
        };
        if chomp != Chomp::Clip {
            self.pos += 1;
        }
        // An indentation indicator, or anything else on the header line.
        if !matches!(self.peek(), Some(b' ' | b'\n')) {
            return None;
        }
        self.end_of_line()?;
        self.pos += 1;
        // The content's indentation is that of its first line; leading
        // blank lines are left to the parser.
        let first = self.pos;
        let content_indent = self.bytes[first..]
            .iter()
            .take_while(|&&b| b == b' ')
            .count();
        if matches!(self.bytes.get(first + content_indent), None | Some(b'\n'))
            || content_indent as isize <= indent
        {
            return None;
        }
        let mut value = String::new();
        // Line breaks seen since the last content line.
        let mut breaks = 0usize;
        let mut content_end = first;
        let mut line = first;
        let mut saw_content = false;
        // The span ends where the next token starts.
        let mut stop = self.bytes.len();
        while line < self.bytes.len() {
            let spaces = self.bytes[line..]
                .iter()
                .take_while(|&&b| b == b' ')
                .count();
            let text_start = line + spaces;
            let line_end = memchr::memchr(b'\n', &self.bytes[text_start..])
                .map_or(self.bytes.len(), |i| text_start + i);
            if text_start == line_end {
                // A blank line: more spaces than the indentation would be
                // content; left to the parser.
                if spaces > content_indent {
                    return None;
                }
                if line_end == self.bytes.len() {
                    break;
                }
                breaks += 1;
                line = line_end + 1;
                continue;
            }
            if spaces < content_indent {
                stop = text_start;
                break;
            }
            // The last line must end with a break, and a folded scalar's
            // more-indented lines follow other rules.
            if line_end == self.bytes.len() || (!literal && spaces > content_indent) {
                return None;
            }
            if saw_content {
                if literal {
                    value.extend(std::iter::repeat_n('\n', breaks + 1));
                } else if breaks == 0 {
                    value.push(' ');
                } else {
                    value.extend(std::iter::repeat_n('\n', breaks));
                }
            }
            value.push_str(&self.text[line + content_indent..line_end]);
            saw_content = true;
            breaks = 0;
            content_end = line_end + 1;
            line = line_end + 1;
        }
        match chomp {
            Chomp::Strip => {}
            Chomp::Clip => value.push('\n'),
            Chomp::Keep => value.extend(std::iter::repeat_n('\n', breaks + 1)),
        }
        self.count_scalar(value.len())?;
        let span = self.span(first + content_indent, stop);
        let node = Node {
            verbatim_start: verbatim_start(self.text, span, &value),
            value: Value::String(value.into()),
            span,
        };
        // Back to the last content line's break, then on to the next line.
        self.pos = content_end - 1;
        Some((node, self.next_line()?))
    }

    /// A node in flow context, inside block collections at column
    /// `indent` (flow lines must be indented more).
    fn flow_node(&mut self, indent: isize, depth: usize) -> Option<Node> {
        match self.peek()? {
            b'[' => self.flow_seq(indent, depth),
            b'{' => self.flow_map(indent, depth),
            b'"' | b'\'' => self.quoted_node(depth),
            _ if self.plain_starts_here(true) => {
                self.enter(depth)?;
                let (start, end) = self.flow_plain()?;
                self.plain_node(start, end)
            }
            _ => None,
        }
    }

    /// Skips spaces, comments and line breaks between flow tokens.
    fn flow_space(&mut self, indent: isize) -> Option<()> {
        loop {
            self.skip_spaces();
            if self.at_comment() {
                self.end_of_line()?;
            }
            match self.peek() {
                Some(b'\n') => {
                    self.pos += 1;
                    let line_start = self.pos;
                    self.skip_spaces();
                    let spaces = self.pos - line_start;
                    if matches!(self.peek(), Some(b'\n' | b'#')) {
                        continue;
                    }
                    if spaces as isize <= indent || (spaces == 0 && self.at_document_marker()) {
                        return None;
                    }
                }
                // An unterminated collection.
                None => return None,
                Some(_) => return Some(()),
            }
        }
    }

    /// A plain scalar in flow context: its start and end.
    fn flow_plain(&mut self) -> Option<(usize, usize)> {
        let bytes = self.bytes;
        let start = self.pos;
        let mut end = start;
        let mut i = start;
        while let Some(&b) = bytes.get(i) {
            i += 1;
            if !FLOW_PLAIN_STOPS[usize::from(b)] {
                end = i;
                continue;
            }
            match b {
                b'\n' | b',' | b'[' | b']' | b'{' | b'}' => break,
                b':' if matches!(
                    bytes.get(i),
                    None | Some(b' ' | b'\n' | b',' | b'[' | b']' | b'{' | b'}')
                ) =>
                {
                    break;
                }
                // `i - 1` is the `#`, after the scalar's first byte.
                b'#' if i >= 2 && bytes[i - 2] == b' ' => break,
                b' ' => {}
                _ => end = i,
            }
        }
        self.pos = end;
        Some((start, end))
    }

    /// After a flow entry: a comma and the next entry, or the collection's
    /// `close`; says whether the collection closed.
    fn flow_separator(&mut self, indent: isize, close: u8) -> Option<bool> {
        self.flow_space(indent)?;
        match self.peek()? {
            b',' => {
                self.pos += 1;
                self.flow_space(indent)?;
                // A trailing comma: left to the parser.
                (self.peek() != Some(close)).then_some(false)
            }
            b if b == close => {
                self.pos += 1;
                Some(true)
            }
            _ => None,
        }
    }

    /// Opens a flow collection (the scanner is at its bracket); says
    /// whether it is empty (and then already closed by `close`).
    fn flow_open(&mut self, indent: isize, close: u8) -> Option<bool> {
        self.pos += 1;
        self.flow_space(indent)?;
        let empty = self.peek() == Some(close);
        if empty {
            self.pos += 1;
        }
        Some(empty)
    }

    fn flow_seq(&mut self, indent: isize, depth: usize) -> Option<Node> {
        self.enter(depth)?;
        let start = self.pos;
        let mut items = Vec::new();
        if !self.flow_open(indent, b']')? {
            loop {
                items.push(self.flow_node(indent, depth + 1)?);
                if self.flow_separator(indent, b']')? {
                    break;
                }
            }
        }
        Some(Node {
            value: Value::Seq(items),
            span: self.span(start, start + 1),
            verbatim_start: None,
        })
    }

    fn flow_map(&mut self, indent: isize, depth: usize) -> Option<Node> {
        self.enter(depth)?;
        let start = self.pos;
        let mut entries: Vec<(Key, Node)> = Vec::new();
        let mut keys = Keys::default();
        if !self.flow_open(indent, b'}')? {
            loop {
                let key_start = self.pos;
                let (name, style) = match self.peek()? {
                    b'"' => (self.double_quoted()?, ScalarStyle::DoubleQuoted),
                    b'\'' => (self.single_quoted()?, ScalarStyle::SingleQuoted),
                    _ if self.plain_starts_here(true) => {
                        let (s, e) = self.flow_plain()?;
                        (Cow::Borrowed(&self.text[s..e]), ScalarStyle::Plain)
                    }
                    _ => return None,
                };
                let key_end = self.pos;
                if self.peek() != Some(b':') || !matches!(self.peek_at(1), Some(b' ' | b'\n')) {
                    return None;
                }
                self.count_scalar(name.len())?;
                let key = map_key(name, style, self.span(key_start, key_end))?;
                if keys.contains(&entries, &key) {
                    return None;
                }
                self.pos += 1;
                self.flow_space(indent)?;
                let value = self.flow_node(indent, depth + 1)?;
                let (key, int) = key;
                entries.push((key, value));
                keys.push(&entries, int);
                if self.flow_separator(indent, b'}')? {
                    break;
                }
            }
        }
        Some(Node {
            value: Value::Map(entries),
            span: self.span(start, start + 1),
            verbatim_start: None,
        })
    }
}

/// Whether `hay` holds a comment (` #`): a `memchr` for the `#`, which is
/// rare in specs, with no searcher to set up for short keys.
fn has_comment(hay: &[u8]) -> bool {
    memchr::memchr_iter(b'#', hay).any(|i| i > 0 && hay[i - 1] == b' ')
}

//! Text as the docs show it: HTML escaping, the bits of Markdown spec texts
//! use (`code` spans), texts in several languages, and anchors.
//!
//! Everything a spec says goes through [`html_inline`] or [`md_inline`]
//! before it reaches a page, so a `<script>` in a help text is shown, never
//! run, and a `|` never breaks a Markdown table.

use std::fmt::Write as _;

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attribute values.
pub fn escape_html(text: &str, out: &mut String) {
    // Most texts have nothing to escape, and the others little: the runs
    // between the bytes to replace are found a word at a time and copied
    // whole.
    let mut rest = text;
    while let Some(at) = first_html_special(rest.as_bytes()) {
        out.push_str(&rest[..at]);
        out.push_str(entity(rest.as_bytes()[at]));
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

/// The entity [`escape_html`] writes for one of its special bytes.
fn entity(byte: u8) -> &'static str {
    match byte {
        b'&' => "&amp;",
        b'<' => "&lt;",
        b'>' => "&gt;",
        b'"' => "&quot;",
        _ => "&#x27;",
    }
}

/// Whether two language tags are the same. Tags are a few bytes, compared
/// in place: a call to `memcmp` for each would cost more, and every text of
/// a page compares its tags.
pub fn same_tag(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

/// Whether [`escape_html`] would change `text`.
pub fn has_html_special(text: &str) -> bool {
    first_html_special(text.as_bytes()).is_some()
}

/// Where the first byte [`escape_html`] replaces is. Every text of a page
/// is looked at, and most have none: they are read eight bytes at a time.
fn first_html_special(bytes: &[u8]) -> Option<usize> {
    first_special::<false>(bytes)
}

/// Where the first byte [`escape_html`] replaces, or the first backtick
/// (when `TICK`), is: [`first_html_special`] and, for [`html_inline`], the
/// start of a code span found in the same pass.
fn first_special<const TICK: bool>(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Whether some byte of `x` is zero (a classic bit trick; exact for
    // "any", though not for which).
    let any_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS != 0;
    let table = if TICK { &INLINE_SPECIAL } else { &HTML_SPECIAL };
    let mut words = bytes.chunks_exact(8);
    for (i, word) in (&mut words).enumerate() {
        let w = u64::from_ne_bytes(word.try_into().expect("eight bytes"));
        // `"` is 0x22; `&` and `'` are 0x26 and 0x27, which read 0x27 with
        // the lowest bit set; `<` and `>` are 0x3c and 0x3e, which read 0x3e
        // with the second bit set (no other byte does, in either case); a
        // backtick is 0x60.
        if any_zero(w ^ (ONES * 0x22))
            || any_zero((w | ONES) ^ (ONES * 0x27))
            || any_zero((w | (ONES * 0x02)) ^ (ONES * 0x3e))
            || (TICK && any_zero(w ^ (ONES * 0x60)))
        {
            return word
                .iter()
                .position(|&b| table[usize::from(b)])
                .map(|at| 8 * i + at);
        }
    }
    let rest = words.remainder();
    let start = bytes.len() - rest.len();
    rest.iter()
        .position(|&b| table[usize::from(b)])
        .map(|at| start + at)
}

/// The bytes [`escape_html`] replaces.
const HTML_SPECIAL: [bool; 256] = crate::bytes::byte_set(b"&<>\"'");

/// [`HTML_SPECIAL`] and the backtick.
const INLINE_SPECIAL: [bool; 256] = {
    let mut table = HTML_SPECIAL;
    table[b'`' as usize] = true;
    table
};

/// Calls `each(is_code, part)` for the plain runs and `code` spans
/// (between single backticks) of `text`, in order. An unpaired backtick is
/// plain text. [`html_inline`] and [`md_inline`] split texts so in one pass
/// of their own; this is what the tests hold them to.
#[cfg(test)]
fn code_spans(text: &str, mut each: impl FnMut(bool, &str)) {
    let mut rest = text;
    while let Some(open) = memchr::memchr(b'`', rest.as_bytes()) {
        let after = &rest[open + 1..];
        let Some(close) = memchr::memchr(b'`', after.as_bytes()) else {
            break;
        };
        if open > 0 {
            each(false, &rest[..open]);
        }
        if close > 0 {
            each(true, &after[..close]);
        }
        rest = &after[close + 1..];
    }
    if !rest.is_empty() {
        each(false, rest);
    }
}

/// A spec text as inline HTML: escaped, with `code` spans as `<code>`.
pub fn html_inline(text: &str, out: &mut String) {
    // As `code_spans` splits it, in one pass over the text: most texts have
    // neither a backtick nor anything to escape.
    let mut rest = text;
    while let Some(at) = first_special::<true>(rest.as_bytes()) {
        out.push_str(&rest[..at]);
        let byte = rest.as_bytes()[at];
        if byte != b'`' {
            out.push_str(entity(byte));
            rest = &rest[at + 1..];
            continue;
        }
        let after = &rest[at + 1..];
        let Some(close) = memchr::memchr(b'`', after.as_bytes()) else {
            // An unpaired backtick: the rest is plain text.
            escape_html(&rest[at..], out);
            return;
        };
        if close > 0 {
            out.push_str("<code>");
            escape_html(&after[..close], out);
            out.push_str("</code>");
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
}

/// A spec text as inline Markdown: `code` spans are kept, and outside them
/// characters Markdown or HTML would interpret (`<`, `&`, `*`, `_` at word
/// edges, `[`, `]`, `\`) are escaped so the text reads as written. Line
/// breaks become spaces (a table cell is one line).
pub fn md_inline(text: &str, out: &mut String) {
    // As `code_spans` splits it, in one pass over the text. Every character
    // to escape is ASCII, never part of a multi-byte character: the runs
    // between them are copied whole.
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !MD_INLINE_SPECIAL[usize::from(b)] {
            i += 1;
            continue;
        }
        if b == b'`' {
            // A code span, kept; an unpaired backtick is plain text (and
            // there is no other after it).
            if let Some(close) = memchr::memchr(b'`', &bytes[i + 1..]) {
                out.push_str(&text[start..i]);
                if close > 0 {
                    out.push('`');
                    push_one_line(&text[i + 1..i + 1 + close], out);
                    out.push('`');
                }
                i += close + 2;
                start = i;
            } else {
                i += 1;
            }
            continue;
        }
        out.push_str(&text[start..i]);
        start = i + 1;
        match b {
            b'<' => out.push_str("&lt;"),
            b'&' => out.push_str("&amp;"),
            b'\n' | b'\r' => out.push(' '),
            // Intraword underscores (`app_key`) are literal in GFM. (Next
            // to a code span, the character beside is a backtick, which is
            // no more a word's than the span's edge.)
            b'_' => {
                let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
                let before = text[..i].chars().next_back();
                let after = text[i + 1..].chars().next();
                if !(word(before) && word(after)) {
                    out.push('\\');
                }
                out.push('_');
            }
            // `\`, `[`, `]`, `*`.
            _ => {
                out.push('\\');
                out.push(char::from(b));
            }
        }
        i += 1;
    }
    out.push_str(&text[start..]);
}

/// The bytes [`md_inline`] replaces outside code spans.
const MD_SPECIAL: [bool; 256] = crate::bytes::byte_set(b"<&\\[]*_\n\r");

/// [`MD_SPECIAL`] and the backtick.
const MD_INLINE_SPECIAL: [bool; 256] = {
    let mut table = MD_SPECIAL;
    table[b'`' as usize] = true;
    table
};

/// Appends `text` with each line break (`\n`, `\r`) as a space.
fn push_one_line(text: &str, out: &mut String) {
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' || b == b'\r' {
            out.push_str(&text[start..i]);
            out.push(' ');
            start = i + 1;
        }
    }
    out.push_str(&text[start..]);
}

/// Escapes a value for a Markdown table cell: `|` would end the cell.
pub fn md_cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// `text` as a Markdown code span, with a fence long enough for any
/// backticks inside.
pub fn md_code(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    md_code_into(text, &mut out);
    out
}

/// [`md_code`], appended to `out`.
pub fn md_code_into(text: &str, out: &mut String) {
    if !text.bytes().any(|b| matches!(b, b'`' | b'\n' | b'\r')) {
        out.push('`');
        out.push_str(text);
        out.push('`');
        return;
    }
    let mut longest = 0;
    let mut run = 0;
    for b in text.bytes() {
        run = if b == b'`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    // A line break becomes a space, so the text's first and last
    // characters are backticks only if they were.
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    let fence = "`".repeat(longest + 1);
    out.push_str(&fence);
    out.push_str(pad);
    push_one_line(text, out);
    out.push_str(pad);
    out.push_str(&fence);
}

/// An HTML id from parts joined by `-`: letters, digits, `_` and `.` are
/// kept; any other character (`-` too) becomes `~` and its code point in
/// hex, so different keys never share an id.
pub fn anchor(parts: &[&str]) -> String {
    let mut out = String::new();
    anchor_into(parts, &mut out);
    out
}

/// [`anchor`], appended to `out`.
pub fn anchor_into(parts: &[&str], out: &mut String) {
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push('-');
        }
        // Most parts are keys with nothing to replace: bytes are checked,
        // and only a character to replace is decoded.
        let bytes = part.as_bytes();
        let mut start = 0;
        let mut at = 0;
        while at < bytes.len() {
            let b = bytes[at];
            if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' {
                at += 1;
                continue;
            }
            let c = part[at..].chars().next().expect("a character starts here");
            out.push_str(&part[start..at]);
            let _ = write!(out, "~{:x}", c as u32);
            at += c.len_utf8();
            start = at;
        }
        out.push_str(&part[start..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(text: &str) -> String {
        let mut out = String::new();
        html_inline(text, &mut out);
        out
    }

    fn md(text: &str) -> String {
        let mut out = String::new();
        md_inline(text, &mut out);
        out
    }

    #[test]
    fn html_escapes_and_renders_code_spans() {
        assert_eq!(
            html("<script>alert('x')</script> & `a<b>` \"q\""),
            "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; <code>a&lt;b&gt;</code> &quot;q&quot;"
        );
        assert_eq!(html("one ` tick"), "one ` tick");
        assert_eq!(html("``"), "");
        assert_eq!(html("a `b` c ` d <e>"), "a <code>b</code> c ` d &lt;e&gt;");
        assert_eq!(
            html("`x``y` & `z`'"),
            "<code>x</code><code>y</code> &amp; <code>z</code>&#x27;"
        );
    }

    #[test]
    fn markdown_keeps_code_and_escapes_the_rest() {
        assert_eq!(md("e.g. <p>Hello</p>"), "e.g. &lt;p>Hello&lt;/p>");
        assert_eq!(
            md("`a<b>` and app_key *x* _y_"),
            "`a<b>` and app_key \\*x\\* \\_y\\_"
        );
        assert_eq!(md("two\nlines"), "two lines");
        assert_eq!(md_cell("a|b"), "a\\|b");
        assert_eq!(md_code("x `y` z"), "``x `y` z``");
        assert_eq!(md_code("`"), "`` ` ``");
        assert_eq!(md_code("a\nb"), "`a b`");
        assert_eq!(md_code("\n`x"), "`` `x``");
        assert_eq!(md_code("a\r\n`"), "`` a  ` ``");
        assert_eq!(
            md("`a\nb` [x]\\_y_ z_ é_é a__b"),
            "`a b` \\[x\\]\\\\\\_y\\_ z\\_ é_é a\\_\\_b"
        );
    }

    /// Every text of at most `longest` characters of `alphabet`.
    fn texts_over(alphabet: &[char], longest: usize) -> Vec<String> {
        let mut texts = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..longest {
            last = last
                .iter()
                .flat_map(|t| alphabet.iter().map(move |c| format!("{t}{c}")))
                .collect();
            texts.extend(last.iter().cloned());
        }
        texts
    }

    #[test]
    fn html_inline_splits_code_spans_as_code_spans_does() {
        fn by_spans(text: &str) -> String {
            let mut out = String::new();
            code_spans(text, |code, part| {
                if code {
                    out.push_str("<code>");
                    escape_html(part, &mut out);
                    out.push_str("</code>");
                } else {
                    escape_html(part, &mut out);
                }
            });
            out
        }
        // Every text of up to five of these characters, and longer ones
        // made of them (across the eight-byte words).
        for text in &texts_over(&['a', '`', '<', '\'', 'é', ' '], 5) {
            for long in [text.clone(), format!("{text}{}{text}", "x".repeat(9))] {
                assert_eq!(html(&long), by_spans(&long), "{long:?}");
            }
        }
    }

    #[test]
    fn md_inline_splits_code_spans_as_code_spans_does() {
        fn by_spans(text: &str) -> String {
            let mut out = String::new();
            code_spans(text, |code, part| {
                if code {
                    out.push('`');
                    push_one_line(part, &mut out);
                    out.push('`');
                    return;
                }
                for (i, c) in part.char_indices() {
                    match c {
                        '<' => out.push_str("&lt;"),
                        '&' => out.push_str("&amp;"),
                        '\n' | '\r' => out.push(' '),
                        '_' => {
                            let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
                            let before = part[..i].chars().next_back();
                            let after = part[i + 1..].chars().next();
                            if !(word(before) && word(after)) {
                                out.push('\\');
                            }
                            out.push('_');
                        }
                        '\\' | '[' | ']' | '*' => {
                            out.push('\\');
                            out.push(c);
                        }
                        c => out.push(c),
                    }
                }
            });
            out
        }
        for text in &texts_over(&['a', '`', '_', '<', '\n', 'é', '*', ' '], 5) {
            assert_eq!(md(text), by_spans(text), "{text:?}");
        }
    }

    #[test]
    fn html_specials_are_found_wherever_they_are() {
        let specials = ['&', '<', '>', '"', '\''];
        // Bytes that differ from a special one by the bits the search masks.
        for near in ['!', '#', '$', '%', '(', '=', '?', '>'] {
            let text: String = std::iter::repeat_n(near, 20).collect();
            assert_eq!(has_html_special(&text), specials.contains(&near), "{near}");
        }
        // At every offset in and across the eight-byte words.
        for before in 0..20 {
            for special in specials {
                let text = format!("{}é{special}xyz>", "a".repeat(before));
                assert_eq!(first_html_special(text.as_bytes()), text.find(special));
            }
            assert_eq!(first_html_special("aé".repeat(before).as_bytes()), None);
        }
    }

    #[test]
    fn anchors_are_unique_and_safe() {
        assert_eq!(
            anchor(&["action", "create", "input", "items.sku_id"]),
            "action-create-input-items.sku_id"
        );
        assert_eq!(anchor(&["f", "@odata nextLink"]), "f-~40odata~20nextLink");
        assert_ne!(anchor(&["a-b"]), anchor(&["a", "b"]));
        for c in (0..=0x7f_u8).map(char::from).chain(['é', '字']) {
            let kept = c.is_ascii_alphanumeric() || c == '_' || c == '.';
            let expected = if kept {
                format!("x{c}")
            } else {
                format!("x~{:x}", c as u32)
            };
            assert_eq!(anchor(&[&format!("x{c}")]), expected);
        }
    }
}

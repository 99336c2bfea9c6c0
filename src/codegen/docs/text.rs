//! Text as the docs show it: HTML escaping, the bits of Markdown spec texts
//! use (`code` spans), texts in several languages, and anchors.
//!
//! Everything a spec says goes through [`html_inline`] or [`md_inline`]
//! before it reaches a page, so a `<script>` in a help text is shown, never
//! run, and a `|` never breaks a Markdown table.

use std::fmt::Write as _;

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attribute values.
pub fn escape_html(text: &str, out: &mut String) {
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#x27;",
            _ => continue,
        };
        out.push_str(&text[start..i]);
        out.push_str(entity);
        start = i + 1;
    }
    out.push_str(&text[start..]);
}

/// Calls `each(is_code, part)` for the plain runs and `code` spans
/// (between single backticks) of `text`, in order. An unpaired backtick is
/// plain text.
fn code_spans(text: &str, mut each: impl FnMut(bool, &str)) {
    let mut rest = text;
    while let Some(open) = rest.find('`') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('`') else {
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
    if !text.contains('`') {
        escape_html(text, out);
        return;
    }
    code_spans(text, |code, part| {
        if code {
            out.push_str("<code>");
            escape_html(part, out);
            out.push_str("</code>");
        } else {
            escape_html(part, out);
        }
    });
}

/// A spec text as inline Markdown: `code` spans are kept, and outside them
/// characters Markdown or HTML would interpret (`<`, `&`, `*`, `_` at word
/// edges, `[`, `]`, `\`) are escaped so the text reads as written. Line
/// breaks become spaces (a table cell is one line).
pub fn md_inline(text: &str, out: &mut String) {
    code_spans(text, |code, part| {
        if code {
            out.push('`');
            out.push_str(&part.replace(['\n', '\r'], " "));
            out.push('`');
            return;
        }
        let mut previous: Option<char> = None;
        let mut chars = part.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '<' => out.push_str("&lt;"),
                '&' => out.push_str("&amp;"),
                '\\' | '[' | ']' | '*' => {
                    out.push('\\');
                    out.push(c);
                }
                // Intraword underscores (`app_key`) are literal in GFM.
                '_' => {
                    let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
                    if !(word(previous) && word(chars.peek().copied())) {
                        out.push('\\');
                    }
                    out.push('_');
                }
                '\n' | '\r' => out.push(' '),
                c => out.push(c),
            }
            previous = Some(c);
        }
    });
}

/// Escapes a value for a Markdown table cell: `|` would end the cell.
pub fn md_cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// `text` as a Markdown code span, with a fence long enough for any
/// backticks inside.
pub fn md_code(text: &str) -> String {
    let text = text.replace(['\n', '\r'], " ");
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// An HTML id from parts joined by `-`: letters, digits, `_` and `.` are
/// kept; any other character (`-` too) becomes `~` and its code point in
/// hex, so different keys never share an id.
pub fn anchor(parts: &[&str]) -> String {
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push('-');
        }
        for c in part.chars() {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.') {
                out.push(c);
            } else {
                let _ = write!(out, "~{:x}", c as u32);
            }
        }
    }
    out
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
    }

    #[test]
    fn anchors_are_unique_and_safe() {
        assert_eq!(
            anchor(&["action", "create", "input", "items.sku_id"]),
            "action-create-input-items.sku_id"
        );
        assert_eq!(anchor(&["f", "@odata nextLink"]), "f-~40odata~20nextLink");
        assert_ne!(anchor(&["a-b"]), anchor(&["a", "b"]));
    }
}

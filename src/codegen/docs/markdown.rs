//! A small Markdown-to-HTML converter for the project's own prose
//! (`docs/tables.md` on the tables page), so that page is written once.
//!
//! It handles what that prose uses and nothing more: ATX headings, paragraphs,
//! `-` and `1.` lists with indented continuation lines, GFM tables, fenced
//! code, HTML comments (dropped), and inline code, `**strong**`, `*em*`,
//! `[links](url)` and backslash escapes. Everything else is text, escaped.
//! The tables page test fails if the prose grows a construct this misses.

use super::text::escape_html;

/// Converts `markdown` to HTML. Heading ids are slugs of their text.
pub fn to_html(markdown: &str) -> String {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            i += 1;
        } else if trimmed.starts_with("<!--") {
            while i < lines.len() && !lines[i].contains("-->") {
                i += 1;
            }
            i += 1;
        } else if let Some(fence) = trimmed.strip_prefix("```") {
            let lang = fence.trim();
            i += 1;
            let mut code = String::new();
            while i < lines.len() && !lines[i].trim_start().starts_with("```") {
                code.push_str(lines[i]);
                code.push('\n');
                i += 1;
            }
            i += 1;
            out.push_str("<pre><code");
            if !lang.is_empty() {
                out.push_str(" class=\"language-");
                escape_html(lang, &mut out);
                out.push('"');
            }
            out.push('>');
            escape_html(&code, &mut out);
            out.push_str("</code></pre>\n");
        } else if let Some((level, text)) = heading(trimmed) {
            out.push_str(&format!("<h{level} id=\"{}\">", slug(text)));
            inline(text, &mut out);
            out.push_str(&format!("</h{level}>\n"));
            i += 1;
        } else if trimmed.starts_with('|') && lines.get(i + 1).is_some_and(|l| is_separator(l)) {
            let header = cells(trimmed);
            i += 2;
            out.push_str("<table>\n<thead><tr>");
            for cell in &header {
                out.push_str("<th>");
                inline(cell, &mut out);
                out.push_str("</th>");
            }
            out.push_str("</tr></thead>\n<tbody>\n");
            while i < lines.len() && lines[i].trim_start().starts_with('|') {
                out.push_str("<tr>");
                for cell in cells(lines[i].trim()) {
                    out.push_str("<td>");
                    inline(&cell, &mut out);
                    out.push_str("</td>");
                }
                out.push_str("</tr>\n");
                i += 1;
            }
            out.push_str("</tbody>\n</table>\n");
        } else if let Some((ordered, _)) = list_item(line) {
            let tag = if ordered { "ol" } else { "ul" };
            out.push_str(&format!("<{tag}>\n"));
            while i < lines.len() {
                let Some((_, text)) = list_item(lines[i]).filter(|(o, _)| *o == ordered) else {
                    break;
                };
                let mut item = text.to_string();
                i += 1;
                while i < lines.len()
                    && !lines[i].trim().is_empty()
                    && lines[i].starts_with([' ', '\t'])
                {
                    item.push(' ');
                    item.push_str(lines[i].trim());
                    i += 1;
                }
                out.push_str("<li>");
                inline(&item, &mut out);
                out.push_str("</li>\n");
            }
            out.push_str(&format!("</{tag}>\n"));
        } else {
            let mut paragraph = Vec::new();
            while i < lines.len() {
                let l = lines[i].trim();
                if l.is_empty()
                    || heading(l).is_some()
                    || l.starts_with("```")
                    || l.starts_with("<!--")
                    || (l.starts_with('|') && !paragraph.is_empty())
                    || (list_item(lines[i]).is_some() && !paragraph.is_empty())
                {
                    break;
                }
                paragraph.push(l);
                i += 1;
            }
            out.push_str("<p>");
            inline(&paragraph.join(" "), &mut out);
            out.push_str("</p>\n");
        }
    }
    out
}

fn heading(line: &str) -> Option<(usize, &str)> {
    let level = line.len() - line.trim_start_matches('#').len();
    let rest = &line[level..];
    ((1..=6).contains(&level) && rest.starts_with(' ')).then(|| (level, rest.trim()))
}

/// `- text` or `12. text` at the start of a line (no indentation).
fn list_item(line: &str) -> Option<(bool, &str)> {
    if let Some(rest) = line.strip_prefix("- ") {
        return Some((false, rest));
    }
    let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits > 0
        && let Some(rest) = line[digits..].strip_prefix(". ")
    {
        return Some((true, rest));
    }
    None
}

fn is_separator(line: &str) -> bool {
    let line = line.trim();
    line.starts_with('|')
        && line.contains('-')
        && line.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '))
}

/// The cells of a table row, split on `|` outside code spans and escapes.
fn cells(row: &str) -> Vec<String> {
    let row = row.trim().trim_start_matches('|');
    let row = row.strip_suffix('|').unwrap_or(row);
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut in_code = false;
    let mut chars = row.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    if next != '|' {
                        cell.push('\\');
                    }
                    cell.push(next);
                }
            }
            '`' => {
                in_code = !in_code;
                cell.push(c);
            }
            '|' if !in_code => cells.push(std::mem::take(&mut cell).trim().to_string()),
            c => cell.push(c),
        }
    }
    cells.push(cell.trim().to_string());
    cells
}

/// Inline Markdown to HTML.
pub fn inline(text: &str, out: &mut String) {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if i + 1 < chars.len() && chars[i + 1].is_ascii_punctuation() => {
                escape_html(&chars[i + 1].to_string(), out);
                i += 2;
            }
            '`' => {
                let run = chars[i..].iter().take_while(|&&c| c == '`').count();
                let start = i + run;
                let close = (start..chars.len()).find(|&j| {
                    chars[j..].iter().take_while(|&&c| c == '`').count() == run
                        && (j == 0 || chars[j - 1] != '`')
                });
                match close {
                    Some(end) => {
                        let code: String = chars[start..end].iter().collect();
                        let code = if code.starts_with(' ') && code.ends_with(' ') && code.len() > 1
                        {
                            &code[1..code.len() - 1]
                        } else {
                            &code[..]
                        };
                        out.push_str("<code>");
                        escape_html(code, out);
                        out.push_str("</code>");
                        i = end + run;
                    }
                    None => {
                        escape_html(&"`".repeat(run), out);
                        i = start;
                    }
                }
            }
            '*' if chars.get(i + 1) == Some(&'*') => match find(&chars, i + 2, &['*', '*']) {
                Some(end) => {
                    out.push_str("<strong>");
                    inline(&chars[i + 2..end].iter().collect::<String>(), out);
                    out.push_str("</strong>");
                    i = end + 2;
                }
                None => {
                    out.push_str("**");
                    i += 2;
                }
            },
            '*' if chars.get(i + 1).is_some_and(|c| !c.is_whitespace()) => {
                match find(&chars, i + 1, &['*']) {
                    Some(end) => {
                        out.push_str("<em>");
                        inline(&chars[i + 1..end].iter().collect::<String>(), out);
                        out.push_str("</em>");
                        i = end + 1;
                    }
                    None => {
                        out.push('*');
                        i += 1;
                    }
                }
            }
            '[' => {
                let link = find(&chars, i + 1, &[']', '('])
                    .and_then(|mid| find(&chars, mid + 2, &[')']).map(|end| (mid, end)));
                match link {
                    Some((mid, end)) => {
                        let label: String = chars[i + 1..mid].iter().collect();
                        let href: String = chars[mid + 2..end].iter().collect();
                        out.push_str("<a href=\"");
                        escape_html(&href, out);
                        out.push_str("\">");
                        inline(&label, out);
                        out.push_str("</a>");
                        i = end + 1;
                    }
                    None => {
                        out.push('[');
                        i += 1;
                    }
                }
            }
            c => {
                escape_html(&c.to_string(), out);
                i += 1;
            }
        }
    }
}

/// The index of the first occurrence of `pattern` at or after `from`.
fn find(chars: &[char], from: usize, pattern: &[char]) -> Option<usize> {
    (from..chars.len().saturating_sub(pattern.len() - 1)).find(|&j| chars[j..].starts_with(pattern))
}

/// A heading's id: lowercase letters, digits and `_`, words joined by `-`.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' {
            out.extend(c.to_lowercase());
        } else if (c.is_whitespace() || c == '-') && !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks() {
        let html = to_html(
            "# Title `x`\n\nA *para*\ngraph with **bold** and [a link](b.html).\n\n- one\n  more\n- two\n\n1. first\n2. second\n\n| a | b |\n| - | - |\n| `c\\|d` | e |\n\n<!-- gone -->\n```sh\nls <x>\n```\n",
        );
        assert_eq!(
            html,
            "<h1 id=\"title-x\">Title <code>x</code></h1>\n\
             <p>A <em>para</em> graph with <strong>bold</strong> and <a href=\"b.html\">a link</a>.</p>\n\
             <ul>\n<li>one more</li>\n<li>two</li>\n</ul>\n\
             <ol>\n<li>first</li>\n<li>second</li>\n</ol>\n\
             <table>\n<thead><tr><th>a</th><th>b</th></tr></thead>\n<tbody>\n<tr><td><code>c|d</code></td><td>e</td></tr>\n</tbody>\n</table>\n\
             <pre><code class=\"language-sh\">ls &lt;x&gt;\n</code></pre>\n"
        );
    }

    #[test]
    fn inline_edge_cases() {
        let mut out = String::new();
        inline("`` a`b `` and 2 * 3 and \\* and <b>", &mut out);
        assert_eq!(out, "<code>a`b</code> and 2 * 3 and * and &lt;b&gt;");
    }
}

//! Field tables, the bulk of every connector page, rendered straight to
//! HTML and Markdown.
//!
//! A connector has hundreds of fields; a template interpreter spends
//! microseconds on each row, which for a thousand connectors is seconds.
//! So the tables are written here, once per field, and the templates place
//! them (`op.input_table`, `op.input_md`, ...). A template that wants its
//! own tables renders them from the structured fields instead (`op.input`,
//! provided whenever the project overrides templates).
//!
//! HTML: one `<table class="fields">`; a group's fields are a nested table
//! in the row after the group's row (`tr.children`), so nesting is real DOM
//! nesting. Markdown: one table; nested fields follow their group, indented
//! and marked `↳`.

use std::fmt::Write as _;

use super::text::{anchor, escape_html, html_inline, md_code, md_inline};
use crate::model::{Field, Text};

/// What rendering texts needs: the site's languages and the page chrome's
/// words, already rendered.
pub struct Words {
    pub languages: Vec<String>,
    /// UI strings rendered as HTML (every language), by key.
    pub html: std::collections::HashMap<&'static str, String>,
}

impl Words {
    pub fn ui(&self, key: &str) -> &str {
        self.html.get(key).map_or("", String::as_str)
    }

    /// A text in every language, each in a span the stylesheet shows for
    /// the chosen language (or plain when all languages read the same).
    pub fn html(&self, text: &Text, out: &mut String) {
        match text {
            Text::Plain(s) => html_inline(s, out),
            Text::Localized(map) => {
                let given: Vec<(&str, &str)> =
                    map.iter().map(|(l, t)| (l.as_str(), t.as_str())).collect();
                text_html(&given, &self.languages, out);
            }
        }
    }
}

/// `given` (language tag, text; spec order) as HTML for a site in
/// `languages`: each site language sees its own text, else the English,
/// else the first. When every language sees the same string it is written
/// once, plain; otherwise each variant is a `<span lang>`, with `data-l`
/// listing the site languages it is shown for when that is more than its
/// own (a fallback).
pub fn text_html(given: &[(&str, &str)], languages: &[String], out: &mut String) {
    let Some(first) = given.first() else {
        return;
    };
    let en = given.iter().position(|(l, _)| *l == "en");
    // Which site languages (as bits, at most 64) each given text serves.
    let mut shown = vec![0u64; given.len()];
    for (li, lang) in languages.iter().enumerate().take(64) {
        let gi = given
            .iter()
            .position(|(l, _)| *l == lang.as_str())
            .or(en)
            .unwrap_or(0);
        shown[gi] |= 1 << li;
    }
    let mut used = given.iter().zip(&shown).filter(|(_, bits)| **bits != 0);
    let single = match used.next() {
        None => true,
        Some(((_, text), _)) => used.all(|((_, other), _)| other == text),
    };
    if single {
        let text = en.map_or(first.1, |i| given[i].1);
        html_inline(text, out);
        return;
    }
    for ((lang, text), bits) in given.iter().zip(&shown) {
        if *bits == 0 {
            continue;
        }
        out.push_str("<span lang=\"");
        escape_html(lang, out);
        out.push('"');
        // `data-l` only when the text also stands in for other languages.
        let own = languages.iter().position(|l| l == lang).filter(|&i| i < 64);
        if own.is_none_or(|i| *bits != 1 << i) {
            out.push_str(" data-l=\"");
            let mut sep = "";
            for (li, l) in languages.iter().enumerate().take(64) {
                if bits & (1 << li) != 0 {
                    out.push_str(sep);
                    escape_html(l, out);
                    sep = " ";
                }
            }
            out.push('"');
        }
        out.push('>');
        html_inline(text, out);
        out.push_str("</span>");
    }
}

/// A text's languages side by side for Markdown: distinct texts joined by
/// `sep`.
pub fn text_md(text: &Text, sep: &str, out: &mut String) {
    match text {
        Text::Plain(s) => md_inline(s, out),
        Text::Localized(map) => {
            let mut seen: Vec<&str> = Vec::new();
            for t in map.values() {
                if !seen.contains(&t.as_str()) {
                    if !seen.is_empty() {
                        out.push_str(sep);
                    }
                    md_inline(t, out);
                    seen.push(t);
                }
            }
        }
    }
}

/// A JSON value as people read it: a string as itself, else compact JSON.
pub fn display_json(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Where a field table sits: anchors are `<prefix>-<path>`; dynamic choices
/// link to `(key, anchor)` of the connector's actions and triggers.
pub struct Place<'a> {
    pub prefix: &'a str,
    pub operations: &'a [(&'a str, String)],
}

/// The HTML table of `fields`.
pub fn html_table(fields: &[Field], place: &Place<'_>, words: &Words, out: &mut String) {
    out.push_str("<table class=\"fields\">\n");
    colgroup(out);
    let _ = write!(
        out,
        "<thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead>\n<tbody>\n",
        words.ui("field"),
        words.ui("type"),
        words.ui("details")
    );
    html_rows(fields, "", place, words, out);
    out.push_str("</tbody>\n</table>\n");
}

fn colgroup(out: &mut String) {
    out.push_str(
        "<colgroup><col class=\"c-field\"><col class=\"c-type\"><col class=\"c-details\"></colgroup>\n",
    );
}

fn html_rows(fields: &[Field], parent: &str, place: &Place<'_>, words: &Words, out: &mut String) {
    for f in fields {
        let path = if parent.is_empty() {
            f.key.clone()
        } else {
            format!("{parent}.{}", f.key)
        };
        let id = format!("{}-{}", place.prefix, anchor(&[&path]));
        out.push_str("<tr class=\"field");
        if !f.fields.is_empty() {
            out.push_str(" group");
        }
        out.push_str("\" id=\"");
        escape_html(&id, out);
        out.push_str("\" data-path=\"");
        escape_html(&path, out);
        out.push_str("\">\n<td class=\"f-key\"><a class=\"anchor\" href=\"#");
        escape_html(&id, out);
        out.push_str("\" aria-label=\"link\">#</a><code>");
        escape_html(&f.key, out);
        out.push_str("</code>");
        if f.required {
            let _ = write!(
                out,
                " <span class=\"badge badge-req\">{}</span>",
                words.ui("required")
            );
        }
        if f.user_input {
            let _ = write!(
                out,
                " <span class=\"badge\">{}</span>",
                words.ui("user_input")
            );
        }
        if let Some(label) = &f.label {
            out.push_str("<div class=\"f-label\">");
            words.html(label, out);
            out.push_str("</div>");
        }
        out.push_str("</td>\n<td class=\"f-type\"><code>");
        out.push_str(f.field_type.as_str());
        out.push_str("</code>");
        if f.multiple {
            let _ = write!(
                out,
                " <span class=\"badge badge-list\">{}</span>",
                words.ui("list")
            );
        }
        out.push_str("</td>\n<td class=\"f-details\">");
        details_html(f, place, words, out);
        out.push_str("</td>\n</tr>\n");
        if !f.fields.is_empty() {
            out.push_str("<tr class=\"children\" data-parent=\"");
            escape_html(&id, out);
            out.push_str("\">\n<td colspan=\"3\">\n<table class=\"fields nested\">\n");
            colgroup(out);
            out.push_str("<tbody>\n");
            html_rows(&f.fields, &path, place, words, out);
            out.push_str("</tbody>\n</table>\n</td>\n</tr>\n");
        }
    }
}

fn details_html(f: &Field, place: &Place<'_>, words: &Words, out: &mut String) {
    if let Some(help) = &f.help {
        out.push_str("<p>");
        words.html(help, out);
        out.push_str("</p>");
    }
    if let Some(r) = &f.required_if {
        out.push_str("<p class=\"req-if\">");
        words.html(&required_if(r), out);
        out.push_str("</p>");
    }
    if let Some(default) = &f.default {
        let _ = write!(
            out,
            "<p><span class=\"k\">{}</span> <code>",
            words.ui("default")
        );
        escape_html(&display_json(default), out);
        out.push_str("</code></p>");
    }
    if let Some(placeholder) = &f.placeholder {
        let _ = write!(
            out,
            "<p><span class=\"k\">{}</span> ",
            words.ui("placeholder")
        );
        words.html(placeholder, out);
        out.push_str("</p>");
    }
    if !f.choices.is_empty() {
        out.push_str("<ul class=\"choices\">");
        for c in &f.choices {
            out.push_str("<li><code>");
            escape_html(&display_json(&c.key), out);
            out.push_str("</code> ");
            words.html(&c.label, out);
            out.push_str("</li>");
        }
        out.push_str("</ul>");
    }
    if let Some(d) = &f.dynamic_choices {
        let _ = write!(
            out,
            "<p><span class=\"k\">{}</span> ",
            words.ui("choices_from")
        );
        let target = place.operations.iter().find(|(k, _)| *k == d.from);
        if let Some((_, anchor)) = target {
            out.push_str("<a href=\"#");
            escape_html(anchor, out);
            out.push_str("\">");
        }
        out.push_str("<code>");
        escape_html(&d.from, out);
        out.push_str("</code>");
        if target.is_some() {
            out.push_str("</a>");
        }
        out.push_str(" (<code>");
        escape_html(&d.value, out);
        out.push_str("</code> / <code>");
        escape_html(&d.label, out);
        out.push_str("</code>)</p>");
    }
    if let Some(c) = &f.constraints {
        let list = constraints(c);
        if !list.is_empty() {
            let _ = write!(
                out,
                "<p class=\"constraints\"><span class=\"k\">{}</span> ",
                words.ui("constraints")
            );
            for (i, text) in list.iter().enumerate() {
                if i > 0 {
                    out.push_str("; ");
                }
                words.html(text, out);
            }
            out.push_str("</p>");
        }
        if let Some(message) = &c.message {
            out.push_str("<p class=\"muted\">");
            words.html(message, out);
            out.push_str("</p>");
        }
    }
}

/// The Markdown table of `fields`.
pub fn md_table(fields: &[Field], out: &mut String) {
    out.push_str(
        "| field | type | required | description |\n| ----- | ---- | -------- | ----------- |\n",
    );
    md_rows(fields, 0, out);
}

fn md_rows(fields: &[Field], depth: usize, out: &mut String) {
    let mut scratch = String::new();
    for f in fields {
        out.push_str("| ");
        for _ in 0..depth {
            out.push_str("&nbsp;&nbsp;&nbsp;&nbsp;");
        }
        if depth > 0 {
            out.push_str("↳ ");
        }
        push_cell(out, &md_code(&f.key));
        if let Some(label) = &f.label {
            out.push(' ');
            scratch.clear();
            text_md(label, " / ", &mut scratch);
            push_cell(out, &scratch);
        }
        out.push_str(" | ");
        out.push_str(f.field_type.as_str());
        if f.multiple {
            out.push_str(" (list)");
        }
        out.push_str(" | ");
        if f.required {
            out.push_str("yes");
        } else if let Some(r) = &f.required_if {
            scratch.clear();
            md_inline(required_if(r).get("en"), &mut scratch);
            push_cell(out, &scratch);
        } else {
            out.push_str("no");
        }
        out.push_str(" | ");
        let mut parts = Parts { any: false };
        if let Some(help) = &f.help {
            scratch.clear();
            text_md(help, " / ", &mut scratch);
            parts.add(out, &scratch);
        }
        if f.user_input {
            parts.add(out, "filled in by the user");
        }
        if let Some(default) = &f.default {
            parts.add(out, &format!("default {}", md_code(&display_json(default))));
        }
        if let Some(placeholder) = &f.placeholder {
            scratch.clear();
            scratch.push_str("placeholder: ");
            text_md(placeholder, " / ", &mut scratch);
            parts.add(out, &scratch);
        }
        for (i, c) in f.choices.iter().enumerate() {
            scratch.clear();
            if i == 0 {
                scratch.push_str("choices: ");
            }
            scratch.push_str(&md_code(&display_json(&c.key)));
            scratch.push(' ');
            text_md(&c.label, " / ", &mut scratch);
            parts.add(out, &scratch);
        }
        if let Some(d) = &f.dynamic_choices {
            parts.add(
                out,
                &format!(
                    "choices from the output of {} (value {}, label {})",
                    md_code(&d.from),
                    md_code(&d.value),
                    md_code(&d.label)
                ),
            );
        }
        if let Some(c) = &f.constraints {
            for text in constraints(c) {
                scratch.clear();
                md_inline(text.get("en"), &mut scratch);
                parts.add(out, &scratch);
            }
            if let Some(message) = &c.message {
                scratch.clear();
                text_md(message, " / ", &mut scratch);
                parts.add(out, &scratch);
            }
        }
        out.push_str(" |\n");
        md_rows(&f.fields, depth + 1, out);
    }
}

/// The parts of a Markdown description cell, one per line.
struct Parts {
    any: bool,
}

impl Parts {
    fn add(&mut self, out: &mut String, part: &str) {
        if self.any {
            out.push_str("<br>");
        }
        push_cell(out, part);
        self.any = true;
    }
}

/// Appends `text` to a Markdown table cell: a `|` would end the cell.
fn push_cell(out: &mut String, text: &str) {
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        if b == b'|' {
            out.push_str(&text[start..i]);
            out.push_str("\\|");
            start = i + 1;
        }
    }
    out.push_str(&text[start..]);
}

pub fn both(en: String, zh: String) -> Text {
    let mut map = indexmap::IndexMap::with_capacity(2);
    map.insert("en".to_string(), en);
    map.insert("zh".to_string(), zh);
    Text::Localized(map)
}

/// "required when `bin` is set", in words.
pub fn required_if(r: &crate::model::RequiredIf) -> Text {
    match &r.equals {
        None => both(
            format!("required when `{}` is set", r.field),
            format!("填写 `{}` 时必填", r.field),
        ),
        Some(value) => both(
            format!("required when `{}` is `{}`", r.field, display_json(value)),
            format!("`{}` 为 `{}` 时必填", r.field, display_json(value)),
        ),
    }
}

/// A number as people write it: `50`, not `50.0`.
fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn range(min: Option<String>, max: Option<String>, unit_en: &str, unit_zh: &str) -> Option<Text> {
    Some(match (min, max) {
        (Some(a), Some(b)) if a == b => both(
            format!("exactly {a}{unit_en}"),
            format!("恰好 {a}{unit_zh}"),
        ),
        (Some(a), Some(b)) => both(
            format!("{a} to {b}{unit_en}"),
            format!("{a} 到 {b}{unit_zh}"),
        ),
        (Some(a), None) => both(
            format!("at least {a}{unit_en}"),
            format!("至少 {a}{unit_zh}"),
        ),
        (None, Some(b)) => both(
            format!("at most {b}{unit_en}"),
            format!("最多 {b}{unit_zh}"),
        ),
        (None, None) => return None,
    })
}

/// A field's constraints in words, one text each.
pub fn constraints(c: &crate::model::Constraints) -> Vec<Text> {
    let mut out = Vec::new();
    out.extend(range(c.min.map(number), c.max.map(number), "", ""));
    out.extend(range(
        c.min_length.map(|n| n.to_string()),
        c.max_length.map(|n| n.to_string()),
        " characters",
        " 个字符",
    ));
    out.extend(range(
        c.min_items.map(|n| n.to_string()),
        c.max_items.map(|n| n.to_string()),
        " items",
        " 项",
    ));
    if let Some(pattern) = &c.pattern {
        let code = md_code(pattern);
        out.push(both(format!("matches {code}"), format!("须匹配 {code}")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(given: &[(&str, &str)], languages: &[&str]) -> String {
        let languages: Vec<String> = languages.iter().map(|l| l.to_string()).collect();
        let mut out = String::new();
        text_html(given, &languages, &mut out);
        out
    }

    #[test]
    fn texts_show_per_language_with_english_fallback() {
        let langs = ["en", "zh", "zh-TW"];
        assert_eq!(
            html(&[("en", "Hello"), ("zh", "你好")], &langs),
            "<span lang=\"en\" data-l=\"en zh-TW\">Hello</span><span lang=\"zh\">你好</span>"
        );
        assert_eq!(
            html(&[("en", "Shopify"), ("zh", "Shopify")], &langs),
            "Shopify"
        );
        assert_eq!(html(&[("zh", "只有中文")], &langs), "只有中文");
        assert_eq!(html(&[("zh", "中文"), ("en", "<b>")], &["en"]), "&lt;b&gt;");
        assert_eq!(
            html(&[("", "plain `code`")], &langs),
            "plain <code>code</code>"
        );
    }

    #[test]
    fn numbers_read_as_written() {
        assert_eq!(number(50.0), "50");
        assert_eq!(number(-1.5), "-1.5");
    }

    #[test]
    fn constraints_in_words() {
        let c = crate::model::Constraints {
            min_items: Some(1),
            max_items: Some(500),
            max_length: Some(50),
            min: Some(0.0),
            ..Default::default()
        };
        let texts = constraints(&c);
        let words: Vec<&str> = texts.iter().map(|t| t.get("en")).collect();
        assert_eq!(
            words,
            ["at least 0", "at most 50 characters", "1 to 500 items"]
        );
    }
}

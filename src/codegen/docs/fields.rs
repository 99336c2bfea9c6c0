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

use super::text::{self, escape_html, html_inline, md_code, md_code_into, md_inline};
use crate::model::{Field, Text};
use std::hash::Hasher;

/// FNV-1a, for the maps of UI strings by key: for short keys much cheaper
/// than the default SipHash, and good enough for a fixed set of names.
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Maps with [`Fnv`] hashing.
pub type FnvBuild = std::hash::BuildHasherDefault<Fnv>;

/// What rendering texts needs: the site's languages and the page chrome's
/// words, already rendered.
pub struct Words {
    pub languages: Vec<String>,
    /// UI strings rendered as HTML (every language), by key.
    pub html: std::collections::HashMap<&'static str, String, FnvBuild>,
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
                // Texts have a few languages: no allocation for them.
                let mut few = [("", ""); 4];
                if map.len() <= few.len() {
                    for (slot, (l, t)) in few.iter_mut().zip(map) {
                        *slot = (l.as_str(), t.as_str());
                    }
                    text_html(&few[..map.len()], &self.languages, out);
                } else {
                    let given: Vec<(&str, &str)> =
                        map.iter().map(|(l, t)| (l.as_str(), t.as_str())).collect();
                    text_html(&given, &self.languages, out);
                }
            }
        }
    }

    /// A text in English and Chinese, as [`Words::html`] writes
    /// [`both`]`(en, zh)`.
    pub fn html_both(&self, en: &str, zh: &str, out: &mut String) {
        text_html(&[("en", en), ("zh", zh)], &self.languages, out);
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
    // The common case: a text in each of the site's languages, in the
    // site's order. Each language sees its own text, so no `data-l`.
    if given.len() == languages.len()
        && languages.len() <= 64
        && given
            .iter()
            .zip(languages)
            .all(|((l, _), s)| text::same_tag(l, s))
    {
        if given.iter().all(|(_, t)| *t == first.1) {
            html_inline(first.1, out);
            return;
        }
        for (lang, text) in given {
            out.push_str("<span lang=\"");
            push_tag(lang, out);
            out.push_str("\">");
            html_inline(text, out);
            out.push_str("</span>");
        }
        return;
    }
    let en = given.iter().position(|(l, _)| *l == "en");
    // Which site languages (as bits, at most 64) each given text serves.
    let mut few = [0u64; 8];
    let mut many = Vec::new();
    let shown: &mut [u64] = if given.len() <= few.len() {
        &mut few[..given.len()]
    } else {
        many.resize(given.len(), 0);
        &mut many
    };
    for (li, lang) in languages.iter().enumerate().take(64) {
        let gi = given
            .iter()
            .position(|(l, _)| *l == lang.as_str())
            .or(en)
            .unwrap_or(0);
        shown[gi] |= 1 << li;
    }
    let mut used = given.iter().zip(&*shown).filter(|(_, bits)| **bits != 0);
    let single = match used.next() {
        None => true,
        Some(((_, text), _)) => used.all(|((_, other), _)| other == text),
    };
    if single {
        let text = en.map_or(first.1, |i| given[i].1);
        html_inline(text, out);
        return;
    }
    for ((lang, text), bits) in given.iter().zip(&*shown) {
        if *bits == 0 {
            continue;
        }
        out.push_str("<span lang=\"");
        push_tag(lang, out);
        out.push('"');
        // `data-l` only when the text also stands in for other languages.
        let own = languages.iter().position(|l| l == lang).filter(|&i| i < 64);
        if own.is_none_or(|i| *bits != 1 << i) {
            out.push_str(" data-l=\"");
            let mut sep = "";
            for (li, l) in languages.iter().enumerate().take(64) {
                if bits & (1 << li) != 0 {
                    out.push_str(sep);
                    push_tag(l, out);
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

/// A language tag in an attribute: as it is when it is letters, digits and
/// `-` (a tag always is, in practice: checked without a call), else
/// escaped.
fn push_tag(tag: &str, out: &mut String) {
    if tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        out.push_str(tag);
    } else {
        escape_html(tag, out);
    }
}

/// A text's languages side by side for Markdown: distinct texts joined by
/// `sep`.
pub fn text_md(text: &Text, sep: &str, out: &mut String) {
    match text {
        Text::Plain(s) => md_inline(s, out),
        Text::Localized(map) => texts_md(map.values().map(String::as_str), sep, out),
    }
}

/// The languages' texts (in order) side by side: distinct ones joined by
/// `sep`.
pub fn texts_md<'t>(texts: impl Iterator<Item = &'t str> + Clone, sep: &str, out: &mut String) {
    for (i, t) in texts.clone().enumerate() {
        // Each distinct text once, where it first appears.
        if texts.clone().take(i).any(|earlier| earlier == t) {
            continue;
        }
        if i > 0 {
            out.push_str(sep);
        }
        md_inline(t, out);
    }
}

/// A JSON value as people read it: a string as itself, else compact JSON.
pub fn display_json(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Where a field table sits: anchors are `<prefix>-<path>`, `prefix` being
/// itself an anchor ([`text::anchor`]); dynamic choices link to
/// `(key, anchor)` of the connector's actions and triggers.
pub struct Place<'a> {
    pub prefix: &'a str,
    pub operations: &'a [(&'a str, String)],
}

/// The page chrome's words a field table uses, looked up once per table.
struct Chrome<'w> {
    words: &'w Words,
    required: &'w str,
    user_input: &'w str,
    list: &'w str,
    default: &'w str,
    placeholder: &'w str,
    choices_from: &'w str,
    constraints: &'w str,
}

/// The HTML table of `fields`.
pub fn html_table(fields: &[Field], place: &Place<'_>, words: &Words, out: &mut String) {
    // Room for the head and a typical row (about 500 bytes with two
    // languages) and some, so that the table is not copied as it grows.
    out.reserve(512 + 640 * rows(fields));
    out.push_str("<table class=\"fields\">\n");
    colgroup(out);
    out.push_str("<thead><tr><th scope=\"col\">");
    out.push_str(words.ui("field"));
    out.push_str("</th><th scope=\"col\">");
    out.push_str(words.ui("type"));
    out.push_str("</th><th scope=\"col\">");
    out.push_str(words.ui("details"));
    out.push_str("</th></tr></thead>\n<tbody>\n");
    let chrome = Chrome {
        words,
        required: words.ui("required"),
        user_input: words.ui("user_input"),
        list: words.ui("list"),
        default: words.ui("default"),
        placeholder: words.ui("placeholder"),
        choices_from: words.ui("choices_from"),
        constraints: words.ui("constraints"),
    };
    let mut path = String::new();
    html_rows(fields, &mut path, place, &chrome, out);
    out.push_str("</tbody>\n</table>\n");
}

/// How many rows `fields` make: one per field, nested ones included.
fn rows(fields: &[Field]) -> usize {
    fields.iter().map(|f| 1 + rows(&f.fields)).sum()
}

fn colgroup(out: &mut String) {
    out.push_str(
        "<colgroup><col class=\"c-field\"><col class=\"c-type\"><col class=\"c-details\"></colgroup>\n",
    );
}

/// The rows of `fields`, whose parent's dotted path is `path` (empty at
/// the top; restored on return).
fn html_rows(
    fields: &[Field],
    path: &mut String,
    place: &Place<'_>,
    chrome: &Chrome<'_>,
    out: &mut String,
) {
    let parent_len = path.len();
    let mut id = String::with_capacity(place.prefix.len() + path.len() + 32);
    for f in fields {
        path.truncate(parent_len);
        if parent_len > 0 {
            path.push('.');
        }
        path.push_str(&f.key);
        id.clear();
        id.push_str(place.prefix);
        id.push('-');
        text::anchor_into(&[path], &mut id);
        // The id is made of anchors, which have nothing to escape in HTML.
        out.push_str("<tr class=\"field");
        if !f.fields.is_empty() {
            out.push_str(" group");
        }
        out.push_str("\" id=\"");
        out.push_str(&id);
        out.push_str("\" data-path=\"");
        escape_html(path, out);
        out.push_str("\">\n<td class=\"f-key\"><a class=\"anchor\" href=\"#");
        out.push_str(&id);
        out.push_str("\" aria-label=\"link\">#</a><code>");
        escape_html(&f.key, out);
        out.push_str("</code>");
        if f.required {
            out.push_str(" <span class=\"badge badge-req\">");
            out.push_str(chrome.required);
            out.push_str("</span>");
        }
        if f.user_input {
            out.push_str(" <span class=\"badge\">");
            out.push_str(chrome.user_input);
            out.push_str("</span>");
        }
        if let Some(label) = &f.label {
            out.push_str("<div class=\"f-label\">");
            chrome.words.html(label, out);
            out.push_str("</div>");
        }
        out.push_str("</td>\n<td class=\"f-type\"><code>");
        out.push_str(f.field_type.as_str());
        out.push_str("</code>");
        if f.multiple {
            out.push_str(" <span class=\"badge badge-list\">");
            out.push_str(chrome.list);
            out.push_str("</span>");
        }
        out.push_str("</td>\n<td class=\"f-details\">");
        details_html(f, place, chrome, out);
        out.push_str("</td>\n</tr>\n");
        if !f.fields.is_empty() {
            out.push_str("<tr class=\"children\" data-parent=\"");
            out.push_str(&id);
            out.push_str("\">\n<td colspan=\"3\">\n<table class=\"fields nested\">\n");
            colgroup(out);
            out.push_str("<tbody>\n");
            html_rows(&f.fields, path, place, chrome, out);
            out.push_str("</tbody>\n</table>\n</td>\n</tr>\n");
        }
    }
    path.truncate(parent_len);
}

fn details_html(f: &Field, place: &Place<'_>, chrome: &Chrome<'_>, out: &mut String) {
    let words = chrome.words;
    if let Some(help) = &f.help {
        out.push_str("<p>");
        words.html(help, out);
        out.push_str("</p>");
    }
    if let Some(r) = &f.required_if {
        out.push_str("<p class=\"req-if\">");
        let (en, zh) = required_if_words(r);
        words.html_both(&en, &zh, out);
        out.push_str("</p>");
    }
    if let Some(default) = &f.default {
        out.push_str("<p><span class=\"k\">");
        out.push_str(chrome.default);
        out.push_str("</span> <code>");
        escape_json(default, out);
        out.push_str("</code></p>");
    }
    if let Some(placeholder) = &f.placeholder {
        out.push_str("<p><span class=\"k\">");
        out.push_str(chrome.placeholder);
        out.push_str("</span> ");
        words.html(placeholder, out);
        out.push_str("</p>");
    }
    if !f.choices.is_empty() {
        out.push_str("<ul class=\"choices\">");
        for c in &f.choices {
            out.push_str("<li><code>");
            escape_json(&c.key, out);
            out.push_str("</code> ");
            words.html(&c.label, out);
            out.push_str("</li>");
        }
        out.push_str("</ul>");
    }
    if let Some(d) = &f.dynamic_choices {
        out.push_str("<p><span class=\"k\">");
        out.push_str(chrome.choices_from);
        out.push_str("</span> ");
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
        let list = constraint_words(c);
        if !list.is_empty() {
            out.push_str("<p class=\"constraints\"><span class=\"k\">");
            out.push_str(chrome.constraints);
            out.push_str("</span> ");
            for (i, (en, zh)) in list.iter().enumerate() {
                if i > 0 {
                    out.push_str("; ");
                }
                words.html_both(en, zh, out);
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

/// [`display_json`] of `value`, HTML-escaped, appended to `out`.
fn escape_json(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::String(s) => escape_html(s, out),
        other => escape_html(&other.to_string(), out),
    }
}

/// [`display_json`] of `value` as a Markdown code span, appended to `out`.
fn md_code_json(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::String(s) => md_code_into(s, out),
        other => md_code_into(&other.to_string(), out),
    }
}

/// The Markdown table of `fields`.
pub fn md_table(fields: &[Field], out: &mut String) {
    out.reserve(128 + 96 * rows(fields));
    out.push_str(
        "| field | type | required | description |\n| ----- | ---- | -------- | ----------- |\n",
    );
    md_rows(fields, 0, out);
}

fn md_rows(fields: &[Field], depth: usize, out: &mut String) {
    for f in fields {
        out.push_str("| ");
        for _ in 0..depth {
            out.push_str("&nbsp;&nbsp;&nbsp;&nbsp;");
        }
        if depth > 0 {
            out.push_str("↳ ");
        }
        cell(out, |out| md_code_into(&f.key, out));
        if let Some(label) = &f.label {
            out.push(' ');
            cell(out, |out| text_md(label, " / ", out));
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
            cell(out, |out| md_inline(&required_if_words(r).0, out));
        } else {
            out.push_str("no");
        }
        out.push_str(" | ");
        let mut parts = Parts { any: false };
        if let Some(help) = &f.help {
            parts.add(out, |out| text_md(help, " / ", out));
        }
        if f.user_input {
            parts.add(out, |out| out.push_str("filled in by the user"));
        }
        if let Some(default) = &f.default {
            parts.add(out, |out| {
                out.push_str("default ");
                md_code_json(default, out);
            });
        }
        if let Some(placeholder) = &f.placeholder {
            parts.add(out, |out| {
                out.push_str("placeholder: ");
                text_md(placeholder, " / ", out);
            });
        }
        for (i, c) in f.choices.iter().enumerate() {
            parts.add(out, |out| {
                if i == 0 {
                    out.push_str("choices: ");
                }
                md_code_json(&c.key, out);
                out.push(' ');
                text_md(&c.label, " / ", out);
            });
        }
        if let Some(d) = &f.dynamic_choices {
            parts.add(out, |out| {
                out.push_str("choices from the output of ");
                md_code_into(&d.from, out);
                out.push_str(" (value ");
                md_code_into(&d.value, out);
                out.push_str(", label ");
                md_code_into(&d.label, out);
                out.push(')');
            });
        }
        if let Some(c) = &f.constraints {
            for (en, _) in constraint_words(c) {
                parts.add(out, |out| md_inline(&en, out));
            }
            if let Some(message) = &c.message {
                parts.add(out, |out| text_md(message, " / ", out));
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
    fn add(&mut self, out: &mut String, write: impl FnOnce(&mut String)) {
        if self.any {
            out.push_str("<br>");
        }
        cell(out, write);
        self.any = true;
    }
}

/// Appends what `write` writes to a Markdown table cell: a `|` would end
/// the cell. Written in place, and looked at after: few texts have a `|`,
/// and only theirs are written again, escaped.
fn cell(out: &mut String, write: impl FnOnce(&mut String)) {
    let start = out.len();
    write(out);
    if memchr::memchr(b'|', &out.as_bytes()[start..]).is_some() {
        let written = out.split_off(start);
        push_cell(out, &written);
    }
}

/// Appends `text` to a Markdown table cell, each `|` escaped.
fn push_cell(out: &mut String, text: &str) {
    let mut start = 0;
    for i in memchr::memchr_iter(b'|', text.as_bytes()) {
        out.push_str(&text[start..i]);
        out.push_str("\\|");
        start = i + 1;
    }
    out.push_str(&text[start..]);
}

pub fn both(en: String, zh: String) -> Text {
    let mut map = crate::model::Texts::with_capacity(2);
    map.insert("en".to_string(), en);
    map.insert("zh".to_string(), zh);
    Text::Localized(map)
}

/// "required when `bin` is set", in words.
pub fn required_if(r: &crate::model::RequiredIf) -> Text {
    let (en, zh) = required_if_words(r);
    both(en, zh)
}

/// [`required_if`] as (English, Chinese).
fn required_if_words(r: &crate::model::RequiredIf) -> (String, String) {
    match &r.equals {
        None => (
            format!("required when `{}` is set", r.field),
            format!("填写 `{}` 时必填", r.field),
        ),
        Some(value) => (
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

fn range(
    min: Option<String>,
    max: Option<String>,
    unit_en: &str,
    unit_zh: &str,
) -> Option<(String, String)> {
    Some(match (min, max) {
        (Some(a), Some(b)) if a == b => (
            format!("exactly {a}{unit_en}"),
            format!("恰好 {a}{unit_zh}"),
        ),
        (Some(a), Some(b)) => (
            format!("{a} to {b}{unit_en}"),
            format!("{a} 到 {b}{unit_zh}"),
        ),
        (Some(a), None) => (
            format!("at least {a}{unit_en}"),
            format!("至少 {a}{unit_zh}"),
        ),
        (None, Some(b)) => (
            format!("at most {b}{unit_en}"),
            format!("最多 {b}{unit_zh}"),
        ),
        (None, None) => return None,
    })
}

/// A field's constraints in words, one text each.
pub fn constraints(c: &crate::model::Constraints) -> Vec<Text> {
    constraint_words(c)
        .into_iter()
        .map(|(en, zh)| both(en, zh))
        .collect()
}

/// [`constraints`] as (English, Chinese) pairs.
fn constraint_words(c: &crate::model::Constraints) -> Vec<(String, String)> {
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
        out.push((format!("matches {code}"), format!("须匹配 {code}")));
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
        // A tag that is not one is escaped, as every attribute is.
        assert_eq!(
            html(&[("en", "A"), ("x\"y", "B")], &["en", "x\"y"]),
            "<span lang=\"en\">A</span><span lang=\"x&quot;y\">B</span>"
        );
        assert_eq!(
            html(&[("en", "A"), ("zh", "B")], &["en", "zh", "q\""]),
            "<span lang=\"en\" data-l=\"en q&quot;\">A</span><span lang=\"zh\">B</span>"
        );
    }

    #[test]
    fn markdown_cells_escape_pipes() {
        let fields: Vec<Field> = serde_json::from_value(serde_json::json!([
            {
                "key": "a|b",
                "type": "string",
                "label": "L|1",
                "help": {"en": "x | y", "zh": "z"},
                "default": "d|",
                "choices": [{"key": "c|", "label": "C|"}, {"key": 2, "label": "two"}],
                "user_input": true,
                "fields": [{"key": "n", "type": "integer", "required": true, "label": "N"}]
            },
            {"key": "p", "type": "string", "required_if": {"field": "a|b"}}
        ]))
        .unwrap();
        let mut out = String::new();
        md_table(&fields, &mut out);
        assert_eq!(
            out,
            "| field | type | required | description |\n\
             | ----- | ---- | -------- | ----------- |\n\
             | `a\\|b` L\\|1 | string | no | x \\| y / z<br>filled in by the user<br>\
             default `d\\|`<br>choices: `c\\|` C\\|<br>`2` two |\n\
             | &nbsp;&nbsp;&nbsp;&nbsp;↳ `n` N | integer | yes |  |\n\
             | `p` | string | required when `a\\|b` is set |  |\n"
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

//! Diagnostic renderers, one per output format. The human format shows the
//! source line with carets; `json` is for tools; `github` emits workflow
//! commands so errors appear on the pull request's lines.

use std::fmt::Write as _;

use serde::Serialize;

use crate::diagnostic::{Diagnostic, Severity};
use crate::source::{Sources, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Source excerpts with carets, for people.
    #[default]
    Human,
    /// One JSON document with every diagnostic, for tools.
    Json,
    /// GitHub Actions workflow commands (`::error file=...`).
    Github,
}

/// A position for output: 1-based line and column (characters).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Position {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

pub fn position(sources: &Sources, span: Span) -> Position {
    let file = sources.get(span.file);
    let (line, column) = file.line_col(span.start as usize);
    let (end_line, end_column) = file.line_col(span.end as usize);
    Position {
        path: display_path(&file.path),
        line,
        column,
        end_line,
        end_column,
    }
}

/// Paths are shown with `/` on every platform so output is stable.
pub fn display_path(path: &std::path::Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// Renders diagnostics for people. `color` adds ANSI colours.
pub fn human(sources: &Sources, diagnostics: &[Diagnostic], color: bool) -> String {
    let mut out = String::new();
    for d in diagnostics {
        human_one(&mut out, sources, d, color);
        out.push('\n');
    }
    out
}

fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn human_one(out: &mut String, sources: &Sources, d: &Diagnostic, color: bool) {
    let (label, tint) = match d.severity {
        Severity::Error => ("error", "1;31"),
        Severity::Warning => ("warning", "1;33"),
    };
    let _ = writeln!(
        out,
        "{}{} {}",
        paint(color, tint, &format!("{label}[{}]", d.code)),
        paint(color, "1", ":"),
        paint(color, "1", &d.message)
    );
    if let Some(span) = d.span {
        excerpt(out, sources, span, None, color, tint);
    }
    if let Some((span, note)) = &d.related {
        excerpt(out, sources, *span, Some(note), color, "1;34");
    }
    if let Some(help) = &d.help {
        // Align `= help:` under the excerpt's gutter bar, as rustc does.
        let gutter = d
            .span
            .map(|s| position(sources, s).line.to_string().len())
            .unwrap_or(0);
        let pad = " ".repeat(gutter + 1);
        let mut lines = help.lines();
        if let Some(first) = lines.next() {
            let _ = writeln!(out, "{pad}{} {first}", paint(color, "1;36", "= help:"));
        }
        for line in lines {
            let _ = writeln!(out, "{pad}        {line}");
        }
    }
}

fn excerpt(
    out: &mut String,
    sources: &Sources,
    span: Span,
    note: Option<&String>,
    color: bool,
    tint: &str,
) {
    let file = sources.get(span.file);
    let pos = position(sources, span);
    let gutter = pos.line.to_string().len();
    let pad = " ".repeat(gutter);
    let _ = writeln!(
        out,
        "{pad}{} {}:{}:{}",
        paint(color, "1;34", "-->"),
        pos.path,
        pos.line,
        pos.column
    );
    let text = file.line_text(pos.line);
    if text.is_empty() && file.text.is_empty() {
        return;
    }
    let bar = paint(color, "1;34", "|");
    let _ = writeln!(out, "{pad} {bar}");
    // Long lines (minified YAML) are cut around the caret.
    let chars: Vec<char> = text.chars().collect();
    let start_col = pos.column.saturating_sub(1).min(chars.len());
    let (window_start, window_end) = if chars.len() <= 160 {
        (0, chars.len())
    } else {
        (
            start_col.saturating_sub(60),
            (start_col + 100).min(chars.len()),
        )
    };
    let shown: String = chars[window_start..window_end].iter().collect();
    let prefix = if window_start > 0 { "…" } else { "" };
    let _ = writeln!(
        out,
        "{} {bar} {prefix}{}",
        paint(color, "1;34", &pos.line.to_string()),
        shown.replace('\t', " ")
    );
    let width = if pos.end_line == pos.line {
        pos.end_column.saturating_sub(pos.column).max(1)
    } else {
        chars.len().saturating_sub(start_col).max(1)
    }
    .min(window_end.saturating_sub(start_col).max(1));
    let indent = " ".repeat(start_col - window_start + prefix.chars().count());
    let carets = paint(color, tint, &"^".repeat(width));
    match note {
        Some(note) => {
            let _ = writeln!(out, "{pad} {bar} {indent}{carets} {note}");
        }
        None => {
            let _ = writeln!(out, "{pad} {bar} {indent}{carets}");
        }
    }
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'static str,
    name: &'static str,
    severity: Severity,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<Position>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pointer: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    related: Option<JsonRelated<'a>>,
}

#[derive(Serialize)]
struct JsonRelated<'a> {
    location: Position,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    diagnostics: Vec<JsonDiagnostic<'a>>,
    summary: Summary,
}

/// Counts for the end of a report.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Summary {
    pub connectors: usize,
    pub files: usize,
    pub errors: usize,
    pub warnings: usize,
}

/// The JSON report: `{"diagnostics": [...], "summary": {...}}`.
pub fn json(sources: &Sources, diagnostics: &[Diagnostic], summary: Summary) -> String {
    let report = JsonReport {
        diagnostics: diagnostics
            .iter()
            .map(|d| JsonDiagnostic {
                code: d.code.as_str(),
                name: d.code.name(),
                severity: d.severity,
                message: &d.message,
                location: d.span.map(|s| position(sources, s)),
                pointer: d.pointer.as_deref(),
                help: d.help.as_deref(),
                related: d.related.as_ref().map(|(span, message)| JsonRelated {
                    location: position(sources, *span),
                    message,
                }),
            })
            .collect(),
        summary,
    };
    let mut text = serde_json::to_string_pretty(&report).expect("diagnostics serialize");
    text.push('\n');
    text
}

/// GitHub workflow commands, one line per diagnostic.
pub fn github(sources: &Sources, diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        let title = format!("{} {}", d.code, d.code.name());
        match d.span {
            Some(span) => {
                let p = position(sources, span);
                let _ = writeln!(
                    out,
                    "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}",
                    escape_property(&p.path),
                    p.line,
                    p.column,
                    p.end_line,
                    p.end_column,
                    escape_property(&title),
                    escape_data(&message)
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "::{level} title={}::{}",
                    escape_property(&title),
                    escape_data(&message)
                );
            }
        }
    }
    out
}

/// Escaping rules of GitHub workflow commands.
pub(crate) fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

pub(crate) fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_escapes_newlines_and_separators() {
        assert_eq!(escape_data("a\nb%"), "a%0Ab%25");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}

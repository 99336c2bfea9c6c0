//! Diagnostics are data: a rule code, a severity, a message, where, and how
//! to fix it. Rendering (human, JSON, GitHub annotations) lives in
//! [`crate::render`]; the data never knows about colour or format.

use serde::Serialize;

use crate::codes::Code;
use crate::source::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem found in the specs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    /// Lowercase, names in backticks: what is wrong.
    pub message: String,
    /// The offending YAML node (or file start, for whole-file problems).
    pub span: Option<Span>,
    /// Where in the document, as a JSON Pointer (`/actions/0/key`).
    pub pointer: Option<String>,
    /// How to fix it.
    pub help: Option<String>,
    /// A second place that matters (e.g. the first definition of a duplicate).
    pub related: Option<(Span, String)>,
}

impl Diagnostic {
    pub fn new(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.default_severity(),
            message: message.into(),
            span: None,
            pointer: None,
            help: None,
            related: None,
        }
    }

    pub fn at(mut self, span: Span) -> Diagnostic {
        self.span = Some(span);
        self
    }

    pub fn at_pointer(mut self, pointer: impl Into<String>) -> Diagnostic {
        self.pointer = Some(pointer.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn related(mut self, span: Span, note: impl Into<String>) -> Diagnostic {
        self.related = Some((span, note.into()));
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Sort key giving the same report order on every machine: file, position,
/// then code and message.
pub fn sort(diagnostics: &mut [Diagnostic], path_of: impl Fn(&Diagnostic) -> String) {
    diagnostics.sort_by(|a, b| {
        let ka = (
            path_of(a),
            a.span.map(|s| (s.start, s.end)),
            a.code,
            &a.message,
        );
        let kb = (
            path_of(b),
            b.span.map(|s| (s.start, s.end)),
            b.code,
            &b.message,
        );
        ka.cmp(&kb)
    });
}

/// Suggests the closest candidate for a misspelt name, if one is close.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let keys = ["error_message", "error_code", "success_when"];
        assert_eq!(did_you_mean("erorr_message", keys), Some("error_message"));
        assert_eq!(did_you_mean("zzz", keys), None);
    }
}

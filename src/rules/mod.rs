//! Semantic rules: everything the JSON Schema cannot say. Each rule has a
//! stable code in [`crate::codes`]; all of them run on every `spec validate`,
//! so nothing is first discovered at build or run time.
//!
//! Rules work on the typed model and report at JSON Pointers, which the
//! located YAML tree turns into file:line:col.

mod cases;
mod credentials;
mod fields;
mod ids;
mod samples;
mod templates;

pub use ids::Identity;

use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::model::Connector;
use crate::yaml::Node;

/// One connector that passed the schema and was modeled.
pub struct Subject<'a> {
    pub root: &'a Node,
    pub model: &'a Connector,
}

/// Collects diagnostics for one connector, locating pointers in its tree.
pub(crate) struct Reporter<'a> {
    pub root: &'a Node,
    pub out: &'a mut Vec<Diagnostic>,
}

impl Reporter<'_> {
    /// Reports a problem with the value at `pointer`.
    pub fn value(&mut self, code: Code, pointer: &str, message: String, help: Option<String>) {
        let mut d = Diagnostic::new(code, message)
            .at(self.root.value_span(pointer))
            .at_pointer(pointer);
        d.help = help;
        self.out.push(d);
    }

    /// Reports a problem with `needle` inside the string at `pointer`:
    /// the caret lands on the needle when the scalar is written plainly
    /// (no escapes), else on the whole value.
    pub fn within(
        &mut self,
        code: Code,
        pointer: &str,
        needle: &str,
        message: String,
        help: Option<String>,
    ) {
        let span = self
            .root
            .lookup(pointer)
            .and_then(|(node, _)| node.sub_span(needle))
            .unwrap_or_else(|| self.root.value_span(pointer));
        let mut d = Diagnostic::new(code, message).at(span).at_pointer(pointer);
        d.help = help;
        self.out.push(d);
    }

    /// Reports a problem with the key at `pointer` (duplicates).
    pub fn key(&mut self, code: Code, pointer: &str, message: String, help: Option<String>) {
        let mut d = Diagnostic::new(code, message)
            .at(self.root.key_span(pointer))
            .at_pointer(pointer);
        d.help = help;
        self.out.push(d);
    }
}

/// Runs every rule over `subjects` (all connectors of the run, for the
/// cross-connector uniqueness rules).
pub fn check(subjects: &[Subject<'_>]) -> Vec<Diagnostic> {
    let identities: Vec<Identity> = subjects
        .iter()
        .map(|s| Identity::of(s.root, s.model))
        .collect();
    let mut out = check_across(&identities);
    for subject in subjects {
        out.extend(check_connector(subject.root, subject.model));
    }
    out
}

/// The rules that look at one connector alone. With [`Identity::of`] and
/// [`check_across`], the same diagnostics as [`check`], for a caller that
/// checks connectors one at a time (in parallel) and drops each located
/// tree as soon as it is done.
pub fn check_connector(root: &Node, model: &Connector) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut reporter = Reporter {
        root,
        out: &mut out,
    };
    ids::check_keys(model, &mut reporter);
    fields::check(model, &mut reporter);
    templates::check(model, &mut reporter);
    samples::check(model, &mut reporter);
    cases::check(model, &mut reporter);
    credentials::check(root, model, &mut reporter);
    out
}

/// The rules across connectors (unique app ids and keys, unique action
/// and trigger ids), in path order.
pub fn check_across(identities: &[Identity]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    ids::check_across(identities, &mut out);
    out
}

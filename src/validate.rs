//! The validation pipeline: load -> schema -> model -> semantic rules.
//!
//! Every stage reports all of its problems; a connector that fails the
//! schema is not modeled (its later diagnostics would only repeat the
//! schema's), but every other connector still goes through every rule.

use std::path::{Path, PathBuf};

use crate::diagnostic::{self, Diagnostic};
use crate::load::{self, LoadError};
use crate::model::Connector;
use crate::rules;
use crate::schema;
use crate::source::{FileId, Sources};
use crate::yaml::Node;
use crate::{codes::Code, diagnostic::Severity};

/// A connector that passed the schema and deserialized into the model.
#[derive(Debug)]
pub struct ModeledConnector {
    pub path: PathBuf,
    pub main_file: FileId,
    pub root: Node,
    pub model: Connector,
}

/// The outcome of validating a set of paths.
#[derive(Debug)]
pub struct Project {
    pub sources: Sources,
    /// Connectors that were modeled, in path order. Those with diagnostics
    /// are included; check [`Project::has_errors`] before using them.
    pub connectors: Vec<ModeledConnector>,
    /// Sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// How many connectors were found (modeled or not).
    pub connectors_found: usize,
}

impl Project {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    }

    pub fn path_of(&self, diagnostic: &Diagnostic) -> Option<&Path> {
        diagnostic.span.map(|s| self.sources.path(s.file))
    }
}

/// Validates every connector under `paths`.
pub fn validate(paths: &[PathBuf]) -> Result<Project, LoadError> {
    let loaded = load::load(paths)?;
    let mut diagnostics = loaded.diagnostics;
    let connectors_found = loaded.connectors.len();
    let mut modeled = Vec::new();
    for raw in loaded.connectors {
        let json = raw.root.to_json();
        let schema_diagnostics = schema::check(&raw.root, &json);
        if !schema_diagnostics.is_empty() {
            diagnostics.extend(schema_diagnostics);
            continue;
        }
        match serde_path_to_error::deserialize::<_, Connector>(json) {
            Ok(model) => modeled.push(ModeledConnector {
                path: raw.path,
                main_file: raw.main_file,
                root: raw.root,
                model,
            }),
            Err(error) => {
                let pointer = path_to_pointer(&error.path().to_string());
                let inner = error.inner().to_string();
                // JSON Schema counts `1.0` as an integer; serde does not. That
                // is the user's wrong type, not a schema/model disagreement.
                if let Some(found) = inner
                    .strip_prefix("invalid type: floating point `")
                    .and_then(|rest| rest.split('`').next())
                {
                    diagnostics.push(
                        Diagnostic::new(
                            Code::WrongType,
                            format!(
                                "{}: expected a whole number written without a decimal point, found `{found}`",
                                schema::display_pointer(&pointer)
                            ),
                        )
                        .at(raw.root.value_span(&pointer))
                        .at_pointer(pointer)
                        .help("write ids and counts as integers, e.g. `1` rather than `1.0`"),
                    );
                    continue;
                }
                diagnostics.push(
                    Diagnostic::new(
                        Code::ModelMismatch,
                        format!(
                            "the spec passed the schema but not the model: {}",
                            error.inner()
                        ),
                    )
                    .at(raw.root.value_span(&pointer))
                    .at_pointer(pointer)
                    .help("this is a bug in `spec`; please report it with this spec"),
                );
            }
        }
    }
    let subjects: Vec<rules::Subject<'_>> = modeled
        .iter()
        .map(|c| rules::Subject {
            root: &c.root,
            model: &c.model,
        })
        .collect();
    diagnostics.extend(rules::check(&subjects));
    let sources = loaded.sources;
    diagnostic::sort(&mut diagnostics, |d| {
        d.span
            .map(|s| sources.path(s.file).to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    diagnostics.dedup();
    Ok(Project {
        sources,
        connectors: modeled,
        diagnostics,
        connectors_found,
    })
}

/// serde_path_to_error paths (`actions[0].request.method`) to JSON Pointer.
fn path_to_pointer(path: &str) -> String {
    if path == "." {
        return String::new();
    }
    let mut pointer = String::new();
    for part in path.split('.') {
        let (name, indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            pointer.push('/');
            pointer.push_str(&crate::yaml::pointer_token(name));
        }
        for index in indexes.split(['[', ']']).filter(|s| !s.is_empty()) {
            pointer.push('/');
            pointer.push_str(index);
        }
    }
    pointer
}

#[cfg(test)]
mod tests {
    use super::path_to_pointer;

    #[test]
    fn serde_paths_become_pointers() {
        assert_eq!(
            path_to_pointer("actions[0].request.method"),
            "/actions/0/request/method"
        );
        assert_eq!(path_to_pointer("."), "");
    }
}

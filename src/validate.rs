//! The validation pipeline: load -> schema -> model -> semantic rules.
//!
//! Every stage reports all of its problems; a connector that fails the
//! schema is not modeled (its later diagnostics would only repeat the
//! schema's), but every other connector still goes through every rule.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Deserialize as _;

use crate::diagnostic::{self, Diagnostic};
use crate::load::{self, LoadError, Unit};
use crate::model::Connector;
use crate::rules;
use crate::schema;
use crate::source::{FileId, Sources};
use crate::yaml::Node;
use crate::{codes::Code, diagnostic::Severity};

/// A connector that passed the schema and deserialized into the model.
/// (Its located YAML tree is dropped once its rules have run: the model is
/// what later stages use.)
#[derive(Debug)]
pub struct ModeledConnector {
    pub path: PathBuf,
    pub main_file: FileId,
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

/// Stack for the validation threads: deserializing the model and the
/// schema check recurse once or twice per YAML level (at most
/// [`crate::yaml::MAX_DEPTH`]).
pub(crate) const WORKER_STACK_BYTES: usize = 16 * 1024 * 1024;

/// Validates every connector under `paths`.
///
/// Each connector is loaded, checked against the schema, modeled and run
/// through the rules that concern it alone on one of a few threads (one
/// per core), and its located tree is dropped right after. The results are
/// then merged in path order, so the output does not depend on threads.
pub fn validate(paths: &[PathBuf]) -> Result<Project, LoadError> {
    let options = Options {
        keep_models: true,
        keep_texts: true,
    };
    validate_with(paths, options, &|_| (), &mut |()| {})
}

/// What [`validate_with`] keeps once a connector is checked.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Keep every model in [`Project::connectors`]; else it is empty.
    pub keep_models: bool,
    /// Keep the text of every file; else only the files that diagnostics
    /// point into keep theirs ([`Sources::reload`]), so that memory does not
    /// grow with the corpus.
    pub keep_texts: bool,
}

/// A connector checked on a worker thread, handed to [`validate_with`]'s
/// `each`.
pub struct Checked<'a> {
    /// The unit's position in path order.
    pub index: usize,
    /// Where the connector was read from (to read it again).
    pub unit: &'a Unit,
    pub connector: &'a ModeledConnector,
    /// The unit's own files (file ids count from 0).
    pub sources: &'a Sources,
    /// No error was found in this connector alone (the rules across
    /// connectors run at the end).
    pub clean: bool,
}

/// [`validate`], handing each modeled connector to `each` on the worker
/// thread that checked it, right after its rules; what `each` returns is
/// handed to `done` on the calling thread, in path order. A streamed build
/// generates each connector's files in `each` and keeps only what `done`
/// needs, so that nothing grows with the corpus but small summaries.
pub fn validate_with<T: Send>(
    paths: &[PathBuf],
    options: Options,
    each: &(dyn Fn(Checked<'_>) -> T + Sync),
    done: &mut dyn FnMut(T),
) -> Result<Project, LoadError> {
    let units = load::units(paths)?;
    let mut sources = Sources::default();
    let mut load_diagnostics = Vec::new();
    let mut model_diagnostics = Vec::new();
    let mut rule_diagnostics = Vec::new();
    let mut identities = Vec::new();
    let mut connectors = Vec::new();
    let mut connectors_found = 0;
    check_units(&units, each, &mut |checked| {
        let (mut checked, output) = checked?;
        if !options.keep_texts
            && checked.load.is_empty()
            && checked.model.is_empty()
            && checked.rules.is_empty()
        {
            checked.sources.forget_texts();
        }
        let base = sources.append(checked.sources);
        let shift = |mut d: Diagnostic| {
            if let Some(span) = &mut d.span {
                span.file.0 += base;
            }
            if let Some((span, _)) = &mut d.related {
                span.file.0 += base;
            }
            d
        };
        load_diagnostics.extend(checked.load.into_iter().map(shift));
        model_diagnostics.extend(checked.model.into_iter().map(shift));
        rule_diagnostics.extend(checked.rules.into_iter().map(shift));
        connectors_found += usize::from(checked.found);
        if let Some(mut connector) = checked.modeled.filter(|_| options.keep_models) {
            connector.main_file.0 += base;
            connectors.push(connector);
        }
        if let Some(mut identity) = checked.identity {
            identity.shift_files(base);
            identities.push(identity);
        }
        if let Some(output) = output {
            done(output);
        }
        Ok(())
    })?;
    let mut diagnostics = load_diagnostics;
    diagnostics.extend(model_diagnostics);
    diagnostics.extend(rules::check_across(&identities));
    diagnostics.extend(rule_diagnostics);
    for d in &diagnostics {
        for span in d.span.iter().chain(d.related.as_ref().map(|(s, _)| s)) {
            sources.reload(span.file);
        }
    }
    diagnostic::sort(&mut diagnostics, |d| {
        d.span
            .map(|s| sources.path(s.file).to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    diagnostics.dedup();
    Ok(Project {
        sources,
        connectors,
        diagnostics,
        connectors_found,
    })
}

/// One unit, checked on its own; file ids count from 0 in `sources`.
#[derive(Default)]
struct CheckedUnit {
    sources: Sources,
    /// Whether a connector was found (parsed), modeled or not.
    found: bool,
    /// Problems reading and parsing the files.
    load: Vec<Diagnostic>,
    /// Schema and model problems.
    model: Vec<Diagnostic>,
    /// Problems found by the rules that look at this connector alone.
    rules: Vec<Diagnostic>,
    modeled: Option<ModeledConnector>,
    identity: Option<rules::Identity>,
}

type Outcome<T> = Result<(CheckedUnit, Option<T>), LoadError>;

/// [`check_unit`] then `each` for every unit, on as many threads as there
/// are cores; `done` sees the outcomes in unit order, each as soon as
/// those before it are done (so only the few that finished early wait in
/// memory). Stops at the first error of `done`.
fn check_units<T: Send>(
    units: &[Unit],
    each: &(dyn Fn(Checked<'_>) -> T + Sync),
    done: &mut dyn FnMut(Outcome<T>) -> Result<(), LoadError>,
) -> Result<(), LoadError> {
    let check = |i: usize, unit: &Unit| -> Outcome<T> {
        let checked = check_unit(unit)?;
        let output = checked.modeled.as_ref().map(|connector| {
            each(Checked {
                index: i,
                unit,
                connector,
                sources: &checked.sources,
                clean: ![&checked.load, &checked.model, &checked.rules]
                    .iter()
                    .any(|ds| ds.iter().any(Diagnostic::is_error)),
            })
        });
        Ok((checked, output))
    };
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(units.len());
    if workers <= 1 {
        return units
            .iter()
            .enumerate()
            .try_for_each(|(i, unit)| done(check(i, unit)));
    }
    let next = AtomicUsize::new(0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (send, received) = std::sync::mpsc::channel::<(usize, Outcome<T>)>();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let send = send.clone();
                let (next, stop, check) = (&next, &stop, &check);
                std::thread::Builder::new()
                    .name("spec-validate".into())
                    .stack_size(WORKER_STACK_BYTES)
                    .spawn_scoped(scope, move || {
                        while !stop.load(Ordering::Relaxed) {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(unit) = units.get(i) else {
                                break;
                            };
                            if send.send((i, check(i, unit))).is_err() {
                                break;
                            }
                        }
                    })
                    .expect("spawning a validation thread")
            })
            .collect();
        drop(send);
        // Outcomes that arrived before one ahead of them.
        let mut waiting = std::collections::BTreeMap::new();
        let mut expected = 0;
        let mut result = Ok(());
        for (i, outcome) in received.iter() {
            waiting.insert(i, outcome);
            while let Some(outcome) = waiting.remove(&expected) {
                expected += 1;
                if result.is_ok() {
                    result = done(outcome);
                }
            }
            if result.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
        }
        for handle in handles {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
        result
    })
}

/// Loads one unit, checks it against the schema, models it and runs the
/// per-connector rules.
fn check_unit(unit: &Unit) -> Result<CheckedUnit, LoadError> {
    let mut checked = CheckedUnit::default();
    let loaded = load::load_unit(unit, &mut checked.sources)?;
    checked.load = loaded.diagnostics;
    let Some(raw) = loaded.connector else {
        return Ok(checked);
    };
    checked.found = true;
    match model(&raw.root) {
        Ok(model) => {
            checked.rules = rules::check_connector(&raw.root, &model);
            checked.identity = Some(rules::Identity::of(&raw.root, &model));
            checked.modeled = Some(ModeledConnector {
                path: raw.path,
                main_file: raw.main_file,
                model,
            });
        }
        Err(diagnostics) => checked.model = diagnostics,
    }
    Ok(checked)
}

/// The schema check, then the model; the diagnostics of the first that
/// fails.
pub(crate) fn model(root: &Node) -> Result<Connector, Vec<Diagnostic>> {
    let schema_diagnostics = schema::check(root);
    if !schema_diagnostics.is_empty() {
        return Err(schema_diagnostics);
    }
    // Straight from the tree and without path tracking first: several
    // times cheaper, and a spec that passed the schema nearly always fits
    // the model. Only a misfit is deserialized again, from its JSON and
    // tracking the path, for the diagnostic.
    if let Ok(model) = Connector::deserialize(root) {
        return Ok(model);
    }
    serde_path_to_error::deserialize::<_, Connector>(root.to_json()).map_err(|error| {
        let pointer = path_to_pointer(&error.path().to_string());
        let inner = error.inner().to_string();
        // JSON Schema counts `1.0` as an integer; serde does not. That
        // is the user's wrong type, not a schema/model disagreement.
        if let Some(found) = inner
            .strip_prefix("invalid type: floating point `")
            .and_then(|rest| rest.split('`').next())
        {
            return vec![
                Diagnostic::new(
                    Code::WrongType,
                    format!(
                        "{}: expected a whole number written without a decimal point, found `{found}`",
                        schema::display_pointer(&pointer)
                    ),
                )
                .at(root.value_span(&pointer))
                .at_pointer(pointer)
                .help("write ids and counts as integers, e.g. `1` rather than `1.0`"),
            ];
        }
        vec![
            Diagnostic::new(
                Code::ModelMismatch,
                format!(
                    "the spec passed the schema but not the model: {}",
                    error.inner()
                ),
            )
            .at(root.value_span(&pointer))
            .at_pointer(pointer)
            .help("this is a bug in `spec`; please report it with this spec"),
        ]
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
    use crate::model::Connector;
    use crate::source::FileId;
    use crate::yaml::{Key, Node, Value};
    use proptest::prelude::*;
    use serde::Deserialize as _;

    /// Those that parse, parsed once per test run.
    fn parsed() -> &'static [(std::path::PathBuf, Node)] {
        static PARSED: std::sync::OnceLock<Vec<(std::path::PathBuf, Node)>> =
            std::sync::OnceLock::new();
        PARSED.get_or_init(|| {
            crate::yaml::yaml_files_under(&["specs", "tests/fixtures"])
                .into_iter()
                .filter_map(|(path, text)| Some((path, crate::yaml::parse(FileId(0), &text).ok()?)))
                .collect()
        })
    }

    /// The model and the schema read the tree itself; they must answer
    /// exactly as on its JSON value (which diagnostics are made from).
    fn assert_tree_reads_as_json(root: &Node, what: &str) {
        let (on_tree, on_json) = crate::schema::validity_on_tree_and_json(root);
        assert_eq!(on_tree, on_json, "schema validity of {what}");
        let from_tree = Connector::deserialize(root).ok();
        let from_json = Connector::deserialize(root.to_json()).ok();
        assert_eq!(from_tree, from_json, "model of {what}");
    }

    #[test]
    fn tree_reads_as_json_for_every_spec_and_fixture() {
        let files = parsed();
        assert!(files.len() > 40, "{} files", files.len());
        let mut valid = 0;
        for (path, root) in files {
            assert_tree_reads_as_json(root, &path.display().to_string());
            valid += usize::from(Connector::deserialize(root).is_ok());
        }
        assert!(valid > 10, "{valid} files made a model");
    }

    /// Values to put anywhere in a spec: every kind of node, numbers at
    /// the edges of what JSON and the model hold.
    fn replacement() -> impl Strategy<Value = Value> {
        let scalar = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            prop_oneof![Just(0i64), Just(-1), Just(1), Just(i64::MIN), any::<i64>()]
                .prop_map(Value::Int),
            prop_oneof![Just(u64::MAX), Just(1u64 << 63)].prop_map(Value::UInt),
            prop_oneof![
                Just(1.0f64),
                Just(1.5),
                Just(-0.0),
                Just(f64::NAN),
                Just(f64::INFINITY),
                any::<f64>()
            ]
            .prop_map(Value::Float),
            prop_oneof![
                Just(String::new()),
                Just("GET".to_string()),
                Just("api_key".to_string()),
                Just("string".to_string()),
                Just("group".to_string()),
                Just("{{ input.x }}".to_string()),
                "[a-z_]{1,8}",
            ]
            .prop_map(|s| Value::String(s.into())),
        ];
        scalar.prop_recursive(3, 16, 3, |inner| {
            let node = inner.prop_map(node);
            prop_oneof![
                prop::collection::vec(node.clone(), 0..3).prop_map(Value::Seq),
                prop::collection::vec(
                    (
                        prop_oneof![
                            Just("type".to_string()),
                            Just("key".to_string()),
                            Just("en".to_string()),
                            "[a-z_]{1,8}"
                        ],
                        node
                    ),
                    0..3
                )
                .prop_map(|entries| {
                    let mut seen = std::collections::HashSet::new();
                    Value::Map(
                        entries
                            .into_iter()
                            .filter(|(k, _)| seen.insert(k.clone()))
                            .map(|(name, v)| {
                                let span = v.span;
                                let name = name.into();
                                (Key { name, span }, v)
                            })
                            .collect(),
                    )
                }),
            ]
        })
    }

    fn node(value: Value) -> Node {
        Node {
            value,
            span: crate::source::Span::file_start(FileId(0)),
            verbatim_start: None,
        }
    }

    /// The `n`-th node in document order (wrapping), to edit in place.
    fn nth_node(root: &mut Node, n: usize) -> &mut Node {
        fn count(node: &Node) -> usize {
            1 + match &node.value {
                Value::Seq(items) => items.iter().map(count).sum(),
                Value::Map(entries) => entries.iter().map(|(_, v)| count(v)).sum(),
                _ => 0,
            }
        }
        fn walk(node: &mut Node, n: usize) -> &mut Node {
            if n == 0 {
                return node;
            }
            let mut n = n - 1;
            let children: Vec<&mut Node> = match &mut node.value {
                Value::Seq(items) => items.iter_mut().collect(),
                Value::Map(entries) => entries.iter_mut().map(|(_, v)| v).collect(),
                _ => unreachable!("n is below the count"),
            };
            for child in children {
                let size = count(child);
                if n < size {
                    return walk(child, n);
                }
                n -= size;
            }
            unreachable!("n is below the count")
        }
        let n = n % count(root);
        walk(root, n)
    }

    proptest! {
        /// Any tree reads as its JSON value: what free-form parts of the
        /// model (config, samples, bodies) hold.
        #[test]
        fn any_tree_reads_as_its_json(value in replacement()) {
            let root = node(value);
            let read = serde_json::Value::deserialize(&root).unwrap();
            prop_assert_eq!(read, root.to_json());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Real specs with a few nodes replaced by anything, or removed:
        /// the schema and the model agree on the tree and on its JSON.
        #[test]
        fn tree_reads_as_json_for_edited_specs(
            which in any::<prop::sample::Index>(),
            edits in prop::collection::vec(
                (any::<usize>(), replacement(), any::<bool>()),
                1..4,
            ),
        ) {
            let files = parsed();
            let mut root = files[which.index(files.len())].1.clone();
            for (at, value, remove) in edits {
                let target = nth_node(&mut root, at);
                match &mut target.value {
                    Value::Map(entries) if remove && !entries.is_empty() => {
                        entries.remove(at % entries.len());
                    }
                    Value::Seq(items) if remove && !items.is_empty() => {
                        items.remove(at % items.len());
                    }
                    _ => target.value = value,
                }
            }
            assert_tree_reads_as_json(&root, "an edited spec");
        }
    }

    #[test]
    fn serde_paths_become_pointers() {
        assert_eq!(
            path_to_pointer("actions[0].request.method"),
            "/actions/0/request/method"
        );
        assert_eq!(path_to_pointer("."), "");
    }
}

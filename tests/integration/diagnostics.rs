//! One failing fixture per diagnostic code, each with a snapshot of its
//! human report.
//!
//! `tests/fixtures/diagnostics/<CODE>-<slug>.yaml` (or a directory
//! `<CODE>-<slug>/`, validated as one path) is a small connector with
//! exactly one mistake. Adding a file adds a case; its snapshot is
//! `snapshots/integration__diagnostics__<CODE>-<slug>.snap`. To accept new
//! or changed output run `INSTA_UPDATE=always cargo test --test integration
//! diagnostics`, then read every changed `.snap` file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use spec::codes::Code;

use crate::common;

/// Codes no fixture can trigger. S006 (model mismatch) means the JSON Schema
/// accepted a spec the typed model rejects: a bug in `spec`, impossible
/// while schema and model agree (`schema_model.rs` checks that they do).
/// [`untriggerable_codes_are_never_reported`] pins that no fixture hits it.
const UNTRIGGERABLE: &[Code] = &[Code::ModelMismatch];

/// A fixture: its name (`S001-unknown-key`), its path, and the code its
/// name promises.
struct Case {
    name: String,
    path: PathBuf,
    code: Code,
}

fn cases() -> Vec<Case> {
    let dir = common::fixture("diagnostics");
    let mut cases: Vec<Case> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_dir() || path.extension().is_some_and(|e| e == "yaml"))
        .map(|path| {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("fixture names are UTF-8")
                .to_string();
            let prefix = name.split('-').next().unwrap_or_default();
            let code = Code::parse(prefix).unwrap_or_else(|| {
                panic!("fixture `{name}` must be named `<CODE>-<slug>`; `{prefix}` is not a code")
            });
            assert_eq!(
                code.as_str(),
                prefix,
                "fixture `{name}`: write the code in upper case"
            );
            Case { name, path, code }
        })
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(!cases.is_empty(), "no fixtures in {}", dir.display());
    cases
}

fn snapshot_settings(path: &Path) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_input_file(path);
    settings.set_omit_expression(true);
    settings
}

#[test]
fn every_fixture_reports_only_its_own_code() {
    for case in cases() {
        let project = common::validate(std::slice::from_ref(&case.path));
        assert!(
            !project.diagnostics.is_empty(),
            "fixture `{}` produced no diagnostics; it should produce {}",
            case.name,
            case.code
        );
        for d in &project.diagnostics {
            assert_eq!(
                d.code,
                case.code,
                "fixture `{}` must report only {}, but also reports:\n{}",
                case.name,
                case.code,
                common::human(&project)
            );
        }
    }
}

#[test]
fn human_reports() {
    for case in cases() {
        let project = common::validate(std::slice::from_ref(&case.path));
        let output = common::human(&project);
        snapshot_settings(&case.path).bind(|| {
            insta::assert_snapshot!(case.name.as_str(), output);
        });
    }
}

/// JSON and GitHub renderings of a few fixtures: one with a related
/// location across files, one warning, one plain error.
#[test]
fn json_and_github_reports() {
    for name in [
        "S001-unknown-key.yaml",
        "R001-duplicate-app-id",
        "R014-user-input.yaml",
    ] {
        let path = common::fixture(&format!("diagnostics/{name}"));
        let project = common::validate(std::slice::from_ref(&path));
        let stem = name.trim_end_matches(".yaml");
        let json = common::json(&project);
        let github = common::github(&project);
        snapshot_settings(&path).bind(|| {
            insta::assert_snapshot!(format!("{stem}.json"), json);
            insta::assert_snapshot!(format!("{stem}.github"), github);
        });
    }
}

#[test]
fn every_code_has_a_fixture() {
    let covered: BTreeSet<Code> = cases().iter().map(|c| c.code).collect();
    let missing: Vec<&str> = Code::ALL
        .iter()
        .filter(|code| !covered.contains(code) && !UNTRIGGERABLE.contains(code))
        .map(|code| code.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "codes without a fixture in tests/fixtures/diagnostics: {missing:?}"
    );
    for code in UNTRIGGERABLE {
        assert!(
            !covered.contains(code),
            "{code} has a fixture; remove it from UNTRIGGERABLE"
        );
    }
}

/// Every YAML file under `dir`, recursively, in a stable order.
fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries
        .map(|e| e.expect("a directory entry").path())
        .collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

#[test]
fn untriggerable_codes_are_never_reported() {
    let mut inputs: Vec<PathBuf> = cases().into_iter().map(|c| c.path).collect();
    for dir in ["valid", "model/valid", "model/invalid"] {
        yaml_files(&common::fixture(dir), &mut inputs);
    }
    yaml_files(&common::root().join("specs"), &mut inputs);
    for path in &inputs {
        let project = common::validate(std::slice::from_ref(path));
        for d in &project.diagnostics {
            assert!(
                !UNTRIGGERABLE.contains(&d.code),
                "{} reports {}: schema and model disagree\n{}",
                common::display(path),
                d.code,
                common::human(&project)
            );
        }
    }
}

#[test]
fn valid_fixtures_are_clean() {
    let mut paths = Vec::new();
    yaml_files(&common::fixture("valid"), &mut paths);
    assert!(
        paths.len() >= 2,
        "tests/fixtures/valid holds the clean connectors"
    );
    let project = common::validate(&paths);
    assert_eq!(common::human(&project), "", "valid fixtures must be clean");
    assert_eq!(project.connectors_found, paths.len());
    assert_eq!(project.connectors.len(), paths.len());
}

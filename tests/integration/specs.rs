//! The example connectors in specs/ are real, clean and editor-ready.

use std::path::{Path, PathBuf};

use spec::render;
use spec::validate::validate;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn spec_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            spec_files(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
}

#[test]
fn every_spec_validates_without_any_diagnostic() {
    let specs = repo().join("specs");
    let project = validate(&[specs]).expect("specs/ is readable");
    let report = render::human(&project.sources, &project.diagnostics, false);
    assert!(
        project.diagnostics.is_empty(),
        "specs/ must validate cleanly:\n{report}"
    );
    let keys: Vec<&str> = project
        .connectors
        .iter()
        .map(|c| c.model.app.key.as_str())
        .collect();
    for expected in [
        "aftership",
        "dingtalk",
        "jushuitan",
        "onenote",
        "shopify",
        "tushare",
        "vika",
    ] {
        assert!(
            keys.contains(&expected),
            "specs/ lacks the `{expected}` connector (found {keys:?})"
        );
    }
}

#[test]
fn every_spec_file_starts_with_the_schema_modeline() {
    let mut files = Vec::new();
    spec_files(&repo().join("specs"), &mut files);
    assert!(!files.is_empty());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let first = text.lines().next().unwrap_or_default();
        let schema = match file
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
        {
            Some("actions") => "action.schema.json",
            Some("triggers") => "trigger.schema.json",
            _ => "connector.schema.json",
        };
        let prefix = "# yaml-language-server: $schema=";
        let target = first
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{} must start with `{prefix}...`", file.display()));
        assert!(
            target.ends_with(schema),
            "{}: modeline should point at {schema}",
            file.display()
        );
        // The relative path must resolve from the file's own directory.
        let resolved = file.parent().unwrap().join(target);
        assert!(
            resolved.is_file(),
            "{}: modeline target {} does not exist",
            file.display(),
            resolved.display()
        );
    }
}

#[test]
fn the_embedded_schema_is_the_file_in_schema_dir() {
    let on_disk = std::fs::read_to_string(repo().join("schema/connector.schema.json")).unwrap();
    assert_eq!(spec::schema::CONNECTOR_SCHEMA, on_disk);
}

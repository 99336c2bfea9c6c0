//! `spec new` (scaffolding) and `spec test` (offline replay of recorded
//! or hand-written cases) through the real binary.

use std::path::Path;

use crate::common::spec;

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn spec_new_writes_a_starter_that_validates() {
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs");
    spec(["new", "acme", "--dir", path(&specs)]).expect_code(0);
    let file = specs.join("acme.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("# yaml-language-server: $schema=../schema/connector.schema.json\n"));
    spec(["validate", path(&file)]).expect_code(0);
    // A second `new` refuses to overwrite.
    let again = spec(["new", "acme", "--dir", path(&specs)]);
    again.expect_code(2);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
}

#[test]
fn spec_new_adds_action_and_trigger_stubs_keeping_comments() {
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs");
    spec(["new", "acme", "--dir", path(&specs)]).expect_code(0);
    spec([
        "new",
        "acme",
        "--dir",
        path(&specs),
        "--action",
        "create_thing",
    ])
    .expect_code(0);
    spec([
        "new",
        "acme",
        "--dir",
        path(&specs),
        "--trigger",
        "new_thing",
    ])
    .expect_code(0);
    spec([
        "new",
        "acme",
        "--dir",
        path(&specs),
        "--trigger",
        "other_thing",
    ])
    .expect_code(0);
    let duplicate = spec([
        "new",
        "acme",
        "--dir",
        path(&specs),
        "--action",
        "create_thing",
    ]);
    duplicate.expect_code(2);
    let file = specs.join("acme.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("# TODO: reserve a real app id"));
    assert!(text.contains("key: create_thing") && text.contains("key: other_thing"));
    let validated = spec(["validate", path(&file)]);
    validated.expect_code(0);
    assert!(
        validated.stderr.contains("0 error(s), 0 warning(s)"),
        "{}",
        validated.stderr
    );
}

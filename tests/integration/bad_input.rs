//! Hostile and broken input through the real binary (issue §7): every case
//! ends with a clear diagnostic (the right code, a `file:line:col`) and exit
//! 1, or exit 2 when a path cannot be read, and never with a panic or a
//! hang. `common::run` fails any case that panics or outlives the hang guard.

use std::fmt::Write as _;
use std::path::Path;

use crate::common::{self, Run};

/// Writes `files` (relative path, bytes) into a fresh directory and runs
/// `spec validate ARGS...` there, so reported paths are relative to it.
fn validate_in(files: &[(&str, &[u8])], args: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (name, bytes) in files {
        write(&dir.path().join(name), bytes);
    }
    validate_at(dir.path(), args)
}

fn validate_at(dir: &Path, args: &[&str]) -> Run {
    let mut command = common::spec_command();
    command.current_dir(dir).arg("validate").args(args);
    common::run(command)
}

fn write(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("creating a fixture directory");
    }
    std::fs::write(path, bytes).expect("writing a fixture");
}

/// One file named `spec.yaml`, validated.
fn validate_one(bytes: &[u8]) -> Run {
    validate_in(&[("spec.yaml", bytes)], &["spec.yaml"])
}

/// Asserts exit 1 with exactly `expected` (code, `file:line:col`) pairs.
#[track_caller]
fn expect_diagnostics(run: &Run, expected: &[(&str, &str)]) {
    run.expect_code(1);
    assert_eq!(run.stdout, "");
    let codes = common::codes(&run.stderr);
    let locations = common::locations(&run.stderr);
    let found: Vec<(&str, &str)> = codes
        .iter()
        .map(String::as_str)
        .zip(locations.iter().map(String::as_str))
        .collect();
    assert_eq!(found, expected, "\n{}", run.stderr);
    assert_eq!(
        codes.len(),
        locations.len(),
        "every diagnostic has a location:\n{}",
        run.stderr
    );
}

/// The message of the only diagnostic in a human report.
fn message(run: &Run) -> &str {
    let line = run.stderr.lines().next().unwrap_or_default();
    line.split_once("]: ").map_or(line, |(_, message)| message)
}

/// A valid connector with distinct ids, as one file.
fn connector(n: usize) -> String {
    format!(
        "spec_version: 1
app:
  id: {app_id}
  key: fake_{n:04}
  name: Fake {n}
  category: test
  base_url: https://api.fake{n}.example.com
auth:
  type: none
actions:
  - id: {action_id}
    key: ping
    name: Ping
    is_end: true
    request:
      method: GET
      path: /ping
",
        app_id = 100_000 + n,
        action_id = 10_000_000 + n,
    )
}

fn clean_fixture() -> Vec<u8> {
    std::fs::read(common::fixture("valid/fakeshop.yaml")).expect("the clean fixture")
}

// --- Malformed YAML ---------------------------------------------------------

#[test]
fn unclosed_bracket() {
    let run = validate_one(b"spec_version: 1\napp: [1, 2\n");
    expect_diagnostics(&run, &[("L002", "spec.yaml:2:6")]);
    assert!(message(&run).contains("unclosed bracket"), "{}", run.stderr);
}

#[test]
fn bad_indentation() {
    let run = validate_one(b"spec_version: 1\napp:\n  id: 1\n   key: x\n");
    expect_diagnostics(&run, &[("L002", "spec.yaml:4:7")]);
}

#[test]
fn tab_indentation() {
    let run = validate_one(b"spec_version: 1\napp:\n\tid: 1\n");
    expect_diagnostics(&run, &[("L002", "spec.yaml:3:2")]);
    assert!(message(&run).contains("tabs"), "{}", run.stderr);
}

/// The position is shown once, by the `-->` line; the message itself should
/// not repeat it. `src/yaml.rs` `convert_error` strips a leading
/// "line L column C: " but serde-saphyr appends " at line L, column C".
#[test]
fn syntax_messages_do_not_repeat_the_position() {
    for input in [
        &b"spec_version: 1\napp: [1, 2\n"[..],
        b"spec_version: 1\napp:\n  id: 1\n   key: x\n",
        b"spec_version: 1\napp:\n\tid: 1\n",
    ] {
        let run = validate_one(input);
        run.expect_code(1);
        assert!(
            !message(&run).contains(" at line "),
            "the message repeats the position:\n{}",
            run.stderr
        );
    }
}

#[test]
fn wrong_types() {
    let mut spec = String::from_utf8(clean_fixture()).expect("UTF-8");
    spec = spec
        .replace("  id: 9001\n", "  id: \"9001\"\n")
        .replace("    is_end: true\n", "    is_end: yes\n");
    let run = validate_one(spec.as_bytes());
    expect_diagnostics(
        &run,
        &[("S003", "spec.yaml:5:7"), ("S003", "spec.yaml:31:13")],
    );
    assert!(
        run.stderr
            .contains("expected an integer, found the string `9001`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("expected a boolean, found the string `yes`"),
        "{}",
        run.stderr
    );
}

/// `is_end: yes` is the YAML 1.1 habit the S003 docs single out, and
/// `src/schema.rs` has a hint for it ("YAML 1.2 booleans are written `true`
/// or `false`"), but uses it only when the schema property has no
/// `description`; every property has one, so the hint never shows.
#[test]
fn a_yaml_1_1_boolean_gets_the_yaml_1_2_hint() {
    let spec = String::from_utf8(clean_fixture())
        .expect("UTF-8")
        .replace("    is_end: true\n", "    is_end: yes\n");
    let run = validate_one(spec.as_bytes());
    expect_diagnostics(&run, &[("S003", "spec.yaml:31:13")]);
    assert!(
        run.stderr
            .contains("YAML 1.2 booleans are written `true` or `false`"),
        "{}",
        run.stderr
    );
}

#[test]
fn crlf_line_endings() {
    let spec = String::from_utf8(clean_fixture())
        .expect("UTF-8")
        .replace("  id: 9001\n", "  id: \"9001\"\n")
        .replace('\n', "\r\n");
    let run = validate_one(spec.as_bytes());
    expect_diagnostics(&run, &[("S003", "spec.yaml:5:7")]);
    assert!(!run.stderr.contains('\r'), "{:?}", run.stderr);
}

/// YAML 1.2 (§5.4) breaks lines at CR, LF and CRLF, but `src/source.rs`
/// `SourceFile::new` starts lines only after `\n`: in a file with classic
/// Mac line endings every diagnostic is on "line 1", and the excerpt prints
/// raw `\r`s that make a terminal overwrite the line.
#[test]
fn cr_line_endings_are_line_breaks() {
    let run = validate_one(b"spec_version: 1\rapp: 5\rauth: {type: none}\r");
    expect_diagnostics(&run, &[("S003", "spec.yaml:2:6")]);
    assert!(!run.stderr.contains('\r'), "{:?}", run.stderr);
}

#[test]
fn a_list_where_the_connector_belongs() {
    let run = validate_one(b"- spec_version: 1\n- app: {}\n");
    expect_diagnostics(&run, &[("S003", "spec.yaml:1:1")]);
}

// --- Empty and mis-encoded files --------------------------------------------

#[test]
fn empty_file() {
    let run = validate_one(b"");
    expect_diagnostics(&run, &[("L004", "spec.yaml:1:1")]);
}

#[test]
fn comments_only_file() {
    let run = validate_one(b"# TODO: write the connector\n\n# spec_version: 1\n");
    expect_diagnostics(&run, &[("L004", "spec.yaml:1:1")]);
}

#[test]
fn latin1_file() {
    // "name: Café" with é as the Latin-1 byte 0xE9.
    let run = validate_one(b"spec_version: 1\napp:\n  name: Caf\xe9\n");
    expect_diagnostics(&run, &[("L001", "spec.yaml:3:12")]);
    assert!(message(&run).contains("0xe9"), "{}", run.stderr);
}

#[test]
fn gbk_file() {
    // "name: 你好" in GBK.
    let run = validate_one(b"spec_version: 1\napp:\n  name: \xc4\xe3\xba\xc3\n");
    expect_diagnostics(&run, &[("L001", "spec.yaml:3:9")]);
}

#[test]
fn utf16_file_with_bom() {
    let text = "spec_version: 1\napp:\n  name: 聚水潭\n";
    let mut bytes = vec![0xff, 0xfe];
    for unit in text.encode_utf16() {
        bytes.extend(unit.to_le_bytes());
    }
    let run = validate_one(&bytes);
    expect_diagnostics(&run, &[("L001", "spec.yaml:1:1")]);
}

// --- Resource budgets ---------------------------------------------------------

/// "Billion laughs": ten levels of ten aliases each.
fn alias_bomb() -> String {
    let mut bomb = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let names: Vec<char> = ('a'..='j').collect();
    for pair in names.windows(2) {
        let (prev, name) = (pair[0], pair[1]);
        let refs = vec![format!("*{prev}"); 10].join(",");
        let _ = writeln!(bomb, "{name}: &{name} [{refs}]");
    }
    bomb
}

#[test]
fn alias_bomb_is_refused() {
    let run = validate_one(alias_bomb().as_bytes());
    run.expect_code(1);
    assert_eq!(common::codes(&run.stderr), ["L003"], "{}", run.stderr);
    assert!(
        common::locations(&run.stderr)[0].starts_with("spec.yaml:"),
        "{}",
        run.stderr
    );
}

#[test]
fn alias_bomb_inside_a_connector_is_refused() {
    let mut spec = String::from_utf8(clean_fixture()).expect("UTF-8");
    let bomb: String = alias_bomb().lines().map(|l| format!("  {l}\n")).collect();
    spec = spec.replace("actions:\n", &format!("config:\n{bomb}actions:\n"));
    let run = validate_one(spec.as_bytes());
    run.expect_code(1);
    assert_eq!(common::codes(&run.stderr), ["L003"], "{}", run.stderr);
}

#[test]
fn deep_flow_nesting_is_refused() {
    let deep = format!("{}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let run = validate_one(deep.as_bytes());
    run.expect_code(1);
    assert_eq!(common::codes(&run.stderr), ["L003"], "{}", run.stderr);
    // Refused within the first few hundred levels (today at the 256th
    // bracket: the parser's own recursion limit fires before the depth
    // budget), not at the end of the line.
    let location = &common::locations(&run.stderr)[0];
    let column: usize = location
        .strip_prefix("spec.yaml:1:")
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not on line 1: {location}"));
    assert!((65..=257).contains(&column), "{location}");
    assert!(
        message(&run).contains("deeper than 64 levels"),
        "{}",
        run.stderr
    );
    // The excerpt of a 20,000-character line is cut around the caret.
    assert!(
        run.stderr.len() < 2_000,
        "{} bytes of report",
        run.stderr.len()
    );
}

#[test]
fn deep_flow_mapping_nesting_is_refused() {
    let deep = format!("{}1{}\n", "{a: ".repeat(10_000), "}".repeat(10_000));
    let run = validate_one(deep.as_bytes());
    run.expect_code(1);
    assert_eq!(common::codes(&run.stderr), ["L003"], "{}", run.stderr);
}

#[test]
fn deep_block_sequence_nesting_is_refused() {
    // Compact block sequences: `- - - ... x`, 10,000 levels on one line.
    let deep = format!("{}x\n", "- ".repeat(10_000));
    let run = validate_one(deep.as_bytes());
    expect_diagnostics(&run, &[("L003", "spec.yaml:1:129")]);
}

#[test]
fn deep_block_mapping_nesting_is_refused() {
    // Indented block mappings, 2,000 levels (about 2 MB: below the size limit).
    let deep: String = (0..2_000)
        .map(|i| format!("{}k:\n", " ".repeat(i)))
        .collect();
    let run = validate_one(deep.as_bytes());
    expect_diagnostics(&run, &[("L003", "spec.yaml:65:65")]);
}

#[test]
fn ten_thousand_deep_indented_block_mappings_are_refused_by_size() {
    // 10,000 levels of indentation take 50 MB: the size limit refuses it
    // before it is read.
    let deep: String = (0..10_000)
        .map(|i| format!("{}k:\n", " ".repeat(i)))
        .collect();
    let run = validate_one(deep.as_bytes());
    expect_diagnostics(&run, &[("L003", "spec.yaml:1:1")]);
}

#[test]
fn fifty_megabyte_file_is_refused() {
    let mut spec = String::from_utf8(clean_fixture()).expect("UTF-8");
    spec.push_str("config:\n");
    let mut n = 0;
    while spec.len() < 50 * 1024 * 1024 {
        let _ = writeln!(spec, "  key_{n}: padding padding padding padding padding");
        n += 1;
    }
    let run = validate_one(spec.as_bytes());
    expect_diagnostics(&run, &[("L003", "spec.yaml:1:1")]);
    assert!(
        message(&run).contains("a spec file may be at most 4 MiB"),
        "{}",
        run.stderr
    );
}

#[test]
fn file_just_over_the_size_limit_is_refused_and_at_it_is_read() {
    let limit = spec::load::MAX_FILE_BYTES as usize;
    let mut at_limit = clean_fixture();
    at_limit.push(b'#');
    at_limit.resize(limit, b'#');
    let run = validate_one(&at_limit);
    run.expect_code(0);
    at_limit.push(b'#');
    let run = validate_one(&at_limit);
    expect_diagnostics(&run, &[("L003", "spec.yaml:1:1")]);
}

#[test]
fn one_megabyte_line() {
    // A clean connector whose description is one 1 MB line.
    let spec = String::from_utf8(clean_fixture()).expect("UTF-8").replace(
        "  description: Orders of a FakeShop store.\n",
        &format!("  description: {}\n", "Orders. ".repeat(128 * 1024)),
    );
    assert!(spec.len() > 1024 * 1024);
    validate_one(spec.as_bytes()).expect_code(0);
}

#[test]
fn one_megabyte_minified_line_with_a_mistake_at_its_end() {
    // The whole connector on one line, a 1 MB description first and a
    // misspelt key last: the report points at the key and shows a window
    // of the line, not all of it.
    let description = "x".repeat(1024 * 1024);
    let spec = format!(
        "{{spec_version: 1, app: {{id: 9001, key: fakeshop, name: FakeShop, description: {description}, \
         category: ecommerce, base_url: \"https://api.fakeshop.example.com\"}}, auth: {{type: none}}, \
         actoins: []}}\n"
    );
    let column = spec.find("actoins").expect("the misspelt key") + 1;
    let run = validate_one(spec.as_bytes());
    expect_diagnostics(&run, &[("S001", &format!("spec.yaml:1:{column}"))]);
    assert!(
        run.stderr.contains("did you mean `actions`?"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.len() < 2_000,
        "{} bytes of report",
        run.stderr.len()
    );
}

#[test]
fn multiple_documents_are_refused() {
    let mut two = clean_fixture();
    two.extend(b"---\n");
    two.extend(clean_fixture());
    let first_lines = clean_fixture().iter().filter(|&&b| b == b'\n').count();
    let run = validate_one(&two);
    expect_diagnostics(
        &run,
        &[("L003", &format!("spec.yaml:{}:1", first_lines + 1))],
    );
}

/// A second `---` deserves a plain message. Today it reads "the document
/// exceeds a loader budget (budget breached: Documents { documents: 2 } at
/// line 2, column 1)": `src/yaml.rs` `describe_budget` has no case for the
/// document budget.
#[test]
fn multiple_documents_message_is_plain() {
    let run = validate_one(b"spec_version: 1\n---\nspec_version: 1\n");
    run.expect_code(1);
    let message = message(&run);
    assert!(
        !message.contains('{') && !message.contains("budget breached"),
        "internal error text leaks into the message:\n{}",
        run.stderr
    );
    assert!(message.contains("document"), "{}", run.stderr);
}

// --- Directories ------------------------------------------------------------------

fn many_specs(broken: Option<usize>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for n in 0..3_000 {
        let mut text = connector(n);
        if Some(n) == broken {
            text = text.replace("is_end: true", "is_end: maybe");
        }
        write(
            &dir.path().join(format!("specs/c{n:04}.yaml")),
            text.as_bytes(),
        );
    }
    dir
}

#[test]
fn three_thousand_specs() {
    let dir = many_specs(None);
    let run = validate_at(dir.path(), &["specs"]);
    run.expect_code(0);
    assert_eq!(
        run.stderr,
        "checked 3000 connector(s) in 3000 file(s): 0 error(s), 0 warning(s)\n"
    );
}

#[test]
fn three_thousand_specs_with_one_broken() {
    let dir = many_specs(Some(1_234));
    let run = validate_at(dir.path(), &["specs"]);
    expect_diagnostics(&run, &[("S003", "specs/c1234.yaml:14:13")]);
    assert!(
        run.stderr
            .ends_with("checked 3000 connector(s) in 3000 file(s): 1 error(s), 0 warning(s)\n"),
        "{}",
        run.stderr
    );
}

/// A symlink loop must neither hang the walk nor read a spec more than
/// once. Today the walk follows `sub/up -> ..` until its depth limit and
/// reads `loop/fakeshop.yaml` four times, reporting it as a duplicate of
/// itself (R001/R002) — `src/load.rs` `discover` follows directory symlinks
/// without remembering where it has been.
#[cfg(unix)]
#[test]
fn symlink_loop_reads_each_spec_once() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    write(&dir.path().join("loop/fakeshop.yaml"), &clean_fixture());
    std::fs::create_dir_all(dir.path().join("loop/sub")).expect("mkdir");
    std::os::unix::fs::symlink("..", dir.path().join("loop/sub/up")).expect("symlink");
    let run = validate_at(dir.path(), &["loop"]);
    run.expect_code(0);
    assert_eq!(
        run.stderr,
        "checked 1 connector(s) in 1 file(s): 0 error(s), 0 warning(s)\n"
    );
}

#[cfg(unix)]
#[test]
fn symlink_loop_without_specs_terminates() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::create_dir_all(dir.path().join("loop/a/b")).expect("mkdir");
    std::os::unix::fs::symlink("../..", dir.path().join("loop/a/b/back")).expect("symlink");
    std::os::unix::fs::symlink("a", dir.path().join("loop/a/self")).expect("symlink");
    let run = validate_at(dir.path(), &["loop"]);
    run.expect_code(2);
    assert!(
        run.stderr.starts_with("error: no specs found in loop\n"),
        "{}",
        run.stderr
    );
}

/// A `.yaml` symlink that points at itself cannot be read: an I/O error.
#[cfg(unix)]
#[test]
fn self_referencing_symlink_file_exits_2() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::create_dir_all(dir.path().join("specs")).expect("mkdir");
    std::os::unix::fs::symlink("self.yaml", dir.path().join("specs/self.yaml")).expect("symlink");
    let run = validate_at(dir.path(), &["specs"]);
    run.expect_code(2);
    assert!(
        run.stderr
            .starts_with("error: cannot read specs/self.yaml: "),
        "{}",
        run.stderr
    );
}

/// A directory without specs is a usage error (exit 2): a CI job pointed at
/// the wrong directory must not pass silently.
#[test]
fn directory_without_specs_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    write(&dir.path().join("specs/README.md"), b"# no specs here\n");
    write(&dir.path().join("specs/notes.txt"), b"spec_version: 1\n");
    let run = validate_at(dir.path(), &["specs"]);
    run.expect_code(2);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.starts_with("error: no specs found in specs\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_directory_connector_with_broken_parts() {
    let run = validate_in(
        &[
            ("shop/connector.yaml", b"spec_version: 1\napp: {id: 1}\n"),
            ("shop/actions/a.yaml", b"key: [unclosed\n"),
            ("shop/actions/b.yaml", b"- not a mapping\n"),
            ("shop/triggers/c.yaml", b""),
        ],
        &["shop"],
    );
    run.expect_code(1);
    let codes = common::codes(&run.stderr);
    for code in ["L002", "L006", "L004"] {
        assert!(
            codes.iter().any(|c| c == code),
            "{code} missing:\n{}",
            run.stderr
        );
    }
    let locations = common::locations(&run.stderr);
    for file in [
        "shop/actions/a.yaml",
        "shop/actions/b.yaml",
        "shop/triggers/c.yaml",
    ] {
        assert!(
            locations.iter().any(|l| l.starts_with(&format!("{file}:"))),
            "{file} not reported:\n{}",
            run.stderr
        );
    }
}

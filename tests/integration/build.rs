//! `spec build`, `spec build --check` and `spec diff` through the real
//! binary; and the repository's own generated/ is current.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt as _;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn base() -> PathBuf {
    repo().join("tests/fixtures/sql/base")
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn spec_in(dir: &Path, args: &[&str]) -> Run {
    let output = Command::cargo_bin("spec")
        .unwrap()
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

impl Run {
    fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

pub(crate) fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap().path();
        let target = to.join(entry.file_name().unwrap());
        if entry.is_dir() {
            copy_dir(&entry, &target);
        } else {
            fs::copy(&entry, &target).unwrap();
        }
    }
}

/// A project directory with the base fixture as `specs/`.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&base(), &dir.path().join("specs"));
    dir
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).unwrap();
    assert_eq!(
        text.matches(from).count(),
        1,
        "`{from}` must occur once in {}",
        path.display()
    );
    fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// How many files the build makes of the base fixture (the SQL files and
/// whatever other generators add).
fn file_count() -> usize {
    let project = spec::validate::validate(&[base()]).unwrap();
    spec::codegen::build(&project.connectors)
        .unwrap()
        .files
        .len()
}

/// The SQL build's files (other generators add more).
const FILES: &[&str] = &[
    ".gitattributes",
    "README.md",
    "sql/mysql/schema.sql",
    "sql/mysql/seed.sql",
    "sql/postgres/schema.sql",
    "sql/postgres/seed.sql",
    "sql/sqlite/schema.sql",
    "sql/sqlite/seed.sql",
];

#[test]
fn build_writes_every_file_once_and_check_then_passes() {
    let n = file_count();
    let dir = project();
    let run = spec_in(dir.path(), &["build"]).expect(0);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.ends_with(&format!(
            "built generated: {n} file(s) written, 0 unchanged, 0 removed\n"
        )),
        "{}",
        run.stderr
    );
    for file in FILES {
        assert!(dir.path().join("generated").join(file).is_file(), "{file}");
    }
    let seed = dir.path().join("generated/sql/mysql/seed.sql");
    let modified = fs::metadata(&seed).unwrap().modified().unwrap();
    let run = spec_in(dir.path(), &["build"]).expect(0);
    assert_eq!(
        run.stderr,
        format!("built generated: 0 file(s) written, {n} unchanged, 0 removed\n")
    );
    assert_eq!(
        fs::metadata(&seed).unwrap().modified().unwrap(),
        modified,
        "unchanged files are not rewritten"
    );
    let run = spec_in(dir.path(), &["build", "--check"]).expect(0);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        format!("generated is up to date ({n} file(s))\n")
    );
    // No temporary file is left behind.
    let leftovers: Vec<_> = fs::read_dir(dir.path().join("generated/sql/mysql"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn check_after_editing_a_spec_shows_the_diff_names_the_fix_and_writes_nothing() {
    let dir = project();
    spec_in(dir.path(), &["build"]).expect(0);
    let seed = dir.path().join("generated/sql/postgres/seed.sql");
    let before = fs::read(&seed).unwrap();
    edit(
        &dir.path().join("specs/tiny_erp.yaml"),
        "name: {en: New order, zh: 新订单}",
        "name: {en: New orders, zh: 新订单}",
    );
    let run = spec_in(dir.path(), &["build", "--check"]).expect(1);
    assert_eq!(fs::read(&seed).unwrap(), before, "--check writes nothing");
    for file in ["mysql", "postgres", "sqlite"].map(|d| format!("generated/sql/{d}/seed.sql")) {
        assert!(
            run.stdout
                .contains(&format!("--- a/{file}\n+++ b/{file}\n")),
            "{}",
            run.stdout
        );
        assert!(
            run.stdout.contains(&format!("stale: {file}\n")),
            "{}",
            run.stdout
        );
    }
    assert!(
        run.stdout
            .contains("\n-  (900201, 9001, 'new_order', 'trigger', 'New order', "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("\n+  (900201, 9001, 'new_order', 'trigger', 'New orders', "),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("schema.sql"), "schemas did not change");
    assert!(
        run.stderr.contains(" file(s) differ, 0 missing, 0 extra\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "run `spec build` to regenerate it (in the spec repository: `cargo run -- build`)"
        ),
        "{}",
        run.stderr
    );
    // Building fixes it.
    spec_in(dir.path(), &["build"]).expect(0);
    spec_in(dir.path(), &["build", "--check"]).expect(0);
}

#[test]
fn check_reports_missing_and_extra_files_and_build_removes_the_extra() {
    let dir = project();
    spec_in(dir.path(), &["build"]).expect(0);
    let generated = dir.path().join("generated");
    fs::create_dir_all(generated.join("sql/oracle")).unwrap();
    fs::write(
        generated.join("sql/oracle/seed.sql"),
        "-- from an older build\n",
    )
    .unwrap();
    fs::remove_file(generated.join("sql/sqlite/schema.sql")).unwrap();
    // Files outside the build's own directories are not its business.
    fs::write(generated.join("NOTES.txt"), "kept\n").unwrap();
    let run = spec_in(dir.path(), &["build", "--check"]).expect(1);
    assert!(
        run.stdout
            .contains("missing: generated/sql/sqlite/schema.sql\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("extra: generated/sql/oracle/seed.sql\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("--- /dev/null\n+++ b/generated/sql/sqlite/schema.sql\n"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("NOTES.txt"));
    assert!(
        run.stderr.contains("0 file(s) differ, 1 missing, 1 extra"),
        "{}",
        run.stderr
    );
    let run = spec_in(dir.path(), &["build"]).expect(0);
    assert!(
        run.stderr
            .contains("removed generated/sql/oracle/seed.sql\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "1 file(s) written, {} unchanged, 1 removed",
            file_count() - 1
        )),
        "{}",
        run.stderr
    );
    assert!(
        !generated.join("sql/oracle").exists(),
        "the emptied directory is removed"
    );
    assert!(generated.join("NOTES.txt").exists());
    spec_in(dir.path(), &["build", "--check"]).expect(0);
}

#[test]
fn a_spec_with_errors_writes_nothing_and_exits_1() {
    let dir = project();
    edit(
        &dir.path().join("specs/tiny_erp.yaml"),
        "is_end: true\n    input:",
        "is_end: maybe\n    input:",
    );
    let run = spec_in(dir.path(), &["build"]).expect(1);
    assert!(
        run.stderr.contains("error[S003]") || run.stderr.contains("error["),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("nothing was written"), "{}", run.stderr);
    assert!(!dir.path().join("generated").exists());
}

#[test]
fn a_nul_byte_fails_the_build_with_a_clear_error() {
    let dir = project();
    edit(
        &dir.path().join("specs/tiny_erp.yaml"),
        "label: Region",
        "label: \"Reg\\0ion\"",
    );
    let run = spec_in(dir.path(), &["build", "--out", "out"]).expect(1);
    assert!(
        run.stderr.contains(
            "error: app `tiny_erp` (specs/tiny_erp.yaml): table `app_auth_fields`, row (app_id = 9001, field_key = 'region'), column `label`: the text contains a NUL byte"
        ),
        "{}",
        run.stderr
    );
    assert!(!dir.path().join("out").exists());
}

#[test]
fn missing_paths_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let run = spec_in(dir.path(), &["build", "nowhere"]).expect(2);
    assert!(run.stderr.contains("cannot read"), "{}", run.stderr);
}

/// generated/ is committed; this fails when it drifts from specs/.
#[test]
fn the_repository_generated_dir_is_up_to_date() {
    let project = spec::validate::validate(&[repo().join("specs")]).expect("specs/ is readable");
    if project.has_errors() {
        // specs_validate_cleanly (tests/integration/specs.rs) reports it.
        return;
    }
    let build = spec::codegen::build(&project.connectors).expect("specs/ builds");
    let entries = spec::codegen::output::compare(&repo().join("generated"), &build).unwrap();
    let stale: Vec<String> = entries
        .iter()
        .filter(|e| e.status != spec::codegen::output::Status::Unchanged)
        .map(|e| {
            let status = match e.status {
                spec::codegen::output::Status::Changed { .. } => "differs",
                spec::codegen::output::Status::Missing => "missing",
                _ => "extra",
            };
            format!("{} ({status})", e.path.display())
        })
        .collect();
    assert!(
        stale.is_empty(),
        "generated/ is stale: run `cargo run -- build` and commit the result.\nstale files: {stale:#?}\n{}",
        spec::codegen::output::unified_diff(&entries, &build, "generated")
            .chars()
            .take(4000)
            .collect::<String>()
    );
}

// ---------------------------------------------------------------------------
// `spec diff`

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

/// A git repository with the base fixture committed as `specs/` (tag v1),
/// then a field renamed and a choice removed in the working tree.
fn repository() -> tempfile::TempDir {
    let dir = project();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "v1"]);
    git(dir.path(), &["tag", "v1"]);
    let spec = dir.path().join("specs/tiny_erp.yaml");
    edit(&spec, "key: remark", "key: note");
    edit(
        &spec,
        "              - {key: 3, label: {en: Defective, zh: 次品仓}}\n",
        "",
    );
    dir
}

#[test]
fn diff_from_a_git_ref_summarizes_and_warns() {
    let dir = repository();
    let run = spec_in(dir.path(), &["diff", "--from", "v1"]).expect(0);
    insta::assert_snapshot!("diff_cli_human", run.stdout);
    assert_eq!(run.stderr, "");
    // The same from a subdirectory, naming the path relative to it.
    let run_sub = spec_in(&dir.path().join("specs"), &["diff", "--from", "v1", "."]).expect(0);
    assert_eq!(run_sub.stdout, run.stdout);
    let run = spec_in(dir.path(), &["diff", "--from", "v1", "--fail-on-breaking"]).expect(1);
    assert!(
        run.stderr
            .contains("error: 2 breaking change(s) (--fail-on-breaking)"),
        "{}",
        run.stderr
    );
}

#[test]
fn diff_sql_is_the_delta_for_the_chosen_dialect() {
    let dir = repository();
    let run = spec_in(
        dir.path(),
        &[
            "diff",
            "--from",
            "v1",
            "--format",
            "sql",
            "--dialect",
            "postgres",
        ],
    )
    .expect(0);
    insta::assert_snapshot!("diff_cli_postgres", run.stdout);
    assert!(
        run.stderr
            .contains("warning: breaking change: tiny_erp: input field `data.remark`"),
        "{}",
        run.stderr
    );
    let run = spec_in(dir.path(), &["diff", "--from", "HEAD", "--format", "json"]).expect(0);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["from"], "HEAD");
    assert_eq!(json["dialect"], "mysql");
    assert_eq!(json["breaking"].as_array().unwrap().len(), 2);
    let changes = json["changes"].as_array().unwrap();
    assert!(changes.iter().any(|c| c["change"] == "renamed"
        && c["to"] == "data.note"
        && c["subject"]["path"] == "data.remark"));
    let fields = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["table"] == "app_action_fields")
        .unwrap();
    assert_eq!(
        (
            fields["inserted"].as_u64(),
            fields["updated"].as_u64(),
            fields["deleted"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert!(
        json["sql"]
            .as_str()
            .unwrap()
            .starts_with("-- Delta generated by `spec diff --from HEAD` for MySQL / MariaDB.")
    );
}

#[test]
fn diff_from_a_directory_and_without_changes() {
    let dir = project();
    let run = spec_in(dir.path(), &["diff", "--from", "specs"]).expect(0);
    assert_eq!(run.stdout, "no changes since `specs`\n");
    let run = spec_in(dir.path(), &["diff", "--from", "specs", "--format", "sql"]).expect(0);
    assert!(
        run.stdout.ends_with("--\n-- No changes.\n\n"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("TRANSACTION"), "{}", run.stdout);
}

#[test]
fn diff_from_an_unknown_ref_or_a_broken_baseline_exits_2() {
    let dir = repository();
    let run = spec_in(dir.path(), &["diff", "--from", "no-such-ref"]).expect(2);
    assert!(
        run.stderr
            .contains("`no-such-ref` is neither a directory nor a git revision"),
        "{}",
        run.stderr
    );
    let outside = tempfile::tempdir().unwrap();
    copy_dir(&base(), &outside.path().join("specs"));
    let run = spec_in(outside.path(), &["diff", "--from", "v1"]).expect(2);
    assert!(
        run.stderr.contains("not in a git repository"),
        "{}",
        run.stderr
    );
    // A baseline whose specs do not validate.
    edit(
        &dir.path().join("specs/tiny_erp.yaml"),
        "key: note",
        "key: remark",
    );
    let spec = dir.path().join("specs/tiny_erp.yaml");
    let good = fs::read_to_string(&spec).unwrap();
    edit(
        &spec,
        "is_end: true\n    input:",
        "is_end: maybe\n    input:",
    );
    git(dir.path(), &["commit", "-q", "-am", "broken"]);
    fs::write(&spec, good).unwrap();
    let run = spec_in(dir.path(), &["diff", "--from", "HEAD"]).expect(2);
    assert!(
        run.stderr
            .contains("cannot read the baseline git revision `HEAD`: its specs have 1 error(s)"),
        "{}",
        run.stderr
    );
    // Specs that do not exist at the ref: everything is new.
    let run = spec_in(dir.path(), &["diff", "--from", "v1", "specs/notes"]).expect(0);
    assert!(run.stdout.contains("no changes"), "{}", run.stdout);
    fs::create_dir_all(dir.path().join("more")).unwrap();
    fs::copy(
        dir.path().join("specs/tiny_erp.yaml"),
        dir.path().join("more/tiny_erp.yaml"),
    )
    .unwrap();
    let run = spec_in(dir.path(), &["diff", "--from", "v1", "more"]).expect(0);
    assert!(
        run.stderr.contains("note: `v1` has no files under `more`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("app `tiny_erp` (9001): added"),
        "{}",
        run.stdout
    );
}

// ---------------------------------------------------------------------------
// The streamed build (`spec build` without `--check`)

/// `n` copies of the base fixture's single-file connector, named so that
/// path order and app-id order disagree (the seed must still come out by
/// app id), one late copy adding a third language (so the pages rendered
/// before it must be rendered again for the site's languages), plus the
/// fixture's directory connector.
fn varied_specs(dir: &Path, n: usize) {
    let base_text = fs::read_to_string(base().join("tiny_erp.yaml")).unwrap();
    for i in 0..n {
        let app = 6000 - 2 * i;
        let mut text = base_text
            .replace("id: 9001", &format!("id: {app}"))
            .replace("id: 9002", &format!("id: {}", app + 1))
            .replace("key: tiny_erp", &format!("key: tiny_erp_{i:02}"));
        if i == n - 2 {
            text = text.replace("zh: 小型 ERP}", "zh: 小型 ERP, ja: 小さな ERP}");
        }
        fs::write(dir.join(format!("c_{i:02}.yaml")), text).unwrap();
    }
    copy_dir(&base().join("notes"), &dir.join("notes"));
}

/// Every file under `dir`, by relative path.
fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The streamed build writes exactly the files of the in-memory build
/// ([`spec::codegen::build_with`]), whatever the order of paths and app
/// ids, with the default templates (pages rendered early, some again) and
/// with the project's own (pages rendered at the end, here listing every
/// connector on every connector page).
#[test]
fn streamed_build_writes_the_bytes_of_the_in_memory_build() {
    let specs = tempfile::tempdir().unwrap();
    varied_specs(specs.path(), 12);
    let templates = tempfile::tempdir().unwrap();
    fs::write(
        templates.path().join("connector.md"),
        "# {{ connector.key }}\n{% for c in site.connectors %}- {{ c.key }}\n{% endfor %}",
    )
    .unwrap();
    let configs = [
        spec::config::Config::default(),
        spec::config::Config::parse(
            &format!(
                "[docs]\nbase_url = \"https://docs.example.com/\"\ntemplates = \"{}\"\n",
                templates.path().display()
            ),
            Path::new("spec.toml"),
        )
        .unwrap(),
    ];
    for paths in [vec![specs.path().to_path_buf()], vec![repo().join("specs")]] {
        let project = spec::validate::validate(&paths).unwrap();
        assert!(!project.has_errors(), "{:?}", project.diagnostics);
        for config in &configs {
            let expected = spec::codegen::build_with(&project.connectors, config).unwrap();
            let out = tempfile::tempdir().unwrap();
            let streamed = spec::codegen::stream::write(&paths, config, out.path()).unwrap();
            let written = streamed.written.expect("no spec errors").unwrap();
            assert_eq!(written.written.len(), expected.files.len());
            let got = tree(out.path());
            let want: std::collections::BTreeMap<String, Vec<u8>> = expected
                .files
                .iter()
                .map(|f| {
                    (
                        f.path.to_string_lossy().replace('\\', "/"),
                        f.contents.clone().into_bytes(),
                    )
                })
                .collect();
            assert_eq!(
                got.keys().collect::<Vec<_>>(),
                want.keys().collect::<Vec<_>>()
            );
            for (path, bytes) in &want {
                assert!(&got[path] == bytes, "{path} differs");
            }
            // Built again over itself: nothing changes.
            let again = spec::codegen::stream::write(&paths, config, out.path()).unwrap();
            let again = again.written.unwrap().unwrap();
            assert_eq!(again.written, Vec::<PathBuf>::new());
            assert_eq!(again.unchanged, expected.files.len());
        }
    }
}

/// A build that fails writes nothing and leaves no staged file behind:
/// whether the problem is found in one connector (rows no database can
/// hold, after other connectors were already generated) or only at the end
/// (two connectors with one app id).
#[test]
fn a_streamed_build_that_fails_leaves_the_output_as_it_was() {
    let specs = tempfile::tempdir().unwrap();
    varied_specs(specs.path(), 8);
    let out = tempfile::tempdir().unwrap();
    let generated = out.path().join("generated");
    let paths = vec![specs.path().to_path_buf()];
    let config = spec::config::Config::default();
    spec::codegen::stream::write(&paths, &config, &generated)
        .unwrap()
        .written
        .unwrap()
        .unwrap();
    let before = tree(out.path());

    // A NUL byte in the sixth connector's description.
    let sixth = specs.path().join("c_05.yaml");
    edit(&sixth, r#"🚀 and\na"#, r#"🚀 and\0a"#);
    let streamed = spec::codegen::stream::write(&paths, &config, &generated).unwrap();
    let error = streamed.written.expect("valid specs").expect_err("NUL");
    assert!(format!("{error:?}").contains("NUL"), "{error:?}");
    assert_eq!(tree(out.path()), before);

    // A duplicate app id, found only when every connector was checked.
    edit(&sixth, r#"🚀 and\0a"#, r#"🚀 and\na"#);
    let last = specs.path().join("c_07.yaml");
    edit(&last, "  id: 5986\n", "  id: 6000\n");
    let streamed = spec::codegen::stream::write(&paths, &config, &generated).unwrap();
    assert!(streamed.project.has_errors());
    assert!(streamed.written.is_none());
    assert_eq!(tree(out.path()), before);
    // The diagnostic shows the line of the other file, whose text the
    // validation had already dropped.
    let shown = spec::render::human(
        &streamed.project.sources,
        &streamed.project.diagnostics,
        false,
    );
    assert!(shown.contains("id: 6000"), "{shown}");

    // Through the binary too; a fresh output directory is not even made.
    let fresh = out.path().join("fresh");
    let run = spec_in(
        specs.path(),
        &["build", ".", "--out", fresh.to_str().unwrap()],
    )
    .expect(1);
    assert!(run.stderr.contains("nothing was written"), "{}", run.stderr);
    assert!(!fresh.exists());
}

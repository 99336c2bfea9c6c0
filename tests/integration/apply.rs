//! The generated SQL and `spec apply` on real databases: SQLite (a file),
//! MariaDB/MySQL and PostgreSQL.
//!
//! The servers' URLs come from `SPEC_TEST_MYSQL_URL` and
//! `SPEC_TEST_POSTGRES_URL` (no database in the URL: each test creates its
//! own and drops it), defaulting to the local services CI uses. Where a
//! server cannot be reached the test says so and passes, unless
//! `SPEC_TEST_REQUIRE_SERVICES=1` (set by `.ci/run`) makes that a failure.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use assert_cmd::cargo::CommandCargoExt as _;
use spec::codegen::apply::{self, Database, Mode};
use spec::codegen::dialect::Dialect;
use spec::codegen::diff;
use spec::codegen::rows::{self, AppRows};
use spec::codegen::sql::{self, Statement};

use crate::sql::{CASES, adversarial_spec, app_rows, base, case_dir};

/// A database created for one test, dropped afterwards.
struct TestDb {
    url: String,
    /// Server URL and database name, to drop it (none for SQLite).
    admin: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = &self.admin else {
            return;
        };
        if let Ok(mut db) = Database::connect(admin) {
            let force = if admin.starts_with("postgres") {
                " WITH (FORCE)"
            } else {
                ""
            };
            let _ = db.execute(&format!("DROP DATABASE IF EXISTS {name}{force}"));
        }
    }
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

fn server_url(dialect: Dialect) -> String {
    let (var, default) = match dialect {
        Dialect::Mysql => ("SPEC_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306"),
        Dialect::Postgres => (
            "SPEC_TEST_POSTGRES_URL",
            "postgres://postgres@127.0.0.1:5432",
        ),
        Dialect::Sqlite => unreachable!("SQLite needs no server"),
    };
    std::env::var(var).unwrap_or_else(|_| default.to_string())
}

/// A fresh, empty database of `dialect`; `None` when its server is not
/// reachable and not required.
fn fresh(dialect: Dialect) -> Option<TestDb> {
    if dialect == Dialect::Sqlite {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("spec.db").display());
        return Some(TestDb {
            url,
            admin: None,
            _dir: Some(dir),
        });
    }
    let server = server_url(dialect).trim_end_matches('/').to_string();
    let name = format!(
        "spec_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    let admin = match dialect {
        Dialect::Postgres => format!("{server}/postgres"),
        _ => server.clone(),
    };
    match Database::connect(&admin) {
        Ok(mut db) => db.execute(&format!("CREATE DATABASE {name}")).unwrap(),
        Err(error) => {
            assert!(
                std::env::var_os("SPEC_TEST_REQUIRE_SERVICES").is_none(),
                "{} is required (SPEC_TEST_REQUIRE_SERVICES) but unreachable: {error}",
                dialect.title()
            );
            eprintln!(
                "note: {} unreachable, its checks did not run: {error}",
                dialect.title()
            );
            return None;
        }
    }
    Some(TestDb {
        url: format!("{server}/{name}"),
        admin: Some((admin, name)),
        _dir: None,
    })
}

fn connect(db: &TestDb) -> Database {
    Database::connect(&db.url).unwrap()
}

/// Runs a generated file's statements as the file would: settings, then one
/// transaction (MySQL's DDL outside it, as it commits implicitly anyway).
fn run_script(db: &mut Database, script: &sql::Script) {
    if script.transactional {
        db.transaction(&script.statements).unwrap();
    } else {
        for statement in &script.statements {
            db.execute(&statement.sql).unwrap();
        }
    }
}

/// The fixtures plus the adversarial connector (quotes, backslashes,
/// newlines, emoji, a 100 KB help text).
fn specs_with_adversarial() -> (tempfile::TempDir, Vec<AppRows>) {
    let dir = tempfile::tempdir().unwrap();
    crate::build::copy_dir(&base(), dir.path());
    let long = "长的帮助文本 with 'quotes', \\backslashes\\ and a\nnewline. ".repeat(2000);
    std::fs::write(
        dir.path().join("adversarial.yaml"),
        adversarial_spec(&long).to_string(),
    )
    .unwrap();
    let apps = app_rows(dir.path());
    (dir, apps)
}

#[test]
fn schema_and_seed_load_twice_and_read_back_as_the_specs_in_every_dialect() {
    let (_dir, apps) = specs_with_adversarial();
    let expected = rows::merge(&apps);
    for dialect in Dialect::ALL {
        let Some(test) = fresh(dialect) else { continue };
        let mut db = connect(&test);
        for _ in 0..2 {
            run_script(&mut db, &sql::schema(dialect));
            run_script(&mut db, &sql::seed(dialect, &apps));
            assert!(
                db.read(false).unwrap() == expected,
                "{dialect}: the rows read back differ from the specs"
            );
        }
    }
}

#[test]
fn apply_writes_once_then_finds_nothing_to_do_in_every_dialect() {
    let (_dir, apps) = specs_with_adversarial();
    let expected = rows::merge(&apps);
    for dialect in Dialect::ALL {
        let Some(test) = fresh(dialect) else { continue };
        let mut db = connect(&test);
        let dry = apply::apply(&mut db, &expected, Mode::DryRun).unwrap();
        assert_eq!(dry.totals(), (expected.row_count(), 0, 0), "{dialect}");
        assert_eq!(
            db.read(false).unwrap().row_count(),
            0,
            "{dialect}: a dry run writes nothing"
        );
        let first = apply::apply(&mut db, &expected, Mode::Write).unwrap();
        assert_eq!(first.totals(), (expected.row_count(), 0, 0), "{dialect}");
        assert!(db.read(false).unwrap() == expected, "{dialect}");
        let second = apply::apply(&mut db, &expected, Mode::Write).unwrap();
        assert!(second.is_empty(), "{dialect}: {:?}", second.counts);
    }
}

/// Old seed + delta = new seed, and `apply` of the new specs over the old
/// ones gives the same rows, for every `spec diff` case, on every database.
#[test]
fn old_seed_plus_delta_equals_new_seed_in_every_dialect() {
    let old_apps = app_rows(&base());
    let old = rows::merge(&old_apps);
    for dialect in Dialect::ALL {
        let Some(test) = fresh(dialect) else { continue };
        let mut db = connect(&test);
        run_script(&mut db, &sql::schema(dialect));
        for case in CASES {
            let dir = case_dir(case);
            let new = rows::merge(&app_rows(dir.path()));
            run_script(&mut db, &sql::seed(dialect, &old_apps));
            assert!(
                db.read(false).unwrap() == old,
                "{dialect} {}: old seed",
                case.name
            );
            let delta = sql::delta_script(dialect, "old", &diff::delta(&old, &new), "");
            run_script(&mut db, &delta);
            assert!(
                db.read(false).unwrap() == new,
                "{dialect} {}: old seed + delta",
                case.name
            );
            // Back to the old rows through `apply`, then forward again.
            apply::apply(&mut db, &old, Mode::Write).unwrap();
            assert!(
                db.read(false).unwrap() == old,
                "{dialect} {}: apply old",
                case.name
            );
            let applied = apply::apply(&mut db, &new, Mode::Write).unwrap();
            assert_eq!(
                applied.statements, delta.statements,
                "{dialect} {}: apply runs the delta",
                case.name
            );
            assert!(
                db.read(false).unwrap() == new,
                "{dialect} {}: apply new",
                case.name
            );
        }
    }
}

#[test]
fn a_failure_midway_leaves_the_database_as_it_was_in_every_dialect() {
    let old_apps = app_rows(&base());
    let old = rows::merge(&old_apps);
    let remove_app = CASES.iter().find(|c| c.name == "remove_app").unwrap();
    let dir = case_dir(remove_app);
    let new = rows::merge(&app_rows(dir.path()));
    for dialect in Dialect::ALL {
        let Some(test) = fresh(dialect) else { continue };
        let mut db = connect(&test);
        apply::apply(&mut db, &old, Mode::Write).unwrap();
        let mut statements = sql::delta(dialect, &diff::delta(&old, &new));
        assert!(statements.len() > 2);
        // The deletes ran; then a statement fails.
        statements.insert(
            statements.len() - 1,
            Statement {
                comment: None,
                sql: "INSERT INTO no_such_table VALUES (1)".to_string(),
            },
        );
        let error = db
            .transaction(&statements)
            .expect_err("the injected statement fails");
        assert!(
            error.to_string().contains("no_such_table"),
            "{dialect}: {error}"
        );
        assert!(
            db.read(false).unwrap() == old,
            "{dialect}: the failed transaction left changes behind"
        );
    }
}

fn spec(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::cargo_bin("spec")
        .unwrap()
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn the_apply_command_reports_counts_dry_runs_and_drift() {
    let rows = rows::merge(&app_rows(&base())).row_count();
    for dialect in Dialect::ALL {
        let Some(test) = fresh(dialect) else { continue };
        let dir = tempfile::tempdir().unwrap();
        crate::build::copy_dir(&base(), &dir.path().join("specs"));
        let url = test.url.as_str();
        let (code, stdout, stderr) = spec(dir.path(), &["apply", "--database-url", url, "--check"]);
        assert_eq!(
            code, 1,
            "{dialect}: an empty database has drifted: {stderr}"
        );
        assert!(
            stdout.contains("app `tiny_erp` (9001): added"),
            "{dialect}: {stdout}"
        );
        let (code, stdout, stderr) =
            spec(dir.path(), &["apply", "--database-url", url, "--dry-run"]);
        assert_eq!(code, 0, "{dialect}: {stderr}");
        assert!(stdout.contains("INSERT INTO apps"), "{dialect}: {stdout}");
        assert!(
            stderr.contains(&format!(
                "dry run: would insert {rows}, update 0 and delete 0 row(s)"
            )),
            "{dialect}: {stderr}"
        );
        let (code, _, stderr) = spec(dir.path(), &["apply", "--database-url", url]);
        assert_eq!(code, 0, "{dialect}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "applied in one transaction: {rows} inserted, 0 updated, 0 deleted"
            )),
            "{dialect}: {stderr}"
        );
        let (code, _, stderr) = spec(dir.path(), &["apply", "--database-url", url, "--check"]);
        assert_eq!(code, 0, "{dialect}: {stderr}");
        assert!(
            stderr.contains(&format!("matches the specs ({rows} rows)")),
            "{dialect}: {stderr}"
        );
        // Someone edits a row by hand: drift, then `apply` puts it back.
        let mut db = connect(&test);
        db.execute("UPDATE app_action_fields SET label = 'hand-edited' WHERE action_id = 900102 AND path = 'data'").unwrap();
        db.execute("DELETE FROM app_auth_fields WHERE field_key = 'region'")
            .unwrap();
        drop(db);
        let (code, stdout, stderr) = spec(dir.path(), &["apply", "--database-url", url, "--check"]);
        assert_eq!(code, 1, "{dialect}: {stderr}");
        assert!(
            stdout.contains("input `data`: changed: label 'hand-edited' -> 'Count'"),
            "{dialect}: {stdout}"
        );
        assert!(
            stdout.contains("auth field `region`: added"),
            "{dialect}: {stdout}"
        );
        assert!(
            stderr.contains("1 row(s) missing, 1 different, 0 extra"),
            "{dialect}: {stderr}"
        );
        let (code, _, stderr) = spec(dir.path(), &["apply", "--database-url", url]);
        assert_eq!(code, 0, "{dialect}: {stderr}");
        assert!(
            stderr.contains("1 inserted, 1 updated, 0 deleted"),
            "{dialect}: {stderr}"
        );
        let (code, _, _) = spec(dir.path(), &["apply", "--database-url", url, "--check"]);
        assert_eq!(code, 0, "{dialect}");
    }
}

#[test]
fn the_apply_command_refuses_unknown_urls_without_echoing_them() {
    let dir = tempfile::tempdir().unwrap();
    crate::build::copy_dir(&base(), &dir.path().join("specs"));
    let (code, _, stderr) = spec(
        dir.path(),
        &["apply", "--database-url", "oracle://scott:tiger@db/x"],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("must start with `sqlite:`"), "{stderr}");
    assert!(!stderr.contains("tiger"), "{stderr}");
}

//! The SQL build: the generated SQL of a small connector in every dialect
//! (snapshots), escaping and round trips through a real SQLite, the seed's
//! idempotence and deletes, determinism, and the delta property of `spec
//! diff`: old seed + delta = new seed.

use std::fs;
use std::path::{Path, PathBuf};

use spec::codegen::changes;
use spec::codegen::dialect::Dialect;
use spec::codegen::diff;
use spec::codegen::rows::{self, AppRows, Row, SqlValue, Tables};
use spec::codegen::sql;
use spec::codegen::tables::{ColumnType, TABLES};
use spec::render::display_path;
use spec::validate::validate;
use sqlx::{Connection as _, Row as _, SqliteConnection};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn base() -> PathBuf {
    repo().join("tests/fixtures/sql/base")
}

/// The rows of the specs under `path`, which must validate cleanly.
pub(crate) fn app_rows(path: &Path) -> Vec<AppRows> {
    let project = validate(&[path.to_path_buf()]).expect("readable specs");
    let report = spec::render::human(&project.sources, &project.diagnostics, false);
    assert!(!project.has_errors(), "{report}");
    rows::all_rows(
        project
            .connectors
            .iter()
            .map(|c| (&c.model, display_path(&c.path))),
    )
    .expect("storable rows")
}

fn copy_dir(from: &Path, to: &Path, reverse: bool) {
    fs::create_dir_all(to).unwrap();
    let mut entries: Vec<_> = fs::read_dir(from)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    if reverse {
        entries.reverse();
    }
    for entry in entries {
        let target = to.join(entry.file_name().unwrap());
        if entry.is_dir() {
            copy_dir(&entry, &target, reverse);
        } else {
            fs::copy(&entry, &target).unwrap();
        }
    }
}

/// A copy of the base fixture with `edits` (each `from` must occur once)
/// applied to `tiny_erp.yaml`, and the directories in `remove` removed.
fn variant(edits: &[(&str, &str)], remove: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&base(), dir.path(), false);
    let file = dir.path().join("tiny_erp.yaml");
    let mut text = fs::read_to_string(&file).unwrap();
    for (from, to) in edits {
        assert_eq!(text.matches(from).count(), 1, "`{from}` must occur once");
        text = text.replacen(from, to, 1);
    }
    fs::write(&file, text).unwrap();
    for name in remove {
        fs::remove_dir_all(dir.path().join(name)).unwrap();
    }
    dir
}

/// The `remark` field of `create_count`, whole.
const REMARK: &str = "          - key: remark\n            type: text\n            help: \"Free text; it's stored as-is (\\\\n stays two characters)\"\n";

/// [`variant`], then: an edit that renames `triggers:` to
/// `triggers_removed:` cuts the trigger list off the file.
fn edited(edits: &[(&str, &str)], remove: &[&str]) -> tempfile::TempDir {
    let dir = variant(edits, remove);
    let file = dir.path().join("tiny_erp.yaml");
    let text = fs::read_to_string(&file).unwrap();
    if let Some(at) = text.find("triggers_removed:") {
        fs::write(&file, &text[..at]).unwrap();
    }
    dir
}

// ---------------------------------------------------------------------------
// A real SQLite, in process.

struct Sqlite {
    rt: tokio::runtime::Runtime,
    conn: SqliteConnection,
}

impl Sqlite {
    fn new() -> Sqlite {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let conn = rt
            .block_on(SqliteConnection::connect("sqlite::memory:"))
            .unwrap();
        Sqlite { rt, conn }
    }

    /// Runs a whole file, as `sqlite3 db < file` would.
    fn run(&mut self, sql: &str) {
        let result = self.rt.block_on(sqlx::raw_sql(sql).execute(&mut self.conn));
        if let Err(e) = result {
            panic!(
                "SQLite rejected the SQL: {e}\n{}",
                &sql[..sql.len().min(3000)]
            );
        }
    }

    /// Every row of every table, read back into the row model.
    fn tables(&mut self) -> Tables {
        let mut tables = Tables::default();
        for (at, table) in TABLES.iter().enumerate() {
            let columns: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
            let query = format!(
                "SELECT {} FROM {} ORDER BY {}",
                columns.join(", "),
                table.name,
                table.primary_key.join(", ")
            );
            let rows = self
                .rt
                .block_on(sqlx::query(&query).fetch_all(&mut self.conn))
                .unwrap();
            for db_row in rows {
                let values = table
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| match c.ty {
                        ColumnType::Int => db_row
                            .get::<Option<i64>, _>(i)
                            .map_or(SqlValue::Null, SqlValue::Int),
                        ColumnType::Key(_) | ColumnType::Text => db_row
                            .get::<Option<String>, _>(i)
                            .map_or(SqlValue::Null, SqlValue::Text),
                    })
                    .collect();
                let row = Row(values);
                tables.tables[at].rows.insert(row.key(table), row);
            }
        }
        tables
    }
}

/// The rows SQLite holds after running `files` in order.
fn sqlite_after(files: &[&str]) -> Tables {
    let mut db = Sqlite::new();
    for file in files {
        db.run(file);
    }
    db.tables()
}

pub(crate) fn schema(dialect: Dialect) -> String {
    sql::schema(dialect).text()
}

pub(crate) fn seed(dialect: Dialect, apps: &[AppRows]) -> String {
    sql::seed(dialect, apps).text()
}

// ---------------------------------------------------------------------------

#[test]
fn schema_and_seed_of_a_nested_connector_in_every_dialect() {
    let apps = app_rows(&base().join("tiny_erp.yaml"));
    for dialect in Dialect::ALL {
        insta::assert_snapshot!(format!("{dialect}_schema"), schema(dialect));
        insta::assert_snapshot!(format!("{dialect}_seed"), seed(dialect, &apps));
    }
}

#[test]
fn sqlite_holds_exactly_the_rows_of_the_specs_and_a_second_seed_changes_nothing() {
    let apps = app_rows(&base());
    let expected = rows::merge(&apps);
    let (schema, seed) = (schema(Dialect::Sqlite), seed(Dialect::Sqlite, &apps));
    let once = sqlite_after(&[&schema, &seed]);
    assert_eq!(once, expected);
    let twice = sqlite_after(&[&schema, &seed, &schema, &seed]);
    assert_eq!(twice, expected);
}

#[test]
fn the_seed_removes_what_the_specs_no_longer_have() {
    let old = app_rows(&base());
    // Without the `notes` app, without the trigger, without a field.
    let dir = edited(
        &[
            (REMARK, ""),
            (
                "triggers:\n  - id: 900201",
                "triggers_removed:\n  - id: 900201",
            ),
        ],
        &["notes"],
    );
    let new = app_rows(dir.path());
    let schema = schema(Dialect::Sqlite);
    let db = sqlite_after(&[
        &schema,
        &seed(Dialect::Sqlite, &old),
        &seed(Dialect::Sqlite, &new),
    ]);
    assert_eq!(db, rows::merge(&new));
    assert_eq!(db.get("apps").unwrap().rows.len(), 1);
    assert_eq!(db.get("app_action_meta").unwrap().rows.len(), 2);
    // And with no specs at all, the seed empties every table.
    let db = sqlite_after(&[
        &schema,
        &seed(Dialect::Sqlite, &old),
        &seed(Dialect::Sqlite, &[]),
    ]);
    assert_eq!(db.row_count(), 0);
}

/// Strings that break naive escaping, in every kind of text column.
const ADVERSARIAL: &[&str] = &[
    "it's",
    "back\\slash and C:\\new\\table",
    "\\'",
    "\\",
    "'; DROP TABLE apps; --",
    "line\nbreak, carriage\rreturn, CRLF\r\n and\ttab",
    "聚水潭 新建盘点单 🚀 👩‍👩‍👧 \u{1F600}",
    "%_ \\% \\_",
    "$$ $tag$ /* not a comment */",
    "\"double\" and `back` quotes",
];

/// A connector whose texts are the adversarial strings, written as JSON
/// (which is YAML) so the strings need no YAML escaping by hand.
pub(crate) fn adversarial_spec(long: &str) -> serde_json::Value {
    let choices: Vec<serde_json::Value> = ADVERSARIAL
        .iter()
        .enumerate()
        .map(|(i, s)| serde_json::json!({"key": format!("c{i}"), "label": {"en": s, "zh": format!("选项 {s}")}}))
        .collect();
    let fields: Vec<serde_json::Value> = ADVERSARIAL
        .iter()
        .enumerate()
        .map(|(i, s)| serde_json::json!({"key": format!("f{i}"), "type": "string", "label": s, "help": s, "placeholder": s, "default": s}))
        .collect();
    serde_json::json!({
        "spec_version": 1,
        "app": {
            "id": 9100,
            "key": "adversarial",
            "name": {"en": ADVERSARIAL[0], "zh": ADVERSARIAL[6]},
            "description": ADVERSARIAL.join(" | "),
            "category": "test",
            "base_url": "https://example.com/api"
        },
        "auth": {"type": "none"},
        "actions": [{
            "id": 910001,
            "key": "echo",
            "name": ADVERSARIAL[4],
            "description": long,
            "is_end": true,
            "input": [
                {"key": "kind", "type": "string", "choices": choices, "help": long},
                {"key": "group", "type": "group", "fields": fields}
            ],
            "request": {"path": "/echo", "headers": {"X-Note": ADVERSARIAL[5]}}
        }]
    })
}

#[test]
fn adversarial_and_very_long_strings_round_trip_through_sqlite() {
    let long = "长的帮助文本 with 'quotes', \\backslashes\\ and a\nnewline. ".repeat(2000);
    assert!(long.len() > 100 * 1024);
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("adversarial.yaml"),
        adversarial_spec(&long).to_string(),
    )
    .unwrap();
    let apps = app_rows(dir.path());
    let expected = rows::merge(&apps);
    let texts: Vec<&str> = expected
        .tables
        .iter()
        .flat_map(|t| t.rows.values())
        .flat_map(|r| r.0.iter().filter_map(SqlValue::as_str))
        .collect();
    for s in ADVERSARIAL {
        assert!(texts.contains(s), "{s:?} should be a column value");
    }
    assert!(texts.contains(&long.as_str()));
    let db = sqlite_after(&[&schema(Dialect::Sqlite), &seed(Dialect::Sqlite, &apps)]);
    assert_eq!(db, expected);
}

#[test]
fn a_nul_byte_is_refused_naming_the_connector_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = adversarial_spec("fine");
    spec["actions"][0]["input"][1]["fields"][2]["help"] = serde_json::json!("before\u{0}after");
    fs::write(dir.path().join("nul.yaml"), spec.to_string()).unwrap();
    let project = validate(&[dir.path().to_path_buf()]).unwrap();
    assert!(!project.has_errors());
    let error = spec::codegen::build(&project.connectors).expect_err("NUL cannot be stored");
    let message = error.to_string();
    assert_eq!(error.table, "app_action_fields");
    assert_eq!(error.column, Some("help_txt"));
    for part in [
        "app `adversarial`",
        "nul.yaml",
        "path = 'group.f2'",
        "`help_txt`",
        "NUL",
        "remove",
    ] {
        assert!(message.contains(part), "`{part}` missing from: {message}");
    }
}

#[test]
fn a_key_longer_than_its_column_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = adversarial_spec("fine");
    spec["actions"][0]["key"] = serde_json::json!("k".repeat(200));
    fs::write(dir.path().join("long.yaml"), spec.to_string()).unwrap();
    let project = validate(&[dir.path().to_path_buf()]).unwrap();
    let error = spec::codegen::build(&project.connectors).expect_err("too long");
    assert_eq!(
        (error.table, error.column),
        ("app_action_meta", Some("action_key"))
    );
    assert!(error.to_string().contains("200 characters"), "{error}");
}

#[test]
fn the_build_is_the_same_bytes_whatever_the_file_order() {
    for source in [base(), repo().join("specs")] {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        copy_dir(&source, &a.path().join("specs"), false);
        copy_dir(&source, &b.path().join("specs"), true);
        let build = |dir: &Path, path: PathBuf| {
            let project = validate(&[path]).unwrap();
            assert!(!project.has_errors(), "{}", display_path(dir));
            spec::codegen::build(&project.connectors).unwrap().files
        };
        // Relative and absolute paths, different directories, reversed
        // creation order: the same files.
        let first = build(a.path(), a.path().join("specs"));
        let second = build(b.path(), b.path().join("specs").join("."));
        assert_eq!(first, second, "{}", display_path(&source));
        assert!(
            first
                .iter()
                .all(|f| !f.contents.contains(&display_path(a.path())))
        );
    }
}

// ---------------------------------------------------------------------------
// `spec diff`: the summary, the breaking changes and the delta SQL.

pub(crate) struct Case {
    pub(crate) name: &'static str,
    edits: &'static [(&'static str, &'static str)],
    remove: &'static [&'static str],
}

pub(crate) const CASES: &[Case] = &[
    Case {
        name: "no_change",
        edits: &[],
        remove: &[],
    },
    Case {
        name: "add_fields",
        edits: &[(
            "          - key: remark\n",
            "          - key: urgent\n            type: boolean\n            required: true\n          - key: tag\n            type: string\n          - key: remark\n",
        )],
        remove: &[],
    },
    Case {
        name: "remove_field",
        edits: &[(REMARK, "")],
        remove: &[],
    },
    Case {
        name: "rename_field",
        edits: &[("key: remark", "key: note")],
        remove: &[],
    },
    Case {
        name: "narrow_choices",
        edits: &[(
            "              - {key: 3, label: {en: Defective, zh: 次品仓}}\n",
            "",
        )],
        remove: &[],
    },
    Case {
        name: "remove_trigger",
        edits: &[(
            "triggers:\n  - id: 900201",
            "triggers_removed:\n  - id: 900201",
        )],
        remove: &[],
    },
    Case {
        name: "change_id",
        edits: &[("id: 900101", "id: 900109")],
        remove: &[],
    },
    Case {
        name: "change_types_and_texts",
        edits: &[
            (
                "                type: integer\n                required: true\n                constraints: {min: 0}",
                "                type: number\n                required: true\n                constraints: {min: 0.5}",
            ),
            (
                "              - key: batch_id\n                type: string\n",
                "              - key: batch_id\n                type: string\n                required: true\n",
            ),
            (
                "description: Uploads a count; it overwrites stock levels.",
                "description: {en: Uploads a count., zh: 上传盘点单。}",
            ),
        ],
        remove: &[],
    },
    Case {
        name: "change_auth",
        edits: &[
            ("  type: api_key\n", "  type: bearer\n"),
            (
                "  place:\n    - {in: header, name: X-Api-Key, value: \"{{ auth.api_key }}\"}\n",
                "  token: \"{{ auth.api_key }}\"\n",
            ),
            (
                "      required: false\n      default: cn\n",
                "      default: cn\n",
            ),
        ],
        remove: &[],
    },
    Case {
        name: "remove_app",
        edits: &[],
        remove: &["notes"],
    },
];

pub(crate) fn case_dir(case: &Case) -> tempfile::TempDir {
    edited(case.edits, case.remove)
}

#[test]
fn diff_summaries_breaking_changes_and_delta_sql() {
    let old = rows::merge(&app_rows(&base()));
    for case in CASES {
        let dir = case_dir(case);
        let new = rows::merge(&app_rows(dir.path()));
        let delta = diff::delta(&old, &new);
        let report = changes::report(&old, &new);
        let summary = changes::render_human(&report);
        let sql = sql::delta_script(Dialect::Mysql, "v1", &delta, &summary).text();
        insta::assert_snapshot!(format!("diff_{}", case.name), sql);
    }
}

#[test]
fn breaking_changes_are_named() {
    let old = rows::merge(&app_rows(&base()));
    let expect: &[(&str, &[&str])] = &[
        ("no_change", &[]),
        (
            "add_fields",
            &["input field `data.urgent` of action `create_count` (900102) is new and required"],
        ),
        (
            "remove_field",
            &["input field `data.remark` of action `create_count` (900102) was removed"],
        ),
        (
            "rename_field",
            &[
                "`data.remark` of action `create_count` (900102) was removed and `data.note` added with the same type",
            ],
        ),
        (
            "narrow_choices",
            &[
                "`data.stock_type` of action `create_count` (900102) choices narrowed: `3` no longer offered",
            ],
        ),
        (
            "remove_trigger",
            &["trigger `new_order` (900201) was removed"],
        ),
        (
            "change_id",
            &["action `list_warehouses` (900109) id changed from 900101 to 900109"],
        ),
        (
            "change_types_and_texts",
            &[
                "`data.items.qty` of action `create_count` (900102) type changed from 'integer' to 'number'",
                "`data.items.batch_id` of action `create_count` (900102) is now required",
            ],
        ),
        (
            "change_auth",
            &[
                "auth type changed from 'api_key' to 'bearer'",
                "auth field `region` is now required",
            ],
        ),
        ("remove_app", &["app `notes` (9002) was removed"]),
    ];
    for case in CASES {
        let dir = case_dir(case);
        let new = rows::merge(&app_rows(dir.path()));
        let report = changes::report(&old, &new);
        let found: Vec<String> = report
            .breaking
            .iter()
            .map(|b| format!("{} {}", b.subject, b.message))
            .collect();
        let (_, wanted) = expect
            .iter()
            .find(|(name, _)| *name == case.name)
            .expect("every case is listed");
        assert_eq!(found.len(), wanted.len(), "{}: {found:#?}", case.name);
        for w in *wanted {
            assert!(
                found.iter().any(|f| f.contains(w)),
                "{}: `{w}` not in {found:#?}",
                case.name
            );
        }
    }
}

/// The property: applying the delta to a database seeded from the
/// old specs leaves exactly the rows a fresh seed of the new specs gives.
/// Both directions, every case, on a real SQLite.
#[test]
fn old_seed_plus_delta_equals_new_seed() {
    let base_apps = app_rows(&base());
    let schema = schema(Dialect::Sqlite);
    for case in CASES {
        let dir = case_dir(case);
        let case_apps = app_rows(dir.path());
        for (old_apps, new_apps, direction) in [
            (&base_apps, &case_apps, "forward"),
            (&case_apps, &base_apps, "backward"),
        ] {
            let (old, new) = (rows::merge(old_apps), rows::merge(new_apps));
            let delta = diff::delta(&old, &new);
            let summary = changes::render_human(&changes::report(&old, &new));
            let delta_sql = sql::delta_script(Dialect::Sqlite, "old", &delta, &summary).text();
            let fresh = sqlite_after(&[&schema, &seed(Dialect::Sqlite, new_apps)]);
            let migrated = sqlite_after(&[&schema, &seed(Dialect::Sqlite, old_apps), &delta_sql]);
            assert_eq!(migrated, fresh, "{} {direction}", case.name);
            assert_eq!(fresh, new, "{} {direction}", case.name);
            // The delta is idempotent too: it upserts and deletes by key.
            let twice = sqlite_after(&[
                &schema,
                &seed(Dialect::Sqlite, old_apps),
                &delta_sql,
                &delta_sql,
            ]);
            assert_eq!(
                twice, fresh,
                "{} {direction}, delta applied twice",
                case.name
            );
        }
    }
}

#[test]
fn delta_batches_and_groups_deletes() {
    // Removing an app deletes its fields by (action_id, direction) groups.
    let old = rows::merge(&app_rows(&base()));
    let dir = variant(&[], &["notes"]);
    let new = rows::merge(&app_rows(dir.path()));
    let statements = sql::delta(Dialect::Postgres, &diff::delta(&old, &new));
    let sql: Vec<&str> = statements.iter().map(|s| s.sql.as_str()).collect();
    assert_eq!(
        sql,
        [
            "DELETE FROM app_action_fields WHERE action_id = 900301 AND direction = 'input' AND path IN ('body', 'title')",
            "DELETE FROM app_action_fields WHERE action_id = 900301 AND direction = 'output' AND path IN ('id')",
            "DELETE FROM app_action_fields WHERE action_id = 900302 AND direction = 'input' AND path IN ('id')",
            "DELETE FROM app_action_meta WHERE action_id IN (900301, 900302)",
            "DELETE FROM app_auth_fields WHERE app_id = 9002 AND field_key IN ('token')",
            "DELETE FROM apps WHERE app_id IN (9002)",
        ]
    );
}

/// docs/tables.md documents every table and column exactly as the code
/// defines them (the same lines are the comments in schema.sql).
#[test]
fn docs_tables_md_has_the_reference_of_every_column() {
    let docs = fs::read_to_string(repo().join("docs/tables.md")).unwrap();
    let (start, end) = ("<!-- reference:start -->\n", "<!-- reference:end -->");
    let at = docs
        .find(start)
        .expect("docs/tables.md marks its reference section")
        + start.len();
    let until = docs[at..].find(end).expect("the section ends") + at;
    let expected = spec::codegen::tables::markdown_reference();
    if docs[at..until] != expected && std::env::var_os("SPEC_UPDATE_DOCS").is_some() {
        fs::write(
            repo().join("docs/tables.md"),
            format!("{}{expected}{}", &docs[..at], &docs[until..]),
        )
        .unwrap();
        return;
    }
    assert!(
        docs[at..until] == expected,
        "docs/tables.md's reference section is stale: run `SPEC_UPDATE_DOCS=1 cargo test docs_tables_md` \
         (it rewrites the section from src/codegen/tables.rs), or replace it with:\n{expected}"
    );
    for table in TABLES {
        for column in table.columns {
            assert!(
                schema(Dialect::Mysql)
                    .contains(&format!("  -- {}\n  {} ", column.doc, column.name))
            );
        }
    }
}

//! What changed between two versions of the specs, for people: per app,
//! which auth fields, actions, triggers and fields were added, removed,
//! renamed or changed (and in which columns), and which changes break
//! existing workflows or connections.
//!
//! Rows are matched by what they mean (app key, action key, field path),
//! not by primary key, so an id change reads as "id changed" rather than
//! as a removal plus an addition. The SQL delta ([`super::diff`]) is by
//! primary key; both come from the same [`Tables`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::{Serialize, Serializer};

use super::rows::{Row, SqlValue, Tables};
use super::tables::{self, Table};

/// One change to one thing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The app's key.
    pub app: String,
    pub subject: Subject,
    #[serde(flatten)]
    pub kind: ChangeKind,
    /// For `changed`: the columns that differ.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<ColumnChange>,
    /// A short remark: what an added or removed item held, fields that moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Subject {
    App {
        id: i64,
    },
    AuthField {
        key: String,
    },
    Action {
        kind: String,
        key: String,
        id: i64,
    },
    Field {
        action: String,
        direction: String,
        path: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
    /// Removed, and a field of the same type added at the same place.
    Renamed {
        to: String,
    },
}

/// A column whose value differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnChange {
    pub column: &'static str,
    #[serde(serialize_with = "value_json")]
    pub old: SqlValue,
    #[serde(serialize_with = "value_json")]
    pub new: SqlValue,
}

fn value_json<S: Serializer>(value: &SqlValue, s: S) -> Result<S::Ok, S::Error> {
    match value {
        SqlValue::Null => s.serialize_none(),
        SqlValue::Int(i) => s.serialize_i64(*i),
        SqlValue::Text(t) => s.serialize_str(t),
    }
}

/// A change that breaks existing workflows or connected accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Breaking {
    pub app: String,
    /// e.g. "trigger `new_order` (70021)", "input field `data.so_id` of action `create`".
    pub subject: String,
    pub message: String,
}

/// Every change, and the breaking ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Ordered by app key; within an app: the app, its auth fields, then each
    /// action or trigger followed by its fields.
    pub changes: Vec<Change>,
    pub breaking: Vec<Breaking>,
}

impl Report {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

struct AppView<'a> {
    id: i64,
    row: &'a Row,
    auth: BTreeMap<&'a str, &'a Row>,
    actions: BTreeMap<&'a str, ActionView<'a>>,
}

struct ActionView<'a> {
    id: i64,
    kind: &'a str,
    row: &'a Row,
    fields: BTreeMap<(&'a str, &'a str), &'a Row>,
}

fn text<'a>(row: &'a Row, table: &Table, column: &str) -> &'a str {
    row.get(table, column).as_str().unwrap_or("")
}

fn int(row: &Row, table: &Table, column: &str) -> i64 {
    row.get(table, column).as_int().unwrap_or(0)
}

/// The rows of `tables` by meaning: app key -> auth fields, action keys ->
/// fields. Rows whose parent row is missing (never so for specs) are left
/// out.
fn views(t: &Tables) -> BTreeMap<&str, AppView<'_>> {
    let (apps, auth, actions, fields) = (
        &t.tables[tables::APPS_AT],
        &t.tables[tables::AUTH_FIELDS_AT],
        &t.tables[tables::ACTIONS_AT],
        &t.tables[tables::FIELDS_AT],
    );
    let mut by_id: BTreeMap<i64, AppView<'_>> = BTreeMap::new();
    let mut keys: BTreeMap<i64, &str> = BTreeMap::new();
    for row in apps.rows.values() {
        let id = int(row, apps.table, "app_id");
        keys.insert(id, text(row, apps.table, "app_key"));
        by_id.insert(
            id,
            AppView {
                id,
                row,
                auth: BTreeMap::new(),
                actions: BTreeMap::new(),
            },
        );
    }
    for row in auth.rows.values() {
        if let Some(app) = by_id.get_mut(&int(row, auth.table, "app_id")) {
            app.auth.insert(text(row, auth.table, "field_key"), row);
        }
    }
    let mut action_owner: BTreeMap<i64, (i64, &str)> = BTreeMap::new();
    for row in actions.rows.values() {
        let (id, app_id) = (
            int(row, actions.table, "action_id"),
            int(row, actions.table, "app_id"),
        );
        let key = text(row, actions.table, "action_key");
        if let Some(app) = by_id.get_mut(&app_id) {
            action_owner.insert(id, (app_id, key));
            app.actions.insert(
                key,
                ActionView {
                    id,
                    kind: text(row, actions.table, "kind"),
                    row,
                    fields: BTreeMap::new(),
                },
            );
        }
    }
    for row in fields.rows.values() {
        let Some(&(app_id, key)) = action_owner.get(&int(row, fields.table, "action_id")) else {
            continue;
        };
        if let Some(action) = by_id.get_mut(&app_id).and_then(|a| a.actions.get_mut(key)) {
            let at = (
                text(row, fields.table, "direction"),
                text(row, fields.table, "path"),
            );
            action.fields.insert(at, row);
        }
    }
    by_id
        .into_iter()
        .map(|(id, view)| (keys[&id], view))
        .collect()
}

/// Columns that differ, leaving out `skip` (identity columns, compared
/// separately).
fn column_changes(table: &Table, old: &Row, new: &Row, skip: &[&str]) -> Vec<ColumnChange> {
    table
        .columns
        .iter()
        .zip(old.0.iter().zip(&new.0))
        .filter(|(c, (o, n))| o != n && !skip.contains(&c.name))
        .map(|(c, (o, n))| ColumnChange {
            column: c.name,
            old: o.clone(),
            new: n.clone(),
        })
        .collect()
}

/// Compares the old rows with the new ones by meaning.
pub fn report(old: &Tables, new: &Tables) -> Report {
    let (old_apps, new_apps) = (views(old), views(new));
    let mut report = Report::default();
    let keys: BTreeSet<&str> = old_apps.keys().chain(new_apps.keys()).copied().collect();
    for key in keys {
        let mut r = AppReport {
            app: key,
            report: &mut report,
        };
        match (old_apps.get(key), new_apps.get(key)) {
            (None, Some(new)) => r.change(
                Subject::App { id: new.id },
                ChangeKind::Added,
                Vec::new(),
                Some(contents(new)),
            ),
            (Some(old), None) => {
                r.change(
                    Subject::App { id: old.id },
                    ChangeKind::Removed,
                    Vec::new(),
                    Some(contents(old)),
                );
                r.breaking(
                    format!("app `{key}` ({})", old.id),
                    "was removed: every workflow and connected account using it stops working"
                        .into(),
                );
            }
            (Some(old), Some(new)) => r.app(old, new),
            (None, None) => unreachable!("the key comes from one side"),
        }
    }
    report
}

fn contents(app: &AppView<'_>) -> String {
    let triggers = app.actions.values().filter(|a| a.kind == "trigger").count();
    let fields: usize = app.actions.values().map(|a| a.fields.len()).sum();
    format!(
        "{} auth field(s), {} action(s), {triggers} trigger(s), {fields} field(s)",
        app.auth.len(),
        app.actions.len() - triggers
    )
}

struct AppReport<'r, 'k> {
    app: &'k str,
    report: &'r mut Report,
}

impl AppReport<'_, '_> {
    fn change(
        &mut self,
        subject: Subject,
        kind: ChangeKind,
        columns: Vec<ColumnChange>,
        note: Option<String>,
    ) {
        self.report.changes.push(Change {
            app: self.app.to_string(),
            subject,
            kind,
            columns,
            note,
        });
    }

    fn breaking(&mut self, subject: String, message: String) {
        self.report.breaking.push(Breaking {
            app: self.app.to_string(),
            subject,
            message,
        });
    }

    fn app(&mut self, old: &AppView<'_>, new: &AppView<'_>) {
        let table = &tables::APPS;
        let columns = column_changes(table, old.row, new.row, &["app_id"]);
        let subject = format!("app `{}`", self.app);
        if old.id != new.id {
            self.breaking(
                subject.clone(),
                format!(
                    "id changed from {} to {}: the platform knows the app by its id",
                    old.id, new.id
                ),
            );
        }
        for c in &columns {
            if c.column == "auth_type" {
                self.breaking(
                    subject.clone(),
                    format!(
                        "auth type changed from {} to {}: every connected account must reconnect",
                        c.old, c.new
                    ),
                );
            }
        }
        if !columns.is_empty() || old.id != new.id {
            let note = (old.id != new.id).then(|| format!("id {} -> {}", old.id, new.id));
            self.change(
                Subject::App { id: new.id },
                ChangeKind::Changed,
                columns,
                note,
            );
        }
        self.auth_fields(old, new);
        let keys: BTreeSet<&str> = old
            .actions
            .keys()
            .chain(new.actions.keys())
            .copied()
            .collect();
        for key in keys {
            match (old.actions.get(key), new.actions.get(key)) {
                (None, Some(a)) => {
                    let note = format!("{} field(s)", a.fields.len());
                    self.change(
                        action_subject(a, key),
                        ChangeKind::Added,
                        Vec::new(),
                        Some(note),
                    );
                }
                (Some(a), None) => {
                    let note = format!("{} field(s)", a.fields.len());
                    self.change(
                        action_subject(a, key),
                        ChangeKind::Removed,
                        Vec::new(),
                        Some(note),
                    );
                    self.breaking(
                        format!("{} `{key}` ({})", a.kind, a.id),
                        "was removed: workflows using it stop working".into(),
                    );
                }
                (Some(o), Some(n)) => self.action(key, o, n),
                (None, None) => unreachable!("the key comes from one side"),
            }
        }
    }

    fn auth_fields(&mut self, old: &AppView<'_>, new: &AppView<'_>) {
        let table = &tables::APP_AUTH_FIELDS;
        let keys: BTreeSet<&str> = old.auth.keys().chain(new.auth.keys()).copied().collect();
        for key in keys {
            let subject = Subject::AuthField {
                key: key.to_string(),
            };
            let shown = format!("auth field `{key}`");
            match (old.auth.get(key), new.auth.get(key)) {
                (None, Some(row)) => {
                    self.change(subject, ChangeKind::Added, Vec::new(), None);
                    if int(row, table, "required") == 1 {
                        self.breaking(
                            shown,
                            "is new and required: connected accounts lack it until they reconnect"
                                .into(),
                        );
                    }
                }
                (Some(_), None) => self.change(subject, ChangeKind::Removed, Vec::new(), None),
                (Some(o), Some(n)) => {
                    let columns = column_changes(table, o, n, &["app_id", "position"]);
                    if columns.is_empty() {
                        continue;
                    }
                    if columns
                        .iter()
                        .any(|c| c.column == "required" && c.new == SqlValue::Int(1))
                    {
                        self.breaking(
                            shown,
                            "is now required: connected accounts lack it until they reconnect"
                                .into(),
                        );
                    }
                    self.change(subject, ChangeKind::Changed, columns, None);
                }
                (None, None) => unreachable!(),
            }
        }
    }

    fn action(&mut self, key: &str, old: &ActionView<'_>, new: &ActionView<'_>) {
        let table = &tables::APP_ACTION_META;
        let shown = format!("{} `{key}` ({})", new.kind, new.id);
        let columns = column_changes(table, old.row, new.row, &["action_id", "app_id"]);
        if old.id != new.id {
            self.breaking(
                shown.clone(),
                format!(
                    "id changed from {} to {}: workflows refer to it by its old id",
                    old.id, new.id
                ),
            );
        }
        if old.kind != new.kind {
            self.breaking(
                shown.clone(),
                format!("changed from {} to {}", old.kind, new.kind),
            );
        }
        let fields = FieldChanges::new(old, new);
        let mut notes = Vec::new();
        if old.id != new.id {
            notes.push(format!("id {} -> {}", old.id, new.id));
        }
        if !fields.moved.is_empty() {
            notes.push(format!("moved: {}", fields.moved.join(", ")));
        }
        if !columns.is_empty() || !notes.is_empty() || !fields.changes.is_empty() {
            let note = (!notes.is_empty()).then(|| notes.join("; "));
            self.change(action_subject(new, key), ChangeKind::Changed, columns, note);
        }
        for (subject, kind, columns, breaking) in fields.changes {
            let Subject::Field {
                direction, path, ..
            } = &subject
            else {
                unreachable!("field changes are about fields")
            };
            let field = format!("{direction} field `{path}` of {shown}");
            for message in breaking {
                self.breaking(field.clone(), message);
            }
            self.change(subject, kind, columns, None);
        }
    }
}

fn action_subject(action: &ActionView<'_>, key: &str) -> Subject {
    Subject::Action {
        kind: action.kind.to_string(),
        key: key.to_string(),
        id: action.id,
    }
}

type FieldChange = (Subject, ChangeKind, Vec<ColumnChange>, Vec<String>);

/// The field changes of one action present on both sides.
struct FieldChanges {
    changes: Vec<FieldChange>,
    /// Fields whose only change is their position.
    moved: Vec<String>,
}

impl FieldChanges {
    fn new(old: &ActionView<'_>, new: &ActionView<'_>) -> FieldChanges {
        let table = &tables::APP_ACTION_FIELDS;
        let action = text(new.row, &tables::APP_ACTION_META, "action_key");
        let removed: Vec<(&str, &str)> = old
            .fields
            .keys()
            .filter(|k| !new.fields.contains_key(*k))
            .copied()
            .collect();
        let added: Vec<(&str, &str)> = new
            .fields
            .keys()
            .filter(|k| !old.fields.contains_key(*k))
            .copied()
            .collect();
        // Only the topmost: the children of a removed (added) group go with it.
        let parent = |row: &Row| row.get(table, "parent_path").as_str().map(str::to_string);
        let removed: Vec<(&str, &str)> = removed
            .iter()
            .filter(|(d, p)| {
                parent(old.fields[&(*d, *p)])
                    .is_none_or(|parent| !removed.contains(&(*d, parent.as_str())))
            })
            .copied()
            .collect();
        let added: Vec<(&str, &str)> = added
            .iter()
            .filter(|(d, p)| {
                parent(new.fields[&(*d, *p)])
                    .is_none_or(|parent| !added.contains(&(*d, parent.as_str())))
            })
            .copied()
            .collect();
        // A removed field and an added one of the same type under the same
        // parent look like a rename; prefer one at the same position.
        let mut renamed: BTreeMap<(&str, &str), &str> = BTreeMap::new();
        let mut taken: BTreeSet<(&str, &str)> = BTreeSet::new();
        for &(d, p) in &removed {
            let o = old.fields[&(d, p)];
            let candidates: Vec<(&str, &str)> = added
                .iter()
                .filter(|a| a.0 == d && !taken.contains(*a))
                .filter(|a| {
                    let n = new.fields[*a];
                    n.get(table, "parent_path") == o.get(table, "parent_path")
                        && n.get(table, "type") == o.get(table, "type")
                })
                .copied()
                .collect();
            let best = candidates
                .iter()
                .find(|a| new.fields[*a].get(table, "position") == o.get(table, "position"))
                .or(candidates.first());
            if let Some(&to) = best {
                taken.insert(to);
                renamed.insert((d, p), to.1);
            }
        }
        let mut changes = Vec::new();
        let mut moved = Vec::new();
        let subject = |d: &str, p: &str| Subject::Field {
            action: action.to_string(),
            direction: d.to_string(),
            path: p.to_string(),
        };
        let keys: BTreeSet<(&str, &str)> = old
            .fields
            .keys()
            .chain(new.fields.keys())
            .copied()
            .collect();
        for (d, p) in keys {
            let is_input = d == "input";
            match (old.fields.get(&(d, p)), new.fields.get(&(d, p))) {
                (Some(_), None) => {
                    if let Some(to) = renamed.get(&(d, p)) {
                        let message = format!(
                            "was removed and `{to}` added with the same type at the same place: \
                             if it is a rename, existing workflows lose the value mapped to `{p}`"
                        );
                        changes.push((
                            subject(d, p),
                            ChangeKind::Renamed { to: to.to_string() },
                            Vec::new(),
                            vec![message],
                        ));
                    } else if removed.contains(&(d, p)) {
                        let message = if is_input {
                            "was removed: existing workflows lose the value they set".to_string()
                        } else {
                            "was removed: later steps that use it get nothing".to_string()
                        };
                        changes.push((
                            subject(d, p),
                            ChangeKind::Removed,
                            Vec::new(),
                            vec![message],
                        ));
                    }
                }
                (None, Some(n)) => {
                    if taken.contains(&(d, p)) || !added.contains(&(d, p)) {
                        continue;
                    }
                    let mut breaking = Vec::new();
                    if is_input && int(n, table, "required") == 1 {
                        breaking.push(
                            "is new and required: existing workflows do not set it".to_string(),
                        );
                    }
                    changes.push((subject(d, p), ChangeKind::Added, Vec::new(), breaking));
                }
                (Some(o), Some(n)) => {
                    let columns = column_changes(table, o, n, &["action_id", "position"]);
                    if columns.is_empty() {
                        if o.get(table, "position") != n.get(table, "position") {
                            moved.push(format!("{d} `{p}`"));
                        }
                        continue;
                    }
                    let breaking = field_breaking(&columns, is_input);
                    changes.push((subject(d, p), ChangeKind::Changed, columns, breaking));
                }
                (None, None) => unreachable!(),
            }
        }
        FieldChanges { changes, moved }
    }
}

/// Why a change to an existing field breaks workflows.
fn field_breaking(columns: &[ColumnChange], is_input: bool) -> Vec<String> {
    let mut out = Vec::new();
    for c in columns {
        match c.column {
            "type" => out.push(format!("type changed from {} to {}", c.old, c.new)),
            "multiples" => out.push(if c.new == SqlValue::Int(1) {
                "now holds a list instead of one value".to_string()
            } else {
                "now holds one value instead of a list".to_string()
            }),
            "required" if is_input && c.new == SqlValue::Int(1) => {
                out.push("is now required: existing workflows may not set it".to_string())
            }
            "choices" if is_input => {
                let gone = removed_choices(&c.old, &c.new);
                if !gone.is_empty() {
                    out.push(format!(
                        "choices narrowed: {} no longer offered; workflows that chose it send a value the API may reject",
                        gone.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                    ));
                }
            }
            _ => {}
        }
    }
    out
}

/// Choice keys (as JSON) in `old` but not in `new`; none when `new` has no
/// choices at all (the field then takes any value).
fn removed_choices(old: &SqlValue, new: &SqlValue) -> Vec<String> {
    let keys = |v: &SqlValue| -> Option<Vec<String>> {
        let json: serde_json::Value = serde_json::from_str(v.as_str()?).ok()?;
        Some(
            json.as_array()?
                .iter()
                .filter_map(|c| c.get("key").map(|k| k.to_string()))
                .collect(),
        )
    };
    match (keys(old), keys(new)) {
        (Some(old), Some(new)) => old.into_iter().filter(|k| !new.contains(k)).collect(),
        _ => Vec::new(),
    }
}

/// The report for people: one block per app, then the breaking changes.
pub fn render_human(report: &Report) -> String {
    let mut out = String::new();
    let mut app: Option<&str> = None;
    let mut action: Option<&str> = None;
    for change in &report.changes {
        if app != Some(change.app.as_str()) {
            app = Some(&change.app);
            action = None;
            if !matches!(change.subject, Subject::App { .. }) {
                let _ = writeln!(out, "app `{}`", change.app);
            }
        }
        let (indent, shown) = match &change.subject {
            Subject::App { id } => (0, format!("app `{}` ({id})", change.app)),
            Subject::AuthField { key } => (2, format!("auth field `{key}`")),
            Subject::Action { kind, key, id } => {
                action = Some(key);
                (2, format!("{kind} `{key}` ({id})"))
            }
            Subject::Field {
                action: owner,
                direction,
                path,
            } => {
                if action != Some(owner.as_str()) {
                    action = Some(owner);
                    let _ = writeln!(out, "  `{owner}`");
                }
                (4, format!("{direction} `{path}`"))
            }
        };
        let what = match &change.kind {
            ChangeKind::Added => "added".to_string(),
            ChangeKind::Removed => "removed".to_string(),
            ChangeKind::Changed => "changed".to_string(),
            ChangeKind::Renamed { to } => format!("renamed to `{to}`?"),
        };
        let _ = write!(out, "{:indent$}{shown}: {what}", "");
        if !change.columns.is_empty() {
            let columns: Vec<String> = change.columns.iter().map(column_human).collect();
            let _ = write!(out, ": {}", columns.join(", "));
        }
        if let Some(note) = &change.note {
            let _ = write!(out, " ({note})");
        }
        out.push('\n');
    }
    if !report.breaking.is_empty() {
        let _ = writeln!(out, "\n{} breaking change(s):", report.breaking.len());
        for b in &report.breaking {
            let _ = writeln!(out, "  warning: {}: {} {}", b.app, b.subject, b.message);
        }
    }
    out
}

/// `required 0 -> 1` when both values are short, else just the column.
fn column_human(c: &ColumnChange) -> String {
    let short = |v: &SqlValue| {
        let s = v.to_string();
        (s.chars().count() <= 40 && !s.contains(['\n', '\r'])).then_some(s)
    };
    match (short(&c.old), short(&c.new)) {
        (Some(o), Some(n)) => format!("{} {o} -> {n}", c.column),
        _ => c.column.to_string(),
    }
}

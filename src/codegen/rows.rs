//! The row model: what the specs put into the platform's tables, before
//! any SQL dialect is involved.
//!
//! The seed, the delta between two versions of the specs, and (for `spec
//! apply`) the drift between a database and the specs are all computed on
//! this model, so they agree by construction. Everything is ordered
//! (`BTreeMap` by primary key, tables parents first), so whatever is
//! rendered from it is byte-stable.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use super::tables::{self, ColumnType, TABLES, Table};
use crate::model::{self, Connector, Field, Text};

/// One SQL value. Integers cover ids, positions and 0/1 flags; JSON is text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SqlValue {
    Null,
    Int(i64),
    Text(String),
}

impl SqlValue {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            SqlValue::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            SqlValue::Int(i) => Some(*i),
            _ => None,
        }
    }

    fn flag(b: bool) -> SqlValue {
        SqlValue::Int(i64::from(b))
    }

    fn text(s: impl Into<String>) -> SqlValue {
        SqlValue::Text(s.into())
    }

    fn opt_text(s: Option<&String>) -> SqlValue {
        s.map_or(SqlValue::Null, |s| SqlValue::Text(s.clone()))
    }
}

/// Shown in messages and summaries: `42`, `'text'`, `NULL`.
impl fmt::Display for SqlValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlValue::Null => f.write_str("NULL"),
            SqlValue::Int(i) => write!(f, "{i}"),
            SqlValue::Text(s) => write!(f, "'{s}'"),
        }
    }
}

/// A primary key's values, in the order of [`Table::primary_key`].
pub type Key = Vec<SqlValue>;

/// One row: a value for every column of its table, in column order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row(pub Vec<SqlValue>);

impl Row {
    /// The row's primary key.
    pub fn key(&self, table: &Table) -> Key {
        table
            .key_indexes()
            .into_iter()
            .map(|i| self.0[i].clone())
            .collect()
    }

    pub fn get(&self, table: &Table, column: &str) -> &SqlValue {
        &self.0[table.index(column)]
    }
}

/// The rows of one table, by primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRows {
    pub table: &'static Table,
    pub rows: BTreeMap<Key, Row>,
}

/// The rows of every table, in [`TABLES`] order (parents first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    pub tables: Vec<TableRows>,
}

impl Default for Tables {
    fn default() -> Tables {
        Tables {
            tables: TABLES
                .iter()
                .map(|&table| TableRows {
                    table,
                    rows: BTreeMap::new(),
                })
                .collect(),
        }
    }
}

impl Tables {
    pub fn get(&self, name: &str) -> Option<&TableRows> {
        self.tables.iter().find(|t| t.table.name == name)
    }

    pub fn row_count(&self) -> usize {
        self.tables.iter().map(|t| t.rows.len()).sum()
    }

    /// Adds `row` to table `at`; a key already present is a bug upstream
    /// (validation keeps ids and keys unique), reported as an error.
    fn insert(&mut self, at: usize, row: Row, owner: &Owner<'_>) -> Result<(), BuildError> {
        let rows = &mut self.tables[at];
        assert_eq!(
            row.0.len(),
            rows.table.columns.len(),
            "a row of `{}`",
            rows.table.name
        );
        let key: Key = key_indexes(at).iter().map(|&i| row.0[i].clone()).collect();
        // One search of the tree, not one to check and one to insert.
        match rows.rows.entry(key) {
            std::collections::btree_map::Entry::Occupied(entry) => Err(BuildError::new(
                owner,
                rows.table,
                entry.key(),
                None,
                "two rows have the same primary key".to_string(),
                "ids and keys must be unique; run `spec validate`, which reports the duplicate",
            )),
            std::collections::btree_map::Entry::Vacant(entry) => {
                entry.insert(row);
                Ok(())
            }
        }
    }

    /// All rows of `other` added to `self` (keys must not collide).
    pub fn extend(&mut self, other: Tables) {
        for (mine, theirs) in self.tables.iter_mut().zip(other.tables) {
            mine.rows.extend(theirs.rows);
        }
    }
}

/// [`Table::key_indexes`] of the table at `at` in [`TABLES`], found once.
fn key_indexes(at: usize) -> &'static [usize] {
    static KEYS: std::sync::OnceLock<Vec<Vec<usize>>> = std::sync::OnceLock::new();
    &KEYS.get_or_init(|| TABLES.iter().map(|t| t.key_indexes()).collect())[at]
}

/// The rows of one connector.
#[derive(Debug, Clone)]
pub struct AppRows {
    pub app_id: i64,
    pub app_key: String,
    pub tables: Tables,
}

/// A connector whose rows cannot be written: a NUL byte in a text, an id
/// too large for `BIGINT`, a key too long for its column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError {
    /// `app `key` (path)`.
    pub connector: String,
    pub table: &'static str,
    /// `action_id = 70012, direction = 'input', path = 'data.so_id'`.
    pub row: String,
    pub column: Option<&'static str>,
    pub message: String,
    pub help: &'static str,
}

impl BuildError {
    fn new(
        owner: &Owner<'_>,
        table: &'static Table,
        key: &[SqlValue],
        column: Option<&'static str>,
        message: String,
        help: &'static str,
    ) -> BuildError {
        let row = table
            .primary_key
            .iter()
            .zip(key)
            .map(|(c, v)| format!("{c} = {}", short(v)))
            .collect::<Vec<_>>()
            .join(", ");
        BuildError {
            connector: owner.to_string(),
            table: table.name,
            row,
            column,
            message,
            help,
        }
    }
}

/// A key value for a message: long or control-laden text is cut and escaped.
fn short(value: &SqlValue) -> String {
    match value {
        SqlValue::Text(s) => {
            let cut: String = s.chars().take(60).collect();
            let more = if cut.len() < s.len() { "..." } else { "" };
            format!("'{}{more}'", cut.escape_debug())
        }
        other => other.to_string(),
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: table `{}`, row ({})",
            self.connector, self.table, self.row
        )?;
        if let Some(column) = self.column {
            write!(f, ", column `{column}`")?;
        }
        write!(f, ": {}\n  = help: {}", self.message, self.help)
    }
}

impl std::error::Error for BuildError {}

/// Names the connector in errors.
struct Owner<'a> {
    key: &'a str,
    path: &'a str,
}

impl fmt::Display for Owner<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "app `{}` ({})", self.key, self.path)
    }
}

/// The rows of one connector. `path` names it in errors.
pub fn app_rows(connector: &Connector, path: &str) -> Result<AppRows, BuildError> {
    let owner = Owner {
        key: &connector.app.key,
        path,
    };
    let mut tables = Tables::default();
    let mut fields = FieldRows::default();
    let app = &connector.app;
    let app_id = id(app.id, &owner, &tables::APPS, "app_id")?;
    tables.insert(tables::APPS_AT, app_row(connector, app_id), &owner)?;
    for (position, field) in connector.auth.fields().iter().enumerate() {
        let (label, label_i18n) = text(Some(&field.label));
        let (help, help_i18n) = text(field.help.as_ref());
        let (placeholder, placeholder_i18n) = text(field.placeholder.as_ref());
        let default = if field.secret {
            SqlValue::Null
        } else {
            SqlValue::opt_text(field.default.as_ref())
        };
        let row = Row(vec![
            SqlValue::Int(app_id),
            SqlValue::text(&field.key),
            position_value(position),
            label,
            label_i18n,
            SqlValue::flag(field.secret),
            SqlValue::flag(field.required),
            help,
            help_i18n,
            default,
            placeholder,
            placeholder_i18n,
        ]);
        tables.insert(tables::AUTH_FIELDS_AT, row, &owner)?;
    }
    for (position, action) in connector.actions.iter().enumerate() {
        let action_id = id(action.id, &owner, &tables::APP_ACTION_META, "action_id")?;
        let request = request_json(&action.request, action.retry_safe);
        let mut response = response_map(action.response.as_ref());
        if let Some(result) = &action.result {
            response.insert("result".into(), Value::String(result.clone()));
        }
        let meta = ActionMeta {
            action_id,
            app_id,
            key: &action.key,
            kind: "action",
            name: &action.name,
            description: action.description.as_ref(),
            is_end: action.is_end,
            method: action.request.method,
            additional: false,
            request,
            response,
            sample: action.sample.as_ref(),
            position,
        };
        tables.insert(tables::ACTIONS_AT, meta.row(), &owner)?;
        fields.add(&owner, action_id, "input", &action.input)?;
        fields.add(&owner, action_id, "output", &action.output)?;
    }
    for (position, trigger) in connector.triggers.iter().enumerate() {
        let action_id = id(trigger.id, &owner, &tables::APP_ACTION_META, "action_id")?;
        let mut response = response_map(trigger.response.as_ref());
        response.insert("records".into(), Value::String(trigger.records.clone()));
        if let Some(pagination) = &trigger.pagination {
            response.insert("pagination".into(), json_value(pagination));
        }
        response.insert("dedupe".into(), json_value(&trigger.dedupe));
        if let Some(order) = &trigger.order {
            response.insert("order".into(), json_value(order));
        }
        if let Some(cursor) = &trigger.cursor {
            response.insert("cursor".into(), json_value(cursor));
        }
        let meta = ActionMeta {
            action_id,
            app_id,
            key: &trigger.key,
            kind: "trigger",
            name: &trigger.name,
            description: trigger.description.as_ref(),
            // A trigger starts a workflow; it can never be its last step.
            is_end: false,
            method: trigger.request.method,
            additional: any_user_input(&trigger.input),
            request: request_json(&trigger.request, None),
            response,
            sample: Some(&trigger.sample),
            position,
        };
        tables.insert(tables::ACTIONS_AT, meta.row(), &owner)?;
        fields.add(&owner, action_id, "input", &trigger.input)?;
        fields.add(&owner, action_id, "output", &trigger.output)?;
    }
    tables.tables[tables::FIELDS_AT].rows = fields.done();
    check(&tables, &owner)?;
    Ok(AppRows {
        app_id,
        app_key: app.key.clone(),
        tables,
    })
}

/// The rows of every connector, sorted by app id.
pub fn all_rows<'a>(
    connectors: impl IntoIterator<Item = (&'a Connector, String)>,
) -> Result<Vec<AppRows>, BuildError> {
    let mut apps = connectors
        .into_iter()
        .map(|(connector, path)| app_rows(connector, &path))
        .collect::<Result<Vec<_>, _>>()?;
    apps.sort_by_key(|a| a.app_id);
    Ok(apps)
}

/// Every app's rows in one set of tables.
/// The merged rows of validated connectors: what the database should hold.
pub fn project_rows(
    connectors: &[crate::validate::ModeledConnector],
) -> Result<Tables, BuildError> {
    let apps = all_rows(
        connectors
            .iter()
            .map(|c| (&c.model, crate::render::display_path(&c.path))),
    )?;
    Ok(merge(&apps))
}

pub fn merge(apps: &[AppRows]) -> Tables {
    let mut all = Tables::default();
    for app in apps {
        all.extend(app.tables.clone());
    }
    all
}

fn app_row(connector: &Connector, app_id: i64) -> Row {
    let app = &connector.app;
    let (name, name_i18n) = text(Some(&app.name));
    let (description, description_i18n) = text(app.description.as_ref());
    let auth_config = match json_value(&connector.auth) {
        Value::Object(mut map) => {
            map.shift_remove("type");
            map.shift_remove("fields");
            Value::Object(map)
        }
        other => other,
    };
    let config = if connector.config.is_empty() {
        SqlValue::Null
    } else {
        json_text(&json_value(&connector.config))
    };
    let (connection_test, connection_label) = match &connector.connection {
        Some(connection) => {
            let mut map = Map::new();
            map.insert("test".into(), json_value(&connection.test));
            if let Some(response) = &connection.response {
                map.insert("response".into(), json_value(response));
            }
            (
                json_text(&Value::Object(map)),
                SqlValue::opt_text(connection.label.as_ref()),
            )
        }
        None => (SqlValue::Null, SqlValue::Null),
    };
    Row(vec![
        SqlValue::Int(app_id),
        SqlValue::text(&app.key),
        name,
        name_i18n,
        description,
        description_i18n,
        SqlValue::text(&app.category),
        SqlValue::opt_text(app.icon.as_ref()),
        SqlValue::text(&app.base_url),
        SqlValue::opt_text(app.homepage.as_ref()),
        SqlValue::opt_text(app.docs_url.as_ref()),
        SqlValue::text(connector.auth.kind()),
        json_text(&auth_config),
        config,
        connection_test,
        connection_label,
        SqlValue::Int(i64::from(connector.spec_version)),
    ])
}

/// What an action and a trigger have in common in `app_action_meta`.
struct ActionMeta<'a> {
    action_id: i64,
    app_id: i64,
    key: &'a str,
    kind: &'static str,
    name: &'a Text,
    description: Option<&'a Text>,
    is_end: bool,
    method: model::Method,
    additional: bool,
    /// JSON text.
    request: SqlValue,
    response: Map<String, Value>,
    sample: Option<&'a Value>,
    position: usize,
}

impl ActionMeta<'_> {
    fn row(self) -> Row {
        let (name, name_i18n) = text(Some(self.name));
        let (description, description_i18n) = text(self.description);
        let response = if self.response.is_empty() {
            SqlValue::Null
        } else {
            json_text(&Value::Object(self.response))
        };
        Row(vec![
            SqlValue::Int(self.action_id),
            SqlValue::Int(self.app_id),
            SqlValue::text(self.key),
            SqlValue::text(self.kind),
            name,
            name_i18n,
            description,
            description_i18n,
            SqlValue::flag(self.is_end),
            SqlValue::text(self.method.as_str()),
            SqlValue::flag(self.additional),
            self.request,
            response,
            self.sample.map_or(SqlValue::Null, |s| opt_json(Some(s))),
            position_value(self.position),
        ])
    }
}

/// A response rule's keys as a JSON object, to which `result` or the
/// trigger's reading rules are added.
fn response_map(rule: Option<&model::ResponseRule>) -> Map<String, Value> {
    match rule.map(json_value) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

fn any_user_input(fields: &[Field]) -> bool {
    fields
        .iter()
        .any(|f| f.user_input || any_user_input(&f.fields))
}

/// The rows of `app_action_fields`, gathered one action and direction at a
/// time and put in a tree once, at the end.
///
/// Every key of a group starts with its action id and direction, and the
/// groups are made in the order of the actions' ids when the spec lists
/// them so: sorting a group by path, then building the tree from rows in
/// key order, compares far fewer keys than inserting each row in a tree.
#[derive(Default)]
struct FieldRows {
    /// Every group so far, each sorted by path.
    rows: Vec<(Key, Row)>,
    /// The group being made: (insertion order, key, row).
    group: Vec<(usize, Key, Row)>,
}

impl FieldRows {
    /// Adds the rows of `fields` (nested groups included) of an action in
    /// `direction`. Two rows with the same key are the error
    /// [`Tables::insert`] reports, for the first row whose key is taken.
    fn add(
        &mut self,
        owner: &Owner<'_>,
        action_id: i64,
        direction: &'static str,
        fields: &[Field],
    ) -> Result<(), BuildError> {
        self.group.clear();
        let mut path = String::new();
        field_rows(
            &mut self.group,
            action_id,
            direction,
            fields,
            None,
            &mut path,
        );
        // Stable: rows with one path stay in insertion order.
        self.group.sort_by(|a, b| a.1[2].cmp(&b.1[2]));
        let first_taken = self
            .group
            .windows(2)
            .filter(|pair| pair[0].1 == pair[1].1)
            .min_by_key(|pair| pair[1].0);
        if let Some(pair) = first_taken {
            return Err(BuildError::new(
                owner,
                TABLES[tables::FIELDS_AT],
                &pair[1].1,
                None,
                "two rows have the same primary key".to_string(),
                "ids and keys must be unique; run `spec validate`, which reports the duplicate",
            ));
        }
        self.rows
            .extend(self.group.drain(..).map(|(_, key, row)| (key, row)));
        Ok(())
    }

    /// The rows by key. (`collect` sorts rows already in key order in one
    /// pass, and builds the tree without searching it.)
    fn done(self) -> BTreeMap<Key, Row> {
        let count = self.rows.len();
        let rows: BTreeMap<Key, Row> = self.rows.into_iter().collect();
        // The groups' keys differ in action id or direction.
        debug_assert_eq!(rows.len(), count, "field keys are unique");
        rows
    }
}

/// The rows of `fields` under `parent`, in insertion order; `path` is
/// scratch room for a field's path.
fn field_rows(
    group: &mut Vec<(usize, Key, Row)>,
    action_id: i64,
    direction: &'static str,
    fields: &[Field],
    parent: Option<&str>,
    path: &mut String,
) {
    for (position, field) in fields.iter().enumerate() {
        path.clear();
        if let Some(parent) = parent {
            path.push_str(parent);
            path.push('.');
        }
        path.push_str(&field.key);
        let (label, label_i18n) = text(field.label.as_ref());
        let (help, help_i18n) = text(field.help.as_ref());
        let (placeholder, placeholder_i18n) = text(field.placeholder.as_ref());
        let row = Row(vec![
            SqlValue::Int(action_id),
            SqlValue::text(direction),
            SqlValue::text(path.as_str()),
            parent.map_or(SqlValue::Null, SqlValue::text),
            SqlValue::text(&field.key),
            position_value(position),
            SqlValue::text(field.field_type.as_str()),
            label,
            label_i18n,
            SqlValue::flag(field.required),
            opt_json(field.required_if.as_ref()),
            opt_json(field.default.as_ref()),
            SqlValue::flag(field.is_dropdown()),
            SqlValue::flag(field.multiple),
            opt_json((!field.choices.is_empty()).then_some(&field.choices)),
            opt_json(field.dynamic_choices.as_ref()),
            opt_json(field.constraints.as_ref()),
            help,
            help_i18n,
            placeholder,
            placeholder_i18n,
            SqlValue::flag(field.user_input),
        ]);
        let key: Key = key_indexes(tables::FIELDS_AT)
            .iter()
            .map(|&i| row.0[i].clone())
            .collect();
        group.push((group.len(), key, row));
        if !field.fields.is_empty() {
            let own = path.clone();
            field_rows(group, action_id, direction, &field.fields, Some(&own), path);
        }
    }
}

/// A human text as (default-language text, JSON of every language or NULL).
fn text(text: Option<&Text>) -> (SqlValue, SqlValue) {
    match text {
        None => (SqlValue::Null, SqlValue::Null),
        Some(t @ Text::Plain(_)) => (SqlValue::text(t.get("en")), SqlValue::Null),
        Some(t @ Text::Localized(map)) => {
            // Straight to text, as serde_json writes the map: only strings,
            // nothing to normalize.
            let size: usize = map
                .iter()
                .map(|(tag, text)| tag.len() + text.len() + 6)
                .sum();
            let mut json = String::with_capacity(size + 2);
            json.push('{');
            for (i, (tag, text)) in map.iter().enumerate() {
                if i > 0 {
                    json.push(',');
                }
                json_string(tag, &mut json);
                json.push(':');
                json_string(text, &mut json);
            }
            json.push('}');
            (SqlValue::text(t.get("en")), SqlValue::Text(json))
        }
    }
}

/// `s` as a JSON string, exactly as serde_json writes it: a text with no
/// quote, backslash or control character (nearly every one) is copied as
/// it is; serde_json escapes the others.
fn json_string(s: &str, out: &mut String) {
    if s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(&serde_json::to_string(s).expect("a string serializes"));
    } else {
        out.push('"');
        out.push_str(s);
        out.push('"');
    }
}

fn position_value(position: usize) -> SqlValue {
    // A spec cannot hold 2^63 fields.
    SqlValue::Int(i64::try_from(position).unwrap_or(i64::MAX))
}

fn id(
    id: u64,
    owner: &Owner<'_>,
    table: &'static Table,
    column: &'static str,
) -> Result<i64, BuildError> {
    i64::try_from(id).map_err(|_| {
        BuildError::new(
            owner,
            table,
            &[SqlValue::Text(id.to_string())],
            Some(column),
            format!("id {id} does not fit a BIGINT (at most {})", i64::MAX),
            "use the id the platform reserved; platform ids are 64-bit signed integers",
        )
    })
}

/// A model value as JSON, with keys in spec order and whole floats written
/// as integers (`min: 0` is `0`, not `0.0`).
fn json_value(value: &impl Serialize) -> Value {
    // Serializing the model to JSON cannot fail: it has only string keys.
    normalize(serde_json::to_value(value).expect("the model serializes to JSON"))
}

fn normalize(mut value: Value) -> Value {
    normalize_in_place(&mut value);
    value
}

/// In place: rebuilding every object would hash every key again.
fn normalize_in_place(value: &mut Value) {
    match value {
        Value::Number(n) => {
            if let Some(f) = n.as_f64()
                && n.is_f64()
                && f.fract() == 0.0
                && f.abs() < 9_007_199_254_740_992.0
            {
                // Exact: |f| < 2^53 and integral.
                *value = Value::Number((f as i64).into());
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize_in_place),
        Value::Object(map) => map.values_mut().for_each(normalize_in_place),
        _ => {}
    }
}

/// [`json_value`] as compact JSON text, or NULL: written straight from the
/// model, without building the JSON value (a field row has five of these).
fn opt_json(value: Option<&impl Serialize>) -> SqlValue {
    let Some(value) = value else {
        return SqlValue::Null;
    };
    let mut out = Vec::with_capacity(64);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, Normalized);
    value
        .serialize(&mut serializer)
        .expect("the model serializes to JSON");
    // serde_json writes only UTF-8.
    SqlValue::Text(String::from_utf8(out).expect("JSON is UTF-8"))
}

/// A request as JSON text, with the action's `retry_safe` (when the spec
/// gives it) as its last key.
fn request_json(request: &model::Request, retry_safe: Option<bool>) -> SqlValue {
    let mut json = match opt_json(Some(request)) {
        SqlValue::Text(json) => json,
        _ => unreachable!("a request is JSON text"),
    };
    if let Some(retry_safe) = retry_safe {
        // A request is an object with at least its method and path, and
        // has no `retry_safe` of its own: the key goes before the `}`.
        json.pop();
        json.push_str(if retry_safe {
            ",\"retry_safe\":true}"
        } else {
            ",\"retry_safe\":false}"
        });
    }
    SqlValue::Text(json)
}

/// serde_json's compact output, with floats as [`normalize`] leaves them:
/// a whole float below 2^53 as an integer, and an `f32` as the `f64` it
/// converts to (as in a JSON value).
struct Normalized;

impl serde_json::ser::Formatter for Normalized {
    fn write_f32<W: ?Sized + std::io::Write>(&mut self, w: &mut W, f: f32) -> std::io::Result<()> {
        self.write_f64(w, f64::from(f))
    }

    fn write_f64<W: ?Sized + std::io::Write>(&mut self, w: &mut W, f: f64) -> std::io::Result<()> {
        if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
            // Exact: |f| < 2^53 and integral.
            w.write_all(itoa::Buffer::new().format(f as i64).as_bytes())
        } else {
            serde_json::ser::CompactFormatter.write_f64(w, f)
        }
    }
}

/// Compact JSON text; serde_json escapes control characters (NUL is `\u0000`).
fn json_text(value: &Value) -> SqlValue {
    SqlValue::Text(value.to_string())
}

/// Every text value is storable: no NUL byte (no database stores one in
/// text), and machine names fit their `VARCHAR`.
fn check(tables: &Tables, owner: &Owner<'_>) -> Result<(), BuildError> {
    for rows in &tables.tables {
        let table = rows.table;
        for (key, row) in &rows.rows {
            for (column, value) in table.columns.iter().zip(&row.0) {
                let SqlValue::Text(s) = value else { continue };
                // Most texts are short: the scan of `contains` costs less
                // than a call of memchr, which then finds the position.
                if let Some(at) = s
                    .as_bytes()
                    .contains(&0)
                    .then(|| memchr::memchr(0, s.as_bytes()))
                    .flatten()
                {
                    return Err(BuildError::new(
                        owner,
                        table,
                        key,
                        Some(column.name),
                        format!("the text contains a NUL byte (\\0) at byte {at}"),
                        "databases cannot store NUL in text; remove the `\\0` from the spec \
                         (in YAML it comes from a double-quoted \"\\0\" or \"\\x00\")",
                    ));
                }
                // A text has no more characters than bytes: count them
                // only when the bytes could be too many.
                if let ColumnType::Key(max) = column.ty
                    && s.len() > max
                {
                    let chars = s.chars().count();
                    if chars > max {
                        return Err(BuildError::new(
                            owner,
                            table,
                            key,
                            Some(column.name),
                            format!(
                                "the value has {chars} characters; the column holds at most {max}"
                            ),
                            "shorten the key (or the nesting of groups): the platform's tables index it",
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_floats_become_integers() {
        let v = normalize(serde_json::json!({"min": 0.0, "max": 2.5, "n": [3.0, -1e3]}));
        assert_eq!(v.to_string(), r#"{"min":0,"max":2.5,"n":[3,-1000]}"#);
    }

    #[test]
    fn json_straight_from_the_model_is_the_normalized_value() {
        let values = [
            serde_json::json!({"min": 0.0, "max": 2.5, "n": [3.0, -1e3, -0.0, 1e300, 9007199254740993.0]}),
            serde_json::json!({"b": "x\u{0}\"y\n", "a": null, "big": u64::MAX, "neg": i64::MIN}),
            serde_json::json!([1.5e-7, 4503599627370496.5, 123456789012345680.0]),
        ];
        for value in values {
            assert_eq!(opt_json(Some(&value)), json_text(&json_value(&value)));
        }
        assert_eq!(opt_json(Some(&1.25f32)), json_text(&json_value(&1.25f32)));
        assert_eq!(opt_json(Some(&0.1f32)), json_text(&json_value(&0.1f32)));
        assert_eq!(opt_json(None::<&Value>), SqlValue::Null);
    }

    #[test]
    fn request_json_is_the_request_value_with_retry_safe() {
        let request: model::Request = serde_json::from_value(serde_json::json!({
            "method": "GET",
            "path": "/x/{{ input.id }}",
            "query": {"b": "1", "a": "2"},
            "body": {"type": "json", "content": {"n": 2.0, "f": 0.5, "s": "\"q\""}}
        }))
        .unwrap();
        for retry_safe in [None, Some(true), Some(false)] {
            let mut value = json_value(&request);
            if let (Some(r), Value::Object(map)) = (retry_safe, &mut value) {
                map.insert("retry_safe".into(), Value::Bool(r));
            }
            assert_eq!(request_json(&request, retry_safe), json_text(&value));
        }
    }

    #[test]
    fn json_keeps_nul_escaped() {
        assert_eq!(
            json_text(&Value::String("a\0b".into())),
            SqlValue::Text(r#""a\u0000b""#.into())
        );
    }

    #[test]
    fn long_keys_are_cut_in_messages() {
        let s = short(&SqlValue::Text("x".repeat(100)));
        assert_eq!(s.len(), 60 + 5);
        assert_eq!(short(&SqlValue::Text("a\nb".into())), "'a\\nb'");
    }
}

//! The platform's metadata tables: names, columns, keys and what each means.
//!
//! This is the one definition of the tables. The DDL of every dialect
//! (`schema.sql`), the row model ([`super::rows`]), the seed and delta SQL
//! and `docs/tables.md` all follow it; a test checks the docs against it.
//!
//! Column types are deliberately few, so a value reads back the same from
//! every database: integers (ids, positions and 0/1 flags) are `BIGINT`
//! (`INTEGER` in SQLite), short machine names are `VARCHAR(n)` (`TEXT` in
//! SQLite), and everything else — human text and compact JSON — is `TEXT`
//! (`MEDIUMTEXT` in MySQL, whose `TEXT` stops at 64 KiB).

/// The type of a column, mapped to SQL per dialect by [`super::dialect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// A 64-bit integer: an id, a position or a 0/1 flag.
    Int,
    /// A machine name or path of at most this many characters; may be indexed.
    Key(usize),
    /// Human text or compact JSON of any length.
    Text,
}

/// One column of a table.
#[derive(Debug, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    pub nullable: bool,
    /// One line: what the column holds. Shown in `schema.sql` and the docs.
    pub doc: &'static str,
}

/// One table of the platform's metadata.
#[derive(Debug, PartialEq, Eq)]
pub struct Table {
    pub name: &'static str,
    /// One line: what a row is.
    pub doc: &'static str,
    pub columns: &'static [Column],
    /// The primary key's columns, in order. Every upsert and delete is keyed
    /// by it.
    pub primary_key: &'static [&'static str],
    /// Secondary (non-unique) indexes: name and columns.
    pub indexes: &'static [(&'static str, &'static [&'static str])],
}

impl Table {
    /// The position of a column in [`Table::columns`] (and so in every row).
    ///
    /// # Panics
    /// If the table has no such column: column names are compile-time
    /// constants, so this is a bug in `spec`.
    pub fn index(&self, column: &str) -> usize {
        self.columns
            .iter()
            .position(|c| c.name == column)
            .unwrap_or_else(|| panic!("table `{}` has no column `{column}`", self.name))
    }

    /// The positions of the primary key's columns.
    pub fn key_indexes(&self) -> Vec<usize> {
        self.primary_key.iter().map(|c| self.index(c)).collect()
    }

    pub fn is_key(&self, column: &str) -> bool {
        self.primary_key.contains(&column)
    }
}

const fn col(name: &'static str, ty: ColumnType, doc: &'static str) -> Column {
    Column {
        name,
        ty,
        nullable: false,
        doc,
    }
}

const fn opt(name: &'static str, ty: ColumnType, doc: &'static str) -> Column {
    Column {
        name,
        ty,
        nullable: true,
        doc,
    }
}

use ColumnType::{Int, Key, Text};

/// The longest app, action, trigger and field key the tables hold.
pub const KEY_CHARS: usize = 128;
/// The longest dotted field path the tables hold (the primary key of
/// `app_action_fields` must fit MySQL's 3072-byte index limit in utf8mb4).
pub const PATH_CHARS: usize = 512;

pub const APPS: Table = Table {
    name: "apps",
    doc: "One row per connector (app).",
    columns: &[
        col(
            "app_id",
            Int,
            "The platform's reserved numeric app id (`app.id`).",
        ),
        col(
            "app_key",
            Key(KEY_CHARS),
            "Stable machine name of the app (`app.key`).",
        ),
        col(
            "name",
            Text,
            "Display name in the default language: `en`, else the first given.",
        ),
        opt(
            "name_i18n",
            Text,
            "Display name per language tag, as a JSON object; NULL when the spec gives one plain string.",
        ),
        opt("description", Text, "Description in the default language."),
        opt(
            "description_i18n",
            Text,
            "Description per language tag, as a JSON object; NULL when not localized.",
        ),
        col("category", Text, "Category (`app.category`), e.g. `erp`."),
        opt(
            "icon",
            Text,
            "Icon: an https URL or a path relative to the spec file.",
        ),
        col(
            "base_url",
            Text,
            "Base URL that relative request paths are joined to (a template).",
        ),
        opt("homepage", Text, "The vendor's home page."),
        opt("docs_url", Text, "The vendor's API documentation."),
        col(
            "auth_type",
            Key(16),
            "`none`, `api_key`, `basic`, `bearer`, `oauth2`, `session` or `signature`.",
        ),
        col(
            "auth_config",
            Text,
            "The auth recipe as JSON (templates, URLs, placements, signing steps) without `type` and `fields`; never a credential value.",
        ),
        opt(
            "config",
            Text,
            "Non-secret settings shared by all requests (`config`), as JSON; NULL when none.",
        ),
        opt(
            "connection_test",
            Text,
            "The connection test (account check) as JSON `{\"test\": request, \"response\": rule}`; NULL when none.",
        ),
        opt(
            "connection_label",
            Text,
            "Template naming a connected account, over the test response and non-secret auth fields.",
        ),
        col(
            "spec_version",
            Int,
            "Version of the spec format the app was written in.",
        ),
    ],
    primary_key: &["app_id"],
    indexes: &[("apps_app_key", &["app_key"])],
};

pub const APP_AUTH_FIELDS: Table = Table {
    name: "app_auth_fields",
    doc: "One row per value a user (or the platform) enters to connect an account.",
    columns: &[
        col("app_id", Int, "The app (`apps.app_id`)."),
        col(
            "field_key",
            Key(KEY_CHARS),
            "The field's key; templates read it as `auth.<field_key>`.",
        ),
        col("position", Int, "Order in the connect form, from 0."),
        col("label", Text, "Label in the default language."),
        opt(
            "label_i18n",
            Text,
            "Label per language tag, as a JSON object; NULL when not localized.",
        ),
        col(
            "secret",
            Int,
            "1 when the value is a secret (token, password, key): masked and never logged.",
        ),
        col("required", Int, "1 when the value must be entered."),
        opt("help_txt", Text, "Help text in the default language."),
        opt(
            "help_i18n",
            Text,
            "Help text per language tag, as a JSON object; NULL when not localized.",
        ),
        opt(
            "default_value",
            Text,
            "Non-secret default value; always NULL for a secret field.",
        ),
        opt("placeholder", Text, "Placeholder in the default language."),
        opt(
            "placeholder_i18n",
            Text,
            "Placeholder per language tag, as a JSON object; NULL when not localized.",
        ),
    ],
    primary_key: &["app_id", "field_key"],
    indexes: &[],
};

pub const APP_ACTION_META: Table = Table {
    name: "app_action_meta",
    doc: "One row per action and per trigger.",
    columns: &[
        col(
            "action_id",
            Int,
            "The platform's stable numeric action id (`id`).",
        ),
        col("app_id", Int, "The app it belongs to (`apps.app_id`)."),
        col(
            "action_key",
            Key(KEY_CHARS),
            "Stable machine name, unique in the app (`key`).",
        ),
        col(
            "kind",
            Key(8),
            "`action` (a step that does something) or `trigger` (a poll that starts workflows).",
        ),
        col("name", Text, "Display name in the default language."),
        opt(
            "name_i18n",
            Text,
            "Display name per language tag, as a JSON object; NULL when not localized.",
        ),
        opt("description", Text, "Description in the default language."),
        opt(
            "description_i18n",
            Text,
            "Description per language tag, as a JSON object; NULL when not localized.",
        ),
        col(
            "is_end",
            Int,
            "1 when it may be the last step of a workflow; always 0 for a trigger.",
        ),
        col(
            "request_type",
            Key(8),
            "HTTP method of the request: `GET`, `POST` (the default), `PUT`, `PATCH` or `DELETE`.",
        ),
        col(
            "additional",
            Int,
            "1 when a trigger has input fields the user fills in (`user_input`), so the UI shows them; else 0.",
        ),
        col(
            "request",
            Text,
            "The request as JSON (method, path, query, headers, body; `retry_safe` when the spec sets it).",
        ),
        opt(
            "response",
            Text,
            "How the response is read, as JSON: success and error rules, `result` or `records`, `pagination`, `dedupe`, `order`, `cursor`; NULL when none.",
        ),
        opt(
            "sample_data",
            Text,
            "Sample output shown while building a workflow, as JSON; NULL for an action without one.",
        ),
        col(
            "position",
            Int,
            "Order among the app's actions (or among its triggers), from 0.",
        ),
    ],
    primary_key: &["action_id"],
    indexes: &[("app_action_meta_app", &["app_id", "action_key"])],
};

pub const APP_ACTION_FIELDS: Table = Table {
    name: "app_action_fields",
    doc: "One row per input or output field, nested groups included, so the UI can render a form from rows alone.",
    columns: &[
        col(
            "action_id",
            Int,
            "The action or trigger (`app_action_meta.action_id`).",
        ),
        col(
            "direction",
            Key(8),
            "`input` (filled in for a step) or `output` (what the step returns).",
        ),
        col(
            "path",
            Key(PATH_CHARS),
            "Dotted key path from the action's root, e.g. `data.items.sku_id`.",
        ),
        opt(
            "parent_path",
            Key(PATH_CHARS),
            "Path of the enclosing group; NULL at the top level.",
        ),
        col(
            "field_key",
            Key(KEY_CHARS),
            "The field's own key: the last part of `path`.",
        ),
        col("position", Int, "Order within its parent, from 0."),
        col(
            "type",
            Key(16),
            "`string`, `text`, `integer`, `number`, `boolean`, `date`, `datetime`, `file`, `object` or `group`.",
        ),
        opt(
            "label",
            Text,
            "Label in the default language; NULL when the spec gives none (show `field_key`).",
        ),
        opt(
            "label_i18n",
            Text,
            "Label per language tag, as a JSON object; NULL when not localized.",
        ),
        col("required", Int, "1 when a value is required."),
        opt(
            "required_if",
            Text,
            "Conditional requirement as JSON `{\"field\": sibling key, \"equals\": value}`; NULL when none.",
        ),
        opt(
            "default_value",
            Text,
            "Default value as JSON; NULL when none.",
        ),
        col(
            "dropdown",
            Int,
            "1 when the field is a dropdown (static `choices` or `dynamic_choices`).",
        ),
        col(
            "multiples",
            Int,
            "1 when the field holds a list (for a group: a list of objects).",
        ),
        opt(
            "choices",
            Text,
            "Static choices as a JSON array of `{\"key\", \"label\"}`; NULL when none.",
        ),
        opt(
            "dynamic_choices",
            Text,
            "Choices from another action's output as JSON `{\"from\", \"value\", \"label\"}`; NULL when none.",
        ),
        opt(
            "constraints",
            Text,
            "Value constraints as JSON (`min`, `max`, `min_length`, `max_length`, `pattern`, `min_items`, `max_items`, `message`); NULL when none.",
        ),
        opt("help_txt", Text, "Help text in the default language."),
        opt(
            "help_i18n",
            Text,
            "Help text per language tag, as a JSON object; NULL when not localized.",
        ),
        opt("placeholder", Text, "Placeholder in the default language."),
        opt(
            "placeholder_i18n",
            Text,
            "Placeholder per language tag, as a JSON object; NULL when not localized.",
        ),
        col(
            "user_input",
            Int,
            "1 for a trigger input the user fills in (the reason for `app_action_meta.additional`).",
        ),
    ],
    primary_key: &["action_id", "direction", "path"],
    indexes: &[],
};

/// Every table, parents before children: inserts run in this order and
/// deletes in the reverse.
pub const TABLES: [&Table; 4] = [
    &APPS,
    &APP_AUTH_FIELDS,
    &APP_ACTION_META,
    &APP_ACTION_FIELDS,
];

/// Positions of the tables in [`TABLES`] (and in every [`super::rows::Tables`]).
pub const APPS_AT: usize = 0;
pub const AUTH_FIELDS_AT: usize = 1;
pub const ACTIONS_AT: usize = 2;
pub const FIELDS_AT: usize = 3;

/// The column reference of every table as Markdown, for `docs/tables.md`
/// (a test keeps that file's reference section equal to this).
pub fn markdown_reference() -> String {
    use crate::codegen::dialect::Dialect;
    let mut out = String::new();
    for table in TABLES {
        out.push_str(&format!("### `{}`\n\n{}\n\n", table.name, table.doc));
        out.push_str(&format!(
            "Primary key: `({})`.",
            table.primary_key.join(", ")
        ));
        for (name, columns) in table.indexes {
            out.push_str(&format!(" Index `{name}`: `({})`.", columns.join(", ")));
        }
        out.push_str("\n\n| column | MySQL | PostgreSQL | SQLite | null | meaning |\n");
        out.push_str("| ------ | ----- | ---------- | ------ | ---- | ------- |\n");
        for column in table.columns {
            let types: Vec<String> = Dialect::ALL
                .iter()
                .map(|d| d.column_type(column.ty))
                .collect();
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} | {} |\n",
                column.name,
                types[0],
                types[1],
                types[2],
                if column.nullable { "yes" } else { "no" },
                column.doc.replace('|', "\\|")
            ));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_indexes_name_real_columns() {
        for table in TABLES {
            for column in table.primary_key {
                let c = &table.columns[table.index(column)];
                assert!(!c.nullable, "{}.{column} is in the key", table.name);
                assert!(
                    !matches!(c.ty, Text),
                    "{}.{column}: MySQL cannot index TEXT",
                    table.name
                );
            }
            for (_, columns) in table.indexes {
                for column in *columns {
                    let c = &table.columns[table.index(column)];
                    assert!(
                        !matches!(c.ty, Text),
                        "{}.{column}: MySQL cannot index TEXT",
                        table.name
                    );
                }
            }
        }
    }

    #[test]
    fn docs_are_one_line() {
        for table in TABLES {
            assert!(!table.doc.contains('\n'));
            for column in table.columns {
                assert!(
                    !column.doc.contains('\n') && column.doc.ends_with('.'),
                    "{}",
                    column.name
                );
            }
        }
    }

    #[test]
    fn the_longest_key_fits_mysql_index_limit() {
        // InnoDB (DYNAMIC rows) indexes at most 3072 bytes; utf8mb4 takes
        // up to 4 bytes a character, BIGINT 8.
        for table in TABLES {
            let bytes: usize = table
                .primary_key
                .iter()
                .map(|c| match table.columns[table.index(c)].ty {
                    Int => 8,
                    Key(n) => 4 * n + 2,
                    Text => unreachable!(),
                })
                .sum();
            assert!(bytes <= 3072, "{}: {bytes} bytes", table.name);
        }
    }
}

//! The changelog: what `spec diff` said at each release, per connector.
//!
//! A project that wants a changelog keeps the JSON report of `spec diff`
//! for every release in one directory, named after the release:
//!
//! ```sh
//! spec diff --from v1.3 --format json > changelog/v1.4.json
//! ```
//!
//! and names the directory in `spec.toml` (`[docs] changelog =
//! "changelog"`). Each connector page then lists, newest release first, the
//! changes that concern it, breaking ones marked. The reports are data
//! committed with the specs, so the docs stay deterministic and offline:
//! the build never runs git.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::ChangelogFile;
use crate::render::display_path;

/// One release's changes to one connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Release {
    /// The file's stem, e.g. `v1.4`.
    pub release: String,
    /// The revision the release was compared with (`from` in the report).
    pub from: Option<String>,
    /// Breaking changes first, as `spec diff` warned about them.
    pub breaking: Vec<Entry>,
    pub changes: Vec<Entry>,
}

/// One change, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// e.g. "input field `items.qty` of `create_count`".
    pub subject: String,
    /// e.g. "added", "renamed to `note`", "changed (label, help_txt)"; for
    /// a breaking change, why it breaks.
    pub change: String,
}

/// A changelog file that is not a `spec diff --format json` report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangelogError {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for ChangelogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: not a `spec diff --format json` report: {}\n  = help: write it with `spec diff --from <previous release> --format json > {}`",
            self.path, self.message, self.path
        )
    }
}

impl std::error::Error for ChangelogError {}

// The parts of the report the docs read; other keys (rows, sql) are ignored.
#[derive(Deserialize)]
struct Report {
    from: Option<String>,
    #[serde(default)]
    changes: Vec<Change>,
    #[serde(default)]
    breaking: Vec<Breaking>,
}

#[derive(Deserialize)]
struct Change {
    app: String,
    subject: Subject,
    change: String,
    to: Option<String>,
    #[serde(default)]
    columns: Vec<Column>,
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Subject {
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

#[derive(Deserialize)]
struct Column {
    column: String,
}

#[derive(Deserialize)]
struct Breaking {
    app: String,
    subject: String,
    message: String,
}

/// Every connector's releases, newest first, keyed by app key. Releases
/// that do not touch a connector are left out of its list.
pub fn by_app(files: &[ChangelogFile]) -> Result<BTreeMap<String, Vec<Release>>, ChangelogError> {
    let mut files: Vec<&ChangelogFile> = files.iter().collect();
    files.sort_by(|a, b| natural_cmp(&b.release, &a.release));
    let mut out: BTreeMap<String, Vec<Release>> = BTreeMap::new();
    for file in files {
        let report: Report = serde_json::from_str(&file.contents).map_err(|e| ChangelogError {
            path: display_path(&file.path),
            message: e.to_string(),
        })?;
        let mut apps: BTreeMap<&str, (Vec<Entry>, Vec<Entry>)> = BTreeMap::new();
        for change in &report.changes {
            // `spec diff` marks an action `changed` when only its fields
            // changed; the field entries say what.
            if change.change == "changed" && change.columns.is_empty() && change.note.is_none() {
                continue;
            }
            apps.entry(&change.app).or_default().1.push(entry(change));
        }
        for b in &report.breaking {
            apps.entry(&b.app).or_default().0.push(Entry {
                subject: b.subject.clone(),
                change: b.message.clone(),
            });
        }
        for (app, (breaking, changes)) in apps {
            out.entry(app.to_string()).or_default().push(Release {
                release: file.release.clone(),
                from: report.from.clone(),
                breaking,
                changes,
            });
        }
    }
    Ok(out)
}

fn entry(change: &Change) -> Entry {
    let subject = match &change.subject {
        Subject::App { id } => format!("app ({id})"),
        Subject::AuthField { key } => format!("auth field `{key}`"),
        Subject::Action { kind, key, id } => format!("{kind} `{key}` ({id})"),
        Subject::Field {
            action,
            direction,
            path,
        } => format!("{direction} field `{path}` of `{action}`"),
    };
    let mut words = match (&change.change[..], &change.to) {
        ("renamed", Some(to)) => format!("renamed to `{to}`"),
        (other, _) => other.to_string(),
    };
    if !change.columns.is_empty() {
        let columns: Vec<&str> = change.columns.iter().map(|c| c.column.as_str()).collect();
        words.push_str(&format!(" ({})", columns.join(", ")));
    }
    if let Some(note) = &change.note {
        words.push_str(&format!(": {note}"));
    }
    Entry {
        subject,
        change: words,
    }
}

/// Compares release names as people read them: runs of digits by value,
/// so `v1.10` comes after `v1.9`.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a, b);
    loop {
        match (a.chars().next(), b.chars().next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.len() - a.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                let db = b.len() - b.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                let (na, nb) = (
                    a[..da].trim_start_matches('0'),
                    b[..db].trim_start_matches('0'),
                );
                let order = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
                if order != Ordering::Equal {
                    return order;
                }
                a = &a[da..];
                b = &b[db..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(&y);
                }
                a = &a[x.len_utf8()..];
                b = &b[y.len_utf8()..];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn releases_sort_naturally() {
        let mut names = vec!["v1.10", "v1.9", "v2.0", "v1.2"];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(names, ["v1.2", "v1.9", "v1.10", "v2.0"]);
    }

    #[test]
    fn a_report_becomes_entries_per_app_with_breaking_marks() {
        let file = ChangelogFile {
            release: "v2".to_string(),
            path: PathBuf::from("changelog/v2.json"),
            contents: r#"{"from": "v1", "changes": [
                {"app": "tiny", "subject": {"type": "action", "kind": "action", "key": "create", "id": 7}, "change": "changed",
                 "columns": [{"column": "name", "old": "a", "new": "b"}]},
                {"app": "tiny", "subject": {"type": "field", "action": "create", "direction": "input", "path": "data.remark"},
                 "change": "renamed", "to": "data.note"}
            ], "breaking": [{"app": "tiny", "subject": "input field `data.remark` of action `create` (7)", "message": "was removed"}],
            "rows": [], "sql": "--"}"#
                .to_string(),
        };
        let apps = by_app(&[file]).unwrap();
        let releases = &apps["tiny"];
        assert_eq!(releases.len(), 1);
        assert_eq!(releases[0].from.as_deref(), Some("v1"));
        let changes = &releases[0].changes;
        assert_eq!(changes[0].subject, "action `create` (7)");
        assert_eq!(changes[0].change, "changed (name)");
        assert_eq!(changes[1].subject, "input field `data.remark` of `create`");
        assert_eq!(changes[1].change, "renamed to `data.note`");
        assert_eq!(releases[0].breaking[0].change, "was removed");
    }

    #[test]
    fn a_file_that_is_not_a_report_is_an_error() {
        let file = ChangelogFile {
            release: "v2".to_string(),
            path: PathBuf::from("changelog/v2.json"),
            contents: "[1, 2]".to_string(),
        };
        let error = by_app(&[file]).unwrap_err().to_string();
        assert!(
            error.starts_with("changelog/v2.json: not a `spec diff --format json` report"),
            "{error}"
        );
    }
}

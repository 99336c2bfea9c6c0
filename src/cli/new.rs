//! `spec new <connector>`: write a commented starter spec that validates;
//! `spec new <connector> --action KEY` / `--trigger KEY`: add a stub to an
//! existing single-file spec, keeping its comments (a text edit, not a
//! re-serialization).

use std::path::{Path, PathBuf};

use super::Outcome;
use crate::validate::validate;

const CONNECTOR: &str = include_str!("../../templates/new/connector.yaml");
const ACTION: &str = include_str!("../../templates/new/action.yaml");
const TRIGGER: &str = include_str!("../../templates/new/trigger.yaml");
const CASE: &str = include_str!("../../templates/new/case.json");

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Connector key (lowercase, `a-z0-9_`); the spec is `<DIR>/<key>.yaml`.
    connector: String,
    /// The specs directory.
    #[arg(long, value_name = "DIR", default_value = "specs")]
    dir: PathBuf,
    /// Add an action stub with this key to the existing spec.
    #[arg(long, value_name = "KEY", conflicts_with = "trigger")]
    action: Option<String>,
    /// Add a trigger stub with this key to the existing spec.
    #[arg(long, value_name = "KEY")]
    trigger: Option<String>,
    /// The app id of a new connector (default: one more than the largest in DIR).
    #[arg(long, value_name = "ID")]
    id: Option<u64>,
}

pub fn run(args: Args) -> Outcome {
    for key in [
        Some(&args.connector),
        args.action.as_ref(),
        args.trigger.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        if !is_key(key) {
            eprintln!("error: `{key}` is not a valid key");
            eprintln!(
                "  = help: keys are lowercase letters, digits and `_`, starting with a letter"
            );
            return Outcome::Failure;
        }
    }
    let path = args.dir.join(format!("{}.yaml", args.connector));
    let result = match (&args.action, &args.trigger) {
        (None, None) => create(&args, &path),
        (Some(key), _) => add(&path, Kind::Action, key),
        (_, Some(key)) => add(&path, Kind::Trigger, key),
    };
    match result {
        Ok(message) => {
            eprintln!("{message}");
            Outcome::Success
        }
        Err(message) => {
            eprintln!("error: {message}");
            Outcome::Failure
        }
    }
}

fn is_key(key: &str) -> bool {
    key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `snake_case` as `Snake case`.
fn title(key: &str) -> String {
    let text = key.replace('_', " ");
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn create(args: &Args, path: &Path) -> Result<String, String> {
    if path.exists() || args.dir.join(&args.connector).exists() {
        return Err(format!(
            "{} already exists; add to it with `spec new {} --action KEY`",
            path.display(),
            args.connector
        ));
    }
    let app_id = match args.id {
        Some(id) => id,
        None => next_app_id(&args.dir),
    };
    let action = stub(ACTION, app_id * 100 + 1, "get_item");
    let text = CONNECTOR
        .replace("__ID__", &app_id.to_string())
        .replace("__KEY__", &args.connector)
        .replace("__NAME__", &title(&args.connector))
        .replace("__ACTION__\n", &action);
    std::fs::create_dir_all(&args.dir)
        .and_then(|()| std::fs::write(path, text))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    // A starter `spec test` case, so the connector is tested from day one.
    let case = super::test::cases_dir(path, &args.connector).join("get_item.json");
    if !case.exists() {
        case.parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&case, CASE.replace("__KEY__", &args.connector)))
            .map_err(|e| format!("cannot write {}: {e}", case.display()))?;
    }
    Ok(format!(
        "wrote {} and {}: replace the TODOs, then run `spec validate {0}` and `spec test {}`",
        path.display(),
        case.display(),
        args.connector
    ))
}

/// One more than the largest app id under `dir` (the first is 900).
fn next_app_id(dir: &Path) -> u64 {
    if !dir.is_dir() {
        return 900;
    }
    validate(&[dir.to_path_buf()])
        .ok()
        .and_then(|p| p.connectors.iter().map(|c| c.model.app.id).max())
        .map_or(900, |max| max + 1)
}

fn stub(template: &str, id: u64, key: &str) -> String {
    template
        .replace("__ID__", &id.to_string())
        .replace("__KEY__", key)
        .replace("__TITLE__", &title(key))
}

#[derive(Clone, Copy)]
enum Kind {
    Action,
    Trigger,
}

fn add(path: &Path, kind: Kind, key: &str) -> Result<String, String> {
    if !path.is_file() {
        return Err(format!(
            "{} is not a single-file spec; `--action`/`--trigger` edit `<dir>/<connector>.yaml`",
            path.display()
        ));
    }
    let project = validate(&[path.to_path_buf()]).map_err(|e| format!("cannot read {e}"))?;
    let Some(connector) = project.connectors.first().map(|c| &c.model) else {
        return Err(format!(
            "{} does not model; fix it first (`spec validate`)",
            path.display()
        ));
    };
    let (section, template, ids, base, taken) = match kind {
        Kind::Action => (
            "actions",
            ACTION,
            connector.actions.iter().map(|a| a.id).collect::<Vec<_>>(),
            connector.app.id * 100,
            connector.actions.iter().any(|a| a.key == key),
        ),
        Kind::Trigger => (
            "triggers",
            TRIGGER,
            connector.triggers.iter().map(|t| t.id).collect::<Vec<_>>(),
            connector.app.id * 100 + 50,
            connector.triggers.iter().any(|t| t.key == key),
        ),
    };
    if taken {
        return Err(format!(
            "`{}` already has a {} `{key}`",
            connector.app.key,
            &section[..section.len() - 1]
        ));
    }
    let all_ids: Vec<u64> = connector
        .actions
        .iter()
        .map(|a| a.id)
        .chain(connector.triggers.iter().map(|t| t.id))
        .collect();
    let mut id = ids.iter().copied().max().unwrap_or(base).max(base) + 1;
    while all_ids.contains(&id) {
        id += 1;
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let edited = insert_stub(&text, section, &stub(template, id, key));
    std::fs::write(path, edited).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(format!(
        "added {} `{key}` (id {id}) to {}",
        &section[..section.len() - 1],
        path.display()
    ))
}

/// `text` with `stub` appended to the top-level list `section` (created at
/// the end when missing). The stub goes after the section's last item,
/// before any blank lines and comments that introduce the next key.
fn insert_stub(text: &str, section: &str, stub: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let header = format!("{section}:");
    let top_level = |line: &str| {
        line.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            && line.split(':').next().is_some_and(|k| !k.contains(' '))
    };
    // `actions: []` (an empty flow list) becomes a block list holding the stub.
    let empty = format!("{section}: []");
    if let Some(at) = lines.iter().position(|l| l.trim_end() == empty) {
        let mut out = String::new();
        for (i, line) in lines.iter().enumerate() {
            if i == at {
                out.push_str(&header);
                out.push('\n');
                out.push_str(stub);
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
        return out;
    }
    let Some(start) = lines.iter().position(|l| l.trim_end() == header) else {
        let mut out = text.trim_end().to_string();
        out.push('\n');
        out.push_str(&header);
        out.push('\n');
        out.push_str(stub);
        return out;
    };
    let mut end = lines[start + 1..]
        .iter()
        .position(|l| top_level(l))
        .map_or(lines.len(), |i| start + 1 + i);
    // Leave the blank lines and comments that precede the next key there.
    while end > start + 1 {
        let previous = lines[end - 1].trim();
        if previous.is_empty() || (previous.starts_with('#') && !lines[end - 1].starts_with(' ')) {
            end -= 1;
        } else {
            break;
        }
    }
    let mut out = String::new();
    for line in &lines[..end] {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(stub);
    for line in &lines[end..] {
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stubs_go_at_the_end_of_their_section() {
        let text = "a: 1\nactions:\n  - id: 1\n    key: x\n\n# next\ntriggers: []\n";
        assert_eq!(
            insert_stub(text, "actions", "  - id: 2\n"),
            "a: 1\nactions:\n  - id: 1\n    key: x\n  - id: 2\n\n# next\ntriggers: []\n"
        );
        assert_eq!(
            insert_stub("a: 1\n", "triggers", "  - id: 2\n"),
            "a: 1\ntriggers:\n  - id: 2\n"
        );
        assert_eq!(
            insert_stub("a: 1\nactions: []\nb: 2\n", "actions", "  - id: 2\n"),
            "a: 1\nactions:\n  - id: 2\nb: 2\n"
        );
    }

    #[test]
    fn titles() {
        assert_eq!(title("get_item"), "Get item");
        assert!(is_key("shop_2"));
        assert!(!is_key("Shop"));
    }
}

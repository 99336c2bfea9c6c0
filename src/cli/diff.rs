//! `spec diff --from <REF|DIR> [PATHS...]`: what changed since an earlier
//! version of the specs, as a summary, breaking-change warnings, and the
//! delta SQL for a production approval ticket.

use std::io::{Read as _, Write as _};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

use super::Outcome;
use super::build::validated;
use crate::codegen::changes::{self, Report};
use crate::codegen::dialect::Dialect;
use crate::codegen::diff::{self, Delta};
use crate::codegen::rows::{self, Tables};
use crate::codegen::sql;
use crate::render::display_path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// A summary per app and the breaking changes, for people.
    Human,
    /// One JSON document: changes, breaking changes, row counts and the SQL.
    Json,
    /// The delta SQL for `--dialect`, the summary in its header comment.
    Sql,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The old specs: a git revision (`main`, `v1.4`, `HEAD~3`) whose
    /// PATHS are compared, or a directory of specs. A directory wins when
    /// both exist.
    #[arg(long, value_name = "REF|DIR")]
    from: String,
    /// The new specs: files or directories (default: `specs`).
    paths: Vec<PathBuf>,
    /// The SQL dialect of `--format sql` (and of the SQL in `--format json`).
    #[arg(long, value_enum, default_value_t = Dialect::Mysql)]
    dialect: Dialect,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Exit 1 when a change breaks existing workflows or accounts.
    #[arg(long)]
    fail_on_breaking: bool,
}

pub fn run(args: Args) -> Outcome {
    let paths = super::spec_paths(args.paths.clone());
    let Some(new_project) = validated(&paths, "diff") else {
        return Outcome::Failure;
    };
    if new_project.has_errors() {
        eprintln!("error: the specs have errors; fix them before diffing");
        return Outcome::Problems;
    }
    let new = match rows::project_rows(&new_project.connectors) {
        Ok(tables) => tables,
        Err(error) => {
            eprintln!("error: {error}");
            return Outcome::Problems;
        }
    };
    let old = match baseline(&args.from, &paths) {
        Ok(old) => old,
        Err(message) => {
            eprintln!("error: {message}");
            return Outcome::Failure;
        }
    };
    let delta = diff::delta(&old, &new);
    let report = changes::report(&old, &new);
    let script = sql::delta_script(
        args.dialect,
        &args.from,
        &delta,
        &changes::render_human(&report),
    );
    match args.format {
        Format::Human => print!("{}", human(&args.from, &delta, &report, args.dialect)),
        Format::Sql => {
            print!("{}", script.text());
            for b in &report.breaking {
                eprintln!(
                    "warning: breaking change: {}: {} {}",
                    b.app, b.subject, b.message
                );
            }
        }
        Format::Json => {
            let json = JsonReport {
                from: &args.from,
                report: &report,
                rows: delta
                    .tables
                    .iter()
                    .map(|t| JsonCounts {
                        table: t.table.name,
                        inserted: t.inserted.len(),
                        updated: t.updated.len(),
                        deleted: t.deleted.len(),
                    })
                    .collect(),
                dialect: args.dialect.name(),
                sql: script.text(),
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&json).expect("the report serializes")
            );
        }
    }
    if args.fail_on_breaking && !report.breaking.is_empty() {
        eprintln!(
            "error: {} breaking change(s) (--fail-on-breaking)",
            report.breaking.len()
        );
        return Outcome::Problems;
    }
    Outcome::Success
}

#[derive(Serialize)]
struct JsonReport<'a> {
    from: &'a str,
    #[serde(flatten)]
    report: &'a Report,
    rows: Vec<JsonCounts>,
    dialect: &'static str,
    sql: String,
}

#[derive(Serialize)]
struct JsonCounts {
    table: &'static str,
    inserted: usize,
    updated: usize,
    deleted: usize,
}

fn human(from: &str, delta: &Delta<'_>, report: &Report, dialect: Dialect) -> String {
    if delta.is_empty() {
        return format!("no changes since `{from}`\n");
    }
    let (inserted, updated, deleted) = delta.counts();
    format!(
        "changes since `{from}`:\n{}\nrows: {inserted} inserted, {updated} updated, {deleted} deleted \
         (the SQL: `spec diff --from {from} --format sql --dialect {dialect}`)\n",
        changes::render_human(report)
    )
}

/// The rows of the old specs. Errors are for the user (exit 2).
fn baseline(from: &str, paths: &[PathBuf]) -> Result<Tables, String> {
    let (old_paths, temp, label) = if Path::new(from).is_dir() {
        (
            vec![PathBuf::from(from)],
            None,
            format!("directory `{from}`"),
        )
    } else {
        let (temp, old_paths) = materialize(from, paths)?;
        (old_paths, Some(temp), format!("git revision `{from}`"))
    };
    let project = crate::validate::validate(&old_paths)
        .map_err(|e| format!("cannot read the baseline {label}: {e}"))?;
    if project.has_errors() {
        let report = crate::render::human(&project.sources, &project.diagnostics, false);
        let errors = project.count(crate::diagnostic::Severity::Error);
        let note = if temp.is_some() {
            format!(
                "\n  = note: the files above are the baseline's, checked out from `{from}` into a temporary directory"
            )
        } else {
            String::new()
        };
        return Err(format!(
            "{report}cannot read the baseline {label}: its specs have {errors} error(s), so there is nothing sound to diff against{note}\n  = help: diff against a revision whose specs validate"
        ));
    }
    rows::project_rows(&project.connectors)
        .map_err(|e| format!("cannot read the baseline {label}: {e}"))
}

/// Checks out `paths` as of git revision `reference` into a temporary
/// directory, keeping their place relative to the repository root. Returns
/// the directory (removed when dropped) and where `paths` are inside it.
fn materialize(
    reference: &str,
    paths: &[PathBuf],
) -> Result<(tempfile::TempDir, Vec<PathBuf>), String> {
    let not_found = || {
        format!(
            "`{reference}` is neither a directory nor a git revision\n  = help: pass a directory of specs, or a branch, tag or commit of this repository"
        )
    };
    let top = git(&["rev-parse", "--show-toplevel"], None).map_err(|e| match e {
        GitError::Missing => format!(
            "`{reference}` is not a directory, and git (needed to read a revision) is not installed"
        ),
        GitError::Failed(_) => format!(
            "`{reference}` is not a directory, and the current directory is not in a git repository"
        ),
    })?;
    let top = PathBuf::from(String::from_utf8_lossy(&top).trim_end_matches(['\n', '\r']));
    if reference.starts_with('-') {
        return Err(not_found());
    }
    let commit = format!("{reference}^{{commit}}");
    git(&["rev-parse", "--verify", "--quiet", &commit], None).map_err(|_| not_found())?;
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    let canonical_top = top.canonicalize().unwrap_or(top.clone());
    let canonical_cwd = cwd.canonicalize().unwrap_or(cwd);
    let temp = tempfile::Builder::new()
        .prefix("spec-diff-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let mut old_paths = Vec::new();
    for path in paths {
        let absolute = normalize(&canonical_cwd.join(path));
        let relative = absolute.strip_prefix(&canonical_top).map_err(|_| {
            format!(
                "{} is outside the git repository at {}",
                display_path(path),
                display_path(&top)
            )
        })?;
        let pathspec = display_path(relative);
        let pathspec = if pathspec.is_empty() {
            ".".to_string()
        } else {
            pathspec
        };
        let listing = git(
            &[
                "-C",
                &display_path(&top),
                "ls-tree",
                "-r",
                "-z",
                "--full-tree",
                reference,
                "--",
                &pathspec,
            ],
            None,
        )
        .map_err(|e| format!("cannot list `{reference}:{pathspec}`: {e}"))?;
        let mut blobs = Vec::new();
        for entry in listing.split(|&b| b == 0).filter(|e| !e.is_empty()) {
            // `<mode> <type> <object>\t<path>`; only regular files.
            let entry = String::from_utf8_lossy(entry);
            let Some((meta, name)) = entry.split_once('\t') else {
                continue;
            };
            let mut meta = meta.split(' ');
            let (mode, kind, object) = (meta.next(), meta.next(), meta.next());
            if let (Some("blob"), Some("100644" | "100755"), Some(object)) = (kind, mode, object) {
                blobs.push((name.to_string(), object.to_string()));
            }
        }
        if blobs.is_empty() {
            eprintln!(
                "note: `{reference}` has no files under `{pathspec}`; comparing with no specs"
            );
        }
        for (name, contents) in cat_blobs(&top, &blobs)? {
            let target = temp.path().join(&name);
            if let Some(dir) = target.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot write {}: {e}", display_path(dir)))?;
            }
            std::fs::write(&target, contents)
                .map_err(|e| format!("cannot write {}: {e}", display_path(&target)))?;
        }
        let old = temp.path().join(relative);
        if !old.exists() {
            std::fs::create_dir_all(&old)
                .map_err(|e| format!("cannot write {}: {e}", display_path(&old)))?;
        }
        old_paths.push(old);
    }
    Ok((temp, old_paths))
}

/// Reads blobs by object id with one `git cat-file --batch`.
fn cat_blobs(top: &Path, blobs: &[(String, String)]) -> Result<Vec<(String, Vec<u8>)>, String> {
    if blobs.is_empty() {
        return Ok(Vec::new());
    }
    let mut input = String::new();
    for (_, object) in blobs {
        input.push_str(object);
        input.push('\n');
    }
    let out = git(
        &["-C", &display_path(top), "cat-file", "--batch"],
        Some(input.into_bytes()),
    )
    .map_err(|e| format!("cannot read files from git: {e}"))?;
    let mut rest = out.as_slice();
    let mut files = Vec::new();
    for (name, _) in blobs {
        // `<object> blob <size>\n<contents>\n`
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("truncated output from git cat-file")?;
        let line = String::from_utf8_lossy(&rest[..end]).into_owned();
        let size: usize = line
            .rsplit(' ')
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("unexpected output from git cat-file: {line}"))?;
        let start = end + 1;
        let contents = rest
            .get(start..start + size)
            .ok_or("truncated output from git cat-file")?;
        files.push((name.clone(), contents.to_vec()));
        rest = rest.get(start + size + 1..).unwrap_or_default();
    }
    Ok(files)
}

enum GitError {
    Missing,
    Failed(String),
}

impl std::fmt::Display for GitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GitError::Missing => f.write_str("git is not installed"),
            GitError::Failed(message) => f.write_str(message),
        }
    }
}

/// Runs git, returning its stdout; stdin is `input` if given.
fn git(args: &[&str], input: Option<Vec<u8>>) -> Result<Vec<u8>, GitError> {
    let mut child = Command::new("git")
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => GitError::Missing,
            _ => GitError::Failed(format!("cannot run git: {e}")),
        })?;
    // Feed stdin from a thread so a large output cannot deadlock the pipe.
    let writer = match (input, child.stdin.take()) {
        (Some(input), Some(mut stdin)) => Some(std::thread::spawn(move || stdin.write_all(&input))),
        _ => None,
    };
    let mut stdout = Vec::new();
    let read = child.stdout.take().map(|mut s| s.read_to_end(&mut stdout));
    let output = child
        .wait_with_output()
        .map_err(|e| GitError::Failed(format!("cannot run git: {e}")))?;
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    if let Some(Err(e)) = read {
        return Err(GitError::Failed(format!("cannot read git's output: {e}")));
    }
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
        return Err(GitError::Failed(format!(
            "`git {}` failed: {stderr}",
            args.join(" ")
        )));
    }
    Ok(stdout)
}

/// `a/./b/../c` -> `a/c`, without touching the file system (the path may
/// not exist in the working tree any more).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

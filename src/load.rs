//! Finding and reading specs.
//!
//! A connector is one YAML file, or a directory holding `connector.yaml`
//! plus optional `actions/*.yaml` and `triggers/*.yaml` (one action or
//! trigger per file, appended in file-name order). Part files keep their own
//! spans, so a diagnostic about a split-out action points into its file.
//!
//! Problems with the content of a file are diagnostics; problems with
//! reaching it at all (a path that does not exist, a permission error) are
//! [`LoadError`]s, which the CLI reports with exit code 2.

use std::fs;
use std::path::{Path, PathBuf};

use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, SourceFile, Sources, Span};
use crate::yaml::{self, Key, Node, ParseErrorKind, Value};

/// Larger spec files are refused before they are read: the largest real
/// connectors are a few hundred KiB, and a directory connector can grow
/// without any one file growing.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// How deep `spec validate DIR` looks for specs below DIR.
const MAX_WALK_DEPTH: usize = 8;

/// The name of a connector directory's main file.
pub const CONNECTOR_FILE: &str = "connector.yaml";

/// A connector's YAML, merged from its files, not yet checked.
#[derive(Debug)]
pub struct RawConnector {
    /// The connector's file, or its directory.
    pub path: PathBuf,
    /// The file holding `app`, `auth` and the rest.
    pub main_file: FileId,
    pub root: Node,
}

/// Everything read in one run.
#[derive(Debug, Default)]
pub struct Loaded {
    pub sources: Sources,
    pub connectors: Vec<RawConnector>,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug)]
pub struct LoadError {
    pub path: PathBuf,
    pub message: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for LoadError {}

/// One connector to read, as found under the paths given on the command
/// line: a spec file, or a connector directory.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unit {
    File(PathBuf),
    Directory(PathBuf),
}

/// Loads every connector under `paths` (files or directories).
pub fn load(paths: &[PathBuf]) -> Result<Loaded, LoadError> {
    let mut loaded = Loaded::default();
    for unit in units(paths)? {
        let unit = load_unit(&unit, &mut loaded.sources)?;
        loaded.connectors.extend(unit.connector);
        loaded.diagnostics.extend(unit.diagnostics);
    }
    Ok(loaded)
}

/// Every connector under `paths`, in the order they are loaded and
/// reported. Fails only on a path that cannot be reached.
pub fn units(paths: &[PathBuf]) -> Result<Vec<Unit>, LoadError> {
    let mut units = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for path in paths {
        discover(path, 0, &mut units, &mut seen)?;
    }
    units.sort();
    units.dedup();
    Ok(units)
}

/// One unit, read: its connector (unless a file could not be parsed) and
/// the problems found reading it.
#[derive(Debug)]
pub struct LoadedUnit {
    pub connector: Option<RawConnector>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads one unit, adding its files to `sources`. Units are independent:
/// they can be read in parallel, each into its own [`Sources`].
pub fn load_unit(unit: &Unit, sources: &mut Sources) -> Result<LoadedUnit, LoadError> {
    let mut diagnostics = Vec::new();
    let connector = match unit {
        Unit::File(path) => {
            read_document(path, sources, &mut diagnostics)?.map(|(file, root)| RawConnector {
                path: path.clone(),
                main_file: file,
                root,
            })
        }
        Unit::Directory(dir) => load_directory(dir, sources, &mut diagnostics)?,
    };
    Ok(LoadedUnit {
        connector,
        diagnostics,
    })
}

fn io_error(path: &Path, error: std::io::Error) -> LoadError {
    let message = match error.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => error.to_string(),
    };
    LoadError {
        path: path.to_path_buf(),
        message,
    }
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

/// `seen` holds the canonical path of every file and directory visited, so
/// a symlink loop (or two names for one file) is walked and read once.
fn discover(
    path: &Path,
    depth: usize,
    units: &mut Vec<Unit>,
    seen: &mut std::collections::BTreeSet<PathBuf>,
) -> Result<(), LoadError> {
    let meta = fs::metadata(path).map_err(|e| io_error(path, e))?;
    if !seen.insert(fs::canonicalize(path).map_err(|e| io_error(path, e))?) {
        return Ok(());
    }
    if meta.is_file() {
        units.push(match connector_dir_of_part(path) {
            Some(dir) => Unit::Directory(dir),
            None => Unit::File(path.to_path_buf()),
        });
        return Ok(());
    }
    if path.join(CONNECTOR_FILE).is_file() {
        units.push(Unit::Directory(path.to_path_buf()));
        return Ok(());
    }
    if depth >= MAX_WALK_DEPTH {
        return Ok(());
    }
    for entry in sorted_entries(path)? {
        let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue;
        }
        if entry.is_dir() {
            discover(&entry, depth + 1, units, seen)?;
        } else if is_yaml(&entry) {
            units.push(Unit::File(entry));
        }
    }
    Ok(())
}

/// `x/actions/a.yaml` or `x/connector.yaml` where `x/connector.yaml`
/// exists: the file belongs to connector directory `x`.
fn connector_dir_of_part(path: &Path) -> Option<PathBuf> {
    let parent = path.parent()?;
    if path.file_name()? == CONNECTOR_FILE {
        return Some(parent.to_path_buf());
    }
    let kind = parent.file_name()?.to_str()?;
    let dir = parent.parent()?;
    (matches!(kind, "actions" | "triggers") && dir.join(CONNECTOR_FILE).is_file())
        .then(|| dir.to_path_buf())
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
        entries.push(entry.map_err(|e| io_error(dir, e))?.path());
    }
    entries.sort();
    Ok(entries)
}

fn load_directory(
    dir: &Path,
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Option<RawConnector>, LoadError> {
    let Some((main_file, mut root)) =
        read_document(&dir.join(CONNECTOR_FILE), sources, diagnostics)?
    else {
        return Ok(None);
    };
    for (section, singular) in [("actions", "action"), ("triggers", "trigger")] {
        let part_dir = dir.join(section);
        if !part_dir.is_dir() {
            continue;
        }
        for path in sorted_entries(&part_dir)? {
            if !is_yaml(&path) {
                continue;
            }
            let Some((file, part)) = read_document(&path, sources, diagnostics)? else {
                continue;
            };
            if !matches!(part.value, Value::Map(_)) {
                diagnostics.push(
                    Diagnostic::new(
                        Code::Layout,
                        format!("a file in `{section}/` must hold one {singular} as a mapping"),
                    )
                    .at(part.span)
                    .help(format!(
                        "write the {singular}'s keys (`id`, `key`, `name`, ...) at the top level of the file"
                    )),
                );
                continue;
            }
            append_part(&mut root, section, part, file);
        }
    }
    Ok(Some(RawConnector {
        path: dir.to_path_buf(),
        main_file,
        root,
    }))
}

/// Appends a part file's mapping to `root[section]`, creating the list when
/// `connector.yaml` has none.
fn append_part(root: &mut Node, section: &str, part: Node, part_file: FileId) {
    let Value::Map(entries) = &mut root.value else {
        return;
    };
    if let Some((_, list)) = entries.iter_mut().find(|(k, _)| k.name == section) {
        if let Value::Seq(items) = &mut list.value {
            items.push(part);
        }
        // A non-list `actions:` is a schema error reported on connector.yaml;
        // the part is left out rather than hiding that error.
        return;
    }
    let span = Span::file_start(part_file);
    entries.push((
        Key {
            name: section.into(),
            span,
        },
        Node {
            value: Value::Seq(vec![part]),
            span,
            verbatim_start: None,
        },
    ));
}

/// Reads and parses one file. Content problems become diagnostics (and
/// `None`); only I/O failures are errors.
fn read_document(
    path: &Path,
    sources: &mut Sources,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Option<(FileId, Node)>, LoadError> {
    let meta = fs::metadata(path).map_err(|e| io_error(path, e))?;
    if meta.len() > MAX_FILE_BYTES {
        let file = sources.add(SourceFile::new(path.to_path_buf(), String::new()));
        diagnostics.push(
            Diagnostic::new(
                Code::ResourceLimit,
                format!(
                    "file is {} bytes; a spec file may be at most {} MiB",
                    meta.len(),
                    MAX_FILE_BYTES / (1024 * 1024)
                ),
            )
            .at(Span::file_start(file))
            .help("split the connector into a directory: connector.yaml plus actions/*.yaml and triggers/*.yaml"),
        );
        return Ok(None);
    }
    let bytes = fs::read(path).map_err(|e| io_error(path, e))?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let valid = error.utf8_error().valid_up_to();
            let bytes = error.into_bytes();
            // Keep the valid prefix so the diagnostic can show the line.
            let prefix = String::from_utf8_lossy(&bytes[..valid]).into_owned();
            let file = sources.add(SourceFile::new(path.to_path_buf(), prefix));
            diagnostics.push(
                Diagnostic::new(
                    Code::NotUtf8,
                    format!(
                        "file is not valid UTF-8 (invalid byte 0x{:02x} at byte {valid})",
                        bytes[valid]
                    ),
                )
                .at(Span::new(file, valid, valid))
                .help("re-save the file as UTF-8"),
            );
            return Ok(None);
        }
    };
    let file = sources.add(SourceFile::new(path.to_path_buf(), text));
    let text = &sources.get(file).text;
    match yaml::parse(file, text) {
        Ok(root) if matches!(root.value, Value::Null) => {
            diagnostics.push(
                Diagnostic::new(Code::EmptyFile, "file is empty: it holds no YAML document")
                    .at(Span::file_start(file))
                    .help(
                        "write a connector here, or run `spec new <connector>` for a starter spec",
                    ),
            );
            Ok(None)
        }
        Ok(root) => Ok(Some((file, root))),
        Err(error) => {
            let (code, help) = match error.kind {
                ParseErrorKind::Syntax => {
                    (Code::YamlSyntax, "fix the YAML syntax at this position")
                }
                ParseErrorKind::DuplicateKey => {
                    (Code::DuplicateKey, "remove or rename one of the two keys")
                }
                ParseErrorKind::ResourceLimit => (
                    Code::ResourceLimit,
                    "real connectors are far below this limit; split large connectors into a directory and avoid YAML aliases",
                ),
            };
            diagnostics.push(
                Diagnostic::new(code, error.message)
                    .at(error.span)
                    .help(help),
            );
            Ok(None)
        }
    }
}

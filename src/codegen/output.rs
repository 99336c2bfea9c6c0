//! Writing generated files, or checking that they are current.
//!
//! Both compare the [`Build`] with what is on disk under the output
//! directory. Writing replaces each changed file atomically (a temporary
//! file in the same directory, then a rename), leaves unchanged files
//! untouched (their modification times too), and removes stale files from
//! the directories the build owns. Checking writes nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{Build, GeneratedFile};
use crate::render::display_path;

/// How a path under the output directory compares with the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Unchanged,
    /// On disk with other contents (lossily decoded if not UTF-8).
    Changed {
        old: String,
    },
    /// Produced by the build, not on disk.
    Missing,
    /// On disk in an owned directory, not produced by the build.
    Extra,
}

/// One path and its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the output directory.
    pub path: PathBuf,
    pub status: Status,
}

/// A file or directory that could not be read or written.
#[derive(Debug)]
pub struct OutputError {
    pub path: PathBuf,
    pub error: io::Error,
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", display_path(&self.path), self.error)
    }
}

impl std::error::Error for OutputError {}

fn at(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |error| OutputError {
        path: path.to_path_buf(),
        error,
    }
}

/// Adds an `Extra` entry for each file under the build's own directories
/// in `out` that the build did not produce.
fn push_extra(
    out: &Path,
    owned_dirs: &[PathBuf],
    produced: &HashSet<&Path>,
    entries: &mut Vec<Entry>,
) -> Result<(), OutputError> {
    for dir in owned_dirs {
        let mut found = Vec::new();
        files_under(out, dir, &mut found)?;
        for path in found {
            if !produced.contains(path.as_path()) {
                entries.push(Entry {
                    path,
                    status: Status::Extra,
                });
            }
        }
    }
    Ok(())
}

/// Every produced file and every extra file, sorted by path.
pub fn compare(out: &Path, build: &Build) -> Result<Vec<Entry>, OutputError> {
    let mut entries = Vec::new();
    for file in &build.files {
        let path = out.join(&file.path);
        let status = match fs::read(&path) {
            Ok(bytes) if bytes == file.contents.as_bytes() => Status::Unchanged,
            Ok(bytes) => Status::Changed {
                old: String::from_utf8_lossy(&bytes).into_owned(),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => Status::Missing,
            Err(e) => return Err(at(&path)(e)),
        };
        entries.push(Entry {
            path: file.path.clone(),
            status,
        });
    }
    let produced: HashSet<&Path> = build.files.iter().map(|f| f.path.as_path()).collect();
    push_extra(out, &build.owned_dirs, &produced, &mut entries)?;
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

/// [`compare`] of `out` with a build already written to the directory
/// `built`: every file of `built` and every extra file of `out`, sorted by
/// path, and a [`Build`] holding only the files that differ (what
/// [`unified_diff`] shows), so a large build is never all in memory.
pub fn compare_dirs(
    out: &Path,
    built: &Path,
    owned_dirs: &[PathBuf],
) -> Result<(Vec<Entry>, Build), OutputError> {
    let mut produced = Vec::new();
    files_under(built, Path::new(""), &mut produced)?;
    let mut entries = Vec::new();
    let mut differing = Vec::new();
    for rel in &produced {
        let new_path = built.join(rel);
        let new = fs::read(&new_path).map_err(at(&new_path))?;
        let path = out.join(rel);
        let status = match fs::read(&path) {
            Ok(bytes) if bytes == new => Status::Unchanged,
            Ok(bytes) => Status::Changed {
                old: String::from_utf8_lossy(&bytes).into_owned(),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => Status::Missing,
            Err(e) => return Err(at(&path)(e)),
        };
        if status != Status::Unchanged {
            differing.push(GeneratedFile {
                path: rel.clone(),
                contents: String::from_utf8_lossy(&new).into_owned(),
            });
        }
        entries.push(Entry {
            path: rel.clone(),
            status,
        });
    }
    let produced: HashSet<&Path> = produced.iter().map(PathBuf::as_path).collect();
    push_extra(out, owned_dirs, &produced, &mut entries)?;
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let build = Build {
        files: differing,
        owned_dirs: owned_dirs.to_vec(),
    };
    Ok((entries, build))
}

/// Files (and symlinks) under `out/rel`, as paths relative to `out`.
fn files_under(out: &Path, rel: &Path, found: &mut Vec<PathBuf>) -> Result<(), OutputError> {
    let dir = out.join(rel);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(at(&dir)(e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(at(&dir))?;
        let kind = entry.file_type().map_err(at(&entry.path()))?;
        names.push((entry.file_name(), kind.is_dir()));
    }
    names.sort();
    for (name, is_dir) in names {
        let child = rel.join(name);
        if is_dir {
            files_under(out, &child, found)?;
        } else {
            found.push(child);
        }
    }
    Ok(())
}

/// What a write did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    pub written: Vec<PathBuf>,
    pub unchanged: usize,
    pub removed: Vec<PathBuf>,
}

/// Brings `out` in line with the build: writes missing and changed files,
/// removes extra ones (and directories that end up empty).
pub fn write(out: &Path, build: &Build) -> Result<Written, OutputError> {
    let mut report = Written::default();
    let produced = by_path(build);
    for entry in compare(out, build)? {
        let path = out.join(&entry.path);
        match entry.status {
            Status::Unchanged => report.unchanged += 1,
            Status::Changed { .. } | Status::Missing => {
                let file = produced
                    .get(entry.path.as_path())
                    .expect("compare lists only produced files as changed or missing");
                write_atomically(&path, file.contents.as_bytes())?;
                report.written.push(entry.path);
            }
            Status::Extra => {
                fs::remove_file(&path).map_err(at(&path))?;
                remove_empty_parents(out, &entry.path);
                report.removed.push(entry.path);
            }
        }
    }
    Ok(report)
}

/// The build's files by path.
fn by_path(build: &Build) -> HashMap<&Path, &GeneratedFile> {
    build.files.iter().map(|f| (f.path.as_path(), f)).collect()
}

/// Writes a build file by file, as it is made ([`super::write`]): each
/// changed file is staged in a temporary file beside its path; [`finish`]
/// renames them all into place and removes stale files. Dropped without
/// `finish` (the build failed), it removes what it staged and the
/// directories it created, leaving the output directory as it was.
///
/// Files can be staged from several threads at once (a streamed build
/// renders pages on every core), and a path staged again replaces what was
/// staged for it before.
///
/// [`finish`]: Writer::finish
pub struct Writer<'a> {
    out: &'a Path,
    /// `out` made absolute once: temporary files are created there, where
    /// a relative directory would cost a `getcwd` per file.
    absolute: PathBuf,
    state: Mutex<WriterState>,
}

#[derive(Default)]
struct WriterState {
    /// Every produced file by relative path: its staged temporary file, or
    /// `None` when the disk already holds it.
    files: BTreeMap<PathBuf, Option<tempfile::TempPath>>,
    /// Directories created for staging, parents first.
    created: Vec<PathBuf>,
    /// Directories known to exist (found or created): each is looked up
    /// once, not once per file.
    dirs: HashSet<PathBuf>,
}

impl<'a> Writer<'a> {
    pub fn new(out: &'a Path) -> Writer<'a> {
        Writer {
            out,
            absolute: std::path::absolute(out).unwrap_or_else(|_| out.to_path_buf()),
            state: Mutex::new(WriterState::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, WriterState> {
        // A panic while staging leaves a consistent map (one insert).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Compares `file` with what is on disk and stages it if it differs.
    pub fn stage(&self, file: super::GeneratedFile) -> Result<(), OutputError> {
        let path = self.out.join(&file.path);
        let staged = match fs::read(&path) {
            Ok(bytes) if bytes == file.contents.as_bytes() => None,
            Ok(_) => Some(self.stage_changed(&file.path, file.contents.as_bytes())?),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Some(self.stage_changed(&file.path, file.contents.as_bytes())?)
            }
            Err(e) => return Err(at(&path)(e)),
        };
        self.state().files.insert(file.path, staged);
        Ok(())
    }

    /// A new empty temporary file beside `rel` (relative to the output
    /// directory), for a file too large to make in memory: the caller
    /// writes it, then hands it to [`Writer::stage_written`].
    pub fn temp_file(&self, rel: &Path) -> Result<tempfile::NamedTempFile, OutputError> {
        self.temp_file_with(rel, b"")
    }

    /// A new temporary file beside `rel` holding `contents`.
    fn temp_file_with(
        &self,
        rel: &Path,
        contents: &[u8],
    ) -> Result<tempfile::NamedTempFile, OutputError> {
        let path = self.out.join(rel);
        self.create_parent(&path)?;
        let absolute = self.absolute.join(rel);
        let (dir, in_dir) = (
            path.parent().unwrap_or(Path::new(".")),
            absolute.parent().unwrap_or(Path::new(".")),
        );
        temp_file_in(dir, in_dir, &path, contents)
    }

    /// Stages `temp` (from [`Writer::temp_file`], written) as `rel`, or
    /// deletes it when the disk already holds the same bytes.
    pub fn stage_written(
        &self,
        rel: &Path,
        temp: tempfile::NamedTempFile,
    ) -> Result<(), OutputError> {
        let path = self.out.join(rel);
        let same = match fs::File::open(&path) {
            Ok(old) => same_contents(old, temp.path()).map_err(at(&path))?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(at(&path)(e)),
        };
        let staged = (!same).then(|| temp.into_temp_path());
        self.state().files.insert(rel.to_path_buf(), staged);
        Ok(())
    }

    /// Stages `contents` for `rel` (relative to the output directory).
    fn stage_changed(
        &self,
        rel: &Path,
        contents: &[u8],
    ) -> Result<tempfile::TempPath, OutputError> {
        Ok(self.temp_file_with(rel, contents)?.into_temp_path())
    }

    /// Creates the directory of `path`, remembering what it created.
    fn create_parent(&self, path: &Path) -> Result<(), OutputError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        if dir.as_os_str().is_empty() {
            return Ok(());
        }
        // Under the lock, so that two threads do not both claim a directory.
        let mut state = self.state();
        if state.dirs.contains(dir) {
            return Ok(());
        }
        if dir.is_dir() {
            state.dirs.insert(dir.to_path_buf());
            return Ok(());
        }
        let mut missing = Vec::new();
        let mut ancestor = Some(dir);
        while let Some(d) = ancestor.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            missing.push(d.to_path_buf());
            ancestor = d.parent();
        }
        fs::create_dir_all(dir).map_err(at(dir))?;
        state.created.extend(missing.into_iter().rev());
        state.dirs.insert(dir.to_path_buf());
        Ok(())
    }

    /// Renames the staged files into place and removes the files of
    /// `owned_dirs` that the build did not produce.
    pub fn finish(self, owned_dirs: &[PathBuf]) -> Result<Written, OutputError> {
        let mut state = std::mem::take(&mut *self.state());
        let mut report = Written::default();
        // The staged files themselves are in owned directories too.
        let staged: HashSet<PathBuf> = state
            .files
            .iter()
            .filter_map(|(rel, temp)| Some(rel.parent()?.join(temp.as_ref()?.file_name()?)))
            .collect();
        let mut extra = Vec::new();
        for dir in owned_dirs {
            let mut found = Vec::new();
            files_under(self.out, dir, &mut found)?;
            extra.extend(
                found
                    .into_iter()
                    .filter(|p| !state.files.contains_key(p) && !staged.contains(p)),
            );
        }
        state.created.clear();
        for (rel, temp) in std::mem::take(&mut state.files) {
            let Some(temp) = temp else {
                report.unchanged += 1;
                continue;
            };
            let path = self.out.join(&rel);
            temp.persist(&path).map_err(|e| at(&path)(e.error))?;
            report.written.push(rel);
        }
        for rel in extra {
            let path = self.out.join(&rel);
            fs::remove_file(&path).map_err(at(&path))?;
            remove_empty_parents(self.out, &rel);
            report.removed.push(rel);
        }
        report.written.sort();
        report.removed.sort();
        Ok(report)
    }
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        // Unfinished: delete the staged files, then the directories made
        // for them (deepest first; only those left empty).
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        state.files.clear();
        for dir in state.created.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// Whether the file `old` holds exactly the bytes of the file at `new`.
fn same_contents(old: fs::File, new: &Path) -> io::Result<bool> {
    use std::io::Read as _;
    let new = fs::File::open(new)?;
    if old.metadata()?.len() != new.metadata()?.len() {
        return Ok(false);
    }
    let (mut old, mut new) = (io::BufReader::new(old), io::BufReader::new(new));
    let (mut a, mut b) = (vec![0; 1 << 16], vec![0; 1 << 16]);
    loop {
        let n = old.read(&mut a)?;
        if n == 0 {
            // Same length: `new` is at its end too.
            return Ok(true);
        }
        new.read_exact(&mut b[..n])?;
        if a[..n] != b[..n] {
            return Ok(false);
        }
    }
}

/// Writes `contents` into a new temporary file in `dir` (for `path`),
/// made in `in_dir`: the same directory, perhaps spelt otherwise (errors
/// name `dir`).
fn temp_file_in(
    dir: &Path,
    in_dir: &Path,
    path: &Path,
    contents: &[u8],
) -> Result<tempfile::NamedTempFile, OutputError> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".spec-build-");
    // A temporary file is private (0600); a generated file is an ordinary
    // one: 0666 less the umask, as `fs::write` would create it.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut temp = builder.tempfile_in(in_dir).map_err(at(dir))?;
    temp.write_all(contents).map_err(at(path))?;
    Ok(temp)
}

/// Writes a temporary file beside `path`, then renames it over `path`: a
/// reader sees the old file or the new one, never half of one.
///
/// No fsync: generated files are reproducible from the specs, and `spec
/// build --check` tells when they are not what the specs give. (An fsync per
/// file cost a 1,000-connector build several seconds of waiting on the disk.)
fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), OutputError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(at(dir))?;
    let temp = temp_file_in(dir, dir, path, contents)?;
    temp.persist(path).map_err(|e| at(path)(e.error))?;
    Ok(())
}

/// Removes the now-empty directories between a removed file and `out`.
fn remove_empty_parents(out: &Path, rel: &Path) {
    let mut dir = rel.parent();
    while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
        // Fails (and stops) at the first directory that is not empty.
        if fs::remove_dir(out.join(d)).is_err() {
            break;
        }
        dir = d.parent();
    }
}

/// A unified diff (old on disk -> what the build produces) of every entry
/// that is not unchanged, with `a/` and `b/` paths under `shown_out`.
pub fn unified_diff(entries: &[Entry], build: &Build, shown_out: &str) -> String {
    let mut out = String::new();
    let produced = by_path(build);
    for entry in entries {
        let shown = format!("{shown_out}/{}", display_path(&entry.path));
        let new = produced
            .get(entry.path.as_path())
            .map_or("", |f| f.contents.as_str());
        let (old, old_name, new_name) = match &entry.status {
            Status::Unchanged => continue,
            Status::Changed { old } => (old.as_str(), format!("a/{shown}"), format!("b/{shown}")),
            Status::Missing => ("", "/dev/null".to_string(), format!("b/{shown}")),
            Status::Extra => {
                out.push_str(&format!(
                    "--- a/{shown}\n+++ /dev/null\n(the build no longer produces this file)\n"
                ));
                continue;
            }
        };
        let diff = similar::TextDiff::from_lines(old, new);
        out.push_str(
            &diff
                .unified_diff()
                .context_radius(3)
                .header(&old_name, &new_name)
                .to_string(),
        );
    }
    out
}

//! Code generation: validated connectors -> the files under `generated/`.
//!
//! The flow is specs -> [`rows`] (a dialect-neutral row model of the
//! platform's [`tables`]) -> [`sql`] text per [`dialect`]. The same row model
//! gives the seed, the delta between two versions of the specs ([`diff`],
//! [`changes`]) and, for `spec apply` ([`apply`]), the drift of a database.
//!
//! A generator returns [`GeneratedFile`]s with paths relative to the output
//! directory and names the subdirectories it owns; [`output`] writes them
//! (atomically, only when changed, removing stale files in owned
//! subdirectories) or checks them (`spec build --check`). A new generator
//! (the docs site) adds its files and its directory in [`build`].
//!
//! ```no_run
//! let project = spec::validate::validate(&["specs".into()]).unwrap();
//! assert!(!project.has_errors());
//! let build = spec::codegen::build(&project.connectors).unwrap();
//! for file in &build.files {
//!     println!("{} ({} bytes)", file.path.display(), file.contents.len());
//! }
//! ```

pub mod apply;
pub mod changes;
pub mod dialect;
pub mod diff;
pub mod docs;
pub mod output;
pub mod rows;
pub mod sql;
pub mod stream;
pub mod tables;

use std::path::PathBuf;

use crate::config::Config;
use crate::render::display_path;
use crate::validate::ModeledConnector;

pub use rows::BuildError;

/// One file the build produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Relative to the output directory, `/`-separated components.
    pub path: PathBuf,
    pub contents: String,
}

/// Everything one build produces.
#[derive(Debug, Clone)]
pub struct Build {
    /// Sorted by path.
    pub files: Vec<GeneratedFile>,
    /// Subdirectories of the output directory that the build owns: a file
    /// in one of them that the build did not produce is stale and removed.
    /// Files elsewhere in the output directory are never touched unless
    /// produced.
    pub owned_dirs: Vec<PathBuf>,
}

/// Builds every generated file from validated connectors (the caller checks
/// that they have no errors), with the default project configuration.
/// Fails only on values no database can hold.
pub fn build(connectors: &[ModeledConnector]) -> Result<Build, BuildError> {
    build_with(connectors, &Config::default()).map_err(|error| match error {
        Error::Rows(error) => error,
        // The embedded docs templates render every valid connector (tested).
        Error::Docs(error) => panic!("the default docs templates failed: {error}"),
    })
}

/// A build that failed: rows no database can hold, or docs that cannot be
/// rendered with the project's templates or changelog.
#[derive(Debug)]
pub enum Error {
    Rows(BuildError),
    Docs(docs::DocsError),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Rows(error) => error.fmt(f),
            Error::Docs(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

/// [`build`] with a project configuration (`spec.toml`), which only the
/// docs read.
pub fn build_with(connectors: &[ModeledConnector], config: &Config) -> Result<Build, Error> {
    let mut files = Vec::new();
    let owned_dirs = build_each(connectors, config, &mut |file| {
        files.push(file);
        Ok::<(), Error>(())
    })?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Build { files, owned_dirs })
}

/// [`build_with`], handing each file to `sink` as soon as it is made (in no
/// particular order) rather than collecting them: a large build's files
/// need not all be in memory at once. Returns the directories the build
/// owns (see [`Build::owned_dirs`]). Stops at the first error.
pub fn build_each<E: From<Error> + From<docs::DocsError>>(
    connectors: &[ModeledConnector],
    config: &Config,
    sink: &mut dyn FnMut(GeneratedFile) -> Result<(), E>,
) -> Result<Vec<PathBuf>, E> {
    let apps = rows::all_rows(connectors.iter().map(|c| (&c.model, display_path(&c.path))))
        .map_err(Error::Rows)?;
    for file in fixed_files() {
        sink(file)?;
    }
    for dialect in dialect::Dialect::ALL {
        let dir = PathBuf::from(sql::SQL_DIR).join(dialect.name());
        sink(GeneratedFile {
            path: dir.join("seed.sql"),
            contents: sql::seed(dialect, &apps).text(),
        })?;
    }
    drop(apps);
    let models: Vec<&crate::model::Connector> = connectors.iter().map(|c| &c.model).collect();
    docs::each_file(&models, &config.docs, &mut |file| sink(file))?;
    Ok(owned_dirs())
}

/// The files that do not depend on the specs: the output's README and
/// `.gitattributes`, and each dialect's schema.
fn fixed_files() -> Vec<GeneratedFile> {
    let mut files = vec![
        GeneratedFile {
            path: PathBuf::from("README.md"),
            contents: README.to_string(),
        },
        GeneratedFile {
            path: PathBuf::from(".gitattributes"),
            contents: GITATTRIBUTES.to_string(),
        },
    ];
    for dialect in dialect::Dialect::ALL {
        files.push(GeneratedFile {
            path: PathBuf::from(sql::SQL_DIR)
                .join(dialect.name())
                .join("schema.sql"),
            contents: sql::schema(dialect).text(),
        });
    }
    files
}

/// The directories the build owns (see [`Build::owned_dirs`]).
pub fn owned_dirs() -> Vec<PathBuf> {
    vec![PathBuf::from(sql::SQL_DIR), PathBuf::from(docs::DOCS_DIR)]
}

/// Builds and writes in one pass (`spec build`): each file is compared with
/// the one on disk as soon as it is made, and a changed one is staged in a
/// temporary file beside it, so memory holds about one file at a time.
/// Only when every file was made are the staged files renamed into place
/// and stale ones removed: a build that fails writes nothing.
pub fn write(
    connectors: &[ModeledConnector],
    config: &Config,
    out: &std::path::Path,
) -> Result<output::Written, WriteError> {
    let writer = output::Writer::new(out);
    let owned_dirs = build_each(connectors, config, &mut |file| {
        writer.stage(file).map_err(WriteError::Output)
    })?;
    writer.finish(&owned_dirs).map_err(WriteError::Output)
}

/// Why [`write`] failed.
#[derive(Debug)]
pub enum WriteError {
    /// The build failed; nothing was written.
    Build(Error),
    /// A file could not be read or written.
    Output(output::OutputError),
}

impl From<Error> for WriteError {
    fn from(error: Error) -> WriteError {
        WriteError::Build(error)
    }
}

impl From<docs::DocsError> for Error {
    fn from(error: docs::DocsError) -> Error {
        Error::Docs(error)
    }
}

impl From<docs::DocsError> for WriteError {
    fn from(error: docs::DocsError) -> WriteError {
        WriteError::Build(Error::Docs(error))
    }
}

/// `generated/.gitattributes`: git must never convert line endings here, or
/// a newline inside a SQL string literal would change the value it seeds.
const GITATTRIBUTES: &str = "\
# Generated by `spec build`. Byte-exact files: no line-ending conversion.
* -text
";

const README: &str = "\
# generated/

Everything here is generated by `spec build` from the connector specs in
`specs/`. Do not edit these files: edit the specs and run

```sh
spec build            # in this repository: cargo run -- build
```

CI runs `spec build --check`, which fails (and shows the diff) when this
directory is not what the specs produce. The files are byte-for-byte
deterministic: the same specs give the same bytes on any machine.

## Layout

| path | what |
| ---- | ---- |
| `sql/mysql/schema.sql` | DDL of the platform's metadata tables for MySQL and MariaDB |
| `sql/mysql/seed.sql` | every app, auth field, action, trigger and field, for MySQL and MariaDB |
| `sql/postgres/schema.sql`, `sql/postgres/seed.sql` | the same for PostgreSQL |
| `sql/sqlite/schema.sql`, `sql/sqlite/seed.sql` | the same for SQLite |
| `docs/index.html` | the docs site (open it from disk): every connector, with search and filters; `docs/<key>.html` per connector, `docs/tables.html` |
| `docs/README.md`, `docs/<key>.md` | the same docs as Markdown |

The tables and their columns are described in `docs/tables.md`.

## Loading

Run the schema, then the seed:

```sh
mysql  -u USER DB < sql/mysql/schema.sql && mysql -u USER DB < sql/mysql/seed.sql
psql   -v ON_ERROR_STOP=1 -d DB -f sql/postgres/schema.sql -f sql/postgres/seed.sql
sqlite3 db.sqlite < sql/sqlite/schema.sql && sqlite3 db.sqlite < sql/sqlite/seed.sql
```

- The schema uses `CREATE TABLE IF NOT EXISTS`: safe to run again.
- The seed runs in one transaction. It upserts every row, keyed by the
  stable ids, then deletes the rows the specs no longer have (apps,
  actions, triggers, auth fields and fields), so the tables match the specs
  exactly. Running it twice leaves the same rows.

For a production release, `spec diff --from <git-ref> --format sql
--dialect mysql` gives only the rows that changed since that ref, with a
summary and warnings about breaking changes in its header.
";

//! Applying the row model to a live database through sqlx (`spec apply`).
//!
//! One transaction: lock the tables, read their rows back into the row
//! model, compute the delta to the specs' rows ([`super::diff`]) and execute
//! it ([`super::sql::delta`]). So `apply` writes only what differs, reports
//! exact counts, and `--check` (drift) and `--dry-run` are the same steps
//! ending in a rollback. Any failure rolls the transaction back; a killed
//! process leaves an open transaction the server rolls back.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr as _;

use sqlx::mysql::MySqlConnection;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection as _, Row as _};

use super::changes::{self, Report};
use super::dialect::Dialect;
use super::diff;
use super::rows::{Row, SqlValue, Tables};
use super::sql::{self, Statement};
use super::tables::{ColumnType, TABLES, Table};

/// A database error, with the statement that failed when there was one.
#[derive(Debug)]
pub struct DbError {
    pub message: String,
    /// The start of the failing statement.
    pub statement: Option<String>,
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(statement) = &self.statement {
            write!(f, "\n  = in: {statement}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DbError {}

impl DbError {
    fn new(message: impl Into<String>) -> DbError {
        DbError {
            message: message.into(),
            statement: None,
        }
    }

    fn at(error: sqlx::Error, sql: &str) -> DbError {
        let excerpt: String = sql.chars().take(200).collect();
        let more = if excerpt.len() < sql.len() {
            " ..."
        } else {
            ""
        };
        DbError {
            message: error.to_string(),
            statement: Some(format!("{excerpt}{more}")),
        }
    }
}

enum Conn {
    Sqlite(SqliteConnection),
    Mysql(MySqlConnection),
    Postgres(PgConnection),
}

/// Runs `$body` with `$c` bound to whichever connection this is.
macro_rules! with_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            Conn::Sqlite($c) => $body,
            Conn::Mysql($c) => $body,
            Conn::Postgres($c) => $body,
        }
    };
}

/// One connection to a database of one of the [`Dialect`]s.
pub struct Database {
    rt: tokio::runtime::Runtime,
    conn: Conn,
    pub dialect: Dialect,
}

/// The dialect a database URL speaks, from its scheme.
pub fn dialect_of(url: &str) -> Option<Dialect> {
    let scheme = url.split_once(':')?.0.to_ascii_lowercase();
    match scheme.as_str() {
        "sqlite" => Some(Dialect::Sqlite),
        "mysql" | "mariadb" => Some(Dialect::Mysql),
        "postgres" | "postgresql" => Some(Dialect::Postgres),
        _ => None,
    }
}

impl Database {
    /// Connects to `url`: `sqlite://FILE` (created if missing),
    /// `mysql://` or `mariadb://`, `postgres://` or `postgresql://`.
    /// Errors never repeat the URL (it may hold a password).
    pub fn connect(url: &str) -> Result<Database, DbError> {
        let dialect = dialect_of(url).ok_or_else(|| {
            DbError::new("the database URL must start with `sqlite:`, `mysql:`, `mariadb:`, `postgres:` or `postgresql:`")
        })?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| DbError::new(format!("cannot start the I/O runtime: {e}")))?;
        let connected = rt.block_on(async {
            match dialect {
                Dialect::Sqlite => {
                    let options = SqliteConnectOptions::from_str(url)?.create_if_missing(true);
                    SqliteConnection::connect_with(&options)
                        .await
                        .map(Conn::Sqlite)
                }
                Dialect::Mysql => {
                    let url = match url.strip_prefix("mariadb:") {
                        Some(rest) => format!("mysql:{rest}"),
                        None => url.to_string(),
                    };
                    MySqlConnection::connect(&url).await.map(Conn::Mysql)
                }
                Dialect::Postgres => PgConnection::connect(url).await.map(Conn::Postgres),
            }
        });
        let conn = connected.map_err(|e| {
            DbError::new(format!(
                "cannot connect to the {} database: {e}",
                dialect.title()
            ))
        })?;
        Ok(Database { rt, conn, dialect })
    }

    /// Executes one statement (or several, separated by `;`).
    pub fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        let rt = &self.rt;
        with_conn!(&mut self.conn, c => rt.block_on(sqlx::raw_sql(sql).execute(&mut *c)).map(|_| ()))
            .map_err(|e| DbError::at(e, sql))
    }

    /// Which of the platform's tables exist.
    fn existing_tables(&mut self) -> Result<BTreeSet<String>, DbError> {
        let names: Vec<String> = TABLES.iter().map(|t| format!("'{}'", t.name)).collect();
        let query = match self.dialect {
            Dialect::Sqlite => format!(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ({})",
                names.join(", ")
            ),
            Dialect::Mysql => format!(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN ({})",
                names.join(", ")
            ),
            Dialect::Postgres => format!(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN ({})",
                names.join(", ")
            ),
        };
        let rt = &self.rt;
        let names: Result<Vec<String>, sqlx::Error> = with_conn!(&mut self.conn, c => {
            rt.block_on(sqlx::query(&query).fetch_all(&mut *c))
                .and_then(|rows| rows.iter().map(|r| r.try_get_unchecked::<String, _>(0)).collect())
        });
        Ok(names
            .map_err(|e| DbError::at(e, &query))?
            .into_iter()
            .collect())
    }

    /// Every row of the platform's tables (a missing table has none).
    /// `lock` reads `FOR UPDATE` where the dialect needs it to keep other
    /// writers out until the transaction ends.
    pub fn read(&mut self, lock: bool) -> Result<Tables, DbError> {
        let existing = self.existing_tables()?;
        let mut tables = Tables::default();
        for (at, table) in TABLES.iter().enumerate() {
            if !existing.contains(table.name) {
                continue;
            }
            let columns: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
            let mut query = format!(
                "SELECT {} FROM {} ORDER BY {}",
                columns.join(", "),
                table.name,
                table.primary_key.join(", ")
            );
            if lock && self.dialect == Dialect::Mysql {
                query.push_str(" FOR UPDATE");
            }
            let rt = &self.rt;
            let rows: Result<Vec<Row>, sqlx::Error> = with_conn!(&mut self.conn, c => {
                rt.block_on(sqlx::query(&query).fetch_all(&mut *c))
                    .and_then(|rows| rows.iter().map(|r| decode(r, table)).collect())
            });
            for row in rows.map_err(|e| DbError::at(e, &query))? {
                tables.tables[at].rows.insert(row.key(table), row);
            }
        }
        Ok(tables)
    }

    /// Opens the transaction and keeps other writers out of the tables.
    fn begin(&mut self) -> Result<(), DbError> {
        for setup in self.dialect.session_setup() {
            self.execute(setup)?;
        }
        match self.dialect {
            Dialect::Sqlite => self.execute("BEGIN IMMEDIATE"),
            Dialect::Mysql => self.execute("START TRANSACTION"),
            Dialect::Postgres => self.execute("BEGIN"),
        }
    }

    fn rollback(&mut self) {
        // Best effort: the error that led here is the one to report, and the
        // server rolls back an open transaction when the connection closes.
        let _ = self.execute("ROLLBACK");
    }

    /// Runs `statements` in one transaction: all of them, or none.
    pub fn transaction(&mut self, statements: &[Statement]) -> Result<(), DbError> {
        self.begin()?;
        for statement in statements {
            if let Err(error) = self.execute(&statement.sql) {
                self.rollback();
                return Err(error);
            }
        }
        self.execute("COMMIT")
    }
}

/// Decodes a row read with the columns of `table`, in order.
fn decode<R>(row: &R, table: &Table) -> Result<Row, sqlx::Error>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let mut values = Vec::with_capacity(table.columns.len());
    for (i, column) in table.columns.iter().enumerate() {
        // Unchecked: the schema says what each column holds, and MySQL
        // flags `utf8mb4_bin` text as binary, which sqlx would refuse.
        let value = match column.ty {
            ColumnType::Int => row
                .try_get_unchecked::<Option<i64>, _>(i)?
                .map_or(SqlValue::Null, SqlValue::Int),
            ColumnType::Key(_) | ColumnType::Text => row
                .try_get_unchecked::<Option<String>, _>(i)?
                .map_or(SqlValue::Null, SqlValue::Text),
        };
        values.push(value);
    }
    Ok(Row(values))
}

/// What [`apply`] found and did.
#[derive(Debug)]
pub struct Applied {
    /// Rows per table: (table, inserted, updated, deleted), from the
    /// database's rows to the specs'.
    pub counts: Vec<(&'static str, usize, usize, usize)>,
    /// The difference by meaning (database = old, specs = new).
    pub report: Report,
    /// The statements that were (or, in a dry run, would be) executed.
    pub statements: Vec<Statement>,
}

impl Applied {
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// (inserted, updated, deleted) over all tables.
    pub fn totals(&self) -> (usize, usize, usize) {
        self.counts
            .iter()
            .fold((0, 0, 0), |(i, u, d), (_, ti, tu, td)| {
                (i + ti, u + tu, d + td)
            })
    }
}

/// Whether [`apply`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Create the tables if needed and make their rows the specs' rows.
    Write,
    /// Compute what would change, write nothing.
    DryRun,
}

/// Makes the database's rows equal `desired` in one transaction (or, in a
/// dry run, says what that would take).
pub fn apply(db: &mut Database, desired: &Tables, mode: Mode) -> Result<Applied, DbError> {
    let schema = sql::schema(db.dialect);
    if mode == Mode::Write && !db.dialect.transactional_ddl() {
        // MySQL commits DDL implicitly; `IF NOT EXISTS` makes it harmless.
        for statement in &schema.statements {
            db.execute(&statement.sql)?;
        }
    }
    db.begin()?;
    let result = apply_in_transaction(db, desired, mode, &schema.statements);
    match (&result, mode) {
        (Ok(_), Mode::Write) => db.execute("COMMIT")?,
        _ => db.rollback(),
    }
    result
}

fn apply_in_transaction(
    db: &mut Database,
    desired: &Tables,
    mode: Mode,
    schema: &[Statement],
) -> Result<Applied, DbError> {
    if mode == Mode::Write && db.dialect.transactional_ddl() {
        for statement in schema {
            db.execute(&statement.sql)?;
        }
    }
    if db.dialect == Dialect::Postgres && mode == Mode::Write {
        let names: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
        db.execute(&format!(
            "LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE",
            names.join(", ")
        ))?;
    }
    let actual = db.read(mode == Mode::Write)?;
    let delta = diff::delta(&actual, desired);
    let dialect = db.dialect;
    let (statements, report) = if mode == Mode::Write && dialect != Dialect::Sqlite {
        // New rows go in bulk, so the delta's full SQL and the report are
        // only told: they are made on other threads while the server works.
        std::thread::scope(|scope| {
            let statements = scope.spawn(|| sql::delta(dialect, &delta));
            let report = scope.spawn(|| changes::report(&actual, desired));
            let written = write_in_bulk(db, &delta, &sql::delta(dialect, &delta.without_inserts()));
            let joined = (statements.join(), report.join());
            written?;
            match joined {
                (Ok(statements), Ok(report)) => Ok((statements, report)),
                (Err(panic), _) | (_, Err(panic)) => std::panic::resume_unwind(panic),
            }
        })?
    } else {
        let statements = sql::delta(dialect, &delta);
        if mode == Mode::Write {
            for statement in &statements {
                db.execute(&statement.sql)?;
            }
        }
        (statements, changes::report(&actual, desired))
    };
    Ok(Applied {
        counts: delta
            .tables
            .iter()
            .map(|t| {
                (
                    t.table.name,
                    t.inserted.len(),
                    t.updated.len(),
                    t.deleted.len(),
                )
            })
            .collect(),
        report,
        statements,
    })
}

/// The delta (`statements`: its deletes and updates) with its new rows
/// sent in bulk instead of as `INSERT` text, which the server would parse
/// literal by literal: PostgreSQL loads them
/// with `COPY ... FROM STDIN` (several times faster for a first apply),
/// MySQL / MariaDB executes one prepared multi-row `INSERT` with the values
/// bound (its SQL parser was two thirds of the server's time). Same order
/// as the statements: deletes, then table by table (parents first) its
/// updates and its new rows. The tables are locked and the delta was read
/// inside this transaction, so a new row cannot already exist and a plain
/// insert equals the upsert.
fn write_in_bulk(
    db: &mut Database,
    delta: &diff::Delta<'_>,
    statements: &[Statement],
) -> Result<(), DbError> {
    for statement in statements.iter().filter(|s| s.sql.starts_with("DELETE ")) {
        db.execute(&statement.sql)?;
    }
    for table_delta in &delta.tables {
        let table = table_delta.table;
        let update = format!("UPDATE {} SET ", table.name);
        for statement in statements.iter().filter(|s| s.sql.starts_with(&update)) {
            db.execute(&statement.sql)?;
        }
        if table_delta.inserted.is_empty() {
            continue;
        }
        let rows = &table_delta.inserted;
        match &mut db.conn {
            Conn::Postgres(conn) => db.rt.block_on(copy_rows(conn, table, rows))?,
            Conn::Mysql(conn) => db.rt.block_on(insert_bound(conn, table, rows))?,
            Conn::Sqlite(_) => return Err(DbError::new("SQLite runs the statements as they are")),
        }
    }
    Ok(())
}

async fn copy_rows(conn: &mut PgConnection, table: &Table, rows: &[&Row]) -> Result<(), DbError> {
    let columns: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
    let copy = format!("COPY {} ({}) FROM STDIN", table.name, columns.join(", "));
    let sent: Result<u64, sqlx::Error> = async {
        let mut sink = conn.copy_in_raw(&copy).await?;
        let mut chunk = Vec::with_capacity(COPY_CHUNK_BYTES + 4096);
        for row in rows {
            copy_row(row, &mut chunk);
            if chunk.len() >= COPY_CHUNK_BYTES {
                sink.send(std::mem::take(&mut chunk)).await?;
            }
        }
        if !chunk.is_empty() {
            sink.send(chunk).await?;
        }
        sink.finish().await
    }
    .await;
    sent.map(|_| ()).map_err(|e| DbError::at(e, &copy))
}

/// Placeholders the MySQL protocol allows in one prepared statement.
const MAX_PLACEHOLDERS: usize = 65_535;

/// `rows` as prepared multi-row `INSERT`s of up to [`sql::BATCH_ROWS`]
/// rows: the statement is prepared once per size (sqlx caches it on the
/// connection) and executed with the values bound.
async fn insert_bound(
    conn: &mut MySqlConnection,
    table: &Table,
    rows: &[&Row],
) -> Result<(), DbError> {
    let columns: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
    let per_statement = sql::BATCH_ROWS.min(MAX_PLACEHOLDERS / columns.len());
    let tuple = format!("({})", vec!["?"; columns.len()].join(", "));
    for chunk in rows.chunks(per_statement) {
        let insert = format!(
            "INSERT INTO {} ({}) VALUES {}",
            table.name,
            columns.join(", "),
            vec![tuple.as_str(); chunk.len()].join(", ")
        );
        let mut query = sqlx::query(&insert);
        for row in chunk {
            for value in &row.0 {
                query = match value {
                    SqlValue::Null => query.bind(None::<&str>),
                    SqlValue::Int(n) => query.bind(*n),
                    SqlValue::Text(text) => query.bind(text.as_str()),
                };
            }
        }
        query
            .execute(&mut *conn)
            .await
            .map_err(|e| DbError::at(e, &insert))?;
    }
    Ok(())
}

/// What is sent to the server at a time: bounded memory for any delta.
const COPY_CHUNK_BYTES: usize = 1 << 20;

/// One row in COPY's text format: tab-separated, `\N` for NULL, and
/// backslash, tab, newline and carriage return escaped.
fn copy_row(row: &Row, out: &mut Vec<u8>) {
    for (i, value) in row.0.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        match value {
            SqlValue::Null => out.extend_from_slice(b"\\N"),
            SqlValue::Int(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
            SqlValue::Text(text) => {
                for &byte in text.as_bytes() {
                    match byte {
                        b'\\' => out.extend_from_slice(b"\\\\"),
                        b'\t' => out.extend_from_slice(b"\\t"),
                        b'\n' => out.extend_from_slice(b"\\n"),
                        b'\r' => out.extend_from_slice(b"\\r"),
                        _ => out.push(byte),
                    }
                }
            }
        }
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_rows_escape_what_the_text_format_reads() {
        let row = Row(vec![
            SqlValue::Int(-7),
            SqlValue::Null,
            SqlValue::Text("a\\b\tc\nd\re 'q' 中文 😀 \\N".into()),
        ]);
        let mut out = Vec::new();
        copy_row(&row, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "-7\t\\N\ta\\\\b\\tc\\nd\\re 'q' 中文 😀 \\\\N\n"
        );
    }

    #[test]
    fn dialects_come_from_the_scheme() {
        assert_eq!(dialect_of("sqlite://spec.db"), Some(Dialect::Sqlite));
        assert_eq!(dialect_of("sqlite::memory:"), Some(Dialect::Sqlite));
        assert_eq!(
            dialect_of("MariaDB://root@localhost/test"),
            Some(Dialect::Mysql)
        );
        assert_eq!(dialect_of("postgresql://u@h/db"), Some(Dialect::Postgres));
        assert_eq!(dialect_of("oracle://x"), None);
        assert_eq!(dialect_of("no scheme"), None);
    }

    #[test]
    fn errors_never_show_the_url() {
        let error = Database::connect("mysql://user:hunter2@127.0.0.1:1/db")
            .err()
            .expect("nothing listens on port 1");
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }
}

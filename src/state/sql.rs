//! The SQL stores: one table, one row per subscription, the same
//! statements on SQLite and PostgreSQL.
//!
//! ```sql
//! CREATE TABLE spec_trigger_state (
//!   subscription TEXT PRIMARY KEY,
//!   state        TEXT,              -- NULL: a new (or reset) subscription
//!   lease_token  TEXT,              -- NULL: nobody polls it now
//!   lease_until  BIGINT NOT NULL,   -- ms since the epoch
//!   updated_at   BIGINT NOT NULL)   -- ms since the epoch, last commit
//! ```
//!
//! Taking the lease is one atomic upsert whose `DO UPDATE ... WHERE` only
//! matches a free or expired lease; commit, renew and release match the
//! token, so a poller that lost its lease changes nothing.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use super::{BoxFuture, Lease, StateStore, StoreError, without_password};

const CREATE: &str = "CREATE TABLE IF NOT EXISTS spec_trigger_state (\
     subscription TEXT PRIMARY KEY, state TEXT, lease_token TEXT, \
     lease_until BIGINT NOT NULL DEFAULT 0, updated_at BIGINT NOT NULL DEFAULT 0)";

/// $1 subscription, $2 token, $3 lease until, $4 now.
const ACQUIRE: &str = "INSERT INTO spec_trigger_state \
     (subscription, state, lease_token, lease_until, updated_at) VALUES ($1, NULL, $2, $3, $4) \
     ON CONFLICT (subscription) DO UPDATE SET lease_token = excluded.lease_token, \
     lease_until = excluded.lease_until \
     WHERE spec_trigger_state.lease_token IS NULL OR spec_trigger_state.lease_until < $4";

const READ: &str =
    "SELECT state FROM spec_trigger_state WHERE subscription = $1 AND lease_token = $2";

/// $1 subscription, $2 token, $3 lease until.
const RENEW: &str = "UPDATE spec_trigger_state SET lease_until = $3 \
     WHERE subscription = $1 AND lease_token = $2";

/// $1 subscription, $2 token, $3 state, $4 now.
const COMMIT: &str = "UPDATE spec_trigger_state SET state = $3, updated_at = $4 \
     WHERE subscription = $1 AND lease_token = $2";

const RELEASE: &str = "UPDATE spec_trigger_state SET lease_token = NULL, lease_until = 0 \
     WHERE subscription = $1 AND lease_token = $2";

fn now_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

fn until(ttl: Duration) -> i64 {
    now_ms().saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
}

/// SQLite numbers its parameters `?N`.
fn sqlite(sql: &str) -> String {
    sql.replace('$', "?")
}

/// An embedded SQLite file (WAL mode, so pollers in several processes
/// share it; a busy file is waited for up to 10 s).
pub struct SqliteStore {
    pool: SqlitePool,
    path: String,
}

impl SqliteStore {
    /// Opens (creating) the state file at `path` and its table.
    pub async fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let shown = path.display().to_string();
        let fail =
            |e: sqlx::Error| StoreError::new(format!("cannot open the state file {shown}: {e}"));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::new(format!(
                    "cannot create {} for the state file: {e}",
                    dir.display()
                ))
            })?;
        }
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(fail)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(fail)?;
        sqlx::query(CREATE).execute(&pool).await.map_err(fail)?;
        Ok(SqliteStore { pool, path: shown })
    }

    fn error(&self, e: sqlx::Error) -> StoreError {
        StoreError::new(format!("the state file {}: {e}", self.path))
    }
}

impl StateStore for SqliteStore {
    fn describe(&self) -> String {
        format!("SQLite file {}", self.path)
    }

    fn acquire<'a>(
        &'a self,
        subscription: &'a str,
        token: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Lease, StoreError>> {
        Box::pin(async move {
            sqlx::query(&sqlite(ACQUIRE))
                .bind(subscription)
                .bind(token)
                .bind(until(ttl))
                .bind(now_ms())
                .execute(&self.pool)
                .await
                .map_err(|e| self.error(e))?;
            let row: Option<(Option<String>,)> = sqlx::query_as(&sqlite(READ))
                .bind(subscription)
                .bind(token)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| self.error(e))?;
            Ok(match row {
                Some((state,)) => Lease::Held(state),
                None => Lease::Busy,
            })
        })
    }

    fn renew<'a>(
        &'a self,
        subscription: &'a str,
        token: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let done = sqlx::query(&sqlite(RENEW))
                .bind(subscription)
                .bind(token)
                .bind(until(ttl))
                .execute(&self.pool)
                .await
                .map_err(|e| self.error(e))?;
            Ok(done.rows_affected() == 1)
        })
    }

    fn commit<'a>(
        &'a self,
        subscription: &'a str,
        token: &'a str,
        state: Option<&'a str>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let done = sqlx::query(&sqlite(COMMIT))
                .bind(subscription)
                .bind(token)
                .bind(state)
                .bind(now_ms())
                .execute(&self.pool)
                .await
                .map_err(|e| self.error(e))?;
            Ok(done.rows_affected() == 1)
        })
    }

    fn release<'a>(
        &'a self,
        subscription: &'a str,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query(&sqlite(RELEASE))
                .bind(subscription)
                .bind(token)
                .execute(&self.pool)
                .await
                .map_err(|e| self.error(e))?;
            Ok(())
        })
    }
}

/// A PostgreSQL database shared by many pollers.
pub struct PostgresStore {
    pool: PgPool,
    shown: String,
}

impl PostgresStore {
    /// Connects to `url` and creates the table if needed.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let shown = without_password(url);
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(|e| StoreError::new(format!("cannot connect to PostgreSQL {shown}: {e}")))?;
        if let Err(error) = sqlx::query(CREATE).execute(&pool).await {
            // Two pollers creating the table at once: one loses the race
            // on the catalog, and the table is there all the same.
            let exists = sqlx::query("SELECT 1 FROM spec_trigger_state LIMIT 1")
                .execute(&pool)
                .await
                .is_ok();
            if !exists {
                return Err(StoreError::new(format!(
                    "cannot create table spec_trigger_state in PostgreSQL {shown}: {error}"
                )));
            }
        }
        Ok(PostgresStore { pool, shown })
    }

    fn error(&self, e: sqlx::Error) -> StoreError {
        StoreError::new(format!("PostgreSQL {}: {e}", self.shown))
    }
}

impl StateStore for PostgresStore {
    fn describe(&self) -> String {
        format!("PostgreSQL {} (table spec_trigger_state)", self.shown)
    }

    fn acquire<'a>(
        &'a self,
        subscription: &'a str,
        token: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Lease, StoreError>> {
        Box::pin(async move {
            sqlx::query(ACQUIRE)
                .bind(subscription)
                .bind(token)
                .bind(until(ttl))
                .bind(now_ms())
                .execute(&self.pool)
                .await
                .map_err(|e| self.error(e))?;
            let row: Option<(Option<String>,)> = sqlx::query_as(READ)
                .bind(subscription)
                .bind(token)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| self.error(e))?;
            Ok(match row {
                Some((state,)) => Lease::Held(state),
                None => Lease::Busy,
            })
        })
    }

    fn renew<'a>(
        &'a self,
        subscription: &'a str,
        token: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let done = sqlx::query(RENEW)
                .bind(subscription)
                .bind(token)
                .bind(until(ttl))
                .execute(&self.pool)
                .await
                .map_err(|e| self.error(e))?;
            Ok(done.rows_affected() == 1)
        })
    }

    fn commit<'a>(
        &'a self,
        subscription: &'a str,
        token: &'a str,
        state: Option<&'a str>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let done = sqlx::query(COMMIT)
                .bind(subscription)
                .bind(token)
                .bind(state)
                .bind(now_ms())
                .execute(&self.pool)
                .await
                .map_err(|e| self.error(e))?;
            Ok(done.rows_affected() == 1)
        })
    }

    fn release<'a>(
        &'a self,
        subscription: &'a str,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query(RELEASE)
                .bind(subscription)
                .bind(token)
                .execute(&self.pool)
                .await
                .map_err(|e| self.error(e))?;
            Ok(())
        })
    }
}

//! Durable trigger state: what a subscription has already seen, its
//! cursor and its last poll, in a store that outlives the process.
//!
//! A trigger answers "what is new since last time?", so "last time" must be
//! written down somewhere that survives crashes and restarts. Timers and
//! notifications are not enough (Redis keyspace notifications arrive late
//! or never): the state is explicit, checked on every poll, and never reset
//! silently.
//!
//! # Stores
//!
//! | `--state` / `SPEC_STATE_URL`          | store                                    |
//! |---------------------------------------|------------------------------------------|
//! | a path, or `sqlite:PATH`              | [`SqliteStore`]: one embedded file        |
//! | `postgres://…`, `postgresql://…`      | [`PostgresStore`]: table `spec_trigger_state` |
//! | `redis://…`, `rediss://…`             | [`RedisStore`]: two keys per subscription |
//!
//! Every store keeps, per subscription, the state as one JSON text
//! ([`SubscriptionState`]) and a **lease**: a random token with an expiry.
//! A poll takes the lease before it reads the state, renews it while it
//! pages, commits the new state only while it still holds the lease, and
//! releases it at the end. A second poller on the same subscription finds
//! the lease taken and gets [`Lease::Busy`] (the CLI exits with code 8,
//! nothing emitted): two pollers never emit the same items. A poller that
//! stalls longer than the lease loses it; its commit is then refused, so
//! its items are delivered again by the next poll (at-least-once, never
//! lost).
//!
//! Lease expiry on SQLite and PostgreSQL compares the pollers' own clocks
//! (milliseconds since the epoch); Redis uses the server's `PX` expiry.

mod redis_store;
mod sql;

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde_json::Value as Json;

pub use redis_store::RedisStore;
pub use sql::{PostgresStore, SqliteStore};

/// A boxed future, so [`StateStore`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The answer to [`StateStore::acquire`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lease {
    /// The lease is ours; the stored state text, `None` for a new
    /// subscription (or one reset).
    Held(Option<String>),
    /// Another poller holds the lease.
    Busy,
}

/// Where subscription states live. Implementations must make
/// [`StateStore::acquire`] atomic: of two concurrent callers, at most one
/// gets [`Lease::Held`].
pub trait StateStore: Send + Sync {
    /// The store for messages: its kind and location, never a password.
    fn describe(&self) -> String;

    /// Takes the lease of `subscription` for `ttl` with `token`, unless
    /// another token holds an unexpired lease.
    fn acquire<'a>(
        &'a self,
        subscription: &'a str,
        token: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Lease, StoreError>>;

    /// Extends the lease; `false` when `token` no longer holds it.
    fn renew<'a>(
        &'a self,
        subscription: &'a str,
        token: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Writes `state` (`None` clears it) if `token` still holds the lease;
    /// `false` when it does not (nothing written).
    fn commit<'a>(
        &'a self,
        subscription: &'a str,
        token: &'a str,
        state: Option<&'a str>,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Gives the lease up (a no-op when `token` no longer holds it).
    fn release<'a>(
        &'a self,
        subscription: &'a str,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// The store from a `--state` value: a URL (`postgres://`, `redis://`,
/// `sqlite:`) or a file path (SQLite).
pub async fn open(location: &str) -> Result<Box<dyn StateStore>, StoreError> {
    let lower = location.to_ascii_lowercase();
    if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        Ok(Box::new(PostgresStore::connect(location).await?))
    } else if lower.starts_with("redis://") || lower.starts_with("rediss://") {
        Ok(Box::new(RedisStore::connect(location).await?))
    } else {
        let path = location
            .strip_prefix("sqlite://")
            .or_else(|| location.strip_prefix("sqlite:"))
            .unwrap_or(location);
        Ok(Box::new(
            SqliteStore::open(std::path::Path::new(path)).await?,
        ))
    }
}

/// A store that failed: unreachable, refused, or a query error.
#[derive(Debug, Clone)]
pub struct StoreError {
    pub message: String,
}

impl StoreError {
    pub(crate) fn new(message: impl Into<String>) -> StoreError {
        StoreError {
            message: message.into(),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {}

/// The version of the state text; another version is refused, never
/// guessed at.
pub const STATE_VERSION: u64 = 1;

/// The state of one subscription.
///
/// Stored as JSON: `{"version": 1, "cursor": …, "last_poll": "…",
/// "polls": N, "seen": ["…", …]}`, `seen` oldest first. A seen key is
/// the compact JSON array of the record's dedupe key values
/// (`[2051388,7305419]`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SubscriptionState {
    /// `state.cursor`: the newest value of the trigger's `cursor.field`.
    pub cursor: Option<Json>,
    /// `state.last_poll`: when the last committed poll started (RFC 3339).
    pub last_poll: Option<String>,
    /// Committed polls so far.
    pub polls: u64,
    seen: VecDeque<String>,
    index: HashSet<String>,
}

impl SubscriptionState {
    /// Parses a stored state; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<SubscriptionState, String> {
        let json: Json = serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
        let object = json.as_object().ok_or("not a JSON object")?;
        match object.get("version").and_then(Json::as_u64) {
            Some(STATE_VERSION) => {}
            Some(other) => {
                return Err(format!(
                    "version {other}, this spec reads version {STATE_VERSION}"
                ));
            }
            None => return Err("no `version`".into()),
        }
        let seen = match object.get("seen") {
            Some(Json::Array(items)) => items
                .iter()
                .map(|k| k.as_str().map(str::to_string))
                .collect::<Option<VecDeque<String>>>()
                .ok_or("`seen` holds a value that is not a string")?,
            _ => return Err("`seen` is not a list".into()),
        };
        let last_poll = match object.get("last_poll") {
            None | Some(Json::Null) => None,
            Some(Json::String(s)) => Some(s.clone()),
            Some(_) => return Err("`last_poll` is not a string".into()),
        };
        let polls = match object.get("polls") {
            None => 0,
            Some(value) => value.as_u64().ok_or("`polls` is not a count")?,
        };
        let index = seen.iter().cloned().collect();
        Ok(SubscriptionState {
            cursor: object.get("cursor").filter(|c| !c.is_null()).cloned(),
            last_poll,
            polls,
            seen,
            index,
        })
    }

    /// The stored text.
    pub fn to_text(&self) -> String {
        serde_json::json!({
            "version": STATE_VERSION,
            "cursor": self.cursor,
            "last_poll": self.last_poll,
            "polls": self.polls,
            "seen": self.seen,
        })
        .to_string()
    }

    /// Whether `key` was seen (within the window).
    pub fn has_seen(&self, key: &str) -> bool {
        self.index.contains(key)
    }

    /// Remembers `key`, forgetting the oldest keys beyond `window`; false
    /// when it was already known.
    pub fn remember(&mut self, key: String, window: usize) -> bool {
        if self.index.contains(&key) {
            return false;
        }
        self.index.insert(key.clone());
        self.seen.push_back(key);
        while self.seen.len() > window.max(1) {
            if let Some(old) = self.seen.pop_front() {
                self.index.remove(&old);
            }
        }
        true
    }

    /// How many keys are remembered.
    pub fn seen_len(&self) -> usize {
        self.seen.len()
    }
}

/// `scheme://host/...` without a password, for messages.
pub(crate) fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((user, host)) => {
            let user = user.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_string(),
    }
    .split('?')
    .next()
    .unwrap_or("")
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_window_forgets_oldest() {
        let mut state = SubscriptionState::default();
        for k in ["a", "b", "c"] {
            assert!(state.remember(k.into(), 2));
        }
        assert!(!state.has_seen("a"));
        assert!(state.has_seen("b") && state.has_seen("c"));
        assert!(!state.remember("c".into(), 2));
        state.cursor = Some(serde_json::json!(7305419));
        state.last_poll = Some("2024-07-15T08:00:00Z".into());
        state.polls = 3;
        let text = state.to_text();
        assert_eq!(
            text,
            r#"{"version":1,"cursor":7305419,"last_poll":"2024-07-15T08:00:00Z","polls":3,"seen":["b","c"]}"#
        );
        assert_eq!(SubscriptionState::parse(&text).unwrap(), state);
    }

    #[test]
    fn corrupt_states_say_what_is_wrong() {
        for (text, problem) in [
            ("{", "not JSON"),
            ("[]", "not a JSON object"),
            (r#"{"seen":[]}"#, "no `version`"),
            (r#"{"version":9,"seen":[]}"#, "version 9"),
            (r#"{"version":1}"#, "`seen` is not a list"),
            (r#"{"version":1,"seen":[1]}"#, "not a string"),
        ] {
            let error = SubscriptionState::parse(text).unwrap_err();
            assert!(error.contains(problem), "{text}: {error}");
        }
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            without_password("postgres://u:secret@db:5432/x?sslmode=require"),
            "postgres://u:***@db:5432/x"
        );
        assert_eq!(
            without_password("redis://127.0.0.1:6379/0"),
            "redis://127.0.0.1:6379/0"
        );
    }
}

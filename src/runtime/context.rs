//! The render context: what templates read (`input`, `auth`, `config`,
//! `now`, `page`, `state`, `session`), built once per call from the
//! caller's input, credentials, settings and clock.
//!
//! The variable names and their sub-keys are the contract in
//! `crate::rules::templates`: validation only accepts templates that read
//! what this module provides.

use indexmap::IndexMap;
use minijinja::Value;
use serde_json::Value as Json;

use super::redact::Secrets;
use super::{ErrorKind, RequestError};
use crate::model::{Auth, Connector, NonceKind, SignatureAuth, TimestampUnit};

/// Where time and nonces come from. Injected so requests are reproducible
/// in tests (a fixed clock) and real in production ([`SystemClock`]).
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch, UTC.
    fn unix_ms(&self) -> i64;
    /// A fresh nonce (a UUID v4 in production).
    fn nonce(&self) -> String;
}

/// The real clock and random UUID nonces.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn unix_ms(&self) -> i64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
    }

    fn nonce(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

/// A clock stopped at `unix_ms` that always hands out `nonce`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedClock {
    pub unix_ms: i64,
    pub nonce: String,
}

impl Clock for FixedClock {
    fn unix_ms(&self) -> i64 {
        self.unix_ms
    }

    fn nonce(&self) -> String {
        self.nonce.clone()
    }
}

/// Credential values by auth field key, as the user entered them. OAuth2
/// access and refresh tokens go in the same map as `access_token` and
/// `refresh_token`.
pub type Credentials = IndexMap<String, String>;

/// Everything one request is rendered from. Its `Debug` output names the
/// variables but never shows their values (they include credentials).
#[derive(Clone)]
pub struct Context {
    /// Top-level template variables by name.
    vars: IndexMap<&'static str, Value>,
    /// `timestamp` and `nonce` of the signature recipe (fixed per call, so
    /// every template of the call sees the same values).
    pub(crate) timestamp: String,
    pub(crate) nonce: String,
    /// The multipart boundary, from the clock's nonce (reproducible in tests).
    pub(crate) boundary: String,
    pub(crate) session_token: Option<String>,
    /// Replaces `app.base_url` (tests, sandboxes, proxies).
    pub(crate) base_url: Option<String>,
    pub(crate) secrets: Secrets,
}

impl Context {
    /// The context of a call: `auth` from `credentials` (with the spec's
    /// non-secret defaults), `config` from the spec, `now` from `clock`.
    ///
    /// A required auth field without a value (and without a default) is an
    /// error; an optional one is absent, like an input not given.
    pub fn new(
        connector: &Connector,
        credentials: &Credentials,
        clock: &dyn Clock,
    ) -> Result<Context, RequestError> {
        let mut secrets = Secrets::new();
        let mut auth = IndexMap::new();
        let mut missing = Vec::new();
        for field in connector.auth.fields() {
            let value = credentials.get(&field.key).cloned().or_else(|| {
                if field.secret {
                    None
                } else {
                    field.default.clone()
                }
            });
            match value {
                Some(value) => {
                    if field.secret {
                        secrets.add(&value);
                    }
                    auth.insert(field.key.clone(), Value::from(value));
                }
                None if field.required => missing.push(format!("`{}`", field.key)),
                None => {}
            }
        }
        if !missing.is_empty() {
            return Err(RequestError::new(
                ErrorKind::Credentials,
                format!("missing credential {}", missing.join(", ")),
            ));
        }
        if matches!(connector.auth, Auth::Oauth2(_)) {
            for key in ["access_token", "refresh_token"] {
                if let Some(token) = credentials.get(key) {
                    secrets.add(token);
                    auth.insert(key.to_string(), Value::from(token.clone()));
                }
            }
        }

        let unix_ms = clock.unix_ms();
        let (timestamp, nonce) = match &connector.auth {
            Auth::Signature(SignatureAuth {
                timestamp, nonce, ..
            }) => (
                match timestamp {
                    TimestampUnit::Seconds => unix_ms.div_euclid(1000).to_string(),
                    TimestampUnit::Milliseconds => unix_ms.to_string(),
                },
                match nonce {
                    NonceKind::Uuid => clock.nonce(),
                    // No nonce configured: templates reading it get "".
                    NonceKind::None => String::new(),
                },
            ),
            _ => (unix_ms.div_euclid(1000).to_string(), String::new()),
        };

        let mut vars = IndexMap::new();
        vars.insert("auth", object(auth));
        vars.insert(
            "config",
            json(&Json::Object(
                connector.config.clone().into_iter().collect(),
            )),
        );
        vars.insert("now", now(unix_ms));
        vars.insert("input", object(IndexMap::new()));
        Ok(Context {
            vars,
            timestamp,
            nonce,
            boundary: format!("spec-{}", clock.nonce().replace('-', "")),
            session_token: None,
            base_url: None,
            secrets,
        })
    }

    /// The caller's input (an object). Optional fields that were not given
    /// stay absent: templates test them with `is defined` or `default`.
    /// Validating the input against the fields is the caller's job.
    pub fn with_input(mut self, input: &Json) -> Context {
        self.vars.insert("input", json(input));
        self
    }

    /// Overrides (or adds) `config` keys.
    pub fn with_config(mut self, overrides: &IndexMap<String, Json>) -> Context {
        let mut config: IndexMap<String, Json> = IndexMap::new();
        if let Some(current) = self.vars.get("config")
            && let Ok(Json::Object(map)) = serde_json::to_value(current)
        {
            config.extend(map);
        }
        config.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.vars
            .insert("config", json(&Json::Object(config.into_iter().collect())));
        self
    }

    /// `page` for a paginated trigger (`number`, `size`, `offset`, `limit`,
    /// `cursor`, as the pagination kind defines).
    pub fn with_page(mut self, page: &Json) -> Context {
        self.vars.insert("page", json(page));
        self
    }

    /// `state` for a trigger poll (`cursor`, `last_poll`).
    pub fn with_state(mut self, state: &Json) -> Context {
        self.vars.insert("state", json(state));
        self
    }

    /// The token of a `session` login, read by the placements as
    /// `session.token`. It is a secret.
    pub fn with_session_token(mut self, token: &str) -> Context {
        self.secrets.add(token);
        self.session_token = Some(token.to_string());
        self.vars.insert(
            "session",
            object([("token".to_string(), Value::from(token))]),
        );
        self
    }

    /// Sends requests to `base_url` instead of the spec's `app.base_url`
    /// (a mock server, a sandbox, a proxy). Request paths that are absolute
    /// URLs keep their own host.
    pub fn with_base_url(mut self, base_url: &str) -> Context {
        self.base_url = Some(base_url.to_string());
        self
    }

    /// Marks one more value secret (e.g. a token the caller fetched).
    pub fn add_secret(&mut self, secret: &str) {
        self.secrets.add(secret);
    }

    /// Whether credential `key` has a value (after defaults).
    pub(crate) fn has_auth(&self, key: &str) -> bool {
        self.vars
            .get("auth")
            .and_then(|auth| auth.get_attr(key).ok())
            .is_some_and(|v| !v.is_undefined() && !v.is_none())
    }

    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// Top-level variable `name`, if the context has it.
    pub(crate) fn var(&self, name: &str) -> Option<&Value> {
        self.vars.get(name)
    }

    /// The variables `names` (those present), plus `extra`, as one render
    /// context: each template sees exactly its scope.
    pub(crate) fn scope(&self, names: &[&str], extra: &[(&'static str, Value)]) -> Value {
        let mut map: IndexMap<String, Value> = IndexMap::new();
        for name in names {
            if let Some(value) = self.vars.get(name) {
                map.insert((*name).to_string(), value.clone());
            }
        }
        for (name, value) in extra {
            map.insert((*name).to_string(), value.clone());
        }
        object(map)
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .field("timestamp", &self.timestamp)
            .field("secrets", &self.secrets)
            .finish_non_exhaustive()
    }
}

fn json(value: &Json) -> Value {
    Value::from(minijinja::value::Serde(value))
}

/// `now` = `{unix, unix_ms, iso, date}`; `iso` is RFC 3339 UTC to the
/// second (`2024-07-15T08:00:00Z`), `date` is `2024-07-15`.
fn now(unix_ms: i64) -> Value {
    let unix = unix_ms.div_euclid(1000);
    let (date, time) = civil(unix);
    object([
        ("unix".to_string(), Value::from(unix)),
        ("unix_ms".to_string(), Value::from(unix_ms)),
        ("iso".to_string(), Value::from(format!("{date}T{time}Z"))),
        ("date".to_string(), Value::from(date)),
    ])
}

/// A template object (a map in insertion order) from string keys.
pub(crate) fn object(entries: impl IntoIterator<Item = (String, Value)>) -> Value {
    let map: IndexMap<Value, Value> = entries
        .into_iter()
        .map(|(k, v)| (Value::from(k), v))
        .collect();
    Value::from_object(map)
}

/// `YYYY-MM-DD` and `HH:MM:SS` (UTC) of a Unix time, by Howard Hinnant's
/// days-to-civil algorithm (proleptic Gregorian calendar).
pub(crate) fn civil(unix: i64) -> (String, String) {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        format!("{year:04}-{month:02}-{day:02}"),
        format!(
            "{:02}:{:02}:{:02}",
            secs / 3600,
            secs % 3600 / 60,
            secs % 60
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), ("1970-01-01".into(), "00:00:00".into()));
        // python3 -c "import datetime;print(datetime.datetime.utcfromtimestamp(1721030400))"
        assert_eq!(
            civil(1_721_030_400),
            ("2024-07-15".into(), "08:00:00".into())
        );
        assert_eq!(civil(951_782_400), ("2000-02-29".into(), "00:00:00".into()));
        assert_eq!(civil(-1), ("1969-12-31".into(), "23:59:59".into()));
    }
}

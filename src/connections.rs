//! Named connections: the local credentials file `spec connect` writes and
//! `spec exec` reads, plus credentials from environment variables.
//!
//! # The file
//!
//! TOML, by default `$XDG_CONFIG_HOME/spec/credentials.toml` (else
//! `~/.config/spec/credentials.toml`); `SPEC_CREDENTIALS_FILE` or
//! `--credentials-file` choose another. One table per connection, named
//! by the user (default: the connector key):
//!
//! ```toml
//! [connections.tushare]
//! connector = "tushare"
//!
//! [connections.tushare.values]
//! token = "..."
//! ```
//!
//! The file holds secrets, so it is created with mode 0600 (its directory
//! 0700) and always replaced atomically: the new content goes to a
//! temporary file in the same directory, is flushed to disk, then renamed
//! over the old one — a crash leaves the old file or the new, never half
//! of one. Reading a file that others may read is allowed but warned
//! about.
//!
//! # OAuth2 tokens
//!
//! An `oauth2` connection also holds its tokens (written by `spec connect`
//! and by every refresh):
//!
//! ```toml
//! [connections.onenote.token]
//! access_token = "..."
//! refresh_token = "..."
//! expires_at = 1721034000  # Unix seconds
//! scopes = ["offline_access", "User.Read", "Notes.ReadWrite"]
//! token_type = "bearer"
//! ```
//!
//! Files written before tokens existed read as before. A refresh re-reads
//! the file and replaces only that connection's token, atomically, before
//! the new access token is used: a rotated refresh token is on disk before
//! the old one is dropped. A file that cannot be read or parsed is an
//! error, never replaced.
//!
//! # Environment
//!
//! `SPEC_<CONNECTOR>_<FIELD>` (upper case, other characters as `_`), e.g.
//! `SPEC_TUSHARE_TOKEN`, supplies or overrides one credential field: CI
//! jobs and containers need no file.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::Connector;
use crate::runtime::{Credentials, TokenSet, TokenSink};

/// The environment variable naming the credentials file.
pub const FILE_ENV: &str = "SPEC_CREDENTIALS_FILE";

/// The parsed credentials file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsFile {
    #[serde(default)]
    pub connections: BTreeMap<String, Connection>,
}

/// One named connection: which connector, and its credential values.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    pub connector: String,
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// OAuth2 tokens, for `oauth2` connectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenSet>,
}

/// Names the fields, never their values.
impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("connector", &self.connector)
            .field("fields", &self.values.keys().collect::<Vec<_>>())
            .field("token", &self.token)
            .finish()
    }
}

/// A credentials file problem. Messages name the file, never a value.
#[derive(Debug)]
pub struct StoreError {
    pub message: String,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {}

fn error(message: impl Into<String>) -> StoreError {
    StoreError {
        message: message.into(),
    }
}

/// The credentials file to use: `explicit`, else `SPEC_CREDENTIALS_FILE`,
/// else the per-user default.
pub fn file_path(explicit: Option<&Path>) -> Result<PathBuf, StoreError> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    if let Some(path) = std::env::var_os(FILE_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|p| !p.is_empty())
                .map(|home| PathBuf::from(home).join(".config"))
        })
        .ok_or_else(|| {
            error(format!(
                "cannot find a place for the credentials file: set {FILE_ENV} or HOME"
            ))
        })?;
    Ok(config.join("spec").join("credentials.toml"))
}

impl CredentialsFile {
    /// Reads `path`; a missing file is an empty one. `warn` receives a
    /// warning when the file is readable by others.
    pub fn read(path: &Path, warn: &mut dyn FnMut(String)) -> Result<CredentialsFile, StoreError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(CredentialsFile::default());
            }
            Err(e) => return Err(error(format!("cannot read {}: {e}", path.display()))),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(meta) = std::fs::metadata(path)
                && meta.permissions().mode() & 0o077 != 0
            {
                warn(format!(
                    "{} can be read by other users (mode {:o}); run `chmod 600 {}`",
                    path.display(),
                    meta.permissions().mode() & 0o777,
                    path.display()
                ));
            }
        }
        #[cfg(not(unix))]
        let _ = warn;
        // toml's messages quote the offending line, which may hold a secret:
        // keep only the position.
        toml::from_str(&text).map_err(|e| {
            let position = e
                .span()
                .map(|span| {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    format!(" at line {line}")
                })
                .unwrap_or_default();
            error(format!(
                "{} is not a valid credentials file{position}; fix it or remove it and run `spec connect` again",
                path.display()
            ))
        })
    }

    /// Writes the file atomically with mode 0600 (see the module docs).
    pub fn write(&self, path: &Path) -> Result<(), StoreError> {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        create_private_dir(&dir)?;
        let mut text = String::from(
            "# Written by `spec connect`. It holds secrets: keep it private (mode 0600),\n# never commit it.\n\n",
        );
        text.push_str(
            &toml::to_string(self)
                .map_err(|e| error(format!("cannot serialize the credentials: {e}")))?,
        );
        let fail = |e: std::io::Error| error(format!("cannot write {}: {e}", path.display()));
        // tempfile creates the file with mode 0600 on Unix.
        let mut temp = tempfile::Builder::new()
            .prefix(".credentials-")
            .tempfile_in(&dir)
            .map_err(fail)?;
        temp.write_all(text.as_bytes()).map_err(fail)?;
        temp.as_file().sync_all().map_err(fail)?;
        temp.persist(path).map_err(|e| fail(e.error))?;
        #[cfg(unix)]
        if let Ok(dir) = std::fs::File::open(&dir) {
            // Make the rename itself durable.
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| error(format!("cannot create {}: {e}", dir.display())))
}

/// The environment variable for credential `field` of `connector`.
pub fn env_var(connector: &str, field: &str) -> String {
    let upper = |s: &str| {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect::<String>()
    };
    format!("SPEC_{}_{}", upper(connector), upper(field))
}

/// The credentials of a call to `connector`: the named connection's
/// values (if any), overridden by `SPEC_<CONNECTOR>_<FIELD>` variables
/// read through `env` (a parameter so tests and embedders control it).
pub fn resolve(
    connector: &Connector,
    connection: Option<&Connection>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Credentials {
    let mut credentials = Credentials::new();
    if let Some(connection) = connection {
        for (key, value) in &connection.values {
            credentials.insert(key.clone(), value.clone());
        }
        if let Some(token) = &connection.token {
            credentials.insert("access_token".into(), token.access_token.clone());
            if let Some(refresh) = &token.refresh_token {
                credentials.insert("refresh_token".into(), refresh.clone());
            }
        }
    }
    let mut keys: Vec<&str> = connector
        .auth
        .fields()
        .iter()
        .map(|f| f.key.as_str())
        .collect();
    if matches!(connector.auth, crate::model::Auth::Oauth2(_)) {
        keys.extend(["access_token", "refresh_token"]);
    }
    for key in keys {
        if let Some(value) = env(&env_var(&connector.app.key, key)) {
            credentials.insert(key.to_string(), value);
        }
    }
    credentials
}

/// When the access token `resolve` picked expires: the stored expiry,
/// unless `SPEC_<CONNECTOR>_ACCESS_TOKEN` replaced the stored token (its
/// expiry is unknown).
pub fn token_expires_at(
    connector: &Connector,
    connection: Option<&Connection>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<i64> {
    if env(&env_var(&connector.app.key, "access_token")).is_some() {
        return None;
    }
    connection
        .and_then(|c| c.token.as_ref())
        .and_then(|t| t.expires_at)
}

/// Saves `connection` as `name` in the file at `path`: the file is read
/// again (other connections may have changed meanwhile), the one entry
/// replaced, and the whole written atomically.
pub fn save_connection(path: &Path, name: &str, connection: Connection) -> Result<(), StoreError> {
    let mut file = CredentialsFile::read(path, &mut |_| {})?;
    file.connections.insert(name.to_string(), connection);
    file.write(path)
}

/// The CLI's [`TokenSink`]: refreshed tokens go to connection `name` of
/// the credentials file (created when the tokens came from variables).
pub struct FileSink {
    pub path: PathBuf,
    pub name: String,
}

impl TokenSink for FileSink {
    fn save(&self, connector: &Connector, tokens: &TokenSet) -> Result<(), String> {
        let mut file = CredentialsFile::read(&self.path, &mut |_| {}).map_err(|e| e.message)?;
        let connection = file
            .connections
            .entry(self.name.clone())
            .or_insert_with(|| Connection {
                connector: connector.app.key.clone(),
                ..Connection::default()
            });
        if connection.connector != connector.app.key {
            return Err(format!(
                "connection `{}` in {} is for connector `{}`",
                self.name,
                self.path.display(),
                connection.connector
            ));
        }
        let mut tokens = tokens.clone();
        if tokens.scopes.is_empty()
            && let Some(previous) = &connection.token
        {
            tokens.scopes = previous.scopes.clone();
        }
        connection.token = Some(tokens);
        file.write(&self.path).map_err(|e| e.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_var_names() {
        assert_eq!(env_var("tushare", "token"), "SPEC_TUSHARE_TOKEN");
        assert_eq!(
            env_var("ding-talk", "app.secret"),
            "SPEC_DING_TALK_APP_SECRET"
        );
    }

    #[test]
    fn round_trip_is_private_and_atomic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("credentials.toml");
        let mut file = CredentialsFile::default();
        file.connections.insert(
            "work".into(),
            Connection {
                connector: "tushare".into(),
                values: [("token".to_string(), "fake-token-\"quoted\"".to_string())].into(),
                token: None,
            },
        );
        file.write(&path).unwrap();
        let mut warnings = Vec::new();
        let back = CredentialsFile::read(&path, &mut |w| warnings.push(w)).unwrap();
        assert_eq!(back, file);
        assert!(warnings.is_empty(), "{warnings:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            let dir_mode = std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(dir_mode, 0o700);
            // No temporary file is left behind.
            let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(names, vec![std::ffi::OsString::from("credentials.toml")]);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            CredentialsFile::read(&path, &mut |w| warnings.push(w)).unwrap();
            assert_eq!(warnings.len(), 1);
            assert!(warnings[0].contains("chmod 600"), "{}", warnings[0]);
        }
    }

    #[test]
    fn a_broken_file_error_does_not_quote_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.toml");
        std::fs::write(
            &path,
            "[connections.x]\nconnector = \"x\"\nvalues = { token = \"fake-secret-value\" \n",
        )
        .unwrap();
        let err = CredentialsFile::read(&path, &mut |_| {}).unwrap_err();
        assert!(
            !err.message.contains("fake-secret-value"),
            "{}",
            err.message
        );
        assert!(err.message.contains("line"), "{}", err.message);
    }

    #[test]
    fn missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let file = CredentialsFile::read(&dir.path().join("none.toml"), &mut |_| {}).unwrap();
        assert!(file.connections.is_empty());
    }
}

#[cfg(test)]
mod token_tests {
    use super::*;

    #[test]
    fn files_without_tokens_still_read_and_tokens_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.toml");
        std::fs::write(
            &path,
            "[connections.t]\nconnector = \"tushare\"\n\n[connections.t.values]\ntoken = \"fake\"\n",
        )
        .unwrap();
        let mut file = CredentialsFile::read(&path, &mut |_| {}).unwrap();
        assert_eq!(file.connections["t"].token, None);
        file.connections.insert(
            "o".into(),
            Connection {
                connector: "onenote".into(),
                values: BTreeMap::new(),
                token: Some(TokenSet {
                    access_token: "fake-access".into(),
                    refresh_token: Some("fake-refresh".into()),
                    expires_at: Some(1_721_034_000),
                    scopes: vec!["a".into(), "b".into()],
                    token_type: Some("bearer".into()),
                }),
            },
        );
        file.write(&path).unwrap();
        let back = CredentialsFile::read(&path, &mut |_| {}).unwrap();
        assert_eq!(back, file);
        assert!(!format!("{back:?}").contains("fake-access"));
    }
}

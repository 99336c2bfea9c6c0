//! The project configuration: `spec.toml` at the project root.
//!
//! Optional: without the file every setting has its default. Today it
//! configures the docs site only:
//!
//! ```toml
//! [docs]
//! title = "Acme connectors"              # the site's title (default: "Connectors")
//! base_url = "https://docs.acme.dev/connectors/"   # canonical links and sitemap.xml
//! templates = "docs/templates"           # templates replacing the embedded defaults
//! changelog = "changelog"                # `spec diff --format json` reports, one per release
//! ```
//!
//! Loading happens in two steps, as ripgrep's low and high arguments do:
//! [`RawConfig`] is what the file says (unknown keys are errors);
//! [`Config`] is resolved and ready to use: paths are relative to the file's
//! directory and what they name is already read, so the build that uses a
//! `Config` does no I/O of its own and every read error is reported here,
//! before anything is built.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::render::display_path;

/// The file name looked for at the project root.
pub const FILE_NAME: &str = "spec.toml";

/// The default site title.
pub const DEFAULT_TITLE: &str = "Connectors";

/// `spec.toml` as written. Every table and key is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub docs: RawDocs,
}

/// The `[docs]` table as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDocs {
    pub title: Option<String>,
    pub base_url: Option<String>,
    pub templates: Option<PathBuf>,
    pub changelog: Option<PathBuf>,
}

/// The resolved configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pub docs: DocsConfig,
}

/// How the docs site is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocsConfig {
    /// The site's title, on every page.
    pub title: String,
    /// Where the site is published, ending in `/`: pages get a canonical
    /// link and the build writes `sitemap.xml`. `None`: neither.
    pub base_url: Option<String>,
    /// Templates replacing the embedded defaults, by name relative to the
    /// templates directory (`connector.html`, `assets/style.css`), with
    /// their sources. Empty: the defaults.
    pub templates: BTreeMap<String, String>,
    /// The templates directory as configured, for messages.
    pub templates_dir: Option<PathBuf>,
    /// Releases read from the changelog directory, in file-name order.
    pub changelog: Vec<ChangelogFile>,
}

impl Default for DocsConfig {
    fn default() -> DocsConfig {
        DocsConfig {
            title: DEFAULT_TITLE.to_string(),
            base_url: None,
            templates: BTreeMap::new(),
            templates_dir: None,
            changelog: Vec::new(),
        }
    }
}

/// One release's changes: the JSON `spec diff --from <previous> --format
/// json` printed, saved as `<release>.json` in the changelog directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangelogFile {
    /// The file's stem: the release's name (`v1.4`, `2024-07-15`).
    pub release: String,
    /// As shown in messages.
    pub path: PathBuf,
    pub contents: String,
}

/// A configuration that cannot be read or is not valid.
#[derive(Debug)]
pub struct ConfigError {
    /// The file or directory at fault, as shown.
    pub path: String,
    /// `line:column` of the problem in the file, when known.
    pub at: Option<(usize, usize)>,
    pub message: String,
    pub help: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path)?;
        if let Some((line, column)) = self.at {
            write!(f, ":{line}:{column}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads `dir/spec.toml`; the defaults when there is no such file.
    pub fn discover(dir: &Path) -> Result<Config, ConfigError> {
        let path = dir.join(FILE_NAME);
        match fs::read_to_string(&path) {
            Ok(text) => Config::parse(&text, &path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(io_error(&path, &e)),
        }
    }

    /// Parses the text of a config file found at `path` and reads what it
    /// names, relative to the file's directory.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| toml_error(&e, text, path))?;
        let base = path.parent().unwrap_or(Path::new(""));
        Ok(Config {
            docs: DocsConfig::resolve(raw.docs, base, path)?,
        })
    }
}

impl DocsConfig {
    fn resolve(raw: RawDocs, base: &Path, file: &Path) -> Result<DocsConfig, ConfigError> {
        let invalid = |message: String, help: &str| ConfigError {
            path: display_path(file),
            at: None,
            message,
            help: Some(help.to_string()),
        };
        let title = match raw.title {
            Some(title) if title.trim().is_empty() => {
                return Err(invalid(
                    "`docs.title` is empty".to_string(),
                    "give the site a title, or leave the key out for the default",
                ));
            }
            Some(title) => title,
            None => DEFAULT_TITLE.to_string(),
        };
        let base_url = match raw.base_url {
            None => None,
            Some(url) => {
                let rest = url
                    .strip_prefix("https://")
                    .or_else(|| url.strip_prefix("http://"));
                let valid = rest.is_some_and(|r| {
                    !r.is_empty()
                        && !r.starts_with('/')
                        && !r.contains(['?', '#'])
                        && !r.chars().any(|c| c.is_whitespace() || c.is_control())
                });
                if !valid {
                    return Err(invalid(
                        format!("`docs.base_url` = `{url}` is not an http(s) URL of a directory"),
                        "write the address the site is published at, e.g. \"https://docs.example.com/connectors/\"",
                    ));
                }
                Some(if url.ends_with('/') {
                    url
                } else {
                    format!("{url}/")
                })
            }
        };
        let mut templates = BTreeMap::new();
        let templates_dir = raw.templates.map(|dir| base.join(dir));
        if let Some(dir) = &templates_dir {
            read_templates(dir, Path::new(""), &mut templates)?;
        }
        let mut changelog = Vec::new();
        if let Some(dir) = raw.changelog {
            let dir = base.join(dir);
            let entries = fs::read_dir(&dir).map_err(|e| io_error(&dir, &e))?;
            let mut paths = Vec::new();
            for entry in entries {
                let path = entry.map_err(|e| io_error(&dir, &e))?.path();
                if path.extension().is_some_and(|e| e == "json") && path.is_file() {
                    paths.push(path);
                }
            }
            paths.sort();
            for path in paths {
                let contents = fs::read_to_string(&path).map_err(|e| io_error(&path, &e))?;
                let release = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                changelog.push(ChangelogFile {
                    release,
                    path,
                    contents,
                });
            }
        }
        Ok(DocsConfig {
            title,
            base_url,
            templates,
            templates_dir,
            changelog,
        })
    }
}

/// Reads every file under `root/rel` into `out`, keyed by its `/`-separated
/// path relative to `root`. Hidden files (editor swap files, `.DS_Store`)
/// are skipped.
fn read_templates(
    root: &Path,
    rel: &Path,
    out: &mut BTreeMap<String, String>,
) -> Result<(), ConfigError> {
    let dir = if rel.as_os_str().is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    let entries = fs::read_dir(&dir).map_err(|e| io_error(&dir, &e))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_error(&dir, &e))?;
        names.push(entry.file_name());
    }
    names.sort();
    for name in names {
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let child = rel.join(&name);
        let path = root.join(&child);
        if path.is_dir() {
            read_templates(root, &child, out)?;
        } else {
            let source = fs::read_to_string(&path).map_err(|e| io_error(&path, &e))?;
            out.insert(display_path(&child), source);
        }
    }
    Ok(())
}

fn io_error(path: &Path, error: &io::Error) -> ConfigError {
    ConfigError {
        path: display_path(path),
        at: None,
        message: format!("cannot read: {error}"),
        help: None,
    }
}

/// Every key `spec.toml` knows, by table, for "did you mean" suggestions.
const KEYS: &[&str] = &["docs", "title", "base_url", "templates", "changelog"];

fn toml_error(error: &toml::de::Error, text: &str, path: &Path) -> ConfigError {
    let at = error.span().map(|span| line_column(text, span.start));
    let message = error.message().trim_end().to_string();
    let mut help = None;
    if let Some(unknown) = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
    {
        let best = KEYS
            .iter()
            .map(|k| (strsim::jaro_winkler(unknown, k), *k))
            .filter(|(score, _)| *score > 0.8)
            .max_by(|a, b| a.0.total_cmp(&b.0));
        help = Some(match best {
            Some((_, key)) => format!("did you mean `{key}`?"),
            None => "see the keys `spec.toml` accepts in the README (configuration)".to_string(),
        });
    }
    ConfigError {
        path: display_path(path),
        at,
        message: format!("invalid configuration: {message}"),
        help,
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("spec.toml"))
    }

    #[test]
    fn an_empty_file_is_the_defaults() {
        assert_eq!(parse("").unwrap(), Config::default());
        assert_eq!(parse("[docs]\n").unwrap(), Config::default());
    }

    #[test]
    fn title_and_base_url() {
        let config = parse("[docs]\ntitle = \"Acme\"\nbase_url = \"https://x.dev/c\"\n").unwrap();
        assert_eq!(config.docs.title, "Acme");
        assert_eq!(config.docs.base_url.as_deref(), Some("https://x.dev/c/"));
    }

    #[test]
    fn unknown_keys_are_errors_with_a_suggestion() {
        let error = parse("[docs]\ntitel = \"Acme\"\n").unwrap_err().to_string();
        assert!(
            error.starts_with("spec.toml:2:1: invalid configuration: unknown field `titel`"),
            "{error}"
        );
        assert!(error.contains("did you mean `title`?"), "{error}");
        let error = parse("[doc]\n").unwrap_err().to_string();
        assert!(error.contains("unknown field `doc`"), "{error}");
        assert!(error.contains("did you mean `docs`?"), "{error}");
    }

    #[test]
    fn wrong_types_and_values_are_errors() {
        let error = parse("[docs]\ntitle = 3\n").unwrap_err().to_string();
        assert!(
            error.starts_with("spec.toml:2:9: invalid configuration:"),
            "{error}"
        );
        let error = parse("[docs]\nbase_url = \"docs.example.com\"\n").unwrap_err();
        assert!(error.message.contains("not an http(s) URL"), "{error}");
        let error = parse("[docs]\ntitle = \" \"\n").unwrap_err();
        assert!(error.message.contains("empty"), "{error}");
    }

    #[test]
    fn a_missing_templates_dir_is_an_error() {
        let error = Config::parse(
            "[docs]\ntemplates = \"nowhere\"\n",
            Path::new("/nonexistent/spec.toml"),
        )
        .unwrap_err();
        assert!(error.message.starts_with("cannot read"), "{error}");
        assert_eq!(error.path, "/nonexistent/nowhere", "{error}");
    }

    #[test]
    fn a_missing_file_is_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Config::discover(dir.path()).unwrap(), Config::default());
    }
}

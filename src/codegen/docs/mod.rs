//! The docs site: validated connectors -> `generated/docs/`.
//!
//! For every connector a Markdown page (`<key>.md`) and an HTML page
//! (`<key>.html`); an index of all connectors with client-side search and
//! filters (`index.html`, and `README.md` for people browsing the repository);
//! the database tables reference (`tables.html`); one stylesheet and one
//! script (`assets/`); and `sitemap.xml` when the config gives a `base_url`.
//! The HTML works from a plain directory (`file://`): relative links, no
//! CDN, no network.
//!
//! Pages are minijinja templates, embedded as defaults ([`TEMPLATES`]) and
//! replaceable one by one from the project's templates directory
//! (`spec.toml`: `[docs] templates = "..."`). The templates see views
//! ([`view`]) rather than the raw model, and render texts with the `t`
//! filter, which in HTML writes every language of a text (the switch shows
//! one) and in Markdown writes them side by side. `.html` templates escape
//! everything by default.
//!
//! Output is deterministic: connectors sorted by key, languages sorted,
//! no timestamps, no absolute paths. The environment and its templates are
//! built once per build; connector pages render in parallel.

pub mod changelog;
pub mod fields;
pub mod markdown;
pub mod object;
pub mod text;
pub mod ui;
pub mod view;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use indexmap::IndexMap;
use minijinja::value::{Enumerator, Object, Serde, StringInput, Value};
use minijinja::{AutoEscape, Environment, State, UndefinedBehavior, context};
use serde::Serialize;

use super::GeneratedFile;
use super::dialect::Dialect;
use super::tables::TABLES;
use crate::config::DocsConfig;
use crate::model::{Connector, Text};

/// The directory under the output directory that the docs own.
pub const DOCS_DIR: &str = "docs";

/// The embedded default templates, by name. A project's templates
/// directory may replace any of them, and add partials whose names start
/// with `_` for its own templates to include.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "base.html",
        include_str!("../../../templates/docs/base.html"),
    ),
    (
        "_request.html",
        include_str!("../../../templates/docs/_request.html"),
    ),
    (
        "_response.html",
        include_str!("../../../templates/docs/_response.html"),
    ),
    (
        "index.html",
        include_str!("../../../templates/docs/index.html"),
    ),
    (
        "connector.html",
        include_str!("../../../templates/docs/connector.html"),
    ),
    (
        "tables.html",
        include_str!("../../../templates/docs/tables.html"),
    ),
    ("index.md", include_str!("../../../templates/docs/index.md")),
    (
        "connector.md",
        include_str!("../../../templates/docs/connector.md"),
    ),
    (
        "sitemap.xml",
        include_str!("../../../templates/docs/sitemap.xml"),
    ),
    (
        "assets/style.css",
        include_str!("../../../templates/docs/assets/style.css"),
    ),
    (
        "assets/app.js",
        include_str!("../../../templates/docs/assets/app.js"),
    ),
];

/// The project's prose about the tables; the tables page renders it around
/// the reference, which comes from [`TABLES`].
const TABLES_PROSE: &str = include_str!("../../../docs/tables.md");

/// A docs build that failed: a template that does not compile or render, a
/// template file that replaces nothing, or a changelog file that is not a
/// `spec diff` report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocsError {
    pub message: String,
    pub help: Option<String>,
}

impl fmt::Display for DocsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "docs: {}", self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DocsError {}

fn template_error(error: &minijinja::Error, config: &DocsConfig) -> DocsError {
    let overridden = error
        .name()
        .filter(|name| config.templates.contains_key(*name));
    let help = match (overridden, &config.templates_dir) {
        (Some(name), Some(dir)) => Some(format!(
            "the template is `{}`; fix it, or remove it to use the default",
            crate::render::display_path(&dir.join(name))
        )),
        _ => Some("this is a bug in `spec`'s default docs templates; please report it".to_string()),
    };
    let mut message = error.to_string();
    if let (Some(source), Some(line)) = (error.template_source(), error.line())
        && let Some(text) = source.lines().nth(line.saturating_sub(1))
    {
        message.push_str(&format!("\n  {line:>4} | {}", text.trim_end()));
    }
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        message.push_str(&format!("\n  caused by: {inner}"));
        cause = inner.source();
    }
    DocsError { message, help }
}

/// Every file of the docs site, paths under [`DOCS_DIR`], sorted by path.
pub fn files(
    connectors: &[&Connector],
    config: &DocsConfig,
) -> Result<Vec<GeneratedFile>, DocsError> {
    let mut files = Vec::new();
    each_file(connectors, config, &mut |file| {
        files.push(file);
        Ok::<(), DocsError>(())
    })?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// [`files`], handing each file to `sink` as soon as it is rendered (in no
/// particular order), so that a large site need not be held in memory.
/// Stops at the first error of the sink.
pub fn each_file<E: From<DocsError>>(
    connectors: &[&Connector],
    config: &DocsConfig,
    sink: &mut dyn FnMut(GeneratedFile) -> Result<(), E>,
) -> Result<(), E> {
    let mut connectors: Vec<&Connector> = connectors.to_vec();
    connectors.sort_by(|a, b| a.app.key.cmp(&b.app.key));
    let mut changelog = changelog_by_app(config)?;
    let summaries = connectors.iter().map(|c| view::summary(c)).collect();
    let renderer = Renderer::new(config, site_languages(&connectors), summaries)?;
    renderer.site_pages(sink)?;

    // Connector pages: the bulk of the work, spread over the cores. Each
    // worker takes every n-th connector and sends its pages to this thread,
    // which hands them to the sink; a bounded channel keeps only a few
    // pages in memory. The first error (in worker order) wins, as if the
    // pages were rendered one after the other.
    let jobs: Vec<(&Connector, Vec<changelog::Release>)> = connectors
        .iter()
        .map(|c| (*c, changelog.remove(&c.app.key).unwrap_or_default()))
        .collect();
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
        .min(jobs.len().max(1));
    let (pages, received) = std::sync::mpsc::sync_channel::<[GeneratedFile; 2]>(2 * workers);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let (renderer, jobs) = (&renderer, &jobs);
                let pages = pages.clone();
                scope.spawn(move || {
                    for (connector, releases) in jobs.iter().skip(w).step_by(workers) {
                        let pair = renderer.connector_pages(connector, releases.clone())?;
                        if pages.send(pair).is_err() {
                            // The sink failed; its error is reported.
                            break;
                        }
                    }
                    Ok::<(), DocsError>(())
                })
            })
            .collect();
        drop(pages);
        let mut sunk = Ok(());
        for pair in received {
            if let Err(error) = pair.into_iter().try_for_each(&mut *sink) {
                // Dropping the receiver stops the workers.
                sunk = Err(error);
                break;
            }
        }
        for handle in handles {
            handle.join().expect("a docs worker panicked")?;
        }
        sunk
    })
}

/// The project's changelog (`spec.toml`: `[docs] changelog`), by app key.
pub fn changelog_by_app(
    config: &DocsConfig,
) -> Result<std::collections::BTreeMap<String, Vec<changelog::Release>>, DocsError> {
    changelog::by_app(&config.changelog).map_err(|e| DocsError {
        message: e.to_string(),
        help: None,
    })
}

/// The site's languages: every language tag the connectors' texts use,
/// `en` first (just `en` when none is tagged).
pub fn site_languages(connectors: &[&Connector]) -> Vec<String> {
    let mut languages = Vec::new();
    for c in connectors {
        view::languages(c, &mut languages);
    }
    finish_languages(languages)
}

/// Language tags (in any order, repeated or not) as the site's languages.
pub fn finish_languages(mut languages: Vec<String>) -> Vec<String> {
    if languages.is_empty() {
        languages.push("en".to_string());
    }
    view::sort_languages(&mut languages);
    languages
}

/// Renders the pages of one site: the environment with its templates, the
/// UI words and the `site` every page sees, made once for the site's
/// languages and connectors.
pub struct Renderer<'c> {
    config: &'c DocsConfig,
    languages: Vec<String>,
    env: Environment<'static>,
    words: fields::Words,
    site: Value,
    /// The size of the last connector page of each kind (HTML, Markdown),
    /// to allocate the next one's buffer at about the right size.
    page_sizes: [SizeHint; 2],
}

impl<'c> Renderer<'c> {
    /// `summaries` sorted by key; `languages` from [`site_languages`].
    pub fn new(
        config: &'c DocsConfig,
        languages: Vec<String>,
        summaries: Vec<view::Summary>,
    ) -> Result<Renderer<'c>, DocsError> {
        let env = environment(config, Arc::new(languages.clone()))?;
        let words = words(&languages);
        let site = site(summaries, &languages, config, &words);
        Ok(Renderer {
            config,
            languages,
            env,
            words,
            site,
            page_sizes: Default::default(),
        })
    }

    /// The languages the pages are rendered for.
    pub fn languages(&self) -> &[String] {
        &self.languages
    }

    /// The index, the tables page, the assets and the sitemap: every page
    /// but the connectors' own.
    pub fn site_pages<E: From<DocsError>>(
        &self,
        sink: &mut dyn FnMut(GeneratedFile) -> Result<(), E>,
    ) -> Result<(), E> {
        let (env, site, config) = (&self.env, &self.site, self.config);
        let mut render = |template: &str, path: &str, kind: &str, data: Value| -> Result<(), E> {
            let hint = SizeHint::default();
            let contents = render(env, template, page(site, kind, path, data), config, &hint)?;
            sink(GeneratedFile {
                path: PathBuf::from(DOCS_DIR).join(path),
                contents,
            })
        };
        render("index.html", "index.html", "index", Value::UNDEFINED)?;
        render("index.md", "README.md", "index", Value::UNDEFINED)?;
        render(
            "tables.html",
            "tables.html",
            "tables",
            Value::from(Serde(tables_view())),
        )?;
        render(
            "assets/style.css",
            "assets/style.css",
            "asset",
            Value::UNDEFINED,
        )?;
        render("assets/app.js", "assets/app.js", "asset", Value::UNDEFINED)?;
        if config.base_url.is_some() {
            render("sitemap.xml", "sitemap.xml", "sitemap", Value::UNDEFINED)?;
        }
        Ok(())
    }

    /// A connector's HTML and Markdown pages.
    pub fn connector_pages(
        &self,
        connector: &Connector,
        releases: Vec<changelog::Release>,
    ) -> Result<[GeneratedFile; 2], DocsError> {
        let options = view::Options {
            words: &self.words,
            // Default templates place the ready-made field tables; templates
            // of the project's own may want the fields as data.
            structured: !self.config.templates.is_empty(),
        };
        let view = view::connector(connector, releases, &options);
        let (env, site, config) = (&self.env, &self.site, self.config);
        let key = &connector.app.key;
        let data = view.into_value();
        let html_path = format!("{key}.html");
        let md_path = format!("{key}.md");
        let html = render(
            env,
            "connector.html",
            page(site, "connector", &html_path, data.clone()),
            config,
            &self.page_sizes[0],
        )?;
        let md = render(
            env,
            "connector.md",
            page(site, "connector", &md_path, data),
            config,
            &self.page_sizes[1],
        )?;
        Ok([
            GeneratedFile {
                path: PathBuf::from(DOCS_DIR).join(html_path),
                contents: html,
            },
            GeneratedFile {
                path: PathBuf::from(DOCS_DIR).join(md_path),
                contents: md,
            },
        ])
    }
}

fn page(site: &Value, kind: &str, path: &str, data: Value) -> Value {
    context! {
        site => site.clone(),
        page => context! { kind => kind, path => path },
        connector => if kind == "connector" { data.clone() } else { Value::UNDEFINED },
        tables => if kind == "tables" { data } else { Value::UNDEFINED },
    }
}

/// The size of a template's last output: the next output of the same
/// template is probably about as long. Shared by the workers.
#[derive(Default)]
struct SizeHint(AtomicUsize);

impl SizeHint {
    /// A buffer for the next output: the last one's size and some room
    /// (before the first, a few kilobytes).
    fn buffer(&self) -> Vec<u8> {
        let last = self.0.load(Ordering::Relaxed);
        Vec::with_capacity((last + last / 8).max(4096))
    }

    fn record(&self, len: usize) {
        self.0.store(len, Ordering::Relaxed);
    }
}

/// Renders a template, ending its output with a line break. The output goes
/// into a buffer sized from the template's last output: a connector page
/// is a few hundred kilobytes, and a string grown by doubling as the
/// template writes would copy it several times over (and touch fresh
/// memory each time).
fn render(
    env: &Environment<'static>,
    name: &str,
    ctx: Value,
    config: &DocsConfig,
    size: &SizeHint,
) -> Result<String, DocsError> {
    let template = env
        .get_template(name)
        .map_err(|e| template_error(&e, config))?;
    let mut out = size.buffer();
    template
        .render_captured_to(ctx, &mut out)
        .map_err(|e| template_error(&e, config))?;
    if out.last() != Some(&b'\n') {
        out.push(b'\n');
    }
    size.record(out.len());
    // Checking the UTF-8 of a page costs about as much as the doubling this
    // avoids, and it cannot fail: minijinja's output goes through
    // `fmt::Write` (`write_str`, `write_char`) and reaches the writer as
    // whole `str`s, one after the other.
    debug_assert!(std::str::from_utf8(&out).is_ok());
    // SAFETY: `out` is a concatenation of `str`s, as said above.
    Ok(unsafe { String::from_utf8_unchecked(out) })
}

// ---------------------------------------------------------------------------
// The environment

/// The environment for a site in `languages`: [`templates_environment`]
/// and the filters that depend on the languages.
fn environment(
    config: &DocsConfig,
    languages: Arc<Vec<String>>,
) -> Result<Environment<'static>, DocsError> {
    let mut env = templates_environment(config)?;
    let langs = Arc::clone(&languages);
    env.add_filter(
        "t",
        move |state: &State, value: Value, sep: Option<String>| {
            text_filter(state, &value, &langs, sep.as_deref())
        },
    );
    let langs = Arc::clone(&languages);
    env.add_filter("t_json", move |value: Value| {
        let json = || {
            let map: IndexMap<&str, String> = langs
                .iter()
                .map(|l| (l.as_str(), plain(&value, l)))
                .collect();
            Value::from(serde_json::to_string(&map).unwrap_or_default())
        };
        // A UI string's is the same on every page: made once.
        match value.downcast_object_ref::<Loc>() {
            Some(loc) => loc.json.get_or_init(json).clone(),
            None => json(),
        }
    });
    Ok(env)
}

/// The environment with the templates compiled, and everything else that
/// does not depend on the site's languages. Compiling the templates (the
/// stylesheet and the script among them) is most of the cost of a
/// [`Renderer`], and a streamed build makes one at the start, one for each
/// language it comes across and one at the end: the last one compiled is
/// kept, and a copy of it (which shares its templates) is given for the
/// same templates.
fn templates_environment(config: &DocsConfig) -> Result<Environment<'static>, DocsError> {
    type Compiled = (BTreeMap<String, String>, Environment<'static>);
    static LAST: std::sync::Mutex<Option<Compiled>> = std::sync::Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((templates, env)) = &*last
        && *templates == config.templates
    {
        return Ok(env.clone());
    }
    let env = compile_environment(config)?;
    *last = Some((config.templates.clone(), env.clone()));
    Ok(env)
}

fn compile_environment(config: &DocsConfig) -> Result<Environment<'static>, DocsError> {
    for name in config.templates.keys() {
        let base = name.rsplit('/').next().unwrap_or(name);
        if !base.starts_with('_') && !TEMPLATES.iter().any(|(n, _)| n == name) {
            let dir = config
                .templates_dir
                .as_deref()
                .map(crate::render::display_path)
                .unwrap_or_default();
            let best = TEMPLATES
                .iter()
                .map(|(n, _)| (strsim::jaro_winkler(name, n), *n))
                .filter(|(score, _)| *score > 0.8)
                .max_by(|a, b| a.0.total_cmp(&b.0));
            let mut help = match best {
                Some((_, n)) => format!("did you mean `{n}`? "),
                None => String::new(),
            };
            help.push_str(&format!(
                "a file there replaces the default template of the same name ({}); name your own partials `_*`",
                TEMPLATES.iter().map(|(n, _)| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            ));
            return Err(DocsError {
                message: format!("`{dir}/{name}` does not replace any docs template"),
                help: Some(help),
            });
        }
    }
    let mut env = Environment::new();
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("the default syntax is valid"),
    );
    // A misspelt variable in a template fails the build instead of
    // rendering as nothing.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") || name.ends_with(".xml") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    // A UI string prints as itself: every language in HTML, English in
    // Markdown (`{{ ui.required }}`); everything else as usual.
    env.set_formatter(|out, state, value| {
        if let Some(loc) = value.downcast_object_ref::<Loc>() {
            let text = match state.auto_escape() {
                AutoEscape::Html => &loc.html,
                _ => &loc.md,
            };
            return out.write_str(text).map_err(minijinja::Error::from);
        }
        if let Some(s) = value.as_str() {
            // Safe strings (the field tables) as they are; minijinja would
            // also escape `/`, and URLs read better without. Most strings
            // have nothing to escape.
            if value.is_safe()
                || !matches!(state.auto_escape(), AutoEscape::Html)
                || !text::has_html_special(s)
            {
                return out.write_str(s).map_err(minijinja::Error::from);
            }
            let mut escaped = String::with_capacity(s.len() + 16);
            text::escape_html(s, &mut escaped);
            return out.write_str(&escaped).map_err(minijinja::Error::from);
        }
        minijinja::escape_formatter(out, state, value)
    });
    // The Markdown filters read their input as `StringInput`, which
    // converts as `String` does but borrows a string value rather than
    // copying it: they run several times per action.
    env.add_filter("md_cell", |value: StringInput<'_>| {
        text::md_cell(&value.as_str().replace(['\n', '\r'], " "))
    });
    env.add_filter("md_code", |value: StringInput<'_>| {
        text::md_code(value.as_str())
    });
    env.add_filter("md", |value: StringInput<'_>| {
        let value = value.as_str();
        let mut out = String::with_capacity(value.len() + 8);
        text::md_inline(value, &mut out);
        out
    });
    env.add_filter("lang_name", |tag: String| {
        ui::language_name(&tag).to_string()
    });
    env.add_filter("t_plain", |value: Value, lang: Option<String>| {
        plain(&value, lang.as_deref().unwrap_or("en"))
    });
    env.add_filter(
        "md_fence",
        |value: StringInput<'_>, lang: Option<String>| {
            let value = value.as_str();
            // The longest run of backticks inside, which the fence must exceed.
            let mut longest = 0;
            let mut run = 0;
            for b in value.bytes() {
                run = if b == b'`' { run + 1 } else { 0 };
                longest = longest.max(run);
            }
            let fence = longest.max(2) + 1;
            let lang = lang.unwrap_or_default();
            let body = value.trim_end_matches('\n');
            let mut out = String::with_capacity(2 * fence + lang.len() + body.len() + 2);
            out.extend(std::iter::repeat_n('`', fence));
            out.push_str(&lang);
            out.push('\n');
            out.push_str(body);
            out.push('\n');
            out.extend(std::iter::repeat_n('`', fence));
            out
        },
    );
    for (name, source) in TEMPLATES {
        let source = config.templates.get(*name).map_or(*source, String::as_str);
        env.add_template_owned(name.to_string(), source.to_string())
            .map_err(|e| template_error(&e, config))?;
    }
    for (name, source) in &config.templates {
        if !TEMPLATES.iter().any(|(n, _)| n == name) {
            env.add_template_owned(name.clone(), source.clone())
                .map_err(|e| template_error(&e, config))?;
        }
    }
    Ok(env)
}

/// A text in one language: its own, else English, else the first given.
fn plain(value: &Value, lang: &str) -> String {
    if let Some(s) = value.as_str() {
        return s.to_string();
    }
    if value.is_undefined() || value.is_none() {
        return String::new();
    }
    for key in [lang, "en"] {
        if let Ok(item) = value.get_attr(key)
            && let Some(s) = item.as_str()
        {
            return s.to_string();
        }
    }
    value
        .try_iter()
        .ok()
        .and_then(|mut keys| keys.next())
        .and_then(|k| value.get_item(&k).ok())
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// `{{ text | t }}`: a spec text (a string, or a map of language tag to
/// string) or a UI string. In HTML every language is written, each in a
/// `<span lang data-l>` the stylesheet shows for the chosen language; in
/// other templates (Markdown) the languages are joined by `sep` (` / ` by
/// default; UI strings give their English). None or undefined renders as
/// nothing.
fn text_filter(
    state: &State,
    value: &Value,
    languages: &[String],
    sep: Option<&str>,
) -> Result<Value, minijinja::Error> {
    let html = matches!(state.auto_escape(), AutoEscape::Html);
    if let Some(loc) = value.downcast_object_ref::<Loc>() {
        return Ok(if html {
            loc.html_value.clone()
        } else {
            loc.md_value.clone()
        });
    }
    if value.is_undefined() || value.is_none() {
        return Ok(if html {
            Value::from_safe_string(String::new())
        } else {
            Value::from("")
        });
    }
    // The texts of the views: a string, or a map of language to string
    // (as serialized from a `Text`), read without building a `Text`.
    if let Some(s) = value.as_str() {
        let mut out = String::with_capacity(s.len() + 16);
        return Ok(if html {
            text::html_inline(s, &mut out);
            Value::from_safe_string(out)
        } else {
            text::md_inline(s, &mut out);
            Value::from(out)
        });
    }
    if let Some(map) = value.downcast_object_ref::<IndexMap<Value, Value>>() {
        // A text has a few languages: kept on the stack, and the output
        // sized for all of them and some markup, so that it is not grown
        // (and copied) as it is written.
        let mut few = [("", ""); 4];
        let mut many = Vec::new();
        let mut len = 0;
        let mut count = 0;
        for (k, v) in map.iter() {
            let (Some(k), Some(v)) = (k.as_str(), v.as_str()) else {
                continue;
            };
            len += v.len();
            if count < few.len() {
                few[count] = (k, v);
            } else {
                if many.is_empty() {
                    many.extend_from_slice(&few);
                }
                many.push((k, v));
            }
            count += 1;
        }
        let given: &[(&str, &str)] = if count <= few.len() {
            &few[..count]
        } else {
            &many
        };
        let mut out = String::with_capacity(len + len / 4 + 32 * count);
        return Ok(if html {
            fields::text_html(given, languages, &mut out);
            Value::from_safe_string(out)
        } else {
            fields::texts_md(
                given.iter().map(|(_, t)| *t),
                sep.unwrap_or(" / "),
                &mut out,
            );
            Value::from(out)
        });
    }
    let text = if let Some(s) = value.as_str() {
        Text::Plain(s.to_string())
    } else if let Ok(keys) = value.try_iter() {
        let mut map = crate::model::Texts::default();
        for key in keys {
            let item = value.get_item(&key)?;
            if let (Some(k), Some(v)) = (key.as_str(), item.as_str()) {
                map.insert(k.to_string(), v.to_string());
            }
        }
        Text::Localized(map)
    } else {
        Text::Plain(value.to_string())
    };
    let mut out = String::new();
    if html {
        let given: Vec<(&str, &str)> = match &text {
            Text::Plain(s) => vec![("", s.as_str())],
            Text::Localized(map) => map.iter().map(|(l, t)| (l.as_str(), t.as_str())).collect(),
        };
        fields::text_html(&given, languages, &mut out);
        Ok(Value::from_safe_string(out))
    } else {
        fields::text_md(&text, sep.unwrap_or(" / "), &mut out);
        Ok(Value::from(out))
    }
}

/// A UI string, rendered once per build: templates read its languages
/// (`ui.connectors.en`), and the `t` filter returns the ready HTML (every
/// language) or, in Markdown, the English.
#[derive(Debug)]
struct Loc {
    texts: IndexMap<&'static str, &'static str>,
    html: String,
    md: String,
    /// `html` as a safe string and `md` as a string, for the `t` filter.
    html_value: Value,
    md_value: Value,
    /// What the `t_json` filter gives, once asked.
    json: std::sync::OnceLock<Value>,
}

impl Object for Loc {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        key.as_str()
            .and_then(|k| self.texts.get(k))
            .map(|s| Value::from(*s))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.texts.keys().map(|k| Value::from(*k)).collect())
    }
}

/// Every UI string rendered as HTML, for the field tables and [`Loc`].
fn words(languages: &[String]) -> fields::Words {
    let mut html = HashMap::default();
    for (key, en, zh) in ui::STRINGS.iter().chain(ui::AUTH_TYPES) {
        let mut out = String::new();
        fields::text_html(&[("en", en), ("zh", zh)], languages, &mut out);
        html.insert(*key, out);
    }
    fields::Words {
        languages: languages.to_vec(),
        html,
    }
}

// ---------------------------------------------------------------------------
// Site-wide data

object::object!(
    /// What every page sees as `site`; `ui` is a [`Ui`].
    Site {
        title,
        base_url,
        languages,
        connectors,
        categories,
        auth_types,
        ui,
    }
);

#[derive(Serialize)]
struct Language {
    tag: String,
    name: String,
}

#[derive(Serialize)]
struct AuthType {
    key: &'static str,
    name: Text,
}

fn both(en: &str, zh: &str) -> Text {
    fields::both(en.to_string(), zh.to_string())
}

/// What every page sees as `site`: the title, languages, every connector's
/// summary, the filters' choices and the UI strings (`site.ui`).
fn site(
    connectors: Vec<view::Summary>,
    languages: &[String],
    config: &DocsConfig,
    words: &fields::Words,
) -> Value {
    let mut categories: Vec<String> = connectors.iter().map(|c| c.category.clone()).collect();
    categories.sort_unstable();
    categories.dedup();
    let auth_types: Vec<AuthType> = ui::AUTH_TYPES
        .iter()
        .filter(|(key, _, _)| connectors.iter().any(|c| c.auth_type == *key))
        .map(|(key, en, zh)| AuthType {
            key,
            name: both(en, zh),
        })
        .collect();
    let ui = Ui::new(
        ui::STRINGS
            .iter()
            .chain(ui::AUTH_TYPES)
            .map(|(key, en, zh)| {
                let mut md = String::new();
                text::md_inline(en, &mut md);
                let html = words.ui(key).to_string();
                let loc = Loc {
                    texts: [("en", *en), ("zh", *zh)].into_iter().collect(),
                    html_value: Value::from_safe_string(html.clone()),
                    md_value: Value::from(md.as_str()),
                    html,
                    md,
                    json: std::sync::OnceLock::new(),
                };
                (*key, Value::from_object(loc))
            }),
    );
    let languages: Vec<Language> = languages
        .iter()
        .map(|tag| Language {
            tag: tag.clone(),
            name: ui::language_name(tag).to_string(),
        })
        .collect();
    // Not serialized as a whole: its keys are looked up on every page, the
    // UI strings (`site.ui`, the last) several times per action.
    Value::from_object(Site {
        title: Value::from(config.title.as_str()),
        base_url: Value::from(Serde(config.base_url.as_deref())),
        languages: Value::from(Serde(languages)),
        connectors: Value::from(Serde(connectors)),
        categories: Value::from(Serde(categories)),
        auth_types: Value::from(Serde(auth_types)),
        ui: Value::from_object(ui),
    })
}

/// `site.ui`: the UI strings ([`Loc`]) by key, in the order of
/// [`ui::STRINGS`] then [`ui::AUTH_TYPES`]. Not a minijinja map: the default
/// templates look a UI string up dozens of times per action or trigger, and
/// a minijinja map would make a key value of each name and hash it with
/// SipHash; this one hashes the name as it is, with FNV.
#[derive(Debug)]
struct Ui {
    keys: Vec<&'static str>,
    strings: HashMap<&'static str, Value, fields::FnvBuild>,
}

impl Ui {
    fn new(strings: impl Iterator<Item = (&'static str, Value)>) -> Ui {
        let mut ui = Ui {
            keys: Vec::new(),
            strings: HashMap::default(),
        };
        for (key, value) in strings {
            if ui.strings.insert(key, value).is_none() {
                ui.keys.push(key);
            }
        }
        ui
    }
}

impl Object for Ui {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        self.strings.get(key).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.keys.iter().map(|k| Value::from(*k)).collect())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.keys.len())
    }
}

#[derive(Serialize)]
struct TablesView {
    /// `docs/tables.md` before its reference section, as HTML.
    prose: String,
    /// And after it.
    after: String,
    dialects: Vec<&'static str>,
    tables: Vec<TableView>,
}

#[derive(Serialize)]
struct TableView {
    name: &'static str,
    anchor: String,
    doc: &'static str,
    primary_key: &'static [&'static str],
    indexes: Vec<(&'static str, &'static [&'static str])>,
    columns: Vec<ColumnView>,
}

#[derive(Serialize)]
struct ColumnView {
    name: &'static str,
    anchor: String,
    types: Vec<String>,
    nullable: bool,
    key: bool,
    doc: &'static str,
}

fn tables_view() -> TablesView {
    let (before, after) = match (
        TABLES_PROSE.find("<!-- reference:start -->"),
        TABLES_PROSE.find("<!-- reference:end -->"),
    ) {
        (Some(start), Some(end)) => (
            &TABLES_PROSE[..start],
            &TABLES_PROSE[end + "<!-- reference:end -->".len()..],
        ),
        _ => (TABLES_PROSE, ""),
    };
    TablesView {
        prose: markdown::to_html(before),
        after: markdown::to_html(after),
        dialects: Dialect::ALL.iter().map(|d| d.title()).collect(),
        tables: TABLES
            .iter()
            .map(|t| TableView {
                name: t.name,
                anchor: text::anchor(&["table", t.name]),
                doc: t.doc,
                primary_key: t.primary_key,
                indexes: t.indexes.to_vec(),
                columns: t
                    .columns
                    .iter()
                    .map(|c| ColumnView {
                        name: c.name,
                        anchor: text::anchor(&["table", t.name, c.name]),
                        types: Dialect::ALL.iter().map(|d| d.column_type(c.ty)).collect(),
                        nullable: c.nullable,
                        key: t.is_key(c.name),
                        doc: c.doc,
                    })
                    .collect(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &str, value: &str) -> String {
        let config = DocsConfig::default();
        let env = environment(&config, Arc::new(vec!["en".to_string()])).unwrap();
        env.render_str(template, context! { x => value }).unwrap()
    }

    #[test]
    fn fences_are_longer_than_any_backticks_inside() {
        assert_eq!(render("{{ x|md_fence('sh') }}", "ls\n\n"), "```sh\nls\n```");
        assert_eq!(render("{{ x|md_fence }}", "a `b` c"), "```\na `b` c\n```");
        assert_eq!(
            render("{{ x|md_fence('md') }}", "````\nx\n````"),
            "`````md\n````\nx\n````\n`````"
        );
        assert_eq!(render("{{ x|md_fence }}", ""), "```\n\n```");
    }
}

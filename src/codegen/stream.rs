//! `spec build`, streamed: validate and generate connector by connector, so
//! that memory does not grow with the number of connectors.
//!
//! [`super::write`] needs every connector's model at once (300–450 KB
//! each: 4–9 GB for 10,000 connectors). Here each connector is generated on
//! the worker thread that validated it, right after its rules, and then
//! dropped:
//!
//! - its block of each seed (one per dialect) goes to the main thread,
//!   which appends it to a staged seed file in path order; the seed wants
//!   app-id order, so when paths and app ids disagree the blocks are copied
//!   once more, in app-id order, at the end;
//! - its docs pages are rendered and staged at once. A page depends on the
//!   site's languages (every language any connector uses), known only at
//!   the end: a page is rendered for the languages seen so far, and the
//!   connectors whose pages turn out to have been rendered for other
//!   languages are read again and rendered again at the end (none, when
//!   the first connector already uses every language, as is usual). With
//!   the project's own templates, which may list every connector on every
//!   page, all pages are rendered at the end that way;
//! - what the build needs of it at the end stays: its app id, action ids,
//!   index summary and languages.
//!
//! The output is byte for byte that of [`super::build_with`] (tested), and
//! a build that fails (spec errors, rows no database can hold) still
//! writes nothing: every file is staged and renamed into place only once
//! all are made.

use std::fs::File;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::dialect::Dialect;
use super::docs::{self, Renderer, changelog::Release, view};
use super::output::{self, OutputError, Writer};
use super::{Error, WriteError, rows, sql};
use crate::config::Config;
use crate::load::{self, LoadError, Unit};
use crate::model::Connector;
use crate::render::display_path;
use crate::source::Sources;
use crate::validate::{self, Checked, Project};

/// What [`write`] did.
#[derive(Debug)]
pub struct Streamed {
    /// The validation's outcome (without models).
    pub project: Project,
    /// `None` when the specs have errors: then nothing was written.
    pub written: Option<Result<output::Written, WriteError>>,
}

/// Validates the specs under `paths` and, when they have no errors, builds
/// them into `out` (`spec build`). Fails only when a spec path cannot be
/// read.
pub fn write(paths: &[PathBuf], config: &Config, out: &Path) -> Result<Streamed, LoadError> {
    let writer = Writer::new(out);
    let changelog = docs::changelog_by_app(&config.docs);
    // Pages are rendered as connectors are checked only with the default
    // templates, which read nothing of the other connectors.
    let speculative = match &changelog {
        Ok(_) if config.docs.templates.is_empty() => Some(Mutex::new(Arc::new(
            Renderer::new(&config.docs, docs::finish_languages(Vec::new()), Vec::new())
                .map_err(Error::Docs),
        ))),
        _ => None,
    };
    let empty = Default::default();
    let shared = Shared {
        writer: &writer,
        config,
        changelog: changelog.as_ref().unwrap_or(&empty),
        renderer: speculative,
        failed: AtomicBool::new(false),
    };
    // Declared after the writer: dropped (and deleted) before it removes
    // the directories it made.
    let mut seeds = Seeds::default();
    let mut kept = Vec::new();
    let mut first_error: Option<WriteError> = None;
    let options = validate::Options {
        keep_models: false,
        keep_texts: false,
    };
    let project = validate::validate_with(
        paths,
        options,
        &|checked| shared.generate(checked),
        &mut |generated| match generated {
            None => {}
            Some(Err(error)) => {
                shared.failed.store(true, Ordering::Relaxed);
                first_error.get_or_insert(error);
            }
            Some(Ok(_)) if first_error.is_some() => {}
            Some(Ok(generated)) => {
                if let Err(error) = seeds.append(&writer, &generated) {
                    shared.failed.store(true, Ordering::Relaxed);
                    first_error = Some(WriteError::Output(error));
                    return;
                }
                kept.push(generated.kept);
            }
        },
    )?;
    if project.has_errors() {
        return Ok(Streamed {
            project,
            written: None,
        });
    }
    let written = finish(
        &shared,
        changelog.as_ref().err().cloned(),
        seeds,
        kept,
        first_error,
    )
    .and_then(|owned_dirs| writer.finish(&owned_dirs).map_err(WriteError::Output));
    Ok(Streamed {
        project,
        written: Some(written),
    })
}

/// What the worker threads share.
struct Shared<'a> {
    writer: &'a Writer<'a>,
    config: &'a Config,
    changelog: &'a std::collections::BTreeMap<String, Vec<Release>>,
    /// The renderer for the languages seen so far; `None` when pages are
    /// rendered only at the end.
    renderer: Option<Mutex<Arc<Result<Renderer<'a>, Error>>>>,
    /// Set once the build is known to fail: later connectors are only
    /// validated.
    failed: AtomicBool,
}

/// One connector, generated.
struct Generated {
    app_id: i64,
    /// Its block of the seed, per dialect ([`Dialect::ALL`] order).
    seeds: Vec<String>,
    kept: Kept,
}

/// What the end of the build needs of a connector.
struct Kept {
    unit: Unit,
    /// Of the unit's files' texts, to tell if one changed before it is read
    /// again.
    text_hash: u64,
    action_ids: Vec<i64>,
    summary: view::Summary,
    /// Language tags its texts use.
    languages: Vec<String>,
    /// The site languages its pages were rendered for, if they were.
    rendered_for: Option<Vec<String>>,
}

impl Shared<'_> {
    /// A checked connector's seed blocks and pages; `None` when the build
    /// already fails.
    fn generate(&self, checked: Checked<'_>) -> Option<Result<Generated, WriteError>> {
        if !checked.clean {
            self.failed.store(true, Ordering::Relaxed);
        }
        if self.failed.load(Ordering::Relaxed) {
            return None;
        }
        let model = &checked.connector.model;
        let path = display_path(&checked.connector.path);
        let app = match rows::app_rows(model, &path) {
            Ok(app) => app,
            Err(error) => return Some(Err(WriteError::Build(Error::Rows(error)))),
        };
        let seeds = sql::app_blocks(&app);
        let action_ids = sql::action_ids(&app).collect();
        drop(app);
        let mut languages = Vec::new();
        view::languages(model, &mut languages);
        let rendered_for = match self.render_early(model, &languages) {
            Ok(rendered_for) => rendered_for,
            Err(error) => return Some(Err(WriteError::Output(error))),
        };
        Some(Ok(Generated {
            app_id: i64::try_from(model.app.id).expect("app_rows checked the id"),
            seeds,
            kept: Kept {
                unit: checked.unit.clone(),
                text_hash: text_hash(checked.sources),
                action_ids,
                summary: view::summary(model),
                languages,
                rendered_for,
            },
        }))
    }

    /// Renders and stages a connector's pages for the languages seen so
    /// far (and its own); the languages rendered for, or `None` when its
    /// pages are left for the end.
    fn render_early(
        &self,
        model: &Connector,
        languages: &[String],
    ) -> Result<Option<Vec<String>>, OutputError> {
        let Some(current) = &self.renderer else {
            return Ok(None);
        };
        let renderer = {
            let mut current = current.lock().unwrap_or_else(|e| e.into_inner());
            let known = match &**current {
                Ok(renderer) => renderer.languages(),
                Err(_) => return Ok(None),
            };
            if !languages.iter().all(|l| known.contains(l)) {
                let mut union = known.to_vec();
                union.extend(languages.iter().cloned());
                let languages = docs::finish_languages(union);
                *current = Arc::new(
                    Renderer::new(&self.config.docs, languages, Vec::new()).map_err(Error::Docs),
                );
            }
            Arc::clone(&current)
        };
        let Ok(renderer) = &*renderer else {
            return Ok(None);
        };
        let releases = self
            .changelog
            .get(&model.app.key)
            .cloned()
            .unwrap_or_default();
        // An error is left to the end, where it is reported if it remains.
        let Ok(pages) = renderer.connector_pages(model, releases) else {
            return Ok(None);
        };
        for page in pages {
            self.writer.stage(page)?;
        }
        Ok(Some(renderer.languages().to_vec()))
    }
}

fn text_hash(sources: &Sources) -> u64 {
    // XXH3 streams at memory speed; the default SipHash spent 1% of a build
    // here. Not a defence against anyone: it tells whether a file changed
    // between two reads of one build.
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    for i in 0..sources.len() {
        let id = crate::source::FileId(u32::try_from(i).unwrap_or(u32::MAX));
        let text = sources.get(id).text.as_bytes();
        hasher.update(&(text.len() as u64).to_le_bytes());
        hasher.update(text);
    }
    hasher.digest()
}

/// The seed of each dialect, staged as it grows: its head, then each
/// connector's block in path order.
#[derive(Default)]
struct Seeds {
    /// Per dialect: the staged file and how many bytes it holds.
    files: Vec<(tempfile::NamedTempFile, u64)>,
    /// Each connector's app id and where its block starts in each file
    /// (the blocks of one connector have one position per dialect).
    blocks: Vec<(i64, Vec<u64>)>,
}

fn seed_path(dialect: Dialect) -> PathBuf {
    PathBuf::from(sql::SQL_DIR)
        .join(dialect.name())
        .join("seed.sql")
}

impl Seeds {
    fn open(&mut self, writer: &Writer<'_>) -> Result<(), OutputError> {
        if !self.files.is_empty() {
            return Ok(());
        }
        for dialect in Dialect::ALL {
            let path = seed_path(dialect);
            let mut file = writer.temp_file(&path)?;
            let head = sql::seed_script(dialect).head();
            file.write_all(head.as_bytes()).map_err(at(&path))?;
            self.files.push((file, head.len() as u64));
        }
        Ok(())
    }

    fn append(&mut self, writer: &Writer<'_>, generated: &Generated) -> Result<(), OutputError> {
        self.open(writer)?;
        let mut starts = Vec::with_capacity(self.files.len());
        for (dialect, ((file, len), text)) in Dialect::ALL
            .iter()
            .zip(self.files.iter_mut().zip(&generated.seeds))
        {
            starts.push(*len);
            file.write_all(text.as_bytes())
                .map_err(at(&seed_path(*dialect)))?;
            *len += text.len() as u64;
        }
        self.blocks.push((generated.app_id, starts));
        Ok(())
    }

    /// Ends every seed (the deletes of rows the specs no longer have, the
    /// commit) and stages it; blocks out of app-id order are first copied
    /// into a new file in that order.
    fn finish(mut self, writer: &Writer<'_>, action_ids: &[i64]) -> Result<(), OutputError> {
        self.open(writer)?;
        let in_order = self.blocks.windows(2).all(|w| w[0].0 < w[1].0);
        let mut order: Vec<usize> = (0..self.blocks.len()).collect();
        order.sort_by_key(|&i| self.blocks[i].0);
        let app_ids: Vec<i64> = order.iter().map(|&i| self.blocks[i].0).collect();
        for (d, (dialect, (file, len))) in Dialect::ALL.iter().zip(self.files).enumerate() {
            let path = seed_path(*dialect);
            let mut file = if in_order {
                file
            } else {
                // Each block ends where the next one (in path order) starts.
                let end = |i: usize| self.blocks.get(i + 1).map_or(len, |b| b.1[d]);
                let mut sorted = writer.temp_file(&path)?;
                let head = sql::seed_script(*dialect).head();
                sorted.write_all(head.as_bytes()).map_err(at(&path))?;
                let mut buffer = Vec::new();
                for &i in &order {
                    let start = self.blocks[i].1[d];
                    buffer.resize(usize::try_from(end(i) - start).unwrap_or(0), 0);
                    read_at(file.as_file(), &mut buffer, start).map_err(at(&path))?;
                    sorted.write_all(&buffer).map_err(at(&path))?;
                }
                sorted
            };
            let mut tail = String::new();
            let script = sql::seed_script(*dialect);
            sql::statements_text(
                &sql::sweep_deletes(*dialect, &app_ids, action_ids),
                &mut tail,
            );
            tail.push_str(script.tail());
            file.write_all(tail.as_bytes()).map_err(at(&path))?;
            writer.stage_written(&path, file)?;
        }
        Ok(())
    }
}

fn read_at(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buffer, offset)
    }
    #[cfg(not(unix))]
    {
        use std::io::{Read as _, Seek as _};
        let mut file = file;
        file.seek(io::SeekFrom::Start(offset))?;
        file.read_exact(buffer)
    }
}

fn at(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |error| OutputError {
        path: path.to_path_buf(),
        error,
    }
}

/// Everything after validation: the seeds' ends, the pages left for the
/// end, the site's own pages and the fixed files. Returns the directories
/// the build owns.
fn finish(
    shared: &Shared<'_>,
    changelog_error: Option<docs::DocsError>,
    seeds: Seeds,
    mut kept: Vec<Kept>,
    first_error: Option<WriteError>,
) -> Result<Vec<PathBuf>, WriteError> {
    // As [`super::build_each`]: the rows' errors first, then the docs'.
    if let Some(error) = first_error {
        return Err(error);
    }
    if let Some(error) = changelog_error {
        return Err(WriteError::Build(Error::Docs(error)));
    }
    let writer = shared.writer;
    for file in super::fixed_files() {
        writer.stage(file).map_err(WriteError::Output)?;
    }
    let mut action_ids: Vec<i64> = kept
        .iter()
        .flat_map(|k| k.action_ids.iter().copied())
        .collect();
    action_ids.sort_unstable();
    seeds
        .finish(writer, &action_ids)
        .map_err(WriteError::Output)?;
    drop(action_ids);

    let languages = docs::finish_languages(
        kept.iter()
            .flat_map(|k| k.languages.iter().cloned())
            .collect(),
    );
    // Pages rendered for other languages than the site's are made again.
    let again: Vec<(Unit, u64)> = kept
        .iter()
        .filter(|k| k.rendered_for.as_ref() != Some(&languages))
        .map(|k| (k.unit.clone(), k.text_hash))
        .collect();
    let mut summaries: Vec<view::Summary> = kept.drain(..).map(|k| k.summary).collect();
    summaries.sort_by(|a, b| a.key.cmp(&b.key));
    let renderer = Renderer::new(&shared.config.docs, languages, summaries).map_err(Error::Docs)?;
    renderer.site_pages(&mut |file| writer.stage(file).map_err(WriteError::Output))?;
    render_again(shared, &renderer, &again)?;
    Ok(super::owned_dirs())
}

/// Reads the connectors of `units` again and renders their pages with
/// `renderer`, on every core; the first error in path order wins.
fn render_again(
    shared: &Shared<'_>,
    renderer: &Renderer<'_>,
    units: &[(Unit, u64)],
) -> Result<(), WriteError> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(units.len());
    let mut errors: Vec<(usize, WriteError)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let (next, failed) = (&next, &failed);
                std::thread::Builder::new()
                    .name("spec-docs".into())
                    .stack_size(validate::WORKER_STACK_BYTES)
                    .spawn_scoped(scope, move || {
                        let mut errors = Vec::new();
                        while !failed.load(Ordering::Relaxed) {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some((unit, hash)) = units.get(i) else {
                                break;
                            };
                            if let Err(error) = render_unit(shared, renderer, unit, *hash) {
                                failed.store(true, Ordering::Relaxed);
                                errors.push((i, error));
                            }
                        }
                        errors
                    })
                    .expect("spawning a docs thread")
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    errors.sort_by_key(|(i, _)| *i);
    match errors.into_iter().next() {
        Some((_, error)) => Err(error),
        None => Ok(()),
    }
}

fn render_unit(
    shared: &Shared<'_>,
    renderer: &Renderer<'_>,
    unit: &Unit,
    hash: u64,
) -> Result<(), WriteError> {
    let mut sources = Sources::default();
    let changed = || {
        let path = match unit {
            Unit::File(path) | Unit::Directory(path) => path,
        };
        WriteError::Output(OutputError {
            path: path.clone(),
            error: io::Error::other("the spec changed while it was being built; build again"),
        })
    };
    let loaded = load::load_unit(unit, &mut sources).map_err(|e| {
        WriteError::Output(OutputError {
            path: e.path,
            error: io::Error::other(e.message),
        })
    })?;
    if text_hash(&sources) != hash {
        return Err(changed());
    }
    let raw = loaded.connector.ok_or_else(changed)?;
    let model = validate::model(&raw.root).map_err(|_| changed())?;
    let releases = shared
        .changelog
        .get(&model.app.key)
        .cloned()
        .unwrap_or_default();
    let pages = renderer
        .connector_pages(&model, releases)
        .map_err(|e| WriteError::Build(Error::Docs(e)))?;
    for page in pages {
        shared.writer.stage(page).map_err(WriteError::Output)?;
    }
    Ok(())
}

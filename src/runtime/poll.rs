//! Trigger polls: "what is new since last time?", answered from a durable
//! [`crate::state`] store, page by page, at least once and never twice
//! for two pollers.
//!
//! ```no_run
//! # async fn demo(connector: &spec::model::Connector) -> Result<(), Box<dyn std::error::Error>> {
//! use spec::runtime::{Call, Engine, HttpSettings, PollOptions, WriteSink};
//! let engine = Engine::new(HttpSettings::default())?;
//! let store = spec::state::open("/var/lib/spec/state.sqlite").await?;
//! let credentials = [("access_token".to_string(), "...".to_string())].into();
//! let mut sink = WriteSink::new(std::io::stdout().lock());
//! let outcome = engine
//!     .poll_trigger(&Call::new(connector, &credentials), "new_order",
//!         &serde_json::json!({}), store.as_ref(), &PollOptions::default(), &mut sink)
//!     .await?;
//! eprintln!("{} new", outcome.emitted);
//! # Ok(()) }
//! ```
//!
//! # One poll
//!
//! 1. The subscription is named (connector, trigger, connection and a hash
//!    of the input and base URL, or [`PollOptions::subscription`]); its
//!    **lease** is taken in the store ([`crate::state`]), or the poll ends
//!    with [`ExecErrorKind::Busy`] and nothing emitted.
//! 2. Its state is read: seen keys, `state.cursor`, `state.last_poll`. A
//!    state that cannot be read is an [`ExecErrorKind::State`] error naming
//!    the store and subscription, never a silent reset
//!    ([`PollOptions::reset`] forgets it on purpose). The first poll starts
//!    with `state.cursor` = the rendered `cursor.initial` and
//!    `state.last_poll` = now.
//! 3. Pages are requested as `pagination` says: `page_number` and `offset`
//!    (`page.number`/`page.size`, `page.offset`/`page.limit`; another page
//!    while `has_more` is truthy, by default while a page comes back full),
//!    `cursor` (`page.cursor` from `next_cursor`, while `has_more`),
//!    `next_link` (the URL `next_url` selects) and `link_header` (the
//!    `Link` header's `rel="next"`). Followed URLs are requested verbatim
//!    with the spec's method, headers and body but without its query, and
//!    only on the first page's origin: a next link to another host would
//!    carry the credentials there, so it is an error. Paging stops at an
//!    empty page, a repeated cursor or URL, and at `max_pages`
//!    ([`PollOptions::max_pages`] overrides it); what is left comes next
//!    poll. Every trigger request counts as retry-safe: polling reads.
//! 4. Records are taken **oldest first**: in the API's order, unless the
//!    trigger's `order` is `desc`, in which case the pages are spooled to
//!    a temporary file and read back last page first, each reversed (one
//!    page in memory at a time). A newest-first poll also stops paging
//!    after the first page holding a key it had seen: everything after it
//!    is older. The records within a page are not re-sorted.
//! 5. Each record's dedupe key (the compact JSON list of its `dedupe.key`
//!    values, `null` for a missing one) is looked up in the seen window;
//!    unseen records are remembered (the window keeps the newest
//!    `dedupe.window` keys, default [`DEFAULT_WINDOW`]) and handed to the
//!    [`Sink`], redacted, page by page (memory does not grow with the
//!    number of records). The first poll of a subscription only seeds the
//!    window and emits nothing ([`EmitInitial`] changes that).
//! 6. `state.cursor` becomes the greatest `cursor.field` value seen
//!    (numbers, and strings that are numbers, compare as numbers; other
//!    values as text, so ISO timestamps must share one UTC offset).
//! 7. The sink is flushed, and only then is the state committed, while the
//!    lease is still ours; then the lease is released. A crash before the
//!    commit delivers the same records again next poll (at-least-once);
//!    a commit refused because the lease was lost is an error, with the
//!    same effect.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufWriter, Read, Seek, SeekFrom, Write};
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use sha2::Digest;

use super::engine::{api_error, network, scope_of, unknown};
use super::input::check_input;
use super::redact::Secrets;
use super::response::{ApiErrorKind, ResponseReader, ResponseScope, decode_body, select_records};
use super::{Call, Context, Engine, ExecError, ExecErrorKind, PreparedRequest};
use crate::model::{Direction, Pagination, Request, Trigger};
use crate::state::{Lease, StateStore, SubscriptionState};

/// Seen keys remembered when the trigger's `dedupe.window` is not given.
pub const DEFAULT_WINDOW: usize = 10_000;

/// The variables a trigger request reads.
const SCOPE: &[&str] = &["input", "auth", "config", "now", "state", "page"];

/// What the first poll of a subscription emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmitInitial {
    /// Nothing: it only seeds the state (as integration platforms do).
    #[default]
    Nothing,
    /// The newest N records (held in memory until the poll ends).
    Newest(usize),
    /// Every record, streamed.
    All,
}

/// How to poll.
#[derive(Debug, Clone)]
pub struct PollOptions {
    /// The subscription's name; default: derived from the connector,
    /// trigger, connection, input and base URL.
    pub subscription: Option<String>,
    /// The connection's name, part of the derived subscription name.
    pub connection: String,
    pub emit_initial: EmitInitial,
    /// Overrides the spec's `max_pages`.
    pub max_pages: Option<u64>,
    /// Forgets the stored state: this poll is a first poll.
    pub reset: bool,
    /// How long the lease lasts without renewal (renewed every page).
    pub lease: Duration,
}

impl Default for PollOptions {
    fn default() -> PollOptions {
        PollOptions {
            subscription: None,
            connection: "default".into(),
            emit_initial: EmitInitial::Nothing,
            max_pages: None,
            reset: false,
            lease: Duration::from_secs(60),
        }
    }
}

/// Where new records go, oldest first.
pub trait Sink {
    fn record(&mut self, record: &Json) -> io::Result<()>;
    /// Everything given so far must be written out when this returns: the
    /// state is committed right after the last flush.
    fn flush(&mut self) -> io::Result<()>;
    /// Called after each page.
    fn progress(&mut self, _progress: &Progress) {}
    /// Called after the last flush, right before the state is committed;
    /// an error stops the commit (the records come again next poll).
    fn committing(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// How far a poll has got.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub pages: u64,
    /// Records received.
    pub fetched: u64,
    /// Records handed to the sink.
    pub emitted: u64,
}

/// JSON Lines on a writer, buffered, flushed page by page.
pub struct WriteSink<W: Write> {
    out: BufWriter<W>,
}

impl<W: Write> WriteSink<W> {
    pub fn new(out: W) -> WriteSink<W> {
        WriteSink {
            out: BufWriter::with_capacity(64 * 1024, out),
        }
    }
}

impl<W: Write> Sink for WriteSink<W> {
    fn record(&mut self, record: &Json) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, record)?;
        self.out.write_all(b"\n")
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// A finished poll.
#[derive(Debug, Clone)]
pub struct PollOutcome {
    pub subscription: String,
    /// This poll seeded a new subscription.
    pub first_poll: bool,
    pub pages: u64,
    pub fetched: u64,
    pub emitted: u64,
    /// Paging stopped at `max_pages` with more to come.
    pub truncated: bool,
    /// Keys remembered after the poll.
    pub remembered: usize,
    pub warnings: Vec<String>,
}

/// The derived subscription name: `connector/trigger/connection/HASH`,
/// HASH over the input (keys sorted) and the base URL.
pub fn subscription_name(call: &Call<'_>, trigger: &str, connection: &str, input: &Json) -> String {
    let mut hasher = sha2::Sha256::new();
    hasher.update(canonical(input).to_string().as_bytes());
    hasher.update([0]);
    hasher.update(call.base_url.unwrap_or("").as_bytes());
    let hash = crate::template::hex::encode(hasher.finalize());
    format!(
        "{}/{trigger}/{connection}/{}",
        call.connector.app.key,
        &hash[..16]
    )
}

fn canonical(value: &Json) -> Json {
    match value {
        Json::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Json::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), canonical(v)))
                    .collect(),
            )
        }
        Json::Array(items) => Json::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

fn state_error(message: impl Into<String>) -> ExecError {
    ExecError::new(ExecErrorKind::State, message)
}

fn output_error(error: io::Error) -> ExecError {
    ExecError::new(
        ExecErrorKind::Output,
        format!("cannot write the records out: {error}"),
    )
    .hint("the state was not committed: the same records come again next poll")
}

impl Engine {
    /// Polls trigger `key` once: new records go to `sink`, oldest first;
    /// the state in `store` is committed after the sink is flushed. See
    /// [the module docs](self) for every step.
    pub async fn poll_trigger(
        &self,
        call: &Call<'_>,
        key: &str,
        input: &Json,
        store: &dyn StateStore,
        options: &PollOptions,
        sink: &mut dyn Sink,
    ) -> Result<PollOutcome, ExecError> {
        let connector = call.connector;
        let trigger = connector
            .triggers
            .iter()
            .find(|t| t.key == key)
            .ok_or_else(|| {
                unknown(
                    connector,
                    "trigger",
                    key,
                    connector.triggers.iter().map(|t| &t.key),
                )
            })?;
        let input = check_input(&trigger.input, input, call.coercion)
            .map_err(|errors| super::engine::invalid_input(connector, key, &errors))?;
        let subscription = options
            .subscription
            .clone()
            .unwrap_or_else(|| subscription_name(call, key, &options.connection, &input));
        let token = uuid::Uuid::new_v4().to_string();
        let store_error = |e: crate::state::StoreError| {
            state_error(e.message).hint("check that the state store is reachable (`--state`)")
        };
        let held = match store
            .acquire(&subscription, &token, options.lease)
            .await
            .map_err(store_error)?
        {
            Lease::Held(text) => text,
            Lease::Busy => {
                return Err(ExecError::new(
                    ExecErrorKind::Busy,
                    format!(
                        "another poller holds subscription `{subscription}` in {}; nothing was emitted",
                        store.describe()
                    ),
                )
                .hint(
                    "poll again later: the lease ends when that poll does, or when it expires",
                ));
            }
        };
        let mut poll = Poll {
            engine: self,
            call,
            trigger,
            input: &input,
            store,
            options,
            subscription: &subscription,
            token: &token,
            renewed: Instant::now(),
        };
        let result = poll.run(held, sink).await;
        let released = store.release(&subscription, &token).await;
        let mut outcome = result?;
        if let Err(error) = released {
            outcome.warnings.push(format!(
                "the lease was not released ({error}); it expires by itself"
            ));
        }
        Ok(outcome)
    }
}

struct Poll<'a, 'c> {
    engine: &'a Engine,
    call: &'a Call<'c>,
    trigger: &'a Trigger,
    input: &'a Json,
    store: &'a dyn StateStore,
    options: &'a PollOptions,
    subscription: &'a str,
    token: &'a str,
    renewed: Instant,
}

/// What the next request is.
enum Next {
    /// The spec's request with this `page`.
    Page(Json),
    /// A URL the API gave.
    Url(String),
    Done,
}

impl Poll<'_, '_> {
    async fn run(
        &mut self,
        held: Option<String>,
        sink: &mut dyn Sink,
    ) -> Result<PollOutcome, ExecError> {
        let connector = self.call.connector;
        let trigger = self.trigger;
        let held = if self.options.reset { None } else { held };
        let first_poll = held.is_none();
        let mut state = match &held {
            None => SubscriptionState::default(),
            Some(text) => SubscriptionState::parse(text).map_err(|problem| {
                state_error(format!(
                    "the state of subscription `{}` in {} is corrupt: {problem}",
                    self.subscription,
                    self.store.describe()
                ))
                .hint(
                    "nothing was emitted and nothing changed; `--reset-state` forgets it \
                     (that poll seeds the subscription again and emits nothing)",
                )
            })?,
        };
        let now_ms = self.engine.clock.unix_ms();
        let (date, time) = super::context::civil(now_ms.div_euclid(1000));
        let now_iso = format!("{date}T{time}Z");
        if first_poll
            && let Some(cursor) = &trigger.cursor
            && let Some(initial) = &cursor.initial
        {
            let context = self
                .engine
                .context_with(self.call, None)?
                .with_input(self.input);
            let rendered = crate::template::environment()
                .render_str(initial, context.scope(&["input", "config", "now"], &[]))
                .map_err(|e| {
                    ExecError::new(
                        ExecErrorKind::Spec,
                        format!("cannot render `cursor.initial`: {e}"),
                    )
                })?;
            state.cursor = Some(Json::String(rendered));
        }
        let mut state_var = serde_json::Map::new();
        if let Some(cursor) = &state.cursor {
            state_var.insert("cursor".into(), cursor.clone());
        }
        state_var.insert(
            "last_poll".into(),
            Json::String(state.last_poll.clone().unwrap_or_else(|| now_iso.clone())),
        );
        let state_var = Json::Object(state_var);

        let pagination = trigger.pagination.as_ref();
        let max_pages = self
            .options
            .max_pages
            .or(pagination.map(|p| match p {
                Pagination::PageNumber { max_pages, .. }
                | Pagination::Offset { max_pages, .. }
                | Pagination::Cursor { max_pages, .. }
                | Pagination::NextLink { max_pages, .. }
                | Pagination::LinkHeader { max_pages } => *max_pages,
            }))
            .unwrap_or(1)
            .max(1);
        let newest_first = trigger
            .order
            .as_ref()
            .is_some_and(|o| o.direction == Direction::Desc);
        let fast = FastRecords::new(trigger);
        let reader = ResponseReader::new(trigger.response.as_ref()).with_auth(&connector.auth);

        let mut emitter = Emitter {
            window: trigger
                .dedupe
                .window
                .and_then(|w| usize::try_from(w).ok())
                .unwrap_or(DEFAULT_WINDOW),
            keys: &trigger.dedupe.key,
            cursor_field: trigger.cursor.as_ref().map(|c| c.field.as_str()),
            seeding: first_poll,
            initial: self.options.emit_initial,
            ring: VecDeque::new(),
            secrets: Secrets::new(),
            emitted: 0,
            missing_key: false,
            state,
        };
        let mut spool = if newest_first {
            Some(Spool::new().map_err(|e| {
                state_error(format!("cannot create a temporary file for the pages: {e}"))
            })?)
        } else {
            None
        };

        let mut progress = Progress::default();
        let mut next = Next::Page(first_page(pagination));
        let mut origin: Option<String> = None;
        let mut followed: Vec<String> = Vec::new();
        let mut last_cursor: Option<Json> = None;
        let mut truncated = false;
        let mut relogged = false;
        // An OAuth2 token, refreshed first if it is about to expire, and
        // once more if the API says it expired mid-poll.
        let mut token = self.engine.oauth_token(self.call).await?;
        let mut refreshed = false;
        let mut warnings = Vec::new();
        loop {
            let (page_var, url) = match std::mem::replace(&mut next, Next::Done) {
                Next::Done => break,
                Next::Page(page) => (page, None),
                Next::Url(url) => (serde_json::json!({"number": progress.pages + 1}), Some(url)),
            };
            if progress.pages >= max_pages {
                truncated = true;
                break;
            }
            let context = self
                .engine
                .context_with(self.call, token.as_ref())?
                .with_input(self.input)
                .with_state(&state_var)
                .with_page(&page_var);
            let (context, session) = self.engine.with_session(self.call, context).await?;
            let request = match &url {
                None => super::build_trigger(connector, &trigger.key, &context)?,
                Some(url) => super::build(
                    connector,
                    &link_request(&trigger.request, url)?,
                    SCOPE,
                    &context,
                )?,
            };
            let here = origin_of(request.url());
            match &origin {
                None => origin = Some(here),
                Some(first) if *first != here => {
                    return Err(ExecError::new(
                        ExecErrorKind::Api,
                        format!(
                            "the next page is on another origin ({here}, the first was {first}); not followed"
                        ),
                    )
                    .hint("a next link to another host would carry the credentials there"));
                }
                Some(_) => {}
            }
            let response = self
                .engine
                .transport()
                .send(&request, true, self.call.observer)
                .await
                .map_err(network)?;
            let (scope, records) = match fast.take(&response, &context, &request) {
                Some(taken) => taken,
                None => {
                    let scope = scope_of(&response, &context, &request);
                    (scope, None)
                }
            };
            if let Err(api) = reader.check(&scope) {
                if session.is_some()
                    && !relogged
                    && matches!(
                        api.kind(),
                        ApiErrorKind::Unauthorized | ApiErrorKind::TokenExpired
                    )
                {
                    self.engine.forget_session(self.call);
                    relogged = true;
                    next = match url {
                        Some(url) => Next::Url(url),
                        None => Next::Page(page_var),
                    };
                    continue;
                }
                if api.kind() == ApiErrorKind::TokenExpired
                    && !refreshed
                    && let Some(used) = &token
                    && used.refresh_token.is_some()
                {
                    token = Some(self.engine.refresh_rejected(self.call, used).await?);
                    refreshed = true;
                    next = match url {
                        Some(url) => Next::Url(url),
                        None => Next::Page(page_var),
                    };
                    continue;
                }
                return Err(api_error(api, &response));
            }
            let records = match records {
                Some(records) => records,
                None => select_records(&trigger.records, &scope)
                    .map_err(|e| ExecError::new(ExecErrorKind::Spec, e.message()))?,
            };
            // Records are parsed from the body: while no page holds a
            // secret, no record does, and the per-record scan is skipped.
            if emitter.secrets.is_empty()
                && !request.secrets().is_empty()
                && request.secrets().occurs_in(&response.body)
            {
                emitter.secrets = request.secrets().clone();
            }
            let count = records.len() as u64;
            progress.pages += 1;
            progress.fetched += count;
            let page_scope = scope.with_var("page", &page_var);
            next = self.next(
                pagination,
                &page_scope,
                &page_var,
                count,
                &response.headers,
                &mut followed,
                &mut last_cursor,
            )?;
            drop(response);
            match &mut spool {
                Some(spool) => {
                    let mut saw_known = false;
                    for record in &records {
                        if !emitter.seeding && emitter.state.has_seen(&emitter.key(record)) {
                            saw_known = true;
                        }
                    }
                    spool.page(&records).map_err(|e| {
                        state_error(format!("cannot spool a page to a temporary file: {e}"))
                    })?;
                    if saw_known {
                        // Newest first: the rest is older, and was seen.
                        next = Next::Done;
                    }
                }
                None => {
                    for record in records {
                        emitter.offer(record, sink).map_err(output_error)?;
                    }
                    sink.flush().map_err(output_error)?;
                }
            }
            progress.emitted = emitter.emitted;
            sink.progress(&progress);
            self.renew().await?;
        }
        if let Some(spool) = spool {
            spool
                .replay(&mut |record| emitter.offer(record, sink))
                .map_err(output_error)?;
        }
        for record in std::mem::take(&mut emitter.ring) {
            emitter.emit(record, sink).map_err(output_error)?;
        }
        sink.flush().map_err(output_error)?;
        progress.emitted = emitter.emitted;
        sink.progress(&progress);
        sink.committing().map_err(output_error)?;

        if truncated {
            warnings.push(format!(
                "stopped after {max_pages} pages (max_pages); the rest comes next poll"
            ));
        }
        if emitter.missing_key {
            warnings.push(format!(
                "some records lack a dedupe key field ({}); they were keyed with null",
                trigger.dedupe.key.join(", ")
            ));
        }
        if !first_poll && progress.fetched as usize > emitter.window {
            warnings.push(format!(
                "this poll received {} records but the dedupe window keeps {}; \
                 older records may be emitted again (raise `dedupe.window`)",
                progress.fetched, emitter.window
            ));
        }
        let mut state = emitter.state;
        state.last_poll = Some(now_iso);
        state.polls += 1;
        let remembered = state.seen_len();
        let committed = self
            .store
            .commit(self.subscription, self.token, Some(&state.to_text()))
            .await
            .map_err(|e| state_error(e.message))?;
        if !committed {
            return Err(state_error(format!(
                "the lease of subscription `{}` in {} was lost before the commit \
                 (the poll outlived it); the state was not saved",
                self.subscription,
                self.store.describe()
            ))
            .hint("the records of this poll come again next poll; raise `--lease-seconds`"));
        }
        Ok(PollOutcome {
            subscription: self.subscription.to_string(),
            first_poll,
            pages: progress.pages,
            fetched: progress.fetched,
            emitted: emitter.emitted,
            truncated,
            remembered,
            warnings,
        })
    }

    /// Renews the lease when a third of it has passed.
    async fn renew(&mut self) -> Result<(), ExecError> {
        if self.renewed.elapsed() < self.options.lease / 3 {
            return Ok(());
        }
        let held = self
            .store
            .renew(self.subscription, self.token, self.options.lease)
            .await
            .map_err(|e| state_error(e.message))?;
        if !held {
            return Err(state_error(format!(
                "the lease of subscription `{}` in {} expired while paging; stopped",
                self.subscription,
                self.store.describe()
            ))
            .hint("raise `--lease-seconds`; this poll's records come again next poll"));
        }
        self.renewed = Instant::now();
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn next(
        &self,
        pagination: Option<&Pagination>,
        scope: &ResponseScope,
        page: &Json,
        count: u64,
        headers: &[(String, String)],
        followed: &mut Vec<String>,
        last_cursor: &mut Option<Json>,
    ) -> Result<Next, ExecError> {
        let eval = |expr: &str| {
            scope
                .eval(expr)
                .map_err(|e| ExecError::new(ExecErrorKind::Spec, e.message()))
        };
        let number = page.get("number").and_then(Json::as_u64).unwrap_or(1);
        let Some(pagination) = pagination else {
            return Ok(Next::Done);
        };
        let url = |url: Option<String>, followed: &mut Vec<String>| match url {
            Some(url) if !url.is_empty() && !followed.contains(&url) => {
                followed.push(url.clone());
                Next::Url(url)
            }
            _ => Next::Done,
        };
        Ok(match pagination {
            Pagination::PageNumber { size, has_more, .. } => {
                let more = match has_more {
                    Some(expr) => truthy(eval(expr)?.as_ref()),
                    None => count >= *size,
                };
                if more && count > 0 {
                    Next::Page(serde_json::json!({"number": number + 1, "size": size}))
                } else {
                    Next::Done
                }
            }
            Pagination::Offset {
                limit, has_more, ..
            } => {
                let more = match has_more {
                    Some(expr) => truthy(eval(expr)?.as_ref()),
                    None => count >= *limit,
                };
                let offset = page.get("offset").and_then(Json::as_u64).unwrap_or(0);
                if more && count > 0 {
                    Next::Page(serde_json::json!({
                        "number": number + 1, "offset": offset + count, "limit": limit
                    }))
                } else {
                    Next::Done
                }
            }
            Pagination::Cursor {
                next_cursor,
                has_more,
                ..
            } => {
                let more = match has_more {
                    Some(expr) => truthy(eval(expr)?.as_ref()),
                    None => true,
                };
                let cursor = eval(next_cursor)?.filter(|c| match c {
                    Json::String(s) => !s.is_empty(),
                    Json::Number(_) => true,
                    _ => false,
                });
                match cursor {
                    Some(cursor) if more && last_cursor.as_ref() != Some(&cursor) => {
                        *last_cursor = Some(cursor.clone());
                        Next::Page(serde_json::json!({"number": number + 1, "cursor": cursor}))
                    }
                    _ => Next::Done,
                }
            }
            Pagination::NextLink { next_url, .. } => {
                let link = eval(next_url)?.and_then(|v| v.as_str().map(str::to_string));
                url(link, followed)
            }
            Pagination::LinkHeader { .. } => url(next_link(headers), followed),
        })
    }
}

fn first_page(pagination: Option<&Pagination>) -> Json {
    match pagination {
        Some(Pagination::PageNumber { start, size, .. }) => {
            serde_json::json!({"number": start, "size": size})
        }
        Some(Pagination::Offset { limit, .. }) => {
            serde_json::json!({"number": 1, "offset": 0, "limit": limit})
        }
        _ => serde_json::json!({"number": 1}),
    }
}

/// Minijinja truthiness of a JSON value.
fn truthy(value: Option<&Json>) -> bool {
    match value {
        None | Some(Json::Null) | Some(Json::Bool(false)) => false,
        Some(Json::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Json::String(s)) => !s.is_empty(),
        Some(Json::Array(a)) => !a.is_empty(),
        Some(Json::Object(o)) => !o.is_empty(),
        Some(Json::Bool(true)) => true,
    }
}

/// The spec's request sent to `url` instead: no query (the URL has it).
fn link_request(request: &Request, url: &str) -> Result<Request, ExecError> {
    if url.contains("{{") || url.contains("{%") || url.contains("{#") {
        return Err(ExecError::new(
            ExecErrorKind::Api,
            format!("the next page URL `{url}` looks like a template; not followed"),
        ));
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ExecError::new(
            ExecErrorKind::Api,
            format!("the next page URL `{url}` is not an absolute http(s) URL"),
        ));
    }
    let mut request = request.clone();
    request.path = url.to_string();
    request.query.clear();
    Ok(request)
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        rest[..end].to_ascii_lowercase()
    )
}

/// The `rel="next"` URL of the `Link` headers (RFC 8288).
pub fn next_link(headers: &[(String, String)]) -> Option<String> {
    for (name, value) in headers {
        if !name.eq_ignore_ascii_case("link") {
            continue;
        }
        let mut rest = value.as_str();
        while let Some(start) = rest.find('<') {
            let Some(end) = rest[start..].find('>') else {
                break;
            };
            let url = &rest[start + 1..start + end];
            rest = &rest[start + end + 1..];
            let params = rest
                .split('<')
                .next()
                .unwrap_or("")
                .trim_end_matches([',', ' ', '\t']);
            let is_next = params.split(';').any(|param| {
                let Some((key, value)) = param.split_once('=') else {
                    return false;
                };
                key.trim().eq_ignore_ascii_case("rel")
                    && value
                        .trim()
                        .trim_matches('"')
                        .split_ascii_whitespace()
                        .any(|rel| rel.eq_ignore_ascii_case("next"))
            });
            if is_next {
                return Some(url.trim().to_string());
            }
        }
    }
    None
}

/// The records of a page taken straight out of the decoded body when the
/// trigger's `records` is a plain path (`body.data.orders`,
/// `body['value']`) that no other expression of the trigger reads: the
/// response rules and paging expressions then see the body without the
/// list, and the records are never converted to template values and
/// back. That keeps the per-record cost at decoding and encoding JSON.
struct FastRecords {
    path: Option<Vec<String>>,
}

impl FastRecords {
    fn new(trigger: &Trigger) -> FastRecords {
        let path = simple_path(&trigger.records).filter(|path| {
            let name = path.last().map_or("body", String::as_str);
            let mut others = serde_json::to_string(&trigger.response).unwrap_or_default();
            if let Some(pagination) = &trigger.pagination {
                others.push_str(&serde_json::to_string(pagination).unwrap_or_default());
            }
            !others.contains(name)
        });
        FastRecords { path }
    }

    /// The scope (of the body without its records) and the records, or
    /// `None` where the records are not a list at the path.
    fn take(
        &self,
        response: &super::HttpResponse,
        context: &Context,
        request: &PreparedRequest,
    ) -> Option<(ResponseScope, Option<Vec<Json>>)> {
        let path = self.path.as_ref()?;
        let mut body = decode_body(response.header("content-type"), &response.body);
        let mut at = &mut body;
        for segment in path {
            at = at.as_object_mut()?.get_mut(segment)?;
        }
        let records = match at {
            Json::Array(items) => std::mem::take(items),
            Json::Null => Vec::new(),
            _ => return None,
        };
        let rest = serde_json::to_vec(&body).ok()?;
        let mut headers = response.headers.clone();
        headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
        headers.push(("Content-Type".into(), "application/json".into()));
        let scope =
            ResponseScope::from_parts(response.status, &headers, &rest, context, request.secrets());
        Some((scope, Some(records)))
    }
}

/// `body.a.b`, `body['a'].b` → `["a", "b"]`; `None` for anything else.
fn simple_path(expr: &str) -> Option<Vec<String>> {
    let mut rest = expr.trim().strip_prefix("body")?;
    let mut path = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if end == 0 || after.as_bytes()[0].is_ascii_digit() {
                return None;
            }
            path.push(after[..end].to_string());
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let quote = after.chars().next().filter(|c| *c == '\'' || *c == '"')?;
            let inner = &after[1..];
            let end = inner.find(quote)?;
            let name = &inner[..end];
            if name.contains('\\') {
                return None;
            }
            path.push(name.to_string());
            rest = inner[end + 1..].strip_prefix(']')?;
        } else {
            return None;
        }
    }
    Some(path)
}

/// Dedupe, cursor and emission, record by record, oldest first.
struct Emitter<'t> {
    state: SubscriptionState,
    window: usize,
    keys: &'t [String],
    cursor_field: Option<&'t str>,
    seeding: bool,
    initial: EmitInitial,
    ring: VecDeque<Json>,
    secrets: Secrets,
    emitted: u64,
    missing_key: bool,
}

impl Emitter<'_> {
    fn key(&self, record: &Json) -> String {
        let mut key = String::from("[");
        for (i, field) in self.keys.iter().enumerate() {
            if i > 0 {
                key.push(',');
            }
            match value_at(record, field) {
                Some(value) => key.push_str(&value.to_string()),
                None => key.push_str("null"),
            }
        }
        key.push(']');
        key
    }

    fn offer(&mut self, record: Json, sink: &mut dyn Sink) -> io::Result<()> {
        if self.keys.iter().any(|k| value_at(&record, k).is_none()) {
            self.missing_key = true;
        }
        if let Some(field) = self.cursor_field
            && let Some(value) = value_at(&record, field)
            && !value.is_null()
            && newer(value, self.state.cursor.as_ref())
        {
            self.state.cursor = Some(value.clone());
        }
        let key = self.key(&record);
        if !self.state.remember(key, self.window) {
            return Ok(());
        }
        if !self.seeding {
            return self.emit(record, sink);
        }
        match self.initial {
            EmitInitial::Nothing => Ok(()),
            EmitInitial::All => self.emit(record, sink),
            EmitInitial::Newest(n) => {
                if n > 0 {
                    self.ring.push_back(record);
                    if self.ring.len() > n {
                        self.ring.pop_front();
                    }
                }
                Ok(())
            }
        }
    }

    fn emit(&mut self, record: Json, sink: &mut dyn Sink) -> io::Result<()> {
        self.emitted += 1;
        if !self.secrets.is_empty() && self.secrets.occurs_in_json(&record) {
            return sink.record(&self.secrets.redact_json(record));
        }
        sink.record(&record)
    }
}

/// The value at a dotted path of a record.
fn value_at<'j>(record: &'j Json, path: &str) -> Option<&'j Json> {
    if let Some(value) = record.get(path) {
        return Some(value);
    }
    let mut at = record;
    for segment in path.split('.') {
        at = match at {
            Json::Object(map) => map.get(segment)?,
            Json::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(at)
}

/// Whether cursor value `candidate` is past `current`.
fn newer(candidate: &Json, current: Option<&Json>) -> bool {
    let Some(current) = current else {
        return true;
    };
    let number = |v: &Json| match v {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    let text = |v: &Json| match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    match (number(candidate), number(current)) {
        (Some(a), Some(b)) => a > b,
        _ => text(candidate) > text(current),
    }
}

/// Pages of a newest-first poll, kept in a temporary file as JSON Lines
/// and read back last page first.
struct Spool {
    file: BufWriter<std::fs::File>,
    /// Byte offset and length of each page.
    pages: Vec<(u64, u64)>,
    written: u64,
}

impl Spool {
    fn new() -> io::Result<Spool> {
        Ok(Spool {
            file: BufWriter::new(tempfile::tempfile()?),
            pages: Vec::new(),
            written: 0,
        })
    }

    fn page(&mut self, records: &[Json]) -> io::Result<()> {
        let start = self.written;
        for record in records {
            let line = serde_json::to_vec(record)?;
            self.file.write_all(&line)?;
            self.file.write_all(b"\n")?;
            self.written += line.len() as u64 + 1;
        }
        self.pages.push((start, self.written - start));
        Ok(())
    }

    fn replay(self, offer: &mut dyn FnMut(Json) -> io::Result<()>) -> io::Result<()> {
        let mut file = self.file.into_inner().map_err(|e| e.into_error())?;
        for (start, len) in self.pages.into_iter().rev() {
            file.seek(SeekFrom::Start(start))?;
            let mut page = Vec::new();
            (&mut file).take(len).read_to_end(&mut page)?;
            let mut records = Vec::new();
            for line in page.lines() {
                records.push(serde_json::from_str::<Json>(&line?)?);
            }
            for record in records.into_iter().rev() {
                offer(record)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers() {
        let headers = vec![(
            "Link".to_string(),
            r#"<https://s.example/o.json?page_info=p1&a=1,2>; rel="previous", <https://s.example/o.json?page_info=p3>; rel="next", <https://s.example/o.json?page_info=p9>; rel="last""#
                .to_string(),
        )];
        assert_eq!(
            next_link(&headers).as_deref(),
            Some("https://s.example/o.json?page_info=p3")
        );
        let last_only = vec![(
            "link".to_string(),
            "<http://x/a?_page=5>; rel=\"last\"".to_string(),
        )];
        assert_eq!(next_link(&last_only), None);
    }

    #[test]
    fn simple_paths() {
        assert_eq!(simple_path("body.data.orders").unwrap(), ["data", "orders"]);
        assert_eq!(simple_path("body['value']").unwrap(), ["value"]);
        assert_eq!(simple_path("body").unwrap(), Vec::<String>::new());
        assert_eq!(simple_path("body.data.records | default([])"), None);
        assert_eq!(simple_path("body.items[0]"), None);
    }

    #[test]
    fn cursors_compare_numbers_as_numbers() {
        assert!(newer(&serde_json::json!(10), Some(&serde_json::json!("9"))));
        assert!(!newer(
            &serde_json::json!("9"),
            Some(&serde_json::json!(10))
        ));
        assert!(newer(
            &serde_json::json!("2024-07-15T10:00:00Z"),
            Some(&serde_json::json!("2024-07-15T09:00:00Z"))
        ));
    }

    #[test]
    fn origins() {
        assert_eq!(origin_of("HTTP://Host:8080/a?b"), "http://host:8080");
        assert_eq!(origin_of("https://h"), "https://h");
    }
}

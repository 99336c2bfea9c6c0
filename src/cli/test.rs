//! `spec test [CONNECTOR|PATH...]`: replay every connector's test cases
//! offline.
//!
//! A case is one JSON file in `tests/<connector>/` beside the spec
//! (`specs/tests/tushare/daily.json` for `specs/tushare.yaml` and for
//! `specs/jushuitan/`). JSON, not YAML, so the spec loader never takes a
//! case for a spec, and `--update` / `--record` can rewrite it exactly:
//!
//! ```json
//! {
//!   "description": "one stock, one day",
//!   "connector": "tushare",
//!   "action": "daily",            // or "trigger": "..."
//!   "input": {"ts_code": "000001.SZ"},
//!   "exchanges": [{
//!     "request": {"method": "POST", "url": "http://api.tushare.pro/",
//!                 "headers": {"content-type": "application/json"},
//!                 "body": {"api_name": "daily", "token": "fake-token"}},
//!     "response": {"status": 200, "body": {"code": 0, "data": {}}}
//!   }],
//!   "output": {"rows": []}        // or "error": {"kind": "api", "message": "..."}
//! }
//! ```
//!
//! Replay runs the interpreter with a [`Transport::replaying`] backend
//! that answers each request with the next recorded response, after
//! comparing the built request with the recorded one: method, URL (each
//! query parameter on its own line), headers and body. `headers` and
//! `body` are compared only when the case has them (the headers that
//! matter); `{{ volatile }}` in a recorded value matches anything
//! (timestamps, nonces, signatures). Credentials are fake: each auth field
//! `k` is `fake-k` unless the case's `credentials` say otherwise; the clock
//! is fixed (`now`: Unix seconds, default 1704164645 =
//! 2024-01-02T03:04:05Z; `nonce`), so signatures are deterministic.
//!
//! A case fails when a request differs (a diff is shown), when requests
//! are missing or extra, when the output or error differs from the
//! recorded one, or when the spec's `sample` has a key the real output
//! lacks or a value of another type. `--update` rewrites `output`/`error`,
//! and each request that differs, with what the interpreter built (review
//! the diff of the case file: responses are never invented).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::Outcome;
use crate::model::{Connector, TestCase};
use crate::render::Format;
use crate::runtime::{
    Call, Credentials, Engine, ExecError, ExecErrorKind, FixedClock, HttpResponse, HttpSettings,
    NetError, NetErrorKind, PollOptions, PreparedRequest, Replay, RetryPolicy, Sink, Transport,
};
use crate::validate::{ModeledConnector, Project, validate};

/// What a recorded value may contain to match anything.
pub const VOLATILE: &str = "{{ volatile }}";
/// The default fixed clock of a case: 2024-01-02T03:04:05Z.
pub const DEFAULT_NOW: i64 = 1_704_164_645;
const DEFAULT_NONCE: &str = "0123456789abcdef";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Connector keys (looked up in --specs) or spec paths (default: every
    /// connector in --specs).
    targets: Vec<String>,
    /// Where connector keys are looked up.
    #[arg(long = "specs", value_name = "PATH", default_value = "specs")]
    specs: PathBuf,
    /// Rewrite each case's recorded output (or error), and every request
    /// that differs, with what the interpreter does now.
    #[arg(long)]
    update: bool,
    /// Output format. `human` goes to stderr; `json` and `github` to stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Also write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

/// One test case file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub connector: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    #[serde(default, skip_serializing_if = "Json::is_null")]
    pub input: Json,
    /// Fake credential values by auth field (default `fake-<field>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<IndexMap<String, String>>,
    /// The fixed clock, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Replaces `app.base_url`, as `spec exec --base-url` did when recording.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(default)]
    pub exchanges: Vec<Exchange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Json>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ExpectedError>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    pub request: RecordedRequest,
    pub response: RecordedResponse,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedRequest {
    pub method: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<IndexMap<String, String>>,
    /// JSON bodies as JSON; any other body as a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Json>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedResponse {
    #[serde(default = "ok_status")]
    pub status: u16,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, String>,
    /// A string is sent as is; anything else as JSON.
    #[serde(default)]
    pub body: Json,
}

fn ok_status() -> u16 {
    200
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedError {
    /// `spec`, `input`, `auth`, `api`, `network`, ...
    pub kind: String,
    /// Compared like a recorded value (`{{ volatile }}` matches anything).
    pub message: String,
}

/// The outcome of one case.
#[derive(Debug, Serialize)]
struct CaseReport {
    connector: String,
    case: String,
    file: String,
    /// The case's line, for a case written in the spec.
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    status: &'static str,
    failures: Vec<String>,
    /// `action <key>` or `trigger <key>`, when known.
    #[serde(skip)]
    tests: Option<String>,
}

pub fn run(args: Args) -> Outcome {
    let mut paths = Vec::new();
    let mut keys = Vec::new();
    for target in &args.targets {
        if Path::new(target).exists() {
            paths.push(PathBuf::from(target));
        } else {
            keys.push(target.clone());
        }
    }
    if paths.is_empty() {
        paths.push(args.specs.clone());
    }
    let project = match validate(&paths) {
        Ok(project) => project,
        Err(error) => {
            eprintln!("error: cannot read {error}");
            return Outcome::Failure;
        }
    };
    if project.has_errors() {
        eprintln!("error: the specs have problems; run `spec validate` and fix them first");
        return Outcome::Problems;
    }
    for key in &keys {
        if !project.connectors.iter().any(|c| &c.model.app.key == key) {
            eprintln!("error: no connector `{key}` in {}", args.specs.display());
            return Outcome::Failure;
        }
    }
    let mut reports = Vec::new();
    let mut untested = Vec::new();
    for modeled in &project.connectors {
        let connector = &modeled.model;
        if !keys.is_empty() && !keys.contains(&connector.app.key) {
            continue;
        }
        let first = reports.len();
        let dir = cases_dir(&modeled.path, &connector.app.key);
        for file in case_files(&dir) {
            reports.push(run_file(connector, &file, args.update));
        }
        reports.extend(run_spec_cases(modeled, &project, args.update));
        // Every action and trigger should have a case.
        let tested: Vec<&str> = reports[first..]
            .iter()
            .filter_map(|r| r.tests.as_deref())
            .collect();
        for operation in connector.operation_names() {
            if !tested.contains(&operation.as_str()) {
                untested.push(format!("{}: {operation}", connector.app.key));
            }
        }
    }
    // Cases whose connector is gone (renamed, deleted) would never run.
    for path in paths.iter().filter(|p| p.is_dir()) {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(path.join("tests"))
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        dirs.sort();
        for dir in dirs.into_iter().filter(|d| d.is_dir()) {
            let name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
            let name = name.unwrap_or_default();
            if keys.is_empty() && !project.connectors.iter().any(|c| c.model.app.key == name) {
                reports.push(CaseReport {
                    connector: name.clone(),
                    case: "*".into(),
                    file: dir.display().to_string(),
                    line: None,
                    tests: None,
                    status: "failed",
                    failures: vec![format!(
                        "no connector `{name}` in {}: rename or delete these cases",
                        path.display()
                    )],
                });
            }
        }
    }
    if matches!(args.format, Format::Human) {
        for operation in &untested {
            eprintln!(
                "note: {operation} has no test case (record one with `spec exec ... --record NAME`, or write one under its `tests:`)"
            );
        }
    }
    let failed = reports.iter().filter(|r| r.status == "failed").count();
    match args.format {
        Format::Human => eprint!("{}", human(&reports)),
        Format::Json => {
            let summary = serde_json::json!({
                "cases": reports,
                "summary": {"cases": reports.len(), "failed": failed},
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&summary).unwrap_or_default()
            );
        }
        Format::Github => print!("{}", github(&reports)),
    }
    if let Some(path) = &args.junit
        && let Err(error) = std::fs::write(path, junit(&reports))
    {
        eprintln!("error: cannot write {}: {error}", path.display());
        return Outcome::Failure;
    }
    if failed > 0 {
        Outcome::Problems
    } else {
        Outcome::Success
    }
}

/// `tests/<key>/` beside the spec file or connector directory.
pub fn cases_dir(spec: &Path, key: &str) -> PathBuf {
    let parent = spec.parent().unwrap_or(Path::new("."));
    parent.join("tests").join(key)
}

fn case_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn run_file(connector: &Connector, file: &Path, update: bool) -> CaseReport {
    let mut report = CaseReport {
        connector: connector.app.key.clone(),
        case: file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        file: file.display().to_string(),
        line: None,
        status: "passed",
        failures: Vec::new(),
        tests: None,
    };
    let case = std::fs::read_to_string(file)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str::<Case>(&text).map_err(|e| e.to_string()));
    let mut case = match case {
        Ok(case) => case,
        Err(error) => {
            report.status = "failed";
            report
                .failures
                .push(format!("cannot read the case: {error}"));
            return report;
        }
    };
    if case.connector != connector.app.key {
        report.status = "failed";
        report.failures.push(format!(
            "the case is for connector `{}`, not `{}`",
            case.connector, connector.app.key
        ));
        return report;
    }
    report.tests = match (&case.action, &case.trigger) {
        (Some(key), None) => Some(format!("action {key}")),
        (None, Some(key)) => Some(format!("trigger {key}")),
        _ => None,
    };
    let (actual, failures, changed) = replay(connector, &Script::of_case(&case));
    if update {
        // A deliberate change: the built requests replace the recorded ones.
        let request_failure = |f: &String| f.starts_with("request ") && f.contains(" differs ");
        report.failures = failures
            .into_iter()
            .filter(|f| !request_failure(f))
            .collect();
        for (index, request) in &changed {
            let recorded = &case.exchanges[*index].request;
            case.exchanges[*index].request = keep_volatile(recorded, request);
        }
        let (output, error) = match &actual {
            Ok(output) => (Some(output.clone()), None),
            Err(error) => (
                None,
                Some(ExpectedError {
                    kind: kind_name(error.kind).into(),
                    message: error.message.clone(),
                }),
            ),
        };
        if case.output != output || case.error != error || !changed.is_empty() {
            case.output = output;
            case.error = error;
            match write_case(file, &case) {
                Ok(()) => report.status = "updated",
                Err(error) => report.failures.push(error),
            }
        }
    } else {
        report.failures = failures;
        report
            .failures
            .extend(compare_outcome(&Expected::of_case(&case), &actual));
    }
    if let (Ok(output), Some(sample)) = (&actual, sample_of(connector, &case)) {
        report
            .failures
            .extend(check_sample(sample, output, case.trigger.is_some()));
    }
    if !report.failures.is_empty() {
        report.status = "failed";
    }
    report
}

/// Runs the hand-written cases under each action's and trigger's
/// `tests:`. They are never rewritten: `--update` leaves the spec alone.
fn run_spec_cases(modeled: &ModeledConnector, project: &Project, update: bool) -> Vec<CaseReport> {
    let connector = &modeled.model;
    let cases = connector
        .actions
        .iter()
        .enumerate()
        .flat_map(|(i, a)| {
            a.tests.iter().enumerate().map(move |(j, t)| {
                (
                    Target::Action(&a.key),
                    a.sample.as_ref(),
                    format!("/actions/{i}/tests/{j}"),
                    t,
                )
            })
        })
        .chain(connector.triggers.iter().enumerate().flat_map(|(i, tr)| {
            tr.tests.iter().enumerate().map(move |(j, t)| {
                (
                    Target::Trigger(&tr.key),
                    Some(&tr.sample),
                    format!("/triggers/{i}/tests/{j}"),
                    t,
                )
            })
        }));
    let mut locator = Locator::new(modeled, project);
    let mut reports = Vec::new();
    for (target, sample, pointer, test) in cases {
        let (kind, key) = match target {
            Target::Action(key) => ("action", key),
            Target::Trigger(key) => ("trigger", key),
        };
        let (file, line) = locator.locate(&pointer);
        let mut report = CaseReport {
            connector: connector.app.key.clone(),
            case: format!("{key}: {}", test.name),
            file,
            line,
            status: "passed",
            failures: Vec::new(),
            tests: Some(format!("{kind} {key}")),
        };
        let (actual, failures, _) = replay(connector, &Script::of_test(target, test));
        report.failures = failures;
        report
            .failures
            .extend(compare_outcome(&Expected::of_test(test), &actual));
        if let (Ok(output), Some(sample)) = (&actual, sample) {
            report.failures.extend(check_sample(
                sample,
                output,
                matches!(target, Target::Trigger(_)),
            ));
        }
        if !report.failures.is_empty() {
            report.status = "failed";
            if update {
                report.failures.push(
                    "this case is written in the spec: `--update` does not rewrite it; edit it by hand"
                        .into(),
                );
            }
        }
        reports.push(report);
    }
    reports
}

/// Finds a spec case's file and line. The located tree is read again
/// only for a connector that has such cases (validation dropped it).
struct Locator<'a> {
    modeled: &'a ModeledConnector,
    project: &'a Project,
    loaded: Option<Option<(crate::source::Sources, crate::yaml::Node)>>,
}

impl<'a> Locator<'a> {
    fn new(modeled: &'a ModeledConnector, project: &'a Project) -> Locator<'a> {
        Locator {
            modeled,
            project,
            loaded: None,
        }
    }

    fn locate(&mut self, pointer: &str) -> (String, Option<usize>) {
        let fallback = self.project.sources.path(self.modeled.main_file);
        let fallback = (fallback.display().to_string(), None);
        let path = &self.modeled.path;
        let loaded = self.loaded.get_or_insert_with(|| {
            let unit = if path.is_dir() {
                crate::load::Unit::Directory(path.clone())
            } else {
                crate::load::Unit::File(path.clone())
            };
            let mut sources = crate::source::Sources::default();
            let loaded = crate::load::load_unit(&unit, &mut sources).ok()?;
            Some((sources, loaded.connector?.root))
        });
        let Some((sources, root)) = loaded else {
            return fallback;
        };
        let span = root.value_span(pointer);
        let file = sources.get(span.file);
        let (line, _) = file.line_col(span.start as usize);
        (sources.path(span.file).display().to_string(), Some(line))
    }
}

/// Writes `case` as pretty JSON with a final newline.
pub fn write_case(file: &Path, case: &Case) -> Result<(), String> {
    let mut text = serde_json::to_string_pretty(case).map_err(|e| e.to_string())?;
    text.push('\n');
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(file, text).map_err(|e| format!("cannot write {}: {e}", file.display()))
}

fn sample_of<'a>(connector: &'a Connector, case: &Case) -> Option<&'a Json> {
    if let Some(key) = &case.trigger {
        return connector
            .triggers
            .iter()
            .find(|t| &t.key == key)
            .map(|t| &t.sample);
    }
    let key = case.action.as_ref()?;
    connector
        .actions
        .iter()
        .find(|a| &a.key == key)
        .and_then(|a| a.sample.as_ref())
}

pub fn kind_name(kind: ExecErrorKind) -> &'static str {
    match kind {
        ExecErrorKind::Spec => "spec",
        ExecErrorKind::Input => "input",
        ExecErrorKind::Auth => "auth",
        ExecErrorKind::Api => "api",
        ExecErrorKind::Network => "network",
        ExecErrorKind::State => "state",
        ExecErrorKind::Busy => "busy",
        ExecErrorKind::Output => "output",
    }
}

/// What to replay: a recorded case file, or a hand-written case from the
/// spec's `tests:`, in one shape.
struct Script {
    /// `recorded` (a case file) or `expected` (written in the spec).
    source: &'static str,
    action: Option<String>,
    trigger: Option<String>,
    input: Json,
    credentials: Option<IndexMap<String, String>>,
    now: Option<i64>,
    nonce: Option<String>,
    base_url: Option<String>,
    exchanges: Vec<Scripted>,
}

/// One answer, with what the request it answers must look like (`None`:
/// anything; a missing method or URL: whatever was built).
#[derive(Clone)]
struct Scripted {
    request: Option<RequestPattern>,
    response: RecordedResponse,
}

#[derive(Clone)]
struct RequestPattern {
    method: Option<String>,
    url: Option<String>,
    headers: Option<IndexMap<String, String>>,
    body: Option<Json>,
}

impl Script {
    fn of_case(case: &Case) -> Script {
        Script {
            source: "recorded",
            action: case.action.clone(),
            trigger: case.trigger.clone(),
            input: case.input.clone(),
            credentials: case.credentials.clone(),
            now: case.now,
            nonce: case.nonce.clone(),
            base_url: case.base_url.clone(),
            exchanges: case
                .exchanges
                .iter()
                .map(|e| Scripted {
                    request: Some(RequestPattern {
                        method: Some(e.request.method.clone()),
                        url: Some(e.request.url.clone()),
                        headers: e.request.headers.clone(),
                        body: e.request.body.clone(),
                    }),
                    response: e.response.clone(),
                })
                .collect(),
        }
    }

    fn of_test(target: Target<'_>, test: &TestCase) -> Script {
        let (action, trigger) = match target {
            Target::Action(key) => (Some(key.to_string()), None),
            Target::Trigger(key) => (None, Some(key.to_string())),
        };
        Script {
            source: "expected",
            action,
            trigger,
            input: test.input.clone().unwrap_or(Json::Null),
            credentials: Some(test.credentials.clone()),
            now: test.now,
            nonce: None,
            base_url: None,
            exchanges: test
                .responses
                .iter()
                .map(|r| Scripted {
                    request: r.request.as_ref().map(|q| RequestPattern {
                        method: q.method.map(|m| m.as_str().to_string()),
                        url: q.url.clone(),
                        headers: q.headers.clone(),
                        body: q.body.clone(),
                    }),
                    response: RecordedResponse {
                        status: r.status,
                        headers: r.headers.clone(),
                        body: r.body.clone(),
                    },
                })
                .collect(),
        }
    }
}

#[derive(Clone, Copy)]
enum Target<'a> {
    Action(&'a str),
    Trigger(&'a str),
}

/// Runs `script` against its responses: the action's result (a trigger's
/// records as a list) or the error, and every request mismatch.
type Replayed = (
    Result<Json, ExecError>,
    Vec<String>,
    Vec<(usize, RecordedRequest)>,
);

fn replay(connector: &Connector, script: &Script) -> Replayed {
    let replayer = Arc::new(Replayer {
        exchanges: script.exchanges.clone(),
        source: script.source,
        state: Mutex::new(ReplayState::default()),
    });
    let settings = HttpSettings {
        // The recorded retry decisions, without waiting (a recorded
        // `Retry-After: 30` must not make a case take 30 s).
        retry: RetryPolicy {
            wait: false,
            ..RetryPolicy::default()
        },
        ..HttpSettings::default()
    };
    let engine = Transport::replaying(settings.clone(), replayer.clone())
        .map_err(|e| e.message)
        .and_then(|transport| {
            Engine::new(settings)
                .map(|engine| engine.with_transport(transport))
                .map_err(|e| e.message)
        });
    let engine = match engine {
        Ok(engine) => engine.with_clock(Arc::new(FixedClock {
            unix_ms: script.now.unwrap_or(DEFAULT_NOW) * 1000,
            nonce: script.nonce.clone().unwrap_or_else(|| DEFAULT_NONCE.into()),
        })),
        Err(message) => return (Ok(Json::Null), vec![message], Vec::new()),
    };
    let credentials = fake_credentials(connector, script.credentials.as_ref());
    let call = Call::new(connector, &credentials).base_url(script.base_url.as_deref());
    let input = if script.input.is_null() {
        serde_json::json!({})
    } else {
        script.input.clone()
    };
    let outcome = super::exec::block_on(async {
        match (&script.action, &script.trigger) {
            (Some(action), None) => engine
                .run_action(&call, action, &input)
                .await
                .map(|o| o.result),
            (None, Some(trigger)) => poll(&engine, &call, trigger, &input).await,
            _ => Err(ExecError {
                kind: ExecErrorKind::Spec,
                message: "a case names exactly one `action` or `trigger`".into(),
                hint: None,
                details: Vec::new(),
                api: None,
            }),
        }
    });
    let ReplayState {
        used,
        mut failures,
        changed,
    } = std::mem::take(&mut *replayer.state.lock().unwrap());
    if used < script.exchanges.len() {
        failures.push(format!(
            "{} response(s) given, but only {used} request(s) made",
            script.exchanges.len()
        ));
    }
    (outcome, failures, changed)
}

async fn poll(
    engine: &Engine,
    call: &Call<'_>,
    key: &str,
    input: &Json,
) -> Result<Json, ExecError> {
    let state_error = |message: String| ExecError {
        kind: ExecErrorKind::State,
        message,
        hint: None,
        details: Vec::new(),
        api: None,
    };
    let dir = tempfile::tempdir().map_err(|e| state_error(e.to_string()))?;
    let location = dir.path().join("state.sqlite").display().to_string();
    let store = crate::state::open(&location)
        .await
        .map_err(|e| state_error(e.message))?;
    let options = PollOptions {
        connection: "test".into(),
        emit_initial: crate::runtime::EmitInitial::All,
        ..PollOptions::default()
    };
    let mut sink = Collect(Vec::new());
    engine
        .poll_trigger(call, key, input, store.as_ref(), &options, &mut sink)
        .await?;
    Ok(Json::Array(sink.0))
}

struct Collect(Vec<Json>);

impl Sink for Collect {
    fn record(&mut self, record: &Json) -> std::io::Result<()> {
        self.0.push(record.clone());
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Each auth field `k` as `fake-k`, then the case's own values; OAuth2
/// tokens too.
pub fn fake_credentials(
    connector: &Connector,
    overrides: Option<&IndexMap<String, String>>,
) -> Credentials {
    let mut credentials = Credentials::new();
    for field in connector.auth.fields() {
        credentials.insert(field.key.clone(), format!("fake-{}", field.key));
    }
    if connector.auth.kind() == "oauth2" {
        for key in ["access_token", "refresh_token"] {
            credentials.insert(key.into(), format!("fake-{key}"));
        }
    }
    for (key, value) in overrides.into_iter().flatten() {
        credentials.insert(key.clone(), value.clone());
    }
    credentials
}

/// Serves recorded responses in order; remembers mismatches.
struct Replayer {
    exchanges: Vec<Scripted>,
    /// What the requests are called in a diff: `recorded` or `expected`.
    source: &'static str,
    state: Mutex<ReplayState>,
}

#[derive(Default)]
struct ReplayState {
    /// Requests served.
    used: usize,
    failures: Vec<String>,
    /// The built requests that differ from the recorded ones, by index.
    changed: Vec<(usize, RecordedRequest)>,
}

impl Replay for Replayer {
    fn respond(&self, request: &PreparedRequest) -> Result<HttpResponse, NetError> {
        let mut state = self.state.lock().unwrap();
        let index = state.used;
        state.used += 1;
        let Some(exchange) = self.exchanges.get(index) else {
            let shown = request_view(&actual_request(request, None)).join("\n");
            state.failures.push(format!(
                "request {} was not recorded:\n{}",
                index + 1,
                indent(&shown)
            ));
            return Err(NetError {
                kind: NetErrorKind::Connect,
                message: "no recorded response left".into(),
                attempts: 1,
            });
        };
        if let Some(pattern) = &exchange.request {
            // What is not given is whatever was built.
            let built = actual_request(request, None);
            let expected = RecordedRequest {
                method: pattern.method.clone().unwrap_or(built.method),
                url: pattern.url.clone().unwrap_or(built.url),
                headers: pattern.headers.clone(),
                body: pattern.body.clone(),
            };
            let actual = actual_request(request, Some(&expected));
            if let Some(diff) = diff_requests(&expected, &actual) {
                state.failures.push(format!(
                    "request {} differs from the {1} one (- {1}, + built):\n{2}",
                    index + 1,
                    self.source,
                    indent(&diff)
                ));
                state.changed.push((index, actual));
            }
        }
        Ok(recorded_response(&exchange.response))
    }
}

fn recorded_response(response: &RecordedResponse) -> HttpResponse {
    let mut headers: Vec<(String, String)> = response
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let body = match &response.body {
        Json::String(text) => text.clone().into_bytes(),
        Json::Null => Vec::new(),
        other => {
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                headers.push(("content-type".into(), "application/json".into()));
            }
            serde_json::to_vec(other).unwrap_or_default()
        }
    };
    HttpResponse {
        status: response.status,
        headers,
        body,
        attempts: 1,
        elapsed: Duration::ZERO,
    }
}

/// `request` in the recorded shape, with headers and body only where
/// `like` has them (all of them when `like` is `None`).
pub fn actual_request(
    request: &PreparedRequest,
    like: Option<&RecordedRequest>,
) -> RecordedRequest {
    let headers = match like {
        Some(like) if like.headers.is_none() => None,
        _ => Some(
            request
                .headers()
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect(),
        ),
    };
    let body = match like {
        Some(like) if like.body.is_none() => None,
        _ => request.body().map(|bytes| {
            let text = String::from_utf8_lossy(bytes).into_owned();
            let wants_text = matches!(
                like,
                Some(RecordedRequest {
                    body: Some(Json::String(_)),
                    ..
                })
            );
            match serde_json::from_str::<Json>(&text) {
                Ok(json) if !wants_text && (json.is_object() || json.is_array()) => json,
                _ => Json::String(text),
            }
        }),
    };
    RecordedRequest {
        method: format!("{:?}", request.method()).to_ascii_uppercase(),
        url: request.url().to_string(),
        headers,
        body,
    }
}

/// A request as lines: `METHOD url`, each query parameter, each header
/// (sorted), then the body (pretty JSON).
fn request_view(request: &RecordedRequest) -> Vec<String> {
    let (base, query) = request
        .url
        .split_once('?')
        .unwrap_or((request.url.as_str(), ""));
    let mut lines = vec![format!("{} {base}", request.method.to_ascii_uppercase())];
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        lines.push(format!("  ?{pair}"));
    }
    if let Some(headers) = &request.headers {
        let mut headers: Vec<(String, &String)> = headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        headers.sort();
        for (name, value) in headers {
            lines.push(format!("{name}: {value}"));
        }
    }
    if let Some(body) = &request.body {
        lines.push(String::new());
        match body {
            // A form body: one field a line, so a diff names the field.
            Json::String(text) if is_form(text) => {
                lines.extend(text.split('&').map(|field| format!("  &{field}")));
            }
            Json::String(text) => lines.extend(text.lines().map(str::to_string)),
            other => {
                let text = serde_json::to_string_pretty(other).unwrap_or_default();
                lines.extend(text.lines().map(str::to_string));
            }
        }
    }
    lines
}

/// Whether `text` looks like `k=v&k=v` (form-urlencoded).
fn is_form(text: &str) -> bool {
    !text.is_empty()
        && text.split('&').all(|field| {
            field.split_once('=').is_some_and(|(k, v)| {
                !k.is_empty()
                    && !k.contains(char::is_whitespace)
                    && !v.contains(char::is_whitespace)
            })
        })
}

/// A unified diff of the two requests, or `None` when they match.
fn diff_requests(expected: &RecordedRequest, actual: &RecordedRequest) -> Option<String> {
    let expected = request_view(expected);
    let mut actual = request_view(actual);
    if expected.len() == actual.len() {
        // Lines that match (volatile values included) show as equal.
        for (e, a) in expected.iter().zip(actual.iter_mut()) {
            if matches(e, a) {
                *a = e.clone();
            }
        }
    }
    if expected == actual {
        return None;
    }
    Some(diff_lines(&expected.join("\n"), &actual.join("\n")))
}

fn diff_lines(expected: &str, actual: &str) -> String {
    let expected = format!("{expected}\n");
    let actual = format!("{actual}\n");
    let diff = similar::TextDiff::from_lines(&expected, &actual);
    let mut out = String::new();
    for change in diff.iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => '-',
            similar::ChangeTag::Insert => '+',
            similar::ChangeTag::Equal => ' ',
        };
        let _ = write!(out, "{sign} {change}");
    }
    out.trim_end().to_string()
}

/// `built` as the new recording, keeping each recorded value that holds
/// `{{ volatile }}` and still matches (a hand-marked timestamp or nonce
/// stays marked after `--update`): query parameters, headers and JSON
/// strings one by one, a form body field by field.
fn keep_volatile(recorded: &RecordedRequest, built: &RecordedRequest) -> RecordedRequest {
    let mut out = built.clone();
    if matches(&recorded.url, &built.url) {
        out.url = recorded.url.clone();
    } else if let (Some((rb, rq)), Some((bb, bq))) =
        (recorded.url.split_once('?'), built.url.split_once('?'))
    {
        out.url = format!(
            "{}?{}",
            if matches(rb, bb) { rb } else { bb },
            keep_fields(rq, bq, '&')
        );
    }
    if let (Some(recorded), Some(built)) = (&recorded.headers, &mut out.headers) {
        for (name, value) in built.iter_mut() {
            if let Some(old) = recorded.get(name)
                && matches(old, value)
            {
                value.clone_from(old);
            }
        }
    }
    if let (Some(recorded), Some(built)) = (&recorded.body, &mut out.body) {
        keep_json(recorded, built);
    }
    out
}

/// `built` split at `separator`, each part replaced by the recorded part
/// at the same place when that one matches it.
fn keep_fields(recorded: &str, built: &str, separator: char) -> String {
    let recorded: Vec<&str> = recorded.split(separator).collect();
    built
        .split(separator)
        .enumerate()
        .map(|(i, part)| match recorded.get(i) {
            Some(old) if matches(old, part) => *old,
            _ => part,
        })
        .collect::<Vec<_>>()
        .join(&separator.to_string())
}

fn keep_json(recorded: &Json, built: &mut Json) {
    match (recorded, built) {
        (Json::String(old), Json::String(new)) if old.contains(VOLATILE) => {
            if matches(old, new) {
                new.clone_from(old);
            } else if is_form(new) {
                // `{{ volatile }}` holds spaces, so only the built body
                // can be told to be a form.
                *new = keep_fields(old, new, '&');
            }
        }
        (Json::String(old), Json::String(new)) if is_form(old) && is_form(new) => {
            *new = keep_fields(old, new, '&');
        }
        (Json::Object(old), Json::Object(new)) => {
            for (key, value) in new.iter_mut() {
                if let Some(recorded) = old.get(key) {
                    keep_json(recorded, value);
                }
            }
        }
        (Json::Array(old), Json::Array(new)) => {
            for (recorded, value) in old.iter().zip(new.iter_mut()) {
                keep_json(recorded, value);
            }
        }
        _ => {}
    }
}

/// Whether `actual` matches the recorded `pattern`, where `{{ volatile }}`
/// (quoted or not) stands for any text.
pub fn matches(pattern: &str, actual: &str) -> bool {
    if !pattern.contains(VOLATILE) {
        return pattern == actual;
    }
    let pattern = pattern.replace(&format!("\"{VOLATILE}\""), VOLATILE);
    let parts: Vec<String> = pattern.split(VOLATILE).map(regex::escape).collect();
    regex::Regex::new(&format!("^{}$", parts.join(".*"))).is_ok_and(|re| re.is_match(actual))
}

/// What a case expects: an output, or an error (only what is given of it
/// is compared).
struct Expected<'a> {
    output: Option<&'a Json>,
    error: Option<ErrorPattern<'a>>,
}

struct ErrorPattern<'a> {
    kind: &'a str,
    message: Option<&'a str>,
    code: Option<&'a str>,
    status: Option<u16>,
    details: &'a [String],
}

impl<'a> Expected<'a> {
    fn of_case(case: &'a Case) -> Expected<'a> {
        Expected {
            output: case.output.as_ref(),
            error: case.error.as_ref().map(|e| ErrorPattern {
                kind: &e.kind,
                message: Some(&e.message),
                code: None,
                status: None,
                details: &[],
            }),
        }
    }

    fn of_test(test: &'a TestCase) -> Expected<'a> {
        Expected {
            output: test.output.as_ref(),
            error: test.error.as_ref().map(|e| ErrorPattern {
                kind: error_kind_name(e.kind),
                message: e.message.as_deref(),
                code: e.code.as_deref(),
                status: e.status,
                details: &e.details,
            }),
        }
    }
}

fn error_kind_name(kind: crate::model::ErrorKind) -> &'static str {
    use crate::model::ErrorKind;
    match kind {
        ErrorKind::Input => "input",
        ErrorKind::Auth => "auth",
        ErrorKind::Api => "api",
        ErrorKind::Network => "network",
        ErrorKind::Output => "output",
    }
}

impl ErrorPattern<'_> {
    fn matches(&self, error: &ExecError) -> bool {
        let api = error.api.as_ref();
        self.kind == kind_name(error.kind)
            && self.message.is_none_or(|m| matches(m, &error.message))
            && self
                .code
                .is_none_or(|c| api.and_then(|a| a.code()) == Some(c))
            && self
                .status
                .is_none_or(|s| api.map(|a| a.status()) == Some(s))
            && self
                .details
                .iter()
                .all(|want| error.details.iter().any(|d| matches(want, d)))
    }
}

impl std::fmt::Display for ErrorPattern<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the {} error", self.kind)?;
        if let Some(message) = self.message {
            write!(f, " `{message}`")?;
        }
        if let Some(code) = self.code {
            write!(f, " with code {code}")?;
        }
        if let Some(status) = self.status {
            write!(f, " with HTTP status {status}")?;
        }
        for detail in self.details {
            write!(f, "\n    - {detail}")?;
        }
        Ok(())
    }
}

fn compare_outcome(expected: &Expected<'_>, actual: &Result<Json, ExecError>) -> Vec<String> {
    let pretty = |v: &Json| serde_json::to_string_pretty(v).unwrap_or_default();
    match (actual, expected.output, &expected.error) {
        (Ok(output), Some(expected), _) if output == expected => Vec::new(),
        (Ok(output), Some(expected), _) => vec![format!(
            "the output differs from the expected one (- expected, + now):\n{}",
            indent(&diff_lines(&pretty(expected), &pretty(output)))
        )],
        (Ok(output), None, Some(error)) => vec![format!(
            "expected {error}, got output:\n{}",
            indent(&pretty(output))
        )],
        (Ok(_), None, None) => {
            vec!["the case has no `output` or `error`; `spec test --update` records them".into()]
        }
        (Err(error), _, Some(pattern)) if pattern.matches(error) => Vec::new(),
        (Err(error), _, pattern) => {
            let mut message = format!("{} error: {}", kind_name(error.kind), error.message);
            if let Some(api) = &error.api
                && pattern
                    .as_ref()
                    .is_some_and(|p| p.code.is_some() || p.status.is_some())
            {
                let _ = write!(
                    message,
                    " (code {}, HTTP status {})",
                    api.code().unwrap_or("none"),
                    api.status()
                );
            }
            for detail in &error.details {
                let _ = write!(message, "\n  - {detail}");
            }
            if let Some(pattern) = pattern {
                let _ = write!(message, "\n  expected {pattern}");
            }
            vec![message]
        }
    }
}

/// Every key of the spec's `sample` must be in the real output (each
/// record, for a trigger) with a value of the same JSON type.
fn check_sample(sample: &Json, output: &Json, trigger: bool) -> Vec<String> {
    let Json::Object(sample) = sample else {
        return Vec::new();
    };
    let records: Vec<&Json> = match output {
        Json::Array(records) if trigger => records.iter().collect(),
        other => vec![other],
    };
    let type_of = |v: &Json| match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "list",
        Json::Object(_) => "object",
    };
    let mut failures = Vec::new();
    for (index, record) in records.iter().enumerate() {
        let Json::Object(record) = record else {
            continue;
        };
        for (key, value) in sample {
            let problem = match record.get(key) {
                None => format!("has no `{key}`"),
                Some(real)
                    if !real.is_null() && !value.is_null() && type_of(real) != type_of(value) =>
                {
                    format!(
                        "has `{key}` as a {}, the sample as a {}",
                        type_of(real),
                        type_of(value)
                    )
                }
                Some(_) => continue,
            };
            let what = if trigger {
                format!("record {}", index + 1)
            } else {
                "the output".into()
            };
            failures.push(format!("sample: {what} {problem}"));
        }
    }
    failures
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn human(reports: &[CaseReport]) -> String {
    let mut out = String::new();
    for report in reports {
        let tag = match report.status {
            "passed" => "ok     ",
            "updated" => "updated",
            _ => "FAIL   ",
        };
        let line = report.line.map(|l| format!(":{l}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "{tag} {}/{} ({}{line})",
            report.connector, report.case, report.file
        );
        for failure in &report.failures {
            let _ = writeln!(out, "  {}", failure.replace('\n', "\n  "));
        }
    }
    let failed = reports.iter().filter(|r| r.status == "failed").count();
    let updated = reports.iter().filter(|r| r.status == "updated").count();
    let _ = write!(
        out,
        "{} case(s): {} passed, {failed} failed",
        reports.len(),
        reports.len() - failed - updated
    );
    if updated > 0 {
        let _ = write!(out, ", {updated} updated");
    }
    out.push('\n');
    out
}

fn github(reports: &[CaseReport]) -> String {
    let mut out = String::new();
    for report in reports {
        for failure in &report.failures {
            let line = report
                .line
                .map(|l| format!(",line={l}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "::error file={}{line},title={}::{}",
                crate::render::escape_property(&report.file),
                crate::render::escape_property(&format!(
                    "spec test {}/{}",
                    report.connector, report.case
                )),
                crate::render::escape_data(failure)
            );
        }
    }
    out
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn junit(reports: &[CaseReport]) -> String {
    let failed = reports.iter().filter(|r| r.status == "failed").count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"spec test\" tests=\"{}\" failures=\"{failed}\">",
        reports.len()
    );
    let mut connectors: Vec<&str> = reports.iter().map(|r| r.connector.as_str()).collect();
    connectors.dedup();
    for connector in connectors {
        let cases: Vec<&CaseReport> = reports
            .iter()
            .filter(|r| r.connector == connector)
            .collect();
        let failures = cases.iter().filter(|r| r.status == "failed").count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">",
            xml(connector),
            cases.len()
        );
        for case in cases {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\"",
                xml(connector),
                xml(&case.case),
                xml(&case.file)
            );
            if case.failures.is_empty() {
                out.push_str("/>\n");
            } else {
                out.push_str(">\n");
                let message = case.failures.join("\n\n");
                let first = message.lines().next().unwrap_or_default();
                let _ = writeln!(
                    out,
                    "      <failure message=\"{}\">{}</failure>",
                    xml(first),
                    xml(&message)
                );
                out.push_str("    </testcase>\n");
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Response headers kept in a recording: those the interpreter reads.
const KEPT_RESPONSE_HEADERS: &[&str] = &["content-type", "link", "location", "retry-after"];

/// `spec exec action --record`: sees every exchange (passing it on to
/// `inner`) and keeps it as a case, with each secret credential replaced by
/// its fake value (`fake-<field>`, what replay uses) and every other secret
/// (signatures, derived credentials, tokens) by `{{ volatile }}`.
pub struct Recorder<'a> {
    inner: &'a dyn crate::runtime::Observer,
    /// (real value, fake value), longest first.
    fakes: Vec<(String, String)>,
    pending: Mutex<Option<RecordedRequest>>,
    exchanges: Mutex<Vec<Exchange>>,
    /// The call's real credentials (only the non-secret ones are kept).
    pub credentials: Credentials,
}

impl<'a> Recorder<'a> {
    pub fn new(
        inner: &'a dyn crate::runtime::Observer,
        connector: &Connector,
        credentials: &Credentials,
    ) -> Recorder<'a> {
        let fakes = fake_credentials(connector, None);
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (key, value) in credentials {
            let secret = connector
                .auth
                .fields()
                .iter()
                .find(|f| &f.key == key)
                .is_none_or(|f| f.secret);
            if !secret || value.is_empty() {
                continue;
            }
            let fake = fakes
                .get(key)
                .cloned()
                .unwrap_or_else(|| format!("fake-{key}"));
            let json = serde_json::to_string(value).unwrap_or_default();
            for (real, fake) in [
                (value.clone(), fake.clone()),
                (
                    crate::runtime::encode::query_component(value),
                    crate::runtime::encode::query_component(&fake),
                ),
                (
                    crate::runtime::encode::path_segment(value),
                    crate::runtime::encode::path_segment(&fake),
                ),
                (json.trim_matches('"').to_string(), fake.clone()),
            ] {
                if !real.is_empty() && !pairs.iter().any(|(r, _)| r == &real) {
                    pairs.push((real, fake));
                }
            }
        }
        pairs.sort_by_key(|(real, _)| std::cmp::Reverse(real.len()));
        Recorder {
            inner,
            fakes: pairs,
            pending: Mutex::new(None),
            exchanges: Mutex::new(Vec::new()),
            credentials: credentials.clone(),
        }
    }

    /// The non-secret credential values, kept in the case so replay
    /// renders the same URLs (a shop name, a tenant).
    pub fn plain_credentials(
        connector: &Connector,
        credentials: &Credentials,
    ) -> Option<IndexMap<String, String>> {
        let plain: IndexMap<String, String> = connector
            .auth
            .fields()
            .iter()
            .filter(|f| !f.secret)
            .filter_map(|f| credentials.get(&f.key).map(|v| (f.key.clone(), v.clone())))
            .collect();
        (!plain.is_empty()).then_some(plain)
    }

    fn clean(&self, text: &str, secrets: &crate::runtime::Secrets) -> String {
        let mut text = text.to_string();
        for (real, fake) in &self.fakes {
            if text.contains(real.as_str()) {
                text = text.replace(real.as_str(), fake);
            }
        }
        if secrets.occurs_in(&text) {
            text = secrets
                .redact(&text)
                .replace(crate::runtime::MASK, VOLATILE);
        }
        text
    }

    fn clean_json(&self, value: &Json, secrets: &crate::runtime::Secrets) -> Json {
        match value {
            Json::String(text) => Json::String(self.clean(text, secrets)),
            Json::Array(items) => {
                Json::Array(items.iter().map(|v| self.clean_json(v, secrets)).collect())
            }
            Json::Object(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.clean_json(v, secrets)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// The exchanges seen so far.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.exchanges.lock().unwrap().clone()
    }
}

impl crate::runtime::Observer for Recorder<'_> {
    fn request(&self, attempt: u32, request: &PreparedRequest) {
        self.inner.request(attempt, request);
        let secrets = request.secrets();
        let raw = actual_request(request, None);
        let recorded = RecordedRequest {
            method: raw.method,
            url: self.clean(&raw.url, secrets),
            headers: raw.headers.map(|headers| {
                headers
                    .into_iter()
                    .map(|(k, v)| (k, self.clean(&v, secrets)))
                    .collect()
            }),
            body: raw.body.map(|body| self.clean_json(&body, secrets)),
        };
        *self.pending.lock().unwrap() = Some(recorded);
    }

    fn response(&self, attempt: u32, response: &HttpResponse, secrets: &crate::runtime::Secrets) {
        self.inner.response(attempt, response, secrets);
        let Some(request) = self.pending.lock().unwrap().take() else {
            return;
        };
        let headers = response
            .headers
            .iter()
            .filter(|(k, _)| KEPT_RESPONSE_HEADERS.contains(&k.to_ascii_lowercase().as_str()))
            .map(|(k, v)| (k.to_ascii_lowercase(), self.clean(v, secrets)))
            .collect();
        let text = String::from_utf8_lossy(&response.body);
        let body = match serde_json::from_str::<Json>(&text) {
            Ok(json) if json.is_object() || json.is_array() => self.clean_json(&json, secrets),
            _ if text.is_empty() => Json::Null,
            _ => Json::String(self.clean(&text, secrets)),
        };
        self.exchanges.lock().unwrap().push(Exchange {
            request,
            response: RecordedResponse {
                status: response.status,
                headers,
                body,
            },
        });
    }

    fn retry(&self, attempt: u32, delay: Duration, reason: &str) {
        self.inner.retry(attempt, delay, reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_keeps_hand_marked_volatile_values() {
        let recorded = RecordedRequest {
            method: "POST".into(),
            url: "https://x.example/send?ts={{ volatile }}&sign={{ volatile }}&v=1".into(),
            headers: Some(IndexMap::from([
                ("x-nonce".to_string(), VOLATILE.to_string()),
                ("x-app".to_string(), "old".to_string()),
            ])),
            body: Some(serde_json::json!({
                "at": "{{ volatile }}",
                "form": "a=1&ts={{ volatile }}",
                "items": [{"id": "{{ volatile }}"}],
                "name": "old",
            })),
        };
        let built = RecordedRequest {
            method: "POST".into(),
            url: "https://x.example/send?ts=1700&sign=abc&v=2".into(),
            headers: Some(IndexMap::from([
                ("x-nonce".to_string(), "n-42".to_string()),
                ("x-app".to_string(), "new".to_string()),
            ])),
            body: Some(serde_json::json!({
                "at": "2024-01-02",
                "form": "a=2&ts=1700",
                "items": [{"id": "7"}],
                "name": "new",
            })),
        };
        let kept = keep_volatile(&recorded, &built);
        assert_eq!(
            kept.url,
            "https://x.example/send?ts={{ volatile }}&sign={{ volatile }}&v=2"
        );
        let headers = kept.headers.unwrap();
        assert_eq!(headers["x-nonce"], VOLATILE);
        assert_eq!(headers["x-app"], "new");
        assert_eq!(
            kept.body.unwrap(),
            serde_json::json!({
                "at": "{{ volatile }}",
                "form": "a=2&ts={{ volatile }}",
                "items": [{"id": "{{ volatile }}"}],
                "name": "new",
            })
        );
    }

    #[test]
    fn volatile_values_match_anything() {
        assert!(matches("  ?ts={{ volatile }}", "  ?ts=1704164645"));
        assert!(matches(
            "  \"sign\": \"{{ volatile }}\",",
            "  \"sign\": \"ab12\","
        ));
        assert!(matches("  \"ts\": \"{{ volatile }}\",", "  \"ts\": 17,"));
        assert!(!matches("  ?ts={{ volatile }}", "  ?t=1"));
        assert!(matches("x: 1", "x: 1"));
        assert!(!matches("x: 1", "x: 2"));
    }

    #[test]
    fn samples_are_checked_against_real_records() {
        let sample = serde_json::json!({"id": "a", "n": 1, "gone": true});
        let output = serde_json::json!([{"id": "x", "n": "1"}]);
        assert_eq!(
            check_sample(&sample, &output, true),
            [
                "sample: record 1 has `n` as a string, the sample as a number",
                "sample: record 1 has no `gone`"
            ]
        );
    }
}

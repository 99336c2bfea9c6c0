//! `spec exec action <connector> <action>`, `spec exec check
//! <connector>` and `spec exec trigger <connector> <trigger>`: run a spec
//! directly with the interpreter.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value as Json;

use super::Outcome;
use crate::connections::{self, CredentialsFile};
use crate::model::Connector;
use crate::render;
use crate::runtime::input::parse_assignments;
use crate::runtime::{
    Call, Engine, ExecError, ExecErrorKind, HttpResponse, HttpSettings, Observer, PreparedRequest,
    RetryPolicy, Secrets,
};
use crate::validate::{Project, validate};

pub const EXIT_CODES: &str = "\
Exit codes:
  0  success (output warnings allowed)
  1  the spec has problems, or cannot do what was asked
  2  usage error, or a file could not be read or written
  3  the input is invalid (nothing was sent)
  4  credentials missing, or rejected by the API (401/403, failed login)
  5  the API answered with an error
  6  network failure: cannot connect, timed out, response too large
  7  trigger state: the store is unreachable, the state is corrupt, or the lease was lost
  8  trigger: another poller holds the subscription (nothing emitted)";

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Run one action: check the input, send the request, print the result JSON.
    #[command(after_help = EXIT_CODES)]
    Action(ActionArgs),
    /// Run the connection test and print the connection label.
    #[command(after_help = EXIT_CODES)]
    Check(CheckArgs),
    /// Poll a trigger once: print the records new since the last poll as
    /// JSON Lines, oldest first, and save the subscription's state.
    #[command(after_help = EXIT_CODES)]
    Trigger(TriggerArgs),
}

/// Where the spec and the credentials come from, and how to talk HTTP.
#[derive(Debug, clap::Args)]
pub struct Common {
    /// Spec files or directories to look for the connector in.
    #[arg(long = "specs", value_name = "PATH", default_value = "specs")]
    pub(super) specs: Vec<PathBuf>,
    /// The named connection in the credentials file (default: the connector key).
    #[arg(long, value_name = "NAME")]
    pub(super) connection: Option<String>,
    /// The credentials file (default: $SPEC_CREDENTIALS_FILE, else
    /// ~/.config/spec/credentials.toml). `SPEC_<CONNECTOR>_<FIELD>`
    /// variables override its values.
    #[arg(long, value_name = "FILE")]
    pub(super) credentials_file: Option<PathBuf>,
    /// Send requests to this URL instead of the spec's `app.base_url`
    /// (a mock server, a sandbox, a proxy).
    #[arg(long, value_name = "URL")]
    pub(super) base_url: Option<String>,
    /// OAuth2: send authorize, token and refresh requests to this URL's
    /// scheme, host and port instead (their paths are kept).
    #[arg(long, value_name = "URL")]
    pub(super) auth_url_base: Option<String>,
    /// OAuth2: refresh the access token this many seconds before it expires.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub(super) refresh_margin: u64,
    /// Show each HTTP exchange on stderr, every secret masked.
    #[arg(short, long)]
    pub(super) verbose: bool,
    /// Seconds allowed for one attempt, body included.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub(super) timeout: f64,
    /// Seconds allowed to establish a connection.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub(super) connect_timeout: f64,
    /// Attempts in all for a retryable failure (1 = no retry).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub(super) attempts: u32,
    /// Refuse response bodies larger than this.
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024 * 1024)]
    pub(super) max_response_bytes: u64,
}

#[derive(Debug, clap::Args)]
pub struct ActionArgs {
    /// Connector key (looked up in --specs), or the path of its spec.
    connector: String,
    /// Action key.
    action: String,
    /// Input as a JSON or YAML file; `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// One input value: `key=value` (typed by the field: `qty=5` is a
    /// number for an integer field), `key:=<json>` for a JSON value;
    /// dotted keys and indices for nested groups (`items[0].qty=5`).
    /// Overrides --input. Repeatable.
    #[arg(short = 'i', value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Save the exchange as a `spec test` case: a case name (written to
    /// `<specs>/tests/<connector>/<NAME>.json`) or a `.json` path. Secret
    /// credentials become fake values, signatures `{{ volatile }}`; the
    /// clock is pinned for the call and kept in the case.
    #[arg(long, value_name = "NAME|FILE")]
    record: Option<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Connector key (looked up in --specs), or the path of its spec.
    connector: String,
    #[command(flatten)]
    common: Common,
}

pub fn run(command: Command) -> Outcome {
    match command {
        Command::Action(args) => run_action(args),
        Command::Check(args) => run_check(args),
        Command::Trigger(args) => run_trigger(args),
    }
}

fn run_action(args: ActionArgs) -> Outcome {
    let Some(connector) = load_connector(&args.connector, &args.common.specs) else {
        return Outcome::Code(1);
    };
    // An unknown action is reported by the engine, with the known ones.
    let fields = connector
        .actions
        .iter()
        .find(|a| a.key == args.action)
        .map_or(&[][..], |a| a.input.as_slice());
    let input = match read_input(args.input.as_deref(), &args.set, fields) {
        Ok(input) => input,
        Err(message) => {
            eprintln!("error: {message}");
            return Outcome::Code(3);
        }
    };
    let Some(stored) = credentials(&connector, &args.common) else {
        return Outcome::Failure;
    };
    let (engine, now, nonce) = match run_engine(&args.common, args.record.is_some()) {
        Ok(run) => run,
        Err(error) => return fail(&error),
    };
    let verbose = Verbose(args.common.verbose);
    let recorder = super::test::Recorder::new(&verbose, &connector, &stored.credentials);
    let observer: &dyn Observer = if args.record.is_some() {
        &recorder
    } else {
        &verbose
    };
    let call = stored.call(&connector, &args.common).observer(observer);
    let outcome = block_on(engine.run_action(&call, &args.action, &input));
    if let Some(record) = &args.record {
        let recording = Recording {
            name: record,
            connector: &connector,
            spec_arg: &args.connector,
            common: &args.common,
            now,
            nonce,
        };
        let output = outcome.as_ref().map(|o| o.result.clone());
        if let Err(outcome) = recording.save(Some(&args.action), None, &input, &recorder, output) {
            return outcome;
        }
    }
    match outcome {
        Ok(outcome) => {
            for warning in &outcome.warnings {
                eprintln!("warning: output {warning}");
            }
            print_json(&outcome.result)
        }
        Err(error) => fail(&error),
    }
}

/// What `--record` needs to write a case once the call is done.
struct Recording<'a> {
    name: &'a str,
    connector: &'a Connector,
    /// The connector as given on the command line (a key or a path).
    spec_arg: &'a str,
    common: &'a Common,
    now: i64,
    nonce: String,
}

impl Recording<'_> {
    fn save(
        self,
        action: Option<&str>,
        trigger: Option<&str>,
        input: &Json,
        recorder: &super::test::Recorder<'_>,
        output: Result<Json, &ExecError>,
    ) -> Result<(), Outcome> {
        let case = super::test::Case {
            description: None,
            connector: self.connector.app.key.clone(),
            action: action.map(str::to_string),
            trigger: trigger.map(str::to_string),
            input: input.clone(),
            credentials: super::test::Recorder::plain_credentials(
                self.connector,
                &recorder.credentials,
            ),
            now: Some(self.now),
            nonce: Some(self.nonce),
            base_url: self.common.base_url.clone(),
            exchanges: recorder.exchanges(),
            output: output.as_ref().ok().cloned(),
            error: output.as_ref().err().map(|e| super::test::ExpectedError {
                kind: super::test::kind_name(e.kind).into(),
                message: e.message.clone(),
            }),
        };
        let path = record_path(
            self.name,
            self.spec_arg,
            &self.connector.app.key,
            &self.common.specs,
        );
        match super::test::write_case(&path, &case) {
            Ok(()) => {
                eprintln!(
                    "recorded {} exchange(s) to {} (review it before you commit it)",
                    case.exchanges.len(),
                    path.display()
                );
                Ok(())
            }
            Err(message) => {
                eprintln!("error: {message}");
                Err(Outcome::Failure)
            }
        }
    }
}

/// The engine of one run, with the clock it reads: now (whole seconds)
/// and a nonce. A recorded run pins that clock, so the case can replay
/// its timestamps and signatures.
fn run_engine(common: &Common, record: bool) -> Result<(Engine, i64, String), ExecError> {
    let engine = engine(common)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    if !record {
        return Ok((engine, now, nonce));
    }
    let engine = engine.with_clock(std::sync::Arc::new(crate::runtime::FixedClock {
        unix_ms: now * 1000,
        nonce: nonce.clone(),
    }));
    Ok((engine, now, nonce))
}

/// Where `--record NAME` goes: a `.json` path as given, else
/// `tests/<key>/<NAME>.json` beside the spec (the spec's directory when the
/// connector was given as a path, else the first `--specs`).
fn record_path(record: &str, connector: &str, key: &str, specs: &[PathBuf]) -> PathBuf {
    if record.ends_with(".json") {
        return PathBuf::from(record);
    }
    let as_path = Path::new(connector);
    let base = if as_path.exists() {
        as_path.parent().unwrap_or(Path::new(".")).to_path_buf()
    } else {
        specs
            .first()
            .cloned()
            .unwrap_or_else(|| PathBuf::from("specs"))
    };
    super::test::cases_dir(&base.join(key), key).join(format!("{record}.json"))
}

fn run_check(args: CheckArgs) -> Outcome {
    let Some(connector) = load_connector(&args.connector, &args.common.specs) else {
        return Outcome::Code(1);
    };
    let Some(stored) = credentials(&connector, &args.common) else {
        return Outcome::Failure;
    };
    let engine = match engine(&args.common) {
        Ok(engine) => engine,
        Err(error) => return fail(&error),
    };
    let observer = Verbose(args.common.verbose);
    let call = stored.call(&connector, &args.common).observer(&observer);
    match block_on(engine.check_connection(&call)) {
        Ok(outcome) => {
            if std::io::stdout().is_terminal() {
                match &outcome.label {
                    Some(label) => println!("connected: {label}"),
                    None => println!("connected"),
                }
                Outcome::Success
            } else {
                print_json(&serde_json::json!({
                    "connector": connector.app.key,
                    "ok": true,
                    "label": outcome.label,
                }))
            }
        }
        Err(error) => fail(&error),
    }
}

/// Runs a future on a runtime for this command.
pub(super) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime")
        .block_on(future)
}

pub(super) fn engine(common: &Common) -> Result<Engine, ExecError> {
    let seconds = |s: f64, what: &str| -> Result<Duration, ExecError> {
        Duration::try_from_secs_f64(s).map_err(|_| ExecError {
            kind: ExecErrorKind::Spec,
            message: format!("--{what} must be a positive number of seconds"),
            hint: None,
            details: Vec::new(),
            api: None,
        })
    };
    Engine::new(HttpSettings {
        connect_timeout: seconds(common.connect_timeout, "connect-timeout")?,
        timeout: seconds(common.timeout, "timeout")?,
        max_response_bytes: common.max_response_bytes,
        retry: RetryPolicy {
            max_attempts: common.attempts.max(1),
            ..RetryPolicy::default()
        },
    })
    .map(|engine| engine.with_refresh_margin(Duration::from_secs(common.refresh_margin)))
}

/// The connector named `name`: a spec path, or a connector key found in
/// `specs`. Diagnostics of that connector are printed; `None` when it
/// cannot be used.
pub(super) fn load_connector(name: &str, specs: &[PathBuf]) -> Option<Connector> {
    let as_path = Path::new(name);
    let by_path = as_path.exists();
    // By convention a connector's spec is `<key>.yaml` or `<key>/`: load
    // just that (a cold `spec exec` stays fast with hundreds of specs),
    // else everything given.
    let conventional = specs
        .iter()
        .flat_map(|dir| [dir.join(format!("{name}.yaml")), dir.join(name)])
        .find(|p| p.is_file() || p.join("connector.yaml").is_file());
    let paths = if by_path {
        vec![as_path.to_path_buf()]
    } else if let Some(path) = &conventional
        && let Ok(project) = validate(std::slice::from_ref(path))
        && project.connectors.iter().any(|c| c.model.app.key == name)
    {
        return pick(project, name, false);
    } else {
        specs.to_vec()
    };
    let project = match validate(&paths) {
        Ok(project) => project,
        Err(error) => {
            eprintln!("error: cannot read {error}");
            return None;
        }
    };
    if !by_path && !project.connectors.iter().any(|c| c.model.app.key == name) {
        let known: Vec<_> = project
            .connectors
            .iter()
            .map(|c| c.model.app.key.as_str())
            .collect();
        eprintln!(
            "error: no connector `{name}` in {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        if known.is_empty() {
            eprintln!("  = help: pass --specs DIR, or the path of a spec file");
        } else {
            eprintln!("  = help: connectors found: {}", known.join(", "));
        }
        return None;
    }
    pick(project, name, by_path)
}

/// The connector `name` of `project` (its only one when given `by_path`),
/// unless its spec has errors (printed).
fn pick(project: Project, name: &str, by_path: bool) -> Option<Connector> {
    let found = if by_path {
        project.connectors.first()
    } else {
        project.connectors.iter().find(|c| c.model.app.key == name)
    };
    let Some(found) = found else {
        // A path whose spec could not be modeled: its diagnostics say why.
        eprint!(
            "{}",
            render::human(
                &project.sources,
                &project.diagnostics,
                super::stderr_color()
            )
        );
        eprintln!("error: {name} holds no usable connector spec");
        return None;
    };
    if own_errors(&project, &found.path) {
        return None;
    }
    Some(found.model.clone())
}

/// Prints the diagnostics of the spec at `path`; true when it has errors.
fn own_errors(project: &Project, path: &Path) -> bool {
    let own: Vec<_> = project
        .diagnostics
        .iter()
        .filter(|d| {
            project
                .path_of(d)
                .is_some_and(|p| p == path || p.starts_with(path))
        })
        .cloned()
        .collect();
    if !own.is_empty() {
        eprint!(
            "{}",
            render::human(&project.sources, &own, super::stderr_color())
        );
    }
    let errors = own
        .iter()
        .any(|d| d.severity == crate::diagnostic::Severity::Error);
    if errors {
        eprintln!(
            "error: the spec {} has errors; fix them first (`spec validate {}`)",
            path.display(),
            path.display()
        );
    }
    errors
}

/// `--input FILE` (JSON or YAML; `-` is stdin) with the `-i` values put
/// on top. Each `-i key=value` text is typed by the field its path names
/// (`qty=5` is a number for an integer field); the file's values must
/// already have their JSON types. `fields` are the action's input fields.
fn read_input(
    file: Option<&Path>,
    set: &[String],
    fields: &[crate::model::Field],
) -> Result<Json, String> {
    let base = match file {
        None => Json::Null,
        Some(path) => {
            let text = if path == Path::new("-") {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .map_err(|e| format!("cannot read the input from stdin: {e}"))?;
                text
            } else {
                std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read the input file {}: {e}", path.display()))?
            };
            parse_input(&text).map_err(|e| {
                format!(
                    "the input {} is neither JSON nor YAML: {e}",
                    if path == Path::new("-") {
                        "on stdin".to_string()
                    } else {
                        format!("file {}", path.display())
                    }
                )
            })?
        }
    };
    parse_assignments(set)
        .and_then(|assignments| assignments.apply_to(base, fields))
        .map_err(|e| {
            let lines: String = e
                .to_string()
                .lines()
                .map(|l| format!("\n  - {l}"))
                .collect();
            format!("invalid -i value{lines}")
        })
}

fn parse_input(text: &str) -> Result<Json, String> {
    if let Ok(json) = serde_json::from_str(text) {
        return Ok(json);
    }
    let node = crate::yaml::parse(crate::source::FileId(0), text).map_err(|e| e.message)?;
    Ok(node.to_json())
}

/// A call's credentials and where refreshed OAuth2 tokens go.
struct Stored {
    credentials: crate::runtime::Credentials,
    token_expires_at: Option<i64>,
    sink: connections::FileSink,
}

impl Stored {
    fn call<'a>(&'a self, connector: &'a Connector, common: &'a Common) -> Call<'a> {
        Call::new(connector, &self.credentials)
            .base_url(common.base_url.as_deref())
            .auth_url_base(common.auth_url_base.as_deref())
            .token_expires_at(self.token_expires_at)
            .token_sink(&self.sink)
    }
}

/// The call's credentials: the named connection (if the file has it),
/// overridden by environment variables.
fn credentials(connector: &Connector, common: &Common) -> Option<Stored> {
    let path = match connections::file_path(common.credentials_file.as_deref()) {
        Ok(path) => path,
        Err(error) => {
            eprintln!("error: {error}");
            return None;
        }
    };
    let file = match CredentialsFile::read(&path, &mut |w| eprintln!("warning: {w}")) {
        Ok(file) => file,
        Err(error) => {
            eprintln!("error: {error}");
            return None;
        }
    };
    let name = common
        .connection
        .clone()
        .unwrap_or_else(|| connector.app.key.clone());
    let connection = file.connections.get(&name);
    if let Some(connection) = connection
        && connection.connector != connector.app.key
    {
        eprintln!(
            "error: connection `{name}` in {} is for connector `{}`, not `{}`",
            path.display(),
            connection.connector,
            connector.app.key
        );
        return None;
    }
    if connection.is_none() && common.connection.is_some() {
        eprintln!(
            "error: no connection `{name}` in {}; create it with `spec connect {} --name {name}`",
            path.display(),
            connector.app.key
        );
        return None;
    }
    let env = |var: &str| std::env::var(var).ok();
    Some(Stored {
        credentials: connections::resolve(connector, connection, &env),
        token_expires_at: connections::token_expires_at(connector, connection, &env),
        sink: connections::FileSink { path, name },
    })
}

fn print_json(value: &Json) -> Outcome {
    let text = if std::io::stdout().is_terminal() {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    let text = text.unwrap_or_else(|_| "null".into());
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{text}").and_then(|_| out.flush()).is_err() {
        return Outcome::Failure;
    }
    Outcome::Success
}

pub(super) fn fail(error: &ExecError) -> Outcome {
    eprintln!("error: {}", error.message);
    for detail in &error.details {
        eprintln!("  - {detail}");
    }
    if let Some(hint) = &error.hint {
        eprintln!("  = hint: {hint}");
    }
    Outcome::Code(match error.kind {
        ExecErrorKind::Spec => 1,
        ExecErrorKind::Input => 3,
        ExecErrorKind::Auth => 4,
        ExecErrorKind::Api => 5,
        ExecErrorKind::Network => 6,
        ExecErrorKind::State => 7,
        ExecErrorKind::Busy => 8,
        ExecErrorKind::Output => 2,
    })
}

/// `-v`: each exchange on stderr, curl style, secrets masked.
pub(super) struct Verbose(pub bool);

/// Response headers whose values are credentials whatever the spec says.
const SECRET_RESPONSE_HEADERS: &[&str] = &["set-cookie", "authorization", "proxy-authorization"];

/// Bodies longer than this are cut in `-v` output.
const SHOWN_BODY_BYTES: usize = 4096;

impl Observer for Verbose {
    fn request(&self, attempt: u32, request: &PreparedRequest) {
        if !self.0 {
            return;
        }
        let text = request.to_string();
        let mut err = std::io::stderr().lock();
        if attempt > 1 {
            let _ = writeln!(err, "* attempt {attempt}");
        }
        for line in text.trim_end_matches('\n').lines() {
            let _ = writeln!(err, "> {line}");
        }
    }

    fn response(&self, _attempt: u32, response: &HttpResponse, secrets: &Secrets) {
        if !self.0 {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "< HTTP {} ({} ms, {} bytes)",
            response.status,
            response.elapsed.as_millis(),
            response.body.len()
        );
        for (name, value) in &response.headers {
            let value = if SECRET_RESPONSE_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                crate::runtime::MASK.to_string()
            } else {
                secrets.redact(value)
            };
            let _ = writeln!(err, "< {name}: {value}");
        }
        if !response.body.is_empty() {
            let _ = writeln!(err, "<");
            // Redact before cutting, so a cut cannot split a secret.
            let text = secrets.redact(&String::from_utf8_lossy(&response.body));
            let mut cut = text.len().min(SHOWN_BODY_BYTES);
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            for line in text[..cut].lines() {
                let _ = writeln!(err, "< {line}");
            }
            if cut < text.len() {
                let _ = writeln!(err, "< ... ({} more bytes)", text.len() - cut);
            }
        }
    }

    fn retry(&self, attempt: u32, delay: Duration, reason: &str) {
        if self.0 {
            eprintln!(
                "* attempt {attempt} failed ({reason}); retrying in {} ms",
                delay.as_millis()
            );
        }
    }
}

// ---------------------------------------------------------------------------
// spec exec trigger

#[derive(Debug, clap::Args)]
pub struct TriggerArgs {
    /// Connector key (looked up in --specs), or the path of its spec.
    connector: String,
    /// Trigger key.
    trigger: String,
    /// The trigger's input as a JSON or YAML file; `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// One input value, as for `spec exec action`. Repeatable.
    #[arg(short = 'i', value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Where subscription state lives: a SQLite file path (or
    /// `sqlite:PATH`), `postgres://...` or `redis://...` (default:
    /// $SPEC_STATE_URL, else `state.sqlite` beside the credentials file).
    #[arg(long, value_name = "URL")]
    state: Option<String>,
    /// Name the subscription (default: connector/trigger/connection/hash
    /// of the input and base URL).
    #[arg(long, value_name = "NAME")]
    subscription: Option<String>,
    /// On the first poll, emit the newest N records (or `all`) instead of
    /// only seeding the state.
    #[arg(long, value_name = "N|all")]
    emit_initial: Option<String>,
    /// Stop after N pages (overrides the spec's `max_pages`).
    #[arg(long, value_name = "N")]
    max_pages: Option<u64>,
    /// Forget the subscription's state first: this poll seeds it again.
    #[arg(long)]
    reset_state: bool,
    /// Seconds a poll holds the subscription's lease without renewing it.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    lease_seconds: u64,
    /// Print the spec's sample record instead of polling.
    #[arg(long)]
    sample: bool,
    /// Save the poll as a `spec test` case (see `exec action --record`).
    /// The poll then uses a fresh temporary state and emits every record,
    /// as replay does; the subscription's real state is not touched.
    #[arg(long, value_name = "NAME|FILE")]
    record: Option<String>,
    #[command(flatten)]
    common: Common,
}

fn run_trigger(args: TriggerArgs) -> Outcome {
    let Some(connector) = load_connector(&args.connector, &args.common.specs) else {
        return Outcome::Code(1);
    };
    let Some(trigger) = connector.triggers.iter().find(|t| t.key == args.trigger) else {
        let known: Vec<_> = connector
            .triggers
            .iter()
            .map(|t| format!("`{}`", t.key))
            .collect();
        eprintln!(
            "error: connector `{}` has no trigger `{}`",
            connector.app.key, args.trigger
        );
        eprintln!("  = hint: its triggers: {}", known.join(", "));
        return Outcome::Code(1);
    };
    if args.sample {
        let mut out = std::io::stdout().lock();
        let text = serde_json::to_string(&trigger.sample).unwrap_or_else(|_| "null".into());
        if writeln!(out, "{text}").and_then(|_| out.flush()).is_err() {
            return Outcome::Failure;
        }
        return Outcome::Success;
    }
    let emit_initial = match args.emit_initial.as_deref() {
        None => crate::runtime::EmitInitial::Nothing,
        Some("all") => crate::runtime::EmitInitial::All,
        Some(n) => match n.parse::<usize>() {
            Ok(n) => crate::runtime::EmitInitial::Newest(n),
            Err(_) => {
                eprintln!("error: --emit-initial takes a count or `all`, not `{n}`");
                return Outcome::Code(2);
            }
        },
    };
    let input = match read_input(args.input.as_deref(), &args.set, &trigger.input) {
        Ok(input) => input,
        Err(message) => {
            eprintln!("error: {message}");
            return Outcome::Code(3);
        }
    };
    let input = if input.is_null() {
        serde_json::json!({})
    } else {
        input
    };
    let Some(stored) = credentials(&connector, &args.common) else {
        return Outcome::Failure;
    };
    let scratch = match args
        .record
        .as_ref()
        .map(|_| tempfile::tempdir())
        .transpose()
    {
        Ok(scratch) => scratch,
        Err(error) => {
            eprintln!("error: cannot create a temporary state: {error}");
            return Outcome::Failure;
        }
    };
    let location = match &scratch {
        Some(dir) => Ok(dir.path().join("state.sqlite").display().to_string()),
        None => state_location(args.state.as_deref(), &args.common),
    };
    let location = match location {
        Ok(location) => location,
        Err(message) => {
            eprintln!("error: {message}");
            return Outcome::Code(2);
        }
    };
    let emit_initial = if args.record.is_some() {
        crate::runtime::EmitInitial::All
    } else {
        emit_initial
    };
    let (engine, now, nonce) = match run_engine(&args.common, args.record.is_some()) {
        Ok(run) => run,
        Err(error) => return fail(&error),
    };
    let verbose = Verbose(args.common.verbose);
    let recorder = super::test::Recorder::new(&verbose, &connector, &stored.credentials);
    let observer: &dyn Observer = if args.record.is_some() {
        &recorder
    } else {
        &verbose
    };
    let call = stored.call(&connector, &args.common).observer(observer);
    let options = crate::runtime::PollOptions {
        subscription: args.subscription.clone(),
        connection: args
            .common
            .connection
            .clone()
            .unwrap_or_else(|| connector.app.key.clone()),
        emit_initial,
        max_pages: args.max_pages,
        reset: args.reset_state,
        lease: Duration::from_secs(args.lease_seconds.max(1)),
    };
    let mut sink = StdoutSink::new(args.trigger.clone());
    if args.record.is_some() {
        sink.recorded = Some(Vec::new());
    }
    let outcome = block_on(async {
        let store = crate::state::open(&location).await.map_err(|e| ExecError {
            kind: ExecErrorKind::State,
            message: e.message,
            hint: Some("check `--state` (or SPEC_STATE_URL)".into()),
            details: Vec::new(),
            api: None,
        })?;
        engine
            .poll_trigger(
                &call,
                &args.trigger,
                &input,
                store.as_ref(),
                &options,
                &mut sink,
            )
            .await
    });
    sink.clear_progress();
    if let Some(record) = &args.record {
        let recording = Recording {
            name: record,
            connector: &connector,
            spec_arg: &args.connector,
            common: &args.common,
            now,
            nonce,
        };
        let output = outcome
            .as_ref()
            .map(|_| Json::Array(sink.recorded.take().unwrap_or_default()));
        if let Err(outcome) = recording.save(None, Some(&args.trigger), &input, &recorder, output) {
            return outcome;
        }
    }
    match outcome {
        Ok(outcome) => {
            for warning in &outcome.warnings {
                eprintln!("warning: {warning}");
            }
            if outcome.first_poll && emit_initial == crate::runtime::EmitInitial::Nothing {
                eprintln!(
                    "note: first poll of subscription `{}`: {} record(s) seen and remembered, \
                     none emitted (`--emit-initial N` emits the newest N)",
                    outcome.subscription, outcome.fetched
                );
            } else if args.common.verbose || std::io::stderr().is_terminal() {
                eprintln!(
                    "{} new record(s) of {} received in {} page(s) (subscription `{}`)",
                    outcome.emitted, outcome.fetched, outcome.pages, outcome.subscription
                );
            }
            Outcome::Success
        }
        Err(error) => fail(&error),
    }
}

/// `--state`, else $SPEC_STATE_URL, else `state.sqlite` beside the
/// credentials file.
fn state_location(explicit: Option<&str>, common: &Common) -> Result<String, String> {
    if let Some(location) = explicit {
        return Ok(location.to_string());
    }
    if let Ok(location) = std::env::var("SPEC_STATE_URL")
        && !location.is_empty()
    {
        return Ok(location);
    }
    let credentials = connections::file_path(common.credentials_file.as_deref())
        .map_err(|e| format!("{e} (or pass --state)"))?;
    let dir = credentials.parent().unwrap_or(Path::new("."));
    Ok(dir.join("state.sqlite").display().to_string())
}

/// JSON Lines on stdout, and a one-line progress counter on stderr when
/// it is a terminal and paging takes more than a second.
struct StdoutSink {
    out: crate::runtime::WriteSink<std::io::Stdout>,
    trigger: String,
    started: std::time::Instant,
    shown: bool,
    terminal: bool,
    /// The records written, when `--record` keeps them for the case.
    recorded: Option<Vec<Json>>,
}

impl StdoutSink {
    fn new(trigger: String) -> StdoutSink {
        StdoutSink {
            out: crate::runtime::WriteSink::new(std::io::stdout()),
            trigger,
            started: std::time::Instant::now(),
            shown: false,
            terminal: std::io::stderr().is_terminal(),
            recorded: None,
        }
    }

    fn clear_progress(&mut self) {
        if self.shown {
            eprint!("\r\x1b[2K");
            self.shown = false;
        }
    }
}

impl crate::runtime::Sink for StdoutSink {
    fn record(&mut self, record: &Json) -> std::io::Result<()> {
        if let Some(recorded) = &mut self.recorded {
            recorded.push(record.clone());
        }
        self.out.record(record)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    fn progress(&mut self, progress: &crate::runtime::Progress) {
        if self.terminal && self.started.elapsed() > Duration::from_secs(1) {
            eprint!(
                "\r\x1b[2K{}: page {}, {} received, {} new",
                self.trigger, progress.pages, progress.fetched, progress.emitted
            );
            self.shown = true;
        }
    }

    /// The crash-injection hook of the at-least-once tests: with
    /// `SPEC_TEST_CRASH_BEFORE_COMMIT=1` the process aborts after the
    /// records are written out and before the state is committed.
    fn committing(&mut self) -> std::io::Result<()> {
        if std::env::var_os("SPEC_TEST_CRASH_BEFORE_COMMIT").is_some_and(|v| v == "1") {
            std::process::abort();
        }
        Ok(())
    }
}

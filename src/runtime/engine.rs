//! The interpreter as a library: load specs once, then run actions and
//! connection tests with one shared [`Engine`] — one HTTP client and
//! connection pool, a session-token cache, safe to call from many tasks at
//! once.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use spec::runtime::{Call, Engine, HttpSettings};
//! let project = spec::validate::validate(&["specs".into()])?;
//! let tushare = &project.connectors.iter().find(|c| c.model.app.key == "tushare").unwrap().model;
//! let engine = Engine::new(HttpSettings::default())?;
//! let credentials = [("token".to_string(), std::env::var("TUSHARE_TOKEN")?)].into();
//! let outcome = engine
//!     .run_action(&Call::new(tushare, &credentials), "daily", &serde_json::json!({"ts_code": "000001.SZ"}))
//!     .await?;
//! println!("{}", outcome.result);
//! # Ok(()) }
//! ```
//!
//! One call: the input is checked against the action's fields (every
//! violation at once, nothing sent on failure); the request is built and
//! signed ([`crate::runtime`]); a `session` login runs first when no cached
//! token is valid; the [`Transport`] sends it with timeouts and retries;
//! the response rule decides success; the result is selected and checked
//! against the output fields (mismatches are warnings).
//!
//! # OAuth2 tokens
//!
//! For an `oauth2` connector the call's credentials carry `access_token`
//! and `refresh_token`, and [`Call::token_expires_at`] the expiry. Before a
//! request the access token is refreshed when it expires within the
//! engine's margin ([`Engine::with_refresh_margin`], default 60 s); when
//! the API answers with the spec's `token_expired` rule (default: HTTP
//! 401) it is refreshed once and the request sent once more. Refreshes are
//! single-flight per connection: concurrent calls wait for the one refresh
//! in progress and reuse its result. Each refresh is handed to the call's
//! [`TokenSink`] before the new token is used (rotating providers void the
//! old refresh token). A refused refresh token is an `Auth` error telling
//! to log in again with `spec connect`.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use sha2::Digest;

use super::http::{HttpResponse, HttpSettings, NetError, NetErrorKind, Observer, Quiet, Transport};
use super::input::{Coercion, InputErrors, check_input};
use super::oauth::{Provider, TokenSet, TokenSink};
use super::redact::Secrets;
use super::response::{
    ApiError, ApiErrorKind, OutputWarning, ResponseReader, ResponseScope, check_output,
    render_label, select_result,
};
use super::{Clock, Context, Credentials, ErrorKind, PreparedRequest, RequestError, SystemClock};
use crate::model::{Auth, Connector, Method, SessionAuth};

/// What went wrong, for exit codes and for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecErrorKind {
    /// The spec cannot do this: no such action, or a template failed.
    Spec,
    /// The input does not satisfy the action's fields.
    Input,
    /// Credentials are missing, or the API rejected them (401/403, a
    /// failed login).
    Auth,
    /// The API answered with an error.
    Api,
    /// No usable answer: connection, timeout, size cap.
    Network,
    /// A trigger's state store is unreachable, its state is corrupt, or
    /// the poll lost its lease.
    State,
    /// Another poller holds the trigger subscription's lease.
    Busy,
    /// The records could not be written out (nothing was committed).
    Output,
}

/// A failed call. `Display` is the one-line cause; `hint` says what to do;
/// `details` lists every input violation. Nothing in it holds a secret.
#[derive(Debug, Clone)]
pub struct ExecError {
    pub kind: ExecErrorKind,
    pub message: String,
    pub hint: Option<String>,
    pub details: Vec<String>,
    /// The API's error, when it answered.
    pub api: Option<ApiError>,
}

impl ExecError {
    pub(crate) fn new(kind: ExecErrorKind, message: impl Into<String>) -> ExecError {
        ExecError {
            kind,
            message: message.into(),
            hint: None,
            details: Vec::new(),
            api: None,
        }
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> ExecError {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ExecError {}

impl From<RequestError> for ExecError {
    fn from(error: RequestError) -> ExecError {
        let kind = match error.kind() {
            ErrorKind::Spec | ErrorKind::Render => ExecErrorKind::Spec,
            ErrorKind::Credentials => ExecErrorKind::Auth,
            ErrorKind::Invalid => ExecErrorKind::Input,
        };
        ExecError::new(kind, error.message())
    }
}

/// One call's parameters besides the action and its input.
#[derive(Clone, Copy)]
pub struct Call<'a> {
    pub connector: &'a Connector,
    pub credentials: &'a Credentials,
    /// Replaces `app.base_url` (a mock server, a sandbox, a proxy).
    pub base_url: Option<&'a str>,
    /// How input values are typed: [`Coercion::Strict`] for JSON input.
    pub coercion: Coercion,
    pub observer: &'a dyn Observer,
    /// Replaces the origin of the OAuth2 authorize, token and refresh URLs.
    pub auth_url_base: Option<&'a str>,
    /// When the OAuth2 access token expires (Unix seconds), if known.
    pub token_expires_at: Option<i64>,
    /// Receives refreshed OAuth2 tokens, to store them.
    pub token_sink: Option<&'a dyn TokenSink>,
}

impl<'a> Call<'a> {
    pub fn new(connector: &'a Connector, credentials: &'a Credentials) -> Call<'a> {
        Call {
            connector,
            credentials,
            base_url: None,
            coercion: Coercion::Strict,
            observer: &Quiet,
            auth_url_base: None,
            token_expires_at: None,
            token_sink: None,
        }
    }

    pub fn auth_url_base(mut self, base: Option<&'a str>) -> Call<'a> {
        self.auth_url_base = base;
        self
    }

    pub fn token_expires_at(mut self, expires_at: Option<i64>) -> Call<'a> {
        self.token_expires_at = expires_at;
        self
    }

    pub fn token_sink(mut self, sink: &'a dyn TokenSink) -> Call<'a> {
        self.token_sink = Some(sink);
        self
    }

    pub fn base_url(mut self, base_url: Option<&'a str>) -> Call<'a> {
        self.base_url = base_url;
        self
    }

    pub fn coercion(mut self, coercion: Coercion) -> Call<'a> {
        self.coercion = coercion;
        self
    }

    pub fn observer(mut self, observer: &'a dyn Observer) -> Call<'a> {
        self.observer = observer;
        self
    }
}

/// A successful action.
#[derive(Debug, Clone)]
pub struct ActionOutcome {
    /// The selected result (the action's `result` expression, else the body).
    pub result: Json,
    /// Where the result does not match the output fields.
    pub warnings: Vec<OutputWarning>,
    pub status: u16,
    pub attempts: u32,
}

/// A successful connection test.
#[derive(Debug, Clone)]
pub struct ConnectionOutcome {
    /// The rendered connection label (the account's name), if the spec has one.
    pub label: Option<String>,
    pub status: u16,
}

#[derive(Clone)]
struct CachedSession {
    token: String,
    /// `None`: valid until the API rejects it.
    expires: Option<Instant>,
}

/// Tokens are treated as expired this long before they are.
const SESSION_MARGIN: Duration = Duration::from_secs(30);

/// The interpreter. Create one per process and share it.
pub struct Engine {
    transport: Transport,
    pub(super) clock: Arc<dyn Clock>,
    sessions: Mutex<HashMap<String, CachedSession>>,
    /// The latest OAuth2 tokens per connection; the async lock makes a
    /// refresh single-flight.
    tokens: Mutex<HashMap<String, TokenSlot>>,
    refresh_margin: Duration,
}

type TokenSlot = Arc<tokio::sync::Mutex<Option<TokenSet>>>;

impl Engine {
    pub fn new(settings: HttpSettings) -> Result<Engine, ExecError> {
        let transport = Transport::new(settings).map_err(network)?;
        Ok(Engine {
            transport,
            clock: Arc::new(SystemClock),
            sessions: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            refresh_margin: Duration::from_secs(60),
        })
    }

    /// OAuth2 access tokens are refreshed this long before they expire.
    pub fn with_refresh_margin(mut self, margin: Duration) -> Engine {
        self.refresh_margin = margin;
        self
    }

    /// Uses `clock` for timestamps and nonces (tests pin them).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Engine {
        self.clock = clock;
        self
    }

    /// Sends through `transport` (e.g. [`Transport::replaying`]).
    pub fn with_transport(mut self, transport: Transport) -> Engine {
        self.transport = transport;
        self
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Runs action `key` of the call's connector with `input`.
    pub async fn run_action(
        &self,
        call: &Call<'_>,
        key: &str,
        input: &Json,
    ) -> Result<ActionOutcome, ExecError> {
        let connector = call.connector;
        let action = connector
            .actions
            .iter()
            .find(|a| a.key == key)
            .ok_or_else(|| {
                unknown(
                    connector,
                    "action",
                    key,
                    connector.actions.iter().map(|a| &a.key),
                )
            })?;
        let input = check_input(&action.input, input, call.coercion)
            .map_err(|errors| invalid_input(connector, key, &errors))?;
        let retry_safe = action.retry_safe.unwrap_or(matches!(
            action.request.method,
            Method::Get | Method::Put | Method::Delete
        ));

        let reader = ResponseReader::new(action.response.as_ref()).with_auth(&connector.auth);
        let mut relogged = false;
        let mut token = self.oauth_token(call).await?;
        let mut refreshed = false;
        loop {
            let context = self.context_with(call, token.as_ref())?.with_input(&input);
            let (context, session) = self.with_session(call, context).await?;
            let request = super::build_action(connector, key, &context)?;
            let response = self.send(&request, retry_safe, call.observer).await?;
            let scope = scope_of(&response, &context, &request);
            if let Err(api) = reader.check(&scope) {
                if session.is_some()
                    && !relogged
                    && matches!(
                        api.kind(),
                        ApiErrorKind::Unauthorized | ApiErrorKind::TokenExpired
                    )
                {
                    // The cached session was revoked early: log in again, once.
                    self.forget_session(call);
                    relogged = true;
                    continue;
                }
                if api.kind() == ApiErrorKind::TokenExpired
                    && !refreshed
                    && let Some(used) = &token
                    && used.refresh_token.is_some()
                {
                    token = Some(self.refresh_rejected(call, used).await?);
                    refreshed = true;
                    continue;
                }
                return Err(api_error(api, &response));
            }
            let result = select_result(action.result.as_deref(), &scope)
                .map_err(|e| ExecError::new(ExecErrorKind::Spec, e.message()))?;
            let warnings = check_output(&action.output, &result)
                .into_iter()
                .map(|w| OutputWarning {
                    path: request.redact(&w.path),
                    message: request.redact(&w.message),
                })
                .collect();
            // A result comes from the response (and the input): when the
            // response does not echo a secret, there is nothing to mask.
            let secrets = request.secrets();
            let echoed = secrets.occurs_in(&response.body)
                || response
                    .headers
                    .iter()
                    .any(|(_, v)| secrets.occurs_in(v.as_bytes()));
            return Ok(ActionOutcome {
                result: if echoed {
                    secrets.redact_json(result)
                } else {
                    result
                },
                warnings,
                status: response.status,
                attempts: response.attempts,
            });
        }
    }

    /// Runs the connection test and renders the connection label.
    pub async fn check_connection(&self, call: &Call<'_>) -> Result<ConnectionOutcome, ExecError> {
        let connector = call.connector;
        let connection = connector.connection.as_ref().ok_or_else(|| {
            ExecError::new(
                ExecErrorKind::Spec,
                format!("connector `{}` has no connection test", connector.app.key),
            )
            .hint("add a `connection.test` request to the spec")
        })?;
        let mut token = self.oauth_token(call).await?;
        let mut refreshed = false;
        let (response, scope) = loop {
            let context = self.context_with(call, token.as_ref())?;
            let (context, _) = self.with_session(call, context).await?;
            let request = super::build_connection_test(connector, &context)?;
            let retry_safe = matches!(connection.test.method, Method::Get);
            let response = self.send(&request, retry_safe, call.observer).await?;
            let scope = scope_of(&response, &context, &request);
            let reader =
                ResponseReader::new(connection.response.as_ref()).with_auth(&connector.auth);
            if let Err(api) = reader.check(&scope)
                && api.kind() == ApiErrorKind::TokenExpired
                && !refreshed
                && let Some(used) = &token
                && used.refresh_token.is_some()
            {
                token = Some(self.refresh_rejected(call, used).await?);
                refreshed = true;
                continue;
            }
            break (response, scope);
        };
        ResponseReader::new(connection.response.as_ref())
            .with_auth(&connector.auth)
            .check(&scope)
            .map_err(|api| {
                let mut error = api_error(api, &response);
                if error.kind == ExecErrorKind::Api {
                    error.kind = ExecErrorKind::Auth;
                }
                error.hint = Some(format!(
                    "the API refused the connection test: check the credentials (`spec connect {}`)",
                    connector.app.key
                ));
                error
            })?;
        let label = match &connection.label {
            Some(template) => Some(
                render_label(template, &scope, connector, call.credentials)
                    .map_err(|e| ExecError::new(ExecErrorKind::Spec, e.message()))?,
            ),
            None => None,
        };
        Ok(ConnectionOutcome {
            label,
            status: response.status,
        })
    }

    /// The call's context, with `token` (a refreshed OAuth2 token) in place
    /// of the credentials' `access_token` and `refresh_token`.
    pub(super) fn context_with(
        &self,
        call: &Call<'_>,
        token: Option<&TokenSet>,
    ) -> Result<Context, ExecError> {
        let replaced;
        let credentials = match token {
            Some(token) if call.credentials.get("access_token") != Some(&token.access_token) => {
                let mut credentials = call.credentials.clone();
                credentials.insert("access_token".into(), token.access_token.clone());
                if let Some(refresh) = &token.refresh_token {
                    credentials.insert("refresh_token".into(), refresh.clone());
                }
                replaced = credentials;
                &replaced
            }
            _ => call.credentials,
        };
        let mut context =
            Context::new(call.connector, credentials, self.clock.as_ref()).map_err(|e| {
                ExecError::from(e).hint(format!(
                    "run `spec connect {}`, or set the {} variables",
                    call.connector.app.key,
                    crate::connections::env_var(&call.connector.app.key, "<field>")
                ))
            })?;
        if let Some(base_url) = call.base_url {
            context = context.with_base_url(base_url);
        }
        Ok(context)
    }

    /// The OAuth2 token to use for `call` (`None` for other auth kinds):
    /// the latest this engine has for the connection, refreshed first when
    /// it expires within the margin (or is missing while a refresh token is
    /// known).
    pub(super) async fn oauth_token(&self, call: &Call<'_>) -> Result<Option<TokenSet>, ExecError> {
        if !matches!(call.connector.auth, Auth::Oauth2(_)) {
            return Ok(None);
        }
        let given = TokenSet {
            access_token: call
                .credentials
                .get("access_token")
                .cloned()
                .unwrap_or_default(),
            refresh_token: call.credentials.get("refresh_token").cloned(),
            expires_at: call.token_expires_at,
            ..TokenSet::default()
        };
        if given.access_token.is_empty() && given.refresh_token.is_none() {
            // The request builder says the account is not connected.
            return Ok(None);
        }
        let slot = self.token_slot(call);
        let mut latest = slot.lock().await;
        let current = latest.clone().unwrap_or(given);
        let now = self.clock.unix_ms().div_euclid(1000);
        if !current.expiring(now, self.refresh_margin) {
            return Ok(Some(current));
        }
        let Some(refresh_token) = current.refresh_token.clone() else {
            // Nothing to refresh with: try it; a rejection says to log in again.
            return Ok(Some(current));
        };
        let fresh = self.refresh(call, &refresh_token).await?;
        *latest = Some(fresh.clone());
        Ok(Some(fresh))
    }

    /// A new token after the API rejected `used`, unless another call has
    /// refreshed it meanwhile.
    pub(super) async fn refresh_rejected(
        &self,
        call: &Call<'_>,
        used: &TokenSet,
    ) -> Result<TokenSet, ExecError> {
        let slot = self.token_slot(call);
        let mut latest = slot.lock().await;
        if let Some(newer) = latest.as_ref()
            && newer.access_token != used.access_token
        {
            return Ok(newer.clone());
        }
        let refresh_token = latest
            .as_ref()
            .and_then(|t| t.refresh_token.clone())
            .or_else(|| used.refresh_token.clone())
            .unwrap_or_default();
        let fresh = self.refresh(call, &refresh_token).await?;
        *latest = Some(fresh.clone());
        Ok(fresh)
    }

    /// One refresh, handed to the call's sink before it is used.
    async fn refresh(&self, call: &Call<'_>, refresh_token: &str) -> Result<TokenSet, ExecError> {
        let provider = Provider::new(
            call.connector,
            call.credentials,
            call.auth_url_base,
            self.clock.as_ref(),
        )?;
        let now = self.clock.unix_ms().div_euclid(1000);
        let fresh = provider
            .refresh(&self.transport, call.observer, refresh_token, now)
            .await?;
        if let Some(sink) = call.token_sink {
            sink.save(call.connector, &fresh).map_err(|message| {
                ExecError::new(
                    ExecErrorKind::Auth,
                    format!("the refreshed OAuth2 tokens could not be stored: {message}"),
                )
                .hint(format!(
                    "fix the credentials store, then log in again with `spec connect {}`",
                    call.connector.app.key
                ))
            })?;
        }
        Ok(fresh)
    }

    /// The token slot of the call's connection.
    fn token_slot(&self, call: &Call<'_>) -> TokenSlot {
        let key = format!(
            "{}\u{0}{}",
            session_key(call),
            call.auth_url_base.unwrap_or("")
        );
        match self.tokens.lock() {
            Ok(mut tokens) => tokens.entry(key).or_default().clone(),
            Err(_) => TokenSlot::default(),
        }
    }

    async fn send(
        &self,
        request: &PreparedRequest,
        retry_safe: bool,
        observer: &dyn Observer,
    ) -> Result<HttpResponse, ExecError> {
        self.transport
            .send(request, retry_safe, observer)
            .await
            .map_err(network)
    }

    /// Adds the session token to `context` when the connector uses
    /// `session` auth: the cached one while valid, else a fresh login.
    pub(super) async fn with_session(
        &self,
        call: &Call<'_>,
        context: Context,
    ) -> Result<(Context, Option<String>), ExecError> {
        let Auth::Session(session) = &call.connector.auth else {
            return Ok((context, None));
        };
        let key = session_key(call);
        let cached = self
            .sessions
            .lock()
            .ok()
            .and_then(|sessions| sessions.get(&key).cloned())
            .filter(|s| s.expires.is_none_or(|at| Instant::now() < at));
        let token = match cached {
            Some(cached) => cached.token,
            None => {
                let fresh = self.login(call, session, &context).await?;
                if let Ok(mut sessions) = self.sessions.lock() {
                    sessions.insert(key, fresh.clone());
                }
                fresh.token
            }
        };
        Ok((context.with_session_token(&token), Some(token)))
    }

    pub(super) fn forget_session(&self, call: &Call<'_>) {
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.remove(&session_key(call));
        }
    }

    async fn login(
        &self,
        call: &Call<'_>,
        session: &SessionAuth,
        context: &Context,
    ) -> Result<CachedSession, ExecError> {
        let connector = call.connector;
        let request = super::request::build_session_login(connector, context)?;
        // The login answer carries the token: -v must not print its body.
        let observer = Withheld(call.observer);
        let response = self
            .send(
                &request,
                matches!(session.login.method, Method::Get),
                &observer,
            )
            .await?;
        let fail = |message: String| {
            ExecError::new(ExecErrorKind::Auth, request.redact(&message)).hint(format!(
                "check the credentials (`spec connect {}`)",
                connector.app.key
            ))
        };
        let scope = scope_of(&response, context, &request);
        ResponseReader::new(session.login_response.as_ref())
            .check(&scope)
            .map_err(|api| fail(format!("the session login failed: {api}")))?;
        let token = select_result(Some(&session.token), &scope).map_err(|e| {
            fail(format!(
                "the session login answer has no token: {}",
                e.message()
            ))
        })?;
        let token = match token {
            Json::String(s) if !s.is_empty() => s,
            Json::Number(n) => n.to_string(),
            _ => {
                return Err(fail(
                    "the session login answer has no token (`token` selected nothing)".into(),
                ));
            }
        };
        let lifetime = session
            .expires_in
            .as_deref()
            .and_then(|expr| scope.eval(expr).ok().flatten())
            .and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
            .or(session.lifetime_seconds)
            .map(Duration::from_secs);
        Ok(CachedSession {
            token,
            expires: lifetime.map(|l| Instant::now() + l.saturating_sub(SESSION_MARGIN)),
        })
    }
}

/// Sessions are cached per connector, base URL and credentials (hashed:
/// the key never holds a credential).
fn session_key(call: &Call<'_>) -> String {
    let mut hasher = sha2::Sha256::new();
    for (k, v) in call.credentials {
        hasher.update(k.as_bytes());
        hasher.update([0]);
        hasher.update(v.as_bytes());
        hasher.update([0]);
    }
    format!(
        "{}\u{0}{}\u{0}{}",
        call.connector.app.key,
        call.base_url.unwrap_or(""),
        crate::template::hex::encode(hasher.finalize())
    )
}

pub(super) fn unknown<'a>(
    connector: &Connector,
    what: &str,
    key: &str,
    known: impl Iterator<Item = &'a String>,
) -> ExecError {
    let known: Vec<String> = known.map(|k| format!("`{k}`")).collect();
    ExecError::new(
        ExecErrorKind::Spec,
        format!("connector `{}` has no {what} `{key}`", connector.app.key),
    )
    .hint(if known.is_empty() {
        format!("it has no {what}s")
    } else {
        format!("its {what}s: {}", known.join(", "))
    })
}

/// Every violation of the input of `connector.key`, as one error.
pub(super) fn invalid_input(connector: &Connector, key: &str, errors: &InputErrors) -> ExecError {
    let total = errors.total();
    let mut error = ExecError::new(
        ExecErrorKind::Input,
        format!(
            "the input of `{}.{key}` is invalid ({total} problem{}); nothing was sent",
            connector.app.key,
            if total == 1 { "" } else { "s" }
        ),
    )
    .hint("fix the values listed; the connector's docs page lists every field");
    error.details = errors.to_string().lines().map(str::to_string).collect();
    error
}

pub(super) fn network(error: NetError) -> ExecError {
    let hint = match error.kind {
        NetErrorKind::Connect => {
            "check the base URL and your network (`--base-url` overrides the host)"
        }
        NetErrorKind::Timeout => {
            "the API is slow or unreachable: retry later, or raise `--timeout`"
        }
        NetErrorKind::Transfer => "the connection broke off: retry later",
        NetErrorKind::TooLarge => "raise `--max-response-bytes` if this size is expected",
        NetErrorKind::Request => {
            "the request built from the spec cannot be sent: check the spec's templates"
        }
    };
    let kind = match error.kind {
        NetErrorKind::Request => ExecErrorKind::Spec,
        _ => ExecErrorKind::Network,
    };
    ExecError::new(kind, error.to_string()).hint(hint)
}

/// The scope response expressions see: the decoded response, the call's
/// `input` and `config`, redacted with the request's secrets.
pub(super) fn scope_of(
    response: &HttpResponse,
    context: &Context,
    request: &PreparedRequest,
) -> ResponseScope {
    ResponseScope::new(response, context, request.secrets())
}

pub(super) fn api_error(api: ApiError, response: &HttpResponse) -> ExecError {
    let kind = match api.kind() {
        ApiErrorKind::Unauthorized | ApiErrorKind::TokenExpired => ExecErrorKind::Auth,
        _ => ExecErrorKind::Api,
    };
    let hint = match api.status() {
        401 | 403 => "the API rejected the credentials: check them, or reconnect".to_string(),
        429 => match response.retry_after() {
            Some(after) => format!(
                "rate limited: the API asks to wait {} s{}",
                after.as_secs(),
                if response.attempts > 1 {
                    ""
                } else {
                    " (not retried: the action is not retry-safe)"
                }
            ),
            None => "rate limited: retry later".to_string(),
        },
        500..=599 => "the API failed on its side: retry later".to_string(),
        _ => "the API refused the request: see its message".to_string(),
    };
    let mut error = ExecError::new(kind, api.to_string()).hint(hint);
    error.api = Some(api);
    error
}

/// Passes everything on, but replaces response bodies (a login answer
/// carries the session token).
struct Withheld<'a>(&'a dyn Observer);

impl Observer for Withheld<'_> {
    fn request(&self, attempt: u32, request: &PreparedRequest) {
        self.0.request(attempt, request);
    }

    fn response(&self, attempt: u32, response: &HttpResponse, secrets: &Secrets) {
        let mut shown = response.clone();
        shown.body = b"(body withheld: it carries the session token)".to_vec();
        self.0.response(attempt, &shown, secrets);
    }

    fn retry(&self, attempt: u32, delay: Duration, reason: &str) {
        self.0.retry(attempt, delay, reason);
    }
}

//! The interpreter's response layer: from the HTTP response of a call (read
//! by the HTTP layer, body already size-capped) to a decision — success or
//! an [`ApiError`] — and, on success, the action's result or the trigger's
//! records, checked against the output fields. Pure functions, no I/O.
//!
//! ```no_run
//! use spec::runtime::{self, Response, ResponseReader, ResponseScope};
//! # let connector: spec::model::Connector = todo!();
//! # let context: runtime::Context = todo!();
//! # let request: runtime::PreparedRequest = todo!();
//! # let (status, headers, body) = (200, vec![], vec![]);
//! let action = &connector.actions[0];
//! // Once per action (expressions are compiled here):
//! let reader = ResponseReader::new(action.response.as_ref()).with_auth(&connector.auth);
//! // Per response:
//! let response = Response::new(status, headers, body);
//! let scope = ResponseScope::new(&response, &context, request.secrets());
//! reader.check(&scope)?; // Err(ApiError): its Display is one redacted line
//! let result = runtime::select_result(action.result.as_deref(), &scope)?;
//! for warning in runtime::check_output(&action.output, &result) {
//!     eprintln!("warning: {}", request.redact(&warning.to_string()));
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Body decoding ([`decode_body`])
//!
//! - An empty body (or one of only whitespace, e.g. a `204`) is `null`.
//! - A UTF-8 byte-order mark is ignored.
//! - With a JSON content type (`application/json`, `text/json`, or any
//!   `…/…+json` such as `application/problem+json`; parameters and case
//!   ignored), the body is parsed as JSON (any JSON value).
//! - With any other content type, or none, a body that starts with `{` or
//!   `[` and parses as JSON is JSON too: many APIs label JSON as
//!   `text/html` or `text/plain`.
//! - Everything else — including a body labelled JSON that does not parse —
//!   is text: a string, the bytes decoded as UTF-8 with invalid sequences
//!   replaced by `U+FFFD`. Other charsets (GBK, ...) are not converted.
//!
//! # Expression scope ([`ResponseScope`])
//!
//! Response expressions (`success_when`, `error_*`, `request_id`, `result`,
//! `records`, and the token-expiry `when`) are minijinja expressions of the
//! shared environment (strict undefined, fuel, `zip_rows`, ...) over:
//! `status` (an integer), `headers` (an object of lowercase header names;
//! a repeated header's values joined with `, `), `body` (the decoded body,
//! integers staying integers, keys in document order), and the call's
//! `input` and `config`. [`ResponseScope::with_var`] adds more (`page` for
//! pagination expressions).
//!
//! # Success ([`ResponseReader::check`])
//!
//! In order:
//! 1. **Token expired** (only with `oauth2` auth, see
//!    [`ResponseReader::with_auth`]): the response matches `token_expired`
//!    when its status is in `token_expired.status` (any status when only
//!    `when` is given) and `when`, if given, is truthy. Without a
//!    `token_expired` rule, HTTP 401 is an expired token. A match is an
//!    error of kind [`ApiErrorKind::TokenExpired`] even if the rest of the
//!    rule would accept the response (the spec said what a rejected token
//!    looks like).
//! 2. **Status**: in `success_status`, or any 2xx when it is not given.
//! 3. **`success_when`**, if given, must be truthy (minijinja truthiness:
//!    `false`, `0`, `""`, `none`, undefined and empty lists or objects are
//!    false). An expression that fails to evaluate on this body (an HTML
//!    page where JSON was expected) means failure, never success.
//!
//! # Errors ([`ApiError`])
//!
//! A failed response becomes an [`ApiError`] carrying the HTTP status, the
//! API's own error code, its message and a request id. Each comes from the
//! rule's expression (`error_code`, `error_message`, `request_id`); when the
//! expression is absent **or yields nothing on this body**, from the first
//! of these that holds a non-empty value:
//!
//! - code: body `code`, `errcode`, `error_code`, `errorCode`, `error.code`,
//!   `meta.code`, then `error` when it is a single word (`invalid_grant`);
//!   numbers and strings only.
//! - message: body `message`, `msg`, `errmsg`, `error_msg`, `errorMessage`,
//!   `error.message`, `meta.message`, `error_description`, `errors` (a
//!   string as is, a list or object as compact JSON), `detail`, `title`,
//!   then `error` when it is a phrase (`"Not Found"`).
//! - request id: body `request_id`, `requestId`, `requestid`,
//!   `error.innerError.request-id`; then the headers `x-request-id`,
//!   `request-id`, `x-ms-request-id`, `x-acs-request-id`,
//!   `x-amzn-requestid`, `x-amz-request-id`.
//!
//! Error expressions are evaluated **leniently**: one that fails, or is
//! undefined, `none`, empty, `[]` or `{}` on this body yields nothing — never
//! a second error. Lists and objects become compact JSON; numbers are
//! written as JSON writes them (`2002`).
//!
//! Every text of an error (code, message, request id, body excerpt) is put
//! on one line (whitespace runs become one space), redacted with the call's
//! [`Secrets`] and then cut to [`EXCERPT_CHARS`] characters (on a character
//! boundary, `…` appended). The body excerpt is the body text with HTML or
//! XML tags removed (when the content type says `html`/`xml` or the text
//! starts with `<`). The one-line `Display`:
//!
//! - `API error 10: invalid sign (HTTP 200, request id abc)` — a code;
//! - `HTTP 404 Not Found: The item was not found (request id r-1)` — no
//!   code, a message;
//! - `HTTP 502 Bad Gateway: 502 Bad Gateway nginx` — neither: the excerpt;
//! - `HTTP 200 OK, but \`body.code == 0\` is false: {"code":…}` — accepted
//!   status rejected by `success_when`, nothing better to show;
//! - `HTTP 200 OK, expected 201: …` — a 2xx not in `success_status`;
//! - `HTTP 503 Service Unavailable (empty body)`.
//!
//! # Classification ([`ApiErrorKind`], [`ApiError::is_retryable`])
//!
//! [`ApiErrorKind::TokenExpired`] (step 1 above: refresh and try once
//! more), [`ApiErrorKind::Unauthorized`] (401 or 403 otherwise),
//! [`ApiErrorKind::RateLimited`] (429), [`ApiErrorKind::Server`] (5xx),
//! [`ApiErrorKind::Other`] (the rest, including a 2xx rejected by
//! `success_when` or `success_status`). Retryable: 408, 429, 500, 502, 503,
//! 504. A 2xx carrying an error code (Jushuitan's `code 199` rate limit) is
//! **not** retryable: the spec cannot say which codes are transient.
//! `Retry-After` (seconds or an HTTP date) is parsed into [`RetryAfter`]
//! whatever the status.
//!
//! # Results and records
//!
//! - [`select_result`]: an action's `result` expression, default `body`.
//!   `none` is a valid result (`null`); undefined is an error (a path the
//!   body lacks).
//! - [`select_records`]: a trigger's `records` expression must yield a
//!   list. `none` (`"orders": null`, common when nothing matched) is the
//!   empty list; undefined (the key is absent) is an error, so a misspelt
//!   path fails loudly instead of polling nothing forever — write
//!   `body.data.orders | default([])` for an API that omits empty lists.
//! - Values are converted to JSON faithfully: integers stay integers,
//!   objects keep their key order (`zip_rows` rows keep column order).
//!
//! # Output check ([`check_output`])
//!
//! The result (an object, or a list whose items are each checked) against
//! the output fields, with the same type rules as `spec validate`'s sample
//! check: `string`, `text`, `date`, `datetime`, `file` want a string;
//! `integer` an integer; `number` any number; `boolean` a boolean;
//! `object` an object or list; `group` an object checked against its
//! fields; `multiple: true` a list of those. `null` is fine unless the field
//! is `required`; a missing required field is reported. Keys the spec does
//! not declare are fine (APIs add fields) and not reported. Mismatches are
//! warnings naming the path (`rows[3].close: expected a number, got
//! "abc"`), never errors; the first [`MAX_OUTPUT_WARNINGS`] are kept and
//! the rest counted.
//!
//! # Compilation
//!
//! [`ResponseReader::new`] compiles the rule's expressions once (build one
//! reader per action or trigger and reuse it for every page and poll).
//! `result`, `records` and [`ResponseScope::eval`] compile per call: one
//! small expression per response, microseconds next to the request.

use std::fmt;
use std::time::{Duration, SystemTime};

use indexmap::IndexMap;
use minijinja::Value;
use minijinja::value::ValueKind;
use serde_json::Value as Json;

use super::context::{Context, Credentials, object};
use super::redact::Secrets;
use crate::model::{Auth, Connector, Field, FieldType, ResponseRule};
use crate::template::environment;

/// Longest text (in characters) an error quotes from a response.
pub const EXCERPT_CHARS: usize = 200;

/// How many output warnings [`check_output`] keeps.
pub const MAX_OUTPUT_WARNINGS: usize = 20;

/// Retryable statuses: request timeout, rate limited, and the transient
/// server errors.
const RETRYABLE: &[u16] = &[408, 429, 500, 502, 503, 504];

// ---------------------------------------------------------------------------
// The raw response

/// An HTTP response as the HTTP layer read it: status, headers in order
/// (names as received), and the body bytes (already size-capped).
///
/// `Debug` shows the status, header names and body size only: headers
/// (`Set-Cookie`) and bodies may carry secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, headers: Vec<(String, String)>, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers,
            body: body.into(),
        }
    }

    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }

    /// The `Retry-After` header, if present and well-formed.
    pub fn retry_after(&self) -> Option<RetryAfter> {
        self.header("retry-after").and_then(RetryAfter::parse)
    }

    /// The body decoded by the rules of [`decode_body`].
    pub fn decode(&self) -> Json {
        decode_body(self.content_type(), &self.body)
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// A `Retry-After` value: a delay in seconds, or a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    Seconds(u64),
    At(SystemTime),
}

impl RetryAfter {
    /// `120` or `Wed, 21 Oct 2015 07:28:00 GMT`; anything else is `None`.
    pub fn parse(value: &str) -> Option<RetryAfter> {
        let value = value.trim();
        if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
            return value.parse().ok().map(RetryAfter::Seconds);
        }
        httpdate::parse_http_date(value).ok().map(RetryAfter::At)
    }

    /// How long to wait from `now` (zero for a date in the past).
    pub fn delay(self, now: SystemTime) -> Duration {
        match self {
            RetryAfter::Seconds(s) => Duration::from_secs(s),
            RetryAfter::At(at) => at.duration_since(now).unwrap_or_default(),
        }
    }
}

// ---------------------------------------------------------------------------
// Body decoding

/// Decodes a response body; see the module docs for the rules.
pub fn decode_body(content_type: Option<&str>, body: &[u8]) -> Json {
    let bytes = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Json::Null;
    }
    let sniff = || {
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        matches!(first, Some(b'{' | b'['))
    };
    if (content_type.is_some_and(is_json_type) || sniff())
        && let Ok(value) = serde_json::from_slice(bytes)
    {
        return value;
    }
    Json::String(String::from_utf8_lossy(bytes).into_owned())
}

/// `application/json`, `text/json`, `*/*+json` (parameters ignored).
fn is_json_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence == "text/json" || essence.ends_with("+json")
}

// ---------------------------------------------------------------------------
// The expression scope

/// A decoded response in the scope of its call: what response expressions
/// read (`status`, `headers`, `body`, `input`, `config`), and the secrets
/// that every error derived from it is redacted with.
#[derive(Clone)]
pub struct ResponseScope {
    status: u16,
    headers: Vec<(String, String)>,
    body: Json,
    vars: IndexMap<String, Value>,
    scope: Value,
    secrets: Secrets,
}

impl ResponseScope {
    /// Decodes `response` and builds its scope with the `input` and
    /// `config` of `context`. Pass the request's secrets
    /// ([`super::PreparedRequest::secrets`]: the context's plus signatures
    /// and derived credentials).
    pub fn new(response: &Response, context: &Context, secrets: &Secrets) -> ResponseScope {
        ResponseScope::from_parts(
            response.status,
            &response.headers,
            &response.body,
            context,
            secrets,
        )
    }

    /// [`ResponseScope::new`] from the parts of a response (no copy of the
    /// body bytes: only the decoded body is kept).
    pub fn from_parts(
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
        context: &Context,
        secrets: &Secrets,
    ) -> ResponseScope {
        let content_type = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.as_str());
        let body = decode_body(content_type, body);
        let mut by_name: IndexMap<String, String> = IndexMap::new();
        for (name, value) in headers {
            by_name
                .entry(name.to_ascii_lowercase())
                .and_modify(|v| {
                    v.push_str(", ");
                    v.push_str(value);
                })
                .or_insert_with(|| value.clone());
        }
        let mut vars: IndexMap<String, Value> = IndexMap::new();
        let base = context.scope(&["input", "config"], &[]);
        for name in ["input", "config"] {
            if let Ok(value) = base.get_attr(name)
                && !value.is_undefined()
            {
                vars.insert(name.to_string(), value);
            }
        }
        vars.insert("status".into(), Value::from(status));
        vars.insert(
            "headers".into(),
            object(by_name.into_iter().map(|(k, v)| (k, Value::from(v)))),
        );
        vars.insert("body".into(), to_value(&body));
        let scope = object(vars.clone());
        ResponseScope {
            status,
            headers: headers.to_vec(),
            body,
            vars,
            scope,
            secrets: secrets.clone(),
        }
    }

    /// Adds (or replaces) a variable, e.g. `page` for pagination
    /// expressions.
    pub fn with_var(mut self, name: &str, value: &Json) -> ResponseScope {
        self.vars.insert(name.to_string(), to_value(value));
        self.scope = object(self.vars.clone());
        self
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The decoded body.
    pub fn body(&self) -> &Json {
        &self.body
    }

    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// Evaluates a response expression; `None` when it is undefined.
    pub fn eval(&self, expr: &str) -> Result<Option<Json>, SelectError> {
        let value = self.eval_value(expr).map_err(|e| {
            self.select_error(format!(
                "cannot evaluate `{expr}` on this response: {}",
                describe(&e)
            ))
        })?;
        if value.is_undefined() {
            return Ok(None);
        }
        to_json(&value)
            .map(Some)
            .map_err(|e| self.select_error(format!("cannot convert `{expr}` to JSON: {e}")))
    }

    fn eval_value(&self, expr: &str) -> Result<Value, minijinja::Error> {
        environment()
            .compile_expression(expr)
            .and_then(|e| e.eval(&self.scope))
    }

    /// A redacted, one-line excerpt of the body: text with its markup
    /// tags removed, or JSON written compactly.
    pub fn excerpt(&self) -> Option<String> {
        let text = match &self.body {
            Json::Null => return None,
            Json::String(text) => {
                let markup = self
                    .header("content-type")
                    .is_some_and(|t| t.contains("html") || t.contains("xml"))
                    || text.trim_start().starts_with('<');
                if markup {
                    strip_tags(text)
                } else {
                    text.clone()
                }
            }
            json => json.to_string(),
        };
        clean(&text, &self.secrets)
    }

    fn select_error(&self, message: String) -> SelectError {
        let mut message = message;
        if let Some(excerpt) = self.excerpt() {
            message.push_str(&format!(" (HTTP {}, body: {excerpt})", self.status()));
        } else {
            message.push_str(&format!(" (HTTP {}, empty body)", self.status()));
        }
        SelectError {
            message: self.secrets.redact(&message),
        }
    }
}

impl fmt::Debug for ResponseScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseScope")
            .field("status", &self.status)
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------
// Success and errors

/// A response rule with its expressions compiled, plus the auth's
/// token-expiry rule. Build one per action or trigger, reuse it per
/// response.
#[derive(Debug)]
pub struct ResponseReader {
    success_status: Vec<u16>,
    success_when: Option<Compiled>,
    error_code: Option<Compiled>,
    error_message: Option<Compiled>,
    request_id: Option<Compiled>,
    token_expired: Option<TokenRule>,
}

/// An expression and its compiled form (an error if it does not compile:
/// validation makes that impossible, but the reader must not panic).
struct Compiled {
    source: String,
    /// The compile error, described, if it does not compile.
    expression: Result<minijinja::Expression<'static, 'static>, String>,
}

impl fmt::Debug for Compiled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.source)
    }
}

impl Compiled {
    fn new(source: &str) -> Compiled {
        Compiled {
            source: source.to_string(),
            expression: environment()
                .compile_expression_owned(source.to_string())
                .map_err(|e| describe(&e)),
        }
    }

    fn eval(&self, scope: &ResponseScope) -> Result<Value, String> {
        match &self.expression {
            Ok(expression) => expression.eval(&scope.scope).map_err(|e| describe(&e)),
            Err(error) => Err(error.clone()),
        }
    }
}

#[derive(Debug)]
struct TokenRule {
    status: Vec<u16>,
    when: Option<Compiled>,
}

impl TokenRule {
    fn matches(&self, scope: &ResponseScope) -> bool {
        let status_ok = if self.status.is_empty() {
            // `when` alone: any status. Neither: the default, 401.
            self.when.is_some() || scope.status() == 401
        } else {
            self.status.contains(&scope.status())
        };
        status_ok
            && self
                .when
                .as_ref()
                .is_none_or(|w| w.eval(scope).is_ok_and(|v| v.is_true()))
    }
}

/// Why a response was rejected, for the message when the API says nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rejection {
    /// The token-expiry rule matched.
    TokenExpired,
    /// The status is not accepted; `expected` lists `success_status` when
    /// the status was a 2xx the rule does not accept.
    Status { expected: Vec<u16> },
    /// `success_when` is false, or (`Some`) failed to evaluate.
    SuccessWhen {
        source: String,
        error: Option<String>,
    },
}

/// [`ResponseReader::read`] in one call, compiling the rule each time:
/// for one-off reads (a connection test, a session login). `auth` gives
/// the token-expiry rule.
pub fn read(
    rule: Option<&ResponseRule>,
    auth: &Auth,
    response: &Response,
    context: &Context,
    secrets: &Secrets,
) -> Result<ResponseScope, ApiError> {
    ResponseReader::new(rule)
        .with_auth(auth)
        .read(response, context, secrets)
}

impl ResponseReader {
    /// Compiles `rule` (no rule: any 2xx succeeds).
    pub fn new(rule: Option<&ResponseRule>) -> ResponseReader {
        let rule = rule.cloned().unwrap_or_default();
        let compile = |s: &Option<String>| s.as_deref().map(Compiled::new);
        ResponseReader {
            success_status: rule.success_status.clone(),
            success_when: compile(&rule.success_when),
            error_code: compile(&rule.error_code),
            error_message: compile(&rule.error_message),
            request_id: compile(&rule.request_id),
            token_expired: None,
        }
    }

    /// Detects expired access tokens the way `auth` says (`oauth2`'s
    /// `token_expired`, default HTTP 401). Other auth kinds have no such
    /// rule: their 401/403 are [`ApiErrorKind::Unauthorized`].
    pub fn with_auth(mut self, auth: &Auth) -> ResponseReader {
        self.token_expired = match auth {
            Auth::Oauth2(o) => Some(match &o.token_expired {
                Some(t) => TokenRule {
                    status: t.status.clone(),
                    when: t.when.as_deref().map(Compiled::new),
                },
                None => TokenRule {
                    status: vec![401],
                    when: None,
                },
            }),
            _ => None,
        };
        self
    }

    /// Decodes `response` and checks it: the scope on success, an
    /// [`ApiError`] on failure. Same as [`ResponseScope::new`] then
    /// [`ResponseReader::check`].
    pub fn read(
        &self,
        response: &Response,
        context: &Context,
        secrets: &Secrets,
    ) -> Result<ResponseScope, ApiError> {
        let scope = ResponseScope::new(response, context, secrets);
        self.check(&scope)?;
        Ok(scope)
    }

    /// Decides success; see the module docs for the order of the checks.
    pub fn check(&self, scope: &ResponseScope) -> Result<(), ApiError> {
        let status = scope.status();
        if let Some(rule) = &self.token_expired
            && rule.matches(scope)
        {
            return Err(self.error(scope, ApiErrorKind::TokenExpired, Rejection::TokenExpired));
        }
        let status_ok = if self.success_status.is_empty() {
            (200..300).contains(&status)
        } else {
            self.success_status.contains(&status)
        };
        if !status_ok {
            let expected = if (200..300).contains(&status) {
                self.success_status.clone()
            } else {
                vec![]
            };
            return Err(self.error(scope, kind_of(status), Rejection::Status { expected }));
        }
        if let Some(when) = &self.success_when {
            let error = match when.eval(scope) {
                Ok(value) if value.is_true() => return Ok(()),
                Ok(_) => None,
                Err(e) => Some(e),
            };
            return Err(self.error(
                scope,
                ApiErrorKind::Other,
                Rejection::SuccessWhen {
                    source: when.source.clone(),
                    error,
                },
            ));
        }
        Ok(())
    }

    fn error(&self, scope: &ResponseScope, kind: ApiErrorKind, rejection: Rejection) -> ApiError {
        let secrets = &scope.secrets;
        let from_rule = |expr: &Option<Compiled>| {
            expr.as_ref()
                .and_then(|e| e.eval(scope).ok())
                .and_then(|v| value_text(&v))
        };
        let body = &scope.body;
        let code = from_rule(&self.error_code).or_else(|| {
            CODE_PATHS
                .iter()
                .find_map(|path| lookup(body, path).and_then(scalar_text))
                .or_else(|| {
                    lookup(body, &["error"])
                        .and_then(Json::as_str)
                        .filter(|s| is_word(s))
                        .map(str::to_string)
                })
        });
        let message = from_rule(&self.error_message).or_else(|| {
            MESSAGE_PATHS
                .iter()
                .find_map(|path| {
                    lookup(body, path).and_then(|v| match v {
                        Json::String(_) => json_text(v),
                        Json::Array(_) | Json::Object(_) if *path == ["errors"].as_slice() => {
                            json_text(v)
                        }
                        _ => None,
                    })
                })
                .or_else(|| {
                    lookup(body, &["error"])
                        .and_then(Json::as_str)
                        .filter(|s| !is_word(s))
                        .and_then(|s| json_text(&Json::String(s.to_string())))
                })
        });
        let request_id = from_rule(&self.request_id).or_else(|| {
            REQUEST_ID_PATHS
                .iter()
                .find_map(|path| lookup(body, path).and_then(scalar_text))
                .or_else(|| {
                    REQUEST_ID_HEADERS
                        .iter()
                        .find_map(|h| scope.header(h))
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                })
        });
        let one = |text: Option<String>| text.and_then(|t| clean(&t, secrets));
        ApiError {
            kind,
            status: scope.status(),
            code: one(code),
            message: one(message),
            request_id: one(request_id),
            excerpt: scope.excerpt(),
            retry_after: scope.header("retry-after").and_then(RetryAfter::parse),
            rejection: match rejection {
                Rejection::SuccessWhen { source, error } => Rejection::SuccessWhen {
                    source: secrets.redact(&source),
                    error: error.and_then(|e| clean(&e, secrets)),
                },
                other => other,
            },
        }
    }
}

const CODE_PATHS: &[&[&str]] = &[
    &["code"],
    &["errcode"],
    &["error_code"],
    &["errorCode"],
    &["error", "code"],
    &["meta", "code"],
];

const MESSAGE_PATHS: &[&[&str]] = &[
    &["message"],
    &["msg"],
    &["errmsg"],
    &["error_msg"],
    &["errorMessage"],
    &["error", "message"],
    &["meta", "message"],
    &["error_description"],
    &["errors"],
    &["detail"],
    &["title"],
];

const REQUEST_ID_PATHS: &[&[&str]] = &[
    &["request_id"],
    &["requestId"],
    &["requestid"],
    &["error", "innerError", "request-id"],
];

const REQUEST_ID_HEADERS: &[&str] = &[
    "x-request-id",
    "request-id",
    "x-ms-request-id",
    "x-acs-request-id",
    "x-amzn-requestid",
    "x-amz-request-id",
];

fn kind_of(status: u16) -> ApiErrorKind {
    match status {
        401 | 403 => ApiErrorKind::Unauthorized,
        429 => ApiErrorKind::RateLimited,
        500..=599 => ApiErrorKind::Server,
        _ => ApiErrorKind::Other,
    }
}

/// What kind of failure an [`ApiError`] is, for refresh, retry and exit
/// codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiErrorKind {
    /// The `oauth2` token-expiry rule matched: refresh, then try once more.
    TokenExpired,
    /// HTTP 401 or 403 (not an expired token).
    Unauthorized,
    /// HTTP 429.
    RateLimited,
    /// HTTP 5xx.
    Server,
    /// Anything else: other 4xx, a 2xx rejected by `success_when` (an error
    /// code in the body) or by `success_status`.
    Other,
}

/// A response the spec's rule rejected. Every text in it is already one
/// line, redacted and cut to [`EXCERPT_CHARS`]; `Display` is one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    kind: ApiErrorKind,
    status: u16,
    code: Option<String>,
    message: Option<String>,
    request_id: Option<String>,
    excerpt: Option<String>,
    retry_after: Option<RetryAfter>,
    rejection: Rejection,
}

impl ApiError {
    pub fn kind(&self) -> ApiErrorKind {
        self.kind
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The API's own error code (`2002`, `itemNotFound`).
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The API's error message.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The start of the body (tags stripped), `None` when empty.
    pub fn excerpt(&self) -> Option<&str> {
        self.excerpt.as_deref()
    }

    /// The `Retry-After` header of the response.
    pub fn retry_after(&self) -> Option<RetryAfter> {
        self.retry_after
    }

    /// 408, 429, 500, 502, 503, 504. Whether to retry also depends on the
    /// action (`retry_safe`) — the caller's decision.
    pub fn is_retryable(&self) -> bool {
        RETRYABLE.contains(&self.status)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match reason(self.status) {
            Some(reason) => format!("HTTP {} {reason}", self.status),
            None => format!("HTTP {}", self.status),
        };
        let mut notes = Vec::new();
        match &self.code {
            Some(code) => {
                write!(f, "API error {code}")?;
                notes.push(format!("HTTP {}", self.status));
            }
            None => {
                f.write_str(&status)?;
                match &self.rejection {
                    Rejection::Status { expected } if !expected.is_empty() => {
                        let list: Vec<String> = expected.iter().map(u16::to_string).collect();
                        write!(f, ", expected {}", list.join(" or "))?;
                    }
                    Rejection::SuccessWhen { source, error } if self.message.is_none() => {
                        match error {
                            None => write!(f, ", but `{source}` is false")?,
                            Some(e) => write!(f, ", but `{source}` failed ({e})")?,
                        }
                    }
                    _ => {}
                }
            }
        }
        match (&self.message, &self.excerpt) {
            (Some(message), _) => write!(f, ": {message}")?,
            (None, Some(excerpt)) => write!(f, ": {excerpt}")?,
            (None, None) => notes.push("empty body".into()),
        }
        if let Some(id) = &self.request_id {
            notes.push(format!("request id {id}"));
        }
        if !notes.is_empty() {
            write!(f, " ({})", notes.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

fn reason(status: u16) -> Option<&'static str> {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
}

// ---------------------------------------------------------------------------
// Results and records

/// A result or records expression that does not fit the response. The
/// message is redacted and quotes the start of the body.
#[derive(Clone, PartialEq, Eq)]
pub struct SelectError {
    message: String,
}

impl SelectError {
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for SelectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for SelectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SelectError({})", self.message)
    }
}

impl std::error::Error for SelectError {}

/// An action's result: `expr` (its `result`) over the response, or the
/// whole body when `None`.
pub fn select_result(expr: Option<&str>, scope: &ResponseScope) -> Result<Json, SelectError> {
    let Some(expr) = expr else {
        return Ok(scope.body.clone());
    };
    scope.eval(expr)?.ok_or_else(|| {
        scope.select_error(format!("the result `{expr}` is undefined on this response"))
    })
}

/// A trigger's records: `expr` (its `records`) must yield a list; `none`
/// is the empty list, undefined is an error.
pub fn select_records(expr: &str, scope: &ResponseScope) -> Result<Vec<Json>, SelectError> {
    match scope.eval(expr)? {
        Some(Json::Array(items)) => Ok(items),
        Some(Json::Null) => Ok(Vec::new()),
        Some(other) => Err(scope.select_error(format!(
            "the records `{expr}` must be a list, got {}",
            describe_json(&other)
        ))),
        None => Err(scope.select_error(format!(
            "the records `{expr}` are undefined on this response \
             (write `{expr} | default([])` if the API omits an empty list)"
        ))),
    }
}

/// A connection's `label` template over the connection test's response:
/// `status`, `headers`, `body`, `config`, and `auth` with the non-secret
/// credential fields only (as `spec validate` allows). The label is
/// redacted.
pub fn render_label(
    template: &str,
    scope: &ResponseScope,
    connector: &Connector,
    credentials: &Credentials,
) -> Result<String, SelectError> {
    let auth = connector
        .auth
        .fields()
        .iter()
        .filter(|f| !f.secret)
        .filter_map(|f| {
            let value = credentials.get(&f.key).or(f.default.as_ref())?;
            Some((f.key.clone(), Value::from(value.as_str())))
        });
    let mut vars: IndexMap<String, Value> = scope
        .vars
        .iter()
        .filter(|(k, _)| matches!(k.as_str(), "status" | "headers" | "body" | "config"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    vars.insert("auth".into(), object(auth));
    environment()
        .render_str(template, object(vars))
        .map(|label| scope.secrets.redact(label.trim()))
        .map_err(|e| {
            scope.select_error(format!(
                "cannot render the connection label: {}",
                describe(&e)
            ))
        })
}

// ---------------------------------------------------------------------------
// Output check

/// One output value that does not match the output fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputWarning {
    /// Where, e.g. `rows[3].close` (`[0].id` for a list result).
    pub path: String,
    pub message: String,
}

impl fmt::Display for OutputWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Collects warnings, keeping the first [`MAX_OUTPUT_WARNINGS`].
#[derive(Default)]
struct Warnings {
    kept: Vec<OutputWarning>,
    omitted: usize,
}

impl Warnings {
    fn push(&mut self, path: &str, message: String) {
        if self.kept.len() < MAX_OUTPUT_WARNINGS {
            self.kept.push(OutputWarning {
                path: path.to_string(),
                message,
            });
        } else {
            self.omitted += 1;
        }
    }

    fn finish(mut self) -> Vec<OutputWarning> {
        if self.omitted > 0 {
            self.kept.push(OutputWarning {
                path: String::new(),
                message: format!("and {} more output warnings", self.omitted),
            });
        }
        self.kept
    }
}

/// Checks a result (an object, or a list of objects) or a trigger's
/// records (pass them as one list) against the output fields. At most
/// [`MAX_OUTPUT_WARNINGS`] warnings, then one with an empty path saying
/// `and N more output warnings`.
///
/// Messages quote scalar values (strings up to 40 characters whole, longer
/// ones only by length, so a cut never shows part of a secret): redact them
/// with the call's [`Secrets`] before printing.
pub fn check_output(fields: &[Field], value: &Json) -> Vec<OutputWarning> {
    let mut check = Warnings::default();
    if fields.is_empty() {
        return Vec::new();
    }
    match value {
        Json::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_object(item, fields, &format!("[{i}]"), &mut check);
            }
        }
        _ => check_object(value, fields, "", &mut check),
    }
    check.finish()
}

fn check_object(value: &Json, fields: &[Field], path: &str, check: &mut Warnings) {
    let Json::Object(map) = value else {
        check.push(
            path,
            format!(
                "expected an object of output fields, got {}",
                describe_json(value)
            ),
        );
        return;
    };
    for field in fields {
        let field_path = join_path(path, &field.key);
        match map.get(&field.key) {
            None if field.required => {
                check.push(&field_path, "required output is missing".into());
            }
            None => {}
            Some(value) => check_field(value, field, &field_path, check),
        }
    }
}

fn check_field(value: &Json, field: &Field, path: &str, check: &mut Warnings) {
    if value.is_null() {
        if field.required {
            check.push(path, "required output is null".into());
        }
        return;
    }
    if !field.multiple {
        return check_single(value, field, path, check);
    }
    let Json::Array(items) = value else {
        check.push(
            path,
            format!(
                "expected a list (`multiple: true`), got {}",
                describe_json(value)
            ),
        );
        return;
    };
    for (i, item) in items.iter().enumerate() {
        check_single(item, field, &format!("{path}[{i}]"), check);
    }
}

fn check_single(value: &Json, field: &Field, path: &str, check: &mut Warnings) {
    let (ok, expected) = match field.field_type {
        FieldType::Group => return check_object(value, &field.fields, path, check),
        FieldType::String
        | FieldType::Text
        | FieldType::Date
        | FieldType::Datetime
        | FieldType::File => (value.is_string(), "a string"),
        FieldType::Integer => (value.is_i64() || value.is_u64(), "an integer"),
        FieldType::Number => (value.is_number(), "a number"),
        FieldType::Boolean => (value.is_boolean(), "a boolean"),
        FieldType::Object => (value.is_object() || value.is_array(), "an object or a list"),
    };
    if !ok {
        check.push(
            path,
            format!("expected {expected}, got {}", describe_json(value)),
        );
    }
}

/// `a.b`, `a["odd key"]`, `[3].b`.
fn join_path(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    match (path.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{}]", serde_json::to_string(key).unwrap_or_default()),
    }
}

/// A value as a message shows it: scalars as JSON, strings of more than
/// 40 characters by length only (never cut: a cut secret escapes
/// redaction), containers by kind.
fn describe_json(value: &Json) -> String {
    match value {
        Json::Null => "null".into(),
        Json::Array(_) => "a list".into(),
        Json::Object(_) => "an object".into(),
        Json::String(s) if s.chars().count() > 40 => {
            format!("a string of {} characters", s.chars().count())
        }
        scalar => scalar.to_string(),
    }
}

// ---------------------------------------------------------------------------
// Helpers

/// JSON as a minijinja value (integers stay integers, objects keep order).
fn to_value(json: &Json) -> Value {
    Value::from(minijinja::value::Serde(json))
}

/// A minijinja value as JSON: integers stay integers, objects keep order.
fn to_json(value: &Value) -> Result<Json, serde_json::Error> {
    serde_json::to_value(value)
}

/// The text of an error expression's value, or `None` when it says nothing.
fn value_text(value: &Value) -> Option<String> {
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => None,
        ValueKind::String => value.as_str().and_then(|s| json_text(&Json::from(s))),
        _ => to_json(value).ok().and_then(|j| json_text(&j)),
    }
}

/// A JSON value as error text: strings as is, others as compact JSON;
/// `None` for null and empty strings, lists and objects.
fn json_text(value: &Json) -> Option<String> {
    match value {
        Json::Null => None,
        Json::String(s) if s.trim().is_empty() => None,
        Json::String(s) => Some(s.clone()),
        Json::Array(a) if a.is_empty() => None,
        Json::Object(o) if o.is_empty() => None,
        other => Some(other.to_string()),
    }
}

/// Codes and ids from fallbacks: non-empty strings and numbers only.
fn scalar_text(value: &Json) -> Option<String> {
    match value {
        Json::String(_) | Json::Number(_) => json_text(value),
        _ => None,
    }
}

fn lookup<'a>(value: &'a Json, path: &[&str]) -> Option<&'a Json> {
    path.iter().try_fold(value, |v, key| v.get(*key))
}

/// One token (`invalid_grant`), as opposed to a phrase.
fn is_word(text: &str) -> bool {
    !text.is_empty() && !text.chars().any(char::is_whitespace)
}

/// One line, redacted, cut to [`EXCERPT_CHARS`]; `None` when empty.
/// Redaction comes before cutting so a cut cannot expose part of a secret.
fn clean(text: &str, secrets: &Secrets) -> Option<String> {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let line = secrets.redact(&line);
    (!line.is_empty()).then(|| truncate(&line, EXCERPT_CHARS))
}

/// At most `max` characters, `…` appended when cut.
fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// Markup with its tags removed (`<title>502</title>` -> ` 502 `).
fn strip_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// A minijinja error in one line, without the expression source.
fn describe(error: &minijinja::Error) -> String {
    error
        .detail()
        .map(str::to_string)
        .unwrap_or_else(|| error.kind().to_string())
}

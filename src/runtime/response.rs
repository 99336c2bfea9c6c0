//! The interpreter's response layer: from the HTTP response of a call (read
//! by the HTTP layer, body already size-capped) to a decision — success or
//! an [`ApiError`] — and, on success, the action's result or the trigger's
//! records, checked against the output fields. Pure functions, no I/O.
//!
//! ```no_run
//! use spec::runtime::{self, ResponseReader, ResponseScope};
//! # let connector: spec::model::Connector = todo!();
//! # let context: runtime::Context = todo!();
//! # let request: runtime::PreparedRequest = todo!();
//! # let (status, headers, body) = (200, vec![], vec![]);
//! let action = &connector.actions[0];
//! // Once per action (expressions are compiled here):
//! let reader = ResponseReader::new(action.response.as_ref()).with_auth(&connector.auth);
//! // Per response:
//! let response = runtime::HttpResponse::new(status, headers, body);
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
//!   string as is, a list or object as compact JSON), `detail`, then
//!   `error` when it is a phrase (`"Not Found"`).
//! - request id: body `request_id`, `requestId`, `requestid`,
//!   `error.innerError.request-id`; then the headers `x-request-id`,
//!   `request-id`, `x-ms-request-id`, `x-acs-request-id`,
//!   `x-amzn-requestid`, `x-amz-request-id`.
//!
//! Error expressions are evaluated **leniently**: one that fails, or is
//! undefined, `none`, empty, `[]` or `{}` on this body yields nothing — never
//! a second error. Lists and objects become compact JSON, and so does a
//! string that is JSON text (Shopify's `body.errors | tojson`); numbers are
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
//!   status rejected by `success_when`, nothing better to show (`failed
//!   (…)` instead of `is false` when it could not be evaluated);
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
//! `Retry-After` (seconds, possibly decimal, or an HTTP date) is parsed
//! into [`RetryAfter`] whatever the status.
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
//! "abc"`; `[2].id` in a list), never errors. The first
//! [`MAX_OUTPUT_WARNINGS`] are kept, then one warning with an empty path
//! says `and N more output warnings`. Messages quote scalar values (a
//! string of more than 40 characters only by its length): redact them with
//! the call's secrets before printing.
//!
//! # Connection labels ([`render_label`])
//!
//! A connection's `label` template renders over the test response's
//! `status`, `headers`, `body`, `config`, and `auth` with only the
//! non-secret credential fields (what `spec validate` allows); the label is
//! trimmed and redacted.
//!
//! # Compilation
//!
//! Expressions of the common shapes — a path (`body.data.items`), `<path> |
//! zip_rows(<path>)`, an object of those, a path compared with a literal
//! (`body.code == 0`) — are answered straight on the decoded body by a
//! plan (`runtime::plan`) where every key is there; anything else, and any
//! expression off that happy path, is evaluated by minijinja, which decides
//! exactly as it always did. The template variables (the body as template
//! values) are built only when minijinja is needed.
//!
//! [`ResponseReader::new`] parses the rule's expressions once and compiles
//! them with minijinja on first use (build one reader per action or trigger
//! and reuse it for every page and poll). `result`, `records` and
//! [`ResponseScope::eval`] parse (and, without a plan, compile) per call:
//! one small expression per response, microseconds next to the request.

use std::fmt;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use indexmap::IndexMap;
use minijinja::Value;
use minijinja::value::ValueKind;
use serde_json::Value as Json;

use super::context::{Context, Credentials, object};
use super::http::HttpResponse;
use super::plan::Plan;
use super::redact::Secrets;
use crate::model::{Auth, Connector, Field, FieldType, ResponseRule};
use crate::template::environment;

/// Longest text (in characters) an error quotes from a response.
pub const EXCERPT_CHARS: usize = 200;

/// How many output warnings [`check_output`] keeps.
pub const MAX_OUTPUT_WARNINGS: usize = 20;

/// A `Retry-After` value: a delay, or a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    Delay(Duration),
    At(SystemTime),
}

impl RetryAfter {
    /// Delay-seconds (`120`; also `2.0`, which Shopify sends) or an HTTP
    /// date (`Wed, 21 Oct 2015 07:28:00 GMT`); anything else is `None`.
    pub fn parse(value: &str) -> Option<RetryAfter> {
        let value = value.trim();
        if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            let seconds: f64 = value.parse().ok()?;
            return Duration::try_from_secs_f64(seconds)
                .ok()
                .map(RetryAfter::Delay);
        }
        httpdate::parse_http_date(value).ok().map(RetryAfter::At)
    }

    /// How long to wait from `now` (zero for a date in the past).
    pub fn delay(self, now: SystemTime) -> Duration {
        match self {
            RetryAfter::Delay(delay) => delay,
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
///
/// The template variables are built on first use: an expression the
/// [`Plan`] subset answers reads the decoded body directly, and converting a
/// large body into template values was most of an action's time.
#[derive(Clone)]
pub struct ResponseScope {
    status: u16,
    headers: Vec<(String, String)>,
    body: Json,
    /// `input` and `config` of the call.
    given: Vec<(String, Value)>,
    /// What [`ResponseScope::with_var`] added, in order.
    added: Vec<(String, Value)>,
    /// Whether `with_var` replaced `body` (plans then do not apply).
    body_replaced: bool,
    /// The template variables and the scope object made of them.
    vars: OnceLock<(IndexMap<String, Value>, Value)>,
    secrets: Secrets,
}

impl ResponseScope {
    /// Decodes `response` and builds its scope with the `input` and
    /// `config` of `context`. Pass the request's secrets
    /// ([`super::PreparedRequest::secrets`]: the context's plus signatures
    /// and derived credentials).
    pub fn new(response: &HttpResponse, context: &Context, secrets: &Secrets) -> ResponseScope {
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
        let given = ["input", "config"]
            .into_iter()
            .filter_map(|name| {
                let value = context.var(name)?;
                (!value.is_undefined()).then(|| (name.to_string(), value.clone()))
            })
            .collect();
        ResponseScope {
            status,
            headers: headers.to_vec(),
            body,
            given,
            added: Vec::new(),
            body_replaced: false,
            vars: OnceLock::new(),
            secrets: secrets.clone(),
        }
    }

    /// The names of the template variables, without building them.
    fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.given.iter().map(|(n, _)| n.as_str()).collect();
        names.extend(["status", "headers", "body"]);
        for (name, _) in &self.added {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
        names
    }

    /// The template variables, built on first use: `input`, `config`,
    /// `status`, `headers`, `body`, then the added ones.
    fn vars(&self) -> &IndexMap<String, Value> {
        &self.built().0
    }

    /// The render context of expressions: [`ResponseScope::vars`] as one
    /// object.
    fn scope(&self) -> &Value {
        &self.built().1
    }

    fn built(&self) -> &(IndexMap<String, Value>, Value) {
        self.vars.get_or_init(|| {
            let mut by_name: IndexMap<String, String> = IndexMap::new();
            for (name, value) in &self.headers {
                by_name
                    .entry(name.to_ascii_lowercase())
                    .and_modify(|v| {
                        v.push_str(", ");
                        v.push_str(value);
                    })
                    .or_insert_with(|| value.clone());
            }
            let mut vars: IndexMap<String, Value> = IndexMap::new();
            for (name, value) in &self.given {
                vars.insert(name.clone(), value.clone());
            }
            vars.insert("status".into(), Value::from(self.status));
            vars.insert(
                "headers".into(),
                object(by_name.into_iter().map(|(k, v)| (k, Value::from(v)))),
            );
            vars.insert("body".into(), to_value(&self.body));
            for (name, value) in &self.added {
                vars.insert(name.clone(), value.clone());
            }
            let scope = object(vars.clone());
            (vars, scope)
        })
    }

    /// Adds (or replaces) a variable, e.g. `page` for pagination
    /// expressions.
    pub fn with_var(mut self, name: &str, value: &Json) -> ResponseScope {
        self.added.push((name.to_string(), to_value(value)));
        self.body_replaced |= name == "body";
        self.vars = OnceLock::new();
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
        if let Some(value) = Plan::parse(expr).and_then(|plan| self.plan_eval(&plan)) {
            return Ok(Some(value));
        }
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
            .and_then(|e| e.eval(self.scope()))
    }

    /// `plan` on the decoded body: `None` off its happy path, or when
    /// `body` was replaced (minijinja then decides).
    fn plan_eval(&self, plan: &Plan) -> Option<Json> {
        if self.body_replaced {
            return None;
        }
        plan.eval(&self.body)
    }

    /// [`ResponseScope::plan_eval`] for truthiness.
    fn plan_truthy(&self, plan: &Plan) -> Option<bool> {
        if self.body_replaced {
            return None;
        }
        plan.truthy(&self.body)
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
            .field("vars", &self.names())
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

/// An expression, its [`Plan`] when it has one, and its compiled form (an
/// error if it does not compile: validation makes that impossible, but the
/// reader must not panic). Minijinja compiles it on first use: with a plan
/// that answers, never.
struct Compiled {
    source: String,
    plan: Option<Plan>,
    /// The compile error, described, if it does not compile.
    expression: OnceLock<Result<minijinja::Expression<'static, 'static>, String>>,
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
            plan: Plan::parse(source),
            expression: OnceLock::new(),
        }
    }

    fn eval(&self, scope: &ResponseScope) -> Result<Value, String> {
        let expression = self.expression.get_or_init(|| {
            environment()
                .compile_expression_owned(self.source.clone())
                .map_err(|e| describe(&e))
        });
        match expression {
            Ok(expression) => expression.eval(scope.scope()).map_err(|e| describe(&e)),
            Err(error) => Err(error.clone()),
        }
    }

    /// Whether the expression is true on `scope` (false when it is not,
    /// the error when it fails).
    fn truthy(&self, scope: &ResponseScope) -> Result<bool, String> {
        if let Some(truth) = self.plan.as_ref().and_then(|p| scope.plan_truthy(p)) {
            return Ok(truth);
        }
        self.eval(scope).map(|value| value.is_true())
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
                .is_none_or(|w| w.truthy(scope).unwrap_or(false))
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
    response: &HttpResponse,
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
        response: &HttpResponse,
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
            let error = match when.truthy(scope) {
                Ok(true) => return Ok(()),
                Ok(false) => None,
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
            retry_after: scope.header("retry-after").and_then(RetryAfter::parse),
            details: Box::new(Details {
                code: one(code),
                message: one(message),
                request_id: one(request_id),
                excerpt: scope.excerpt(),
                rejection: match rejection {
                    Rejection::SuccessWhen { source, error } => Rejection::SuccessWhen {
                        source: secrets.redact(&source),
                        error: error.and_then(|e| clean(&e, secrets)),
                    },
                    other => other,
                },
            }),
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
    retry_after: Option<RetryAfter>,
    /// Boxed: errors travel in `Result`s and should stay small.
    details: Box<Details>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Details {
    code: Option<String>,
    message: Option<String>,
    request_id: Option<String>,
    excerpt: Option<String>,
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
        self.details.code.as_deref()
    }

    /// The API's error message.
    pub fn message(&self) -> Option<&str> {
        self.details.message.as_deref()
    }

    pub fn request_id(&self) -> Option<&str> {
        self.details.request_id.as_deref()
    }

    /// The start of the body (tags stripped), `None` when empty.
    pub fn excerpt(&self) -> Option<&str> {
        self.details.excerpt.as_deref()
    }

    /// The `Retry-After` header of the response.
    pub fn retry_after(&self) -> Option<RetryAfter> {
        self.retry_after
    }

    /// 408, 429, 500, 502, 503, 504. Whether to retry also depends on the
    /// action (`retry_safe`) — the caller's decision.
    pub fn is_retryable(&self) -> bool {
        super::http::RETRYABLE_STATUSES.contains(&self.status)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match reason(self.status) {
            Some(reason) => format!("HTTP {} {reason}", self.status),
            None => format!("HTTP {}", self.status),
        };
        let d = &*self.details;
        let mut notes = Vec::new();
        match &d.code {
            Some(code) => {
                write!(f, "API error {code}")?;
                notes.push(format!("HTTP {}", self.status));
            }
            None => {
                f.write_str(&status)?;
                match &d.rejection {
                    Rejection::Status { expected } if !expected.is_empty() => {
                        let list: Vec<String> = expected.iter().map(u16::to_string).collect();
                        write!(f, ", expected {}", list.join(" or "))?;
                    }
                    Rejection::SuccessWhen { source, error } if d.message.is_none() => {
                        match error {
                            None => write!(f, ", but `{source}` is false")?,
                            Some(e) => write!(f, ", but `{source}` failed ({e})")?,
                        }
                    }
                    _ => {}
                }
            }
        }
        match (&d.message, &d.excerpt) {
            (Some(message), _) => write!(f, ": {message}")?,
            (None, Some(excerpt)) => write!(f, ": {excerpt}")?,
            (None, None) => notes.push("empty body".into()),
        }
        if let Some(id) = &d.request_id {
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
        .vars()
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
    // Results usually hold their keys in the order of the output fields
    // (`zip_rows` rows, APIs documented field by field): the next key in
    // order is tried before a hashed lookup, which finds the same value
    // (keys are unique) and cost most of the check.
    let mut entries = map.iter().peekable();
    for field in fields {
        let value = match entries.peek() {
            Some((key, _)) if **key == field.key => entries.next().map(|(_, value)| value),
            _ => map.get(&field.key),
        };
        match value {
            None if field.required => {
                check.push(
                    &join_path(path, &field.key),
                    "required output is missing".into(),
                );
            }
            None => {}
            // The common case, a scalar of the right type, needs no path:
            // paths are built only for values that are reported.
            Some(value)
                if !field.multiple && scalar_matches(value, field.field_type) == Some(true) => {}
            Some(value) => check_field(value, field, &join_path(path, &field.key), check),
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

/// Whether `value` has the scalar type `field_type` asks for; `None` for
/// a group (checked field by field).
fn scalar_matches(value: &Json, field_type: FieldType) -> Option<bool> {
    Some(match field_type {
        FieldType::Group => return None,
        FieldType::String
        | FieldType::Text
        | FieldType::Date
        | FieldType::Datetime
        | FieldType::File => value.is_string(),
        FieldType::Integer => value.is_i64() || value.is_u64(),
        FieldType::Number => value.is_number(),
        FieldType::Boolean => value.is_boolean(),
        FieldType::Object => value.is_object() || value.is_array(),
    })
}

fn check_single(value: &Json, field: &Field, path: &str, check: &mut Warnings) {
    let Some(ok) = scalar_matches(value, field.field_type) else {
        return check_object(value, &field.fields, path, check);
    };
    let expected = match field.field_type {
        FieldType::Integer => "an integer",
        FieldType::Number => "a number",
        FieldType::Boolean => "a boolean",
        FieldType::Object => "an object or a list",
        _ => "a string",
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
pub(super) fn to_value(json: &Json) -> Value {
    Value::from(minijinja::value::Serde(json))
}

/// A minijinja value as JSON: integers stay integers, objects keep order.
pub(super) fn to_json(value: &Value) -> Result<Json, serde_json::Error> {
    // A direct walk: several times faster than going through `Serialize`
    // for the large lists of objects results usually are. Anything
    // unusual (floats, bytes, custom objects) takes the serde path.
    Ok(match value.kind() {
        ValueKind::Undefined | ValueKind::None => Json::Null,
        ValueKind::Bool => Json::Bool(value.is_true()),
        ValueKind::String => match value.as_str() {
            Some(s) => Json::String(s.to_string()),
            None => serde_json::to_value(value)?,
        },
        // Integers stay integers and floats floats (`as_i64` alone would
        // also take a whole float such as 9.0).
        ValueKind::Number if value.is_integer() => match value.as_i64() {
            Some(i) => Json::from(i),
            None => serde_json::to_value(value)?,
        },
        ValueKind::Number => match f64::try_from(value.clone()) {
            Ok(f) => serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number),
            Err(_) => serde_json::to_value(value)?,
        },
        ValueKind::Seq => match value.try_iter() {
            Ok(items) => Json::Array(items.map(|v| to_json(&v)).collect::<Result<_, _>>()?),
            Err(_) => serde_json::to_value(value)?,
        },
        ValueKind::Map => match value.as_object().and_then(|o| o.try_iter_pairs()) {
            Some(pairs) => {
                let mut map = serde_json::Map::new();
                for (k, v) in pairs {
                    let key = match k.as_str() {
                        Some(s) => s.to_string(),
                        None => k.to_string(),
                    };
                    map.insert(key, to_json(&v)?);
                }
                Json::Object(map)
            }
            None => serde_json::to_value(value)?,
        },
        _ => serde_json::to_value(value)?,
    })
}

/// The text of an error expression's value, or `None` when it says nothing.
fn value_text(value: &Value) -> Option<String> {
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => None,
        // JSON text (a spec's `| tojson`, which escapes `'` and spaces
        // its separators) is rewritten compactly.
        ValueKind::String => {
            let text = value.as_str()?;
            let trimmed = text.trim_start();
            if (trimmed.starts_with('{') || trimmed.starts_with('['))
                && let Ok(json) = serde_json::from_str::<Json>(text)
            {
                return json_text(&json);
            }
            json_text(&Json::from(text))
        }
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

#[cfg(test)]
mod tests {
    //! Over the real specs in `specs/` and bodies shaped like the real APIs'
    //! (`../shared/api-notes.md`); every credential is fake.

    use std::path::PathBuf;
    use std::sync::OnceLock;

    use serde_json::json;

    use super::*;
    use crate::model::{Action, Trigger};
    use crate::runtime::FixedClock;

    fn connector(key: &str) -> &'static Connector {
        static ALL: OnceLock<Vec<Connector>> = OnceLock::new();
        ALL.get_or_init(|| {
            let specs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("specs");
            let project = crate::validate::validate(&[specs]).expect("specs load");
            assert!(!project.has_errors(), "specs/ must validate");
            project.connectors.into_iter().map(|c| c.model).collect()
        })
        .iter()
        .find(|c| c.app.key == key)
        .unwrap_or_else(|| panic!("no connector `{key}`"))
    }

    fn action<'a>(connector: &'a Connector, key: &str) -> &'a Action {
        connector.actions.iter().find(|a| a.key == key).unwrap()
    }

    fn trigger<'a>(connector: &'a Connector, key: &str) -> &'a Trigger {
        connector.triggers.iter().find(|t| t.key == key).unwrap()
    }

    /// Every auth field filled with `fake-<key>-0123456789` (secret ones
    /// become the context's secrets).
    fn credentials(connector: &Connector) -> Credentials {
        let mut creds: Credentials = connector
            .auth
            .fields()
            .iter()
            .map(|f| (f.key.clone(), format!("fake-{}-0123456789", f.key)))
            .collect();
        creds
            .entry("access_token".into())
            .or_insert_with(|| "fake-access_token-0123456789".into());
        creds
    }

    fn context(connector: &Connector) -> Context {
        let clock = FixedClock {
            unix_ms: 1_721_030_400_123,
            nonce: "00000000-0000-4000-8000-000000000000".into(),
        };
        Context::new(connector, &credentials(connector), &clock)
            .expect("credentials complete")
            .with_input(&json!({"ts_code": "000001.SZ"}))
    }

    fn response(status: u16, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> HttpResponse {
        HttpResponse::new(
            status,
            headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body,
        )
    }

    const JSON: (&str, &str) = ("Content-Type", "application/json; charset=utf-8");

    /// Reads `response` with the rule of action `action` of `connector`.
    fn read_action(
        connector: &Connector,
        key: &str,
        response: &HttpResponse,
    ) -> Result<ResponseScope, ApiError> {
        let context = context(connector);
        ResponseReader::new(action(connector, key).response.as_ref())
            .with_auth(&connector.auth)
            .read(response, &context, context.secrets())
    }

    #[test]
    fn tushare_rows_are_zipped_into_objects_in_column_order() {
        let tushare = connector("tushare");
        let body = json!({
            "request_id": "f3b0c1d2",
            "code": 0,
            "msg": "",
            "data": {
                "fields": ["ts_code", "trade_date", "open", "high", "low", "close", "vol"],
                "items": [
                    ["000001.SZ", "20240103", 9.19, 9.22, 9.08, 9.20, 1_158_366],
                    ["000001.SZ", "20240102", 9.39, 9.42, 9.21, 9.21, 1_158_366.45]
                ],
                "has_more": false
            }
        });
        let scope = read_action(tushare, "daily", &response(200, &[JSON], body.to_string()))
            .expect("code 0 is success");
        let daily = action(tushare, "daily");
        let result = select_result(daily.result.as_deref(), &scope).unwrap();
        assert_eq!(
            result,
            json!({"rows": [
                {"ts_code": "000001.SZ", "trade_date": "20240103", "open": 9.19, "high": 9.22,
                 "low": 9.08, "close": 9.20, "vol": 1_158_366},
                {"ts_code": "000001.SZ", "trade_date": "20240102", "open": 9.39, "high": 9.42,
                 "low": 9.21, "close": 9.21, "vol": 1_158_366.45}
            ]})
        );
        // Integers stay integers, and keys keep the API's column order.
        assert!(result["rows"][0]["vol"].is_u64());
        let keys: Vec<&String> = result["rows"][0].as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "ts_code",
                "trade_date",
                "open",
                "high",
                "low",
                "close",
                "vol"
            ]
        );
        assert_eq!(check_output(&daily.output, &result), vec![]);

        // The scope: `status`, lowercase `headers`, `input`, `config`.
        let scope = read_action(
            tushare,
            "daily",
            &response(200, &[JSON, ("X-Trace", "t1")], body.to_string()),
        )
        .unwrap();
        assert_eq!(
            scope
                .eval("status ~ ' ' ~ headers['x-trace'] ~ ' ' ~ input.ts_code ~ ' ' ~ (config is mapping)")
                .unwrap(),
            Some(json!("200 t1 000001.SZ True"))
        );
        assert_eq!(scope.eval("body.nope").unwrap(), None);
        assert!(scope.eval("body.nope.deeper").is_err());
    }

    #[test]
    fn tushare_permission_error_in_http_200() {
        let tushare = connector("tushare");
        let body = r#"{"request_id":"a1b2c3d4","code":2002,"msg":"抱歉，您没有访问该接口的权限","data":null}"#;
        let error = read_action(tushare, "daily", &response(200, &[JSON], body)).unwrap_err();
        assert_eq!(error.kind(), ApiErrorKind::Other);
        assert_eq!(error.status(), 200);
        assert_eq!(error.code(), Some("2002"));
        assert_eq!(error.request_id(), Some("a1b2c3d4"));
        assert!(
            !error.is_retryable(),
            "a 200 with an error code is not retried"
        );
        assert_eq!(
            error.to_string(),
            "API error 2002: 抱歉，您没有访问该接口的权限 (HTTP 200, request id a1b2c3d4)"
        );
    }

    #[test]
    fn jushuitan_invalid_sign_labelled_html() {
        // Jushuitan answers JSON, sometimes labelled text/html: sniffed.
        let jushuitan = connector("jushuitan");
        let body = r#"{"code":10,"msg":"invalid sign","data":null}"#;
        let error = read_action(
            jushuitan,
            "create_inventory_count",
            &response(200, &[("Content-Type", "text/html; charset=utf-8")], body),
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "API error 10: invalid sign (HTTP 200)");
        assert_eq!(error.kind(), ApiErrorKind::Other);

        let ok = r#"{"code":0,"msg":null,"data":{"data":{"msg":"","so_id":"PD-1","io_id":10086}}}"#;
        let scope = read_action(
            jushuitan,
            "create_inventory_count",
            &response(200, &[JSON], ok),
        )
        .unwrap();
        let count = action(jushuitan, "create_inventory_count");
        let result = select_result(count.result.as_deref(), &scope).unwrap();
        assert_eq!(result, json!({"msg": "", "so_id": "PD-1", "io_id": 10086}));
        assert_eq!(check_output(&count.output, &result), vec![]);
    }

    #[test]
    fn graph_not_found_with_request_id_and_created_201() {
        let onenote = connector("onenote");
        let body = json!({"error": {
            "code": "itemNotFound",
            "message": "The resource could not be found.",
            "innerError": {"request-id": "9f1c2d3e-0000-4000-8000-000000000001", "date": "2024-07-15T08:00:00"}
        }});
        let error = read_action(
            onenote,
            "create_page",
            &response(404, &[JSON], body.to_string()),
        )
        .unwrap_err();
        assert_eq!(error.code(), Some("itemNotFound"));
        assert_eq!(
            error.to_string(),
            "API error itemNotFound: The resource could not be found. \
             (HTTP 404, request id 9f1c2d3e-0000-4000-8000-000000000001)"
        );

        let page =
            r#"{"id":"1-abc!1-def","title":"Minutes","createdDateTime":"2024-07-15T08:00:00Z"}"#;
        let scope = read_action(onenote, "create_page", &response(201, &[JSON], page)).unwrap();
        let create = action(onenote, "create_page");
        let result = select_result(create.result.as_deref(), &scope).unwrap();
        assert_eq!(result["id"], "1-abc!1-def");
        assert_eq!(check_output(&create.output, &result), vec![]);

        // `success_status: [201]`: a 200 is not accepted, and says so.
        let error = read_action(onenote, "create_page", &response(200, &[JSON], page)).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("HTTP 200 OK, expected 201: {\"id\":"),
            "{error}"
        );
    }

    #[test]
    fn oauth2_token_expiry_and_other_auth_failures() {
        let onenote = connector("onenote");
        let body = r#"{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired or is not yet valid.","innerError":{"request-id":"r-401"}}}"#;
        let error = read_action(onenote, "create_page", &response(401, &[JSON], body)).unwrap_err();
        assert_eq!(error.kind(), ApiErrorKind::TokenExpired);
        assert_eq!(error.request_id(), Some("r-401"));
        let error = read_action(onenote, "create_page", &response(403, &[JSON], body)).unwrap_err();
        assert_eq!(error.kind(), ApiErrorKind::Unauthorized);

        // Non-OAuth auth: a 401 is Unauthorized, never TokenExpired.
        let error = read_action(
            connector("shopify"),
            "update_order_note",
            &response(
                401,
                &[JSON],
                r#"{"errors":"[API] Invalid API key or access token"}"#,
            ),
        )
        .unwrap_err();
        assert_eq!(error.kind(), ApiErrorKind::Unauthorized);

        // A `when`-only rule matches any status, even one the rule accepts.
        let mut custom = onenote.clone();
        let Auth::Oauth2(oauth) = &mut custom.auth else {
            panic!("onenote uses oauth2")
        };
        oauth.token_expired = Some(crate::model::TokenExpired {
            status: vec![],
            when: Some("body.code == 100".into()),
        });
        let reader = ResponseReader::new(None).with_auth(&custom.auth);
        let context = context(&custom);
        let expired = response(200, &[JSON], r#"{"code":100,"msg":"token expired"}"#);
        let error = reader
            .read(&expired, &context, context.secrets())
            .unwrap_err();
        assert_eq!(error.kind(), ApiErrorKind::TokenExpired);
        assert_eq!(error.to_string(), "API error 100: token expired (HTTP 200)");
        let fine = response(200, &[JSON], r#"{"code":0}"#);
        assert!(reader.read(&fine, &context, context.secrets()).is_ok());
    }

    #[test]
    fn shopify_errors_as_string_and_as_object() {
        let shopify = connector("shopify");
        let error = read_action(
            shopify,
            "update_order_note",
            &response(
                404,
                &[JSON, ("X-Request-Id", "shp-req-1")],
                r#"{"errors":"Not Found"}"#,
            ),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "HTTP 404 Not Found: Not Found (request id shp-req-1)"
        );
        let body = r#"{"errors":{"title":["can't be blank"],"price":["must be a number"]}}"#;
        let error =
            read_action(shopify, "create_product", &response(422, &[JSON], body)).unwrap_err();
        assert_eq!(
            error.message(),
            Some(r#"{"title":["can't be blank"],"price":["must be a number"]}"#)
        );
        assert!(
            error
                .to_string()
                .starts_with("HTTP 422 Unprocessable Entity: {")
        );

        let error = read_action(
            shopify,
            "update_order_note",
            &response(
                429,
                &[JSON, ("Retry-After", "2.0")],
                r#"{"errors":"Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}"#,
            ),
        )
        .unwrap_err();
        assert_eq!(error.kind(), ApiErrorKind::RateLimited);
        assert!(error.is_retryable());
        assert_eq!(
            error.retry_after(),
            Some(RetryAfter::Delay(Duration::from_secs(2)))
        );
    }

    #[test]
    fn vika_success_false() {
        let vika = connector("vika");
        let body =
            r#"{"success":false,"code":301,"message":"参数异常：datasheet 不存在","data":null}"#;
        let error = read_action(vika, "create_record", &response(200, &[JSON], body)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "API error 301: 参数异常：datasheet 不存在 (HTTP 200)"
        );

        let ok = json!({"success": true, "code": 200, "message": "SUCCESS", "data": {
            "total": 2, "pageNum": 1, "pageSize": 1000,
            "records": [
                {"recordId": "rec0001", "fields": {"Title": "A"}, "createdAt": 1_721_010_225_000_u64, "updatedAt": 1_721_010_225_000_u64},
                {"recordId": "rec0002", "fields": {}, "createdAt": 1_721_010_226_000_u64, "updatedAt": 1_721_010_226_000_u64}
            ]
        }});
        let new_record = trigger(vika, "new_record");
        let context = context(vika);
        let scope = ResponseReader::new(new_record.response.as_ref())
            .read(
                &response(200, &[JSON], ok.to_string()),
                &context,
                context.secrets(),
            )
            .unwrap();
        let records = select_records(&new_record.records, &scope).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[1]["recordId"], "rec0002");
        assert_eq!(
            check_output(&new_record.output, &Json::Array(records)),
            vec![]
        );
        // Pagination expressions see `page` too.
        let scope = scope.with_var("page", &json!({"number": 1, "size": 1000}));
        assert_eq!(
            scope
                .eval(
                    "body.data.pageNum * body.data.pageSize < body.data.total and page.number == 1"
                )
                .unwrap(),
            Some(json!(false))
        );
    }

    /// Expressions the plan subset answers read the decoded body; the
    /// template variables are built only when minijinja is needed, and a
    /// `body` replaced with `with_var` is the one both paths read.
    #[test]
    fn plans_answer_on_the_body_and_minijinja_on_the_rest() {
        let tushare = connector("tushare");
        let context = context(tushare);
        let body = r#"{"code":0,"msg":"","data":{"fields":["a","b"],"items":[[1,"x"],[2]]}}"#;
        let scope = ResponseScope::new(&response(200, &[JSON], body), &context, context.secrets());
        let reader = ResponseReader::new(action(tushare, "daily").response.as_ref());
        reader.check(&scope).unwrap();
        let result = select_result(
            Some(r#"{"rows": body.data.items | zip_rows(body.data.fields)}"#),
            &scope,
        )
        .unwrap();
        assert_eq!(
            result,
            json!({"rows": [{"a": 1, "b": "x"}, {"a": 2, "b": null}]})
        );
        assert!(scope.vars.get().is_none(), "no template values were built");
        // Outside the subset: minijinja, over the same variables as ever.
        assert_eq!(
            scope.eval("body.data.items | length + status").unwrap(),
            Some(json!(202))
        );
        assert!(scope.vars.get().is_some());
        assert_eq!(scope.eval("body.nope").unwrap(), None);
        assert!(
            scope
                .eval("body.nope.deeper")
                .unwrap_err()
                .message()
                .starts_with("cannot evaluate `body.nope.deeper` on this response: ")
        );
        let replaced = scope.with_var("body", &json!({"code": 7}));
        assert_eq!(replaced.eval("body.code").unwrap(), Some(json!(7)));
        assert!(
            reader.check(&replaced).is_err(),
            "`body.code == 0` is false"
        );
    }

    #[test]
    fn aftership_meta_code_in_404() {
        let aftership = connector("aftership");
        let body = r#"{"meta":{"code":4004,"message":"Tracking does not exist.","type":"NotFound"},"data":{}}"#;
        let error = read_action(
            aftership,
            "create_tracking",
            &response(404, &[JSON, ("x-request-id", "as-0001")], body),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "API error 4004: Tracking does not exist. (HTTP 404, request id as-0001)"
        );
        assert_eq!(error.kind(), ApiErrorKind::Other);
    }

    #[test]
    fn dingtalk_errcode_in_http_200() {
        let dingtalk = connector("dingtalk");
        let body = r#"{"errcode":310000,"errmsg":"sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"}"#;
        let error = read_action(dingtalk, "send_text", &response(200, &[JSON], body)).unwrap_err();
        assert_eq!(error.code(), Some("310000"));
        assert_eq!(
            error.to_string(),
            "API error 310000: sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq] (HTTP 200)"
        );
        let ok = read_action(
            dingtalk,
            "send_text",
            &response(200, &[JSON], r#"{"errcode":0,"errmsg":"ok"}"#),
        )
        .unwrap();
        let send = action(dingtalk, "send_text");
        let result = select_result(send.result.as_deref(), &ok).unwrap();
        assert_eq!(result, json!({"errcode": 0, "errmsg": "ok"}));
        assert_eq!(check_output(&send.output, &result), vec![]);
    }

    const NGINX_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

    #[test]
    fn html_502_still_gives_a_useful_error() {
        // The Graph rule's expressions all fail on an HTML body: no second
        // error, the excerpt instead.
        let error = read_action(
            connector("onenote"),
            "create_page",
            &response(502, &[("Content-Type", "text/html")], NGINX_502),
        )
        .unwrap_err();
        assert_eq!(error.kind(), ApiErrorKind::Server);
        assert!(error.is_retryable());
        assert_eq!(error.code(), None);
        assert_eq!(
            error.to_string(),
            "HTTP 502 Bad Gateway: 502 Bad Gateway 502 Bad Gateway nginx"
        );

        // An HTML page with HTTP 200 fails `success_when`, never succeeds.
        let error = read_action(
            connector("tushare"),
            "daily",
            &response(200, &[("Content-Type", "text/html")], NGINX_502),
        )
        .unwrap_err();
        assert_eq!(error.kind(), ApiErrorKind::Other);
        let text = error.to_string();
        assert!(
            text.starts_with("HTTP 200 OK, but `body.code == 0` "),
            "{text}"
        );
        assert!(
            text.ends_with(": 502 Bad Gateway 502 Bad Gateway nginx"),
            "{text}"
        );
    }

    #[test]
    fn empty_bodies() {
        assert_eq!(decode_body(Some("application/json"), b""), Json::Null);
        assert_eq!(decode_body(None, b" \r\n"), Json::Null);
        let shopify = connector("shopify");
        let context = context(shopify);
        // A 204 with no rule succeeds, and its result is null.
        let scope = read(
            None,
            &shopify.auth,
            &response(204, &[], ""),
            &context,
            context.secrets(),
        )
        .unwrap();
        assert_eq!(select_result(None, &scope).unwrap(), Json::Null);
        let error = read(
            None,
            &shopify.auth,
            &response(503, &[], ""),
            &context,
            context.secrets(),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "HTTP 503 Service Unavailable (empty body)"
        );
        assert_eq!(error.excerpt(), None);
    }

    #[test]
    fn body_decoding_rules() {
        let j = |ct: Option<&str>, body: &str| decode_body(ct, body.as_bytes());
        assert_eq!(j(Some("application/json"), "123"), json!(123));
        assert_eq!(
            j(Some("Application/JSON;charset=UTF-8"), r#""x""#),
            json!("x")
        );
        assert_eq!(
            j(Some("application/problem+json"), r#"{"a":1}"#),
            json!({"a": 1})
        );
        assert_eq!(j(Some("text/json"), "[1]"), json!([1]));
        // Sniffed: objects and lists under any other type, or none.
        assert_eq!(j(Some("text/plain"), " {\"a\":1}"), json!({"a": 1}));
        assert_eq!(j(None, "[true]"), json!([true]));
        // ... but not scalars: text stays text.
        assert_eq!(j(Some("text/plain"), "123"), json!("123"));
        assert_eq!(j(None, "true"), json!("true"));
        // Declared JSON that does not parse is text.
        assert_eq!(j(Some("application/json"), "{oops"), json!("{oops"));
        // A byte-order mark is ignored.
        assert_eq!(
            decode_body(Some("application/json"), b"\xEF\xBB\xBF{\"a\":1}"),
            json!({"a": 1})
        );
    }

    #[test]
    fn non_utf8_bodies_are_text_with_replacement_characters() {
        // GBK "错误" (0xB4ED 0xCEF3) is not UTF-8: not JSON, lossy text.
        let body: &[u8] = b"{\"msg\":\"\xB4\xED\xCE\xF3\"}";
        assert_eq!(
            decode_body(Some("application/json"), body),
            json!("{\"msg\":\"\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\"}")
        );
        let tushare = connector("tushare");
        let error = read_action(tushare, "daily", &response(500, &[], body)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "HTTP 500 Internal Server Error: {\"msg\":\"\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\"}"
        );
    }

    #[test]
    fn huge_bodies_are_cut_on_a_character_boundary() {
        let body = "错".repeat(100_000);
        let error = read_action(
            connector("tushare"),
            "daily",
            &response(500, &[("Content-Type", "text/plain")], body.clone()),
        )
        .unwrap_err();
        let excerpt = error.excerpt().unwrap();
        assert_eq!(excerpt.chars().count(), EXCERPT_CHARS + 1);
        assert!(excerpt.ends_with("错…"));
        // A huge message is cut the same way.
        let body = json!({"code": 1, "msg": "x".repeat(5000)}).to_string();
        let error =
            read_action(connector("tushare"), "daily", &response(200, &[JSON], body)).unwrap_err();
        assert_eq!(error.message().unwrap().chars().count(), EXCERPT_CHARS + 1);
        assert!(error.to_string().len() < 300);
    }

    #[test]
    fn secrets_in_error_bodies_are_redacted() {
        let jushuitan = connector("jushuitan");
        let secret = "fake-app_secret-0123456789";
        let token = "fake-access_token-0123456789";
        let body = json!({
            "code": 10,
            "msg": format!("invalid sign: expected md5({secret}app_key...)"),
            "request_id": format!("rid-{token}")
        });
        let error = read_action(
            jushuitan,
            "create_inventory_count",
            &response(200, &[JSON], body.to_string()),
        )
        .unwrap_err();
        let text = format!("{error} {error:?}");
        assert!(!text.contains(secret) && !text.contains(token), "{text}");
        assert_eq!(
            error.to_string(),
            "API error 10: invalid sign: expected md5(***app_key...) (HTTP 200, request id rid-***)"
        );

        // A secret straddling the cut is masked before cutting: no prefix
        // of it survives.
        let body = format!("{}{secret} and more", "x".repeat(EXCERPT_CHARS - 10));
        let error = read_action(
            jushuitan,
            "create_inventory_count",
            &response(502, &[("Content-Type", "text/plain")], body),
        )
        .unwrap_err();
        let excerpt = error.excerpt().unwrap();
        assert!(!excerpt.contains("fake-app"), "{excerpt}");
        assert!(excerpt.contains("***"), "{excerpt}");

        // The same for expression failures of results and records.
        let scope = read_action(
            jushuitan,
            "create_inventory_count",
            &response(200, &[JSON], json!({"code": 0, "echo": secret}).to_string()),
        )
        .unwrap();
        let error = select_result(Some("body.data.data"), &scope).unwrap_err();
        assert!(!error.to_string().contains(secret), "{error}");
    }

    #[test]
    fn fallbacks_when_the_spec_declares_no_error_expressions() {
        let shopify = connector("shopify");
        let context = context(shopify);
        let read = |status: u16, headers: &[(&str, &str)], body: &str| {
            read(
                None,
                &shopify.auth,
                &response(status, headers, body),
                &context,
                context.secrets(),
            )
            .unwrap_err()
        };
        // The Microsoft identity platform's token error.
        let error = read(
            400,
            &[JSON, ("x-ms-request-id", "ms-1")],
            r#"{"error":"invalid_grant","error_description":"AADSTS70008: The provided authorization code or refresh token has expired.","error_codes":[70008],"trace_id":"t-1"}"#,
        );
        assert_eq!(
            error.to_string(),
            "API error invalid_grant: AADSTS70008: The provided authorization code or refresh token has expired. (HTTP 400, request id ms-1)"
        );
        // `error` as a phrase is the message, not a code.
        let error = read(404, &[JSON], r#"{"error":"Not Found"}"#);
        assert_eq!(error.to_string(), "HTTP 404 Not Found: Not Found");
        // DingTalk's new API (`code`/`message`/`requestid`).
        let error = read(
            400,
            &[JSON],
            r#"{"code":"InvalidAuthentication","message":"不合法的access_token","requestid":"D-1"}"#,
        );
        assert_eq!(
            error.to_string(),
            "API error InvalidAuthentication: 不合法的access_token (HTTP 400, request id D-1)"
        );
        // RFC 9457 problem details; repeated request-id headers joined.
        let error = read(
            409,
            &[
                ("Content-Type", "application/problem+json"),
                ("Request-Id", "a"),
                ("request-id", "b"),
            ],
            r#"{"type":"about:blank","title":"Conflict","detail":"The record was changed meanwhile."}"#,
        );
        assert_eq!(
            error.to_string(),
            "HTTP 409 Conflict: The record was changed meanwhile. (request id a)"
        );
        // A declared expression that yields nothing falls back too.
        let aftership = connector("aftership");
        let error = read_action(
            aftership,
            "create_tracking",
            &response(401, &[JSON], r#"{"message":"Invalid API key."}"#),
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "HTTP 401 Unauthorized: Invalid API key.");
    }

    #[test]
    fn records_rules() {
        let jushuitan = connector("jushuitan");
        let new_order = trigger(jushuitan, "new_order");
        let context = context(jushuitan);
        let reader = ResponseReader::new(new_order.response.as_ref()).with_auth(&jushuitan.auth);
        let read = |body: Json| {
            reader
                .read(
                    &response(200, &[JSON], body.to_string()),
                    &context,
                    context.secrets(),
                )
                .unwrap()
        };
        let scope = read(
            json!({"code": 0, "msg": null, "data": {"has_next": false, "orders": [
                {"o_id": 1001, "so_id": "SO-1", "ts": 812_345_678_901_u64, "status": "WaitConfirm"}
            ]}}),
        );
        let records = select_records(&new_order.records, &scope).unwrap();
        assert_eq!(records[0]["ts"], json!(812_345_678_901_u64));
        // `null` is no records.
        let scope = read(json!({"code": 0, "data": {"has_next": false, "orders": null}}));
        assert_eq!(
            select_records(&new_order.records, &scope).unwrap(),
            Vec::<Json>::new()
        );
        // An absent key is an error that suggests `default([])`.
        let scope = read(json!({"code": 0, "data": {"has_next": false}}));
        let error = select_records(&new_order.records, &scope).unwrap_err();
        assert!(
            error.to_string().starts_with(
                "the records `body.data.orders` are undefined on this response \
                 (write `body.data.orders | default([])`"
            ),
            "{error}"
        );
        assert_eq!(
            select_records("body.data.orders | default([])", &scope).unwrap(),
            Vec::<Json>::new()
        );
        // Not a list.
        let scope = read(json!({"code": 0, "data": {"orders": {"o_id": 1}}}));
        let error = select_records(&new_order.records, &scope).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("the records `body.data.orders` must be a list, got an object"),
            "{error}"
        );
        // A result path the body lacks is an error too; `none` is not.
        assert!(select_result(Some("body.nope"), &scope).is_err());
        assert_eq!(select_result(Some("none"), &scope).unwrap(), Json::Null);
    }

    #[test]
    fn results_keep_key_order_and_integer_types() {
        let shopify = connector("shopify");
        let context = context(shopify);
        let body = r#"{"order":{"z":1,"a":18446744073709551615,"m":-3,"f":1.0,"n":null}}"#;
        let scope = read(
            None,
            &shopify.auth,
            &response(200, &[JSON], body),
            &context,
            context.secrets(),
        )
        .unwrap();
        let result = select_result(Some("body.order"), &scope).unwrap();
        assert_eq!(
            serde_json::to_string(&result).unwrap(),
            r#"{"z":1,"a":18446744073709551615,"m":-3,"f":1.0,"n":null}"#
        );
    }

    #[test]
    fn output_warnings_name_paths() {
        let tushare = connector("tushare");
        let daily = action(tushare, "daily");
        let mut rows: Vec<Json> = (0..5)
            .map(|_| json!({"ts_code": "000001.SZ", "close": 9.2}))
            .collect();
        rows[3]["close"] = json!("abc");
        rows[4]["ts_code"] = json!(1);
        let warnings = check_output(daily.output.as_slice(), &json!({"rows": rows, "extra": 1}));
        let lines: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                r#"rows[3].close: expected a number, got "abc""#,
                "rows[4].ts_code: expected a string, got 1",
            ]
        );
        assert_eq!(
            check_output(&daily.output, &json!({"rows": {"ts_code": "x"}}))[0].to_string(),
            "rows: expected a list (`multiple: true`), got an object"
        );

        // Required outputs, nested groups, list results.
        let vika = connector("vika");
        let create = action(vika, "create_record");
        let warnings = check_output(
            &create.output,
            &json!({"records": [
                {"recordId": "rec1", "fields": {}, "createdAt": 1},
                {"fields": {}, "createdAt": "yesterday"},
                {"recordId": null},
                "rec4"
            ]}),
        );
        let lines: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "records[1].recordId: required output is missing",
                r#"records[1].createdAt: expected an integer, got "yesterday""#,
                "records[2].recordId: required output is null",
                r#"records[3]: expected an object of output fields, got "rec4""#,
            ]
        );
        let shopify = connector("shopify");
        let update = action(shopify, "update_order_note");
        let warnings = check_output(&update.output, &json!([{"id": 1}, {"id": "2"}, {}]));
        let lines: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                r#"[1].id: expected an integer, got "2""#,
                "[2].id: required output is missing",
            ]
        );

        // Bounded: the first 20, then a count.
        let rows: Vec<Json> = (0..30).map(|_| json!({"close": "x"})).collect();
        let warnings = check_output(&daily.output, &json!({"rows": rows}));
        assert_eq!(warnings.len(), MAX_OUTPUT_WARNINGS + 1);
        assert_eq!(warnings[19].path, "rows[19].close");
        assert_eq!(warnings[20].to_string(), "and 10 more output warnings");

        // Long strings are described, never cut (a cut secret would escape
        // redaction).
        let long = "s".repeat(41);
        assert_eq!(
            check_output(&daily.output, &json!({"rows": [{"close": long}]}))[0].message,
            "expected a number, got a string of 41 characters"
        );

        // Keys in the fields' order, reversed, or moved and missing: the
        // warnings follow the fields either way.
        let fields = &daily.output[0].fields;
        let row: serde_json::Map<String, Json> = fields
            .iter()
            .map(|f| (f.key.clone(), json!(f.key == "ts_code" || f.key == "vol")))
            .collect();
        let reversed: serde_json::Map<String, Json> = row.clone().into_iter().rev().collect();
        let mut gappy = row.clone();
        gappy.shift_remove("open");
        gappy.insert("open".into(), json!(true));
        gappy.shift_remove("high");
        let lines = |value: serde_json::Map<String, Json>| -> Vec<String> {
            check_output(&daily.output, &json!({"rows": [value]}))
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        let in_order = lines(row);
        assert_eq!(in_order.len(), 11);
        assert_eq!(
            in_order[1],
            "rows[0].trade_date: expected a string, got false"
        );
        assert_eq!(lines(reversed), in_order);
        let mut expected = in_order.clone();
        expected[2] = "rows[0].open: expected a number, got true".into();
        expected.remove(3);
        assert_eq!(lines(gappy), expected);
    }

    #[test]
    fn connection_labels() {
        let shopify = connector("shopify");
        let shop_context = context(shopify);
        let rule = shopify.connection.as_ref().unwrap();
        let body = r#"{"shop":{"name":"Fake Shop","myshopify_domain":"fake-shop.myshopify.com"}}"#;
        let scope = read(
            rule.response.as_ref(),
            &shopify.auth,
            &response(200, &[JSON], body),
            &shop_context,
            shop_context.secrets(),
        )
        .unwrap();
        let label = render_label(
            rule.label.as_deref().unwrap(),
            &scope,
            shopify,
            &credentials(shopify),
        );
        assert_eq!(label.unwrap(), "Fake Shop (fake-shop.myshopify.com)");

        // Jushuitan's label falls back to the (non-secret) app key.
        let jushuitan = connector("jushuitan");
        let context = context(jushuitan);
        let rule = jushuitan.connection.as_ref().unwrap();
        let scope = read(
            rule.response.as_ref(),
            &jushuitan.auth,
            &response(200, &[JSON], r#"{"code":0,"data":{"datas":[]}}"#),
            &context,
            context.secrets(),
        )
        .unwrap();
        let label = render_label(
            rule.label.as_deref().unwrap(),
            &scope,
            jushuitan,
            &credentials(jushuitan),
        );
        assert_eq!(label.unwrap(), "Jushuitan fake-app_key-0123456789");
        // Secret fields are not in the label's scope.
        let error = render_label(
            "{{ auth.app_secret }}",
            &scope,
            jushuitan,
            &credentials(jushuitan),
        );
        assert!(error.is_err());
    }

    #[test]
    fn retry_after_values() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(
            RetryAfter::parse("120").map(|r| r.delay(now)),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            RetryAfter::parse(" 0.5 ").map(|r| r.delay(now)),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            RetryAfter::parse("Wed, 21 Oct 2015 07:28:30 GMT").map(|r| r.delay(now)),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            RetryAfter::parse("Wed, 21 Oct 2015 07:00:00 GMT").map(|r| r.delay(now)),
            Some(Duration::ZERO)
        );
        for bad in ["", "soon", "-1", "1.2.3"] {
            assert_eq!(RetryAfter::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn statuses_classify_and_readers_are_shareable() {
        fn shareable<T: Send + Sync>() {}
        shareable::<ResponseReader>();
        shareable::<ResponseScope>();
        shareable::<ApiError>();

        let shopify = connector("shopify");
        let context = context(shopify);
        let reader = ResponseReader::new(None).with_auth(&shopify.auth);
        for (status, kind, retryable) in [
            (400, ApiErrorKind::Other, false),
            (403, ApiErrorKind::Unauthorized, false),
            (408, ApiErrorKind::Other, true),
            (429, ApiErrorKind::RateLimited, true),
            (500, ApiErrorKind::Server, true),
            (501, ApiErrorKind::Server, false),
            (504, ApiErrorKind::Server, true),
            (302, ApiErrorKind::Other, false),
        ] {
            let error = reader
                .read(&response(status, &[], "x"), &context, context.secrets())
                .unwrap_err();
            assert_eq!(
                (error.kind(), error.is_retryable()),
                (kind, retryable),
                "{status}"
            );
        }
    }
}

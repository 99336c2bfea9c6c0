//! The interpreter's request layer: from a validated [`Connector`], one of
//! its actions (or triggers, or the connection test), the caller's input,
//! credentials, settings and a [`Clock`], to a fully built and signed
//! [`PreparedRequest`] — with no network I/O.
//!
//! ```no_run
//! use spec::runtime::{self, Context, Credentials, SystemClock};
//! # let connector: spec::model::Connector = todo!();
//! let credentials = Credentials::from([("token".to_string(), "...".to_string())]);
//! let context = Context::new(&connector, &credentials, &SystemClock)?
//!     .with_input(&serde_json::json!({"ts_code": "000001.SZ"}));
//! let request = runtime::build_action(&connector, "daily", &context)?;
//! println!("{request}"); // secrets print as ***
//! # Ok::<(), runtime::RequestError>(())
//! ```
//!
//! # Rendering rules
//!
//! - Every string of the spec's request is a minijinja template (the
//!   shared environment of [`crate::template`]), rendered with the scope
//!   `crate::rules::templates` checked: `input`, `auth`, `config`, `now`, and
//!   for triggers `page` and `state` when the caller gives them.
//! - **Path**: interpolated values are percent-encoded as path segments
//!   (`a/b c` becomes `a%2Fb%20c`); the literal text of the template is kept.
//!   The path is joined to `app.base_url` (rendered with `auth` and
//!   `config`) unless the template starts with `http://` or `https://`.
//! - **Query parameters and form fields whose value renders to the empty
//!   string are dropped.** Optional filters rely on this: Vika's
//!   `viewId: "{{ input.view_id | default('', true) }}"` and AfterShip's
//!   `cursor: "{{ page.cursor | default('', true) }}"` vanish when unset
//!   instead of being sent empty. Headers and JSON strings are kept as
//!   rendered.
//! - Query values are form-urlencoded in the URL (space as `+`, as Python's
//!   `quote_plus`); form bodies likewise, fields in spec order.
//! - A header value containing CR or LF is rejected (header injection).
//! - JSON bodies: strings are templates rendered as strings; an object
//!   `{"$expr": "..."}` is replaced by the expression's value with its own
//!   type. An expression that is undefined (an optional input not given)
//!   leaves its key out of the object (`null` inside a list).
//! - Raw bodies: the rendered content with the rendered content type.
//! - Multipart bodies (`multipart/form-data`): one part per spec part, in
//!   order; a part whose content renders empty is dropped (as a form
//!   field is). The boundary is `spec-` + the clock's nonce. Binary file
//!   content (a `file` input) is not read yet: content is rendered text.
//! - A `Content-Type` header is added for the body unless the spec sets one.
//!
//! # Authentication
//!
//! Applied after the request is built: `api_key` placements (header,
//! query, or body — a top-level JSON key, a form field or a text part of a
//! multipart body; with no body, a field of a new form body), `basic`,
//! `bearer`, the `oauth2` access token (default
//! `Authorization: Bearer {{ auth.access_token }}`), the `session` token the
//! caller gives ([`Context::with_session_token`]); and `signature` last,
//! over the final request: its `params` are placed, the string to sign is
//! built (`sorted_params`, see [`join_sorted`], or a `template` over
//! `request` = `{method, url, path, query, headers, body}`), hashed, encoded
//! and placed.
//!
//! # Secrets
//!
//! Secret credential values, tokens, signatures and derived credentials
//! are collected in [`Secrets`]; the `Debug` and `Display` output of a
//! [`PreparedRequest`] and every [`RequestError`] are redacted with it.

mod context;
mod engine;
pub mod http;
pub mod input;
mod oauth;
mod plan;
pub mod poll;
mod redact;
mod request;
pub mod response;
mod sign;

use std::fmt;
use std::sync::OnceLock;

use minijinja::Environment;

pub use context::{Clock, Context, Credentials, FixedClock, SystemClock};
pub use engine::{ActionOutcome, Call, ConnectionOutcome, Engine, ExecError, ExecErrorKind};
pub use http::{
    HttpResponse, HttpSettings, NetError, NetErrorKind, Observer, Replay, RetryPolicy, Transport,
};
pub use input::{
    AssignmentError, AssignmentProblem, Assignments, Coercion, InputErrors, InputViolation,
    MAX_KEY_DEPTH, MAX_VIOLATIONS, check_input, merge_input, parse_assignments,
};
pub use oauth::{Authorization, Loopback, Provider, TokenSet, TokenSink, rebase};
pub use poll::{EmitInitial, PollOptions, PollOutcome, Progress, Sink, WriteSink};
pub use redact::{MASK, Secrets};
pub use request::{
    PreparedRequest, build, build_action, build_connection_test, build_session_login, build_trigger,
};
pub use response::{
    ApiError, ApiErrorKind, OutputWarning, ResponseReader, ResponseScope, RetryAfter, SelectError,
    check_output, decode_body, render_label, select_records, select_result,
};
pub use sign::{SortedPairs, join_sorted};

/// What kind of failure a [`RequestError`] is, for exit codes and hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// No such action or trigger, or the spec lacks what the call needs.
    Spec,
    /// A credential (or token) is missing.
    Credentials,
    /// A template or expression failed to render.
    Render,
    /// A rendered value is not allowed where it goes (header injection, a
    /// body placement on a raw body).
    Invalid,
}

/// A request that could not be built. The message never contains a secret:
/// it is redacted when the error is made.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestError {
    kind: ErrorKind,
    message: String,
}

impl RequestError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> RequestError {
        RequestError {
            kind,
            message: message.into(),
        }
    }

    /// An error whose message is redacted with `secrets`.
    pub(crate) fn redacted(
        kind: ErrorKind,
        message: impl AsRef<str>,
        secrets: &Secrets,
    ) -> RequestError {
        RequestError {
            kind,
            message: secrets.redact(message.as_ref()),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestError({:?}: {})", self.kind, self.message)
    }
}

impl std::error::Error for RequestError {}

/// The environment for URL paths: the shared language, with every
/// interpolated value percent-encoded as a path segment.
pub(crate) fn path_environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        crate::template::register(&mut env);
        env.set_formatter(|out, _state, value| {
            // A custom formatter bypasses minijinja's own strict-undefined
            // check on output, so repeat it here.
            if value.is_undefined() {
                return Err(minijinja::Error::new(
                    minijinja::ErrorKind::UndefinedError,
                    "undefined value in the path",
                ));
            }
            let text = match value.as_str() {
                Some(s) => s.to_string(),
                None => value.to_string(),
            };
            out.write_str(&encode::path_segment(&text))
                .map_err(minijinja::Error::from)
        });
        env
    })
}

/// Percent-encoding for the two places values enter a URL.
pub mod encode {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

    /// RFC 3986 unreserved characters stay; everything else, `/` included,
    /// is encoded, so a value is always exactly one segment.
    const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');

    /// `value` as (part of) one path segment.
    pub fn path_segment(value: &str) -> String {
        utf8_percent_encode(value, SEGMENT).to_string()
    }

    /// `value` as a query or form component
    /// (`application/x-www-form-urlencoded`; equals Python's `quote_plus`).
    pub fn query_component(value: &str) -> String {
        form_urlencoded::byte_serialize(value.as_bytes()).collect()
    }

    /// `k=v&k=v` from pairs, each side encoded.
    pub fn form(pairs: &[(String, String)]) -> String {
        pairs
            .iter()
            .map(|(k, v)| format!("{}={}", query_component(k), query_component(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn segments_and_components() {
            assert_eq!(path_segment("a/b c?d#e%"), "a%2Fb%20c%3Fd%23e%25");
            assert_eq!(path_segment("rec-1.x_y~z"), "rec-1.x_y~z");
            assert_eq!(path_segment("仓"), "%E4%BB%93");
            // python3 -c "import urllib.parse;print(urllib.parse.quote_plus('a+b/c= d&'))"
            assert_eq!(query_component("a+b/c= d&"), "a%2Bb%2Fc%3D+d%26");
            assert_eq!(
                form(&[("a b".into(), "1".into()), ("c".into(), "".into())]),
                "a+b=1&c="
            );
        }
    }
}

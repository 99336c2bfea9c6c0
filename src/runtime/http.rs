//! The interpreter's HTTP transport: sends a [`PreparedRequest`] with
//! timeouts, a response size cap and bounded retries, and reports each
//! exchange to an [`Observer`] (what `spec exec -v` prints).
//!
//! # Faults
//!
//! - **Timeouts**: `connect_timeout` bounds connection set-up (DNS, TCP,
//!   TLS); `timeout` bounds one whole attempt, body included.
//! - **Size cap**: a response body larger than `max_response_bytes` is
//!   refused — by its `Content-Length` before reading, otherwise while it
//!   streams in, so memory stays bounded whatever the server sends.
//! - **Retries**: at most `max_attempts` attempts in all. Between attempts
//!   the delay doubles from `base_delay` (capped at `max_delay`) with
//!   jitter (a random point in the upper half of the step), and is at least
//!   what a `Retry-After` header asks (seconds or an HTTP date). A
//!   `Retry-After` longer than `max_retry_after` is not waited for: the
//!   response is returned as is and the error quotes it.
//! - **What is retried** depends on whether the request is *retry-safe*
//!   (the action's `retry_safe`, default true for GET, PUT and DELETE,
//!   false for POST and PATCH):
//!   - a connection that could not be established (nothing was sent):
//!     always retried;
//!   - 408, 429, 500, 502, 503, 504, a timeout or a connection dropped mid-exchange: retried
//!     only when retry-safe — a POST that may have reached the server is
//!     never sent twice unless the spec says the API tolerates it.
//!
//!   A 200 carrying an API error code is never retried here: whether it
//!   is transient is the API's business, not the transport's.

use std::fmt;
use std::time::{Duration, SystemTime};

use super::redact::Secrets;
use super::request::PreparedRequest;
use super::response::RetryAfter;
use crate::model::Method;

/// Request timeout, rate limited, and the transient server errors.
pub const RETRYABLE_STATUSES: &[u16] = &[408, 429, 500, 502, 503, 504];

/// Transport settings. `Default` gives the CLI's defaults.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Bound on connection set-up (DNS, TCP, TLS).
    pub connect_timeout: Duration,
    /// Bound on one attempt, from sending to the last body byte.
    pub timeout: Duration,
    /// Larger response bodies are refused.
    pub max_response_bytes: u64,
    pub retry: RetryPolicy,
}

impl Default for HttpSettings {
    fn default() -> HttpSettings {
        HttpSettings {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_response_bytes: 16 * 1024 * 1024,
            retry: RetryPolicy::default(),
        }
    }
}

/// Bounded retries with exponential backoff and jitter.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = never retry).
    pub max_attempts: u32,
    /// The first delay; doubled after each retry.
    pub base_delay: Duration,
    /// No backoff step is longer than this.
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not waited for.
    pub max_retry_after: Duration,
    /// Whether delays are waited out. `false` replays recorded exchanges
    /// (`spec test`): the same retry decisions, without the clock running.
    pub wait: bool,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
            wait: true,
        }
    }
}

impl RetryPolicy {
    /// The backoff before retry number `retry` (1-based): the step
    /// `base * 2^(retry-1)` capped at `max_delay`, jittered into its upper
    /// half so that clients started together spread out.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        let step = self
            .base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay);
        let half = step / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(fastrand::u64(0..=jitter_ms))
    }
}

/// A response as received: status, headers in order, the whole body.
#[derive(Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Attempts it took (1 = no retry).
    pub attempts: u32,
    /// Time from sending the last attempt to the last body byte.
    pub elapsed: Duration,
}

impl HttpResponse {
    /// A response received in one attempt (tests, replays, embedders with
    /// their own HTTP client).
    pub fn new(
        status: u16,
        headers: Vec<(String, String)>,
        body: impl Into<Vec<u8>>,
    ) -> HttpResponse {
        HttpResponse {
            status,
            headers,
            body: body.into(),
            attempts: 1,
            elapsed: Duration::ZERO,
        }
    }

    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `Retry-After` delay the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        self.header("retry-after")
            .and_then(RetryAfter::parse)
            .map(|r| r.delay(SystemTime::now()))
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &self.headers.len())
            .field("body_bytes", &self.body.len())
            .field("attempts", &self.attempts)
            .finish()
    }
}

/// Why no response came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetErrorKind {
    /// The connection could not be established (DNS, refused, TLS).
    Connect,
    /// An attempt took longer than the timeout.
    Timeout,
    /// The connection broke mid-exchange, or the response was malformed.
    Transfer,
    /// The body is larger than `max_response_bytes`.
    TooLarge,
    /// The request cannot be sent as built (an invalid header, URL).
    Request,
}

/// A transport failure, after any retries. The message is redacted.
#[derive(Debug, Clone)]
pub struct NetError {
    pub kind: NetErrorKind,
    pub message: String,
    pub attempts: u32,
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if self.attempts > 1 {
            write!(f, " (after {} attempts)", self.attempts)?;
        }
        Ok(())
    }
}

impl std::error::Error for NetError {}

/// Sees every exchange: `spec exec -v` prints them (redacted); a platform
/// can log or trace them. Every method has a do-nothing default.
pub trait Observer: Send + Sync {
    /// Attempt `attempt` (1-based) of `request` is about to be sent.
    fn request(&self, _attempt: u32, _request: &PreparedRequest) {}
    /// A response arrived (its body fully read). Redact with `secrets`.
    fn response(&self, _attempt: u32, _response: &HttpResponse, _secrets: &Secrets) {}
    /// The next attempt follows after `delay`, because of `reason`.
    fn retry(&self, _attempt: u32, _delay: Duration, _reason: &str) {}
}

/// An observer that ignores everything.
pub struct Quiet;

impl Observer for Quiet {}

/// Answers requests without the network: `spec test` serves recorded
/// exchanges through it. Retries, observers and response rules run as
/// they do for real responses.
pub trait Replay: Send + Sync {
    /// The response to `request` (its `attempts` and `elapsed` are set by
    /// the transport).
    fn respond(&self, request: &PreparedRequest) -> Result<HttpResponse, NetError>;
}

/// One HTTP client (and its connection pool), shared by every call.
/// Cheap to clone; safe to use from many tasks at once.
#[derive(Clone)]
pub struct Transport {
    client: reqwest::Client,
    settings: HttpSettings,
    replay: Option<std::sync::Arc<dyn Replay>>,
}

impl Transport {
    pub fn new(settings: HttpSettings) -> Result<Transport, NetError> {
        // reqwest is built without a default crypto provider (its default,
        // aws-lc, needs cmake and a C toolchain); ring is installed once
        // per process. An error means one is already installed: fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .user_agent(concat!("spec/", env!("CARGO_PKG_VERSION")))
            // Redirects are followed by reqwest only for GET-like cases;
            // keep the default policy (at most 10).
            .build()
            .map_err(|e| NetError {
                kind: NetErrorKind::Request,
                message: format!("cannot create the HTTP client: {e}"),
                attempts: 0,
            })?;
        Ok(Transport {
            client,
            settings,
            replay: None,
        })
    }

    /// A transport that sends nothing: `replay` answers every request.
    pub fn replaying(
        settings: HttpSettings,
        replay: std::sync::Arc<dyn Replay>,
    ) -> Result<Transport, NetError> {
        let mut transport = Transport::new(settings)?;
        transport.replay = Some(replay);
        Ok(transport)
    }

    pub fn settings(&self) -> &HttpSettings {
        &self.settings
    }

    /// Sends `request`, retrying as the module docs describe. Returns the
    /// last response whatever its status (deciding success is the
    /// response rule's job), or the transport failure.
    pub async fn send(
        &self,
        request: &PreparedRequest,
        retry_safe: bool,
        observer: &dyn Observer,
    ) -> Result<HttpResponse, NetError> {
        let policy = &self.settings.retry;
        let max_attempts = policy.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            observer.request(attempt, request);
            let outcome = self.attempt(request, attempt).await;
            let last = attempt >= max_attempts;
            match outcome {
                Ok(response) => {
                    observer.response(attempt, &response, request.secrets());
                    let retryable_status = RETRYABLE_STATUSES.contains(&response.status);
                    if last || !retryable_status || !retry_safe {
                        return Ok(response);
                    }
                    let backoff = policy.backoff(attempt);
                    let delay = match response.retry_after() {
                        Some(asked) if asked > policy.max_retry_after => return Ok(response),
                        Some(asked) => asked.max(backoff),
                        None => backoff,
                    };
                    observer.retry(attempt, delay, &format!("HTTP {}", response.status));
                    if policy.wait {
                        tokio::time::sleep(delay).await;
                    }
                }
                Err(error) => {
                    let retryable = match error.kind {
                        NetErrorKind::Connect => true,
                        NetErrorKind::Timeout | NetErrorKind::Transfer => retry_safe,
                        NetErrorKind::TooLarge | NetErrorKind::Request => false,
                    };
                    if last || !retryable {
                        return Err(error);
                    }
                    let delay = policy.backoff(attempt);
                    observer.retry(attempt, delay, &error.message);
                    if policy.wait {
                        tokio::time::sleep(delay).await;
                    }
                }
            }
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        request: &PreparedRequest,
        attempt: u32,
    ) -> Result<HttpResponse, NetError> {
        if let Some(replay) = &self.replay {
            return replay
                .respond(request)
                .map(|response| HttpResponse {
                    attempts: attempt,
                    elapsed: Duration::ZERO,
                    ..response
                })
                .map_err(|error| NetError {
                    attempts: attempt,
                    ..error
                });
        }
        let secrets = request.secrets();
        let fail = |kind: NetErrorKind, message: String| NetError {
            kind,
            message: secrets.redact(&message),
            attempts: attempt,
        };
        let method = match request.method() {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        let url = reqwest::Url::parse(request.url()).map_err(|e| {
            fail(
                NetErrorKind::Request,
                format!("invalid URL {}: {e}", request.url()),
            )
        })?;
        let mut builder = self.client.request(method, url);
        for (name, value) in request.headers() {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                fail(
                    NetErrorKind::Request,
                    format!("invalid header name `{name}`"),
                )
            })?;
            let value = reqwest::header::HeaderValue::from_str(value).map_err(|_| {
                fail(
                    NetErrorKind::Request,
                    format!("header `{name}` has a value that cannot be sent: {value}"),
                )
            })?;
            builder = builder.header(name, value);
        }
        if let Some(body) = request.body() {
            builder = builder.body(body.to_vec());
        }

        let started = std::time::Instant::now();
        let mut response = builder
            .send()
            .await
            .map_err(|e| fail(classify(&e), describe(&e)))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let cap = self.settings.max_response_bytes;
        if let Some(length) = response.content_length()
            && length > cap
        {
            return Err(fail(
                NetErrorKind::TooLarge,
                format!("the response body is {length} bytes, more than the {cap}-byte cap"),
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| fail(classify(&e), describe(&e)))?
        {
            if (body.len() + chunk.len()) as u64 > cap {
                return Err(fail(
                    NetErrorKind::TooLarge,
                    format!("the response body exceeds the {cap}-byte cap"),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
            attempts: attempt,
            elapsed: started.elapsed(),
        })
    }
}

fn classify(error: &reqwest::Error) -> NetErrorKind {
    if error.is_timeout() {
        NetErrorKind::Timeout
    } else if error.is_connect() {
        NetErrorKind::Connect
    } else if error.is_builder() {
        NetErrorKind::Request
    } else {
        NetErrorKind::Transfer
    }
}

/// reqwest's message plus its causes, on one line, without the URL (which
/// the caller already knows and which may carry a signed query).
fn describe(error: &reqwest::Error) -> String {
    let what = if error.is_timeout() {
        "timed out".to_string()
    } else if error.is_connect() {
        "cannot connect".to_string()
    } else if error.is_body() || error.is_decode() {
        "the response broke off".to_string()
    } else {
        "the request failed".to_string()
    };
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !causes.contains(&text) {
            causes.push(text);
        }
        source = cause.source();
    }
    let host = error
        .url()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(port) => format!("{h}:{port}"),
                None => h.to_string(),
            })
        })
        .map(|h| format!(" ({h})"))
        .unwrap_or_default();
    if causes.is_empty() {
        format!("{what}{host}")
    } else {
        format!("{what}{host}: {}", causes.join(": "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            max_retry_after: Duration::from_secs(60),
            wait: true,
        };
        for _ in 0..100 {
            let first = policy.backoff(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = policy.backoff(3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            let capped = policy.backoff(40);
            assert!(capped >= Duration::from_millis(500) && capped <= Duration::from_millis(1000));
        }
    }
}

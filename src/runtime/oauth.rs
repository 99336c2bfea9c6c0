//! OAuth2 for `auth: {type: oauth2}` specs: the authorization-code login
//! (with PKCE), the client-credentials grant, token refresh, and the
//! loopback listener that receives the provider's redirect.
//!
//! The protocol work is the `oauth2` crate's; its HTTP goes through our
//! own [`Transport`] (one reqwest client, timeouts, size cap), so token
//! requests are shown by `-v` like any other request — form fields that
//! are secrets (client secret, code, PKCE verifier, refresh token) masked,
//! and response bodies withheld, since they carry the tokens.
//!
//! # The flow
//!
//! 1. [`Provider::new`] renders the spec's `client_id`, `client_secret`,
//!    `authorize_url`, `token_url`, `refresh_url`, `authorize_params` and
//!    `token_params` with `auth` and `config` (as `app.base_url` is).
//!    An `auth_url_base` (CLI: `--auth-url-base`) replaces the scheme, host
//!    and port of the three URLs and keeps their paths, so a test or a
//!    staging provider stands in for the real one.
//! 2. [`Loopback::bind`] listens on 127.0.0.1 at the port of the spec's
//!    `redirect_uri` (a loopback URL without a port, or no `redirect_uri`
//!    at all, gets a port chosen by the OS, as RFC 8252 allows).
//! 3. [`Provider::authorize`] builds the authorize URL: `response_type=code`,
//!    `client_id`, `redirect_uri`, `scope` joined with the spec's
//!    `scope_separator`, a random `state`, an S256 PKCE challenge when the
//!    spec says `pkce: true`, then `authorize_params`.
//! 4. [`Loopback::wait`] answers one redirect to its path with a small
//!    "you can close this window" page, checks `state`, and returns the
//!    `code` (or the provider's `error` and `error_description`).
//! 5. [`Provider::exchange_code`] trades the code (and verifier) for a
//!    [`TokenSet`]; [`Provider::refresh`] and
//!    [`Provider::client_credentials`] are the other two grants.
//!
//! # Token responses
//!
//! Extra fields (`ext_expires_in`, `id_token`) are ignored; `scope` may be
//! space-, `%20`- or separator-delimited; a missing `expires_in` means the
//! expiry is unknown (refreshed only when the API rejects the token); a
//! missing `refresh_token` on refresh keeps the previous one (only
//! rotating providers send a new one).
//!
//! # Errors
//!
//! A provider's error response (`invalid_grant`, `invalid_client`, ...)
//! becomes an [`ExecErrorKind::Auth`] error quoting `error` and the first
//! line of `error_description` (Microsoft's starts with its `AADSTS` code
//! and goes on with trace ids). A refused refresh token says to log in
//! again with `spec connect <connector>`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use oauth2::basic::{BasicClient, BasicErrorResponse, BasicTokenResponse};
use oauth2::{
    AsyncHttpClient, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError,
    TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::engine::{ExecError, ExecErrorKind};
use super::http::{HttpResponse, NetError, NetErrorKind, Observer, Transport};
use super::redact::Secrets;
use super::request::PreparedRequest;
use super::{Clock, Context, Credentials};
use crate::model::{Auth, ClientAuthMethod, Connector, Method, OAuth2Auth};

/// The tokens of one connection. `Debug` never shows a token.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSet {
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Unix seconds; `None` when the provider did not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
}

impl TokenSet {
    /// Whether the access token expires within `margin` of `now` (Unix
    /// seconds). An unknown expiry never expires here.
    pub fn expiring(&self, now: i64, margin: Duration) -> bool {
        let margin = i64::try_from(margin.as_secs()).unwrap_or(i64::MAX);
        self.access_token.is_empty()
            || self
                .expires_at
                .is_some_and(|at| at.saturating_sub(margin) <= now)
    }
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"***")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "***"))
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .field("token_type", &self.token_type)
            .finish()
    }
}

/// Where refreshed tokens go: the CLI writes them to the credentials file;
/// a platform embedding the engine plugs in its own store.
///
/// [`save`](TokenSink::save) is called right after a refresh, before the
/// new access token is used: a provider that rotates refresh tokens has
/// invalidated the old one, so the new one must be stored first. An error
/// fails the call.
pub trait TokenSink: Send + Sync {
    fn save(&self, connector: &Connector, tokens: &TokenSet) -> Result<(), String>;
}

/// The spec's OAuth2 settings, rendered for one connection.
pub struct Provider {
    connector: String,
    client_id: String,
    client_secret: Option<String>,
    client_auth: ClientAuthMethod,
    authorize_url: Option<String>,
    token_url: String,
    refresh_url: String,
    scope: Option<String>,
    separator: String,
    pkce: bool,
    authorize_params: Vec<(String, String)>,
    token_params: Vec<(String, String)>,
    secrets: Secrets,
}

/// An authorization in progress: the URL to open, and what the redirect
/// and the code exchange must match.
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub redirect_uri: String,
    verifier: Option<String>,
}

impl Provider {
    /// Renders the spec's OAuth2 settings with `credentials` (see the
    /// module docs); `auth_url_base` replaces the origin of its URLs.
    pub fn new(
        connector: &Connector,
        credentials: &Credentials,
        auth_url_base: Option<&str>,
        clock: &dyn Clock,
    ) -> Result<Provider, ExecError> {
        let Auth::Oauth2(oauth) = &connector.auth else {
            return Err(ExecError::new(
                ExecErrorKind::Spec,
                format!("connector `{}` does not use OAuth2", connector.app.key),
            ));
        };
        let context = Context::new(connector, credentials, clock).map_err(|e| {
            ExecError::from(e).hint(format!(
                "run `spec connect {}`, or set the {} variables",
                connector.app.key,
                crate::connections::env_var(&connector.app.key, "<field>")
            ))
        })?;
        let mut secrets = context.secrets().clone();
        let scope = context.scope(&["auth", "config"], &[]);
        let render = |what: &str, source: &str| -> Result<String, ExecError> {
            if !crate::template::is_template(source) {
                return Ok(source.to_string());
            }
            crate::template::environment()
                .render_str(source, &scope)
                .map_err(|e| {
                    ExecError::new(
                        ExecErrorKind::Spec,
                        secrets.redact(&format!("cannot render the OAuth2 {what}: {e}")),
                    )
                })
        };
        let url = |what: &str, source: &str| -> Result<String, ExecError> {
            let rendered = render(what, source)?;
            match auth_url_base {
                Some(base) => rebase(&rendered, base).ok_or_else(|| {
                    ExecError::new(
                        ExecErrorKind::Spec,
                        format!("the OAuth2 {what} `{rendered}` is not a URL"),
                    )
                }),
                None => Ok(rendered),
            }
        };
        let authorize_url = match &oauth.authorize_url {
            Some(source) => Some(url("authorize URL", source)?),
            None => None,
        };
        let token_url = url("token URL", &oauth.token_url)?;
        let refresh_url = match &oauth.refresh_url {
            Some(source) => url("refresh URL", source)?,
            None => token_url.clone(),
        };
        let client_id = render("client id", &oauth.client_id)?;
        let client_secret =
            Some(render("client secret", &oauth.client_secret)?).filter(|s| !s.is_empty());
        let params = |what: &str, map: &indexmap::IndexMap<String, String>| {
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render(&format!("{what} `{k}`"), v)?)))
                .collect::<Result<Vec<_>, ExecError>>()
        };
        let authorize_params = params("authorize parameter", &oauth.authorize_params)?;
        let token_params = params("token parameter", &oauth.token_params)?;
        if let Some(secret) = &client_secret {
            secrets.add(secret);
        }
        Ok(Provider {
            connector: connector.app.key.clone(),
            client_id,
            client_secret,
            client_auth: oauth.client_auth,
            authorize_url,
            token_url,
            refresh_url,
            scope: scope_param(oauth),
            separator: oauth.scope_separator.clone(),
            pkce: oauth.pkce,
            authorize_params,
            token_params,
            secrets,
        })
    }

    /// The token endpoint (after `auth_url_base`).
    pub fn token_url(&self) -> &str {
        &self.token_url
    }

    /// Starts an authorization-code login redirecting to `redirect_uri`.
    pub fn authorize(&self, redirect_uri: &str) -> Result<Authorization, ExecError> {
        let Some(authorize_url) = &self.authorize_url else {
            return Err(ExecError::new(
                ExecErrorKind::Spec,
                format!("connector `{}` has no `auth.authorize_url`", self.connector),
            ));
        };
        let client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_auth_uri(AuthUrl::new(authorize_url.clone()).map_err(|e| {
                ExecError::new(
                    ExecErrorKind::Spec,
                    format!("the OAuth2 authorize URL `{authorize_url}` is invalid: {e}"),
                )
            })?)
            .set_redirect_uri(redirect_url(redirect_uri)?);
        let mut request = client.authorize_url(CsrfToken::new_random);
        let mut verifier = None;
        if self.pkce {
            let (challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
            request = request.set_pkce_challenge(challenge);
            verifier = Some(pkce_verifier.secret().clone());
        }
        if let Some(scope) = &self.scope {
            request = request.add_extra_param("scope", scope.clone());
        }
        for (k, v) in &self.authorize_params {
            request = request.add_extra_param(k.clone(), v.clone());
        }
        let (url, state) = request.url();
        Ok(Authorization {
            url: url.to_string(),
            state: state.secret().clone(),
            redirect_uri: redirect_uri.to_string(),
            verifier,
        })
    }

    /// Trades the redirect's `code` for tokens.
    pub async fn exchange_code(
        &self,
        transport: &Transport,
        observer: &dyn Observer,
        authorization: &Authorization,
        code: &str,
        now: i64,
    ) -> Result<TokenSet, ExecError> {
        let mut secrets = self.secrets.clone();
        secrets.add(code);
        if let Some(verifier) = &authorization.verifier {
            secrets.add(verifier);
        }
        let http = TokenHttp::new(transport, observer, secrets);
        let client = self
            .client(&self.token_url)?
            .set_redirect_uri(redirect_url(&authorization.redirect_uri)?);
        let mut request = client.exchange_code(AuthorizationCode::new(code.to_string()));
        if let Some(verifier) = &authorization.verifier {
            request = request.set_pkce_verifier(PkceCodeVerifier::new(verifier.clone()));
        }
        for (k, v) in &self.token_params {
            request = request.add_extra_param(k.clone(), v.clone());
        }
        let response = request.request_async(&http).await;
        self.tokens(response, &http, Grant::Code, now, None)
    }

    /// Trades `refresh_token` for new tokens. A response without a refresh
    /// token keeps this one.
    pub async fn refresh(
        &self,
        transport: &Transport,
        observer: &dyn Observer,
        refresh_token: &str,
        now: i64,
    ) -> Result<TokenSet, ExecError> {
        let mut secrets = self.secrets.clone();
        secrets.add(refresh_token);
        let http = TokenHttp::new(transport, observer, secrets);
        let client = self.client(&self.refresh_url)?;
        let token = RefreshToken::new(refresh_token.to_string());
        let mut request = client.exchange_refresh_token(&token);
        if let Some(scope) = &self.scope {
            request = request.add_extra_param("scope", scope.clone());
        }
        for (k, v) in &self.token_params {
            request = request.add_extra_param(k.clone(), v.clone());
        }
        let response = request.request_async(&http).await;
        self.tokens(response, &http, Grant::Refresh, now, Some(refresh_token))
    }

    /// The client-credentials grant: a token for the client itself.
    pub async fn client_credentials(
        &self,
        transport: &Transport,
        observer: &dyn Observer,
        now: i64,
    ) -> Result<TokenSet, ExecError> {
        let http = TokenHttp::new(transport, observer, self.secrets.clone());
        let client = self.client(&self.token_url)?;
        let mut request = client.exchange_client_credentials();
        if let Some(scope) = &self.scope {
            request = request.add_extra_param("scope", scope.clone());
        }
        for (k, v) in &self.token_params {
            request = request.add_extra_param(k.clone(), v.clone());
        }
        let response = request.request_async(&http).await;
        self.tokens(response, &http, Grant::ClientCredentials, now, None)
    }

    fn client(
        &self,
        token_url: &str,
    ) -> Result<
        BasicClient<
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointSet,
        >,
        ExecError,
    > {
        let mut client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_token_uri(TokenUrl::new(token_url.to_string()).map_err(|e| {
                ExecError::new(
                    ExecErrorKind::Spec,
                    format!("the OAuth2 token URL `{token_url}` is invalid: {e}"),
                )
            })?)
            .set_auth_type(match self.client_auth {
                ClientAuthMethod::Body => AuthType::RequestBody,
                ClientAuthMethod::Basic => AuthType::BasicAuth,
            });
        if let Some(secret) = &self.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.clone()));
        }
        Ok(client)
    }

    /// A token response as a [`TokenSet`], or a provider error as an
    /// [`ExecError`].
    fn tokens(
        &self,
        response: Result<BasicTokenResponse, RequestTokenError<NetError, BasicErrorResponse>>,
        http: &TokenHttp<'_>,
        grant: Grant,
        now: i64,
        previous_refresh: Option<&str>,
    ) -> Result<TokenSet, ExecError> {
        let response = response.map_err(|e| self.token_error(e, http, grant))?;
        let mut scopes = Vec::new();
        for scope in response.scopes().into_iter().flatten() {
            for part in scope.as_str().split("%20") {
                let parts: Vec<&str> = if self.separator.is_empty() || self.separator == " " {
                    vec![part]
                } else {
                    part.split(self.separator.as_str()).collect()
                };
                scopes.extend(
                    parts
                        .into_iter()
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string),
                );
            }
        }
        let access_token = response.access_token().secret().clone();
        if access_token.is_empty() {
            return Err(ExecError::new(
                ExecErrorKind::Auth,
                format!("the {} answer has an empty access token", grant.what()),
            ));
        }
        Ok(TokenSet {
            access_token,
            refresh_token: response
                .refresh_token()
                .map(|t| t.secret().clone())
                .or_else(|| previous_refresh.map(str::to_string)),
            expires_at: response
                .expires_in()
                .map(|d| now.saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2))),
            scopes,
            token_type: Some(response.token_type().as_ref().to_string()),
        })
    }

    fn token_error(
        &self,
        error: RequestTokenError<NetError, BasicErrorResponse>,
        http: &TokenHttp<'_>,
        grant: Grant,
    ) -> ExecError {
        let connector = &self.connector;
        let redact = |s: &str| http.secrets.redact(s);
        match error {
            RequestTokenError::ServerResponse(response) => {
                let code = response.error().as_ref().to_string();
                let description = response
                    .error_description()
                    .and_then(|d| d.lines().map(str::trim).find(|l| !l.is_empty()))
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default();
                let message = redact(&format!(
                    "the authorization server refused the {}: {code}{description}",
                    grant.what()
                ));
                let hint = match (code.as_str(), grant) {
                    ("invalid_grant", Grant::Refresh) => {
                        format!("log in again with `spec connect {connector}`")
                    }
                    ("invalid_grant", _) => format!(
                        "the code expired, was used already, or its PKCE verifier does not match: run `spec connect {connector}` again"
                    ),
                    ("invalid_client" | "unauthorized_client", _) => format!(
                        "check the client id and secret of the connection (`spec connect {connector}`)"
                    ),
                    ("invalid_scope", _) => {
                        "the provider refused the spec's `scopes`: check them".to_string()
                    }
                    _ => "see the provider's message".to_string(),
                };
                ExecError::new(ExecErrorKind::Auth, message).hint(hint)
            }
            RequestTokenError::Request(net) => {
                let kind = match net.kind {
                    NetErrorKind::Request => ExecErrorKind::Spec,
                    _ => ExecErrorKind::Network,
                };
                ExecError::new(kind, format!("the {} failed: {net}", grant.what())).hint(
                    "check the token URL and your network (`--auth-url-base` overrides the host)",
                )
            }
            RequestTokenError::Parse(error, body) => {
                let status = http.status();
                // A success body holds tokens: quote only error bodies.
                let shown = if status.is_some_and(|s| s >= 400) {
                    let text = redact(&String::from_utf8_lossy(&body));
                    let text: String = text.chars().take(300).collect();
                    format!(": {}", text.trim())
                } else {
                    String::new()
                };
                let status = status.map(|s| format!(" (HTTP {s})")).unwrap_or_default();
                let kind = if status.is_empty() {
                    ExecErrorKind::Api
                } else {
                    ExecErrorKind::Auth
                };
                ExecError::new(
                    kind,
                    format!(
                        "the {} answer{status} is not an OAuth2 token response ({}){shown}",
                        grant.what(),
                        redact(&error.to_string())
                    ),
                )
                .hint(format!(
                    "the token endpoint answered unexpectedly: check the spec's token URL, or log in again with `spec connect {connector}`"
                ))
            }
            RequestTokenError::Other(message) => ExecError::new(
                ExecErrorKind::Auth,
                format!(
                    "the {} failed{}: {}",
                    grant.what(),
                    http.status()
                        .map(|s| format!(" (HTTP {s})"))
                        .unwrap_or_default(),
                    redact(&message)
                ),
            )
            .hint("check the spec's token URL"),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Grant {
    Code,
    Refresh,
    ClientCredentials,
}

impl Grant {
    fn what(self) -> &'static str {
        match self {
            Grant::Code => "code exchange",
            Grant::Refresh => "token refresh",
            Grant::ClientCredentials => "client-credentials token request",
        }
    }
}

/// The spec's scopes joined with its separator, if any.
fn scope_param(oauth: &OAuth2Auth) -> Option<String> {
    (!oauth.scopes.is_empty()).then(|| oauth.scopes.join(&oauth.scope_separator))
}

fn redirect_url(uri: &str) -> Result<RedirectUrl, ExecError> {
    RedirectUrl::new(uri.to_string()).map_err(|e| {
        ExecError::new(
            ExecErrorKind::Spec,
            format!("the OAuth2 redirect URL `{uri}` is invalid: {e}"),
        )
    })
}

/// `url` with its scheme, host and port taken from `base` (and `base`'s
/// path, if any, put before its own).
pub fn rebase(url: &str, base: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    reqwest::Url::parse(base).ok()?;
    let mut out = base.trim_end_matches('/').to_string();
    out.push_str(parsed.path());
    if let Some(query) = parsed.query() {
        out.push('?');
        out.push_str(query);
    }
    Some(out)
}

/// The `oauth2` crate's HTTP client over our [`Transport`]: token requests
/// are redacted with the grant's secrets, shown by `-v` with their response
/// bodies withheld, and never resent once they may have reached the server
/// (a code is single-use; a rotated refresh token is spent).
struct TokenHttp<'a> {
    transport: &'a Transport,
    observer: &'a dyn Observer,
    secrets: Secrets,
    /// The status of the last response, for error messages.
    status: Mutex<Option<u16>>,
}

impl<'a> TokenHttp<'a> {
    fn new(transport: &'a Transport, observer: &'a dyn Observer, secrets: Secrets) -> Self {
        TokenHttp {
            transport,
            observer,
            secrets,
            status: Mutex::new(None),
        }
    }

    fn status(&self) -> Option<u16> {
        self.status.lock().ok().and_then(|s| *s)
    }
}

impl<'c> AsyncHttpClient<'c> for TokenHttp<'_> {
    type Error = NetError;
    type Future = Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, NetError>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let mut secrets = self.secrets.clone();
            let method = match *request.method() {
                oauth2::http::Method::GET => Method::Get,
                oauth2::http::Method::PUT => Method::Put,
                oauth2::http::Method::PATCH => Method::Patch,
                oauth2::http::Method::DELETE => Method::Delete,
                _ => Method::Post,
            };
            let mut headers = Vec::new();
            for (name, value) in request.headers() {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                if name == oauth2::http::header::AUTHORIZATION {
                    secrets.add(&value);
                    if let Some(credential) = value.strip_prefix("Basic ") {
                        secrets.add(credential);
                    }
                }
                headers.push((name.as_str().to_string(), value));
            }
            let body = request.body();
            let prepared = PreparedRequest::raw(
                method,
                request.uri().to_string(),
                headers,
                (!body.is_empty()).then(|| body.clone()),
                secrets,
            );
            let observer = Withheld(self.observer);
            let response = self.transport.send(&prepared, false, &observer).await?;
            if let Ok(mut status) = self.status.lock() {
                *status = Some(response.status);
            }
            let mut builder = oauth2::http::Response::builder().status(response.status);
            for (name, value) in &response.headers {
                builder = builder.header(name.as_str(), value.as_str());
            }
            builder.body(response.body).map_err(|e| NetError {
                kind: NetErrorKind::Transfer,
                message: format!("malformed response from the token endpoint: {e}"),
                attempts: 1,
            })
        })
    }
}

/// Passes everything on, but replaces successful response bodies: token
/// responses carry the tokens.
struct Withheld<'a>(&'a dyn Observer);

impl Observer for Withheld<'_> {
    fn request(&self, attempt: u32, request: &PreparedRequest) {
        self.0.request(attempt, request);
    }

    fn response(&self, attempt: u32, response: &HttpResponse, secrets: &Secrets) {
        // Error answers carry no token, and say what went wrong.
        if response.status >= 400 || response.body.is_empty() {
            self.0.response(attempt, response, secrets);
            return;
        }
        let mut shown = response.clone();
        shown.body = b"(body withheld: it carries the tokens)".to_vec();
        self.0.response(attempt, &shown, secrets);
    }

    fn retry(&self, attempt: u32, delay: Duration, reason: &str) {
        self.0.retry(attempt, delay, reason);
    }
}

/// A one-shot HTTP listener on the loopback interface for the provider's
/// redirect.
pub struct Loopback {
    listener: tokio::net::TcpListener,
    redirect_uri: String,
    path: String,
}

/// The page the browser shows after the redirect.
const PAGE: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>spec</title></head>\
<body style=\"font-family:sans-serif;margin:3em\"><h1>{title}</h1><p>{text}</p></body></html>";

impl Loopback {
    /// Listens where `registered` (the spec's `redirect_uri`) points: an
    /// `http` URL on 127.0.0.1, `localhost` or `[::1]`. Without a port, or
    /// without a registered URL, the OS picks one.
    pub async fn bind(registered: Option<&str>) -> Result<Loopback, ExecError> {
        let (host, port, path) = match registered {
            None => ("127.0.0.1".to_string(), 0, "/callback".to_string()),
            Some(uri) => {
                let url = reqwest::Url::parse(uri).map_err(|e| {
                    ExecError::new(
                        ExecErrorKind::Spec,
                        format!("the spec's redirect_uri `{uri}` is not a URL: {e}"),
                    )
                })?;
                let host = url.host_str().unwrap_or_default().to_string();
                if url.scheme() != "http"
                    || !matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]")
                {
                    return Err(ExecError::new(
                        ExecErrorKind::Spec,
                        format!(
                            "the spec's redirect_uri `{uri}` is not a loopback http URL, so `spec connect` cannot receive the redirect"
                        ),
                    )
                    .hint("register a loopback redirect URL such as http://127.0.0.1:8765/callback with the provider and in the spec"));
                }
                (host, url.port().unwrap_or(0), url.path().to_string())
            }
        };
        let bind_host = if host == "[::1]" {
            "[::1]"
        } else {
            "127.0.0.1"
        };
        let listener = tokio::net::TcpListener::bind(format!("{bind_host}:{port}"))
            .await
            .map_err(|e| {
                ExecError::new(
                    ExecErrorKind::Network,
                    format!("cannot listen on {bind_host}:{port} for the redirect: {e}"),
                )
                .hint("another program uses the port of the spec's redirect_uri: stop it and retry")
            })?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
        Ok(Loopback {
            listener,
            redirect_uri: format!("http://{host}:{port}{path}"),
            path,
        })
    }

    /// The redirect URL to send to the provider (with the actual port).
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Waits up to `timeout` for the redirect to this listener's path and
    /// returns its `code`, after checking `state`. Other paths (a
    /// browser's `/favicon.ico`) get a 404 and the wait goes on.
    pub async fn wait(self, state: &str, timeout: Duration) -> Result<String, ExecError> {
        let waited = tokio::time::timeout(timeout, async {
            loop {
                let (mut stream, _) = self.listener.accept().await.map_err(|e| {
                    ExecError::new(
                        ExecErrorKind::Network,
                        format!("the redirect listener failed: {e}"),
                    )
                })?;
                let Some(target) = read_target(&mut stream).await else {
                    continue;
                };
                let (path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
                if path != self.path {
                    respond(&mut stream, 404, "Not found", "This is not the redirect path.").await;
                    continue;
                }
                let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
                    .into_owned()
                    .collect();
                let get = |key: &str| {
                    params
                        .iter()
                        .find(|(k, _)| k == key)
                        .map(|(_, v)| v.clone())
                };
                if let Some(error) = get("error") {
                    respond(&mut stream, 400, "Authorization failed", "You can close this window and return to the terminal.").await;
                    let description = get("error_description")
                        .and_then(|d| d.lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_string))
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default();
                    return Err(ExecError::new(
                        ExecErrorKind::Auth,
                        format!("the authorization was refused: {error}{description}"),
                    )
                    .hint("nothing was saved; run `spec connect` again to retry"));
                }
                if get("state").as_deref() != Some(state) {
                    respond(&mut stream, 400, "Authorization failed", "The redirect does not belong to this login (state mismatch).").await;
                    return Err(ExecError::new(
                        ExecErrorKind::Auth,
                        "the redirect's `state` does not match this login (a stale or forged redirect); nothing was saved",
                    )
                    .hint("run `spec connect` again and use the URL it prints"));
                }
                let Some(code) = get("code").filter(|c| !c.is_empty()) else {
                    respond(&mut stream, 400, "Authorization failed", "The redirect carries no code.").await;
                    return Err(ExecError::new(
                        ExecErrorKind::Auth,
                        "the redirect carries no `code`; nothing was saved",
                    ));
                };
                respond(
                    &mut stream,
                    200,
                    "Connected",
                    "You can close this window and return to the terminal.",
                )
                .await;
                return Ok(code);
            }
        })
        .await;
        match waited {
            Ok(result) => result,
            Err(_) => Err(ExecError::new(
                ExecErrorKind::Network,
                format!(
                    "no redirect arrived at {} within {} s; nothing was saved",
                    self.redirect_uri,
                    timeout.as_secs()
                ),
            )
            .hint("open the printed URL in a browser, or raise `--login-timeout`")),
        }
    }
}

/// The request target of one HTTP request (`/path?query`), read with a
/// bound on time and size.
async fn read_target(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 2048];
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        while !buffer.windows(4).any(|w| w == b"\r\n\r\n") && buffer.len() < 16 * 1024 {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                break;
            }
            buffer.extend_from_slice(&chunk[..n]);
        }
        Some(())
    })
    .await;
    read.ok()??;
    let text = String::from_utf8_lossy(&buffer);
    let line = text.lines().next()?;
    let mut parts = line.split_whitespace();
    let _method = parts.next()?;
    parts.next().map(str::to_string)
}

async fn respond(stream: &mut tokio::net::TcpStream, status: u16, title: &str, text: &str) {
    let body = PAGE.replace("{title}", title).replace("{text}", text);
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebase_keeps_paths() {
        assert_eq!(
            rebase(
                "https://login.microsoftonline.com/common/oauth2/v2.0/token",
                "http://127.0.0.1:9000/"
            )
            .as_deref(),
            Some("http://127.0.0.1:9000/common/oauth2/v2.0/token")
        );
        assert_eq!(
            rebase("https://a.example/token?x=1", "http://127.0.0.1:1/mock").as_deref(),
            Some("http://127.0.0.1:1/mock/token?x=1")
        );
        assert_eq!(rebase("not a url", "http://127.0.0.1:1"), None);
    }

    #[tokio::test]
    async fn loopback_ports_and_refusals() {
        let chosen = Loopback::bind(None).await.unwrap();
        assert!(chosen.redirect_uri().starts_with("http://127.0.0.1:"));
        assert!(chosen.redirect_uri().ends_with("/callback"));
        assert!(!chosen.redirect_uri().contains(":0/"));
        // A registered loopback URL without a port: the OS picks one.
        let localhost = Loopback::bind(Some("http://localhost/auth/done"))
            .await
            .unwrap();
        assert!(localhost.redirect_uri().starts_with("http://localhost:"));
        assert!(localhost.redirect_uri().ends_with("/auth/done"));
        // A registered port is used as it is.
        let port = chosen.listener.local_addr().unwrap().port();
        drop(chosen);
        let fixed = Loopback::bind(Some(&format!("http://127.0.0.1:{port}/cb")))
            .await
            .unwrap();
        assert_eq!(fixed.redirect_uri(), format!("http://127.0.0.1:{port}/cb"));
        for uri in [
            "https://platform.example.com/oauth/callback",
            "http://10.0.0.1:80/cb",
        ] {
            let error = Loopback::bind(Some(uri)).await.err().unwrap();
            assert_eq!(error.kind, ExecErrorKind::Spec);
            assert!(
                error.message.contains("not a loopback"),
                "{}",
                error.message
            );
        }
        // No redirect in time.
        let error = fixed
            .wait("state", Duration::from_millis(50))
            .await
            .unwrap_err();
        assert_eq!(error.kind, ExecErrorKind::Network);
        assert!(
            error.message.contains("no redirect arrived"),
            "{}",
            error.message
        );
    }

    #[test]
    fn expiry_with_margin() {
        let tokens = TokenSet {
            access_token: "fake".into(),
            expires_at: Some(1000),
            ..TokenSet::default()
        };
        assert!(!tokens.expiring(900, Duration::from_secs(60)));
        assert!(tokens.expiring(940, Duration::from_secs(60)));
        let unknown = TokenSet {
            access_token: "fake".into(),
            ..TokenSet::default()
        };
        assert!(!unknown.expiring(i64::MAX / 2, Duration::from_secs(60)));
        assert!(TokenSet::default().expiring(0, Duration::ZERO));
        let debug = format!(
            "{:?}",
            TokenSet {
                access_token: "fake-secret-access".into(),
                refresh_token: Some("fake-secret-refresh".into()),
                ..TokenSet::default()
            }
        );
        assert!(!debug.contains("fake-secret"), "{debug}");
    }
}

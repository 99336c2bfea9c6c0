//! `spec connect <connector>`: prompt for the connector's auth fields,
//! run the connection test, and save a named connection to the local
//! credentials file (mode 0600, replaced atomically).
//!
//! For an `oauth2` connector it then signs in (see
//! [`crate::runtime::Provider`]): the authorization-code grant prints the
//! authorize URL on stderr (and opens a browser when a display is
//! available, unless `--no-browser`), waits up to `--login-timeout` for
//! the redirect on a loopback listener, checks `state` and exchanges the
//! code; the client-credentials grant just asks the token endpoint.
//! `--refresh` refreshes the saved connection's token instead. The tokens
//! are saved with the connection; none is ever printed.

use std::io::{BufRead, IsTerminal, Write};

use super::Outcome;
use super::exec::{Common, Verbose, block_on, engine, fail, load_connector};
use crate::connections::{self, Connection, CredentialsFile};
use crate::model::{Auth, AuthField, Connector, OAuth2Auth, OAuth2Grant};
use crate::runtime::{
    Call, Clock, Engine, ExecError, ExecErrorKind, Loopback, Provider, SystemClock, TokenSet,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Connector key (looked up in --specs), or the path of its spec.
    connector: String,
    /// Name of the connection (default: the connector key).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Save without running the connection test.
    #[arg(long)]
    no_test: bool,
    /// OAuth2: refresh the saved connection's access token now.
    #[arg(long)]
    refresh: bool,
    /// OAuth2: print the authorize URL instead of opening a browser.
    #[arg(long)]
    no_browser: bool,
    /// OAuth2: seconds to wait for the provider's redirect.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    login_timeout: u64,
    #[command(flatten)]
    common: Common,
}

pub fn run(args: Args) -> Outcome {
    let Some(connector) = load_connector(&args.connector, &args.common.specs) else {
        return Outcome::Code(1);
    };
    if args.refresh && !matches!(connector.auth, Auth::Oauth2(_)) {
        eprintln!(
            "error: --refresh is for OAuth2 connectors; `{}` uses `{}` auth",
            connector.app.key,
            connector.auth.kind()
        );
        return Outcome::Code(2);
    }
    let path = match connections::file_path(args.common.credentials_file.as_deref()) {
        Ok(path) => path,
        Err(error) => {
            eprintln!("error: {error}");
            return Outcome::Failure;
        }
    };
    let file = match CredentialsFile::read(&path, &mut |w| eprintln!("warning: {w}")) {
        Ok(file) => file,
        Err(error) => {
            eprintln!("error: {error}");
            return Outcome::Failure;
        }
    };
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| connector.app.key.clone());
    let previous = file
        .connections
        .get(&name)
        .filter(|c| c.connector == connector.app.key)
        .cloned();
    if let Some(other) = file.connections.get(&name)
        && other.connector != connector.app.key
    {
        eprintln!(
            "error: connection `{name}` already exists for connector `{}`; choose another --name",
            other.connector
        );
        return Outcome::Failure;
    }

    if args.refresh {
        return refresh(&args, &connector, &path, &name, previous);
    }

    let mut values = std::collections::BTreeMap::new();
    let mut prompter = Prompter::new();
    for field in connector.auth.fields() {
        let env = connections::env_var(&connector.app.key, &field.key);
        if let Ok(value) = std::env::var(&env) {
            eprintln!("{}: from {env}", field.label.get("en"));
            values.insert(field.key.clone(), value);
            continue;
        }
        let current = previous.as_ref().and_then(|p| p.values.get(&field.key));
        match prompter.ask(field, current.map(String::as_str)) {
            Ok(Some(value)) => {
                values.insert(field.key.clone(), value);
            }
            Ok(None) => {}
            Err(message) => {
                eprintln!("error: {message}; nothing was saved");
                return Outcome::Failure;
            }
        }
    }
    let mut connection = Connection {
        connector: connector.app.key.clone(),
        values,
        token: None,
    };
    if let Auth::Oauth2(oauth) = &connector.auth {
        match sign_in(&args, &connector, oauth, &connection) {
            Ok(tokens) => connection.token = Some(tokens),
            Err(outcome) => return outcome,
        }
    }

    if !args.no_test && connector.connection.is_some() {
        let engine = match engine(&args.common) {
            Ok(engine) => engine,
            Err(error) => return fail(&error),
        };
        let credentials = connections::resolve(&connector, Some(&connection), &|_| None);
        let observer = Verbose(args.common.verbose);
        let call = Call::new(&connector, &credentials)
            .base_url(args.common.base_url.as_deref())
            .auth_url_base(args.common.auth_url_base.as_deref())
            .token_expires_at(connection.token.as_ref().and_then(|t| t.expires_at))
            .observer(&observer);
        match block_on(engine.check_connection(&call)) {
            Ok(outcome) => match outcome.label {
                Some(label) => eprintln!("connection test passed: {label}"),
                None => eprintln!("connection test passed"),
            },
            Err(error) => {
                let outcome = fail(&error);
                eprintln!("nothing was saved (use --no-test to save anyway)");
                return outcome;
            }
        }
    }

    let summary = connection.token.as_ref().map(describe_tokens);
    // Read again: a login takes a while, and other connections may have
    // changed meanwhile.
    if let Err(error) = connections::save_connection(&path, &name, connection) {
        eprintln!("error: {error}");
        return Outcome::Failure;
    }
    eprintln!("saved connection `{name}` to {}", path.display());
    if let Some(summary) = summary {
        eprintln!("{summary}");
    }
    Outcome::Success
}

/// The OAuth2 sign-in of a new connection: the spec's grant, with the
/// client fields in `connection`.
fn sign_in(
    args: &Args,
    connector: &Connector,
    oauth: &OAuth2Auth,
    connection: &Connection,
) -> Result<TokenSet, Outcome> {
    let engine = engine(&args.common).map_err(|e| fail(&e))?;
    let credentials = connections::resolve(connector, Some(connection), &|_| None);
    let provider = Provider::new(
        connector,
        &credentials,
        args.common.auth_url_base.as_deref(),
        &SystemClock,
    )
    .map_err(|e| fail(&e))?;
    let observer = Verbose(args.common.verbose);
    let result = block_on(async {
        match oauth.grant {
            OAuth2Grant::ClientCredentials => {
                provider
                    .client_credentials(engine.transport(), &observer, now())
                    .await
            }
            OAuth2Grant::AuthorizationCode => {
                authorization_code(args, connector, oauth, &provider, &engine, &observer).await
            }
        }
    });
    result.map_err(|e| {
        let outcome = fail(&e);
        eprintln!("nothing was saved");
        outcome
    })
}

async fn authorization_code(
    args: &Args,
    connector: &Connector,
    oauth: &OAuth2Auth,
    provider: &Provider,
    engine: &Engine,
    observer: &Verbose,
) -> Result<TokenSet, ExecError> {
    let loopback = Loopback::bind(oauth.redirect_uri.as_deref()).await?;
    let authorization = provider.authorize(loopback.redirect_uri())?;
    eprintln!(
        "To connect `{}`, open this URL in a browser and sign in:",
        connector.app.key
    );
    eprintln!("  {}", authorization.url);
    if !args.no_browser && open_browser(&authorization.url) {
        eprintln!("(a browser was opened)");
    }
    eprintln!(
        "waiting for the redirect to {} (up to {} s)...",
        loopback.redirect_uri(),
        args.login_timeout
    );
    let code = loopback
        .wait(
            &authorization.state,
            std::time::Duration::from_secs(args.login_timeout),
        )
        .await?;
    provider
        .exchange_code(engine.transport(), observer, &authorization, &code, now())
        .await
}

/// `spec connect --refresh`: a new access token for the saved connection.
fn refresh(
    args: &Args,
    connector: &Connector,
    path: &std::path::Path,
    name: &str,
    previous: Option<Connection>,
) -> Outcome {
    let Some(mut connection) = previous else {
        eprintln!(
            "error: no connection `{name}` for `{}` in {}; run `spec connect {}` first",
            connector.app.key,
            path.display(),
            connector.app.key
        );
        return Outcome::Code(4);
    };
    let env = |var: &str| std::env::var(var).ok();
    let credentials = connections::resolve(connector, Some(&connection), &env);
    let Some(refresh_token) = credentials.get("refresh_token").cloned() else {
        let hint = match &connector.auth {
            Auth::Oauth2(o) if o.grant == OAuth2Grant::ClientCredentials => {
                "a client-credentials connection has no refresh token: run `spec connect` again for a new token"
            }
            _ => "the provider sent no refresh token: log in again with `spec connect`",
        };
        return fail(
            &ExecError::new(
                ExecErrorKind::Auth,
                format!("connection `{name}` has no refresh token"),
            )
            .hint(hint),
        );
    };
    let engine = match engine(&args.common) {
        Ok(engine) => engine,
        Err(error) => return fail(&error),
    };
    let provider = match Provider::new(
        connector,
        &credentials,
        args.common.auth_url_base.as_deref(),
        &SystemClock,
    ) {
        Ok(provider) => provider,
        Err(error) => return fail(&error),
    };
    let observer = Verbose(args.common.verbose);
    let mut tokens =
        match block_on(provider.refresh(engine.transport(), &observer, &refresh_token, now())) {
            Ok(tokens) => tokens,
            Err(error) => return fail(&error),
        };
    if tokens.scopes.is_empty()
        && let Some(old) = &connection.token
    {
        tokens.scopes = old.scopes.clone();
    }
    let summary = describe_tokens(&tokens);
    connection.token = Some(tokens);
    if let Err(error) = connections::save_connection(path, name, connection) {
        eprintln!("error: {error}");
        return Outcome::Failure;
    }
    eprintln!("refreshed connection `{name}` in {}", path.display());
    eprintln!("{summary}");
    Outcome::Success
}

fn now() -> i64 {
    SystemClock.unix_ms().div_euclid(1000)
}

/// What a token set allows, without any token.
fn describe_tokens(tokens: &TokenSet) -> String {
    let expiry = match tokens.expires_at {
        Some(at) => format!("the access token expires in {} s", at - now()),
        None => "the access token's lifetime is unknown".to_string(),
    };
    let refresh = if tokens.refresh_token.is_some() {
        "a refresh token is stored"
    } else {
        "no refresh token (log in again when it expires)"
    };
    let scopes = if tokens.scopes.is_empty() {
        String::new()
    } else {
        format!("; scopes: {}", tokens.scopes.join(" "))
    };
    format!("{expiry}; {refresh}{scopes}")
}

/// Opens `url` in the user's browser when there is a display to show it
/// on. True when a browser command was started.
fn open_browser(url: &str) -> bool {
    let command = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        return false;
    } else if std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
        || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty())
    {
        "xdg-open"
    } else {
        return false;
    };
    std::process::Command::new(command)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .is_ok()
}

/// Reads field values: hidden input on a terminal for secrets, else one
/// line per field from stdin (scripts, tests).
struct Prompter {
    terminal: bool,
    lines: std::io::Lines<std::io::StdinLock<'static>>,
}

impl Prompter {
    fn new() -> Prompter {
        Prompter {
            terminal: std::io::stdin().is_terminal(),
            lines: std::io::stdin().lock().lines(),
        }
    }

    /// The value of `field`: `None` for an optional field left empty.
    fn ask(&mut self, field: &AuthField, current: Option<&str>) -> Result<Option<String>, String> {
        let label = field.label.get("en");
        if let Some(help) = &field.help {
            eprintln!("{label}: {}", help.get("en"));
        }
        let default = current.map(str::to_string).or_else(|| {
            if field.secret {
                None
            } else {
                field.default.clone()
            }
        });
        let shown_default = match (&default, field.secret) {
            (Some(_), true) => " [keep current]".to_string(),
            (Some(value), false) => format!(" [{value}]"),
            (None, _) if !field.required => " (optional)".to_string(),
            (None, _) => String::new(),
        };
        loop {
            let prompt = format!("{label}{shown_default}: ");
            let answer = if field.secret && self.terminal {
                rpassword::prompt_password(&prompt)
                    .map_err(|e| format!("cannot read {label}: {e}"))?
            } else {
                eprint!("{prompt}");
                let _ = std::io::stderr().flush();
                match self.lines.next() {
                    Some(Ok(line)) => line,
                    Some(Err(e)) => return Err(format!("cannot read {label}: {e}")),
                    None => String::new(),
                }
            };
            let answer = answer.trim_end_matches(['\r', '\n']).to_string();
            if !answer.is_empty() {
                return Ok(Some(answer));
            }
            if default.is_some() || !field.required {
                return Ok(default);
            }
            if !self.terminal {
                return Err(format!("{label} is required"));
            }
            eprintln!("{label} is required.");
        }
    }
}

//! `spec connect <connector>`: prompt for the connector's auth fields,
//! run the connection test, and save a named connection to the local
//! credentials file (mode 0600, replaced atomically).

use std::io::{BufRead, IsTerminal, Write};

use super::Outcome;
use super::exec::{Common, Verbose, block_on, engine, fail, load_connector};
use crate::connections::{self, Connection, CredentialsFile};
use crate::model::{Auth, AuthField};
use crate::runtime::Call;

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
    #[command(flatten)]
    common: Common,
}

pub fn run(args: Args) -> Outcome {
    let Some(connector) = load_connector(&args.connector, &args.common.specs) else {
        return Outcome::Code(1);
    };
    if let Auth::Oauth2(_) = connector.auth {
        eprintln!(
            "error: `{}` uses OAuth2; `spec connect` cannot run the authorization flow yet",
            connector.app.key
        );
        eprintln!(
            "  = hint: set {} (and the client fields) in the environment for `spec exec`",
            connections::env_var(&connector.app.key, "access_token")
        );
        return Outcome::Code(1);
    }
    let path = match connections::file_path(args.common.credentials_file.as_deref()) {
        Ok(path) => path,
        Err(error) => {
            eprintln!("error: {error}");
            return Outcome::Failure;
        }
    };
    let mut file = match CredentialsFile::read(&path, &mut |w| eprintln!("warning: {w}")) {
        Ok(file) => file,
        Err(error) => {
            eprintln!("error: {error}");
            return Outcome::Failure;
        }
    };
    let name = args.name.unwrap_or_else(|| connector.app.key.clone());
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
    let connection = Connection {
        connector: connector.app.key.clone(),
        values,
    };

    if !args.no_test && connector.connection.is_some() {
        let engine = match engine(&args.common) {
            Ok(engine) => engine,
            Err(error) => return fail(&error),
        };
        let credentials = connections::resolve(&connector, Some(&connection), &|_| None);
        let observer = Verbose(args.common.verbose);
        let call = Call::new(&connector, &credentials)
            .base_url(args.common.base_url.as_deref())
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

    file.connections.insert(name.clone(), connection);
    if let Err(error) = file.write(&path) {
        eprintln!("error: {error}");
        return Outcome::Failure;
    }
    eprintln!("saved connection `{name}` to {}", path.display());
    Outcome::Success
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

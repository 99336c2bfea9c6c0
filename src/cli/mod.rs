//! The command line. Each subcommand lives in its own module; this one
//! parses arguments and maps outcomes to exit codes.
//!
//! Exit codes (the same for every command):
//! - 0: success (no errors; warnings allowed);
//! - 1: the specs have problems (diagnostics printed), or a check found drift;
//! - 2: usage error, or a file or directory could not be read or written.
//!
//! `spec exec` and `spec connect` add codes 3-6 for input, auth, API and
//! network failures (see [`exec::EXIT_CODES`]).

mod apply;
mod build;
mod connect;
mod diff;
mod exec;
mod explain;
mod new;
mod test;
mod validate;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit codes:
  0  success (warnings allowed)
  1  the specs have problems, or a check found a difference
  2  usage error, or a file could not be read or written";

/// Declarative connector compiler: validate, build and run connector specs.
#[derive(Debug, Parser)]
#[command(name = "spec", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check specs against the schema and every semantic rule.
    #[command(after_help = EXIT_CODES)]
    Validate(validate::Args),
    /// Explain a diagnostic code: what it checks, why, and how to fix it.
    #[command(after_help = EXIT_CODES)]
    Explain(explain::Args),
    /// Compile specs into generated/: seed SQL for MySQL/MariaDB, PostgreSQL and SQLite, and the docs site.
    #[command(after_help = EXIT_CODES)]
    Build(build::Args),
    /// Show what changed since a git revision or directory: summary, breaking changes, delta SQL.
    #[command(after_help = EXIT_CODES)]
    Diff(diff::Args),
    /// Apply the specs' rows to a database (SQLite, MySQL/MariaDB, PostgreSQL) in one transaction.
    #[command(after_help = EXIT_CODES)]
    Apply(apply::Args),
    /// Run a spec with the interpreter: an action, or the connection test.
    #[command(subcommand)]
    Exec(exec::Command),
    /// Save credentials for a connector (prompted; tested; file mode 0600).
    #[command(after_help = exec::EXIT_CODES)]
    Connect(connect::Args),
    /// Write a commented starter spec, or add an action or trigger stub to one.
    #[command(after_help = EXIT_CODES)]
    New(new::Args),
    /// Replay each connector's recorded test cases offline; fail on a changed request or output.
    #[command(after_help = EXIT_CODES)]
    Test(test::Args),
}

/// Outcome of a command, mapped to an exit code.
pub enum Outcome {
    Success,
    Problems,
    Failure,
    /// A command-specific code (`spec exec`: 3-6).
    Code(u8),
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> ExitCode {
        match outcome {
            Outcome::Success => ExitCode::SUCCESS,
            Outcome::Problems => ExitCode::from(1),
            Outcome::Failure => ExitCode::from(2),
            Outcome::Code(code) => ExitCode::from(code),
        }
    }
}

/// The spec paths a command works on: those given, else `specs`.
pub(crate) fn spec_paths(paths: Vec<std::path::PathBuf>) -> Vec<std::path::PathBuf> {
    if paths.is_empty() {
        vec![std::path::PathBuf::from("specs")]
    } else {
        paths
    }
}

/// Whether to colour output on stderr.
pub(crate) fn stderr_color() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Validate(args) => validate::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Build(args) => build::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Apply(args) => apply::run(args),
        Command::Exec(command) => exec::run(command),
        Command::Connect(args) => connect::run(args),
        Command::New(args) => new::run(args),
        Command::Test(args) => test::run(args),
    };
    outcome.into()
}

//! `spec validate [PATHS...]`

use std::path::PathBuf;

use super::{Outcome, stderr_color};
use crate::diagnostic::Severity;
use crate::render::{self, Format, Summary};
use crate::validate::validate_with;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Spec files or directories (default: `specs`).
    paths: Vec<PathBuf>,
    /// Output format. `human` goes to stderr; `json` and `github` to stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Treat warnings as errors (exit 1 when there are any).
    #[arg(long)]
    deny_warnings: bool,
}

pub fn run(args: Args) -> Outcome {
    let paths = super::spec_paths(args.paths);
    // Models and file texts are dropped as soon as each connector is
    // checked: memory does not grow with the number of connectors.
    let options = crate::validate::Options {
        keep_models: false,
        keep_texts: false,
    };
    let project = match validate_with(&paths, options, &|_| (), &mut |()| {}) {
        Ok(project) => project,
        Err(error) => {
            eprintln!("error: cannot read {error}");
            eprintln!(
                "  = help: pass spec files or directories that exist, e.g. `spec validate specs/`"
            );
            return Outcome::Failure;
        }
    };
    if project.sources.is_empty() {
        // A CI job pointed at the wrong folder must not pass silently.
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        eprintln!("error: no specs found in {}", shown.join(", "));
        eprintln!("  = help: specs are `*.yaml` files, or directories holding `connector.yaml`");
        return Outcome::Failure;
    }
    let summary = Summary {
        connectors: project.connectors_found,
        files: project.sources.len(),
        errors: project.count(Severity::Error),
        warnings: project.count(Severity::Warning),
    };
    match args.format {
        Format::Human => {
            eprint!(
                "{}",
                render::human(&project.sources, &project.diagnostics, stderr_color())
            );
            eprintln!(
                "checked {} connector(s) in {} file(s): {} error(s), {} warning(s)",
                summary.connectors, summary.files, summary.errors, summary.warnings
            );
        }
        Format::Json => print!(
            "{}",
            render::json(&project.sources, &project.diagnostics, summary)
        ),
        Format::Github => print!("{}", render::github(&project.sources, &project.diagnostics)),
    }
    if summary.errors > 0 || (args.deny_warnings && summary.warnings > 0) {
        Outcome::Problems
    } else {
        Outcome::Success
    }
}

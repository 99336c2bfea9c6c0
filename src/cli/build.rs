//! `spec build [PATHS...] [--out DIR] [--check]`

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::{Outcome, stderr_color};
use crate::codegen::{self, output};
use crate::diagnostic::Severity;
use crate::render::{self, display_path};
use crate::validate::{Project, validate};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Spec files or directories (default: `specs`).
    paths: Vec<PathBuf>,
    /// The directory to write into.
    #[arg(long, default_value = "generated")]
    out: PathBuf,
    /// Write nothing; print a diff and exit 1 if the output directory is not
    /// what the specs produce (for CI).
    #[arg(long)]
    check: bool,
}

pub fn run(args: Args) -> Outcome {
    let paths = super::spec_paths(args.paths);
    // The project configuration: `spec.toml` in the current directory.
    let config = match crate::config::Config::discover(Path::new("")) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return Outcome::Failure;
        }
    };
    if !args.check {
        return write(&paths, &args.out, &config);
    }
    // Built into a scratch directory, streamed as `spec build` is (memory
    // does not grow with the specs), then compared with the output
    // directory file by file.
    let scratch = match tempfile::tempdir() {
        Ok(scratch) => scratch,
        Err(error) => {
            eprintln!("error: cannot create a temporary directory: {error}");
            return Outcome::Failure;
        }
    };
    let built = scratch.path().join("generated");
    let streamed = match codegen::stream::write(&paths, &config, &built) {
        Ok(streamed) => streamed,
        Err(error) => {
            cannot_read(&error, "build");
            return Outcome::Failure;
        }
    };
    report(&streamed.project);
    match streamed.written {
        None => {
            eprintln!("error: the specs have errors; nothing was written");
            return Outcome::Problems;
        }
        Some(Err(codegen::WriteError::Build(error))) => return build_failed(&error),
        Some(Err(codegen::WriteError::Output(error))) => {
            eprintln!("error: cannot write {error}");
            return Outcome::Failure;
        }
        Some(Ok(_)) => {}
    }
    let mut fix = "spec build".to_string();
    for path in &paths {
        if path != Path::new("specs") {
            fix.push_str(&format!(" {}", display_path(path)));
        }
    }
    if args.out != Path::new("generated") {
        fix.push_str(&format!(" --out {}", display_path(&args.out)));
    }
    check(&args.out, &built, &fix)
}

fn build_failed(error: &codegen::Error) -> Outcome {
    eprintln!("error: {error}");
    eprintln!("nothing was written");
    Outcome::Problems
}

/// Validates `paths`, printing diagnostics (if any) and the count line as
/// `spec validate` does. `None` when a path cannot be read (reported).
pub(super) fn validated(paths: &[PathBuf], command: &str) -> Option<Project> {
    match validate(paths) {
        Ok(project) => {
            report(&project);
            Some(project)
        }
        Err(error) => {
            cannot_read(&error, command);
            None
        }
    }
}

pub(super) fn cannot_read(error: &crate::load::LoadError, command: &str) {
    eprintln!("error: cannot read {error}");
    eprintln!("  = help: pass spec files or directories that exist, e.g. `spec {command} specs/`");
}

/// Prints a project's diagnostics (if any) and the count line.
pub(super) fn report(project: &Project) {
    if !project.diagnostics.is_empty() {
        eprint!(
            "{}",
            render::human(&project.sources, &project.diagnostics, stderr_color())
        );
        eprintln!(
            "checked {} connector(s) in {} file(s): {} error(s), {} warning(s)",
            project.connectors_found,
            project.sources.len(),
            project.count(Severity::Error),
            project.count(Severity::Warning)
        );
    }
}

/// Validates and builds connector by connector ([`codegen::stream`]), so
/// memory does not grow with the number of connectors, and writes the
/// files only when everything was made.
fn write(paths: &[PathBuf], out: &Path, config: &crate::config::Config) -> Outcome {
    let streamed = match codegen::stream::write(paths, config, out) {
        Ok(streamed) => streamed,
        Err(error) => {
            cannot_read(&error, "build");
            return Outcome::Failure;
        }
    };
    report(&streamed.project);
    let Some(written) = streamed.written else {
        eprintln!("error: the specs have errors; nothing was written");
        return Outcome::Problems;
    };
    match written {
        Ok(report) => {
            // One write for the whole list: `eprintln!` makes three system
            // calls a line on unbuffered stderr, 6,000 for 1,000 connectors.
            let mut listing = String::new();
            for path in &report.written {
                let _ = writeln!(listing, "wrote {}", display_path(&out.join(path)));
            }
            for path in &report.removed {
                let _ = writeln!(listing, "removed {}", display_path(&out.join(path)));
            }
            let _ = writeln!(
                listing,
                "built {}: {} file(s) written, {} unchanged, {} removed",
                display_path(out),
                report.written.len(),
                report.unchanged,
                report.removed.len()
            );
            let _ = std::io::stderr().lock().write_all(listing.as_bytes());
            Outcome::Success
        }
        Err(codegen::WriteError::Build(error)) => build_failed(&error),
        Err(codegen::WriteError::Output(error)) => {
            eprintln!("error: cannot write {error}");
            Outcome::Failure
        }
    }
}

fn check(out: &Path, built: &Path, fix: &str) -> Outcome {
    let (entries, build) = match output::compare_dirs(out, built, &codegen::owned_dirs()) {
        Ok(compared) => compared,
        Err(error) => {
            eprintln!("error: cannot read {error}");
            return Outcome::Failure;
        }
    };
    let build = &build;
    let shown = display_path(out);
    let count = |f: fn(&output::Status) -> bool| entries.iter().filter(|e| f(&e.status)).count();
    let changed = count(|s| matches!(s, output::Status::Changed { .. }));
    let missing = count(|s| matches!(s, output::Status::Missing));
    let extra = count(|s| matches!(s, output::Status::Extra));
    if changed + missing + extra == 0 {
        eprintln!("{shown} is up to date ({} file(s))", entries.len());
        return Outcome::Success;
    }
    print!("{}", output::unified_diff(&entries, build, &shown));
    for entry in &entries {
        let path = display_path(&out.join(&entry.path));
        match entry.status {
            output::Status::Missing => println!("missing: {path}"),
            output::Status::Extra => println!("extra: {path}"),
            output::Status::Changed { .. } => println!("stale: {path}"),
            output::Status::Unchanged => {}
        }
    }
    eprintln!(
        "error: {shown} is stale: {changed} file(s) differ, {missing} missing, {extra} extra"
    );
    eprintln!(
        "  = help: run `{fix}` to regenerate it (in the spec repository: `cargo run -- {}`)",
        &fix[5..]
    );
    Outcome::Problems
}

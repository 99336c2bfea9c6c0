//! Helpers shared by the integration tests: where things are, how to run the
//! real `spec` binary, and how to validate in-process and render the report
//! the way a person sees it (no colour, paths relative to the repository).

// Each test module uses a different subset of these helpers.
#![allow(dead_code)]

pub mod mock;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use spec::diagnostic::Severity;
use spec::render::{self, Summary};
use spec::validate::Project;

/// A guard against hangs only, never a speed assertion: a debug build on a
/// busy 2-core machine must finish every case far below this.
pub const HANG_GUARD: Duration = Duration::from_secs(60);

/// The repository root (the package directory).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A path below `tests/fixtures/`.
pub fn fixture(relative: &str) -> PathBuf {
    root().join("tests/fixtures").join(relative)
}

/// `path` relative to the repository root, with `/` separators, for output
/// and snapshot names.
pub fn display(path: &Path) -> String {
    let relative = path.strip_prefix(root()).unwrap_or(path);
    relative.to_string_lossy().replace('\\', "/")
}

/// Removes the repository root from every path in rendered output, so
/// snapshots do not depend on where the checkout lives.
pub fn relativize(text: &str) -> String {
    let root = root().to_string_lossy().replace('\\', "/");
    text.replace(&format!("{root}/"), "")
}

/// Validates `paths` in-process; a [`spec::load::LoadError`] fails the test.
pub fn validate(paths: &[PathBuf]) -> Project {
    spec::validate::validate(paths)
        .unwrap_or_else(|error| panic!("validating {paths:?} could not read the specs: {error}"))
}

/// The summary the CLI prints, computed from a project.
pub fn summary(project: &Project) -> Summary {
    Summary {
        connectors: project.connectors_found,
        files: project.sources.len(),
        errors: project.count(Severity::Error),
        warnings: project.count(Severity::Warning),
    }
}

/// The human report of `project` without colour, paths repo-relative.
pub fn human(project: &Project) -> String {
    relativize(&render::human(
        &project.sources,
        &project.diagnostics,
        false,
    ))
}

/// The JSON report of `project`, paths repo-relative.
pub fn json(project: &Project) -> String {
    relativize(&render::json(
        &project.sources,
        &project.diagnostics,
        summary(project),
    ))
}

/// The GitHub annotations of `project`, paths repo-relative.
pub fn github(project: &Project) -> String {
    relativize(&render::github(&project.sources, &project.diagnostics))
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// The exit code; a run killed by a signal (or by the hang guard) fails
    /// the test before a `Run` is returned.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts the exit code, showing both streams on failure.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "expected exit code {code}, got {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// A command for the real `spec` binary, run from the repository root with
/// a colour-neutral environment.
pub fn spec_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_spec"));
    command
        .current_dir(root())
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("RUST_BACKTRACE");
    command
}

/// Runs `spec ARGS...` under the hang guard. Fails the test if the process
/// is killed or panics.
#[track_caller]
pub fn spec<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = spec_command();
    command.args(args);
    run(command)
}

/// Runs a prepared command under the hang guard. Fails the test if the
/// process is killed or panics.
#[track_caller]
pub fn run(command: Command) -> Run {
    let shown = format!("{command:?}");
    let output = assert_cmd::Command::from_std(command)
        .timeout(HANG_GUARD)
        .output()
        .unwrap_or_else(|error| panic!("could not run {shown}: {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let Some(code) = output.status.code() else {
        panic!(
            "{shown} was killed ({}; after {HANG_GUARD:?} the hang guard kills it)\n--- stderr\n{stderr}",
            output.status
        );
    };
    assert!(!stderr.contains("panicked"), "{shown} panicked:\n{stderr}");
    Run {
        code,
        stdout,
        stderr,
    }
}

/// The `file:line:col` locations a human report points at (`--> ...`).
pub fn locations(report: &str) -> Vec<String> {
    report
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("--> "))
        .map(str::to_string)
        .collect()
}

/// The codes of a human report's diagnostics (`error[S001]` -> `S001`).
pub fn codes(report: &str) -> Vec<String> {
    report
        .lines()
        .filter_map(|line| {
            let rest = line
                .strip_prefix("error[")
                .or_else(|| line.strip_prefix("warning["))?;
            Some(rest.split(']').next()?.to_string())
        })
        .collect()
}

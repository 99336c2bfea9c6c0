//! `spec apply --database-url URL [PATHS...] [--dry-run | --check]`

use std::path::PathBuf;

use super::Outcome;
use super::build::{cannot_read, report as report_project};
use crate::codegen::apply::{self, Applied, Database, Mode};
use crate::codegen::changes;
use crate::codegen::rows::{self, AppRows, BuildError, Tables};
use crate::validate::{Checked, Options, validate_with};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Spec files or directories (default: `specs`).
    paths: Vec<PathBuf>,
    /// `sqlite://FILE` (created if missing), `mysql://` or `mariadb://`,
    /// `postgres://`. Read from `SPEC_DATABASE_URL` when not given.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Print what would change; write nothing.
    #[arg(long, conflicts_with = "check")]
    dry_run: bool,
    /// Report rows in the database that differ from the specs (drift);
    /// exit 1 when there are any. Writes nothing.
    #[arg(long)]
    check: bool,
}

pub fn run(args: Args) -> Outcome {
    let paths = super::spec_paths(args.paths);
    let desired = match desired_rows(&paths) {
        Ok(tables) => tables,
        Err(outcome) => return outcome,
    };
    let Some(url) = args
        .database_url
        .or_else(|| std::env::var("SPEC_DATABASE_URL").ok())
    else {
        eprintln!("error: no database: pass `--database-url URL` or set SPEC_DATABASE_URL");
        return Outcome::Failure;
    };
    let mut db = match Database::connect(&url) {
        Ok(db) => db,
        Err(error) => {
            eprintln!("error: {error}");
            return Outcome::Failure;
        }
    };
    let mode = if args.dry_run || args.check {
        Mode::DryRun
    } else {
        Mode::Write
    };
    let applied = match apply::apply(&mut db, &desired, mode) {
        Ok(applied) => applied,
        Err(error) => {
            eprintln!("error: {error}");
            eprintln!("nothing was applied: the transaction was rolled back");
            return Outcome::Failure;
        }
    };
    let (inserted, updated, deleted) = applied.totals();
    if args.check {
        if applied.is_empty() {
            eprintln!(
                "the {} database matches the specs ({} rows)",
                db.dialect.title(),
                desired.row_count()
            );
            return Outcome::Success;
        }
        print!("{}", changes::render_human(&applied.report));
        eprintln!(
            "error: the database differs from the specs: {inserted} row(s) missing, {updated} different, {deleted} extra"
        );
        eprintln!("  = help: run `spec apply` to make it match (`--dry-run` shows the SQL)");
        return Outcome::Problems;
    }
    if args.dry_run {
        print!("{}", changes::render_human(&applied.report));
        for statement in &applied.statements {
            println!("{};", statement.sql);
        }
        eprintln!(
            "dry run: would insert {inserted}, update {updated} and delete {deleted} row(s); nothing was written"
        );
        return Outcome::Success;
    }
    report(&applied);
    Outcome::Success
}

fn report(applied: &Applied) {
    for (table, inserted, updated, deleted) in &applied.counts {
        if inserted + updated + deleted > 0 {
            eprintln!("{table}: {inserted} inserted, {updated} updated, {deleted} deleted");
        }
    }
    let (inserted, updated, deleted) = applied.totals();
    eprintln!(
        "applied in one transaction: {inserted} inserted, {updated} updated, {deleted} deleted ({} statement(s))",
        applied.statements.len()
    );
}

/// Validates `paths` and turns each connector into its rows on the thread
/// that checked it, dropping its model right away (memory stays small for
/// thousands of connectors); then merges the rows in app-id order.
fn desired_rows(paths: &[PathBuf]) -> Result<Tables, Outcome> {
    let each = |checked: Checked<'_>| -> Option<Result<AppRows, BuildError>> {
        let connector = checked.connector;
        checked.clean.then(|| {
            rows::app_rows(
                &connector.model,
                &crate::render::display_path(&connector.path),
            )
        })
    };
    let mut apps = Vec::new();
    let options = Options {
        keep_models: false,
        keep_texts: false,
    };
    let project = match validate_with(paths, options, &each, &mut |rows| apps.extend(rows)) {
        Ok(project) => project,
        Err(error) => {
            cannot_read(&error, "apply");
            return Err(Outcome::Failure);
        }
    };
    report_project(&project);
    if project.has_errors() {
        eprintln!("error: the specs have errors; nothing was applied");
        return Err(Outcome::Problems);
    }
    let mut apps = match apps.into_iter().collect::<Result<Vec<AppRows>, _>>() {
        Ok(apps) => apps,
        Err(error) => {
            eprintln!("error: {error}");
            eprintln!("nothing was applied");
            return Err(Outcome::Problems);
        }
    };
    // The same order as `rows::all_rows`, so errors and rows do not
    // depend on threads.
    apps.sort_by_key(|a| a.app_id);
    let mut tables = Tables::default();
    for app in apps {
        tables.extend(app.tables);
    }
    Ok(tables)
}

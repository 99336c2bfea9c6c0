//! `spec apply --database-url URL [PATHS...] [--dry-run | --check]`

use std::path::PathBuf;

use super::Outcome;
use super::build::validated;
use crate::codegen::apply::{self, Applied, Database, Mode};
use crate::codegen::{changes, rows};

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
    let Some(project) = validated(&paths, "apply") else {
        return Outcome::Failure;
    };
    if project.has_errors() {
        eprintln!("error: the specs have errors; nothing was applied");
        return Outcome::Problems;
    }
    let desired = match rows::project_rows(&project.connectors) {
        Ok(tables) => tables,
        Err(error) => {
            eprintln!("error: {error}");
            eprintln!("nothing was applied");
            return Outcome::Problems;
        }
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

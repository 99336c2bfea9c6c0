//! `spec explain CODE`

use super::Outcome;
use crate::codes::Code;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A code (`S001`) or name (`unknown-key`); omit to list every code.
    code: Option<String>,
}

pub fn run(args: Args) -> Outcome {
    let Some(text) = args.code else {
        for code in Code::ALL {
            println!("{}  {:<24} {}", code, code.name(), code.summary());
        }
        return Outcome::Success;
    };
    let Some(code) = Code::parse(&text) else {
        eprintln!("error: unknown diagnostic code `{text}`");
        eprintln!("  = help: run `spec explain` to list every code");
        return Outcome::Failure;
    };
    print!("{}", explain(code));
    Outcome::Success
}

/// The full explanation of a code, as `spec explain` prints it.
pub fn explain(code: Code) -> String {
    let mut example = String::new();
    for line in code.example().lines() {
        example.push_str("    ");
        example.push_str(line);
        example.push('\n');
    }
    format!(
        "{code} ({name}), {severity} by default\n\nWhat it checks\n    {summary}\n\nWhy\n    {why}\n\nExample\n{example}",
        name = code.name(),
        severity = code.default_severity().as_str(),
        summary = code.summary(),
        why = code.why(),
    )
}

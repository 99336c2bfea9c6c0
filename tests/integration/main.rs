//! All integration tests compile into one binary (see Cargo.toml
//! `autotests = false`), as just does: one link, one process.

mod bad_input;
mod cli;
mod common;
mod diagnostics;
mod fuzz;
mod readme;
mod schema_model;
mod specs;

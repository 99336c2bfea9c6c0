//! All integration tests compile into one binary (see Cargo.toml
//! `autotests = false`), as just does: one link, one process.

mod apply;
mod bad_input;
mod browser;
mod build;
mod cli;
mod common;
mod diagnostics;
mod docs;
mod engine;
mod exec;
mod fuzz;
mod httpbin;
mod oauth;
mod readme;
mod runtime_request;
mod schema_model;
mod spec_test;
mod specs;
mod sql;
mod trigger;

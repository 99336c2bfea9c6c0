//! `spec`: a declarative connector compiler.
//!
//! A connector is one reviewed YAML spec. Data flows
//! load ([`load`], [`yaml`]) -> validate ([`schema`], [`rules`]) -> model
//! ([`model`]) -> codegen / runtime, with the CLI ([`cli`]) on top. The
//! README's design section has the module map.
//!
//! ```no_run
//! let project = spec::validate::validate(&["specs".into()]).expect("readable specs");
//! for connector in &project.connectors {
//!     println!("{} has {} action(s)", connector.model.app.key, connector.model.actions.len());
//! }
//! ```

pub mod allocator;
mod bytes;
pub mod cli;
pub mod codegen;
pub mod codes;
pub mod config;
pub mod connections;
pub mod diagnostic;
pub mod load;
pub mod model;
pub mod render;
pub mod rules;
pub mod runtime;
pub mod schema;
pub mod source;
pub mod state;
pub mod template;
pub mod validate;
pub mod yaml;

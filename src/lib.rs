//! `spec`: a declarative connector compiler.
//!
//! Data flows load -> validate -> model -> codegen / runtime:
//! see the README's design section for the module map.

pub mod model;

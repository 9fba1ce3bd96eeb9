//! Stave: declarative workflows on Temporal. Workflow files → checked IR → durable runs.

pub mod check;
pub mod cli;
pub mod diagnostics;
pub mod expr;
pub mod graph;
pub mod init;
pub mod ir;
pub mod jsonschema;
pub mod lint;
pub mod lsp;
pub mod manifest;
pub mod names;
pub mod project;
pub mod runtime;
pub mod schema;
pub mod syntax;
pub mod testing;

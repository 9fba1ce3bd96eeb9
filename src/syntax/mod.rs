//! Stage 1: source text → AST. Never fails: every loader returns what it could read and
//! the diagnostics it collected.

pub mod ast;
pub mod duration;
pub mod project;
pub mod yaml;

//! Stage 1: source text → AST. Never fails: every loader returns what it could read and
//! the diagnostics it collected.

pub mod ast;
pub mod duration;
pub mod print_text;
pub mod print_yaml;
pub mod project;
pub mod text;
pub mod yaml;

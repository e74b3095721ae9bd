//! Source text to AST, and AST back to canonical text.

pub mod ast;
mod comments;
mod expected;
pub mod fmt;
mod grammar;
mod lex;
pub mod parse;

pub use parse::{parse, parse_literal};

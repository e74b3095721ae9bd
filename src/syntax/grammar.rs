//! The pest parser generated from `grammar/rollout.pest`, and its rules: what the builders of
//! the AST and the explanation of a syntax error both read.

#![allow(missing_docs)]

/// The pest parser generated from `grammar/rollout.pest`.
#[derive(pest_derive::Parser)]
#[grammar = "../grammar/rollout.pest"]
pub struct Grammar;

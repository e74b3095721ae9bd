//! `rollout`: canary deployments of AWS Lambda functions, written as `.rollout` playbooks.
//!
//! The pipeline runs one way: [`syntax`] parses text into an AST, [`check`] turns the AST into a
//! [`plan::Plan`], and the commands in [`cli`] print, format or execute that plan.

pub mod check;
pub mod cli;
pub mod cloud;
pub mod diagnostic;
pub mod engine;
pub mod exit;
pub mod hooks;
pub mod plan;
pub mod report;
pub mod simulation;
pub mod syntax;

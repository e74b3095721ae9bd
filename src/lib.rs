//! `rollout`: canary deployments of AWS Lambda functions, written as `.rollout` playbooks.
//!
//! The pipeline runs one way: [`syntax`] parses text into an AST, [`check`] turns the AST into a
//! [`plan::Plan`], and the commands in [`cli`] print, format or execute that plan. The [`engine`]
//! executes it against the traits of [`cloud`]: the AWS SDK, or the simulated world that
//! [`simulation`] drives; [`hooks`] run rhai scripts and [`report`] renders the engine's events.
//! Layers point one way (the `layers` test reads every file to keep it so): nothing in `cloud`,
//! `plan`, `syntax` or `check` names the engine, the renderers or the commands.

pub mod check;
pub mod cli;
pub mod cloud;
pub mod diagnostic;
pub mod engine;
pub mod exit;
pub mod export;
pub mod hooks;
pub mod input;
pub mod judge;
pub mod lsp;
pub mod notify;
pub mod plan;
pub mod replay;
pub mod report;
pub mod simulation;
pub mod span;
pub mod syntax;

#[cfg(test)]
mod layers;

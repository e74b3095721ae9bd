//! The integration tests: one binary driving the real `rollout` executable.

mod check;
#[path = "../common/edit.rs"]
mod edit;
mod examples;
mod export;
mod fixtures;
mod fmt;
mod hostile;
mod kept;
mod limits;
mod lsp;
mod lsp_limits;
mod outputs;
mod plan;
mod replay;
mod report;
mod robustness;
mod setup;
mod simulate;
mod test;

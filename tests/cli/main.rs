//! The integration tests: one binary driving the real `rollout` executable.

mod check;
mod examples;
mod export;
mod fixtures;
mod fmt;
mod plan;
mod robustness;
mod simulate;
mod test;

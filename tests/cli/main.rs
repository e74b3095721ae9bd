//! The integration tests: one binary driving the real `rollout` executable.

mod check;
mod examples;
mod fixtures;
mod fmt;
mod robustness;
mod test;

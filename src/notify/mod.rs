//! Notifications: the rollout's progress, announced to the destinations of a playbook's `notify`
//! lines (EventBridge buses, SNS topics). The engine's events are mapped here to a few documented
//! notifications ([`message`]), which [`deliver`] sends from a task of their own, so that a slow
//! or failing destination never holds the rollout up or changes how it ends.

pub mod deliver;
pub mod message;

pub use deliver::{Delivery, Failure, Notifier, Post, Regional};
pub use message::{Kind, Mapper, Notification};

#[cfg(test)]
mod tests;

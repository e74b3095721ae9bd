//! Where the plan's notifications go, each with the call that sends one, as `rollout plan`
//! shows them.

use std::fmt;

use serde::Serialize;

use super::commands::shell;
use crate::plan::notify::{Destination, Service};

/// One destination and the call each notification makes to it.
#[derive(Debug, Clone, Serialize)]
pub(super) struct NotifyView {
    /// The destination.
    #[serde(flatten)]
    pub(super) destination: Destination,
    /// The call, as an `aws` command line; `<…>` stand for what each notification says.
    pub(super) call: String,
}

impl NotifyView {
    /// The view of `destination`.
    pub(super) fn new(destination: &Destination) -> NotifyView {
        let region = destination
            .region
            .as_ref()
            .map(|r| format!(" --region {}", shell(r)))
            .unwrap_or_default();
        let call = match destination.service {
            Service::EventBridge => {
                let entry = serde_json::json!([{
                    "Source": "rollout",
                    "DetailType": "<Rollout Started, Rollout Step Started, …>",
                    "Detail": "<the notification>",
                    "EventBusName": destination.target,
                }]);
                format!(
                    "aws events put-events --entries {}{region}",
                    shell(&entry.to_string())
                )
            }
            Service::Sns => format!(
                "aws sns publish --topic-arn {} --subject {} --message {}{region}",
                shell(&destination.target),
                shell("<rollout \"NAME\" on ALIAS: step 2/4 started, …>"),
                shell("<the notification>")
            ),
        };
        NotifyView {
            destination: destination.clone(),
            call,
        }
    }
}

/// The section of the text preview: each destination and its call.
pub(super) struct Section<'a>(pub(super) &'a [NotifyView]);

impl fmt::Display for Section<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return Ok(());
        }
        writeln!(f)?;
        writeln!(
            f,
            "notifications (started, each step, held, rolled back, promoted, failed; sent beside the rollout, which a failure to send never stops):"
        )?;
        for view in self.0 {
            writeln!(f, "  {}", view.destination)?;
            writeln!(f, "    {}", view.call)?;
        }
        Ok(())
    }
}

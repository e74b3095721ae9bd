//! Notifications: where a playbook's `notify` lines send the rollout's progress (an EventBridge
//! event bus, an SNS topic), and the names those services accept, checked before a run so that
//! a typo is refused in the file rather than warned about at every step.
//!
//! From the EventBridge API reference: `PutEvents` takes a bus by name, 1 to 256 of
//! `[/._-A-Za-z0-9]`, or by ARN, `arn:PARTITION:events:REGION:ACCOUNT:event-bus/NAME`. From the
//! SNS API reference: `Publish` takes a topic by ARN, `arn:PARTITION:sns:REGION:ACCOUNT:NAME`, the
//! name 1 to 256 of `[A-Za-z0-9_-]` (`.fifo` at the end for a FIFO topic).

use std::fmt;

use serde::Serialize;

pub use crate::syntax::ast::NotifyService as Service;

use crate::span::Span;

/// Longest bus or topic name the services accept.
const NAME_MAX: usize = 256;

/// Where notifications go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Destination {
    /// EventBridge or SNS.
    pub service: Service,
    /// The bus's name or ARN, or the topic's ARN, as written.
    pub target: String,
    /// The region an ARN names; a bus named without one is in the rollout's region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Where the `notify` line is written, for what refuses it.
    #[serde(skip)]
    pub span: Span,
}

impl Destination {
    /// A destination of `service` at `target`, or why the service would refuse `target`.
    pub fn new(service: Service, target: &str, span: Span) -> Result<Destination, String> {
        let region = match service {
            Service::EventBridge => bus(target)?,
            Service::Sns => Some(topic(target)?),
        };
        Ok(Destination {
            service,
            target: target.to_string(),
            region,
            span,
        })
    }
}

impl fmt::Display for Destination {
    /// As a playbook writes it: `eventbridge "rollouts"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.service.as_str(), self.target)
    }
}

/// The six parts of an ARN of `service` whose partition is one of AWS's, or why `text` is not.
fn arn<'a>(text: &'a str, service: &str, shape: &str) -> Result<[&'a str; 6], String> {
    let wrong = |why: String| Err(format!("{text:?} is not {shape}: {why}"));
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    let Ok(parts) = <[&str; 6]>::try_from(parts) else {
        return wrong("it has fewer than six `:`-separated parts".into());
    };
    let [prefix, partition, named, region, account, _] = parts;
    if prefix != "arn" {
        return wrong("it does not start with `arn:`".into());
    }
    let partition_ok = partition.split('-').enumerate().all(|(i, word)| match i {
        0 => word == "aws",
        _ => !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase()),
    });
    if !partition_ok {
        return wrong(format!(
            "`{partition}` is not a partition (`aws`, `aws-cn`, `aws-us-gov`, …)"
        ));
    }
    if named != service {
        return wrong(format!("its service is `{named}`, not `{service}`"));
    }
    if let Some(problem) = super::names::region(region) {
        return wrong(problem);
    }
    if super::names::account(account).is_some() {
        return wrong(format!("`{account}` is not a 12-digit account id"));
    }
    Ok(parts)
}

/// The region of an EventBridge bus given by ARN (`None`: by name), or why `PutEvents` would
/// refuse it.
pub fn bus(text: &str) -> Result<Option<String>, String> {
    if text.is_empty() {
        return Err("the event bus's name is empty".into());
    }
    let (name, region) = if text.starts_with("arn:") {
        let shape = "an event bus's ARN (`arn:aws:events:REGION:ACCOUNT:event-bus/NAME`)";
        let [.., region, _, resource] = arn(text, "events", shape)?;
        let Some(name) = resource.strip_prefix("event-bus/") else {
            return Err(format!(
                "{text:?} is not {shape}: `{resource}` is not `event-bus/NAME`"
            ));
        };
        (name, Some(region.to_string()))
    } else {
        (text, None)
    };
    if let Some(bad) = name
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || "/._-".contains(c)))
    {
        return Err(format!(
            "{text:?} has {bad:?}: an event bus's name is letters, digits and `/._-`"
        ));
    }
    if name.is_empty() || name.chars().count() > NAME_MAX {
        return Err(format!(
            "{text:?}: an event bus's name is 1 to {NAME_MAX} characters long"
        ));
    }
    Ok(region)
}

/// The region of an SNS topic's ARN, or why `Publish` would refuse it.
pub fn topic(text: &str) -> Result<String, String> {
    let shape = "an SNS topic's ARN (`arn:aws:sns:REGION:ACCOUNT:TOPIC`)";
    let [.., region, _, name] = arn(text, "sns", shape)?;
    if name.ends_with(".fifo") {
        return Err(format!(
            "{text:?} is a FIFO topic: a FIFO topic takes messages in groups, and the notifications of a rollout are one message each"
        ));
    }
    let name_ok = !name.is_empty()
        && name.chars().count() <= NAME_MAX
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !name_ok {
        return Err(format!(
            "{text:?} is not {shape}: `{name}` is not a topic's name (1 to {NAME_MAX} letters, digits, `-` and `_`)"
        ));
    }
    Ok(region.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buses_by_name_or_arn_pass_and_what_put_events_refuses_does_not() {
        assert_eq!(bus("rollouts"), Ok(None));
        assert_eq!(bus("default"), Ok(None));
        assert_eq!(bus("partner/acme.com/x_1-2"), Ok(None));
        assert_eq!(
            bus("arn:aws:events:eu-west-1:123456789012:event-bus/rollouts"),
            Ok(Some("eu-west-1".to_string()))
        );
        for (bad, says) in [
            ("", "is empty"),
            ("has space", "has ' '"),
            (&"b".repeat(257), "1 to 256"),
            (
                "arn:aws:sns:eu-west-1:123456789012:t",
                "its service is `sns`",
            ),
            (
                "arn:aws:events:eu-west-1:123456789012:rule/x",
                "is not `event-bus/NAME`",
            ),
            ("arn:aws:events:eu-west-1:1234:event-bus/x", "12-digit"),
            ("arn:aws:events:Europe:123456789012:event-bus/x", "Europe"),
            (
                "arn:aws:events:eu-west-1:123456789012:event-bus/",
                "1 to 256",
            ),
            ("arn:aws:events:eu-west-1", "six"),
        ] {
            let problem = bus(bad).expect_err(bad);
            assert!(problem.contains(says), "{bad}: {problem}");
        }
    }

    #[test]
    fn topics_are_arns_of_standard_topics() {
        assert_eq!(
            topic("arn:aws:sns:eu-west-1:123456789012:releases"),
            Ok("eu-west-1".to_string())
        );
        assert_eq!(
            topic("arn:aws-cn:sns:cn-north-1:123456789012:a_b-c"),
            Ok("cn-north-1".to_string())
        );
        for (bad, says) in [
            ("releases", "six"),
            ("", "six"),
            ("arn:aws:sns:eu-west-1:123456789012:a.fifo", "FIFO"),
            ("arn:aws:sns:eu-west-1:123456789012:", "topic's name"),
            ("arn:aws:sns:eu-west-1:123456789012:a b", "topic's name"),
            (
                "arn:aws:events:eu-west-1:123456789012:t",
                "its service is `events`",
            ),
            ("arm:aws:sns:eu-west-1:123456789012:t", "`arn:`"),
            ("arn:azure:sns:eu-west-1:123456789012:t", "partition"),
        ] {
            let problem = topic(bad).expect_err(bad);
            assert!(problem.contains(says), "{bad}: {problem}");
        }
    }
}

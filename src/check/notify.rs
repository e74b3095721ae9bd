//! `notify` lines: where the rollout's progress is sent, each a bus or topic the service takes,
//! each once.

use super::values::Scope;
use super::Checker;
use crate::diagnostic::{Code, Diag};
use crate::plan::notify::{Destination, Service};
use crate::span::Span;
use crate::syntax::ast;

impl Checker {
    /// The destination of the `notify` line at `span`, or `None` when the service would refuse
    /// it or `earlier` already has it (each problem reported).
    pub(super) fn destination(
        &mut self,
        service: Service,
        target: &ast::Str,
        span: Span,
        earlier: &[Destination],
        scope: &Scope,
    ) -> Option<Destination> {
        let text = self.string(target, scope)?;
        let destination = match Destination::new(service, &text, span) {
            Ok(destination) => destination,
            Err(problem) => {
                let (code, label, help) = match service {
                    Service::EventBridge => (
                        Code::BadBus,
                        "EventBridge does not accept this bus",
                        "name the event bus as `PutEvents` takes it: its name (`notify eventbridge \"rollouts\"`, in the rollout's region) or its ARN (`arn:aws:events:eu-west-1:123456789012:event-bus/rollouts`)",
                    ),
                    Service::Sns => (
                        Code::BadTopic,
                        "SNS does not accept this topic",
                        "give the topic's ARN, as `aws sns list-topics` shows it: `arn:aws:sns:eu-west-1:123456789012:releases`",
                    ),
                };
                self.diags.push(
                    Diag::new(code, problem)
                        .at(scope.source(), target.span, label)
                        .help(help),
                );
                return None;
            }
        };
        if let Some(first) = earlier
            .iter()
            .find(|d| d.service == service && d.target == text)
        {
            self.diags.push(
                Diag::new(
                    Code::DuplicateNotify,
                    format!("notifications already go to {destination}"),
                )
                .at(scope.source(), span, "named again here")
                .also(first.span, "first named here")
                .help("remove one of the two lines: each destination would receive every notification twice"),
            );
            return None;
        }
        Some(destination)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::check::{check_source, Options};
    use crate::diagnostic::{source, Code};
    use crate::plan::notify::{Destination, Service};

    /// A valid playbook with `notify` lines.
    fn playbook(notify: &str) -> String {
        format!("function \"f\"\nalias \"live\"\nparam bus = \"rollouts\"\n{notify}\npublish\nshift 5% to new\npromote\n")
    }

    /// Every diagnostic of the playbook: its code, message, and the text under each label.
    fn diags(notify: &str) -> Vec<(Code, String, Vec<String>)> {
        let text = playbook(notify);
        let checked = check_source(
            source("n.rollout", text.clone()),
            Path::new("."),
            &Options::default(),
        );
        assert_eq!(
            checked.plan.is_none(),
            checked.diags.iter().any(|d| d.is_error())
        );
        checked
            .diags
            .iter()
            .map(|d| {
                let labels = d
                    .labels
                    .iter()
                    .map(|l| text[l.span.start..l.span.end].to_string())
                    .collect();
                (d.code, d.message.clone(), labels)
            })
            .collect()
    }

    #[test]
    fn destinations_are_in_the_plan_in_the_order_written() {
        let text = playbook("notify sns \"arn:aws:sns:eu-west-1:123456789012:releases\"\nnotify eventbridge \"${bus}\"");
        let checked = check_source(
            source("n.rollout", text),
            Path::new("."),
            &Options::default(),
        );
        let plan = checked.plan.expect("valid");
        let found: Vec<(Service, &str, Option<&str>)> = plan
            .notify
            .iter()
            .map(|d: &Destination| (d.service, d.target.as_str(), d.region.as_deref()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    Service::Sns,
                    "arn:aws:sns:eu-west-1:123456789012:releases",
                    Some("eu-west-1")
                ),
                (Service::EventBridge, "rollouts", None),
            ]
        );
    }

    #[test]
    fn notifications_move_no_traffic_so_the_fingerprint_leaves_them_out() {
        let plan = |notify: &str| {
            check_source(
                source("n.rollout", playbook(notify)),
                Path::new("."),
                &Options::default(),
            )
            .plan
            .expect("valid")
        };
        let without = plan("");
        let with = plan("notify eventbridge \"rollouts\"");
        assert_ne!(without, with);
        assert_eq!(without.fingerprint(), with.fingerprint());
    }

    #[test]
    fn a_bus_or_topic_the_service_refuses_is_pointed_at() {
        let (code, message, labels) = diags("notify eventbridge \"\"").remove(0);
        assert_eq!(code, Code::BadBus);
        assert_eq!(message, "the event bus's name is empty");
        assert_eq!(labels, ["\"\""]);
        let (code, message, labels) = diags("notify sns \"releases\"").remove(0);
        assert_eq!(code, Code::BadTopic);
        assert!(message.contains("is not an SNS topic's ARN"), "{message}");
        assert_eq!(labels, ["\"releases\""]);
        let all = diags(
            "notify sns \"arn:aws:sns:eu-west-1:123456789012:a.fifo\"\nnotify eventbridge \"a b\"",
        );
        let codes: Vec<Code> = all.iter().map(|d| d.0).collect();
        assert_eq!(codes, [Code::BadTopic, Code::BadBus], "every line reported");
    }

    #[test]
    fn a_destination_named_twice_points_at_both_lines() {
        let all = diags("notify eventbridge \"rollouts\"\nnotify sns \"arn:aws:sns:eu-west-1:123456789012:t\"\nnotify eventbridge \"${bus}\"");
        assert_eq!(all.len(), 1, "{all:#?}");
        let (code, message, labels) = &all[0];
        assert_eq!(*code, Code::DuplicateNotify);
        assert_eq!(
            message,
            "notifications already go to eventbridge \"rollouts\""
        );
        assert_eq!(
            labels,
            &[
                "notify eventbridge \"${bus}\"",
                "notify eventbridge \"rollouts\""
            ]
        );
        // The same name on two services is two destinations.
        assert!(diags(
            "notify eventbridge \"t\"\nnotify sns \"arn:aws:sns:eu-west-1:123456789012:t\""
        )
        .is_empty());
    }

    #[test]
    fn an_imported_file_cannot_send_notifications() {
        let dir = std::env::temp_dir().join(format!("rollout-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("lib.rollout"), "notify eventbridge \"rollouts\"\n").unwrap();
        let text = "import \"lib.rollout\"\nfunction \"f\"\nalias \"live\"\npublish\npromote\n";
        let checked = check_source(
            source("n.rollout", text.to_string()),
            &dir,
            &Options::default(),
        );
        let _ = std::fs::remove_dir_all(&dir);
        let codes: Vec<Code> = checked.diags.iter().map(|d| d.code).collect();
        assert_eq!(codes, [Code::ImportContent]);
    }
}

//! Which events become notifications, what each says as JSON, and how they are sent: in order,
//! throttled calls tried again, failures told and never fatal, what is queued sent at the end
//! within its time limit.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::check::{check_source, Options};
use crate::cloud::{Alias, CloudError};
use crate::diagnostic::source;
use crate::engine::events::{Event, EventKind, EventSink};
use crate::plan::notify::Destination;
use crate::plan::{Millis, Plan};

fn plan() -> Plan {
    let text = "rollout \"checkout canary\"\nfunction \"checkout-api\"\nalias \"live\"\nnotify eventbridge \"rollouts\"\nnotify sns \"arn:aws:sns:eu-west-1:123456789012:releases\"\npublish\nshift 10% to new\nwait 10m until healthy\npromote\n";
    check_source(
        source("p.rollout", text.into()),
        Path::new("."),
        &Options::default(),
    )
    .plan
    .expect("valid")
}

fn at(at_ms: u64, kind: EventKind) -> Event {
    Event {
        at_ms,
        region: None,
        kind,
    }
}

/// The events of a rollout of `checkout-api` that ends `outcome`, a bake held on the way.
fn rollout(outcome: &str, message: &str) -> Vec<Event> {
    let alias = Alias {
        version: "1".into(),
        routing: BTreeMap::new(),
        revision_id: "r1".into(),
        description: String::new(),
    };
    let mut events = vec![
        at(
            0,
            EventKind::Started {
                name: Some("checkout canary".into()),
                functions: vec!["checkout-api".into()],
                alias: "live".into(),
                steps: 4,
            },
        ),
        at(
            1,
            EventKind::AliasRead {
                function: "checkout-api".into(),
                alias,
            },
        ),
        at(
            2,
            EventKind::StepStarted {
                step: 1,
                text: "publish \"checkout canary\"".into(),
            },
        ),
        at(
            3,
            EventKind::Published {
                function: "checkout-api".into(),
                version: "2".into(),
                unchanged: false,
            },
        ),
        at(
            4,
            EventKind::VersionsChosen {
                function: "checkout-api".into(),
                old: "1".into(),
                new: "2".into(),
            },
        ),
        at(
            5,
            EventKind::StepStarted {
                step: 2,
                text: "shift 10% to new".into(),
            },
        ),
        at(
            6,
            EventKind::StepStarted {
                step: 3,
                text: "wait 10m until healthy".into(),
            },
        ),
        at(
            7,
            EventKind::Held {
                function: "checkout-api".into(),
                reason: "old fails as much as new".into(),
            },
        ),
        at(
            8,
            EventKind::HoldEnded {
                function: "checkout-api".into(),
                held_ms: Millis(60_000),
            },
        ),
    ];
    if outcome == "rolled_back" {
        events.push(at(
            9,
            EventKind::RollingBack {
                reason: "error rate of new 3% > 1%".into(),
            },
        ));
    } else if outcome == "promoted" {
        events.push(at(
            9,
            EventKind::StepStarted {
                step: 4,
                text: "promote".into(),
            },
        ));
    }
    events.push(at(
        10,
        EventKind::Finished {
            outcome: outcome.into(),
            exit_code: 0,
            message: message.into(),
        },
    ));
    events
}

fn mapped(events: &[Event], region: Option<&str>) -> Vec<Notification> {
    let mut mapper = Mapper::new(&plan(), "live", region.map(String::from));
    events.iter().filter_map(|e| mapper.map(e)).collect()
}

fn kinds(notifications: &[Notification]) -> Vec<Kind> {
    notifications.iter().map(|n| n.notification).collect()
}

#[test]
fn a_promoted_rollout_notifies_its_start_each_step_a_hold_and_its_promotion() {
    let sent = mapped(
        &rollout("promoted", "new serves all traffic"),
        Some("us-east-1"),
    );
    assert_eq!(
        kinds(&sent),
        [
            Kind::Started,
            Kind::StepStarted,
            Kind::StepStarted,
            Kind::StepStarted,
            Kind::Held,
            Kind::StepStarted,
            Kind::Promoted
        ]
    );
    let steps: Vec<(usize, usize, &str)> = sent
        .iter()
        .filter(|n| n.notification == Kind::StepStarted)
        .map(|n| {
            let step = n.step.as_ref().unwrap();
            (step.number, step.total, step.text.as_str())
        })
        .collect();
    assert_eq!(
        steps,
        [
            (1, 4, "publish \"checkout canary\""),
            (2, 4, "shift 10% to new"),
            (3, 4, "wait 10m until healthy"),
            (4, 4, "promote")
        ]
    );
}

#[test]
fn each_notification_says_its_rollout_targets_versions_step_and_reason_as_json() {
    let sent = mapped(
        &rollout("promoted", "new serves all traffic"),
        Some("us-east-1"),
    );
    let json = |i: usize| serde_json::from_str::<serde_json::Value>(&sent[i].json()).unwrap();
    assert_eq!(
        json(0),
        serde_json::json!({
            "notification": "started",
            "rollout": "checkout canary",
            "targets": {"functions": ["checkout-api"], "alias": "live", "region": "us-east-1"},
            "at_ms": 0
        })
    );
    assert_eq!(
        json(2),
        serde_json::json!({
            "notification": "step_started",
            "rollout": "checkout canary",
            "targets": {"functions": ["checkout-api"], "alias": "live", "region": "us-east-1"},
            "versions": [{"function": "checkout-api", "old": "1", "new": "2"}],
            "step": {"number": 2, "total": 4, "text": "shift 10% to new"},
            "at_ms": 5
        })
    );
    assert_eq!(
        json(4),
        serde_json::json!({
            "notification": "held",
            "rollout": "checkout canary",
            "targets": {"functions": ["checkout-api"], "alias": "live", "region": "us-east-1"},
            "versions": [{"function": "checkout-api", "old": "1", "new": "2"}],
            "step": {"number": 3, "total": 4, "text": "wait 10m until healthy"},
            "function": "checkout-api",
            "reason": "old fails as much as new",
            "at_ms": 7
        })
    );
    // `old` is known once the alias is read, `new` once published.
    assert_eq!(
        json(1)["versions"],
        serde_json::json!([{"function": "checkout-api", "old": "1", "new": null}])
    );
    assert_eq!(json(6)["notification"], "promoted");
    assert_eq!(json(6)["outcome"], "promoted");
    assert_eq!(
        sent[6].subject(),
        "rollout \"checkout canary\" on live: promoted"
    );
    assert_eq!(
        sent[2].subject(),
        "rollout \"checkout canary\" on live: step 2/4 started"
    );
}

#[test]
fn a_rollback_says_why_and_failures_say_how_the_rollout_ended() {
    let sent = mapped(
        &rollout("rolled_back", "old serves all traffic again"),
        None,
    );
    let last = sent.last().unwrap();
    assert_eq!(last.notification, Kind::RolledBack);
    assert_eq!(last.reason.as_deref(), Some("error rate of new 3% > 1%"));
    assert_eq!(last.outcome.as_deref(), Some("rolled_back"));
    assert_eq!(last.targets.region, None);
    for outcome in ["conflict", "failed", "interrupted", "refused"] {
        let sent = mapped(&rollout(outcome, "what happened"), None);
        let last = sent.last().unwrap();
        assert_eq!(last.notification, Kind::Failed, "{outcome}");
        assert_eq!(last.outcome.as_deref(), Some(outcome));
        assert_eq!(last.reason.as_deref(), Some("what happened"));
    }
    for quiet in ["nothing_to_roll_out", "left_split"] {
        let sent = mapped(&rollout(quiet, "nothing"), None);
        assert_eq!(
            kinds(&sent).last(),
            Some(&Kind::Held),
            "{quiet}: no notification"
        );
    }
}

#[test]
fn in_waves_each_region_is_followed_apart_and_the_end_spans_them() {
    let mut events = Vec::new();
    for region in ["us-east-1", "222222222222/eu-west-1"] {
        for mut event in rollout("promoted", "new serves all traffic") {
            event.region = Some(region.into());
            events.push(event);
        }
    }
    events.push(at(
        20,
        EventKind::Finished {
            outcome: "promoted".into(),
            exit_code: 0,
            message: "every wave promoted".into(),
        },
    ));
    let sent = mapped(&events, None);
    assert_eq!(sent.len(), 15);
    assert_eq!(
        sent[7].targets.region.as_deref(),
        Some("222222222222/eu-west-1")
    );
    assert_eq!(sent[7].notification, Kind::Started);
    assert_eq!(sent[7].step, None, "a region's steps are its own");
    let end = &sent[14];
    assert_eq!(
        (end.notification, end.targets.region.as_deref()),
        (Kind::Promoted, None)
    );
    assert_eq!(end.targets.functions, ["checkout-api"]);
}

#[test]
fn a_pause_and_its_end_notify_who_why_and_until_when() {
    let events = [
        at(
            60_000,
            EventKind::Paused {
                by: "carol@desk".into(),
                reason: Some("checking the dashboard".into()),
                until: Some(1_796_000_000),
            },
        ),
        at(
            120_000,
            EventKind::Unpaused {
                by: "dave@desk".into(),
                paused_ms: Millis(60_000),
            },
        ),
    ];
    let notifications = mapped(&events, None);
    assert_eq!(kinds(&notifications), [Kind::Paused, Kind::Resumed]);
    let paused = serde_json::to_value(&notifications[0]).unwrap();
    assert_eq!(paused["by"], "carol@desk");
    assert_eq!(paused["reason"], "checking the dashboard");
    assert_eq!(paused["until"], "2026-11-30T00:53:20Z");
    let resumed = serde_json::to_value(&notifications[1]).unwrap();
    assert_eq!(resumed["by"], "dave@desk");
    assert!(resumed.get("until").is_none());
}

#[test]
fn a_subject_is_one_short_ascii_line() {
    let mut long = mapped(&rollout("promoted", "ok"), None).remove(0);
    long.rollout = Some(format!("été\n{}", "x".repeat(200)));
    let subject = long.subject();
    assert_eq!(subject.len(), 99);
    assert!(subject.starts_with("rollout \"?t?\\n"), "{subject}");
    assert!(subject.ends_with("..."));
    assert!(subject.chars().all(|c| (' '..='~').contains(&c)));
}

/// A destination that answers each call as told, and records what it was sent.
#[derive(Clone, Default)]
struct Fake {
    answers: Arc<Mutex<Vec<Result<(), CloudError>>>>,
    sent: Arc<Mutex<Vec<(String, Kind)>>>,
    stall: Option<Duration>,
}

impl Post for Fake {
    async fn post(&self, to: &Destination, n: &Notification) -> Result<(), CloudError> {
        if let Some(stall) = self.stall {
            tokio::time::sleep(stall).await;
        }
        let answer = {
            let mut answers = self.answers.lock().unwrap();
            if answers.is_empty() {
                Ok(())
            } else {
                answers.remove(0)
            }
        };
        if answer.is_ok() {
            self.sent
                .lock()
                .unwrap()
                .push((to.to_string(), n.notification));
        }
        answer
    }
}

fn throttled() -> CloudError {
    CloudError::Throttled {
        message: "Rate exceeded".into(),
        retry_after: None,
    }
}

#[tokio::test(start_paused = true)]
async fn every_notification_goes_to_every_destination_in_order_throttled_calls_again() {
    let fake = Fake {
        answers: Arc::new(Mutex::new(vec![Err(throttled()), Err(throttled())])),
        ..Fake::default()
    };
    let plan = plan();
    let mut notifier = Notifier::new(
        Mapper::new(&plan, "live", None),
        Delivery::start(fake.clone(), plan.notify.clone()),
    );
    for event in rollout("promoted", "ok") {
        notifier.emit(&event);
    }
    assert_eq!(notifier.finish(Duration::from_secs(10)).await, []);
    let sent = fake.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 14, "7 notifications to 2 destinations");
    assert_eq!(sent[0], ("eventbridge \"rollouts\"".into(), Kind::Started));
    assert_eq!(
        sent[1],
        (
            "sns \"arn:aws:sns:eu-west-1:123456789012:releases\"".into(),
            Kind::Started
        )
    );
    assert_eq!(sent[13].1, Kind::Promoted);
}

#[tokio::test(start_paused = true)]
async fn a_failure_is_told_once_tried_enough_and_the_rest_is_still_sent() {
    let mut answers = vec![Err(CloudError::Denied("not allowed".into()))];
    answers.extend((0..super::deliver::ATTEMPTS).map(|_| Err(throttled())));
    let fake = Fake {
        answers: Arc::new(Mutex::new(answers)),
        ..Fake::default()
    };
    let plan = plan();
    let delivery = Delivery::start(fake.clone(), plan.notify.clone());
    let started = mapped(&rollout("promoted", "ok"), None).remove(0);
    delivery.send(Some("us-east-1".into()), started);
    let failures = delivery.finish(Duration::from_secs(10)).await;
    assert_eq!(
        failures,
        [
            Failure {
                destination: "eventbridge \"rollouts\"".into(),
                notification: Some(Kind::Started),
                region: Some("us-east-1".into()),
                error:
                    "access denied: not allowed; grant the identity the permissions README.md lists"
                        .into(),
            },
            Failure {
                destination: "sns \"arn:aws:sns:eu-west-1:123456789012:releases\"".into(),
                notification: Some(Kind::Started),
                region: Some("us-east-1".into()),
                error: "throttled: Rate exceeded".into(),
            }
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn what_is_queued_at_the_end_is_sent_within_the_limit_or_told() {
    let fake = Fake {
        stall: Some(Duration::from_secs(4)),
        ..Fake::default()
    };
    let plan = plan();
    let delivery = Delivery::start(fake.clone(), plan.notify.clone());
    for n in mapped(&rollout("promoted", "ok"), None) {
        delivery.send(None, n);
    }
    let failures = delivery.finish(Duration::from_secs(10)).await;
    assert_eq!(
        fake.sent.lock().unwrap().len(),
        2,
        "two calls of 4s fit in 10s"
    );
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].notification, None);
    assert_eq!(
        failures[0].error,
        "6 notifications not sent: sending took longer than 10s"
    );
}

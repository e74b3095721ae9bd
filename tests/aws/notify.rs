//! Notifications against moto: a bus whose rule sends `source: rollout` events to an SQS queue
//! receives one event per step besides the start and the promotion, an SNS topic with a queue
//! subscribed receives the same, each detail held to schema/notification.schema.json; a
//! destination that cannot be reached is warned about and changes nothing of the rollout.

use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_lambda::config::Credentials;
use serde_json::Value;

use crate::harness::*;

/// Clients of the services notifications go through, in `us-east-1` of the moto server.
struct Services {
    eventbridge: aws_sdk_eventbridge::Client,
    sns: aws_sdk_sns::Client,
    sqs: aws_sdk_sqs::Client,
    runtime: tokio::runtime::Runtime,
}

impl Services {
    fn new() -> Services {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let config = runtime.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .endpoint_url(endpoint())
                .region(Region::new("us-east-1"))
                .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
                .load(),
        );
        Services {
            eventbridge: aws_sdk_eventbridge::Client::new(&config),
            sns: aws_sdk_sns::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            runtime,
        }
    }

    /// A queue: its URL and ARN.
    fn queue(&self, name: &str) -> (String, String) {
        self.runtime.block_on(async {
            let url = self
                .sqs
                .create_queue()
                .queue_name(name)
                .send()
                .await
                .expect("create queue")
                .queue_url
                .expect("a queue URL");
            let attributes = self
                .sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .send()
                .await
                .expect("queue attributes");
            let arn = attributes
                .attributes()
                .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
                .expect("its ARN")
                .clone();
            (url, arn)
        })
    }

    /// Every message body the queue at `url` holds, once `count` have come or 20s have passed,
    /// and whatever else comes in a second more.
    fn receive(&self, url: &str, count: usize) -> Vec<String> {
        let mut bodies = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut settle = None;
        loop {
            let out = self.runtime.block_on(
                self.sqs
                    .receive_message()
                    .queue_url(url)
                    .max_number_of_messages(10)
                    .wait_time_seconds(1)
                    .send(),
            );
            let out = out.expect("receive");
            let got = out.messages();
            for message in got {
                bodies.push(message.body().expect("a body").to_string());
                self.runtime
                    .block_on(
                        self.sqs
                            .delete_message()
                            .queue_url(url)
                            .receipt_handle(message.receipt_handle().unwrap())
                            .send(),
                    )
                    .expect("delete");
            }
            if bodies.len() >= count && settle.is_none() {
                settle = Some(Instant::now() + Duration::from_secs(1));
            }
            if settle.is_some_and(|at| Instant::now() >= at) || Instant::now() >= deadline {
                return bodies;
            }
        }
    }
}

/// `rollout run --yes --format json` of a canary of a new function with `notify` at its top:
/// its events, after it promoted.
fn promoted_canary(notify: &str) -> (std::process::Output, Vec<Value>) {
    let aws = Aws::new();
    let f = unique("notify");
    aws.function(&f, Some(2));
    aws.metrics(&f, "2", 1000.0, 2.0);
    let dir = temp(&format!(
        "rollout \"notified canary\"\n{notify}\n{}",
        canary(&[&f], "")
    ));
    let out = rollout(&dir, &["run", "--yes", "--format", "json", "p.rollout"]);
    let events = events(&out);
    ended(&out, &events, "promoted", 0);
    (out, events)
}

/// Holds each detail to the published schema, and checks what a promoted canary of 4 steps
/// says: started, each step in order, promoted, about its function on `live` in us-east-1,
/// versions 1 and 2 once known.
fn check_details(details: &[Value], out: &std::process::Output) {
    let lines: String = details.iter().map(|d| format!("{d}\n")).collect();
    conform_to(lines.as_bytes(), "notification.schema.json");
    let mut details = details.to_vec();
    // A standard queue keeps no order: the steps and the kinds give it back.
    details.sort_by_key(|d| {
        (
            d["step"]["number"].as_u64(),
            d["notification"] == "promoted",
        )
    });
    let said: Vec<(&str, Option<u64>)> = details
        .iter()
        .map(|d| {
            (
                d["notification"].as_str().unwrap(),
                d["step"]["number"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        said,
        [
            ("started", None),
            ("step_started", Some(1)),
            ("step_started", Some(2)),
            ("step_started", Some(3)),
            ("step_started", Some(4)),
            ("promoted", Some(4)),
        ],
        "one notification per step, besides the start and the end: {}",
        text(out)
    );
    let function = details[0]["targets"]["functions"][0].as_str().unwrap();
    for detail in &details {
        assert_eq!(detail["rollout"], "notified canary");
        assert_eq!(
            detail["targets"],
            serde_json::json!({"functions": [function], "alias": "live", "region": "us-east-1"})
        );
        assert_eq!(
            detail["step"]
                .get("total")
                .map_or(4, |t| t.as_u64().unwrap()),
            4
        );
    }
    assert_eq!(details[2]["step"]["text"], "shift 5% to new");
    assert_eq!(
        details[5]["versions"],
        serde_json::json!([{"function": function, "old": "1", "new": "2"}])
    );
    assert_eq!(details[5]["outcome"], "promoted");
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn eventbridge_receives_one_event_per_step() {
    let services = Services::new();
    let bus = unique("rollouts");
    let (queue, queue_arn) = services.queue(&unique("from-bus"));
    services.runtime.block_on(async {
        services
            .eventbridge
            .create_event_bus()
            .name(&bus)
            .send()
            .await
            .expect("create bus");
        services
            .eventbridge
            .put_rule()
            .name("rollouts-to-sqs")
            .event_bus_name(&bus)
            .event_pattern(r#"{"source":["rollout"]}"#)
            .send()
            .await
            .expect("put rule");
        services
            .eventbridge
            .put_targets()
            .rule("rollouts-to-sqs")
            .event_bus_name(&bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("queue")
                    .arn(&queue_arn)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("put targets");
    });
    let (out, events) = promoted_canary(&format!("notify eventbridge {bus:?}"));
    assert!(
        events_of_kind(&events, "notify_failed").is_empty(),
        "{}",
        text(&out)
    );
    let received: Vec<Value> = services
        .receive(&queue, 6)
        .iter()
        .map(|body| serde_json::from_str(body).expect("an event as JSON"))
        .collect();
    for event in &received {
        assert_eq!(event["source"], "rollout", "{event}");
    }
    let types: Vec<&str> = received
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types
            .iter()
            .filter(|t| **t == "Rollout Step Started")
            .count(),
        4,
        "{types:?}"
    );
    let details: Vec<Value> = received.iter().map(|e| e["detail"].clone()).collect();
    check_details(&details, &out);
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn an_sns_topic_receives_one_message_per_step() {
    let services = Services::new();
    let (queue, queue_arn) = services.queue(&unique("from-topic"));
    let topic = services.runtime.block_on(async {
        let topic = services
            .sns
            .create_topic()
            .name(unique("releases"))
            .send()
            .await
            .expect("create topic")
            .topic_arn
            .expect("its ARN");
        services
            .sns
            .subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint(&queue_arn)
            .send()
            .await
            .expect("subscribe");
        topic
    });
    let (out, events) = promoted_canary(&format!("notify sns {topic:?}"));
    assert!(
        events_of_kind(&events, "notify_failed").is_empty(),
        "{}",
        text(&out)
    );
    let received: Vec<Value> = services
        .receive(&queue, 6)
        .iter()
        .map(|body| serde_json::from_str(body).expect("an SNS envelope as JSON"))
        .collect();
    let subjects: Vec<&str> = received
        .iter()
        .map(|m| m["Subject"].as_str().unwrap())
        .collect();
    assert!(
        subjects.contains(&"rollout \"notified canary\" on live: step 2/4 started"),
        "{subjects:?}"
    );
    let details: Vec<Value> = received
        .iter()
        .map(|m| serde_json::from_str(m["Message"].as_str().unwrap()).expect("JSON"))
        .collect();
    check_details(&details, &out);
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn a_destination_that_refuses_is_warned_about_and_the_rollout_promotes() {
    let (out, events) =
        promoted_canary("notify sns \"arn:aws:sns:us-east-1:123456789012:no-such-topic\"");
    let failed = events_of_kind(&events, "notify_failed");
    assert_eq!(failed.len(), 6, "each notification: {}", text(&out));
    assert_eq!(
        failed[0]["destination"],
        "sns \"arn:aws:sns:us-east-1:123456789012:no-such-topic\""
    );
    assert_eq!(failed[0]["notification"], "started");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: the notification started to sns \"arn:aws:sns:us-east-1:123456789012:no-such-topic\" was not sent: "),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(0));
}

//! Business metrics and cold starts against moto: `Shop/OrdersPlaced` published per version
//! (as the Embedded Metric Format publishes it) and Lambda Insights' `init_duration`, read with
//! `GetMetricData` on their own namespaces. A release placing 20% fewer orders per call is
//! rolled back with the metric in the evidence; one placing as many promotes. Each second is a
//! period (`health every 1s`) of 1,000 calls. moto has no
//! metric delay: the playbook says `metrics delay 0s`, and no warm-up.

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};

use crate::harness::*;

/// Writes `value` of `namespace`/`name` with `dimensions` in every second from ten seconds ago
/// to two minutes ahead, `per_second` datapoints a second.
fn publish(
    aws: &Aws,
    namespace: &str,
    name: &str,
    dimensions: &[(&str, &str)],
    value: f64,
    per_second: usize,
) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let seconds: Vec<i64> = (now - 10..now + 120).collect();
    aws.runtime.block_on(async {
        for chunk in seconds.chunks(500 / per_second.max(1)) {
            let mut request = aws.cloudwatch.put_metric_data().namespace(namespace);
            for at in chunk {
                for _ in 0..per_second {
                    let mut datum = MetricDatum::builder()
                        .metric_name(name)
                        .timestamp(aws_sdk_cloudwatch::primitives::DateTime::from_secs(*at))
                        .value(value);
                    for (k, v) in dimensions {
                        datum = datum.dimensions(Dimension::builder().name(*k).value(*v).build());
                    }
                    request = request.metric_data(datum.build());
                }
            }
            request.send().await.expect("put metric data");
        }
    });
}

/// A canary judged on orders per call against `old`, and cold starts against old's.
fn playbook(f: &str) -> String {
    format!(
        "function {f:?}\nalias \"live\"\nmetric orders {{\n  namespace \"Shop\"\n  name \"OrdersPlaced\"\n  statistic sum\n  version dimension \"FunctionVersion\"\n  dimension \"Service\" = {f:?}\n}}\nhealth every 1s {{\n  metrics delay 0s\n  warm up 0s\n  min invocations 10\n  orders per invocation of new >= 0.95 * orders per invocation of old\n  cold starts <= cold starts of old + 5%\n}}\npublish \"canary\"\nshift 5% to new\nwait 8s until healthy\npromote\n"
    )
}

/// Both versions serve 1,000 calls a second without errors; `old` places 300 orders a second,
/// `new` `new_orders`; each starts cold in 1% of its calls.
fn world(aws: &Aws, f: &str, new_orders: f64) {
    aws.function(f, Some(2));
    for (version, orders) in [("1", 300.0), ("2", new_orders)] {
        aws.metrics(f, version, 1000.0, 0.0);
        let dims = [("Service", f), ("FunctionVersion", version)];
        publish(aws, "Shop", "OrdersPlaced", &dims, orders, 1);
        let insights = [("function_name", f), ("version", version)];
        publish(aws, "LambdaInsights", "init_duration", &insights, 300.0, 10);
    }
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn a_release_placing_a_fifth_fewer_orders_is_rolled_back_with_the_metric_in_the_evidence() {
    let aws = Aws::new();
    let f = unique("orders");
    world(&aws, &f, 240.0);
    let dir = temp(&playbook(&f));
    let out = rollout(&dir, &["run", "--yes", "--format", "json", "p.rollout"]);
    let events = events(&out);
    ended(&out, &events, "rolled_back", 1);
    assert_eq!(aws.alias(&f), unsplit("1"), "old serves everything");
    let failed = failed_evaluations(&events, &f);
    let check = &failed.last().expect("a failed evaluation")["checks"][0];
    assert_eq!(check["verdict"], "fail", "{check}");
    let detail = check["detail"].as_str().unwrap();
    assert!(detail.contains("orders per invocation of new"), "{detail}");
    let evidence = &check["evidence"];
    let per_call = |who: &str| {
        evidence[who]["events"].as_f64().unwrap() / evidence[who]["trials"].as_f64().unwrap()
    };
    assert!((per_call("subject") - 0.24).abs() < 1e-9, "{evidence}");
    assert!((per_call("other") - 0.30).abs() < 1e-9, "{evidence}");
    // The cold starts were read and judged beside it, and passed.
    let cold = &failed.last().unwrap()["checks"][1];
    assert_ne!(cold["verdict"], "fail", "{cold}");
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn a_release_placing_as_many_orders_and_starting_cold_as_often_promotes() {
    let aws = Aws::new();
    let f = unique("orders");
    world(&aws, &f, 300.0);
    let dir = temp(&playbook(&f));
    let out = rollout(&dir, &["run", "--yes", "--format", "json", "p.rollout"]);
    let events = events(&out);
    ended(&out, &events, "promoted", 0);
    let judged = events_of_kind(&events, "health_evaluated");
    let last = judged.last().expect("an evaluation");
    let cold = last["checks"][1]["detail"].as_str().unwrap();
    assert!(
        cold.contains("cold starts in") && cold.contains("calls = 1.00%"),
        "{cold}"
    );
}

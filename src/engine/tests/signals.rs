//! Business metrics and cold starts in the simulated world: a release that places fewer orders,
//! or starts cold far more often, is rolled back with the metric in the evidence; a healthy one
//! promotes; a business metric that is never published is never healthy.

use super::*;
use crate::cloud::sim::world;
use crate::engine::{Cause, Outcome};

const ORDERS: &str = r#"
metric orders {
  namespace "Shop"
  name "OrdersPlaced"
  statistic sum
  version dimension "FunctionVersion"
}
"#;

fn signals_world(file: &str) -> SimWorld {
    SimWorld::new(&SimConfig {
        functions: vec!["f".into()],
        alias: "live".into(),
        rps: 200.0,
        old: HEALTHY,
        new: HEALTHY,
        seed: 5,
        conditions: world::parse(file).expect("a valid world"),
        ..SimConfig::default()
    })
}

/// A 10% canary with `headers` before the health block of `checks`, baking up to 30 minutes.
fn canary(headers: &str, checks: &str) -> Plan {
    plan(&format!(
        "function \"f\"\nalias \"live\"\n{headers}\nhealth every 1m {{\n  min invocations 100\n{checks}\n}}\npublish\nshift 10% to new\nwait 5m..30m until healthy\npromote\n"
    ))
}

fn unhealthy(r: &Run) -> String {
    match &r.report.outcome {
        Outcome::RolledBack {
            cause: Cause::Unhealthy(why),
            ..
        } => why.reason.clone(),
        other => panic!("expected a rollback for health, got {other:?}"),
    }
}

const PER_CALL: &str = "  orders per invocation of new >= 0.95 * orders per invocation of old";

#[test]
fn a_release_that_places_a_fifth_fewer_orders_is_rolled_back_with_the_metric_named() {
    let w = signals_world("new business rate 40%");
    let r = run(&w, &canary(ORDERS, PER_CALL));
    let why = unhealthy(&r);
    assert!(why.contains("orders per invocation"), "{why}");
    assert!(why.contains("confidently below"), "{why}");
    // Within minutes, not at the end of the bake.
    assert!(r.report.ended_ms < 15 * 60_000, "{}", r.report.ended_ms);
    // The query named the metric as the header says.
    let custom = w.calls().into_iter().any(|call| match call {
        Call::GetMetricData { queries, .. } => queries.iter().any(|q| {
            let source = q.source();
            source.namespace == "Shop"
                && source.metric == "OrdersPlaced"
                && source.statistic == "Sum"
                && source.dimensions == [("FunctionVersion".to_string(), q.version.clone())]
        }),
        _ => false,
    });
    assert!(custom, "no GetMetricData of Shop/OrdersPlaced");
}

#[test]
fn the_same_orders_per_call_promote() {
    let w = signals_world("");
    let r = run(&w, &canary(ORDERS, PER_CALL));
    assert_eq!(r.report.outcome, Outcome::Promoted);
}

#[test]
fn an_outage_both_versions_share_is_no_evidence_against_new_orders() {
    // Both versions fail 20% more for five minutes: fewer successful calls, fewer orders, alike.
    let w = signals_world("outage at 2m for 5m fails 20%");
    let r = run(&w, &canary(ORDERS, PER_CALL));
    assert_eq!(r.report.outcome, Outcome::Promoted);
}

#[test]
fn a_business_metric_nobody_publishes_is_never_healthy() {
    let w = signals_world("no business metric");
    let r = run(&w, &canary(ORDERS, PER_CALL));
    assert_ne!(r.report.outcome, Outcome::Promoted);
    let why = match &r.report.outcome {
        Outcome::RolledBack {
            cause: Cause::Inconclusive { why, .. },
            ..
        } => why.join("; "),
        other => panic!("{other:?}"),
    };
    assert!(
        why.contains("no data") || why.contains("CloudWatch answered no"),
        "{why}"
    );
}

#[test]
fn cold_starts_far_above_old_roll_back_and_the_warm_up_is_left_out() {
    let check = "  cold starts <= cold starts of old + 2%";
    let w = signals_world("cold starts 1%\nnew cold starts 8%");
    let why = unhealthy(&run(&w, &canary("", check)));
    assert!(why.contains("cold start"), "{why}");
    // A new version's first two minutes are cold (the default warm-up leaves them out), and
    // after that it starts cold as often as old: promoted.
    let w = signals_world("cold start 2m\ncold starts 1%");
    assert_eq!(
        run(&w, &canary("", check)).report.outcome,
        Outcome::Promoted
    );
}

#[test]
fn a_slower_init_fails_a_per_window_check() {
    let w = signals_world("new init duration 1500ms");
    let r = run(&w, &canary("", "  avg init duration < 1s over 5m"));
    let why = unhealthy(&r);
    assert!(why.contains("avg init duration"), "{why}");
}

#[test]
fn a_drop_in_orders_after_a_shared_outage_is_still_caught() {
    // The outage costs both versions a fifth of their orders for five minutes: shared, not
    // old's own variation, so the minutes after it still weigh as much.
    let w = signals_world("outage at 2m for 5m fails 20%\nnew business rate 40% from 9m");
    let plan = plan(&format!(
        "function \"f\"\nalias \"live\"\n{ORDERS}\nhealth every 1m {{\n  min invocations 100\n{PER_CALL}\n}}\npublish\nshift 10% to new\nwait 15m until healthy\npromote\n"
    ));
    let why = unhealthy(&run(&w, &plan));
    assert!(why.contains("orders per invocation"), "{why}");
}

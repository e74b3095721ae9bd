//! Fleets against moto: fifty functions selected by a pattern move together and are promoted;
//! with one of them unhealthy, all fifty end on `old`, unsplit, lease cleared; `plan --live` and
//! `status` resolve the same selection, and a pattern that matches nothing is refused.

use serde_json::{json, Value};

use crate::harness::*;

const FLEET: usize = 50;

/// Where each fifty-function fleet lives. moto answers `GetMetricData` by scanning every
/// datapoint of the queried hour for each period of each query; `old`'s hour of history for fifty
/// functions over fifty others' datapoints takes it minutes, so each fleet keeps its metrics in a
/// region of its own, away from every other test's.
const FLEET_REGIONS: [&str; 2] = ["eu-west-1", "eu-west-2"];

/// Held by each fifty-function test: two fleets at once (a hundred functions published,
/// shifted and judged against one moto server beside every other test) leave moto too busy to
/// answer a look before its bake ends, which fails closed.
static ONE_FLEET_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `FLEET` functions named `<prefix>-00` …, each with `live` on version 1 and changed code
/// whose version 2 has these metrics (the one at `bad`, if any, fails half its calls). The
/// metrics are written once every function exists, so that the first one's still cover the bake
/// however long creating the others took.
fn fleet(aws: &Aws, prefix: &str, bad: Option<usize>) -> Vec<String> {
    let names: Vec<String> = (0..FLEET).map(|n| format!("{prefix}-{n:02}")).collect();
    for name in &names {
        aws.function(name, Some(2));
    }
    for (n, name) in names.iter().enumerate() {
        let errors = if Some(n) == bad { 500.0 } else { 1.0 };
        aws.metrics(name, "2", 1000.0, errors);
    }
    names
}

/// The canary on every function the pattern selects, baking 10 seconds: a look at fifty
/// functions is two `GetMetricData` requests, which a moto server busy with the other tests may
/// take seconds to answer, and a bake that ends before its answer fails closed.
fn playbook(prefix: &str) -> String {
    canary(&[], "")
        .edit("function \n", &format!("function \"{prefix}-*\"\n"))
        .edit("wait 2s until healthy", "wait 10s until healthy")
}

/// Runs the canary, with `extra` arguments, on a new fleet in `region` named after `name` (the function at
/// `bad` unhealthy), one fleet at a time: the clients, the fleet's prefix and names, and what
/// `rollout run` did.
fn run_fleet(
    region: &str,
    name: &str,
    bad: Option<usize>,
    extra: &[&str],
) -> (Aws, String, Vec<String>, std::process::Output) {
    let _one = ONE_FLEET_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let aws = Aws::in_region(region);
    let prefix = unique(name);
    let names = fleet(&aws, &prefix, bad);
    let dir = temp(&playbook(&prefix));
    let mut args = vec![
        "run",
        "--yes",
        "--region",
        region,
        "--calls-per-second",
        "100",
    ];
    args.extend_from_slice(extra);
    args.push("p.rollout");
    let out = rollout(&dir, &args);
    (aws, prefix, names, out)
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn fifty_functions_selected_by_a_pattern_are_promoted_together() {
    let (aws, _, names, out) = run_fleet(FLEET_REGIONS[0], "fleet", None, &["--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let events = events(&out);
    let started = events_of_kind(&events, "started");
    assert_eq!(
        started[0]["functions"],
        json!(names),
        "the pattern selects the fleet, and only it"
    );
    ended(&out, &events, "promoted", 0);
    for name in &names {
        assert_eq!(
            traffic(&events, name),
            [split("1", "2", 0.05), unsplit("2")],
            "{name}"
        );
        assert_eq!(aws.alias(name), unsplit("2"), "{name}");
        assert_eq!(marker(&aws, name), None, "{name}: lease cleared");
    }
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn one_unhealthy_function_rolls_the_whole_fleet_back() {
    let (aws, prefix, names, out) = run_fleet(
        FLEET_REGIONS[1],
        "fleetbad",
        Some(17),
        &["--format", "json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let events = events(&out);
    let outcome = ended(&out, &events, "rolled_back", 1);
    let bad = format!("{prefix}-17");
    assert!(
        outcome.message.contains(&format!("{bad}: ")),
        "names the failing target: {outcome:?}"
    );
    for name in &names {
        // JSON keeps one event per target action.
        assert_eq!(
            traffic(&events, name),
            [split("1", "2", 0.05), unsplit("1")],
            "{name}: the canary, then old alone"
        );
        assert_eq!(
            failed_evaluations(&events, name).is_empty(),
            *name != bad,
            "{name}: only {bad} fails its health"
        );
        assert_eq!(
            aws.alias(name),
            unsplit("1"),
            "{name}: old serves everything"
        );
        assert_eq!(marker(&aws, name), None, "{name}: lease cleared");
    }
}

/// Each alias of a `plan --live` or `status` JSON list: its function and the version it serves.
fn serving(aliases: &Value) -> Vec<(String, String)> {
    aliases
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let name = a["function"].as_str().unwrap().to_string();
            (name, a["serves"]["version"].as_str().unwrap().to_string())
        })
        .collect()
}

/// `names`, each serving version 1.
fn serving_1(names: &[String]) -> Vec<(String, String)> {
    names.iter().map(|n| (n.clone(), "1".to_string())).collect()
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn plan_live_and_status_resolve_a_pattern_and_one_matching_nothing_is_refused() {
    let aws = Aws::new();
    let prefix = unique("fleetplan");
    for n in 0..3 {
        aws.function(&format!("{prefix}-{n}"), Some(2));
    }
    let names: Vec<String> = (0..3).map(|n| format!("{prefix}-{n}")).collect();
    let dir = temp(&playbook(&prefix));
    let out = rollout(&dir, &["plan", "--live", "--format", "json", "p.rollout"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(serving(&plan["live"]), serving_1(&names), "{plan:#}");

    let pattern = format!("{prefix}-*");
    let out = status_json(&dir, &pattern);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(serving(&status), serving_1(&names), "{status:#}");

    let none = temp(&playbook(&format!("{prefix}-nothing")));
    let out = rollout(&none, &["plan", "--live", "p.rollout"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("-nothing-*\" matches none of the region's"),
        "{}",
        text(&out)
    );
    let out = rollout(&none, &["run", "--yes", "p.rollout"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    for n in 0..3 {
        assert_eq!(
            aws.alias(&format!("{prefix}-{n}")),
            ("1".to_string(), vec![])
        );
    }
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn functions_selected_by_tag_are_found_with_list_tags() {
    let aws = Aws::new();
    let prefix = unique("tagged");
    let team = format!("team-{prefix}");
    for n in 0..3 {
        let name = format!("{prefix}-{n}");
        aws.function(&name, Some(2));
        if n != 1 {
            aws.runtime.block_on(async {
                let arn = aws
                    .lambda
                    .get_function_configuration()
                    .function_name(&name)
                    .send()
                    .await
                    .unwrap()
                    .function_arn()
                    .unwrap()
                    .to_string();
                aws.lambda
                    .tag_resource()
                    .resource(arn)
                    .tags("team", &team)
                    .send()
                    .await
                    .expect("tag resource");
            });
        }
    }
    let dir =
        temp(&canary(&[], "").edit("function \n", &format!("function tagged \"team={team}\"\n")));
    let out = rollout(&dir, &["plan", "--live", "--format", "json", "p.rollout"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        serving(&plan["live"]),
        serving_1(&[format!("{prefix}-0"), format!("{prefix}-2")]),
        "the tagged functions, not {prefix}-1: {plan:#}"
    );
}

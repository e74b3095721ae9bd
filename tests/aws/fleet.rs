//! Fleets against moto: fifty functions selected by a pattern move together and are promoted;
//! with one of them unhealthy, all fifty end on `old`, unsplit, lease cleared; `plan --live` and
//! `status` resolve the same selection, and a pattern that matches nothing is refused.

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
    let (aws, prefix, names, out) = run_fleet(FLEET_REGIONS[0], "fleet", None, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("\"{prefix}-*\" selects {FLEET} functions")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("rollout will act on {FLEET} functions")),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("{FLEET} shifted of {FLEET} targets")),
        "the display counts a fleet: {stdout}"
    );
    for name in &names {
        assert_eq!(aws.alias(name), ("2".to_string(), vec![]), "{name}");
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
    for name in &names {
        assert_eq!(
            aws.alias(name),
            ("1".to_string(), vec![]),
            "{name}: old serves everything"
        );
        assert_eq!(marker(&aws, name), None, "{name}: lease cleared");
    }
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // JSON keeps one event per target action.
    let shifted = events
        .iter()
        .filter(|e| {
            let split = |alias: &serde_json::Value| {
                alias["routing"].as_object().is_some_and(|r| !r.is_empty())
            };
            e["event"] == "alias_updated" && !split(&e["before"]) && split(&e["after"])
        })
        .count();
    assert_eq!(shifted, FLEET, "{}", text(&out));
    let summary = events.last().unwrap();
    let reason = summary["outcome"]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with(&format!("{prefix}-17: ")) && reason.contains("confidently above 1.00%"),
        "the summary names the failing target and why: {summary}"
    );
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
    let dir = temp(&playbook(&prefix));
    let out = rollout(&dir, &["plan", "--live", "p.rollout"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for n in 0..3 {
        assert!(
            stdout.contains(&format!(
                "{prefix}-{n}:live serves version 1 (100%): old = 1"
            )),
            "{stdout}"
        );
    }
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("selects 3 functions"),
        "{}",
        text(&out)
    );

    let pattern = format!("{prefix}-*");
    let out = rollout(&dir, &["status", "--function", &pattern, "--alias", "live"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(lines.len(), 3, "one line per alias: {lines:?}");
    assert!(lines[0].starts_with(&format!("{prefix}-0:live serves version 1 (100%)")));

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
    let out = rollout(&dir, &["plan", "--live", "p.rollout"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("{prefix}-0:live serves")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{prefix}-2:live serves")),
        "{stdout}"
    );
    assert!(
        !stdout.contains(&format!("{prefix}-1:live")),
        "untagged: {stdout}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains(&format!("tagged \"team={team}\" selects 2 functions")),
        "{}",
        text(&out)
    );
}

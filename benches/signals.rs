//! Judgment quality of business metrics and cold starts in worlds as messy as real traffic: a
//! per-version business metric judged per invocation against `old` (`orders per invocation of
//! new >= 0.95 * orders per invocation of old`) and cold starts against `old`'s (`cold starts <=
//! cold starts of old + 2%`), healthy and regressed, at 50 and 1,000 invocations a second, in the
//! stationary world, with errors that vary, a shared outage, drift, bursts and cold starts. For
//! each cell: the share rolled back and the median time to decide.
//!
//! `cargo bench --bench signals` prints the table, writes `target/bench/signals.json` and
//! replaces the table between the `signals` markers of `benches/RESULTS.md`. `SIGNALS_RUNS`
//! sets the seeds per cell (default 1,000).

mod shared;

use std::path::Path;

use rollout::check::{check_source, Options};
use rollout::cloud::sim::traffic::Profile;
use rollout::cloud::sim::world;
use rollout::diagnostic::source;
use rollout::plan::{Millis, Plan};
use rollout::simulation::monte_carlo::run_many;
use rollout::simulation::SimOptions;

const WORLDS: [(&str, &str); 6] = [
    ("stationary", ""),
    ("errors vary 100% (each version)", "errors vary 100%"),
    ("shared outage: 20% for 5m", "outage at 3m for 5m fails 20%"),
    (
        "drift ±50% every 30m, errors follow load",
        "traffic drifts 50% every 30m\nerrors follow load",
    ),
    ("bursts 100%", "traffic bursts 100%"),
    ("cold start: new ×3 for 2m", "cold start 2m slower 3x"),
];

const ORDERS: &str = "metric orders {\n  namespace \"Shop\"\n  name \"OrdersPlaced\"\n  statistic sum\n  version dimension \"FunctionVersion\"\n}\n";
const PER_CALL: &str = "orders per invocation of new >= 0.95 * orders per invocation of old";
const COLD: &str = "cold starts <= cold starts of old + 2%";

/// One cell's playbook and versions: the check, the bake, what `new` does (world lines added to
/// the world's), and whether that is healthy.
struct Case {
    check: &'static str,
    bake: &'static str,
    label: &'static str,
    versions: &'static str,
    healthy: bool,
}

const CASES: [Case; 9] = [
    Case {
        check: PER_CALL,
        bake: "wait 10m until healthy",
        label: "healthy: 50% of calls order",
        versions: "",
        healthy: true,
    },
    Case {
        check: PER_CALL,
        bake: "wait 10m until healthy",
        label: "new −10% orders",
        versions: "new business rate 45%",
        healthy: false,
    },
    Case {
        check: PER_CALL,
        bake: "wait 10m until healthy",
        label: "new −20% orders",
        versions: "new business rate 40%",
        healthy: false,
    },
    Case {
        check: PER_CALL,
        bake: "wait 2m..20m until healthy",
        label: "healthy: 50% of calls order",
        versions: "",
        healthy: true,
    },
    Case {
        check: PER_CALL,
        bake: "wait 2m..20m until healthy",
        label: "new −20% orders",
        versions: "new business rate 40%",
        healthy: false,
    },
    Case {
        check: PER_CALL,
        bake: "wait 15m until healthy",
        label: "new −20% orders from 9m",
        versions: "new business rate 40% from 9m",
        healthy: false,
    },
    Case {
        check: COLD,
        bake: "wait 10m until healthy",
        label: "healthy: 1% cold",
        versions: "",
        healthy: true,
    },
    Case {
        check: COLD,
        bake: "wait 10m until healthy",
        label: "new 5% cold",
        versions: "new cold starts 5%",
        healthy: false,
    },
    Case {
        check: COLD,
        bake: "wait 10m until healthy",
        label: "new 10% cold",
        versions: "new cold starts 10%",
        healthy: false,
    },
];

fn playbook(case: &Case) -> Plan {
    let text = format!(
        "function \"f\"\nalias \"live\"\n{ORDERS}health every 1m {{\n  min invocations 200\n  {}\n}}\npublish\nshift 5% to new\n{}\npromote\n",
        case.check, case.bake
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    check_source(source("case.rollout", text), dir, &Options::default())
        .plan
        .expect("a valid case")
}

fn main() {
    let runs: usize = std::env::var("SIGNALS_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1_000);
    let mut table = String::from(
        "| world | playbook | versions | rps | rolled back | time to decide (median) | time to decide (p95) |\n| --- | --- | --- | --- | --- | --- | --- |\n",
    );
    let mut json = Vec::new();
    for rps in [50.0, 1_000.0] {
        for (world, file) in WORLDS {
            for case in &CASES {
                let lines = format!("{file}\n{}", case.versions);
                let healthy = Profile {
                    error_rate: 0.001,
                    median_ms: 120.0,
                };
                let options = SimOptions {
                    rps,
                    old: healthy,
                    new: healthy,
                    conditions: world::parse(&lines).expect("a valid world"),
                    ..SimOptions::default()
                };
                let summary = run_many(&playbook(case), &options, runs);
                let rolled = (summary.rolled_back + summary.inconclusive) as f64
                    / summary.runs as f64
                    * 100.0;
                let mark = if case.healthy {
                    "false rollbacks"
                } else {
                    "caught"
                };
                let time = |pick: fn(&rollout::simulation::monte_carlo::Spread) -> f64| {
                    summary
                        .time_to_decide_ms
                        .map_or("–".to_string(), |s| Millis(pick(&s) as u64).to_string())
                };
                let row = format!(
                    "| {world} | `{}`, `{}` | {} | {rps} | {rolled:.1}% ({mark}) | {} | {} |\n",
                    case.check,
                    case.bake,
                    case.label,
                    time(|s| s.median),
                    time(|s| s.p95)
                );
                eprint!("{row}");
                table += &row;
                json.push(serde_json::json!({
                    "world": world,
                    "check": case.check,
                    "bake": case.bake,
                    "versions": case.label,
                    "rps": rps,
                    "healthy": case.healthy,
                    "rolled_back_percent": rolled,
                    "summary": summary,
                }));
            }
        }
    }
    println!("{table}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    if std::fs::create_dir_all(&out).is_ok() {
        let _ = std::fs::write(
            out.join("signals.json"),
            serde_json::to_string_pretty(&json).expect("serialises"),
        );
    }
    shared::record(
        "signals",
        &format!("{runs} runs per cell, 5% on new, metric delay 1m3s"),
        &table,
    );
}

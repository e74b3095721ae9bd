//! Judgment quality, measured: 1,000 simulated rollouts per case in the default simulated world
//! (metrics readable 45s after each invocation, the default metric delay), and for each the share
//! rolled back and the times to decide, against the targets of issue 10. Run with
//! `cargo bench --bench judge`; it prints the table, writes `target/bench/judge.json`, and
//! replaces the table between the `judge` markers in `benches/RESULTS.md`.

mod shared;

use std::path::Path;

use rollout::check::{check_source, Options};
use rollout::cloud::sim::traffic::Profile;
use rollout::diagnostic::source;
use rollout::plan::{Millis, Plan};
use rollout::simulation::monte_carlo::{run_many, Summary};
use rollout::simulation::SimOptions;

const RUNS: usize = 1_000;

/// A playbook: one function, 5% on `new`, then the bake.
fn playbook(check: &str, bake: &str) -> Plan {
    let text = format!(
        "function \"f\"\nalias \"live\"\nhealth every 1m {{\n  min invocations 200\n  {check}\n}}\npublish\nshift 5% to new\n{bake}\npromote\n"
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    check_source(source("case.rollout", text), dir, &Options::default())
        .plan
        .expect("a valid case")
}

fn world(rps: f64, old: f64, new: f64) -> SimOptions {
    let profile = |error_rate: f64| Profile {
        error_rate: error_rate / 100.0,
        median_ms: 120.0,
    };
    SimOptions {
        rps,
        old: profile(old),
        new: profile(new),
        ..SimOptions::default()
    }
}

/// What a case must show.
enum Target {
    /// Rolled back in at most this share of runs.
    AtMost(f64),
    /// Rolled back in at least this share of runs.
    AtLeast(f64),
    /// Promoted with a median time under this.
    PromotedWithin(Millis),
}

struct Case {
    name: &'static str,
    check: &'static str,
    bake: &'static str,
    rps: f64,
    old: f64,
    new: f64,
    target: Target,
}

fn share(summary: &Summary) -> f64 {
    (summary.rolled_back + summary.inconclusive) as f64 / summary.runs as f64 * 100.0
}

fn median(spread: Option<rollout::simulation::monte_carlo::Spread>) -> String {
    spread.map_or("–".to_string(), |s| Millis(s.median as u64).to_string())
}

fn main() {
    let relative = "error rate of new <= error rate of old + 0.5%";
    let fixed = "error rate < 1%";
    let cases = [
        Case {
            name: "healthy at 0.1%",
            check: fixed,
            bake: "wait 10m until healthy",
            rps: 50.0,
            old: 0.1,
            new: 0.1,
            target: Target::AtMost(1.0),
        },
        Case {
            name: "healthy at 0.5%",
            check: fixed,
            bake: "wait 10m until healthy",
            rps: 50.0,
            old: 0.5,
            new: 0.5,
            target: Target::AtMost(1.0),
        },
        Case {
            name: "new at 3%",
            check: fixed,
            bake: "wait 10m until healthy",
            rps: 50.0,
            old: 0.1,
            new: 3.0,
            target: Target::AtLeast(99.0),
        },
        Case {
            name: "new = old at 0.1%",
            check: relative,
            bake: "wait 10m until healthy",
            rps: 50.0,
            old: 0.1,
            new: 0.1,
            target: Target::AtMost(1.0),
        },
        Case {
            name: "new = old at 0.5%",
            check: relative,
            bake: "wait 10m until healthy",
            rps: 50.0,
            old: 0.5,
            new: 0.5,
            target: Target::AtMost(1.0),
        },
        Case {
            name: "new at 2.1%, old at 0.1%",
            check: relative,
            bake: "wait 10m until healthy",
            rps: 50.0,
            old: 0.1,
            new: 2.1,
            target: Target::AtLeast(97.0),
        },
        Case {
            name: "adaptive, healthy, 1,000 rps",
            check: relative,
            bake: "wait 2m..20m until healthy",
            rps: 1_000.0,
            old: 0.1,
            new: 0.1,
            target: Target::PromotedWithin(Millis::from_minutes(6)),
        },
        Case {
            name: "adaptive, new at 2.1%, 50 rps",
            check: relative,
            bake: "wait 2m..20m until healthy",
            rps: 50.0,
            old: 0.1,
            new: 2.1,
            target: Target::AtLeast(97.0),
        },
    ];
    let mut table = String::from(
        "| check | bake | world | rolled back | target | met | time to detect (median) | time to promote (median) |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    let mut json = Vec::new();
    for case in &cases {
        let plan = playbook(case.check, case.bake);
        let summary = run_many(&plan, &world(case.rps, case.old, case.new), RUNS);
        let rolled = share(&summary);
        let (target, met) = match case.target {
            Target::AtMost(max) => (format!("≤ {max}%"), rolled <= max),
            Target::AtLeast(min) => (format!("≥ {min}%"), rolled >= min),
            Target::PromotedWithin(limit) => (
                format!("promoted, median under {limit}"),
                summary
                    .time_to_promote_ms
                    .is_some_and(|s| s.median < limit.0 as f64)
                    && summary.promoted == summary.runs,
            ),
        };
        let line = format!(
            "| `{}` | `{}` | {}: {} rps, old {}%, new {}% | {rolled:.1}% | {target} | {} | {} | {} |\n",
            case.check,
            case.bake,
            case.name,
            case.rps,
            case.old,
            case.new,
            if met { "yes" } else { "**no**" },
            median(summary.time_to_detect_ms),
            median(summary.time_to_promote_ms)
        );
        print!("{line}");
        table += &line;
        json.push(format!(
            "{{\"case\":\"{}\",\"check\":\"{}\",\"bake\":\"{}\",\"rolled_back_percent\":{rolled:.2},\"met\":{met},\"summary\":{}}}",
            case.name,
            case.check,
            case.bake,
            serde_json::to_string(&summary).expect("serialises")
        ));
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = dir.join("target/bench");
    if std::fs::create_dir_all(&out).is_ok() {
        let _ = std::fs::write(out.join("judge.json"), format!("[{}]\n", json.join(",")));
    }
    shared::record(
        "judge",
        &format!("{RUNS} runs per case, default simulated world, 5% on new"),
        &table,
    );
}

//! Simulation speed: a 2-hour, 20-step plan at 1,000 rps, and 1,000 Monte Carlo runs of the
//! canary example. Run with `cargo bench --bench simulate`; prints the figures (with peak memory)
//! and writes them to `target/bench/simulate.json`. Targets (issue 3): under 50 ms and under 5 s.

use std::path::Path;
use std::time::{Duration, Instant};

use rollout::check::{check_path, check_source, Options};
use rollout::diagnostic::source;
use rollout::report::Discard;
use rollout::simulation::monte_carlo::run_many;
use rollout::simulation::{simulate, SimOptions};

/// 20 steps over two hours: publish, nine shifts each followed by a 13m20s bake, promote.
fn two_hour_plan() -> String {
    let mut text = String::from(
        "function \"f\"\nalias \"live\"\nhealth every 1m {\n  min invocations 100\n  error rate < 1%\n  p99 duration < 1s\n  p99 duration of new < 1.5 * p99 duration of old\n}\npublish\n",
    );
    for i in 1..=9 {
        text.push_str(&format!(
            "shift {}% to new\nwait 800s until healthy\n",
            i * 10
        ));
    }
    text.push_str("promote\n");
    text
}

/// Peak resident memory of this process so far, from /proc (Linux).
fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let checked = check_source(
        source("two-hours.rollout", two_hour_plan()),
        dir,
        &Options::default(),
    );
    let long = checked.plan.expect("the generated plan is valid");
    assert_eq!(long.steps.len(), 20);
    let options = SimOptions {
        rps: 1000.0,
        ..SimOptions::default()
    };
    let mut times = Vec::new();
    let mut simulated = 0;
    for seed in 0..15 {
        let start = Instant::now();
        let result = simulate(
            &long,
            &SimOptions {
                seed,
                ..options.clone()
            },
            &mut Discard,
        );
        times.push(start.elapsed());
        simulated = result.report.ended_ms;
        assert_eq!(
            result.report.outcome,
            rollout::engine::Outcome::Promoted,
            "seed {seed}"
        );
    }
    let long_ms = median(times).as_secs_f64() * 1000.0;
    println!(
        "simulate: 20-step plan, {} simulated at 1000 rps: median {long_ms:.2} ms of 15 runs",
        rollout::report::clock(simulated)
    );

    let canary = check_path(&dir.join("examples/canary.rollout"), &Options::default())
        .plan
        .expect("the canary example is valid");
    let regressed = SimOptions {
        rps: 50.0,
        new: rollout::cloud::sim::traffic::Profile {
            error_rate: 0.02,
            median_ms: 120.0,
        },
        ..SimOptions::default()
    };
    let start = Instant::now();
    let summary = run_many(&canary, &regressed, 1000);
    let many_s = start.elapsed().as_secs_f64();
    let peak = peak_memory_kib().unwrap_or(0);
    println!(
        "simulate: 1000 Monte Carlo runs of examples/canary.rollout: {many_s:.3} s ({} rolled back); peak memory {} MiB",
        summary.rolled_back,
        peak / 1024
    );
    let out = dir.join("target/bench");
    let record = format!(
        "{{\"bench\":\"simulate\",\"two_hour_20_step_1000rps_median_ms\":{long_ms:.3},\"monte_carlo_1000_canary_s\":{many_s:.3},\"peak_memory_kib\":{peak}}}\n"
    );
    if std::fs::create_dir_all(&out).is_ok() {
        let _ = std::fs::write(out.join("simulate.json"), record);
    }
}

//! Parse-and-check throughput on a generated 10,000-step playbook.
//!
//! Run with `cargo bench --bench check`. Prints the median, minimum and maximum of several runs
//! and writes them to `target/bench/check.json`. The target (issue 2) is well under a second.

use std::time::{Duration, Instant};

use rollout::check::{check_source, Options};
use rollout::diagnostic::source;

const STEPS: usize = 10_000;
const RUNS: usize = 15;

/// `publish`, then shifts and bakes alternating, a step definition called now and then, `promote`.
fn playbook() -> String {
    let mut text = String::from(
        "rollout \"bench\"\nfunction \"f\"\nalias \"live\"\nparam bake = 1m\n\
         health every 1m {\n  min invocations 10\n  error rate < 1%\n  p99 duration of new < 1.2 * p99 duration of old\n}\n\
         step stage(w, d) {\n  shift w to new\n  wait d until healthy\n}\npublish\n",
    );
    let mut steps = 1;
    while steps < STEPS - 1 {
        let weight = 1 + (steps % 98);
        match steps % 3 {
            0 => text.push_str(&format!("stage({weight}%, bake)\n")),
            1 => text.push_str(&format!("shift {weight}% to new\n")),
            _ => text.push_str("wait bake until healthy\n"),
        }
        steps += if steps % 3 == 0 { 2 } else { 1 };
    }
    text.push_str("promote\n");
    text
}

fn main() {
    let text = playbook();
    let dir = std::env::temp_dir();
    let options = Options::default();
    let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
    let mut planned = 0;
    for _ in 0..RUNS {
        let src = source("bench.rollout", text.clone());
        let start = Instant::now();
        let checked = check_source(src, &dir, &options);
        times.push(start.elapsed());
        let plan = checked.plan.expect("the generated playbook is valid");
        planned = plan.steps.len();
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (median, min, max) = (ms(times[RUNS / 2]), ms(times[0]), ms(times[RUNS - 1]));
    println!(
        "check: {planned} planned steps from {} bytes: median {median:.2} ms, min {min:.2} ms, max {max:.2} ms over {RUNS} runs",
        text.len()
    );
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    let record = format!(
        "{{\"bench\":\"check_10000_steps\",\"steps\":{planned},\"bytes\":{},\"median_ms\":{median:.3},\"min_ms\":{min:.3},\"max_ms\":{max:.3},\"runs\":{RUNS}}}\n",
        text.len()
    );
    if std::fs::create_dir_all(&out).is_ok() {
        let _ = std::fs::write(out.join("check.json"), record);
    }
}

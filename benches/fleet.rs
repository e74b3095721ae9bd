//! A fleet at the speed the account allows: a 1,000-function canary (`publish; shift 5% to new;
//! wait 10m until healthy; promote`) in the simulated world, whose account allows 10 Lambda
//! control-plane calls a second (429 beyond) and answers each in 60ms, with `rollout` pacing
//! itself at the same 10 a second, as `run --calls-per-second 10` does.
//!
//! Run with `cargo bench --bench fleet`. Prints the figures, writes `target/bench/fleet.json`,
//! and replaces the table between the `fleet` markers in `benches/RESULTS.md`. Targets (issue
//! 12): the write phases reach at least 90% of the limit (simulated calls ÷ simulated time),
//! no target is lost to throttling, peak memory stays under 100 MB, and each evaluation reads
//! the metrics in at most ceil(queries ÷ 500) `GetMetricData` calls.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use rollout::check::{check_source, Options};
use rollout::cloud::call::Call;
use rollout::cloud::limit::Limited;
use rollout::cloud::metrics::QUERIES_PER_CALL;
use rollout::cloud::retry::Retrying;
use rollout::cloud::sim::{SimConfig, SimWorld};
use rollout::diagnostic::source;
use rollout::engine::events::{Event, EventKind, EventSink};
use rollout::engine::{Approval, Engine, Outcome, Services, Settings};
use rollout::hooks::Hooks;
use rollout::plan::Millis;

const FUNCTIONS: usize = 1_000;
const LIMIT: f64 = 10.0;
const LATENCY: Millis = Millis(60);

const PLAYBOOK: &str = r#"function "fleet-*"
alias "live"
health every 1m {
  min invocations 50
  error rate < 1%
  p99 duration < 800ms over 5m
}
publish
shift 5% to new
wait 10m until healthy
promote
"#;

/// Peak resident memory of this process so far, from /proc (Linux).
fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Whether a call is a Lambda control-plane call (what the limit counts).
fn control_plane(call: &Call) -> bool {
    !matches!(
        call,
        Call::Invoke { .. } | Call::GetMetricData { .. } | Call::DescribeAlarms { .. }
    )
}

/// Keeps when each step began (ms since the start), and nothing else: as `run` streams its
/// events, the bench holds none in memory.
#[derive(Default)]
struct Steps(Vec<(String, u64)>);

impl EventSink for Steps {
    fn emit(&mut self, event: &Event) {
        if let EventKind::StepStarted { text, .. } = &event.kind {
            self.0.push((text.clone(), event.at_ms));
        }
    }
}

/// One evaluation round's `GetMetricData` calls, and its queries by time range.
type Round = (usize, BTreeMap<(u64, u64), usize>);

/// One write phase: a step that writes every alias, from its start to the next step's.
struct Phase {
    name: String,
    calls: usize,
    took: Millis,
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let checked = check_source(
        source("fleet.rollout", PLAYBOOK.to_string()),
        dir,
        &Options::default(),
    );
    let plan = checked.plan.expect("the fleet playbook is valid");
    let world = SimWorld::new(&SimConfig {
        functions: (1..=FUNCTIONS).map(|n| format!("fleet-{n:04}")).collect(),
        rps: 20.0,
        call_latency: LATENCY,
        calls_per_second: Some(LIMIT),
        ..SimConfig::default()
    });
    let hooks = Hooks::compile(&plan);
    let paced = Limited::new(&world, &world, LIMIT);
    let cloud = Retrying::new(&paced, &world);
    let mut steps = Steps::default();
    let settings = Settings {
        approval: Approval::Auto,
        holder: "bench".to_string(),
        ..Settings::default()
    };
    let started = Instant::now();
    let report = rollout::cloud::sim::clock::runtime().block_on(
        Engine::new(
            Services {
                lambda: &cloud,
                metrics: &cloud,
                clock: &world,
                hooks: &hooks,
                events: &mut steps,
                calendars: None,
                logs: None,
            },
            settings,
        )
        .run(&plan),
    );
    let wall = started.elapsed();
    assert_eq!(report.outcome, Outcome::Promoted, "{}", report.outcome);
    let promoted = world
        .calls()
        .iter()
        .filter(|c| matches!(c, Call::UpdateAlias { update, .. } if update.routing.is_empty() && update.version != "1"))
        .count();

    // Step boundaries, in simulated time since the start.
    let mut bounds = steps.0;
    bounds.push(("end".to_string(), report.ended_ms));
    let calls = world.timed_calls();
    let start = calls.first().map_or(0, |(t, _)| t.0) - LATENCY.0;
    let mut phases: Vec<Phase> = bounds
        .windows(2)
        .filter(|w| !w[0].0.starts_with("wait"))
        .map(|w| {
            let (from, to) = (w[0].1 + start, w[1].1 + start);
            Phase {
                name: w[0].0.clone(),
                calls: calls
                    .iter()
                    .filter(|(t, c)| control_plane(c) && t.0 > from && t.0 <= to)
                    .count(),
                took: Millis(to - from),
            }
        })
        .collect();
    let admission_end = bounds[0].1 + start;
    phases.insert(
        0,
        Phase {
            name: "select, read, check and lease every alias".to_string(),
            calls: calls
                .iter()
                .filter(|(t, c)| control_plane(c) && t.0 <= admission_end)
                .count(),
            took: Millis(admission_end - start + LATENCY.0),
        },
    );
    let (written, took) = phases
        .iter()
        .fold((0, 0), |(n, t), p| (n + p.calls, t + p.took.0));
    let share = written as f64 / (took as f64 / 1000.0) / LIMIT;

    // Health reads: the GetMetricData requests of each evaluation round (same simulated time), and
    // the fewest the API allows: ceil(queries ÷ 500) for each time range (one per request). The
    // later pages of an answer (more datapoints than a page holds: old's hour of history) are the
    // same requests read to their end.
    let mut rounds: BTreeMap<u64, Round> = BTreeMap::new();
    for (t, call) in &calls {
        if let Call::GetMetricData {
            queries,
            next_token,
        } = call
        {
            let round = rounds.entry(t.0).or_default();
            if next_token.is_none() {
                round.0 += 1;
                for q in queries.iter() {
                    *round.1.entry((q.start.0, q.end.0)).or_default() += 1;
                }
            }
        }
    }
    let worst_round = rounds
        .values()
        .map(|(calls, ranges)| {
            let queries: usize = ranges.values().sum();
            let fewest: usize = ranges.values().map(|q| q.div_ceil(QUERIES_PER_CALL)).sum();
            (
                *calls,
                queries,
                fewest.max(queries.div_ceil(QUERIES_PER_CALL)),
            )
        })
        .max_by_key(|(calls, _, allowed)| calls.saturating_sub(*allowed))
        .unwrap_or((0, 0, 0));
    assert!(
        worst_round.0 <= worst_round.2,
        "an evaluation made more GetMetricData requests than the API needs: {worst_round:?}"
    );
    let memory_mib = peak_memory_kib().map_or(f64::NAN, |k| k as f64 / 1024.0);

    let mut rows: Vec<String> = phases
        .iter()
        .map(|p| {
            format!(
                "| {} | {} | {} | {:.1} | {:.0}% |",
                p.name,
                p.calls,
                p.took,
                p.calls as f64 / (p.took.0 as f64 / 1000.0),
                100.0 * p.calls as f64 / (p.took.0 as f64 / 1000.0) / LIMIT
            )
        })
        .collect();
    rows.push(format!(
        "| **all write phases** | {written} | {} | {:.1} | **{:.0}%** |",
        Millis(took),
        written as f64 / (took as f64 / 1000.0),
        100.0 * share
    ));
    let summary = format!(
        "{FUNCTIONS} functions promoted: {promoted} · throttled calls (429, retried): {} · targets lost: {} · evaluation rounds: {} · worst round: {} GetMetricData requests for {} queries (allowed {}) · peak memory {memory_mib:.0} MB · simulated {} in {:.2} s",
        world.throttled(),
        FUNCTIONS - promoted,
        rounds.len(),
        worst_round.0,
        worst_round.1,
        worst_round.2,
        Millis(report.ended_ms),
        wall.as_secs_f64()
    );
    println!("{summary}");
    for row in &rows {
        println!("{row}");
    }
    let out = dir.join("target/bench");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::write(
        out.join("fleet.json"),
        format!(
            "{{\"functions\":{FUNCTIONS},\"limit\":{LIMIT},\"share_of_limit\":{share:.4},\"promoted\":{promoted},\"throttled\":{},\"metric_calls_worst_round\":{},\"metric_queries_worst_round\":{},\"peak_memory_mib\":{memory_mib:.1},\"simulated_ms\":{}}}\n",
            world.throttled(),
            worst_round.0,
            worst_round.1,
            report.ended_ms
        ),
    );
    let block = format!(
        "<!-- fleet:begin -->\n{summary}\n\n| phase | control-plane calls | simulated time | calls/s | of the limit |\n| --- | --- | --- | --- | --- |\n{}\n<!-- fleet:end -->",
        rows.join("\n")
    );
    let results = dir.join("benches/RESULTS.md");
    let Ok(text) = std::fs::read_to_string(&results) else {
        return;
    };
    let updated = match (text.find("<!-- fleet:begin -->"), text.find("<!-- fleet:end -->")) {
        (Some(a), Some(b)) => format!(
            "{}{block}{}",
            &text[..a],
            &text[b + "<!-- fleet:end -->".len()..]
        ),
        _ => format!(
            "{}\n\n## `cargo bench --bench fleet` — a fleet at the speed the account allows\n\n{block}\n",
            text.trim_end()
        ),
    };
    let _ = std::fs::write(results, updated);
}

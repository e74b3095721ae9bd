//! Judgment quality in worlds as messy as real traffic: every world of `simulate --world`
//! (errors that vary minute to minute, shared outages, drift, bursts, cold starts, retries, late
//! regressions, latency shocks, missing data) × the playbooks users write (a threshold, a
//! threshold relative to `old`, a percentile, an adaptive bake) × healthy and regressed
//! versions, at 50 and 1,000 invocations a second, 1,000 seeds a cell. For each cell: the share
//! rolled back, the median time held, the median time to decide; for the stationary world's
//! regressions and adaptive bakes, the same time of an oracle (a sequential probability ratio
//! test that knows both true rates) and our ratio to it.
//!
//! `cargo bench --bench worlds` prints the table, writes `target/bench/worlds.json`, and
//! replaces the table between the `worlds:SECTION` markers of `benches/RESULTS.md`, where
//! SECTION is `$WORLDS_SECTION` (default `after`). Set `WORLDS_RUNS` for fewer seeds while
//! iterating.

mod shared;

use std::path::Path;

use rollout::check::{check_source, Options};
use rollout::cloud::sim::rng::Rng;
use rollout::cloud::sim::traffic::Profile;
use rollout::cloud::sim::world;
use rollout::diagnostic::source;
use rollout::plan::{Millis, Plan};
use rollout::simulation::monte_carlo::{run_many, Summary};
use rollout::simulation::SimOptions;

/// A world: its name and its world file.
struct World {
    name: &'static str,
    file: &'static str,
}

const WORLDS: [World; 10] = [
    World {
        name: "stationary",
        file: "",
    },
    World {
        name: "errors vary 100% (each version)",
        file: "errors vary 100%",
    },
    World {
        name: "errors vary 100% (shared)",
        file: "shared errors vary 100%",
    },
    World {
        name: "shared outage: 5% for 3m",
        file: "outage at 3m for 3m fails 5%",
    },
    World {
        name: "drift ±50% every 30m, errors follow load",
        file: "traffic drifts 50% every 30m\nerrors follow load",
    },
    World {
        name: "bursts 100%",
        file: "traffic bursts 100%",
    },
    World {
        name: "cold start: new ×3 for 2m",
        file: "cold start 2m slower 3x",
    },
    World {
        name: "async, 2 retries",
        file: "retries 2",
    },
    World {
        name: "shared latency shock ×2 for 2m",
        file: "latency shock at 3m for 2m slower 2x",
    },
    World {
        name: "CloudWatch answers no PR(:800)",
        file: "no percentile ranks",
    },
];

/// What a playbook checks and how it bakes.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Threshold,
    Relative,
    Percentile,
    Adaptive,
}

impl Kind {
    fn health(self) -> &'static str {
        match self {
            Kind::Threshold => "error rate < 1%",
            Kind::Relative | Kind::Adaptive => "error rate of new <= error rate of old + 0.5%",
            Kind::Percentile => "p99 duration < 800ms",
        }
    }
}

/// One cell's versions.
#[derive(Clone, Copy)]
struct Versions {
    label: &'static str,
    old: f64,
    new: f64,
    median_ms: f64,
    new_median_ms: f64,
    healthy: bool,
}

const fn rates(label: &'static str, old: f64, new: f64, healthy: bool) -> Versions {
    Versions {
        label,
        old,
        new,
        median_ms: 120.0,
        new_median_ms: 120.0,
        healthy,
    }
}

const fn latencies(label: &'static str, new_median_ms: f64, healthy: bool) -> Versions {
    Versions {
        label,
        old: 0.1,
        new: 0.1,
        median_ms: 200.0,
        new_median_ms,
        healthy,
    }
}

fn cases(kind: Kind) -> Vec<Versions> {
    match kind {
        Kind::Threshold => vec![
            rates("healthy at 0.1%", 0.1, 0.1, true),
            rates("healthy at 0.5%", 0.5, 0.5, true),
            rates("new at 3%", 0.1, 3.0, false),
        ],
        Kind::Relative => vec![
            rates("healthy at 0.1%", 0.1, 0.1, true),
            rates("healthy at 0.5%", 0.5, 0.5, true),
            rates("new +2pp", 0.1, 2.1, false),
        ],
        Kind::Adaptive => vec![
            rates("healthy at 0.1%", 0.1, 0.1, true),
            rates("new +2pp", 0.1, 2.1, false),
        ],
        Kind::Percentile => vec![
            latencies("healthy, 200ms", 200.0, true),
            latencies("new 2.5× slower", 500.0, false),
        ],
    }
}

/// The playbook of a cell; an asynchronous function's says so (`async`).
fn playbook(kind: Kind, bake: &str, file: &str) -> Plan {
    let asynchronous = if file.starts_with("retries") {
        "\n  async"
    } else {
        ""
    };
    let text = format!(
        "function \"f\"\nalias \"live\"\nhealth every 1m {{\n  min invocations 200\n  {}{asynchronous}\n}}\npublish\nshift 5% to new\n{bake}\npromote\n",
        kind.health()
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    check_source(source("case.rollout", text), dir, &Options::default())
        .plan
        .expect("a valid case")
}

/// Which playbooks a world is about.
fn kinds(world: &World) -> Vec<Kind> {
    match world.file {
        "no percentile ranks" => vec![Kind::Percentile],
        "cold start 2m slower 3x" | "latency shock at 3m for 2m slower 2x" => {
            vec![Kind::Percentile, Kind::Threshold]
        }
        _ => vec![
            Kind::Threshold,
            Kind::Relative,
            Kind::Percentile,
            Kind::Adaptive,
        ],
    }
}

fn options(rps: f64, versions: Versions, file: &str) -> SimOptions {
    SimOptions {
        rps,
        old: Profile {
            error_rate: versions.old / 100.0,
            median_ms: versions.median_ms,
        },
        new: Profile {
            error_rate: versions.new / 100.0,
            median_ms: versions.new_median_ms,
        },
        conditions: world::parse(file).expect("a valid world"),
        ..SimOptions::default()
    }
}

/// One measured cell.
struct Cell {
    world: String,
    playbook: String,
    versions: String,
    rps: f64,
    healthy: bool,
    summary: Summary,
    oracle_ms: Option<f64>,
}

impl Cell {
    fn rolled_back(&self) -> f64 {
        (self.summary.rolled_back + self.summary.inconclusive) as f64 / self.summary.runs as f64
            * 100.0
    }
}

fn minutes(ms: f64) -> String {
    Millis(ms as u64).to_string()
}

/// The oracle: a sequential probability ratio test on `new`'s settled per-minute counts that
/// knows the threshold `c` and `new`'s true rate `p`, deciding when its likelihood ratio leaves
/// [α, 1/α]; its median time from `new`'s first traffic, settlement included as a bake's.
fn oracle(rps: f64, c: f64, p: f64, alpha: f64, runs: usize) -> f64 {
    let calls_per_minute = rps * 0.05 * 60.0;
    // The first traffic comes about a second into the minute; a period is read a minute and
    // three seconds after it ends (the default metric delay).
    let offset = 59_000.0 + 63_000.0;
    let (step_hit, step_miss) = ((p / c).ln(), ((1.0 - p) / (1.0 - c)).ln());
    let mut times = Vec::with_capacity(runs);
    for seed in 0..runs {
        let mut rng = Rng::new(seed as u64 + 1);
        let mut llr: f64 = 0.0;
        let mut minute = 0;
        while llr.abs() < (1.0 / alpha).ln() && minute < 10_000 {
            let n = rng.poisson(calls_per_minute);
            let k = rng.binomial(n, p);
            llr += k as f64 * step_hit + (n - k) as f64 * step_miss;
            minute += 1;
        }
        times.push(offset + (minute - 1) as f64 * 60_000.0);
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let runs: usize = std::env::var("WORLDS_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1_000);
    let section = std::env::var("WORLDS_SECTION").unwrap_or_else(|_| "after".to_string());
    let mut cells = Vec::new();
    let mut todo: Vec<(String, String, Kind, &str, Versions)> = Vec::new();
    for world in &WORLDS {
        for kind in kinds(world) {
            let bake = if kind == Kind::Adaptive {
                "wait 2m..20m until healthy"
            } else {
                "wait 10m until healthy"
            };
            for versions in cases(kind) {
                todo.push((
                    world.name.to_string(),
                    format!("`{}`, `{bake}`", kind.health()),
                    kind,
                    world.file,
                    versions,
                ));
            }
        }
    }
    // Late regressions: healthy at 0.1% until 60% of a 15-minute bake, then bad.
    todo.push((
        "late onset: new at 3% from 9m".into(),
        format!("`{}`, `wait 15m until healthy`", Kind::Threshold.health()),
        Kind::Threshold,
        "new fails 3% from 9m",
        rates("healthy, then 3%", 0.1, 0.1, false),
    ));
    todo.push((
        "late onset: new at 2.1% from 9m".into(),
        format!("`{}`, `wait 15m until healthy`", Kind::Relative.health()),
        Kind::Relative,
        "new fails 2.1% from 9m",
        rates("healthy, then +2pp", 0.1, 0.1, false),
    ));
    for rps in [50.0, 1_000.0] {
        for (world, label, kind, file, versions) in &todo {
            let bake = if label.contains("15m") {
                "wait 15m until healthy"
            } else if *kind == Kind::Adaptive {
                "wait 2m..20m until healthy"
            } else {
                "wait 10m until healthy"
            };
            let plan = playbook(*kind, bake, file);
            let summary = run_many(&plan, &options(rps, *versions, file), runs);
            // The oracle of the stationary world's error regressions: the threshold the check
            // puts on new (old's true rate plus the margin for the relative check).
            // An adaptive bake's healthy cells decide too: the oracle accepts the threshold.
            let decides = !versions.healthy || *kind == Kind::Adaptive;
            let oracle_ms = (file.is_empty() && decides && *kind != Kind::Percentile).then(|| {
                let c = match kind {
                    Kind::Threshold => 0.01,
                    _ => versions.old / 100.0 + 0.005,
                };
                oracle(rps, c, versions.new / 100.0, 0.01, runs)
            });
            let cell = Cell {
                world: world.clone(),
                playbook: label.clone(),
                versions: versions.label.to_string(),
                rps,
                healthy: versions.healthy,
                summary,
                oracle_ms,
            };
            eprintln!(
                "{} rps | {} | {} | {}: rolled back {:.1}%",
                cell.rps,
                cell.world,
                cell.playbook,
                cell.versions,
                cell.rolled_back()
            );
            cells.push(cell);
        }
    }
    let mut table = String::from(
        "| world | playbook | versions | rps | rolled back | held (median) | time to decide (median) | oracle | ratio |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    let mut json = Vec::new();
    for cell in &cells {
        let decide = cell.summary.time_to_decide_ms.map(|s| s.median);
        let held = cell
            .summary
            .held_ms
            .filter(|s| s.median > 0.0)
            .map_or("–".to_string(), |s| minutes(s.median));
        let rolled = cell.rolled_back();
        let mark = if cell.healthy {
            "false rollbacks"
        } else {
            "caught"
        };
        table += &format!(
            "| {} | {} | {} | {} | {rolled:.1}% ({mark}) | {held} | {} | {} | {} |\n",
            cell.world,
            cell.playbook,
            cell.versions,
            cell.rps,
            decide.map_or("–".to_string(), minutes),
            cell.oracle_ms.map_or("–".to_string(), minutes),
            match (decide, cell.oracle_ms) {
                (Some(d), Some(o)) => format!("{:.2}", d / o),
                _ => "–".to_string(),
            }
        );
        json.push(serde_json::json!({
            "world": cell.world,
            "playbook": cell.playbook,
            "versions": cell.versions,
            "rps": cell.rps,
            "healthy": cell.healthy,
            "rolled_back_percent": rolled,
            "oracle_ms": cell.oracle_ms,
            "summary": cell.summary,
        }));
    }
    println!("{table}");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = dir.join("target/bench");
    if std::fs::create_dir_all(&out).is_ok() {
        let _ = std::fs::write(
            out.join(format!("worlds-{section}.json")),
            serde_json::to_string_pretty(&json).expect("serialises"),
        );
    }
    shared::record(
        &format!("worlds:{section}"),
        &format!("{runs} runs per cell, 5% on new, metric delay 1m3s"),
        &table,
    );
}

//! Waves at the speed each region allows: 100 functions in each of 3 regions (`function
//! "fleet-*"`, `publish; shift 5% to new; wait 10m until healthy; promote`) in the simulated
//! world, each region's account allowing 10 Lambda control-plane calls a second (429 beyond),
//! answering each in 60ms, with `rollout` pacing each region's clients at 10 a second.
//!
//! Two layouts: the three regions in one wave (they run at once), and a first wave of one
//! region then a wave of the other two, with `between waves wait 10m until healthy`. A single
//! region alone is the yardstick.
//!
//! Run with `cargo bench --bench waves`. Prints the figures, writes `target/bench/waves.json`,
//! and replaces the table between the `waves` markers in `benches/RESULTS.md`. Targets (issue
//! 22): every region's write phases reach at least 90% of its own limit (simulated calls ÷
//! simulated time), and one wave of three regions takes about one region's time; the two-wave
//! layout about two regions' time plus the bake.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use rollout::check::{check_source, Options};
use rollout::cloud::call::Call;
use rollout::cloud::limit::Limited;
use rollout::cloud::retry::Retrying;
use rollout::cloud::sim::{SimConfig, SimWorld};
use rollout::cloud::Clock;
use rollout::diagnostic::source;
use rollout::engine::events::{Event, EventKind, EventSink};
use rollout::engine::waves::{Conductor, Region};
use rollout::engine::{Approval, Outcome, Settings};
use rollout::hooks::Hooks;
use rollout::plan::Millis;

const FUNCTIONS: usize = 100;
const LIMIT: f64 = 10.0;
const LATENCY: Millis = Millis(60);

const STEPS: &str = r#"publish
shift 5% to new
wait 10m until healthy
promote
"#;

const HEALTH: &str = r#"function "fleet-*"
alias "live"
health every 1m {
  min invocations 50
  error rate < 1%
  p99 duration < 800ms over 5m
}
"#;

/// When each step began in each region (ms since the start), and nothing else.
#[derive(Default)]
struct Steps(BTreeMap<String, Vec<(String, u64)>>);

impl EventSink for Steps {
    fn emit(&mut self, event: &Event) {
        let Some(region) = &event.region else { return };
        let steps = self.0.entry(region.clone()).or_default();
        match &event.kind {
            EventKind::StepStarted { text, .. } => steps.push((text.clone(), event.at_ms)),
            // The end of the region's run of the steps (not of its watches between waves).
            EventKind::Finished { .. } if steps.last().is_some_and(|(t, _)| t != "end") => {
                steps.push(("end".to_string(), event.at_ms));
            }
            _ => {}
        }
    }
}

/// Whether a call is a Lambda control-plane call (what the limit counts).
fn control_plane(call: &Call) -> bool {
    !matches!(
        call,
        Call::Invoke { .. } | Call::GetMetricData { .. } | Call::DescribeAlarms { .. }
    )
}

/// What one layout did.
struct Measured {
    name: &'static str,
    /// Simulated time of the whole.
    took: Millis,
    /// Each region's write phases: calls and simulated time.
    regions: Vec<(String, usize, Millis)>,
    throttled: usize,
    promoted: usize,
    wall: f64,
}

fn layout(name: &'static str, waves: &str) -> Measured {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = format!("{HEALTH}{waves}{STEPS}");
    let checked = check_source(source("waves.rollout", text), dir, &Options::default());
    let plan = checked
        .plan
        .unwrap_or_else(|| panic!("{name}: {:?}", checked.diags));
    let places = plan.waves.as_ref().expect("waves").places();
    let worlds: Vec<SimWorld> = places
        .iter()
        .map(|_| {
            SimWorld::new(&SimConfig {
                functions: (1..=FUNCTIONS).map(|n| format!("fleet-{n:04}")).collect(),
                rps: 20.0,
                call_latency: LATENCY,
                calls_per_second: Some(LIMIT),
                ..SimConfig::default()
            })
        })
        .collect();
    let paced: Vec<_> = worlds.iter().map(|w| Limited::new(w, w, LIMIT)).collect();
    let clouds: Vec<_> = paced
        .iter()
        .zip(&worlds)
        .map(|(p, w)| Retrying::new(p, w))
        .collect();
    let regions: Vec<Region<'_, _, _, SimWorld>> = places
        .iter()
        .zip(&clouds)
        .zip(&worlds)
        .map(|((place, cloud), world)| Region {
            place: place.clone(),
            lambda: cloud,
            metrics: cloud,
            clock: world,
        })
        .collect();
    let hooks = Hooks::compile(&plan);
    let steps: RefCell<Steps> = RefCell::default();
    let started = Instant::now();
    let waved = rollout::cloud::sim::clock::runtime().block_on(async {
        for world in &worlds {
            world.now();
        }
        Conductor {
            plan: &plan,
            regions: &regions,
            hooks: &hooks,
            events: &steps,
            settings: Settings {
                approval: Approval::Auto,
                holder: "bench".to_string(),
                ..Settings::default()
            },
            only: None,
        }
        .run()
        .await
    });
    let wall = started.elapsed().as_secs_f64();
    assert_eq!(
        waved.outcome,
        Outcome::Promoted,
        "{name}: {}",
        waved.outcome
    );
    let steps = steps.into_inner().0;
    let mut measured = Vec::new();
    let mut promoted = 0;
    for (place, world) in places.iter().zip(&worlds) {
        promoted += (1..=FUNCTIONS)
            .filter_map(|n| world.alias(&format!("fleet-{n:04}"), "live"))
            .filter(|a| a.version == "2" && a.routing.is_empty())
            .count();
        // The region's write phases: each step but the bake, from its start to the next one's
        // (the last to the end of the region's run).
        let calls = world.timed_calls();
        // Every world's clock started with the waves, so event times are the worlds' times.
        let origin = 0;
        let bounds = &steps[&place.label()];
        let (mut written, mut took) = (0, 0);
        for (i, (text, at)) in bounds.iter().enumerate() {
            if text.starts_with("wait") || text == "end" {
                continue;
            }
            let from = origin + at;
            let to = origin + bounds[i + 1].1;
            written += calls
                .iter()
                .filter(|(t, c)| control_plane(c) && t.0 > from && t.0 <= to)
                .count();
            took += to.saturating_sub(from);
        }
        measured.push((place.label(), written, Millis(took)));
    }
    Measured {
        name,
        took: Millis(waved.ended_ms),
        regions: measured,
        throttled: worlds.iter().map(SimWorld::throttled).sum(),
        promoted,
        wall,
    }
}

fn main() {
    let one = layout(
        "one region (the yardstick)",
        "waves {\n  wave \"only\" { region \"us-east-1\" }\n}\n",
    );
    let parallel = layout(
        "three regions in one wave",
        "waves {\n  wave \"all\" { region \"us-east-1\", \"eu-west-1\", \"us-west-2\" }\n}\n",
    );
    let two = layout(
        "one region, then two, 10m bake between",
        "waves {\n  wave \"first\" { region \"us-east-1\" }\n  wave \"rest\" { region \"eu-west-1\", \"us-west-2\" }\n  between waves wait 10m until healthy\n}\n",
    );
    let mut rows = Vec::new();
    let mut json = Vec::new();
    for m in [&one, &parallel, &two] {
        for (region, calls, took) in &m.regions {
            let rate = *calls as f64 / (took.0 as f64 / 1000.0);
            assert!(
                rate / LIMIT >= 0.9,
                "{}: {region} wrote at {rate:.1} calls/s, under 90% of its limit",
                m.name
            );
            rows.push(format!(
                "| {} | {region} | {calls} | {took} | {rate:.1} | {:.0}% |",
                m.name,
                100.0 * rate / LIMIT
            ));
            json.push(format!(
                "{{\"layout\":{:?},\"region\":{region:?},\"calls\":{calls},\"write_ms\":{},\"share_of_limit\":{:.4}}}",
                m.name,
                took.0,
                rate / LIMIT
            ));
        }
    }
    let ratio = parallel.took.0 as f64 / one.took.0 as f64;
    // The bake between waves: 10 minutes, and the metric delay after it (a minute and the 3s
    // timeout) for its last minute to settle.
    let bake = Millis::from_minutes(10).0 as f64 + 63_000.0;
    let two_ratio = (two.took.0 as f64 - bake) / (2.0 * one.took.0 as f64);
    let summary = format!(
        "{FUNCTIONS} functions per region, each region's limit {LIMIT} calls/s. One region: {} simulated ({:.2} s). Three regions in one wave: {} ({:.2}× one region; {} promoted, {} throttled calls retried; {:.2} s). One region then two with a 10m bake: {} (less the bake and its 1m3s metric delay, {:.2}× two regions' time; {} promoted; {:.2} s).",
        one.took,
        one.wall,
        parallel.took,
        ratio,
        parallel.promoted,
        parallel.throttled,
        parallel.wall,
        two.took,
        two_ratio,
        two.promoted,
        two.wall
    );
    assert!(
        ratio < 1.25,
        "three regions at once took {ratio:.2}× one region"
    );
    println!("{summary}");
    for row in &rows {
        println!("{row}");
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = dir.join("target/bench");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::write(
        out.join("waves.json"),
        format!(
            "{{\"one_region_ms\":{},\"one_wave_of_three_ms\":{},\"two_waves_ms\":{},\"regions\":[{}]}}\n",
            one.took.0,
            parallel.took.0,
            two.took.0,
            json.join(",")
        ),
    );
    let block = format!(
        "<!-- waves:begin -->\n{summary}\n\n| layout | region | control-plane calls in write phases | simulated time | calls/s | of its limit |\n| --- | --- | --- | --- | --- | --- |\n{}\n<!-- waves:end -->",
        rows.join("\n")
    );
    let results = dir.join("benches/RESULTS.md");
    let Ok(text) = std::fs::read_to_string(&results) else {
        return;
    };
    let updated = match (text.find("<!-- waves:begin -->"), text.find("<!-- waves:end -->")) {
        (Some(a), Some(b)) => format!(
            "{}{block}{}",
            &text[..a],
            &text[b + "<!-- waves:end -->".len()..]
        ),
        _ => format!(
            "{}\n\n## `cargo bench --bench waves` — regions at once, each at its own quota\n\n{block}\n",
            text.trim_end()
        ),
    };
    let _ = std::fs::write(results, updated);
}

//! Exported judgment against local, per example: each example that exports and judges health (a
//! bake or a ramp and a metric check) simulated 1,000 times each way, healthy and regressed, judged as
//! `run` judges it and as its exported state machine does (`simulation::exported::compare`,
//! what `export` prints for a hundred runs), with the difference in points.
//!
//! `cargo bench --bench exported` prints the table, writes `target/bench/exported.json`, and
//! replaces the table between the `exported:begin`/`exported:end` markers of
//! `benches/RESULTS.md`. Set `EXPORTED_RUNS` for fewer runs while iterating.

mod shared;

use std::path::Path;

use rollout::check::{check_source, Options};
use rollout::diagnostic::source;
use rollout::export::compile;
use rollout::simulation::exported::{compare, judges};
use rollout::simulation::with_default_targets;

fn main() {
    let runs: usize = std::env::var("EXPORTED_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1_000);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut examples: Vec<_> = std::fs::read_dir(dir.join("examples"))
        .expect("examples/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "rollout"))
        .collect();
    examples.sort();
    let mut table = String::from(
        "| example | healthy: rolled back locally | as exported | difference | regressed: caught locally | as exported | difference |\n| --- | --- | --- | --- | --- | --- | --- |\n",
    );
    let mut json = Vec::new();
    let mut setting = String::new();
    for path in &examples {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(path).expect("readable example");
        let checked = check_source(
            source(&name, text),
            &dir.join("examples"),
            &Options::default(),
        );
        let Some(plan) = checked.plan else {
            eprintln!("{name}: does not check; left out");
            continue;
        };
        // As `export --function F --alias A` exports a playbook that names none.
        let plan = with_default_targets(&plan);
        if let Err(problems) = compile(&plan, &|_| 0, &|_| None) {
            eprintln!(
                "{name}: does not export ({}); left out",
                problems[0].message
            );
            continue;
        }
        if !judges(&plan) {
            eprintln!("{name}: judges nothing server-side; left out");
            continue;
        }
        let c = compare(&plan, runs);
        setting = format!(
            "{} runs each way, {} rps, old at {:.2}% errors, the regressed new at twice the playbook's error-rate threshold (2.5% without one)",
            c.runs, c.rps, c.old_errors
        );
        eprintln!("{name}: {c:?}");
        table += &format!(
            "| `{name}` | {:.1}% | {:.1}% | {:+.1} | {:.1}% (new at {:.2}%) | {:.1}% | {:+.1} |\n",
            c.healthy_local,
            c.healthy_exported,
            c.healthy_exported - c.healthy_local,
            c.caught_local,
            c.regressed_errors,
            c.caught_exported,
            c.caught_exported - c.caught_local,
        );
        json.push(serde_json::json!({
            "example": name,
            "runs": c.runs,
            "healthy_rolled_back_local_percent": c.healthy_local,
            "healthy_rolled_back_exported_percent": c.healthy_exported,
            "regressed_error_percent": c.regressed_errors,
            "regressed_caught_local_percent": c.caught_local,
            "regressed_caught_exported_percent": c.caught_exported,
        }));
    }
    println!("{setting}\n\n{table}");
    let out = dir.join("target/bench");
    if std::fs::create_dir_all(&out).is_ok() {
        let _ = std::fs::write(
            out.join("exported.json"),
            serde_json::to_string_pretty(&json).expect("serialises"),
        );
    }
    shared::record("exported", &setting, &table);
}

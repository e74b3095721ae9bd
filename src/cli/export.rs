//! `rollout export FILE --to step-functions`: the plan as a state machine, or a CloudFormation
//! template holding it; what cannot run server-side refused with its line, what is approximated
//! warned about.

use super::output::out;
use super::{load, ExportArgs, ExportFormat};
use crate::cloud::limit::DEFAULT_CALLS_PER_SECOND;
use crate::diagnostic::LineIndex;
use crate::exit;
use crate::export::{compile_within, machine_name, template};
use crate::judge::settle::Settlement;
use crate::plan::{Millis, Plan};
use crate::simulation::exported::judges;

/// `plan` compiled for Step Functions, its warnings said on stderr; `None` after saying on
/// stderr, with the playbook lines, why it cannot run there (and `then`, what did not happen).
pub(super) fn compiled(
    plan: &crate::plan::Plan,
    source: &str,
    file: &std::path::Path,
    then: &str,
    budget: u64,
) -> Option<crate::export::Export> {
    let lines = LineIndex::new(source);
    let line = |offset: usize| lines.line_column(source, offset).0;
    let file = file.display();
    let at = |line: Option<usize>| match line {
        Some(line) => format!("{file}:{line}"),
        None => file.to_string(),
    };
    let find = |text: &str| source.find(text).map(line);
    match compile_within(plan, &line, &find, budget) {
        Ok(export) => {
            for (line, warning) in &export.warnings {
                eprintln!("warning: {}: {warning}", at(*line));
            }
            if let Some(comparison) = compare(plan, source) {
                eprintln!("{comparison}");
            }
            Some(export)
        }
        Err(problems) => {
            for problem in &problems {
                eprintln!("error: {}: {}", at(problem.line), problem.message);
                eprintln!("  help: {}", problem.help);
            }
            eprintln!(
                "{file}: cannot run on Step Functions ({} problem{}); {then}",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            None
        }
    }
}

/// Runs simulated per comparison, at most.
const COMPARED_RUNS: usize = 100;

/// The fewest runs a comparison is worth making with.
const FEWEST_RUNS: usize = 10;

/// Simulated time all the comparison's runs may take together: a hundred days of rollout (a
/// few seconds), so that `export` of a rollout of weeks answers at once.
const SIMULATED_BUDGET: Millis = Millis(100 * 86_400_000);

/// Periods all the comparison's runs may judge together: each look of a count check judges
/// every period of its phase so far, so a run of `n` periods judges about `n²/2` (two million
/// is a second or two of a release build).
const JUDGED_BUDGET: u64 = 2_000_000;

/// How many runs of each of the four sides (healthy and regressed, local and exported) a
/// rollout lasting `longest`, judged in periods of `period`, gets within [`SIMULATED_BUDGET`]
/// and [`JUDGED_BUDGET`].
fn runs_within_budget(longest: Millis, period: Millis) -> usize {
    let per_run = longest.0.max(1).saturating_mul(4);
    let periods = longest.0.div_ceil(period.0.max(1));
    let judged_per_run = (periods.saturating_mul(periods) / 2)
        .max(1)
        .saturating_mul(4);
    ((SIMULATED_BUDGET.0 / per_run).min(JUDGED_BUDGET / judged_per_run) as usize).min(COMPARED_RUNS)
}

/// How the exported judgment differs from `run`'s, from `simulate`: false rollbacks of a
/// healthy `new` and the catch rate of a regressed one, each judged both ways. `None` when the
/// plan judges nothing server-side (no metric check, or no bake or ramp to judge in).
fn compare(plan: &Plan, source: &str) -> Option<String> {
    if !judges(plan) {
        return None;
    }
    let (least, most) = super::plan::duration(plan, source, DEFAULT_CALLS_PER_SECOND);
    let longest = most.unwrap_or(least);
    let period = Settlement::new(plan.health.every, Millis(0)).period;
    let compared_runs = runs_within_budget(longest, period);
    if compared_runs < FEWEST_RUNS {
        return Some(format!(
            "judgment not compared in simulate: a rollout of up to {longest}, judged every {period}, is too long to simulate {FEWEST_RUNS} times each way here; `rollout simulate --runs N` compares it, as long as it takes"
        ));
    }
    let c = crate::simulation::exported::compare(plan, compared_runs);
    Some(format!(
        "judgment compared in simulate ({} runs each at {} rps, old at {:.2}% errors): a healthy new is rolled back in {:.0}% of runs locally, {:.0}% as exported; new at {:.2}% errors is caught in {:.0}% locally, {:.0}% as exported",
        c.runs,
        c.rps,
        c.old_errors,
        c.healthy_local,
        c.healthy_exported,
        c.regressed_errors,
        c.caught_local,
        c.caught_exported,
    ))
}

pub(super) fn run(args: &ExportArgs) -> i32 {
    let (plan, source) = match load::plan(&args.file, &args.playbook) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let Some(export) = compiled(
        &plan,
        &source,
        &args.file,
        "nothing was exported",
        args.history_budget,
    ) else {
        return exit::INVALID;
    };
    let document = match args.format {
        ExportFormat::Asl => export.definition.clone(),
        ExportFormat::Cloudformation => template::cloudformation(&export, &machine_name(&plan)),
    };
    out(&format!(
        "{}\n",
        serde_json::to_string_pretty(&document).expect("JSON serialises")
    ));
    exit::OK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_comparison_spends_at_most_its_budget_of_simulated_time_and_judged_periods() {
        let minute = Millis::from_minutes(1);
        assert_eq!(
            runs_within_budget(Millis::from_minutes(20), minute),
            COMPARED_RUNS
        );
        assert_eq!(runs_within_budget(Millis(0), minute), COMPARED_RUNS);
        // Two hours in minutes: 120 periods, 7,200 judged a run and side.
        assert_eq!(runs_within_budget(Millis::from_minutes(120), minute), 69);
        // A day is too many periods to judge ten times each way; ten minutes by the second too.
        let day = Millis(86_400_000);
        assert!(runs_within_budget(day, minute) < FEWEST_RUNS);
        assert!(runs_within_budget(Millis::from_minutes(10), Millis(1_000)) < FEWEST_RUNS);
        // However few its periods, thirty days is too much simulated time.
        let hour = Millis::from_minutes(60);
        assert!(runs_within_budget(Millis(30 * day.0), hour) < FEWEST_RUNS);
    }
}

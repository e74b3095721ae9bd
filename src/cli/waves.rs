//! `rollout run` and `rollout resume` of a waved playbook: a connection per region (and
//! account, through its role), every alias read and shown before the question, then the
//! engine's conductor runs the waves.

use futures_util::StreamExt;

use super::output::{ask, out};
use super::run::{settings, stop_on_signals, tee, tell_retry, write_report};
use super::{Format, RunArgs};
use crate::cloud::aws::{Aws, AwsOptions, WallClock};
use crate::cloud::limit::Limited;
use crate::cloud::retry::{Retry, Retrying};
use crate::cloud::{CloudError, LambdaApi};
use crate::engine::waves::{Conductor, Region, Waved};
use crate::engine::{Approval, Settings};
use crate::exit;
use crate::hooks::Hooks;
use crate::plan::waves::{Place, WaveFailure, Waves};
use crate::plan::Plan;
use crate::report::{clock, Left};

/// Every place of the plan's waves, in order, each once.
pub(super) fn places(plan: &Plan) -> Vec<Place> {
    plan.waves.as_ref().map(Waves::places).unwrap_or_default()
}

/// How to reach `place`: its region, and its account's role.
pub(super) fn options(aws: &super::args::AwsArgs, place: &Place) -> AwsOptions {
    AwsOptions {
        role: place
            .account
            .as_ref()
            .map(|a| (a.role.clone(), a.external_id.clone())),
        ..aws.options(Some(place.region.clone()))
    }
}

/// A connection to each of `places`, its credentials checked (a role is assumed here); or the
/// exit code after saying why not.
pub(super) async fn connect(aws: &super::args::AwsArgs, places: &[Place]) -> Result<Vec<Aws>, i32> {
    let mut connected = Vec::new();
    for place in places {
        let at = match Aws::connect(&options(aws, place)).await {
            Ok(at) => at,
            Err(error) => {
                eprintln!("error: {place}: {error}. Nothing was done");
                return Err(exit::INVALID);
            }
        };
        if let Err(error) = at.credentials_expiry().await {
            let how = match &place.account {
                Some(account) => format!(" (assuming {})", account.role),
                None => String::new(),
            };
            eprintln!("error: {place}{how}: {error}. Nothing was done");
            return Err(exit::INVALID);
        }
        connected.push(at);
    }
    Ok(connected)
}

/// The lines that show what each alias of `place` serves, before the question; or the exit
/// code after saying why it cannot go on.
async fn before<L: LambdaApi>(
    lambda: &L,
    plan: &Plan,
    place: &Place,
    alias: &str,
) -> Result<Vec<String>, i32> {
    let functions = super::select(lambda, &plan.targets).await?;
    let reads = futures_util::stream::iter(functions.iter().map(|f| lambda.get_alias(f, alias)))
        .buffered(crate::engine::FAN_OUT)
        .collect::<Vec<_>>()
        .await;
    let mut lines = Vec::new();
    for (function, read) in functions.iter().zip(reads) {
        match read {
            Ok(current) => {
                let lease = match crate::cloud::lease::Marker::parse(&current.description).1 {
                    Some(m) => format!(", held by {} at step {}/{}", m.holder, m.step, m.steps),
                    None => String::new(),
                };
                lines.push(format!("    {function}:{alias} serves {current}{lease}"));
            }
            Err(CloudError::NotFound(message)) => {
                eprintln!("error: {function}:{alias} does not exist in {place} ({message}); check the names and the waves. Nothing was done");
                return Err(exit::INVALID);
            }
            Err(other) => {
                eprintln!(
                    "error: cannot read {function}:{alias} in {place}: {other}. Nothing was done"
                );
                return Err(super::aws::failed(&other));
            }
        }
    }
    Ok(lines)
}

/// The index of the wave `--wave` names; or the exit code after saying which there are.
fn only(plan: &Plan, wave: Option<&str>) -> Result<Option<usize>, i32> {
    let Some(name) = wave else { return Ok(None) };
    let waves = &plan.waves.as_ref().expect("a waved plan").waves;
    match waves.iter().position(|w| w.name == name) {
        Some(index) => Ok(Some(index)),
        None => {
            let names: Vec<String> = waves.iter().map(|w| format!("{:?}", w.name)).collect();
            eprintln!(
                "error: --wave {name:?}: the playbook has no such wave; its waves are {}. Nothing was done",
                names.join(", ")
            );
            Err(exit::INVALID)
        }
    }
}

/// The command that restores `old` wherever a lease of this rollout is left: the playbook,
/// with the overrides the run was given.
fn restore_command(args: &RunArgs) -> String {
    let quote = |text: &str| format!("'{}'", text.replace('\'', r"'\''"));
    let mut command = format!(
        "rollout rollback {} --yes",
        quote(&args.file().display().to_string())
    );
    for (name, value) in &args.playbook.sets {
        command.push_str(&format!(" --set {}", quote(&format!("{name}={value}"))));
    }
    for function in &args.playbook.functions {
        command.push_str(&format!(" --function {}", quote(function)));
    }
    if let Some(alias) = &args.playbook.alias {
        command.push_str(&format!(" --alias {}", quote(alias)));
    }
    command
}

/// Runs (or resumes) the waves of `plan` against AWS.
pub(super) async fn execute(
    args: &RunArgs,
    plan: Plan,
    alias: String,
    (interactive, resume): (bool, bool),
    duration: (crate::plan::Millis, Option<crate::plan::Millis>),
) -> i32 {
    if args.on.is_some() {
        eprintln!("error: a playbook with waves runs here, not on Step Functions: each region needs a state machine of its own (Step Functions calls no other region). Leave out --on, or export one region's playbook. Nothing was done");
        return exit::INVALID;
    }
    let only = match only(&plan, args.wave.as_deref()) {
        Ok(only) => only,
        Err(code) => return code,
    };
    let places = places(&plan);
    let connected = match connect(&args.aws, &places).await {
        Ok(connected) => connected,
        Err(code) => return code,
    };
    // A role's credentials are renewed as they expire; the base credentials are not.
    let base = places
        .iter()
        .zip(&connected)
        .filter(|(p, _)| p.account.is_none());
    for (place, aws) in base {
        if let Ok(Some(expiry)) = aws.credentials_expiry().await {
            if let Some(warning) = super::run::outlives(expiry, duration) {
                eprintln!("warning: {place}: {warning}");
            }
        }
    }
    let clock_ = WallClock::new();
    // Each region is paced by its own quota.
    let paced: Vec<_> = connected
        .iter()
        .map(|aws| Limited::new(aws, &clock_, args.aws.calls_per_second))
        .collect();
    let mut shown = Vec::new();
    for (place, reading) in places.iter().zip(&paced) {
        match before(reading, &plan, place, &alias).await {
            Ok(lines) => {
                shown.push(format!("  {place}:"));
                shown.extend(lines);
            }
            Err(code) => return code,
        }
    }
    let waves = plan.waves.as_ref().expect("a waved plan");
    eprintln!(
        "rollout will {} in {} waves over {} regions:",
        if resume { "resume the rollout" } else { "act" },
        waves.waves.len(),
        places.len()
    );
    for line in &shown {
        eprintln!("{line}");
    }
    if !args.yes && !ask("Proceed?") {
        eprintln!("nothing was done");
        return exit::INTERRUPTED;
    }
    let left = Left::default();
    let restore = restore_command(args);
    let rolling_back = match waves.on_failure {
        WaveFailure::ThisWave => "rolling back the wave in progress; the waves before it keep new",
        WaveFailure::EveryWave => "rolling back every wave started",
    };
    tokio::spawn(stop_on_signals(
        clock_.clone(),
        left.clone(),
        alias.clone(),
        rolling_back,
        move |_: &Left| restore.clone(),
    ));
    // Each region's events carry their region; the rollout's own end carries none.
    let notifier = super::notify::notifier(&args.aws, &plan, &alias, None).await;
    let (sink, journal_problem) = tee(args, left, notifier);
    let notices: Vec<_> = places
        .iter()
        .map(|place| {
            let (sink, clock_) = (&sink, &clock_);
            let label = place.label();
            move |retry: &Retry| tell_retry(sink, clock_, Some(label.clone()), retry)
        })
        .collect();
    let clouds: Vec<_> = paced
        .iter()
        .zip(&notices)
        .map(|(paced, notify)| Retrying::new(paced, &clock_).notifying(notify))
        .collect();
    let regions: Vec<Region<'_, _, _, WallClock>> = places
        .iter()
        .zip(&clouds)
        .map(|(place, cloud)| Region {
            place: place.clone(),
            lambda: cloud,
            metrics: cloud,
            clock: &clock_,
        })
        .collect();
    let hooks = Hooks::compile(&plan);
    let waved = Conductor {
        plan: &plan,
        regions: &regions,
        hooks: &hooks,
        events: &sink,
        settings: Settings {
            // The regions of a wave reach their gates at once: one terminal cannot answer them
            // all, so each waits for `rollout approve` on its alias (or passes with
            // --auto-approve).
            approval: match args.auto_approve {
                true => Approval::Auto,
                false => Approval::Remote,
            },
            ..settings(args, interactive, resume)
        },
        only,
    }
    .run()
    .await;
    super::notify::flush(&sink, waved.ended_ms).await;
    let tee = sink.into_inner();
    let calls: u64 = connected.iter().map(Aws::calls).sum();
    if let Some(recorded) = &tee.recorder {
        let facts = [
            ("AWS calls".to_string(), calls.to_string()),
            ("regions".to_string(), places.len().to_string()),
        ];
        write_report(args, &plan, recorded, &facts);
    }
    if let Some(problem) = journal_problem.or_else(|| tee.journal.as_ref()?.problem()) {
        eprintln!("warning: {problem}");
    }
    summary(args.format, &waved, calls)
}

/// Prints how a waved rollout ended; its exit code.
fn summary(format: Format, waved: &Waved, calls: u64) -> i32 {
    let code = waved.outcome.exit_code();
    match format {
        Format::Json => out(&format!(
            "{}\n",
            serde_json::json!({
                "event": "summary",
                "outcome": waved.outcome,
                "exit_code": code,
                "aws_calls": calls,
                "ended_ms": waved.ended_ms,
                "regions": waved.regions.iter().map(|(region, r)| serde_json::json!({
                    "region": region,
                    "outcome": r.outcome.name(),
                })).collect::<Vec<_>>(),
                "skipped": waved.skipped,
            })
        )),
        Format::Text => {
            let mut text = format!(
                "\nsummary\n  outcome:   {}\n  exit code: {code}\n  took:      {}\n  AWS calls: {calls}\n",
                waved.outcome,
                clock(waved.ended_ms),
            );
            let mut last: Vec<(&str, &str)> = Vec::new();
            for (region, report) in &waved.regions {
                last.retain(|(r, _)| r != region);
                last.push((region, report.outcome.name()));
            }
            for (region, outcome) in last {
                text.push_str(&format!("  {region}: {outcome}\n"));
            }
            if !waved.skipped.is_empty() {
                text.push_str(&format!("  never started: {}\n", waved.skipped.join(", ")));
            }
            out(&text)
        }
    }
    code
}

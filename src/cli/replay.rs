//! `rollout replay FILE --old V1 --new V2 --from T1 --to T2`: the health block judged on a past
//! window, read-only.

use serde::Serialize;

use super::output::out;
use super::{load, Format, ReplayArgs};
use crate::cloud::aws::{Aws, WallClock};
use crate::cloud::limit::Limited;
use crate::cloud::retry::Retrying;
use crate::engine::health::{Evaluation, Versions};
use crate::exit;
use crate::plan::{Check, Expr, Millis, Plan};
use crate::replay::{replay, Ending, Replayed};

mod progress;
mod window;

use progress::Progress;

/// Thresholds a sweep judges at.
const SWEEP_POINTS: usize = 11;

/// An epoch time as RFC 3339.
fn time(at: Millis) -> String {
    use aws_sdk_lambda::primitives::{DateTime, DateTimeFormat};
    DateTime::from_millis(at.0 as i64)
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_else(|_| at.to_string())
}

/// What `--format json` prints.
#[derive(Serialize)]
struct Json<'a> {
    function: &'a str,
    alias: &'a str,
    old: &'a str,
    new: &'a str,
    from: String,
    to: String,
    evaluations: &'a [Evaluation],
    ending: &'static str,
    decided_at: Option<String>,
    reason: String,
    skipped: &'a [String],
    exit_code: i32,
}

pub(super) fn run(args: &ReplayArgs) -> i32 {
    let (plan, _) = match load::plan(&args.file, &args.playbook) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let (function, alias) = match (plan.targets.functions.as_slice(), &plan.targets.alias) {
        ([function], Some(alias)) if plan.targets.select.is_empty() => {
            (function.clone(), alias.clone())
        }
        _ => {
            eprintln!("error: replay judges one function's alias: name exactly one function and the alias (--function F --alias A)");
            return exit::INVALID;
        }
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(Millis(0), |d| Millis(d.as_millis() as u64));
    if let Some(why) = window::refuse(
        &plan,
        (&args.old, &args.new),
        (args.from, args.to),
        now,
        &time,
    ) {
        eprintln!("error: {why}. Nothing was read");
        return exit::INVALID;
    }
    let runtime = match super::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    runtime.block_on(async {
        let aws = match Aws::connect(&args.aws.options(plan.targets.region.clone())).await {
            Ok(aws) => aws,
            Err(error) => {
                eprintln!("error: {error}. Nothing was read");
                return exit::INVALID;
            }
        };
        let clock = WallClock::new();
        let paced = Limited::new(&aws, &clock, args.aws.calls_per_second);
        let retrying = Retrying::new(&paced, &clock);
        let passes = if args.sweep_threshold.is_some() {
            SWEEP_POINTS
        } else {
            1
        };
        let cloud = Progress::new(&retrying, args.from, args.to, passes);
        let versions = Versions {
            function: &function,
            alias: &alias,
            old: &args.old,
            new: &args.new,
        };
        if let Some(range) = args.sweep_threshold {
            return sweep(&cloud, &plan, &versions, args, range).await;
        }
        let replayed = replay(&cloud, &plan, &versions, args.from, args.to).await;
        cloud.done();
        let replayed = match replayed {
            Ok(replayed) => replayed,
            Err(error) => {
                eprintln!("error: reading CloudWatch: {error}");
                return super::aws::failed(&error);
            }
        };
        match empty(&cloud, &replayed, &versions, args, false).await {
            Ok(None) => {}
            Ok(Some(why)) => {
                eprintln!("error: {why}");
                return exit::INVALID;
            }
            Err(error) => {
                eprintln!("error: reading CloudWatch: {error}");
                return super::aws::failed(&error);
            }
        }
        if let Some(path) = &args.report {
            let source = crate::input::read_text(&args.file).unwrap_or_default();
            let page = report(&versions, args, &replayed, &source);
            if let Err(e) = std::fs::write(path, page) {
                eprintln!(
                    "warning: the report was not written to {}: {e}",
                    path.display()
                );
            }
        }
        show(args, &versions, &replayed)
    })
}

/// Why a replay read proves nothing: no invocations of `new` in the window, or none of `old`
/// (whose count is read with one more call, unless `old_invoked` already says).
async fn empty<M: crate::cloud::MetricsApi>(
    cloud: &Progress<'_, M>,
    replayed: &Replayed,
    versions: &Versions<'_>,
    args: &ReplayArgs,
    old_invoked: bool,
) -> Result<Option<String>, crate::cloud::CloudError> {
    let new = window::new_invoked(&replayed.evaluations);
    let old = old_invoked || !new || invoked(cloud.untold(), versions, args).await?;
    Ok(window::no_data(
        (old, new),
        versions,
        format!("from {} to {}", time(args.from), time(args.to)),
    ))
}

/// Whether `old` was invoked at all in the window, read in whole minutes.
async fn invoked<M: crate::cloud::MetricsApi>(
    cloud: &M,
    versions: &Versions<'_>,
    args: &ReplayArgs,
) -> Result<bool, crate::cloud::CloudError> {
    let minute = 60_000;
    let query = crate::cloud::MetricQuery::lambda(
        versions.function,
        versions.alias,
        versions.old,
        crate::cloud::Stat::Invocations,
        (
            Millis(args.from.0 / minute * minute),
            Millis(args.to.0.div_ceil(minute) * minute),
        ),
    );
    let count = cloud.stats(&[query]).await?;
    Ok(count.first().copied().flatten().is_some_and(|n| n > 0.0))
}

/// The replay as a report: its evaluations as the events of a bake over the window.
fn report(versions: &Versions<'_>, args: &ReplayArgs, replayed: &Replayed, source: &str) -> String {
    use crate::engine::events::{Event, EventKind};
    let at = |t: Millis| t.0.saturating_sub(args.from.0);
    let mut events = vec![Event {
        region: None,
        at_ms: 0,
        kind: EventKind::Started {
            name: None,
            functions: vec![versions.function.to_string()],
            alias: versions.alias.to_string(),
            steps: 1,
        },
    }];
    events.extend(replayed.evaluations.iter().map(|e| Event {
        region: None,
        at_ms: at(e.until_ms),
        kind: EventKind::HealthEvaluated(e.clone()),
    }));
    let (outcome, message) = match &replayed.ending {
        Ending::RolledBack { at, evaluation } => (
            "rolled_back",
            format!(
                "would have rolled back once the period ending {} settled: {}",
                time(*at),
                evaluation.reason
            ),
        ),
        Ending::Inconclusive => (
            "rolled_back",
            "would have rolled back at the window's end: no conclusive evaluation".to_string(),
        ),
        Ending::Promoted => (
            "promoted",
            "would have promoted at the window's end".to_string(),
        ),
        Ending::Held { held } => (
            "held",
            format!("held at the window's end ({held} held in all): old failed as much as new, so nothing would have been rolled back yet"),
        ),
    };
    events.push(Event {
        region: None,
        at_ms: at(args.to),
        kind: EventKind::Finished {
            outcome: outcome.into(),
            exit_code: replayed.ending.exit_code(),
            message,
        },
    });
    let title = format!(
        "replay of {}:{} (new {}, old {}) from {} to {}",
        versions.function,
        versions.alias,
        versions.new,
        versions.old,
        time(args.from),
        time(args.to)
    );
    let facts: Vec<(String, String)> = replayed
        .skipped
        .iter()
        .map(|s| ("not judged".to_string(), s.clone()))
        .collect();
    crate::report::html::rollout(&title, source, &events, &facts)
}

/// Prints the replay; its exit code.
fn show(args: &ReplayArgs, versions: &Versions<'_>, replayed: &Replayed) -> i32 {
    let (ending, decided_at, reason) = match &replayed.ending {
        Ending::RolledBack { at, evaluation } => {
            ("rolled_back", Some(*at), evaluation.reason.clone())
        }
        Ending::Inconclusive => (
            "inconclusive",
            None,
            "no conclusive evaluation by the window's end, and `inconclusive fail`".to_string(),
        ),
        Ending::Promoted => (
            "promoted",
            None,
            "no check violated in the window".to_string(),
        ),
        Ending::Held { held } => (
            "held",
            None,
            format!(
                "the window ends during a hold ({held} held in all): old failed as much as new, so the bake would still be waiting and nothing would have been rolled back"
            ),
        ),
    };
    let code = replayed.ending.exit_code();
    match args.format {
        Format::Json => out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&Json {
                function: versions.function,
                alias: versions.alias,
                old: versions.old,
                new: versions.new,
                from: time(args.from),
                to: time(args.to),
                evaluations: &replayed.evaluations,
                ending,
                decided_at: decided_at.map(time),
                reason,
                skipped: &replayed.skipped,
                exit_code: code,
            })
            .expect("serialises")
        )),
        Format::Text => {
            let mut text = format!(
                "replay of {}:{} from {} to {}: new = {}, old = {}\n",
                versions.function,
                versions.alias,
                time(args.from),
                time(args.to),
                versions.new,
                versions.old
            );
            for skipped in &replayed.skipped {
                text.push_str(&format!(
                    "  not judged: {skipped} (its past cannot be read back)\n"
                ));
            }
            for e in &replayed.evaluations {
                let verdict = match e.verdict {
                    crate::engine::health::Verdict::Pass => "healthy",
                    crate::engine::health::Verdict::Fail => "UNHEALTHY",
                    crate::engine::health::Verdict::Inconclusive => "undecided",
                };
                text.push_str(&format!(
                    "  [{}] {verdict}: {}\n",
                    time(e.until_ms),
                    e.reason
                ));
            }
            text.push_str(&match &replayed.ending {
                Ending::RolledBack { at, .. } => format!(
                    "would have rolled back once the period ending {} settled: {reason} (exit 1)\n",
                    time(*at)
                ),
                Ending::Inconclusive => {
                    format!("would have rolled back at the window's end: {reason} (exit 1)\n")
                }
                Ending::Promoted => {
                    format!("would have promoted at the window's end: {reason} (exit 0)\n")
                }
                Ending::Held { .. } => format!("held: {reason} (exit 0)\n"),
            });
            out(&text);
        }
    }
    code
}

/// The first check whose one side is a constant: the threshold a sweep moves.
fn threshold_of(plan: &Plan) -> Option<usize> {
    plan.health.checks.iter().position(|c| {
        matches!(
            c,
            Check::Compare {
                rhs: Expr::Const { .. },
                ..
            }
        )
    })
}

/// Judges the window at thresholds from `range.0` to `range.1`.
async fn sweep<M: crate::cloud::MetricsApi>(
    cloud: &Progress<'_, M>,
    plan: &Plan,
    versions: &Versions<'_>,
    args: &ReplayArgs,
    range: (f64, f64),
) -> i32 {
    let Some(index) = threshold_of(plan) else {
        eprintln!("error: --sweep-threshold needs a check with a constant threshold, such as `error rate < 1%`");
        return exit::INVALID;
    };
    let mut rows = Vec::new();
    let mut old_invoked = false;
    for i in 0..SWEEP_POINTS {
        let threshold = range.0 + (range.1 - range.0) * i as f64 / (SWEEP_POINTS - 1) as f64;
        let mut swept = plan.clone();
        if let Check::Compare {
            rhs: Expr::Const { value, .. },
            ..
        } = &mut swept.health.checks[index]
        {
            *value = threshold;
        }
        let check = swept.health.checks[index].to_string();
        match replay(cloud, &swept, versions, args.from, args.to).await {
            Ok(replayed) => {
                // Thresholds change no count: old's is read once.
                match empty(cloud, &replayed, versions, args, old_invoked).await {
                    Ok(None) => old_invoked = true,
                    Ok(Some(why)) => {
                        cloud.done();
                        eprintln!("error: {why}");
                        return exit::INVALID;
                    }
                    Err(error) => {
                        cloud.done();
                        eprintln!("error: reading CloudWatch: {error}");
                        return super::aws::failed(&error);
                    }
                }
                rows.push((check, replayed.ending));
            }
            Err(error) => {
                cloud.done();
                eprintln!("error: reading CloudWatch: {error}");
                return super::aws::failed(&error);
            }
        }
    }
    cloud.done();
    match args.format {
        Format::Json => {
            let points: Vec<serde_json::Value> = rows
                .iter()
                .map(|(check, ending)| {
                    let (fired, at) = match ending {
                        Ending::RolledBack { at, .. } => (true, Some(time(*at))),
                        Ending::Inconclusive => (true, None),
                        Ending::Promoted | Ending::Held { .. } => (false, None),
                    };
                    serde_json::json!({"check": check, "would_roll_back": fired, "at": at})
                })
                .collect();
            out(&format!(
                "{}\n",
                serde_json::to_string_pretty(&points).expect("serialises")
            ));
        }
        Format::Text => {
            let mut text = format!(
                "thresholds on {}:{} from {} to {} (new = {}, old = {}):\n",
                versions.function,
                versions.alias,
                time(args.from),
                time(args.to),
                versions.new,
                versions.old
            );
            for (check, ending) in &rows {
                let said = match ending {
                    Ending::RolledBack { at, .. } => {
                        format!("would have rolled back at {}", time(*at))
                    }
                    Ending::Inconclusive => {
                        "would have rolled back at the end (inconclusive)".to_string()
                    }
                    Ending::Promoted => "would have promoted".to_string(),
                    Ending::Held { .. } => "held at the end (nothing rolled back)".to_string(),
                };
                text.push_str(&format!("  {check:<50} {said}\n"));
            }
            out(&text);
        }
    }
    exit::OK
}

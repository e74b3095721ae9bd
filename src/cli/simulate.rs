//! `rollout simulate FILE`

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

use serde::Serialize;

use super::output::{out, print_diags};
use super::{load, Format, SimulateArgs};
use crate::cloud::sim::calendar::SimCalendar;
use crate::cloud::sim::traffic::Profile;
use crate::diagnostic::Diag;
use crate::plan::Millis;
use crate::report::html::{self, CurvePoint, Recorder, Runs};
use crate::report::{clock, JsonSink, Pair, TextSink};
use crate::simulation::monte_carlo::{run_counting, sweep, Point, Spread, Summary};
use std::collections::BTreeMap;

use crate::simulation::{simulate, with_default_targets, Rates, SimOptions, SimResult};

/// Runs `work`, which counts its runs out of `total` in the counter it is given, showing its
/// progress on stderr: a bar on a terminal, else a line every tenth of a long job.
fn with_progress<T: Send>(total: usize, work: impl FnOnce(&AtomicUsize) -> T + Send) -> T {
    let done = AtomicUsize::new(0);
    let finished = AtomicBool::new(false);
    let terminal = std::io::stderr().is_terminal();
    std::thread::scope(|scope| {
        let shown = scope.spawn(|| {
            let bar = terminal.then(|| {
                ProgressBar::new(total as u64).with_style(
                    ProgressStyle::with_template("{bar:40} {pos}/{len} runs, {eta} left")
                        .expect("a valid template"),
                )
            });
            let mut tenth = 0;
            while !finished.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(100));
                let now = done.load(Ordering::Relaxed);
                match &bar {
                    Some(bar) => bar.set_position(now as u64),
                    None if total >= LONG_JOB && now * 10 / total > tenth => {
                        tenth = now * 10 / total;
                        eprintln!("simulated {now} of {total} runs");
                    }
                    None => {}
                }
            }
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
        });
        let out = work(&done);
        finished.store(true, Ordering::Relaxed);
        let _ = shown.join();
        out
    })
}

/// The report's title: the playbook's name and what the report shows.
fn title(plan: &crate::plan::Plan, what: &str) -> String {
    let name = plan
        .name
        .clone()
        .unwrap_or_else(|| plan.targets.functions.join(", "));
    format!("rollout {name}: {what}")
}

/// Writes a report, or says why not.
fn write_report(path: &std::path::Path, page: &str) {
    if let Err(e) = std::fs::write(path, page) {
        eprintln!(
            "warning: the report was not written to {}: {e}",
            path.display()
        );
    }
}

/// Runs above which progress is shown off a terminal too.
const LONG_JOB: usize = 10_000;

/// Whether each `--alarm` names, once, an alarm the playbook checks.
fn alarms_named(
    plan: &crate::plan::Plan,
    alarms: &[(String, crate::cloud::AlarmState)],
) -> Result<(), String> {
    let checked: Vec<&str> = plan
        .health
        .checks
        .iter()
        .filter_map(|c| match c {
            crate::plan::Check::Alarm { name } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    for (i, (name, _)) in alarms.iter().enumerate() {
        if alarms[..i].iter().any(|(n, _)| n == name) {
            return Err(format!("--alarm {name} is given twice"));
        }
        if !checked.contains(&name.as_str()) {
            let names = if checked.is_empty() {
                "it checks no alarm".to_string()
            } else {
                match crate::diagnostic::closest(name, checked.iter().copied()) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!("it checks {}", checked.join(", ")),
                }
            };
            return Err(format!(
                "--alarm {name}: the playbook checks no alarm of that name; {names}"
            ));
        }
    }
    Ok(())
}

/// The text of a world file, read as a playbook is (a regular file of at most 4 MiB: a device
/// or a pipe would never end), or the diagnostic saying why not.
fn world_text(path: &std::path::Path) -> Result<String, Diag> {
    crate::input::read_text(path).map_err(|e| {
        let display = path.display().to_string();
        Diag {
            message: format!("cannot read the world file {display}: {e}"),
            ..Diag::unreadable(&display, &e)
        }
    })
}

/// The conditions the world file at `path` describes in `text`, or what is wrong with them.
fn world(
    path: &std::path::Path,
    text: &str,
) -> Result<crate::cloud::sim::conditions::Conditions, String> {
    crate::cloud::sim::world::parse(text).map_err(|e| {
        format!(
            "{}:{}: {}; the knobs are listed in docs/language.md (\"simulate --world\")",
            path.display(),
            e.line,
            e.message
        )
    })
}

/// Each version's error rate when `--error-rate` does not say (percent).
const DEFAULT_ERROR_RATE: f64 = 0.1;

/// The error rates of `--error-rate`: everywhere (percent), and each region's own (fractions);
/// or why they cannot be: a region the playbook's waves do not name, a rate given twice.
fn error_rates(
    plan: &crate::plan::Plan,
    given: &[super::values::ErrorRates],
) -> Result<(Rates, BTreeMap<String, Rates>), String> {
    let regions: Vec<&str> = plan
        .waves
        .iter()
        .flat_map(|w| &w.waves)
        .flat_map(|w| &w.places)
        .map(|p| p.region.as_str())
        .collect();
    let mut everywhere = Rates::default();
    let mut own: BTreeMap<String, Rates> = BTreeMap::new();
    for rates in given {
        let into = match &rates.region {
            None => &mut everywhere,
            Some(region) if regions.contains(&region.as_str()) => {
                own.entry(region.clone()).or_default()
            }
            Some(region) if regions.is_empty() => {
                return Err(format!(
                    "--error-rate {region}:…: the playbook has no waves, so it runs in one region; leave the region out"
                ))
            }
            Some(region) => {
                return Err(format!(
                    "--error-rate {region}:…: no wave of the playbook names {region}; its regions are {}",
                    regions.join(", ")
                ))
            }
        };
        for (side, rate, slot) in [
            ("old", rates.old, &mut into.old),
            ("new", rates.new, &mut into.new),
        ] {
            if let Some(rate) = rate {
                if slot.is_some() {
                    return Err(format!(
                        "--error-rate gives {side} twice{}",
                        rates
                            .region
                            .as_ref()
                            .map(|r| format!(" for {r}"))
                            .unwrap_or_default()
                    ));
                }
                *slot = Some(rate);
            }
        }
    }
    let fraction = |r: Rates| Rates {
        old: r.old.map(|p| p / 100.0),
        new: r.new.map(|p| p / 100.0),
    };
    Ok((
        everywhere,
        own.into_iter().map(|(k, v)| (k, fraction(v))).collect(),
    ))
}

/// The simulated Change Calendars `--calendar` gives, each with its closed intervals.
fn calendars(
    given: &[(String, Option<super::values::CalendarClosed>)],
) -> BTreeMap<String, SimCalendar> {
    let mut calendars: BTreeMap<String, SimCalendar> = BTreeMap::new();
    for (name, closed) in given {
        let calendar = calendars.entry(name.clone()).or_default();
        calendar.closed.extend(*closed);
    }
    calendars
}

pub(super) fn run(args: &SimulateArgs) -> i32 {
    let (plan, source) = match load::plan(&args.file, &args.playbook) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    if let Err(problem) = alarms_named(&plan, &args.alarms) {
        eprintln!("error: {problem}");
        return crate::exit::INVALID;
    }
    let conditions = match &args.world {
        None => Default::default(),
        Some(path) => {
            let text = match world_text(path) {
                Ok(text) => text,
                Err(diag) => {
                    print_diags(&[diag]);
                    eprintln!("{}: nothing was simulated", args.file.display());
                    return crate::exit::INVALID;
                }
            };
            match world(path, &text) {
                Ok(conditions) => conditions,
                Err(problem) => {
                    eprintln!("error: {problem}");
                    return crate::exit::INVALID;
                }
            }
        }
    };
    let (rates, regions) = match error_rates(&plan, &args.error_rate) {
        Ok(rates) => rates,
        Err(problem) => {
            eprintln!("error: {problem}");
            return crate::exit::INVALID;
        }
    };
    let options = SimOptions {
        rps: args.rps,
        old: Profile {
            error_rate: rates.old.unwrap_or(DEFAULT_ERROR_RATE) / 100.0,
            median_ms: args.latency.old as f64,
        },
        new: Profile {
            error_rate: rates.new.unwrap_or(DEFAULT_ERROR_RATE) / 100.0,
            median_ms: args.latency.new as f64,
        },
        approve_after: args.approve_after,
        seed: args.seed,
        alarms: args.alarms.iter().cloned().collect(),
        ingestion: args.ingestion_delay,
        timeout: args.timeout,
        call_latency: args.call_latency,
        calls_per_second: args
            .calls_per_second
            .unwrap_or(crate::cloud::limit::DEFAULT_CALLS_PER_SECOND),
        account_limit: args
            .calls_per_second
            .unwrap_or(crate::simulation::ACCOUNT_LIMIT),
        fleet: args.fleet,
        conditions,
        regions,
        calendars: calendars(&args.calendar),
    };
    let targets = with_default_targets(&plan).targets;
    let no_function = plan.targets.functions.is_empty() && plan.targets.select.is_empty();
    if no_function || plan.targets.alias.is_none() {
        eprintln!(
            "note: the playbook names no {}; simulating {} on alias {}",
            if no_function { "function" } else { "alias" },
            targets.functions.join(", "),
            targets.alias.as_deref().unwrap_or_default()
        );
    }
    if let Some(range) = args.sweep {
        let runs = args.runs.unwrap_or(200) as usize;
        let points = with_progress(SWEEP_POINTS * runs, |done| {
            sweep(&plan, &options, range, SWEEP_POINTS, runs, done)
        });
        if let Some(path) = &args.report {
            let curve: Vec<CurvePoint> = points
                .iter()
                .map(|p| CurvePoint {
                    error_rate: p.error_rate,
                    rolled_back: p.summary.rolled_back + p.summary.inconclusive,
                    runs: p.summary.runs,
                    median_decide_ms: p.summary.time_to_decide_ms.as_ref().map(|s| s.median),
                })
                .collect();
            write_report(
                path,
                &html::sweep(&title(&plan, "operating curve"), &source, &curve),
            );
        }
        match args.format {
            Format::Text => out(&sweep_text(&points, runs, &options)),
            Format::Json => out(&format!(
                "{}\n",
                serde_json::to_string_pretty(&SweepJson {
                    runs_per_point: runs,
                    rps: options.rps,
                    old_error_rate: options.old.error_rate * 100.0,
                    points: &points,
                })
                .expect("serialises")
            )),
        }
        return crate::exit::OK;
    }
    if let Some(runs) = args.runs {
        let runs = runs as usize;
        let summary = with_progress(runs, |done| run_counting(&plan, &options, runs, done));
        if let Some(path) = &args.report {
            let data = Runs {
                runs: summary.runs,
                promoted: summary.promoted,
                rolled_back: summary.rolled_back,
                inconclusive: summary.inconclusive,
                decide_ms: &summary.decide_ms,
            };
            write_report(
                path,
                &html::runs(
                    &title(&plan, &format!("{runs} simulated runs")),
                    &source,
                    &data,
                ),
            );
        }
        match args.format {
            Format::Text => out(&many_text(&summary, &options)),
            Format::Json => out(&format!(
                "{}\n",
                serde_json::to_string_pretty(&summary).expect("serialises")
            )),
        }
        return crate::exit::OK;
    }
    let stdout = std::io::stdout();
    let mut recorder = Recorder::default();
    let result = match args.format {
        Format::Text => {
            let mut sink = TextSink::new(stdout.lock(), args.verbose);
            simulate(&plan, &options, &mut Pair(&mut sink, &mut recorder))
        }
        Format::Json => {
            let mut sink = JsonSink::new(stdout.lock());
            simulate(&plan, &options, &mut Pair(&mut sink, &mut recorder))
        }
    };
    if let Some(path) = &args.report {
        let facts = [
            ("simulated time".to_string(), clock(result.simulated_ms)),
            ("AWS calls".to_string(), result.aws_calls.to_string()),
            (
                "new served".to_string(),
                format!(
                    "{} invocations, {} errors",
                    result.new_invocations, result.new_errors
                ),
            ),
        ];
        write_report(
            path,
            &html::rollout(&title(&plan, "simulated"), &source, &recorder.0, &facts),
        );
    }
    let mut out = stdout.lock();
    let _ = match args.format {
        Format::Text => write!(out, "{}", summary_text(&result)),
        Format::Json => writeln!(
            out,
            "{}",
            serde_json::to_string(&JsonSummary {
                event: "summary",
                result: &result,
                time_to_detect_ms: result.report.time_to_detect(),
            })
            .expect("serialises")
        ),
    };
    result.report.outcome.exit_code()
}

/// Error rates of `new` an operating curve is drawn at.
const SWEEP_POINTS: usize = 11;

#[derive(Serialize)]
struct SweepJson<'a> {
    runs_per_point: usize,
    rps: f64,
    old_error_rate: f64,
    points: &'a [Point],
}

/// The operating curve as a chart: a bar per error rate of `new` for the share rolled back.
fn sweep_text(points: &[Point], runs: usize, options: &SimOptions) -> String {
    const WIDTH: usize = 40;
    let mut out = format!(
        "operating curve: share rolled back against new's error rate ({runs} runs each at {} rps; old {:.2}% errors)\n",
        options.rps,
        options.old.error_rate * 100.0
    );
    out += &format!(
        "  {:>8}  {:<w$}  {:>7}  time to decide (median, p95)\n",
        "new",
        "rolled back",
        "",
        w = WIDTH + 2
    );
    for point in points {
        let summary = &point.summary;
        let share =
            (summary.rolled_back + summary.inconclusive) as f64 / summary.runs.max(1) as f64;
        let filled = (share * WIDTH as f64).round() as usize;
        let decide = summary.time_to_decide_ms.map_or("n/a".to_string(), |s| {
            format!("{}, {}", Millis(s.median as u64), Millis(s.p95 as u64))
        });
        out += &format!(
            "  {:>7.2}%  [{}{}]  {:>6.1}%  {decide}\n",
            point.error_rate,
            "#".repeat(filled),
            " ".repeat(WIDTH - filled),
            share * 100.0
        );
    }
    out
}

#[derive(Serialize)]
struct JsonSummary<'a> {
    event: &'static str,
    #[serde(flatten)]
    result: &'a SimResult,
    time_to_detect_ms: Option<Millis>,
}

fn summary_text(result: &SimResult) -> String {
    let report = &result.report;
    let mut out = String::from("\nsummary\n");
    out += &format!("  outcome:        {}\n", report.outcome);
    out += &format!("  exit code:      {}\n", report.outcome.exit_code());
    out += &format!("  simulated time: {}\n", clock(report.ended_ms));
    if let Some(t) = report.time_to_detect() {
        out += &format!("  time to detect: {t} after new first got traffic\n");
    }
    if report.held_ms > 0 {
        out += &format!(
            "  held:           {} while old failed as much as new\n",
            Millis(report.held_ms)
        );
    }
    out += &format!(
        "  new served:     {} invocations, {} errors\n",
        result.new_invocations, result.new_errors
    );
    out
}

fn many_text(summary: &Summary, options: &SimOptions) -> String {
    let share = |n: usize| 100.0 * n as f64 / summary.runs.max(1) as f64;
    let spread = |s: Option<Spread>, unit: &dyn Fn(f64) -> String| {
        s.map_or("n/a".to_string(), |s| {
            format!("median {}, p95 {}", unit(s.median), unit(s.p95))
        })
    };
    let ms = |v: f64| Millis(v as u64).to_string();
    let count = |v: f64| format!("{v:.0}");
    let mut out = format!(
        "{} simulated runs at {} rps (new: {:.2}% errors, {}ms median; old: {:.2}% errors, {}ms median), seeds {}..{}\n",
        summary.runs,
        options.rps,
        options.new.error_rate * 100.0,
        options.new.median_ms,
        options.old.error_rate * 100.0,
        options.old.median_ms,
        options.seed,
        options.seed + summary.runs as u64 - 1
    );
    out += &format!(
        "  promoted:        {:5.1}% ({})\n",
        share(summary.promoted),
        summary.promoted
    );
    out += &format!(
        "  rolled back:     {:5.1}% ({})\n",
        share(summary.rolled_back),
        summary.rolled_back
    );
    out += &format!(
        "  inconclusive:    {:5.1}% ({})\n",
        share(summary.inconclusive),
        summary.inconclusive
    );
    if summary.other > 0 {
        out += &format!(
            "  other:           {:5.1}% ({})\n",
            share(summary.other),
            summary.other
        );
    }
    out += &format!(
        "  time to detect:  {}\n",
        spread(summary.time_to_detect_ms, &ms)
    );
    out += &format!(
        "  time to promote: {}\n",
        spread(summary.time_to_promote_ms, &ms)
    );
    if summary.held_ms.is_some_and(|s| s.p95 > 0.0) {
        out += &format!(
            "  held:            {} (old failing as much as new)\n",
            spread(summary.held_ms, &ms)
        );
    }
    out += &format!(
        "  errors from new: {}\n",
        spread(summary.new_errors, &count)
    );
    out += &format!(
        "  calls to new:    {}\n",
        spread(summary.new_invocations, &count)
    );
    out
}

//! `rollout run FILE`: the plan against AWS.

use std::cell::RefCell;
use std::io::IsTerminal;
use std::time::SystemTime;

use serde::Serialize;

use super::output::{ask, out};
use super::{load, Format, RunArgs};
use futures_util::StreamExt;

use crate::cloud::aws::{Aws, WallClock};
use crate::cloud::call::Named;
use crate::cloud::limit::Limited;
use crate::cloud::retry::{Retry, Retrying, ATTEMPTS};
use crate::cloud::{Clock, CloudError, LambdaApi};
use crate::engine::events::{Event, EventKind, EventSink};
use crate::engine::{Approval, Engine, Services, Settings};
use crate::exit;
use crate::hooks::Hooks;
use crate::plan::Millis;
use crate::report::html::Recorder;
use crate::report::{clock, Journal, JsonSink, Left, LiveSink, Tee, TextSink};

pub(super) fn run(args: &RunArgs) -> i32 {
    start(args, false)
}

pub(super) fn resume(args: &RunArgs) -> i32 {
    start(args, true)
}

fn start(args: &RunArgs, resume: bool) -> i32 {
    if args.on.is_some() && (args.report.is_some() || args.journal.is_some()) {
        eprintln!(
            "error: --report and --journal record a run made here; an execution on Step Functions is recorded in its own history (`aws stepfunctions get-execution-history`, or the console). Leave them out with --on step-functions. Nothing was done"
        );
        return exit::INVALID;
    }
    let (plan, source) = match load::plan(args.file(), &args.playbook) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let Some(alias) = plan
        .targets
        .alias
        .clone()
        .filter(|_| !plan.targets.functions.is_empty() || !plan.targets.select.is_empty())
    else {
        eprintln!(
            "error: no target: name the function and alias in the playbook (`function \"NAME\"`, `alias \"NAME\"`) or with --function and --alias; nothing was done"
        );
        return exit::INVALID;
    };
    let calendars = plan.windows.as_ref().map_or(0, |w| w.calendars.len());
    if plan.waves.is_some() && calendars > 0 {
        eprintln!("error: a waved playbook cannot name change calendars yet (a calendar belongs to one region and account; the waves span several): keep the weekly `window` lines, which hold every region. Nothing was done");
        return exit::INVALID;
    }
    if let (Some(wave), None) = (&args.wave, &plan.waves) {
        eprintln!("error: --wave {wave:?}: the playbook has no waves (a `waves {{ … }}` block names them). Nothing was done");
        return exit::INVALID;
    }
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !interactive && !args.yes {
        eprintln!("error: `rollout run` changes live traffic; without a terminal to confirm on, pass --yes. Nothing was done");
        return exit::INVALID;
    }
    let runtime = match super::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    if args.on.is_some() {
        return runtime.block_on(super::server::run(args, plan, &source, alias));
    }
    let duration = super::plan::duration(&plan, &source, args.aws.calls_per_second);
    if plan.waves.is_some() {
        return runtime.block_on(super::waves::execute(
            args,
            plan,
            alias,
            (interactive, resume),
            duration,
        ));
    }
    runtime.block_on(execute(args, plan, alias, interactive, resume, duration))
}

/// Lines of aliases shown before the question; a fleet's others are counted.
const SHOWN: usize = 10;

/// Ctrl-C, SIGTERM (how CI cancels) and SIGHUP (a closed terminal) roll back: the clock is
/// interrupted, every wait ends, and the engine restores `old` and clears the lease. A second
/// signal stops at once, saying what each alias was last known to serve and how to restore it.
pub(super) async fn stop_on_signals(
    clock: WallClock,
    left: Left,
    alias: String,
    rolling_back: &str,
    restore: impl Fn(&Left) -> String,
) {
    let mut signals = Signals::new();
    let first = signals.next().await;
    eprintln!(
        "\n{first}: {rolling_back}; a second signal stops at once, leaving the aliases as they are"
    );
    clock.interrupt();
    let second = signals.next().await;
    eprintln!("\n{second} again: stopped at once, before the rollback finished. As last known:");
    for line in left.lines(&alias) {
        eprintln!("  {line}");
    }
    eprintln!("to restore old and clear the lease: {}", restore(&left));
    std::process::exit(exit::INTERRUPTED);
}

/// The command that restores `old` on the aliases `left` knows.
fn restore_command(left: &Left, alias: &str) -> String {
    let functions: String = left
        .functions()
        .iter()
        .map(|f| format!(" --function {f}"))
        .collect();
    format!("rollout rollback{functions} --alias {alias}")
}

/// The signals that stop a run.
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    hup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Signals {
                term: signal(SignalKind::terminate()).ok(),
                hup: signal(SignalKind::hangup()).ok(),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// The next signal, by name.
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            let term = async {
                match &mut self.term {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            };
            let hup = async {
                match &mut self.hup {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => "interrupted (Ctrl-C)",
                _ = term => "terminated (SIGTERM)",
                _ = hup => "hung up (SIGHUP)",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "interrupted (Ctrl-C)"
        }
    }
}

/// A warning when credentials expiring at `expiry` may not last the rollout's `duration` (at
/// least, at most): a rollback would then fail to write.
pub(super) fn outlives(
    expiry: SystemTime,
    (least, most): (Millis, Option<Millis>),
) -> Option<String> {
    let left = Millis(
        expiry
            .duration_since(SystemTime::now())
            .map_or(0, |d| d.as_millis() as u64),
    );
    let (takes, longest) = match most {
        Some(most) => (format!("up to {most}"), most),
        None => (
            format!("at least {least} (an approve gate waits for a person)"),
            least,
        ),
    };
    (left < longest).then(|| {
        format!(
            "the credentials expire in {left}, and this rollout takes {takes}: if they expire first, nothing can be written, not even the rollback. Refresh them for longer (a longer session) before going on"
        )
    })
}

/// A round of lease writes (one per alias) must fit well within the time after which a lease
/// counts as stale (10 minutes), or other runners could take it: a quarter of it.
const LEASE_ROUND: f64 = 150.0;

/// Whether `calls_per_second` is too slow for `targets` aliases (the exit code after saying
/// why), and otherwise, when it is slower than a call a second, how long each call waits.
fn pace_refused(targets: usize, calls_per_second: f64) -> Option<i32> {
    match pace(targets, calls_per_second) {
        Err(refusal) => {
            eprintln!("error: {refusal}");
            Some(exit::INVALID)
        }
        Ok(note) => {
            if let Some(note) = note {
                eprintln!("{note}");
            }
            None
        }
    }
}

/// What the pace of `calls_per_second` means for `targets` aliases: why it is refused, or,
/// when it is slower than a call a second, what to say so that a long silence is explained.
fn pace(targets: usize, calls_per_second: f64) -> Result<Option<String>, String> {
    let round = targets as f64 / calls_per_second;
    if round > LEASE_ROUND {
        return Err(format!(
            "at {calls_per_second} calls a second, one write to each of the {targets} aliases takes {}, and a lease without a heartbeat for 10m counts as stale: pass --calls-per-second {} or more. Nothing was done",
            Millis((round * 1000.0) as u64),
            (targets as f64 / LEASE_ROUND * 10.0).ceil() / 10.0
        ));
    }
    Ok((calls_per_second < 1.0).then(|| {
        format!(
            "pacing Lambda calls at {calls_per_second} a second: each waits {} for its turn",
            Millis((1000.0 / calls_per_second) as u64)
        )
    }))
}

/// The engine's settings as the command line sets them.
pub(super) fn settings(args: &RunArgs, interactive: bool, resume: bool) -> Settings {
    Settings {
        approval: if args.auto_approve {
            Approval::Auto
        } else if interactive {
            Approval::Prompt(ask)
        } else {
            Approval::Remote
        },
        take_over: args.take_over,
        resume,
        id: Some(crate::cloud::lease::Identity::current().token()),
        control: Some(crate::engine::CONTROL_POLL),
        ..Settings::default()
    }
}

/// Where the events of a run go: the display, the journal, what each alias was left serving,
/// the report's recorder and the notifications; and why the journal could not be opened, if it
/// could not.
pub(super) fn tee(
    args: &RunArgs,
    left: Left,
    notifier: Option<crate::notify::Notifier>,
) -> (RefCell<Tee>, Option<String>) {
    let stdout = std::io::stdout();
    let (journal, journal_problem) = match Journal::open(args.journal.clone()) {
        Ok(journal) => (Some(journal), None),
        Err(problem) => (None, Some(problem)),
    };
    let display: Box<dyn EventSink> = match args.format {
        Format::Json => Box::new(JsonSink::new(stdout.lock())),
        Format::Text if std::io::stderr().is_terminal() && !args.quiet => {
            Box::new(LiveSink::new(args.verbose))
        }
        Format::Text => Box::new(TextSink::new(stdout.lock(), args.verbose)),
    };
    // The engine and the retry layer both tell the display, the journal and the tracker.
    let sink = RefCell::new(Tee {
        display,
        journal,
        left,
        recorder: args.report.as_ref().map(|_| Recorder::default()),
        notifier,
    });
    (sink, journal_problem)
}

/// Writes the `--report` of a run that recorded `recorded`, with `facts`, when asked for.
pub(super) fn write_report(
    args: &RunArgs,
    plan: &crate::plan::Plan,
    recorded: &Recorder,
    facts: &[(String, String)],
) {
    let Some(path) = &args.report else { return };
    let title = format!(
        "rollout {}",
        plan.name
            .clone()
            .unwrap_or_else(|| plan.targets.functions.join(", "))
    );
    let source = crate::input::read_text(args.file()).unwrap_or_default();
    let page = crate::report::html::rollout(&title, &source, &recorded.0, facts);
    if let Err(e) = std::fs::write(path, page) {
        eprintln!(
            "warning: the report was not written to {}: {e}",
            path.display()
        );
    }
}

/// Tells `sink` that the retry layer (of `region`'s clients) tries a call again.
pub(super) fn tell_retry(
    sink: &RefCell<Tee>,
    clock: &WallClock,
    region: Option<String>,
    retry: &Retry,
) {
    let mut shared = sink;
    shared.emit(&Event {
        region,
        at_ms: clock.now().0,
        kind: EventKind::Retrying {
            call: Named(retry.call.clone()),
            error: retry.error.clone(),
            attempt: retry.attempt,
            attempts: ATTEMPTS,
            pause_ms: retry.pause,
            since_ms: retry.since,
        },
    });
}

#[derive(Serialize)]
struct Summary<'a> {
    event: &'static str,
    outcome: &'a crate::engine::Outcome,
    exit_code: i32,
    aws_calls: u64,
    ended_ms: u64,
}

async fn execute(
    args: &RunArgs,
    mut plan: crate::plan::Plan,
    alias: String,
    interactive: bool,
    resume: bool,
    duration: (Millis, Option<Millis>),
) -> i32 {
    let aws = match Aws::connect(&args.aws.options(plan.targets.region.clone())).await {
        Ok(aws) => aws,
        Err(error) => {
            eprintln!("error: {error}. Nothing was done");
            return exit::INVALID;
        }
    };
    match aws.credentials_expiry().await {
        Ok(expiry) => {
            if let Some(warning) = expiry.and_then(|at| outlives(at, duration)) {
                eprintln!("warning: {warning}");
            }
        }
        Err(error) => {
            eprintln!("error: {error}. Nothing was done");
            return exit::INVALID;
        }
    }
    let clock_ = WallClock::new();
    let paced = Limited::new(&aws, &clock_, args.aws.calls_per_second);
    // Before anything changes: the selections are resolved, each alias must exist, and what it
    // serves and how it is provisioned is shown before the question. Nothing is retried here:
    // with nothing changed yet, an AWS that does not answer ends the run at once.
    let reading = &paced;
    match super::select(reading, &plan.targets).await {
        Ok(functions) => {
            plan.targets.functions = functions;
            plan.targets.select.clear();
        }
        Err(code) => return code,
    }
    if let Some(code) = pace_refused(plan.targets.functions.len(), args.aws.calls_per_second) {
        return code;
    }
    let reads = futures_util::stream::iter(plan.targets.functions.iter().map(|f| async {
        (
            reading.get_alias(f, &alias).await,
            reading.provisioned(f, &alias).await,
        )
    }))
    .buffered(crate::engine::FAN_OUT)
    .collect::<Vec<_>>()
    .await;
    let mut before = Vec::new();
    let (mut held, mut provisioned) = (0, 0);
    for (function, (current, allocation)) in plan.targets.functions.iter().zip(reads) {
        match current {
            Ok(current) => {
                let lease = match crate::cloud::lease::Marker::parse(&current.description).1 {
                    Some(m) => {
                        held += 1;
                        format!(", held by {} at step {}/{}", m.holder, m.step, m.steps)
                    }
                    None => String::new(),
                };
                before.push(format!("  {function}:{alias} serves {current}{lease}"));
            }
            Err(CloudError::NotFound(message)) => {
                eprintln!("error: {function}:{alias} does not exist ({message}); check the names and the region. Nothing was done");
                return exit::INVALID;
            }
            Err(setup) if setup.is_setup() => {
                eprintln!("error: cannot read {function}:{alias}: {setup}. Nothing was done");
                return exit::INVALID;
            }
            Err(other) => {
                eprintln!("error: cannot read {function}:{alias}: {other}. Nothing was done");
                return exit::INFRA;
            }
        }
        match allocation {
            Ok(Some(p)) => {
                provisioned += 1;
                before.push(format!(
                    "    with {} provisioned environments: Lambda splits them between old and new by weight, and each move of traffic waits until they are allocated",
                    p.requested
                ));
            }
            Ok(None) => {}
            Err(other) => eprintln!(
                "warning: could not read the provisioned concurrency of {function}:{alias}: {other}"
            ),
        }
    }
    let count = plan.targets.functions.len();
    if count > SHOWN {
        before.truncate(SHOWN);
        before.push(format!(
            "  … and {} more; {held} held by a lease, {provisioned} with provisioned concurrency",
            count - SHOWN
        ));
    }
    eprintln!(
        "rollout will {} on {count} function{}:",
        if resume { "resume the rollout" } else { "act" },
        if count == 1 { "" } else { "s" }
    );
    for line in &before {
        eprintln!("{line}");
    }
    eprintln!(
        "  old = the version each serves now; new = {}",
        if plan
            .steps
            .iter()
            .any(|s| matches!(s.kind, crate::plan::StepKind::UseVersion { .. }))
        {
            "the version the playbook names"
        } else {
            "the version `publish` creates"
        }
    );
    if !args.yes && !ask("Proceed?") {
        eprintln!("nothing was done");
        return exit::INTERRUPTED;
    }

    let left = Left::default();
    let restore = {
        let alias = alias.clone();
        move |left: &Left| restore_command(left, &alias)
    };
    tokio::spawn(stop_on_signals(
        clock_.clone(),
        left.clone(),
        alias.clone(),
        "rolling back to old",
        restore,
    ));
    let hooks = Hooks::compile(&plan);
    let settings = settings(args, interactive, resume);
    let region = Some(aws.region().to_string());
    let notifier = super::notify::notifier(&args.aws, &plan, &alias, region).await;
    let (sink, journal_problem) = tee(args, left, notifier);
    let mut shared = &sink;
    let notify = |retry: &Retry| tell_retry(&sink, &clock_, None, retry);
    let retrying = Retrying::new(&paced, &clock_).notifying(&notify);
    let services = Services {
        lambda: &retrying,
        metrics: &retrying,
        clock: &clock_,
        hooks: &hooks,
        events: &mut shared,
        calendars: Some(&aws),
        logs: Some(&aws),
    };
    let report = Engine::new(services, settings).run(&plan).await;
    super::notify::flush(&sink, report.ended_ms).await;
    let tee = sink.into_inner();
    let journal_problem = journal_problem.or_else(|| tee.journal.as_ref()?.problem());
    let recorded = tee.recorder;
    if let Some(recorded) = recorded {
        let facts = [("AWS calls".to_string(), aws.calls().to_string())];
        write_report(args, &plan, &recorded, &facts);
    }
    if let Some(problem) = journal_problem {
        eprintln!("warning: {problem}");
    }
    let code = report.outcome.exit_code();
    match args.format {
        Format::Json => out(&format!(
            "{}\n",
            serde_json::to_string(&Summary {
                event: "summary",
                outcome: &report.outcome,
                exit_code: code,
                aws_calls: aws.calls(),
                ended_ms: report.ended_ms,
            })
            .expect("serialises")
        )),
        Format::Text => out(&format!(
            "\nsummary\n  outcome:   {}\n  exit code: {code}\n  took:      {}\n  AWS calls: {}\n",
            report.outcome,
            clock(report.ended_ms),
            aws.calls()
        )),
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_pace_too_slow_for_the_fleets_lease_is_refused() {
        assert_eq!(pace_refused(1, 0.1), None, "10s a round");
        assert_eq!(pace_refused(15, 0.1), None, "150s a round");
        assert_eq!(pace_refused(16, 0.1), Some(exit::INVALID));
        assert_eq!(pace_refused(1000, 10.0), None);
        assert_eq!(pace_refused(2000, 10.0), Some(exit::INVALID));
    }

    #[test]
    fn a_pace_slower_than_a_call_a_second_says_how_long_each_call_waits() {
        assert_eq!(
            pace(1, 0.1),
            Ok(Some(
                "pacing Lambda calls at 0.1 a second: each waits 10s for its turn".to_string()
            ))
        );
        assert_eq!(
            pace(3, 0.25),
            Ok(Some(
                "pacing Lambda calls at 0.25 a second: each waits 4s for its turn".to_string()
            ))
        );
        // A call a second or faster waits too little to mention.
        assert_eq!(pace(1, 1.0), Ok(None));
        assert_eq!(pace(50, 10.0), Ok(None));
        let refused = pace(16, 0.1).unwrap_err();
        assert!(
            refused.contains("takes 2m40s")
                && refused.contains("pass --calls-per-second 0.2 or more"),
            "{refused}"
        );
    }

    #[test]
    fn credentials_that_may_expire_before_the_rollout_ends_are_warned_about() {
        let in_minutes = |m: u64| SystemTime::now() + Duration::from_secs(m * 60);
        let bounded = (Millis::from_minutes(16), Some(Millis::from_minutes(22)));
        assert!(outlives(in_minutes(10), bounded).is_some_and(|w| w.contains("up to 22m")));
        assert!(
            outlives(in_minutes(20), bounded).is_some(),
            "may: up to 22m"
        );
        assert_eq!(outlives(in_minutes(60), bounded), None);
        let gated = (Millis::from_minutes(16), None);
        assert!(outlives(in_minutes(10), gated).is_some_and(|w| w.contains("approve gate")));
        assert_eq!(outlives(in_minutes(60), gated), None);
        assert!(outlives(SystemTime::UNIX_EPOCH, bounded).is_some_and(|w| w.contains("in 0s")));
    }
}

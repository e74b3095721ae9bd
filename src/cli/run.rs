//! `rollout run FILE`: the plan against AWS.

use std::io::IsTerminal;

use serde::Serialize;

use super::output::{ask, out};
use super::{load, Format, RunArgs};
use crate::cloud::aws::{Aws, WallClock};
use crate::cloud::retry::Retrying;
use crate::cloud::{CloudError, LambdaApi};
use crate::engine::events::EventSink;
use crate::engine::{Approval, Engine, Services, Settings};
use crate::exit;
use crate::hooks::Hooks;
use crate::report::{clock, Journal, JsonSink, LiveSink, Tee, TextSink};

pub(super) fn run(args: &RunArgs) -> i32 {
    start(args, false)
}

pub(super) fn resume(args: &RunArgs) -> i32 {
    start(args, true)
}

fn start(args: &RunArgs, resume: bool) -> i32 {
    let (plan, _) = match load::plan(&args.file, &args.playbook) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let Some(alias) = plan
        .targets
        .alias
        .clone()
        .filter(|_| !plan.targets.functions.is_empty())
    else {
        eprintln!(
            "error: no target: name the function and alias in the playbook (`function \"NAME\"`, `alias \"NAME\"`) or with --function and --alias; nothing was done"
        );
        return exit::INVALID;
    };
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !interactive && !args.yes {
        eprintln!("error: `rollout run` changes live traffic; without a terminal to confirm on, pass --yes. Nothing was done");
        return exit::INVALID;
    }
    let runtime = match super::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    runtime.block_on(execute(args, plan, alias, interactive, resume))
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
    plan: crate::plan::Plan,
    alias: String,
    interactive: bool,
    resume: bool,
) -> i32 {
    let aws = Aws::connect(&args.aws.options(plan.targets.region.clone())).await;
    // Before anything changes: each alias must exist; what it serves and how it is provisioned
    // is shown before the question.
    let mut before = Vec::new();
    for function in &plan.targets.functions {
        match aws.get_alias(function, &alias).await {
            Ok(current) => {
                let lease = match crate::cloud::lease::Marker::parse(&current.description).1 {
                    Some(m) => format!(", held by {} at step {}/{}", m.holder, m.step, m.steps),
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
        match aws.provisioned(function, &alias).await {
            Ok(Some(p)) => before.push(format!(
                "    with {} provisioned environments: Lambda splits them between old and new by weight, and each move of traffic waits until they are allocated",
                p.requested
            )),
            Ok(None) => {}
            Err(other) => eprintln!(
                "warning: could not read the provisioned concurrency of {function}:{alias}: {other}"
            ),
        }
    }
    eprintln!(
        "rollout will {} on:",
        if resume { "resume the rollout" } else { "act" }
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

    let clock_ = WallClock::new();
    let interrupter = clock_.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\ninterrupted: rolling back to old (Ctrl-C again stops waiting, not the rollback write)");
            interrupter.interrupt();
        }
    });
    let hooks = Hooks::compile(&plan);
    let settings = Settings {
        approval: if args.auto_approve {
            Approval::Auto
        } else if interactive {
            Approval::Prompt(ask)
        } else {
            Approval::Remote
        },
        take_over: args.take_over,
        resume,
        ..Settings::default()
    };
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
    let mut sink: Box<dyn EventSink> = Box::new(Tee { display, journal });
    let retrying = Retrying::new(&aws, &clock_);
    let services = Services {
        lambda: &retrying,
        metrics: &retrying,
        clock: &clock_,
        hooks: &hooks,
        events: sink.as_mut(),
    };
    let report = Engine::new(services, settings).run(&plan).await;
    drop(sink);
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

//! `rollout run FILE --on step-functions --role ARN`: the rollout inside AWS Step Functions. The
//! state machine `rollout export` writes is created (or updated), an execution started, and its
//! history followed and told as the events of a local run; `--detach` returns with the
//! execution's ARN at once. The execution goes on without this process: interrupting the
//! follower stops nothing, and `rollout status`, `approve` and `rollback` find the execution from
//! the alias's lease from any machine.

use std::collections::BTreeMap;

use super::output::{ask, out};
use super::{Format, RunArgs};
use crate::cloud::aws::{Aws, WallClock};
use crate::cloud::executions::{ExecutionsApi, Happened, VERSIONS_KEPT};
use crate::cloud::limit::Limited;
use crate::cloud::retry::Retrying;
use crate::cloud::{Alias, Clock};
use crate::engine::events::{Event, EventKind, EventSink};
use crate::exit;
use crate::export::machine_name;
use crate::export::states::{Kind, State};
use crate::plan::{Millis, Plan};
use crate::report::{JsonSink, TextSink};

/// How often the follower reads the execution's history: 30 `GetExecutionHistory` calls a
/// minute, each of one page of what is new (the account's quota refills 5 a second).
const FOLLOW_EVERY: Millis = Millis(2_000);

/// The longest the follower waits between reads that fail: the wait doubles from
/// [`FOLLOW_EVERY`] up to this.
const FOLLOW_BACKOFF: Millis = Millis(16_000);

pub(super) async fn run(args: &RunArgs, mut plan: Plan, source: &str, alias: String) -> i32 {
    let aws = match Aws::connect(&args.aws.options(plan.targets.region.clone())).await {
        Ok(aws) => aws,
        Err(error) => {
            eprintln!("error: {error}. Nothing was done");
            return exit::INVALID;
        }
    };
    let clock = WallClock::new();
    let paced = Limited::new(&aws, &clock, args.aws.calls_per_second);
    let cloud = Retrying::new(&paced, &clock);
    match super::select(&paced, &plan.targets).await {
        Ok(functions) => {
            plan.targets.functions = functions;
            plan.targets.select.clear();
        }
        Err(code) => return code,
    }
    let Some(export) = super::export::compiled(
        &plan,
        source,
        args.file(),
        "nothing was started",
        args.history_budget,
    ) else {
        return exit::INVALID;
    };
    let role = args.role.clone().unwrap_or_default();
    let machine = machine_name(&plan);
    eprintln!(
        "rollout will run on AWS Step Functions, as the state machine {machine} (role {role}), on {} of alias {alias}",
        export.functions.join(", ")
    );
    // Without a terminal, `--yes` was checked before.
    if !args.yes && !ask("Proceed?") {
        eprintln!("nothing was done");
        return exit::INTERRUPTED;
    }
    let definition = serde_json::to_string(&export.definition).expect("JSON serialises");
    let put = match cloud.put_state_machine(&machine, &definition, &role).await {
        Ok(put) => put,
        Err(error) => {
            eprintln!(
                "error: cannot create the state machine {machine}: {error}. Nothing was done"
            );
            return super::aws::failed(&error);
        }
    };
    if let Some(why) = &put.unpruned {
        eprintln!(
            "warning: the versions of {machine} beyond the newest {VERSIONS_KEPT} could not all be deleted ({why}); Step Functions allows 1,000"
        );
    }
    let machine_arn = put.arn;
    let name = format!("r{}-{}", clock.unix(), std::process::id());
    let mut execution = match cloud.start_execution(&put.version, &name).await {
        Ok(arn) => arn,
        Err(error) => {
            eprintln!(
                "error: cannot start an execution of {}: {error}. Nothing was done",
                put.version
            );
            return super::aws::failed(&error);
        }
    };
    if args.detach {
        match args.format {
            Format::Json => out(&format!(
                "{}\n",
                serde_json::json!({"event": "execution_started", "execution_arn": execution, "state_machine_arn": machine_arn})
            )),
            Format::Text => out(&format!(
                "started {execution}\n  follow it: aws stepfunctions describe-execution --execution-arn {execution}\n  `rollout status --function {} --alias {alias}` shows it; `rollout approve` and `rollout rollback` act on it\n",
                export.functions[0]
            )),
        }
        return exit::OK;
    }
    eprintln!("started {execution}; following it (interrupting this stops nothing: the execution goes on)");
    let stdout = std::io::stdout();
    let mut sink: Box<dyn EventSink> = match args.format {
        Format::Json => Box::new(JsonSink::new(stdout.lock())),
        Format::Text => Box::new(TextSink::new(stdout.lock(), args.verbose)),
    };
    let mut follow = Follow {
        plan: &plan,
        functions: &export.functions,
        started: clock.now(),
        aliases: BTreeMap::new(),
        step: 0,
        last_state: State::of(""),
        continues_in: None,
    };
    follow.emit(
        sink.as_mut(),
        &clock,
        EventKind::Started {
            name: plan.name.clone(),
            functions: export.functions.clone(),
            alias: alias.clone(),
            steps: plan.steps.len(),
        },
    );
    let mut after = 0;
    let mut failing_since: Option<Millis> = None;
    let mut wait = FOLLOW_EVERY;
    loop {
        let events = match cloud.history(&execution, after).await {
            Ok(events) => {
                failing_since = None;
                wait = FOLLOW_EVERY;
                events
            }
            Err(error) => {
                let since = *failing_since.get_or_insert(clock.now());
                if let Some(code) = give_up(since, clock.now(), &error, &execution) {
                    return code;
                }
                clock.sleep(wait).await;
                wait = Millis((wait.0 * 2).min(FOLLOW_BACKOFF.0));
                continue;
            }
        };
        for event in &events {
            after = after.max(event.id);
            if let Some(code) = follow.take(sink.as_mut(), &clock, event) {
                return code;
            }
        }
        if let Some(next) = follow.continues_in.take() {
            eprintln!("the rollout continues in a fresh execution (one execution's history holds 25,000 events): {next}");
            execution = next;
            after = 0;
            continue;
        }
        clock.sleep(FOLLOW_EVERY).await;
    }
}

/// How long the follower keeps trying to read the history before it gives up: as long as any
/// call is retried.
const GIVE_UP_AFTER: Millis = Millis(120_000);

/// After a failed read of the history, first failing at `since`: the exit code once the
/// follower gives up (the execution goes on without it), having said so and how to follow it.
/// Until then the first failure is shown, and the follower tries again, waiting twice as long
/// each time, up to [`FOLLOW_BACKOFF`].
fn give_up(
    since: Millis,
    now: Millis,
    error: &impl std::fmt::Display,
    execution: &str,
) -> Option<i32> {
    let failing = Millis(now.0.saturating_sub(since.0));
    if failing >= GIVE_UP_AFTER {
        eprintln!(
            "error: the execution's history could not be read for {failing} ({error}); stopped following it. The execution goes on in AWS: {execution}\n  follow it: aws stepfunctions describe-execution --execution-arn {execution}\n  `rollout status` shows it; `rollout rollback` stops it and restores old"
        );
        return Some(exit::INFRA);
    }
    if failing == Millis(0) {
        eprintln!(
            "warning: reading the execution's history failed ({error}); trying again for up to {GIVE_UP_AFTER}"
        );
    }
    None
}

/// What the follower knows of the execution so far.
struct Follow<'a> {
    plan: &'a Plan,
    functions: &'a [String],
    started: Millis,
    /// Each alias as the execution last read or wrote it.
    aliases: BTreeMap<String, Alias>,
    /// The step the execution is in.
    step: usize,
    /// The state it entered last.
    last_state: State,
    /// The execution that continues this one, once it has ended to let it
    /// (`crate::export::CONTINUED`).
    continues_in: Option<String>,
}

impl Follow<'_> {
    fn emit(&self, sink: &mut dyn EventSink, clock: &WallClock, kind: EventKind) {
        let at_ms = clock.now().0.saturating_sub(self.started.0);
        sink.emit(&Event {
            at_ms,
            region: None,
            kind,
        });
    }

    /// Tells one event of the history; the exit code once the execution has ended.
    fn take(
        &mut self,
        sink: &mut dyn EventSink,
        clock: &WallClock,
        event: &Happened,
    ) -> Option<i32> {
        if let Some(name) = &event.state {
            let state = State::of(name);
            self.last_state = state;
            if let Some(step) = state
                .step
                .filter(|&s| s > self.step && s <= self.plan.steps.len())
            {
                self.step = step;
                let text = self.plan.steps[step - 1].kind.to_string();
                self.emit(sink, clock, EventKind::StepStarted { step, text });
            }
            if let Kind::Failed(reason) = state.kind {
                self.emit(
                    sink,
                    clock,
                    EventKind::StepFailed {
                        step: self.step,
                        reason: reason.into(),
                    },
                );
            }
            if state.kind == Kind::Restore {
                self.emit(
                    sink,
                    clock,
                    EventKind::RollingBack {
                        reason: "a step failed".into(),
                    },
                );
            }
        }
        if event.kind == "TaskSucceeded" {
            self.succeeded(sink, clock, event.output.as_deref().unwrap_or("{}"));
        }
        let (outcome, code, message) = match event.kind.as_str() {
            "ExecutionSucceeded" if self.last_state.kind == Kind::Continued => {
                self.continues_in = event
                    .output
                    .as_deref()
                    .and_then(|o| serde_json::from_str::<serde_json::Value>(o).ok())
                    .and_then(|o| o["continued"].as_str().map(str::to_string));
                if self.continues_in.is_some() {
                    return None;
                }
                (
                    "failed",
                    exit::INFRA,
                    "the execution ended to continue in a fresh one, and did not say which: `rollout status` finds it".to_string(),
                )
            }
            "ExecutionSucceeded" => match self.last_state.kind {
                Kind::NothingNew => (
                    "nothing_to_roll_out",
                    exit::OK,
                    "nothing to roll out: every function's $LATEST is the version its alias serves"
                        .to_string(),
                ),
                Kind::Promoted => (
                    "promoted",
                    exit::OK,
                    "promoted: new serves all traffic".to_string(),
                ),
                _ => (
                    "left_split",
                    exit::OK,
                    "the plan ended as written; the lease is cleared".to_string(),
                ),
            },
            "ExecutionFailed" => {
                let (error, cause) = event.error.clone().unwrap_or_default();
                match error.as_str() {
                    "RolledBack" => (
                        "rolled_back",
                        exit::ROLLED_BACK,
                        format!("rolled back at step {}: {cause}", self.step),
                    ),
                    "Refused" => ("refused", exit::INVALID, cause),
                    // The cause ends with the `rollout rollback` that finishes the restore.
                    "RestoreFailed" => ("restore_failed", exit::INFRA, cause),
                    // Some alias does not serve old alone, and was not this execution's to restore.
                    "PartlyRestored" => ("partly_restored", exit::INFRA, cause),
                    _ => (
                        "failed",
                        exit::INFRA,
                        format!("the execution failed: {error}: {cause}"),
                    ),
                }
            }
            "ExecutionAborted" => (
                "interrupted",
                exit::INTERRUPTED,
                "the execution was stopped (`rollout rollback` restores old if it has not)"
                    .to_string(),
            ),
            "ExecutionTimedOut" => ("failed", exit::INFRA, "the execution timed out".to_string()),
            _ => return None,
        };
        self.emit(
            sink,
            clock,
            EventKind::Finished {
                outcome: outcome.into(),
                exit_code: code,
                message,
            },
        );
        Some(code)
    }

    /// A task's result: an alias read or written, a version published.
    fn succeeded(&mut self, sink: &mut dyn EventSink, clock: &WallClock, output: &str) {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(output) else {
            return;
        };
        let Some(function) = self
            .last_state
            .target
            .and_then(|t| self.functions.get(t))
            .cloned()
        else {
            return;
        };
        if let Some(version) = value["Version"]
            .as_str()
            .filter(|_| self.last_state.kind == Kind::Publish)
        {
            let unchanged = self
                .aliases
                .get(&function)
                .is_some_and(|a| a.version == version);
            self.emit(
                sink,
                clock,
                EventKind::Published {
                    function,
                    version: version.to_string(),
                    unchanged,
                },
            );
            return;
        }
        let Some(version) = value["FunctionVersion"].as_str() else {
            return;
        };
        let alias = Alias {
            version: version.to_string(),
            routing: value["RoutingConfig"]["AdditionalVersionWeights"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
                        .collect()
                })
                .unwrap_or_default(),
            revision_id: value["RevisionId"].as_str().unwrap_or_default().to_string(),
            description: value["Description"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        };
        match self.aliases.insert(function.clone(), alias.clone()) {
            None => self.emit(sink, clock, EventKind::AliasRead { function, alias }),
            Some(before) => self.emit(
                sink,
                clock,
                EventKind::AliasUpdated {
                    function,
                    before,
                    after: alias,
                },
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How the follower takes `events`: the exit code once one ends the execution, what it
    /// printed, and the execution it goes on with.
    fn follows(events: &[Happened]) -> (Option<i32>, String, Option<String>) {
        let checked = crate::check::check_source(
            crate::diagnostic::source(
                "p.rollout",
                "function \"f\"\nalias \"live\"\npublish\nshift 5% to new\npromote\n".into(),
            ),
            std::path::Path::new("."),
            &crate::check::Options::default(),
        );
        let plan = checked.plan.expect("a valid playbook");
        let functions = vec!["f".to_string()];
        let mut follow = Follow {
            plan: &plan,
            functions: &functions,
            started: Millis(0),
            aliases: BTreeMap::new(),
            step: 0,
            last_state: State::of(""),
            continues_in: None,
        };
        let mut printed = Vec::new();
        let code = {
            let mut sink = TextSink::new(&mut printed, false);
            events
                .iter()
                .find_map(|e| follow.take(&mut sink, &WallClock::new(), e))
        };
        (
            code,
            String::from_utf8(printed).unwrap(),
            follow.continues_in,
        )
    }

    fn event(id: i64, kind: &str) -> Happened {
        Happened {
            id,
            kind: kind.into(),
            state: None,
            output: None,
            error: None,
        }
    }

    /// How the follower ends on an execution that failed with `error`: its exit code and what
    /// it printed.
    fn ends_with(error: &str) -> (Option<i32>, String) {
        let failed = Happened {
            error: Some((error.into(), format!("the cause of {error}"))),
            ..event(9, "ExecutionFailed")
        };
        let (code, printed, _) = follows(&[failed]);
        (code, printed)
    }

    #[test]
    fn an_execution_that_ends_to_be_continued_is_followed_into_the_next() {
        let next = "arn:aws:states:us-east-1:1:execution:m:r1-c1";
        let entered = Happened {
            state: Some(crate::export::CONTINUED.into()),
            ..event(7, "SucceedStateEntered")
        };
        let succeeded = Happened {
            output: Some(format!("{{\"continued\": \"{next}\"}}")),
            ..event(8, "ExecutionSucceeded")
        };
        let (code, printed, continues) = follows(&[entered.clone(), succeeded]);
        assert_eq!(
            (code, continues.as_deref()),
            (None, Some(next)),
            "{printed}"
        );
        // Without the next execution's name, the follower cannot go on: it says how to find it.
        let (code, printed, _) = follows(&[entered, event(8, "ExecutionSucceeded")]);
        assert_eq!(code, Some(exit::INFRA));
        assert!(printed.contains("rollout status"), "{printed}");
    }

    #[test]
    fn each_end_of_an_execution_has_its_exit_code_and_says_its_cause() {
        for (error, code) in [
            ("RolledBack", exit::ROLLED_BACK),
            ("Refused", exit::INVALID),
            ("RestoreFailed", exit::INFRA),
            ("PartlyRestored", exit::INFRA),
            ("States.Runtime", exit::INFRA),
        ] {
            let (ended, printed) = ends_with(error);
            assert_eq!(ended, Some(code), "{error}: {printed}");
            assert!(
                printed.contains(&format!("the cause of {error}")),
                "{error}: {printed}"
            );
        }
    }

    #[test]
    fn the_follower_gives_up_after_two_minutes_naming_the_execution() {
        let arn = "arn:aws:states:us-east-1:123456789012:execution:m:r1";
        assert_eq!(give_up(Millis(0), Millis(0), &"refused", arn), None);
        assert_eq!(give_up(Millis(0), Millis(119_999), &"refused", arn), None);
        assert_eq!(
            give_up(Millis(0), Millis(120_000), &"refused", arn),
            Some(exit::INFRA)
        );
    }
}

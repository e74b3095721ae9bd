//! The engine makes the calls of [`crate::plan::calls`], the ones `plan` prints: every example
//! runs in the simulated world, and each target's calls, step by step, are compared with what
//! the data says. Reads repeated while waiting count once; the lease's heartbeat (the step's
//! last alias write again) is allowed where the data says the step waits.

use std::collections::BTreeMap;
use std::path::Path;

use super::{run_in, with_default_targets, world, SimOptions};
use crate::check::{check_source, Options};
use crate::cloud::call::Call;
use crate::cloud::lease::Marker;
use crate::cloud::sim::SimWorld;
use crate::diagnostic::{source, Code};
use crate::engine::events::{Event, EventKind, EventSink};
use crate::engine::{Cause, Outcome};
use crate::plan::calls::{self, Qualifier, Read, StepCall};
use crate::plan::Plan;

/// Where each step begins in the world's call log.
struct Steps<'a> {
    world: &'a SimWorld,
    starts: Vec<usize>,
}

impl EventSink for Steps<'_> {
    fn emit(&mut self, event: &Event) {
        if let EventKind::StepStarted { .. } = event.kind {
            self.starts.push(self.world.calls().len());
        }
    }
}

/// An alias write as the comparison sees it: what it serves and what it does to the lease.
fn write(version: &str, routing: &BTreeMap<String, f64>, lease: Option<usize>) -> String {
    let lease = lease.map_or("released".to_string(), |s| format!("step {s}"));
    format!("UpdateAlias {version} {routing:?} {lease}")
}

/// A call of `function` as the comparison sees it; `None` for the calls of other functions and
/// for the looks that judge health.
fn seen(call: &Call, function: &str) -> Option<String> {
    let of = |f: &str| f == function;
    match call {
        Call::GetAlias { function: f, .. } if of(f) => Some("GetAlias".into()),
        Call::GetProvisionedConcurrency { function: f, .. } if of(f) => {
            Some("GetProvisionedConcurrencyConfig".into())
        }
        Call::GetFunction {
            function: f,
            qualifier,
        } if of(f) => Some(format!(
            "GetFunction {}",
            qualifier.as_deref().unwrap_or("$LATEST")
        )),
        Call::PublishVersion { function: f, .. } if of(f) => Some("PublishVersion".into()),
        Call::UpdateFunctionCode { function: f } if of(f) => Some("UpdateFunctionCode".into()),
        Call::UpdateAlias {
            function: f,
            update,
            ..
        } if of(f) => {
            let lease = update
                .description
                .as_deref()
                .and_then(|d| Marker::parse(d).1)
                .map(|m| m.step);
            Some(write(&update.version, &update.routing, lease))
        }
        _ => None,
    }
}

/// The calls of one step of a target as the engine made them: repeated reads once, and the
/// writes that repeat the step's last write (heartbeats) counted apart.
fn made(log: &[Call], function: &str) -> (Vec<String>, usize) {
    let mut out: Vec<String> = Vec::new();
    let mut last_write: Option<String> = None;
    let mut beats = 0;
    for call in log {
        let Some(seen) = seen(call, function) else {
            continue;
        };
        if seen.starts_with("UpdateAlias") {
            if last_write.as_ref() == Some(&seen) {
                beats += 1;
                continue;
            }
            last_write = Some(seen.clone());
        } else if out.last() == Some(&seen) {
            continue;
        }
        out.push(seen);
    }
    (out, beats)
}

/// What the data says a target's calls are, with its `old` and `new`.
struct Expected<'a> {
    old: &'a str,
    new: &'a str,
    routing: BTreeMap<String, f64>,
    /// Set once `new` serves everything and the lease is kept (a `watch` follows).
    promoted: bool,
}

impl Expected<'_> {
    fn read(&self, read: Read) -> String {
        match read {
            Read::Alias => "GetAlias".into(),
            Read::Provisioned => "GetProvisionedConcurrencyConfig".into(),
            Read::Configuration(Qualifier::Old) => format!("GetFunction {}", self.old),
            Read::Configuration(Qualifier::Latest) => "GetFunction $LATEST".into(),
            Read::Configuration(Qualifier::Numbered(n)) => format!("GetFunction {n}"),
        }
    }

    fn call(&mut self, call: StepCall, step: usize) -> String {
        match call {
            StepCall::Mark | StepCall::Release if self.promoted => {
                let lease = (call == StepCall::Mark).then_some(step);
                write(self.new, &BTreeMap::new(), lease)
            }
            StepCall::Mark => write(self.old, &self.routing, Some(step)),
            StepCall::UpdateCode => "UpdateFunctionCode".into(),
            StepCall::AwaitLatest => "GetFunction $LATEST".into(),
            StepCall::Publish => "PublishVersion".into(),
            StepCall::AwaitNew => format!("GetFunction {}", self.new),
            StepCall::Route(weight) => {
                self.routing = BTreeMap::from([(self.new.to_string(), weight.as_weight())]);
                write(self.old, &self.routing, Some(step))
            }
            StepCall::Promote => write(self.new, &BTreeMap::new(), None),
            StepCall::PromoteKept => {
                self.promoted = true;
                write(self.new, &BTreeMap::new(), Some(step))
            }
            StepCall::Restore => write(self.old, &BTreeMap::new(), None),
            StepCall::Release => write(self.old, &self.routing, None),
        }
    }
}

/// Every valid playbook of the examples and the test fixtures, with its steps.
fn playbooks() -> Vec<(String, Plan)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in ["examples", "tests/fixtures/ok"] {
        let dir = root.join(dir);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".rollout"))
            .collect();
        names.sort();
        for name in names {
            let text = std::fs::read_to_string(dir.join(&name)).unwrap();
            let checked = check_source(source(&name, text), &dir, &Options::default());
            let plan = checked
                .plan
                .expect("the examples and ok fixtures are valid");
            // A zip that is not built yet cannot be uploaded: that playbook stops at its first step.
            let runs = !checked.diags.iter().any(|d| d.code == Code::MissingZip);
            if runs && !plan.steps.is_empty() {
                out.push((name, with_default_targets(&plan)));
            }
        }
    }
    out
}

#[test]
fn every_example_makes_on_each_target_the_calls_plan_prints() {
    let playbooks = playbooks();
    let kinds: std::collections::HashSet<_> = playbooks
        .iter()
        .flat_map(|(_, plan)| plan.steps.iter().map(|s| std::mem::discriminant(&s.kind)))
        .collect();
    assert_eq!(kinds.len(), 12, "every kind of step runs");
    for (name, plan) in playbooks {
        // The world `simulate` runs in, with enough traffic that every fixture's
        // `min invocations` is met at a 1% step.
        let options = SimOptions {
            rps: 1_000.0,
            ..SimOptions::default()
        };
        let world = world(&plan, &options);
        let mut steps = Steps {
            world: &world,
            starts: Vec::new(),
        };
        let report = run_in(&plan, &options, &world, &mut steps);
        assert!(
            matches!(
                report.outcome,
                Outcome::Promoted
                    | Outcome::LeftSplit
                    | Outcome::RolledBack {
                        cause: Cause::Planned,
                        ..
                    }
            ),
            "{name}: {:?}",
            report.outcome
        );
        let starts = steps.starts;
        assert_eq!(starts.len(), plan.steps.len(), "{name}: every step ran");
        let log = world.calls();
        let mut bounds = vec![0];
        bounds.extend(&starts);
        bounds.push(log.len());
        for (function, old, new) in &report.versions {
            let new = new
                .as_deref()
                .expect("every example publishes or uses a version");
            let mut expected = Expected {
                old,
                new,
                routing: BTreeMap::new(),
                promoted: false,
            };
            let mut before: Vec<String> = calls::before(&plan)
                .into_iter()
                .map(|r| expected.read(r))
                .collect();
            before.push(expected.call(StepCall::Mark, 0));
            let (done, beats) = made(&log[bounds[0]..bounds[1]], function);
            assert_eq!(done, before, "{name}: {function} before step 1");
            assert_eq!(beats, 0, "{name}: {function} before step 1");
            for (i, step) in plan.steps.iter().enumerate() {
                let number = i + 1;
                let data = calls::of_step(&plan, i);
                let mut want: Vec<String> = data
                    .calls
                    .iter()
                    .map(|c| expected.call(*c, number))
                    .collect();
                if number == plan.steps.len() {
                    want.extend(
                        calls::after(&plan)
                            .into_iter()
                            .map(|c| expected.call(c, number)),
                    );
                }
                let (done, beats) = made(&log[bounds[number]..bounds[number + 1]], function);
                assert_eq!(done, want, "{name}: {function} step {number} {}", step.kind);
                assert!(
                    data.heartbeat || beats == 0,
                    "{name}: {function} step {number} renewed the lease {beats} times, which plan does not say"
                );
            }
        }
    }
}

//! What one execution may hold, and the sizing that keeps an exported rollout inside it: the
//! history events of an execution (a rollout that needs more continues in fresh ones), the
//! payload a state passes (a look's table of counts), the size of a definition.

use serde_json::Value;

use super::{steps, Builder, Problem};
use crate::plan::{Millis, Plan};

/// The most events an execution's history holds: past it, Step Functions fails the execution in a
/// way no `Catch` handles.
const HISTORY_LIMIT: u64 = 25_000;

/// The events an exported execution may plan to use: the rest of [`HISTORY_LIMIT`] is left for
/// retries (3 events each).
pub const HISTORY_BUDGET: u64 = 20_000;

/// The most bytes Step Functions passes between states, in a variable or as an execution's
/// input.
const PAYLOAD_LIMIT: u64 = 256 * 1024;

/// What a look's counts leave of [`PAYLOAD_LIMIT`] for the execution's other data: its
/// variables, and each target's alias, versions and published configuration.
const PAYLOAD_RESERVE: u64 = 16 * 1024;
const PAYLOAD_RESERVE_PER_TARGET: u64 = 6 * 1024;

/// The fewest looks at the health an execution that continues a rollout must have room for.
const MIN_LOOKS_PER_EXECUTION: u64 = 10;

/// The events one poll of a wait for AWS writes: the count (2), its check (2), the `Wait` (2),
/// the read (5) and its verdict (2).
const EVENTS_PER_POLL: u64 = 13;

/// The events one look of a bake writes: its `Wait` (2), the `DescribeAlarms` task (5), the
/// judgment (2) and the verdict (2).
pub(super) const EVENTS_PER_LOOK: u64 = 11;

/// The history events an execution of `definition` writes at most, its bakes looking `looks`
/// times in all (`per_look` events each) and its waits for AWS polling `polls` times: every
/// state once (a task 5 events, any other state 2; a path takes fewer than all of them) plus
/// each look, [`EVENTS_PER_POLL`] for each poll, and the execution's start and end.
fn history_events(definition: &Value, looks: u64, per_look: u64, polls: u64) -> u64 {
    let once: u64 = definition["States"]
        .as_object()
        .map(|states| {
            states
                .values()
                .map(|s| if s["Type"] == "Task" { 5 } else { 2 })
                .sum()
        })
        .unwrap_or(0);
    2 + once + looks * per_look + polls * EVENTS_PER_POLL
}

/// The largest definition Step Functions accepts, in bytes (1 MiB).
const DEFINITION_LIMIT: usize = 1024 * 1024;

/// Refuses a definition larger than Step Functions accepts.
pub(super) fn too_large(definition: &Value) -> Result<(), Vec<Problem>> {
    let size = serde_json::to_string(definition).map_or(0, |d| d.len());
    if size > DEFINITION_LIMIT {
        return Err(vec![Problem {
            line: None,
            message: format!(
                "the state machine's definition is {size} bytes, more than the {DEFINITION_LIMIT} (1 MiB) Step Functions accepts"
            ),
            help: "ramp in fewer, larger increments, use fewer steps or functions, or split the rollout into playbooks run one after the other".into(),
        }]);
    }
    Ok(())
}

/// `plan` built to fit: continuing in fresh executions when one history would not hold it
/// (each planning at most `budget` events), refused when even so it would not fit, or a look
/// would carry more counts than Step Functions passes between states.
pub(super) fn fitted(plan: &Plan, budget: u64) -> Result<Builder<'_>, Vec<Problem>> {
    let build = |continue_after: Option<Millis>| {
        let mut builder = Builder::new(plan);
        builder.continue_after = continue_after;
        builder.build();
        builder
    };
    let mut builder = build(None);
    too_large(&builder.definition())?;
    let waits = builder.waits * steps::POLLS;
    let per_look = builder.events_per_look();
    let events = history_events(&builder.definition(), builder.looks, per_look, waits);
    if events > budget {
        // Each execution looks at most so often before a fresh one continues it: one look per
        // spacing while it runs, and a bake's first and last looks besides.
        let sized = build(Some(Millis(0)));
        let fixed = history_events(&sized.definition(), 0, per_look, waits);
        let slack = 2 * sized.resumable.len() as u64 + 1;
        let looks = (budget.saturating_sub(fixed) / per_look).saturating_sub(slack);
        if looks < MIN_LOOKS_PER_EXECUTION {
            return Err(vec![Problem {
                line: None,
                message: format!(
                    "the execution would write about {events} history events, and its states alone take {fixed} of the {budget} one execution may use: a fresh execution that continues it could not look {MIN_LOOKS_PER_EXECUTION} times; Step Functions fails an execution at {HISTORY_LIMIT} events, leaving the alias split"
                ),
                help: "use fewer steps or functions, split the rollout into playbooks run one after the other, or run it locally with `rollout run`".into(),
            }]);
        }
        builder = build(Some(Millis(looks * builder.look_spacing().0)));
    }
    // A look's table stays in a variable, and a continuation's input holds every target's with
    // the execution's data: each is limited to 256 KiB.
    let targets = builder.functions.len() as u64;
    let (carried, budget) = if builder.continue_after.is_some() {
        let room = PAYLOAD_RESERVE + PAYLOAD_RESERVE_PER_TARGET * targets;
        (targets, PAYLOAD_LIMIT.saturating_sub(room))
    } else {
        (1, PAYLOAD_LIMIT - PAYLOAD_RESERVE)
    };
    let carries = |phase: Millis| carried * builder.counts_bytes(phase);
    let counts = carries(builder.longest_phase);
    if counts > budget {
        let (mut fits, mut over) = (0, builder.longest_phase.0.div_ceil(60_000));
        while over - fits > 1 {
            let middle = (fits + over) / 2;
            if carries(Millis(middle * 60_000)) <= budget {
                fits = middle;
            } else {
                over = middle;
            }
        }
        return Err(vec![Problem {
            line: None,
            message: format!(
                "a look after {} of bakes since the last shift would carry about {} KiB of counts, more than the {} KiB Step Functions passes between states leaves them; the execution would fail, leaving the alias split",
                builder.longest_phase,
                counts / 1024,
                budget / 1024
            ),
            help: format!(
                "bake for at most {} in all between two shifts (more steps, each shorter), export fewer functions at once, or run it locally with `rollout run`",
                Millis(fits * 60_000)
            ),
        }]);
    }
    Ok(builder)
}

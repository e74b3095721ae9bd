//! What the engine tells the world: every decision with its evidence.

use serde::Serialize;

use super::health::Evaluation;
use crate::cloud::call::Named;
use crate::cloud::{Alias, CloudError};
use crate::hooks::HookVerdict;
use crate::plan::Millis;

/// An event, stamped with the time since the rollout began.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// Milliseconds since the rollout began.
    pub at_ms: u64,
    /// Where it happened, in a waved rollout: the region (`ACCOUNT/REGION` in another account).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// One function's `old` before the rollout, as a watch after `promote` judges by it.
#[derive(Debug, Clone, Serialize)]
pub struct Baseline {
    /// The function.
    pub function: String,
    /// `old`.
    pub version: String,
    /// Each metric of `old` the checks use (`error rate of old over 1m`), and its value.
    pub values: std::collections::BTreeMap<String, String>,
    /// `old`'s invocations in the windows read.
    pub invocations: f64,
    /// The windows in which `old` was invoked: `the hour before the rollout`, `1 day before`…
    pub windows: Vec<String>,
    /// The checks as the watch judges them, `old`'s values in place.
    pub checks: Vec<String>,
}

/// Everything the engine reports.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// A pattern or tag selection of the playbook, resolved against the region's functions.
    Selected {
        /// The selection, as written.
        selection: String,
        /// How many functions it selects.
        functions: usize,
    },
    /// The rollout begins.
    Started {
        /// The playbook's display name.
        name: Option<String>,
        /// Target functions.
        functions: Vec<String>,
        /// Target alias.
        alias: String,
        /// Number of steps.
        steps: usize,
    },
    /// An alias as read before anything changed; `old` is its version.
    AliasRead {
        /// The function.
        function: String,
        /// What the alias serves.
        alias: Alias,
    },
    /// A call to AWS failed and is tried again: a stall or an outage shows as it happens.
    Retrying {
        /// The call and what it is about, such as `Lambda GetAlias f:live`.
        call: Named,
        /// What went wrong, as its message.
        error: CloudError,
        /// The attempt that failed (1-based).
        attempt: u32,
        /// How many attempts there may be.
        attempts: u32,
        /// The pause before the next one.
        pause_ms: Millis,
        /// How long since the first attempt began.
        since_ms: Millis,
    },
    /// This run takes over the lease another runner left on an alias.
    TakingOver {
        /// The function.
        function: String,
        /// Who held it.
        holder: String,
        /// Why it may be taken.
        why: String,
    },
    /// A rollout interrupted earlier continues from the step its lease names.
    Resumed {
        /// The step it continues from (1-based).
        step: usize,
    },
    /// A step begins.
    StepStarted {
        /// 1-based step number.
        step: usize,
        /// The step as written, values resolved.
        text: String,
    },
    /// `$LATEST` got new code and finished updating.
    CodeUpdated {
        /// The function.
        function: String,
    },
    /// A version was published (or the last one returned, when nothing changed).
    Published {
        /// The function.
        function: String,
        /// The version.
        version: String,
        /// True when it is the version the alias already serves.
        unchanged: bool,
    },
    /// `old` and `new` of a target are known.
    VersionsChosen {
        /// The function.
        function: String,
        /// What the alias served.
        old: String,
        /// What it moves to.
        new: String,
    },
    /// An alias write: what it was, what it is.
    AliasUpdated {
        /// The function.
        function: String,
        /// Before the write (the RevisionId passed is `before.revision_id`).
        before: Alias,
        /// After the write.
        after: Alias,
    },
    /// Provisioned concurrency on an alias: noted before the first write, and allocated again
    /// after each move of traffic, which waits for it.
    Provisioned {
        /// The function.
        function: String,
        /// The alias.
        alias: String,
        /// Environments asked for, split between the versions by weight.
        requested: u32,
        /// Environments allocated.
        allocated: u32,
        /// Whether the allocation is done.
        ready: bool,
    },
    /// A pause begins.
    Waiting {
        /// How long at most.
        duration_ms: Millis,
        /// Whether health is judged meanwhile.
        judged: bool,
        /// For a bake: how much traffic on `new` it judges.
        #[serde(skip_serializing_if = "Option::is_none")]
        traffic_ms: Option<Millis>,
        /// For an adaptive bake: the least traffic it judges before it may pass early.
        #[serde(skip_serializing_if = "Option::is_none")]
        shortest_ms: Option<Millis>,
        /// For a bake: how long after a period ends its metrics are read.
        #[serde(skip_serializing_if = "Option::is_none")]
        delay_ms: Option<Millis>,
    },
    /// A wave of a waved rollout begins: the steps run in each of its regions at once.
    WaveStarted {
        /// Its name.
        wave: String,
        /// Which wave (1-based).
        index: usize,
        /// How many the playbook has.
        waves: usize,
        /// Its regions (`ACCOUNT/REGION` in another account).
        regions: Vec<String>,
    },
    /// Every region of a wave promoted (or had nothing new).
    WavePassed {
        /// Its name.
        wave: String,
    },
    /// A wave failed: what comes after it never starts.
    WaveFailed {
        /// Its name.
        wave: String,
        /// Why, region by region.
        reason: String,
        /// The waves that never started.
        skipped: Vec<String>,
    },
    /// The promoted waves are kept between waves, judged when `healthy`.
    Watching {
        /// How long.
        duration_ms: Millis,
        /// Whether health is judged meanwhile.
        judged: bool,
        /// The checks left out: they compare with `old`, which serves nothing there now.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        left_out: Vec<String>,
    },
    /// The watch after `promote` begins: `new` serves everything, and each check reading `old`
    /// compares with `old`'s values before the rollout.
    WatchStarted {
        /// How much traffic it judges.
        duration_ms: Millis,
        /// Each function's `old` before the rollout, and its checks as judged.
        baselines: Vec<Baseline>,
        /// The checks left out, each with why.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        left_out: Vec<String>,
    },
    /// The watch after `promote` passed: `new` stays.
    WatchPassed {
        /// Why, in words.
        reason: String,
    },
    /// One health evaluation of one target.
    HealthEvaluated(Evaluation),
    /// A target's bake is held: `old` fails as much as a check allows `new` (a shared failure),
    /// so traffic stays where it is and the bake's clock stops; health is still judged.
    Held {
        /// The function.
        function: String,
        /// Why, with the rates seen.
        reason: String,
    },
    /// A target's hold is over: its bake's clock runs again.
    HoldEnded {
        /// The function.
        function: String,
        /// How long its bake has been held so far.
        held_ms: Millis,
    },
    /// The rollout holds: traffic stays where it is, the bake's clock stops, health is still
    /// judged. A person paused it (`rollout pause`), or a deploy window or change calendar is
    /// closed.
    Paused {
        /// Who or what: `user@host`, or the window or calendar.
        by: String,
        /// Why, when said.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// Until when, when known (Unix seconds).
        #[serde(skip_serializing_if = "Option::is_none")]
        until: Option<u64>,
    },
    /// The hold is over: traffic may move and the bake's clock runs again.
    Unpaused {
        /// Who ended it (`rollout resume`), or the window or calendar that opened.
        by: String,
        /// How long it held.
        paused_ms: Millis,
    },
    /// `rollout promote`: the current wait ends now, judged as at its end.
    PromoteAsked {
        /// Who asked.
        by: String,
        /// `--full`: then on to `promote`, skipping the steps between.
        full: bool,
    },
    /// A `rollout promote` the rollout did not act on.
    PromoteIgnored {
        /// Who asked.
        by: String,
        /// Why not.
        reason: String,
    },
    /// A bake ended well.
    BakePassed {
        /// Why, in words.
        reason: String,
    },
    /// An approval gate opened.
    ApprovalRequested {
        /// What is asked.
        message: Option<String>,
    },
    /// The gate was released.
    Approved {
        /// By whom or what.
        by: String,
    },
    /// A hook ran.
    Hook {
        /// The function it ran for.
        function: String,
        /// The script.
        script: String,
        /// Its verdict, as `healthy` and `reason`.
        #[serde(flatten)]
        verdict: HookVerdict,
    },
    /// A line a hook logged (`ctx.log`, `print`, `debug`).
    HookLog {
        /// The script.
        script: String,
        /// The line.
        message: String,
    },
    /// A step failed.
    StepFailed {
        /// 1-based step number.
        step: usize,
        /// Why.
        reason: String,
    },
    /// Traffic goes back to `old`.
    RollingBack {
        /// Why.
        reason: String,
    },
    /// A notification (of a playbook's `notify` lines) could not be sent, after retries. It
    /// changes nothing of the rollout.
    NotifyFailed {
        /// Where it was to go, as the playbook writes it: `eventbridge "rollouts"`.
        destination: String,
        /// Which notification (`step_started`); absent for those time ran out on at the end.
        #[serde(skip_serializing_if = "Option::is_none")]
        notification: Option<String>,
        /// Why.
        error: String,
    },
    /// `keep N versions`: a function's versions that nothing uses were pruned after `promote`.
    Pruned {
        /// The function.
        function: String,
        /// The versions deleted, oldest first.
        deleted: Vec<String>,
        /// The published versions left, oldest first.
        kept: Vec<String>,
    },
    /// `keep N versions`: pruning a function stopped at a failure. The rollout still succeeds.
    PruneFailed {
        /// The function.
        function: String,
        /// The versions deleted before it stopped, oldest first.
        deleted: Vec<String>,
        /// Why.
        error: String,
    },
    /// The rollout ended.
    Finished {
        /// How.
        outcome: String,
        /// The process exit code it maps to.
        exit_code: i32,
        /// In words.
        message: String,
    },
}

/// Where events go: the live display, JSON lines, a test's list.
pub trait EventSink {
    /// Receives one event.
    fn emit(&mut self, event: &Event);
}

/// A sink shared by the engine and what else reports (the retry layer): each emits in turn.
impl<S: EventSink + ?Sized> EventSink for &std::cell::RefCell<S> {
    fn emit(&mut self, event: &Event) {
        self.borrow_mut().emit(event);
    }
}

/// A sink lent out: what it is told goes to the sink it borrows.
impl<S: EventSink + ?Sized> EventSink for &mut S {
    fn emit(&mut self, event: &Event) {
        (**self).emit(event);
    }
}

impl EventSink for Vec<Event> {
    fn emit(&mut self, event: &Event) {
        self.push(event.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::call::Call;

    #[test]
    fn a_retry_is_printed_in_words_though_its_call_and_error_are_typed() {
        let event = Event {
            region: None,
            at_ms: 1_500,
            kind: EventKind::Retrying {
                call: Named(Call::GetAlias {
                    function: "f".into(),
                    alias: "live".into(),
                }),
                error: CloudError::Throttled {
                    message: "TooManyRequestsException: Rate exceeded".into(),
                    retry_after: Some(Millis(2_000)),
                },
                attempt: 1,
                attempts: 6,
                pause_ms: Millis(2_000),
                since_ms: Millis(0),
            },
        };
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            r#"{"at_ms":1500,"event":"retrying","call":"Lambda GetAlias f:live","error":"throttled: TooManyRequestsException: Rate exceeded","attempt":1,"attempts":6,"pause_ms":2000,"since_ms":0}"#
        );
    }
}

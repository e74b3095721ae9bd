//! One pace for every Lambda control-plane call of a run, below the retry layer so that each
//! attempt takes its turn. The account shares Lambda's control-plane quota per region with
//! everything else that uses it (Lambda documents 15 requests per second for most control-plane
//! APIs, 100 for `GetFunction`), so a fleet of hundreds of functions must not burst: calls leave
//! evenly spaced, at most `calls_per_second`, however many targets wait for them. Invocations
//! (data plane) and CloudWatch reads are not paced here; Step Functions and SSM calls are.

use std::cell::Cell;
use std::future::Future;

use super::call::Call;
use super::layer::{Layer, Layered};
use super::{Alias, AliasUpdate, Clock, CloudError};
use crate::plan::Millis;

/// Calls per second when the command line does not say: below Lambda's quota of 15, leaving
/// room for the account's other users.
pub const DEFAULT_CALLS_PER_SECOND: f64 = 10.0;

/// The slowest pace accepted: a call every 10 seconds. Slower, a single step takes minutes and
/// a lease's heartbeat comes late; the command line refuses it rather than clamping it.
pub const MIN_CALLS_PER_SECOND: f64 = 0.1;

/// The pacing layer: one turn per control-plane call, on `clock`.
pub struct Pace<'a, C> {
    clock: &'a C,
    /// Milliseconds between two calls.
    interval: f64,
    /// When the next call may leave (milliseconds of the clock).
    next: Cell<f64>,
}

/// `inner`, paced.
pub type Limited<'a, T, C> = Layered<'a, T, Pace<'a, C>>;

impl<'a, T, C: Clock> Limited<'a, T, C> {
    /// `inner`, at most `calls_per_second` calls a second.
    pub fn new(inner: &'a T, clock: &'a C, calls_per_second: f64) -> Self {
        Layered::over(
            inner,
            Pace {
                clock,
                interval: 1_000.0 / calls_per_second.max(MIN_CALLS_PER_SECOND),
                next: Cell::new(0.0),
            },
        )
    }
}

/// Whether `call` is paced: every call but invocations (data plane) and CloudWatch's reads.
/// Step Functions, SSM and the deletion of alarms take their turns too. Every kind of call is
/// named, so that a new one cannot be added without deciding.
fn paced(call: &Call) -> bool {
    match call {
        Call::Invoke { .. } | Call::GetMetricData { .. } | Call::DescribeAlarms { .. } => false,
        Call::GetAlias { .. }
        | Call::UpdateAlias { .. }
        | Call::PublishVersion { .. }
        | Call::GetFunction { .. }
        | Call::GetProvisionedConcurrency { .. }
        | Call::GetEventInvokeConfig { .. }
        | Call::UpdateFunctionCode { .. }
        | Call::ListFunctions { .. }
        | Call::ListTags { .. }
        | Call::ListVersions { .. }
        | Call::ListAliases { .. }
        | Call::ListProvisioned { .. }
        | Call::ListMappings { .. }
        | Call::DeleteVersion { .. }
        | Call::DeleteAlarms { .. }
        | Call::GetParameter { .. }
        | Call::ReleaseGate { .. }
        | Call::DescribeExecution { .. }
        | Call::StopExecution { .. }
        | Call::PutStateMachine { .. }
        | Call::StartExecution { .. }
        | Call::GetExecutionHistory { .. } => true,
    }
}

impl<C: Clock> Pace<'_, C> {
    /// Waits for this call's turn: every call gets its own, evenly spaced.
    async fn turn(&self) {
        let now = self.clock.now().0 as f64;
        let at = self.next.get().max(now);
        self.next.set(at + self.interval);
        let wait = (at - now).ceil() as u64;
        if wait > 0 {
            self.clock.pause(Millis(wait)).await;
        }
    }
}

impl<C: Clock> Layer for Pace<'_, C> {
    async fn around<R, F>(&self, call: &Call, next: impl Fn() -> F) -> Result<R, CloudError>
    where
        F: Future<Output = Result<R, CloudError>>,
    {
        if paced(call) {
            self.turn().await;
        }
        next().await
    }

    /// A write takes its turn like any call; its read, if a layer above makes it, takes its own.
    async fn around_write<W, G>(
        &self,
        call: &Call,
        update: &AliasUpdate,
        write: impl Fn(AliasUpdate) -> W,
        _reading: &Call,
        _read: impl Fn() -> G,
    ) -> Result<Alias, CloudError>
    where
        W: Future<Output = Result<Alias, CloudError>>,
        G: Future<Output = Result<Alias, CloudError>>,
    {
        self.around(call, || write(update.clone())).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::sim::{SimConfig, SimWorld};
    use crate::cloud::LambdaApi;

    #[tokio::test(start_paused = true)]
    async fn calls_leave_evenly_spaced_however_many_wait() {
        let world = SimWorld::new(&SimConfig {
            functions: (0..40).map(|n| format!("f{n}")).collect(),
            call_latency: Millis(80),
            calls_per_second: Some(10.0),
            ..SimConfig::default()
        });
        let limited = Limited::new(&world, &world, 10.0);
        let start = world.now();
        let names: Vec<String> = (0..40).map(|n| format!("f{n}")).collect();
        let reads =
            futures_util::future::join_all(names.iter().map(|f| limited.get_alias(f, "live")))
                .await;
        assert!(reads.iter().all(Result::is_ok), "none throttled: {reads:?}");
        // 40 calls at 10 a second: the last leaves after 3.9 s and answers 80 ms later.
        assert_eq!(world.now().0 - start.0, 3_980);
    }

    #[test]
    fn invocations_and_cloudwatch_reads_take_no_turn_every_other_call_does() {
        let free = [
            Call::Invoke {
                function: "f".into(),
                qualifier: "live".into(),
            },
            Call::GetMetricData {
                queries: std::rc::Rc::from([]),
                next_token: None,
            },
            Call::DescribeAlarms {
                names: vec!["a".into()],
                kinds: Vec::new(),
            },
        ];
        assert!(!free.iter().any(paced));
        let turns = [
            Call::GetAlias {
                function: "f".into(),
                alias: "live".into(),
            },
            Call::ListFunctions { marker: None },
            Call::DeleteAlarms {
                prefix: "rollout-".into(),
            },
            Call::GetParameter { name: "p".into() },
            Call::GetExecutionHistory {
                arn: "e".into(),
                after: 0,
            },
        ];
        assert!(turns.iter().all(paced));
    }

    #[tokio::test(start_paused = true)]
    async fn without_pacing_the_simulated_account_throttles_beyond_its_limit() {
        let world = SimWorld::new(&SimConfig {
            functions: (0..40).map(|n| format!("f{n}")).collect(),
            call_latency: Millis(80),
            calls_per_second: Some(10.0),
            ..SimConfig::default()
        });
        let names: Vec<String> = (0..40).map(|n| format!("f{n}")).collect();
        let reads =
            futures_util::future::join_all(names.iter().map(|f| world.get_alias(f, "live"))).await;
        let throttled = reads
            .iter()
            .filter(|r| matches!(r, Err(CloudError::Throttled { .. })))
            .count();
        assert_eq!(throttled, 30, "ten in the second, the rest refused");
    }
}

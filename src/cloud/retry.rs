//! The one retry layer, in front of any [`super::LambdaApi`], [`super::MetricsApi`] and
//! [`super::executions::ExecutionsApi`] (the SDK's own retries are off, so every attempt is seen
//! here).
//!
//! What [`CloudError::retried`] says may pass is retried: throttling (never sooner than the
//! service asks), an update in progress (409), and 5xx, time-outs and broken connections. Pauses
//! double from one second up to twenty, each with half of it at random so that runners that
//! failed together do not retry together, for at most [`ATTEMPTS`] attempts and [`RETRY_FOR`]
//! from the first. Each retry is told to whoever listens ([`Retrying::notifying`]), so a stall
//! shows within seconds. Access denied, bad credentials, a missing region and invalid requests
//! fail at once: waiting cannot fix them.
//!
//! A write whose answer was lost may have taken effect. An alias write that meets a stale
//! RevisionId after such an attempt reads the alias: if it holds exactly what was written, the
//! write went through. Publishing is safe to repeat (an unchanged `$LATEST` publishes as the
//! version it already is); an invocation, and the release of an `approve` gate, is retried only
//! when it certainly did not happen; an execution started again with the same name and input is
//! the same execution.

use std::cell::Cell;
use std::future::Future;

use super::call::Call;
use super::layer::{Layer, Layered};
use super::{Alias, AliasUpdate, Clock, CloudError};
use crate::plan::Millis;

/// Attempts per call, the first included.
pub const ATTEMPTS: u32 = 6;

/// The pause before the first retry, at most; it doubles from there.
const FIRST_PAUSE: Millis = Millis(1_000);

/// The longest pause between two attempts, unless the service asks for more.
const LONGEST_PAUSE: Millis = Millis(20_000);

/// The longest wait a throttle's retry-after is honoured for.
const LONGEST_RETRY_AFTER: Millis = Millis(60_000);

/// A call is not tried again once this long has passed since its first attempt.
pub const RETRY_FOR: Millis = Millis(120_000);

/// A failed attempt that is tried again.
#[derive(Debug, Clone, PartialEq)]
pub struct Retry {
    /// The call ([`Named`] names it to a person, such as `Lambda GetAlias f:live`).
    pub call: Call,
    /// What went wrong: a throttle, an update in progress, a 5xx, a time-out, a lost
    /// connection.
    pub error: CloudError,
    /// The attempt that failed (1-based); there are at most [`ATTEMPTS`].
    pub attempt: u32,
    /// The pause before the next attempt.
    pub pause: Millis,
    /// How long since the first attempt began.
    pub since: Millis,
}

/// The retrying layer; pauses sleep on `clock` (virtual in simulations and tests).
pub struct Retries<'a, C> {
    clock: &'a C,
    /// State of the jitter's random sequence.
    jitter: Cell<u64>,
    /// Told of every retry.
    notify: Option<&'a dyn Fn(&Retry)>,
}

/// `inner`, retried.
pub type Retrying<'a, T, C> = Layered<'a, T, Retries<'a, C>>;

impl<'a, T, C: Clock> Retrying<'a, T, C> {
    /// Wraps `inner`.
    pub fn new(inner: &'a T, clock: &'a C) -> Self {
        Layered::over(inner, Retries::new(clock))
    }

    /// Tells `notify` of every retry.
    pub fn notifying(self, notify: &'a dyn Fn(&Retry)) -> Self {
        Layered::over(
            self.inner,
            Retries {
                notify: Some(notify),
                ..self.layer
            },
        )
    }
}

/// The attempts at one call.
struct Attempts<'l> {
    /// The call.
    call: &'l Call,
    /// When the first attempt began.
    started: Millis,
    /// The attempt under way (1-based).
    attempt: u32,
}

/// Which failures of `call` are retried here: an invocation and the release of a gate only
/// when they certainly did not happen, the history of an execution never (the follower reads it
/// again on its own schedule, and gives up after two minutes), an alias write only through
/// [`Layer::around_write`] (which tells whether a write whose answer was lost went through),
/// every other call as [`CloudError::retried`] says.
fn rule(call: &Call) -> Option<fn(&CloudError) -> bool> {
    match call {
        Call::GetExecutionHistory { .. } | Call::UpdateAlias { .. } => None,
        Call::Invoke { .. } | Call::ReleaseGate { .. } => Some(not_run),
        _ => Some(CloudError::retried),
    }
}

/// Errors after which an invocation certainly did not run.
fn not_run(error: &CloudError) -> bool {
    matches!(error, CloudError::Busy(_) | CloudError::Throttled { .. })
}

impl<'a, C: Clock> Retries<'a, C> {
    /// Retries on `clock`, telling no one.
    fn new(clock: &'a C) -> Self {
        Retries {
            clock,
            jitter: Cell::new(clock.epoch().0),
            notify: None,
        }
    }

    /// A uniform draw in [0, 1) (splitmix64).
    fn uniform(&self) -> f64 {
        let state = self.jitter.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
        self.jitter.set(state);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// How long to wait after failed attempt number `attempt` (1-based).
    fn pause(&self, attempt: u32, error: &CloudError) -> Millis {
        let cap = (FIRST_PAUSE.0 << (attempt - 1).min(10)).min(LONGEST_PAUSE.0);
        let pause = cap / 2 + (self.uniform() * (cap / 2) as f64) as u64;
        match error {
            CloudError::Throttled {
                retry_after: Some(after),
                ..
            } => Millis(pause.max(after.0.min(LONGEST_RETRY_AFTER.0))),
            _ => Millis(pause),
        }
    }

    /// The attempts at a new call.
    fn start<'l>(&self, call: &'l Call) -> Attempts<'l> {
        Attempts {
            call,
            started: self.clock.now(),
            attempt: 1,
        }
    }

    /// After a failed attempt: whether to try again, having waited and told the listener.
    async fn again(
        &self,
        tries: &mut Attempts<'_>,
        error: &CloudError,
        retried: fn(&CloudError) -> bool,
    ) -> bool {
        // Once interrupted, only the alias writes that put `old` back are tried again: a read
        // retried for two minutes would hold up the rollback.
        let interrupted =
            self.clock.interrupted() && !matches!(tries.call, Call::UpdateAlias { .. });
        if tries.attempt >= ATTEMPTS || !retried(error) || interrupted {
            return false;
        }
        let pause = self.pause(tries.attempt, error);
        let since = Millis(self.clock.now().0.saturating_sub(tries.started.0));
        if since.0 + pause.0 >= RETRY_FOR.0 {
            return false;
        }
        if let Some(notify) = self.notify {
            notify(&Retry {
                call: tries.call.clone(),
                error: error.clone(),
                attempt: tries.attempt,
                pause,
                since,
            });
        }
        self.clock.pause(pause).await;
        tries.attempt += 1;
        true
    }
}

impl<C: Clock> Layer for Retries<'_, C> {
    async fn around<R, F>(&self, call: &Call, next: impl Fn() -> F) -> Result<R, CloudError>
    where
        F: Future<Output = Result<R, CloudError>>,
    {
        let Some(retried) = rule(call) else {
            return next().await;
        };
        let mut tries = self.start(call);
        loop {
            match next().await {
                Err(e) if self.again(&mut tries, &e, retried).await => {}
                result => return result,
            }
        }
    }

    async fn around_write<W, G>(
        &self,
        call: &Call,
        update: &AliasUpdate,
        write: impl Fn(AliasUpdate) -> W,
        reading: &Call,
        read: impl Fn() -> G,
    ) -> Result<Alias, CloudError>
    where
        W: Future<Output = Result<Alias, CloudError>>,
        G: Future<Output = Result<Alias, CloudError>>,
    {
        let mut tries = self.start(call);
        let mut ambiguous = false;
        loop {
            match write(update.clone()).await {
                Err(CloudError::Stale(message)) if ambiguous => {
                    // Did an attempt whose answer was lost go through after all?
                    let now = self.around(reading, &read).await?;
                    return if update.written_in(&now) {
                        Ok(now)
                    } else {
                        Err(CloudError::Stale(message))
                    };
                }
                Err(e) if self.again(&mut tries, &e, CloudError::retried).await => {
                    ambiguous |= matches!(e, CloudError::Transient(_));
                }
                result => return result,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::sim::clock::VirtualClock;

    #[tokio::test(start_paused = true)]
    async fn a_call_nothing_answers_is_retried_for_two_minutes_at_most_and_each_retry_told() {
        use crate::cloud::faults::{fault_at, Faulty, Injected};
        use crate::cloud::sim::{SimConfig, SimWorld};
        use crate::cloud::{LambdaApi, ATTEMPT_TIMEOUT};
        let w = SimWorld::new(&SimConfig::default());
        let stalled = Faulty::new(&w, fault_at(0, Injected::Stall, true));
        let told = std::cell::RefCell::new(Vec::new());
        let notify = |retry: &Retry| told.borrow_mut().push(retry.clone());
        let retrying = Retrying::new(&stalled, &w).notifying(&notify);
        let result = retrying.get_alias("f", "live").await;
        assert!(
            matches!(result, Err(CloudError::Transient(_))),
            "{result:?}"
        );
        let took = w.now();
        assert!(
            took.0 <= RETRY_FOR.0 + ATTEMPT_TIMEOUT.0,
            "gave up after {took}"
        );
        let told = told.into_inner();
        assert_eq!(told.len(), stalled.calls() - 1, "every retry told");
        assert!(told.len() >= 3);
        let named = crate::cloud::call::Named(told[0].call.clone());
        assert_eq!(named.to_string(), "Lambda GetAlias f:live");
        assert_eq!(told[0].since, ATTEMPT_TIMEOUT, "the first said after 20s");
        assert!(
            matches!(&told[0].error, CloudError::Transient(m) if m.contains("no answer in time")),
            "{:?}",
            told[0].error
        );
        assert!(told.windows(2).all(|w| w[1].attempt == w[0].attempt + 1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_whose_first_try_failed_unseen_never_overwrites_a_change_made_meanwhile() {
        use crate::cloud::faults::{Decision, Faulty, Injected};
        use crate::cloud::sim::{SimConfig, SimWorld};
        use crate::cloud::LambdaApi;
        let w = SimWorld::new(&SimConfig {
            versions: 2,
            ..SimConfig::default()
        });
        let before = w.get_alias("f", "live").await.unwrap();
        // The first try fails without an answer that says whether it was written; before the
        // second, someone else writes the alias.
        let faulty = Faulty::new(&w, |n, _: &Call| match n {
            0 => Decision::Fail(Injected::ServerError),
            1 => Decision::WriteFirst,
            _ => Decision::Pass,
        });
        let retrying = Retrying::new(&faulty, &w);
        let ours = AliasUpdate {
            version: before.version.clone(),
            routing: [("2".to_string(), 0.1)].into(),
            revision_id: before.revision_id.clone(),
            description: Some("[rollout h=us s=2/4 o=1 n=2]".into()),
        };
        let result = retrying.update_alias("f", "live", &ours).await;
        assert!(matches!(result, Err(CloudError::Stale(_))), "{result:?}");
        let now = w.get_alias("f", "live").await.unwrap();
        assert_ne!(
            now.revision_id, before.revision_id,
            "the other write is there"
        );
        assert_eq!(now.routing, before.routing, "and what it wrote stays");
    }

    #[tokio::test(start_paused = true)]
    async fn after_an_interrupt_alias_writes_are_still_paced_and_retried_and_reads_are_not() {
        use crate::cloud::clock::WallClock;
        use crate::cloud::faults::{Decision, Faulty, Injected};
        use crate::cloud::limit::Limited;
        use crate::cloud::sim::{SimConfig, SimWorld};
        use crate::cloud::LambdaApi;
        let w = SimWorld::new(&SimConfig::default());
        let clock = WallClock::new();
        clock.interrupt();
        // Calls keep their pace: three at one a second take two seconds.
        let paced = Limited::new(&w, &clock, 1.0);
        let began = tokio::time::Instant::now();
        for _ in 0..3 {
            paced.get_alias("f", "live").await.unwrap();
        }
        assert!(began.elapsed() >= std::time::Duration::from_secs(2));
        // The first try of each call is throttled (the service asks for two seconds).
        let faulty = Faulty::new(&w, |n, _: &Call| {
            if n % 2 == 0 {
                Decision::Fail(Injected::Throttle)
            } else {
                Decision::Pass
            }
        });
        let retrying = Retrying::new(&faulty, &clock);
        let alias = w.get_alias("f", "live").await.unwrap();
        let restore = AliasUpdate {
            version: alias.version.clone(),
            routing: Default::default(),
            revision_id: alias.revision_id.clone(),
            description: Some(String::new()),
        };
        let began = tokio::time::Instant::now();
        assert!(retrying.update_alias("f", "live", &restore).await.is_ok());
        assert_eq!(faulty.calls(), 2, "the restoring write was tried again");
        assert!(
            began.elapsed() >= std::time::Duration::from_secs(2),
            "after the pause the service asked for: {:?}",
            began.elapsed()
        );
        assert!(retrying.get_alias("f", "live").await.is_err());
        assert_eq!(
            faulty.calls(),
            3,
            "a read is not tried again once interrupted"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_invocation_is_made_again_only_when_it_certainly_did_not_run() {
        use crate::cloud::faults::{fault_at, Faulty, Injected};
        use crate::cloud::sim::{SimConfig, SimWorld};
        use crate::cloud::LambdaApi;
        let w = SimWorld::new(&SimConfig::default());
        let throttled = Faulty::new(&w, fault_at(0, Injected::Throttle, false));
        let retrying = Retrying::new(&throttled, &w);
        assert!(retrying.invoke("f", "live", "{}").await.is_ok());
        assert_eq!(
            throttled.calls(),
            2,
            "a throttled invocation never ran: made again"
        );
        let lost = Faulty::new(&w, fault_at(0, Injected::LostResponse, false));
        let retrying = Retrying::new(&lost, &w);
        assert!(retrying.invoke("f", "live", "{}").await.is_err());
        assert_eq!(
            lost.calls(),
            1,
            "an invocation whose answer was lost may have run: once"
        );
    }

    #[test]
    fn pauses_double_with_jitter_and_honour_the_services_retry_after() {
        let clock = VirtualClock::new();
        let retrying = Retries::new(&clock);
        let busy = CloudError::Busy("in progress".into());
        for attempt in 1..ATTEMPTS {
            let cap = (1_000u64 << (attempt - 1)).min(20_000);
            let pauses: Vec<u64> = (0..200).map(|_| retrying.pause(attempt, &busy).0).collect();
            assert!(
                pauses.iter().all(|p| (cap / 2..=cap).contains(p)),
                "attempt {attempt}: {pauses:?}"
            );
            let distinct: std::collections::BTreeSet<_> = pauses.iter().collect();
            assert!(distinct.len() > 50, "jittered: {}", distinct.len());
        }
        let throttled = |after| CloudError::Throttled {
            message: "Rate exceeded".into(),
            retry_after: Some(Millis(after)),
        };
        assert!(retrying.pause(1, &throttled(7_000)).0 >= 7_000);
        assert_eq!(retrying.pause(1, &throttled(600_000)).0, 60_000);
    }
}

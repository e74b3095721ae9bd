//! The one retry layer, in front of any [`LambdaApi`] and [`MetricsApi`] (the SDK's own retries
//! are off, so every attempt is seen here).
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
//! version it already is); an invocation is retried only when it certainly did not run.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::future::Future;

use super::metrics::{MetricDataPage, MetricDataRequest};
use super::{
    AlarmKind, AlarmState, Alias, AliasUpdate, Clock, CloudError, FunctionInfo, FunctionPage,
    Invocation, LambdaApi, Latest, MetricsApi, Provisioned,
};
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

/// A failed attempt that is tried again, as a display tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct Retry {
    /// The call and what it is about, such as `Lambda GetAlias f:live`.
    pub call: String,
    /// What went wrong.
    pub error: String,
    /// The attempt that failed (1-based); there are at most [`ATTEMPTS`].
    pub attempt: u32,
    /// The pause before the next attempt.
    pub pause: Millis,
    /// How long since the first attempt began.
    pub since: Millis,
}

/// Retrying wrapper; pauses sleep on `clock` (virtual in simulations and tests).
pub struct Retrying<'a, T, C> {
    inner: &'a T,
    clock: &'a C,
    /// State of the jitter's random sequence.
    jitter: Cell<u64>,
    /// Told of every retry.
    notify: Option<&'a dyn Fn(&Retry)>,
}

/// The attempts at one call.
struct Attempts<'l> {
    /// The call, for the display.
    what: &'l dyn Fn() -> String,
    /// When the first attempt began.
    started: Millis,
    /// The attempt under way (1-based).
    attempt: u32,
}

impl<'a, T, C> Retrying<'a, T, C> {
    /// What this retries.
    pub(super) fn inner(&self) -> &'a T {
        self.inner
    }
}

impl<'a, T, C: Clock> Retrying<'a, T, C> {
    /// Wraps `inner`.
    pub fn new(inner: &'a T, clock: &'a C) -> Self {
        Retrying {
            inner,
            clock,
            jitter: Cell::new(clock.epoch().0),
            notify: None,
        }
    }

    /// Tells `notify` of every retry.
    pub fn notifying(self, notify: &'a dyn Fn(&Retry)) -> Self {
        Retrying {
            notify: Some(notify),
            ..self
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

    /// The attempts at a new call, described by `what`.
    fn start<'l>(&self, what: &'l dyn Fn() -> String) -> Attempts<'l> {
        Attempts {
            what,
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
        if tries.attempt >= ATTEMPTS || !retried(error) || self.clock.interrupted() {
            return false;
        }
        let pause = self.pause(tries.attempt, error);
        let since = Millis(self.clock.now().0.saturating_sub(tries.started.0));
        if since.0 + pause.0 >= RETRY_FOR.0 {
            return false;
        }
        if let Some(notify) = self.notify {
            notify(&Retry {
                call: (tries.what)(),
                error: error.to_string(),
                attempt: tries.attempt,
                pause,
                since,
            });
        }
        self.clock.sleep(pause).await;
        tries.attempt += 1;
        true
    }

    pub(super) async fn retry<R, F, Fut>(
        &self,
        what: &dyn Fn() -> String,
        call: F,
    ) -> Result<R, CloudError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<R, CloudError>>,
    {
        self.retry_if(CloudError::retried, what, call).await
    }

    pub(super) async fn retry_if<R, F, Fut>(
        &self,
        retried: fn(&CloudError) -> bool,
        what: &dyn Fn() -> String,
        mut call: F,
    ) -> Result<R, CloudError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<R, CloudError>>,
    {
        let mut tries = self.start(what);
        loop {
            match call().await {
                Err(e) if self.again(&mut tries, &e, retried).await => {}
                result => return result,
            }
        }
    }
}

/// Errors after which an invocation certainly did not run.
pub(super) fn not_run(error: &CloudError) -> bool {
    matches!(error, CloudError::Busy(_) | CloudError::Throttled { .. })
}

impl<T: LambdaApi, C: Clock> LambdaApi for Retrying<'_, T, C> {
    async fn get_alias(&self, function: &str, alias: &str) -> Result<Alias, CloudError> {
        let what = || format!("Lambda GetAlias {function}:{alias}");
        self.retry(&what, || self.inner.get_alias(function, alias))
            .await
    }

    async fn update_alias(
        &self,
        function: &str,
        alias: &str,
        update: &AliasUpdate,
    ) -> Result<Alias, CloudError> {
        let what = || format!("Lambda UpdateAlias {function}:{alias}");
        let mut tries = self.start(&what);
        let mut ambiguous = false;
        loop {
            match self.inner.update_alias(function, alias, update).await {
                Err(CloudError::Stale(message)) if ambiguous => {
                    // Did an attempt whose answer was lost go through after all?
                    let read = || format!("Lambda GetAlias {function}:{alias}");
                    let now = self
                        .retry(&read, || self.inner.get_alias(function, alias))
                        .await?;
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

    async fn publish_version(
        &self,
        function: &str,
        latest: &Latest,
        description: Option<&str>,
    ) -> Result<String, CloudError> {
        let what = || format!("Lambda PublishVersion {function}");
        self.retry(&what, || {
            self.inner.publish_version(function, latest, description)
        })
        .await
    }

    async fn get_function(
        &self,
        function: &str,
        qualifier: Option<&str>,
    ) -> Result<FunctionInfo, CloudError> {
        let what = || format!("Lambda GetFunctionConfiguration {function}");
        self.retry(&what, || self.inner.get_function(function, qualifier))
            .await
    }

    async fn provisioned(
        &self,
        function: &str,
        alias: &str,
    ) -> Result<Option<Provisioned>, CloudError> {
        let what = || format!("Lambda GetProvisionedConcurrencyConfig {function}:{alias}");
        self.retry(&what, || self.inner.provisioned(function, alias))
            .await
    }

    async fn event_retries(&self, function: &str, alias: &str) -> Result<u32, CloudError> {
        let what = || format!("Lambda GetFunctionEventInvokeConfig {function}:{alias}");
        self.retry(&what, || self.inner.event_retries(function, alias))
            .await
    }

    async fn update_code(&self, function: &str, zip: &[u8]) -> Result<String, CloudError> {
        let what = || format!("Lambda UpdateFunctionCode {function}");
        self.retry(&what, || self.inner.update_code(function, zip))
            .await
    }

    async fn invoke(
        &self,
        function: &str,
        qualifier: &str,
        payload: &str,
    ) -> Result<Invocation, CloudError> {
        let what = || format!("Lambda Invoke {function}:{qualifier}");
        self.retry_if(not_run, &what, || {
            self.inner.invoke(function, qualifier, payload)
        })
        .await
    }

    async fn list_functions(&self, marker: Option<&str>) -> Result<FunctionPage, CloudError> {
        let what = || "Lambda ListFunctions".to_string();
        self.retry(&what, || self.inner.list_functions(marker))
            .await
    }

    async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>, CloudError> {
        let what = || format!("Lambda ListTags {arn}");
        self.retry(&what, || self.inner.tags(arn)).await
    }
}

impl<T: MetricsApi, C: Clock> MetricsApi for Retrying<'_, T, C> {
    async fn get_metric_data(
        &self,
        request: &MetricDataRequest,
    ) -> Result<MetricDataPage, CloudError> {
        let what = || {
            format!(
                "CloudWatch GetMetricData ({} queries)",
                request.queries.len()
            )
        };
        self.retry(&what, || self.inner.get_metric_data(request))
            .await
    }

    async fn describe_alarms(
        &self,
        names: &[String],
        kinds: &[AlarmKind],
    ) -> Result<Vec<(String, AlarmState)>, CloudError> {
        let what = || match names {
            [one] => format!("CloudWatch DescribeAlarms ({one})"),
            _ => format!("CloudWatch DescribeAlarms ({} alarms)", names.len()),
        };
        self.retry(&what, || self.inner.describe_alarms(names, kinds))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::sim::clock::VirtualClock;

    #[tokio::test(start_paused = true)]
    async fn a_call_nothing_answers_is_retried_for_two_minutes_at_most_and_each_retry_told() {
        use crate::cloud::faults::{fault_at, Fault, Faulty};
        use crate::cloud::sim::{SimConfig, SimWorld};
        use crate::cloud::{LambdaApi, ATTEMPT_TIMEOUT};
        let w = SimWorld::new(&SimConfig::default());
        let stalled = Faulty::new(&w, fault_at(0, Fault::Stall, true));
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
        assert_eq!(told[0].call, "Lambda GetAlias f:live");
        assert_eq!(told[0].since, ATTEMPT_TIMEOUT, "the first said after 20s");
        assert!(told[0].error.contains("no answer in time"));
        assert!(told.windows(2).all(|w| w[1].attempt == w[0].attempt + 1));
    }

    #[test]
    fn pauses_double_with_jitter_and_honour_the_services_retry_after() {
        let clock = VirtualClock::new();
        let retrying = Retrying::new(&(), &clock);
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

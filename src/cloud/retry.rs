//! The one retry layer, in front of any [`LambdaApi`] and [`MetricsApi`] (the SDK's own retries
//! are off, so every attempt is seen here).
//!
//! What [`CloudError::retried`] says may pass is retried: throttling (never sooner than the
//! service asks), an update in progress (409), and 5xx, time-outs and broken connections. Pauses
//! double from one second up to twenty, each with half of it at random so that runners that
//! failed together do not retry together. Access denied, bad credentials, a missing region and
//! invalid requests fail at once: waiting cannot fix them.
//!
//! A write whose answer was lost may have taken effect. An alias write that meets a stale
//! RevisionId after such an attempt reads the alias: if it holds exactly what was written, the
//! write went through. Publishing is safe to repeat (an unchanged `$LATEST` publishes as the
//! version it already is); an invocation is retried only when it certainly did not run.

use std::cell::Cell;
use std::future::Future;

use super::metrics::{MetricDataPage, MetricDataRequest};
use super::{
    AlarmKind, AlarmState, Alias, AliasUpdate, Clock, CloudError, FunctionInfo, Invocation,
    LambdaApi, Latest, MetricsApi, Provisioned,
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

/// Retrying wrapper; pauses sleep on `clock` (virtual in simulations and tests).
#[derive(Debug)]
pub struct Retrying<'a, T, C> {
    inner: &'a T,
    clock: &'a C,
    /// State of the jitter's random sequence.
    jitter: Cell<u64>,
}

impl<'a, T, C: Clock> Retrying<'a, T, C> {
    /// Wraps `inner`.
    pub fn new(inner: &'a T, clock: &'a C) -> Self {
        Retrying {
            inner,
            clock,
            jitter: Cell::new(clock.epoch().0),
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

    /// Whether another attempt may follow failed attempt number `attempt`.
    fn again(&self, attempt: u32, error: &CloudError, retried: fn(&CloudError) -> bool) -> bool {
        attempt < ATTEMPTS && retried(error) && !self.clock.interrupted()
    }

    async fn retry<R, F, Fut>(&self, call: F) -> Result<R, CloudError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<R, CloudError>>,
    {
        self.retry_if(CloudError::retried, call).await
    }

    async fn retry_if<R, F, Fut>(
        &self,
        retried: fn(&CloudError) -> bool,
        mut call: F,
    ) -> Result<R, CloudError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<R, CloudError>>,
    {
        let mut attempt = 1;
        loop {
            match call().await {
                Err(e) if self.again(attempt, &e, retried) => {
                    self.clock.sleep(self.pause(attempt, &e)).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }
}

/// Errors after which an invocation certainly did not run.
fn not_run(error: &CloudError) -> bool {
    matches!(error, CloudError::Busy(_) | CloudError::Throttled { .. })
}

impl<T: LambdaApi, C: Clock> LambdaApi for Retrying<'_, T, C> {
    async fn get_alias(&self, function: &str, alias: &str) -> Result<Alias, CloudError> {
        self.retry(|| self.inner.get_alias(function, alias)).await
    }

    async fn update_alias(
        &self,
        function: &str,
        alias: &str,
        update: &AliasUpdate,
    ) -> Result<Alias, CloudError> {
        let mut attempt = 1;
        let mut ambiguous = false;
        loop {
            match self.inner.update_alias(function, alias, update).await {
                Err(CloudError::Stale(message)) if ambiguous => {
                    // Did an attempt whose answer was lost go through after all?
                    let now = self.retry(|| self.inner.get_alias(function, alias)).await?;
                    return if update.written_in(&now) {
                        Ok(now)
                    } else {
                        Err(CloudError::Stale(message))
                    };
                }
                Err(e) if self.again(attempt, &e, CloudError::retried) => {
                    ambiguous |= matches!(e, CloudError::Transient(_));
                    self.clock.sleep(self.pause(attempt, &e)).await;
                    attempt += 1;
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
        self.retry(|| self.inner.publish_version(function, latest, description))
            .await
    }

    async fn get_function(
        &self,
        function: &str,
        qualifier: Option<&str>,
    ) -> Result<FunctionInfo, CloudError> {
        self.retry(|| self.inner.get_function(function, qualifier))
            .await
    }

    async fn provisioned(
        &self,
        function: &str,
        alias: &str,
    ) -> Result<Option<Provisioned>, CloudError> {
        self.retry(|| self.inner.provisioned(function, alias)).await
    }

    async fn update_code(&self, function: &str, zip: &[u8]) -> Result<String, CloudError> {
        self.retry(|| self.inner.update_code(function, zip)).await
    }

    async fn invoke(
        &self,
        function: &str,
        qualifier: &str,
        payload: &str,
    ) -> Result<Invocation, CloudError> {
        self.retry_if(not_run, || self.inner.invoke(function, qualifier, payload))
            .await
    }
}

impl<T: MetricsApi, C: Clock> MetricsApi for Retrying<'_, T, C> {
    async fn get_metric_data(
        &self,
        request: &MetricDataRequest,
    ) -> Result<MetricDataPage, CloudError> {
        self.retry(|| self.inner.get_metric_data(request)).await
    }

    async fn describe_alarms(
        &self,
        names: &[String],
        kinds: &[AlarmKind],
    ) -> Result<Vec<(String, AlarmState)>, CloudError> {
        self.retry(|| self.inner.describe_alarms(names, kinds))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::sim::clock::VirtualClock;

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

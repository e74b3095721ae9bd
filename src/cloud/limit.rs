//! One pace for every Lambda control-plane call of a run, below the retry layer so that each
//! attempt takes its turn. The account shares Lambda's control-plane quota per region with
//! everything else that uses it (Lambda documents 15 requests per second for most control-plane
//! APIs, 100 for `GetFunction`), so a fleet of hundreds of functions must not burst: calls leave
//! evenly spaced, at most `calls_per_second`, however many targets wait for them. Invocations
//! (data plane) and CloudWatch reads are not paced here.

use std::cell::Cell;
use std::collections::BTreeMap;

use super::metrics::{MetricDataPage, MetricDataRequest};
use super::{
    AlarmKind, AlarmState, Alias, AliasUpdate, Clock, CloudError, FunctionInfo, FunctionPage,
    Invocation, LambdaApi, Latest, MetricsApi, Provisioned,
};
use crate::plan::Millis;

/// Calls per second when the command line does not say: below Lambda's quota of 15, leaving
/// room for the account's other users.
pub const DEFAULT_CALLS_PER_SECOND: f64 = 10.0;

/// The slowest pace accepted: a call every 10 seconds. Slower, a single step takes minutes and
/// a lease's heartbeat comes late; the command line refuses it rather than clamping it.
pub const MIN_CALLS_PER_SECOND: f64 = 0.1;

/// Paces the control-plane calls of `inner` on `clock`.
pub struct Limited<'a, T, C> {
    inner: &'a T,
    clock: &'a C,
    /// Milliseconds between two calls.
    interval: f64,
    /// When the next call may leave (milliseconds of the clock).
    next: Cell<f64>,
}

impl<'a, T, C> Limited<'a, T, C> {
    /// What this paces.
    pub(super) fn inner(&self) -> &'a T {
        self.inner
    }
}

impl<'a, T, C: Clock> Limited<'a, T, C> {
    /// `inner`, at most `calls_per_second` calls a second.
    pub fn new(inner: &'a T, clock: &'a C, calls_per_second: f64) -> Self {
        Limited {
            inner,
            clock,
            interval: 1_000.0 / calls_per_second.max(MIN_CALLS_PER_SECOND),
            next: Cell::new(0.0),
        }
    }

    /// Waits for this call's turn: every call gets its own, evenly spaced.
    pub(super) async fn turn(&self) {
        let now = self.clock.now().0 as f64;
        let at = self.next.get().max(now);
        self.next.set(at + self.interval);
        let wait = (at - now).ceil() as u64;
        if wait > 0 {
            self.clock.sleep(Millis(wait)).await;
        }
    }
}

impl<T: LambdaApi, C: Clock> LambdaApi for Limited<'_, T, C> {
    async fn get_alias(&self, function: &str, alias: &str) -> Result<Alias, CloudError> {
        self.turn().await;
        self.inner.get_alias(function, alias).await
    }

    async fn update_alias(
        &self,
        function: &str,
        alias: &str,
        update: &AliasUpdate,
    ) -> Result<Alias, CloudError> {
        self.turn().await;
        self.inner.update_alias(function, alias, update).await
    }

    async fn publish_version(
        &self,
        function: &str,
        latest: &Latest,
        description: Option<&str>,
    ) -> Result<String, CloudError> {
        self.turn().await;
        self.inner
            .publish_version(function, latest, description)
            .await
    }

    async fn get_function(
        &self,
        function: &str,
        qualifier: Option<&str>,
    ) -> Result<FunctionInfo, CloudError> {
        self.turn().await;
        self.inner.get_function(function, qualifier).await
    }

    async fn provisioned(
        &self,
        function: &str,
        alias: &str,
    ) -> Result<Option<Provisioned>, CloudError> {
        self.turn().await;
        self.inner.provisioned(function, alias).await
    }

    async fn event_retries(&self, function: &str, alias: &str) -> Result<u32, CloudError> {
        self.turn().await;
        self.inner.event_retries(function, alias).await
    }

    async fn update_code(&self, function: &str, zip: &[u8]) -> Result<String, CloudError> {
        self.turn().await;
        self.inner.update_code(function, zip).await
    }

    async fn invoke(
        &self,
        function: &str,
        qualifier: &str,
        payload: &str,
    ) -> Result<Invocation, CloudError> {
        self.inner.invoke(function, qualifier, payload).await
    }

    async fn list_functions(&self, marker: Option<&str>) -> Result<FunctionPage, CloudError> {
        self.turn().await;
        self.inner.list_functions(marker).await
    }

    async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>, CloudError> {
        self.turn().await;
        self.inner.tags(arn).await
    }
}

impl<T: MetricsApi, C> MetricsApi for Limited<'_, T, C> {
    async fn get_metric_data(
        &self,
        request: &MetricDataRequest,
    ) -> Result<MetricDataPage, CloudError> {
        self.inner.get_metric_data(request).await
    }

    async fn describe_alarms(
        &self,
        names: &[String],
        kinds: &[AlarmKind],
    ) -> Result<Vec<(String, AlarmState)>, CloudError> {
        self.inner.describe_alarms(names, kinds).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::sim::{SimConfig, SimWorld};

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

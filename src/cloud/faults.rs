//! A fault-injecting wrapper for tests: one kind of failure at one call, once or from then on.

use std::cell::Cell;

use super::{
    AlarmState, Alias, AliasUpdate, CloudError, FunctionInfo, Invocation, LambdaApi, MetricQuery,
    MetricsApi,
};

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `TooManyRequestsException`.
    Throttle,
    /// A 5xx from the service.
    ServerError,
    /// The call reaches the service and takes effect, but the answer never arrives.
    Timeout,
    /// `ResourceConflictException`.
    Conflict,
    /// An alias write with a RevisionId that is no longer current.
    StaleRevision,
}

/// Injects `fault` at call number `at` (0-based, counting every call), once or, when
/// `persistent`, at every call from then on.
#[derive(Debug)]
pub struct Faulty<'a, T> {
    inner: &'a T,
    at: usize,
    fault: Fault,
    persistent: bool,
    calls: Cell<usize>,
}

impl<'a, T> Faulty<'a, T> {
    /// Wraps `inner`.
    pub fn new(inner: &'a T, at: usize, fault: Fault, persistent: bool) -> Self {
        Faulty {
            inner,
            at,
            fault,
            persistent,
            calls: Cell::new(0),
        }
    }

    /// Calls seen so far.
    pub fn calls(&self) -> usize {
        self.calls.get()
    }

    /// The fault to inject into this call, if any.
    fn next(&self) -> Option<Fault> {
        let n = self.calls.get();
        self.calls.set(n + 1);
        (n == self.at || self.persistent && n > self.at).then_some(self.fault)
    }

    async fn inject<R>(
        &self,
        call: impl std::future::Future<Output = Result<R, CloudError>>,
    ) -> Result<R, CloudError> {
        match self.next() {
            None => call.await,
            Some(Fault::Throttle) => Err(CloudError::Throttled(
                "TooManyRequestsException: Rate exceeded".into(),
            )),
            Some(Fault::ServerError) => Err(CloudError::Other(
                "ServiceException: 500 internal error".into(),
            )),
            Some(Fault::Timeout) => {
                let _ = call.await;
                Err(CloudError::Other(
                    "timed out waiting for the response".into(),
                ))
            }
            Some(Fault::Conflict | Fault::StaleRevision) => Err(CloudError::Conflict(
                "ResourceConflictException: injected".into(),
            )),
        }
    }
}

impl<T: LambdaApi> LambdaApi for Faulty<'_, T> {
    async fn get_alias(&self, function: &str, alias: &str) -> Result<Alias, CloudError> {
        self.inject(self.inner.get_alias(function, alias)).await
    }

    async fn update_alias(
        &self,
        function: &str,
        alias: &str,
        update: &AliasUpdate,
    ) -> Result<Alias, CloudError> {
        if self.fault == Fault::StaleRevision {
            // The service itself rejects the stale RevisionId.
            let n = self.calls.get();
            if n == self.at || self.persistent && n > self.at {
                self.calls.set(n + 1);
                let stale = AliasUpdate {
                    revision_id: "stale-revision".into(),
                    ..update.clone()
                };
                return self.inner.update_alias(function, alias, &stale).await;
            }
        }
        self.inject(self.inner.update_alias(function, alias, update))
            .await
    }

    async fn publish_version(
        &self,
        function: &str,
        description: Option<&str>,
    ) -> Result<String, CloudError> {
        self.inject(self.inner.publish_version(function, description))
            .await
    }

    async fn get_function(
        &self,
        function: &str,
        qualifier: Option<&str>,
    ) -> Result<FunctionInfo, CloudError> {
        self.inject(self.inner.get_function(function, qualifier))
            .await
    }

    async fn update_code(&self, function: &str, zip: &[u8]) -> Result<(), CloudError> {
        self.inject(self.inner.update_code(function, zip)).await
    }

    async fn invoke(
        &self,
        function: &str,
        qualifier: &str,
        payload: &str,
    ) -> Result<Invocation, CloudError> {
        self.inject(self.inner.invoke(function, qualifier, payload))
            .await
    }
}

impl<T: MetricsApi> MetricsApi for Faulty<'_, T> {
    async fn stats(&self, queries: &[MetricQuery]) -> Result<Vec<Option<f64>>, CloudError> {
        self.inject(self.inner.stats(queries)).await
    }

    async fn alarm_state(&self, name: &str) -> Result<AlarmState, CloudError> {
        self.inject(self.inner.alarm_state(name)).await
    }
}

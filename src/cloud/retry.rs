//! Retries with exponential backoff in front of any [`LambdaApi`] and [`MetricsApi`].
//!
//! Throttling and transient failures are retried. A `ResourceConflictException` from publish or a
//! code update means "an update is in progress" and is retried too; from `UpdateAlias` it means
//! someone else changed the alias, which is never retried. A write whose first attempt failed
//! ambiguously (a time-out after the service applied it) and whose retry then meets a conflict
//! is checked by reading the alias: if it already holds what we wrote, the write succeeded.

use std::future::Future;

use super::{
    AlarmState, Alias, AliasUpdate, Clock, CloudError, FunctionInfo, Invocation, LambdaApi,
    MetricQuery, MetricsApi,
};
use crate::plan::Millis;

/// Attempts per call, the first included.
pub const ATTEMPTS: u32 = 4;

/// Retrying wrapper; backoff sleeps on `clock` (virtual in simulations and tests).
#[derive(Debug)]
pub struct Retrying<'a, T, C> {
    inner: &'a T,
    clock: &'a C,
}

impl<'a, T, C: Clock> Retrying<'a, T, C> {
    /// Wraps `inner`.
    pub fn new(inner: &'a T, clock: &'a C) -> Self {
        Retrying { inner, clock }
    }

    async fn retry<R, F, Fut>(
        &self,
        conflicts_are_transient: bool,
        mut call: F,
    ) -> Result<R, CloudError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<R, CloudError>>,
    {
        let mut attempt = 1;
        loop {
            match call().await {
                Err(e)
                    if attempt < ATTEMPTS
                        && transient(&e, conflicts_are_transient)
                        && !self.clock.interrupted() =>
                {
                    self.clock.sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }
}

fn transient(error: &CloudError, conflicts_are_transient: bool) -> bool {
    match error {
        CloudError::Throttled(_) | CloudError::Other(_) => true,
        CloudError::Conflict(_) => conflicts_are_transient,
        CloudError::NotFound(_) | CloudError::InvalidParameter(_) => false,
    }
}

/// 1s, 2s, 4s, …
fn backoff(attempt: u32) -> Millis {
    Millis(1_000 << (attempt - 1).min(6))
}

impl<T: LambdaApi, C: Clock> LambdaApi for Retrying<'_, T, C> {
    async fn get_alias(&self, function: &str, alias: &str) -> Result<Alias, CloudError> {
        self.retry(true, || self.inner.get_alias(function, alias))
            .await
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
                Err(CloudError::Conflict(message)) if ambiguous => {
                    // Did the attempt that timed out go through after all?
                    let now = self
                        .retry(true, || self.inner.get_alias(function, alias))
                        .await?;
                    let ours = now.version == update.version
                        && now.routing == update.routing
                        && update
                            .description
                            .as_ref()
                            .is_none_or(|d| *d == now.description);
                    return if ours {
                        Ok(now)
                    } else {
                        Err(CloudError::Conflict(message))
                    };
                }
                Err(e)
                    if attempt < ATTEMPTS && transient(&e, false) && !self.clock.interrupted() =>
                {
                    ambiguous = true;
                    self.clock.sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    async fn publish_version(
        &self,
        function: &str,
        description: Option<&str>,
    ) -> Result<String, CloudError> {
        // Publishing twice is harmless: an unchanged $LATEST publishes as the same version.
        self.retry(true, || self.inner.publish_version(function, description))
            .await
    }

    async fn get_function(
        &self,
        function: &str,
        qualifier: Option<&str>,
    ) -> Result<FunctionInfo, CloudError> {
        self.retry(true, || self.inner.get_function(function, qualifier))
            .await
    }

    async fn update_code(&self, function: &str, zip: &[u8]) -> Result<(), CloudError> {
        self.retry(true, || self.inner.update_code(function, zip))
            .await
    }

    async fn invoke(
        &self,
        function: &str,
        qualifier: &str,
        payload: &str,
    ) -> Result<Invocation, CloudError> {
        self.retry(false, || self.inner.invoke(function, qualifier, payload))
            .await
    }
}

impl<T: MetricsApi, C: Clock> MetricsApi for Retrying<'_, T, C> {
    async fn stats(&self, queries: &[MetricQuery]) -> Result<Vec<Option<f64>>, CloudError> {
        self.retry(true, || self.inner.stats(queries)).await
    }

    async fn alarm_state(&self, name: &str) -> Result<AlarmState, CloudError> {
        self.retry(true, || self.inner.alarm_state(name)).await
    }
}

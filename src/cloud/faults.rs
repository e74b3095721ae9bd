//! The one test double in front of any [`LambdaApi`] and [`MetricsApi`]: each call is shown to a
//! decision function as a [`Call`], with its number, and goes through, fails with a [`Fault`],
//! has someone else write the alias first, or lets other tasks run after it. Tests of faults,
//! of other writers and of races all use it; it is compiled for tests only.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::future::Future;

use super::call::Call;
use super::metrics::{MetricDataPage, MetricDataRequest};
use super::ATTEMPT_TIMEOUT;
use super::{
    AlarmKind, AlarmState, Alias, AliasUpdate, Clock, CloudError, FunctionInfo, FunctionPage,
    Invocation, LambdaApi, Latest, MetricsApi, Provisioned,
};
use crate::plan::Millis;

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `TooManyRequestsException`, asking to wait two seconds.
    Throttle,
    /// A 5xx from the service: nothing was done.
    ServerError,
    /// The call reaches the service and takes effect, but its answer is lost.
    LostResponse,
    /// `ResourceConflictException`: an update is in progress.
    Busy,
    /// An alias write with a RevisionId that is no longer current (other calls: busy).
    StaleRevision,
    /// The session's credentials have expired.
    ExpiredCredentials,
    /// Nothing answers: the attempt times out after [`ATTEMPT_TIMEOUT`] without taking effect.
    Stall,
    /// The function or alias was deleted: `ResourceNotFoundException`.
    Deleted,
}

/// What happens to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// It goes through.
    Pass,
    /// It fails so.
    Fail(Fault),
    /// Someone else rewrites the alias (same routing, a new RevisionId) just before it.
    WriteFirst,
    /// It goes through, then the caller's task lets every other task run.
    Pause,
}

/// The decisions of a fault that strikes call number `at` (0-based, counting every call), once
/// or, when `persistent`, at every call from then on.
pub fn fault_at(at: usize, fault: Fault, persistent: bool) -> impl Fn(usize, &Call) -> Decision {
    move |n, _| {
        if n == at || persistent && n > at {
            Decision::Fail(fault)
        } else {
            Decision::Pass
        }
    }
}

/// Every call goes through.
pub fn pass(_: usize, _: &Call) -> Decision {
    Decision::Pass
}

/// Wraps a back end; `decide` sees each call with its number.
#[derive(Debug)]
pub struct Faulty<'a, T, D> {
    inner: &'a T,
    decide: D,
    calls: Cell<usize>,
}

impl<'a, T: Clock, D: Fn(usize, &Call) -> Decision> Faulty<'a, T, D> {
    /// Wraps `inner`.
    pub fn new(inner: &'a T, decide: D) -> Self {
        Faulty {
            inner,
            decide,
            calls: Cell::new(0),
        }
    }

    /// Calls seen so far.
    pub fn calls(&self) -> usize {
        self.calls.get()
    }

    fn decision(&self, call: &Call) -> Decision {
        let n = self.calls.get();
        self.calls.set(n + 1);
        (self.decide)(n, call)
    }

    async fn apply<R>(
        &self,
        decision: Decision,
        call: impl Future<Output = Result<R, CloudError>>,
    ) -> Result<R, CloudError> {
        match decision {
            Decision::Pass | Decision::WriteFirst => call.await,
            Decision::Pause => {
                let result = call.await;
                tokio::task::yield_now().await;
                result
            }
            Decision::Fail(Fault::Throttle) => Err(CloudError::Throttled {
                message: "TooManyRequestsException: Rate exceeded".into(),
                retry_after: Some(Millis(2_000)),
            }),
            Decision::Fail(Fault::ServerError) => Err(CloudError::Transient(
                "ServiceException: 500 internal error".into(),
            )),
            Decision::Fail(Fault::LostResponse) => {
                let _ = call.await;
                Err(CloudError::Transient(
                    "timed out waiting for the response".into(),
                ))
            }
            Decision::Fail(Fault::ExpiredCredentials) => Err(CloudError::Credentials(
                "ExpiredTokenException: The security token included in the request is expired"
                    .into(),
            )),
            Decision::Fail(Fault::Busy | Fault::StaleRevision) => Err(CloudError::Busy(
                "ResourceConflictException: injected".into(),
            )),
            Decision::Fail(Fault::Deleted) => Err(CloudError::NotFound(
                "ResourceNotFoundException: Alias not found".into(),
            )),
            Decision::Fail(Fault::Stall) => {
                self.inner.sleep(ATTEMPT_TIMEOUT).await;
                Err(CloudError::Transient(format!(
                    "no answer in time (operation attempt timeout occurred after {ATTEMPT_TIMEOUT})"
                )))
            }
        }
    }
}

impl<T: LambdaApi + Clock, D: Fn(usize, &Call) -> Decision> Faulty<'_, T, D> {
    /// Decides about a Lambda call, and when someone else is to write first, has them do it
    /// through the same service: read the alias, write it back unchanged.
    async fn lambda_decision(&self, call: &Call) -> Decision {
        let decision = self.decision(call);
        if let (
            Decision::WriteFirst,
            Call::GetAlias { function, alias }
            | Call::UpdateAlias {
                function, alias, ..
            },
        ) = (decision, call)
        {
            if let Ok(now) = self.inner.get_alias(function, alias).await {
                let same = AliasUpdate {
                    version: now.version,
                    routing: now.routing,
                    revision_id: now.revision_id,
                    description: None,
                };
                let _ = self.inner.update_alias(function, alias, &same).await;
            }
        }
        decision
    }
}

impl<T: LambdaApi + Clock, D: Fn(usize, &Call) -> Decision> LambdaApi for Faulty<'_, T, D> {
    async fn get_alias(&self, function: &str, alias: &str) -> Result<Alias, CloudError> {
        let call = Call::GetAlias {
            function: function.into(),
            alias: alias.into(),
        };
        let decision = self.lambda_decision(&call).await;
        self.apply(decision, self.inner.get_alias(function, alias))
            .await
    }

    async fn update_alias(
        &self,
        function: &str,
        alias: &str,
        update: &AliasUpdate,
    ) -> Result<Alias, CloudError> {
        let call = Call::UpdateAlias {
            function: function.into(),
            alias: alias.into(),
            update: update.clone(),
        };
        match self.lambda_decision(&call).await {
            // The service itself rejects the stale RevisionId.
            Decision::Fail(Fault::StaleRevision) => {
                let stale = AliasUpdate {
                    revision_id: "stale-revision".into(),
                    ..update.clone()
                };
                self.inner.update_alias(function, alias, &stale).await
            }
            decision => {
                self.apply(decision, self.inner.update_alias(function, alias, update))
                    .await
            }
        }
    }

    async fn publish_version(
        &self,
        function: &str,
        latest: &Latest,
        description: Option<&str>,
    ) -> Result<String, CloudError> {
        let call = Call::PublishVersion {
            function: function.into(),
            latest: latest.clone(),
            description: description.map(str::to_string),
        };
        let decision = self.lambda_decision(&call).await;
        self.apply(
            decision,
            self.inner.publish_version(function, latest, description),
        )
        .await
    }

    async fn get_function(
        &self,
        function: &str,
        qualifier: Option<&str>,
    ) -> Result<FunctionInfo, CloudError> {
        let call = Call::GetFunction {
            function: function.into(),
            qualifier: qualifier.map(str::to_string),
        };
        let decision = self.lambda_decision(&call).await;
        self.apply(decision, self.inner.get_function(function, qualifier))
            .await
    }

    async fn provisioned(
        &self,
        function: &str,
        alias: &str,
    ) -> Result<Option<Provisioned>, CloudError> {
        let call = Call::GetProvisionedConcurrency {
            function: function.into(),
            alias: alias.into(),
        };
        let decision = self.lambda_decision(&call).await;
        self.apply(decision, self.inner.provisioned(function, alias))
            .await
    }

    async fn event_retries(&self, function: &str, alias: &str) -> Result<u32, CloudError> {
        let call = Call::GetEventInvokeConfig {
            function: function.into(),
            alias: alias.into(),
        };
        let decision = self.lambda_decision(&call).await;
        self.apply(decision, self.inner.event_retries(function, alias))
            .await
    }

    async fn update_code(&self, function: &str, zip: &[u8]) -> Result<String, CloudError> {
        let call = Call::UpdateFunctionCode {
            function: function.into(),
        };
        let decision = self.lambda_decision(&call).await;
        self.apply(decision, self.inner.update_code(function, zip))
            .await
    }

    async fn invoke(
        &self,
        function: &str,
        qualifier: &str,
        payload: &str,
    ) -> Result<Invocation, CloudError> {
        let call = Call::Invoke {
            function: function.into(),
            qualifier: qualifier.into(),
        };
        let decision = self.lambda_decision(&call).await;
        self.apply(decision, self.inner.invoke(function, qualifier, payload))
            .await
    }

    async fn list_functions(&self, marker: Option<&str>) -> Result<FunctionPage, CloudError> {
        let call = Call::ListFunctions {
            marker: marker.map(str::to_string),
        };
        let decision = self.lambda_decision(&call).await;
        self.apply(decision, self.inner.list_functions(marker))
            .await
    }

    async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>, CloudError> {
        let call = Call::ListTags { arn: arn.into() };
        let decision = self.lambda_decision(&call).await;
        self.apply(decision, self.inner.tags(arn)).await
    }
}

impl<T: MetricsApi + Clock, D: Fn(usize, &Call) -> Decision> MetricsApi for Faulty<'_, T, D> {
    async fn get_metric_data(
        &self,
        request: &MetricDataRequest,
    ) -> Result<MetricDataPage, CloudError> {
        let call = Call::GetMetricData {
            queries: request.queries.clone(),
            next_token: request.next_token.clone(),
        };
        let decision = self.decision(&call);
        self.apply(decision, self.inner.get_metric_data(request))
            .await
    }

    async fn describe_alarms(
        &self,
        names: &[String],
        kinds: &[AlarmKind],
    ) -> Result<Vec<(String, AlarmState)>, CloudError> {
        let call = Call::DescribeAlarms {
            names: names.to_vec(),
            kinds: kinds.to_vec(),
        };
        let decision = self.decision(&call);
        self.apply(decision, self.inner.describe_alarms(names, kinds))
            .await
    }
}

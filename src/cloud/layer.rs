//! Every cloud call forwarded once, through a [`Layer`], the way a tower layer wraps a service:
//! [`Layered`] turns each call of [`LambdaApi`], [`MetricsApi`] and [`ExecutionsApi`] into a
//! [`Call`] and hands it to its layer with the means to make it on the service below. Pacing
//! ([`super::limit`]), retrying ([`super::retry`]) and the tests' faults ([`super::faults`]) are
//! layers; they stack by nesting, `Retrying` over `Limited` over the service.

use std::collections::BTreeMap;
use std::future::Future;

use super::call::Call;
use super::executions::{Execution, ExecutionsApi, Happened, Machine};
use super::metrics::{MetricDataPage, MetricDataRequest};
use super::prune::{Page, Routes};
use super::{
    AlarmKind, AlarmState, Alias, AliasUpdate, CloudError, FunctionInfo, FunctionPage, Invocation,
    LambdaApi, Latest, MetricsApi, Provisioned,
};

/// What happens around each call.
// Used on one task, as the cloud traits: `async fn` without `Send` bounds.
#[allow(async_fn_in_trait)]
pub trait Layer {
    /// Makes `call` by calling `next` (the service below), as many times as the layer sees fit.
    async fn around<R, F>(&self, call: &Call, next: impl Fn() -> F) -> Result<R, CloudError>
    where
        F: Future<Output = Result<R, CloudError>>;

    /// Makes the alias write `call` of `update`: `write` writes the update it is given, and
    /// `read` reads the alias, as the call `reading`. Every layer says what it does around a
    /// write, with no default: a retrying layer must tell whether a write whose answer was lost
    /// went through (never writing over someone else's change), and a faulty one may have
    /// someone else write first.
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
        G: Future<Output = Result<Alias, CloudError>>;
}

/// `inner` with its calls made through `layer`.
pub struct Layered<'a, T, L> {
    pub(super) inner: &'a T,
    pub(super) layer: L,
}

impl<'a, T, L> Layered<'a, T, L> {
    /// `inner`, its calls made through `layer`.
    pub fn over(inner: &'a T, layer: L) -> Self {
        Layered { inner, layer }
    }
}

impl<T: LambdaApi, L: Layer> LambdaApi for Layered<'_, T, L> {
    async fn get_alias(&self, function: &str, alias: &str) -> Result<Alias, CloudError> {
        let call = Call::GetAlias {
            function: function.into(),
            alias: alias.into(),
        };
        self.layer
            .around(&call, || self.inner.get_alias(function, alias))
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
        let reading = Call::GetAlias {
            function: function.into(),
            alias: alias.into(),
        };
        let inner = self.inner;
        let write = move |update: AliasUpdate| async move {
            inner.update_alias(function, alias, &update).await
        };
        let read = || inner.get_alias(function, alias);
        self.layer
            .around_write(&call, update, write, &reading, read)
            .await
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
        self.layer
            .around(&call, || {
                self.inner.publish_version(function, latest, description)
            })
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
        self.layer
            .around(&call, || self.inner.get_function(function, qualifier))
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
        self.layer
            .around(&call, || self.inner.provisioned(function, alias))
            .await
    }

    async fn event_retries(&self, function: &str, alias: &str) -> Result<u32, CloudError> {
        let call = Call::GetEventInvokeConfig {
            function: function.into(),
            alias: alias.into(),
        };
        self.layer
            .around(&call, || self.inner.event_retries(function, alias))
            .await
    }

    async fn update_code(&self, function: &str, zip: &[u8]) -> Result<String, CloudError> {
        let call = Call::UpdateFunctionCode {
            function: function.into(),
        };
        self.layer
            .around(&call, || self.inner.update_code(function, zip))
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
        self.layer
            .around(&call, || self.inner.invoke(function, qualifier, payload))
            .await
    }

    async fn list_functions(&self, marker: Option<&str>) -> Result<FunctionPage, CloudError> {
        let call = Call::ListFunctions {
            marker: marker.map(str::to_string),
        };
        self.layer
            .around(&call, || self.inner.list_functions(marker))
            .await
    }

    async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>, CloudError> {
        let call = Call::ListTags { arn: arn.into() };
        self.layer.around(&call, || self.inner.tags(arn)).await
    }

    async fn list_versions(
        &self,
        function: &str,
        marker: Option<&str>,
    ) -> Result<Page<String>, CloudError> {
        let call = Call::ListVersions {
            function: function.into(),
            marker: marker.map(str::to_string),
        };
        self.layer
            .around(&call, || self.inner.list_versions(function, marker))
            .await
    }

    async fn list_aliases(
        &self,
        function: &str,
        marker: Option<&str>,
    ) -> Result<Page<Routes>, CloudError> {
        let call = Call::ListAliases {
            function: function.into(),
            marker: marker.map(str::to_string),
        };
        self.layer
            .around(&call, || self.inner.list_aliases(function, marker))
            .await
    }

    async fn list_provisioned(
        &self,
        function: &str,
        marker: Option<&str>,
    ) -> Result<Page<String>, CloudError> {
        let call = Call::ListProvisioned {
            function: function.into(),
            marker: marker.map(str::to_string),
        };
        self.layer
            .around(&call, || self.inner.list_provisioned(function, marker))
            .await
    }

    async fn list_mappings(
        &self,
        function: &str,
        marker: Option<&str>,
    ) -> Result<Page<String>, CloudError> {
        let call = Call::ListMappings {
            function: function.into(),
            marker: marker.map(str::to_string),
        };
        self.layer
            .around(&call, || self.inner.list_mappings(function, marker))
            .await
    }

    async fn delete_version(&self, function: &str, version: &str) -> Result<(), CloudError> {
        let call = Call::DeleteVersion {
            function: function.into(),
            version: version.into(),
        };
        self.layer
            .around(&call, || self.inner.delete_version(function, version))
            .await
    }
}

impl<T: MetricsApi, L: Layer> MetricsApi for Layered<'_, T, L> {
    async fn get_metric_data(
        &self,
        request: &MetricDataRequest,
    ) -> Result<MetricDataPage, CloudError> {
        let call = Call::GetMetricData {
            queries: request.queries.clone(),
            next_token: request.next_token.clone(),
        };
        self.layer
            .around(&call, || self.inner.get_metric_data(request))
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
        self.layer
            .around(&call, || self.inner.describe_alarms(names, kinds))
            .await
    }
}

impl<T: ExecutionsApi, L: Layer> ExecutionsApi for Layered<'_, T, L> {
    async fn parameter(&self, name: &str) -> Result<Option<String>, CloudError> {
        let call = Call::GetParameter { name: name.into() };
        self.layer
            .around(&call, || self.inner.parameter(name))
            .await
    }

    async fn release_gate(&self, token: &str, output: &str, name: &str) -> Result<(), CloudError> {
        let call = Call::ReleaseGate { name: name.into() };
        self.layer
            .around(&call, || self.inner.release_gate(token, output, name))
            .await
    }

    async fn execution(&self, arn: &str) -> Result<Execution, CloudError> {
        let call = Call::DescribeExecution { arn: arn.into() };
        self.layer.around(&call, || self.inner.execution(arn)).await
    }

    async fn stop_execution(&self, arn: &str, cause: &str) -> Result<(), CloudError> {
        let call = Call::StopExecution {
            arn: arn.into(),
            cause: cause.into(),
        };
        self.layer
            .around(&call, || self.inner.stop_execution(arn, cause))
            .await
    }

    async fn delete_alarms_named(&self, prefix: &str) -> Result<usize, CloudError> {
        let call = Call::DeleteAlarms {
            prefix: prefix.into(),
        };
        self.layer
            .around(&call, || self.inner.delete_alarms_named(prefix))
            .await
    }

    async fn put_state_machine(
        &self,
        name: &str,
        definition: &str,
        role: &str,
    ) -> Result<Machine, CloudError> {
        let call = Call::PutStateMachine { name: name.into() };
        self.layer
            .around(&call, || {
                self.inner.put_state_machine(name, definition, role)
            })
            .await
    }

    async fn start_execution(&self, machine: &str, name: &str) -> Result<String, CloudError> {
        let call = Call::StartExecution {
            machine: machine.into(),
            name: name.into(),
        };
        self.layer
            .around(&call, || self.inner.start_execution(machine, name))
            .await
    }

    async fn history(&self, arn: &str, after: i64) -> Result<Vec<Happened>, CloudError> {
        let call = Call::GetExecutionHistory {
            arn: arn.into(),
            after,
        };
        self.layer
            .around(&call, || self.inner.history(arn, after))
            .await
    }
}

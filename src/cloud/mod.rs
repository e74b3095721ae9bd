//! The cloud as the engine sees it: Lambda, CloudWatch (and its Logs) and a clock, behind traits
//! with domain types and domain errors only. [`sim`] implements them in memory, [`aws`] with the AWS SDK.
//! No SDK type crosses these traits.

pub mod aws;
pub mod calendar;
pub mod call;
pub mod clock;
pub mod executions;
#[cfg(test)]
pub mod faults;
pub mod layer;
pub mod lease;
pub mod limit;
pub mod logs;
pub mod metrics;
pub mod prune;
pub mod retry;
pub mod select;
pub mod sim;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Serialize, Serializer};

use crate::plan::metrics as metrics_names;
use crate::plan::{CustomMetric, Millis, Statistic};
pub use clock::Clock;
use metrics::{MetricDataPage, MetricDataRequest};
use prune::{Page, Routes};

/// A failed call, as the engine needs to tell failures apart: what is retried, what means
/// someone else acted, and what only a person can fix (said in the message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudError {
    /// The function, alias, version or alarm does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// `PreconditionFailedException` (412): the RevisionId passed is no longer current, so
    /// someone changed the resource since it was read. Never retried as it is.
    #[error("changed since it was read: {0}")]
    Stale(String),
    /// `ResourceConflictException` (409) and its kin: an update is in progress. Retried.
    #[error("busy: {0}")]
    Busy(String),
    /// Too many requests (429). Retried, no sooner than the service asks.
    #[error("throttled: {message}")]
    Throttled {
        /// The service's message.
        message: String,
        /// How long the service asked to wait, when it said.
        retry_after: Option<Millis>,
    },
    /// The service rejected the request as invalid.
    #[error("invalid request: {0}")]
    InvalidParameter(String),
    /// The identity may not make this call. Never retried.
    #[error("access denied: {0}; grant the identity the permissions README.md lists")]
    Denied(String),
    /// Credentials missing, expired or not valid. Never retried.
    #[error("credentials: {0}; refresh them (for example `aws sso login` or a new session) and run again")]
    Credentials(String),
    /// The client is not set up to make the call (no region, a bad endpoint): the message
    /// says what to set. Never retried.
    #[error("{0}")]
    Setup(String),
    /// A 5xx, a time-out or a broken connection: the call may or may not have taken effect.
    /// Retried.
    #[error("{0}")]
    Transient(String),
    /// Anything else. Not retried.
    #[error("{0}")]
    Other(String),
}

/// As its message, which events and the journal print.
impl Serialize for CloudError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl CloudError {
    /// Whether only a change of set-up can fix it: permissions, credentials, region, endpoint.
    pub fn is_setup(&self) -> bool {
        matches!(
            self,
            CloudError::Denied(_) | CloudError::Credentials(_) | CloudError::Setup(_)
        )
    }

    /// Whether trying the same call again later may succeed.
    pub fn retried(&self) -> bool {
        matches!(
            self,
            CloudError::Busy(_) | CloudError::Throttled { .. } | CloudError::Transient(_)
        )
    }
}

/// How long one attempt at a call may go unanswered before it counts as failed (transient: it
/// may have taken effect) and is retried. Uploading code and invoking take longer.
pub const ATTEMPT_TIMEOUT: Millis = Millis(20_000);

/// How long an `UpdateFunctionCode` upload or an `Invoke` may take.
pub const LONG_ATTEMPT_TIMEOUT: Millis = Millis(300_000);

/// How long connecting may take.
pub const CONNECT_TIMEOUT: Millis = Millis(5_000);

/// What an alias serves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alias {
    /// The primary version.
    pub version: String,
    /// Additional versions and their weights in [0, 1); at most one.
    pub routing: BTreeMap<String, f64>,
    /// Changes on every write; writes must name the one they read.
    pub revision_id: String,
    /// The alias's description.
    pub description: String,
}

impl Alias {
    /// The additional version and its weight, when the alias is split.
    pub fn additional(&self) -> Option<(&str, f64)> {
        self.routing.iter().next().map(|(v, w)| (v.as_str(), *w))
    }
}

impl fmt::Display for Alias {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.additional() {
            Some((v, w)) => write!(
                f,
                "version {} ({:.2}%) + version {v} ({:.2}%)",
                self.version,
                (1.0 - w) * 100.0,
                w * 100.0
            ),
            None => write!(f, "version {} (100%)", self.version),
        }
    }
}

/// A write to an alias.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasUpdate {
    /// The primary version.
    pub version: String,
    /// Additional versions and weights; empty to route everything to `version`.
    pub routing: BTreeMap<String, f64>,
    /// The RevisionId last read: the write fails with [`CloudError::Stale`] if it changed.
    pub revision_id: String,
    /// A new description (the lease marker lives there); `None` leaves it.
    pub description: Option<String>,
}

impl AliasUpdate {
    /// Whether `alias` holds exactly what this write writes.
    pub fn written_in(&self, alias: &Alias) -> bool {
        alias.version == self.version
            && alias.routing == self.routing
            && self
                .description
                .as_ref()
                .is_none_or(|d| *d == alias.description)
    }
}

/// `State` of a function (or version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FunctionState {
    /// Being created or its resources being prepared.
    Pending,
    /// Ready.
    Active,
    /// Idle for long; the next invocation reactivates it.
    Inactive,
    /// Creation failed.
    Failed,
}

/// `LastUpdateStatus` of a function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum UpdateStatus {
    /// An update is being applied.
    InProgress,
    /// The last update was applied.
    Successful,
    /// The last update failed, with the service's reason.
    Failed(String),
}

/// What `GetFunction` says of a function or version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionInfo {
    /// The version asked for (`$LATEST` when none).
    pub version: String,
    /// Its state.
    pub state: FunctionState,
    /// Its last update.
    pub last_update: UpdateStatus,
    /// The execution role (weighted routing needs the same on both versions).
    pub role: String,
    /// The longest an invocation may run: its metrics may arrive this late.
    pub timeout: Millis,
    /// The code's SHA-256.
    pub code_sha256: String,
    /// Changes with every change of code or configuration (several times during an update).
    pub revision_id: String,
    /// Where failed asynchronous events go (weighted routing needs the same on both versions).
    pub dead_letter: Option<String>,
}

/// The `$LATEST` a publish must find: `PublishVersion` is refused if its code or configuration
/// changed since it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Latest {
    /// `CodeSha256`.
    pub code_sha256: String,
    /// `RevisionId`.
    pub revision_id: String,
}

impl Latest {
    /// What `info` of `$LATEST` says.
    pub fn of(info: &FunctionInfo) -> Self {
        Latest {
            code_sha256: info.code_sha256.clone(),
            revision_id: info.revision_id.clone(),
        }
    }
}

/// Provisioned concurrency on an alias. With weighted routing, Lambda splits it between the two
/// versions by their weights, and allocates anew after every change of weights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provisioned {
    /// Environments asked for.
    pub requested: u32,
    /// Environments allocated so far.
    pub allocated: u32,
    /// Where the allocation is.
    pub status: Allocation,
}

/// `Status` of a provisioned concurrency configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Allocation {
    /// Being allocated.
    InProgress,
    /// Allocated.
    Ready,
    /// The allocation failed, with the service's reason.
    Failed(String),
}

/// The answer of an invocation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Invocation {
    /// HTTP-like status of the call.
    pub status: u16,
    /// The response payload.
    pub body: String,
    /// The version that ran.
    pub version: String,
    /// The function error, when it failed.
    pub error: Option<String>,
}

/// One function as `ListFunctions` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listed {
    /// `FunctionName`.
    pub name: String,
    /// `FunctionArn`: what `ListTags` takes.
    pub arn: String,
}

/// A page of `ListFunctions`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FunctionPage {
    /// The functions on this page.
    pub functions: Vec<Listed>,
    /// The marker of the next page; `None` on the last.
    pub next: Option<String>,
}

/// Lambda control-plane and data-plane calls the engine makes.
// The engine runs on one task and is generic over this trait, so `async fn` without `Send`
// bounds is what we want.
#[allow(async_fn_in_trait)]
pub trait LambdaApi {
    /// `GetAlias`.
    async fn get_alias(&self, function: &str, alias: &str) -> Result<Alias, CloudError>;
    /// `UpdateAlias` with the RevisionId last read.
    async fn update_alias(
        &self,
        function: &str,
        alias: &str,
        update: &AliasUpdate,
    ) -> Result<Alias, CloudError>;
    /// `PublishVersion` of the `$LATEST` that was read, passing its `CodeSha256` and
    /// `RevisionId`; returns the version number (the last one again when nothing changed).
    async fn publish_version(
        &self,
        function: &str,
        latest: &Latest,
        description: Option<&str>,
    ) -> Result<String, CloudError>;
    /// `GetFunction` of `$LATEST` (no qualifier) or of a version.
    async fn get_function(
        &self,
        function: &str,
        qualifier: Option<&str>,
    ) -> Result<FunctionInfo, CloudError>;
    /// `GetProvisionedConcurrencyConfig` of an alias; `None` without any.
    async fn provisioned(
        &self,
        function: &str,
        alias: &str,
    ) -> Result<Option<Provisioned>, CloudError>;
    /// `GetFunctionEventInvokeConfig` of an alias: how many times Lambda retries a failed
    /// asynchronous event (`MaximumRetryAttempts`; 2, Lambda's default, without a config).
    async fn event_retries(&self, function: &str, alias: &str) -> Result<u32, CloudError>;
    /// `UpdateFunctionCode` of `$LATEST` from zip bytes; returns the new `CodeSha256`.
    async fn update_code(&self, function: &str, zip: &[u8]) -> Result<String, CloudError>;
    /// `Invoke` the alias or a version.
    async fn invoke(
        &self,
        function: &str,
        qualifier: &str,
        payload: &str,
    ) -> Result<Invocation, CloudError>;
    /// `ListFunctions`: the page after `marker` (the first without one).
    async fn list_functions(&self, marker: Option<&str>) -> Result<FunctionPage, CloudError>;
    /// `ListTags` of a function, by its ARN.
    async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>, CloudError>;
    /// `ListVersionsByFunction`: the page after `marker` of the function's versions, as
    /// listed (`$LATEST` among them).
    async fn list_versions(
        &self,
        function: &str,
        marker: Option<&str>,
    ) -> Result<Page<String>, CloudError>;
    /// `ListAliases`: the page after `marker` of the function's aliases and where they route.
    async fn list_aliases(
        &self,
        function: &str,
        marker: Option<&str>,
    ) -> Result<Page<Routes>, CloudError>;
    /// `ListProvisionedConcurrencyConfigs`: the page after `marker` of the ARNs of the versions
    /// and aliases that have provisioned concurrency.
    async fn list_provisioned(
        &self,
        function: &str,
        marker: Option<&str>,
    ) -> Result<Page<String>, CloudError>;
    /// `ListEventSourceMappings` with `FunctionName`: the page after `marker` of the function
    /// ARNs the function's mappings invoke (qualified when they invoke a version or alias).
    async fn list_mappings(
        &self,
        function: &str,
        marker: Option<&str>,
    ) -> Result<Page<String>, CloudError>;
    /// `DeleteFunction` with `Qualifier`: deletes one published version.
    async fn delete_version(&self, function: &str, version: &str) -> Result<(), CloudError>;
}

/// The statistics the health judge asks CloudWatch for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stat {
    /// `Invocations` Sum.
    Invocations,
    /// `Errors` Sum.
    Errors,
    /// `Throttles` Sum.
    Throttles,
    /// `Duration` percentile, such as 99.0.
    DurationPercentile(f64),
    /// `Duration` Average.
    DurationAvg,
    /// `Duration` Maximum.
    DurationMax,
    /// `ConcurrentExecutions` Maximum.
    ConcurrencyMax,
    /// `Duration` percentile rank `PR(:D)`: the percentage of invocations that took at most D.
    PercentileRank(Millis),
    /// Lambda Insights' `init_duration` SampleCount: cold starts.
    ColdStarts,
    /// Lambda Insights' `init_duration` with this statistic.
    InitDuration(Statistic),
    /// The metric of the health spec's `metric` header at this place, with its own statistic
    /// (the query carries the header).
    Custom(u8),
}

impl Stat {
    /// Whether its periods add up: a count.
    pub fn counts(self) -> bool {
        matches!(
            self,
            Stat::Invocations | Stat::Errors | Stat::Throttles | Stat::ColdStarts
        )
    }
}

/// Where a statistic lives in CloudWatch: what one `GetMetricData` query names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// `Namespace`.
    pub namespace: String,
    /// `MetricName`.
    pub metric: String,
    /// `Stat`: `Sum`, `p99`, `PR(:800)`.
    pub statistic: String,
    /// `Dimensions`, in order.
    pub dimensions: Vec<(String, String)>,
}

/// One statistic of one version of an alias over one range of time, as a single period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricQuery {
    /// `FunctionName`.
    pub function: String,
    /// `Resource` is `function:alias`.
    pub alias: String,
    /// `ExecutedVersion`.
    pub version: String,
    /// Which statistic.
    pub stat: Stat,
    /// Where the range starts, epoch milliseconds (inclusive).
    pub start: Millis,
    /// Where it ends, epoch milliseconds (exclusive).
    pub end: Millis,
    /// The `metric` header of a [`Stat::Custom`].
    #[serde(skip)]
    pub custom: Option<std::sync::Arc<CustomMetric>>,
}

impl MetricQuery {
    /// A query of a Lambda or Lambda Insights statistic (not a [`Stat::Custom`]).
    pub fn lambda(
        function: &str,
        alias: &str,
        version: &str,
        stat: Stat,
        range: (Millis, Millis),
    ) -> Self {
        MetricQuery {
            function: function.to_string(),
            alias: alias.to_string(),
            version: version.to_string(),
            stat,
            start: range.0,
            end: range.1,
            custom: None,
        }
    }

    /// Where its statistic lives: Lambda's per-version metrics are `AWS/Lambda` by
    /// `FunctionName`, `Resource` (the alias) and `ExecutedVersion`; Lambda Insights' are
    /// `LambdaInsights` by `function_name` and `version`; a `metric` header's are its own.
    pub fn source(&self) -> Source {
        let lambda = |metric: &str, statistic: String| Source {
            namespace: "AWS/Lambda".into(),
            metric: metric.into(),
            statistic,
            dimensions: vec![
                ("FunctionName".into(), self.function.clone()),
                (
                    "Resource".into(),
                    format!("{}:{}", self.function, self.alias),
                ),
                ("ExecutedVersion".into(), self.version.clone()),
            ],
        };
        let insights = |statistic: Statistic| Source {
            namespace: metrics_names::INSIGHTS_NAMESPACE.into(),
            metric: metrics_names::INIT_DURATION.into(),
            statistic: statistic.cloudwatch(),
            dimensions: vec![
                ("function_name".into(), self.function.clone()),
                ("version".into(), self.version.clone()),
            ],
        };
        match self.stat {
            Stat::Invocations => lambda("Invocations", "Sum".into()),
            Stat::Errors => lambda("Errors", "Sum".into()),
            Stat::Throttles => lambda("Throttles", "Sum".into()),
            Stat::DurationPercentile(p) => lambda("Duration", format!("p{p}")),
            Stat::DurationAvg => lambda("Duration", "Average".into()),
            Stat::DurationMax => lambda("Duration", "Maximum".into()),
            Stat::ConcurrencyMax => lambda("ConcurrentExecutions", "Maximum".into()),
            Stat::PercentileRank(limit) => lambda("Duration", format!("PR(:{})", limit.0)),
            Stat::ColdStarts => insights(Statistic::SampleCount),
            Stat::InitDuration(statistic) => insights(statistic),
            Stat::Custom(_) => match &self.custom {
                Some(custom) => Source {
                    namespace: custom.namespace.clone(),
                    metric: custom.metric.clone(),
                    statistic: custom.statistic.cloudwatch(),
                    dimensions: custom.dimensions_of(&self.version),
                },
                None => unreachable!("a custom statistic's query carries its metric"),
            },
        }
    }
}

/// The state of a CloudWatch alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AlarmState {
    /// Within its threshold.
    Ok,
    /// Breaching.
    Alarm,
    /// Not enough data to say.
    InsufficientData,
}

/// The two kinds of CloudWatch alarm. `DescribeAlarms` answers only for the kinds it is asked
/// about, and for metric alarms alone when not told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AlarmKind {
    /// On a metric or a metric math expression.
    Metric,
    /// A rule over other alarms.
    Composite,
}

/// The most alarm names one `DescribeAlarms` call takes.
pub const ALARMS_PER_CALL: usize = 100;

/// CloudWatch reads the health judge makes.
#[allow(async_fn_in_trait)]
pub trait MetricsApi {
    /// One `GetMetricData` call: a page of the answer to at most
    /// [`metrics::QUERIES_PER_CALL`] queries over one time range.
    async fn get_metric_data(
        &self,
        request: &MetricDataRequest,
    ) -> Result<MetricDataPage, CloudError>;

    /// Each query's value, or `None` when there is no data for it, in as few calls as the API
    /// allows, every page read.
    async fn stats(&self, queries: &[MetricQuery]) -> Result<Vec<Option<f64>>, CloudError> {
        metrics::stats(self, queries).await
    }

    /// Each query's datapoints, one per `period` of its range that has data, in time order, in
    /// as few calls as the API allows, every page read.
    async fn series(
        &self,
        queries: &[MetricQuery],
        period: Millis,
    ) -> Result<Vec<Vec<(Millis, f64)>>, CloudError> {
        metrics::series(self, queries, period).await
    }

    /// `DescribeAlarms` of at most [`ALARMS_PER_CALL`] names, of these kinds: the state of each
    /// alarm found; alarms not found are left out.
    async fn describe_alarms(
        &self,
        names: &[String],
        kinds: &[AlarmKind],
    ) -> Result<Vec<(String, AlarmState)>, CloudError>;

    /// The state of each alarm named, metric or composite, in as few calls as the API allows;
    /// an alarm missing from the answer does not exist.
    async fn alarm_states(
        &self,
        names: &[String],
    ) -> Result<BTreeMap<String, AlarmState>, CloudError> {
        let mut states = BTreeMap::new();
        for chunk in names.chunks(ALARMS_PER_CALL) {
            let found = self
                .describe_alarms(chunk, &[AlarmKind::Metric, AlarmKind::Composite])
                .await?;
            states.extend(found);
        }
        Ok(states)
    }
}

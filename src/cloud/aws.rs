//! The real services, through the AWS SDK. SDK types stop here: every call returns domain types
//! and [`CloudError`]s.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_cloudwatch::types::{
    AlarmType, Dimension, Metric, MetricDataQuery, MetricStat, StateValue, StatusCode,
};
use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    AliasRoutingConfiguration, LastUpdateStatus, ProvisionedConcurrencyStatusEnum, State,
};
use tokio::sync::Notify;

use super::metrics::{MetricDataPage, MetricDataRequest, MetricDataResult, ResultStatus};
use super::{
    AlarmKind, AlarmState, Alias, AliasUpdate, Allocation, Clock, CloudError, FunctionInfo,
    FunctionPage, FunctionState, Invocation, LambdaApi, Latest, Listed, MetricsApi, Provisioned,
    Stat, UpdateStatus, ATTEMPT_TIMEOUT, CONNECT_TIMEOUT, LONG_ATTEMPT_TIMEOUT,
};
use crate::plan::Millis;

/// Where and how to reach AWS.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// A named profile of the shared configuration files.
    pub profile: Option<String>,
    /// The region; else the configuration chain's.
    pub region: Option<String>,
    /// Another endpoint (a moto server, a VPC endpoint); `AWS_ENDPOINT_URL` works too.
    pub endpoint_url: Option<String>,
}

/// Lambda and CloudWatch clients with a call counter. Their pace is [`super::limit::Limited`]'s to
/// set.
#[derive(Debug, Clone)]
pub struct Aws {
    lambda: aws_sdk_lambda::Client,
    pub(super) cloudwatch: aws_sdk_cloudwatch::Client,
    pub(super) sfn: aws_sdk_sfn::Client,
    pub(super) ssm: aws_sdk_ssm::Client,
    credentials: Option<SharedCredentialsProvider>,
    calls: Arc<AtomicU64>,
}

/// Whether `region` looks like a region's name (`eu-west-1`, `us-gov-east-1`, `cn-north-1`).
fn region_name(region: &str) -> Result<(), CloudError> {
    let parts: Vec<&str> = region.split('-').collect();
    let shaped = parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    if shaped {
        Ok(())
    } else {
        Err(CloudError::Setup(format!(
            "{region:?} is not a region's name (such as eu-west-1): check --region, AWS_REGION or the profile"
        )))
    }
}

/// The region prefixes of AWS's partitions (aws, aws-cn, aws-us-gov and the isolated ones).
const PARTITIONS: &[&str] = &[
    "us-", "eu-", "ap-", "sa-", "ca-", "me-", "af-", "il-", "mx-", "cn-", "us-gov-", "us-iso-",
    "us-isob-", "us-isof-", "eu-isoe-", "eusc-",
];

/// The partition of `region`, as ARNs name it: `aws-cn` for China, `aws-us-gov` for GovCloud,
/// the isolated partitions by their prefixes, and `aws` for every other region.
pub fn partition(region: &str) -> &'static str {
    const NAMED: &[(&str, &str)] = &[
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-isof-", "aws-iso-f"),
        ("us-iso-", "aws-iso"),
        ("eu-isoe-", "aws-iso-e"),
        ("eusc-", "aws-eusc"),
    ];
    NAMED
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or("aws", |(_, partition)| partition)
}

/// Whether `region` lies in one of AWS's partitions: one that does not has no endpoints, and
/// its calls would fail on a host name that does not resolve, as if the network were down.
fn known_partition(region: &str) -> Result<(), CloudError> {
    if PARTITIONS.iter().any(|p| region.starts_with(p)) {
        return Ok(());
    }
    Err(CloudError::Setup(format!(
        "{region:?} is in none of AWS's partitions (regions begin us-, eu-, ap-, sa-, ca-, me-, af-, il-, mx-, cn-, …), so it has no endpoints: check --region, AWS_REGION or the profile"
    )))
}

/// Whether `url` can be an endpoint: `http://` or `https://` and a host.
fn endpoint_url(url: &str) -> Result<(), CloudError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') && !rest.contains(char::is_whitespace) => Ok(()),
        _ => Err(CloudError::Setup(format!(
            "{url:?} is not an endpoint URL (such as http://127.0.0.1:5000): check --endpoint-url or AWS_ENDPOINT_URL"
        ))),
    }
}

/// Connecting may take [`CONNECT_TIMEOUT`]; each attempt `attempt`.
fn timeouts(attempt: Millis) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT.as_std())
        .operation_attempt_timeout(attempt.as_std())
        .build()
}

/// The Lambda client's configuration for calls that take longer: uploads and invocations.
fn long_calls() -> aws_sdk_lambda::config::Builder {
    aws_sdk_lambda::config::Builder::default().timeout_config(timeouts(LONG_ATTEMPT_TIMEOUT))
}

/// A [`FunctionInfo`] from a function configuration, as `GetFunctionConfiguration` and
/// `ListVersionsByFunction` answer it (two types with the same accessors).
macro_rules! function_info {
    ($c:expr) => {
        FunctionInfo {
            version: $c.version().unwrap_or("$LATEST").to_string(),
            state: state($c.state()),
            last_update: update_status($c.last_update_status(), $c.last_update_status_reason()),
            role: $c.role().unwrap_or_default().to_string(),
            timeout: timeout($c.timeout()),
            code_sha256: $c.code_sha256().unwrap_or_default().to_string(),
            revision_id: $c.revision_id().unwrap_or_default().to_string(),
            dead_letter: $c
                .dead_letter_config()
                .and_then(|d| d.target_arn())
                .map(str::to_string),
        }
    };
}

impl Aws {
    /// Clients from the standard configuration chain and `options`. The SDK's own retries are
    /// off: [`super::retry::Retrying`] is the one retry layer, and sees every attempt.
    /// Fails, saying what to set, when the region or the endpoint cannot work.
    pub async fn connect(options: &AwsOptions) -> Result<Aws, CloudError> {
        if let Some(url) = &options.endpoint_url {
            endpoint_url(url)?;
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::disabled())
            .timeout_config(timeouts(ATTEMPT_TIMEOUT));
        if let Some(profile) = &options.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &options.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &options.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let config = loader.load().await;
        match config.region() {
            None => {
                return Err(CloudError::Setup(
                    "no region: pass --region, set AWS_REGION, or give the profile a `region`"
                        .into(),
                ))
            }
            Some(region) => region_name(region.as_ref())?,
        }
        let mut endpoint = options.endpoint_url.is_some();
        if options.endpoint_url.is_none() {
            if let Ok(url) = std::env::var("AWS_ENDPOINT_URL") {
                endpoint_url(&url)?;
                endpoint = true;
            }
        }
        // An endpoint of one's own (a test server) takes any region's name.
        if let (false, Some(region)) = (endpoint, config.region()) {
            known_partition(region.as_ref())?;
        }
        Ok(Aws {
            lambda: aws_sdk_lambda::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
            sfn: aws_sdk_sfn::Client::new(&config),
            ssm: aws_sdk_ssm::Client::new(&config),
            credentials: config.credentials_provider(),
            calls: Arc::new(AtomicU64::new(0)),
        })
    }

    /// When the credentials in use expire: `None` for long-term keys. Resolving them here finds
    /// missing or broken credentials before any call.
    pub async fn credentials_expiry(&self) -> Result<Option<SystemTime>, CloudError> {
        let Some(provider) = &self.credentials else {
            return Err(CloudError::Credentials(
                "no credentials provider is configured".into(),
            ));
        };
        let credentials = provider.provide_credentials().await.map_err(|e| {
            CloudError::Credentials(match e {
                CredentialsError::CredentialsNotLoaded(_) => "none found: not in the environment, a profile, a web identity, a container or the instance".to_string(),
                other => causes(&other),
            })
        })?;
        Ok(credentials.expiry())
    }

    /// Calls made so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    pub(super) async fn call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// The versions of a function, oldest first.
    pub async fn versions(&self, function: &str) -> Result<Vec<FunctionInfo>, CloudError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            self.call().await;
            let page = self
                .lambda
                .list_versions_by_function()
                .function_name(function)
                .set_marker(marker.clone())
                .send()
                .await
                .map_err(domain)?;
            out.extend(page.versions().iter().map(|v| function_info!(v)));
            marker = page.next_marker().map(str::to_string);
            if marker.is_none() {
                return Ok(out);
            }
        }
    }
}

/// An SDK error as the engine needs it, keeping the service's message and saying what to do
/// where only a person can fix it.
pub(super) fn domain<E>(error: SdkError<E, HttpResponse>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let context = causes(&error);
    match &error {
        SdkError::ServiceError(_) => {}
        SdkError::TimeoutError(_) => {
            return CloudError::Transient(format!("no answer in time ({context})"))
        }
        SdkError::ResponseError(_) => return CloudError::Transient(context),
        _ if caused_by::<CredentialsError>(&error) => return CloudError::Credentials(context),
        _ if context.to_lowercase().contains("region") => {
            return CloudError::Setup(format!(
                "{context}; set the region with --region, AWS_REGION or the profile's `region`"
            ))
        }
        SdkError::DispatchFailure(_) => return CloudError::Transient(context),
        _ => return CloudError::Setup(context),
    }
    let response = error.raw_response();
    let status = response.map(|r| r.status().as_u16());
    let code = match (error.code(), status) {
        (Some(code), _) => code.to_string(),
        // An endpoint that does not know the operation at all.
        (None, Some(404)) => "ResourceNotFoundException".to_string(),
        (None, _) => String::new(),
    };
    let message = error.message().map_or(context, str::to_string);
    let text = if code.is_empty() {
        message
    } else {
        format!("{code}: {message}")
    };
    match code.as_str() {
        "ResourceNotFoundException"
        | "ResourceNotFound"
        | "ProvisionedConcurrencyConfigNotFoundException"
        // SSM's and Step Functions' own words for it.
        | "ParameterNotFound"
        | "ExecutionDoesNotExist"
        | "StateMachineDoesNotExist" => CloudError::NotFound(text),
        "PreconditionFailedException" => CloudError::Stale(text),
        "ResourceConflictException" | "ResourceInUseException" | "ResourceNotReadyException" => {
            CloudError::Busy(text)
        }
        "TooManyRequestsException"
        | "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded" => CloudError::Throttled {
            message: text,
            retry_after: response
                .and_then(|r| r.headers().get("retry-after"))
                .and_then(|s| s.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(|s| Millis((s * 1000.0) as u64)),
        },
        "InvalidParameterValueException"
        | "InvalidParameterValue"
        | "InvalidParameterCombination"
        | "ValidationError"
        | "ValidationException"
        | "InvalidRequestContentException" => CloudError::InvalidParameter(text),
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => {
            CloudError::Denied(text)
        }
        "ExpiredToken"
        | "ExpiredTokenException"
        | "InvalidClientTokenId"
        | "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "SignatureDoesNotMatch"
        | "IncompleteSignature"
        | "MissingAuthenticationToken" => CloudError::Credentials(text),
        _ if status.is_some_and(|s| s >= 500) => CloudError::Transient(text),
        _ => CloudError::Other(text),
    }
}

/// An error and its causes, each in its own words.
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(e) = next {
        text.push_str(": ");
        text.push_str(&e.to_string());
        next = e.source();
    }
    text
}

/// Whether an error of type `T` is somewhere in `error`'s chain of causes.
fn caused_by<T: std::error::Error + 'static>(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if e.is::<T>() {
            return true;
        }
        next = e.source();
    }
    false
}

fn alias_of(
    version: Option<&str>,
    routing: Option<&AliasRoutingConfiguration>,
    revision: Option<&str>,
    description: Option<&str>,
) -> Alias {
    Alias {
        version: version.unwrap_or_default().to_string(),
        routing: routing
            .and_then(|r| r.additional_version_weights())
            .map(|w| w.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default(),
        revision_id: revision.unwrap_or_default().to_string(),
        description: description.unwrap_or_default().to_string(),
    }
}

/// A function's timeout; Lambda's default of 3 seconds when none is given.
fn timeout(seconds: Option<i32>) -> Millis {
    Millis(u64::try_from(seconds.unwrap_or(3)).unwrap_or(3) * 1000)
}

fn state(state: Option<&State>) -> FunctionState {
    match state {
        Some(State::Pending) => FunctionState::Pending,
        Some(State::Inactive) => FunctionState::Inactive,
        Some(State::Failed) => FunctionState::Failed,
        _ => FunctionState::Active,
    }
}

fn update_status(status: Option<&LastUpdateStatus>, reason: Option<&str>) -> UpdateStatus {
    match status {
        Some(LastUpdateStatus::InProgress) => UpdateStatus::InProgress,
        Some(LastUpdateStatus::Failed) => {
            UpdateStatus::Failed(reason.unwrap_or("no reason given").to_string())
        }
        _ => UpdateStatus::Successful,
    }
}

impl LambdaApi for Aws {
    async fn get_alias(&self, function: &str, alias: &str) -> Result<Alias, CloudError> {
        self.call().await;
        let out = self
            .lambda
            .get_alias()
            .function_name(function)
            .name(alias)
            .send()
            .await
            .map_err(domain)?;
        Ok(alias_of(
            out.function_version(),
            out.routing_config(),
            out.revision_id(),
            out.description(),
        ))
    }

    async fn update_alias(
        &self,
        function: &str,
        alias: &str,
        update: &AliasUpdate,
    ) -> Result<Alias, CloudError> {
        self.call().await;
        let weights: HashMap<String, f64> = update
            .routing
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        let out = self
            .lambda
            .update_alias()
            .function_name(function)
            .name(alias)
            .function_version(&update.version)
            .routing_config(
                AliasRoutingConfiguration::builder()
                    .set_additional_version_weights(Some(weights))
                    .build(),
            )
            .revision_id(&update.revision_id)
            .set_description(update.description.clone())
            .send()
            .await
            .map_err(domain)?;
        Ok(alias_of(
            out.function_version(),
            out.routing_config(),
            out.revision_id(),
            out.description(),
        ))
    }

    async fn publish_version(
        &self,
        function: &str,
        latest: &Latest,
        description: Option<&str>,
    ) -> Result<String, CloudError> {
        self.call().await;
        let out = self
            .lambda
            .publish_version()
            .function_name(function)
            .code_sha256(&latest.code_sha256)
            .revision_id(&latest.revision_id)
            .set_description(description.map(str::to_string))
            .send()
            .await
            .map_err(domain)?;
        Ok(out.version().unwrap_or_default().to_string())
    }

    async fn get_function(
        &self,
        function: &str,
        qualifier: Option<&str>,
    ) -> Result<FunctionInfo, CloudError> {
        self.call().await;
        let out = self
            .lambda
            .get_function_configuration()
            .function_name(function)
            .set_qualifier(qualifier.map(str::to_string))
            .send()
            .await
            .map_err(domain)?;
        Ok(function_info!(out))
    }

    async fn event_retries(&self, function: &str, alias: &str) -> Result<u32, CloudError> {
        self.call().await;
        match self
            .lambda
            .get_function_event_invoke_config()
            .function_name(function)
            .qualifier(alias)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .maximum_retry_attempts()
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(DEFAULT_EVENT_RETRIES)),
            Err(e) => match domain(e) {
                CloudError::NotFound(_) => Ok(DEFAULT_EVENT_RETRIES),
                other => Err(other),
            },
        }
    }

    async fn provisioned(
        &self,
        function: &str,
        alias: &str,
    ) -> Result<Option<Provisioned>, CloudError> {
        self.call().await;
        let count = |n: Option<i32>| n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
        match self
            .lambda
            .get_provisioned_concurrency_config()
            .function_name(function)
            .qualifier(alias)
            .send()
            .await
        {
            Ok(out) => Ok(Some(Provisioned {
                requested: count(out.requested_provisioned_concurrent_executions()),
                allocated: count(out.allocated_provisioned_concurrent_executions()),
                status: match out.status() {
                    Some(ProvisionedConcurrencyStatusEnum::Ready) => Allocation::Ready,
                    Some(ProvisionedConcurrencyStatusEnum::Failed) => Allocation::Failed(
                        out.status_reason().unwrap_or("no reason given").to_string(),
                    ),
                    _ => Allocation::InProgress,
                },
            })),
            Err(e) => match domain(e) {
                CloudError::NotFound(_) => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn update_code(&self, function: &str, zip: &[u8]) -> Result<String, CloudError> {
        self.call().await;
        let out = self
            .lambda
            .update_function_code()
            .function_name(function)
            .zip_file(Blob::new(zip.to_vec()))
            .customize()
            .config_override(long_calls())
            .send()
            .await
            .map_err(domain)?;
        Ok(out.code_sha256().unwrap_or_default().to_string())
    }

    async fn invoke(
        &self,
        function: &str,
        qualifier: &str,
        payload: &str,
    ) -> Result<Invocation, CloudError> {
        self.call().await;
        let out = self
            .lambda
            .invoke()
            .function_name(function)
            .qualifier(qualifier)
            .payload(Blob::new(payload.as_bytes().to_vec()))
            .customize()
            .config_override(long_calls())
            .send()
            .await
            .map_err(domain)?;
        Ok(Invocation {
            status: u16::try_from(out.status_code()).unwrap_or(0),
            body: out
                .payload()
                .map(|b| String::from_utf8_lossy(b.as_ref()).into_owned())
                .unwrap_or_default(),
            version: out.executed_version().unwrap_or(qualifier).to_string(),
            error: out.function_error().map(str::to_string),
        })
    }

    async fn list_functions(&self, marker: Option<&str>) -> Result<FunctionPage, CloudError> {
        self.call().await;
        let out = self
            .lambda
            .list_functions()
            .set_marker(marker.map(str::to_string))
            .send()
            .await
            .map_err(domain)?;
        Ok(FunctionPage {
            functions: out
                .functions()
                .iter()
                .map(|f| Listed {
                    name: f.function_name().unwrap_or_default().to_string(),
                    arn: f.function_arn().unwrap_or_default().to_string(),
                })
                .collect(),
            next: out.next_marker().map(str::to_string),
        })
    }

    async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>, CloudError> {
        self.call().await;
        let out = self
            .lambda
            .list_tags()
            .resource(arn)
            .send()
            .await
            .map_err(domain)?;
        Ok(out
            .tags()
            .map(|tags| tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }
}

/// How often Lambda retries a failed asynchronous event when the function has no event invoke
/// config.
const DEFAULT_EVENT_RETRIES: u32 = 2;

/// CloudWatch's name and statistic for a [`Stat`].
fn metric_of(stat: Stat) -> (&'static str, String) {
    match stat {
        Stat::Invocations => ("Invocations", "Sum".into()),
        Stat::Errors => ("Errors", "Sum".into()),
        Stat::Throttles => ("Throttles", "Sum".into()),
        Stat::DurationPercentile(p) => ("Duration", format!("p{p}")),
        Stat::DurationAvg => ("Duration", "Average".into()),
        Stat::DurationMax => ("Duration", "Maximum".into()),
        Stat::ConcurrencyMax => ("ConcurrentExecutions", "Maximum".into()),
        Stat::PercentileRank(limit) => ("Duration", format!("PR(:{})", limit.0)),
    }
}

impl MetricsApi for Aws {
    async fn get_metric_data(
        &self,
        request: &MetricDataRequest,
    ) -> Result<MetricDataPage, CloudError> {
        let time = |at: Millis| aws_sdk_cloudwatch::primitives::DateTime::from_millis(at.0 as i64);
        let period = (request.period.0 / 1000).max(1);
        let dimension = |n: &str, v: &str| Dimension::builder().name(n).value(v).build();
        let mut call = self
            .cloudwatch
            .get_metric_data()
            .start_time(time(request.start))
            .end_time(time(request.end))
            .set_next_token(request.next_token.clone());
        for (i, q) in request.queries.iter().enumerate() {
            let (name, statistic) = metric_of(q.stat);
            let metric = Metric::builder()
                .namespace("AWS/Lambda")
                .metric_name(name)
                .dimensions(dimension("FunctionName", &q.function))
                .dimensions(dimension(
                    "Resource",
                    &format!("{}:{}", q.function, q.alias),
                ))
                .dimensions(dimension("ExecutedVersion", &q.version))
                .build();
            call = call.metric_data_queries(
                MetricDataQuery::builder()
                    .id(format!("m{i}"))
                    .metric_stat(
                        MetricStat::builder()
                            .metric(metric)
                            .period(i32::try_from(period).unwrap_or(i32::MAX))
                            .stat(statistic)
                            .build(),
                    )
                    .return_data(true)
                    .build(),
            );
        }
        self.call().await;
        let response = call.send().await.map_err(domain)?;
        let results = response
            .metric_data_results()
            .iter()
            .filter_map(|result| {
                let query = result.id()?.strip_prefix('m')?.parse::<usize>().ok()?;
                Some(MetricDataResult {
                    query,
                    values: result.values().to_vec(),
                    timestamps: result
                        .timestamps()
                        .iter()
                        .map(|t| {
                            Millis(
                                (t.secs() * 1000 + i64::from(t.subsec_nanos() / 1_000_000)).max(0)
                                    as u64,
                            )
                        })
                        .collect(),
                    status: match result.status_code() {
                        Some(StatusCode::PartialData) => ResultStatus::PartialData,
                        Some(StatusCode::InternalError) => ResultStatus::InternalError,
                        Some(StatusCode::Forbidden) => ResultStatus::Forbidden,
                        _ => ResultStatus::Complete,
                    },
                })
            })
            .collect();
        Ok(MetricDataPage {
            results,
            next_token: response.next_token().map(str::to_string),
        })
    }

    async fn describe_alarms(
        &self,
        names: &[String],
        kinds: &[AlarmKind],
    ) -> Result<Vec<(String, AlarmState)>, CloudError> {
        let state = |value: Option<&StateValue>| match value {
            Some(StateValue::Alarm) => AlarmState::Alarm,
            Some(StateValue::Ok) => AlarmState::Ok,
            _ => AlarmState::InsufficientData,
        };
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            self.call().await;
            let mut request = self
                .cloudwatch
                .describe_alarms()
                .set_alarm_names(Some(names.to_vec()))
                .set_next_token(token.clone());
            for kind in kinds {
                request = request.alarm_types(match kind {
                    AlarmKind::Metric => AlarmType::MetricAlarm,
                    AlarmKind::Composite => AlarmType::CompositeAlarm,
                });
            }
            let out = request.send().await.map_err(domain)?;
            for a in out.metric_alarms() {
                found.push((
                    a.alarm_name().unwrap_or_default().to_string(),
                    state(a.state_value()),
                ));
            }
            for a in out.composite_alarms() {
                found.push((
                    a.alarm_name().unwrap_or_default().to_string(),
                    state(a.state_value()),
                ));
            }
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(found);
            }
        }
    }
}

/// Real time, interruptible by Ctrl-C.
#[derive(Debug, Clone)]
pub struct WallClock {
    start: Instant,
    interrupted: Arc<AtomicBool>,
    notify: Arc<Notify>,
}

impl WallClock {
    /// A clock starting now.
    pub fn new() -> Self {
        WallClock {
            start: Instant::now(),
            interrupted: Arc::new(AtomicBool::new(false)),
            notify: Arc::new(Notify::new()),
        }
    }

    /// Ends every sleep now and from now on; the engine then rolls back.
    pub fn interrupt(&self) {
        self.interrupted.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }
}

impl Default for WallClock {
    fn default() -> Self {
        WallClock::new()
    }
}

impl Clock for WallClock {
    fn now(&self) -> Millis {
        Millis(self.start.elapsed().as_millis() as u64)
    }

    async fn sleep(&self, duration: Millis) {
        if self.interrupted() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(duration.as_std()) => {}
            _ = self.notify.notified() => {}
        }
    }

    fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }

    async fn within<T>(
        &self,
        limit: Millis,
        work: impl std::future::Future<Output = T>,
    ) -> Option<T> {
        tokio::time::timeout(limit.as_std(), work).await.ok()
    }

    fn epoch(&self) -> Millis {
        Millis(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_lambda::error::ErrorMetadata;
    use aws_sdk_lambda::operation::get_alias::GetAliasError;
    use aws_sdk_lambda::primitives::SdkBody;

    #[test]
    fn each_region_names_its_partition() {
        for (region, partition) in [
            ("us-east-1", "aws"),
            ("eu-west-2", "aws"),
            ("cn-north-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
            ("us-iso-east-1", "aws-iso"),
            ("us-isob-east-1", "aws-iso-b"),
        ] {
            assert_eq!(super::partition(region), partition, "{region}");
        }
    }

    /// What a service error with this status, code and headers becomes.
    fn classify(status: u16, code: &str, headers: &[(&'static str, &'static str)]) -> CloudError {
        let mut response = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
        for (name, value) in headers {
            response.headers_mut().insert(*name, *value);
        }
        let error = GetAliasError::generic(
            ErrorMetadata::builder()
                .code(code)
                .message("the service's words")
                .build(),
        );
        domain(SdkError::service_error(error, response))
    }

    #[test]
    fn regions_and_endpoints_are_checked_before_any_call() {
        for good in ["eu-west-1", "us-gov-east-1", "cn-north-1", "ap-southeast-3"] {
            assert_eq!(region_name(good), Ok(()), "{good}");
        }
        for bad in ["us east 1", "useast1", "EU-WEST-1", "eu-west-", "-west-1"] {
            let e = region_name(bad).unwrap_err();
            assert!(
                e.is_setup() && e.to_string().contains("such as eu-west-1"),
                "{bad}"
            );
        }
        for good in ["eu-west-1", "us-gov-east-1", "cn-north-1", "il-central-1"] {
            assert_eq!(known_partition(good), Ok(()), "{good}");
        }
        for unknown in ["xx-nowhere-1", "mars-north-1", "local-test-1"] {
            let e = known_partition(unknown).unwrap_err();
            assert!(
                e.is_setup() && e.to_string().contains("no endpoints"),
                "{unknown}"
            );
        }
        for good in [
            "http://127.0.0.1:5000",
            "https://lambda.eu-west-1.amazonaws.com",
        ] {
            assert_eq!(endpoint_url(good), Ok(()), "{good}");
        }
        for bad in [
            "not a url",
            "127.0.0.1:5000",
            "http://",
            "ftp://x",
            "http:// x",
        ] {
            assert!(endpoint_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn service_errors_are_told_apart_by_what_can_be_done_about_them() {
        let stale = classify(412, "PreconditionFailedException", &[]);
        assert!(matches!(stale, CloudError::Stale(_)), "{stale:?}");
        assert!(!stale.retried());
        let busy = classify(409, "ResourceConflictException", &[]);
        assert!(matches!(busy, CloudError::Busy(_)) && busy.retried());
        // Nothing there, in each service's words: `approve` before the gate's token is written,
        // `status` of an execution gone.
        for code in [
            "ParameterNotFound",
            "ExecutionDoesNotExist",
            "ResourceNotFoundException",
        ] {
            let missing = classify(400, code, &[]);
            assert!(
                matches!(missing, CloudError::NotFound(_)),
                "{code}: {missing:?}"
            );
            assert!(!missing.retried());
        }
        assert_eq!(
            classify(429, "TooManyRequestsException", &[("Retry-After", "3")]),
            CloudError::Throttled {
                message: "TooManyRequestsException: the service's words".into(),
                retry_after: Some(Millis(3_000)),
            }
        );
        let denied = classify(403, "AccessDeniedException", &[]);
        assert!(matches!(denied, CloudError::Denied(_)) && !denied.retried());
        assert!(denied.to_string().contains("permissions README.md lists"));
        for code in ["ExpiredTokenException", "UnrecognizedClientException"] {
            let expired = classify(403, code, &[]);
            assert!(matches!(expired, CloudError::Credentials(_)) && !expired.retried());
            assert!(expired.to_string().contains("refresh them"), "{expired}");
        }
        let invalid = classify(400, "InvalidParameterValueException", &[]);
        assert!(matches!(invalid, CloudError::InvalidParameter(_)) && !invalid.retried());
        let failing = classify(503, "ServiceUnavailable", &[]);
        assert!(matches!(failing, CloudError::Transient(_)) && failing.retried());
        let unknown = classify(400, "SomethingNew", &[]);
        assert!(matches!(unknown, CloudError::Other(_)) && !unknown.retried());
    }
}

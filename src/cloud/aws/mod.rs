//! The real services, through the AWS SDK. SDK types stop here: every call returns domain types
//! and [`CloudError`]s. This module connects; [`lambda`], [`cloudwatch`], [`logs`],
//! [`executions`] and [`notify`] make each service's calls, and [`errors`] says what a failed one means.

mod calendar;
mod cloudwatch;
mod errors;
mod executions;
mod lambda;
mod logs;
mod notify;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};

use super::{CloudError, ATTEMPT_TIMEOUT, CONNECT_TIMEOUT, LONG_ATTEMPT_TIMEOUT};
use crate::plan::Millis;
use errors::causes;

pub use super::clock::WallClock;

/// Where and how to reach AWS.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// A named profile of the shared configuration files.
    pub profile: Option<String>,
    /// The region; else the configuration chain's.
    pub region: Option<String>,
    /// Another endpoint (a moto server, a VPC endpoint); `AWS_ENDPOINT_URL` works too.
    pub endpoint_url: Option<String>,
    /// Another account's role to assume with the credentials found (STS `AssumeRole`), and
    /// the external id its trust policy asks for.
    pub role: Option<(String, Option<String>)>,
}

/// Lambda, CloudWatch, CloudWatch Logs, Step Functions, SSM, EventBridge and SNS clients with a call counter.
/// Their pace is [`super::limit::Limited`]'s to set.
#[derive(Debug, Clone)]
pub struct Aws {
    lambda: aws_sdk_lambda::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    sfn: aws_sdk_sfn::Client,
    ssm: aws_sdk_ssm::Client,
    eventbridge: aws_sdk_eventbridge::Client,
    sns: aws_sdk_sns::Client,
    region: String,
    credentials: Option<SharedCredentialsProvider>,
    calls: Arc<AtomicU64>,
}

/// Whether `region` looks like a region's name (`eu-west-1`, `us-gov-east-1`, `cn-north-1`).
fn region_name(region: &str) -> Result<(), CloudError> {
    match crate::plan::names::region(region) {
        None => Ok(()),
        Some(problem) => Err(CloudError::Setup(format!(
            "{problem}: check --region, AWS_REGION or the profile"
        ))),
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
        let mut config = loader.load().await;
        if let Some((role, external_id)) = &options.role {
            // The SDK's identity cache renews the role's credentials before they expire.
            let mut assume = aws_config::sts::AssumeRoleProvider::builder(role)
                .session_name("rollout")
                .configure(&config);
            if let Some(id) = external_id {
                assume = assume.external_id(id);
            }
            let provider = SharedCredentialsProvider::new(assume.build().await);
            config = config.into_builder().credentials_provider(provider).build();
        }
        let region = match config.region() {
            None => {
                return Err(CloudError::Setup(
                    "no region: pass --region, set AWS_REGION, or give the profile a `region`"
                        .into(),
                ))
            }
            Some(region) => region.to_string(),
        };
        region_name(&region)?;
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
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            sfn: aws_sdk_sfn::Client::new(&config),
            ssm: aws_sdk_ssm::Client::new(&config),
            eventbridge: aws_sdk_eventbridge::Client::new(&config),
            sns: aws_sdk_sns::Client::new(&config),
            region,
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

    /// The region the clients call.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Calls made so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Counts a call about to leave.
    async fn call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

//! Lambda through the SDK: aliases, versions, code, invocations and the region's functions.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    AliasRoutingConfiguration, LastUpdateStatus, ProvisionedConcurrencyStatusEnum, State,
};

use super::errors::domain;
use super::{long_calls, Aws};
use crate::cloud::prune::{Page, Routes};
use crate::cloud::{
    Alias, AliasUpdate, Allocation, CloudError, FunctionInfo, FunctionPage, FunctionState,
    Invocation, LambdaApi, Latest, Listed, Provisioned, UpdateStatus,
};
use crate::plan::Millis;

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

    async fn list_versions(
        &self,
        function: &str,
        marker: Option<&str>,
    ) -> Result<Page<String>, CloudError> {
        self.call().await;
        let out = self
            .lambda
            .list_versions_by_function()
            .function_name(function)
            .set_marker(marker.map(str::to_string))
            .send()
            .await
            .map_err(domain)?;
        Ok(Page {
            items: out
                .versions()
                .iter()
                .filter_map(|v| v.version().map(str::to_string))
                .collect(),
            next: out.next_marker().map(str::to_string),
        })
    }

    async fn list_aliases(
        &self,
        function: &str,
        marker: Option<&str>,
    ) -> Result<Page<Routes>, CloudError> {
        self.call().await;
        let out = self
            .lambda
            .list_aliases()
            .function_name(function)
            .set_marker(marker.map(str::to_string))
            .send()
            .await
            .map_err(domain)?;
        Ok(Page {
            items: out
                .aliases()
                .iter()
                .map(|a| {
                    let routing = alias_of(a.function_version(), a.routing_config(), None, None);
                    Routes {
                        alias: a.name().unwrap_or_default().to_string(),
                        versions: std::iter::once(routing.version)
                            .chain(routing.routing.into_keys())
                            .collect(),
                    }
                })
                .collect(),
            next: out.next_marker().map(str::to_string),
        })
    }

    async fn list_provisioned(
        &self,
        function: &str,
        marker: Option<&str>,
    ) -> Result<Page<String>, CloudError> {
        self.call().await;
        match self
            .lambda
            .list_provisioned_concurrency_configs()
            .function_name(function)
            .set_marker(marker.map(str::to_string))
            .send()
            .await
        {
            Ok(out) => Ok(Page {
                items: out
                    .provisioned_concurrency_configs()
                    .iter()
                    .filter_map(|c| c.function_arn().map(str::to_string))
                    .collect(),
                next: out.next_marker().map(str::to_string),
            }),
            // The function was just listed, so "not found" means no configuration, as for
            // `GetProvisionedConcurrencyConfig`; an endpoint without the operation (moto)
            // answers so too.
            Err(e) => match domain(e) {
                CloudError::NotFound(_) => Ok(Page::default()),
                other => Err(other),
            },
        }
    }

    async fn list_mappings(
        &self,
        function: &str,
        marker: Option<&str>,
    ) -> Result<Page<String>, CloudError> {
        self.call().await;
        let out = self
            .lambda
            .list_event_source_mappings()
            .function_name(function)
            .set_marker(marker.map(str::to_string))
            .send()
            .await
            .map_err(domain)?;
        Ok(Page {
            items: out
                .event_source_mappings()
                .iter()
                .filter_map(|m| m.function_arn().map(str::to_string))
                .collect(),
            next: out.next_marker().map(str::to_string),
        })
    }

    async fn delete_version(&self, function: &str, version: &str) -> Result<(), CloudError> {
        self.call().await;
        self.lambda
            .delete_function()
            .function_name(function)
            .qualifier(version)
            .send()
            .await
            .map_err(domain)?;
        Ok(())
    }
}

/// How often Lambda retries a failed asynchronous event when the function has no event invoke
/// config.
const DEFAULT_EVENT_RETRIES: u32 = 2;

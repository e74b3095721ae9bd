//! The simulated Lambda: versions numbered by the service, aliases with RevisionIds and routing
//! rules, code updates that take time, and invocations served by the traffic model.

use std::collections::BTreeMap;

use super::{fnv1a, SimWorld, Version, ALLOCATION_TIME};
use crate::cloud::call::Call;
use crate::cloud::prune::{Page, Routes};
use crate::cloud::{
    Alias, AliasUpdate, Allocation, Clock, CloudError, FunctionInfo, FunctionPage, FunctionState,
    Invocation, LambdaApi, Latest, Listed, Provisioned, UpdateStatus,
};
use crate::plan::Millis;

/// Functions per page of `ListFunctions`, and versions per page of `ListVersionsByFunction`.
const LIST_PAGE: usize = 50;

/// The page of `items` after `marker` (an index, as text), [`LIST_PAGE`] long.
fn page_of<T: Clone>(items: &[T], marker: Option<&str>) -> Result<Page<T>, CloudError> {
    let from = match marker {
        None => 0,
        Some(m) => m
            .parse()
            .map_err(|_| CloudError::InvalidParameter(format!("not a marker: {m}")))?,
    };
    let to = (from + LIST_PAGE).min(items.len());
    Ok(Page {
        items: items.get(from..to).unwrap_or_default().to_vec(),
        next: (to < items.len()).then(|| to.to_string()),
    })
}

/// A simulated function's ARN.
pub(super) fn arn(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:123456789012:function:{name}")
}

impl SimWorld {
    /// A control-plane call reaching the service: it takes the world's latency, is logged, and
    /// is throttled (429) when the account has had its limit of calls in the last second.
    async fn arrive(&self, call: Call) -> Result<(), CloudError> {
        let latency = self.state.borrow().call_latency;
        if latency > Millis(0) {
            self.clock.sleep(latency).await;
        }
        let now = self.clock.now();
        let mut state = self.state.borrow_mut();
        state.calls.push((now, call));
        let Some(limit) = state.calls_per_second else {
            return Ok(());
        };
        while state.recent.front().is_some_and(|t| t.0 + 1_000 <= now.0) {
            state.recent.pop_front();
        }
        if state.recent.len() as f64 >= limit {
            state.throttled += 1;
            return Err(CloudError::Throttled {
                message: "TooManyRequestsException: Rate exceeded".into(),
                retry_after: None,
            });
        }
        state.recent.push_back(now);
        Ok(())
    }
}

impl LambdaApi for SimWorld {
    async fn get_alias(&self, function: &str, alias: &str) -> Result<Alias, CloudError> {
        self.arrive(Call::GetAlias {
            function: function.to_string(),
            alias: alias.to_string(),
        })
        .await?;
        let state = self.state.borrow();
        state
            .function(function)?
            .aliases
            .get(alias)
            .cloned()
            .ok_or_else(|| CloudError::NotFound(format!("Alias not found: {function}:{alias}")))
    }

    async fn update_alias(
        &self,
        function: &str,
        alias: &str,
        update: &AliasUpdate,
    ) -> Result<Alias, CloudError> {
        self.arrive(Call::UpdateAlias {
            function: function.to_string(),
            alias: alias.to_string(),
            update: update.clone(),
        })
        .await?;
        let now = self.clock.now();
        let mut state = self.state.borrow_mut();
        let current = state
            .function(function)?
            .aliases
            .get(alias)
            .cloned()
            .ok_or_else(|| CloudError::NotFound(format!("Alias not found: {function}:{alias}")))?;
        // An alias may point at `$LATEST`, but never split traffic with it.
        let latest = update.version == "$LATEST" || update.routing.contains_key("$LATEST");
        if latest && !update.routing.is_empty() {
            return Err(CloudError::InvalidParameter(
                "$LATEST is not supported for an alias pointing to more than 1 version".into(),
            ));
        }
        if update.routing.len() > 1 {
            return Err(CloudError::InvalidParameter(
                "Only one additional version can be specified in the routing config".into(),
            ));
        }
        for (version, weight) in &update.routing {
            if !(0.0..1.0).contains(weight) {
                return Err(CloudError::InvalidParameter(format!(
                    "Routing weight {weight} for version {version} is outside [0.0, 1.0)"
                )));
            }
            if *version == update.version {
                return Err(CloudError::InvalidParameter(
                    "The additional version must differ from the primary version".into(),
                ));
            }
        }
        for version in std::iter::once(&update.version).chain(update.routing.keys()) {
            if version != "$LATEST" && !state.version_exists(function, version) {
                return Err(CloudError::InvalidParameter(format!(
                    "Version {version} of {function} does not exist"
                )));
            }
        }
        if update.revision_id != current.revision_id {
            return Err(CloudError::Stale(format!(
                "PreconditionFailedException: The RevisionId provided ({}) does not match the latest RevisionId ({}) of {function}:{alias}",
                update.revision_id, current.revision_id
            )));
        }
        state.generate(function, now);
        let revision_id = state.revision();
        let function = state.functions.get_mut(function).expect("checked above");
        let moved = current.version != update.version || current.routing != update.routing;
        if let Some(provision) = function.provisioned.get_mut(alias).filter(|_| moved) {
            provision.ready_at = Millis(now.0 + ALLOCATION_TIME.0);
        }
        let entry = function.aliases.get_mut(alias).expect("checked above");
        entry.version = update.version.clone();
        entry.routing = update.routing.clone();
        entry.revision_id = revision_id;
        if let Some(description) = &update.description {
            entry.description = description.clone();
        }
        Ok(entry.clone())
    }

    async fn publish_version(
        &self,
        function: &str,
        latest: &Latest,
        description: Option<&str>,
    ) -> Result<String, CloudError> {
        self.arrive(Call::PublishVersion {
            function: function.to_string(),
            latest: latest.clone(),
            description: description.map(str::to_string),
        })
        .await?;
        let now = self.clock.now();
        let mut state = self.state.borrow_mut();
        let f = state.idle_function_mut(function, now)?;
        let revision = f.latest_revision(now);
        if latest.revision_id != revision {
            return Err(CloudError::Stale(format!(
                "PreconditionFailedException: The Revision Id provided ({}) does not match the latest Revision Id ({revision}) of {function}",
                latest.revision_id
            )));
        }
        if latest.code_sha256 != f.latest.code {
            return Err(CloudError::InvalidParameter(format!(
                "InvalidParameterValueException: CodeSHA256 ({}) is different from current CodeSHA256 in $LATEST ({}). Please try again with the CodeSHA256 in $LATEST.",
                latest.code_sha256, f.latest.code
            )));
        }
        if f.versions.last().is_some_and(|v| v.config == f.latest) {
            return Ok(f.versions.len().to_string());
        }
        f.versions.push(Version {
            config: f.latest.clone(),
            active_at: Millis(now.0 + f.pending_for.0),
        });
        Ok(f.versions.len().to_string())
    }

    async fn get_function(
        &self,
        function: &str,
        qualifier: Option<&str>,
    ) -> Result<FunctionInfo, CloudError> {
        self.arrive(Call::GetFunction {
            function: function.to_string(),
            qualifier: qualifier.map(str::to_string),
        })
        .await?;
        let now = self.clock.now();
        let state = self.state.borrow();
        let f = state.function(function)?;
        let (last_update, state_now, config, revision) = match qualifier {
            None | Some("$LATEST") => {
                let last_update = if now < f.update_done_at {
                    UpdateStatus::InProgress
                } else if let Some(reason) = &f.last_update_failed {
                    UpdateStatus::Failed(reason.clone())
                } else {
                    UpdateStatus::Successful
                };
                (
                    last_update,
                    FunctionState::Active,
                    &f.latest,
                    f.latest_revision(now),
                )
            }
            Some(q) => {
                let version = f.version(q).ok_or_else(|| {
                    CloudError::NotFound(format!("Function not found: {function}:{q}"))
                })?;
                let state_now = if now < version.active_at {
                    FunctionState::Pending
                } else {
                    FunctionState::Active
                };
                (
                    UpdateStatus::Successful,
                    state_now,
                    &version.config,
                    format!("{q}-1"),
                )
            }
        };
        Ok(FunctionInfo {
            version: qualifier.unwrap_or("$LATEST").to_string(),
            state: state_now,
            last_update,
            role: config.role.clone(),
            timeout: state.timeout,
            code_sha256: config.code.clone(),
            revision_id: revision,
            dead_letter: config.dead_letter.clone(),
        })
    }

    async fn event_retries(&self, function: &str, alias: &str) -> Result<u32, CloudError> {
        self.arrive(Call::GetEventInvokeConfig {
            function: function.to_string(),
            alias: alias.to_string(),
        })
        .await?;
        let state = self.state.borrow();
        state.function(function)?;
        Ok(state.retries)
    }

    async fn provisioned(
        &self,
        function: &str,
        alias: &str,
    ) -> Result<Option<Provisioned>, CloudError> {
        self.arrive(Call::GetProvisionedConcurrency {
            function: function.to_string(),
            alias: alias.to_string(),
        })
        .await?;
        let now = self.clock.now();
        let state = self.state.borrow();
        let Some(provision) = state.function(function)?.provisioned.get(alias).copied() else {
            return Ok(None);
        };
        // Environments come up evenly over the allocation.
        let left = provision.ready_at.0.saturating_sub(now.0);
        let share = 1.0 - left as f64 / ALLOCATION_TIME.0 as f64;
        Ok(Some(Provisioned {
            requested: provision.requested,
            allocated: (f64::from(provision.requested) * share).floor() as u32,
            status: if left == 0 {
                Allocation::Ready
            } else {
                Allocation::InProgress
            },
        }))
    }

    async fn update_code(&self, function: &str, zip: &[u8]) -> Result<String, CloudError> {
        self.arrive(Call::UpdateFunctionCode {
            function: function.to_string(),
        })
        .await?;
        let now = self.clock.now();
        let mut state = self.state.borrow_mut();
        let f = state.idle_function_mut(function, now)?;
        f.start_update(now);
        f.latest.code = format!("zip-{:016x}", fnv1a(zip));
        f.last_update_failed = f.fail_next_update.take();
        Ok(f.latest.code.clone())
    }

    async fn list_functions(&self, marker: Option<&str>) -> Result<FunctionPage, CloudError> {
        self.arrive(Call::ListFunctions {
            marker: marker.map(str::to_string),
        })
        .await?;
        let state = self.state.borrow();
        // Pages of 50, as the service returns by default, in name order after the marker.
        let after = marker.unwrap_or("");
        let mut names = state
            .functions
            .keys()
            .filter(|name| marker.is_none() || name.as_str() > after);
        let functions: Vec<Listed> = names
            .by_ref()
            .take(LIST_PAGE)
            .map(|name| Listed {
                name: name.clone(),
                arn: arn(name),
            })
            .collect();
        let next = match names.next() {
            Some(_) => functions.last().map(|f| f.name.clone()),
            None => None,
        };
        Ok(FunctionPage { functions, next })
    }

    async fn tags(&self, arn_: &str) -> Result<BTreeMap<String, String>, CloudError> {
        self.arrive(Call::ListTags { arn: arn_.into() }).await?;
        let state = self.state.borrow();
        let name = arn_.rsplit(':').next().unwrap_or_default();
        Ok(state.function(name)?.tags.clone())
    }

    async fn list_versions(
        &self,
        function: &str,
        marker: Option<&str>,
    ) -> Result<Page<String>, CloudError> {
        self.arrive(Call::ListVersions {
            function: function.into(),
            marker: marker.map(str::to_string),
        })
        .await?;
        let state = self.state.borrow();
        let f = state.function(function)?;
        let listed: Vec<String> = std::iter::once("$LATEST".to_string())
            .chain(
                (1..=f.versions.len())
                    .filter(|n| !f.deleted.contains(n))
                    .map(|n| n.to_string()),
            )
            .collect();
        page_of(&listed, marker)
    }

    async fn list_aliases(
        &self,
        function: &str,
        marker: Option<&str>,
    ) -> Result<Page<Routes>, CloudError> {
        self.arrive(Call::ListAliases {
            function: function.into(),
            marker: marker.map(str::to_string),
        })
        .await?;
        let state = self.state.borrow();
        let listed: Vec<Routes> = state
            .function(function)?
            .aliases
            .iter()
            .map(|(name, alias)| Routes {
                alias: name.clone(),
                versions: std::iter::once(alias.version.clone())
                    .chain(alias.routing.keys().cloned())
                    .collect(),
            })
            .collect();
        page_of(&listed, marker)
    }

    async fn list_provisioned(
        &self,
        function: &str,
        marker: Option<&str>,
    ) -> Result<Page<String>, CloudError> {
        self.arrive(Call::ListProvisioned {
            function: function.into(),
            marker: marker.map(str::to_string),
        })
        .await?;
        let state = self.state.borrow();
        let listed: Vec<String> = state
            .function(function)?
            .provisioned
            .keys()
            .map(|q| format!("{}:{q}", arn(function)))
            .collect();
        page_of(&listed, marker)
    }

    async fn list_mappings(
        &self,
        function: &str,
        marker: Option<&str>,
    ) -> Result<Page<String>, CloudError> {
        self.arrive(Call::ListMappings {
            function: function.into(),
            marker: marker.map(str::to_string),
        })
        .await?;
        let state = self.state.borrow();
        page_of(&state.function(function)?.mappings, marker)
    }

    async fn delete_version(&self, function: &str, version: &str) -> Result<(), CloudError> {
        self.arrive(Call::DeleteVersion {
            function: function.into(),
            version: version.into(),
        })
        .await?;
        let mut state = self.state.borrow_mut();
        let f = state
            .functions
            .get_mut(function)
            .ok_or_else(|| CloudError::NotFound(format!("Function not found: {function}")))?;
        if version == "$LATEST" {
            return Err(CloudError::InvalidParameter(
                "InvalidParameterValueException: $LATEST version cannot be deleted without deleting the function.".into(),
            ));
        }
        if f.version(version).is_none() {
            return Err(CloudError::NotFound(format!(
                "ResourceNotFoundException: Function not found: {}:{version}",
                arn(function)
            )));
        }
        let routing: Vec<&str> = f
            .aliases
            .iter()
            .filter(|(_, a)| a.version == version || a.routing.contains_key(version))
            .map(|(name, _)| name.as_str())
            .collect();
        if !routing.is_empty() {
            return Err(CloudError::Busy(format!(
                "ResourceConflictException: Unable to delete version because the following aliases reference it: [{}]",
                routing.join(", ")
            )));
        }
        let n: usize = version.parse().expect("an existing version is a number");
        f.deleted.insert(n);
        Ok(())
    }

    async fn invoke(
        &self,
        function: &str,
        qualifier: &str,
        _payload: &str,
    ) -> Result<Invocation, CloudError> {
        let mut state = self.state.borrow_mut();
        state.calls.push((
            self.clock.now(),
            Call::Invoke {
                function: function.to_string(),
                qualifier: qualifier.to_string(),
            },
        ));
        let alias = state.function(function)?.aliases.get(qualifier).cloned();
        let version = match alias {
            Some(alias) => {
                let chosen = alias.additional().map(|(v, w)| (v.to_string(), w));
                let draw = state.traffic.uniform();
                match chosen {
                    Some((v, w)) if draw < w => v,
                    _ => alias.version.clone(),
                }
            }
            None if state.version_exists(function, qualifier) => {
                let pending = state
                    .function(function)?
                    .version(qualifier)
                    .is_some_and(|v| self.clock.now() < v.active_at);
                if pending {
                    return Err(CloudError::Busy(
                        "ResourceConflictException: The operation cannot be performed at this time. The function is currently in the following state: Pending".into(),
                    ));
                }
                qualifier.to_string()
            }
            None => {
                return Err(CloudError::NotFound(format!(
                    "Function not found: {function}:{qualifier}"
                )))
            }
        };
        let profile = state.profile(function, &version);
        let (failed, duration) = state.traffic.invoke(profile);
        Ok(Invocation {
            status: 200,
            body: if failed {
                r#"{"errorMessage":"simulated failure"}"#.to_string()
            } else {
                format!(r#"{{"ok":true,"duration_ms":{}}}"#, duration.round())
            },
            version,
            error: failed.then(|| "Unhandled".to_string()),
        })
    }
}

//! Before the first write, what would fail later, found by reading: the alarms the health block
//! checks must exist; `old` must be a published version; `old` and what becomes `new` (`$LATEST`
//! for `publish` and `update code`, the version `use version` names, the lease's `new` when
//! resuming) must share the execution role and the dead-letter target. It also records the
//! `$LATEST` that `publish` will freeze, so that code anyone else pushes meanwhile is never
//! published as `new`; the functions' timeouts, which set how late their metrics may arrive; and
//! whether the alias has provisioned concurrency, which Lambda splits by weight and allocates
//! anew after each move of traffic; and for an `async` function, how often Lambda retries a
//! failed event, so that errors are counted in clusters.

use super::events::EventKind;
use super::measure::alarm_names;
use super::outcome::Outcome;
use super::reasons::{Mismatch, Refusal, Trouble};
use super::{first_error, Engine, Target};
use crate::cloud::{
    Clock, CloudError, FunctionInfo, FunctionState, LambdaApi, Latest, MetricsApi, UpdateStatus,
};
use crate::plan::{Plan, StepKind};

/// Where `new` comes from.
#[derive(Debug, Clone, Copy)]
enum NewFrom {
    /// `$LATEST`, frozen by `publish`.
    Latest,
    /// A published version.
    Version(u64),
}

impl NewFrom {
    /// The first step of `plan` that makes `new`, if any.
    fn of(plan: &Plan) -> Option<NewFrom> {
        plan.steps.iter().find_map(|step| match step.kind {
            StepKind::UpdateCode { .. } | StepKind::Publish { .. } => Some(NewFrom::Latest),
            StepKind::UseVersion { version } => Some(NewFrom::Version(version)),
            _ => None,
        })
    }
}

impl<L: LambdaApi, M: MetricsApi, C: Clock> Engine<'_, L, M, C> {
    /// Checks the alarms and every target as the module says; nothing is written.
    pub(super) async fn preflight(&mut self, plan: &Plan) -> Result<(), Outcome> {
        let names = alarm_names(&plan.health);
        let found = self
            .services
            .metrics
            .alarm_states(&names)
            .await
            .map_err(|error| {
                let t = &self.progress.targets[0];
                Outcome::Failed(Trouble::Read {
                    function: t.function.clone(),
                    alias: t.alias.clone(),
                    error,
                })
            })?;
        let missing: Vec<String> = names
            .into_iter()
            .filter(|n| !found.contains_key(n))
            .collect();
        if !missing.is_empty() {
            return Err(Outcome::Refused(Refusal::NoSuchAlarms { names: missing }));
        }
        let from = NewFrom::of(plan);
        let asynchronous = plan.health.asynchronous;
        let results = self
            .each(async |engine, t| engine.check_target(t, from, asynchronous).await)
            .await;
        first_error(results)
    }

    /// Checks one target, all at once for a fleet; records what later steps need of it, and
    /// for an `async` function how often Lambda retries a failed event.
    async fn check_target(
        &self,
        t: &mut Target,
        from: Option<NewFrom>,
        asynchronous: bool,
    ) -> Result<(), Outcome> {
        let (function, alias, old) = (t.function.clone(), t.alias.clone(), t.old.clone());
        if old == "$LATEST" {
            return Err(Outcome::Refused(Refusal::OldIsLatest { function, alias }));
        }
        let trouble = |error| {
            Outcome::Failed(Trouble::Read {
                function: function.clone(),
                alias: alias.clone(),
                error,
            })
        };
        let lambda = self.services.lambda;
        if asynchronous {
            t.retries = lambda
                .event_retries(&function, &alias)
                .await
                .map_err(trouble)?;
        }
        if let Some(p) = lambda
            .provisioned(&function, &alias)
            .await
            .map_err(trouble)?
        {
            t.provisioned = true;
            self.emit(EventKind::Provisioned {
                function: function.clone(),
                alias: alias.clone(),
                requested: p.requested,
                allocated: p.allocated,
                ready: false,
            });
        }
        let old_info = lambda
            .get_function(&function, Some(&old))
            .await
            .map_err(trouble)?;
        let qualifier = match (&t.new, from) {
            (Some(new), _) => Some(new.clone()),
            (None, Some(NewFrom::Version(n))) => Some(n.to_string()),
            (None, Some(NewFrom::Latest)) => None,
            (None, None) => {
                t.timeout = old_info.timeout;
                return Ok(());
            }
        };
        let new_info = match lambda.get_function(&function, qualifier.as_deref()).await {
            Ok(info) => info,
            Err(CloudError::NotFound(_)) if qualifier.is_some() => {
                return Err(Outcome::Refused(Refusal::NoSuchVersion {
                    function,
                    version: qualifier.unwrap_or_default(),
                }))
            }
            Err(error) => return Err(trouble(error)),
        };
        alike(&function, &old_info, &new_info).map_err(Outcome::Refused)?;
        t.timeout = old_info.timeout.max(new_info.timeout);
        // An update still in progress is read again when it is done, just before publishing.
        let settled = new_info.state == FunctionState::Active
            && new_info.last_update == UpdateStatus::Successful;
        if qualifier.is_none() && settled {
            t.latest = Some(Latest::of(&new_info));
        }
        Ok(())
    }
}

/// Whether Lambda would route weights between `old` and `new`: one execution role, one
/// dead-letter target.
fn alike(function: &str, old: &FunctionInfo, new: &FunctionInfo) -> Result<(), Refusal> {
    let none = || "none".to_string();
    let settings = [
        ("execution role", old.role.clone(), new.role.clone()),
        (
            "dead-letter target",
            old.dead_letter.clone().unwrap_or_else(none),
            new.dead_letter.clone().unwrap_or_else(none),
        ),
    ];
    for (setting, old_value, new_value) in settings {
        if old_value != new_value {
            return Err(Refusal::Unlike(Box::new(Mismatch {
                function: function.to_string(),
                setting,
                old: old.version.clone(),
                old_value,
                new: new.version.clone(),
                new_value,
            })));
        }
    }
    Ok(())
}

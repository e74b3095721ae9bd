//! Admission: before any step, read every alias, decide whether this run may act on it, check
//! what Lambda would refuse later ([`super::preflight`]), and take the lease on all of them. A fresh run needs an alias no rollout holds (or a stale lease and
//! `--take-over`) that serves one version; a resumed run needs the lease it resumes, an alias
//! that still matches it, and the same playbook.

use super::events::EventKind;
use super::outcome::Outcome;
use super::reasons::{Conflict, Refusal, Trouble};
use super::stop::WriteError;
use super::{Engine, Target};
use crate::cloud::lease::Marker;
use crate::cloud::select::{fleet, resolve, SelectError};
use crate::cloud::{Alias, Clock, CloudError, LambdaApi, MetricsApi};
use crate::plan::{Millis, Plan};

/// Where a resumed rollout picks up: the step its lease reached (1-based) and when that step
/// began (Unix seconds).
#[derive(Debug, Clone, Copy)]
pub(super) struct ResumeAt {
    pub(super) step: usize,
    pub(super) started: u64,
}

impl<L: LambdaApi, M: MetricsApi, C: Clock> Engine<'_, L, M, C> {
    /// Reads and admits every target, checks what Lambda would refuse later, then takes the
    /// lease on each; for a resumed run, where to pick up.
    pub(super) async fn admit_all(&mut self, plan: &Plan) -> Result<Option<ResumeAt>, Outcome> {
        let resume_at = self.admit_targets(plan).await?;
        self.preflight(plan).await?;
        self.take_lease().await?;
        Ok(resume_at)
    }

    /// Reads and admits every target, writing nothing; for a resumed run, where to pick up.
    pub(super) async fn admit_targets(&mut self, plan: &Plan) -> Result<Option<ResumeAt>, Outcome> {
        let alias = plan
            .targets
            .alias
            .clone()
            .ok_or(Outcome::Refused(Refusal::NoAlias))?;
        let functions = self.select(plan).await?;
        if functions.is_empty() {
            return Err(Outcome::Refused(Refusal::NoFunction));
        }
        self.playbook.functions = functions.clone();
        self.emit(EventKind::Started {
            name: plan.name.clone(),
            functions: functions.clone(),
            alias: alias.clone(),
            steps: plan.steps.len(),
        });
        let mut resume_at = None;
        let lambda = self.services.lambda;
        let reads = super::concurrently(
            functions
                .iter()
                .map(|function| lambda.get_alias(function, &alias)),
        )
        .await;
        for (function, read) in functions.iter().zip(reads) {
            let current = match read {
                Ok(current) => current,
                Err(CloudError::NotFound(message)) => {
                    return Err(Outcome::Refused(Refusal::Unreadable {
                        function: function.clone(),
                        alias: alias.clone(),
                        message,
                    }))
                }
                Err(error) => {
                    return Err(Outcome::Failed(Trouble::Read {
                        function: function.clone(),
                        alias: alias.clone(),
                        error,
                    }))
                }
            };
            self.emit(EventKind::AliasRead {
                function: function.clone(),
                alias: current.clone(),
            });
            let (user_description, marker) = Marker::parse(&current.description);
            // Taking up a promoted wave's leases: an alias without one (a function the selection
            // finds now, that the wave did not roll out) is not this rollout's.
            if self.lease.kept && marker.is_none() {
                continue;
            }
            let Admitted { old, new, taken } = self
                .admit(function, &alias, &current, marker.as_ref())
                .map_err(|refusal| refusal.into_outcome())?;
            if let (Some(why), Some(m)) = (taken, &marker) {
                self.emit(EventKind::TakingOver {
                    function: function.clone(),
                    holder: m.holder.clone(),
                    why: why.to_string(),
                });
            }
            // A fleet resumes at the earliest step any of its aliases recorded: one killed
            // half way through a step has aliases on either side of it.
            if let Some(marker) = marker.as_ref().filter(|_| self.settings.resume) {
                if resume_at.is_none_or(|at: ResumeAt| marker.step < at.step) {
                    resume_at = Some(ResumeAt {
                        step: marker.step,
                        started: marker.step_started,
                    });
                }
            }
            let now = self.services.clock.epoch();
            self.progress.targets.push(Target {
                function: function.clone(),
                alias: alias.clone(),
                old,
                new,
                current,
                active: true,
                gone: false,
                user_description,
                weight_since: now,
                timeout: Millis(0),
                latest: None,
                provisioned: false,
                judged_until: now,
                unsure: None,
                first_weight: None,
                series: Default::default(),
                holding: false,
                retries: 0,
                watched: None,
            });
        }
        Ok(resume_at)
    }

    /// The functions the plan names, and those its selections find in the region (read-only),
    /// each selection told with its count.
    async fn select(&mut self, plan: &Plan) -> Result<Vec<String>, Outcome> {
        let found = resolve(self.services.lambda, &plan.targets.select)
            .await
            .map_err(|error| match error {
                SelectError::Cloud(error) => Outcome::Failed(Trouble::Listing(error)),
                no_match => Outcome::Refused(Refusal::NoMatch(no_match.to_string())),
            })?;
        for f in &found {
            self.emit(EventKind::Selected {
                selection: f.selection.to_string(),
                functions: f.functions.len(),
            });
        }
        Ok(fleet(&plan.targets.functions, &found))
    }

    /// Takes the lease on every alias before anything else changes. When another runner got
    /// there first on one of them, the markers this run did write are cleared again.
    pub(super) async fn take_lease(&mut self) -> Result<(), Outcome> {
        self.lease.holding = true;
        self.progress.step_started = self.services.clock.unix();
        match self.hold_all().await {
            Ok(()) => Ok(()),
            Err(WriteError::Conflict(change)) => {
                // A write on the changed alias passes the RevisionId read before, so it is
                // refused again and overwrites nothing.
                let _ = self.release().await;
                Err(Outcome::Conflict(Conflict::LeaseTaken(change)))
            }
            Err(other) => Err(self.rollback_failed(other)),
        }
    }

    /// Whether this run may act on one alias, its `old` and `new`, and why it takes over a lease.
    fn admit(
        &self,
        function: &str,
        alias: &str,
        current: &Alias,
        marker: Option<&Marker>,
    ) -> Result<Admitted, Denied> {
        let mut taken = None;
        if let Some(marker) = marker {
            let age = Millis(
                self.services
                    .clock
                    .unix()
                    .saturating_sub(marker.beat)
                    .saturating_mul(1000),
            );
            let settings = &self.settings;
            // A Step Functions execution has no heartbeat: it holds the lease while it runs.
            let stale = age >= settings.stale_after && !marker.server_side();
            taken = if settings.resume && marker.held_by(&settings.holder, settings.id.as_deref()) {
                // This run's own lease, kept on a promoted wave.
                None
            } else if settings.resume && (settings.gone)(marker) {
                Some("its process on this machine has ended")
            } else if settings.take_over && stale {
                Some("its heartbeat is stale (--take-over)")
            } else if settings.take_over && settings.resume && !marker.server_side() {
                // A resumed rollout may take over a lease that still looks alive: the person
                // resuming says its runner is gone.
                Some("--take-over")
            } else {
                return Err(Denied::Conflict(Box::new(Conflict::Held {
                    function: function.to_string(),
                    alias: alias.to_string(),
                    marker: Box::new(marker.clone()),
                    age,
                    stale_after: settings.stale_after,
                    take_over: settings.take_over,
                })));
            };
        }
        let admitted = |old: String, new: Option<String>| Admitted { old, new, taken };
        if !self.settings.resume {
            if let Some((version, weight)) = current.additional() {
                return Err(Denied::Refusal(Refusal::Split {
                    function: function.to_string(),
                    alias: alias.to_string(),
                    version: version.to_string(),
                    weight,
                    by_rollout: marker.is_some(),
                }));
            }
            return Ok(admitted(current.version.clone(), None));
        }
        let Some(marker) = marker else {
            return Err(Denied::Refusal(Refusal::NothingToResume {
                function: function.to_string(),
                alias: alias.to_string(),
            }));
        };
        let playbook = &self.playbook;
        if let Some(held) = marker
            .fingerprint
            .as_ref()
            .filter(|held| **held != playbook.fingerprint)
        {
            return Err(Denied::Refusal(Refusal::ChangedPlaybook {
                function: function.to_string(),
                alias: alias.to_string(),
                plan: marker.plan.clone(),
                held: held.clone(),
                given: playbook.fingerprint.clone(),
            }));
        }
        let steps = playbook.steps;
        if marker.steps != steps {
            return Err(Denied::Refusal(Refusal::OtherPlaybook {
                function: function.to_string(),
                alias: alias.to_string(),
                plan: marker.plan.clone(),
                held_steps: marker.steps,
                steps,
            }));
        }
        if !marker.matches(current) {
            return Err(Denied::Conflict(Box::new(Conflict::NotAsLeft {
                function: function.to_string(),
                alias: alias.to_string(),
                serves: current.clone(),
                marker: Box::new(marker.clone()),
            })));
        }
        Ok(admitted(marker.old.clone(), marker.new.clone()))
    }
}

/// What admission found for one alias.
struct Admitted {
    old: String,
    new: Option<String>,
    /// Why this run takes over the lease another runner left, if it does.
    taken: Option<&'static str>,
}

/// Why one alias was not admitted.
enum Denied {
    Refusal(Refusal),
    Conflict(Box<Conflict>),
}

impl Denied {
    fn into_outcome(self) -> Outcome {
        match self {
            Denied::Refusal(refusal) => Outcome::Refused(refusal),
            Denied::Conflict(conflict) => Outcome::Conflict(*conflict),
        }
    }
}

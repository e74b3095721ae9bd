//! Asking a running rollout something from any machine: `rollout pause`, `resume`, `promote`
//! and `approve` write their request into the lease marker on the alias ([`super::Control`]), with
//! the RevisionId they read, leaving the versions and weights as they are. The runner renews
//! its lease meanwhile: when its heartbeat wins the race, the alias is read and the request
//! written again, as long as the same rollout still holds it.

use super::{Marker, Paused, Skip};
use crate::cloud::{Alias, AliasUpdate, CloudError, LambdaApi};

/// What a person asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Hold: traffic stays, the bake's clock stops.
    Pause {
        /// Why, shown by `status` and in the rollout's events.
        reason: Option<String>,
    },
    /// Go on after a pause.
    Resume,
    /// End the current wait now; `full`: then on to `promote`.
    Promote {
        /// Skip the steps between to `promote`.
        full: bool,
    },
    /// Release the `approve` gate the rollout waits at.
    Approve,
}

/// What came of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    /// Written: the lease now says so.
    Written(Box<Marker>),
    /// Nothing to write: the lease says so already (the words say how).
    Already(String),
}

/// Why a request was not written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAsked {
    /// No rollout holds the alias.
    #[error("no rollout holds {0}")]
    NoLease(String),
    /// A Step Functions execution holds it: the machine does not read these requests (its
    /// gates are released through their task token instead).
    #[error("the Step Functions execution {} holds {alias}: it does not read `rollout pause`, `resume` or `promote`. Use `rollout approve` at its gates, or `rollout rollback` to stop it and restore old", marker.holder.trim_start_matches(super::SERVER_HOLDER))]
    ServerSide {
        /// The alias.
        alias: String,
        /// Its lease.
        marker: Box<Marker>,
    },
    /// `rollout approve` when the rollout waits at no gate.
    #[error("the rollout on {alias} ({holder}, step {step}/{steps}) is not waiting for approval")]
    NotWaiting {
        /// The alias.
        alias: String,
        /// Who holds it.
        holder: String,
        /// The step it is at.
        step: usize,
        /// Its steps.
        steps: usize,
    },
    /// `rollout resume` when no pause holds the rollout.
    #[error("the rollout of {plan} on {alias} is not paused")]
    NotPaused {
        /// The alias.
        alias: String,
        /// The playbook.
        plan: String,
    },
    /// The lease changed hands meanwhile.
    #[error("{alias} changed hands ({holder} holds it now)")]
    ChangedHands {
        /// The alias.
        alias: String,
        /// Who holds it now.
        holder: String,
    },
    /// The alias kept changing under the request.
    #[error("{0} kept changing under the request ({ATTEMPTS} tries)")]
    KeptChanging(String),
    /// The description has no room for the request.
    #[error("the description of {0} has no room for the request (Lambda allows 256 characters)")]
    NoRoom(String),
    /// Reading or writing the alias failed.
    #[error("{alias}: {error}")]
    Cloud {
        /// The alias.
        alias: String,
        /// What failed.
        error: CloudError,
    },
}

/// The characters a request leaves free for the rollout's own marker to grow by.
const GROWTH: usize = 16;

/// How often a request is written again when the rollout's own heartbeat writes in between.
const ATTEMPTS: usize = 5;

/// Writes `request` by `by` (`user@host`) at `now` (Unix seconds) into the lease on
/// `function`:`alias`.
pub async fn ask(
    lambda: &impl LambdaApi,
    function: &str,
    alias: &str,
    request: &Request,
    by: &str,
    now: u64,
) -> Result<Asked, NotAsked> {
    let name = format!("{function}:{alias}");
    let cloud = |error| NotAsked::Cloud {
        alias: name.clone(),
        error,
    };
    let mut holder: Option<Marker> = None;
    for _ in 0..ATTEMPTS {
        let current = lambda.get_alias(function, alias).await.map_err(cloud)?;
        let (user, marker) = Marker::parse(&current.description);
        let Some(marker) = marker else {
            return Err(NotAsked::NoLease(name));
        };
        if holder
            .as_ref()
            .is_some_and(|h| h.holder != marker.holder || h.id != marker.id)
        {
            return Err(NotAsked::ChangedHands {
                alias: name,
                holder: marker.holder,
            });
        }
        if marker.server_side() {
            return Err(NotAsked::ServerSide {
                alias: name,
                marker: Box::new(marker),
            });
        }
        let promoted = marker.step == marker.steps
            && marker.new.as_ref() == Some(&current.version)
            && current.routing.is_empty();
        if promoted && *request != Request::Approve {
            return Ok(Asked::Already(format!(
                "the rollout of {} has promoted here and keeps its lease only while later waves run, or while it watches after promote; nothing to ask of it (`rollout rollback` puts old back)",
                marker.plan
            )));
        }
        let amended = match amend(&marker, request, by, now, &name)? {
            Amended::To(amended) => amended,
            Amended::Already(words) => return Ok(Asked::Already(words)),
        };
        // Room kept for the marker to grow as the rollout goes on (`new` chosen, more steps).
        let padded = format!("{user}{}", " ".repeat(GROWTH));
        let fitted = amended
            .describe(&padded)
            .and_then(|text| Marker::parse(&text).1)
            .ok_or_else(|| NotAsked::NoRoom(name.clone()))?;
        let description = fitted
            .describe(&user)
            .ok_or_else(|| NotAsked::NoRoom(name.clone()))?;
        match lambda
            .update_alias(function, alias, &keep(&current, description))
            .await
        {
            Ok(written) => {
                let written = Marker::parse(&written.description).1.unwrap_or(*amended);
                return Ok(Asked::Written(Box::new(written)));
            }
            Err(CloudError::Stale(_)) => holder = Some(marker),
            Err(error) => return Err(cloud(error)),
        }
    }
    Err(NotAsked::KeptChanging(name))
}

/// The write that leaves what `current` serves as it is, with a new description.
fn keep(current: &Alias, description: String) -> AliasUpdate {
    AliasUpdate {
        version: current.version.clone(),
        routing: current.routing.clone(),
        revision_id: current.revision_id.clone(),
        description: Some(description),
    }
}

/// A marker amended by a request, or why nothing needs writing.
enum Amended {
    To(Box<Marker>),
    Already(String),
}

/// `marker` with `request` in it.
fn amend(
    marker: &Marker,
    request: &Request,
    by: &str,
    now: u64,
    alias: &str,
) -> Result<Amended, NotAsked> {
    let mut amended = marker.clone();
    let control = &mut amended.control;
    match request {
        Request::Pause { reason } => {
            if let Some(p) = &control.paused {
                return Ok(Amended::Already(format!(
                    "already paused by {} at {}",
                    p.by,
                    crate::cloud::clock::utc(p.at)
                )));
            }
            control.paused = Some(Paused {
                by: by.to_string(),
                at: now,
                reason: reason.clone().filter(|r| !r.trim().is_empty()),
            });
            control.resumed_by = None;
        }
        Request::Resume => {
            if control.paused.is_none() {
                return Err(NotAsked::NotPaused {
                    alias: alias.to_string(),
                    plan: marker.plan.clone(),
                });
            }
            control.paused = None;
            control.resumed_by = Some(by.to_string());
        }
        Request::Promote { full } => {
            if let Some(s) = control.skip.as_ref().filter(|s| s.full || !full) {
                return Ok(Amended::Already(format!(
                    "{} asked already at {}; the rollout has not taken it up yet",
                    s.by,
                    crate::cloud::clock::utc(s.at)
                )));
            }
            control.skip = Some(Skip {
                full: *full,
                by: by.to_string(),
                at: now,
            });
        }
        Request::Approve => {
            if !marker.gate {
                return Err(NotAsked::NotWaiting {
                    alias: alias.to_string(),
                    holder: marker.holder.clone(),
                    step: marker.step,
                    steps: marker.steps,
                });
            }
            // Someone approved first (the rollout has not taken it in yet): their approval
            // released the gate, and it stays theirs.
            if let Some(first) = &marker.approved {
                return Ok(Amended::Already(format!(
                    "already approved by {first}: the rollout of {} on {alias} goes on from step {}/{}",
                    marker.plan, marker.step, marker.steps
                )));
            }
            amended.approved = Some(by.to_string());
        }
    }
    Ok(Amended::To(Box::new(amended)))
}

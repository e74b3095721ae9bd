//! Alias writes: every one passes the RevisionId last read, so a change made by anyone else in
//! between stops the rollout instead of being overwritten, and carries the lease marker while
//! the run holds it. A step writes the aliases of all its targets at once ([`Engine::each`]),
//! at the pace the rate limiter below allows.

use std::collections::BTreeMap;

use super::events::EventKind;
use super::reasons::{Cause, Change, Fault};
use super::stop::{cloud_on, Stop, WriteError};
use super::{concurrently, first_error, Engine, Target, ALLOCATION_DEADLINE};
use crate::cloud::{AliasUpdate, Allocation, Clock, CloudError, LambdaApi, MetricsApi};
use crate::plan::{Millis, Percent};

/// How often one write is tried again when people keep asking things of the rollout in between.
const ASKED_RETRIES: usize = 3;

impl<L: LambdaApi, M: MetricsApi, C: Clock> Engine<'_, L, M, C> {
    /// `shift P% to new` on every target that has a new version.
    pub(super) async fn shift(&mut self, weight: Percent) -> Result<(), Stop> {
        self.move_traffic(|t| {
            let new = t.new.clone().expect("checked: shift after a version");
            (t.old.clone(), BTreeMap::from([(new, weight.as_weight())]))
        })
        .await?;
        self.progress.first_traffic.get_or_insert(self.now());
        Ok(())
    }

    /// Writes the alias of every active target to what `routing` says of it (its primary and
    /// additional versions), then waits until provisioned concurrency, where there is any, is
    /// allocated for the new weights. The fleet has its new weight once the last write is done:
    /// counts begin there for every target, so that one evaluation reads them all over the same
    /// time range (one `GetMetricData` request has one range).
    pub(super) async fn move_traffic(
        &mut self,
        routing: impl Fn(&Target) -> (String, BTreeMap<String, f64>),
    ) -> Result<(), Stop> {
        loop {
            let results = self
                .each(async |engine, t| {
                    if !t.active {
                        return Ok::<(), WriteError>(());
                    }
                    let (version, routing) = routing(t);
                    engine.write_moving(t, version, routing, true).await
                })
                .await;
            // Paused as it moved: hold (health still judged), then move the rest.
            if results.iter().any(|r| matches!(r, Err(WriteError::Paused))) {
                let health = self.playbook.health.clone();
                self.hold_while_paused(&health).await?;
                continue;
            }
            first_error(results).map_err(Stop::from)?;
            break;
        }
        let now = self.services.clock.epoch();
        for t in self.progress.targets.iter_mut().filter(|t| t.active) {
            t.weight_since = now;
            t.first_weight.get_or_insert(now);
        }
        self.wait_allocated().await
    }

    /// Runs `work` on every target at once, each with the engine and its own target, and gives
    /// each one's output in target order.
    pub(super) async fn each<T>(&mut self, work: impl AsyncFn(&Self, &mut Target) -> T) -> Vec<T> {
        let mut targets = std::mem::take(&mut self.progress.targets);
        // While they are out, the engine is only read: `work` has each target to itself.
        let engine: &Self = self;
        let out = concurrently(targets.iter_mut().map(|t| work(engine, t))).await;
        self.progress.targets = targets;
        out
    }

    /// Polls the provisioned concurrency of every active target's alias that has some until it
    /// is allocated, renewing the lease meanwhile.
    async fn wait_allocated(&mut self) -> Result<(), Stop> {
        let clock = self.services.clock;
        let deadline = Millis(clock.now().0 + ALLOCATION_DEADLINE.0);
        let mut pause = self.settings.poll;
        let mut waiting: Vec<usize> = (0..self.progress.targets.len())
            .filter(|&i| self.progress.targets[i].active && self.progress.targets[i].provisioned)
            .collect();
        while !waiting.is_empty() {
            let (targets, lambda) = (&self.progress.targets, self.services.lambda);
            let polls = concurrently(waiting.iter().map(|&i| {
                let t = &targets[i];
                async move {
                    lambda
                        .provisioned(&t.function, &t.alias)
                        .await
                        .map_err(|error| cloud_on(&t.function, error))
                }
            }))
            .await;
            let mut still = Vec::new();
            for (i, poll) in waiting.into_iter().zip(polls) {
                let t = &self.progress.targets[i];
                let (function, alias) = (t.function.clone(), t.alias.clone());
                let Some(p) = poll? else {
                    continue;
                };
                match p.status {
                    Allocation::Ready => self.emit(EventKind::Provisioned {
                        function,
                        alias,
                        requested: p.requested,
                        allocated: p.allocated,
                        ready: true,
                    }),
                    Allocation::Failed(reason) => {
                        return Err(Stop::fail(Cause::AllocationFailed {
                            function,
                            alias,
                            reason,
                        }))
                    }
                    Allocation::InProgress if clock.now() >= deadline => {
                        return Err(Stop::Cloud(Fault::StillUpdating {
                            function: format!("the provisioned concurrency of {function}:{alias}"),
                            after: ALLOCATION_DEADLINE,
                        }))
                    }
                    Allocation::InProgress => still.push(i),
                }
            }
            waiting = still;
            if waiting.is_empty() {
                break;
            }
            if clock.interrupted() {
                return Err(Stop::Interrupted);
            }
            clock.sleep(pause).await;
            pause = Millis((pause.0 * 2).min(self.settings.poll.0 * 10));
            self.beat().await?;
        }
        Ok(())
    }

    /// All traffic back to `old` on every alias that does not serve it alone already; the lease
    /// goes with the same write.
    pub(super) async fn restore_old(&mut self) -> Result<(), WriteError> {
        self.lease.holding = false;
        let results = self
            .each(async |engine, t| {
                if t.gone || (t.current.version == t.old && t.current.routing.is_empty()) {
                    return Ok(());
                }
                let old = t.old.clone();
                engine.write(t, old, BTreeMap::new()).await
            })
            .await;
        first_error(results)
    }

    /// Writes the alias of `t`, passing the RevisionId last read. When an earlier write of
    /// ours failed without an answer and this one meets a changed RevisionId, the alias is read:
    /// if it holds that earlier write, the change was ours, and this write goes on from there.
    pub(super) async fn write(
        &self,
        t: &mut Target,
        version: String,
        routing: BTreeMap<String, f64>,
    ) -> Result<(), WriteError> {
        self.write_moving(t, version, routing, false).await
    }

    /// [`Self::write`]; when it `moves` traffic and a person paused the rollout in between, it
    /// is not made ([`WriteError::Paused`]).
    async fn write_moving(
        &self,
        t: &mut Target,
        version: String,
        routing: BTreeMap<String, f64>,
        moves: bool,
    ) -> Result<(), WriteError> {
        let description = Some(self.description(t).map_err(WriteError::Refuse)?);
        let (function, alias, before) = (t.function.clone(), t.alias.clone(), t.current.clone());
        let mut update = AliasUpdate {
            version,
            routing,
            revision_id: before.revision_id.clone(),
            description,
        };
        let lambda = self.services.lambda;
        let mut result = lambda.update_alias(&function, &alias, &update).await;
        if let (Err(CloudError::Stale(_)), Some(unsure)) = (&result, &t.unsure) {
            if let Ok(now) = lambda.get_alias(&function, &alias).await {
                if unsure.written_in(&now) {
                    update.revision_id = now.revision_id.clone();
                    result = lambda.update_alias(&function, &alias, &update).await;
                }
            }
        }
        // A person asked something of the rollout (`rollout pause`, `resume`, `promote`,
        // `approve`) in between: take it up and write again, carrying it on.
        for _ in 0..ASKED_RETRIES {
            if !matches!(result, Err(CloudError::Stale(_))) {
                break;
            }
            let Ok(now) = lambda.get_alias(&function, &alias).await else {
                break;
            };
            if !self.only_asked(t, &now) {
                break;
            }
            t.current = now;
            if moves && self.carried(t).0.paused.is_some() {
                return Err(WriteError::Paused);
            }
            update.revision_id = t.current.revision_id.clone();
            update.description = Some(self.description(t).map_err(WriteError::Refuse)?);
            result = lambda.update_alias(&function, &alias, &update).await;
        }
        t.unsure = match &result {
            Err(CloudError::Transient(_)) => Some(update),
            _ => None,
        };
        match result {
            Ok(after) => {
                t.current = after.clone();
                self.emit(EventKind::AliasUpdated {
                    function,
                    before,
                    after,
                });
                Ok(())
            }
            Err(CloudError::Stale(message)) => Err(WriteError::Conflict(Change::Written {
                function,
                alias,
                message,
            })),
            Err(error) => {
                t.gone |= matches!(error, CloudError::NotFound(_));
                Err(WriteError::Cloud(Fault::On { function, error }))
            }
        }
    }

    /// Whether any target's `new` has traffic.
    pub(super) fn traffic_on_new(&self) -> bool {
        self.progress.targets.iter().any(|t| {
            t.active
                && (t.current.additional().is_some() || t.new.as_ref() == Some(&t.current.version))
        })
    }
}

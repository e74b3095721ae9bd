//! Alias writes: every one passes the RevisionId last read, so a change made by anyone else in
//! between stops the rollout instead of being overwritten, and carries the lease marker while
//! the run holds it.

use std::collections::BTreeMap;

use super::events::EventKind;
use super::reasons::{Cause, Change, Fault};
use super::stop::{cloud, Stop, WriteError};
use super::{Engine, ALLOCATION_DEADLINE};
use crate::cloud::{AliasUpdate, Allocation, Clock, CloudError, LambdaApi, MetricsApi};
use crate::plan::{Millis, Percent};

impl<L: LambdaApi, M: MetricsApi, C: Clock> Engine<'_, L, M, C> {
    /// `shift P% to new` on every target that has a new version.
    pub(super) async fn shift(&mut self, weight: Percent) -> Result<(), Stop> {
        for i in 0..self.progress.targets.len() {
            if !self.progress.targets[i].active {
                continue;
            }
            let t = &self.progress.targets[i];
            let new = t.new.clone().expect("checked: shift after a version");
            let routing = BTreeMap::from([(new, weight.as_weight())]);
            let old = t.old.clone();
            self.move_traffic(i, old, routing).await?;
        }
        self.progress.first_traffic.get_or_insert(self.now());
        Ok(())
    }

    /// Writes the alias of target `i` to move traffic, and waits until provisioned concurrency,
    /// if any, is allocated for the new weights.
    pub(super) async fn move_traffic(
        &mut self,
        i: usize,
        version: String,
        routing: BTreeMap<String, f64>,
    ) -> Result<(), Stop> {
        self.write_alias(i, version, routing).await?;
        self.progress.targets[i].weight_since = self.services.clock.epoch();
        if self.progress.targets[i].provisioned {
            self.wait_allocated(i).await?;
        }
        Ok(())
    }

    /// Polls the provisioned concurrency of target `i`'s alias until it is allocated, renewing
    /// the lease meanwhile.
    async fn wait_allocated(&mut self, i: usize) -> Result<(), Stop> {
        let t = &self.progress.targets[i];
        let (function, alias) = (t.function.clone(), t.alias.clone());
        let clock = self.services.clock;
        let deadline = Millis(clock.now().0 + ALLOCATION_DEADLINE.0);
        let mut pause = self.settings.poll;
        loop {
            let Some(p) = self
                .services
                .lambda
                .provisioned(&function, &alias)
                .await
                .map_err(cloud)?
            else {
                return Ok(());
            };
            match p.status {
                Allocation::Ready => {
                    self.emit(EventKind::Provisioned {
                        function,
                        alias,
                        requested: p.requested,
                        allocated: p.allocated,
                        ready: true,
                    });
                    return Ok(());
                }
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
                Allocation::InProgress => {
                    if clock.interrupted() {
                        return Err(Stop::Interrupted);
                    }
                    clock.sleep(pause).await;
                    pause = Millis((pause.0 * 2).min(self.settings.poll.0 * 10));
                    self.beat().await?;
                }
            }
        }
    }

    /// All traffic back to `old` on every alias that does not serve it alone already; the lease
    /// goes with the same write.
    pub(super) async fn restore_old(&mut self) -> Result<(), WriteError> {
        self.lease.holding = false;
        for i in 0..self.progress.targets.len() {
            let t = &self.progress.targets[i];
            if t.current.version == t.old && t.current.routing.is_empty() {
                continue;
            }
            let old = t.old.clone();
            self.write_alias(i, old, BTreeMap::new()).await?;
        }
        Ok(())
    }

    /// Writes the alias of target `i`, passing the RevisionId last read. When an earlier write of
    /// ours failed without an answer and this one meets a changed RevisionId, the alias is read:
    /// if it holds that earlier write, the change was ours, and this write goes on from there.
    pub(super) async fn write_alias(
        &mut self,
        i: usize,
        version: String,
        routing: BTreeMap<String, f64>,
    ) -> Result<(), WriteError> {
        let description = Some(self.description(i).map_err(WriteError::Refuse)?);
        let t = &self.progress.targets[i];
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
        let t = &mut self.progress.targets[i];
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
            Err(other) => Err(WriteError::Cloud(Fault::Call(other))),
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

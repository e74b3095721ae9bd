//! `approve` gates: released after a fixed time (simulation), at once (`--auto-approve`), by a
//! person at the prompt the caller passes in, or by `rollout approve` from any machine. While a
//! gate waits with traffic on `new`, health is judged and a failure fails the step.

use super::events::EventKind;
use super::reasons::{Cause, Change};
use super::stop::{cloud, Stop, WriteError};
use super::{Approval, Ask, Engine};
use crate::cloud::lease::Marker;
use crate::cloud::{Clock, LambdaApi, MetricsApi};
use crate::plan::{HealthSpec, Millis};

impl<L: LambdaApi, M: MetricsApi, C: Clock> Engine<'_, L, M, C> {
    /// `approve ["message"]`.
    pub(super) async fn approve(
        &mut self,
        message: Option<&str>,
        health: &HealthSpec,
    ) -> Result<(), Stop> {
        self.emit(EventKind::ApprovalRequested {
            message: message.map(str::to_string),
        });
        let by = match self.settings.approval {
            Approval::After(after) => {
                if after.0 > 0 {
                    if self.traffic_on_new() {
                        self.watch(after, health).await?;
                    } else {
                        self.services.clock.sleep(after).await;
                    }
                }
                format!("simulation, after {after}")
            }
            Approval::Auto => "--auto-approve".to_string(),
            Approval::Prompt(ask) => {
                let question = message.unwrap_or("Go on with the rollout?").to_string();
                if !self.prompt(ask, question, health).await? {
                    return Err(Stop::fail(Cause::ApprovalRefused));
                }
                "the terminal".to_string()
            }
            Approval::Remote => {
                let who = self.await_approval(health).await?;
                format!("{who} (`rollout approve`)")
            }
        };
        self.emit(EventKind::Approved { by });
        Ok(())
    }

    /// Asks a person while judging health every interval; true only for a yes.
    async fn prompt(
        &mut self,
        ask: Ask,
        question: String,
        health: &HealthSpec,
    ) -> Result<bool, Stop> {
        let settlement = self.settlement(health);
        self.start_judging(&settlement);
        let mut answer = tokio::task::spawn_blocking(move || ask(&question));
        loop {
            let answered = tokio::select! {
                result = &mut answer => Some(result.unwrap_or(false)),
                _ = self.services.clock.sleep(health.every) => None,
            };
            if let Some(yes) = answered {
                return Ok(yes);
            }
            if self.services.clock.interrupted() {
                return Err(Stop::Interrupted);
            }
            if self.traffic_on_new() {
                self.judge_open(health, &settlement).await?;
            }
        }
    }

    /// Marks the gate open in the lease and waits until `rollout approve` records who approved
    /// on the first alias, judging health every interval while `new` has traffic; returns who.
    async fn await_approval(&mut self, health: &HealthSpec) -> Result<String, Stop> {
        let settlement = self.settlement(health);
        self.start_judging(&settlement);
        self.lease.gate = true;
        self.hold_all().await?;
        let poll = Millis(health.every.0.min(5_000));
        let mut since_evaluation = Millis(0);
        loop {
            self.services.clock.sleep(poll).await;
            if self.services.clock.interrupted() {
                return Err(Stop::Interrupted);
            }
            let t = &self.progress.targets[0];
            let (function, alias) = (t.function.clone(), t.alias.clone());
            let now = self
                .services
                .lambda
                .get_alias(&function, &alias)
                .await
                .map_err(cloud)?;
            let (_, marker) = Marker::parse(&now.description);
            let ours = marker
                .as_ref()
                .is_some_and(|m| m.held_by(&self.settings.holder, self.settings.id.as_deref()));
            let t = &self.progress.targets[0];
            if now.version != t.current.version || now.routing != t.current.routing || !ours {
                return Err(Stop::conflict(Change::AtGate {
                    function,
                    alias,
                    serves: now,
                }));
            }
            // `rollout approve` wrote the marker: carry on from its RevisionId.
            self.progress.targets[0].current = now;
            if let Some(by) = marker.and_then(|m| m.approved) {
                self.lease.gate = false;
                return Ok(by);
            }
            since_evaluation = Millis(since_evaluation.0 + poll.0);
            if since_evaluation >= health.every && self.traffic_on_new() {
                since_evaluation = Millis(0);
                if let Err(stop) = self.judge_open(health, &settlement).await {
                    self.lease.gate = false;
                    return Err(stop);
                }
            }
            match self.beat().await {
                Ok(()) => {}
                // `rollout approve` wrote the alias between our read and this heartbeat: read it
                // again, and beat from its RevisionId; anyone else's change shows there too.
                Err(WriteError::Conflict(_)) => {}
                Err(other) => return Err(other.into()),
            }
        }
    }
}

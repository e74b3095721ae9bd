//! Writing the lease: the marker ([`crate::cloud::lease::Marker`]) goes into the description of
//! every alias write while the run holds it; steps that write no alias record themselves with a
//! write of their own, waits renew it as a heartbeat, and the end of the run clears it.

use super::reasons::Refusal;
use super::stop::WriteError;
use super::Engine;
use crate::cloud::lease::Marker;
use crate::cloud::{Clock, LambdaApi, MetricsApi};
use crate::plan::StepKind;

impl<L: LambdaApi, M: MetricsApi, C: Clock> Engine<'_, L, M, C> {
    /// The alias description to write: the user's text, with the lease marker while holding.
    pub(super) fn description(&self, i: usize) -> Result<String, Refusal> {
        let t = &self.progress.targets[i];
        if !self.lease.holding {
            return Ok(t.user_description.clone());
        }
        let marker = Marker {
            holder: self.settings.holder.clone(),
            plan: self.playbook.name.clone(),
            step: self.progress.step,
            steps: self.playbook.steps,
            old: t.old.clone(),
            new: t.new.clone(),
            step_started: self.progress.step_started,
            beat: self.services.clock.unix(),
            gate: self.lease.gate,
            approved: None,
        };
        marker
            .describe(&t.user_description)
            .ok_or_else(|| Refusal::DescriptionTooLong {
                function: t.function.clone(),
                alias: t.alias.clone(),
                length: t.user_description.chars().count(),
            })
    }

    /// Rewrites the lease marker of target `i`, leaving its routing as it is.
    pub(super) async fn hold(&mut self, i: usize) -> Result<(), WriteError> {
        let current = &self.progress.targets[i].current;
        let (version, routing) = (current.version.clone(), current.routing.clone());
        self.write_alias(i, version, routing).await?;
        self.lease.last_beat = self.services.clock.unix();
        Ok(())
    }

    /// Records the step in the lease before it runs, unless the step's own alias write will.
    pub(super) async fn mark(&mut self, step: &StepKind) {
        if matches!(
            step,
            StepKind::Shift { .. } | StepKind::Ramp { .. } | StepKind::Promote | StepKind::Rollback
        ) {
            return;
        }
        // A failed mark is not a reason to stop: the next write carries the marker again, and
        // a conflict surfaces at that write.
        for i in 0..self.progress.targets.len() {
            let _ = self.hold(i).await;
        }
    }

    /// Renews the lease, while it is held, when the last heartbeat is older than the interval.
    pub(super) async fn beat(&mut self) -> Result<(), WriteError> {
        if !self.lease.holding {
            return Ok(());
        }
        let since = self
            .services
            .clock
            .unix()
            .saturating_sub(self.lease.last_beat);
        if since * 1000 < self.settings.heartbeat.0 {
            return Ok(());
        }
        self.hold_all().await
    }

    /// Rewrites the marker of every alias.
    pub(super) async fn hold_all(&mut self) -> Result<(), WriteError> {
        for i in 0..self.progress.targets.len() {
            self.hold(i).await?;
        }
        Ok(())
    }

    /// Clears the lease marker from every alias that still carries it.
    pub(super) async fn release(&mut self) -> Result<(), WriteError> {
        self.lease.holding = false;
        for i in 0..self.progress.targets.len() {
            let t = &self.progress.targets[i];
            if t.current.description != t.user_description {
                self.hold(i).await?;
            }
        }
        Ok(())
    }
}

//! Writing the lease: the marker ([`crate::cloud::lease::Marker`]) goes into the description of
//! every alias write while the run holds it; steps that write no alias record themselves with a
//! write of their own, waits renew it as a heartbeat, and the end of the run clears it.

use super::reasons::Refusal;
use super::stop::WriteError;
use super::{first_error, Engine, Target};
use crate::cloud::lease::Marker;
use crate::cloud::{Clock, LambdaApi, MetricsApi};
use crate::plan::{calls, Millis, StepKind};

impl<L: LambdaApi, M: MetricsApi, C: Clock> Engine<'_, L, M, C> {
    /// The alias description to write for `t`: the user's text, with the lease marker while
    /// holding.
    pub(super) fn description(&self, t: &Target) -> Result<String, Refusal> {
        if !self.lease.holding {
            return Ok(t.user_description.clone());
        }
        let (mut control, approved) = self.carried(t);
        if let Some(own) = &self.lease.control.own {
            control.paused.get_or_insert_with(|| own.clone());
        }
        let marker = Marker {
            holder: self.settings.holder.clone(),
            id: self.settings.id.clone(),
            plan: self.playbook.name.clone(),
            fingerprint: Some(self.playbook.fingerprint.clone()),
            step: self.progress.step,
            steps: self.playbook.steps,
            old: t.old.clone(),
            new: t.new.clone(),
            step_started: self.progress.step_started,
            beat: self.services.clock.unix(),
            gate: self.lease.gate,
            approved,
            control,
        };
        // What people asked may have filled the room the marker needs as it grows (`new`
        // chosen, more steps): their words give way first, then who asked.
        let shortest = || {
            let mut m = marker.clone();
            m.control.resumed_by = None;
            if let Some(p) = m.control.paused.as_mut() {
                p.reason = None;
                p.by = p.by.chars().take(8).collect();
            }
            if let Some(s) = m.control.skip.as_mut() {
                s.by = "-".to_string();
            }
            m.describe(&t.user_description)
        };
        marker
            .describe(&t.user_description)
            .or_else(shortest)
            .ok_or_else(|| Refusal::DescriptionTooLong {
                function: t.function.clone(),
                alias: t.alias.clone(),
                length: t.user_description.chars().count(),
            })
    }

    /// Rewrites the lease marker of `t`, leaving its routing as it is.
    async fn hold(&self, t: &mut Target) -> Result<(), WriteError> {
        let (version, routing) = (t.current.version.clone(), t.current.routing.clone());
        self.write(t, version, routing).await
    }

    /// Records the step in the lease before it runs, when its calls start with a mark (the
    /// others' own first alias write records it).
    pub(super) async fn mark(&mut self, step: &StepKind) {
        if !calls::of(step).marks() {
            return;
        }
        // A failed mark is not a reason to stop: the next write carries the marker again, and
        // a conflict surfaces at that write.
        let _ = self.hold_all().await;
    }

    /// Renews the lease, while it is held, when the last heartbeat is older than the interval.
    /// A fleet's heartbeat (one write per alias, at the pace of calls) comes less often, so that
    /// it takes at most a quarter of the calls, but always well within `stale_after`.
    pub(super) async fn beat(&mut self) -> Result<(), WriteError> {
        if !self.lease.holding {
            return Ok(());
        }
        let since = self
            .services
            .clock
            .unix()
            .saturating_sub(self.lease.last_beat);
        let interval = (self.lease.sweep.0 * 4)
            .min(self.settings.stale_after.0 / 2)
            .max(self.settings.heartbeat.0);
        if since * 1000 < interval {
            return Ok(());
        }
        self.hold_all().await
    }

    /// Rewrites the marker of every alias, all at once; every one is tried, and the first
    /// failure is the answer.
    pub(super) async fn hold_all(&mut self) -> Result<(), WriteError> {
        let began = self.services.clock.now();
        let results = self.each(async |engine, t| engine.hold(t).await).await;
        self.lease.sweep = Millis(self.services.clock.now().0.saturating_sub(began.0));
        self.lease.last_beat = self.services.clock.unix();
        first_error(results)
    }

    /// Rewrites the marker of each target for which `publish` found nothing new, which no step
    /// writes any more: a kept lease then says the step reached on every alias.
    pub(super) async fn hold_inactive(&mut self) -> Result<(), WriteError> {
        let results = self
            .each(async |engine, t| {
                if t.active || t.gone {
                    return Ok(());
                }
                engine.hold(t).await
            })
            .await;
        first_error(results)
    }

    /// Clears the lease marker from every alias that still carries it.
    pub(super) async fn release(&mut self) -> Result<(), WriteError> {
        self.lease.holding = false;
        let results = self
            .each(async |engine, t| {
                if t.gone || t.current.description == t.user_description {
                    return Ok(());
                }
                engine.hold(t).await
            })
            .await;
        first_error(results)
    }
}

//! The step a resumed rollout stopped in: time already spent counts, a chosen `new` is not
//! published again, and health is judged again before any more traffic moves.

use super::stop::Stop;
use super::Engine;
use crate::cloud::{Clock, LambdaApi, MetricsApi};
use crate::plan::{HealthSpec, Millis, Percent, StepKind};

impl<L: LambdaApi, M: MetricsApi, C: Clock> Engine<'_, L, M, C> {
    /// Runs the rest of `step`, which began at `started` (Unix seconds) in the run that died.
    pub(super) async fn resume_step(
        &mut self,
        step: &StepKind,
        health: &HealthSpec,
        started: u64,
    ) -> Result<(), Stop> {
        let spent = Millis(self.services.clock.unix().saturating_sub(started) * 1000);
        let chosen = self.progress.targets.iter().all(|t| t.new.is_some());
        match step {
            StepKind::Publish { .. }
            | StepKind::UseVersion { .. }
            | StepKind::UpdateCode { .. }
                if chosen =>
            {
                Ok(())
            }
            StepKind::Wait { duration } => {
                let left = Millis(duration.0.saturating_sub(spent.0));
                self.wait(left.max(Millis(1))).await
            }
            StepKind::Bake { duration, shortest } => {
                // At least one interval of traffic judged again, whatever time has passed.
                let floor = health.every.min(*duration);
                let left = Millis(duration.0.saturating_sub(spent.0)).max(floor);
                let shortest = shortest.map(|s| Millis(s.0.saturating_sub(spent.0)).max(floor));
                let shortest = shortest.filter(|s| *s < left);
                self.bake(left, shortest, health).await
            }
            StepKind::Watch { duration } => {
                // The rest of the watch, at least one interval, against the hour before it began.
                let floor = health.every.min(*duration);
                let left = Millis(duration.0.saturating_sub(spent.0)).max(floor);
                self.watch_promoted(left, health, Some(Millis(started * 1000)))
                    .await?;
                self.promoted().await
            }
            StepKind::Ramp {
                increments, every, ..
            } => {
                let weight = self
                    .progress
                    .targets
                    .iter()
                    .filter_map(|t| {
                        t.current
                            .additional()
                            .map(|(_, w)| Percent((w * 10_000.0).round() as u32))
                    })
                    .max()
                    .unwrap_or(Percent(0));
                if weight.0 > 0 {
                    self.bake(*every, None, health).await?;
                }
                let left: Vec<Percent> = increments
                    .iter()
                    .filter(|w| **w > weight)
                    .copied()
                    .collect();
                self.ramp(&left, *every, health).await
            }
            StepKind::Shift { .. } | StepKind::Promote if self.traffic_on_new() => {
                self.bake(health.every, None, health).await?;
                self.step(step, health).await
            }
            other => self.step(other, health).await,
        }
    }
}

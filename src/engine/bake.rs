//! Judging health over time: an evaluation of every target every interval, the first failing
//! one stopping the rollout, and at the end of a bake the rule for passing (the latest
//! conclusive evaluation of each target passed, or the inconclusive policy).

use std::collections::BTreeSet;

use super::events::EventKind;
use super::health::{conclude, measure, CheckResult, Evaluation, Verdict, Versions};
use super::reasons::Cause;
use super::stop::{cloud, Stop};
use super::Engine;
use crate::cloud::{Clock, LambdaApi, MetricsApi};
use crate::plan::{Check, HealthSpec, Inconclusive, Millis};

impl<L: LambdaApi, M: MetricsApi, C: Clock> Engine<'_, L, M, C> {
    /// `wait D until healthy`.
    pub(super) async fn bake(&mut self, duration: Millis, health: &HealthSpec) -> Result<(), Stop> {
        self.emit(EventKind::Waiting {
            duration_ms: duration,
            judged: true,
        });
        self.judge_for(duration, health, true).await
    }

    /// Judges health every interval for `duration`. Any failing evaluation stops at once; when
    /// `decide`, the end needs a passing latest conclusive evaluation of every target (or the
    /// inconclusive policy).
    pub(super) async fn judge_for(
        &mut self,
        duration: Millis,
        health: &HealthSpec,
        decide: bool,
    ) -> Result<(), Stop> {
        let mut waited = Millis(0);
        let mut passed: BTreeSet<String> = BTreeSet::new();
        while waited < duration {
            let pause = Millis(health.every.0.min(duration.0 - waited.0));
            self.services.clock.sleep(pause).await;
            if self.services.clock.interrupted() {
                return Err(Stop::Interrupted);
            }
            self.beat().await?;
            waited = Millis(waited.0 + pause.0);
            passed.extend(self.judge_once(health).await?);
        }
        if !decide {
            return Ok(());
        }
        let unjudged: Vec<String> = self
            .progress
            .targets
            .iter()
            .filter(|t| t.active && !passed.contains(&t.function))
            .map(|t| t.function.clone())
            .collect();
        if unjudged.is_empty() {
            self.emit(EventKind::BakePassed {
                reason: format!("healthy for {duration}"),
            });
            return Ok(());
        }
        match health.inconclusive {
            Inconclusive::Pass => {
                self.emit(EventKind::BakePassed {
                    reason: format!(
                        "no conclusive evaluation of {} and `inconclusive pass`",
                        unjudged.join(", ")
                    ),
                });
                Ok(())
            }
            Inconclusive::Fail => {
                self.progress.detected = Some(self.now());
                Err(Stop::fail(Cause::Inconclusive {
                    functions: unjudged,
                    duration,
                }))
            }
        }
    }

    /// One evaluation of every active target, each an event; the first failing one fails the
    /// step. Returns the functions that passed.
    pub(super) async fn judge_once(&mut self, health: &HealthSpec) -> Result<Vec<String>, Stop> {
        let mut passed = Vec::new();
        for i in 0..self.progress.targets.len() {
            if !self.progress.targets[i].active {
                continue;
            }
            let evaluation = self.evaluate(health, i).await?;
            self.emit(EventKind::HealthEvaluated(evaluation.clone()));
            match evaluation.verdict {
                Verdict::Fail => {
                    self.progress.detected = Some(self.now());
                    self.progress.failed_target = i;
                    return Err(Stop::fail(Cause::Unhealthy(evaluation)));
                }
                Verdict::Pass => passed.push(evaluation.function),
                Verdict::Inconclusive => {}
            }
        }
        Ok(passed)
    }

    /// One health evaluation of target `i`: metrics and alarms, then script checks.
    async fn evaluate(&mut self, health: &HealthSpec, i: usize) -> Result<Evaluation, Stop> {
        let t = self.progress.targets[i].clone();
        let new = t.new.clone().unwrap_or_default();
        let versions = Versions {
            function: &t.function,
            alias: &t.alias,
            old: &t.old,
            new: &new,
        };
        let measured = measure(self.services.metrics, health, &versions)
            .await
            .map_err(cloud)?;
        let mut checks = Vec::new();
        for (check, result) in health.checks.iter().zip(measured.checks) {
            let result = match (check, result) {
                (_, Some(result)) => result,
                (Check::Script { script }, None) => {
                    let verdict = self.run_hook(script, i).await;
                    CheckResult {
                        check: check.to_string(),
                        verdict: if verdict.healthy() {
                            Verdict::Pass
                        } else {
                            Verdict::Fail
                        },
                        detail: format!("{}: {verdict}", script.name),
                    }
                }
                (_, None) => unreachable!("only script checks are left to the engine"),
            };
            checks.push(result);
        }
        Ok(conclude(health, &versions, measured.invocations, checks))
    }
}

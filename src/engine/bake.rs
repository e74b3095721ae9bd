//! Judging health over time. A bake `wait D until healthy` judges D of traffic on `new`: it lasts
//! until the periods holding that traffic have settled, evaluating each target whenever a newer
//! period has. Any failing evaluation stops the rollout at once; at the end the bake passes unless
//! a check was violated, provided `min invocations` of `new` were seen and every check judged per
//! window (alarms, scripts) passed at least once, else the inconclusive policy decides. An
//! adaptive bake `wait MIN..MAX until healthy` passes as soon as every target's evaluation passes
//! (count checks confidently met) once MIN of traffic has settled.

use std::collections::{BTreeMap, BTreeSet};

use super::events::EventKind;
use super::health::{
    conclude, measure_all, unread, CheckResult, Evaluation, Measured, Settled, Verdict, Versions,
};
use super::reasons::Cause;
use super::stop::{cloud, Stop};
use super::Engine;
use crate::cloud::{Clock, LambdaApi, MetricsApi};
use crate::judge::sequential::Look;
use crate::judge::settle::Settlement;
use crate::plan::{Check, HealthSpec, Inconclusive, Millis};

/// How long past a bake's end its last look may take before what AWS has not answered counts
/// as not read.
const LOOK_GRACE: Millis = Millis(30_000);

impl<L: LambdaApi, M: MetricsApi, C: Clock> Engine<'_, L, M, C> {
    /// `wait D until healthy`, or with `shortest`, `wait MIN..MAX until healthy`.
    pub(super) async fn bake(
        &mut self,
        duration: Millis,
        shortest: Option<Millis>,
        health: &HealthSpec,
    ) -> Result<(), Stop> {
        let settlement = self.settlement(health);
        let clock = self.services.clock;
        let start = clock.epoch();
        let end = settlement.settles(Millis(start.0 + duration.0));
        let early = shortest.map(|s| settlement.settles(Millis(start.0 + s.0)));
        self.emit(EventKind::Waiting {
            duration_ms: Millis(end.0 - start.0),
            judged: true,
            traffic_ms: Some(duration),
            shortest_ms: shortest,
            delay_ms: Some(settlement.delay),
        });
        self.start_judging(&settlement);
        // Functions whose checks judged per window (and alarms, scripts) have all passed at
        // least once in this bake, and the latest evaluation of each function.
        let mut rest_passed: BTreeSet<String> = BTreeSet::new();
        let mut latest: BTreeMap<String, Evaluation> = BTreeMap::new();
        let mut looked = start;
        loop {
            // Look when a period settles, at most every `every`, and at the end.
            let now = clock.epoch();
            let next = settlement
                .next_settle(Millis(looked.0 + health.every.0))
                .min(end);
            clock.sleep(Millis(next.0.saturating_sub(now.0))).await;
            looked = clock.epoch();
            if clock.interrupted() {
                return Err(Stop::Interrupted);
            }
            let last = clock.epoch() >= end;
            let look = Look {
                alpha: self.playbook.alpha,
                bounded: true,
                last,
            };
            // A look may not hold the bake past its end: what AWS has not answered by then is
            // not read.
            let limit = Millis(end.0.saturating_sub(clock.epoch().0) + LOOK_GRACE.0);
            let judged = clock
                .within(limit, self.judge_once(health, look, &settlement, last))
                .await;
            let (evaluations, cut) = match judged {
                Some(evaluations) => (evaluations?, false),
                None => (
                    self.unread_all(
                        health,
                        &settlement,
                        "no answer from AWS before the bake's end",
                    ),
                    true,
                ),
            };
            for evaluation in evaluations {
                if super::health::rest_all_passed(health, &evaluation.checks) {
                    rest_passed.insert(evaluation.function.clone());
                }
                latest.insert(evaluation.function.clone(), evaluation);
            }
            if last || cut {
                break;
            }
            let confident = self
                .active()
                .all(|f| latest.get(f).is_some_and(|e| e.verdict == Verdict::Pass));
            if early.is_some_and(|e| clock.epoch() >= e) && confident {
                let waited = Millis(clock.epoch().0 - start.0);
                self.emit(EventKind::BakePassed {
                    reason: format!("every check confidently met after {waited}"),
                });
                return Ok(());
            }
            // After the look, so that renewing a fleet's lease never delays a verdict.
            self.beat().await?;
        }
        let unjudged: Vec<String> = self
            .active()
            .filter(|f| {
                let enough = latest
                    .get(*f)
                    .and_then(|e| e.invocations)
                    .is_some_and(|n| n >= health.min_invocations as f64);
                !(enough && rest_passed.contains(*f))
            })
            .map(str::to_string)
            .collect();
        if unjudged.is_empty() {
            self.emit(EventKind::BakePassed {
                reason: format!("no check violated in {duration} of traffic"),
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

    /// Judges health every interval for `duration` while something else is awaited (an approval
    /// after a set time): any failing evaluation stops at once, nothing else is decided.
    pub(super) async fn watch(
        &mut self,
        duration: Millis,
        health: &HealthSpec,
    ) -> Result<(), Stop> {
        let settlement = self.settlement(health);
        self.start_judging(&settlement);
        let clock = self.services.clock;
        let mut waited = Millis(0);
        while waited < duration {
            let pause = Millis(health.every.0.min(duration.0 - waited.0));
            clock.sleep(pause).await;
            if clock.interrupted() {
                return Err(Stop::Interrupted);
            }
            self.beat().await?;
            waited = Millis(waited.0 + pause.0);
            self.judge_open(health, &settlement).await?;
        }
        Ok(())
    }

    /// One look in a phase without a known end (an approval gate): fails on a violation.
    pub(super) async fn judge_open(
        &mut self,
        health: &HealthSpec,
        settlement: &Settlement,
    ) -> Result<(), Stop> {
        let look = Look {
            alpha: self.playbook.alpha,
            bounded: false,
            last: false,
        };
        self.judge_once(health, look, settlement, false).await?;
        Ok(())
    }

    /// How periods settle for this rollout: the health block's `metrics delay`, or a minute of
    /// slack plus the longest timeout of the versions judged.
    pub(super) fn settlement(&self, health: &HealthSpec) -> Settlement {
        let delay = health.delay.unwrap_or_else(|| {
            let longest = self
                .progress
                .targets
                .iter()
                .filter(|t| t.active)
                .map(|t| t.timeout)
                .max()
                .unwrap_or_default();
            Settlement::default_delay(longest)
        });
        Settlement::new(health.every, delay)
    }

    /// Judges from here on: nothing settled so far is counted twice.
    pub(super) fn start_judging(&mut self, settlement: &Settlement) {
        for t in &mut self.progress.targets {
            t.judged_until = settlement.floor(t.weight_since);
        }
    }

    /// The active targets' function names.
    fn active(&self) -> impl Iterator<Item = &str> {
        self.progress
            .targets
            .iter()
            .filter(|t| t.active)
            .map(|t| t.function.as_str())
    }

    /// One evaluation of every active target with newly settled periods (all of them when
    /// `force`), each an event; the first failing one fails the step. The metrics of all of
    /// them are read together.
    pub(super) async fn judge_once(
        &mut self,
        health: &HealthSpec,
        look: Look,
        settlement: &Settlement,
        force: bool,
    ) -> Result<Vec<Evaluation>, Stop> {
        let now = self.services.clock.epoch();
        let mut due = Vec::new();
        for (i, t) in self.progress.targets.iter_mut().enumerate() {
            let settled = Settled {
                since: settlement.floor(t.weight_since),
                until: settlement.settled(now),
                settlement: *settlement,
            };
            if !t.active || (settled.until <= t.judged_until && !force) {
                continue;
            }
            t.judged_until = settled.until;
            due.push((i, t.clone(), settled));
        }
        if due.is_empty() {
            return Ok(Vec::new());
        }
        let news: Vec<String> = due
            .iter()
            .map(|(_, t, _)| t.new.clone().unwrap_or_default())
            .collect();
        let targets: Vec<(Versions<'_>, Settled)> = due
            .iter()
            .zip(&news)
            .map(|((_, t, settled), new)| {
                let versions = Versions {
                    function: &t.function,
                    alias: &t.alias,
                    old: &t.old,
                    new,
                };
                (versions, *settled)
            })
            .collect();
        let measured = match measure_all(self.services.metrics, health, &targets, look).await {
            Ok(measured) => measured,
            // Only a person can fix these: stop now.
            Err(error) if error.is_setup() => return Err(cloud(error)),
            Err(error) => {
                let why = format!("could not read CloudWatch: {error}");
                let unread = targets
                    .iter()
                    .map(|(versions, settled)| unread(health, versions, settled, &why));
                for evaluation in unread.clone() {
                    self.emit(EventKind::HealthEvaluated(evaluation));
                }
                return Ok(unread.collect());
            }
        };
        let mut out = Vec::new();
        for (((i, _, _), (versions, settled)), measured) in due.iter().zip(&targets).zip(measured) {
            let evaluation = self
                .conclude_target(health, *i, versions, settled, measured)
                .await;
            self.emit(EventKind::HealthEvaluated(evaluation.clone()));
            if evaluation.verdict == Verdict::Fail {
                self.progress.detected = Some(self.now());
                self.progress.failed_target = *i;
                return Err(Stop::fail(Cause::Unhealthy(evaluation)));
            }
            out.push(evaluation);
        }
        Ok(out)
    }

    /// An unread evaluation of every active target, each an event.
    fn unread_all(
        &mut self,
        health: &HealthSpec,
        settlement: &Settlement,
        why: &str,
    ) -> Vec<Evaluation> {
        let now = self.services.clock.epoch();
        let mut out = Vec::new();
        for t in self.progress.targets.clone().iter().filter(|t| t.active) {
            let new = t.new.clone().unwrap_or_default();
            let versions = Versions {
                function: &t.function,
                alias: &t.alias,
                old: &t.old,
                new: &new,
            };
            let settled = Settled {
                since: settlement.floor(t.weight_since),
                until: settlement.settled(now),
                settlement: *settlement,
            };
            let evaluation = unread(health, &versions, &settled, why);
            self.emit(EventKind::HealthEvaluated(evaluation.clone()));
            out.push(evaluation);
        }
        out
    }

    /// Target `i`'s evaluation from its measured checks, running its script checks.
    async fn conclude_target(
        &mut self,
        health: &HealthSpec,
        i: usize,
        versions: &Versions<'_>,
        settled: &Settled,
        measured: Measured,
    ) -> Evaluation {
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
                        evidence: None,
                    }
                }
                (_, None) => unreachable!("only script checks are left to the engine"),
            };
            checks.push(result);
        }
        conclude(health, versions, settled, measured.invocations, checks)
    }
}

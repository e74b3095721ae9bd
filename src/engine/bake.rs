//! Judging health over time. A bake `wait D until healthy` judges D of traffic on `new`: it lasts
//! until the periods holding that traffic have settled, evaluating each target whenever a newer
//! period has. Any failing evaluation stops the rollout at once; at the end the bake passes unless
//! a check was violated, provided `min invocations` of `new` were seen, every count check had
//! data and every check judged per window (alarms, scripts) passed at least once, else the
//! inconclusive policy decides. An adaptive bake `wait MIN..MAX until healthy` passes as soon as
//! every target's evaluation passes (count checks confidently met) once MIN of traffic has
//! settled.
//!
//! **Holds.** A period in which `old` failed as much as a check allows `new` (an outage both
//! share) is held: traffic stays, the bake's clock stops (the bake lasts that much longer), and
//! judging goes on; a failure `old` does not share still rolls back. `shared failure rollback`
//! rolls back instead, and a hold longer than `shared failure hold up to D` ends the bake
//! inconclusive.

use std::collections::{BTreeMap, BTreeSet};

use super::events::EventKind;
use super::health::{conclude, unread, CheckResult, Evaluation, Settled, Verdict, Versions};
use super::measure::{Judging, Measured};
use super::reasons::Cause;
use super::series::Warm;
use super::stop::{cloud, Stop};
use super::Engine;
use crate::cloud::{Clock, LambdaApi, MetricsApi};
use crate::judge::form::{judged, Judged};
use crate::judge::sequential::Look;
use crate::judge::settle::Settlement;
use crate::plan::{Check, HealthSpec, Inconclusive, Millis, SharedFailure};

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
        let began = clock.unix();
        // The bake's end, once `held` of its periods were held.
        let end = |held: Millis| settlement.settles(Millis(start.0 + duration.0 + held.0));
        let early = shortest.map(|s| settlement.settles(Millis(start.0 + s.0)));
        let first = self.active_weight_since().unwrap_or(start);
        let planned = ((start.0 + duration.0).saturating_sub(settlement.floor(first).0))
            .div_ceil(settlement.period.0)
            .max(1) as usize;
        self.emit(EventKind::Waiting {
            duration_ms: Millis(end(Millis(0)).0 - start.0),
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
        let mut held = Millis(0);
        // How long a person (or a closed window) paused the bake: its clock stops meanwhile.
        let mut paused = Millis(0);
        // Whether `rollout promote` ended the bake early.
        let mut ended_early = false;
        // `inconclusive extend up to D`: how much longer the bake goes on, once extended.
        let mut extra = Millis(0);
        let mut looked = start;
        loop {
            // Look when a period settles, at most every `every`, and at the end; meanwhile read
            // what people ask of the rollout.
            let now = clock.epoch();
            let next = settlement
                .next_settle(Millis(looked.0 + health.every.0))
                .min(end(Millis(held.0 + paused.0 + extra.0)));
            let wake = match self.settings.control {
                Some(every) => next.min(Millis(now.0 + every.0)),
                None => next,
            };
            clock.sleep(Millis(wake.0.saturating_sub(now.0))).await;
            if clock.interrupted() {
                return Err(Stop::Interrupted);
            }
            self.poll_control().await?;
            self.check_window().await?;
            if self.holding() {
                paused = Millis(paused.0 + clock.epoch().0.saturating_sub(now.0));
            }
            let ending = self.take_skip(began).is_some();
            ended_early |= ending;
            if ending {
                // Done: the lease says so at once, so that the next `rollout promote` is heard.
                self.hold_all().await?;
            }
            if clock.epoch() < next && !ending {
                self.beat().await?;
                continue;
            }
            looked = clock.epoch();
            let alpha = self.playbook.alpha;
            let at = clock.epoch();
            // The last look is the one at the end, with the holds it knows of, or the one a
            // person asked for with `rollout promote`.
            let look_at = move |longest: Millis| Look {
                alpha,
                bounded: true,
                last: ending || at >= end(Millis(longest.0 + paused.0 + extra.0)),
                planned,
            };
            // A look may not hold the bake past its end: what AWS has not answered by then is
            // not read.
            let limit = Millis(
                end(Millis(held.0 + paused.0 + extra.0))
                    .0
                    .saturating_sub(at.0)
                    + LOOK_GRACE.0,
            );
            let judged = clock
                .within(limit, self.judge_once(health, &settlement, false, look_at))
                .await;
            let (evaluations, cut) = match judged {
                Some(Ok(evaluations)) => (evaluations, false),
                // `on violation pause`: a person may accept it (the bake passes).
                Some(Err(stop)) => return self.on_violation(health, stop).await,
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
                let of_it = Millis(evaluation.held_periods as u64 * settlement.period.0);
                held = held.max(of_it);
                latest.insert(evaluation.function.clone(), evaluation);
            }
            self.hold_policy(health, held, &latest)?;
            let unsure = self
                .active()
                .any(|f| unjudged(health, latest.get(f), rest_passed.contains(f)).is_some());
            // Extended: it ends as soon as it is sure.
            if extra.0 > 0 && !unsure {
                break;
            }
            if clock.epoch() >= end(Millis(held.0 + paused.0 + extra.0)) || cut || ending {
                match health.extend {
                    Some(up) if unsure && extra.0 == 0 && !cut && !ending => {
                        extra = up;
                        self.emit(EventKind::Waiting {
                            duration_ms: up,
                            judged: true,
                            traffic_ms: Some(up),
                            shortest_ms: None,
                            delay_ms: Some(settlement.delay),
                        });
                        continue;
                    }
                    _ => break,
                }
            }
            let confident = self
                .active()
                .all(|f| latest.get(f).is_some_and(|e| e.verdict == Verdict::Pass));
            let shortest_met =
                early.is_some_and(|e| clock.epoch() >= Millis(e.0 + held.0 + paused.0));
            if shortest_met && confident && !self.holding() {
                let waited = Millis(clock.epoch().0 - start.0);
                self.progress.held = Millis(self.progress.held.0 + held.0 + paused.0);
                self.emit(EventKind::BakePassed {
                    reason: format!("every check confidently met after {waited}"),
                });
                return Ok(());
            }
            // After the look, so that renewing a fleet's lease never delays a verdict.
            self.beat().await?;
        }
        self.progress.held = Millis(self.progress.held.0 + held.0 + paused.0);
        let unjudged: Vec<(String, String)> = self
            .active()
            .filter_map(|f| {
                let why = unjudged(health, latest.get(f), rest_passed.contains(f))?;
                Some((f.to_string(), why))
            })
            .collect();
        if unjudged.is_empty() {
            let during = match (held.0 > 0, paused.0 > 0) {
                (true, true) => format!(" ({held} more while held, {paused} while paused)"),
                (true, false) => format!(" ({held} more while held)"),
                (false, true) => format!(" ({paused} more while paused)"),
                (false, false) => String::new(),
            };
            let during = if ended_early {
                format!("{during}, ended early by `rollout promote`")
            } else {
                during
            };
            self.emit(EventKind::BakePassed {
                reason: format!("no check violated in {duration} of traffic{during}"),
            });
            return Ok(());
        }
        let functions: Vec<String> = unjudged.iter().map(|(f, _)| f.clone()).collect();
        match health.inconclusive {
            Inconclusive::Pass => {
                self.emit(EventKind::BakePassed {
                    reason: format!(
                        "no conclusive evaluation of {} and `inconclusive pass`",
                        functions.join(", ")
                    ),
                });
                Ok(())
            }
            Inconclusive::Fail => {
                self.progress.detected = Some(self.now());
                Err(Stop::fail(Cause::Inconclusive {
                    functions,
                    duration,
                    why: unjudged
                        .into_iter()
                        .map(|(f, why)| format!("{f}: {why}"))
                        .collect(),
                }))
            }
        }
    }

    /// What the health block says of holds so far: `shared failure rollback` fails at the first
    /// held period, and a hold longer than `shared failure hold up to D` ends the bake.
    fn hold_policy(
        &mut self,
        health: &HealthSpec,
        held: Millis,
        latest: &BTreeMap<String, Evaluation>,
    ) -> Result<(), Stop> {
        match health.shared_failure {
            SharedFailure::Rollback => {
                if let Some(e) = latest.values().find(|e| e.holding.is_some()) {
                    self.progress.detected = Some(self.now());
                    return Err(Stop::fail(Cause::SharedFailure(e.clone())));
                }
            }
            SharedFailure::Hold { at_most } if held > at_most => {
                self.progress.detected = Some(self.now());
                self.progress.held = Millis(self.progress.held.0 + held.0);
                return Err(Stop::fail(Cause::HeldTooLong { held, at_most }));
            }
            SharedFailure::Hold { .. } => {}
        }
        Ok(())
    }

    /// When the active targets' `new` reached its weight: the earliest.
    fn active_weight_since(&self) -> Option<Millis> {
        self.progress
            .targets
            .iter()
            .filter(|t| t.active)
            .map(|t| t.weight_since)
            .min()
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
        let alpha = self.playbook.alpha;
        let look = move |_| Look {
            alpha,
            bounded: false,
            last: false,
            planned: 0,
        };
        self.judge_once(health, settlement, false, look).await?;
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
    /// them are read together, then judged at the look `look_at` gives for the longest hold
    /// any of them had.
    pub(super) async fn judge_once(
        &mut self,
        health: &HealthSpec,
        settlement: &Settlement,
        force: bool,
        look_at: impl Fn(Millis) -> Look,
    ) -> Result<Vec<Evaluation>, Stop> {
        let now = self.services.clock.epoch();
        let until = settlement.settled(now);
        let warm_up = health.warm_up;
        let mut due: Vec<(usize, [String; 4], Settled, Warm)> = Vec::new();
        for (i, t) in self.progress.targets.iter_mut().enumerate() {
            let settled = Settled {
                since: settlement.floor(t.weight_since),
                until,
                settlement: *settlement,
            };
            if !t.active || (settled.until <= t.judged_until && !force) {
                continue;
            }
            t.judged_until = settled.until;
            // Latency periods before the end of new's warm-up are left out.
            let warm = Warm::of(warm_up, t.first_weight.unwrap_or(t.weight_since));
            let names = [
                t.function.clone(),
                t.alias.clone(),
                t.old.clone(),
                t.new.clone().unwrap_or_default(),
            ];
            due.push((i, names, settled, warm));
        }
        if due.is_empty() {
            return Ok(Vec::new());
        }
        let cluster = self.cluster(health);
        let metrics = self.services.metrics;
        let specs: Vec<HealthSpec> = due
            .iter()
            .map(|(i, ..)| self.spec_of(*i, health).clone())
            .collect();
        let measured: Result<Vec<Measured>, _> = {
            let mut series: BTreeMap<usize, &mut super::series::Series> = self
                .progress
                .targets
                .iter_mut()
                .enumerate()
                .map(|(i, t)| (i, &mut t.series))
                .collect();
            let mut judging: Vec<Judging<'_>> = Vec::new();
            for (i, [function, alias, old, new], settled, warm) in &due {
                judging.push(Judging {
                    versions: Versions {
                        function,
                        alias,
                        old,
                        new,
                    },
                    settled: *settled,
                    series: series.remove(i).expect("each target once"),
                    warm: *warm,
                });
            }
            let period = settlement.period;
            super::watch::measure_all(metrics, &specs, &mut judging, look_at, period, cluster).await
        };
        let measured = match measured {
            Ok(measured) => measured,
            // Only a person can fix these: stop now.
            Err(error) if error.is_setup() => return Err(cloud(error)),
            Err(error) => {
                let why = format!("could not read CloudWatch: {error}");
                let mut out = Vec::new();
                for ((_, [function, alias, old, new], settled, _), spec) in due.iter().zip(&specs) {
                    let versions = Versions {
                        function,
                        alias,
                        old,
                        new,
                    };
                    let evaluation = unread(spec, &versions, settled, &why);
                    self.emit(EventKind::HealthEvaluated(evaluation.clone()));
                    out.push(evaluation);
                }
                return Ok(out);
            }
        };
        let mut out = Vec::new();
        let targets = due.iter().zip(measured).zip(&specs);
        for (((i, [function, alias, old, new], settled, _), measured), spec) in targets {
            let versions = Versions {
                function,
                alias,
                old,
                new,
            };
            let evaluation = self
                .conclude_target(spec, *i, &versions, settled, measured)
                .await;
            self.emit(EventKind::HealthEvaluated(evaluation.clone()));
            self.note_hold(*i, &evaluation, settlement);
            if evaluation.verdict == Verdict::Fail {
                self.progress.detected = Some(self.now());
                self.progress.failed_target = *i;
                return Err(Stop::fail(Cause::Unhealthy(evaluation)));
            }
            out.push(evaluation);
        }
        Ok(out)
    }

    /// Tells when a target's hold begins and ends.
    fn note_hold(&mut self, i: usize, evaluation: &Evaluation, settlement: &Settlement) {
        let t = &mut self.progress.targets[i];
        match (&evaluation.holding, t.holding) {
            (Some(hold), false) => {
                t.holding = true;
                let function = t.function.clone();
                self.emit(EventKind::Held {
                    function,
                    reason: hold.to_string(),
                });
            }
            (None, true) => {
                t.holding = false;
                let function = t.function.clone();
                let held_ms = Millis(evaluation.held_periods as u64 * settlement.period.0);
                self.emit(EventKind::HoldEnded { function, held_ms });
            }
            _ => {}
        }
    }

    /// How many times in all a failed event comes back: once, or for `async` the function's
    /// retries plus one.
    fn cluster(&self, health: &HealthSpec) -> f64 {
        if !health.asynchronous {
            return 1.0;
        }
        self.progress
            .targets
            .iter()
            .filter(|t| t.active)
            .map(|t| f64::from(t.retries) + 1.0)
            .fold(1.0, f64::max)
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
        mut measured: Measured,
    ) -> Evaluation {
        let mut checks = Vec::new();
        let raw = std::mem::take(&mut measured.checks);
        for (check, result) in health.checks.iter().zip(raw) {
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
                        observed: false,
                    }
                }
                (Check::Signatures(s), None) => {
                    self.judge_signatures(check, s, versions, settled).await
                }
                (_, None) => unreachable!("only script and log checks are left to the engine"),
            };
            checks.push(result);
        }
        conclude(health, versions, settled, measured, checks)
    }
}

/// Why a target's bake ended without a conclusive judgment, if it did: too few invocations of
/// `new`, a count check CloudWatch never gave data for, or a check judged per window that never
/// passed.
fn unjudged(health: &HealthSpec, latest: Option<&Evaluation>, rest_passed: bool) -> Option<String> {
    let Some(latest) = latest else {
        return Some("never evaluated".to_string());
    };
    let enough = latest
        .invocations
        .is_some_and(|n| n >= health.min_invocations as f64);
    if !enough {
        return Some(latest.reason.clone());
    }
    let no_data = health
        .checks
        .iter()
        .zip(&latest.checks)
        .find(|(check, result)| {
            matches!(judged(check), Judged::Sequential(_))
                && result.evidence.is_none()
                && !result.observed
        });
    if let Some((_, result)) = no_data {
        return Some(result.detail.clone());
    }
    (!rest_passed).then(|| "a check judged per window never passed".to_string())
}

//! Waves: a playbook's regions (and accounts), one wave after another. The steps run in each
//! region of a wave at once, one [`Engine`] per region, each with its own clients (so each is
//! paced by its own region's quota). A wave passes when every region of it promoted; the
//! promoted regions keep their lease at the last step ([`Kept`]) until the last wave passes, are
//! watched between waves, and at the end released. A failure stops every wave not yet started
//! and rolls back the failing wave, or every wave when the playbook says so.
//!
//! The aliases alone say how far a waved rollout got, so `resume` on any machine continues it:
//! a region held at its last step with `new` serving everything is done, one held earlier is
//! resumed, one without a lease has not started.

use std::cell::RefCell;
use std::rc::Rc;

use super::events::{Event, EventKind, EventSink};
use super::outcome::{Outcome, Report};
use super::reasons::Refusal;

mod region;

use super::kept::Until;
use super::{Engine, Kept, Services, Settings};
use crate::cloud::lease::Marker;
use crate::cloud::select::{fleet, resolve};
use crate::cloud::{Clock, LambdaApi, MetricsApi};
use crate::hooks::Hooks;
use crate::plan::waves::{Place, WaveFailure, Waves};
use crate::plan::Plan;
use region::{Halt, Halted, Placed};

/// One region of a waved rollout (in the base account or another), with the services that
/// reach it.
pub struct Region<'a, L, M, C> {
    /// Where it is.
    pub place: Place,
    /// Its Lambda.
    pub lambda: &'a L,
    /// Its CloudWatch.
    pub metrics: &'a M,
    /// Time, as this region's clients keep it.
    pub clock: &'a C,
}

impl<'a, L: LambdaApi, M: MetricsApi, C> Region<'a, L, M, C> {
    /// An engine on this region's Lambda and CloudWatch, keeping time by `clock`.
    fn engine<'e, K: Clock>(
        &'e self,
        clock: &'e K,
        hooks: &'e Hooks,
        events: &'e mut dyn EventSink,
        settings: Settings,
    ) -> Engine<'e, L, M, K>
    where
        'a: 'e,
    {
        let services = Services {
            lambda: self.lambda,
            metrics: self.metrics,
            clock,
            hooks,
            events,
            calendars: None,
            logs: None,
        };
        Engine::new(services, settings)
    }
}

/// How a waved rollout ended.
#[derive(Debug, Clone)]
pub struct Waved {
    /// Promoted when every wave run passed; else how the region that stopped it ended.
    pub outcome: Outcome,
    /// Each region's last report, by its label, in the order they ran.
    pub regions: Vec<(String, Report)>,
    /// The waves that never started.
    pub skipped: Vec<String>,
    /// How long it took (ms).
    pub ended_ms: u64,
}

/// Where each region of a waved rollout is, as its aliases say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reached {
    /// No lease: not started (or ended and released).
    Fresh,
    /// Held at an earlier step.
    Started,
    /// Held at the last step, `new` serving everything.
    Promoted,
}

/// Whether a region's run let its wave go on.
fn passed(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Promoted | Outcome::NothingToRollOut)
}

/// Whether a kept region's hold ended with the region still kept: promoted, or stopped by a
/// person (what becomes of it is the policy's to say).
fn holds(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Promoted | Outcome::Interrupted { .. })
}

/// The kept places, each to be taken up again on its lease.
fn held(kept: &[(usize, Place)]) -> Vec<(Place, bool)> {
    kept.iter().map(|(_, p)| (p.clone(), true)).collect()
}

/// The first of `reports` (the one that failed comes first) that did not end as one of `fine`.
fn first_failure(reports: &[(Place, Report)], fine: &[Outcome]) -> Option<(Place, Outcome)> {
    reports
        .iter()
        .find(|(_, r)| !fine.contains(&r.outcome))
        .map(|(p, r)| (p.clone(), r.outcome.clone()))
}

/// Keeps in `kept` the places that still hold their lease after `reports`: those still
/// promoted, and those a person stopped (what becomes of them is the policy's to say).
fn still_kept(kept: &mut Vec<(usize, Place)>, reports: &[(Place, Report)]) {
    kept.retain(|(_, p)| reports.iter().all(|(q, r)| q != p || holds(&r.outcome)));
}

/// Runs a waved rollout.
pub struct Conductor<'a, 's, L, M, C> {
    /// The playbook, with its waves.
    pub plan: &'a Plan,
    /// Every region of every wave, each once.
    pub regions: &'a [Region<'a, L, M, C>],
    /// The plan's hooks, compiled.
    pub hooks: &'a Hooks,
    /// Where events go.
    pub events: &'s RefCell<dyn EventSink + 's>,
    /// As for one region; `resume` continues at the wave the aliases say.
    pub settings: Settings,
    /// Run only this wave (index), releasing it at the end.
    pub only: Option<usize>,
}

impl<'a, 's, L: LambdaApi, M: MetricsApi, C: Clock> Conductor<'a, 's, L, M, C> {
    fn waves(&self) -> &'a Waves {
        self.plan.waves.as_ref().expect("a waved plan")
    }

    fn region(&self, place: &Place) -> &'a Region<'a, L, M, C> {
        self.regions
            .iter()
            .find(|r| r.place == *place)
            .expect("every place of the waves has its region")
    }

    fn start_ms(&self) -> u64 {
        self.regions.first().map_or(0, |r| r.clock.now().0)
    }

    fn emit(&self, start: u64, kind: EventKind) {
        let at_ms = self.start_ms().saturating_sub(start);
        self.events.borrow_mut().emit(&Event {
            at_ms,
            region: None,
            kind,
        });
    }

    /// The plan as one region runs it.
    fn plan_in(&self, place: &Place) -> Plan {
        let mut plan = self.plan.clone();
        plan.targets.region = Some(place.region.clone());
        plan
    }

    /// Runs one engine in each of `places` at once: the steps (`None`), or `kept`. A region
    /// whose steps fail, or whose hold ends other than kept, halts the others `halt` stops (and
    /// they roll back). A region of a wave that promoted keeps its lease alive until the last
    /// one of the wave ends.
    async fn each(
        &self,
        start: u64,
        places: &[(Place, bool)],
        kept: Option<Kept>,
        halt: &Halt,
    ) -> Vec<(Place, Report)> {
        let plans: Vec<Plan> = places.iter().map(|(p, _)| self.plan_in(p)).collect();
        let mut sinks: Vec<Placed<'s>> = places
            .iter()
            .map(|(place, _)| Placed {
                label: place.label(),
                offset: self.region(place).clock.now().0.saturating_sub(start),
                inner: self.events,
                kept: kept.is_some(),
            })
            .collect();
        let clocks: Vec<Halted<'_, C>> = places
            .iter()
            .map(|(place, _)| Halted {
                inner: self.region(place).clock,
                halt,
            })
            .collect();
        let steps = kept.is_none();
        let running = std::cell::Cell::new(places.len());
        let wave_ends = Rc::new(Until::default());
        let runs = places
            .iter()
            .zip(sinks.iter_mut())
            .zip(&plans)
            .zip(&clocks)
            .map(|((((place, resume), sink), plan), clock)| {
                let region = self.region(place);
                let settings = Settings {
                    resume: *resume,
                    keep: true,
                    ..self.settings.clone()
                };
                let kept = kept.clone();
                let (running, wave_ends) = (&running, wave_ends.clone());
                async move {
                    let engine = region.engine(clock, self.hooks, &mut *sink, settings.clone());
                    let mut report = match &kept {
                        Some(what) => engine.kept(plan, what.clone()).await,
                        None => engine.run(plan).await,
                    };
                    if steps {
                        running.set(running.get() - 1);
                        if running.get() == 0 {
                            wave_ends.end();
                        } else if report.outcome == Outcome::Promoted {
                            sink.kept = true;
                            let engine = region.engine(clock, self.hooks, &mut *sink, settings);
                            let held = engine.kept(plan, Kept::Hold(wave_ends)).await;
                            if !holds(&held.outcome) {
                                report = held;
                            }
                        }
                    }
                    let hold = matches!(kept, Some(Kept::Hold(_)));
                    if (steps && !passed(&report.outcome)) || (hold && !holds(&report.outcome)) {
                        halt.halt(place);
                    }
                    report
                }
            });
        let reports = futures_util::future::join_all(runs).await;
        places.iter().map(|(p, _)| p.clone()).zip(reports).collect()
    }

    /// Where each region of the waves is, read from its aliases; `Err` when one cannot be read.
    async fn reached(&self) -> Result<Vec<(Place, Reached)>, Outcome> {
        let alias = self.plan.targets.alias.clone().unwrap_or_default();
        let mut found = Vec::new();
        for region in self.regions {
            let selected = resolve(region.lambda, &self.plan.targets.select)
                .await
                .map_err(|e| match e {
                    crate::cloud::select::SelectError::Cloud(error) => {
                        Outcome::Failed(super::Trouble::Listing(error))
                    }
                    none => Outcome::Refused(Refusal::NoMatch(none.to_string())),
                })?;
            let mut reached = Reached::Fresh;
            for function in fleet(&self.plan.targets.functions, &selected) {
                let current =
                    region
                        .lambda
                        .get_alias(&function, &alias)
                        .await
                        .map_err(|error| {
                            Outcome::Failed(super::Trouble::Read {
                                function: function.clone(),
                                alias: alias.clone(),
                                error,
                            })
                        })?;
                if let Some(m) = Marker::parse(&current.description).1 {
                    // Promoted: `new` alone, or `old` alone where publish found nothing new.
                    let done = m.step == m.steps
                        && current.routing.is_empty()
                        && current.version == *m.new.as_ref().unwrap_or(&m.old);
                    // At its last step, otherwise: someone changed it since, and resuming
                    // would promote over their change.
                    if m.step == m.steps && !done {
                        return Err(Outcome::Conflict(super::Conflict::NotAsLeft {
                            function,
                            alias,
                            serves: current,
                            marker: Box::new(m),
                        }));
                    }
                    reached = match (reached, done) {
                        (Reached::Started, _) | (_, false) => Reached::Started,
                        _ => Reached::Promoted,
                    };
                }
            }
            found.push((region.place.clone(), reached));
        }
        Ok(found)
    }

    /// Runs the waves, or with `settings.resume`, the rest of them.
    pub async fn run(self) -> Waved {
        let start = self.start_ms();
        let waves = self.waves();
        let reached = if self.settings.resume {
            match self.reached().await {
                Ok(reached) => reached,
                Err(outcome) => return self.ended(start, outcome, Vec::new(), Vec::new()),
            }
        } else {
            Vec::new()
        };
        let state = |place: &Place| {
            reached
                .iter()
                .find(|(p, _)| p == place)
                .map_or(Reached::Fresh, |(_, r)| *r)
        };
        if self.settings.resume && reached.iter().all(|(_, r)| *r == Reached::Fresh) {
            let targets = &self.plan.targets;
            let named = targets.functions.first().cloned();
            let outcome = Outcome::Refused(Refusal::NothingToResume {
                function: named
                    .or_else(|| targets.select.first().map(ToString::to_string))
                    .unwrap_or_default(),
                alias: targets.alias.clone().unwrap_or_default(),
            });
            return self.ended(start, outcome, Vec::new(), Vec::new());
        }
        let count = waves.waves.len();
        // The first wave not promoted everywhere.
        let first = waves
            .waves
            .iter()
            .position(|w| w.places.iter().any(|p| state(p) != Reached::Promoted))
            .unwrap_or(count);
        let (from, to) = match self.only {
            Some(only) => (only, only + 1),
            None => (first, count),
        };
        let mut kept: Vec<(usize, Place)> = (0..from)
            .flat_map(|w| waves.waves[w].places.iter().map(move |p| (w, p.clone())))
            .filter(|(_, p)| self.only.is_none() && state(p) == Reached::Promoted)
            .collect();
        let mut all: Vec<(String, Report)> = Vec::new();
        let mut rolled_out = !kept.is_empty();
        for index in from..to {
            let wave = &waves.waves[index];
            // Before a wave after the first, the promoted ones are watched; on resume again
            // (whether the last watch ended is not on the aliases), unless the wave had started.
            let started = wave.places.iter().any(|p| state(p) != Reached::Fresh);
            if let (Some(between), false, false) = (waves.between, kept.is_empty(), started) {
                let watch = Kept::Watch {
                    duration: between.duration,
                    healthy: between.healthy,
                };
                let watched = self
                    .each(start, &held(&kept), Some(watch), &Halt::default())
                    .await;
                all.extend(watched.iter().map(|(p, r)| (p.label(), r.clone())));
                if let Some((place, outcome)) = first_failure(&watched, &[Outcome::Promoted]) {
                    let failing = self.failing(&kept, &place, &outcome, index);
                    still_kept(&mut kept, &watched);
                    return self
                        .fail(start, failing, index, &place, outcome, kept, all)
                        .await;
                }
            }
            self.emit(
                start,
                EventKind::WaveStarted {
                    wave: wave.name.clone(),
                    index: index + 1,
                    waves: count,
                    regions: wave.places.iter().map(Place::label).collect(),
                },
            );
            let places: Vec<(Place, bool)> = wave
                .places
                .iter()
                .filter(|p| state(p) != Reached::Promoted)
                .map(|p| (p.clone(), state(p) == Reached::Started))
                .collect();
            // The promoted ones keep their lease alive meanwhile; a region that fails halts
            // the others of its wave, and a kept one that does not hold halts the wave.
            let halt = Halt::default();
            let until = Rc::new(Until::default());
            let (ran, kept_meanwhile) = futures_util::future::join(
                async {
                    let ran = self.each(start, &places, None, &halt).await;
                    until.end();
                    ran
                },
                self.each(start, &held(&kept), Some(Kept::Hold(until.clone())), &halt),
            )
            .await;
            all.extend(
                ran.iter()
                    .chain(&kept_meanwhile)
                    .map(|(p, r)| (p.label(), r.clone())),
            );
            let trigger = halt.by.borrow_mut().take();
            let by_trigger = ran
                .iter()
                .find(|(p, _)| trigger.as_ref() == Some(p))
                .map(|(p, r)| (p.clone(), r.outcome.clone()));
            let run_failed = by_trigger
                .or_else(|| first_failure(&ran, &[Outcome::Promoted, Outcome::NothingToRollOut]));
            let hold_failed = kept_meanwhile
                .iter()
                .find(|(_, r)| !holds(&r.outcome))
                .map(|(p, r)| (p.clone(), r.outcome.clone()));
            // What failed first: the region that halted the others, else whichever failed. A
            // kept region fails the wave it was promoted in (found before it leaves `kept`).
            let failure = match (&trigger, run_failed, hold_failed) {
                (Some(t), _, Some((p, o))) if *t == p => {
                    let failing = self.failing(&kept, &p, &o, index);
                    Some((p, o, failing))
                }
                (_, Some((p, o)), _) => Some((p, o, index)),
                (_, None, Some((p, o))) => {
                    let failing = self.failing(&kept, &p, &o, index);
                    Some((p, o, failing))
                }
                (_, None, None) => None,
            };
            still_kept(&mut kept, &kept_meanwhile);
            kept.extend(
                wave.places
                    .iter()
                    .filter(|p| state(p) == Reached::Promoted)
                    .map(|p| (index, p.clone())),
            );
            kept.extend(
                ran.iter()
                    .filter(|(_, r)| r.outcome == Outcome::Promoted)
                    .map(|(p, _)| (index, p.clone())),
            );
            rolled_out |= !kept.is_empty();
            if let Some((place, outcome, failing)) = failure {
                return self
                    .fail(start, failing, index + 1, &place, outcome, kept, all)
                    .await;
            }
            self.emit(
                start,
                EventKind::WavePassed {
                    wave: wave.name.clone(),
                },
            );
        }
        let released = self
            .each(start, &held(&kept), Some(Kept::Release), &Halt::default())
            .await;
        all.extend(released.iter().map(|(p, r)| (p.label(), r.clone())));
        let outcome = match first_failure(&released, &[Outcome::Promoted]) {
            Some((_, outcome)) => outcome,
            None if rolled_out => Outcome::Promoted,
            None => Outcome::NothingToRollOut,
        };
        let skipped = waves.waves[to..].iter().map(|w| w.name.clone()).collect();
        self.ended(start, outcome, all, skipped)
    }

    /// The wave that failed when `place` ended `outcome` while wave `next` was due: stopped by a
    /// person while kept, the next one; else the one `place` was promoted in.
    fn failing(
        &self,
        kept: &[(usize, Place)],
        place: &Place,
        outcome: &Outcome,
        next: usize,
    ) -> usize {
        match outcome {
            Outcome::Interrupted { .. } => next,
            _ => kept
                .iter()
                .find(|(_, p)| p == place)
                .map_or(next, |(w, _)| *w),
        }
    }

    /// Wave `failing` failed (in `place`, ending `outcome`): the waves from `unstarted` on
    /// never start, the failing wave is rolled back, the others too or released, as the
    /// playbook says. When a rollback or a release ends worse than the failure (an alias
    /// someone changed, a lease taken), that is the outcome.
    #[allow(clippy::too_many_arguments)]
    async fn fail(
        &self,
        start: u64,
        failing: usize,
        unstarted: usize,
        place: &Place,
        outcome: Outcome,
        kept: Vec<(usize, Place)>,
        mut all: Vec<(String, Report)>,
    ) -> Waved {
        let waves = self.waves();
        let name = waves.waves[failing].name.clone();
        let skipped: Vec<String> = waves.waves[unstarted.min(waves.waves.len())..]
            .iter()
            .map(|w| w.name.clone())
            .collect();
        self.emit(
            start,
            EventKind::WaveFailed {
                wave: name.clone(),
                reason: format!("{}: {outcome}", place.label()),
                skipped: skipped.clone(),
            },
        );
        let every = waves.on_failure == WaveFailure::EveryWave;
        let (restore, release): (Vec<_>, Vec<_>) =
            kept.into_iter().partition(|(w, _)| every || *w == failing);
        let undo = Kept::Restore { wave: name };
        let (restore_halt, release_halt) = (Halt::default(), Halt::default());
        let (restored, released) = futures_util::future::join(
            self.each(start, &held(&restore), Some(undo), &restore_halt),
            self.each(start, &held(&release), Some(Kept::Release), &release_halt),
        )
        .await;
        all.extend(
            restored
                .iter()
                .chain(&released)
                .map(|(p, r)| (p.label(), r.clone())),
        );
        // A region left other than the policy says is what the person must hear of first.
        let left_otherwise = restored
            .iter()
            .filter(|(_, r)| !matches!(r.outcome, Outcome::RolledBack { .. }))
            .chain(
                released
                    .iter()
                    .filter(|(_, r)| r.outcome != Outcome::Promoted),
            )
            .map(|(_, r)| r.outcome.clone())
            .next();
        self.ended(start, left_otherwise.unwrap_or(outcome), all, skipped)
    }

    fn ended(
        &self,
        start: u64,
        outcome: Outcome,
        regions: Vec<(String, Report)>,
        skipped: Vec<String>,
    ) -> Waved {
        // The rollout's own end, beside each region's.
        self.emit(
            start,
            EventKind::Finished {
                outcome: outcome.name().to_string(),
                exit_code: outcome.exit_code(),
                message: outcome.to_string(),
            },
        );
        Waved {
            outcome,
            regions,
            skipped,
            ended_ms: self.start_ms().saturating_sub(start),
        }
    }
}

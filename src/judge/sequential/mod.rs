//! The sequential tests of a count check, on its settled periods since `new` reached its
//! weight. Each period brings its own evidence ([`super::evalue`]): how much more `new` failed
//! than the check allows *in that period*, so that what both versions share in a minute (an
//! outage, a surge of load) cancels, and a version's chance may vary from minute to minute by
//! as much as `old`'s does ([`super::dispersion`]).
//!
//! **Violation** ("rollback"): the evidence of bets on alternatives above the threshold
//! (`threshold + g·scale`, `g` in [`ABOVE`]), multiplied period by period, mixed equally over
//! the bets and over where it starts: half from the first period, half spread over the later
//! ones, so that a regression that begins mid-bake is caught on its own periods. Each product is
//! a nonnegative supermartingale while the check holds, so by Ville's inequality the mixture
//! ever reaching `1/α` has probability at most α, however often it is looked at. A phase with a
//! known end keeps half of α for one last look, split over the whole bake and its last 4/5,
//! 3/5, 2/5 and 1/5: an exact tail test on each (Poisson, or negative binomial when the chance
//! varies), for what the anytime test has not yet proved.
//!
//! **A threshold check holds for shared failures**: its evidence in a period is the smaller of
//! "new above the threshold" and "new above old's rate in the period plus the threshold's
//! distance from old's usual rate", so an outage that `old` has as much as `new` is no evidence
//! against `new`, and a failure `old` does not share still is.
//!
//! **Satisfaction** ("promotion", for adaptive bakes): the same products with alternatives below
//! the threshold (factors in [`BELOW`]) over the periods not held, at level α.

use serde::Serialize;

use super::dispersion::Dispersion;
use super::evalue::{log_e, Bound, Pair};
use super::form::Form;
use super::last::{LastLook, WINDOWS};
use crate::plan::Millis;

/// Alternatives above the threshold: `threshold + g·scale`.
const ABOVE: [f64; 7] = [0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0];
/// Alternatives below the threshold: `threshold · f`.
const BELOW: [f64; 6] = [0.9, 0.8, 0.67, 0.5, 0.33, 0.25];

/// What one version did in some periods.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Counts {
    /// Invocations; for errors or throttles per window, milliseconds of settled time.
    pub trials: f64,
    /// Errors, slow invocations, or throttles.
    pub events: f64,
}

impl Counts {
    /// Events per trial; `None` without trials.
    pub fn rate(&self) -> Option<f64> {
        (self.trials > 0.0).then(|| self.events / self.trials)
    }

    pub(super) fn plus(self, other: Counts) -> Counts {
        Counts {
            trials: self.trials + other.trials,
            events: self.events + other.events,
        }
    }

    fn scaled(self, k: f64) -> Counts {
        Counts {
            trials: self.trials / k,
            events: self.events / k,
        }
    }
}

/// One settled period of a count check.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Period {
    /// Where it starts (epoch milliseconds).
    pub start: Millis,
    /// The tested version's counts; `None` when CloudWatch answered its invocations but not
    /// the statistic counted (missing data: no evidence either way).
    pub subject: Option<Counts>,
    /// The other version's counts, counted the same way, when read.
    pub other: Option<Counts>,
    /// Whether the rollout was held in this period: `old` failed as much as the check allows.
    pub held: bool,
}

/// What is known before the phase: `old`'s recent past and how failures repeat.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Background {
    /// `old`'s periods before the rollout, counted the way the check counts.
    pub history: Dispersion,
    /// Each failed event may come back this many times in all (asynchronous retries plus one):
    /// events come in clusters, and the evidence counts clusters.
    pub cluster: f64,
}

/// Where a look stands in its phase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Look {
    /// This check's share of `1 - confidence` in this phase.
    pub alpha: f64,
    /// The phase has a known end, where half of `alpha` goes to the last look.
    pub bounded: bool,
    /// This is that end.
    pub last: bool,
    /// How many periods the phase judges (a bounded phase); the later starts share their
    /// weight over them.
    pub planned: usize,
}

/// A count check's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Confidently broken: roll back.
    Violated,
    /// Confidently met.
    Satisfied,
    /// Not enough evidence either way yet.
    Undecided,
}

/// The outcome of one look at a count check, with its evidence.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Assessment {
    /// Violated, satisfied or undecided.
    pub state: State,
    /// The tested version's counts over the periods judged.
    pub subject: Counts,
    /// The other version's counts over the same periods, when the threshold moves with it.
    pub other: Option<Counts>,
    /// The threshold at the other version's observed rate (or the constant).
    pub threshold: f64,
    /// The threshold the violation test looks beyond.
    pub rollback_threshold: f64,
    /// The threshold the satisfaction test looks below.
    pub promotion_threshold: f64,
    /// How far the evidence has gone towards a rollback, from 0 to 1.
    pub toward_rollback: f64,
    /// How far towards confident satisfaction, from 0 to 1.
    pub toward_promotion: f64,
    /// At a last look that stayed undecided: the least rate of the tested version that the
    /// last look would have caught over the whole phase.
    pub detectable: Option<f64>,
    /// Periods with data.
    pub periods: usize,
    /// Of them, periods held because `old` failed as much.
    pub held: usize,
    /// The squared coefficient of variation of the chance of an event, minute to minute, used
    /// for the newest period.
    pub dispersion: f64,
}

/// Looks at a count check once, on every period of the phase so far; `None` when no period
/// had data for it.
pub fn assess(
    form: &Form,
    periods: &[Period],
    background: &Background,
    look: Look,
) -> Option<Assessment> {
    let k = background.cluster.max(1.0);
    let judged: Vec<(Counts, Option<Counts>, bool)> = periods
        .iter()
        .filter_map(|p| Some((p.subject?.scaled(k), p.other.map(|o| o.scaled(k)), p.held)))
        .collect();
    if judged.is_empty() {
        return None;
    }
    let anytime_alpha = if look.bounded {
        look.alpha / 2.0
    } else {
        look.alpha
    };
    let (a, b) = (form.other.map_or(0.0, |(_, a)| a), form.offset);
    let mut old = background.history.scaled(k);
    let mut rollback = Paths::new(ABOVE.len());
    let mut promotion = vec![0.0; BELOW.len()];
    let mut dispersion = 0.0;
    for (i, (subject, other, held)) in judged.iter().enumerate() {
        dispersion = old.c2();
        let usual = old.rate();
        let evidence = Evidence {
            form,
            subject: *subject,
            other: *other,
            c2: dispersion,
            usual,
        };
        let violation: Vec<f64> = (0..ABOVE.len())
            .map(|j| evidence.violation(j, a, b))
            .collect();
        rollback.extend(&violation, start_weight(i, look));
        if !held {
            for (j, total) in promotion.iter_mut().enumerate() {
                *total += evidence.satisfaction(j, a, b);
            }
        }
        // A held period is a shared failure, not variation: it says nothing of how much old
        // varies from minute to minute. Nor do the periods of a count per invocation (a
        // business metric, cold starts), which are never held: what both versions share (an
        // outage that costs both their orders) cancels in the comparison, and taken as old's
        // own variation it would drown every later minute's evidence. Its variation is old's
        // past alone.
        if let Some(other) = other.filter(|_| !held && form.family.shares()) {
            old.add(other.trials, other.events);
        }
    }
    let rollback_limit = (1.0 / anytime_alpha).ln();
    let promotion_limit = (1.0 / look.alpha).ln();
    let promotion_evidence = log_mean_exp(&promotion);
    let final_alpha = look.alpha - anytime_alpha;
    let unheld: Vec<(Counts, Option<Counts>)> = judged
        .iter()
        .filter(|(_, _, held)| !held)
        .map(|(s, o, _)| (*s, *o))
        .collect();
    let last_look = (look.bounded && look.last).then(|| LastLook {
        form,
        periods: &unheld,
        c2: old.c2(),
        alpha: final_alpha / WINDOWS.len() as f64,
    });
    let finally_violated = last_look.as_ref().is_some_and(LastLook::violated);
    let violated = rollback.crossed(rollback_limit) || finally_violated;
    let satisfied = !violated && promotion_evidence >= promotion_limit;
    let state = if violated {
        State::Violated
    } else if satisfied {
        State::Satisfied
    } else {
        State::Undecided
    };
    let sum = |counts: &mut dyn Iterator<Item = Counts>| {
        counts.fold(None, |sum: Option<Counts>, c| {
            Some(sum.unwrap_or_default().plus(c))
        })
    };
    let subject = sum(&mut judged.iter().map(|(s, _, _)| *s))
        .unwrap_or_default()
        .scaled(1.0 / k);
    let other = form
        .other
        .and_then(|_| sum(&mut judged.iter().filter_map(|(_, o, _)| *o)))
        .map(|o| o.scaled(1.0 / k));
    let threshold = form.threshold(other.and_then(|o| o.rate()).unwrap_or(0.0));
    Some(Assessment {
        state,
        subject,
        other,
        threshold,
        rollback_threshold: threshold,
        promotion_threshold: threshold,
        toward_rollback: if violated {
            1.0
        } else {
            (rollback.latest() / rollback_limit).clamp(0.0, 1.0)
        },
        toward_promotion: if satisfied {
            1.0
        } else {
            (promotion_evidence / promotion_limit).clamp(0.0, 1.0)
        },
        detectable: last_look
            .filter(|_| state == State::Undecided)
            .and_then(|l| l.detectable()),
        periods: judged.len(),
        held: judged.iter().filter(|(_, _, held)| *held).count(),
        dispersion,
    })
}

/// Whether `old`, in a period, fails as much as the check allows `new` at `old`'s usual rate:
/// the period is then held (the rollout's clock stops). `usual` is `old`'s usual rate.
pub fn holds(form: &Form, old: Counts, usual: Option<f64>) -> bool {
    if !form.upper || !form.family.shares() {
        return false;
    }
    let Some(rate) = old.rate() else {
        return false;
    };
    let allowed = match form.other {
        None => form.offset,
        Some((_, a)) => a * usual.unwrap_or(0.0) + form.offset,
    };
    allowed > 0.0 && rate >= allowed
}

/// The weight of the evidence that starts at period `i`: half on the first period, the other
/// half spread evenly over the later periods a bounded phase plans (or, without an end,
/// `1/(2·i·(i + 1))`, which also sums to a half).
fn start_weight(i: usize, look: Look) -> f64 {
    match (i, look.bounded) {
        (0, true) if look.planned <= 1 => 1.0,
        (0, _) => 0.5,
        (i, true) if i < look.planned => 0.5 / (look.planned - 1) as f64,
        (_, true) => 0.0,
        (i, false) => 0.5 / (i * (i + 1)) as f64,
    }
}

/// One period's evidence for each bet.
struct Evidence<'a> {
    form: &'a Form,
    subject: Counts,
    other: Option<Counts>,
    c2: f64,
    usual: Option<f64>,
}

impl Evidence<'_> {
    fn pair(&self) -> Pair {
        let other = self.other.unwrap_or_default();
        Pair {
            x: self.subject.events,
            n: self.subject.trials,
            y: other.events,
            m: other.trials,
        }
    }

    fn bound(&self, a: f64, b: f64) -> Bound {
        let seen = self.other.and_then(|o| o.rate()).unwrap_or(0.0);
        Bound {
            a,
            b,
            c2: self.c2,
            // Old's mean chance, at its worst plausible: half again its usual rate, or what it
            // shows in this period.
            worst_old: (self.usual.unwrap_or(seen) * 1.5 + 2e-4).max(seen),
        }
    }

    /// The log evidence of violation under bet `j`.
    fn violation(&self, j: usize, a: f64, b: f64) -> f64 {
        let form = self.form;
        if !form.upper {
            return log_e(self.pair(), self.bound(a, b), BELOW[j % BELOW.len()].ln());
        }
        let g = ABOVE[j];
        let seen = self.other.and_then(|o| o.rate()).unwrap_or(0.0);
        if a == 0.0 {
            let plain = log_e(self.pair(), self.bound(0.0, b), g.ln_1p());
            // Shared failures: also the evidence that new fails more than old does in this
            // period, beyond the threshold's distance from old's usual rate; the smaller counts.
            let shares = form.family.shares();
            return match self.other.filter(|o| shares && o.trials > 0.0) {
                Some(_) => {
                    let margin = (b - self.usual.unwrap_or(0.0)).max(0.0);
                    let t = (g * b / (seen + margin).max(1e-9)).ln_1p();
                    plain.min(log_e(self.pair(), self.bound(1.0, margin), t))
                }
                None => plain,
            };
        }
        // Alternatives a set distance beyond the threshold at this period's rate of old: the
        // margin's own scale, or the threshold's when it has no margin.
        let at = (a * seen + b).max(1e-9);
        let scale = if b > 0.0 { b } else { at };
        log_e(self.pair(), self.bound(a, b), (g * scale / at).ln_1p())
    }

    /// The log evidence of satisfaction under bet `j`.
    fn satisfaction(&self, j: usize, a: f64, b: f64) -> f64 {
        if self.form.upper {
            log_e(self.pair(), self.bound(a, b), BELOW[j].ln())
        } else {
            log_e(
                self.pair(),
                self.bound(a, b),
                ABOVE[j % ABOVE.len()].ln_1p(),
            )
        }
    }
}

/// The products of evidence under each bet, mixed over where they start.
struct Paths {
    /// Per bet: ln Σ_s w_s Π_{u ≥ s} e_u.
    acc: Vec<f64>,
    /// The mixture's largest log so far, and its latest.
    best: f64,
    latest: f64,
}

impl Paths {
    fn new(bets: usize) -> Self {
        Paths {
            acc: vec![f64::NEG_INFINITY; bets],
            best: f64::NEG_INFINITY,
            latest: f64::NEG_INFINITY,
        }
    }

    fn extend(&mut self, logs: &[f64], weight: f64) {
        let w = if weight > 0.0 {
            weight.ln()
        } else {
            f64::NEG_INFINITY
        };
        for (acc, l) in self.acc.iter_mut().zip(logs) {
            *acc = log_add(*acc, w) + l;
        }
        self.latest = log_mean_exp(&self.acc);
        self.best = self.best.max(self.latest);
    }

    fn crossed(&self, limit: f64) -> bool {
        self.best >= limit
    }

    fn latest(&self) -> f64 {
        self.latest
    }
}

fn log_add(a: f64, b: f64) -> f64 {
    let top = a.max(b);
    if top == f64::NEG_INFINITY {
        return top;
    }
    top + ((a - top).exp() + (b - top).exp()).ln()
}

fn log_mean_exp(values: &[f64]) -> f64 {
    let top = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !top.is_finite() {
        return top;
    }
    let sum: f64 = values.iter().map(|v| (v - top).exp()).sum();
    top + (sum / values.len() as f64).ln()
}

#[cfg(test)]
mod tests;

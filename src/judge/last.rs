//! The last look of a bounded phase: what the anytime test has not yet proved, tested once
//! with the half of α kept for it, on the whole phase and on its last 4/5, 3/5, 2/5 and 1/5
//! (each an equal share), periods held left out. A share is tested against its threshold by an
//! exact tail (Poisson, or the negative binomial of the same two moments when the chance varies
//! from minute to minute); a threshold that moves with `old` takes `old`'s rate over the window
//! at its highest plausible (Clopper-Pearson, on counts discounted by their variation), with
//! half of the share.

use super::bounds;
use super::form::Form;
use super::sequential::Counts;
use super::special::{beta_inc, poisson_lower_tail, poisson_upper_tail};

/// The trailing shares of a bounded phase its last look tests.
pub(super) const WINDOWS: [f64; 5] = [1.0, 0.8, 0.6, 0.4, 0.2];

/// The last look of a bounded phase: an exact tail test over trailing windows of the periods
/// not held.
pub(super) struct LastLook<'a> {
    pub(super) form: &'a Form,
    pub(super) periods: &'a [(Counts, Option<Counts>)],
    pub(super) c2: f64,
    /// Each window's share of α.
    pub(super) alpha: f64,
}

impl LastLook<'_> {
    pub(super) fn violated(&self) -> bool {
        let len = self.periods.len();
        let mut sizes: Vec<usize> = WINDOWS
            .iter()
            .map(|w| ((len as f64 * w).round() as usize).clamp(1, len.max(1)))
            .collect();
        sizes.dedup();
        sizes.into_iter().any(|k| {
            self.window(&self.periods[len.saturating_sub(k)..])
                .is_some_and(|(s, c, alpha)| self.tail(s, c) <= alpha)
        })
    }

    /// The counts of `new` in a window, the threshold they are tested against, and the share
    /// of α the test on them may spend.
    fn window(&self, periods: &[(Counts, Option<Counts>)]) -> Option<(Counts, Vec<f64>, f64)> {
        let subject = periods
            .iter()
            .fold(Counts::default(), |sum, (s, _)| sum.plus(*s));
        let (threshold, alpha) = match self.form.other {
            None => (self.form.offset, self.alpha),
            Some((_, a)) => {
                // Old's rate over the window, at its highest (lowest, for a < 0) plausible,
                // its counts discounted by their variation: half of the share goes there.
                let old = periods
                    .iter()
                    .filter_map(|(_, o)| *o)
                    .fold(Counts::default(), |sum, o| sum.plus(o));
                if old.trials <= 0.0 || !self.form.upper {
                    return None;
                }
                let phi = 1.0 + self.c2 * old.events / periods.len() as f64;
                let (y, m) = (old.events / phi, old.trials / phi);
                let q = if a >= 0.0 {
                    bounds::exact_upper(y, m, self.alpha / 2.0)
                } else {
                    bounds::exact_lower(y, m, self.alpha / 2.0)
                };
                (a * q + self.form.offset, self.alpha / 2.0)
            }
        };
        let means: Vec<f64> = periods.iter().map(|(s, _)| s.trials * threshold).collect();
        Some((subject, means, alpha))
    }

    /// The chance of counts at least this far beyond the threshold (per-period means `means`).
    fn tail(&self, counts: Counts, means: Vec<f64>) -> f64 {
        let mean: f64 = means.iter().sum();
        let extra = self.c2 * means.iter().map(|m| m * m).sum::<f64>();
        tail(counts.events, mean, mean + extra, self.form.upper)
    }

    /// The least rate of `new` that the whole window's test would have caught.
    pub(super) fn detectable(&self) -> Option<f64> {
        let (subject, means, alpha) = self.window(self.periods)?;
        let mean: f64 = means.iter().sum();
        let var = mean + self.c2 * means.iter().map(|m| m * m).sum::<f64>();
        let rejected = |k: f64| tail(k, mean, var, self.form.upper) <= alpha;
        let most = (mean * 20.0 + 100.0).ceil().min(subject.trials.max(1.0));
        let k = if self.form.upper {
            if !rejected(most) {
                return None;
            }
            boundary(most, 0.0, rejected)
        } else {
            if !rejected(0.0) {
                return None;
            }
            boundary(0.0, most, rejected)
        };
        (subject.trials > 0.0).then(|| k / subject.trials)
    }
}

/// `P(X ≥ s)` (or `P(X ≤ s)` when `!upper`) for a count of this mean and variance: Poisson, or
/// the negative binomial of both moments when the variance is larger.
fn tail(s: f64, mean: f64, var: f64, upper: bool) -> f64 {
    if mean <= 0.0 {
        return if (s > 0.0) == upper { 0.0 } else { 1.0 };
    }
    if var <= mean * (1.0 + 1e-9) {
        return if upper {
            poisson_upper_tail(s, mean)
        } else {
            poisson_lower_tail(s, mean)
        };
    }
    let r = mean * mean / (var - mean);
    let at_least = |k: f64| {
        if k <= 0.0 {
            1.0
        } else {
            beta_inc(k, r, mean / (r + mean))
        }
    };
    if upper {
        at_least(s)
    } else {
        1.0 - at_least(s + 1.0)
    }
}

/// The whole number nearest `holds_at` where `holds` still holds, between `holds_at` (where it
/// does) and `fails_at` (where it does not), for a predicate that changes once between them.
fn boundary(mut holds_at: f64, mut fails_at: f64, holds: impl Fn(f64) -> bool) -> f64 {
    while (fails_at - holds_at).abs() > 1.0 {
        let mid = ((holds_at + fails_at) / 2.0).floor();
        if holds(mid) {
            holds_at = mid;
        } else {
            fails_at = mid;
        }
    }
    holds_at
}

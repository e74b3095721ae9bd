//! Bounds on a proportion: anytime-valid ones (a confidence sequence, for every look of a
//! sequential test) and exact fixed-sample ones (Clopper-Pearson, for the one final look).
//!
//! The confidence sequence is the beta-binomial mixture of Robbins: for a Beta(a, b) prior,
//! `M(p) = B(a + S, b + n - S) / B(a, b) / (p^S (1 - p)^(n - S))` is a martingale under the true
//! proportion p, so by Ville's inequality the set `{p : M(p) < 1/α}` holds the truth at every n
//! at once with probability at least 1 - α.

use super::special::{beta_quantile, ln_beta};

/// The prior of the mixture: mean 1%, weak (half an event in fifty trials), so that the bounds
/// are tight for error rates from a hundredth of a percent to tens of percent.
const PRIOR: (f64, f64) = (0.5, 50.0);

/// ln M(p) for `events` of `trials`.
fn ln_mixture(events: f64, trials: f64, p: f64) -> f64 {
    let (a, b) = PRIOR;
    ln_beta(a + events, b + trials - events)
        - ln_beta(a, b)
        - events * p.ln()
        - (trials - events) * (1.0 - p).ln()
}

/// Anytime-valid bounds: with probability at least 1 - `alpha`, the true proportion lies
/// within them at every look, however many looks there are.
pub(crate) fn anytime(events: f64, trials: f64, alpha: f64) -> (f64, f64) {
    if trials <= 0.0 {
        return (0.0, 1.0);
    }
    let limit = (1.0 / alpha).ln();
    let estimate = (events / trials).clamp(1e-12, 1.0 - 1e-12);
    let outside = |p: f64| ln_mixture(events, trials, p) >= limit;
    // The mixture falls from p → 0 to its least near the estimate and rises again to p → 1.
    let lower = if events > 0.0 && outside(1e-12) {
        bisect(1e-12, estimate, |p| !outside(p))
    } else {
        0.0
    };
    let upper = if outside(1.0 - 1e-12) {
        bisect(estimate, 1.0 - 1e-12, outside)
    } else {
        1.0
    };
    (lower, upper)
}

/// The least x in [lo, hi] where `rising` turns true (it is false at lo and true at hi).
fn bisect(mut lo: f64, mut hi: f64, rising: impl Fn(f64) -> bool) -> f64 {
    for _ in 0..80 {
        let mid = (lo + hi) / 2.0;
        if rising(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// The exact one-sided upper bound at level 1 - `alpha` for one look.
pub(crate) fn exact_upper(events: f64, trials: f64, alpha: f64) -> f64 {
    if events >= trials {
        1.0
    } else {
        beta_quantile(1.0 - alpha, events + 1.0, trials - events)
    }
}

/// The exact one-sided lower bound at level 1 - `alpha` for one look.
pub(crate) fn exact_lower(events: f64, trials: f64, alpha: f64) -> f64 {
    if events <= 0.0 {
        0.0
    } else {
        beta_quantile(alpha, events, trials - events + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anytime_bounds_hold_the_estimate_and_are_wider_than_one_look() {
        for (events, trials) in [
            (3.0, 2_850.0),
            (28.0, 28_500.0),
            (0.0, 1_000.0),
            (75.0, 1_500.0),
        ] {
            let (lo, hi) = anytime(events, trials, 0.01);
            let estimate = events / trials;
            assert!(
                lo <= estimate && estimate <= hi,
                "{events}/{trials}: {lo}..{hi}"
            );
            assert!(hi > exact_upper(events, trials, 0.01), "{events}/{trials}");
            assert!(lo <= exact_lower(events, trials, 0.01), "{events}/{trials}");
        }
        assert_eq!(anytime(0.0, 1_000.0, 0.01).0, 0.0);
        assert_eq!(anytime(0.0, 0.0, 0.01), (0.0, 1.0));
    }

    #[test]
    fn bounds_narrow_as_trials_grow() {
        let (lo1, hi1) = anytime(10.0, 10_000.0, 0.01);
        let (lo2, hi2) = anytime(100.0, 100_000.0, 0.01);
        assert!(hi2 - lo2 < (hi1 - lo1) / 2.0);
    }
}

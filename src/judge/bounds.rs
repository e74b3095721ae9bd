//! Exact fixed-sample bounds on a proportion (Clopper-Pearson), for the last look of a bounded
//! phase, where `old`'s rate over a window bounds the threshold a relative check tests.

use super::special::beta_quantile;

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
    fn exact_bounds_hold_the_estimate_and_narrow_as_trials_grow() {
        for (events, trials) in [(3.0, 2_850.0), (28.0, 28_500.0), (75.0, 1_500.0)] {
            let (lo, hi) = (
                exact_lower(events, trials, 0.01),
                exact_upper(events, trials, 0.01),
            );
            let estimate = events / trials;
            assert!(
                lo < estimate && estimate < hi,
                "{events}/{trials}: {lo}..{hi}"
            );
        }
        assert_eq!(exact_lower(0.0, 1_000.0, 0.01), 0.0);
        assert_eq!(exact_upper(1_000.0, 1_000.0, 0.01), 1.0);
        let wide = exact_upper(10.0, 10_000.0, 0.01) - exact_lower(10.0, 10_000.0, 0.01);
        let narrow = exact_upper(100.0, 100_000.0, 0.01) - exact_lower(100.0, 100_000.0, 0.01);
        assert!(narrow < wide / 2.0);
    }
}

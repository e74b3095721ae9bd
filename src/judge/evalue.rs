//! The evidence of one settled period: e-values, numbers whose expectation is at most 1 when
//! the check holds in that period, so that their product over periods (and any fixed mixture
//! of such products) is a nonnegative supermartingale and Ville's inequality bounds the chance
//! it ever reaches `1/α` by `α`.
//!
//! A period counts `X` events among `n` trials of `new` and `Y` among `m` of `old`. A check
//! `new ≤ a·old + b` holds in the period when `new`'s chance `p` and `old`'s chance `q` there
//! satisfy `p ≤ a·q + b`. Betting `t` on `new` and `u` on `old`,
//!
//! ```text
//! e = exp(t·X + u·Y − K(t; n·(a·q + b)) − K(u; m·q)),   e^u = 1 − a·n·(e^t − 1)/m
//! ```
//!
//! where `K(s; μ)` bounds `ln E e^{sZ}` for a count `Z` of mean `μ`. `u` is chosen so that
//! `old`'s rate drops out of the bound when counts are binomial (or Poisson): the period's own
//! rate of `old`, whatever it is (an outage both versions share), then never helps or hurts.
//! When a version's chance varies from minute to minute, `K` is the negative binomial's, with
//! the squared coefficient of variation `c²` measured on `old` (`dispersion`), and `old`'s
//! mean rate, which no longer drops out, is taken at its worst plausible value `q̄`.
//!
//! `t > 0` tests for a violation (`p` above the threshold), `t < 0` for satisfaction (`p`
//! below it; the inequality reversed). A threshold check is the case `a = 0`.

/// `ln E e^{sZ}` for a count `Z` of mean `mean` whose rate varies with squared coefficient of
/// variation `c2` (negative binomial; Poisson when 0), or more than any binomial of that mean:
/// infinite where it diverges.
pub(super) fn cumulant(s: f64, mean: f64, c2: f64) -> f64 {
    let x = s.exp_m1();
    if c2 <= 1e-12 {
        return mean * x;
    }
    let inner = 1.0 - c2 * mean * x;
    if inner <= 0.0 {
        f64::INFINITY
    } else {
        -inner.ln() / c2
    }
}

/// The largest bet on `new` below `t` whose cumulant stays finite with room to spare: the
/// negative binomial's moment generating function diverges at `c²·μ·(e^t − 1) = 1`.
fn feasible(t: f64, mean: f64, c2: f64) -> f64 {
    if t <= 0.0 || c2 * mean <= 1e-12 {
        return t;
    }
    t.min((0.5 / (c2 * mean)).ln_1p())
}

/// One period's counts, as the bets see them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Pair {
    /// `new`'s events and trials.
    pub(super) x: f64,
    pub(super) n: f64,
    /// `old`'s events and trials (zero trials when the check does not read `old`).
    pub(super) y: f64,
    pub(super) m: f64,
}

/// The check in the period: `new ≤ a·old + b` (or `≥` for satisfaction).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Bound {
    pub(super) a: f64,
    pub(super) b: f64,
    /// The squared coefficient of variation of each version's chance, minute to minute.
    pub(super) c2: f64,
    /// The highest plausible mean chance of `old`.
    pub(super) worst_old: f64,
}

/// The log of the e-value of a bet `t` on `new` (violation for `t > 0`, satisfaction for
/// `t < 0`); 0 (no bet) where the period cannot carry one.
pub(super) fn log_e(pair: Pair, bound: Bound, t: f64) -> f64 {
    let Pair { x, n, y, m } = pair;
    let Bound {
        a,
        b,
        c2,
        worst_old,
    } = bound;
    if n <= 0.0 {
        return 0.0;
    }
    if a == 0.0 {
        let mean = n * b;
        let t = feasible(t, mean, c2);
        let k = cumulant(t, mean, c2);
        return if k.is_finite() { t * x - k } else { 0.0 };
    }
    if m <= 0.0 {
        return 0.0;
    }
    // e^u = 1 - a·n·(e^t - 1)/m must stay positive: bet less on new where old has too few calls.
    let mut t = feasible(t, n * (a * worst_old + b).max(0.0), c2);
    let room = 0.9 * m / (a.abs() * n);
    if a * t.exp_m1() > room {
        t = (room / a).ln_1p();
    }
    let eu = 1.0 - a * n * t.exp_m1() / m;
    if eu <= 0.0 || !eu.is_finite() {
        return 0.0;
    }
    let u = eu.ln();
    // The bound is convex in old's mean rate: its largest value on the plausible range is at
    // an end of it.
    let lowest = if a > 0.0 { (-b / a).max(0.0) } else { 0.0 };
    let normaliser = [lowest, worst_old.max(lowest)]
        .into_iter()
        .map(|q| cumulant(t, n * (a * q + b).max(0.0), c2) + cumulant(u, m * q, c2))
        .fold(f64::NEG_INFINITY, f64::max);
    if normaliser.is_finite() {
        t * x + u * y - normaliser
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::special::ln_gamma;

    /// The binomial probabilities of `n` trials at `p`, where they are not negligible.
    fn pmf(n: f64, p: f64) -> Vec<(f64, f64)> {
        let top = (n * p + 12.0 * (n * p).sqrt() + 20.0).min(n);
        (0..=top as u64)
            .map(|k| {
                let k = k as f64;
                let ln = ln_gamma(n + 1.0) - ln_gamma(k + 1.0) - ln_gamma(n - k + 1.0)
                    + k * p.ln()
                    + (n - k) * (1.0 - p).ln();
                (k, ln.exp())
            })
            .collect()
    }

    /// The exact mean of e for binomial counts at chances `p` (new) and `q` (old).
    fn mean_e(n: f64, m: f64, p: f64, q: f64, bound: Bound, t: f64) -> f64 {
        let olds = if m > 0.0 { pmf(m, q) } else { vec![(0.0, 1.0)] };
        let mut sum = 0.0;
        for (x, px) in pmf(n, p) {
            for (y, py) in &olds {
                sum += px * py * log_e(Pair { x, n, y: *y, m }, bound, t).exp();
            }
        }
        sum
    }

    fn bound(a: f64, b: f64, c2: f64) -> Bound {
        Bound {
            a,
            b,
            c2,
            worst_old: 0.01,
        }
    }

    #[test]
    fn at_the_boundary_the_evidence_is_fair_for_any_rate_of_old() {
        // new = old + 0.5% exactly, old at its usual rate and in a 5% outage; every bet.
        for old in [0.001, 0.05] {
            for t in [0.1, 0.5, 1.1] {
                let e = mean_e(150.0, 2_850.0, old + 0.005, old, bound(1.0, 0.005, 0.0), t);
                assert!(e <= 1.0 + 1e-9, "old at {old}, bet {t}: mean e {e}");
            }
        }
        for t in [0.1, 1.1, -0.1, -0.7] {
            let e = mean_e(150.0, 0.0, 0.01, 0.0, bound(0.0, 0.01, 0.0), t);
            assert!(e <= 1.0 + 1e-9, "bet {t}: {e}");
        }
        // Within the threshold, the evidence of a violation shrinks on average.
        let e = mean_e(150.0, 0.0, 0.005, 0.0, bound(0.0, 0.01, 0.0), 1.1);
        assert!(e < 0.9, "{e}");
    }

    #[test]
    fn varying_chances_are_fair_when_the_dispersion_is_known() {
        // A chance that varies minute to minute as a gamma of mean 1% and coefficient of
        // variation 1 (exponential), integrated on a fine grid.
        let grid: Vec<(f64, f64)> = (0..2_000)
            .map(|i| {
                let g = (i as f64 + 0.5) * 0.005;
                (g * 0.01, (-g).exp() * 0.005)
            })
            .collect();
        let mean = |c2: f64, t: f64| -> f64 {
            grid.iter()
                .map(|(p, w)| w * mean_e(3_000.0, 0.0, *p, 0.0, bound(0.0, 0.01, c2), t))
                .sum()
        };
        for t in [0.02, 0.05] {
            let fair = mean(1.0, t);
            assert!(fair <= 1.0 + 1e-3, "bet {t}: {fair}");
        }
        // Ignoring the variation is not fair: the evidence is inflated.
        let naive = mean(0.0, 0.05);
        assert!(naive > 1.5, "{naive}");
    }

    #[test]
    fn a_violation_grows_the_evidence_and_health_shrinks_it() {
        let bet = |x, y| {
            log_e(
                Pair {
                    x,
                    n: 150.0,
                    y,
                    m: 2_850.0,
                },
                bound(1.0, 0.005, 0.0),
                0.9,
            )
        };
        assert!(bet(6.0, 3.0) > 1.0, "4% against 0.1% + 0.5%");
        assert!(bet(0.0, 3.0) < 0.0);
        let none = Pair {
            x: 1.0,
            n: 0.0,
            y: 0.0,
            m: 0.0,
        };
        assert_eq!(
            log_e(none, bound(0.0, 0.01, 0.0), 1.0),
            0.0,
            "no calls, no bet"
        );
    }
}

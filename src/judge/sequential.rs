//! The sequential tests of a count check, on the counts since `new` reached its weight.
//!
//! **Violation** ("rollback"): a mixture of likelihood-ratio tests of the threshold `c` against
//! alternatives a fixed factor above it (`1.1c`, `1.25c`, … `6c`, equally weighted). Each ratio
//! is a nonnegative martingale while the truth is at or below `c`, so by Ville's inequality the
//! mixture ever reaching `1/α` has probability at most α, however often it is looked at. When the
//! threshold moves with `old`, `c` is the highest threshold `old`'s anytime-valid bounds allow:
//! every ratio here falls as `c` rises, so the test at that `c` is dominated by the test at the
//! true threshold (see docs/language.md, appendix). A phase with a known end keeps half of α for
//! one exact test at its last look (binomial or Poisson tail against `c`, with `old`'s exact
//! bound), which catches at the end what the anytime test has not yet proved.
//!
//! **Satisfaction** ("promotion", for adaptive bakes): the same mixture with alternatives below
//! `c` (`0.9c` … `0.25c`) against the lowest plausible threshold.

use serde::Serialize;

use super::bounds;
use super::form::{Family, Form};
use super::special::{
    binomial_lower_tail, binomial_upper_tail, poisson_lower_tail, poisson_upper_tail,
};

/// Factors of the alternatives above the threshold.
const ABOVE: [f64; 7] = [1.1, 1.25, 1.5, 2.0, 3.0, 4.0, 6.0];
/// Factors of the alternatives below the threshold.
const BELOW: [f64; 6] = [0.9, 0.8, 0.67, 0.5, 0.33, 0.25];
/// The share of a relative check's α spent on `old`'s bounds.
const OLD_SHARE: f64 = 0.2;

/// What one version did since the evidence began.
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
}

/// Where a look stands in its phase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Look {
    /// This check's share of `1 - confidence` in this phase.
    pub alpha: f64,
    /// The phase has a known end, where half of `alpha` goes to one exact test.
    pub bounded: bool,
    /// This is that end.
    pub last: bool,
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
    /// The tested version's counts.
    pub subject: Counts,
    /// The other version's counts, when the threshold moves with it.
    pub other: Option<Counts>,
    /// The threshold at the other version's observed rate (or the constant).
    pub threshold: f64,
    /// The threshold the violation test used: the most favourable `old` allows.
    pub rollback_threshold: f64,
    /// The threshold the satisfaction test used: the least favourable `old` allows.
    pub promotion_threshold: f64,
    /// How far the evidence has gone towards a rollback, from 0 to 1.
    pub toward_rollback: f64,
    /// How far towards confident satisfaction, from 0 to 1.
    pub toward_promotion: f64,
    /// At a last look that stayed undecided: the least rate of the tested version that the
    /// final test would have caught with these many trials.
    pub detectable: Option<f64>,
}

/// Which side of the threshold a test looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Above,
    Below,
}

/// Looks at a count check once.
pub fn assess(form: &Form, subject: Counts, other: Option<Counts>, look: Look) -> Assessment {
    let (anytime_alpha, final_alpha) = if look.bounded {
        (look.alpha / 2.0, look.alpha / 2.0)
    } else {
        (look.alpha, 0.0)
    };
    let relative = form.other.map(|(_, a)| (a, other.unwrap_or_default()));
    let new_share = if relative.is_some() {
        1.0 - OLD_SHARE
    } else {
        1.0
    };
    // The side that breaks the check, and the threshold each test must beat: for violation the
    // one most favourable to the version, for satisfaction the least.
    let breaking = if form.upper { Side::Above } else { Side::Below };
    let keeping = match breaking {
        Side::Above => Side::Below,
        Side::Below => Side::Above,
    };
    let threshold_at = |bounds: (f64, f64), side: Side| match relative {
        None => form.offset,
        Some((a, _)) => {
            let (lo, hi) = bounds;
            let high = side == Side::Above;
            form.threshold(if (a >= 0.0) == high { hi } else { lo })
        }
    };
    let old_anytime = |alpha: f64| {
        relative.map_or((0.0, 1.0), |(_, o)| {
            bounds::anytime(o.events, o.trials, alpha * OLD_SHARE)
        })
    };
    let rollback_threshold = threshold_at(old_anytime(anytime_alpha), breaking);
    let promotion_threshold = threshold_at(old_anytime(look.alpha), keeping);
    let threshold = relative.map_or(form.offset, |(_, o)| {
        form.threshold(o.rate().unwrap_or(0.0))
    });

    let family = form.family;
    let rollback_limit = (1.0 / (anytime_alpha * new_share)).ln();
    let rollback_evidence = evidence(family, subject, rollback_threshold, breaking);
    let promotion_limit = (1.0 / (look.alpha * new_share)).ln();
    let promotion_evidence = evidence(family, subject, promotion_threshold, keeping);

    let final_test = (look.bounded && look.last).then(|| {
        let old_alpha = final_alpha / 2.0;
        let c = match relative {
            None => form.offset,
            Some((_, o)) => threshold_at(
                (
                    bounds::exact_lower(o.events, o.trials, old_alpha),
                    bounds::exact_upper(o.events, o.trials, old_alpha),
                ),
                breaking,
            ),
        };
        let alpha = if relative.is_some() {
            final_alpha / 2.0
        } else {
            final_alpha
        };
        (c, alpha)
    });
    let finally_violated =
        final_test.is_some_and(|(c, alpha)| tail(family, subject, c, breaking) <= alpha);

    let violated = rollback_evidence >= rollback_limit || finally_violated;
    let satisfied = !violated && promotion_evidence >= promotion_limit;
    let state = if violated {
        State::Violated
    } else if satisfied {
        State::Satisfied
    } else {
        State::Undecided
    };
    let detectable = final_test
        .filter(|_| state == State::Undecided)
        .and_then(|(c, alpha)| detectable(family, subject, c, alpha, breaking));
    Assessment {
        state,
        subject,
        other: relative.map(|(_, o)| o),
        threshold,
        rollback_threshold,
        promotion_threshold,
        toward_rollback: if violated {
            1.0
        } else {
            (rollback_evidence / rollback_limit).clamp(0.0, 1.0)
        },
        toward_promotion: if satisfied {
            1.0
        } else {
            (promotion_evidence / promotion_limit).clamp(0.0, 1.0)
        },
        detectable,
    }
}

/// The log of the mixture likelihood ratio for the truth lying on `side` of `c`; minus infinity
/// when the data lie on the other side.
fn evidence(family: Family, counts: Counts, c: f64, side: Side) -> f64 {
    let Some(rate) = counts.rate() else {
        return f64::NEG_INFINITY;
    };
    let (n, s) = (counts.trials, counts.events);
    let beyond = match side {
        Side::Above => rate > c,
        Side::Below => rate < c,
    };
    if !beyond || c <= 0.0 {
        return f64::NEG_INFINITY;
    }
    let factors: &[f64] = match side {
        Side::Above => &ABOVE,
        Side::Below => &BELOW,
    };
    let ratios: Vec<f64> = match family {
        Family::ErrorRate | Family::SlowerThan(_) => {
            if c >= 1.0 {
                return f64::NEG_INFINITY;
            }
            factors
                .iter()
                .map(|m| {
                    let p = (m * c).min(1.0 - 1e-9);
                    s * (p / c).ln() + (n - s) * ((1.0 - p) / (1.0 - c)).ln()
                })
                .collect()
        }
        // Poisson counts in `n` milliseconds at `c` per millisecond.
        Family::Events { .. } => factors
            .iter()
            .map(|m| s * m.ln() - (m - 1.0) * c * n)
            .collect(),
    };
    log_mean_exp(&ratios)
}

fn log_mean_exp(values: &[f64]) -> f64 {
    let top = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !top.is_finite() {
        return top;
    }
    let sum: f64 = values.iter().map(|v| (v - top).exp()).sum();
    top + (sum / values.len() as f64).ln()
}

/// The exact chance of counts at least this far on `side` of `c`, for one look.
fn tail(family: Family, counts: Counts, c: f64, side: Side) -> f64 {
    let (n, k) = (counts.trials.round(), counts.events.round());
    if n <= 0.0 {
        return 1.0;
    }
    match (family, side) {
        (Family::Events { .. }, Side::Above) => poisson_upper_tail(k, c * counts.trials),
        (Family::Events { .. }, Side::Below) => poisson_lower_tail(k, c * counts.trials),
        (_, _) if c >= 1.0 || c <= 0.0 => {
            // A share beyond 0% or 100% is either certain or impossible.
            let impossible = match side {
                Side::Above => c >= 1.0 || k == 0.0,
                Side::Below => c <= 0.0 || k == n,
            };
            if impossible {
                1.0
            } else {
                0.0
            }
        }
        (_, Side::Above) => binomial_upper_tail(k, n, c),
        (_, Side::Below) => binomial_lower_tail(k, n, c),
    }
}

/// The least rate (on `side`) whose count the final test would have rejected at these trials.
fn detectable(family: Family, counts: Counts, c: f64, alpha: f64, side: Side) -> Option<f64> {
    let n = counts.trials.round();
    if n <= 0.0 {
        return None;
    }
    let at = |k: f64| {
        tail(
            family,
            Counts {
                trials: counts.trials,
                events: k,
            },
            c,
            side,
        )
    };
    let most = match family {
        Family::Events { .. } => (c * counts.trials * 20.0 + 100.0).ceil(),
        _ => n,
    };
    // Counts on the far side of the threshold are rejected: from the least such count up
    // (side above), or from the greatest down (side below).
    let rejected = |k: f64| at(k) <= alpha;
    let k = match side {
        Side::Above if rejected(0.0) => 0.0,
        Side::Above if rejected(most) => boundary(most, 0.0, rejected),
        Side::Below if rejected(0.0) => boundary(0.0, most, rejected),
        _ => return None,
    };
    Some(k / counts.trials)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Millis, Which};

    fn error_rate_below(threshold: f64) -> Form {
        Form {
            family: Family::ErrorRate,
            subject: Which::New,
            other: None,
            offset: threshold,
            upper: true,
        }
    }

    fn counts(events: f64, trials: f64) -> Counts {
        Counts { trials, events }
    }

    const ANYTIME: Look = Look {
        alpha: 0.01,
        bounded: true,
        last: false,
    };

    #[test]
    fn clear_violations_and_clear_health_are_decided() {
        let form = error_rate_below(0.01);
        let bad = assess(&form, counts(45.0, 1_500.0), None, ANYTIME);
        assert_eq!(bad.state, State::Violated);
        assert_eq!(bad.toward_rollback, 1.0);
        let good = assess(&form, counts(1.0, 6_000.0), None, ANYTIME);
        assert_eq!(good.state, State::Satisfied);
        assert_eq!(good.toward_rollback, 0.0);
        let early = assess(&form, counts(5.0, 150.0), None, ANYTIME);
        assert_eq!(early.state, State::Undecided);
        assert!(early.toward_rollback > 0.0 && early.toward_rollback < 1.0);
        assert_eq!(early.toward_promotion, 0.0);
    }

    #[test]
    fn the_final_look_spends_the_rest_of_alpha_and_says_what_it_could_catch() {
        let form = error_rate_below(0.01);
        // 28 errors in 1,500 calls: too few for the anytime test, enough for the exact one.
        let seen = counts(28.0, 1_500.0);
        assert_eq!(assess(&form, seen, None, ANYTIME).state, State::Undecided);
        let last = Look {
            last: true,
            ..ANYTIME
        };
        assert_eq!(assess(&form, seen, None, last).state, State::Violated);
        let unsure = assess(&form, counts(18.0, 1_500.0), None, last);
        assert_eq!(unsure.state, State::Undecided);
        let least = unsure.detectable.expect("a detectable rate");
        assert!(least > 0.01 && least < 0.03, "{least}");
    }

    #[test]
    fn a_relative_threshold_gives_old_the_benefit_of_its_doubt() {
        let form = Form {
            other: Some((Which::Old, 1.0)),
            offset: 0.005,
            ..error_rate_below(0.0)
        };
        let old = counts(3.0, 2_850.0);
        let a = assess(&form, counts(10.0, 1_000.0), Some(old), ANYTIME);
        assert!((a.threshold - (0.005 + 3.0 / 2_850.0)).abs() < 1e-12);
        assert!(a.rollback_threshold > a.threshold, "{a:?}");
        let worse = assess(&form, counts(60.0, 1_500.0), Some(old), ANYTIME);
        assert_eq!(worse.state, State::Violated);
    }

    #[test]
    fn events_per_window_are_poisson_rates() {
        let form = Form {
            family: Family::Events {
                throttles: false,
                window: Millis::from_minutes(1),
            },
            subject: Which::New,
            other: None,
            offset: 5.0 / 60_000.0,
            upper: true,
        };
        let ten_minutes = 600_000.0;
        assert_eq!(
            assess(&form, counts(150.0, ten_minutes), None, ANYTIME).state,
            State::Violated
        );
        assert_eq!(
            assess(&form, counts(5.0, ten_minutes), None, ANYTIME).state,
            State::Satisfied
        );
    }

    #[test]
    fn the_evidence_falls_as_the_threshold_rises() {
        // The property the relative test rests on: at a higher threshold, less evidence.
        let seen = counts(30.0, 1_500.0);
        let mut last = f64::INFINITY;
        for c in [0.004, 0.006, 0.008, 0.01, 0.015] {
            let e = evidence(Family::ErrorRate, seen, c, Side::Above);
            assert!(e < last, "{c}: {e} after {last}");
            last = e;
        }
    }
}

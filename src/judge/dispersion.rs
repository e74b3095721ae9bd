//! How much `old`'s chance of an event varies from minute to minute beyond what independent
//! invocations explain, measured on its recent periods: the squared coefficient of variation
//! `c²` of its per-period rate, by the method of moments. With counts `Y_t` of `m_t` trials and
//! the pooled rate `r`, `Var(Y_t) = m_t·r·(1 − r) + c²·(m_t·r)²`, so
//!
//! ```text
//! c² = Σ [(Y_t − m_t·r)² − m_t·r·(1 − r)] / Σ (m_t·r)²     (0 when negative)
//! ```
//!
//! Sums are kept, not periods, so that a long history costs nothing to carry.

use serde::Serialize;

/// Periods needed before the variation is measured at all: with fewer, invocations are taken
/// as independent.
pub const MIN_PERIODS: f64 = 10.0;

/// The largest variation believed: beyond it a minute says almost nothing, and the bets would
/// shrink to nothing.
const MOST: f64 = 4.0;

/// Sums over `old`'s periods.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Dispersion {
    /// Periods with trials.
    pub periods: f64,
    n: f64,
    y: f64,
    yy: f64,
    ny: f64,
    nn: f64,
}

impl Dispersion {
    /// Adds a period of `events` among `trials`.
    pub fn add(&mut self, trials: f64, events: f64) {
        if trials <= 0.0 {
            return;
        }
        self.periods += 1.0;
        self.n += trials;
        self.y += events;
        self.yy += events * events;
        self.ny += trials * events;
        self.nn += trials * trials;
    }

    /// The same periods with every count divided by `k` (clusters of `k` events counted once).
    pub fn scaled(&self, k: f64) -> Dispersion {
        Dispersion {
            periods: self.periods,
            n: self.n / k,
            y: self.y / k,
            yy: self.yy / (k * k),
            ny: self.ny / (k * k),
            nn: self.nn / (k * k),
        }
    }

    /// The pooled rate, if any period had trials.
    pub fn rate(&self) -> Option<f64> {
        (self.n > 0.0).then(|| self.y / self.n)
    }

    /// `c²`: 0 with fewer than [`MIN_PERIODS`] periods or no events.
    pub fn c2(&self) -> f64 {
        let Some(r) = self.rate().filter(|r| *r > 0.0) else {
            return 0.0;
        };
        if self.periods < MIN_PERIODS {
            return 0.0;
        }
        let squares = self.yy - 2.0 * r * self.ny + r * r * self.nn;
        let binomial = self.n * r * (1.0 - r);
        ((squares - binomial) / (r * r * self.nn)).clamp(0.0, MOST)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Periods of 3,000 calls at 0.5% whose chance is multiplied by each factor in turn, with
    /// exactly the expected count of events.
    fn measured(factors: &[f64]) -> f64 {
        let mut d = Dispersion::default();
        for i in 0..600 {
            let g = factors[i % factors.len()];
            d.add(3_000.0, 15.0 * g);
        }
        d.c2()
    }

    #[test]
    fn steady_calls_measure_none_and_varying_ones_their_variation() {
        assert_eq!(measured(&[1.0]), 0.0);
        // Factors 0 and 2: a coefficient of variation of 1, less the binomial part.
        let c2 = measured(&[0.0, 2.0]);
        assert!((c2 - (1.0 - 0.995 / 15.0)).abs() < 1e-9, "{c2}");
        let half = measured(&[0.5, 1.5]);
        assert!((half - (0.25 - 0.995 / 15.0)).abs() < 1e-9, "{half}");
        let mut bursts = [0.0; 10];
        bursts[0] = 10.0;
        assert_eq!(measured(&bursts), MOST, "capped");
    }

    #[test]
    fn too_few_periods_measure_nothing() {
        let mut d = Dispersion::default();
        for y in [0.0, 40.0, 2.0] {
            d.add(1_000.0, y);
        }
        assert_eq!(d.c2(), 0.0);
        assert_eq!(d.rate(), Some(42.0 / 3_000.0));
        assert_eq!(Dispersion::default().rate(), None);
        let clusters = d.scaled(3.0);
        assert_eq!(clusters.rate(), d.rate());
    }
}

//! What real traffic does that a stationary world does not: error probabilities that vary from
//! minute to minute (each version's own, and a part both share), outages of a dependency both
//! versions share, traffic that drifts or comes in bursts (with errors that follow the load),
//! cold starts of a version that just got traffic, asynchronous retries that repeat each failed
//! event, a regression that starts late, latency shocks both versions share, and a statistic
//! CloudWatch does not answer. Each is a knob
//! of `simulate --world FILE`; with none set, the world is the stationary one.
//!
//! Times (`at`) are counted from the start of the run; the hour of history before it sees the
//! variation, drift and bursts too, as old's real history would.

use super::rng::Rng;
use crate::plan::Millis;

/// A stretch of time and how hard it hits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spell {
    /// When it starts, counted from the start of the run.
    pub at: Millis,
    /// How long it lasts.
    pub length: Millis,
    /// An outage: the added chance of failing, in [0, 1]; a latency shock: the factor durations
    /// are stretched by.
    pub amount: f64,
}

impl Spell {
    fn covers(&self, t: i64) -> bool {
        let at = self.at.0 as i64;
        t >= at && t < at + self.length.0 as i64
    }
}

/// A new version's first minutes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColdStart {
    /// How long after a version first gets traffic it is cold.
    pub length: Millis,
    /// The factor its durations are stretched by meanwhile.
    pub slower: f64,
    /// The added chance of failing meanwhile (initialisation errors).
    pub fails: f64,
}

/// A regression that starts late: `new` fails this often from then on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Onset {
    /// When, counted from the start of the run.
    pub at: Millis,
    /// `new`'s error rate from then on, in [0, 1].
    pub error_rate: f64,
}

/// Traffic that follows a daily (or shorter) cycle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drift {
    /// How far above and below its mean the traffic goes, as a share of it.
    pub amplitude: f64,
    /// The length of one cycle.
    pub cycle: Millis,
}

/// The departures from a stationary world; the default has none.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conditions {
    /// Coefficient of variation of each version's own error probability from minute to minute.
    pub errors_vary: f64,
    /// Coefficient of variation of a factor on the error probability that both versions share,
    /// minute to minute.
    pub shared_errors_vary: f64,
    /// Outages of a dependency: both versions fail with this added chance meanwhile.
    pub outages: Vec<Spell>,
    /// A cycle of the traffic.
    pub drift: Option<Drift>,
    /// Whether the error probability grows in proportion with the traffic.
    pub errors_follow_load: bool,
    /// Coefficient of variation of the traffic from minute to minute.
    pub bursts: f64,
    /// A version's first minutes of traffic.
    pub cold_start: Option<ColdStart>,
    /// Asynchronous invocation: each failed event is retried this many times (a minute, then
    /// two more minutes later), failing again. Error rates stay those CloudWatch shows: errors
    /// among invocations, retries included.
    pub retries: u32,
    /// A regression of `new` that starts late.
    pub onset: Option<Onset>,
    /// Latency shocks both versions share.
    pub latency_shocks: Vec<Spell>,
    /// CloudWatch answers no percentile rank (`PR(:D)`) of `Duration`: missing data.
    pub no_percentile_ranks: bool,
    /// Business metrics, cold starts and init durations.
    pub signals: super::signals::Signals,
    /// An error `new` logs and `old` never does (`no new error signatures`).
    pub new_signature: Option<LoggedError>,
}

/// An error line a version logs in a share of its invocations.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedError {
    /// What it logs after `ERROR`.
    pub message: String,
    /// In which share of its invocations, in [0, 1].
    pub share: f64,
}

/// What the world knows of a version's traffic, for its conditions.
#[derive(Debug, Clone, Copy)]
pub(super) struct Stream {
    /// Distinguishes this version's random variation from every other's.
    pub(super) key: u64,
    /// Whether it is a version published for the rollout (not the one the alias served).
    pub(super) new: bool,
    /// The run-relative second it first got traffic, if it has.
    pub(super) first: Option<i64>,
}

/// Seconds after a failed event that Lambda retries it: a minute, then two more minutes.
const RETRY_AFTER: [usize; 2] = [60, 180];

const MINUTE: i64 = 60_000;

impl Conditions {
    /// Whether the world is the stationary one.
    pub fn is_stationary(&self) -> bool {
        *self == Conditions::default()
    }

    /// The factor on the traffic of the second starting at `t` (run-relative milliseconds).
    pub(super) fn traffic(&self, seed: u64, t: i64) -> f64 {
        let drift = self.drift.map_or(1.0, |d| {
            let phase = t as f64 / d.cycle.0.max(1) as f64 * std::f64::consts::TAU;
            (1.0 + d.amplitude * phase.sin()).max(0.0)
        });
        drift * varied(seed, &[minute(t), 3], self.bursts)
    }

    /// The chance that an event of `stream` starting at `t` fails, for a version whose error
    /// rate (errors among invocations, retries included) is `rate`.
    pub(super) fn failing(&self, seed: u64, stream: Stream, rate: f64, t: i64) -> f64 {
        let mut p = match self.onset {
            Some(onset) if stream.new && t >= onset.at.0 as i64 => onset.error_rate,
            _ => rate,
        };
        p *= varied(seed, &[minute(t), 1, stream.key], self.errors_vary);
        p *= varied(seed, &[minute(t), 2], self.shared_errors_vary);
        if self.errors_follow_load {
            p *= self.traffic(seed, t);
        }
        if let Some(cold) = self.cold(stream, t) {
            p = 1.0 - (1.0 - p.min(1.0)) * (1.0 - cold.fails);
        }
        for outage in self.outages.iter().filter(|o| o.covers(t)) {
            p = 1.0 - (1.0 - p.min(1.0)) * (1.0 - outage.amount);
        }
        let p = p.clamp(0.0, 1.0);
        // An event failing with chance q makes 1 + k·q invocations of which (1 + k)·q fail.
        let k = f64::from(self.retries);
        p / (k + 1.0 - k * p)
    }

    /// The factor on the durations of `stream`'s invocations in the second starting at `t`.
    pub(super) fn slower(&self, stream: Stream, t: i64) -> f64 {
        let cold = self.cold(stream, t).map_or(1.0, |c| c.slower);
        self.latency_shocks
            .iter()
            .filter(|s| s.covers(t))
            .fold(cold, |f, s| f * s.amount)
    }

    /// The seconds after a failed event that its retries come.
    pub(super) fn retries_after(&self) -> &[usize] {
        &RETRY_AFTER[..(self.retries as usize).min(RETRY_AFTER.len())]
    }

    fn cold(&self, stream: Stream, t: i64) -> Option<ColdStart> {
        let cold = self.cold_start?;
        let first = stream.first?;
        (stream.new && t >= first && t < first + cold.length.0 as i64).then_some(cold)
    }
}

fn minute(t: i64) -> u64 {
    t.div_euclid(MINUTE) as u64
}

/// A factor with mean 1 and this coefficient of variation (gamma distributed), the same for
/// the same key: 1 when `cv` is 0.
fn varied(seed: u64, key: &[u64], cv: f64) -> f64 {
    if cv <= 0.0 {
        return 1.0;
    }
    let shape = 1.0 / (cv * cv);
    let mut parts = vec![seed, 0xC0_4D17_1045];
    parts.extend_from_slice(key);
    Rng::keyed(&parts).gamma(shape) / shape
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW: Stream = Stream {
        key: 2,
        new: true,
        first: Some(1_000),
    };
    const OLD: Stream = Stream {
        key: 1,
        new: false,
        first: None,
    };

    #[test]
    fn the_stationary_world_changes_nothing() {
        let c = Conditions::default();
        assert!(c.is_stationary());
        assert_eq!(c.failing(1, NEW, 0.01, 5_000), 0.01);
        assert_eq!(c.traffic(1, 5_000), 1.0);
        assert_eq!(c.slower(NEW, 5_000), 1.0);
        assert!(c.retries_after().is_empty());
    }

    #[test]
    fn variation_keeps_its_mean_and_has_its_spread_per_minute() {
        let c = Conditions {
            errors_vary: 1.0,
            ..Conditions::default()
        };
        let draws: Vec<f64> = (0..4_000)
            .map(|m| c.failing(3, NEW, 0.01, m * MINUTE) / 0.01)
            .collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        let var = draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / draws.len() as f64;
        assert!((mean - 1.0).abs() < 0.06, "{mean}");
        assert!((var.sqrt() - 1.0).abs() < 0.1, "{}", var.sqrt());
        // The same minute, the same factor; each version its own.
        assert_eq!(
            c.failing(3, NEW, 0.01, 61_000),
            c.failing(3, NEW, 0.01, 119_000)
        );
        assert_ne!(
            c.failing(3, NEW, 0.01, 61_000),
            c.failing(3, OLD, 0.01, 61_000)
        );
        let shared = Conditions {
            shared_errors_vary: 1.0,
            ..Conditions::default()
        };
        assert_eq!(
            shared.failing(3, NEW, 0.01, 61_000),
            shared.failing(3, OLD, 0.01, 61_000)
        );
    }

    #[test]
    fn an_outage_adds_a_shared_cause_of_failure() {
        let c = Conditions {
            outages: vec![Spell {
                at: Millis::from_minutes(5),
                length: Millis::from_minutes(3),
                amount: 0.05,
            }],
            ..Conditions::default()
        };
        let during = 6 * MINUTE;
        assert!((c.failing(1, OLD, 0.001, during) - (1.0 - 0.999 * 0.95)).abs() < 1e-12);
        assert!((c.failing(1, NEW, 0.02, during) - (1.0 - 0.98 * 0.95)).abs() < 1e-12);
        assert_eq!(c.failing(1, NEW, 0.02, 8 * MINUTE), 0.02);
        assert_eq!(c.failing(1, NEW, 0.02, 4 * MINUTE), 0.02);
    }

    #[test]
    fn retries_keep_the_error_rate_cloudwatch_shows() {
        let c = Conditions {
            retries: 2,
            ..Conditions::default()
        };
        let q = c.failing(1, NEW, 0.005, 0);
        // 1 + 2q invocations per event, 3q of them failing.
        assert!((3.0 * q / (1.0 + 2.0 * q) - 0.005).abs() < 1e-12);
        assert_eq!(c.retries_after(), &[60, 180]);
    }

    #[test]
    fn a_new_version_is_cold_at_first_and_turns_bad_late() {
        let c = Conditions {
            cold_start: Some(ColdStart {
                length: Millis::from_minutes(2),
                slower: 3.0,
                fails: 0.0,
            }),
            onset: Some(Onset {
                at: Millis::from_minutes(9),
                error_rate: 0.03,
            }),
            latency_shocks: vec![Spell {
                at: Millis::from_minutes(4),
                length: Millis::from_minutes(1),
                amount: 2.0,
            }],
            ..Conditions::default()
        };
        assert_eq!(c.slower(NEW, 60_000), 3.0);
        assert_eq!(c.slower(OLD, 60_000), 1.0, "old is warm");
        assert_eq!(c.slower(NEW, 3 * MINUTE), 1.0);
        assert_eq!(c.slower(OLD, 4 * MINUTE + 1), 2.0, "a shock hits both");
        assert_eq!(c.failing(1, NEW, 0.001, 8 * MINUTE), 0.001);
        assert_eq!(c.failing(1, NEW, 0.001, 9 * MINUTE), 0.03);
        assert_eq!(c.failing(1, OLD, 0.001, 9 * MINUTE), 0.001);
    }

    #[test]
    fn traffic_drifts_and_comes_in_bursts() {
        let c = Conditions {
            drift: Some(Drift {
                amplitude: 0.5,
                cycle: Millis::from_minutes(60),
            }),
            errors_follow_load: true,
            ..Conditions::default()
        };
        assert!((c.traffic(1, 15 * MINUTE) - 1.5).abs() < 1e-9);
        assert!((c.traffic(1, 45 * MINUTE) - 0.5).abs() < 1e-9);
        assert!((c.failing(1, OLD, 0.01, 15 * MINUTE) - 0.015).abs() < 1e-9);
        let bursty = Conditions {
            bursts: 1.0,
            ..Conditions::default()
        };
        assert_ne!(bursty.traffic(1, 0), bursty.traffic(1, MINUTE));
    }
}

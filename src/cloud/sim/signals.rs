//! What the simulated world publishes beyond Lambda's own metrics: a business metric (every
//! `metric` header's, the same model) and Lambda Insights' cold starts and init durations.
//!
//! Each successful call of a version publishes one business value, 1 with the version's
//! business rate and 0 otherwise (a call that places an order or not), so `sum` counts
//! events, `sample count` counts successful calls and `average` is the rate; a failed call
//! publishes nothing. A share of each version's calls start cold (more while a new version's
//! first minutes are cold, `cold start` in the world file), and each cold start publishes an
//! `init_duration`, log-normal around the version's mean. Draws are made per second of the world
//! and keyed by it, so any range reads the same counts, however it is cut into periods.

use super::profile::normal_cdf;
use super::rng::Rng;
use super::traffic::Traffic;
use crate::cloud::Stat;
use crate::plan::{Millis, Statistic};

/// The spread (log-normal σ) of init durations around their mean.
const INIT_SIGMA: f64 = 0.3;

/// The share of calls that start cold while a new version is in its `cold start` minutes.
const COLD_WHILE_WARMING: f64 = 0.2;

/// The signals' knobs; the default is what a healthy function shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Signals {
    /// The chance that a successful call publishes a business event (both versions).
    pub business: f64,
    /// `new`'s own chance, from this time of the run on.
    pub new_business: Option<(f64, Millis)>,
    /// The share of calls that start cold (both versions).
    pub cold: f64,
    /// `new`'s own share.
    pub new_cold: Option<f64>,
    /// The mean init duration (ms).
    pub init_ms: f64,
    /// `new`'s own mean.
    pub new_init_ms: Option<f64>,
    /// Whether business metrics are published at all (`no business metric`: missing data).
    pub business_published: bool,
}

impl Default for Signals {
    fn default() -> Self {
        Signals {
            business: 0.5,
            new_business: None,
            cold: 0.01,
            new_cold: None,
            init_ms: 250.0,
            new_init_ms: None,
            business_published: true,
        }
    }
}

impl Signals {
    fn business_rate(&self, new: bool, t: i64) -> f64 {
        match self.new_business {
            Some((rate, from)) if new && t >= from.0 as i64 => rate,
            _ => self.business,
        }
    }

    fn cold_share(&self, new: bool) -> f64 {
        if new {
            self.new_cold.unwrap_or(self.cold)
        } else {
            self.cold
        }
    }

    fn init_mean(&self, new: bool) -> f64 {
        if new {
            self.new_init_ms.unwrap_or(self.init_ms)
        } else {
            self.init_ms
        }
    }
}

/// What one version did in some seconds, as the signals count it.
struct Counted {
    /// Successful calls.
    successes: f64,
    /// Business events among them.
    events: f64,
    /// Cold starts.
    cold: f64,
}

impl Traffic {
    /// A Lambda Insights or business statistic of `version` of `function` over `[start, end)`
    /// (world time; `custom` the statistic of a business metric), as CloudWatch answers at `now`; `None` without any datapoint (no cold
    /// start, no successful call).
    pub fn signal(
        &mut self,
        function: &str,
        version: &str,
        stat: Stat,
        custom: Option<Statistic>,
        now: Millis,
        (start, end): (Millis, Millis),
    ) -> Option<f64> {
        let (slices, new, first_run_ms, key) = self.arrived(function, version, now, start, end)?;
        let signals = &self.conditions.signals;
        let warming = self.conditions.cold_start.map(|c| c.length.0 as i64);
        let mut counted = Counted {
            successes: 0.0,
            events: 0.0,
            cold: 0.0,
        };
        for (second, invocations, errors) in slices {
            let t = (second * 1000) as i64 - self.history.0 as i64;
            let ok = invocations.saturating_sub(errors);
            let mut rng = Rng::keyed(&[self.seed, key, second as u64, 0x5167]);
            counted.successes += ok as f64;
            counted.events += rng.binomial(ok, signals.business_rate(new, t)) as f64;
            let cold_now = match (warming, first_run_ms) {
                (Some(length), Some(first)) if new && t < first + length => {
                    signals.cold_share(new).max(COLD_WHILE_WARMING)
                }
                _ => signals.cold_share(new),
            };
            counted.cold += rng.binomial(invocations, cold_now) as f64;
        }
        let mut answer = Rng::keyed(&[self.seed, key, start.0, end.0, 0x1417]);
        match stat {
            Stat::ColdStarts => (counted.cold > 0.0).then_some(counted.cold),
            Stat::InitDuration(statistic) => {
                let n = counted.cold;
                if n == 0.0 {
                    return None;
                }
                let mean = signals.init_mean(new);
                // Log-normal with this mean: median = mean·e^(-σ²/2).
                let median = mean * (-INIT_SIGMA * INIT_SIGMA / 2.0).exp();
                let at = |q: f64| median * (INIT_SIGMA * inverse_normal(q)).exp();
                Some(match statistic {
                    Statistic::Average => mean * (1.0 + INIT_SIGMA / n.sqrt() * answer.normal()),
                    Statistic::Maximum => at(answer.uniform().powf(1.0 / n)),
                    Statistic::Minimum => at(1.0 - answer.uniform().powf(1.0 / n)),
                    Statistic::Percentile(q) => {
                        let k = (q / 100.0 * n).ceil().clamp(1.0, n);
                        at(answer.beta(k, n - k + 1.0))
                    }
                    Statistic::Sum => mean * n,
                    Statistic::SampleCount => n,
                })
            }
            Stat::Custom(_) => {
                let n = counted.successes;
                if n == 0.0 || !signals.business_published {
                    return None;
                }
                let ones = counted.events;
                Some(match custom.unwrap_or(Statistic::Sum) {
                    Statistic::Sum => ones,
                    Statistic::SampleCount => n,
                    Statistic::Average => ones / n,
                    Statistic::Minimum => f64::from(ones == n),
                    Statistic::Maximum => f64::from(ones > 0.0),
                    Statistic::Percentile(q) => f64::from(ones / n > 1.0 - q / 100.0),
                })
            }
            _ => None,
        }
    }
}

impl Traffic {
    /// The seconds of `[start, end)` (world time) whose metrics have arrived at `now`, as
    /// (world second, invocations, errors), with whether the version is new, the run-relative
    /// time it first got traffic and its random key; `None` when none has arrived.
    #[allow(clippy::type_complexity)]
    pub(super) fn arrived(
        &self,
        function: &str,
        version: &str,
        now: Millis,
        start: Millis,
        end: Millis,
    ) -> Option<(Vec<(usize, u64, u64)>, bool, Option<i64>, u64)> {
        let stream = self
            .streams
            .get(&(function.to_string(), version.to_string()))?;
        let (first, last) = self.readable(stream, now, start, end)?;
        let from = first.clamp(stream.offset, stream.offset + stream.slices.len());
        let slices = stream
            .slices(first, last)
            .iter()
            .enumerate()
            .map(|(i, s)| (from + i, u64::from(s.invocations), u64::from(s.errors)))
            .collect();
        Some((slices, stream.kind.new, stream.kind.first, stream.kind.key))
    }
}

/// The standard normal quantile of `q`, by bisection on the CDF.
fn inverse_normal(q: f64) -> f64 {
    let (mut lo, mut hi) = (-8.0, 8.0);
    for _ in 0..50 {
        let mid = (lo + hi) / 2.0;
        if normal_cdf(mid) < q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

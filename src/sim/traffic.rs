//! The traffic model: Poisson arrivals split by the alias weights, each version with its own
//! error rate and latency distribution, aggregated the way CloudWatch aggregates Lambda metrics:
//! per function, per executed version, in one-minute periods.

use std::collections::BTreeMap;

use super::rng::Rng;
use crate::cloud::Stat;
use crate::plan::Millis;

/// One CloudWatch period.
pub const PERIOD_MS: u64 = 60_000;

/// How a version behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Profile {
    /// Share of invocations that fail, in [0, 1].
    pub error_rate: f64,
    /// Median duration in milliseconds.
    pub median_ms: f64,
}

/// Latency spread: the body of the distribution is log-normal with this sigma…
const SIGMA: f64 = 0.3;
/// …and this share of invocations is slow (cold starts, retries downstream)…
const TAIL_SHARE: f64 = 0.005;
/// …by this median factor.
const TAIL_FACTOR: f64 = 3.0;
/// Latency samples kept per period and version; each stands for its share of the invocations.
const SAMPLES_PER_CHUNK: u64 = 24;

/// One period of one version of one function.
#[derive(Debug, Clone, Default)]
struct Period {
    invocations: u64,
    errors: u64,
    duration_sum: f64,
    duration_max: f64,
    concurrency_max: f64,
    /// (duration, how many invocations it stands for)
    samples: Vec<(f64, f64)>,
}

/// Generated traffic and its metrics.
#[derive(Debug)]
pub struct Traffic {
    rps: f64,
    rng: Rng,
    /// (function, version, period index) → period.
    periods: BTreeMap<(String, String, u64), Period>,
    /// Errors served per version, for the simulation summary.
    served: BTreeMap<(String, String), (u64, u64)>,
}

impl Traffic {
    /// Traffic at `rps` invocations per second per function, seeded.
    pub fn new(rps: f64, seed: u64) -> Self {
        Traffic {
            rps,
            rng: Rng::new(seed),
            periods: BTreeMap::new(),
            served: BTreeMap::new(),
        }
    }

    /// Generates the invocations of `function` during `[from, to)` under a fixed split:
    /// `(version, weight, profile)` with weights summing to 1.
    pub fn generate(
        &mut self,
        function: &str,
        from: Millis,
        to: Millis,
        split: &[(String, f64, Profile)],
    ) {
        let mut start = from.0;
        while start < to.0 {
            let period = start / PERIOD_MS;
            let end = ((period + 1) * PERIOD_MS).min(to.0);
            let seconds = (end - start) as f64 / 1000.0;
            for (version, weight, profile) in split {
                self.chunk(function, version, period, seconds * weight, *profile);
            }
            start = end;
        }
    }

    fn chunk(
        &mut self,
        function: &str,
        version: &str,
        period: u64,
        seconds: f64,
        profile: Profile,
    ) {
        let count = self.rng.poisson(self.rps * seconds);
        if count == 0 {
            return;
        }
        let errors = self.rng.binomial(count, profile.error_rate);
        let samples = count.min(SAMPLES_PER_CHUNK);
        let weight = count as f64 / samples as f64;
        let durations: Vec<f64> = (0..samples).map(|_| self.duration(profile)).collect();
        let mean = durations.iter().sum::<f64>() / samples as f64;
        let entry = self
            .periods
            .entry((function.to_string(), version.to_string(), period))
            .or_default();
        entry.invocations += count;
        entry.errors += errors;
        entry.duration_sum += mean * count as f64;
        entry.duration_max = durations.iter().copied().fold(entry.duration_max, f64::max);
        // Little's law: concurrency = arrival rate × time in the system.
        let concurrency = count as f64 / (seconds.max(1e-9)) * mean / 1000.0;
        entry.concurrency_max = entry.concurrency_max.max(concurrency.ceil());
        entry
            .samples
            .extend(durations.into_iter().map(|d| (d, weight)));
        let served = self
            .served
            .entry((function.to_string(), version.to_string()))
            .or_default();
        served.0 += count;
        served.1 += errors;
    }

    fn duration(&mut self, profile: Profile) -> f64 {
        let body = profile.median_ms * (SIGMA * self.rng.normal()).exp();
        if self.rng.uniform() < TAIL_SHARE {
            body * TAIL_FACTOR * (0.5 * self.rng.normal()).exp()
        } else {
            body
        }
    }

    /// A uniform draw in [0, 1), for choices such as which version an invocation reaches.
    pub fn uniform(&mut self) -> f64 {
        self.rng.uniform()
    }

    /// An answer to one invocation: (failed, duration in ms).
    pub fn invoke(&mut self, profile: Profile) -> (bool, f64) {
        let failed = self.rng.uniform() < profile.error_rate;
        (failed, self.duration(profile))
    }

    /// A statistic over the complete periods that end within `window` before `now`; at least
    /// the last complete period, as CloudWatch has nothing finer. `None` without invocations.
    pub fn stat(
        &self,
        function: &str,
        version: &str,
        stat: Stat,
        now: Millis,
        window: Millis,
    ) -> Option<f64> {
        let last = now.0 / PERIOD_MS; // periods before this one are complete
        let span = window.0.max(PERIOD_MS).div_ceil(PERIOD_MS);
        let first = last.saturating_sub(span);
        let periods: Vec<&Period> = (first..last)
            .filter_map(|p| {
                self.periods
                    .get(&(function.to_string(), version.to_string(), p))
            })
            .filter(|p| p.invocations > 0)
            .collect();
        if periods.is_empty() {
            return None;
        }
        let invocations: u64 = periods.iter().map(|p| p.invocations).sum();
        Some(match stat {
            Stat::Invocations => invocations as f64,
            Stat::Errors => periods.iter().map(|p| p.errors).sum::<u64>() as f64,
            Stat::Throttles => 0.0,
            Stat::DurationAvg => {
                periods.iter().map(|p| p.duration_sum).sum::<f64>() / invocations as f64
            }
            Stat::DurationMax => periods.iter().map(|p| p.duration_max).fold(0.0, f64::max),
            Stat::ConcurrencyMax => periods
                .iter()
                .map(|p| p.concurrency_max)
                .fold(0.0, f64::max),
            Stat::DurationPercentile(q) => {
                let mut samples: Vec<(f64, f64)> = periods
                    .iter()
                    .flat_map(|p| p.samples.iter().copied())
                    .collect();
                weighted_quantile(&mut samples, q / 100.0)
            }
        })
    }

    /// Invocations and errors that `version` of `function` served so far.
    pub fn served(&self, function: &str, version: &str) -> (u64, u64) {
        self.served
            .get(&(function.to_string(), version.to_string()))
            .copied()
            .unwrap_or_default()
    }
}

fn weighted_quantile(samples: &mut [(f64, f64)], q: f64) -> f64 {
    samples.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = samples.iter().map(|s| s.1).sum();
    let target = q * total;
    let mut seen = 0.0;
    for (value, weight) in samples.iter() {
        seen += weight;
        if seen >= target {
            return *value;
        }
    }
    samples.last().map_or(0.0, |s| s.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: Profile = Profile {
        error_rate: 0.001,
        median_ms: 100.0,
    };
    const NEW: Profile = Profile {
        error_rate: 0.05,
        median_ms: 200.0,
    };

    fn split(weight: f64) -> Vec<(String, f64, Profile)> {
        vec![("1".into(), 1.0 - weight, OLD), ("2".into(), weight, NEW)]
    }

    #[test]
    fn arrivals_split_by_weight_and_errors_by_rate() {
        let mut traffic = Traffic::new(100.0, 1);
        traffic.generate("f", Millis(0), Millis::from_minutes(10), &split(0.2));
        let now = Millis::from_minutes(10);
        let new = traffic
            .stat("f", "2", Stat::Invocations, now, Millis::from_minutes(10))
            .unwrap();
        let old = traffic
            .stat("f", "1", Stat::Invocations, now, Millis::from_minutes(10))
            .unwrap();
        assert!(
            (new / (new + old) - 0.2).abs() < 0.02,
            "share of new {}",
            new / (new + old)
        );
        assert!(
            ((new + old) / 60_000.0 - 1.0).abs() < 0.03,
            "total {}",
            new + old
        );
        let errors = traffic
            .stat("f", "2", Stat::Errors, now, Millis::from_minutes(10))
            .unwrap();
        assert!(
            (errors / new - 0.05).abs() < 0.01,
            "error rate {}",
            errors / new
        );
    }

    #[test]
    fn latency_has_its_median_and_a_tail() {
        let mut traffic = Traffic::new(200.0, 2);
        traffic.generate("f", Millis(0), Millis::from_minutes(30), &split(0.5));
        let now = Millis::from_minutes(30);
        let window = Millis::from_minutes(30);
        let p50 = traffic
            .stat("f", "2", Stat::DurationPercentile(50.0), now, window)
            .unwrap();
        let p99 = traffic
            .stat("f", "2", Stat::DurationPercentile(99.0), now, window)
            .unwrap();
        assert!((p50 / 200.0 - 1.0).abs() < 0.1, "p50 {p50}");
        assert!(
            p99 > 1.8 * p50 && p99 < 3.0 * p50,
            "p99 {p99} against p50 {p50}"
        );
    }

    #[test]
    fn only_complete_minutes_count() {
        let mut traffic = Traffic::new(100.0, 3);
        traffic.generate("f", Millis(0), Millis(90_000), &split(0.5));
        let one_minute = Millis::from_minutes(1);
        assert!(traffic
            .stat("f", "2", Stat::Invocations, Millis(59_000), one_minute)
            .is_none());
        let first = traffic
            .stat("f", "2", Stat::Invocations, Millis(90_000), one_minute)
            .unwrap();
        assert!((first / 3000.0 - 1.0).abs() < 0.1, "{first}");
        assert!(traffic
            .stat("f", "3", Stat::Invocations, Millis(90_000), one_minute)
            .is_none());
    }
}

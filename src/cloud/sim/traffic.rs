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
/// …by this median factor, with this extra sigma.
const TAIL_FACTOR: f64 = 3.0;
const TAIL_SIGMA: f64 = 0.5;

impl Profile {
    /// Share of invocations that take at most `ms`.
    fn cdf(&self, ms: f64) -> f64 {
        if ms <= 0.0 {
            return 0.0;
        }
        let body = normal_cdf((ms / self.median_ms).ln() / SIGMA);
        let tail_sigma = (SIGMA * SIGMA + TAIL_SIGMA * TAIL_SIGMA).sqrt();
        let tail = normal_cdf((ms / (self.median_ms * TAIL_FACTOR)).ln() / tail_sigma);
        (1.0 - TAIL_SHARE) * body + TAIL_SHARE * tail
    }

    /// Mean duration in milliseconds.
    fn mean(&self) -> f64 {
        let tail_var = SIGMA * SIGMA + TAIL_SIGMA * TAIL_SIGMA;
        (1.0 - TAIL_SHARE) * self.median_ms * (SIGMA * SIGMA / 2.0).exp()
            + TAIL_SHARE * self.median_ms * TAIL_FACTOR * (tail_var / 2.0).exp()
    }
}

/// Standard normal CDF (Abramowitz and Stegun 7.1.26; error below 1e-7).
fn normal_cdf(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    if z >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

/// One period of one version of one function. Durations are kept as the distribution they are
/// drawn from, weighted by invocations: percentiles over thousands of invocations are then as
/// steady as CloudWatch's, and a period costs a few bytes whatever the traffic.
#[derive(Debug, Clone, Default)]
struct Period {
    invocations: u64,
    errors: u64,
    /// (profile, invocations under it)
    profiles: Vec<(Profile, u64)>,
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
        let entry = self
            .periods
            .entry((function.to_string(), version.to_string(), period))
            .or_default();
        entry.invocations += count;
        entry.errors += errors;
        match entry.profiles.iter_mut().find(|(p, _)| *p == profile) {
            Some((_, n)) => *n += count,
            None => entry.profiles.push((profile, count)),
        }
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
            body * TAIL_FACTOR * (TAIL_SIGMA * self.rng.normal()).exp()
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
        let mix: Vec<(Profile, f64)> = periods
            .iter()
            .flat_map(|p| p.profiles.iter().map(|(profile, n)| (*profile, *n as f64)))
            .collect();
        let total = invocations as f64;
        let quantile = |q: f64| {
            let cdf = |ms: f64| mix.iter().map(|(p, n)| n * p.cdf(ms)).sum::<f64>() / total;
            // Bisection in log space between a microsecond and a day.
            let (mut lo, mut hi) = (1e-3f64.ln(), 8.64e7f64.ln());
            for _ in 0..60 {
                let mid = (lo + hi) / 2.0;
                if cdf(mid.exp()) < q {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            hi.exp()
        };
        let mean = mix.iter().map(|(p, n)| n * p.mean()).sum::<f64>() / total;
        Some(match stat {
            Stat::Invocations => total,
            Stat::Errors => periods.iter().map(|p| p.errors).sum::<u64>() as f64,
            Stat::Throttles => 0.0,
            Stat::DurationAvg => mean,
            // The expected largest of N draws sits near the 1 - 1/(N+1) quantile.
            Stat::DurationMax => quantile(1.0 - 1.0 / (total + 1.0)),
            Stat::ConcurrencyMax => periods
                .iter()
                .map(|p| (p.invocations as f64 / 60.0 * mean / 1000.0).ceil())
                .fold(0.0, f64::max),
            Stat::DurationPercentile(q) => quantile(q / 100.0),
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
    fn the_latency_distribution_is_what_the_profile_says() {
        let p = NEW;
        assert!(
            (p.cdf(200.0) - 0.5).abs() < 0.01,
            "the median is the median: {}",
            p.cdf(200.0)
        );
        assert!(p.cdf(1e6) > 0.999_999 && p.cdf(1.0) < 1e-6);
        assert!((normal_cdf(1.96) - 0.975).abs() < 1e-4);
        let mut rng_traffic = Traffic::new(1.0, 9);
        let below = (0..20_000)
            .filter(|_| rng_traffic.invoke(p).1 <= 300.0)
            .count() as f64
            / 20_000.0;
        assert!(
            (below - p.cdf(300.0)).abs() < 0.01,
            "sampled {below} vs cdf {}",
            p.cdf(300.0)
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

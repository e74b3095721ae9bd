//! The traffic model: Poisson arrivals split by the alias weights, each version with its own
//! error rate and latency distribution, recorded per second of the world, and read the way
//! CloudWatch reads Lambda's metrics: per function and executed version, stamped with the second
//! the invocation started, readable only once it has ended and ingestion has passed (so the
//! newest periods fill while they are read), and with the sampling noise of the number of calls
//! a range really holds: a percentile of 600 calls is an order statistic of 600 draws, not the
//! distribution's own value.

use std::collections::BTreeMap;

use super::rng::Rng;
use crate::cloud::Stat;
use crate::plan::Millis;

/// How finely traffic is recorded: CloudWatch's smallest period.
pub const SLICE: Millis = Millis(1_000);

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

    /// Variance of the duration in milliseconds squared.
    fn variance(&self) -> f64 {
        let tail_var = SIGMA * SIGMA + TAIL_SIGMA * TAIL_SIGMA;
        let second = (1.0 - TAIL_SHARE) * self.median_ms.powi(2) * (2.0 * SIGMA * SIGMA).exp()
            + TAIL_SHARE * (self.median_ms * TAIL_FACTOR).powi(2) * (2.0 * tail_var).exp();
        second - self.mean().powi(2)
    }

    /// The duration below which a share `q` of invocations end.
    fn quantile(&self, q: f64) -> f64 {
        // Bisection in log space between a microsecond and a day.
        let (mut lo, mut hi) = (1e-3f64.ln(), 8.64e7f64.ln());
        for _ in 0..60 {
            let mid = (lo + hi) / 2.0;
            if self.cdf(mid.exp()) < q {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        hi.exp()
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

/// The invocations that started in one second, and how many of them failed.
#[derive(Debug, Clone, Copy, Default)]
struct Slice {
    invocations: u32,
    errors: u32,
}

/// The traffic one version of one function served.
#[derive(Debug)]
struct Stream {
    profile: Profile,
    /// Slice `i` holds the invocations that started in second `i` of the world.
    slices: Vec<Slice>,
    /// Per duration limit (ms): how many invocations of each slice took at most that long,
    /// drawn when first asked for.
    fast: BTreeMap<u64, Vec<u32>>,
    /// Distinguishes this stream's random answers from every other's.
    key: u64,
}

impl Stream {
    /// The slices `[first, last)` as far as recorded.
    fn slices(&self, first: usize, last: usize) -> &[Slice] {
        let last = last.min(self.slices.len());
        &self.slices[first.min(last)..last]
    }
}

/// Generated traffic and its metrics.
#[derive(Debug)]
pub struct Traffic {
    rps: f64,
    seed: u64,
    rng: Rng,
    /// How long after an invocation ends its metrics become readable.
    ingestion: Millis,
    streams: BTreeMap<(String, String), Stream>,
}

impl Traffic {
    /// Traffic at `rps` invocations per second per function, seeded, whose metrics are readable
    /// `ingestion` after each invocation ends.
    pub fn new(rps: f64, seed: u64, ingestion: Millis) -> Self {
        Traffic {
            rps,
            seed,
            rng: Rng::new(seed),
            ingestion,
            streams: BTreeMap::new(),
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
            let slice = start / SLICE.0;
            let end = ((slice + 1) * SLICE.0).min(to.0);
            let seconds = (end - start) as f64 / 1000.0;
            for (version, weight, profile) in split {
                let count = self.rng.poisson(self.rps * seconds * weight);
                let errors = self.rng.binomial(count, profile.error_rate);
                let next_key = self.streams.len() as u64 + 1;
                let stream = self
                    .streams
                    .entry((function.to_string(), version.clone()))
                    .or_insert_with(|| Stream {
                        profile: *profile,
                        slices: Vec::new(),
                        fast: BTreeMap::new(),
                        key: next_key,
                    });
                let i = slice as usize;
                if stream.slices.len() <= i {
                    stream.slices.resize(i + 1, Slice::default());
                }
                stream.slices[i].invocations += count as u32;
                stream.slices[i].errors += errors as u32;
            }
            start = end;
        }
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

    /// A statistic of `version` of `function` over `[start, end)` (world time), as CloudWatch
    /// answers at `now`: only invocations whose metrics have arrived count. `None` without any.
    pub fn stat(
        &mut self,
        function: &str,
        version: &str,
        stat: Stat,
        now: Millis,
        start: Millis,
        end: Millis,
    ) -> Option<f64> {
        let key = (function.to_string(), version.to_string());
        let stream = self.streams.get(&key)?;
        // A slice is readable once its invocations have ended and ingestion has passed.
        let arrived = now
            .0
            .saturating_sub(self.ingestion.0 + stream.profile.mean().ceil() as u64);
        let first = start.0.div_ceil(SLICE.0) as usize;
        let last = (end.0.min(arrived) / SLICE.0) as usize;
        if last <= first {
            return None;
        }
        let slices = stream.slices(first, last);
        let n: f64 = slices.iter().map(|s| f64::from(s.invocations)).sum();
        if n == 0.0 {
            return None;
        }
        let profile = stream.profile;
        let mut answer = Rng::keyed(&[
            self.seed,
            stream.key,
            first as u64,
            last as u64,
            stat_key(stat),
        ]);
        Some(match stat {
            Stat::Invocations => n,
            Stat::Errors => slices.iter().map(|s| f64::from(s.errors)).sum(),
            Stat::Throttles => 0.0,
            Stat::DurationAvg => profile.mean() + (profile.variance() / n).sqrt() * answer.normal(),
            // The largest of n draws: the n-th order statistic.
            Stat::DurationMax => profile.quantile(answer.uniform().powf(1.0 / n)),
            Stat::DurationPercentile(q) => {
                let k = (q / 100.0 * n).ceil().clamp(1.0, n);
                profile.quantile(answer.beta(k, n - k + 1.0))
            }
            Stat::ConcurrencyMax => {
                let seconds = (last - first) as f64;
                (n / seconds * profile.mean() / 1000.0).ceil()
            }
            Stat::PercentileRank(limit) => {
                let fast = self.fast(&key, limit, last);
                let fast = &fast[first.min(fast.len())..];
                fast.iter().map(|f| f64::from(*f)).sum::<f64>() / n * 100.0
            }
        })
    }

    /// How many invocations of each recorded slice before `last` took at most `limit`.
    fn fast(&mut self, key: &(String, String), limit: Millis, last: usize) -> &[u32] {
        let seed = self.seed;
        let Some(stream) = self.streams.get_mut(key) else {
            return &[];
        };
        let share = stream.profile.cdf(limit.0 as f64);
        let upto = last.min(stream.slices.len());
        let known = stream.fast.entry(limit.0).or_default();
        for i in known.len()..upto {
            let mut rng = Rng::keyed(&[seed, stream.key, i as u64, limit.0]);
            known.push(rng.binomial(u64::from(stream.slices[i].invocations), share) as u32);
        }
        &known[..upto]
    }

    /// Invocations and errors that `version` of `function` served so far.
    pub fn served(&self, function: &str, version: &str) -> (u64, u64) {
        self.streams
            .get(&(function.to_string(), version.to_string()))
            .map_or((0, 0), |s| {
                s.slices.iter().fold((0, 0), |(n, e), slice| {
                    (
                        n + u64::from(slice.invocations),
                        e + u64::from(slice.errors),
                    )
                })
            })
    }
}

/// A number per statistic, for keyed random answers.
fn stat_key(stat: Stat) -> u64 {
    match stat {
        Stat::Invocations => 1,
        Stat::Errors => 2,
        Stat::Throttles => 3,
        Stat::DurationAvg => 4,
        Stat::DurationMax => 5,
        Stat::ConcurrencyMax => 6,
        Stat::DurationPercentile(q) => 7 ^ (q.to_bits() << 4),
        Stat::PercentileRank(limit) => 8 ^ (limit.0 << 4),
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
    const INGESTION: Millis = Millis(30_000);

    fn split(weight: f64) -> Vec<(String, f64, Profile)> {
        vec![("1".into(), 1.0 - weight, OLD), ("2".into(), weight, NEW)]
    }

    fn minutes(n: u64) -> Millis {
        Millis::from_minutes(n)
    }

    #[test]
    fn arrivals_split_by_weight_and_errors_by_rate() {
        let mut traffic = Traffic::new(100.0, 1, INGESTION);
        traffic.generate("f", Millis(0), minutes(11), &split(0.2));
        let mut read = |version, stat| {
            traffic
                .stat("f", version, stat, minutes(11), Millis(0), minutes(10))
                .unwrap()
        };
        let (new, old) = (read("2", Stat::Invocations), read("1", Stat::Invocations));
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
        let errors = read("2", Stat::Errors);
        assert!(
            (errors / new - 0.05).abs() < 0.01,
            "error rate {}",
            errors / new
        );
    }

    #[test]
    fn metrics_arrive_after_ingestion_so_the_newest_period_fills_while_it_is_read() {
        let mut traffic = Traffic::new(100.0, 3, INGESTION);
        traffic.generate("f", Millis(0), minutes(3), &split(0.5));
        let mut read =
            |now: Millis| traffic.stat("f", "2", Stat::Invocations, now, Millis(0), minutes(1));
        assert_eq!(read(Millis(20_000)), None, "nothing has arrived");
        let partial = read(Millis(60_000)).unwrap();
        let whole = read(Millis(91_000)).unwrap();
        assert!(
            partial < whole * 0.6,
            "{partial} of {whole} by the minute's end"
        );
        assert!((whole / 3_000.0 - 1.0).abs() < 0.1, "{whole}");
        assert_eq!(
            read(minutes(3)),
            Some(whole),
            "a settled period stays as it is"
        );
        assert!(traffic
            .stat(
                "f",
                "3",
                Stat::Invocations,
                minutes(3),
                Millis(0),
                minutes(1)
            )
            .is_none());
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
        assert!((p.quantile(p.cdf(300.0)) - 300.0).abs() < 0.01);
        assert!((normal_cdf(1.96) - 0.975).abs() < 1e-4);
        let mut rng_traffic = Traffic::new(1.0, 9, INGESTION);
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
    fn percentiles_carry_the_noise_of_their_sample() {
        let mut traffic = Traffic::new(10.0, 2, INGESTION);
        traffic.generate("f", Millis(0), minutes(61), &split(0.5));
        let now = minutes(61);
        let mut p99s = Vec::new();
        for m in 0..60 {
            let p99 = traffic
                .stat(
                    "f",
                    "2",
                    Stat::DurationPercentile(99.0),
                    now,
                    minutes(m),
                    minutes(m + 1),
                )
                .unwrap();
            p99s.push(p99);
        }
        let mean = p99s.iter().sum::<f64>() / p99s.len() as f64;
        let spread = p99s.iter().map(|p| (p - mean).abs()).sum::<f64>() / p99s.len() as f64;
        assert!(
            spread > mean * 0.05,
            "per-minute p99 of ~300 calls vary: {p99s:?}"
        );
        // The same question about the same minute gets the same answer.
        let again = traffic
            .stat(
                "f",
                "2",
                Stat::DurationPercentile(99.0),
                now,
                minutes(0),
                minutes(1),
            )
            .unwrap();
        assert_eq!(again, p99s[0]);
        let hour = traffic
            .stat(
                "f",
                "2",
                Stat::DurationPercentile(50.0),
                now,
                Millis(0),
                minutes(60),
            )
            .unwrap();
        assert!((hour / 200.0 - 1.0).abs() < 0.05, "p50 over an hour {hour}");
    }

    #[test]
    fn percentile_ranks_add_up_across_ranges() {
        let mut traffic = Traffic::new(50.0, 4, INGESTION);
        traffic.generate("f", Millis(0), minutes(12), &split(0.5));
        let now = minutes(12);
        let limit = Millis(400);
        let mut fast = |start, end| {
            let n = traffic
                .stat("f", "2", Stat::Invocations, now, start, end)
                .unwrap();
            let rank = traffic
                .stat("f", "2", Stat::PercentileRank(limit), now, start, end)
                .unwrap();
            (n, n * rank / 100.0)
        };
        let (n1, f1) = fast(Millis(0), minutes(5));
        let (n2, f2) = fast(minutes(5), minutes(10));
        let (n, f) = fast(Millis(0), minutes(10));
        assert_eq!(n, n1 + n2);
        assert!((f - (f1 + f2)).abs() < 1e-6, "{f} vs {f1} + {f2}");
        assert!((f / n - NEW.cdf(400.0)).abs() < 0.02, "{}", f / n);
    }

    #[test]
    fn a_range_past_the_last_traffic_reads_what_there_was() {
        let mut traffic = Traffic::new(50.0, 4, INGESTION);
        traffic.generate("f", Millis(0), minutes(5), &split(0.5));
        let now = minutes(12);
        let limit = Millis(400);
        let mut rank = |end| {
            traffic
                .stat("f", "2", Stat::PercentileRank(limit), now, Millis(0), end)
                .expect("a rank over the traffic there was")
        };
        assert_eq!(rank(minutes(10)), rank(minutes(5)));
    }
}

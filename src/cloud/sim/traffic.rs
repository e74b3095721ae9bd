//! The traffic model: Poisson arrivals split by the alias weights, each version with its own
//! error rate and latency distribution, under the world's [`Conditions`], recorded per second of
//! the world, and read the way CloudWatch reads Lambda's metrics: per function and executed
//! version, stamped with the second the invocation started, readable only once it has ended and
//! ingestion has passed (so the newest periods fill while they are read), and with the sampling
//! noise of the number of calls a range really holds: a percentile of 600 calls is an order
//! statistic of 600 draws, not the distribution's own value.
//!
//! The world's time starts an hour (its history) before the run: the alias served `old` alone
//! then, as it did before any rollout, so a rollout can read `old`'s recent past.

use std::collections::BTreeMap;

use super::conditions::{Conditions, Stream as Kind};
use super::profile::{Mixture, BODY_SIGMA, TAIL_FACTOR, TAIL_SHARE};
use super::rng::Rng;
use crate::cloud::Stat;
use crate::plan::Millis;

pub use super::profile::Profile;

/// How finely traffic is recorded: CloudWatch's smallest period.
pub const SLICE: Millis = Millis(1_000);

/// One version's share of a function's traffic while the routing holds.
#[derive(Debug, Clone)]
pub struct Share {
    /// The version.
    pub version: String,
    /// Its weight in [0, 1].
    pub weight: f64,
    /// How it behaves.
    pub profile: Profile,
    /// Whether it was published for the rollout (cold starts and late regressions are its).
    pub new: bool,
}

/// The invocations that started in one second, and how many of them failed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Slice {
    pub(super) invocations: u32,
    pub(super) errors: u32,
    /// The factor durations were stretched by in this second.
    slower: f32,
}

impl Default for Slice {
    fn default() -> Self {
        Slice {
            invocations: 0,
            errors: 0,
            slower: 1.0,
        }
    }
}

/// The traffic one version of one function served.
#[derive(Debug)]
pub(super) struct Stream {
    profile: Profile,
    pub(super) kind: Kind,
    /// The second of the world the stream's first slice is: a version that gets traffic late
    /// in the world keeps no empty seconds before it.
    pub(super) offset: usize,
    /// Slice `i` holds the invocations that started in second `offset + i` of the world.
    pub(super) slices: Vec<Slice>,
    /// Retries of failed events still to come, by the second of the world they come in.
    retries: BTreeMap<usize, u32>,
    /// Per duration limit (ms): how many invocations of each slice took at most that long,
    /// drawn when first asked for (from the stream's first slice on, as `slices`).
    fast: BTreeMap<u64, Vec<u32>>,
}

impl Stream {
    /// The slices of the world's seconds `[first, last)` as far as recorded.
    pub(super) fn slices(&self, first: usize, last: usize) -> &[Slice] {
        let end = self.offset + self.slices.len();
        let last = last.min(end).max(self.offset);
        let first = first.clamp(self.offset, last);
        &self.slices[first - self.offset..last - self.offset]
    }

    /// The slice of second `i` of the world, recorded from now on if it was not.
    fn slice(&mut self, i: usize) -> &mut Slice {
        if i < self.offset {
            let before = self.offset - i;
            self.slices
                .splice(0..0, std::iter::repeat_n(Slice::default(), before));
            self.offset = i;
            // Counts drawn are kept from the first slice on: drawn again from the new first.
            self.fast.clear();
        }
        let at = i - self.offset;
        if self.slices.len() <= at {
            self.slices.resize(at + 1, Slice::default());
        }
        &mut self.slices[at]
    }

    /// The durations of these slices.
    fn mixture(&self, slices: &[Slice]) -> Mixture {
        Mixture::new(
            self.profile,
            slices
                .iter()
                .map(|s| (f64::from(s.slower), f64::from(s.invocations))),
        )
    }
}

/// Generated traffic and its metrics.
#[derive(Debug)]
pub struct Traffic {
    rps: f64,
    pub(super) seed: u64,
    rng: Rng,
    /// How long after an invocation ends its metrics become readable.
    ingestion: Millis,
    /// How much of the world's time lies before the run.
    pub(super) history: Millis,
    pub(super) conditions: Conditions,
    pub(super) streams: BTreeMap<(String, String), Stream>,
}

impl Traffic {
    /// Traffic at `rps` invocations per second per function, seeded, whose metrics are readable
    /// `ingestion` after each invocation ends, under `conditions`, in a world whose time starts
    /// `history` before the run. Times given to it are the world's.
    pub fn new(
        rps: f64,
        seed: u64,
        ingestion: Millis,
        history: Millis,
        conditions: Conditions,
    ) -> Self {
        Traffic {
            rps,
            seed,
            rng: Rng::new(seed),
            ingestion,
            history,
            conditions,
            streams: BTreeMap::new(),
        }
    }

    /// Generates the invocations of `function` during `[from, to)` under a fixed split, with
    /// weights summing to 1.
    pub fn generate(&mut self, function: &str, from: Millis, to: Millis, split: &[Share]) {
        let mut start = from.0;
        while start < to.0 {
            let slice = start / SLICE.0;
            let end = ((slice + 1) * SLICE.0).min(to.0);
            let seconds = (end - start) as f64 / 1000.0;
            // Run-relative time of this second.
            let t = (slice * SLICE.0) as i64 - self.history.0 as i64;
            let load = self.conditions.traffic(self.seed, t);
            let i = slice as usize;
            for share in split {
                let next_key = self.streams.len() as u64 + 1;
                let stream = self
                    .streams
                    .entry((function.to_string(), share.version.clone()))
                    .or_insert_with(|| Stream {
                        profile: share.profile,
                        kind: Kind {
                            key: next_key,
                            new: share.new,
                            first: None,
                        },
                        offset: i,
                        slices: Vec::new(),
                        retries: BTreeMap::new(),
                        fast: BTreeMap::new(),
                    });
                let count = self.rng.poisson(self.rps * seconds * share.weight * load);
                if count > 0 && stream.kind.first.is_none() {
                    stream.kind.first = Some(t);
                }
                let p =
                    self.conditions
                        .failing(self.seed, stream.kind, share.profile.error_rate, t);
                let failed = self.rng.binomial(count, p);
                let retried = stream.retries.remove(&i).unwrap_or(0);
                for after in self.conditions.retries_after() {
                    *stream.retries.entry(i + after).or_default() += failed as u32;
                }
                let slower = self.conditions.slower(stream.kind, t) as f32;
                let s = stream.slice(i);
                s.invocations += count as u32 + retried;
                s.errors += failed as u32 + retried;
                s.slower = slower;
            }
            start = end;
        }
    }

    fn duration(&mut self, profile: Profile) -> f64 {
        let body = profile.median_ms * (BODY_SIGMA * self.rng.normal()).exp();
        if self.rng.uniform() < TAIL_SHARE {
            body * TAIL_FACTOR * (super::profile::TAIL_SIGMA * self.rng.normal()).exp()
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
        if matches!(stat, Stat::PercentileRank(_)) && self.conditions.no_percentile_ranks {
            return None;
        }
        let key = (function.to_string(), version.to_string());
        let stream = self.streams.get(&key)?;
        let offset = stream.offset;
        let (first, last) = self.readable(stream, now, start, end)?;
        let slices = stream.slices(first, last);
        let n: f64 = slices.iter().map(|s| f64::from(s.invocations)).sum();
        if n == 0.0 {
            return None;
        }
        let durations = stream.mixture(slices);
        let mut answer = Rng::keyed(&[
            self.seed,
            stream.kind.key,
            first as u64,
            last as u64,
            stat_key(stat),
        ]);
        Some(match stat {
            Stat::Invocations => n,
            Stat::Errors => slices.iter().map(|s| f64::from(s.errors)).sum(),
            Stat::Throttles => 0.0,
            Stat::DurationAvg => {
                durations.mean() + (durations.variance() / n).sqrt() * answer.normal()
            }
            // The largest of n draws: the n-th order statistic.
            Stat::DurationMax => durations.quantile(answer.uniform().powf(1.0 / n)),
            Stat::DurationPercentile(q) => {
                let k = (q / 100.0 * n).ceil().clamp(1.0, n);
                durations.quantile(answer.beta(k, n - k + 1.0))
            }
            Stat::ConcurrencyMax => {
                let seconds = (last - first) as f64;
                (n / seconds * durations.mean() / 1000.0).ceil()
            }
            Stat::PercentileRank(limit) => {
                let fast = self.fast(&key, limit, last);
                let fast = &fast[first.saturating_sub(offset).min(fast.len())..];
                fast.iter().map(|f| f64::from(*f)).sum::<f64>() / n * 100.0
            }
            // Beyond Lambda's own metrics: see `signals`.
            Stat::ColdStarts | Stat::InitDuration(_) | Stat::Custom(_) => return None,
        })
    }

    /// The world's seconds `[first, last)` of `[start, end)` whose metrics `stream` has sent by
    /// `now`: a slice is readable once its invocations have ended and ingestion has passed.
    pub(super) fn readable(
        &self,
        stream: &Stream,
        now: Millis,
        start: Millis,
        end: Millis,
    ) -> Option<(usize, usize)> {
        let arrived = now
            .0
            .saturating_sub(self.ingestion.0 + stream.profile.mean().ceil() as u64);
        let first = start.0.div_ceil(SLICE.0) as usize;
        let last = (end.0.min(arrived) / SLICE.0) as usize;
        (first < last).then_some((first, last))
    }

    /// How many invocations of each recorded slice before `last` took at most `limit`, from the
    /// stream's first slice on.
    fn fast(&mut self, key: &(String, String), limit: Millis, last: usize) -> &[u32] {
        let seed = self.seed;
        let Some(stream) = self.streams.get_mut(key) else {
            return &[];
        };
        let upto = last
            .min(stream.offset + stream.slices.len())
            .saturating_sub(stream.offset);
        let known = stream.fast.entry(limit.0).or_default();
        for at in known.len()..upto {
            let slice = stream.slices[at];
            let share = stream.profile.cdf(limit.0 as f64 / f64::from(slice.slower));
            let i = stream.offset + at;
            let mut rng = Rng::keyed(&[seed, stream.kind.key, i as u64, limit.0]);
            known.push(rng.binomial(u64::from(slice.invocations), share) as u32);
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
        Stat::ColdStarts | Stat::InitDuration(_) | Stat::Custom(_) => 9,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::sim::conditions::Conditions;

    const OLD: Profile = Profile {
        error_rate: 0.001,
        median_ms: 100.0,
    };
    const NEW: Profile = Profile {
        error_rate: 0.05,
        median_ms: 200.0,
    };
    const INGESTION: Millis = Millis(30_000);

    fn split(weight: f64) -> Vec<Share> {
        let share = |version: &str, weight, profile, new| Share {
            version: version.into(),
            weight,
            profile,
            new,
        };
        vec![
            share("1", 1.0 - weight, OLD, false),
            share("2", weight, NEW, true),
        ]
    }

    fn traffic(rps: f64, seed: u64) -> Traffic {
        Traffic::new(rps, seed, INGESTION, Millis(0), Conditions::default())
    }

    fn minutes(n: u64) -> Millis {
        Millis::from_minutes(n)
    }

    #[test]
    fn arrivals_split_by_weight_and_errors_by_rate() {
        let mut traffic = traffic(100.0, 1);
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
        let mut traffic = traffic(100.0, 3);
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
    fn one_invocation_draws_from_the_profile() {
        let p = NEW;
        let mut rng_traffic = traffic(1.0, 9);
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
        let mut traffic = traffic(10.0, 2);
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
        let mut traffic = traffic(50.0, 4);
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
        let mut traffic = traffic(50.0, 4);
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

    #[test]
    fn retries_come_back_failing_a_minute_and_three_minutes_later() {
        let conditions = Conditions {
            retries: 2,
            ..Conditions::default()
        };
        let mut traffic = Traffic::new(100.0, 5, INGESTION, Millis(0), conditions);
        traffic.generate("f", Millis(0), minutes(30), &split(0.5));
        let now = minutes(31);
        let mut read = |stat, from: u64, to: u64| {
            traffic
                .stat("f", "2", stat, now, minutes(from), minutes(to))
                .unwrap()
        };
        // Errors among invocations, retries included, as CloudWatch shows them: 5%.
        let (calls, errors) = (read(Stat::Invocations, 5, 30), read(Stat::Errors, 5, 30));
        assert!((errors / calls - 0.05).abs() < 0.005, "{}", errors / calls);
        // Failed events of the first minute come back in the second and the fourth.
        let first = read(Stat::Errors, 0, 1);
        let later = read(Stat::Errors, 3, 4);
        assert!(later > first, "{first} errors then {later}");
    }

    #[test]
    fn a_cold_new_version_is_slower_at_first() {
        let conditions = Conditions {
            cold_start: Some(super::super::conditions::ColdStart {
                length: minutes(2),
                slower: 3.0,
                fails: 0.0,
            }),
            ..Conditions::default()
        };
        let mut traffic = Traffic::new(100.0, 6, INGESTION, Millis(0), conditions);
        traffic.generate("f", Millis(0), minutes(6), &split(0.5));
        let now = minutes(6);
        let mut p50 = |version, from: u64| {
            traffic
                .stat(
                    "f",
                    version,
                    Stat::DurationPercentile(50.0),
                    now,
                    minutes(from),
                    minutes(from + 1),
                )
                .unwrap()
        };
        assert!((p50("2", 0) / 600.0 - 1.0).abs() < 0.1, "{}", p50("2", 0));
        assert!((p50("2", 3) / 200.0 - 1.0).abs() < 0.1, "{}", p50("2", 3));
        assert!((p50("1", 0) / 100.0 - 1.0).abs() < 0.1, "old is warm");
    }
}

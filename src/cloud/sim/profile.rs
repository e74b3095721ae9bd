//! How one version behaves when all is well: the share of its invocations that fail and the
//! distribution of their durations. Slow spells (cold starts, latency shocks) stretch the
//! durations of some seconds by a factor; a range of seconds then holds a mixture of stretched
//! distributions, which is what CloudWatch's statistics over that range describe.

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
pub(super) const TAIL_SHARE: f64 = 0.005;
/// …by this median factor, with this extra sigma.
pub(super) const TAIL_FACTOR: f64 = 3.0;
pub(super) const TAIL_SIGMA: f64 = 0.5;
/// The body's sigma, for drawing one duration.
pub(super) const BODY_SIGMA: f64 = SIGMA;

impl Profile {
    /// Share of invocations that take at most `ms`.
    pub(super) fn cdf(&self, ms: f64) -> f64 {
        if ms <= 0.0 {
            return 0.0;
        }
        let body = normal_cdf((ms / self.median_ms).ln() / SIGMA);
        let tail_sigma = (SIGMA * SIGMA + TAIL_SIGMA * TAIL_SIGMA).sqrt();
        let tail = normal_cdf((ms / (self.median_ms * TAIL_FACTOR)).ln() / tail_sigma);
        (1.0 - TAIL_SHARE) * body + TAIL_SHARE * tail
    }

    /// Mean duration in milliseconds.
    pub(super) fn mean(&self) -> f64 {
        let tail_var = SIGMA * SIGMA + TAIL_SIGMA * TAIL_SIGMA;
        (1.0 - TAIL_SHARE) * self.median_ms * (SIGMA * SIGMA / 2.0).exp()
            + TAIL_SHARE * self.median_ms * TAIL_FACTOR * (tail_var / 2.0).exp()
    }

    /// Variance of the duration in milliseconds squared.
    pub(super) fn variance(&self) -> f64 {
        let tail_var = SIGMA * SIGMA + TAIL_SIGMA * TAIL_SIGMA;
        let second = (1.0 - TAIL_SHARE) * self.median_ms.powi(2) * (2.0 * SIGMA * SIGMA).exp()
            + TAIL_SHARE * (self.median_ms * TAIL_FACTOR).powi(2) * (2.0 * tail_var).exp();
        second - self.mean().powi(2)
    }
}

/// The durations of a range of seconds: the profile's distribution stretched by each factor,
/// weighted by how many invocations ran at that factor.
#[derive(Debug, Clone)]
pub(super) struct Mixture {
    profile: Profile,
    /// (stretch factor, share of invocations), shares summing to 1.
    parts: Vec<(f64, f64)>,
}

impl Mixture {
    /// `profile` stretched by the factors of `counts`: (factor, invocations) pairs.
    pub(super) fn new(profile: Profile, counts: impl IntoIterator<Item = (f64, f64)>) -> Self {
        let mut parts: Vec<(f64, f64)> = Vec::new();
        for (factor, n) in counts {
            match parts.iter_mut().find(|(f, _)| *f == factor) {
                Some(part) => part.1 += n,
                None => parts.push((factor, n)),
            }
        }
        let total: f64 = parts.iter().map(|(_, n)| n).sum();
        if total > 0.0 {
            parts.iter_mut().for_each(|(_, n)| *n /= total);
        } else {
            parts = vec![(1.0, 1.0)];
        }
        Mixture { profile, parts }
    }

    /// Share of invocations that take at most `ms`.
    pub(super) fn cdf(&self, ms: f64) -> f64 {
        self.parts
            .iter()
            .map(|(f, w)| w * self.profile.cdf(ms / f))
            .sum()
    }

    /// Mean duration.
    pub(super) fn mean(&self) -> f64 {
        self.parts.iter().map(|(f, w)| w * f).sum::<f64>() * self.profile.mean()
    }

    /// Variance of the duration.
    pub(super) fn variance(&self) -> f64 {
        let p = &self.profile;
        let second: f64 = self
            .parts
            .iter()
            .map(|(f, w)| w * f * f * (p.variance() + p.mean().powi(2)))
            .sum();
        second - self.mean().powi(2)
    }

    /// The duration below which a share `q` of invocations end.
    pub(super) fn quantile(&self, q: f64) -> f64 {
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
pub(super) fn normal_cdf(z: f64) -> f64 {
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

#[cfg(test)]
mod tests {
    use super::*;

    const P: Profile = Profile {
        error_rate: 0.0,
        median_ms: 200.0,
    };

    #[test]
    fn the_distribution_is_what_the_profile_says() {
        let one = Mixture::new(P, [(1.0, 10.0)]);
        assert!((one.cdf(200.0) - 0.5).abs() < 0.01, "{}", one.cdf(200.0));
        assert!(P.cdf(1e6) > 0.999_999 && P.cdf(1.0) < 1e-6);
        assert!((one.quantile(P.cdf(300.0)) - 300.0).abs() < 0.01);
        assert!((normal_cdf(1.96) - 0.975).abs() < 1e-4);
    }

    #[test]
    fn stretched_seconds_make_a_mixture() {
        // A third of the calls three times slower: the median moves up, the mean by 2/3 × 2.
        let mixed = Mixture::new(P, [(1.0, 200.0), (3.0, 100.0)]);
        assert!((mixed.mean() / P.mean() - 5.0 / 3.0).abs() < 1e-9);
        let slow_share = 1.0 - mixed.cdf(400.0);
        let expected = (1.0 - P.cdf(400.0)) * 2.0 / 3.0 + (1.0 - P.cdf(400.0 / 3.0)) / 3.0;
        assert!((slow_share - expected).abs() < 1e-12);
        assert!(mixed.quantile(0.5) > 200.0);
        assert!(mixed.variance() > P.variance());
    }
}

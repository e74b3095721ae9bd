//! A small seeded random source (SplitMix64) and the distributions the traffic model needs.
//! Own code rather than a dependency: a few lines, and a run is reproducible from its seed on
//! every platform and version.

/// A seeded pseudo-random generator.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        Rng {
            state: seed ^ 0x9E37_79B9_7F4A_7C15,
        }
    }

    /// A generator fixed by several numbers at once: the same question about the same data
    /// always gets the same random answer, as CloudWatch gives the same statistic twice.
    pub fn keyed(parts: &[u64]) -> Self {
        let mut rng = Rng::new(0);
        for part in parts {
            rng.state ^= *part;
            rng.next_u64();
        }
        rng
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(f64::MIN_POSITIVE);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// Poisson with mean `lambda`: exact for small means, normal approximation for large ones.
    pub fn poisson(&mut self, lambda: f64) -> u64 {
        if lambda <= 0.0 {
            return 0;
        }
        if lambda < 30.0 {
            let limit = (-lambda).exp();
            let mut k = 0;
            let mut p = self.uniform();
            while p > limit {
                k += 1;
                p *= self.uniform();
            }
            return k;
        }
        (lambda + lambda.sqrt() * self.normal()).round().max(0.0) as u64
    }

    /// Gamma with this shape and scale 1 (Marsaglia and Tsang; shapes below 1 boosted).
    pub fn gamma(&mut self, shape: f64) -> f64 {
        if shape < 1.0 {
            let u = self.uniform().max(f64::MIN_POSITIVE);
            return self.gamma(shape + 1.0) * u.powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u = self.uniform().max(f64::MIN_POSITIVE);
            if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v;
            }
        }
    }

    /// Beta(a, b).
    pub fn beta(&mut self, a: f64, b: f64) -> f64 {
        let x = self.gamma(a);
        let y = self.gamma(b);
        if x + y > 0.0 {
            x / (x + y)
        } else {
            0.5
        }
    }

    /// Binomial: `n` trials of probability `p`.
    pub fn binomial(&mut self, n: u64, p: f64) -> u64 {
        if n == 0 || p <= 0.0 {
            return 0;
        }
        if p >= 1.0 {
            return n;
        }
        if n <= 64 {
            return (0..n).filter(|_| self.uniform() < p).count() as u64;
        }
        let mean = n as f64 * p;
        if mean < 30.0 {
            return self.poisson(mean).min(n);
        }
        let sd = (mean * (1.0 - p)).sqrt();
        (mean + sd * self.normal()).round().clamp(0.0, n as f64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
        assert_eq!(
            Rng::keyed(&[1, 2, 3]).next_u64(),
            Rng::keyed(&[1, 2, 3]).next_u64()
        );
        assert_ne!(
            Rng::keyed(&[1, 2, 3]).next_u64(),
            Rng::keyed(&[1, 3, 2]).next_u64()
        );
    }

    #[test]
    fn distributions_have_the_right_means() {
        let mut rng = Rng::new(42);
        let n = 20_000;
        let uniform: f64 = (0..n).map(|_| rng.uniform()).sum::<f64>() / n as f64;
        assert!((uniform - 0.5).abs() < 0.01, "{uniform}");
        for lambda in [3.0, 300.0] {
            let mean = (0..n).map(|_| rng.poisson(lambda) as f64).sum::<f64>() / n as f64;
            assert!(
                (mean - lambda).abs() < lambda * 0.03,
                "poisson({lambda}) mean {mean}"
            );
        }
        for (a, b) in [(2.0, 3.0), (0.5, 0.5), (300.0, 30.0)] {
            let mean = (0..n).map(|_| rng.beta(a, b)).sum::<f64>() / n as f64;
            assert!(
                (mean - a / (a + b)).abs() < 0.01,
                "beta({a}, {b}) mean {mean}"
            );
        }
        for (trials, p) in [(50, 0.1), (10_000, 0.02), (10_000, 0.5)] {
            let mean = (0..2_000)
                .map(|_| rng.binomial(trials, p) as f64)
                .sum::<f64>()
                / 2_000.0;
            let expected = trials as f64 * p;
            assert!(
                (mean - expected).abs() < expected * 0.05,
                "binomial({trials}, {p}) mean {mean}"
            );
        }
    }
}

//! The special functions the tests need, in double precision: log-gamma, and the regularised
//! incomplete beta and gamma functions that give exact binomial and Poisson tails.

/// ln Γ(x) for x > 0 (Lanczos, g = 7, nine terms; relative error below 1e-13).
pub(crate) fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 - x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = C[0];
    for (i, c) in C.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// ln B(a, b).
pub(crate) fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// The regularised incomplete beta function I_x(a, b) for a, b > 0 and x in [0, 1]: the
/// Beta(a, b) distribution function, and so the binomial tail
/// `P(X ≥ k | n, p) = I_p(k, n - k + 1)`.
pub(crate) fn beta_inc(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front = (a * x.ln() + b * (1.0 - x).ln() - ln_beta(a, b)).exp();
    // The continued fraction converges fast below the mean; use the symmetry above it.
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_fraction(b, a, 1.0 - x) / b
    }
}

/// One step of Lentz's method: folds the next term `aa` into `c` and `d`, returning the factor
/// by which the fraction changes.
fn lentz(aa: f64, c: &mut f64, d: &mut f64) -> f64 {
    const TINY: f64 = 1e-300;
    *d = 1.0 + aa * *d;
    if d.abs() < TINY {
        *d = TINY;
    }
    *c = 1.0 + aa / *c;
    if c.abs() < TINY {
        *c = TINY;
    }
    *d = 1.0 / *d;
    *d * *c
}

/// Lentz's evaluation of the continued fraction of I_x(a, b).
fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < 1e-300 {
        d = 1e-300;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=10_000 {
        let m = m as f64;
        let m2 = 2.0 * m;
        h *= lentz(m * (b - m) * x / ((qam + m2) * (a + m2)), &mut c, &mut d);
        let delta = lentz(
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
            &mut c,
            &mut d,
        );
        h *= delta;
        if (delta - 1.0).abs() < 1e-14 {
            break;
        }
    }
    h
}

/// The regularised lower incomplete gamma function P(a, x) for a > 0, x ≥ 0: the Poisson tail
/// `P(X ≥ k | mean m) = P(k, m)`.
pub(crate) fn gamma_inc(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let front = (-x + a * x.ln() - ln_gamma(a)).exp();
    if x < a + 1.0 {
        // The series.
        let (mut term, mut sum, mut n) = (1.0 / a, 1.0 / a, a);
        for _ in 0..100_000 {
            n += 1.0;
            term *= x / n;
            sum += term;
            if term.abs() < sum.abs() * 1e-15 {
                break;
            }
        }
        (front * sum).min(1.0)
    } else {
        // The continued fraction for Q(a, x), by Lentz's method.
        const TINY: f64 = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / TINY;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..=100_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < TINY {
                d = TINY;
            }
            c = b + an / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-15 {
                break;
            }
        }
        (1.0 - front * h).max(0.0)
    }
}

/// `P(X ≥ k)` for X ~ Poisson(mean).
pub(crate) fn poisson_upper_tail(k: f64, mean: f64) -> f64 {
    if k <= 0.0 {
        1.0
    } else {
        gamma_inc(k, mean)
    }
}

/// `P(X ≤ k)` for X ~ Poisson(mean).
pub(crate) fn poisson_lower_tail(k: f64, mean: f64) -> f64 {
    1.0 - poisson_upper_tail(k + 1.0, mean)
}

/// The `q`-quantile of Beta(a, b), by bisection on [`beta_inc`]: the exact (Clopper-Pearson)
/// bounds of a binomial proportion.
pub(crate) fn beta_quantile(q: f64, a: f64, b: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        if beta_inc(a, b, mid) < q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance * b.abs().max(1.0)
    }

    #[test]
    fn log_gamma_matches_factorials() {
        let mut factorial = 1.0f64;
        for n in 1..30 {
            assert!(close(ln_gamma(n as f64), factorial.ln(), 1e-12), "{n}");
            factorial *= n as f64;
        }
        assert!(close(
            ln_gamma(0.5),
            std::f64::consts::PI.sqrt().ln(),
            1e-12
        ));
    }

    #[test]
    fn incomplete_beta_gives_binomial_tails() {
        let pmf = |k: u64, n: u64, p: f64| {
            (ln_gamma(n as f64 + 1.0) - ln_gamma(k as f64 + 1.0) - ln_gamma((n - k) as f64 + 1.0)
                + k as f64 * p.ln()
                + (n - k) as f64 * (1.0 - p).ln())
            .exp()
        };
        for (n, p) in [(20u64, 0.3), (1500, 0.01), (200, 0.5), (5000, 0.001)] {
            for k in [0u64, 1, 3, 10, 15, 25] {
                let direct: f64 = (k..=n).map(|j| pmf(j, n, p)).sum();
                // P(X ≥ k) for X ~ Binomial(n, p) is I_p(k, n - k + 1).
                let tail = match k {
                    0 => 1.0,
                    k if k > n => 0.0,
                    k => beta_inc(k as f64, (n - k) as f64 + 1.0, p),
                };
                assert!(
                    close(tail, direct, 1e-9),
                    "n {n} p {p} k {k}: {tail} vs {direct}"
                );
            }
        }
    }

    #[test]
    fn poisson_tails_match_direct_sums() {
        for mean in [0.5, 4.0, 15.0, 45.0, 300.0] {
            for k in [0u64, 1, 5, 20, 60, 350] {
                let direct: f64 = (0..k)
                    .map(|j| (j as f64 * f64::ln(mean) - mean - ln_gamma(j as f64 + 1.0)).exp())
                    .sum();
                let tail = poisson_upper_tail(k as f64, mean);
                assert!(
                    close(tail, 1.0 - direct, 1e-8) || (tail - (1.0 - direct)).abs() < 1e-12,
                    "mean {mean} k {k}: {tail} vs {}",
                    1.0 - direct
                );
            }
        }
    }

    #[test]
    fn beta_quantiles_invert_the_distribution() {
        for (a, b) in [(1.0, 10.0), (29.0, 28_472.0), (0.5, 0.5), (3.0, 3.0)] {
            for q in [0.001, 0.05, 0.5, 0.995] {
                let x = beta_quantile(q, a, b);
                assert!(close(beta_inc(a, b, x), q, 1e-9), "a {a} b {b} q {q}");
            }
        }
    }
}

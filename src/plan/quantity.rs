//! Exact quantities: percentages in hundredths, durations in milliseconds.

use std::fmt;

use serde::Serialize;

/// A percentage with two decimals, stored exactly in hundredths of a percent (`5%` is 500).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Percent(pub u32);

impl Percent {
    /// 100%.
    pub const FULL: Percent = Percent(10_000);

    /// As a Lambda routing weight: `5%` is `0.05`.
    pub fn as_weight(self) -> f64 {
        f64::from(self.0) / 10_000.0
    }

    /// As a number of percent: `5%` is `5.0`.
    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 100.0
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, hundredths) = (self.0 / 100, self.0 % 100);
        match hundredths {
            0 => write!(f, "{whole}%"),
            h if h % 10 == 0 => write!(f, "{whole}.{}%", h / 10),
            h => write!(f, "{whole}.{h:02}%"),
        }
    }
}

impl Serialize for Percent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_f64())
    }
}

/// A duration in whole milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Millis(pub u64);

impl Millis {
    /// One second.
    pub const SECOND: Millis = Millis(1_000);

    /// `n` minutes.
    pub fn from_minutes(n: u64) -> Self {
        Millis(n * 60_000)
    }

    /// As a standard duration.
    pub fn as_std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0)
    }
}

impl fmt::Display for Millis {
    /// Largest units first, as a playbook would write it: `1h30m`, `45s`, `1s500ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.0;
        for (unit, size) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1_000),
            ("ms", 1),
        ] {
            if rest >= size {
                write!(f, "{}{unit}", rest / size)?;
                rest %= size;
            }
        }
        Ok(())
    }
}

impl Serialize for Millis {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_prints_as_written() {
        assert_eq!(Percent(500).to_string(), "5%");
        assert_eq!(Percent(50).to_string(), "0.5%");
        assert_eq!(Percent(1225).to_string(), "12.25%");
        assert_eq!(Percent(1205).to_string(), "12.05%");
        assert_eq!(Percent(500).as_weight(), 0.05);
    }

    #[test]
    fn durations_print_largest_unit_first() {
        assert_eq!(Millis(5_400_000).to_string(), "1h30m");
        assert_eq!(Millis(1_500).to_string(), "1s500ms");
        assert_eq!(Millis(86_400_000 + 1).to_string(), "1d1ms");
    }
}

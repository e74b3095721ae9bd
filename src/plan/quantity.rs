//! Exact quantities: percentages in hundredths, durations in milliseconds, and the exact reading
//! of their text, shared by the checker, the command line and hooks.

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

/// Why the text of a percentage or a duration has no exact value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantityError {
    /// Finer than the resolution: more than two decimals of a percent, or part of a millisecond.
    TooPrecise,
    /// Larger than the type holds.
    TooLarge,
    /// A duration of zero.
    Zero,
}

impl Percent {
    /// The percentage written as `number` (the text before `%`, such as `12.5`), exactly.
    pub fn parse(number: &str) -> Result<Percent, QuantityError> {
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        if frac.len() > 2 {
            return Err(QuantityError::TooPrecise);
        }
        whole
            .parse::<u32>()
            .ok()
            .and_then(|w| w.checked_mul(100))
            .and_then(|w| w.checked_add(format!("{frac:0<2}").parse::<u32>().unwrap_or(0)))
            .map(Percent)
            .ok_or(QuantityError::TooLarge)
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

impl Millis {
    /// Reads `1h30m`, `500ms`, `1.5s` (number and unit groups, as the grammar accepts them)
    /// exactly; zero is an error.
    pub fn parse(text: &str) -> Result<Millis, QuantityError> {
        let mut total: u64 = 0;
        let mut rest = text;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            let (number, after) = rest.split_at(digits);
            let unit_len = if after.starts_with("ms") { 2 } else { 1 };
            let (unit, after) = after.split_at(unit_len.min(after.len()));
            let size: u64 = match unit {
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                _ => 86_400_000,
            };
            let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
            let scale = 10u64
                .checked_pow(frac.len() as u32)
                .ok_or(QuantityError::TooLarge)?;
            let frac_value: u64 = if frac.is_empty() {
                0
            } else {
                frac.parse().map_err(|_| QuantityError::TooLarge)?
            };
            let frac_ms = frac_value
                .checked_mul(size)
                .ok_or(QuantityError::TooLarge)?;
            if frac_ms % scale != 0 {
                return Err(QuantityError::TooPrecise);
            }
            let whole_ms = whole
                .parse::<u64>()
                .ok()
                .and_then(|w| w.checked_mul(size))
                .ok_or(QuantityError::TooLarge)?;
            total = total
                .checked_add(whole_ms + frac_ms / scale)
                .ok_or(QuantityError::TooLarge)?;
            rest = after;
        }
        if total == 0 {
            return Err(QuantityError::Zero);
        }
        Ok(Millis(total))
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
    fn quantities_are_read_exactly() {
        assert_eq!(Percent::parse("12.25"), Ok(Percent(1225)));
        assert_eq!(Percent::parse("0.5"), Ok(Percent(50)));
        assert_eq!(Percent::parse("1.005"), Err(QuantityError::TooPrecise));
        assert_eq!(Percent::parse("99999999"), Err(QuantityError::TooLarge));
        assert_eq!(Millis::parse("1h30m"), Ok(Millis(5_400_000)));
        assert_eq!(Millis::parse("1.5s"), Ok(Millis(1_500)));
        assert_eq!(Millis::parse("500ms"), Ok(Millis(500)));
        assert_eq!(Millis::parse("0.0005s"), Err(QuantityError::TooPrecise));
        assert_eq!(Millis::parse("0s"), Err(QuantityError::Zero));
        assert_eq!(
            Millis::parse("99999999999999999d"),
            Err(QuantityError::TooLarge)
        );
    }

    #[test]
    fn durations_print_largest_unit_first() {
        assert_eq!(Millis(5_400_000).to_string(), "1h30m");
        assert_eq!(Millis(1_500).to_string(), "1s500ms");
        assert_eq!(Millis(86_400_000 + 1).to_string(), "1d1ms");
    }
}

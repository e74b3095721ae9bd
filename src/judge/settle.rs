//! Time as CloudWatch keeps it: periods aligned to the clock, readable only once they have
//! settled. Lambda stamps a metric with the invocation's start and sends it when the invocation
//! ends; CloudWatch needs a while more to make it readable. A period counts once its end is older
//! than the metric delay, which by default covers that slack and the longest an invocation can
//! run (the function's timeout). This is the one place that decides which periods have settled.

use serde::Serialize;

use crate::plan::Millis;

/// What CloudWatch may need beyond the function's timeout before a period is complete.
pub const INGESTION_SLACK: Millis = Millis(60_000);

/// Lambda's metrics come in one-minute periods.
const MINUTE: Millis = Millis(60_000);

/// Periods and the delay after which they are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Settlement {
    /// One minute, or the evaluation interval when that is shorter.
    pub period: Millis,
    /// How old a period's end must be before it is read.
    pub delay: Millis,
}

impl Settlement {
    /// Periods for health judged every `every`, read `delay` after they end.
    pub fn new(every: Millis, delay: Millis) -> Self {
        Settlement {
            period: Millis(every.0.clamp(1_000, MINUTE.0)),
            delay,
        }
    }

    /// The safe delay for a function that may run for `timeout`.
    pub fn default_delay(timeout: Millis) -> Millis {
        Millis(INGESTION_SLACK.0 + timeout.0)
    }

    /// The start of the period holding `at` (epoch milliseconds).
    pub fn floor(&self, at: Millis) -> Millis {
        Millis(at.0 / self.period.0 * self.period.0)
    }

    /// The end of the last period that has settled at `now`.
    pub fn settled(&self, now: Millis) -> Millis {
        self.floor(Millis(now.0.saturating_sub(self.delay.0)))
    }

    /// When every period holding traffic before `until` has settled.
    pub fn settles(&self, until: Millis) -> Millis {
        Millis(until.0.div_ceil(self.period.0) * self.period.0 + self.delay.0)
    }

    /// The first instant at or after `after` when a period settles: the moment to look.
    pub fn next_settle(&self, after: Millis) -> Millis {
        let k = after.0.saturating_sub(self.delay.0).div_ceil(self.period.0);
        Millis(k * self.period.0 + self.delay.0)
    }

    /// Whole periods covering at least `length` and ending at `end`: `(start, end)`.
    pub fn window(&self, length: Millis, end: Millis) -> (Millis, Millis) {
        let span = length.0.max(1).div_ceil(self.period.0) * self.period.0;
        (Millis(end.0.saturating_sub(span)), end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_counts_once_its_end_is_older_than_the_delay() {
        let s = Settlement::new(Millis::from_minutes(1), Millis(90_000));
        assert_eq!(s.period, Millis(60_000));
        // At 12:03:29 with a 1m30s delay, 12:01:59 is the newest settled instant: the period
        // 12:01–12:02 is still open, so data ends at 12:01.
        let t = |m: u64, s: u64| Millis((12 * 60 + m) * 60_000 + s * 1_000);
        assert_eq!(s.settled(t(3, 29)), t(1, 0));
        assert_eq!(s.settled(t(3, 30)), t(2, 0));
        // Traffic up to 12:10:20 lives in periods ending 12:11, settled at 12:12:30.
        assert_eq!(s.settles(t(10, 20)), t(12, 30));
        assert_eq!(s.settles(t(10, 0)), t(11, 30));
        assert_eq!(
            s.window(Millis::from_minutes(5), t(8, 0)),
            (t(3, 0), t(8, 0))
        );
        assert_eq!(s.window(Millis(90_000), t(8, 0)), (t(6, 0), t(8, 0)));
    }

    #[test]
    fn periods_are_a_minute_or_the_interval_when_shorter() {
        assert_eq!(
            Settlement::new(Millis(5_000), Millis(0)).period,
            Millis(5_000)
        );
        assert_eq!(
            Settlement::new(Millis::from_minutes(5), Millis(0)).period,
            Millis(60_000)
        );
        assert_eq!(
            Settlement::default_delay(Millis(3_000)),
            Millis(63_000),
            "a minute of slack and the timeout"
        );
    }
}

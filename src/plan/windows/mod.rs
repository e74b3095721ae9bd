//! Deploy windows and change calendars: when a playbook lets traffic move.
//!
//! Weekly windows are wall-clock times in a named IANA time zone, turned into instants with the
//! time-zone database (daylight saving included), so `09:00` is nine in the morning in Berlin in
//! winter and in summer alike. Everything here is pure: instants in, instants out, no clock and
//! no I/O. Change calendars are read at run time, by the cloud layer; here they are names.

mod schedule;
#[cfg(test)]
mod tests;

use std::fmt;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Serialize;

use crate::span::Span;
pub use crate::syntax::ast::Outside;
pub use schedule::{Leg, Timed, SCHEDULE_LIMIT_MS};

/// How far ahead [`Windows::weekly_at`] looks: an opening that lasts longer is open with no
/// closing in sight.
pub const HORIZON_MS: u64 = 14 * DAY_MS;

const DAY_MS: u64 = 86_400_000;

/// A playbook's windows, checked: `window …` lines, `calendar …` lines and `outside window …`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Windows {
    /// The weekly windows; traffic may move in any of them (their union). Empty: every time of
    /// the week, as far as the weekly windows go (the calendars may still say no).
    pub weekly: Vec<Weekly>,
    /// SSM Change Calendars by name or ARN: `CLOSED` in any of them means no.
    pub calendars: Vec<String>,
    /// What a rollout does when it finds itself outside.
    pub outside: Outside,
    /// Where the first of the lines is written, for what refuses them.
    #[serde(skip)]
    pub span: Span,
}

/// `window mon-fri 09:00-16:00 "Europe/Berlin"`: open on these days from `start` to `end`, wall
/// time in `zone`. An `end` not after `start` is on the next day (overnight).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Weekly {
    /// The days it opens on, each once, Monday first.
    pub days: Vec<Day>,
    /// When it opens, each of those days.
    pub start: Clock,
    /// When it closes: the same day, or the next when not after `start`.
    pub end: Clock,
    /// The time zone of `start` and `end`.
    pub zone: Zone,
}

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    /// `mon`
    Mon,
    /// `tue`
    Tue,
    /// `wed`
    Wed,
    /// `thu`
    Thu,
    /// `fri`
    Fri,
    /// `sat`
    Sat,
    /// `sun`
    Sun,
}

impl Day {
    /// Monday to Sunday.
    pub const ALL: [Day; 7] = [
        Day::Mon,
        Day::Tue,
        Day::Wed,
        Day::Thu,
        Day::Fri,
        Day::Sat,
        Day::Sun,
    ];

    /// The day a playbook names `word` (`mon` … `sun`).
    pub fn from_word(word: &str) -> Option<Day> {
        Day::ALL.into_iter().find(|d| d.as_str() == word)
    }

    /// As a playbook writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Day::Mon => "mon",
            Day::Tue => "tue",
            Day::Wed => "wed",
            Day::Thu => "thu",
            Day::Fri => "fri",
            Day::Sat => "sat",
            Day::Sun => "sun",
        }
    }

    fn of(weekday: Weekday) -> Day {
        Day::ALL[weekday.to_monday_zero_offset() as usize]
    }
}

/// A wall-clock time of day in whole minutes, `00:00` to `24:00` (the end of the day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Clock(pub u16);

impl Clock {
    /// `24:00`.
    pub const END_OF_DAY: Clock = Clock(24 * 60);

    /// `HH:MM`, 24-hour, `24:00` included; `None` for anything else.
    pub fn parse(text: &str) -> Option<Clock> {
        let (hours, minutes) = text.split_once(':')?;
        if hours.len() != 2 || minutes.len() != 2 {
            return None;
        }
        let (hours, minutes): (u16, u16) = (hours.parse().ok()?, minutes.parse().ok()?);
        let clock = Clock(hours.checked_mul(60)? + minutes);
        (minutes < 60 && clock <= Clock::END_OF_DAY).then_some(clock)
    }
}

impl fmt::Display for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl Serialize for Clock {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// An IANA time zone, by its name, with its rules from the bundled time-zone database.
#[derive(Debug, Clone)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl Zone {
    /// The zone called `name` (`Europe/Berlin`; the database ignores case), under its own
    /// spelling of the name; `None` when the database has no such zone.
    pub fn get(name: &str) -> Option<Zone> {
        let tz = TimeZone::get(name).ok()?;
        let name = tz.iana_name().unwrap_or(name).to_string();
        Some(Zone { name, tz })
    }

    /// Its IANA name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `at` (unix ms) as this zone's clocks show it: `Mon 2026-12-07 09:00`.
    pub fn local(&self, at: u64) -> String {
        match timestamp(at) {
            Some(ts) => ts
                .to_zoned_datetime(self.tz.clone())
                .strftime("%a %Y-%m-%d %H:%M")
                .to_string(),
            None => format!("{at} ms after 1970"),
        }
    }

    /// `at` (unix ms) as RFC 3339 with this zone's offset then: `2026-12-07T09:00:00+01:00`.
    pub fn rfc3339(&self, at: u64) -> String {
        match timestamp(at) {
            Some(ts) => ts
                .to_zoned_datetime(self.tz.clone())
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string(),
            None => format!("{at} ms after 1970"),
        }
    }

    /// The instant (unix ms) this zone's clocks show `minute` (0 to 1440) of `date`: in a gap
    /// (clocks jump forward) the time as it would be had they not, in a fold (clocks go back)
    /// the first of the two, as RFC 5545 and most calendars do.
    fn instant(&self, date: Date, minute: u16) -> Option<u64> {
        let (date, minute) = if minute >= Clock::END_OF_DAY.0 {
            (date.tomorrow().ok()?, 0)
        } else {
            (date, minute)
        };
        let civil = date.at((minute / 60) as i8, (minute % 60) as i8, 0, 0);
        let zoned = self.tz.to_zoned_datetime(civil).ok()?;
        u64::try_from(zoned.timestamp().as_millisecond()).ok()
    }

    /// The local date at `at` (unix ms).
    fn date(&self, at: u64) -> Option<Date> {
        Some(self.tz.to_datetime(timestamp(at)?).date())
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        self.name == other.name
    }
}

impl Eq for Zone {}

impl Serialize for Zone {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.name)
    }
}

fn timestamp(at: u64) -> Option<Timestamp> {
    Timestamp::from_millisecond(i64::try_from(at).ok()?).ok()
}

/// Whether traffic may move at an instant, and until or from when (unix ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    /// It may; `closes_at` is when that ends, `None` when not within [`HORIZON_MS`].
    Open {
        /// When it closes.
        closes_at: Option<u64>,
    },
    /// It may not until `opens_at`.
    Closed {
        /// When it opens.
        opens_at: u64,
    },
}

impl Opening {
    /// Traffic may move only when both say so: open until the first closes; closed until the
    /// later of the openings known (`a` and `b` may then differ again: ask once more then).
    pub fn and(self, other: Opening) -> Opening {
        match (self, other) {
            (Opening::Open { closes_at: a }, Opening::Open { closes_at: b }) => Opening::Open {
                closes_at: match (a, b) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                },
            },
            (Opening::Closed { opens_at: a }, Opening::Closed { opens_at: b }) => {
                Opening::Closed { opens_at: a.max(b) }
            }
            (closed @ Opening::Closed { .. }, Opening::Open { .. })
            | (Opening::Open { .. }, closed @ Opening::Closed { .. }) => closed,
        }
    }
}

impl Windows {
    /// Whether the weekly windows are open at `at` (unix ms), and until or from when. Without
    /// weekly windows, always open. An instant the time-zone database cannot place (past the
    /// year 9999) is outside every window.
    pub fn weekly_at(&self, at: u64) -> Opening {
        if self.weekly.is_empty() {
            return Opening::Open { closes_at: None };
        }
        let limit = at.saturating_add(HORIZON_MS);
        for (start, end) in self.spans(at) {
            if end <= at {
                continue;
            }
            if start > at {
                return Opening::Closed { opens_at: start };
            }
            return Opening::Open {
                closes_at: (end <= limit).then_some(end),
            };
        }
        // Every weekly window opens within a week of any instant the database places.
        Opening::Closed { opens_at: u64::MAX }
    }

    /// The zone the plan shows its times in: the first window's, when there is one.
    pub fn zone(&self) -> Option<&Zone> {
        self.weekly.first().map(|w| &w.zone)
    }

    /// The instants (unix ms) the weekly windows are open from a day before `at` to a little
    /// past [`HORIZON_MS`] after it: sorted, windows that touch or overlap merged.
    fn spans(&self, at: u64) -> Vec<(u64, u64)> {
        let mut spans = Vec::new();
        for weekly in &self.weekly {
            let Some(mut date) = weekly
                .zone
                .date(at)
                .and_then(|d| d.yesterday().ok())
                .and_then(|d| d.yesterday().ok())
            else {
                continue;
            };
            for _ in 0..=HORIZON_MS / DAY_MS + 3 {
                if weekly.days.contains(&Day::of(date.weekday())) {
                    let end = if weekly.end > weekly.start {
                        weekly.zone.instant(date, weekly.end.0)
                    } else {
                        date.tomorrow()
                            .ok()
                            .and_then(|next| weekly.zone.instant(next, weekly.end.0))
                    };
                    if let (Some(start), Some(end)) =
                        (weekly.zone.instant(date, weekly.start.0), end)
                    {
                        if end > start {
                            spans.push((start, end));
                        }
                    }
                }
                match date.tomorrow() {
                    Ok(next) => date = next,
                    Err(_) => break,
                }
            }
        }
        spans.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(spans.len());
        for (start, end) in spans {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        merged
    }
}

impl fmt::Display for Weekly {
    /// As a playbook writes it, the days as ranges: `window mon-fri 09:00-16:00 "Europe/Berlin"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut runs: Vec<(Day, Day)> = Vec::new();
        for &day in &self.days {
            match runs.last_mut() {
                Some((_, last)) if *last as usize + 1 == day as usize => *last = day,
                _ => runs.push((day, day)),
            }
        }
        let days: Vec<String> = runs
            .iter()
            .map(|(a, b)| match b.cmp(a) {
                std::cmp::Ordering::Equal => a.as_str().to_string(),
                _ => format!("{}-{}", a.as_str(), b.as_str()),
            })
            .collect();
        write!(
            f,
            "window {} {}-{} {:?}",
            days.join(", "),
            self.start,
            self.end,
            self.zone.name()
        )
    }
}

impl fmt::Display for Windows {
    /// As the fingerprint reads it: every window, every calendar and what outside does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for weekly in &self.weekly {
            write!(f, "{weekly}; ")?;
        }
        for calendar in &self.calendars {
            write!(f, "calendar {calendar:?}; ")?;
        }
        write!(f, "outside window {}", self.outside.as_str())
    }
}

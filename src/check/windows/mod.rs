//! Deploy windows and change calendars: `window`, `calendar` and `outside window` headers.

#[cfg(test)]
mod tests;

use super::values::Scope;
use super::Checker;
use crate::diagnostic::{Code, Diag};
use crate::plan::names;
use crate::plan::windows::{Clock, Day, Weekly, Windows, Zone};
use crate::span::Span;
use crate::syntax::ast::{self, Outside, WindowHeader};

/// What a window line looks like, for the help of what is wrong in one.
const WINDOW_EXAMPLE: &str = "window mon-fri 09:00-16:00 \"Europe/Berlin\"";

impl Checker {
    /// The windows of the playbook's `window`, `calendar` and `outside window` headers (each
    /// with its span, in the order written); `None` when it has none, or when anything in them
    /// is wrong (each problem reported).
    pub(super) fn windows(
        &mut self,
        headers: &[(WindowHeader, Span)],
        scope: &Scope,
    ) -> Option<Windows> {
        let first = headers.first()?.1;
        let mut ok = true;
        let mut weekly: Vec<(Weekly, Span)> = Vec::new();
        let mut calendars: Vec<(String, Span)> = Vec::new();
        let mut outside: Option<(Outside, Span)> = None;
        for (header, span) in headers {
            match header {
                WindowHeader::Weekly(window) => match self.weekly(window, scope) {
                    Some(window) => {
                        if let Some((_, at)) = weekly.iter().find(|(w, _)| *w == window) {
                            self.diags.push(duplicate(scope, *span, *at, "this window"));
                            ok = false;
                        } else {
                            weekly.push((window, *span));
                        }
                    }
                    None => ok = false,
                },
                WindowHeader::Calendar(name) => {
                    let Some(text) = self.string(name, scope) else {
                        ok = false;
                        continue;
                    };
                    if let Some(problem) = names::calendar(&text) {
                        self.diags.push(
                            Diag::new(Code::BadCalendar, problem)
                                .at(scope.source(), name.span, "not an SSM Change Calendar")
                                .help("name the calendar as Systems Manager shows it, such as `calendar \"ChangeFreeze\"`, or give its ARN, `arn:aws:ssm:REGION:ACCOUNT:document/NAME`"),
                        );
                        ok = false;
                    } else if let Some((_, at)) = calendars.iter().find(|(c, _)| *c == text) {
                        self.diags
                            .push(duplicate(scope, *span, *at, "this calendar"));
                        ok = false;
                    } else {
                        calendars.push((text, *span));
                    }
                }
                WindowHeader::Outside(what) => match outside {
                    Some((_, at)) => {
                        self.diags.push(super::load::duplicate_header(
                            scope.source(),
                            "outside window",
                            *span,
                            at,
                        ));
                        ok = false;
                    }
                    None => outside = Some((*what, *span)),
                },
            }
        }
        if let (Some((_, at)), true) = (outside, weekly.is_empty() && calendars.is_empty() && ok) {
            self.diags.push(
                Diag::new(
                    Code::OutsideWithoutWindow,
                    "`outside window` says what to do outside the windows, but the playbook has none",
                )
                .at(scope.source(), at, "no `window` or `calendar` for this")
                .help(format!(
                    "add the windows traffic may move in, such as `{WINDOW_EXAMPLE}` or `calendar \"ChangeFreeze\"`, or remove this line"
                )),
            );
            return None;
        }
        ok.then(|| Windows {
            weekly: weekly.into_iter().map(|(w, _)| w).collect(),
            calendars: calendars.into_iter().map(|(c, _)| c).collect(),
            outside: outside.map(|(o, _)| o).unwrap_or_default(),
            span: first,
        })
    }

    /// One `window` line: its days, its hours and its time zone, each told apart when wrong.
    fn weekly(&mut self, window: &ast::WeeklyWindow, scope: &Scope) -> Option<Weekly> {
        let days = self.days(&window.days, scope);
        let opens = self.clock(&window.opens, true, scope);
        let closes = self.clock(&window.closes, false, scope);
        if let (Some(opens), Some(closes)) = (opens, closes) {
            if opens == closes {
                self.diags.push(
                    Diag::new(
                        Code::EmptyWindow,
                        format!("the window opens and closes at {opens}: it is never open"),
                    )
                    .at(scope.source(), window.hours(), "never open")
                    .help("give the time it closes after the time it opens, such as `09:00-16:00`; a window that ends before it starts runs overnight (`22:00-02:00`), and `00:00-24:00` is the whole day"),
                );
                return None;
            }
        }
        let zone = self.zone(&window.zone, scope);
        Some(Weekly {
            days: days?,
            start: opens?,
            end: closes?,
            zone: zone?,
        })
    }

    /// The days of a window, Monday first, each once.
    fn days(&mut self, ranges: &[ast::DayRange], scope: &Scope) -> Option<Vec<Day>> {
        let mut ok = true;
        let mut days: Vec<(Day, Span)> = Vec::new();
        for range in ranges {
            let first = self.day(&range.first, scope);
            let last = match &range.last {
                Some(last) => self.day(last, scope),
                None => first,
            };
            let (Some(first), Some(last)) = (first, last) else {
                ok = false;
                continue;
            };
            if last < first {
                self.diags.push(
                    Diag::new(
                        Code::InvertedRange,
                        format!("`{}-{}` runs backwards", first.as_str(), last.as_str()),
                    )
                    .at(scope.source(), range.span(), "from a later day to an earlier one")
                    .help(format!(
                        "day ranges run from `mon` to `sun`: for the days over the weekend write `{}-sun, mon{}`",
                        first.as_str(),
                        if last == Day::Mon { String::new() } else { format!("-{}", last.as_str()) }
                    )),
                );
                ok = false;
                continue;
            }
            for day in Day::ALL.into_iter().filter(|d| (first..=last).contains(d)) {
                if let Some((_, at)) = days.iter().find(|(d, _)| *d == day) {
                    self.diags.push(
                        Diag::new(
                            Code::DuplicateWindow,
                            format!("`{}` is named twice in this window", day.as_str()),
                        )
                        .at(scope.source(), range.span(), "named again here")
                        .also(*at, "first named here")
                        .help("name each day once; windows on other days or hours go on a line of their own"),
                    );
                    ok = false;
                } else {
                    days.push((day, range.span()));
                }
            }
        }
        days.sort_unstable_by_key(|(d, _)| *d);
        ok.then(|| days.into_iter().map(|(d, _)| d).collect())
    }

    fn day(&mut self, word: &ast::Word, scope: &Scope) -> Option<Day> {
        if let Some(day) = Day::from_word(&word.text) {
            return Some(day);
        }
        let lower = word.text.to_ascii_lowercase();
        let meant = Day::ALL
            .into_iter()
            .find(|d| lower.starts_with(d.as_str()) || d.as_str().starts_with(&lower));
        self.diags.push(
            Diag::new(Code::BadDay, format!("`{}` is not a day", word.text))
                .at(scope.source(), word.span, "not a day")
                .help(match meant {
                    Some(day) if lower.len() > 1 => format!(
                        "write days as their first three letters, lowercase: `{}` (`mon` `tue` `wed` `thu` `fri` `sat` `sun`)",
                        day.as_str()
                    ),
                    _ => "days are `mon` `tue` `wed` `thu` `fri` `sat` `sun`, alone (`sat`), as a range (`mon-fri`) or in a list (`mon, wed`)".to_string(),
                }),
        );
        None
    }

    /// A time of day; `opens`: the time the window opens, which cannot be `24:00`.
    fn clock(&mut self, word: &ast::Word, opens: bool, scope: &Scope) -> Option<Clock> {
        let clock = Clock::parse(&word.text);
        let (message, label) = match clock {
            Some(Clock::END_OF_DAY) if opens => (
                "a window cannot open at 24:00, the end of the day".to_string(),
                "the end of the day",
            ),
            Some(clock) => return Some(clock),
            None => (
                format!("`{}` is not a time of day", word.text),
                "not a time",
            ),
        };
        self.diags.push(
            Diag::new(Code::BadTime, message)
                .at(scope.source(), word.span, label)
                .help("write times as HH:MM on the 24-hour clock, from `00:00` to `23:59`, and `24:00` for a window that closes at the end of the day"),
        );
        None
    }

    fn zone(&mut self, name: &ast::Str, scope: &Scope) -> Option<Zone> {
        let text = self.string(name, scope)?;
        if let Some(zone) = Zone::get(&text) {
            return Some(zone);
        }
        let known: Vec<String> = jiff::tz::db()
            .available()
            .map(|n| n.as_str().to_string())
            .collect();
        let help = match crate::diagnostic::closest(&text, known.iter().map(String::as_str)) {
            Some(close) => format!("did you mean `{close}`?"),
            None => "name the zone as the IANA time-zone database does, a region and a city: `Europe/Berlin`, `America/New_York`, `Asia/Kolkata`, or `UTC`".to_string(),
        };
        self.diags.push(
            Diag::new(
                Code::UnknownTimeZone,
                format!("{text:?} is not a time zone"),
            )
            .at(scope.source(), name.span, "no such IANA time zone")
            .help(help),
        );
        None
    }
}

/// `what`, written at `again`, says again what `first` says.
fn duplicate(scope: &Scope, again: Span, first: Span, what: &str) -> Diag {
    Diag::new(Code::DuplicateWindow, format!("{what} is given twice"))
        .at(scope.source(), again, "given again here")
        .also(first, "first given here")
        .help("keep one of the two lines")
}

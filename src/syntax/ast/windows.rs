//! The deploy-window headers as written: `window`, `calendar` and `outside window`.

use super::Str;
use crate::span::Span;

/// One of the headers that say when traffic may move.
#[derive(Debug, Clone, PartialEq)]
pub enum WindowHeader {
    /// `window mon-fri 09:00-16:00 "Europe/Berlin"`
    Weekly(WeeklyWindow),
    /// `calendar "ChangeFreeze"`
    Calendar(Str),
    /// `outside window pause|rollback`
    Outside(Outside),
}

impl WindowHeader {
    /// The words that start the header.
    pub fn keyword(&self) -> &'static str {
        match self {
            WindowHeader::Weekly(_) => "window",
            WindowHeader::Calendar(_) => "calendar",
            WindowHeader::Outside(_) => "outside window",
        }
    }
}

/// `window DAYS HH:MM-HH:MM "ZONE"`
#[derive(Debug, Clone, PartialEq)]
pub struct WeeklyWindow {
    /// The days, as written: `mon-fri`, `sat`.
    pub days: Vec<DayRange>,
    /// When it opens, as written.
    pub opens: Word,
    /// When it closes, as written.
    pub closes: Word,
    /// The time zone's name.
    pub zone: Str,
}

impl WeeklyWindow {
    /// Where its times are written, `09:00-16:00`.
    pub fn hours(&self) -> Span {
        Span::new(self.opens.span.start, self.closes.span.end)
    }
}

/// `mon` or `mon-fri`.
#[derive(Debug, Clone, PartialEq)]
pub struct DayRange {
    /// The first day.
    pub first: Word,
    /// The last day of a range.
    pub last: Option<Word>,
}

impl DayRange {
    /// Where it is written.
    pub fn span(&self) -> Span {
        let end = self.last.as_ref().unwrap_or(&self.first).span.end;
        Span::new(self.first.span.start, end)
    }
}

/// A day or a time of day, as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    /// Its text.
    pub text: String,
    /// Where.
    pub span: Span,
}

/// What a rollout does outside its windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outside {
    /// `pause` (the default): traffic stays where it is and the bake's clock stops (health is
    /// still judged) until a window opens again.
    #[default]
    Pause,
    /// `rollback`: the rollout rolls back.
    Rollback,
}

impl Outside {
    /// The word after `outside window`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outside::Pause => "pause",
            Outside::Rollback => "rollback",
        }
    }
}

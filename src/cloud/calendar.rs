//! AWS Systems Manager Change Calendars, as the engine asks them whether traffic may move:
//! `GetCalendarState`, `OPEN` or `CLOSED`, and when that changes. [`super::aws`] asks SSM,
//! [`super::sim`] a calendar of closed intervals on its virtual clock.

use super::CloudError;
use crate::plan::windows::{Opening, Windows};
use crate::plan::Millis;

/// How soon to ask a `CLOSED` calendar again when it does not say when it opens.
pub const RECHECK: Millis = Millis(60_000);

/// What `GetCalendarState` says of one calendar now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarState {
    /// `OPEN`: actions may proceed.
    Open {
        /// `NextTransitionTime` (unix ms on the world's clock): when it closes, if it says.
        closes_at: Option<u64>,
    },
    /// `CLOSED`: actions may not proceed.
    Closed {
        /// `NextTransitionTime` (unix ms on the world's clock): when it opens, if it says.
        opens_at: Option<u64>,
    },
}

impl CalendarState {
    /// Whether the calendar is `OPEN`.
    pub fn is_open(self) -> bool {
        matches!(self, CalendarState::Open { .. })
    }

    /// As an [`Opening`] at `now` (unix ms): a `CLOSED` calendar that does not say when it
    /// opens is asked again after [`RECHECK`].
    pub fn opening(self, now: u64) -> Opening {
        match self {
            CalendarState::Open { closes_at } => Opening::Open { closes_at },
            CalendarState::Closed { opens_at } => Opening::Closed {
                opens_at: opens_at
                    .filter(|&at| at > now)
                    .unwrap_or(now.saturating_add(RECHECK.0)),
            },
        }
    }
}

/// Reads Change Calendars.
#[allow(async_fn_in_trait)]
pub trait CalendarApi {
    /// `GetCalendarState` of the calendar `name` (a document's name or its ARN) now. A calendar
    /// that does not exist, or is not a change calendar, is [`CloudError::Setup`] with what to
    /// do ([`no_such_calendar`], [`not_a_calendar`]).
    async fn calendar_state(&self, name: &str) -> Result<CalendarState, CloudError>;
}

/// A reader of Change Calendars the engine can hold whatever world it runs in: every
/// [`CalendarApi`] is one.
pub trait Calendars {
    /// `GetCalendarState` of the calendar `name`.
    fn state<'a>(
        &'a self,
        name: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<CalendarState, CloudError>> + 'a>>;
}

impl<A: CalendarApi> Calendars for A {
    fn state<'a>(
        &'a self,
        name: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<CalendarState, CloudError>> + 'a>>
    {
        Box::pin(self.calendar_state(name))
    }
}

/// Whether traffic may move at `now` (unix ms) under `windows`: its weekly windows and every one
/// of its calendars, each asked once. An error reading a calendar is returned as it is: the
/// caller fails closed (traffic does not move on a calendar it could not read).
pub async fn opening(
    api: &impl CalendarApi,
    windows: &Windows,
    now: u64,
) -> Result<Opening, CloudError> {
    let mut opening = windows.weekly_at(now);
    for name in &windows.calendars {
        opening = opening.and(api.calendar_state(name).await?.opening(now));
    }
    Ok(opening)
}

/// The error for a calendar SSM does not have (`InvalidDocument`), in AWS and in the simulated
/// world alike; `detail` is the service's own words.
pub fn no_such_calendar(name: &str, detail: &str) -> CloudError {
    CloudError::Setup(format!(
        "change calendar {name:?} does not exist ({detail}): check the `calendar` line of the playbook, the region (a calendar belongs to one), and that the identity may read it (ssm:GetCalendarState)"
    ))
}

/// The error for a document that is not a change calendar, or one SSM cannot evaluate
/// (`InvalidDocumentType`, `UnsupportedCalendarException`).
pub fn not_a_calendar(name: &str, detail: &str) -> CloudError {
    CloudError::Setup(format!(
        "{name:?} is not a change calendar SSM can read ({detail}): name a document of type ChangeCalendar"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::windows::Outside;
    use crate::span::Span;
    use std::collections::BTreeMap;

    struct Fixed(BTreeMap<&'static str, Result<CalendarState, CloudError>>);

    impl CalendarApi for Fixed {
        async fn calendar_state(&self, name: &str) -> Result<CalendarState, CloudError> {
            self.0[name].clone()
        }
    }

    fn calendars(names: &[&str]) -> Windows {
        Windows {
            weekly: Vec::new(),
            calendars: names.iter().map(|n| n.to_string()).collect(),
            outside: Outside::Pause,
            span: Span::default(),
        }
    }

    #[tokio::test]
    async fn traffic_moves_only_when_every_calendar_is_open_and_an_error_is_no() {
        let api = Fixed(BTreeMap::from([
            (
                "open",
                Ok(CalendarState::Open {
                    closes_at: Some(500),
                }),
            ),
            (
                "freeze",
                Ok(CalendarState::Closed {
                    opens_at: Some(900),
                }),
            ),
            ("forever", Ok(CalendarState::Closed { opens_at: None })),
            ("gone", Err(no_such_calendar("gone", "InvalidDocument"))),
        ]));
        assert_eq!(
            opening(&api, &calendars(&["open"]), 100).await,
            Ok(Opening::Open {
                closes_at: Some(500)
            })
        );
        assert_eq!(
            opening(&api, &calendars(&["open", "freeze"]), 100).await,
            Ok(Opening::Closed { opens_at: 900 })
        );
        assert_eq!(
            opening(&api, &calendars(&["forever"]), 100).await,
            Ok(Opening::Closed {
                opens_at: 100 + RECHECK.0
            })
        );
        let error = opening(&api, &calendars(&["open", "gone"]), 100).await;
        assert!(
            matches!(&error, Err(CloudError::Setup(m)) if m.contains("\"gone\" does not exist")),
            "{error:?}"
        );
    }
}

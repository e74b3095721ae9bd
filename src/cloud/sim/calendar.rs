//! Change Calendars in the simulated world. moto (the local AWS server of the end-to-end tests)
//! does not implement `GetCalendarState`, so this fixture stands in, with SSM's rules: a calendar
//! is `CLOSED` inside its closed intervals and `OPEN` outside them; `NextTransitionTime` is when
//! that changes (the end of the closed stretch, or the start of the next one), none when it
//! never does; a calendar the world does not have is the error AWS gives for an unknown
//! document.

use std::collections::BTreeMap;

use super::SimWorld;
use crate::cloud::calendar::{no_such_calendar, CalendarApi, CalendarState};
use crate::cloud::{Clock, CloudError};
use crate::plan::Millis;

/// One calendar: when it is closed, as offsets from the start of the simulation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimCalendar {
    /// Closed from the first offset until the second (`None`: for good). Overlapping or
    /// touching intervals are one closed stretch.
    pub closed: Vec<(Millis, Option<Millis>)>,
}

impl SimCalendar {
    /// Closed for good from the start.
    pub fn closed() -> Self {
        SimCalendar {
            closed: vec![(Millis(0), None)],
        }
    }

    /// Its state `offset` after the start; transitions are `start` plus an offset.
    pub fn state_at(&self, offset: Millis, start: u64) -> CalendarState {
        let mut stretches: Vec<(u64, Option<u64>)> = self
            .closed
            .iter()
            .map(|(a, b)| (a.0, b.map(|b| b.0)))
            .collect();
        stretches.sort_unstable();
        let mut merged: Vec<(u64, Option<u64>)> = Vec::new();
        for (from, to) in stretches {
            match merged.last_mut() {
                Some((_, last)) if last.is_none_or(|end| from <= end) => {
                    *last = last.zip(to).map(|(a, b)| a.max(b));
                }
                _ => merged.push((from, to)),
            }
        }
        let at = |offset: u64| start.saturating_add(offset);
        for (from, to) in merged {
            if offset.0 < from {
                return CalendarState::Open {
                    closes_at: Some(at(from)),
                };
            }
            if to.is_none_or(|to| offset.0 < to) {
                return CalendarState::Closed {
                    opens_at: to.map(at),
                };
            }
        }
        CalendarState::Open { closes_at: None }
    }
}

/// The world's calendars, and when its clock started (Unix ms).
#[derive(Debug, Clone, Default)]
pub(super) struct Calendars {
    pub(super) start: Millis,
    pub(super) by_name: BTreeMap<String, SimCalendar>,
}

impl CalendarApi for SimWorld {
    /// The calendar's state at the world's virtual time now.
    async fn calendar_state(&self, name: &str) -> Result<CalendarState, CloudError> {
        let calendars = &self.calendars;
        // Unix milliseconds on the world's clock, as SSM answers in wall time.
        let now = self.clock.epoch();
        match calendars.by_name.get(name) {
            Some(calendar) => Ok(calendar.state_at(
                Millis(now.0.saturating_sub(calendars.start.0)),
                calendars.start.0,
            )),
            None => Err(no_such_calendar(
                name,
                "InvalidDocument: the specified document does not exist",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::sim::SimConfig;

    const START: u64 = 1_000_000;
    const MIN: u64 = 60_000;

    fn calendar(closed: &[(u64, Option<u64>)]) -> SimCalendar {
        SimCalendar {
            closed: closed
                .iter()
                .map(|(a, b)| (Millis(a * MIN), b.map(|b| Millis(b * MIN))))
                .collect(),
        }
    }

    fn at(calendar: &SimCalendar, minutes: u64) -> CalendarState {
        calendar.state_at(Millis(minutes * MIN), START)
    }

    #[test]
    fn open_outside_the_closed_intervals_with_the_next_closing() {
        let c = calendar(&[(10, Some(60))]);
        assert_eq!(
            at(&c, 0),
            CalendarState::Open {
                closes_at: Some(START + 10 * MIN)
            }
        );
        assert_eq!(at(&c, 60), CalendarState::Open { closes_at: None });
        assert_eq!(
            at(&SimCalendar::default(), 5),
            CalendarState::Open { closes_at: None }
        );
    }

    #[test]
    fn closed_inside_them_until_the_closed_stretch_ends() {
        let c = calendar(&[(10, Some(60)), (50, Some(90)), (90, Some(100)), (200, None)]);
        // 10..60, 50..90 and 90..100 are one stretch: open again at 100.
        assert_eq!(
            at(&c, 10),
            CalendarState::Closed {
                opens_at: Some(START + 100 * MIN)
            }
        );
        assert_eq!(
            at(&c, 150),
            CalendarState::Open {
                closes_at: Some(START + 200 * MIN)
            }
        );
        assert_eq!(at(&c, 500), CalendarState::Closed { opens_at: None });
        assert_eq!(
            at(&SimCalendar::closed(), 0),
            CalendarState::Closed { opens_at: None }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_world_answers_on_its_virtual_clock_and_refuses_an_unknown_calendar() {
        let world = SimWorld::new(&SimConfig {
            calendars: BTreeMap::from([("freeze".to_string(), calendar(&[(10, Some(20))]))]),
            ..SimConfig::default()
        });
        // SSM answers in wall time: Unix milliseconds on the world's clock.
        let start = world.clock().epoch().0;
        assert!(world.calendar_state("freeze").await.unwrap().is_open());
        world.clock().advance(Millis(15 * MIN));
        assert_eq!(
            world.calendar_state("freeze").await,
            Ok(CalendarState::Closed {
                opens_at: Some(start + 20 * MIN)
            })
        );
        let unknown = world.calendar_state("other").await;
        assert_eq!(
            unknown,
            Err(no_such_calendar(
                "other",
                "InvalidDocument: the specified document does not exist"
            ))
        );
    }
}

//! Deploy windows and change calendars: before traffic moves and while a bake runs, the
//! playbook's weekly windows and calendars say whether it may. Outside, the rollout holds as a
//! pause does (traffic stays, the bake's clock stops, health is still judged) until they open,
//! or rolls back when the playbook says `outside window rollback`. A calendar that cannot be
//! read counts as closed: the rollout fails closed, and reads it again a minute later.

use super::control::Hold;
use super::events::EventKind;
use super::reasons::Cause;
use super::stop::Stop;
use super::Engine;
use crate::cloud::calendar::RECHECK;
use crate::cloud::{Clock, LambdaApi, MetricsApi};
use crate::plan::windows::{Opening, Outside};
use crate::plan::Millis;

/// How long one `GetCalendarState` may take before the calendar counts as unreadable (closed).
const CALENDAR_LIMIT: Millis = Millis(10_000);

/// What the calendars said, and until when it holds.
#[derive(Debug, Clone)]
pub(super) struct Asked {
    /// Open or closed, or why they could not be read.
    opening: Result<Opening, String>,
    /// When to ask them again (Unix ms).
    until: u64,
}

impl<L: LambdaApi, M: MetricsApi, C: Clock> Engine<'_, L, M, C> {
    /// Reads the windows now (the calendars when their last answer has run out), says when
    /// the rollout begins or ends holding for them, and with `outside window rollback` fails
    /// when closed.
    pub(super) async fn check_window(&mut self) -> Result<(), Stop> {
        let Some(windows) = self.playbook.windows.clone() else {
            return Ok(());
        };
        let now = self.services.clock.epoch().0;
        let weekly = windows.weekly_at(now);
        let mut opening = Ok(weekly);
        if !windows.calendars.is_empty() {
            let cached = self
                .lease
                .control
                .calendars
                .clone()
                .filter(|asked| now < asked.until);
            let asked = match cached {
                Some(asked) => asked,
                None => self.ask_calendars(&windows.calendars, now).await,
            };
            opening = match (opening, asked.opening.clone()) {
                (Ok(weekly), Ok(calendars)) => Ok(weekly.and(calendars)),
                (_, Err(why)) => Err(why),
                (Err(why), _) => Err(why),
            };
            self.lease.control.calendars = Some(asked);
        }
        let closed = match opening {
            Ok(Opening::Open { .. }) => None,
            Ok(Opening::Closed { opens_at }) => Some(match weekly {
                Opening::Closed { .. } => Hold {
                    by: "the deploy windows".to_string(),
                    reason: format!("outside {}", weekly_words(&windows)),
                    until: Some(opens_at / 1000),
                },
                Opening::Open { .. } => Hold {
                    by: "the change calendars".to_string(),
                    reason: format!("change calendar closed ({})", windows.calendars.join(", ")),
                    until: Some(opens_at / 1000),
                },
            }),
            Err(why) => Some(Hold {
                by: "a change calendar".to_string(),
                reason: why,
                until: None,
            }),
        };
        // Where no calendar can be read, none will open: holding would never end.
        let unreadable = self.services.calendars.is_none() && !windows.calendars.is_empty();
        if let (Some(hold), Outside::Rollback, _) | (Some(hold), _, true) =
            (&closed, windows.outside, unreadable)
        {
            self.progress.detected = Some(self.now());
            let until = hold
                .until
                .map(|u| format!(" until {}", crate::cloud::clock::utc(u)))
                .unwrap_or_default();
            return Err(Stop::fail(Cause::OutsideWindow {
                why: format!("{}{until}", hold.reason),
            }));
        }
        self.tell_window(closed);
        Ok(())
    }

    /// Asks every calendar; closed when any is `CLOSED`, or cannot be read.
    async fn ask_calendars(&mut self, names: &[String], now: u64) -> Asked {
        let recheck = now + RECHECK.0;
        let Some(calendars) = self.services.calendars else {
            return Asked {
                opening: Err("change calendars cannot be read in this run".to_string()),
                until: u64::MAX,
            };
        };
        let mut opening = Opening::Open { closes_at: None };
        for name in names {
            let asked = self
                .services
                .clock
                .within(CALENDAR_LIMIT, calendars.state(name));
            let state = asked.await.unwrap_or_else(|| {
                Err(crate::cloud::CloudError::Transient(format!(
                    "no answer within {CALENDAR_LIMIT}"
                )))
            });
            match state {
                Ok(state) => opening = opening.and(state.opening(now)),
                Err(error) => {
                    return Asked {
                        opening: Err(format!(
                        "change calendar {name:?} could not be read ({error}): closed until it can"
                    )),
                        until: recheck,
                    }
                }
            }
        }
        let until = match opening {
            Opening::Open { closes_at } => closes_at.unwrap_or(recheck).min(recheck),
            Opening::Closed { opens_at } => opens_at.min(recheck),
        };
        Asked {
            opening: Ok(opening),
            until,
        }
    }

    /// Emits `paused` when the windows closed since last told, `unpaused` when they opened.
    fn tell_window(&mut self, closed: Option<Hold>) {
        let was = self.lease.control.closed.take();
        match (&was, &closed) {
            (None, Some(hold)) => {
                self.lease.control.closed_since = self.services.clock.now();
                self.emit(EventKind::Paused {
                    by: hold.by.clone(),
                    reason: Some(hold.reason.clone()),
                    until: hold.until,
                });
            }
            // Still closed, now by something else: say what holds it now.
            (Some(before), Some(hold)) if before.by != hold.by => {
                self.emit(EventKind::Paused {
                    by: hold.by.clone(),
                    reason: Some(hold.reason.clone()),
                    until: hold.until,
                });
            }
            (Some(hold), None) => {
                let paused_ms = Millis(
                    self.services
                        .clock
                        .now()
                        .0
                        .saturating_sub(self.lease.control.closed_since.0),
                );
                self.emit(EventKind::Unpaused {
                    by: format!("{}, open again", hold.by),
                    paused_ms,
                });
            }
            _ => {}
        }
        self.lease.control.closed = closed;
    }

    /// Whether the windows hold the rollout now.
    pub(super) fn outside(&self) -> bool {
        self.lease.control.closed.is_some()
    }
}

/// The weekly windows in words, as the playbook writes them.
fn weekly_words(windows: &crate::plan::windows::Windows) -> String {
    let weekly: Vec<String> = windows
        .weekly
        .iter()
        .map(|w| w.to_string().trim_start_matches("window ").to_string())
        .collect();
    match weekly.is_empty() {
        true => "the change calendars".to_string(),
        false => format!("the deploy windows ({})", weekly.join("; ")),
    }
}

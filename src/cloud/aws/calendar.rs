//! SSM `GetCalendarState` through the SDK: whether a Change Calendar lets traffic move.

use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ssm::operation::get_calendar_state::GetCalendarStateError;
use aws_sdk_ssm::types::CalendarState as SsmState;

use super::errors::domain;
use super::Aws;
use crate::cloud::calendar::{no_such_calendar, not_a_calendar, CalendarApi, CalendarState};
use crate::cloud::CloudError;

impl CalendarApi for Aws {
    /// `GetCalendarState` of one calendar, now (no `AtTime`: SSM's own clock).
    async fn calendar_state(&self, name: &str) -> Result<CalendarState, CloudError> {
        self.call().await;
        let out = self
            .ssm
            .get_calendar_state()
            .calendar_names(name)
            .send()
            .await
            .map_err(|e| calendar_error(name, e))?;
        state(name, out.state(), out.next_transition_time())
    }
}

/// The answer as a [`CalendarState`]; a state SSM did not give, or one this build does not know,
/// is an error (which the engine takes as closed).
fn state(
    name: &str,
    state: Option<&SsmState>,
    next_transition: Option<&str>,
) -> Result<CalendarState, CloudError> {
    let next = next_transition
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .and_then(|t| u64::try_from(t.as_millisecond()).ok());
    match state {
        Some(SsmState::Open) => Ok(CalendarState::Open { closes_at: next }),
        Some(SsmState::Closed) => Ok(CalendarState::Closed { opens_at: next }),
        other => Err(CloudError::Other(format!(
            "change calendar {name:?}: GetCalendarState answered no state rollout knows ({:?})",
            other.map(SsmState::as_str)
        ))),
    }
}

/// What a failed `GetCalendarState` means: a calendar that does not exist, or is not one, is a
/// set-up error that says what to fix; the rest as every other call.
fn calendar_error(name: &str, error: SdkError<GetCalendarStateError, HttpResponse>) -> CloudError {
    let detail = format!(
        "{}: {}",
        error.code().unwrap_or("error"),
        error.message().unwrap_or("no message")
    );
    match error.code() {
        Some("InvalidDocument" | "ResourceNotFoundException") => no_such_calendar(name, &detail),
        Some("InvalidDocumentType" | "UnsupportedCalendarException") => {
            not_a_calendar(name, &detail)
        }
        _ => domain(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_and_closed_carry_the_next_transition_and_anything_else_is_an_error() {
        assert_eq!(
            state("c", Some(&SsmState::Open), Some("2026-12-07T09:00:00Z")),
            Ok(CalendarState::Open {
                closes_at: Some(1_796_634_000_000)
            })
        );
        assert_eq!(
            state("c", Some(&SsmState::Closed), None),
            Ok(CalendarState::Closed { opens_at: None })
        );
        assert_eq!(
            state("c", Some(&SsmState::Closed), Some("soon")),
            Ok(CalendarState::Closed { opens_at: None })
        );
        assert!(state("c", None, None).is_err());
        assert!(state("c", Some(&SsmState::from("HALF_OPEN")), None).is_err());
    }
}

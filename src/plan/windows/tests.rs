use super::*;
use crate::plan::Millis;

/// Unix ms of an RFC 3339 instant written in UTC, read without any time-zone rule.
fn ms(utc: &str) -> u64 {
    utc.parse::<Timestamp>()
        .expect("an instant")
        .as_millisecond() as u64
}

fn weekly(days: &[Day], start: &str, end: &str, zone: &str) -> Weekly {
    Weekly {
        days: days.to_vec(),
        start: Clock::parse(start).expect("a time"),
        end: Clock::parse(end).expect("a time"),
        zone: Zone::get(zone).expect("a zone"),
    }
}

fn windows(weekly: Vec<Weekly>) -> Windows {
    Windows {
        weekly,
        calendars: Vec::new(),
        outside: Outside::Pause,
        span: Span::default(),
    }
}

const WEEKDAYS: [Day; 5] = [Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri];

fn berlin_office() -> Windows {
    windows(vec![weekly(&WEEKDAYS, "09:00", "16:00", "Europe/Berlin")])
}

#[test]
fn a_berlin_window_follows_the_clocks_into_summer_time() {
    let w = berlin_office();
    // Friday 27 March 2026, 15:00 CET (UTC+1): open until 16:00 CET.
    assert_eq!(
        w.weekly_at(ms("2026-03-27T14:00:00Z")),
        Opening::Open {
            closes_at: Some(ms("2026-03-27T15:00:00Z"))
        }
    );
    // Closed after 16:00 on Friday; the clocks go forward on Sunday 29 March, so Monday's
    // 09:00 is CEST (UTC+2): 07:00 UTC, not 08:00.
    assert_eq!(
        w.weekly_at(ms("2026-03-27T15:30:00Z")),
        Opening::Closed {
            opens_at: ms("2026-03-30T07:00:00Z")
        }
    );
    assert_eq!(
        w.weekly_at(ms("2026-03-30T07:30:00Z")),
        Opening::Open {
            closes_at: Some(ms("2026-03-30T14:00:00Z"))
        }
    );
}

#[test]
fn a_berlin_window_follows_the_clocks_back_to_winter_time() {
    let w = berlin_office();
    // Friday 23 October 2026, 16:30 CEST; the clocks go back on Sunday 25 October, so Monday's
    // 09:00 is CET (UTC+1): 08:00 UTC.
    assert_eq!(
        w.weekly_at(ms("2026-10-23T14:30:00Z")),
        Opening::Closed {
            opens_at: ms("2026-10-26T08:00:00Z")
        }
    );
    // At 07:30 UTC on that Monday it is 08:30 in Berlin: still closed.
    assert_eq!(
        w.weekly_at(ms("2026-10-26T07:30:00Z")),
        Opening::Closed {
            opens_at: ms("2026-10-26T08:00:00Z")
        }
    );
}

#[test]
fn a_window_over_the_night_the_clocks_change_is_as_long_as_the_wall_clock_says() {
    let w = windows(vec![weekly(&[Day::Sun], "01:00", "04:00", "Europe/Berlin")]);
    // 29 March 2026: 02:00 to 03:00 does not exist, so 01:00 CET to 04:00 CEST is two hours.
    assert_eq!(
        w.weekly_at(ms("2026-03-29T00:30:00Z")),
        Opening::Open {
            closes_at: Some(ms("2026-03-29T02:00:00Z"))
        }
    );
    // 25 October 2026: 02:00 to 03:00 happens twice, so 01:00 CEST to 04:00 CET is four hours.
    assert_eq!(
        w.weekly_at(ms("2026-10-24T22:30:00Z")),
        Opening::Closed {
            opens_at: ms("2026-10-24T23:00:00Z")
        }
    );
    assert_eq!(
        w.weekly_at(ms("2026-10-25T02:30:00Z")),
        Opening::Open {
            closes_at: Some(ms("2026-10-25T03:00:00Z"))
        }
    );
}

#[test]
fn a_window_in_a_zone_half_an_hour_off_utc() {
    // India is UTC+05:30 all year: 09:30 there is 04:00 UTC.
    let w = windows(vec![weekly(&Day::ALL, "09:30", "10:00", "Asia/Kolkata")]);
    assert_eq!(
        w.weekly_at(ms("2026-06-10T03:59:00Z")),
        Opening::Closed {
            opens_at: ms("2026-06-10T04:00:00Z")
        }
    );
    assert_eq!(
        w.weekly_at(ms("2026-06-10T04:10:00Z")),
        Opening::Open {
            closes_at: Some(ms("2026-06-10T04:30:00Z"))
        }
    );
}

#[test]
fn an_overnight_window_closes_the_next_morning() {
    // Friday 22:00 to Saturday 02:00; 4 December 2026 is a Friday.
    let w = windows(vec![weekly(&[Day::Fri], "22:00", "02:00", "UTC")]);
    assert_eq!(
        w.weekly_at(ms("2026-12-05T01:00:00Z")),
        Opening::Open {
            closes_at: Some(ms("2026-12-05T02:00:00Z"))
        }
    );
    assert_eq!(
        w.weekly_at(ms("2026-12-05T02:00:00Z")),
        Opening::Closed {
            opens_at: ms("2026-12-11T22:00:00Z")
        }
    );
}

#[test]
fn windows_that_touch_are_one_opening() {
    let w = windows(vec![
        weekly(&[Day::Fri], "22:00", "24:00", "UTC"),
        weekly(&[Day::Sat], "00:00", "02:00", "UTC"),
    ]);
    assert_eq!(
        w.weekly_at(ms("2026-12-04T23:00:00Z")),
        Opening::Open {
            closes_at: Some(ms("2026-12-05T02:00:00Z"))
        }
    );
}

#[test]
fn a_window_all_week_never_closes_and_no_window_is_always_open() {
    let always = windows(vec![weekly(&Day::ALL, "00:00", "24:00", "UTC")]);
    assert_eq!(
        always.weekly_at(ms("2026-12-04T23:00:00Z")),
        Opening::Open { closes_at: None }
    );
    assert_eq!(
        windows(Vec::new()).weekly_at(ms("2026-12-04T23:00:00Z")),
        Opening::Open { closes_at: None }
    );
}

#[test]
fn two_openings_together_are_open_only_when_both_are() {
    let open = |c| Opening::Open { closes_at: c };
    let closed = |o| Opening::Closed { opens_at: o };
    assert_eq!(open(Some(5)).and(open(Some(3))), open(Some(3)));
    assert_eq!(open(None).and(open(Some(3))), open(Some(3)));
    assert_eq!(open(Some(5)).and(closed(9)), closed(9));
    assert_eq!(closed(4).and(closed(9)), closed(9));
}

#[test]
fn times_of_day_are_hours_and_minutes_up_to_the_end_of_the_day() {
    assert_eq!(Clock::parse("09:05"), Some(Clock(545)));
    assert_eq!(Clock::parse("24:00"), Some(Clock::END_OF_DAY));
    for bad in ["24:01", "9:00", "12:60", "ab:cd", "1200", "12:5"] {
        assert_eq!(Clock::parse(bad), None, "{bad}");
    }
    assert_eq!(Clock(545).to_string(), "09:05");
}

#[test]
fn a_window_prints_its_days_as_ranges() {
    let w = weekly(
        &[Day::Mon, Day::Tue, Day::Wed, Day::Fri, Day::Sun],
        "09:00",
        "24:00",
        "europe/berlin",
    );
    assert_eq!(
        w.to_string(),
        r#"window mon-wed, fri, sun 09:00-24:00 "Europe/Berlin""#
    );
}

#[test]
fn a_step_waits_for_the_window_and_a_bake_stops_its_clock_while_closed() {
    let w = windows(vec![weekly(&WEEKDAYS, "09:00", "17:00", "UTC")]);
    let minutes = |m: u64| Millis(m * 60_000);
    // Friday 4 December 2026, 16:50.
    let legs = [
        Leg::Move(Millis(1_000)),
        Leg::Bake {
            traffic: minutes(15),
            settle: minutes(1),
        },
        Leg::Other(minutes(2)),
        Leg::Move(Millis(0)),
    ];
    let timed = w
        .schedule(ms("2026-12-04T16:50:00Z"), &legs)
        .expect("scheduled");
    assert_eq!(timed[0].starts_at, ms("2026-12-04T16:50:00Z"));
    assert_eq!(timed[0].waited, Millis(0));
    // 9m59s on Friday, the rest from Monday 09:00, then a minute for its metrics.
    assert_eq!(timed[1].interrupted_at, Some(ms("2026-12-04T17:00:00Z")));
    assert_eq!(timed[1].ends_at, ms("2026-12-07T09:06:01Z"));
    assert_eq!(timed[1].waited, Millis(64 * 3_600_000));
    assert_eq!(timed[2].ends_at, ms("2026-12-07T09:08:01Z"));
    assert_eq!(timed[3].starts_at, ms("2026-12-07T09:08:01Z"));

    // Started on Saturday, the first move waits for Monday.
    let timed = w
        .schedule(ms("2026-12-05T12:00:00Z"), &legs[..1])
        .expect("scheduled");
    assert_eq!(timed[0].starts_at, ms("2026-12-07T09:00:00Z"));
    assert_eq!(timed[0].waited, Millis(45 * 3_600_000));
}

#[test]
fn a_schedule_that_would_take_more_than_a_year_is_refused() {
    let w = windows(vec![weekly(&[Day::Mon], "09:00", "09:01", "UTC")]);
    let legs = [Leg::Bake {
        traffic: Millis(60 * 60_000),
        settle: Millis(0),
    }];
    assert_eq!(w.schedule(ms("2026-12-07T09:00:00Z"), &legs), None);
}

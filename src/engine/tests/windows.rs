//! Deploy windows and change calendars on the simulated world's clock, which starts on Monday
//! 2026-11-30 at 00:54 UTC: outside, the rollout holds before moving traffic and its bake's
//! clock stops; `outside window rollback` rolls back instead; a closed calendar holds it too.

use super::*;
use crate::cloud::sim::calendar::SimCalendar;
use crate::cloud::sim::clock::VIRTUAL_EPOCH;
use crate::engine::{Cause, Outcome};
use crate::plan::Millis;

/// The world's start, Unix seconds.
const START: u64 = VIRTUAL_EPOCH.0 / 1000;

/// Unix seconds of 2026-11-30 at `hh:mm` UTC.
fn monday(hh: u64, mm: u64) -> u64 {
    START - (54 * 60) + hh * 3_600 + mm * 60
}

/// The virtual time (ms since the start) of 2026-11-30 at `hh:mm` UTC.
fn since_start(hh: u64, mm: u64) -> u64 {
    (monday(hh, mm) - START) * 1000
}

/// The `paused` events: by whom, until when.
fn paused(r: &Run) -> Vec<(String, Option<u64>)> {
    picked(&r.events, |k| match k {
        EventKind::Paused { by, until, .. } => Some((by.clone(), *until)),
        _ => None,
    })
}

#[test]
fn a_closed_window_holds_the_first_shift_until_it_opens_and_stops_the_bakes_clock() {
    let text =
        format!("window mon 02:00-02:10 \"UTC\"\nwindow mon 03:00-04:00 \"UTC\"\n{BAKE_30M}");
    let w = world(&["f"], HEALTHY);
    let r = run(&w, &plan(&text));
    assert_eq!(r.report.outcome, Outcome::Promoted, "{:?}", r.events.last());
    assert_eq!(
        paused(&r),
        [
            ("the deploy windows".to_string(), Some(monday(2, 0))),
            ("the deploy windows".to_string(), Some(monday(3, 0))),
        ],
        "held until 02:00, then from 02:10 until 03:00"
    );
    let moved = moved_at(&r, |a| a.additional().is_some());
    assert!(
        (since_start(2, 0)..since_start(2, 2)).contains(&moved),
        "no traffic before the window opened at 02:00: {moved}"
    );
    let end = r.events.last().unwrap().at_ms;
    assert!(
        end >= since_start(3, 20),
        "10 minutes of bake before 02:10 and 20 after 03:00: ended at {end}"
    );
    assert_eq!(serves(&w, "f"), serving("4", &[]));
}

#[test]
fn outside_window_rollback_moves_no_traffic_and_rolls_back() {
    let text =
        format!("window tue 09:00-16:00 \"Europe/Berlin\"\noutside window rollback\n{BAKE_30M}");
    let w = world(&["f"], HEALTHY);
    let r = run(&w, &plan(&text));
    let Outcome::RolledBack { cause, .. } = &r.report.outcome else {
        panic!("{:?}", r.report.outcome);
    };
    assert!(
        matches!(cause, Cause::OutsideWindow { why } if why.contains("until 2026-12-01T08:00:00Z")),
        "{cause}"
    );
    assert!(traffic(&w).is_empty(), "{:?}", traffic(&w));
}

#[test]
fn a_closed_change_calendar_holds_until_it_opens() {
    let w = SimWorld::new(&SimConfig {
        functions: vec!["f".into()],
        alias: "live".into(),
        rps: 50.0,
        old: HEALTHY,
        new: HEALTHY,
        versions: 3,
        seed: 7,
        calendars: [(
            "freeze".to_string(),
            SimCalendar {
                closed: vec![(Millis(0), Some(Millis::from_minutes(45)))],
            },
        )]
        .into(),
        ..SimConfig::default()
    });
    let r = run(&w, &plan(&format!("calendar \"freeze\"\n{BAKE_30M}")));
    assert_eq!(r.report.outcome, Outcome::Promoted, "{:?}", r.events.last());
    assert_eq!(
        paused(&r),
        [("the change calendars".to_string(), Some(START + 45 * 60))]
    );
    let moved = moved_at(&r, |a| a.additional().is_some());
    assert!(moved >= Millis::from_minutes(45).0, "{moved}");
}

#[test]
fn a_calendar_that_cannot_be_read_is_closed() {
    let w = world(&["f"], HEALTHY);
    let text = format!("calendar \"nowhere\"\noutside window rollback\n{BAKE_30M}");
    let r = run(&w, &plan(&text));
    let Outcome::RolledBack { cause, .. } = &r.report.outcome else {
        panic!("{:?}", r.report.outcome);
    };
    assert!(
        matches!(cause, Cause::OutsideWindow { why } if why.contains("\"nowhere\" could not be read")),
        "{cause}"
    );
    assert!(traffic(&w).is_empty());
}

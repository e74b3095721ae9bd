use std::path::Path;

use crate::check::{check_source, Checked, Options};
use crate::diagnostic::{source, Code};
use crate::plan::windows::{Clock, Day, Outside, Windows};

/// A valid playbook with `headers` above its steps.
fn playbook(headers: &str) -> String {
    format!(
        "function \"f\"\nalias \"live\"\n{headers}\npublish\nshift 5% to new\nwait 10m\npromote\n"
    )
}

fn check(text: &str) -> Checked {
    check_source(
        source("w.rollout", text.to_string()),
        Path::new("."),
        &Options::default(),
    )
}

fn windows_of(headers: &str) -> Option<Windows> {
    let checked = check(&playbook(headers));
    assert!(
        checked.diags.is_empty(),
        "{:?}",
        checked.diags.iter().map(|d| &d.message).collect::<Vec<_>>()
    );
    checked.plan.expect("a plan").windows
}

/// The one diagnostic of `headers`: its code, message, and the text under each label.
fn diag(headers: &str) -> (Code, String, Vec<String>) {
    let text = playbook(headers);
    let checked = check(&text);
    assert!(checked.plan.is_none(), "no error for {headers}");
    assert_eq!(checked.diags.len(), 1, "{:#?}", checked.diags);
    let d = &checked.diags[0];
    let labels = d
        .labels
        .iter()
        .map(|l| text[l.span.start..l.span.end].to_string())
        .collect();
    (d.code, d.message.clone(), labels)
}

#[test]
fn windows_and_calendars_reach_the_plan_as_written() {
    let windows = windows_of(
        "window mon-wed, fri 09:00-16:00 \"europe/berlin\"\nwindow sat 22:00-02:00 \"UTC\"\ncalendar \"ChangeFreeze\"\ncalendar \"arn:aws:ssm:eu-west-1:123456789012:document/Other\"\noutside window rollback",
    )
    .expect("windows");
    assert_eq!(windows.weekly.len(), 2);
    let first = &windows.weekly[0];
    assert_eq!(first.days, [Day::Mon, Day::Tue, Day::Wed, Day::Fri]);
    assert_eq!((first.start, first.end), (Clock(540), Clock(960)));
    assert_eq!(first.zone.name(), "Europe/Berlin");
    assert_eq!(windows.weekly[1].end, Clock(120));
    assert_eq!(
        windows.calendars,
        [
            "ChangeFreeze",
            "arn:aws:ssm:eu-west-1:123456789012:document/Other"
        ]
    );
    assert_eq!(windows.outside, Outside::Rollback);
    assert_eq!(windows_of(""), None);
    assert_eq!(
        windows_of("calendar \"ChangeFreeze\"").map(|w| w.outside),
        Some(Outside::Pause)
    );
}

#[test]
fn a_window_changes_the_fingerprint_and_no_window_keeps_it() {
    let plain = check(&playbook("")).plan.unwrap().fingerprint();
    let windowed = check(&playbook("window mon-fri 09:00-16:00 \"UTC\""))
        .plan
        .unwrap()
        .fingerprint();
    assert_ne!(plain, windowed);
    // The fingerprint of a playbook without windows is what it was before windows existed.
    assert_eq!(plain, check(&playbook("")).plan.unwrap().fingerprint());
}

#[test]
fn an_unknown_time_zone_is_refused_with_the_closest_name() {
    let (code, message, labels) = diag("window mon 09:00-16:00 \"Europe/Berln\"");
    assert_eq!(code, Code::UnknownTimeZone);
    assert_eq!(message, "\"Europe/Berln\" is not a time zone");
    assert_eq!(labels, ["\"Europe/Berln\""]);
    let text = playbook("window mon 09:00-16:00 \"Europe/Berln\"");
    assert!(check(&text).diags[0].help.contains("`Europe/Berlin`"));
}

#[test]
fn a_word_that_is_not_a_day_is_refused() {
    let (code, message, labels) = diag("window monday-fri 09:00-16:00 \"UTC\"");
    assert_eq!(code, Code::BadDay);
    assert_eq!(message, "`monday` is not a day");
    assert_eq!(labels, ["monday"]);
}

#[test]
fn times_that_are_not_times_of_day_are_refused() {
    for (hours, bad) in [
        ("9:00-16:00", "9:00"),
        ("09:00-16:60", "16:60"),
        ("09:00-25:00", "25:00"),
        ("24:00-02:00", "24:00"),
    ] {
        let (code, _, labels) = diag(&format!("window mon {hours} \"UTC\""));
        assert_eq!(code, Code::BadTime, "{hours}");
        assert_eq!(labels, [bad], "{hours}");
    }
}

#[test]
fn days_that_run_backwards_are_refused() {
    let (code, message, labels) = diag("window fri-mon 09:00-16:00 \"UTC\"");
    assert_eq!(code, Code::InvertedRange);
    assert_eq!(message, "`fri-mon` runs backwards");
    assert_eq!(labels, ["fri-mon"]);
}

#[test]
fn a_window_that_closes_when_it_opens_is_never_open() {
    let (code, message, labels) = diag("window mon 09:00-09:00 \"UTC\"");
    assert_eq!(code, Code::EmptyWindow);
    assert!(message.contains("never open"), "{message}");
    assert_eq!(labels, ["09:00-09:00"]);
}

#[test]
fn a_window_calendar_or_day_given_twice_is_refused() {
    let (code, _, labels) =
        diag(
        "window mon-fri 09:00-16:00 \"Europe/Berlin\"\nwindow mon-fri 09:00-16:00 \"europe/berlin\"",
    );
    assert_eq!(code, Code::DuplicateWindow);
    assert_eq!(
        labels,
        [
            "window mon-fri 09:00-16:00 \"europe/berlin\"",
            "window mon-fri 09:00-16:00 \"Europe/Berlin\""
        ]
    );
    let (code, _, _) = diag("calendar \"ChangeFreeze\"\ncalendar \"ChangeFreeze\"");
    assert_eq!(code, Code::DuplicateWindow);
    let (code, message, labels) = diag("window mon-fri, wed 09:00-16:00 \"UTC\"");
    assert_eq!(code, Code::DuplicateWindow);
    assert_eq!(message, "`wed` is named twice in this window");
    assert_eq!(labels, ["wed", "mon-fri"]);
}

#[test]
fn a_calendar_that_ssm_would_refuse_is_refused() {
    let (code, _, labels) = diag("calendar \"change freeze\"");
    assert_eq!(code, Code::BadCalendar);
    assert_eq!(labels, ["\"change freeze\""]);
    let (code, _, _) = diag("calendar \"arn:aws:ssm:eu-west-1:12:document/x1\"");
    assert_eq!(code, Code::BadCalendar);
}

#[test]
fn outside_window_needs_a_window_and_is_said_once() {
    let (code, _, labels) = diag("outside window rollback");
    assert_eq!(code, Code::OutsideWithoutWindow);
    assert_eq!(labels, ["outside window rollback"]);
    let (code, _, _) =
        diag("calendar \"ChangeFreeze\"\noutside window pause\noutside window rollback");
    assert_eq!(code, Code::DuplicateHeader);
}

#[test]
fn an_imported_file_cannot_hold_windows() {
    let dir = std::env::temp_dir().join(format!("rollout-windows-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("lib.rollout"), "window mon 09:00-16:00 \"UTC\"\n").unwrap();
    let checked = check_source(
        source("w.rollout", playbook("import \"lib.rollout\"")),
        &dir,
        &Options::default(),
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        checked.diags.iter().any(|d| d.code == Code::ImportContent),
        "{:#?}",
        checked.diags
    );
}

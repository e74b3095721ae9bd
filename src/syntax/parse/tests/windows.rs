//! The window headers: days, hours, zones, calendars, what outside does, and syntax errors.

use super::*;

fn window(text: &str) -> WindowHeader {
    match header(text) {
        HeaderKind::Window(window) => window,
        other => panic!("not a window: {other:?}"),
    }
}

fn word(text: &str) -> Word {
    Word {
        text: text.into(),
        span: Span::default(),
    }
}

#[test]
fn a_window_holds_its_days_its_hours_and_its_zone() {
    let WindowHeader::Weekly(weekly) = window("window mon-fri, sat 09:00-24:00 \"Europe/Berlin\"")
    else {
        panic!("not weekly");
    };
    assert_eq!(
        weekly.days,
        vec![
            DayRange {
                first: word("mon"),
                last: Some(word("fri")),
            },
            DayRange {
                first: word("sat"),
                last: None,
            },
        ]
    );
    assert_eq!(
        (weekly.opens, weekly.closes),
        (word("09:00"), word("24:00"))
    );
    assert_eq!(weekly.zone, plain("Europe/Berlin"));
    assert_eq!(
        window("calendar \"ChangeFreeze\""),
        WindowHeader::Calendar(plain("ChangeFreeze"))
    );
    assert_eq!(
        window("outside window rollback"),
        WindowHeader::Outside(Outside::Rollback)
    );
    assert_eq!(
        window("outside window pause"),
        WindowHeader::Outside(Outside::Pause)
    );
}

#[test]
fn the_spans_of_a_window_point_at_each_part() {
    let text = "window mon-fri 09:00-16:00 \"UTC\"";
    let WindowHeader::Weekly(weekly) = window(text) else {
        panic!("not weekly");
    };
    let at = |span: Span| &text[span.start..span.end];
    assert_eq!(at(weekly.days[0].span()), "mon-fri");
    assert_eq!(at(weekly.hours()), "09:00-16:00");
    assert_eq!(at(weekly.opens.span), "09:00");
    assert_eq!(at(weekly.zone.span), "\"UTC\"");
}

#[test]
fn window_syntax_errors_say_how_a_window_is_written() {
    let diag = parse_err("window mon-fri 09:00 - 16:00 \"UTC\"");
    assert!(
        diag.help.contains("window mon-fri 09:00-16:00"),
        "{}",
        diag.help
    );
    let diag = parse_err("window mon-fri 09:00-16:00");
    assert!(
        diag.message.contains("found the end of the"),
        "{}",
        diag.message
    );
    let diag = parse_err("outside window wait");
    assert_eq!(diag.message, "expected `pause` or `rollback`, found `wait`");
    let diag = parse_err("param window = 5m");
    assert!(diag.message.contains("found `window`"), "{}", diag.message);
}

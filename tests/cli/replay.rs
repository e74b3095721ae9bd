//! `rollout replay` refuses, before reading anything, a window that cannot be judged: two
//! versions that are one, a window not wholly in the settled past, one older than CloudWatch
//! keeps. (The moto tests read real windows.)

use crate::test::Test;

const PLAYBOOK: &str = "function \"f\"\nalias \"live\"\nhealth {\n  error rate < 1%\n}\npublish\nshift 5% to new\nwait 10m until healthy\npromote\n";

/// RFC 3339 of `seconds` from now, with an offset of +05:30.
fn at(seconds: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let local = now + seconds + 5 * 3600 + 30 * 60;
    let (days, rest) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    // Civil date from days since 1970 (Howard Hinnant's civil_from_days).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}t{:02}:{:02}:{:02}+05:30",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

fn replay(old: &str, new: &str, from: i64, to: i64) -> Test {
    replay_of(PLAYBOOK, old, new, from, to)
}

fn replay_of(playbook: &str, old: &str, new: &str, from: i64, to: i64) -> Test {
    Test::temp().file("p.rollout", playbook).args([
        "replay".to_string(),
        "p.rollout".into(),
        "--old".into(),
        old.into(),
        "--new".into(),
        new.into(),
        "--from".into(),
        at(from),
        "--to".into(),
        at(to),
        "--region".into(),
        "us-east-1".into(),
        "--endpoint-url".into(),
        "http://127.0.0.1:9".into(),
    ])
}

/// Every time here is written with a lower-case `t` and the offset `+05:30`, both valid RFC
/// 3339: each refusal below comes after the times were read.
#[test]
fn a_window_that_cannot_be_judged_is_refused_before_anything_is_read() {
    let hour = 3600;
    replay("2", "2", -3 * hour, -2 * hour)
        .status(2)
        .stderr_contains("--old and --new are both version 2")
        .stderr_contains("Nothing was read")
        .run();
    replay("1", "2", -hour, hour)
        .status(2)
        .stderr_contains("is not in the settled past")
        .run();
    replay("1", "2", -hour, -5 * 60)
        .status(2)
        .stderr_contains("is not in the settled past")
        .run();
    replay("1", "2", -20 * 24 * hour, -19 * 24 * hour)
        .status(2)
        .stderr_contains("older than CloudWatch keeps 1m periods (15d")
        .run();
}

/// CloudWatch keeps periods under a minute 3 hours: a window of 10-second periods that starts
/// before then is refused, though minutes of it would be kept 15 days.
#[test]
fn a_window_of_periods_under_a_minute_is_refused_past_three_hours() {
    let fine = "function \"f\"\nalias \"live\"\nhealth every 10s {\n  error rate < 1%\n}\npublish\nshift 5% to new\nwait 10m until healthy\npromote\n";
    let hour = 3600;
    replay_of(fine, "1", "2", -4 * hour, -3 * hour)
        .status(2)
        .stderr_contains("older than CloudWatch keeps 10s periods (3h, so nothing before")
        .stderr_contains("Nothing was read")
        .run();
}

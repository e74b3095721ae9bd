//! The values of command-line options: parsed and checked, with a message that shows the right
//! form when one is wrong.

/// A pace of calls: at least [`MIN_CALLS_PER_SECOND`](crate::cloud::limit::MIN_CALLS_PER_SECOND).
pub(super) fn calls_per_second(text: &str) -> Result<f64, String> {
    let least = crate::cloud::limit::MIN_CALLS_PER_SECOND;
    match text.parse::<f64>() {
        Ok(n) if n >= least && n.is_finite() => Ok(n),
        _ => Err(format!(
            "expected at least {least} calls per second (one every 10 seconds; slower, a step takes minutes and a lease's heartbeat comes late), such as 10, not `{text}`"
        )),
    }
}

/// `--tagged KEY=VALUE`.
pub(super) fn parse_tag(text: &str) -> Result<crate::plan::Selection, String> {
    crate::plan::Selection::tagged(text)
        .ok_or_else(|| format!("expected KEY=VALUE, such as `team=checkout`, not `{text}`"))
}

/// A function's name (or a pattern over names) as Lambda accepts it.
pub(super) fn parse_function(text: &str) -> Result<String, String> {
    named(text, crate::plan::names::function)
}

/// An alias's name as Lambda accepts it.
pub(super) fn parse_alias(text: &str) -> Result<String, String> {
    named(text, crate::plan::names::alias)
}

/// A region's name.
pub(super) fn parse_region(text: &str) -> Result<String, String> {
    named(text, crate::plan::names::region)
}

fn named(text: &str, problem: fn(&str) -> Option<String>) -> Result<String, String> {
    match problem(text) {
        None => Ok(text.to_string()),
        Some(problem) => Err(problem),
    }
}

/// An RFC 3339 time, as epoch milliseconds: `2026-11-26T14:00:00Z`, with a fraction of a
/// second, an offset such as `+05:30`, and `t`, `z` or a space as RFC 3339 allows.
pub(super) fn parse_time(text: &str) -> Result<crate::plan::Millis, String> {
    rfc3339(text).map(crate::plan::Millis).ok_or_else(|| {
        format!(
            "expected an RFC 3339 time such as 2026-11-26T14:00:00Z or 2026-11-26T19:30:00+05:30, not `{text}`"
        )
    })
}

fn rfc3339(text: &str) -> Option<u64> {
    let number = |from: usize, to: usize| -> Option<i64> {
        let digits = text.get(from..to)?;
        digits
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| digits.parse().ok())
            .flatten()
    };
    let at = |i: usize, allowed: &[u8]| text.as_bytes().get(i).is_some_and(|b| allowed.contains(b));
    if !(at(4, b"-") && at(7, b"-") && at(10, b"Tt ") && at(13, b":") && at(16, b":")) {
        return None;
    }
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        millis = format!("{:0<3}", &fraction[..digits.min(3)])
            .parse::<i64>()
            .ok()?;
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            let (h, m) = (
                rest[1..3].parse::<i64>().ok()?,
                rest[4..6].parse::<i64>().ok()?,
            );
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 60 + m)
        }
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    // A leap second (`:60`) is the last moment of its minute.
    if day < 1 || day > days_in_month || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    // Days from 1970-01-01 to the date (Howard Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second.min(59) - offset_minutes * 60;
    u64::try_from(seconds * 1_000 + millis).ok()
}

/// `A..B` of numbers, each with an optional unit (`0.5%..5%`, `200ms..800ms`), upwards.
pub(super) fn parse_threshold_range(text: &str) -> Result<(f64, f64), String> {
    let (a, b) = text
        .split_once("..")
        .ok_or_else(|| format!("expected a range A..B such as `0.5%..5%`, not `{text}`"))?;
    let number = |v: &str| {
        let v = v.trim();
        let digits = v.trim_end_matches(|c: char| c.is_alphabetic() || c == '%');
        digits
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && *n >= 0.0)
            .ok_or_else(|| format!("`{v}` is not a threshold"))
    };
    let (a, b) = (number(a)?, number(b)?);
    if a >= b {
        return Err(format!("the range {a}..{b} must go upwards"));
    }
    Ok((a, b))
}

/// A fleet size: 1 to 100,000 functions.
pub(super) fn parse_fleet(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=100_000).contains(&n) => Ok(n),
        _ => Err(format!(
            "expected a number of functions from 1 to 100000, not `{text}`"
        )),
    }
}

/// A value for `old` and one for `new`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pair<T> {
    pub(super) old: T,
    pub(super) new: T,
}

pub(super) fn parse_rps(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rps) if rps > 0.0 && rps <= 100_000.0 => Ok(rps),
        _ => Err(format!(
            "expected invocations per second between 0 and 100000, not `{text}`"
        )),
    }
}

pub(super) fn parse_alarm(text: &str) -> Result<(String, crate::cloud::AlarmState), String> {
    use crate::cloud::AlarmState;
    let (name, state) = text
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=ok|alarm|insufficient, not `{text}`"))?;
    let state = match state.to_ascii_lowercase().as_str() {
        "ok" => AlarmState::Ok,
        "alarm" => AlarmState::Alarm,
        "insufficient" | "insufficient_data" => AlarmState::InsufficientData,
        other => return Err(format!("expected ok, alarm or insufficient, not `{other}`")),
    };
    Ok((name.to_string(), state))
}

pub(super) fn parse_duration(text: &str) -> Result<crate::plan::Millis, String> {
    if text == "0" || text == "0s" {
        return Ok(crate::plan::Millis(0));
    }
    crate::plan::ParamValue::parse(text)
        .and_then(|v| match v {
            crate::plan::ParamValue::Duration(d) => Some(d),
            _ => None,
        })
        .ok_or_else(|| format!("expected a duration such as `30s` or `10m`, not `{text}`"))
}

/// A simulated Change Calendar: `NAME=open`, `NAME=closed` (for the whole run) or
/// `NAME=closed:FROM..TO` (virtual time after the start, such as `10m..1h`; `FROM..` for good).
pub(super) fn parse_calendar(text: &str) -> Result<(String, Option<CalendarClosed>), String> {
    let (name, state) = text.split_once('=').ok_or_else(|| {
        format!("expected NAME=closed or NAME=closed:FROM..TO, such as `ChangeFreeze=closed:10m..1h`, not `{text}`")
    })?;
    if let Some(problem) = crate::plan::names::calendar(name) {
        return Err(problem);
    }
    let closed = match state.split_once(':') {
        None if state == "open" => None,
        None if state == "closed" => Some((crate::plan::Millis(0), None)),
        Some(("closed", range)) => {
            let (from, to) = range.split_once("..").ok_or_else(|| {
                format!("expected a range FROM..TO such as `10m..1h`, not `{range}`")
            })?;
            let from = parse_duration(from)?;
            let to = match to {
                "" => None,
                to => Some(parse_duration(to)?),
            };
            if to.is_some_and(|to| to <= from) {
                return Err(format!("`{range}` ends before it starts"));
            }
            Some((from, to))
        }
        _ => {
            return Err(format!(
                "expected `open`, `closed` or `closed:FROM..TO` after `{name}=`, not `{state}`"
            ))
        }
    };
    Ok((name.to_string(), closed))
}

/// When a simulated calendar is closed: from, and until (`None`: for good), after the start.
pub(super) type CalendarClosed = (crate::plan::Millis, Option<crate::plan::Millis>);

/// `new=0%..5%`.
pub(super) fn parse_sweep(text: &str) -> Result<(f64, f64), String> {
    let range = text
        .strip_prefix("new=")
        .ok_or_else(|| format!("expected new=A%..B%, such as `new=0%..5%`, not `{text}`"))?;
    let (a, b) = range
        .split_once("..")
        .ok_or_else(|| format!("expected a range A%..B%, not `{range}`"))?;
    let percent = |v: &str| {
        v.trim()
            .strip_suffix('%')
            .and_then(|n| n.parse::<f64>().ok())
            .filter(|n| (0.0..=100.0).contains(n))
            .ok_or_else(|| format!("`{v}` is not a percentage between 0% and 100%"))
    };
    let (a, b) = (percent(a)?, percent(b)?);
    if a >= b {
        return Err(format!("the range {a}%..{b}% must go upwards"));
    }
    Ok((a, b))
}

pub(super) fn parse_pair<T: Copy>(
    text: &str,
    what: &str,
    value: impl Fn(&str) -> Option<T>,
    default: T,
) -> Result<Pair<T>, String> {
    let mut pair = Pair {
        old: default,
        new: default,
    };
    let mut given: Vec<&str> = Vec::new();
    for part in text.split(',') {
        let (side, v) = part
            .split_once('=')
            .ok_or_else(|| format!("expected old=…,new=…, not `{part}`"))?;
        let v = value(v.trim()).ok_or_else(|| format!("`{v}` is not {what}"))?;
        let side = side.trim();
        if given.contains(&side) {
            return Err(format!("`{side}` is given twice in `{text}`"));
        }
        given.push(side);
        match side {
            "old" => pair.old = v,
            "new" => pair.new = v,
            other => return Err(format!("expected `old` or `new`, not `{other}`")),
        }
    }
    Ok(pair)
}

/// `--error-rate [REGION:]old=P,new=P`: the versions' error rates (percent), everywhere or in
/// one region of a waved playbook; a side not given is `None`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ErrorRates {
    pub(super) region: Option<String>,
    pub(super) old: Option<f64>,
    pub(super) new: Option<f64>,
}

pub(super) fn parse_error_rates(text: &str) -> Result<ErrorRates, String> {
    let (region, rates) = match text.split_once(':') {
        Some((region, rates)) => (Some(parse_region(region)?), rates),
        None => (None, text),
    };
    let pair = parse_pair(
        rates,
        "a percentage between 0% and 100%",
        |v| {
            let number = v.strip_suffix('%')?.parse::<f64>().ok()?;
            (0.0..=100.0).contains(&number).then_some(number)
        },
        f64::NAN,
    )?;
    let given = |v: f64| (!v.is_nan()).then_some(v);
    Ok(ErrorRates {
        region,
        old: given(pair.old),
        new: given(pair.new),
    })
}

pub(super) fn parse_latencies(text: &str) -> Result<Pair<u64>, String> {
    parse_pair(
        text,
        "a duration such as `120ms`",
        |v| parse_duration(v).ok().filter(|d| d.0 > 0).map(|d| d.0),
        120,
    )
}

pub(super) fn parse_set(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.trim().to_string(), value.to_string())),
        _ => Err(format!(
            "expected NAME=VALUE, such as `canary=10%`, not `{text}`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_3339_times_with_any_offset_and_either_case() {
        let at = |text: &str| parse_time(text).map(|m| m.0);
        let utc = 1_796_133_600_000; // 2026-12-01T14:00:00Z
        assert_eq!(at("2026-12-01T14:00:00Z"), Ok(utc));
        assert_eq!(at("2026-12-01t14:00:00z"), Ok(utc));
        assert_eq!(at("2026-12-01 14:00:00Z"), Ok(utc));
        assert_eq!(at("2026-12-01T19:30:00+05:30"), Ok(utc));
        assert_eq!(at("2026-12-01T09:00:00-05:00"), Ok(utc));
        assert_eq!(at("2026-12-01T14:00:00.25Z"), Ok(utc + 250));
        assert_eq!(at("2024-02-29T00:00:00Z"), Ok(1_709_164_800_000));
        assert_eq!(at("1970-01-01T00:00:00Z"), Ok(0));
        for wrong in [
            "2026-12-01T14:00:00",
            "2026-12-01T14:00Z",
            "2026-13-01T14:00:00Z",
            "2026-02-29T14:00:00Z",
            "2026-12-01T24:00:00Z",
            "2026-12-01T14:00:00+5:30",
            "2026-12-01T14:00:00.Z",
            "1969-12-31T23:59:59Z",
            "yesterday",
        ] {
            assert!(at(wrong).is_err(), "{wrong}");
        }
    }
}

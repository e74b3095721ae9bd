//! The values of command-line options: parsed and checked, with a message that shows the right
//! form when one is wrong.

/// A pace of calls: a positive number.
pub(super) fn calls_per_second(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(n) if n > 0.0 && n.is_finite() => Ok(n),
        _ => Err(format!(
            "expected a positive number of calls per second, such as 10, not `{text}`"
        )),
    }
}

/// `--tagged KEY=VALUE`.
pub(super) fn parse_tag(text: &str) -> Result<crate::plan::Selection, String> {
    crate::plan::Selection::tagged(text)
        .ok_or_else(|| format!("expected KEY=VALUE, such as `team=checkout`, not `{text}`"))
}

/// An RFC 3339 time, as epoch milliseconds.
pub(super) fn parse_time(text: &str) -> Result<crate::plan::Millis, String> {
    use aws_sdk_lambda::primitives::{DateTime, DateTimeFormat};
    DateTime::from_str(text, DateTimeFormat::DateTime)
        .ok()
        .and_then(|t| t.to_millis().ok())
        .and_then(|ms| u64::try_from(ms).ok())
        .map(crate::plan::Millis)
        .ok_or_else(|| {
            format!("expected an RFC 3339 time such as 2026-11-26T14:00:00Z, not `{text}`")
        })
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

pub(super) fn parse_error_rates(text: &str) -> Result<Pair<f64>, String> {
    parse_pair(
        text,
        "a percentage between 0% and 100%",
        |v| {
            let number = v.strip_suffix('%')?.parse::<f64>().ok()?;
            (0.0..=100.0).contains(&number).then_some(number)
        },
        0.1,
    )
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

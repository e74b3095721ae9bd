//! A count check's evidence in words a person can follow: what was counted, the threshold,
//! and how far the evidence has gone towards a rollback and towards promotion.

use super::form::{judged, Counted, Family, Form, Judged};
use super::sequential::{Assessment, Counts, State};
use crate::plan::{Check, Millis};

/// `1,496`.
pub fn thousands(value: f64) -> String {
    // An empty `sum()` is -0, which would print as "-0".
    let digits = format!("{:.0}", if value > 0.0 { value } else { 0.0 });
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 error`, `3 errors`.
fn plural(count: f64, word: &str) -> String {
    let n = thousands(count);
    if n == "1" {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A share as a percentage with two decimals: `0.20%`.
fn percent(share: f64) -> String {
    format!("{:.2}%", share * 100.0)
}

/// A rate per millisecond as events per `window`: `0.4 per 1m`.
fn per_window(rate: f64, window: Millis) -> String {
    let per = rate * window.0 as f64;
    let text = format!("{per:.2}");
    format!(
        "{} per {window}",
        text.trim_end_matches('0').trim_end_matches('.')
    )
}

/// What one version's counts were, as a person reads them.
fn counted(family: Family, who: &str, counts: Counts) -> String {
    let rate = counts.rate().unwrap_or(0.0);
    match family {
        Family::ErrorRate => format!(
            "{who}: {} in {} calls = {}",
            plural(counts.events, "error"),
            thousands(counts.trials),
            percent(rate)
        ),
        Family::SlowerThan(limit) => format!(
            "{who}: {} of {} calls slower than {limit} = {}",
            thousands(counts.events),
            thousands(counts.trials),
            percent(rate)
        ),
        Family::Events { counted, window } => format!(
            "{who}: {} in {} = {}",
            plural(counts.events, noun(counted)),
            Millis(counts.trials as u64),
            per_window(rate, window)
        ),
        Family::PerInvocation(counted) => format!(
            "{who}: {} in {} calls = {}",
            plural(counts.events, noun(counted)),
            thousands(counts.trials),
            value(family, rate)
        ),
    }
}

/// One of what is counted.
fn noun(counted: Counted) -> &'static str {
    match counted {
        Counted::Errors => "error",
        Counted::Throttles => "throttle",
        Counted::ColdStarts => "cold start",
        Counted::Custom(_) => "event",
    }
}

/// A value of the check's kind: a share or a rate per window.
fn value(family: Family, rate: f64) -> String {
    match family {
        Family::ErrorRate | Family::SlowerThan(_) => percent(rate),
        Family::PerInvocation(Counted::ColdStarts) => percent(rate),
        Family::PerInvocation(_) => {
            let text = format!("{rate:.4}");
            format!(
                "{} per call",
                text.trim_end_matches('0').trim_end_matches('.')
            )
        }
        Family::Events { window, .. } => per_window(rate, window),
    }
}

/// `new: 3 errors in 1,496 calls = 0.20%; rollback needs evidence of new > 1.00%: 12% of the
/// way; promotion: 74% of the way`, or once decided, `…; confidently above 1.00%`.
pub fn describe(form: &Form, a: &Assessment) -> String {
    let subject = form.subject.as_str();
    let mut out = counted(form.family, subject, a.subject);
    if let (Some((other, _)), Some(counts)) = (form.other, a.other) {
        out += &format!(", {}", counted(form.family, other.as_str(), counts));
    }
    let (beyond, above, below) = if form.upper {
        (">", "above", "within")
    } else {
        ("<", "below", "within")
    };
    match a.state {
        State::Violated => {
            out += &format!(
                "; confidently {above} {}",
                value(form.family, a.rollback_threshold)
            );
        }
        State::Satisfied => {
            out += &format!(
                "; confidently {below} {}",
                value(form.family, a.promotion_threshold)
            );
        }
        State::Undecided => {
            out += &format!(
                "; rollback needs evidence of {subject} {beyond} {}: {:.0}% of the way; promotion: {:.0}% of the way",
                value(form.family, a.rollback_threshold),
                a.toward_rollback * 100.0,
                a.toward_promotion * 100.0
            );
        }
    }
    if let Some(least) = a.detectable {
        out += &format!(
            "; at this traffic only {subject} {beyond} {} could be caught",
            value(form.family, least)
        );
    }
    out
}

/// How a check is judged, in words: the test, and the rule that protects it from what both
/// versions share.
pub fn judging(check: &Check) -> String {
    match (check, judged(check)) {
        (_, Judged::Sequential(form)) => {
            let counted = match form.family {
                Family::ErrorRate => "errors among invocations".to_string(),
                Family::SlowerThan(limit) => {
                    format!("invocations slower than {limit} (CloudWatch's percentile rank)")
                }
                Family::Events { window, .. } => format!("events per {window}"),
                Family::PerInvocation(counted) => format!("{}s per invocation", noun(counted)),
            };
            let guard = match (form.other, form.family) {
                (_, Family::Events { .. } | Family::PerInvocation(_)) => "",
                (Some(_), _) => "; new against old within each minute, so what both share cancels; a minute old fails in holds the bake",
                (None, _) => "; a minute in which old fails as much holds the bake instead of rolling back",
            };
            let warm = if matches!(
                form.family,
                Family::SlowerThan(_) | Family::PerInvocation(Counted::ColdStarts)
            ) {
                "; new's warm-up left out"
            } else {
                ""
            };
            format!(
                "count check: {counted}, tested minute by minute since new reached its weight, recent minutes too{guard}{warm}"
            )
        }
        (Check::Alarm { .. }, _) => {
            "the alarm's state at each evaluation (outside the confidence budget)".to_string()
        }
        (Check::Script { .. }, _) => {
            "the hook's verdict at each evaluation (outside the confidence budget)".to_string()
        }
        (Check::Signatures(s), _) => format!(
            "Logs Insights, each evaluation: new's error lines since it reached its weight against old's over the same time, in {} (outside the confidence budget)",
            s.log_group
        ),
        (Check::Compare { .. }, Judged::PerWindow) => {
            "per window: each evaluation compares the newest settled window (outside the confidence budget)".to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::sequential::{assess, Background, Look, Period};
    use crate::plan::Which;

    #[test]
    fn evidence_reads_as_numbers() {
        assert_eq!(thousands(1_496.0), "1,496");
        assert_eq!(thousands(28_411_000.0), "28,411,000");
        assert_eq!(thousands(12.0), "12");
        let none: f64 = std::iter::empty::<f64>().sum();
        assert_eq!(thousands(none), "0", "an empty sum is -0");
        let form = Form {
            family: Family::ErrorRate,
            subject: Which::New,
            other: None,
            offset: 0.01,
            upper: true,
        };
        let counts = Counts {
            trials: 1_496.0,
            events: 10.0,
        };
        let look = Look {
            alpha: 0.01,
            bounded: true,
            last: false,
            planned: 10,
        };
        let period = Period {
            start: crate::plan::Millis(0),
            subject: Some(counts),
            other: None,
            held: false,
        };
        let assessed = assess(&form, &[period], &Background::default(), look).expect("data");
        let text = describe(&form, &assessed);
        assert!(
            text.starts_with("new: 10 errors in 1,496 calls = 0.67%; rollback needs evidence of new > 1.00%: 0% of the way; promotion: "),
            "{text}"
        );
    }
}

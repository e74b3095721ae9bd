//! Builders of the deploy-window headers.

use pest::iterators::{Pair, Pairs};

use super::{build_string, Rule};
use crate::span::Span;
use crate::syntax::ast::{DayRange, Outside, WeeklyWindow, WindowHeader, Word};

/// The header of `rule`, whose keyword `inner` has already passed.
pub(super) fn build_window_header(rule: Rule, mut inner: Pairs<'_, Rule>) -> WindowHeader {
    match rule {
        Rule::window_header => {
            let days = inner
                .next()
                .unwrap()
                .into_inner()
                .filter(|p| p.as_rule() == Rule::day_range)
                .map(build_day_range)
                .collect();
            let mut hours = inner.next().unwrap().into_inner();
            let opens = word(hours.next().unwrap());
            hours.next(); // `-`
            let closes = word(hours.next().unwrap());
            WindowHeader::Weekly(WeeklyWindow {
                days,
                opens,
                closes,
                zone: build_string(inner.next().unwrap()),
            })
        }
        Rule::calendar_header => WindowHeader::Calendar(build_string(inner.next().unwrap())),
        Rule::outside_header => match inner.nth(1).unwrap().as_rule() {
            Rule::kw_rollback => WindowHeader::Outside(Outside::Rollback),
            _ => WindowHeader::Outside(Outside::Pause),
        },
        other => unreachable!("not a window header rule: {other:?}"),
    }
}

fn build_day_range(pair: Pair<'_, Rule>) -> DayRange {
    let mut inner = pair.into_inner().filter(|p| p.as_rule() == Rule::day);
    DayRange {
        first: word(inner.next().unwrap()),
        last: inner.next().map(word),
    }
}

fn word(pair: Pair<'_, Rule>) -> Word {
    Word {
        text: pair.as_str().to_string(),
        span: Span::from(pair.as_span()),
    }
}

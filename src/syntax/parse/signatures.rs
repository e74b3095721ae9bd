//! The builder of `no new error signatures [seen more than N times] [matching "RE"] [in "GROUP"]`.

use pest::iterators::Pairs;

use super::{build_string, build_value, Rule};
use crate::syntax::ast::SignaturesCheck;

/// The check's optional parts; `inner` holds its words, then the parts written.
pub(super) fn build_signatures(inner: Pairs<'_, Rule>) -> SignaturesCheck {
    let mut check = SignaturesCheck::default();
    for part in inner {
        let rule = part.as_rule();
        let mut words = part.into_inner();
        match rule {
            Rule::seen_more_than => check.more_than = words.nth(3).map(build_value),
            Rule::matching => check.matching = words.nth(1).map(build_string),
            Rule::log_group => check.log_group = words.nth(1).map(build_string),
            _ => {}
        }
    }
    check
}

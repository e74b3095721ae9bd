//! Syntax errors in words: what was expected, what was found, and what to write.
//!
//! Pest reports the grammar rules it tried at the furthest position. Rule names mean nothing to a
//! release engineer, so each is mapped to words by an exhaustive match: a new rule that has no
//! words fails to compile here.

use pest::error::{Error, ErrorVariant, InputLocation};

use super::grammar::Rule;
use crate::diagnostic::{Code, Diag, Source};
use crate::span::Span;

/// Turns a pest error into a diagnostic.
pub(super) fn diagnose(error: Error<Rule>, source: &Source) -> Diag {
    let text = source.inner();
    let at = match error.location {
        InputLocation::Pos(pos) => pos,
        InputLocation::Span((start, _)) => start,
    };
    let positives = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    if let Some(diag) = unknown_statement(&positives, source, at) {
        return diag;
    }
    let mut words: Vec<&'static str> = positives.iter().filter_map(|r| words(*r)).collect();
    words.sort_unstable();
    words.dedup();
    let found = found(text, at);
    let expected = join(&words);
    let width = text[at..]
        .chars()
        .next()
        .filter(|c| *c != '\n' && *c != '\r')
        .map_or(0, char::len_utf8);
    let token_end = at + token_len(&text[at..]).max(width);
    Diag::new(Code::Syntax, format!("expected {expected}, found {found}"))
        .at(
            source,
            Span::new(at, token_end),
            format!("expected {expected} here"),
        )
        .help(hint(&positives, text, at))
}

/// A bare word where a statement starts parses as the start of a step call and then fails
/// for want of `(`; say instead that the word is not a statement.
fn unknown_statement(positives: &[Rule], source: &Source, at: usize) -> Option<Diag> {
    if positives != [Rule::open_paren] {
        return None;
    }
    let text = source.inner();
    let before = text[..at].trim_end_matches([' ', '\t']);
    let word_start = before
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let statement_start = text[..word_start].trim_end_matches([' ', '\t']);
    if !(statement_start.is_empty() || statement_start.ends_with(['\n', ';', '{'])) {
        return None;
    }
    let word = &before[word_start..];
    let diag = Diag::new(Code::Syntax, format!("`{word}` is not a header or a step")).at(
        source,
        Span::new(word_start, before.len()),
        "unknown statement",
    );
    Some(match crate::diagnostic::closest(word, STATEMENT_WORDS.iter().copied()) {
        Some(close) => diag.help(format!("did you mean `{close}`?")),
        None => diag.help(format!(
            "steps are `publish`, `shift 5% to new`, `wait 10m until healthy`, `ramp`, `approve`, `run`, `promote`, `rollback`, …; to call a step definition write `{word}(…)`"
        )),
    })
}

/// The words that begin a header or a step.
const STATEMENT_WORDS: &[&str] = &[
    "rollout", "function", "alias", "region", "param", "import", "health", "waves", "window",
    "calendar", "outside", "notify", "keep", "metric", "on", "step", "update", "publish", "use",
    "shift", "ramp", "wait", "approve", "run", "promote", "rollback",
];

fn join(words: &[&str]) -> String {
    match words {
        [] => "something else".to_string(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// Length of the word or symbol at the start of `rest`.
fn token_len(rest: &str) -> usize {
    let word: usize = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.' || *c == '%')
        .map(char::len_utf8)
        .sum();
    word
}

fn found(text: &str, at: usize) -> String {
    let rest = &text[at..];
    match rest.chars().next() {
        None => "the end of the file".to_string(),
        Some('\n' | '\r') => "the end of the line".to_string(),
        Some(c) => {
            let len = token_len(rest);
            if len > 0 {
                format!("`{}`", &rest[..len])
            } else {
                format!("`{c}`")
            }
        }
    }
}

fn hint(positives: &[Rule], text: &str, at: usize) -> String {
    let has = |rule: Rule| positives.contains(&rule);
    let rest = &text[at..];
    if has(Rule::kw_eventbridge) || has(Rule::kw_sns) {
        return "write where notifications go: `notify eventbridge \"bus name or ARN\"` or `notify sns \"arn:aws:sns:REGION:ACCOUNT:TOPIC\"`".into();
    }
    if rest.starts_with('"') || has(Rule::quote) && !rest.starts_with('"') && has(Rule::text) {
        return "strings are written in double quotes on one line; escape `\"` and `\\` with a backslash".into();
    }
    if has(Rule::publish_step) || has(Rule::rollout_header) {
        return "each statement starts with a header (`function`, `alias`, `param`, `health`, …) or a step (`publish`, `shift 5% to new`, `wait 10m until healthy`, `promote`, …)".into();
    }
    if has(Rule::value) || has(Rule::literal) || has(Rule::duration) {
        return "values are durations (`30s`, `1h30m`), percentages (`5%`), numbers (`50`), strings (`\"…\"`) or the name of a parameter".into();
    }
    if has(Rule::compare_op) {
        return "a health check compares two values, like `error rate < 1%` or `p99 duration of new < 1.2 * p99 duration of old`".into();
    }
    if has(Rule::kw_between) || has(Rule::kw_this) || has(Rule::wave) || has(Rule::between_waves) {
        return "a `waves` block holds `wave \"name\" { region \"…\" }` lines, `between waves wait D [until healthy]` and `on failure rollback this wave` (or `every wave`)".into();
    }
    if has(Rule::kw_account) || has(Rule::wave_regions) || has(Rule::wave_account) {
        return "a wave holds `region \"eu-west-1\", \"eu-central-1\"` lines and at most one `account \"ID\" role \"ARN\" [external id \"X\"]`".into();
    }
    if has(Rule::window_days)
        || has(Rule::window_hours)
        || has(Rule::day)
        || has(Rule::clock)
        || has(Rule::dash)
    {
        return "a window is written `window mon-fri 09:00-16:00 \"Europe/Berlin\"`: days (`mon`, `mon-fri`, `mon, wed`), the hours without spaces, then the time zone".into();
    }
    if has(Rule::kw_pause) {
        return "write `outside window pause` (the default) or `outside window rollback`".into();
    }
    if has(Rule::close_brace) && !has(Rule::EOI) {
        return "a `{` block opened above is still open here: close it with `}` first".into();
    }
    if has(Rule::EOI) || has(Rule::close_brace) {
        return "end the statement here with a newline or `;`".into();
    }
    "see docs/language.md for the syntax of each statement".into()
}

/// Words for a rule, or `None` for rules that only ever appear inside a token.
fn words(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "a newline or `;`",
        Rule::file => "a statement",
        Rule::rollout_header
        | Rule::function_header
        | Rule::alias_header
        | Rule::region_header
        | Rule::param_header
        | Rule::import_header
        | Rule::health_block
        | Rule::waves_block
        | Rule::window_header
        | Rule::calendar_header
        | Rule::outside_header
        | Rule::notify_header
        | Rule::keep_header
        | Rule::metric_header
        | Rule::on_hook
        | Rule::step_def => "a header",
        Rule::block
        | Rule::update_step
        | Rule::publish_step
        | Rule::use_step
        | Rule::shift_step
        | Rule::ramp_step
        | Rule::wait_step
        | Rule::approve_step
        | Rule::run_step
        | Rule::promote_step
        | Rule::watch_step
        | Rule::rollback_step
        | Rule::call_step => "a step",
        Rule::open_brace => "`{`",
        Rule::close_brace => "`}`",
        Rule::health_every => "`every`",
        Rule::hook_timeout => "`timeout`",
        Rule::until_healthy => "`until healthy`",
        Rule::range_to => "`..`",
        Rule::min_invocations
        | Rule::inconclusive
        | Rule::metrics_delay
        | Rule::confidence
        | Rule::shared_failure
        | Rule::violation_policy
        | Rule::warm_up
        | Rule::asynchronous
        | Rule::observed_check
        | Rule::alarm_check
        | Rule::script_check
        | Rule::signatures_check
        | Rule::comparison => "a health check",
        Rule::seen_more_than => "`seen more than N times`",
        Rule::matching => "`matching \"…\"`",
        Rule::log_group => "`in \"LOG GROUP\"`",
        Rule::wave => "`wave \"name\" { … }`",
        Rule::between_waves => "`between waves wait`",
        Rule::wave_failure => "`on failure rollback`",
        Rule::wave_regions => "`region`",
        Rule::wave_account => "`account`",
        Rule::external_id => "`external id`",
        Rule::window_days | Rule::day_range | Rule::day => "days such as `mon-fri` or `sat`",
        Rule::window_hours | Rule::clock => "hours such as `09:00-16:00`",
        Rule::dash => "`-`",
        Rule::expr | Rule::term | Rule::paren_expr => "a value or a metric",
        Rule::metric_ref | Rule::metric | Rule::custom_metric => "a metric",
        Rule::metric_namespace
        | Rule::metric_name
        | Rule::metric_statistic
        | Rule::version_dimension
        | Rule::fixed_dimension => {
            "a line of a `metric` block (`namespace`, `name`, `statistic`, `version dimension`, `dimension`)"
        }
        Rule::statistic => {
            "a statistic (`sum`, `average`, `minimum`, `maximum`, `sample count`, `p99`)"
        }
        Rule::percentile => "a percentile like `p99`",
        Rule::over => "`over`",
        Rule::compare_op => "a comparison (`<`, `<=`, `>`, `>=`, `==`, `!=`)",
        Rule::add_op | Rule::mul_op => "an operator",
        Rule::value | Rule::literal => "a value",
        Rule::duration => "a duration like `10m`",
        Rule::duration_unit => "a duration unit (`ms`, `s`, `m`, `h`, `d`)",
        Rule::percent => "a percentage like `5%`",
        Rule::number => "a number",
        Rule::string => "a string in double quotes",
        Rule::quote => "a closing `\"`",
        Rule::text | Rule::escape => return None,
        // Silent rules never reach an error report; they are listed so the match stays exhaustive.
        Rule::WHITESPACE
        | Rule::COMMENT
        | Rule::sep
        | Rule::statement
        | Rule::header
        | Rule::step
        | Rule::health_item
        | Rule::waves_item
        | Rule::wave_item
        | Rule::metric_item
        | Rule::notify_service
        | Rule::factor
        | Rule::check_end
        | Rule::number_text
        | Rule::ident_char
        | Rule::keyword => return None,
        Rule::interpolation => "`${name}`",
        Rule::ident => "a name",
        Rule::open_paren => "`(`",
        Rule::close_paren => "`)`",
        Rule::comma => "`,`",
        Rule::equals => "`=`",
        Rule::kw_rollout => "`rollout`",
        Rule::kw_function => "`function`",
        Rule::kw_alias => "`alias`",
        Rule::kw_region => "`region`",
        Rule::kw_param => "`param`",
        Rule::kw_import => "`import`",
        Rule::kw_health => "`health`",
        Rule::kw_every => "`every`",
        Rule::kw_on => "`on`",
        Rule::kw_failure => "`failure`",
        Rule::kw_success => "`success`",
        Rule::kw_run => "`run`",
        Rule::kw_step => "`step`",
        Rule::kw_update => "`update`",
        Rule::kw_code => "`code`",
        Rule::kw_from => "`from`",
        Rule::kw_publish => "`publish`",
        Rule::kw_use => "`use`",
        Rule::kw_version => "`version`",
        Rule::kw_shift => "`shift`",
        Rule::kw_to => "`to`",
        Rule::kw_timeout => "`timeout`",
        Rule::kw_new => "`new`",
        Rule::kw_old => "`old`",
        Rule::kw_wait => "`wait`",
        Rule::kw_until => "`until`",
        Rule::kw_healthy => "`healthy`",
        Rule::kw_approve => "`approve`",
        Rule::kw_promote => "`promote`",
        Rule::kw_rollback => "`rollback`",
        Rule::kw_ramp => "`ramp`",
        Rule::kw_by => "`by`",
        Rule::kw_min => "`min`",
        Rule::kw_invocations => "`invocations`",
        Rule::kw_inconclusive => "`inconclusive`",
        Rule::kw_pass => "`pass`",
        Rule::kw_fail => "`fail`",
        Rule::kw_alarm => "`alarm`",
        Rule::kw_script => "`script`",
        Rule::kw_of => "`of`",
        Rule::kw_over => "`over`",
        Rule::kw_errors => "`errors`",
        Rule::kw_error => "`error`",
        Rule::kw_rate => "`rate`",
        Rule::kw_throttles => "`throttles`",
        Rule::kw_duration => "`duration`",
        Rule::kw_avg => "`avg`",
        Rule::kw_max => "`max`",
        Rule::kw_concurrency => "`concurrency`",
        Rule::kw_metrics => "`metrics`",
        Rule::kw_delay => "`delay`",
        Rule::kw_confidence => "`confidence`",
        Rule::kw_shared => "`shared`",
        Rule::kw_hold => "`hold`",
        Rule::kw_up => "`up`",
        Rule::kw_warm => "`warm`",
        Rule::kw_including => "`including`",
        Rule::kw_async => "`async`",
        Rule::kw_observe => "`observe`",
        Rule::kw_violation => "`violation`",
        Rule::kw_extend => "`extend`",
        Rule::kw_tagged => "`tagged`",
        Rule::kw_waves => "`waves`",
        Rule::kw_wave => "`wave`",
        Rule::kw_account => "`account`",
        Rule::kw_role => "`role`",
        Rule::kw_external => "`external`",
        Rule::kw_id => "`id`",
        Rule::kw_between => "`between`",
        Rule::kw_this => "`this`",
        Rule::kw_window => "`window`",
        Rule::kw_calendar => "`calendar`",
        Rule::kw_outside => "`outside`",
        Rule::kw_pause => "`pause`",
        Rule::kw_notify => "`notify`",
        Rule::kw_eventbridge => "`eventbridge`",
        Rule::kw_sns => "`sns`",
        Rule::kw_keep => "`keep`",
        Rule::kw_versions => "`versions`",
        Rule::kw_metric => "`metric`",
        Rule::kw_namespace => "`namespace`",
        Rule::kw_name => "`name`",
        Rule::kw_statistic => "`statistic`",
        Rule::kw_sum => "`sum`",
        Rule::kw_average => "`average`",
        Rule::kw_minimum => "`minimum`",
        Rule::kw_maximum => "`maximum`",
        Rule::kw_sample => "`sample`",
        Rule::kw_count => "`count`",
        Rule::kw_dimension => "`dimension`",
        Rule::kw_per => "`per`",
        Rule::kw_invocation => "`invocation`",
        Rule::kw_cold => "`cold`",
        Rule::kw_starts => "`starts`",
        Rule::kw_init => "`init`",
        Rule::kw_watch => "`watch`",
        Rule::kw_no => "`no`",
        Rule::kw_signatures => "`signatures`",
        Rule::kw_seen => "`seen`",
        Rule::kw_more => "`more`",
        Rule::kw_than => "`than`",
        Rule::kw_times => "`times`",
        Rule::kw_matching => "`matching`",
        Rule::kw_in => "`in`",
        Rule::selector => {
            "a function name, a pattern such as \"checkout-*\", or `tagged \"key=value\"`"
        }
        Rule::tagged => "`tagged \"key=value\"`",
    })
}

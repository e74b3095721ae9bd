//! Count checks judged inside the execution as `run` judges them: each look reads the periods
//! that settled since the last with `GetMetricData` (and, at a bake's first look, `old`'s last
//! hour) into a table of the phase (the periods since `new` reached its weight, a row for each
//! with data: small enough for a two-day phase to fit the 256 KiB a variable and a
//! continuation's input may hold), and a JSONata state runs the judge of [`super::JUDGE`] on them: the same
//! sequential tests, holds, warm-up, last look, `min invocations` and adaptive end as
//! `engine/bake.rs`. Checks judged per window and the playbook's alarms are still looked at as
//! alarms in the same loop.

use serde_json::{json, Value};

use super::{judged, retry, states, Builder, RESTORE};
use crate::engine::series::{HISTORY, HISTORY_PERIOD};
use crate::judge::form::{Counted, Family, Form};
use crate::plan::{Millis, SharedFailure, Which};

/// Where a violated count check leads (on to the restore).
pub(super) const VIOLATED: &str = "Violated";
/// Where a bake held by a shared failure leads, under `shared failure rollback` or past
/// `shared failure hold up to D`.
pub(super) const SHARED: &str = "Shared failure";

/// The state that judges every bake's look, and the choice that leads back to the bake.
const JUDGE_STATE: &str = "Judge";
/// Where the shared look reads `old`'s past, and each target's counts.
const LOOK_PAST: &str = "Past";
const LOOK_COUNTS: &str = "Counts";
const JUDGED: &str = "Judged";

/// The bytes one data point of `GetMetricData` takes in `old`'s past: its timestamp
/// (`"2026-12-06T12:00:00Z",`) and its value.
const BYTES_PER_POINT: u64 = 34;

/// The most bytes one value of a look's table takes: a count (at most 7 digits, ten million a
/// minute) or a percentile rank (17 significant digits), and its comma.
const BYTES_PER_COUNT: u64 = 8;
const BYTES_PER_RANK: u64 = 19;

/// How many times an asynchronous invocation may run (its try and Lambda's default two
/// retries): its failures are counted in clusters of this size, as `run` counts them.
const ASYNC_CLUSTER: f64 = 3.0;

/// The events one look writes besides its alarms: the `Wait` (2), the choice of reading `old`'s
/// past (2), the judgment (2) and the verdict (2); each target's read adds 5.
pub(super) const EVENTS_PER_JUDGED_LOOK: u64 = 8;

fn version(which: Which) -> &'static str {
    match which {
        Which::New => "new",
        Which::Old => "old",
    }
}

/// What a count check counts, as the judge's ids name it, and the CloudWatch metric and
/// statistic behind it.
fn counted(family: Family) -> (String, &'static str, String) {
    match family {
        Family::ErrorRate => ("Errors".into(), "Errors", "Sum".into()),
        Family::Events {
            counted: Counted::Throttles,
            ..
        } => ("Throttles".into(), "Throttles", "Sum".into()),
        Family::Events {
            counted: Counted::Errors,
            ..
        } => ("Errors".into(), "Errors", "Sum".into()),
        Family::Events { .. } | Family::PerInvocation(_) => {
            unreachable!("`compile` refuses checks beyond Lambda's metrics")
        }
        Family::SlowerThan(limit) => (
            format!("PR{}", limit.0),
            "Duration",
            format!("PR(:{})", limit.0),
        ),
    }
}

/// A count check as the judge reads it.
fn form_json(form: &Form) -> Value {
    let shares = form.family.shares();
    let reads = match form.other {
        Some((other, _)) => Some(other),
        None if shares => Some(form.subject.other()),
        None => None,
    }
    .filter(|w| *w != form.subject);
    json!({
        "upper": form.upper,
        "shares": shares,
        "other": form.other.map(|(_, a)| a),
        "offset": form.offset,
        "family": match form.family {
            Family::ErrorRate => "rate",
            Family::SlowerThan(_) => "slower",
            Family::Events { .. } | Family::PerInvocation(_) => "events",
        },
        "stat": counted(form.family).0,
        "subject": version(form.subject),
        "reads": reads.map(version),
    })
}

impl Builder<'_> {
    /// What the judge knows of target `t` before it looks: its count checks, the period, the
    /// cluster, `min invocations`, the warm-up.
    fn judge_config(&self) -> Value {
        let health = &self.plan.health;
        json!({
            "period": self.settlement.period.0,
            "cluster": if health.asynchronous { ASYNC_CLUSTER } else { 1.0 },
            "min": health.min_invocations,
            "warm": health.warm_up.map(|w| json!({"length": w.length.0, "errors": w.errors})),
            "ids": self.columns(),
            "forms": self.counted.iter().map(|(_, form)| form_json(form)).collect::<Vec<_>>(),
        })
    }

    /// What the look reads of each version: invocations and what the count checks count, as
    /// the judge's ids name them, with the CloudWatch metric and statistic behind each.
    fn stats(&self) -> Vec<(String, &'static str, String)> {
        let mut stats: Vec<(String, &'static str, String)> =
            vec![("Invocations".into(), "Invocations", "Sum".into())];
        for (_, form) in &self.counted {
            let stat = counted(form.family);
            if !stats.contains(&stat) {
                stats.push(stat);
            }
        }
        stats
    }

    /// The ids of the columns of a look's table, in order: each of [`Self::stats`] of `new`,
    /// then of `old`.
    fn columns(&self) -> Vec<String> {
        [Which::New, Which::Old]
            .iter()
            .flat_map(|w| {
                self.stats()
                    .into_iter()
                    .map(move |(id, ..)| format!("{}_{id}", version(*w)))
            })
            .collect()
    }

    /// The `GetMetricData` queries of target `t`: [`Self::stats`] of each of `versions`, in
    /// periods of `period`.
    fn queries(&self, t: usize, versions: &[Which], period: Millis) -> Vec<Value> {
        let mut out = Vec::new();
        for which in versions {
            for (id, metric, stat) in self.stats() {
                out.push(json!({
                    "Id": format!("{}_{id}", version(*which)),
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/Lambda",
                            "MetricName": metric,
                            "Dimensions": [
                                {"Name": "FunctionName", "Value": self.functions[t]},
                                {"Name": "Resource", "Value": format!("{}:{}", self.functions[t], self.alias)},
                                {"Name": "ExecutedVersion", "Value": format!("{{% $states.input.f{t}.{} %}}", version(*which))},
                            ],
                        },
                        "Period": period.0 / 1000,
                        "Stat": stat,
                    },
                    "ReturnData": true,
                }));
            }
        }
        out
    }

    /// A JSONata task calling `action` with `arguments`, `kept` (an expression of
    /// `$states.result`) in the variable `into`, the execution's data passed on unchanged;
    /// failures go to the restore with the error where the JSONPath states put it.
    fn read_into(&mut self, name: &str, action: &str, arguments: Value, into: &str, kept: &str) {
        let state = json!({
            "Type": "Task",
            "QueryLanguage": "JSONata",
            "Resource": self.resource(action),
            "Arguments": arguments,
            "Assign": {into: format!("{{% {kept} %}}")},
            "Output": "{% $states.input %}",
            "Retry": retry(action),
            "Catch": [{
                "ErrorEquals": ["States.ALL"],
                "Output": "{% $merge([$states.input, {'error': $states.errorOutput}]) %}",
                "Next": RESTORE,
            }],
        });
        self.then(name, state, false);
    }

    /// The bytes of counts a look carries for one target after a phase of `phase`: its table (a
    /// row for each period with data, at most one a minute, Lambda's resolution: the period's
    /// index and each column's value) and `old`'s past hour.
    pub(super) fn counts_bytes(&self, phase: Millis) -> u64 {
        let stats = self.stats();
        let values: u64 = stats
            .iter()
            .map(|(id, ..)| {
                if id.starts_with("PR") {
                    BYTES_PER_RANK
                } else {
                    BYTES_PER_COUNT
                }
            })
            .sum();
        let periods = phase.0.div_ceil(self.settlement.period.0.max(1));
        let index = periods.max(1).to_string().len() as u64 + 1;
        let rows = phase.0.div_ceil(60_000) + 1;
        let past = stats.len() as u64 * (HISTORY.0 / HISTORY_PERIOD.0 + 1) * BYTES_PER_POINT;
        rows * (3 + index + 2 * values) + past + 100 * stats.len() as u64
    }

    /// After a shift: when `new` reached its weight (and, the first time, got traffic).
    pub(super) fn weighed(&mut self, name: &str) {
        if self.counted.is_empty() {
            return;
        }
        self.phase = Millis(0);
        let mut assign = json!({
            "since": "{% $states.context.State.EnteredTime %}",
            "first": "{% $first = null ? $states.context.State.EnteredTime : $first %}",
        });
        // A new phase: its periods are read afresh.
        for t in 0..self.functions.len() {
            assign[format!("r{t}")] = Value::Null;
        }
        self.then(
            name,
            json!({"Type": "Pass", "QueryLanguage": "JSONata", "Assign": assign}),
            false,
        );
    }

    /// `wait D until healthy` (or `MIN..D`) with count checks: looks when a period settles and
    /// at the end, judging every target as `run` does, and at the per-window checks' and the
    /// playbook's alarms, when there are any.
    pub(super) fn judged_bake(&mut self, prefix: &str, duration: Millis, shortest: Option<Millis>) {
        let (period, delay) = (self.settlement.period.0, self.settlement.delay.0);
        self.phase = Millis(self.phase.0 + duration.0 + delay);
        self.longest_phase = self.longest_phase.max(self.phase);
        let every = self.plan.health.every.0;
        let targets = self.functions.len();
        let (wait, first) = (format!("{prefix} wait"), format!("{prefix} first look"));
        let mut assign = json!({
            "bs": "{% $states.context.State.EnteredTime %}",
            "bd": {"name": prefix, "duration": duration.0},
            "bk": {"held": 0, "first": true, "lk": "{% $toMillis($states.context.State.EnteredTime) %}"},
        });
        for t in 0..targets {
            assign[format!("h{t}")] = Value::Null;
        }
        self.then(
            &format!("{prefix} bake"),
            json!({"Type": "Pass", "QueryLanguage": "JSONata", "Assign": assign}),
            false,
        );
        // The engine's sleep: until the next period settles after the interval, or the end.
        let end = format!(
            "($c := $ceil(($toMillis($bs) + {} + $bk.held) / {period}) * {period} + {delay}; $c)",
            duration.0
        );
        self.then(
            &wait,
            json!({
                "Type": "Wait",
                "QueryLanguage": "JSONata",
                "Seconds": format!(
                    "{{% ($now := $toMillis($states.context.State.EnteredTime); $next := $ceil(($bk.lk + {every} - {delay}) / {period}) * {period} + {delay}; $max([0, $ceil(($min([$next, {end}]) - $now) / 1000)])) %}}"
                ),
            }),
            false,
        );
        self.then(
            &first,
            json!({
                "Type": "Choice",
                "QueryLanguage": "JSONata",
                "Choices": [{"Condition": "{% $bk.first = true %}", "Next": LOOK_PAST}],
                "Default": LOOK_COUNTS,
            }),
            true,
        );
        if !self.states.contains_key(JUDGE_STATE) {
            self.look_chain();
        }
        let verdict = format!("{prefix} verdict");
        let alarmed = !self.look_names().is_empty();
        if let Some(Value::Array(rules)) = self
            .states
            .get_mut(JUDGED)
            .and_then(|s| s.get_mut("Choices"))
        {
            rules.push(
                json!({"Condition": format!("{{% $bd.name = '{prefix}' %}}"), "Next": verdict}),
            );
        }
        let baked = format!("{prefix} baked");
        let mut choices = vec![json!({"Condition": "{% $bk.fail %}", "Next": VIOLATED})];
        if alarmed {
            choices.push(json!({"Condition": "{% $states.input.bake.alarm or $states.input.bake.composite %}", "Next": states::UNHEALTHY}));
        }
        match self.plan.health.shared_failure {
            SharedFailure::Rollback => {
                choices.push(json!({"Condition": "{% $bk.holding %}", "Next": SHARED}))
            }
            SharedFailure::Hold { at_most } => choices.push(
                json!({"Condition": format!("{{% $bk.held > {} %}}", at_most.0), "Next": SHARED}),
            ),
        }
        let missing = if alarmed {
            " or $states.input.bake.missing"
        } else {
            ""
        };
        let ended = format!("{prefix} ended");
        choices.push(json!({"Condition": "{% $bk.now >= $bk.end %}", "Next": ended}));
        if let Some(shortest) = shortest {
            let early = format!(
                "$ceil(($toMillis($bs) + {}) / {period}) * {period} + {delay}",
                shortest.0
            );
            let calm = if alarmed {
                " and $not($states.input.bake.missing)"
            } else {
                ""
            };
            choices.push(json!({
                "Condition": format!("{{% $bk.now >= {early} + $bk.held and $bk.pass{calm} %}}"),
                "Next": baked,
            }));
        }
        choices.extend(self.continue_rule(prefix, true));
        self.then(
            &verdict,
            json!({"Type": "Choice", "QueryLanguage": "JSONata", "Choices": choices, "Default": wait}),
            true,
        );
        let inconclusive = match self.plan.health.inconclusive {
            crate::plan::Inconclusive::Fail => states::INCONCLUSIVE,
            crate::plan::Inconclusive::Pass => baked.as_str(),
        };
        self.states.insert(
            ended,
            json!({
                "Type": "Choice",
                "QueryLanguage": "JSONata",
                "Choices": [{"Condition": format!("{{% $bk.unjudged{missing} %}}"), "Next": inconclusive}],
                "Default": baked,
            }),
        );
        self.join(&baked);
        let mut ends = vec![
            (VIOLATED, "a count check of the health block was violated: the sequential test `run` uses found new failing more than it allows"),
            (SHARED, "old failed as much as a check allows new (a shared failure), and the health block says to roll back then, or the hold lasted longer than it allows"),
        ];
        if alarmed {
            ends.push((
                states::UNHEALTHY,
                "an alarm of the health block is in ALARM",
            ));
        }
        if inconclusive == states::INCONCLUSIVE {
            ends.push((
                states::INCONCLUSIVE,
                "the bake ended without enough evidence for a check (inconclusive fail)",
            ));
        }
        for (name, why) in ends {
            self.states.insert(
                name.into(),
                json!({"Type": "Pass", "Result": {"Error": name, "Cause": why}, "ResultPath": "$.error", "Next": RESTORE}),
            );
        }
    }
    /// The look every judged bake shares, built once: `old`'s past (at a bake's first look),
    /// each target's settled counts, the alarms, the judgment, then back to the bake's verdict
    /// by `$bd.name`.
    fn look_chain(&mut self) {
        let (period, delay) = (self.settlement.period.0, self.settlement.delay.0);
        let targets = self.functions.len();
        self.then(LOOK_PAST, json!({"Type": "Pass"}), false);
        // Old's last hour before `new` reached its weight, by the minute.
        for t in 0..targets {
            let window = "$floor($toMillis($since) / 60000) * 60000";
            let arguments = json!({
                "StartTime": format!("{{% $fromMillis({window} - {}) %}}", HISTORY.0),
                "EndTime": format!("{{% $fromMillis({window}) %}}"),
                "ScanBy": "TimestampAscending",
                "MetricDataQueries": self.queries(t, &[Which::Old], HISTORY_PERIOD),
            });
            let name = format!("Past f{t}");
            self.unless_dropped(t, &name, |b, _| {
                b.read_into(
                    &name,
                    "cloudwatch:getMetricData",
                    arguments,
                    &format!("h{t}"),
                    "$states.result.MetricDataResults",
                );
            });
        }
        self.then(LOOK_COUNTS, json!({"Type": "Pass"}), false);
        let from = format!("$floor($toMillis($since) / {period}) * {period}");
        let until = format!(
            "$floor(($toMillis($states.context.State.EnteredTime) - {delay}) / {period}) * {period}"
        );
        let ids = serde_json::to_string(&self.columns()).expect("JSON serialises");
        for t in 0..targets {
            // What the table of this phase holds, or a new one when a shift began another.
            let table = format!(
                "($r{t} != null and $r{t}.from = {from}) ? $r{t} : {{'from': {from}, 'at': {from}, 'rows': []}}"
            );
            let arguments = json!({
                "StartTime": format!("{{% $fromMillis(({table}).at) %}}"),
                "EndTime": format!("{{% $fromMillis($max([{until}, ({table}).at + {period}])) %}}"),
                "ScanBy": "TimestampAscending",
                "MetricDataQueries": self.queries(t, &[Which::New, Which::Old], self.settlement.period),
            });
            // The settled periods read now, appended to the table: a row for each that had data.
            let kept = format!(
                "($b := {table};
                  $res := $states.result.MetricDataResults;
                  $cols := [$map({ids}, function($id) {{ ($q := $res[Id = $id]; $exists($q) ? $merge([{{}}, $map($q.Timestamps, function($ts, $i) {{ {{$string($toMillis($ts)): $q.Values[$i]}} }})]) : {{}}) }})];
                  $n := $max([0, $floor(({until} - $b.at) / {period})]);
                  $skip := $round(($b.at - $b.from) / {period});
                  {{'from': $b.from, 'at': $b.at + $n * {period}, 'rows': $reduce([0..($n - 1)], function($rows, $i) {{ (
                    $s := $string($b.at + $i * {period});
                    (true in [$map($cols, function($c) {{ $exists($lookup($c, $s)) }})])
                      ? $append($rows, [[$append([$skip + $i], [$map($cols, function($c) {{ ($v := $lookup($c, $s); $exists($v) ? $v : null) }})])]])
                      : $rows
                  ) }}, $b.rows)}})"
            )
            .lines()
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ");
            let name = format!("Counts f{t}");
            self.unless_dropped(t, &name, |b, _| {
                b.read_into(
                    &name,
                    "cloudwatch:getMetricData",
                    arguments,
                    &format!("r{t}"),
                    &kept,
                );
            });
        }
        if !self.look_names().is_empty() {
            self.look_at_alarms("Health", false);
        }
        let config = self.judge_config();
        let targets_json: Vec<String> = (0..targets)
            .map(|t| {
                format!(
                    "{{\"cfg\": $cfg, \"r\": $r{t}, \"h\": $h{t}, \"on\": $states.input.f{t}.dropped != true}}"
                )
            })
            .collect();
        let body = format!(
            "$cfg := {config};
             $now := $toMillis($states.context.State.EnteredTime);
             $from := $floor($toMillis($since) / {period}) * {period};
             $firstAt := $toMillis($first = null ? $since : $first);
             $ts := [{targets}];
             $prepared := [$map($ts, function($x) {{ $x.on ? $prepare($x.cfg, $x.r, $x.h, $firstAt) : null }})];
             $held := $max([0, $map($prepared, function($p) {{ $p = null ? 0 : $p.held }})]) * {period};
             $end := $ceil(($toMillis($bs) + $bd.duration + $held) / {period}) * {period} + {delay};
             $look := {{\"alpha\": {alpha}, \"bounded\": true, \"last\": $now >= $end,
               \"planned\": $max([1, $ceil(($toMillis($bs) + $bd.duration - $from) / {period})])}};
             $evals := [$filter([$map($ts, function($x, $i) {{ $x.on ? $conclude($x.cfg, $prepared[$i], $look) : null }})], function($e) {{ $e != null }})];
             {{
               \"held\": $held, \"lk\": $now, \"now\": $now, \"end\": $end, \"evaluations\": $evals,
               \"fail\": \"fail\" in $evals.verdict,
               \"pass\": $count($evals[verdict = \"pass\"]) = $count($evals),
               \"unjudged\": $count($evals[$not(enough) or nodata]) > 0,
               \"holding\": true in $evals.holding
             }}",
            targets = targets_json.join(", "),
            alpha = crate::judge::check_alpha(&self.plan.health, crate::judge::phases(self.plan)),
        );
        let body: String = body.lines().map(str::trim).collect::<Vec<_>>().join(" ");
        self.goto(JUDGE_STATE);
        self.states.insert(
            JUDGE_STATE.into(),
            json!({"Type": "Pass", "QueryLanguage": "JSONata", "Assign": {"bk": judged(&body)}, "Next": JUDGED}),
        );
        self.states.insert(
            JUDGED.into(),
            json!({"Type": "Choice", "QueryLanguage": "JSONata", "Choices": []}),
        );
    }
}

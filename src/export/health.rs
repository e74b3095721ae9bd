//! Health on the server: each metric check of the health block becomes one CloudWatch alarm per
//! target, on the `ExecutedVersion` dimensions of the versions it reads (metric math for rates
//! and comparisons), in `ALARM` exactly when a period violates the check. This is where the
//! export approximates: `run` judges count checks with sequential tests on everything counted
//! since `new` got traffic; an alarm judges one period at a time against the threshold.

use serde_json::{json, Value};

use crate::plan::{BinOp, CompareOp, Expr, Metric, Millis, Which};

/// The CloudWatch statistic a metric reads: the metric's name and the statistic.
fn stat(metric: &Metric) -> (&'static str, String) {
    match metric {
        Metric::Invocations => ("Invocations", "Sum".into()),
        Metric::Errors => ("Errors", "Sum".into()),
        Metric::ErrorRate => ("Errors", "Sum".into()),
        Metric::Throttles => ("Throttles", "Sum".into()),
        Metric::Percentile(p) => ("Duration", format!("p{p}")),
        Metric::AvgDuration => ("Duration", "Average".into()),
        Metric::MaxDuration => ("Duration", "Maximum".into()),
        Metric::Concurrency => ("ConcurrentExecutions", "Maximum".into()),
        Metric::ColdStarts
        | Metric::InitPercentile(_)
        | Metric::AvgInitDuration
        | Metric::MaxInitDuration
        | Metric::Custom(_) => unreachable!("`compile` refuses checks beyond Lambda's metrics"),
    }
}

/// One metric query of an alarm.
struct Query {
    id: String,
    name: &'static str,
    stat: String,
    of: Which,
}

/// Builds the metric math of one check for target `t` (`$.f{t}` holds its versions).
struct Math {
    target: usize,
    function: String,
    alias: String,
    period: u64,
    queries: Vec<Query>,
}

impl Math {
    fn query(&mut self, name: &'static str, stat: String, of: Which) -> String {
        if let Some(q) = self
            .queries
            .iter()
            .find(|q| q.name == name && q.stat == stat && q.of == of)
        {
            return q.id.clone();
        }
        let id = format!("m{}", self.queries.len());
        self.queries.push(Query {
            id: id.clone(),
            name,
            stat,
            of,
        });
        id
    }

    /// The expression of `expr`; durations in milliseconds, percentages in percent.
    fn expression(&mut self, expr: &Expr) -> String {
        match expr {
            Expr::Metric { metric, of, .. } => {
                let (name, stat) = stat(metric);
                let id = self.query(name, stat, *of);
                if *metric == Metric::ErrorRate {
                    let calls = self.query("Invocations", "Sum".into(), *of);
                    format!("(100 * {id} / {calls})")
                } else {
                    id
                }
            }
            Expr::Const { value, .. } => number(*value),
            Expr::Binary { op, lhs, rhs } => {
                let op = match op {
                    BinOp::Add => "+",
                    BinOp::Sub => "-",
                    BinOp::Mul => "*",
                    BinOp::Div => "/",
                };
                format!("({} {op} {})", self.expression(lhs), self.expression(rhs))
            }
        }
    }

    /// The `Metrics` of `PutMetricAlarm`: every query, then the expression that is returned.
    fn metrics(&self, expression: String) -> Value {
        let mut out: Vec<Value> = self
            .queries
            .iter()
            .map(|q| {
                let version = match q.of {
                    Which::New => "new",
                    Which::Old => "old",
                };
                json!({
                    "Id": q.id,
                    "ReturnData": false,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/Lambda",
                            "MetricName": q.name,
                            "Dimensions": [
                                {"Name": "FunctionName", "Value": self.function},
                                {"Name": "Resource", "Value": format!("{}:{}", self.function, self.alias)},
                                {"Name": "ExecutedVersion", "Value.$": format!("$.f{}.{version}", self.target)},
                            ],
                        },
                        "Period": self.period,
                        "Stat": q.stat,
                    },
                })
            })
            .collect();
        out.push(json!({"Id": "check", "Expression": expression, "ReturnData": true}));
        Value::Array(out)
    }
}

/// A number as metric math writes it.
fn number(value: f64) -> String {
    let text = format!("{value}");
    if text.contains('.') || text.contains('e') {
        text
    } else {
        format!("{text}.0")
    }
}

/// The widest window an expression reads.
fn widest(expr: &Expr) -> Millis {
    match expr {
        Expr::Metric { over, .. } => *over,
        Expr::Const { .. } => Millis(0),
        Expr::Binary { lhs, rhs, .. } => widest(lhs).max(widest(rhs)),
    }
}

/// The parameters of `PutMetricAlarm` for check `check` (`lhs op rhs`) of target `target`,
/// named by `name` (a `States.Format` template taking the execution's name). The alarm is in
/// `ALARM` when a period violates the check; without data it is `INSUFFICIENT_DATA`, which is
/// never healthy.
#[allow(clippy::too_many_arguments)]
pub(super) fn alarm(
    name: &str,
    description: String,
    target: usize,
    function: &str,
    alias: &str,
    every: Millis,
    lhs: &Expr,
    op: CompareOp,
    rhs: &Expr,
) -> Value {
    // Lambda publishes its metrics by the minute: a period is a whole number of minutes, as long
    // as the window the check names and at least the health interval.
    let window = widest(lhs).max(widest(rhs)).max(every);
    let period = window.0.div_ceil(60_000).max(1) * 60;
    let mut math = Math {
        target,
        function: function.to_string(),
        alias: alias.to_string(),
        period,
        queries: Vec::new(),
    };
    let difference = format!("{} - {}", math.expression(lhs), math.expression(rhs));
    // In ALARM when the check does not hold.
    let (expression, comparison) = match op {
        CompareOp::Lt => (difference, "GreaterThanOrEqualToThreshold"),
        CompareOp::Le => (difference, "GreaterThanThreshold"),
        CompareOp::Gt => (difference, "LessThanOrEqualToThreshold"),
        CompareOp::Ge => (difference, "LessThanThreshold"),
        CompareOp::Eq => (format!("ABS({difference})"), "GreaterThanThreshold"),
        CompareOp::Ne => (format!("ABS({difference})"), "LessThanOrEqualToThreshold"),
    };
    json!({
        "AlarmName.$": format!("States.Format('{name}', $rid)"),
        "AlarmDescription": description,
        "ComparisonOperator": comparison,
        "Threshold": 0,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "TreatMissingData": "missing",
        "Metrics": math.metrics(expression),
    })
}

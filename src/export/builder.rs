//! The state machine as it is built: the builder's state, and how a state is added, chained,
//! and made a task with its retries.

use serde_json::{json, Map, Value};

use super::{
    continuation, judging, limits, ASSUMED_TIMEOUT, BEGIN, RETRY_ATTEMPTS, RETRY_FIRST_SECONDS,
    RETRY_LONGEST_SECONDS,
};
use crate::cloud::lease::Marker;
use crate::judge::settle::Settlement;
use crate::plan::{Check, Inconclusive, Millis, Percent, Plan, StepKind};

/// The names of the states, and the state machine as it is built.
pub(super) struct Builder<'p> {
    pub(super) plan: &'p Plan,
    pub(super) functions: Vec<String>,
    pub(super) alias: String,
    pub(super) plan_name: String,
    pub(super) states: Map<String, Value>,
    /// The state whose `Next` the next state fills.
    pub(super) open: Option<String>,
    pub(super) user_alarms: Vec<String>,
    /// The count checks, judged by the execution as `run` judges them ([`judging`]): each
    /// check's line of the playbook and its form.
    pub(super) counted: Vec<(String, crate::judge::form::Form)>,
    /// Per metric check judged per window (an alarm each): its line of the playbook as written.
    pub(super) metric_checks: Vec<(
        String,
        crate::plan::Expr,
        crate::plan::CompareOp,
        crate::plan::Expr,
    )>,
    pub(super) settlement: Settlement,
    pub(super) approval: bool,
    /// The partition of the plan's region, as ARNs name it (`aws` without a region).
    pub(super) partition: &'static str,
    /// Whether `new` is chosen at the point being built.
    pub(super) chosen: bool,
    /// The weight on `new` at the point being built; `None` before the first shift.
    pub(super) weight: Option<Percent>,
    /// How many times the bakes built so far look at the health, in all.
    pub(super) looks: u64,
    /// How many waits for AWS (an update of `$LATEST`, a `Pending` version) it may make.
    pub(super) waits: u64,
    /// How long an execution runs before a bake's verdict continues it in a fresh one
    /// ([`continuation`]); `None`: the rollout fits in one execution.
    pub(super) continue_after: Option<Millis>,
    /// The bakes a continued execution may go on in, by their states' prefix.
    pub(super) resumable: Vec<String>,
    /// How long the judged bakes since the last shift have lasted, at the point being built:
    /// a look reads the counts of all of it.
    pub(super) phase: Millis,
    /// The longest such phase.
    pub(super) longest_phase: Millis,
}

impl<'p> Builder<'p> {
    pub(super) fn new(plan: &'p Plan) -> Self {
        let delay = plan
            .health
            .delay
            .unwrap_or_else(|| Settlement::default_delay(ASSUMED_TIMEOUT));
        let mut user_alarms: Vec<String> = plan
            .health
            .checks
            .iter()
            .filter_map(|c| match c {
                Check::Alarm { name } => Some(name.clone()),
                _ => None,
            })
            .collect();
        user_alarms.sort();
        user_alarms.dedup();
        // A state machine judges health only in bakes and ramps: without any, there is nothing
        // to create alarms for, nor to look at.
        let judged = plan
            .steps
            .iter()
            .any(|s| matches!(s.kind, StepKind::Bake { .. } | StepKind::Ramp { .. }));
        if !judged {
            user_alarms.clear();
        }
        let form = |c: &Check| match crate::judge::form::judged(c) {
            crate::judge::form::Judged::Sequential(form) => Some(form),
            crate::judge::form::Judged::PerWindow => None,
        };
        let metric_checks = plan
            .health
            .checks
            .iter()
            .filter_map(|c| match c {
                Check::Compare { lhs, op, rhs } if judged && form(c).is_none() => {
                    Some((c.to_string(), lhs.clone(), *op, rhs.clone()))
                }
                _ => None,
            })
            .collect();
        let counted = plan
            .health
            .checks
            .iter()
            .filter(|_| judged)
            .filter_map(|c| Some((c.to_string(), form(c)?)))
            .collect();
        Builder {
            plan,
            functions: plan.targets.functions.clone(),
            alias: plan.targets.alias.clone().unwrap_or_default(),
            plan_name: plan
                .name
                .clone()
                .unwrap_or_else(|| plan.targets.functions.join("+")),
            states: Map::new(),
            open: None,
            user_alarms,
            counted,
            metric_checks,
            settlement: Settlement::new(plan.health.every, delay),
            approval: false,
            partition: plan
                .targets
                .region
                .as_deref()
                .map_or("aws", crate::cloud::aws::partition),
            chosen: false,
            weight: None,
            looks: 0,
            waits: 0,
            continue_after: None,
            resumable: Vec::new(),
            phase: Millis(0),
            longest_phase: Millis(0),
        }
    }

    /// The events one look of a bake writes: with count checks, its wait, the choice of
    /// reading `old`'s past, a read per target, the alarms (when any), the judgment and the
    /// verdict; otherwise [`limits::EVENTS_PER_LOOK`].
    pub(super) fn events_per_look(&self) -> u64 {
        if self.counted.is_empty() {
            return limits::EVENTS_PER_LOOK;
        }
        let alarms = if self.look_names().is_empty() { 0 } else { 7 };
        judging::EVENTS_PER_JUDGED_LOOK + 5 * self.functions.len() as u64 + alarms
    }

    /// The least time between two looks of a bake: with count checks, a period settles
    /// between them.
    pub(super) fn look_spacing(&self) -> Millis {
        let every = self.plan.health.every.max(Millis(1_000));
        if self.counted.is_empty() {
            every
        } else {
            every.max(self.settlement.period)
        }
    }

    /// How the exported judgment differs from `run`'s.
    pub(super) fn warnings(&self, line: &dyn Fn(usize) -> usize) -> Vec<(Option<usize>, String)> {
        let mut out = Vec::new();
        for (text, ..) in &self.metric_checks {
            out.push((None, format!(
                "`{text}` is judged by a CloudWatch alarm one period at a time (in ALARM when a period violates it), as `run` judges it on each period; at the bake's end, an alarm without data counts as no evidence, where `run` asks that the check passed once"
            )));
        }
        if self.counted.is_empty()
            && !self.metric_checks.is_empty()
            && self.plan.health.min_invocations > 0
        {
            out.push((None, format!(
                "`min invocations {}` is not checked: without count checks nothing counts invocations; a period without any leaves the alarms without data (INSUFFICIENT_DATA), which the bake's end treats as `inconclusive {}`",
                self.plan.health.min_invocations,
                match self.plan.health.inconclusive { Inconclusive::Fail => "fail", Inconclusive::Pass => "pass" }
            )));
        }
        if self.counted.is_empty() {
            for step in &self.plan.steps {
                if let StepKind::Bake {
                    shortest: Some(shortest),
                    duration,
                } = &step.kind
                {
                    out.push((Some(line(step.span.start)), format!(
                        "`wait {shortest}..{duration} until healthy` bakes the longest, {duration}: without a count check, nothing can be confidently satisfied early"
                    )));
                }
            }
        }
        if !self.counted.is_empty() && self.plan.health.asynchronous {
            out.push((None, "the functions are judged as invoked asynchronously with Lambda's default two retries (each failure counted in clusters of 3), which the export cannot read; `run` reads each function's setting".to_string()));
        }
        let judges = !self.metric_checks.is_empty()
            || !self.counted.is_empty()
            || !self.user_alarms.is_empty();
        if self.plan.health.delay.is_none() && judges {
            out.push((None, format!(
                "the metric delay assumes the functions' timeout is {ASSUMED_TIMEOUT}, as `plan` does without --live; set `metrics delay` in the health block to be exact"
            )));
        }
        out
    }

    /// The alarms a look at the health reads: the playbook's, then those the execution creates.
    pub(super) fn look_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .user_alarms
            .iter()
            .map(|n| format!("'{}'", escape(n)))
            .collect();
        names.extend(
            self.created()
                .into_iter()
                .map(|n| format!("States.Format('{n}', $rid)")),
        );
        names
    }

    /// `States.Format` templates of the alarms the execution creates, per target and check.
    pub(super) fn created(&self) -> Vec<String> {
        (0..self.functions.len())
            .flat_map(|t| {
                (0..self.metric_checks.len()).map(move |c| format!("rollout-{{}}-f{t}-c{c}"))
            })
            .collect()
    }

    pub(super) fn definition(&self) -> Value {
        json!({
            "Comment": format!(
                "rollout {:?} on {}:{}, exported by rollout {}: the playbook's steps against Lambda and CloudWatch",
                self.plan_name,
                self.functions.join(","),
                self.alias,
                env!("CARGO_PKG_VERSION"),
            ),
            "StartAt": if self.continue_after.is_some() { continuation::START } else { BEGIN },
            "States": Value::Object(self.states.clone()),
        })
    }

    /// Adds a state after the open one; it is open next unless `ends`.
    pub(super) fn then(&mut self, name: &str, mut state: Value, ends: bool) {
        self.goto(name);
        if ends {
            if let Value::Object(map) = &mut state {
                map.remove("Next");
            }
        }
        self.states.insert(name.to_string(), state);
        self.open = (!ends).then(|| name.to_string());
    }

    /// Leads the open state to `name` (a Choice by its `Default`); nothing is open after.
    pub(super) fn goto(&mut self, name: &str) {
        if let Some(open) = self.open.take() {
            if let Some(prev) = self.states.get_mut(&open) {
                let field = if prev["Type"] == "Choice" {
                    "Default"
                } else {
                    "Next"
                };
                prev[field] = json!(name);
            }
        }
    }

    /// A task calling `service:action` with `parameters`, its result at `result` (`None`:
    /// discarded), failures going to `catch`.
    pub(super) fn task(
        &mut self,
        name: &str,
        action: &str,
        parameters: Value,
        result: Option<&str>,
        catch: &str,
    ) {
        let mut state = json!({
            "Type": "Task",
            "Resource": self.resource(action),
            "Parameters": parameters,
            "ResultPath": result,
            "Retry": retry(action),
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": catch}],
        });
        if result.is_none() {
            state["ResultPath"] = Value::Null;
        }
        self.then(name, state, false);
    }

    /// The `Resource` of a task calling `service:action` through the AWS SDK integration, in
    /// the plan's partition.
    pub(super) fn resource(&self, action: &str) -> String {
        format!("arn:{}:states:::aws-sdk:{action}", self.partition)
    }

    /// The description to write on target `t`: the user's text and the marker of `step`.
    pub(super) fn marker(&self, t: usize, step: usize, gate: bool) -> Value {
        let steps = self.plan.steps.len();
        let template = Marker::server_template(&self.plan_name, step, steps, self.chosen, gate);
        let new = if self.chosen {
            format!(", $.f{t}.new")
        } else {
            String::new()
        };
        json!(format!(
            "States.Format('{{}}{template}', $.f{t}.prefix, $rid, $.f{t}.old{new})"
        ))
    }

    /// An `UpdateAlias` of target `t` to `version` (a JSONPath) with the additional version's
    /// weight, if any, and the description `description`.
    pub(super) fn update_alias(
        &self,
        t: usize,
        version: &str,
        weight: Option<Percent>,
        description: Value,
    ) -> Value {
        let routing = match weight {
            // `{"7":0.05}`, its braces read from `$.braces`: AWS reserves them in the literals
            // of intrinsic functions.
            Some(w) => json!({"AdditionalVersionWeights.$": format!(
                "States.StringToJson(States.Format('{{}}\"{{}}\":{}{{}}', $.braces.open, $.f{t}.new, $.braces.close))",
                weight_text(w)
            )}),
            None => json!({"AdditionalVersionWeights": {}}),
        };
        json!({
            "FunctionName": self.functions[t],
            "Name": self.alias,
            "FunctionVersion.$": version,
            "RoutingConfig": routing,
            "RevisionId.$": format!("$.f{t}.alias.RevisionId"),
            "Description.$": description,
        })
    }
}

/// How a task calling `service:action` retries: what AWS documents as worth asking again
/// (throttling, the service's own faults, the SDK losing the connection) with exponential
/// backoff and full jitter, about a minute in all; nothing else (a refused precondition, a
/// missing resource, a bad parameter) is asked again.
pub(super) fn retry(action: &str) -> Value {
    let service = action.split(':').next().unwrap_or_default();
    let (prefix, names): (&str, &[&str]) = match service {
        "lambda" => (
            "Lambda",
            &[
                "TooManyRequestsException",
                "ServiceException",
                "EC2ThrottledException",
                "AWSLambdaException",
                "LambdaException",
            ],
        ),
        // CloudWatch's throttling (`Throttling`) is not a modelled error: Step Functions reports
        // it as the service's base exception.
        "cloudwatch" => (
            "CloudWatch",
            &[
                "CloudWatchException",
                "InternalServiceException",
                "InternalServiceFaultException",
            ],
        ),
        // Step Functions' own API (its optimized integration), which continues a long rollout
        // in a fresh execution.
        "states" => (
            "StepFunctions",
            &[
                "ThrottlingException",
                "InternalFailureException",
                "ServiceUnavailableException",
            ],
        ),
        "ssm" => (
            "Ssm",
            &[
                "ThrottlingException",
                "InternalServerErrorException",
                "TooManyUpdatesException",
                "SsmException",
            ],
        ),
        _ => ("", &[]),
    };
    let names = names.iter().chain(&["SdkClientException"]);
    // Step Functions names an error `Service.Name`; moto's interpreter writes the service in
    // lower case (`lambda.TooManyRequestsException`, `cloudwatch.cloudwatchException`), and the
    // end-to-end tests throttle it.
    let errors: Vec<String> = names
        .flat_map(|name| {
            let lower = if *name == format!("{prefix}Exception") {
                format!("{service}Exception")
            } else {
                (*name).to_string()
            };
            [format!("{prefix}.{name}"), format!("{service}.{lower}")]
        })
        .collect();
    json!([{
        "ErrorEquals": errors,
        "IntervalSeconds": RETRY_FIRST_SECONDS,
        "BackoffRate": 2,
        "MaxAttempts": RETRY_ATTEMPTS,
        "MaxDelaySeconds": RETRY_LONGEST_SECONDS,
        "JitterStrategy": "FULL",
    }])
}

/// A `'…'` literal of an intrinsic function: quotes, braces and backslashes escaped.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if "'{}\\".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `0.05` for 5%.
pub(super) fn weight_text(weight: Percent) -> String {
    let text = format!("{:.4}", weight.as_weight());
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

//! `rollout export`: the checked plan as an Amazon States Language state machine that performs
//! it inside AWS Step Functions, calling Lambda and CloudWatch directly (`aws-sdk:` tasks). A
//! view of the plan, like `plan`: nothing here runs anything.
//!
//! What the state machine does, in order:
//!
//! - reads every alias and refuses (nothing written) one that another rollout holds, that is
//!   split, or that serves `$LATEST`, and checks that the alarms the health block names exist;
//! - takes the lease: the same marker `run` writes, held by `sfn:` and the execution's name,
//!   written with the alias's RevisionId like every later write;
//! - runs the steps: `publish` waits for updates and publishes the `CodeSha256` (and, when
//!   Lambda reports it, the `RevisionId`) it read, then waits until the version is `Active`;
//!   shifts pass the RevisionId of the last write; right after `new` is chosen it creates one
//!   CloudWatch alarm per metric check and target ([`health`]); bakes look at those and the
//!   playbook's alarms every period, failing on `ALARM`; an `approve` gate waits for a task
//!   token that `rollout approve` sends;
//! - on any failure (a `Catch` on every task) restores `old` on every alias, deletes its alarms
//!   and fails the execution; at the end it deletes its alarms whatever the outcome.
//!
//! What cannot run there is refused, with the playbook line: rhai hooks, `update code from` (a
//! local file), selections by pattern or tag (unresolved). What is approximated is warned about.

mod admission;
mod continuation;
mod health;
mod judging;
mod limits;
mod restore;
pub mod states;
mod steps;
pub mod template;

pub use limits::HISTORY_BUDGET;

pub use continuation::{runs_rollout, CONTINUED};

use serde_json::{json, Map, Value};

use crate::cloud::lease::Marker;
use crate::judge::settle::Settlement;
use crate::plan::{Check, Inconclusive, Millis, Percent, Plan, StepKind};

/// The judge of a count check in JSONata: `$assess(form, periods, background, look)`, the
/// sequential test of `crate::judge::sequential::assess` on the same JSON, for states that judge
/// in Step Functions. A list of definitions: an expression is `(` + this + its own body + `)`.
pub const JUDGE: &str = include_str!("judge.jsonata");

/// A JSONata field of a state (`{% ... %}`) that evaluates `body` after the definitions of
/// [`JUDGE`], written without their comments and indentation (no string in them spans a line).
pub fn judged(body: &str) -> String {
    let mut text = String::new();
    let mut rest = JUDGE;
    while let Some(start) = rest.find("/*") {
        text.push_str(&rest[..start]);
        let end = rest[start..].find("*/").expect("comments are closed") + start + 2;
        rest = &rest[end..];
    }
    text.push_str(rest);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    format!("{{% ({} {body}) %}}", lines.join(" "))
}

/// The function timeout the default metric delay assumes: the export cannot read it.
const ASSUMED_TIMEOUT: Millis = Millis(3_000);

/// How often the state machine polls a function that is updating, or a version that is
/// `Pending`.
const POLL_SECONDS: u64 = 5;

/// How long an `approve` gate waits for `rollout approve` before the rollout fails.
const APPROVAL_TIMEOUT_SECONDS: u64 = 7 * 24 * 3600;

/// The first wait of a task's retries, in seconds; each later one doubles, up to
/// [`RETRY_LONGEST_SECONDS`].
pub(super) const RETRY_FIRST_SECONDS: u64 = 1;

/// How many times a task is asked again after a retryable error.
pub(super) const RETRY_ATTEMPTS: u64 = 6;

/// The longest wait between two tries of a task.
pub(super) const RETRY_LONGEST_SECONDS: u64 = 20;

/// The longest state machine name Step Functions accepts.
const NAME_LIMIT: usize = 80;

/// The most alarms one `DescribeAlarms` call names.
const ALARMS_PER_LOOK: usize = 100;

/// Something the state machine cannot do, with the playbook line it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line in the playbook, when the problem has one.
    pub line: Option<usize>,
    /// What cannot be exported.
    pub message: String,
    /// What to do instead.
    pub help: String,
}

/// The exported state machine, with what it approximates.
#[derive(Debug, Clone)]
pub struct Export {
    /// The Amazon States Language definition.
    pub definition: Value,
    /// How the exported run differs from `run`, each with its playbook line when it has one.
    pub warnings: Vec<(Option<usize>, String)>,
    /// The functions and the alias it acts on.
    pub functions: Vec<String>,
    /// The alias.
    pub alias: String,
    /// The playbook's alarms it reads.
    pub alarms: Vec<String>,
    /// How many alarms it creates per execution.
    pub created_alarms: usize,
    /// Whether it has an `approve` gate (it then writes the approval's task token to SSM).
    pub approval: bool,
    /// Whether a long bake continues in a fresh execution of the state machine.
    pub continues: bool,
}

/// The SSM parameter where an `approve` gate of the execution on `function`:`alias` leaves its
/// task token for `rollout approve`.
pub fn approval_parameter(function: &str, alias: &str) -> String {
    format!("/rollout/{function}/{alias}/approval")
}

/// The SSM parameter where the execution holding `function`:`alias` records its ARN.
pub fn execution_parameter(function: &str, alias: &str) -> String {
    format!("/rollout/{function}/{alias}/execution")
}

/// `plan` as the exported state machine judges it: its count checks as `run` does (the same
/// judge, in JSONata), with the metric delay it assumes when the playbook sets none; without a
/// count check, an adaptive bake as long as its longest. Simulating it shows how the exported
/// judgment differs from `run`'s.
pub fn as_exported(plan: &Plan) -> Plan {
    let mut exported = plan.clone();
    exported.health.delay = Some(
        plan.health
            .delay
            .unwrap_or_else(|| Settlement::default_delay(ASSUMED_TIMEOUT)),
    );
    let counted = plan.health.checks.iter().any(|c| {
        matches!(
            crate::judge::form::judged(c),
            crate::judge::form::Judged::Sequential(_)
        )
    });
    if !counted {
        for step in &mut exported.steps {
            if let StepKind::Bake { shortest, .. } = &mut step.kind {
                *shortest = None;
            }
        }
    }
    exported
}

/// The state machine's name for a plan: `rollout-NAME-ALIAS` from its display name (or its
/// first function) and alias, as Step Functions allows names. Names that had to change to be
/// allowed (`checkout canary`, `checkout/canary`), or to fit in 80 characters, end with a digest
/// of what was written, so that two playbooks never share a state machine; the alias is never
/// cut away.
pub fn machine_name(plan: &Plan) -> String {
    let base = plan
        .name
        .clone()
        .or_else(|| plan.targets.functions.first().cloned())
        .unwrap_or_else(|| "rollout".into());
    let alias = plan.targets.alias.clone().unwrap_or_default();
    let allowed = |text: &str| -> String {
        text.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    };
    let (safe_base, safe_alias) = (allowed(&base), allowed(&alias));
    let plain = format!("rollout-{safe_base}-{safe_alias}");
    if safe_base == base && safe_alias == alias && plain.len() <= NAME_LIMIT {
        return plain;
    }
    let digest = digest(&format!("{base}\u{0}{alias}"));
    // `rollout-` + base + `-` + alias + `-` + digest, the alias kept whole when it can be.
    let alias_room = NAME_LIMIT - "rollout---".len() - digest.len() - 1;
    let safe_alias: String = safe_alias.chars().take(alias_room).collect();
    let base_room = NAME_LIMIT - "rollout---".len() - digest.len() - safe_alias.len();
    let safe_base: String = safe_base.chars().take(base_room).collect();
    format!("rollout-{safe_base}-{safe_alias}-{digest}")
}

/// Eight hex digits that tell texts apart (FNV-1a, folded to 32 bits).
fn digest(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{:08x}", (hash ^ (hash >> 32)) as u32)
}

/// Compiles `plan`; `line` gives the playbook line of a step's span start, `find` the line where
/// a text (a hook's quoted name) is first written, if it is.
pub fn compile(
    plan: &Plan,
    line: &dyn Fn(usize) -> usize,
    find: &dyn Fn(&str) -> Option<usize>,
) -> Result<Export, Vec<Problem>> {
    compile_within(plan, line, find, HISTORY_BUDGET)
}

/// [`compile`], each execution planning to write at most `budget` history events: a rollout
/// that needs more continues in fresh executions.
pub fn compile_within(
    plan: &Plan,
    line: &dyn Fn(usize) -> usize,
    find: &dyn Fn(&str) -> Option<usize>,
    budget: u64,
) -> Result<Export, Vec<Problem>> {
    let mut problems = Vec::new();
    if !plan.targets.select.is_empty() {
        problems.push(Problem {
            line: None,
            message: "a state machine acts on functions it names: selections by pattern or tag are resolved only when a run starts".into(),
            help: "name the functions with --function (`rollout plan --live` lists what a selection finds)".into(),
        });
    }
    if plan.targets.functions.is_empty() && plan.targets.select.is_empty() {
        problems.push(Problem {
            line: None,
            message: "no function to act on".into(),
            help: "add `function \"NAME\"` to the playbook or pass --function".into(),
        });
    }
    if plan.targets.alias.is_none() {
        problems.push(Problem {
            line: None,
            message: "no alias to act on".into(),
            help: "add `alias \"NAME\"` to the playbook or pass --alias".into(),
        });
    }
    for step in &plan.steps {
        let at = Some(line(step.span.start));
        match &step.kind {
            StepKind::UpdateCode { zip } => problems.push(Problem {
                line: at,
                message: format!("`update code from {:?}` uploads a local file, which a state machine cannot read", zip.name),
                help: "upload the code before the execution starts (for example in CI), then export a playbook that starts with `publish`".into(),
            }),
            StepKind::Run { script } => problems.push(Problem {
                line: at,
                message: format!("`run {:?}`: rhai hooks cannot run in Step Functions", script.name),
                help: "run this playbook locally with `rollout run`, or replace the hook with a CloudWatch alarm (`alarm \"NAME\"` in the health block)".into(),
            }),
            _ => {}
        }
    }
    for check in &plan.health.checks {
        if let Check::Script { script } = check {
            problems.push(Problem {
                line: find(&format!("script {:?}", script.name)),
                message: format!("the health check `script {:?}`: rhai hooks cannot run in Step Functions", script.name),
                help: "judge it with a CloudWatch alarm instead (`alarm \"NAME\"`), or run this playbook locally with `rollout run`".into(),
            });
        }
    }
    for (hook, what) in [(&plan.on_failure, "failure"), (&plan.on_success, "success")] {
        if let Some(script) = hook {
            problems.push(Problem {
                line: find(&format!("on {what}")),
                message: format!("`on {what} run {:?}`: rhai hooks cannot run in Step Functions", script.name),
                help: "remove the hook from the exported playbook, or run it locally with `rollout run`".into(),
            });
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let unbuilt = Builder::new(plan);
    let warnings = unbuilt.warnings(line);
    if unbuilt.look_names().len() > ALARMS_PER_LOOK {
        return Err(vec![Problem {
            line: None,
            message: format!(
                "a look at the health would read {} alarms, more than one DescribeAlarms call takes ({ALARMS_PER_LOOK})",
                unbuilt.look_names().len()
            ),
            help: "export fewer functions at once, or fewer metric checks".into(),
        }]);
    }
    let builder = limits::fitted(plan, budget)?;
    let mut definition = builder.definition();
    if builder.continue_after.is_some() {
        let text = serde_json::to_string(&definition).expect("JSON serialises");
        let signed = text.replace(continuation::DIGEST, &digest(&text));
        definition = serde_json::from_str(&signed).expect("still JSON");
    }
    limits::too_large(&definition)?;
    Ok(Export {
        definition,
        warnings,
        functions: plan.targets.functions.clone(),
        alias: builder.alias.clone(),
        alarms: builder.user_alarms.clone(),
        created_alarms: builder.created().len(),
        approval: builder.approval,
        continues: builder.continue_after.is_some(),
    })
}

/// The names of the states, and the state machine as it is built.
struct Builder<'p> {
    plan: &'p Plan,
    functions: Vec<String>,
    alias: String,
    plan_name: String,
    states: Map<String, Value>,
    /// The state whose `Next` the next state fills.
    open: Option<String>,
    user_alarms: Vec<String>,
    /// The count checks, judged by the execution as `run` judges them ([`judging`]): each
    /// check's line of the playbook and its form.
    counted: Vec<(String, crate::judge::form::Form)>,
    /// Per metric check judged per window (an alarm each): its line of the playbook as written.
    metric_checks: Vec<(
        String,
        crate::plan::Expr,
        crate::plan::CompareOp,
        crate::plan::Expr,
    )>,
    settlement: Settlement,
    approval: bool,
    /// The partition of the plan's region, as ARNs name it (`aws` without a region).
    partition: &'static str,
    /// Whether `new` is chosen at the point being built.
    chosen: bool,
    /// The weight on `new` at the point being built; `None` before the first shift.
    weight: Option<Percent>,
    /// How many times the bakes built so far look at the health, in all.
    looks: u64,
    /// How many waits for AWS (an update of `$LATEST`, a `Pending` version) it may make.
    waits: u64,
    /// How long an execution runs before a bake's verdict continues it in a fresh one
    /// ([`continuation`]); `None`: the rollout fits in one execution.
    continue_after: Option<Millis>,
    /// The bakes a continued execution may go on in, by their states' prefix.
    resumable: Vec<String>,
    /// How long the judged bakes since the last shift have lasted, at the point being built:
    /// a look reads the counts of all of it.
    phase: Millis,
    /// The longest such phase.
    longest_phase: Millis,
}

/// The first state: the braces the weight maps are built with, in the execution's data.
const BEGIN: &str = "Begin";

/// Where a failure goes once aliases may have been written.
const RESTORE: &str = "Restore old";
/// Where a failure goes before anything was written.
const REFUSED: &str = "Refused";

impl<'p> Builder<'p> {
    fn new(plan: &'p Plan) -> Self {
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
    fn events_per_look(&self) -> u64 {
        if self.counted.is_empty() {
            return limits::EVENTS_PER_LOOK;
        }
        let alarms = if self.look_names().is_empty() { 0 } else { 7 };
        judging::EVENTS_PER_JUDGED_LOOK + 5 * self.functions.len() as u64 + alarms
    }

    /// The least time between two looks of a bake: with count checks, a period settles
    /// between them.
    fn look_spacing(&self) -> Millis {
        let every = self.plan.health.every.max(Millis(1_000));
        if self.counted.is_empty() {
            every
        } else {
            every.max(self.settlement.period)
        }
    }

    /// How the exported judgment differs from `run`'s.
    fn warnings(&self, line: &dyn Fn(usize) -> usize) -> Vec<(Option<usize>, String)> {
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
    fn look_names(&self) -> Vec<String> {
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
    fn created(&self) -> Vec<String> {
        (0..self.functions.len())
            .flat_map(|t| {
                (0..self.metric_checks.len()).map(move |c| format!("rollout-{{}}-f{t}-c{c}"))
            })
            .collect()
    }

    fn definition(&self) -> Value {
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
    fn then(&mut self, name: &str, mut state: Value, ends: bool) {
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
    fn goto(&mut self, name: &str) {
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
    fn task(
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
    fn resource(&self, action: &str) -> String {
        format!("arn:{}:states:::aws-sdk:{action}", self.partition)
    }

    /// The description to write on target `t`: the user's text and the marker of `step`.
    fn marker(&self, t: usize, step: usize, gate: bool) -> Value {
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
    fn update_alias(
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
fn escape(text: &str) -> String {
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
fn weight_text(weight: Percent) -> String {
    let text = format!("{:.4}", weight.as_weight());
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests;

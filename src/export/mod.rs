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
mod bake;
mod builder;
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

use serde_json::Value;

use crate::judge::settle::Settlement;
use crate::plan::{Check, Millis, Plan, StepKind};
use builder::{retry, Builder};

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
    if let Some(waves) = &plan.waves {
        problems.push(Problem {
            line: Some(line(waves.span.start)),
            message: "waves: a state machine acts in its own region (Step Functions calls no other region's Lambda)".into(),
            help: "run the waves with `rollout run`, which reaches every region and account of them; or export a playbook without waves for each region (`--region`)".into(),
        });
    }
    if let Some(windows) = &plan.windows {
        problems.push(Problem {
            line: Some(line(windows.span.start)),
            message: "windows: the exported state machine does not check deploy windows or change calendars".into(),
            help: "run the playbook with `rollout run`, which holds traffic outside its windows; or export a playbook without `window` and `calendar` lines".into(),
        });
    }
    if let Some(n) = plan.keep {
        problems.push(Problem {
            line: None,
            message: format!("`keep {n} versions`: the exported state machine deletes no versions"),
            help: "run the playbook with `rollout run`, which prunes after promote; or leave the `keep` line out of the playbook you export".into(),
        });
    }
    for destination in &plan.notify {
        problems.push(Problem {
            line: Some(line(destination.span.start)),
            message: format!("`notify {destination}`: a state machine sends no notifications yet"),
            help: "run the playbook with `rollout run`, which sends them; or leave the `notify` lines out of the playbook you export (an EventBridge rule on the execution's status changes tells of its start and end)".into(),
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
            StepKind::Watch { duration } => problems.push(Problem {
                line: at,
                message: format!("`watch {duration}`: the exported state machine does not judge `new` after `promote` against old's past"),
                help: "run this playbook with `rollout run`, which watches after promote and puts old back on a violation; or leave the `watch` line out of the playbook you export".into(),
            }),
            _ => {}
        }
    }
    if let Some(up) = plan.health.extend {
        problems.push(Problem {
            line: None,
            message: format!("`inconclusive extend up to {up}`: the exported state machine ends a bake at its length"),
            help: "run this playbook with `rollout run`, or export it with `inconclusive fail` or `inconclusive pass`".into(),
        });
    }
    if !plan.health.violation.is_rollback() {
        problems.push(Problem {
            line: None,
            message: "`on violation pause`: the exported state machine rolls back at a violation; it cannot wait for `rollout resume`".into(),
            help: "run this playbook with `rollout run`, or export it with `on violation rollback` (the default)".into(),
        });
    }
    for i in &plan.health.observed {
        problems.push(Problem {
            line: None,
            message: format!(
                "`observe {}`: the exported state machine cannot yet judge a check without letting it decide",
                plan.health.checks[*i]
            ),
            help: "run this playbook with `rollout run`, or leave the check out of the export until it leaves its trial".into(),
        });
    }
    for check in &plan.health.checks {
        if let Check::Signatures(_) = check {
            problems.push(Problem {
                line: find("no new error signatures"),
                message: format!("the health check `{check}`: the exported state machine does not read logs (Logs Insights queries run a while and are polled)"),
                help: "run this playbook with `rollout run`, or judge the errors with a CloudWatch alarm on a metric filter of the log group (`alarm \"NAME\"`)".into(),
            });
        }
        if let Check::Script { script } = check {
            problems.push(Problem {
                line: find(&format!("script {:?}", script.name)),
                message: format!("the health check `script {:?}`: rhai hooks cannot run in Step Functions", script.name),
                help: "judge it with a CloudWatch alarm instead (`alarm \"NAME\"`), or run this playbook locally with `rollout run`".into(),
            });
        }
    }
    for check in &plan.health.checks {
        if let Check::Compare { lhs, rhs, .. } = check {
            let metrics = lhs.metrics().into_iter().chain(rhs.metrics());
            if metrics.into_iter().any(|(m, _)| m.beyond_lambda()) {
                problems.push(Problem {
                    line: None,
                    message: format!("the health check `{check}` reads a metric beyond Lambda's own (a `metric` header's, or Lambda Insights' cold starts and init duration), which the exported state machine does not judge yet"),
                    help: "run this playbook with `rollout run`, or judge the metric server-side with a CloudWatch alarm on it (`alarm \"NAME\"` in the health block)".into(),
                });
            }
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

/// The first state: the braces the weight maps are built with, in the execution's data.
const BEGIN: &str = "Begin";

/// Where a failure goes once aliases may have been written.
const RESTORE: &str = "Restore old";
/// Where a failure goes before anything was written.
const REFUSED: &str = "Refused";

#[cfg(test)]
mod tests;

//! `rollout plan FILE`: the preview of a plan, its AWS calls and its traffic over time.

mod view;

use super::output::out;
use super::{load, Format, PlanArgs};
use crate::cloud::aws::Aws;
use crate::cloud::LambdaApi;
use crate::plan::Millis;
use view::{LiveTarget, PlanView};

pub(super) fn run(args: &PlanArgs) -> i32 {
    let (plan, source) = match load::plan(&args.file, &args.playbook) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let mut live_targets = Vec::new();
    if args.live {
        let Some(alias) = plan
            .targets
            .alias
            .clone()
            .filter(|_| !plan.targets.functions.is_empty())
        else {
            eprintln!("error: --live needs a target: name the function and alias in the playbook or with --function and --alias");
            return crate::exit::INVALID;
        };
        let runtime = match super::runtime() {
            Ok(runtime) => runtime,
            Err(code) => return code,
        };
        live_targets = match runtime.block_on(live(
            &plan,
            &alias,
            &args.aws.options(plan.targets.region.clone()),
        )) {
            Ok(targets) => targets,
            Err(error) => {
                eprintln!("error: {error}");
                return crate::exit::INVALID;
            }
        };
    }
    // The metric delay covers the longest timeout read live; without --live it is assumed.
    let timeout = live_targets
        .iter()
        .filter_map(|t| t.latest.as_ref().map(|l| l.timeout))
        .max();
    // `old` of each target, once read live.
    let olds = live_targets
        .iter()
        .filter_map(|t| Some((t.function.clone(), t.serves.as_ref()?.version.clone())))
        .collect();
    let mut view = PlanView::new(&plan, &source, timeout, &olds);
    view.live = live_targets;
    match args.format {
        Format::Text => out(&view.to_string()),
        Format::Json => out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&view).expect("the plan serialises")
        )),
    }
    crate::exit::OK
}

/// The preview `rollout plan` prints for `plan`, whose playbook text is `source` (benchmarks).
pub fn preview(plan: &crate::plan::Plan, source: &str) -> String {
    PlanView::new(plan, source, None, &Default::default()).to_string()
}

/// How long a rollout of `plan` takes, as the preview says: at least, and at most (`None` when
/// an `approve` gate waits for a person).
pub(super) fn duration(plan: &crate::plan::Plan, source: &str) -> (Millis, Option<Millis>) {
    let view = PlanView::new(plan, source, None, &Default::default());
    (view.min_duration_ms, view.max_duration_ms)
}

/// Each target as it is now, with read-only calls only; a set-up that cannot work fails.
async fn live(
    plan: &crate::plan::Plan,
    alias: &str,
    options: &crate::cloud::aws::AwsOptions,
) -> Result<Vec<LiveTarget>, crate::cloud::CloudError> {
    let aws = Aws::connect(options).await?;
    let mut out = Vec::new();
    for function in &plan.targets.functions {
        let mut target = LiveTarget {
            function: function.clone(),
            alias: alias.to_string(),
            serves: None,
            latest: None,
            last_version: None,
            publish: String::new(),
            provisioned: None,
            error: None,
        };
        let read = async {
            let serves = aws.get_alias(function, alias).await?;
            let latest = aws.get_function(function, None).await?;
            let versions = aws.versions(function).await?;
            let provisioned = aws.provisioned(function, alias).await?;
            Ok::<_, crate::cloud::CloudError>((serves, latest, versions, provisioned))
        };
        match read.await {
            Ok((serves, latest, versions, provisioned)) => {
                target.provisioned = provisioned;
                let last = versions.iter().rev().find(|v| v.version != "$LATEST");
                target.publish = match last {
                    Some(v) if v.code_sha256 == latest.code_sha256 && v.version == serves.version => format!(
                        "$LATEST is unchanged since version {}, which the alias serves: nothing to roll out",
                        v.version
                    ),
                    Some(v) if v.code_sha256 == latest.code_sha256 => {
                        format!("$LATEST is unchanged since version {}: publish returns it as new", v.version)
                    }
                    Some(v) => format!("$LATEST differs from version {}: publish creates a new version", v.version),
                    None => "no version published yet: publish creates version 1".to_string(),
                };
                target.last_version = last.map(|v| v.version.clone());
                target.serves = Some(serves);
                target.latest = Some(latest);
            }
            Err(e) => {
                target.publish = "unknown".to_string();
                target.error = Some(e.to_string());
            }
        }
        out.push(target);
    }
    Ok(out)
}

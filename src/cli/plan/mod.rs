//! `rollout plan FILE`: the preview of a plan, its AWS calls and its traffic over time.

mod chart;
mod commands;
mod judged;
mod notify;
mod prune;
mod text;
mod timing;
mod view;
mod windows;

use super::output::out;
use super::{load, Format, PlanArgs};
use crate::cloud::aws::{Aws, WallClock};
use crate::cloud::limit::{Limited, DEFAULT_CALLS_PER_SECOND};
use crate::cloud::retry::Retrying;
use crate::cloud::LambdaApi;
use crate::plan::Millis;
use view::{LiveTarget, PlanView};

pub(super) fn run(args: &PlanArgs) -> i32 {
    let (mut plan, source) = match load::plan(&args.file, &args.playbook) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let mut live_targets = Vec::new();
    let mut live_pruning = Vec::new();
    if args.live {
        let Some(alias) = plan
            .targets
            .alias
            .clone()
            .filter(|_| !plan.targets.functions.is_empty() || !plan.targets.select.is_empty())
        else {
            eprintln!("error: --live needs a target: name the function and alias in the playbook or with --function and --alias");
            return crate::exit::INVALID;
        };
        let runtime = match super::runtime() {
            Ok(runtime) => runtime,
            Err(code) => return code,
        };
        let read = runtime.block_on(async {
            // Every region and account of the waves, or the one region.
            let places = super::waves::places(&plan);
            let connected = if places.is_empty() {
                match Aws::connect(&args.aws.options(plan.targets.region.clone())).await {
                    Ok(aws) => vec![aws],
                    Err(error) => {
                        eprintln!("error: {error}");
                        return Err(crate::exit::INVALID);
                    }
                }
            } else {
                super::waves::connect(&args.aws, &places).await?
            };
            let clock = WallClock::new();
            let mut read = Vec::new();
            let mut names = Vec::new();
            let mut pruning = Vec::new();
            for (i, aws) in connected.iter().enumerate() {
                let paced = Limited::new(aws, &clock, args.aws.calls_per_second);
                let cloud = Retrying::new(&paced, &clock);
                let functions = super::select(&cloud, &plan.targets).await?;
                let mut targets = live(aws, &cloud, &functions, &alias).await;
                if let Some(place) = places.get(i) {
                    for t in &mut targets {
                        t.region = Some(place.label());
                    }
                }
                if plan.keep.is_some() {
                    for t in &targets {
                        pruning.push(prune::live(&cloud, t, &plan).await);
                    }
                }
                read.extend(targets);
                for f in functions {
                    if !names.contains(&f) {
                        names.push(f);
                    }
                }
            }
            Ok((read, names, pruning))
        });
        (live_targets, plan.targets.functions, live_pruning) = match read {
            Ok(read) => read,
            Err(code) => return code,
        };
        plan.targets.select.clear();
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
    let mut view = PlanView::new(&plan, &source, timeout, &olds, args.aws.calls_per_second);
    view.live = live_targets;
    if let Some(prune) = &mut view.prune {
        prune.live = live_pruning;
    }
    if let Some(windows) = &plan.windows {
        let from = args.at.map_or_else(
            || {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64)
            },
            |at| at.0,
        );
        view.windows = Some(windows::WindowsView::new(
            windows,
            &view.steps,
            view.metric_delay_ms,
            from,
        ));
    }
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
    PlanView::new(
        plan,
        source,
        None,
        &Default::default(),
        DEFAULT_CALLS_PER_SECOND,
    )
    .to_string()
}

/// How long a rollout of `plan` takes at `calls_per_second`, as the preview says: at least, and
/// at most (`None` when an `approve` gate waits for a person); every wave of it, with the bakes
/// between them, when it has waves.
pub(super) fn duration(
    plan: &crate::plan::Plan,
    source: &str,
    calls_per_second: f64,
) -> (Millis, Option<Millis>) {
    let view = PlanView::new(plan, source, None, &Default::default(), calls_per_second);
    match &view.waves {
        Some(waves) => (waves.min_duration_ms, waves.max_duration_ms),
        None => (view.min_duration_ms, view.max_duration_ms),
    }
}

/// Each target as it is now, with read-only calls only.
async fn live(
    aws: &Aws,
    cloud: &impl LambdaApi,
    functions: &[String],
    alias: &str,
) -> Vec<LiveTarget> {
    let mut out = Vec::new();
    for function in functions {
        let mut target = LiveTarget {
            function: function.clone(),
            alias: alias.to_string(),
            serves: None,
            latest: None,
            last_version: None,
            publish: String::new(),
            provisioned: None,
            error: None,
            region: None,
        };
        let read = async {
            let serves = cloud.get_alias(function, alias).await?;
            let latest = cloud.get_function(function, None).await?;
            let versions = aws.versions(function).await?;
            let provisioned = cloud.provisioned(function, alias).await?;
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
    out
}

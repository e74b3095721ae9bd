//! `keep N versions` as `rollout plan` shows it: the rule, the calls it makes after `promote`,
//! and with `--live` what each function would lose now.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::commands::shell;
use super::view::LiveTarget;
use crate::cloud::prune::inventory;
use crate::cloud::LambdaApi;
use crate::plan::{Plan, StepKind};

/// The prune after `promote`.
#[derive(Debug, Clone, Serialize)]
pub(super) struct PruneView {
    /// Unreferenced versions kept of each function.
    pub(super) keep: u32,
    /// What is deleted and what never is, in words.
    pub(super) rule: String,
    /// The calls, for one function, as `aws` command lines.
    pub(super) calls: Vec<String>,
    /// With `--live`: what each function would lose if the rollout promoted now.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) live: Vec<LivePrune>,
}

/// One function's prune, read now with read-only calls.
#[derive(Debug, Clone, Serialize)]
pub(super) struct LivePrune {
    /// The function.
    pub(super) function: String,
    /// Its region, in a playbook with waves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) region: Option<String>,
    /// The versions that would be deleted, oldest first.
    pub(super) delete: Vec<String>,
    /// The published versions that would be left, oldest first (`new` not among them when
    /// `publish` makes it).
    pub(super) kept: Vec<String>,
    /// The versions something uses, and what.
    pub(super) referenced: BTreeMap<String, String>,
    /// What could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) error: Option<String>,
}

impl PruneView {
    /// The prune of `plan`, when it keeps versions; its calls written for `function`.
    pub(super) fn new(plan: &Plan, function: &str) -> Option<Self> {
        let keep = plan.keep?;
        let f = shell(function);
        let calls = vec![
            format!("aws lambda list-versions-by-function --function-name {f}   (every page)"),
            format!("aws lambda list-aliases --function-name {f}"),
            format!("aws lambda list-provisioned-concurrency-configs --function-name {f}"),
            format!("aws lambda list-event-source-mappings --function-name {f}"),
            format!(
                "aws lambda delete-function --function-name {f} --qualifier {}   (each version to delete, oldest first)",
                shell("<V>")
            ),
        ];
        Some(PruneView {
            keep,
            rule: format!(
                "after a successful promote, each function's published versions that no alias routes to, that have no provisioned concurrency and that no event source mapping invokes, besides old and new, are deleted oldest first, keeping the {keep} newest of them; $LATEST never. A failure to prune is a warning: the rollout still succeeds"
            ),
            calls,
            live: Vec::new(),
        })
    }
}

/// `new` when the plan names it (`use version N`); a version `publish` makes does not exist yet.
fn named_new(plan: &Plan) -> String {
    plan.steps
        .iter()
        .find_map(|s| match &s.kind {
            StepKind::UseVersion { version } => Some(version.to_string()),
            _ => None,
        })
        .unwrap_or_default()
}

/// What `target` would lose if the rollout promoted now: read-only reads.
pub(super) async fn live(cloud: &impl LambdaApi, target: &LiveTarget, plan: &Plan) -> LivePrune {
    let mut out = LivePrune {
        function: target.function.clone(),
        region: target.region.clone(),
        delete: Vec::new(),
        kept: Vec::new(),
        referenced: BTreeMap::new(),
        error: None,
    };
    let (Some(keep), Some(serves)) = (plan.keep, &target.serves) else {
        out.error = target.error.clone();
        return out;
    };
    match inventory(cloud, &target.function).await {
        Ok(found) => {
            let decision = found.decide(&serves.version, &named_new(plan), keep);
            out.delete = decision.delete;
            out.kept = decision.kept;
            out.referenced = found.referenced;
        }
        Err(error) => out.error = Some(error.to_string()),
    }
    out
}

impl fmt::Display for PruneView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f)?;
        writeln!(f, "keep {} versions: {}.", self.keep, self.rule)?;
        for call in &self.calls {
            writeln!(f, "  {call}")?;
        }
        for t in &self.live {
            let at = t
                .region
                .as_ref()
                .map(|r| format!(" in {r}"))
                .unwrap_or_default();
            if let Some(error) = &t.error {
                writeln!(f, "  {}{at}: cannot be read: {error}", t.function)?;
                continue;
            }
            let words = |v: &[String]| match v {
                [] => "none".to_string(),
                _ => v.join(", "),
            };
            writeln!(
                f,
                "  {}{at} now: would delete {}; would keep {}",
                t.function,
                words(&t.delete),
                words(&t.kept)
            )?;
            for (version, by) in &t.referenced {
                writeln!(f, "    version {version} is used: {by}")?;
            }
        }
        Ok(())
    }
}

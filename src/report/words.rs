//! What an event says in words, without a timestamp: the lines both the text and the live
//! display print.

use super::fleet::FLEET;
use crate::engine::events::{Event, EventKind};
use crate::engine::health::Verdict;

/// `line` of `event` as the text and live displays print it: its time, and in a waved rollout
/// its region.
pub(super) fn stamped(event: &Event, line: &str) -> String {
    match &event.region {
        Some(region) => format!("[{}] {region}: {line}", super::clock(event.at_ms)),
        None => format!("[{}] {line}", super::clock(event.at_ms)),
    }
}

/// The lines an event shows as, without timestamps. `steps` is the step count from `started`.
pub(super) fn lines(event: &Event, steps: usize, verbose: bool) -> Vec<String> {
    match &event.kind {
        EventKind::Started {
            name,
            functions,
            alias,
            steps,
        } => {
            let name = name
                .as_deref()
                .map(|n| format!("{n:?}: "))
                .unwrap_or_default();
            let targets = if functions.len() > FLEET {
                format!(
                    "{} functions ({}, … {})",
                    functions.len(),
                    functions[..3].join(", "),
                    functions[functions.len() - 1]
                )
            } else {
                functions.join(", ")
            };
            vec![format!(
                "rollout {name}{targets} on alias {alias}, {steps} steps"
            )]
        }
        EventKind::Selected {
            selection,
            functions,
        } => vec![format!("{selection} selects {functions} functions")],
        EventKind::AliasRead { function, alias } => {
            vec![format!(
                "  {function} serves {alias} (revision {})",
                alias.revision_id
            )]
        }
        EventKind::WaveStarted {
            wave,
            index,
            waves,
            regions,
        } => vec![format!(
            "wave {index}/{waves} {wave:?}: {}",
            regions.join(", ")
        )],
        EventKind::WavePassed { wave } => vec![format!("wave {wave:?} passed: new serves all of it")],
        EventKind::WaveFailed {
            wave,
            reason,
            skipped,
        } => {
            let mut lines = vec![format!("wave {wave:?} failed: {reason}")];
            if !skipped.is_empty() {
                lines.push(format!("  never started: {}", skipped.join(", ")));
            }
            lines
        }
        EventKind::Watching {
            duration_ms,
            judged,
            left_out,
        } => {
            let mut lines = vec![format!(
                "keeping the promoted waves for {duration_ms}{}",
                if *judged { ", judged" } else { "" }
            )];
            if *judged && !left_out.is_empty() {
                lines.push(format!(
                    "  not judged there (old serves nothing): {}",
                    left_out.join("; ")
                ));
            }
            lines
        }
        EventKind::Resumed { step } => {
            vec![format!("resuming at step {step}, as the lease left it")]
        }
        EventKind::StepStarted { step, text } => vec![format!("step {step}/{steps}  {text}")],
        EventKind::CodeUpdated { function } => vec![format!("  {function}: code updated")],
        EventKind::Published {
            function,
            version,
            unchanged,
        } => vec![if *unchanged {
            format!("  {function}: nothing changed since version {version}, which the alias already serves")
        } else {
            format!("  {function}: published version {version}")
        }],
        EventKind::Retrying {
            call,
            error,
            attempt,
            attempts,
            pause_ms,
            since_ms,
        } => vec![format!(
            "  AWS: {call} failed ({error}) {since_ms} after its first try; attempt {} of {attempts} in {pause_ms}",
            attempt + 1
        )],
        // Said on stderr as a warning when it happens (`Tee::notify_failed`), whatever the format.
        EventKind::NotifyFailed { .. } => Vec::new(),
        EventKind::TakingOver {
            function,
            holder,
            why,
        } => vec![format!(
            "  {function}: taking over the lease of {holder}: {why}"
        )],
        EventKind::VersionsChosen { function, old, new } => {
            vec![format!("  {function}: old = {old}, new = {new}")]
        }
        EventKind::Provisioned {
            function,
            alias,
            requested,
            ready: false,
            ..
        } => vec![format!(
            "  {function}:{alias} has {requested} provisioned environments: Lambda splits them between old and new by weight"
        )],
        EventKind::Provisioned {
            function,
            alias,
            requested,
            allocated,
            ready: true,
        } => vec![format!(
            "  {function}:{alias}: provisioned concurrency allocated ({allocated} of {requested})"
        )],
        // Writes that only renew the lease are noise unless asked for.
        EventKind::AliasUpdated {
            function,
            before,
            after,
        } if before.version == after.version && before.routing == after.routing => {
            if verbose {
                vec![format!(
                    "  {function}: lease written (revision {})",
                    after.revision_id
                )]
            } else {
                Vec::new()
            }
        }
        EventKind::AliasUpdated {
            function,
            before,
            after,
        } => vec![format!("  {function}: {before} -> {after}")],
        EventKind::Waiting {
            duration_ms,
            judged,
            traffic_ms,
            shortest_ms,
            delay_ms,
        } => vec![match (judged, traffic_ms, shortest_ms, delay_ms) {
            (true, Some(traffic), Some(shortest), Some(delay)) => format!(
                "  baking {shortest}..{traffic} of traffic on new: passes after {shortest} once every check is confidently met, ends within {duration_ms} (metric delay {delay})"
            ),
            (true, Some(traffic), None, Some(delay)) => format!(
                "  baking {traffic} of traffic on new, judged as it settles: {duration_ms} at most (metric delay {delay})"
            ),
            (true, ..) => format!("  waiting {duration_ms}, judging health"),
            (false, ..) => format!("  waiting {duration_ms}"),
        }],
        EventKind::HealthEvaluated(evaluation) => {
            let verdict = match evaluation.verdict {
                Verdict::Pass => "healthy",
                Verdict::Fail => "UNHEALTHY",
                Verdict::Inconclusive => "undecided",
            };
            let mut out = vec![format!(
                "  {} {verdict}: {}",
                evaluation.function, evaluation.reason
            )];
            for check in &evaluation.checks {
                let trial = if check.observed { "observe " } else { "" };
                if verbose {
                    out.push(format!(
                        "      {trial}{}: {} ({:?})",
                        check.check, check.detail, check.verdict
                    ));
                } else if check.observed && check.verdict == Verdict::Fail {
                    out.push(format!(
                        "      observe {}: violated, {} (on trial: it decides nothing)",
                        check.check, check.detail
                    ));
                }
            }
            out
        }
        EventKind::BakePassed { reason } => vec![format!("  bake passed: {reason}")],
        EventKind::WatchStarted {
            duration_ms,
            baselines,
            left_out,
        } => {
            let mut lines = vec![format!(
                "  watching new for {duration_ms} after promote, against old before the rollout"
            )];
            for b in baselines {
                let values: Vec<String> =
                    b.values.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                let windows = if b.windows.is_empty() {
                    "no window with invocations".to_string()
                } else {
                    b.windows.join(", ")
                };
                lines.push(format!(
                    "  {}: old ({}) {} invocations in {windows}{}",
                    b.function,
                    b.version,
                    crate::judge::evidence::thousands(b.invocations),
                    if values.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", values.join(", "))
                    }
                ));
                lines.push(format!("    judged: {}", b.checks.join("; ")));
            }
            if !left_out.is_empty() {
                lines.push(format!("  left out: {}", left_out.join("; ")));
            }
            lines
        }
        EventKind::WatchPassed { reason } => vec![format!("  watch passed: {reason}")],
        EventKind::Held { function, reason } => {
            vec![format!("  {function} {reason}; the bake's clock stops")]
        }
        EventKind::HoldEnded { function, held_ms } => vec![format!(
            "  {function}: hold over after {held_ms}; the bake's clock runs again"
        )],
        EventKind::Paused { by, reason, until } => {
            let why = reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
            let until = until
                .map(|u| format!(" until {}", crate::cloud::clock::utc(u)))
                .unwrap_or_default();
            vec![format!(
                "  paused by {by}{why}{until}: traffic stays, the bake's clock stops, health is still judged"
            )]
        }
        EventKind::Unpaused { by, paused_ms } => vec![format!(
            "  resumed by {by} after {paused_ms}: traffic may move, the bake's clock runs again"
        )],
        EventKind::PromoteAsked { by, full } => vec![if *full {
            format!("  {by} asks to promote now: this wait ends, judged as at its end, then straight to promote")
        } else {
            format!("  {by} asks to end this wait now: judged as at its end")
        }],
        EventKind::PromoteIgnored { by, reason } => {
            vec![format!("  `rollout promote` by {by} not acted on: {reason}")]
        }
        EventKind::ApprovalRequested { message } => vec![format!(
            "  approval needed{}",
            message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        )],
        EventKind::Approved { by } => vec![format!("  approved by {by}")],
        EventKind::Hook {
            function,
            script,
            verdict,
        } => {
            let said = if verdict.healthy() { "ok" } else { "FAILED" };
            vec![format!("  {function}: hook {script} {said}: {verdict}")]
        }
        EventKind::HookLog { script, message } => vec![format!("  {script}: {message}")],
        EventKind::StepFailed { step, reason } => vec![format!("step {step} FAILED: {reason}")],
        EventKind::RollingBack { .. } => {
            vec!["rolling back: old gets all traffic again".to_string()]
        }
        EventKind::Pruned {
            function,
            deleted,
            kept,
        } => vec![match deleted.as_slice() {
            [] => format!(
                "  {function}: no version to prune; versions left: {}",
                listed(kept)
            ),
            _ => format!(
                "  {function}: pruned versions {}; versions left: {}",
                listed(deleted),
                listed(kept)
            ),
        }],
        EventKind::PruneFailed {
            function,
            deleted,
            error,
        } => vec![format!(
            "  warning: {function}: pruning stopped after deleting {}: {error} (the rollout is unaffected)",
            listed(deleted)
        )],
        EventKind::Finished {
            message, exit_code, ..
        } => vec![format!("{message} (exit {exit_code})")],
    }
}

/// Versions as a reader lists them: `1, 2, 3`, or `none`.
fn listed(versions: &[String]) -> String {
    if versions.is_empty() {
        "none".to_string()
    } else {
        versions.join(", ")
    }
}

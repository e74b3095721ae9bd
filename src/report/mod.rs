//! Showing events: plain timestamped lines for people, JSON lines for scripts. No decisions here.

use std::io::Write;

use crate::engine::events::{Event, EventKind, EventSink};
use crate::engine::health::Verdict;

/// `[hh:mm:ss]` of a time since the start.
pub fn clock(ms: u64) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Timestamped lines, one or more per event.
pub struct TextSink<W: Write> {
    out: W,
    steps: usize,
    verbose: bool,
}

impl<W: Write> TextSink<W> {
    /// Lines to `out`; `verbose` shows every check of every evaluation, not only failing ones.
    pub fn new(out: W, verbose: bool) -> Self {
        TextSink {
            out,
            steps: 0,
            verbose,
        }
    }

    fn line(&mut self, at: u64, text: &str) {
        // A closed pipe is no reason to stop a rollout.
        let _ = writeln!(self.out, "[{}] {text}", clock(at));
    }
}

impl<W: Write> EventSink for TextSink<W> {
    fn emit(&mut self, event: &Event) {
        let at = event.at_ms;
        match &event.kind {
            EventKind::Started {
                name,
                functions,
                alias,
                steps,
            } => {
                self.steps = *steps;
                let name = name
                    .as_deref()
                    .map(|n| format!("{n:?}: "))
                    .unwrap_or_default();
                let text = format!(
                    "rollout {name}{} on alias {alias}, {steps} steps",
                    functions.join(", ")
                );
                self.line(at, &text);
            }
            EventKind::AliasRead { function, alias } => {
                let text = format!(
                    "  {function} serves {alias} (revision {})",
                    alias.revision_id
                );
                self.line(at, &text);
            }
            EventKind::StepStarted { step, text } => {
                let text = format!("step {step}/{}  {text}", self.steps);
                self.line(at, &text);
            }
            EventKind::CodeUpdated { function } => {
                self.line(at, &format!("  {function}: code updated"))
            }
            EventKind::Published {
                function,
                version,
                unchanged,
            } => {
                let text = if *unchanged {
                    format!("  {function}: nothing changed since version {version}, which the alias already serves")
                } else {
                    format!("  {function}: published version {version}")
                };
                self.line(at, &text);
            }
            EventKind::VersionsChosen { function, old, new } => {
                self.line(at, &format!("  {function}: old = {old}, new = {new}"));
            }
            EventKind::AliasUpdated {
                function,
                before,
                after,
            } => {
                self.line(at, &format!("  {function}: {before} -> {after}"));
            }
            EventKind::Waiting {
                duration_ms,
                judged,
            } => {
                let text = if *judged {
                    format!("  baking {duration_ms}, judging health")
                } else {
                    format!("  waiting {duration_ms}")
                };
                self.line(at, &text);
            }
            EventKind::HealthEvaluated(evaluation) => {
                let verdict = match evaluation.verdict {
                    Verdict::Pass => "healthy",
                    Verdict::Fail => "UNHEALTHY",
                    Verdict::Inconclusive => "inconclusive",
                };
                let text = format!("  {} {verdict}: {}", evaluation.function, evaluation.reason);
                self.line(at, &text);
                for check in &evaluation.checks {
                    if self.verbose {
                        let text = format!(
                            "      {}: {} ({:?})",
                            check.check, check.detail, check.verdict
                        );
                        self.line(at, &text);
                    }
                }
            }
            EventKind::BakePassed { reason } => self.line(at, &format!("  bake passed: {reason}")),
            EventKind::ApprovalRequested { message } => {
                let text = format!(
                    "  approval needed{}",
                    message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                );
                self.line(at, &text);
            }
            EventKind::Approved { by } => self.line(at, &format!("  approved by {by}")),
            EventKind::Hook {
                function,
                script,
                healthy,
                reason,
            } => {
                let verdict = if *healthy { "ok" } else { "FAILED" };
                self.line(
                    at,
                    &format!("  {function}: hook {script} {verdict}: {reason}"),
                );
            }
            EventKind::HookLog { script, message } => {
                self.line(at, &format!("  {script}: {message}"))
            }
            EventKind::StepFailed { step, reason } => {
                self.line(at, &format!("step {step} FAILED: {reason}"))
            }
            EventKind::RollingBack { .. } => {
                self.line(at, "rolling back: old gets all traffic again")
            }
            EventKind::Finished {
                message, exit_code, ..
            } => {
                self.line(at, &format!("{message} (exit {exit_code})"));
            }
        }
    }
}

/// One JSON object per event, one per line.
pub struct JsonSink<W: Write> {
    out: W,
}

impl<W: Write> JsonSink<W> {
    /// JSON lines to `out`.
    pub fn new(out: W) -> Self {
        JsonSink { out }
    }
}

impl<W: Write> EventSink for JsonSink<W> {
    fn emit(&mut self, event: &Event) {
        if let Ok(line) = serde_json::to_string(event) {
            let _ = writeln!(self.out, "{line}");
        }
    }
}

/// Discards events (Monte Carlo runs).
pub struct Discard;

impl EventSink for Discard {
    fn emit(&mut self, _: &Event) {}
}

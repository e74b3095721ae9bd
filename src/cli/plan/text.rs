//! A preview as text, the way `rollout plan` prints it.

use std::fmt;

use super::chart::chart;
use super::notify::Section;
use super::view::{PlanView, WavesView, SHOWN_NAMES};
use super::windows::WindowsView;
use crate::plan::waves::WaveFailure;
use crate::plan::Millis;

impl fmt::Display for PlanView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self
            .name
            .as_deref()
            .map(|n| format!(" {n:?}"))
            .unwrap_or_default();
        writeln!(f, "plan{name}")?;
        let names = &self.targets.functions;
        let mut shown: Vec<String> = if names.len() > SHOWN_NAMES {
            vec![format!(
                "{} functions: {}, … {}",
                names.len(),
                names[..SHOWN_NAMES - 1].join(", "),
                names[names.len() - 1]
            )]
        } else {
            names.clone()
        };
        shown.extend(
            self.targets
                .select
                .iter()
                .map(|s| format!("{s} (resolved when the run starts; `plan --live` lists them)")),
        );
        let functions = if shown.is_empty() {
            "no function named (pass --function)".to_string()
        } else {
            shown.join(", ")
        };
        let alias = self
            .targets
            .alias
            .as_deref()
            .unwrap_or("no alias named (pass --alias)");
        let region = self
            .targets
            .region
            .as_deref()
            .unwrap_or("from the AWS configuration");
        writeln!(f, "  functions: {functions}")?;
        writeln!(f, "  alias:     {alias}")?;
        match &self.waves {
            Some(waves) => {
                let regions: Vec<&str> = waves
                    .waves
                    .iter()
                    .flat_map(|w| w.regions.iter().map(String::as_str))
                    .collect();
                writeln!(f, "  regions:   {} (in waves, below)", regions.join(", "))?
            }
            None => writeln!(f, "  region:    {region}")?,
        }
        for param in &self.params {
            let set = if param.overridden { " (--set)" } else { "" };
            writeln!(f, "  param {} = {}{set}", param.name, param.value)?;
        }
        let defaults = if self.health.defaulted {
            " (defaults: the playbook has no health block)"
        } else {
            ""
        };
        writeln!(f, "  health:    {}{defaults}", self.health)?;
        writeln!(
            f,
            "  metrics:   read {} after each period ends: {}",
            self.metric_delay_ms, self.metric_delay
        )?;
        for (check, judged) in self.checks.iter().zip(&self.judged) {
            writeln!(f, "    - {check}: {judged}")?;
        }
        if let Some(hook) = &self.on_failure_hook {
            writeln!(f, "  on failure: run {hook}, then roll back")?;
        }
        if let Some(hook) = &self.on_success_hook {
            writeln!(f, "  on success: run {hook}")?;
        }
        if !self.live.is_empty() {
            writeln!(f)?;
            writeln!(f, "live (read with read-only calls):")?;
            for t in &self.live {
                let at = t
                    .region
                    .as_ref()
                    .map(|r| format!(" in {r}"))
                    .unwrap_or_default();
                match (&t.serves, &t.error) {
                    (Some(serves), _) => writeln!(
                        f,
                        "  {}:{}{at} serves {serves}: old = {}",
                        t.function, t.alias, serves.version
                    )?,
                    (None, Some(error)) => writeln!(
                        f,
                        "  {}:{}{at} cannot be read: {error}",
                        t.function, t.alias
                    )?,
                    (None, None) => {}
                }
                if let Some(latest) = &t.latest {
                    writeln!(
                        f,
                        "    $LATEST: {:?}, last update {:?}",
                        latest.state, latest.last_update
                    )?;
                }
                writeln!(f, "    publish: {}", t.publish)?;
                if let Some(p) = &t.provisioned {
                    writeln!(
                        f,
                        "    provisioned concurrency: {} environments; Lambda splits them between old and new by weight, and each move of traffic waits until they are allocated",
                        p.requested
                    )?;
                }
            }
        }
        write!(f, "{}", Section(&self.notify))?;
        if let Some(prune) = &self.prune {
            write!(f, "{prune}")?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "before step 1 (read-only; old = the version the alias serves; Lambda's rules checked):"
        )?;
        for call in &self.preflight {
            writeln!(f, "  {call}")?;
        }
        for step in &self.steps {
            writeln!(f)?;
            let latest = step
                .latest_ms
                .map_or("unbounded".to_string(), |l| l.to_string());
            let when = if Some(step.earliest_ms) == step.latest_ms {
                format!("starts at {}", step.earliest_ms)
            } else {
                format!("starts between {} and {latest}", step.earliest_ms)
            };
            let via = if step.via.is_empty() {
                String::new()
            } else {
                format!(" (from {})", step.via.join(" > "))
            };
            writeln!(
                f,
                "step {}  {}{via}  [line {}, {when}]",
                step.number, step.text, step.line
            )?;
            if let Some(run) = self
                .windows
                .as_ref()
                .and_then(|w| w.steps.iter().find(|r| r.number == step.number))
            {
                let zone = self.windows.as_ref().and_then(|w| w.zone.as_deref());
                let waits = match run.waited_ms {
                    Millis(0) => String::new(),
                    waited => format!(" (waits {waited} for windows)"),
                };
                writeln!(
                    f,
                    "  runs at: {}{}{waits}",
                    run.local,
                    zone.map(|z| format!(" {z}")).unwrap_or_default()
                )?;
            }
            if let Some(w) = step.weight_after {
                writeln!(f, "  new gets {w} of the traffic")?;
            }
            for call in &step.calls {
                writeln!(f, "  {call}")?;
            }
            for judge in &step.judged_by {
                writeln!(f, "  judged by {judge}")?;
            }
        }
        writeln!(f)?;
        writeln!(
            f,
            "if a step fails: run the on-failure hook if any, then restore old:"
        )?;
        for call in &self.on_failure {
            writeln!(f, "  {call}")?;
        }
        writeln!(f)?;
        writeln!(f, "traffic on new over time (shortest path):")?;
        for row in chart(&self.timeline, self.min_duration_ms, 60) {
            writeln!(f, "{row}")?;
        }
        if let Some(windows) = &self.windows {
            write!(f, "{windows}")?;
        }
        writeln!(f)?;
        let max = self.max_duration_ms.map_or(
            "unbounded (an approval gate waits for a person)".to_string(),
            |m| m.to_string(),
        );
        let Some(waves) = &self.waves else {
            return writeln!(
                f,
                "duration: at least {}, at most {max}",
                self.min_duration_ms
            );
        };
        writeln!(
            f,
            "each wave: at least {}, at most {max}",
            self.min_duration_ms
        )?;
        write!(f, "{waves}")
    }
}

impl fmt::Display for WavesView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unbounded = |m: Option<Millis>| m.map_or("unbounded".to_string(), |m| m.to_string());
        writeln!(f)?;
        writeln!(
            f,
            "waves (one after another; the regions of a wave at once, each at its own pace of calls, with --region and the account's credentials):"
        )?;
        for (i, wave) in self.waves.iter().enumerate() {
            if i > 0 {
                if let Some(between) = &self.between {
                    writeln!(
                        f,
                        "  between waves: {between}, the promoted waves kept ({})",
                        self.between_ms
                    )?;
                }
            }
            writeln!(
                f,
                "  wave {} {:?}: {}  [{} to {}, at most {}]",
                i + 1,
                wave.name,
                wave.regions.join(", "),
                wave.starts_ms,
                wave.ends_ms,
                unbounded(wave.latest_end_ms)
            )?;
            for role in &wave.roles {
                writeln!(f, "    as {role} (aws sts assume-role)")?;
            }
        }
        let policy = match self.on_failure {
            WaveFailure::ThisWave => "the failing wave is rolled back; earlier waves keep new",
            WaveFailure::EveryWave => "every wave started is rolled back",
        };
        writeln!(
            f,
            "  on failure: the waves not yet started never start; {policy}"
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "duration: at least {}, at most {}",
            self.min_duration_ms,
            unbounded(self.max_duration_ms)
        )
    }
}

impl fmt::Display for WindowsView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f)?;
        writeln!(
            f,
            "windows (traffic moves, and bakes count, only inside them; outside: {}):",
            match self.outside {
                crate::plan::windows::Outside::Pause =>
                    "pause, traffic stays and the bake's clock stops",
                crate::plan::windows::Outside::Rollback => "roll back",
            }
        )?;
        for weekly in &self.weekly {
            writeln!(f, "  {weekly}")?;
        }
        for calendar in &self.calendars {
            writeln!(
                f,
                "  calendar {calendar:?}: aws ssm get-calendar-state --calendar-names {calendar:?} before every step that moves traffic and during bakes; CLOSED delays it further"
            )?;
        }
        match &self.first_shift {
            Some(at) => writeln!(
                f,
                "  window closed at {}: the first shift waits until {at}",
                self.from
            )?,
            None => writeln!(f, "  window open at {}", self.from)?,
        }
        for step in &self.interrupted {
            writeln!(
                f,
                "  the bake of step {step} outlasts its window: {}",
                match self.outside {
                    crate::plan::windows::Outside::Pause => "it pauses until the next one opens",
                    crate::plan::windows::Outside::Rollback =>
                        "the rollout rolls back when it closes",
                }
            )?;
        }
        match (&self.ends, self.wall_ms) {
            (Some(ends), Some(wall)) => writeln!(
                f,
                "  from {}, at the shortest: ends {ends}, {wall} of wall time with the waits for windows",
                self.from
            ),
            _ => writeln!(
                f,
                "  the windows leave the rollout no time to finish within a year"
            ),
        }
    }
}

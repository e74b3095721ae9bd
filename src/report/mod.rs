//! Showing events: plain timestamped lines for people, JSON lines for scripts. No decisions here.

mod fleet;
pub mod html;

use std::io::Write;

use indicatif::{ProgressBar, ProgressStyle};

use fleet::{Tally, FLEET};

use crate::cloud::Alias;
use crate::engine::events::{Event, EventKind, EventSink};
use crate::engine::health::Verdict;

/// `[hh:mm:ss]` of a time since the start.
pub fn clock(ms: u64) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// The lines an event shows as, without timestamps. `steps` is the step count from `started`.
fn lines(event: &Event, steps: usize, verbose: bool) -> Vec<String> {
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
            if verbose {
                for check in &evaluation.checks {
                    out.push(format!(
                        "      {}: {} ({:?})",
                        check.check, check.detail, check.verdict
                    ));
                }
            }
            out
        }
        EventKind::BakePassed { reason } => vec![format!("  bake passed: {reason}")],
        EventKind::Held { function, reason } => {
            vec![format!("  {function} {reason}; the bake's clock stops")]
        }
        EventKind::HoldEnded { function, held_ms } => vec![format!(
            "  {function}: hold over after {held_ms}; the bake's clock runs again"
        )],
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
        EventKind::Finished {
            message, exit_code, ..
        } => vec![format!("{message} (exit {exit_code})")],
    }
}

/// Timestamped lines, one or more per event.
pub struct TextSink<W: Write> {
    out: W,
    steps: usize,
    verbose: bool,
    tally: Tally,
}

impl<W: Write> TextSink<W> {
    /// Lines to `out`; `verbose` shows every check of every evaluation.
    pub fn new(out: W, verbose: bool) -> Self {
        TextSink {
            out,
            steps: 0,
            verbose,
            tally: Tally::default(),
        }
    }
}

impl<W: Write> EventSink for TextSink<W> {
    fn emit(&mut self, event: &Event) {
        if let EventKind::Started { steps, .. } = &event.kind {
            self.steps = *steps;
        }
        let (before, counted) = self.tally.absorb(event);
        let own = if counted {
            Vec::new()
        } else {
            lines(event, self.steps, self.verbose)
        };
        for line in before.into_iter().chain(own) {
            // A closed pipe is no reason to stop a rollout.
            let _ = writeln!(self.out, "[{}] {line}", clock(event.at_ms));
        }
    }
}

/// The live display on a terminal: event lines scroll above a status line showing the step,
/// the weight on `new` as a bar, a countdown while waiting, and the latest verdict. A ticker
/// thread redraws the status line twice a second so the countdown moves between events.
pub struct LiveSink {
    bar: ProgressBar,
    status: std::sync::Arc<std::sync::Mutex<Status>>,
    steps: usize,
    verbose: bool,
    tally: Tally,
    /// Each function's `new` version, once chosen.
    new: std::collections::BTreeMap<String, String>,
}

/// What the status line shows.
#[derive(Debug, Default)]
struct Status {
    step: String,
    weight: f64,
    /// When the current wait began and how long it lasts.
    wait: Option<(std::time::Instant, u64)>,
    verdict: String,
    /// A fleet step's progress.
    progress: Option<String>,
    done: bool,
}

impl Status {
    fn line(&self) -> String {
        let filled = ((self.weight / 10.0).round() as usize).min(10);
        let bar = format!("[{}{}]", "#".repeat(filled), "-".repeat(10 - filled));
        let wait = self
            .wait
            .map(|(start, total)| {
                let left = total.saturating_sub(start.elapsed().as_millis() as u64);
                format!(
                    " | {} left",
                    crate::plan::Millis(left.div_ceil(1000) * 1000)
                )
            })
            .unwrap_or_default();
        let progress = self
            .progress
            .as_deref()
            .map(|p| format!(" | {p}"))
            .unwrap_or_default();
        format!(
            "{}{progress} | new {bar} {:.2}%{wait} | {}",
            self.step, self.weight, self.verdict
        )
    }
}

impl LiveSink {
    /// A live display on stderr.
    pub fn new(verbose: bool) -> Self {
        let bar = ProgressBar::new_spinner();
        bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("a valid template"));
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        let status = std::sync::Arc::new(std::sync::Mutex::new(Status::default()));
        let (ticker_bar, ticker_status) = (bar.clone(), status.clone());
        std::thread::spawn(move || loop {
            let line = match ticker_status.lock() {
                Ok(status) if !status.done => status.line(),
                _ => return,
            };
            ticker_bar.set_message(line);
            std::thread::sleep(std::time::Duration::from_millis(500));
        });
        LiveSink {
            bar,
            status,
            steps: 0,
            verbose,
            tally: Tally::default(),
            new: std::collections::BTreeMap::new(),
        }
    }
}

impl EventSink for LiveSink {
    fn emit(&mut self, event: &Event) {
        let (before, counted) = self.tally.absorb(event);
        if let Ok(mut status) = self.status.lock() {
            match &event.kind {
                EventKind::Started { steps, .. } => self.steps = *steps,
                EventKind::StepStarted { step, text } => {
                    status.step = format!("step {step}/{}: {text}", self.steps);
                    status.wait = None;
                }
                EventKind::VersionsChosen { function, new, .. } => {
                    self.new.insert(function.clone(), new.clone());
                }
                EventKind::AliasUpdated {
                    function, after, ..
                } => {
                    status.weight = match after.additional() {
                        Some((_, w)) => w * 100.0,
                        None if self.new.get(function) == Some(&after.version) => 100.0,
                        None => 0.0,
                    };
                }
                EventKind::Waiting { duration_ms, .. } => {
                    status.wait = Some((std::time::Instant::now(), duration_ms.0))
                }
                EventKind::HealthEvaluated(evaluation) => {
                    status.verdict = self.tally.verdicts().unwrap_or_else(|| {
                        format!("{}: {:?}", evaluation.function, evaluation.verdict)
                    });
                }
                EventKind::Finished { .. } => {
                    status.done = true;
                    self.bar.finish_and_clear();
                }
                _ => {}
            }
            status.progress = self.tally.progress(event.at_ms);
            if !status.done {
                self.bar.set_message(status.line());
            }
        }
        let own = if counted {
            Vec::new()
        } else {
            lines(event, self.steps, self.verbose)
        };
        for line in before.into_iter().chain(own) {
            self.bar.println(format!("[{}] {line}", clock(event.at_ms)));
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

/// The audit journal: every event of every run appended as a JSON line, flushed as it happens.
/// Events carry no credentials and no invocation payloads.
pub struct Journal {
    file: std::fs::File,
    path: std::path::PathBuf,
    /// Events that could not be written, and the first reason.
    lost: Option<(usize, String)>,
}

impl Journal {
    /// Opens (creating it and its directory) `path`, or the default under the user's state
    /// directory; the error says why there will be no journal.
    pub fn open(path: Option<std::path::PathBuf>) -> Result<Journal, String> {
        let path = match path {
            Some(path) => path,
            None => {
                let base = std::env::var_os("XDG_STATE_HOME")
                    .map(std::path::PathBuf::from)
                    .or_else(|| {
                        std::env::var_os("HOME")
                            .map(|h| std::path::Path::new(&h).join(".local/state"))
                    })
                    .ok_or(
                        "no journal: neither XDG_STATE_HOME nor HOME is set; pass --journal FILE",
                    )?;
                base.join("rollout/journal.jsonl")
            }
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("no journal: cannot create {}: {e}", dir.display()))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("no journal: cannot open {}: {e}", path.display()))?;
        Ok(Journal {
            file,
            path,
            lost: None,
        })
    }

    /// What was lost, if anything: to be said at the end of the run.
    pub fn problem(&self) -> Option<String> {
        self.lost.as_ref().map(|(count, why)| {
            format!(
                "the journal {} lost {count} event{} ({why}): the audit log of this run is incomplete",
                self.path.display(),
                if *count == 1 { "" } else { "s" }
            )
        })
    }

    fn append(&mut self, event: &Event) {
        if let Ok(mut line) = serde_json::to_string(event) {
            line.push('\n');
            // One write per line, then to the OS at once: a crash loses nothing written.
            if let Err(e) = self
                .file
                .write_all(line.as_bytes())
                .and_then(|()| self.file.flush())
            {
                let lost = self.lost.get_or_insert((0, e.to_string()));
                lost.0 += 1;
            }
        }
    }
}

/// What each alias served as last read or written, by function: shared with whoever must say it
/// when the run is stopped at once.
#[derive(Debug, Clone, Default)]
pub struct Left(std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, Alias>>>);

impl Left {
    /// Each alias as last known, `function:alias serves …`, with its lease.
    pub fn lines(&self, alias: &str) -> Vec<String> {
        let known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        known
            .iter()
            .map(|(function, serves)| {
                let lease = match crate::cloud::lease::Marker::parse(&serves.description).1 {
                    Some(m) => format!(", lease of {} at step {}/{}", m.holder, m.step, m.steps),
                    None => String::new(),
                };
                format!("{function}:{alias} serves {serves}{lease}")
            })
            .collect()
    }

    /// The functions known.
    pub fn functions(&self) -> Vec<String> {
        let known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        known.keys().cloned().collect()
    }
}

impl EventSink for Left {
    fn emit(&mut self, event: &Event) {
        let (function, serves) = match &event.kind {
            EventKind::AliasRead { function, alias } => (function, alias),
            EventKind::AliasUpdated {
                function, after, ..
            } => (function, after),
            _ => return,
        };
        let mut known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        known.insert(function.clone(), serves.clone());
    }
}

/// The display, the journal and what each alias was left serving, all three.
pub struct Tee {
    /// What people or scripts read.
    pub display: Box<dyn EventSink>,
    /// The audit journal, when it could be opened.
    pub journal: Option<Journal>,
    /// What each alias serves as far as the run knows.
    pub left: Left,
    /// Every event, for `--report`.
    pub recorder: Option<html::Recorder>,
}

impl EventSink for Tee {
    fn emit(&mut self, event: &Event) {
        if let Some(journal) = &mut self.journal {
            journal.append(event);
        }
        self.left.emit(event);
        if let Some(recorder) = &mut self.recorder {
            recorder.emit(event);
        }
        self.display.emit(event);
    }
}

/// Two sinks, each told every event.
pub struct Pair<'a>(pub &'a mut dyn EventSink, pub &'a mut dyn EventSink);

impl EventSink for Pair<'_> {
    fn emit(&mut self, event: &Event) {
        self.0.emit(event);
        self.1.emit(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_that_cannot_be_written_says_how_much_it_lost() {
        let mut journal = Journal::open(Some("/dev/full".into())).expect("opens");
        assert_eq!(journal.problem(), None);
        for _ in 0..3 {
            journal.append(&Event {
                at_ms: 0,
                kind: EventKind::RollingBack { reason: "x".into() },
            });
        }
        let said = journal.problem().expect("said");
        assert!(said.contains("/dev/full lost 3 events"), "{said}");
    }

    /// The status line's weight of `new` follows what the alias serves, whatever a step is
    /// called: an unsplit alias on `new` is 100%, on `old` 0%.
    #[test]
    fn the_live_weight_is_new_s_share_of_the_alias() {
        let alias = |version: &str, routing: &[(&str, f64)]| crate::cloud::Alias {
            version: version.into(),
            routing: routing.iter().map(|(v, w)| (v.to_string(), *w)).collect(),
            revision_id: "r".into(),
            description: String::new(),
        };
        let mut sink = LiveSink::new(false);
        sink.emit(&Event {
            at_ms: 0,
            kind: EventKind::VersionsChosen {
                function: "f".into(),
                old: "1".into(),
                new: "2".into(),
            },
        });
        let weights = [
            (alias("1", &[("2", 0.25)]), 25.0),
            // The last step of a ramp, not named `promote`, that moves everything to new.
            (alias("2", &[]), 100.0),
            (alias("1", &[]), 0.0),
        ];
        for (after, weight) in weights {
            sink.emit(&Event {
                at_ms: 0,
                kind: EventKind::AliasUpdated {
                    function: "f".into(),
                    before: alias("1", &[]),
                    after,
                },
            });
            assert_eq!(sink.status.lock().unwrap().weight, weight);
        }
    }
}

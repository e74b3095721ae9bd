//! The sinks events go to: timestamped text lines, JSON lines, nothing, what each alias was left
//! serving; and the two that fan an event out to several.

use std::io::Write;

use super::fleet::Tally;
use super::html::Recorder;
use super::journal::Journal;
use super::words::{lines, stamped};
use crate::cloud::Alias;
use crate::engine::events::{Event, EventKind, EventSink};
use crate::notify::{Failure, Notifier};

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
            let _ = writeln!(self.out, "{}", stamped(event, &line));
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

/// What each alias served as last read or written, by function (and region, in a waved
/// rollout): shared with whoever must say it when the run is stopped at once.
#[derive(Debug, Clone, Default)]
pub struct Left(std::sync::Arc<std::sync::Mutex<Known>>);

/// Each alias as last known, by region (in a waved rollout) and function.
type Known = std::collections::BTreeMap<(Option<String>, String), Alias>;

impl Left {
    /// Each alias as last known, `function:alias serves …` (`… in REGION serves …`), with its
    /// lease.
    pub fn lines(&self, alias: &str) -> Vec<String> {
        let known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        known
            .iter()
            .map(|((region, function), serves)| {
                let lease = match crate::cloud::lease::Marker::parse(&serves.description).1 {
                    Some(m) => format!(", lease of {} at step {}/{}", m.holder, m.step, m.steps),
                    None => String::new(),
                };
                let at = region
                    .as_ref()
                    .map(|r| format!(" in {r}"))
                    .unwrap_or_default();
                format!("{function}:{alias}{at} serves {serves}{lease}")
            })
            .collect()
    }

    /// The functions known.
    pub fn functions(&self) -> Vec<String> {
        let known = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut functions: Vec<String> = known.keys().map(|(_, f)| f.clone()).collect();
        functions.dedup();
        functions
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
        known.insert((event.region.clone(), function.clone()), serves.clone());
    }
}

/// The display, the journal, what each alias was left serving, the report's recorder and the
/// notifications, each told every event.
pub struct Tee {
    /// What people or scripts read.
    pub display: Box<dyn EventSink>,
    /// The audit journal, when it could be opened.
    pub journal: Option<Journal>,
    /// What each alias serves as far as the run knows.
    pub left: Left,
    /// Every event, for `--report`.
    pub recorder: Option<Recorder>,
    /// What is sent to the playbook's `notify` destinations.
    pub notifier: Option<Notifier>,
}

impl Tee {
    /// Tells of a notification that could not be sent: a warning on stderr, and a
    /// `notify_failed` event for the display and the journal, at `at_ms`.
    pub fn notify_failed(&mut self, failure: Failure, at_ms: u64) {
        let about = failure
            .notification
            .map(|n| format!(" {}", n.name()))
            .unwrap_or_default();
        eprintln!(
            "warning: the notification{about} to {} was not sent: {}; the rollout goes on",
            failure.destination, failure.error
        );
        self.tell(&Event {
            at_ms,
            region: failure.region,
            kind: EventKind::NotifyFailed {
                destination: failure.destination,
                notification: failure.notification.map(|n| n.name().to_string()),
                error: failure.error,
            },
        });
    }

    /// Tells every sink but the notifier.
    fn tell(&mut self, event: &Event) {
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

impl EventSink for Tee {
    fn emit(&mut self, event: &Event) {
        self.tell(event);
        let Some(notifier) = &mut self.notifier else {
            return;
        };
        notifier.emit(event);
        for failure in notifier.failures() {
            self.notify_failed(failure, event.at_ms);
        }
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

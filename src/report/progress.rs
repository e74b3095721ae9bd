//! The live display on a terminal: a status line tracking the rollout's progress, with the
//! events scrolling above it.

use indicatif::{ProgressBar, ProgressStyle};

use super::fleet::Tally;
use super::words::{lines, stamped};
use crate::engine::events::{Event, EventKind, EventSink};

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
                // A region's end, in a waved rollout, is not the rollout's.
                EventKind::Finished { .. } if event.region.is_none() => {
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
            self.bar.println(stamped(event, &line));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            region: None,
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
                region: None,
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

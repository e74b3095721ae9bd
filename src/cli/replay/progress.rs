//! How far a replay has read, on stderr: CloudWatch answers a window of days in many calls, and
//! nothing should wait silently. On a terminal one line that updates; otherwise a line at each
//! tenth of the window.

use std::cell::RefCell;
use std::io::IsTerminal;

use crate::cloud::metrics::{MetricDataPage, MetricDataRequest};
use crate::cloud::{AlarmKind, AlarmState, CloudError, MetricsApi};
use crate::plan::Millis;

/// CloudWatch reads through `inner`, told as they go.
pub(super) struct Progress<'a, M> {
    inner: &'a M,
    from: Millis,
    to: Millis,
    /// How many times the window is read (a sweep reads it once per threshold).
    passes: usize,
    terminal: bool,
    state: RefCell<State>,
}

#[derive(Default)]
struct State {
    calls: u64,
    pass: usize,
    last_end: Millis,
    /// The last tenth told (without a terminal).
    told: Option<(usize, u64)>,
}

impl<'a, M> Progress<'a, M> {
    /// Reads of `[from, to)`, `passes` times over, through `inner`.
    pub(super) fn new(inner: &'a M, from: Millis, to: Millis, passes: usize) -> Self {
        Progress {
            inner,
            from,
            to,
            passes,
            terminal: std::io::stderr().is_terminal(),
            state: RefCell::new(State::default()),
        }
    }

    /// The reads underneath, untold: a count that is no part of reading the window.
    pub(super) fn untold(&self) -> &'a M {
        self.inner
    }

    /// Clears the line once the reading is done.
    pub(super) fn done(&self) {
        if self.terminal && self.state.borrow().calls > 0 {
            eprint!("\r\x1b[K");
        }
    }

    fn tell(&self, end: Millis) {
        let mut state = self.state.borrow_mut();
        state.calls += 1;
        if end < state.last_end || state.pass == 0 {
            state.pass += 1;
        }
        state.last_end = end;
        let span = self.to.0.saturating_sub(self.from.0).max(1);
        let tenths = (end.0.saturating_sub(self.from.0) * 10 / span).min(10);
        let pass = if self.passes > 1 {
            format!("threshold {} of {}: ", state.pass, self.passes)
        } else {
            String::new()
        };
        let line = format!(
            "replaying: {pass}{}% of the window read ({} CloudWatch calls)",
            tenths * 10,
            state.calls
        );
        if self.terminal {
            eprint!("\r{line}\x1b[K");
        } else if state.told != Some((state.pass, tenths)) {
            state.told = Some((state.pass, tenths));
            eprintln!("{line}");
        }
    }
}

impl<M: MetricsApi> MetricsApi for Progress<'_, M> {
    async fn get_metric_data(
        &self,
        request: &MetricDataRequest,
    ) -> Result<MetricDataPage, CloudError> {
        self.tell(request.end);
        self.inner.get_metric_data(request).await
    }

    async fn describe_alarms(
        &self,
        names: &[String],
        kinds: &[AlarmKind],
    ) -> Result<Vec<(String, AlarmState)>, CloudError> {
        self.inner.describe_alarms(names, kinds).await
    }
}

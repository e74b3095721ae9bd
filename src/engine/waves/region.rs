//! What each region's engines run with in a wave: a sink that tells the shared one which
//! region spoke, and a clock that stops when another region of the wave failed.

use std::cell::RefCell;

use crate::cloud::Clock;
use crate::engine::events::{Event, EventKind, EventSink};
use crate::plan::waves::Place;

/// Events of one region's engine, told to the shared sink with the region and the time since
/// the waved rollout began.
pub(super) struct Placed<'s> {
    pub(super) label: String,
    pub(super) offset: u64,
    pub(super) inner: &'s RefCell<dyn EventSink + 's>,
    /// For a promoted region kept between waves: its start, its reading of aliases it holds,
    /// and an end that leaves it promoted, are not news.
    pub(super) kept: bool,
}

impl EventSink for Placed<'_> {
    fn emit(&mut self, event: &Event) {
        let quiet = match &event.kind {
            EventKind::Started { .. }
            | EventKind::AliasRead { .. }
            | EventKind::Selected { .. } => self.kept,
            EventKind::Finished { outcome, .. } => self.kept && outcome == "promoted",
            _ => false,
        };
        if quiet {
            return;
        }
        self.inner.borrow_mut().emit(&Event {
            at_ms: event.at_ms + self.offset,
            region: Some(self.label.clone()),
            kind: event.kind.clone(),
        });
    }
}

/// Stops the other regions of a wave once one of them failed: their clocks say interrupted,
/// and every wait ends, so each rolls back as it would on Ctrl-C.
#[derive(Default)]
pub(super) struct Halt {
    /// The region whose failure stopped the others.
    pub(super) by: RefCell<Option<Place>>,
    notify: tokio::sync::Notify,
}

impl Halt {
    pub(super) fn halt(&self, by: &Place) {
        let mut halted = self.by.borrow_mut();
        if halted.is_none() {
            *halted = Some(by.clone());
            self.notify.notify_waiters();
        }
    }

    fn halted(&self) -> bool {
        self.by.borrow().is_some()
    }
}

/// A region's clock in a wave: interrupted when the person is, or when the wave is halted.
pub(super) struct Halted<'h, C> {
    pub(super) inner: &'h C,
    pub(super) halt: &'h Halt,
}

impl<C: Clock> Clock for Halted<'_, C> {
    fn now(&self) -> crate::plan::Millis {
        self.inner.now()
    }

    async fn sleep(&self, duration: crate::plan::Millis) {
        if self.halt.halted() {
            return;
        }
        tokio::select! {
            _ = self.inner.sleep(duration) => {}
            _ = self.halt.notify.notified() => {}
        }
    }

    async fn pause(&self, duration: crate::plan::Millis) {
        self.inner.pause(duration).await;
    }

    fn interrupted(&self) -> bool {
        self.inner.interrupted() || self.halt.halted()
    }

    fn stop_reason(&self) -> String {
        if self.inner.interrupted() {
            self.inner.stop_reason()
        } else {
            "another region of its wave failed".to_string()
        }
    }

    fn epoch(&self) -> crate::plan::Millis {
        self.inner.epoch()
    }

    async fn within<T>(
        &self,
        limit: crate::plan::Millis,
        work: impl std::future::Future<Output = T>,
    ) -> Option<T> {
        self.inner.within(limit, work).await
    }
}

//! The virtual clock: `sleep` moves time forward at once, so `wait 10m` takes no real time.

use std::cell::Cell;

use super::SimWorld;
use crate::cloud::Clock;
use crate::plan::Millis;

/// Where virtual time starts, in epoch milliseconds: a whole minute in November 2026.
pub const VIRTUAL_EPOCH: Millis = Millis(1_796_000_040_000);

/// Time that passes only when someone sleeps.
#[derive(Debug, Default)]
pub struct VirtualClock {
    now: Cell<u64>,
}

impl VirtualClock {
    /// A clock at zero.
    pub fn new() -> Self {
        VirtualClock::default()
    }

    /// Moves time forward without anyone sleeping (tests: "meanwhile, ten minutes pass").
    pub fn advance(&self, by: Millis) {
        self.now.set(self.now.get() + by.0);
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Millis {
        Millis(self.now.get())
    }

    async fn sleep(&self, duration: Millis) {
        self.advance(duration);
    }

    /// A fixed epoch plus virtual time, so simulated lease markers are reproducible; the epoch
    /// falls on a whole minute, as a period of CloudWatch does.
    fn epoch(&self) -> Millis {
        Millis(VIRTUAL_EPOCH.0 + self.now.get())
    }
}

impl Clock for SimWorld {
    fn now(&self) -> Millis {
        self.clock.now()
    }

    async fn sleep(&self, duration: Millis) {
        self.clock.sleep(duration).await;
        // Let other tasks on the same world (a second runner, an approver) take their turn.
        tokio::task::yield_now().await;
    }

    fn epoch(&self) -> Millis {
        self.clock.epoch()
    }
}

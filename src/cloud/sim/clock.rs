//! The virtual clock: `sleep` moves time forward at once, so `wait 10m` takes no real time.
//!
//! Time limits are kept cooperatively: within [`Clock::within`], time stops at the limit, every
//! sleep past it returns at once, and what the work did after is thrown away, as a timed-out
//! future is dropped on a real clock. Nothing in the simulated world waits without sleeping, so
//! the work always finishes.

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
    /// Where time stops within a limit.
    limit: Cell<Option<u64>>,
    /// Whether a sleep met the limit.
    cut: Cell<bool>,
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
        let until = self.now.get() + duration.0;
        match self.limit.get() {
            Some(limit) if until > limit => {
                self.now.set(self.now.get().max(limit));
                self.cut.set(true);
            }
            _ => self.now.set(until),
        }
    }

    /// A fixed epoch plus virtual time, so simulated lease markers are reproducible; the epoch
    /// falls on a whole minute, as a period of CloudWatch does.
    fn epoch(&self) -> Millis {
        Millis(VIRTUAL_EPOCH.0 + self.now.get())
    }

    async fn within<T>(
        &self,
        limit: Millis,
        work: impl std::future::Future<Output = T>,
    ) -> Option<T> {
        let here = self.now.get() + limit.0;
        let outer = self.limit.get();
        let was_cut = self.cut.replace(false);
        self.limit.set(Some(outer.map_or(here, |o| o.min(here))));
        let out = work.await;
        let cut = self.cut.get();
        self.limit.set(outer);
        // A cut of an outer limit is the outer limit's to report too.
        self.cut
            .set(was_cut || cut && outer.is_some_and(|o| o <= here));
        (!cut).then_some(out)
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

    async fn within<T>(
        &self,
        limit: Millis,
        work: impl std::future::Future<Output = T>,
    ) -> Option<T> {
        self.clock.within(limit, work).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn within_a_limit_time_stops_there_and_the_work_is_abandoned() {
        let clock = VirtualClock::new();
        let quick = clock
            .within(Millis(10_000), async {
                clock.sleep(Millis(4_000)).await;
                7
            })
            .await;
        assert_eq!((quick, clock.now()), (Some(7), Millis(4_000)));
        let stalled = clock
            .within(Millis(10_000), async {
                for _ in 0..100 {
                    clock.sleep(Millis(20_000)).await;
                }
                7
            })
            .await;
        assert_eq!(stalled, None);
        assert_eq!(clock.now(), Millis(14_000), "time stopped at the limit");
        // An inner limit inside an outer one that is hit first.
        let nested = clock
            .within(Millis(1_000), async {
                clock
                    .within(Millis(5_000), async { clock.sleep(Millis(3_000)).await })
                    .await
            })
            .await;
        assert_eq!(nested, None);
        assert_eq!(clock.now(), Millis(15_000));
        clock.sleep(Millis(1_000)).await;
        assert_eq!(clock.now(), Millis(16_000), "no limit after it");
    }
}

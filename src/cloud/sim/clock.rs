//! The virtual clock: tokio's paused time, so `wait 10m` takes no real time and work that runs
//! concurrently (a fleet's alias writes, a second runner, an approver) shares one timeline.
//!
//! The runtime the simulated world runs on must start paused ([`runtime`]): tokio then moves
//! time to the next timer whenever every task waits, exactly as a discrete-event simulation
//! does. Time limits are tokio's own: a limit that expires first drops the work, as on a real
//! clock.

use std::cell::Cell;

use super::SimWorld;
use crate::cloud::Clock;
use crate::plan::Millis;

/// Where virtual time starts, in epoch milliseconds: a whole minute in November 2026.
pub const VIRTUAL_EPOCH: Millis = Millis(1_796_000_040_000);

/// A current-thread runtime with time paused: what the simulated world runs on.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime")
}

/// Time that passes only when every task waits for it.
#[derive(Debug, Default)]
pub struct VirtualClock {
    /// Tokio's time at the last reading inside a runtime.
    seen: Cell<Option<tokio::time::Instant>>,
    /// Milliseconds of tokio's time passed up to that reading.
    passed: Cell<u64>,
    /// Time moved forward by hand.
    advanced: Cell<u64>,
}

impl VirtualClock {
    /// A clock at zero.
    pub fn new() -> Self {
        VirtualClock::default()
    }

    /// Moves time forward without anyone sleeping (tests: "meanwhile, ten minutes pass").
    pub fn advance(&self, by: Millis) {
        self.advanced.set(self.advanced.get() + by.0);
    }

    /// Milliseconds of tokio's time passed while this clock was read. Outside a runtime, time
    /// stands still; a later runtime (whose paused time starts elsewhere) carries on from the
    /// last reading.
    fn passed(&self) -> u64 {
        if tokio::runtime::Handle::try_current().is_ok() {
            let now = tokio::time::Instant::now();
            if let Some(seen) = self.seen.get() {
                let since = now.saturating_duration_since(seen).as_millis() as u64;
                self.passed.set(self.passed.get() + since);
            }
            // Whole milliseconds only, so that what is left over is counted next time.
            let rest = now
                .saturating_duration_since(self.seen.get().unwrap_or(now))
                .as_nanos()
                % 1_000_000;
            self.seen
                .set(Some(now - std::time::Duration::from_nanos(rest as u64)));
        }
        self.passed.get()
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Millis {
        Millis(self.advanced.get() + self.passed())
    }

    async fn sleep(&self, duration: Millis) {
        self.passed();
        tokio::time::sleep(std::time::Duration::from_millis(duration.0)).await;
    }

    /// A fixed epoch plus virtual time, so simulated lease markers are reproducible; the epoch
    /// falls on a whole minute, as a period of CloudWatch does.
    fn epoch(&self) -> Millis {
        Millis(VIRTUAL_EPOCH.0 + self.now().0)
    }

    async fn within<T>(
        &self,
        limit: Millis,
        work: impl std::future::Future<Output = T>,
    ) -> Option<T> {
        self.passed();
        tokio::time::timeout(std::time::Duration::from_millis(limit.0), work)
            .await
            .ok()
    }
}

impl Clock for SimWorld {
    fn now(&self) -> Millis {
        self.clock.now()
    }

    async fn sleep(&self, duration: Millis) {
        self.clock.sleep(duration).await;
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

/// A world's clock that a person stops (Ctrl-C) at `at`: for tests.
#[cfg(test)]
pub(crate) struct StopsAt<'w> {
    /// The world whose clock it is.
    pub(crate) world: &'w SimWorld,
    /// When the person stops the run.
    pub(crate) at: Millis,
}

#[cfg(test)]
impl Clock for StopsAt<'_> {
    fn now(&self) -> Millis {
        self.world.now()
    }

    async fn sleep(&self, duration: Millis) {
        let left = self.at.0.saturating_sub(self.world.now().0);
        if left > 0 {
            self.world.sleep(Millis(duration.0.min(left))).await;
        }
    }

    async fn pause(&self, duration: Millis) {
        self.world.pause(duration).await;
    }

    fn interrupted(&self) -> bool {
        self.world.now() >= self.at
    }

    fn epoch(&self) -> Millis {
        self.world.epoch()
    }

    async fn within<T>(
        &self,
        limit: Millis,
        work: impl std::future::Future<Output = T>,
    ) -> Option<T> {
        self.world.within(limit, work).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
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

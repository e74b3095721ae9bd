//! Time, real or virtual: the [`Clock`] the engine waits on, and [`WallClock`], real time that
//! Ctrl-C interrupts. The simulated world's clock is [`super::sim::clock::VirtualClock`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio::sync::Notify;

use crate::plan::Millis;

/// Time, real or virtual.
#[allow(async_fn_in_trait)]
pub trait Clock {
    /// Time since an arbitrary fixed start.
    fn now(&self) -> Millis;
    /// Waits for `duration`; returns early once interrupted.
    async fn sleep(&self, duration: Millis);

    /// Waits for `duration`, interrupted or not: the pace of calls and the pause before a retry,
    /// which the rollback after an interrupt needs as much as the run did (a second signal stops
    /// the process at once).
    async fn pause(&self, duration: Millis) {
        self.sleep(duration).await;
    }

    /// Whether a person asked the rollout to stop (Ctrl-C): the engine rolls back.
    fn interrupted(&self) -> bool {
        false
    }

    /// Why the rollout was asked to stop, once [`Clock::interrupted`].
    fn stop_reason(&self) -> String {
        "interrupted by a person".to_string()
    }

    /// Wall time in epoch milliseconds: where CloudWatch's periods are aligned.
    fn epoch(&self) -> Millis;

    /// `work`'s output if it finishes within `limit`, else `None` (it is then abandoned).
    async fn within<T>(
        &self,
        limit: Millis,
        work: impl std::future::Future<Output = T>,
    ) -> Option<T>;

    /// Wall time in Unix seconds, for lease markers other machines read.
    fn unix(&self) -> u64 {
        self.epoch().0 / 1000
    }
}

/// A clock lent out keeps its time.
impl<C: Clock> Clock for &C {
    fn now(&self) -> Millis {
        (**self).now()
    }

    async fn sleep(&self, duration: Millis) {
        (**self).sleep(duration).await;
    }

    async fn pause(&self, duration: Millis) {
        (**self).pause(duration).await;
    }

    fn interrupted(&self) -> bool {
        (**self).interrupted()
    }

    fn stop_reason(&self) -> String {
        (**self).stop_reason()
    }

    fn epoch(&self) -> Millis {
        (**self).epoch()
    }

    async fn within<T>(
        &self,
        limit: Millis,
        work: impl std::future::Future<Output = T>,
    ) -> Option<T> {
        (**self).within(limit, work).await
    }

    fn unix(&self) -> u64 {
        (**self).unix()
    }
}

/// Real time, interruptible by Ctrl-C.
#[derive(Debug, Clone)]
pub struct WallClock {
    start: Instant,
    interrupted: Arc<AtomicBool>,
    notify: Arc<Notify>,
}

impl WallClock {
    /// A clock starting now.
    pub fn new() -> Self {
        WallClock {
            start: Instant::now(),
            interrupted: Arc::new(AtomicBool::new(false)),
            notify: Arc::new(Notify::new()),
        }
    }

    /// Ends every sleep now and from now on; the engine then rolls back.
    pub fn interrupt(&self) {
        self.interrupted.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }
}

impl Default for WallClock {
    fn default() -> Self {
        WallClock::new()
    }
}

impl Clock for WallClock {
    fn now(&self) -> Millis {
        Millis(self.start.elapsed().as_millis() as u64)
    }

    async fn sleep(&self, duration: Millis) {
        if self.interrupted() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(duration.as_std()) => {}
            _ = self.notify.notified() => {}
        }
    }

    async fn pause(&self, duration: Millis) {
        tokio::time::sleep(duration.as_std()).await;
    }

    fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }

    async fn within<T>(
        &self,
        limit: Millis,
        work: impl std::future::Future<Output = T>,
    ) -> Option<T> {
        tokio::time::timeout(limit.as_std(), work).await.ok()
    }

    fn epoch(&self) -> Millis {
        Millis(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        )
    }
}

/// Unix seconds as an RFC 3339 time in UTC: `2026-12-07T09:00:00Z`.
pub fn utc(secs: u64) -> String {
    let at = i64::try_from(secs)
        .ok()
        .and_then(|secs| jiff::Timestamp::from_second(secs).ok())
        .unwrap_or(jiff::Timestamp::MAX);
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod utc_tests {
    #[test]
    fn unix_seconds_read_as_utc_times() {
        assert_eq!(super::utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(super::utc(1_796_000_000), "2026-11-30T00:53:20Z");
    }
}

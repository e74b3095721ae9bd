//! The one test double, a layer ([`super::layer`]) in front of any cloud trait: each call is
//! shown to a decision function as a [`Call`], with its number, and goes through, fails as an
//! [`Injected`] fault says, has someone else write the alias first, or lets other tasks run
//! after it. Tests of faults, of other writers and of races all use it; it is compiled for tests
//! only. (What failed in AWS as a rollout reports it is the engine's `Fault`.)

use std::cell::Cell;
use std::future::Future;

use super::call::Call;
use super::layer::{Layer, Layered};
use super::{Alias, AliasUpdate, Clock, CloudError, ATTEMPT_TIMEOUT};
use crate::plan::Millis;

/// What goes wrong in a call, injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injected {
    /// `TooManyRequestsException`, asking to wait two seconds.
    Throttle,
    /// A 5xx from the service: nothing was done.
    ServerError,
    /// The call reaches the service and takes effect, but its answer is lost.
    LostResponse,
    /// `ResourceConflictException`: an update is in progress.
    Busy,
    /// An alias write with a RevisionId that is no longer current (other calls: busy).
    StaleRevision,
    /// The session's credentials have expired.
    ExpiredCredentials,
    /// Nothing answers: the attempt times out after [`ATTEMPT_TIMEOUT`] without taking effect.
    Stall,
    /// The function or alias was deleted: `ResourceNotFoundException`.
    Deleted,
}

/// What happens to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// It goes through.
    Pass,
    /// It fails so.
    Fail(Injected),
    /// Someone else rewrites the alias (same routing, a new RevisionId) just before it, when it
    /// is an alias write; other calls go through.
    WriteFirst,
    /// It goes through, then the caller's task lets every other task run.
    Pause,
}

/// The decisions of a fault that strikes call number `at` (0-based, counting every call), once
/// or, when `persistent`, at every call from then on.
pub fn fault_at(at: usize, fault: Injected, persistent: bool) -> impl Fn(usize, &Call) -> Decision {
    move |n, _| {
        if n == at || persistent && n > at {
            Decision::Fail(fault)
        } else {
            Decision::Pass
        }
    }
}

/// Every call goes through.
pub fn pass(_: usize, _: &Call) -> Decision {
    Decision::Pass
}

/// The fault layer: `decide` sees each call with its number; stalls wait on `clock`.
pub struct Faults<'a, C, D> {
    clock: &'a C,
    decide: D,
    calls: Cell<usize>,
}

/// `inner`, with the faults `decide` decides; stalls wait on `inner`'s clock.
pub type Faulty<'a, T, D> = Layered<'a, T, Faults<'a, T, D>>;

impl<'a, T: Clock, D: Fn(usize, &Call) -> Decision> Faulty<'a, T, D> {
    /// Wraps `inner`.
    pub fn new(inner: &'a T, decide: D) -> Self {
        Layered::over(inner, Faults::new(inner, decide))
    }

    /// Calls seen so far.
    pub fn calls(&self) -> usize {
        self.layer.calls()
    }
}

impl<'a, C: Clock, D: Fn(usize, &Call) -> Decision> Faults<'a, C, D> {
    /// Faults as `decide` decides; stalls wait on `clock`.
    pub fn new(clock: &'a C, decide: D) -> Self {
        Faults {
            clock,
            decide,
            calls: Cell::new(0),
        }
    }

    /// Calls seen so far.
    pub fn calls(&self) -> usize {
        self.calls.get()
    }

    fn decision(&self, call: &Call) -> Decision {
        let n = self.calls.get();
        self.calls.set(n + 1);
        (self.decide)(n, call)
    }

    async fn apply<R>(
        &self,
        decision: Decision,
        call: impl Future<Output = Result<R, CloudError>>,
    ) -> Result<R, CloudError> {
        match decision {
            Decision::Pass | Decision::WriteFirst => call.await,
            Decision::Pause => {
                let result = call.await;
                tokio::task::yield_now().await;
                result
            }
            Decision::Fail(Injected::Throttle) => Err(CloudError::Throttled {
                message: "TooManyRequestsException: Rate exceeded".into(),
                retry_after: Some(Millis(2_000)),
            }),
            Decision::Fail(Injected::ServerError) => Err(CloudError::Transient(
                "ServiceException: 500 internal error".into(),
            )),
            Decision::Fail(Injected::LostResponse) => {
                let _ = call.await;
                Err(CloudError::Transient(
                    "timed out waiting for the response".into(),
                ))
            }
            Decision::Fail(Injected::ExpiredCredentials) => Err(CloudError::Credentials(
                "ExpiredTokenException: The security token included in the request is expired"
                    .into(),
            )),
            Decision::Fail(Injected::Busy | Injected::StaleRevision) => Err(CloudError::Busy(
                "ResourceConflictException: injected".into(),
            )),
            Decision::Fail(Injected::Deleted) => Err(CloudError::NotFound(
                "ResourceNotFoundException: Alias not found".into(),
            )),
            Decision::Fail(Injected::Stall) => {
                self.clock.sleep(ATTEMPT_TIMEOUT).await;
                Err(CloudError::Transient(format!(
                    "no answer in time (operation attempt timeout occurred after {ATTEMPT_TIMEOUT})"
                )))
            }
        }
    }
}

impl<C: Clock, D: Fn(usize, &Call) -> Decision> Layer for Faults<'_, C, D> {
    async fn around<R, F>(&self, call: &Call, next: impl Fn() -> F) -> Result<R, CloudError>
    where
        F: Future<Output = Result<R, CloudError>>,
    {
        self.apply(self.decision(call), next()).await
    }

    /// Someone else writes first through the same service: reads the alias and writes it back
    /// unchanged. A stale RevisionId is the service's own rejection.
    async fn around_write<W, G>(
        &self,
        call: &Call,
        update: &AliasUpdate,
        write: impl Fn(AliasUpdate) -> W,
        _reading: &Call,
        read: impl Fn() -> G,
    ) -> Result<Alias, CloudError>
    where
        W: Future<Output = Result<Alias, CloudError>>,
        G: Future<Output = Result<Alias, CloudError>>,
    {
        match self.decision(call) {
            Decision::WriteFirst => {
                if let Ok(now) = read().await {
                    let _ = write(AliasUpdate {
                        version: now.version,
                        routing: now.routing,
                        revision_id: now.revision_id,
                        description: None,
                    })
                    .await;
                }
                write(update.clone()).await
            }
            Decision::Fail(Injected::StaleRevision) => {
                write(AliasUpdate {
                    revision_id: "stale-revision".into(),
                    ..update.clone()
                })
                .await
            }
            decision => self.apply(decision, write(update.clone())).await,
        }
    }
}

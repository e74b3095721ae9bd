//! Sending notifications without holding the rollout up: the engine's sink maps an event and
//! queues what it makes; a task of its own sends each, in order, to every destination, trying a
//! throttled or unanswered call again a few times. What could not be sent is a failure to report,
//! never a reason to stop. Before the process exits, what is queued is sent within a time limit.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::message::{Kind, Mapper, Notification};
use crate::cloud::aws::Aws;
use crate::cloud::CloudError;
use crate::engine::events::{Event, EventSink};
use crate::plan::notify::{Destination, Service};

/// How many times one notification is tried on one destination.
pub const ATTEMPTS: u32 = 4;

/// The pause after the first failed attempt; each next one doubles it.
const FIRST_PAUSE: Duration = Duration::from_millis(250);

/// The longest pause between attempts, whatever the service asks.
const LONGEST_PAUSE: Duration = Duration::from_secs(5);

/// Sends one notification to one destination.
pub trait Post: Send + Sync + 'static {
    /// `PutEvents` or `Publish` of `notification` to `destination`.
    fn post(
        &self,
        destination: &Destination,
        notification: &Notification,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;
}

/// Clients by region: a destination's ARN names its region; a bus named without one is in the
/// rollout's region (the entry `None`).
#[derive(Debug, Clone, Default)]
pub struct Regional(pub BTreeMap<Option<String>, Aws>);

impl Post for Regional {
    async fn post(
        &self,
        destination: &Destination,
        notification: &Notification,
    ) -> Result<(), CloudError> {
        let Some(aws) = self
            .0
            .get(&destination.region)
            .or_else(|| self.0.get(&None))
        else {
            return Err(CloudError::Setup(
                "no client for its region: it could not be connected to".into(),
            ));
        };
        let detail = notification.json();
        match destination.service {
            Service::EventBridge => {
                let detail_type = notification.notification.detail_type();
                aws.put_event(&destination.target, detail_type, &detail)
                    .await
            }
            Service::Sns => {
                aws.publish(&destination.target, &notification.subject(), &detail)
                    .await
            }
        }
    }
}

/// A notification that could not be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Where it was to go, as the playbook writes it: `sns "arn:…"`.
    pub destination: String,
    /// Which notification (`step_started`); `None` for what time ran out on.
    pub notification: Option<Kind>,
    /// The region of the events it was about, in a waved rollout.
    pub region: Option<String>,
    /// Why.
    pub error: String,
}

/// The queue and the task that sends what it holds.
#[derive(Debug)]
pub struct Delivery {
    queue: mpsc::UnboundedSender<(Option<String>, Notification)>,
    task: JoinHandle<()>,
    failures: Arc<Mutex<Vec<Failure>>>,
    /// Notifications queued and not yet sent (or given up on) everywhere.
    pending: Arc<AtomicUsize>,
    destinations: Vec<Destination>,
}

impl Delivery {
    /// Starts the task that sends to `destinations` with `post`. Call from within a tokio
    /// runtime.
    pub fn start<P: Post>(post: P, destinations: Vec<Destination>) -> Delivery {
        let (queue, mut queued) = mpsc::unbounded_channel::<(Option<String>, Notification)>();
        let failures = Arc::new(Mutex::new(Vec::new()));
        let pending = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn({
            let (failures, pending, destinations) =
                (failures.clone(), pending.clone(), destinations.clone());
            async move {
                while let Some((region, notification)) = queued.recv().await {
                    for destination in &destinations {
                        if let Err(error) = send(&post, destination, &notification).await {
                            lock(&failures).push(Failure {
                                destination: destination.to_string(),
                                notification: Some(notification.notification),
                                region: region.clone(),
                                error: error.to_string(),
                            });
                        }
                    }
                    pending.fetch_sub(1, Ordering::SeqCst);
                }
            }
        });
        Delivery {
            queue,
            task,
            failures,
            pending,
            destinations,
        }
    }

    /// Queues `notification`, about the events of `region`; returns at once.
    pub fn send(&self, region: Option<String>, notification: Notification) {
        self.pending.fetch_add(1, Ordering::SeqCst);
        if self.queue.send((region, notification)).is_err() {
            // The task is gone (it panicked): what it would have sent is lost.
            self.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// The failures since the last call.
    pub fn failures(&self) -> Vec<Failure> {
        std::mem::take(&mut *lock(&self.failures))
    }

    /// Sends what is queued, waiting at most `limit`; every failure not yet taken, and one for
    /// what time ran out on.
    pub async fn finish(self, limit: Duration) -> Vec<Failure> {
        let Delivery {
            queue,
            mut task,
            failures,
            pending,
            destinations,
        } = self;
        drop(queue);
        let finished = tokio::time::timeout(limit, &mut task).await.is_ok();
        if !finished {
            task.abort();
        }
        let mut failed = std::mem::take(&mut *lock(&failures));
        let left = pending.load(Ordering::SeqCst);
        if !finished && left > 0 {
            let to: Vec<String> = destinations.iter().map(Destination::to_string).collect();
            failed.push(Failure {
                destination: to.join(", "),
                notification: None,
                region: None,
                error: format!(
                    "{left} notification{} not sent: sending took longer than {}s",
                    if left == 1 { "" } else { "s" },
                    limit.as_secs()
                ),
            });
        }
        failed
    }
}

/// The failures, even after a panic while they were held.
fn lock(failures: &Mutex<Vec<Failure>>) -> std::sync::MutexGuard<'_, Vec<Failure>> {
    failures.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sends `notification` to `destination`, trying again after a throttled or unanswered
/// attempt, [`ATTEMPTS`] times in all.
async fn send<P: Post>(
    post: &P,
    destination: &Destination,
    notification: &Notification,
) -> Result<(), CloudError> {
    let mut pause = FIRST_PAUSE;
    let mut attempt = 1;
    loop {
        match post.post(destination, notification).await {
            Ok(()) => return Ok(()),
            Err(error) if error.retried() && attempt < ATTEMPTS => {
                let asked = match &error {
                    CloudError::Throttled {
                        retry_after: Some(after),
                        ..
                    } => after.as_std().max(pause),
                    _ => pause,
                };
                tokio::time::sleep(asked.min(LONGEST_PAUSE)).await;
                pause *= 2;
                attempt += 1;
            }
            Err(error) => return Err(error),
        }
    }
}

/// The sink that maps the engine's events to notifications and queues them.
#[derive(Debug)]
pub struct Notifier {
    mapper: Mapper,
    delivery: Delivery,
}

impl Notifier {
    /// Maps events with `mapper` and sends with `delivery`.
    pub fn new(mapper: Mapper, delivery: Delivery) -> Notifier {
        Notifier { mapper, delivery }
    }

    /// The failures since the last call.
    pub fn failures(&self) -> Vec<Failure> {
        self.delivery.failures()
    }

    /// Sends what is queued, within `limit`; the failures not yet taken.
    pub async fn finish(self, limit: Duration) -> Vec<Failure> {
        self.delivery.finish(limit).await
    }
}

impl EventSink for Notifier {
    fn emit(&mut self, event: &Event) {
        if let Some(notification) = self.mapper.map(event) {
            self.delivery.send(event.region.clone(), notification);
        }
    }
}

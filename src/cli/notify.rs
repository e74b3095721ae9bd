//! The notifications of `run` and `resume`: clients for the playbook's `notify` destinations,
//! and what is still queued sent before the process exits.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Duration;

use super::args::AwsArgs;
use crate::cloud::aws::Aws;
use crate::notify::{Delivery, Mapper, Notifier, Regional};
use crate::plan::Plan;
use crate::report::Tee;

/// How long what is still queued when the rollout ends may take to send.
const FLUSH: Duration = Duration::from_secs(10);

/// The sink that sends `plan`'s notifications about its rollout on `alias`, whose events without
/// a region are in `region`; `None` when the playbook has no `notify` line. A destination whose
/// region cannot be reached is left out with a warning: notifications never stop a rollout.
pub(super) async fn notifier(
    aws: &AwsArgs,
    plan: &Plan,
    alias: &str,
    region: Option<String>,
) -> Option<Notifier> {
    if plan.notify.is_empty() {
        return None;
    }
    let mut clients = BTreeMap::new();
    let mut destinations = Vec::new();
    for destination in &plan.notify {
        if !clients.contains_key(&destination.region) {
            // A bus named without an ARN is in the rollout's region (with waves: the
            // configuration's).
            let reach = destination.region.clone().or(plan.targets.region.clone());
            match Aws::connect(&aws.options(reach)).await {
                Ok(client) => {
                    clients.insert(destination.region.clone(), client);
                }
                Err(error) => {
                    eprintln!("warning: notifications to {destination} will not be sent: {error}; the rollout goes on");
                    continue;
                }
            }
        }
        destinations.push(destination.clone());
    }
    Some(Notifier::new(
        Mapper::new(plan, alias, region),
        Delivery::start(Regional(clients), destinations),
    ))
}

/// Sends what `sink`'s notifier still holds, within [`FLUSH`], telling of each failure at
/// `at_ms`.
pub(super) async fn flush(sink: &RefCell<Tee>, at_ms: u64) {
    let notifier = sink.borrow_mut().notifier.take();
    if let Some(notifier) = notifier {
        for failure in notifier.finish(FLUSH).await {
            sink.borrow_mut().notify_failed(failure, at_ms);
        }
    }
}

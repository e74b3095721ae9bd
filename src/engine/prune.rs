//! `keep N versions`: after a successful `promote`, each function's oldest versions that nothing
//! uses are deleted, the N newest of them kept. `new` already serves everything, so a prune that
//! fails is reported and the rollout still succeeds.

use super::events::EventKind;
use super::Engine;
use crate::cloud::prune::inventory;
use crate::cloud::{Clock, CloudError, LambdaApi, MetricsApi};

impl<L: LambdaApi, M: MetricsApi, C: Clock> Engine<'_, L, M, C> {
    /// Prunes every function whose `new` was promoted, one after another, when the playbook
    /// says `keep N versions`.
    pub(super) async fn prune(&self) {
        let Some(keep) = self.playbook.keep else {
            return;
        };
        let lambda = self.services.lambda;
        for t in self.progress.targets.iter().filter(|t| t.active) {
            let Some(new) = &t.new else {
                continue;
            };
            let function = t.function.clone();
            let decision = match inventory(lambda, &function).await {
                Ok(found) => found.decide(&t.old, new, keep),
                Err(error) => {
                    self.emit(EventKind::PruneFailed {
                        function,
                        deleted: Vec::new(),
                        error: error.to_string(),
                    });
                    continue;
                }
            };
            let mut deleted = Vec::new();
            let mut failed = None;
            for version in &decision.delete {
                match lambda.delete_version(&function, version).await {
                    // Gone already: a retried delete whose first answer was lost, or someone
                    // else's prune.
                    Ok(()) | Err(CloudError::NotFound(_)) => deleted.push(version.clone()),
                    Err(error) => {
                        failed = Some(error);
                        break;
                    }
                }
            }
            self.emit(match failed {
                None => EventKind::Pruned {
                    function,
                    deleted,
                    kept: decision.kept,
                },
                Some(error) => EventKind::PruneFailed {
                    function,
                    deleted,
                    error: error.to_string(),
                },
            });
        }
    }
}

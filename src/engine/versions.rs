//! Choosing `new`: `update code` uploads to `$LATEST` and waits for the update, `publish` freezes
//! `$LATEST` into a version, `use version N` takes one that exists. Each checks what Lambda would
//! refuse later (two execution roles) before any traffic moves.

use std::path::Path;

use super::events::EventKind;
use super::reasons::{Cause, Fault, Refusal};
use super::stop::{cloud, Stop};
use super::{Engine, UPDATE_DEADLINE};
use crate::cloud::{Clock, CloudError, FunctionState, LambdaApi, MetricsApi, UpdateStatus};
use crate::plan::Millis;

impl<L: LambdaApi, M: MetricsApi, C: Clock> Engine<'_, L, M, C> {
    /// `update code from ZIP` on every target.
    pub(super) async fn update_code(&mut self, zip: &Path) -> Result<(), Stop> {
        let bytes = std::fs::read(zip).map_err(|e| {
            Stop::fail(Cause::ZipUnreadable {
                path: zip.to_path_buf(),
                error: e.to_string(),
            })
        })?;
        for i in 0..self.progress.targets.len() {
            let function = self.progress.targets[i].function.clone();
            self.services
                .lambda
                .update_code(&function, &bytes)
                .await
                .map_err(cloud)?;
            self.wait_updated(&function).await?;
            self.emit(EventKind::CodeUpdated { function });
        }
        Ok(())
    }

    /// `publish`: the version each target's `$LATEST` becomes is its `new`.
    pub(super) async fn publish(&mut self, description: Option<&str>) -> Result<(), Stop> {
        for i in 0..self.progress.targets.len() {
            let function = self.progress.targets[i].function.clone();
            self.wait_updated(&function).await?;
            let version = self
                .services
                .lambda
                .publish_version(&function, description)
                .await
                .map_err(cloud)?;
            let unchanged = version == self.progress.targets[i].old;
            self.emit(EventKind::Published {
                function: function.clone(),
                version: version.clone(),
                unchanged,
            });
            self.choose(i, version, unchanged).await?;
        }
        self.nothing_left()
    }

    /// `use version N`: a published version is `new` on every target.
    pub(super) async fn use_version(&mut self, version: u64) -> Result<(), Stop> {
        let version = version.to_string();
        for i in 0..self.progress.targets.len() {
            let function = self.progress.targets[i].function.clone();
            match self
                .services
                .lambda
                .get_function(&function, Some(&version))
                .await
            {
                Ok(_) => {}
                Err(CloudError::NotFound(_)) => {
                    return Err(Stop::refuse(Refusal::NoSuchVersion { function, version }))
                }
                Err(other) => return Err(cloud(other)),
            }
            let unchanged = version == self.progress.targets[i].old;
            self.choose(i, version.clone(), unchanged).await?;
        }
        self.nothing_left()
    }

    /// Records `new` of target `i`, refusing versions whose role differs from `old`'s.
    async fn choose(&mut self, i: usize, version: String, unchanged: bool) -> Result<(), Stop> {
        let t = &self.progress.targets[i];
        let (function, old) = (t.function.clone(), t.old.clone());
        if unchanged {
            self.progress.targets[i].active = false;
            return Ok(());
        }
        let lambda = self.services.lambda;
        let old_info = lambda
            .get_function(&function, Some(&old))
            .await
            .map_err(cloud)?;
        let new_info = lambda
            .get_function(&function, Some(&version))
            .await
            .map_err(cloud)?;
        if old_info.role != new_info.role {
            return Err(Stop::refuse(Refusal::RoleMismatch {
                function,
                old,
                old_role: old_info.role,
                new: version,
                new_role: new_info.role,
            }));
        }
        self.progress.targets[i].new = Some(version.clone());
        self.progress.targets[i].timeout = Some(old_info.timeout.max(new_info.timeout));
        self.emit(EventKind::VersionsChosen {
            function,
            old,
            new: version,
        });
        Ok(())
    }

    /// Ends with "nothing to roll out" when no target has a new version.
    fn nothing_left(&self) -> Result<(), Stop> {
        if self.progress.targets.iter().any(|t| t.active) {
            Ok(())
        } else {
            Err(Stop::NothingToRollOut)
        }
    }

    /// Polls `$LATEST` until its last update is done.
    async fn wait_updated(&mut self, function: &str) -> Result<(), Stop> {
        let clock = self.services.clock;
        let deadline = Millis(clock.now().0 + UPDATE_DEADLINE.0);
        // Polls back off from `poll` to five times it: fast for the usual few seconds, gentle
        // on the API for a long update.
        let mut pause = self.settings.poll;
        loop {
            let info = self
                .services
                .lambda
                .get_function(function, None)
                .await
                .map_err(cloud)?;
            match (info.state, info.last_update) {
                (FunctionState::Failed, _) => {
                    return Err(Stop::fail(Cause::FunctionFailed {
                        function: function.to_string(),
                    }))
                }
                (_, UpdateStatus::Failed(reason)) => {
                    return Err(Stop::fail(Cause::UpdateFailed {
                        function: function.to_string(),
                        reason,
                    }))
                }
                (FunctionState::Active | FunctionState::Inactive, UpdateStatus::Successful) => {
                    return Ok(())
                }
                (FunctionState::Pending, _) | (_, UpdateStatus::InProgress) => {
                    if clock.now() >= deadline {
                        return Err(Stop::Cloud(Fault::StillUpdating {
                            function: function.to_string(),
                            after: UPDATE_DEADLINE,
                        }));
                    }
                    if clock.interrupted() {
                        return Err(Stop::Interrupted);
                    }
                    clock.sleep(pause).await;
                    pause = Millis((pause.0 * 2).min(self.settings.poll.0 * 5));
                }
            }
        }
    }
}

//! Choosing `new`: `update code` uploads to `$LATEST` and waits for the update, `publish` freezes
//! exactly the `$LATEST` the rollout read (or uploaded), `use version N` takes one that exists.
//! Traffic goes only to a version that can serve it: each `new` is waited for until `Active`.

use std::path::Path;

use super::events::EventKind;
use super::reasons::{Cause, Fault};
use super::stop::{cloud_on, Stop};
use super::{first_error, Engine, Target, UPDATE_DEADLINE};
use crate::cloud::{
    Clock, CloudError, FunctionInfo, FunctionState, LambdaApi, Latest, MetricsApi, UpdateStatus,
};
use crate::plan::Millis;

impl<L: LambdaApi, M: MetricsApi, C: Clock> Engine<'_, L, M, C> {
    /// `update code from ZIP` on every target at once: what the update made is what `publish`
    /// freezes.
    pub(super) async fn update_code(&mut self, zip: &Path) -> Result<(), Stop> {
        let bytes = crate::input::read_bytes(zip, crate::input::MAX_ZIP_BYTES).map_err(|e| {
            Stop::fail(Cause::ZipUnreadable {
                path: zip.to_path_buf(),
                error: e.to_string(),
            })
        })?;
        let bytes = &bytes;
        let results = self
            .each(async |engine, t| {
                let function = t.function.clone();
                let code_sha256 = engine
                    .services
                    .lambda
                    .update_code(&function, bytes)
                    .await
                    .map_err(|error| cloud_on(&function, error))?;
                let info = engine.wait_ready(&function, None).await?;
                if info.code_sha256 != code_sha256 {
                    return Err(Stop::fail(Cause::LatestChanged {
                        function,
                        detail: format!("uploaded code {code_sha256}, found {}", info.code_sha256),
                    }));
                }
                t.latest = Some(Latest {
                    code_sha256,
                    revision_id: info.revision_id,
                });
                engine.emit(EventKind::CodeUpdated { function });
                Ok(())
            })
            .await;
        first_error(results)
    }

    /// `publish`: each target's `$LATEST`, as read before the rollout began (or as `update code`
    /// left it), becomes a version, its `new`, all targets at once. Lambda refuses the publish
    /// if `$LATEST` changed.
    pub(super) async fn publish(&mut self, description: Option<&str>) -> Result<(), Stop> {
        let results = self
            .each(async |engine, t| engine.publish_one(t, description).await)
            .await;
        first_error(results)?;
        self.nothing_left()
    }

    /// `publish` on one target.
    async fn publish_one(&self, t: &mut Target, description: Option<&str>) -> Result<(), Stop> {
        let function = t.function.clone();
        let now = self.wait_ready(&function, None).await?;
        let expected = t.latest.clone().unwrap_or_else(|| Latest::of(&now));
        if Latest::of(&now) != expected {
            return Err(Stop::fail(Cause::LatestChanged {
                function,
                detail: format!(
                    "code {} revision {}, now code {} revision {}",
                    expected.code_sha256, expected.revision_id, now.code_sha256, now.revision_id
                ),
            }));
        }
        let version = match self
            .services
            .lambda
            .publish_version(&function, &expected, description)
            .await
        {
            Ok(version) => version,
            // The only parameters are the code hash and the revision that were read.
            Err(CloudError::Stale(detail) | CloudError::InvalidParameter(detail)) => {
                return Err(Stop::fail(Cause::LatestChanged { function, detail }))
            }
            Err(other) => return Err(cloud_on(&function, other)),
        };
        let unchanged = version == t.old;
        self.emit(EventKind::Published {
            function,
            version: version.clone(),
            unchanged,
        });
        self.choose(t, version, unchanged).await
    }

    /// `use version N`: a published version (checked before the rollout began) is `new` on every
    /// target.
    pub(super) async fn use_version(&mut self, version: u64) -> Result<(), Stop> {
        let version = version.to_string();
        let results = self
            .each(async |engine, t| {
                let unchanged = version == t.old;
                engine.choose(t, version.clone(), unchanged).await
            })
            .await;
        first_error(results)?;
        self.nothing_left()
    }

    /// Records `new` of `t` once it is `Active`.
    async fn choose(&self, t: &mut Target, version: String, unchanged: bool) -> Result<(), Stop> {
        if unchanged {
            t.active = false;
            return Ok(());
        }
        self.wait_ready(&t.function, Some(&version)).await?;
        t.new = Some(version.clone());
        self.emit(EventKind::VersionsChosen {
            function: t.function.clone(),
            old: t.old.clone(),
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

    /// Polls `$LATEST` (`None`) or a version until no update is in progress and it is not
    /// `Pending`; returns what it then is.
    pub(super) async fn wait_ready(
        &self,
        function: &str,
        version: Option<&str>,
    ) -> Result<FunctionInfo, Stop> {
        let clock = self.services.clock;
        let deadline = Millis(clock.now().0 + UPDATE_DEADLINE.0);
        let named = || match version {
            Some(v) => format!("{function}:{v}"),
            None => function.to_string(),
        };
        // Polls back off from `poll` to five times it: fast for the usual few seconds, gentle
        // on the API for a long update.
        let mut pause = self.settings.poll;
        loop {
            let info = self
                .services
                .lambda
                .get_function(function, version)
                .await
                .map_err(|error| cloud_on(function, error))?;
            match (info.state, &info.last_update) {
                (FunctionState::Failed, _) => {
                    return Err(Stop::fail(Cause::FunctionFailed { function: named() }))
                }
                (_, UpdateStatus::Failed(reason)) => {
                    return Err(Stop::fail(Cause::UpdateFailed {
                        function: named(),
                        reason: reason.clone(),
                    }))
                }
                (FunctionState::Active | FunctionState::Inactive, UpdateStatus::Successful) => {
                    return Ok(info)
                }
                (FunctionState::Pending, _) | (_, UpdateStatus::InProgress) => {
                    if clock.now() >= deadline {
                        return Err(Stop::Cloud(Fault::StillUpdating {
                            function: named(),
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

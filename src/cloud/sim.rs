//! An in-memory Lambda and CloudWatch that enforce the rules the real services enforce, driven
//! by the traffic model on a virtual clock.
//!
//! Rules (each proved by a test below): versions are numbered by the service; publishing an
//! unchanged `$LATEST` returns the last version; publishing while an update is in progress is a
//! conflict; an alias routes to at most one additional version, with a weight in [0, 1), never
//! `$LATEST`, never an unknown version, never its own primary; every alias write changes the
//! RevisionId and a stale one is rejected; code updates go through `InProgress` before
//! `Successful`.

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::{
    AlarmState, Alias, AliasUpdate, Clock, CloudError, FunctionInfo, FunctionState, Invocation,
    LambdaApi, MetricQuery, MetricsApi, UpdateStatus,
};
use crate::plan::Millis;
use crate::sim::clock::VirtualClock;
use crate::sim::traffic::{Profile, Traffic};

/// How long a simulated code update stays `InProgress`.
pub const UPDATE_TIME: Millis = Millis(3_000);

/// The simulated world's set-up.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Functions, each with `alias` pointing at version 1 and a changed `$LATEST`.
    pub functions: Vec<String>,
    /// The alias.
    pub alias: String,
    /// Invocations per second per function.
    pub rps: f64,
    /// How the version the alias serves at the start behaves.
    pub old: Profile,
    /// How every later version behaves.
    pub new: Profile,
    /// Versions published before the rollout (at least 1); the alias serves version 1.
    pub versions: u64,
    /// Seed of every random choice.
    pub seed: u64,
}

#[derive(Debug, Clone)]
struct Version {
    code: String,
}

#[derive(Debug)]
struct Function {
    /// Published versions; version N is at index N - 1.
    versions: Vec<Version>,
    latest_code: String,
    /// `InProgress` until this time.
    update_done_at: Millis,
    /// Set by tests: the next code update fails with this reason.
    fail_next_update: Option<String>,
    last_update_failed: Option<String>,
    aliases: BTreeMap<String, Alias>,
    /// Traffic generated up to here.
    generated_until: Millis,
}

#[derive(Debug)]
struct State {
    functions: BTreeMap<String, Function>,
    alarms: BTreeMap<String, AlarmState>,
    traffic: Traffic,
    next_revision: u64,
    calls: Vec<String>,
    old_versions: BTreeMap<String, String>,
    old: Profile,
    new: Profile,
    /// `new` behaviour of particular functions, replacing `new`.
    new_by_function: BTreeMap<String, Profile>,
}

/// The simulated Lambda, CloudWatch and clock.
#[derive(Debug)]
pub struct SimWorld {
    clock: VirtualClock,
    state: RefCell<State>,
}

impl SimWorld {
    /// A world set up as `config` says.
    pub fn new(config: &SimConfig) -> Self {
        let mut state = State {
            functions: BTreeMap::new(),
            alarms: BTreeMap::new(),
            traffic: Traffic::new(config.rps, config.seed),
            next_revision: 1,
            calls: Vec::new(),
            old_versions: BTreeMap::new(),
            old: config.old,
            new: config.new,
            new_by_function: BTreeMap::new(),
        };
        for name in &config.functions {
            let versions = (1..=config.versions.max(1))
                .map(|n| Version {
                    code: format!("code-{n}"),
                })
                .collect();
            let revision_id = state.revision();
            let alias = Alias {
                version: "1".to_string(),
                routing: BTreeMap::new(),
                revision_id,
                description: String::new(),
            };
            state.functions.insert(
                name.clone(),
                Function {
                    versions,
                    latest_code: "code-latest".to_string(),
                    update_done_at: Millis(0),
                    fail_next_update: None,
                    last_update_failed: None,
                    aliases: BTreeMap::from([(config.alias.clone(), alias)]),
                    generated_until: Millis(0),
                },
            );
            state.old_versions.insert(name.clone(), "1".to_string());
        }
        SimWorld {
            clock: VirtualClock::new(),
            state: RefCell::new(state),
        }
    }

    /// The virtual clock.
    pub fn clock(&self) -> &VirtualClock {
        &self.clock
    }

    /// Every call made so far, one line each, in order.
    pub fn calls(&self) -> Vec<String> {
        self.state.borrow().calls.clone()
    }

    /// Calls that changed something (writes), in order.
    pub fn writes(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| {
                ["UpdateAlias", "PublishVersion", "UpdateFunctionCode"]
                    .iter()
                    .any(|w| c.starts_with(w))
            })
            .collect()
    }

    /// The alias as it is now.
    pub fn alias(&self, function: &str, alias: &str) -> Option<Alias> {
        let state = self.state.borrow();
        state.functions.get(function)?.aliases.get(alias).cloned()
    }

    /// Makes `$LATEST` equal to the last published version: a publish changes nothing.
    pub fn unchange_latest(&self, function: &str) {
        let mut state = self.state.borrow_mut();
        let f = state.functions.get_mut(function).expect("known function");
        f.latest_code = f.versions.last().expect("a version").code.clone();
    }

    /// Makes the next code update of `function` fail.
    pub fn fail_next_update(&self, function: &str, reason: &str) {
        let mut state = self.state.borrow_mut();
        let f = state.functions.get_mut(function).expect("known function");
        f.fail_next_update = Some(reason.to_string());
    }

    /// Makes new versions of one function behave differently from the others.
    pub fn set_new_profile(&self, function: &str, profile: Profile) {
        self.state
            .borrow_mut()
            .new_by_function
            .insert(function.to_string(), profile);
    }

    /// Sets an alarm's state.
    pub fn set_alarm(&self, name: &str, alarm: AlarmState) {
        self.state
            .borrow_mut()
            .alarms
            .insert(name.to_string(), alarm);
    }

    /// Sets an alias's description as someone else would.
    pub fn describe_alias(&self, function: &str, alias: &str, description: &str) {
        self.write_alias_as_someone_else(function, alias, |a| {
            a.description = description.to_string()
        });
    }

    /// Someone else writes the alias (tests of conflicts): same routing, new RevisionId.
    pub fn touch_alias(&self, function: &str, alias: &str) {
        self.write_alias_as_someone_else(function, alias, |_| {});
    }

    fn write_alias_as_someone_else(
        &self,
        function: &str,
        alias: &str,
        change: impl FnOnce(&mut Alias),
    ) {
        let mut state = self.state.borrow_mut();
        let revision = state.revision();
        let a = state
            .functions
            .get_mut(function)
            .and_then(|f| f.aliases.get_mut(alias))
            .expect("known alias");
        change(a);
        a.revision_id = revision;
    }

    /// Invocations and errors served by a version so far.
    pub fn served(&self, function: &str, version: &str) -> (u64, u64) {
        let mut state = self.state.borrow_mut();
        state.generate_all(self.clock.now());
        state.traffic.served(function, version)
    }
}

impl State {
    fn revision(&mut self) -> String {
        let id = format!("rev-{}", self.next_revision);
        self.next_revision += 1;
        id
    }

    fn profile(&self, function: &str, version: &str) -> Profile {
        if self
            .old_versions
            .get(function)
            .is_some_and(|v| v == version)
        {
            self.old
        } else {
            self.new_by_function
                .get(function)
                .copied()
                .unwrap_or(self.new)
        }
    }

    /// Brings the traffic of every function up to `now` under the routing in force.
    fn generate_all(&mut self, now: Millis) {
        let names: Vec<String> = self.functions.keys().cloned().collect();
        for name in names {
            self.generate(&name, now);
        }
    }

    fn generate(&mut self, name: &str, now: Millis) {
        let Some(function) = self.functions.get(name) else {
            return;
        };
        let from = function.generated_until;
        if from >= now {
            return;
        }
        let mut split = Vec::new();
        for alias in function.aliases.values() {
            let extra: f64 = alias.routing.values().sum();
            split.push((
                alias.version.clone(),
                1.0 - extra,
                self.profile(name, &alias.version),
            ));
            for (version, weight) in &alias.routing {
                split.push((version.clone(), *weight, self.profile(name, version)));
            }
        }
        self.traffic.generate(name, from, now, &split);
        if let Some(function) = self.functions.get_mut(name) {
            function.generated_until = now;
        }
    }

    /// A function no update is in progress on, to change.
    fn idle_function_mut(&mut self, name: &str, now: Millis) -> Result<&mut Function, CloudError> {
        let f = self
            .functions
            .get_mut(name)
            .ok_or_else(|| CloudError::NotFound(format!("Function not found: {name}")))?;
        if now < f.update_done_at {
            return Err(CloudError::Conflict(
                "The operation cannot be performed at this time. An update is in progress for resource".into(),
            ));
        }
        Ok(f)
    }

    fn function(&self, name: &str) -> Result<&Function, CloudError> {
        self.functions
            .get(name)
            .ok_or_else(|| CloudError::NotFound(format!("Function not found: {name}")))
    }

    fn version_exists(&self, function: &str, version: &str) -> bool {
        self.functions.get(function).is_some_and(|f| {
            version
                .parse::<usize>()
                .is_ok_and(|n| n >= 1 && n <= f.versions.len())
        })
    }
}

fn routing_text(routing: &BTreeMap<String, f64>) -> String {
    let parts: Vec<String> = routing.iter().map(|(v, w)| format!("{v}: {w}")).collect();
    format!("{{{}}}", parts.join(", "))
}

impl LambdaApi for SimWorld {
    async fn get_alias(&self, function: &str, alias: &str) -> Result<Alias, CloudError> {
        let mut state = self.state.borrow_mut();
        state.calls.push(format!("GetAlias {function}:{alias}"));
        state
            .function(function)?
            .aliases
            .get(alias)
            .cloned()
            .ok_or_else(|| CloudError::NotFound(format!("Alias not found: {function}:{alias}")))
    }

    async fn update_alias(
        &self,
        function: &str,
        alias: &str,
        update: &AliasUpdate,
    ) -> Result<Alias, CloudError> {
        let now = self.clock.now();
        let mut state = self.state.borrow_mut();
        let lease = match update
            .description
            .as_deref()
            .map(crate::cloud::lease::Marker::parse)
        {
            Some((_, Some(marker))) => format!(" lease=step{}/{}", marker.step, marker.steps),
            Some((_, None)) => " lease=released".to_string(),
            None => String::new(),
        };
        state.calls.push(format!(
            "UpdateAlias {function}:{alias} version={} routing={} revision={}{lease}",
            update.version,
            routing_text(&update.routing),
            update.revision_id
        ));
        let current = state
            .function(function)?
            .aliases
            .get(alias)
            .cloned()
            .ok_or_else(|| CloudError::NotFound(format!("Alias not found: {function}:{alias}")))?;
        if update.version == "$LATEST" || update.routing.contains_key("$LATEST") {
            return Err(CloudError::InvalidParameter(
                "$LATEST is not supported for an alias pointing to more than 1 version".into(),
            ));
        }
        if update.routing.len() > 1 {
            return Err(CloudError::InvalidParameter(
                "Only one additional version can be specified in the routing config".into(),
            ));
        }
        for (version, weight) in &update.routing {
            if !(0.0..1.0).contains(weight) {
                return Err(CloudError::InvalidParameter(format!(
                    "Routing weight {weight} for version {version} is outside [0.0, 1.0)"
                )));
            }
            if *version == update.version {
                return Err(CloudError::InvalidParameter(
                    "The additional version must differ from the primary version".into(),
                ));
            }
        }
        for version in std::iter::once(&update.version).chain(update.routing.keys()) {
            if !state.version_exists(function, version) {
                return Err(CloudError::InvalidParameter(format!(
                    "Version {version} of {function} does not exist"
                )));
            }
        }
        if update.revision_id != current.revision_id {
            return Err(CloudError::Conflict(format!(
                "The RevisionId provided ({}) does not match the latest RevisionId ({}) of {function}:{alias}",
                update.revision_id, current.revision_id
            )));
        }
        state.generate(function, now);
        let revision_id = state.revision();
        let function = state.functions.get_mut(function).expect("checked above");
        let entry = function.aliases.get_mut(alias).expect("checked above");
        entry.version = update.version.clone();
        entry.routing = update.routing.clone();
        entry.revision_id = revision_id;
        if let Some(description) = &update.description {
            entry.description = description.clone();
        }
        Ok(entry.clone())
    }

    async fn publish_version(
        &self,
        function: &str,
        description: Option<&str>,
    ) -> Result<String, CloudError> {
        let now = self.clock.now();
        let mut state = self.state.borrow_mut();
        state.calls.push(match description {
            Some(d) => format!("PublishVersion {function} description={d:?}"),
            None => format!("PublishVersion {function}"),
        });
        let f = state.idle_function_mut(function, now)?;
        if f.versions.last().is_some_and(|v| v.code == f.latest_code) {
            return Ok(f.versions.len().to_string());
        }
        f.versions.push(Version {
            code: f.latest_code.clone(),
        });
        Ok(f.versions.len().to_string())
    }

    async fn get_function(
        &self,
        function: &str,
        qualifier: Option<&str>,
    ) -> Result<FunctionInfo, CloudError> {
        let now = self.clock.now();
        let mut state = self.state.borrow_mut();
        state.calls.push(match qualifier {
            Some(q) => format!("GetFunction {function}:{q}"),
            None => format!("GetFunction {function}"),
        });
        let f = state.function(function)?;
        let (version, code) = match qualifier {
            None | Some("$LATEST") => ("$LATEST".to_string(), f.latest_code.clone()),
            Some(q) => {
                let n: usize = q
                    .parse()
                    .ok()
                    .filter(|n| *n >= 1 && *n <= f.versions.len())
                    .ok_or_else(|| {
                        CloudError::NotFound(format!("Function not found: {function}:{q}"))
                    })?;
                (q.to_string(), f.versions[n - 1].code.clone())
            }
        };
        let last_update = if version != "$LATEST" {
            UpdateStatus::Successful
        } else if now < f.update_done_at {
            UpdateStatus::InProgress
        } else if let Some(reason) = &f.last_update_failed {
            UpdateStatus::Failed(reason.clone())
        } else {
            UpdateStatus::Successful
        };
        Ok(FunctionInfo {
            version,
            state: FunctionState::Active,
            last_update,
            role: "arn:aws:iam::123456789012:role/lambda".to_string(),
            code_sha256: code,
        })
    }

    async fn update_code(&self, function: &str, zip: &[u8]) -> Result<(), CloudError> {
        let now = self.clock.now();
        let mut state = self.state.borrow_mut();
        state.calls.push(format!("UpdateFunctionCode {function}"));
        let f = state.idle_function_mut(function, now)?;
        f.latest_code = format!("zip-{:016x}", fnv1a(zip));
        f.update_done_at = Millis(now.0 + UPDATE_TIME.0);
        f.last_update_failed = f.fail_next_update.take();
        Ok(())
    }

    async fn invoke(
        &self,
        function: &str,
        qualifier: &str,
        _payload: &str,
    ) -> Result<Invocation, CloudError> {
        let mut state = self.state.borrow_mut();
        state.calls.push(format!("Invoke {function}:{qualifier}"));
        let alias = state.function(function)?.aliases.get(qualifier).cloned();
        let version = match alias {
            Some(alias) => {
                let chosen = alias.additional().map(|(v, w)| (v.to_string(), w));
                let draw = state.traffic.uniform();
                match chosen {
                    Some((v, w)) if draw < w => v,
                    _ => alias.version.clone(),
                }
            }
            None if state.version_exists(function, qualifier) => qualifier.to_string(),
            None => {
                return Err(CloudError::NotFound(format!(
                    "Function not found: {function}:{qualifier}"
                )))
            }
        };
        let profile = state.profile(function, &version);
        let (failed, duration) = state.traffic.invoke(profile);
        Ok(Invocation {
            status: 200,
            body: if failed {
                r#"{"errorMessage":"simulated failure"}"#.to_string()
            } else {
                format!(r#"{{"ok":true,"duration_ms":{}}}"#, duration.round())
            },
            version,
            error: failed.then(|| "Unhandled".to_string()),
        })
    }
}

impl MetricsApi for SimWorld {
    async fn stats(&self, queries: &[MetricQuery]) -> Result<Vec<Option<f64>>, CloudError> {
        let now = self.clock.now();
        let mut state = self.state.borrow_mut();
        state
            .calls
            .push(format!("GetMetricData ×{}", queries.len()));
        state.generate_all(now);
        Ok(queries
            .iter()
            .map(|q| {
                state
                    .traffic
                    .stat(&q.function, &q.version, q.stat, now, q.window)
            })
            .collect())
    }

    async fn alarm_state(&self, name: &str) -> Result<AlarmState, CloudError> {
        let mut state = self.state.borrow_mut();
        state.calls.push(format!("DescribeAlarms {name}"));
        state
            .alarms
            .get(name)
            .copied()
            .ok_or_else(|| CloudError::NotFound(format!("Alarm not found: {name}")))
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

    fn unix(&self) -> u64 {
        self.clock.unix()
    }
}

/// A stable hash standing in for the code's SHA-256.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEALTHY: Profile = Profile {
        error_rate: 0.0,
        median_ms: 100.0,
    };

    fn world() -> SimWorld {
        SimWorld::new(&SimConfig {
            functions: vec!["f".into()],
            alias: "live".into(),
            rps: 10.0,
            old: HEALTHY,
            new: HEALTHY,
            versions: 1,
            seed: 1,
        })
    }

    fn update(version: &str, routing: &[(&str, f64)], revision: &str) -> AliasUpdate {
        AliasUpdate {
            version: version.into(),
            routing: routing.iter().map(|(v, w)| (v.to_string(), *w)).collect(),
            revision_id: revision.into(),
            description: None,
        }
    }

    fn invalid(result: Result<Alias, CloudError>) -> String {
        match result {
            Err(CloudError::InvalidParameter(message)) => message,
            other => panic!("expected InvalidParameter, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn versions_are_numbered_by_the_service_and_an_unchanged_publish_returns_the_last() {
        let w = world();
        assert_eq!(w.publish_version("f", None).await.unwrap(), "2");
        assert_eq!(w.publish_version("f", Some("again")).await.unwrap(), "2");
        w.update_code("f", b"new zip").await.unwrap();
        w.clock().advance(UPDATE_TIME);
        assert_eq!(w.publish_version("f", None).await.unwrap(), "3");
        assert!(matches!(
            w.publish_version("nope", None).await,
            Err(CloudError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn updates_go_through_in_progress_and_block_publishing_meanwhile() {
        let w = world();
        w.update_code("f", b"zip").await.unwrap();
        let info = w.get_function("f", None).await.unwrap();
        assert_eq!(info.last_update, UpdateStatus::InProgress);
        assert!(matches!(
            w.publish_version("f", None).await,
            Err(CloudError::Conflict(_))
        ));
        assert!(matches!(
            w.update_code("f", b"zip2").await,
            Err(CloudError::Conflict(_))
        ));
        w.clock().advance(UPDATE_TIME);
        assert_eq!(
            w.get_function("f", None).await.unwrap().last_update,
            UpdateStatus::Successful
        );
        w.fail_next_update("f", "bad handler");
        w.update_code("f", b"zip3").await.unwrap();
        w.clock().advance(UPDATE_TIME);
        assert_eq!(
            w.get_function("f", None).await.unwrap().last_update,
            UpdateStatus::Failed("bad handler".into())
        );
    }

    #[tokio::test]
    async fn routing_rules_are_enforced() {
        let w = world();
        w.publish_version("f", None).await.unwrap();
        w.update_code("f", b"zip").await.unwrap();
        w.clock().advance(UPDATE_TIME);
        w.publish_version("f", None).await.unwrap(); // versions 1, 2, 3
        let rev = w.get_alias("f", "live").await.unwrap().revision_id;
        assert!(invalid(
            w.update_alias("f", "live", &update("$LATEST", &[], &rev))
                .await
        )
        .contains("$LATEST"));
        assert!(invalid(
            w.update_alias("f", "live", &update("1", &[("$LATEST", 0.1)], &rev))
                .await
        )
        .contains("$LATEST"));
        assert!(invalid(
            w.update_alias("f", "live", &update("1", &[("2", 0.1), ("3", 0.1)], &rev))
                .await
        )
        .contains("one additional version"));
        for weight in [1.0, -0.1, 1.5] {
            invalid(
                w.update_alias("f", "live", &update("1", &[("2", weight)], &rev))
                    .await,
            );
        }
        assert!(invalid(
            w.update_alias("f", "live", &update("1", &[("9", 0.1)], &rev))
                .await
        )
        .contains("does not exist"));
        assert!(
            invalid(w.update_alias("f", "live", &update("7", &[], &rev)).await)
                .contains("does not exist")
        );
        invalid(
            w.update_alias("f", "live", &update("2", &[("2", 0.1)], &rev))
                .await,
        );
        // None of the rejected writes changed anything.
        assert_eq!(w.alias("f", "live").unwrap().revision_id, rev);
        let after = w
            .update_alias("f", "live", &update("1", &[("2", 0.0)], &rev))
            .await
            .unwrap();
        assert_eq!(after.additional(), Some(("2", 0.0)));
    }

    #[tokio::test]
    async fn every_write_changes_the_revision_and_a_stale_one_is_a_conflict() {
        let w = world();
        w.publish_version("f", None).await.unwrap();
        let first = w.get_alias("f", "live").await.unwrap().revision_id;
        let second = w
            .update_alias("f", "live", &update("1", &[("2", 0.05)], &first))
            .await
            .unwrap();
        assert_ne!(second.revision_id, first);
        let stale = w.update_alias("f", "live", &update("2", &[], &first)).await;
        assert!(matches!(stale, Err(CloudError::Conflict(_))), "{stale:?}");
        assert_eq!(
            w.alias("f", "live").unwrap(),
            second,
            "a rejected write changes nothing"
        );
        let third = w
            .update_alias("f", "live", &update("2", &[], &second.revision_id))
            .await
            .unwrap();
        assert_ne!(third.revision_id, second.revision_id);
        assert!(matches!(
            w.get_alias("f", "nope").await,
            Err(CloudError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn metrics_follow_the_alias_weights_per_version() {
        let w = world();
        w.publish_version("f", None).await.unwrap();
        let rev = w.get_alias("f", "live").await.unwrap().revision_id;
        w.update_alias("f", "live", &update("1", &[("2", 0.5)], &rev))
            .await
            .unwrap();
        w.clock().advance(Millis::from_minutes(10));
        let query = |version: &str| MetricQuery {
            function: "f".into(),
            alias: "live".into(),
            version: version.into(),
            stat: crate::cloud::Stat::Invocations,
            window: Millis::from_minutes(10),
        };
        let values = w
            .stats(&[query("1"), query("2"), query("3")])
            .await
            .unwrap();
        let (old, new) = (values[0].unwrap(), values[1].unwrap());
        assert!(
            (old / (old + new) - 0.5).abs() < 0.05,
            "old {old} new {new}"
        );
        assert_eq!(values[2], None, "a version without traffic has no data");
    }
}

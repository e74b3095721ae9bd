//! What other people and services do to the simulated world while a rollout runs, as the
//! engine's tests set it up: writes to aliases, more aliases, event source mappings.

#![cfg(test)]

use std::collections::BTreeMap;

use super::{lambda::arn, SimWorld};
use crate::cloud::Alias;

impl SimWorld {
    /// Sets an alias's description as someone else would.
    pub fn describe_alias(&self, function: &str, alias: &str, description: &str) {
        self.write_alias_as_someone_else(function, alias, |a| {
            a.description = description.to_string()
        });
    }

    /// Points an alias at `version` alone with `description`, as someone else would.
    pub fn serve_as_someone_else(
        &self,
        function: &str,
        alias: &str,
        version: &str,
        description: &str,
    ) {
        self.write_alias_as_someone_else(function, alias, |a| {
            a.version = version.to_string();
            a.routing.clear();
            a.description = description.to_string();
        });
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

    /// Creates another alias of `function` serving `version`, and `additional` at its weight.
    pub fn add_alias(
        &self,
        function: &str,
        alias: &str,
        version: &str,
        additional: Option<(&str, f64)>,
    ) {
        let mut state = self.state.borrow_mut();
        let revision_id = state.revision();
        let alias_ = Alias {
            version: version.to_string(),
            routing: additional
                .map(|(v, w)| BTreeMap::from([(v.to_string(), w)]))
                .unwrap_or_default(),
            revision_id,
            description: String::new(),
        };
        state
            .functions
            .get_mut(function)
            .expect("known function")
            .aliases
            .insert(alias.to_string(), alias_);
    }

    /// Creates an event source mapping that invokes `qualifier` of `function` (the function's
    /// `$LATEST` when `None`).
    pub fn map_events(&self, function: &str, qualifier: Option<&str>) {
        let target = match qualifier {
            Some(q) => format!("{}:{q}", arn(function)),
            None => arn(function),
        };
        let mut state = self.state.borrow_mut();
        let f = state.functions.get_mut(function).expect("known function");
        f.mappings.push(target);
    }

    /// The published versions of `function` that exist, oldest first.
    pub fn versions(&self, function: &str) -> Vec<String> {
        let state = self.state.borrow();
        let f = state.functions.get(function).expect("known function");
        (1..=f.versions.len())
            .filter(|n| !f.deleted.contains(n))
            .map(|n| n.to_string())
            .collect()
    }
}

//! `keep N versions`: what a function's versions are, which of them something still uses, and
//! which a prune deletes. The reads page through every listing; the decision is a pure function.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use serde::Serialize;

use super::{CloudError, LambdaApi};

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Page<T> {
    /// What this page lists.
    pub items: Vec<T>,
    /// The marker of the next page; `None` on the last.
    pub next: Option<String>,
}

/// An alias as `ListAliases` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Routes {
    /// Its name.
    pub alias: String,
    /// The versions it routes to: the primary one, then any additional one.
    pub versions: Vec<String>,
}

/// A function's published versions and what uses them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Inventory {
    /// Published versions, oldest first (`$LATEST` left out).
    pub versions: Vec<String>,
    /// The versions something uses, each with the first thing found that uses it: `alias
    /// live`, `provisioned concurrency`, `event source mapping`.
    pub referenced: BTreeMap<String, String>,
}

/// What a prune does to one function.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Decision {
    /// The versions to delete, oldest first.
    pub delete: Vec<String>,
    /// The versions left, oldest first.
    pub kept: Vec<String>,
}

/// A published version's number; `None` for `$LATEST` and anything else that is not one.
fn number(version: &str) -> Option<u64> {
    version
        .parse()
        .ok()
        .filter(|_| version.bytes().all(|b| b.is_ascii_digit()))
}

/// The versions to delete: of the published `versions` that are neither `old`, `new` nor
/// `referenced`, all but the `keep` newest, oldest first. `$LATEST` is never one.
pub fn decide(
    versions: &[String],
    referenced: &BTreeSet<&str>,
    old: &str,
    new: &str,
    keep: u32,
) -> Decision {
    let mut published: Vec<(u64, &String)> = versions
        .iter()
        .filter_map(|v| number(v).map(|n| (n, v)))
        .collect();
    published.sort();
    published.dedup();
    let spare: Vec<u64> = published
        .iter()
        .filter(|(_, v)| *v != old && *v != new && !referenced.contains(v.as_str()))
        .map(|(n, _)| *n)
        .collect();
    let doomed = &spare[..spare.len().saturating_sub(keep as usize)];
    let (delete, kept) = published
        .into_iter()
        .partition::<Vec<_>, _>(|(n, _)| doomed.contains(n));
    let text = |list: Vec<(u64, &String)>| list.into_iter().map(|(_, v)| v.clone()).collect();
    Decision {
        delete: text(delete),
        kept: text(kept),
    }
}

impl Inventory {
    /// What pruning to `keep` unreferenced versions deletes, never `old` nor `new`.
    pub fn decide(&self, old: &str, new: &str, keep: u32) -> Decision {
        let referenced = self.referenced.keys().map(String::as_str).collect();
        decide(&self.versions, &referenced, old, new, keep)
    }
}

/// Reads `function`'s versions and what uses them: its aliases (both versions of a split),
/// its provisioned concurrency configurations and its event source mappings, every page.
pub async fn inventory<L: LambdaApi>(lambda: &L, function: &str) -> Result<Inventory, CloudError> {
    let mut versions: Vec<String> =
        all(|m| async move { lambda.list_versions(function, m.as_deref()).await })
            .await?
            .into_iter()
            .filter(|v| number(v).is_some())
            .collect();
    versions.sort_by_key(|v| number(v));
    let mut referenced = BTreeMap::new();
    let aliases = all(|m| async move { lambda.list_aliases(function, m.as_deref()).await }).await?;
    for routes in aliases {
        for version in routes.versions {
            referenced
                .entry(version)
                .or_insert_with(|| format!("alias {}", routes.alias));
        }
    }
    // A qualifier that is an alias's name names versions found above already.
    let provisioned =
        all(|m| async move { lambda.list_provisioned(function, m.as_deref()).await }).await?;
    for arn in provisioned {
        if let Some(qualifier) = qualifier(&arn) {
            referenced
                .entry(qualifier.to_string())
                .or_insert_with(|| "provisioned concurrency".to_string());
        }
    }
    let mappings =
        all(|m| async move { lambda.list_mappings(function, m.as_deref()).await }).await?;
    for arn in mappings {
        if let Some(qualifier) = qualifier(&arn) {
            referenced
                .entry(qualifier.to_string())
                .or_insert_with(|| "event source mapping".to_string());
        }
    }
    referenced.retain(|v, _| number(v).is_some());
    Ok(Inventory {
        versions,
        referenced,
    })
}

/// The qualifier of a qualified function ARN (`arn:aws:lambda:R:A:function:NAME:QUALIFIER`).
fn qualifier(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        [_, _, _, _, _, "function", _, qualifier] => Some(qualifier),
        _ => None,
    }
}

/// Every item of a listing, page after page.
async fn all<T, F, Fut>(mut page: F) -> Result<Vec<T>, CloudError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, CloudError>>,
{
    let mut items = Vec::new();
    let mut marker = None;
    loop {
        let Page { items: some, next } = page(marker.take()).await?;
        items.extend(some);
        match next {
            Some(next) => marker = Some(next),
            None => return Ok(items),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(numbers: &[&str]) -> Vec<String> {
        numbers.iter().map(|v| v.to_string()).collect()
    }

    fn deleted(all: &[&str], referenced: &[&str], old: &str, new: &str, keep: u32) -> Vec<String> {
        let referenced = referenced.iter().copied().collect();
        decide(&versions(all), &referenced, old, new, keep).delete
    }

    #[test]
    fn the_oldest_unreferenced_versions_go_and_the_newest_n_stay() {
        let decision = decide(
            &versions(&["1", "2", "3", "4", "5", "6"]),
            &BTreeSet::new(),
            "5",
            "6",
            2,
        );
        assert_eq!(decision.delete, ["1", "2"]);
        assert_eq!(decision.kept, ["3", "4", "5", "6"]);
    }

    #[test]
    fn old_new_and_referenced_versions_are_never_deleted_nor_counted() {
        assert_eq!(
            deleted(
                &["1", "2", "3", "4", "5", "6", "7"],
                &["1", "3"],
                "6",
                "7",
                1
            ),
            ["2", "4"]
        );
        assert_eq!(
            deleted(&["1", "2", "3"], &["1"], "2", "3", 1),
            Vec::<String>::new()
        );
    }

    #[test]
    fn latest_is_never_a_version_to_delete() {
        assert_eq!(
            deleted(&["$LATEST", "1", "2", "3"], &[], "3", "3", 1),
            ["1"]
        );
        let decision = decide(&versions(&["$LATEST"]), &BTreeSet::new(), "1", "1", 1);
        assert_eq!(decision, Decision::default());
    }

    #[test]
    fn versions_are_ordered_as_numbers_not_as_text() {
        assert_eq!(
            deleted(&["10", "9", "11", "2", "100"], &[], "100", "100", 2),
            ["2", "9"]
        );
    }

    #[test]
    fn keeping_more_than_there_are_deletes_nothing() {
        assert!(deleted(&["1", "2", "3"], &[], "3", "3", 5).is_empty());
        assert!(deleted(&[], &[], "1", "2", 1).is_empty());
    }

    #[test]
    fn a_version_listed_twice_is_deleted_once() {
        assert_eq!(deleted(&["1", "1", "2", "3"], &[], "3", "3", 1), ["1"]);
    }

    #[test]
    fn a_qualified_arn_names_its_version_or_alias() {
        assert_eq!(
            qualifier("arn:aws:lambda:eu-west-1:123456789012:function:f:7"),
            Some("7")
        );
        assert_eq!(
            qualifier("arn:aws:lambda:eu-west-1:123456789012:function:f"),
            None
        );
    }
}

//! Choosing a fleet: the selections of a playbook (`function "checkout-*"`, `function tagged
//! "team=checkout"`) resolved to function names, read-only, once at the start of a run and in
//! `plan --live`. The region's functions are listed page by page (`ListFunctions`); tags are read
//! per function (`ListTags`) only when a `tagged` selection asks for them.

use std::collections::BTreeMap;

use super::{CloudError, LambdaApi, Listed};
use crate::plan::Selection;

/// What a selection found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The selection.
    pub selection: Selection,
    /// The functions it selects, by name.
    pub functions: Vec<String>,
}

/// Why selections could not be resolved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SelectError {
    /// Listing the functions or reading their tags failed.
    #[error("listing the region's functions: {0}")]
    Cloud(CloudError),
    /// Selections that match no function of the region.
    #[error("{} of the region's {listed} functions", match .selections.as_slice() {
        [one] => format!("{one} matches none"),
        many => format!("{} match none", many.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
    })]
    NoMatch {
        /// The selections.
        selections: Vec<Selection>,
        /// How many functions the region has.
        listed: usize,
    },
}

/// Every function of the region, every page read.
pub async fn list_all<L: LambdaApi>(lambda: &L) -> Result<Vec<Listed>, CloudError> {
    let mut all = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = lambda.list_functions(marker.as_deref()).await?;
        all.extend(page.functions);
        match page.next {
            Some(next) => marker = Some(next),
            None => return Ok(all),
        }
    }
}

/// The functions each of `selections` picks from the region (names in order); every
/// selection must pick at least one.
pub async fn resolve<L: LambdaApi>(
    lambda: &L,
    selections: &[Selection],
) -> Result<Vec<Found>, SelectError> {
    if selections.is_empty() {
        return Ok(Vec::new());
    }
    let mut listed = list_all(lambda).await.map_err(SelectError::Cloud)?;
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    let by_tag = selections
        .iter()
        .any(|s| matches!(s, Selection::Tagged { .. }));
    let no_tags = BTreeMap::new();
    let mut tags = Vec::with_capacity(listed.len());
    for function in &listed {
        tags.push(if by_tag {
            lambda
                .tags(&function.arn)
                .await
                .map_err(SelectError::Cloud)?
        } else {
            BTreeMap::new()
        });
    }
    let found: Vec<Found> = selections
        .iter()
        .map(|selection| Found {
            selection: selection.clone(),
            functions: listed
                .iter()
                .zip(&tags)
                .filter(|(f, t)| selection.selects(&f.name, if by_tag { t } else { &no_tags }))
                .map(|(f, _)| f.name.clone())
                .collect(),
        })
        .collect();
    let empty: Vec<Selection> = found
        .iter()
        .filter(|f| f.functions.is_empty())
        .map(|f| f.selection.clone())
        .collect();
    if !empty.is_empty() {
        return Err(SelectError::NoMatch {
            selections: empty,
            listed: listed.len(),
        });
    }
    Ok(found)
}

/// `names` followed by what `found` adds, each function once.
pub fn fleet(names: &[String], found: &[Found]) -> Vec<String> {
    let mut out: Vec<String> = names.to_vec();
    for function in found.iter().flat_map(|f| &f.functions) {
        if !out.contains(function) {
            out.push(function.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::sim::{SimConfig, SimWorld};
    use crate::plan::glob;

    #[test]
    fn globs_match_runs_and_single_characters() {
        assert!(glob("checkout-*", "checkout-api"));
        assert!(glob("checkout-*", "checkout-"));
        assert!(!glob("checkout-*", "cart-api"));
        assert!(glob("*-api", "checkout-api"));
        assert!(glob("c?rt", "cart"));
        assert!(!glob("c?rt", "crt"));
        assert!(glob("a*b*c", "aXXbYYbZc"));
        assert!(!glob("a*b*c", "aXXbYY"));
        assert!(glob("*", ""));
        assert!(!glob("", "a"));
    }

    #[tokio::test(start_paused = true)]
    async fn patterns_and_tags_select_across_pages_and_a_selection_of_none_is_an_error() {
        let mut tags = BTreeMap::new();
        for n in (0..120).step_by(3) {
            tags.insert(
                format!("svc-{n:03}"),
                BTreeMap::from([("team".to_string(), "checkout".to_string())]),
            );
        }
        let world = SimWorld::new(&SimConfig {
            functions: (0..120).map(|n| format!("svc-{n:03}")).collect(),
            tags,
            ..SimConfig::default()
        });
        let found = resolve(
            &world,
            &[
                Selection::Pattern("svc-1*".into()),
                Selection::tagged("team=checkout").unwrap(),
            ],
        )
        .await
        .unwrap();
        assert_eq!(found[0].functions.len(), 20, "svc-100 … svc-119");
        assert_eq!(found[1].functions.len(), 40, "every third");
        let lists = world
            .calls()
            .iter()
            .filter(|c| matches!(c, crate::cloud::call::Call::ListFunctions { .. }))
            .count();
        assert_eq!(lists, 3, "pages of 50");
        let fleet = fleet(&["other".to_string()], &found);
        // svc-102, 105 … 117 are in both.
        assert_eq!(fleet.len(), 1 + 20 + 40 - 6, "each function once");

        let none = resolve(&world, &[Selection::Pattern("cart-*".into())]).await;
        assert_eq!(
            none.unwrap_err().to_string(),
            "\"cart-*\" matches none of the region's 120 functions"
        );
    }
}

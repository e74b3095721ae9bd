//! Editing a fixture, shared by the test suites (`#[path]`-included by each).

/// A fixture edited: `self` with `from` replaced by `to`, where `from` must be found (an edit
/// that matches nothing would leave the fixture as it was, and the test proving nothing).
pub(crate) trait Edit {
    fn edit(&self, from: &str, to: &str) -> String;
}

impl Edit for str {
    fn edit(&self, from: &str, to: &str) -> String {
        assert!(
            self.contains(from),
            "the fixture has no {from:?} to edit:\n{self}"
        );
        self.replace(from, to)
    }
}

//! Every playbook in `examples/` is valid.

use crate::test::{rollout_files, root, Test};

#[test]
fn every_example_checks() {
    let mut files = rollout_files(&root().join("examples"));
    files.extend(rollout_files(&root().join("examples/lib")));
    assert!(files.len() >= 7, "expected the examples, found {files:?}");
    for file in files {
        let name = file.strip_prefix(root()).unwrap().display().to_string();
        Test::new()
            .args(["check", &name])
            .stdout_contains(&format!("{name}: ok ({})\n", expected_summary(&name)))
            .run();
    }
}

/// Examples are clean, except the quick start, which shows the default-health warning on purpose.
fn expected_summary(name: &str) -> &'static str {
    if name.ends_with("quickstart.rollout") {
        "1 warning"
    } else {
        "no problems"
    }
}

//! Every example's output, byte for byte, against stored files: `plan` as text and JSON, and
//! `simulate` as JSON events, once healthy and once with a failing `new`. A change of the code's
//! shape must leave them as they are; a change of behaviour rewrites them (`BLESS=1`) and says
//! why in its commit. (`export`'s definitions are kept the same way in `export.rs`.)

use crate::test::{command, golden, rollout_files, root};

#[test]
fn every_example_plans_and_simulates_to_the_same_bytes() {
    let files = rollout_files(&root().join("examples"));
    assert!(files.len() >= 8, "the examples: {files:?}");
    for file in files {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        // Relative, as a user types it: paths the output shows are then the same on every machine.
        let path = format!("examples/{}", file.file_name().unwrap().to_string_lossy());
        let runs: [(&str, &[&str]); 4] = [
            ("plan.txt", &["plan"]),
            ("plan.json", &["plan", "--format", "json"]),
            ("simulate.jsonl", &["simulate", "--format", "json"]),
            (
                "simulate-failing.jsonl",
                &["simulate", "--format", "json", "--error-rate", "new=3%"],
            ),
        ];
        for (kind, args) in runs {
            let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            args.push(path.clone());
            let output = command(&root(), &args);
            assert!(
                matches!(output.status.code(), Some(0 | 1)),
                "{name} {kind}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            golden(
                &format!("examples/{name}.{kind}"),
                &String::from_utf8(output.stdout).unwrap(),
            );
        }
    }
}

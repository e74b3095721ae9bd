//! What `rollout export` writes, validated as AWS would: every definition by asl-validator (the
//! reference validator of the Amazon States Language, stricter than moto, which runs what AWS
//! refuses) and every CloudFormation template by cfn-lint. `scripts/test` installs both and
//! names them in `ROLLOUT_ASL_VALIDATOR` and `ROLLOUT_CFN_LINT`; without them these tests fail,
//! saying so. Export reads no AWS account: these run in the end-to-end suite for its installs.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{root, temp};

/// The validator `variable` names.
pub(crate) fn validator(variable: &str) -> PathBuf {
    let path = std::env::var(variable).unwrap_or_else(|_| {
        panic!("{variable} is not set: `scripts/test` installs asl-validator (npm) and cfn-lint (PyPI) and sets it")
    });
    assert!(
        Path::new(&path).exists(),
        "{variable}={path} does not exist"
    );
    PathBuf::from(path)
}

/// Playbooks that Step Functions runs: the examples that export, and every shape export writes
/// (inconclusive pass, a fleet, ramps, gates, a planned rollback, a version named, alarms with
/// reserved characters, another partition).
fn playbooks(dir: &Path) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = ["canary", "linear", "two-stage"]
        .iter()
        .map(|name| {
            (
                root()
                    .join(format!("examples/{name}.rollout"))
                    .display()
                    .to_string(),
                vec![],
            )
        })
        .collect();
    out.push((
        root()
            .join("examples/quickstart.rollout")
            .display()
            .to_string(),
        vec![
            "--function".into(),
            "f".into(),
            "--alias".into(),
            "live".into(),
        ],
    ));
    let written = [
        ("inconclusive-pass", "function \"f\"\nalias \"live\"\nhealth {\n  error rate < 1%\n  p99 duration < 800ms\n  inconclusive pass\n}\npublish\nshift 5% to new\nwait 10m until healthy\npromote\n"),
        ("fleet", "function \"a\", \"b\", \"c\"\nalias \"live\"\nhealth {\n  error rate of new <= error rate of old + 0.5%\n  alarm \"it's {odd}\"\n}\npublish\nramp to 50% by 10% every 2m\napprove\npromote\n"),
        ("rollback", "function \"f\"\nalias \"live\"\nuse version 7\nshift 10% to new\nwait 1m until healthy\nrollback\n"),
        ("as-it-is", "rollout \"left split\"\nfunction \"f\"\nalias \"live\"\npublish \"the description\"\nshift 10% to new\nwait 5m\n"),
        ("china", "function \"f\"\nalias \"live\"\nregion \"cn-north-1\"\nhealth {\n  errors < 5\n}\npublish\nshift 5% to new\nwait 5m until healthy\npromote\n"),
        // Longer than one execution's history: continued in fresh executions.
        ("continued", "function \"f\", \"g\"\nalias \"live\"\nhealth every 10s {\n  error rate < 1%\n  alarm \"x\"\n}\npublish\nshift 5% to new\nwait 6h until healthy\npromote\n"),
        ("continued-on-alarms", "function \"f\"\nalias \"live\"\nhealth every 1s {\n  alarm \"x\"\n}\npublish\nshift 5% to new\nwait 12h until healthy\npromote\n"),
    ];
    for (name, text) in written {
        let path = dir.join(format!("{name}.rollout"));
        std::fs::write(&path, text).unwrap();
        out.push((path.display().to_string(), vec![]));
    }
    out
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs the validators: `scripts/test` runs these (cargo test --features e2e)"
)]
fn every_exported_definition_and_template_passes_the_validators() {
    let (asl, cfn) = (
        validator("ROLLOUT_ASL_VALIDATOR"),
        validator("ROLLOUT_CFN_LINT"),
    );
    let dir = temp("");
    for (file, extra) in playbooks(&dir) {
        for (format, name) in [
            ("asl", "definition.json"),
            ("cloudformation", "template.json"),
        ] {
            let output = Command::new(env!("CARGO_BIN_EXE_rollout"))
                .args([
                    "export",
                    &file,
                    "--to",
                    "step-functions",
                    "--format",
                    format,
                ])
                .args(&extra)
                .env("NO_COLOR", "1")
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "{file} ({format}): {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let path = dir.join(name);
            std::fs::write(&path, &output.stdout).unwrap();
            let checked = if format == "asl" {
                Command::new(&asl).arg("--json-path").arg(&path).output()
            } else {
                Command::new(&cfn).arg(&path).output()
            }
            .unwrap();
            assert!(
                checked.status.success(),
                "{file} ({format}) is refused by the validator:\n{}{}",
                String::from_utf8_lossy(&checked.stdout),
                String::from_utf8_lossy(&checked.stderr)
            );
        }
    }
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs the venv `scripts/test` makes (cargo test --features e2e)"
)]
fn every_examples_simulated_events_are_what_the_published_schema_says() {
    let examples = std::fs::read_dir(root().join("examples")).unwrap();
    let mut checked = 0;
    for entry in examples {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("rollout") {
            continue;
        }
        for failing in [false, true] {
            let mut args = vec![
                "simulate".to_string(),
                path.display().to_string(),
                "--format".into(),
                "json".into(),
            ];
            if failing {
                args.extend(["--error-rate".into(), "new=3%".into()]);
            }
            let out = Command::new(env!("CARGO_BIN_EXE_rollout"))
                .args(&args)
                .current_dir(root())
                .output()
                .unwrap();
            assert!(
                !out.stdout.is_empty(),
                "{}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            crate::harness::conform(&out.stdout);
            checked += 1;
        }
    }
    assert!(
        checked >= 18,
        "{checked} simulations checked: every example, twice"
    );
}

//! `rollout check` on every fixture: `ok/` files are valid, `err/` files are not, and what each
//! prints on stderr matches the `.stderr` file beside it. `BLESS=1` rewrites those files.

use std::collections::BTreeSet;
use std::path::Path;

use rollout::diagnostic::{Code, Severity};

use crate::test::{command, rollout_files, root};

/// Runs every fixture of `dir`, comparing exit status and stderr; returns the codes printed.
fn run_fixtures(dir: &str, status: i32) -> BTreeSet<String> {
    let dir = root().join("tests/fixtures").join(dir);
    let bless = std::env::var_os("BLESS").is_some();
    let mut failures = Vec::new();
    let mut codes = BTreeSet::new();
    let files = rollout_files(&dir);
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let mut args = vec!["check".to_string(), "-q".to_string()];
        let args_file = file.with_extension("args");
        if args_file.exists() {
            args.extend(
                std::fs::read_to_string(&args_file)
                    .unwrap()
                    .lines()
                    .map(String::from),
            );
        }
        args.push(name.clone());
        let output = command(&dir, &args);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        if output.status.code() != Some(status) {
            failures.push(format!(
                "{name}: exit {:?}, expected {status}\n{stderr}",
                output.status.code()
            ));
        }
        for line in stderr.lines() {
            if let Some(code) = line.strip_prefix("rollout::") {
                codes.insert(code.trim().to_string());
            }
        }
        let expected_path = file.with_extension("stderr");
        if bless {
            std::fs::write(&expected_path, &stderr).unwrap();
            continue;
        }
        match std::fs::read_to_string(&expected_path) {
            Ok(expected) if expected == stderr => {}
            Ok(expected) => failures.push(format!(
                "{name}: stderr differs from {}\n--- expected\n{expected}\n--- actual\n{stderr}",
                expected_path.display()
            )),
            Err(_) => failures.push(format!(
                "{name}: no {} (run with BLESS=1 to create it)\n{stderr}",
                expected_path.display()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    codes
}

#[test]
fn valid_fixtures_pass_with_expected_warnings() {
    let codes = run_fixtures("ok", 0);
    for code in Code::ALL {
        if code.severity() == Severity::Warning {
            assert!(
                codes.contains(code.as_str()),
                "no ok fixture shows the warning rollout::{}",
                code.as_str()
            );
        }
    }
}

#[test]
fn invalid_fixtures_fail_with_expected_diagnostics() {
    let codes = run_fixtures("err", 2);
    // Codes that need something other than a playbook to happen (a file that cannot be read,
    // a command writing over its input).
    let elsewhere = [Code::Io, Code::OutputIsInput];
    for code in Code::ALL {
        if code.severity() == Severity::Warning || elsewhere.contains(code) {
            continue;
        }
        assert!(
            codes.contains(code.as_str()),
            "no err fixture shows rollout::{}",
            code.as_str()
        );
    }
}

#[test]
fn every_error_fixture_has_a_code_a_label_and_a_help_line() {
    let dir = root().join("tests/fixtures/err");
    for file in rollout_files(&dir) {
        let expected = std::fs::read_to_string(file.with_extension("stderr")).unwrap_or_default();
        let name = file.display();
        assert!(expected.contains("rollout::"), "{name}: no code");
        assert!(expected.contains("help:"), "{name}: no help line");
        assert!(expected.contains(",-["), "{name}: no source excerpt");
        assert!(Path::new(&file).exists());
    }
}

//! `rollout fmt`: canonical layout, idempotent, never changes meaning.

use std::path::{Path, PathBuf};

use rollout::check::{check_path, check_source, Options};
use rollout::diagnostic::source;
use rollout::syntax::{fmt, parse};

use crate::test::{rollout_files, root, Test};

fn every_playbook() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [
        "examples",
        "examples/lib",
        "tests/fixtures/ok",
        "tests/fixtures/err",
        "tests/fixtures/fmt",
    ] {
        files.extend(rollout_files(&root().join(dir)));
    }
    files
}

fn format_text(name: &str, text: &str) -> Option<String> {
    let file = parse(&source(name, text.to_string())).ok()?;
    Some(fmt::format(&file, text))
}

#[test]
fn formatting_is_idempotent_on_every_playbook() {
    for path in every_playbook() {
        let text = std::fs::read_to_string(&path).unwrap();
        let Some(once) = format_text("a", &text) else {
            continue;
        };
        let twice = format_text("b", &once).expect("formatted text parses");
        assert_eq!(once, twice, "fmt is not idempotent on {}", path.display());
    }
}

#[test]
fn formatting_never_changes_the_plan() {
    let mut compared = 0;
    for path in every_playbook() {
        let original = check_path(&path, &Options::default());
        let Some(plan) = original.plan else { continue };
        let text = std::fs::read_to_string(&path).unwrap();
        let formatted = format_text("f", &text).unwrap();
        let dir = path.parent().unwrap_or(Path::new("."));
        let again = check_source(
            source(path.display().to_string(), formatted),
            dir,
            &Options::default(),
        );
        assert_eq!(
            again.plan.as_ref(),
            Some(&plan),
            "fmt changed the plan of {}",
            path.display()
        );
        compared += 1;
    }
    assert!(compared >= 10, "only {compared} plans compared");
}

#[test]
fn layout_matches_the_expected_files() {
    let dir = root().join("tests/fixtures/fmt");
    for path in rollout_files(&dir) {
        let expected_path = path.with_extension("expected");
        let expected = std::fs::read_to_string(&expected_path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let test = Test::temp().file(&name, &text);
        let written = test.path(&name);
        let test = test
            .args(["fmt", "--check", &name])
            .status(1)
            .stdout(&format!("would reformat {name}\n"));
        let dir = written.parent().unwrap().to_path_buf();
        test.run();
        assert_eq!(
            std::fs::read_to_string(&written).unwrap(),
            text,
            "--check wrote the file"
        );
        Test::new()
            .dir(&dir)
            .args(["fmt", &name])
            .stdout(&format!("formatted {name}\n"))
            .run();
        assert_eq!(
            std::fs::read_to_string(&written).unwrap(),
            expected,
            "layout of {name}"
        );
        Test::new()
            .dir(&dir)
            .args(["fmt", "--check", &name])
            .stdout("")
            .run();
    }
}

#[test]
fn fmt_reports_syntax_errors_and_leaves_the_file() {
    let test = Test::temp().file("bad.rollout", "publish\nshift 5% new\n");
    let path = test.path("bad.rollout");
    test.args(["fmt", "bad.rollout"])
        .status(2)
        .stderr_contains("rollout::syntax")
        .run();
    assert_eq!(
        std::fs::read_to_string(path).unwrap(),
        "publish\nshift 5% new\n"
    );
}

#[test]
fn fmt_formats_every_playbook_below_a_directory() {
    Test::temp()
        .file("a/one.rollout", "publish;promote\n")
        .file("a/b/two.rollout", "publish\npromote\n")
        .file("a/notes.txt", "not a playbook;;\n")
        .args(["fmt", "--check", "a"])
        .status(1)
        .stdout("would reformat a/one.rollout\n")
        .run();
}

#[test]
fn fmt_refuses_a_file_whose_errors_formatting_would_hide() {
    // A header after the steps is an error; moving it up would make the file valid unseen.
    let late = "publish\nshift 5% to new\nwait 10m until healthy\npromote\nalias \"live\"\n";
    let test = Test::temp().file("late.rollout", late);
    let path = test.path("late.rollout");
    test.args(["fmt", "late.rollout"])
        .status(2)
        .stderr_contains("rollout::header-after-step")
        .stderr_contains("late.rollout: not formatted: it has errors")
        .run();
    assert_eq!(std::fs::read_to_string(path).unwrap(), late);
}

#[test]
fn fmt_keeps_crlf_line_ends() {
    let test = Test::temp().file(
        "w.rollout",
        "publish\r\nshift   5% to new\r\n# done\r\npromote\r\n",
    );
    let path = test.path("w.rollout");
    test.args(["fmt", "w.rollout"]).run();
    assert_eq!(
        std::fs::read_to_string(path).unwrap(),
        "publish\r\nshift 5% to new\r\n# done\r\npromote\r\n"
    );
}

#[test]
fn fmt_puts_a_watch_on_its_own_line_after_promote() {
    let test = Test::temp()
        .file(
            "p.rollout",
            "function \"f\"\nalias \"live\"\npublish\nshift 10% to new\nwait 10m until healthy\npromote;  watch   1h\n",
        )
        .args(["fmt", "p.rollout"]);
    let path = test.path("p.rollout");
    test.run();
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.ends_with("\npromote\nwatch 1h\n"), "{text}");
}

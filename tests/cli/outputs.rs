//! What a command writes never overwrites what it reads: `--report` and `--journal` naming the
//! playbook, an imported file or a hook are refused before anything runs, and the file is left
//! as it was.

use crate::test::Test;

const PLAYBOOK: &str = "import \"lib.rollout\"\nfunction \"f\"\nalias \"live\"\nhealth {\n  error rate < 1%\n  script \"check.rhai\"\n}\npublish\nshift 5% to new\nwait 1m until healthy\npromote\n";
const LIB: &str = "param canary = 5%\n";

fn playbook() -> Test {
    Test::temp()
        .file("p.rollout", PLAYBOOK)
        .file("lib.rollout", LIB)
        .file("check.rhai", "true\n")
}

/// Runs `args` and checks that it is refused with exit 2, naming the input `file`, and that
/// every input is unchanged.
fn refused(args: &[&str], file: &str) {
    let test = playbook()
        .args(args.iter().copied())
        .status(2)
        .stderr_contains("rollout::output-is-input")
        .stderr_contains(&format!("would overwrite {file},"))
        .stderr_contains("nothing was done");
    let dir = test.path("");
    test.run();
    assert_eq!(
        std::fs::read_to_string(dir.join("p.rollout")).unwrap(),
        PLAYBOOK
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("lib.rollout")).unwrap(),
        LIB
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("check.rhai")).unwrap(),
        "true\n"
    );
}

#[test]
fn a_report_never_overwrites_the_playbook_an_import_or_a_hook() {
    refused(
        &["simulate", "p.rollout", "--report", "p.rollout"],
        "p.rollout",
    );
    refused(
        &["simulate", "p.rollout", "--report", "./lib.rollout"],
        "lib.rollout",
    );
    refused(
        &["run", "p.rollout", "--yes", "--report", "check.rhai"],
        "check.rhai",
    );
    refused(
        &["resume", "p.rollout", "--yes", "--report", "p.rollout"],
        "p.rollout",
    );
    refused(
        &[
            "replay",
            "p.rollout",
            "--old",
            "1",
            "--new",
            "2",
            "--from",
            "2026-01-01T00:00:00Z",
            "--to",
            "2026-01-01T01:00:00Z",
            "--report",
            "p.rollout",
        ],
        "p.rollout",
    );
}

#[test]
fn a_journal_never_appends_to_the_playbook_or_an_import() {
    refused(
        &["run", "p.rollout", "--yes", "--journal", "p.rollout"],
        "p.rollout",
    );
    refused(
        &["resume", "p.rollout", "--yes", "--journal", "lib.rollout"],
        "lib.rollout",
    );
}

#[test]
fn a_report_never_overwrites_the_world_file() {
    const WORLD: &str = "errors vary 50%\n";
    let test = playbook().file("world.txt", WORLD);
    let dir = test.path("");
    test.args([
        "simulate",
        "p.rollout",
        "--world",
        "world.txt",
        "--report",
        "./world.txt",
    ])
    .status(2)
    .stderr_contains("rollout::output-is-input")
    .stderr_contains("would overwrite world.txt, the file given to --world")
    .stderr_contains("nothing was done")
    .run();
    assert_eq!(
        std::fs::read_to_string(dir.join("world.txt")).unwrap(),
        WORLD
    );
}

#[test]
fn a_link_to_the_playbook_is_the_playbook() {
    let test = playbook();
    let dir = test.path("");
    std::fs::hard_link(dir.join("p.rollout"), dir.join("linked.html")).unwrap();
    test.args(["simulate", "p.rollout", "--report", "linked.html"])
        .status(2)
        .stderr_contains("the playbook itself")
        .run();
    assert_eq!(
        std::fs::read_to_string(dir.join("p.rollout")).unwrap(),
        PLAYBOOK
    );
}

#[test]
fn a_report_of_its_own_is_written() {
    let test = playbook();
    let dir = test.path("");
    test.args(["simulate", "p.rollout", "--report", "report.html"])
        .run();
    assert!(std::fs::read_to_string(dir.join("report.html"))
        .unwrap()
        .contains("<html"));
}

#[test]
fn report_and_journal_are_refused_with_step_functions_not_ignored() {
    for option in ["--report", "--journal"] {
        let test = playbook().args([
            "run",
            "p.rollout",
            "--yes",
            "--on",
            "step-functions",
            "--role",
            "arn:aws:iam::123456789012:role/r",
            option,
            "out.txt",
        ]);
        let dir = test.path("");
        test.status(2)
            .stderr_contains("Leave them out with --on step-functions")
            .run();
        assert!(!dir.join("out.txt").exists());
    }
}

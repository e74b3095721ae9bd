//! Every resource bounded: endless or huge inputs, definitions that multiply, absurd delays.
//! Each run here happens under a memory limit (`prlimit --as`) and a time limit (`timeout`),
//! and must end with exit 2 and a diagnostic, never a crash or a hang.

use std::process::{Command, Output};

use crate::test::temp_dir;

/// `rollout ARGS` in `dir` under `bytes` of address space and a minute of time.
fn limited(dir: &std::path::Path, bytes: u64, args: &[&str]) -> Output {
    Command::new("timeout")
        .arg("60")
        .arg("prlimit")
        .arg(format!("--as={bytes}"))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_rollout"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run rollout under limits")
}

const MB: u64 = 1024 * 1024;

fn says(output: &Output, status: i32, texts: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(status),
        "--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    for text in texts {
        assert!(
            stderr.contains(text) || stdout.contains(text),
            "lacks {text:?}:\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
        );
    }
}

#[test]
fn devices_and_pipes_are_never_read() {
    let dir = temp_dir();
    let fifo = dir.join("pipe.rollout");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    for args in [
        &["check", "/dev/zero"][..],
        &["check", "/dev/urandom"],
        &["check", "pipe.rollout"],
        &["fmt", "/dev/zero"],
        &["plan", "/dev/zero"],
        &["simulate", "pipe.rollout"],
    ] {
        let out = limited(&dir, 256 * MB, args);
        says(&out, 2, &["not a regular file"]);
    }
    let json = limited(&dir, 256 * MB, &["check", "--format", "json", "/dev/zero"]);
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        document["diagnostics"][0]["file"], "/dev/zero",
        "{document}"
    );
    assert_eq!(document["diagnostics"][0]["code"], "rollout::io");
}

#[test]
fn a_world_file_that_is_a_device_a_pipe_or_too_large_is_never_read() {
    let dir = temp_dir();
    std::fs::write(
        dir.join("p.rollout"),
        "function \"f\"\nalias \"live\"\nhealth {\n  error rate < 1%\n}\npublish\nshift 5% to new\nwait 10m until healthy\npromote\n",
    )
    .unwrap();
    assert!(Command::new("mkfifo")
        .arg(dir.join("world.pipe"))
        .status()
        .unwrap()
        .success());
    std::fs::write(dir.join("huge.world"), "#".repeat(5 * 1024 * 1024)).unwrap();
    for (world, said) in [
        ("/dev/zero", "a device, a pipe or a socket"),
        ("/dev/urandom", "a device, a pipe or a socket"),
        ("world.pipe", "a device, a pipe or a socket"),
        ("huge.world", "larger than 4 MiB"),
    ] {
        let started = std::time::Instant::now();
        let out = limited(&dir, 256 * MB, &["simulate", "p.rollout", "--world", world]);
        says(
            &out,
            2,
            &[&format!("cannot read the world file {world}"), said],
        );
        // Refused before anything is read from it: a pipe is never waited on.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{world}: {:?}",
            started.elapsed()
        );
        assert!(out.stdout.is_empty(), "nothing simulated for {world}");
    }
}

#[test]
fn an_import_or_a_hook_that_is_a_device_is_pointed_at() {
    let dir = temp_dir();
    std::fs::write(
        dir.join("p.rollout"),
        "import \"/dev/zero\"\nhealth {\n  script \"/dev/urandom\"\n}\npublish\nshift 5% to new\nwait 10m until healthy\npromote\n",
    )
    .unwrap();
    let out = limited(&dir, 256 * MB, &["check", "p.rollout"]);
    says(
        &out,
        2,
        &[
            "cannot read /dev/zero: it is a device",
            "p.rollout:1:8",
            "`/dev/urandom` is not a regular file",
        ],
    );
}

#[test]
fn a_file_over_the_limit_is_refused_at_once_and_one_under_it_checks_in_proportion() {
    let dir = temp_dir();
    // 52 MB, as in the report: refused before it is read.
    std::fs::write(dir.join("huge.rollout"), "#".repeat(52_000_000)).unwrap();
    let out = limited(&dir, 128 * MB, &["check", "huge.rollout"]);
    says(&out, 2, &["rollout::too-large", "larger than 4 MiB"]);
    // Just under 4 MiB of playbook: checked within a hundred times its size.
    let mut text = String::from("function \"f\"\nalias \"live\"\npublish\n");
    let mut i = 0;
    while text.len() < 4_000_000 {
        text.push_str(&format!(
            "shift {}% to new  # {}\n",
            1 + i % 90,
            "x".repeat(150)
        ));
        i += 1;
    }
    text.push_str("promote\n");
    std::fs::write(dir.join("big.rollout"), &text).unwrap();
    let out = limited(&dir, 400 * MB, &["check", "-q", "big.rollout"]);
    says(&out, 0, &[]);
}

#[test]
fn step_definitions_that_multiply_are_bounded() {
    let dir = temp_dir();
    // 632 bytes as in the report: 2^40 steps if expanded.
    let defs: String = (0..40)
        .map(|i| format!("step s{i}() {{ s{}(); s{}() }}\n", i + 1, i + 1))
        .collect();
    let text = format!("function \"f\"\nalias \"live\"\n{defs}step s40() {{ wait 1m }}\npublish\nshift 5% to new\ns0()\npromote\n");
    std::fs::write(dir.join("p.rollout"), &text).unwrap();
    for command in ["check", "plan", "simulate"] {
        let out = limited(&dir, 256 * MB, &[command, "p.rollout"]);
        says(
            &out,
            2,
            &["rollout::too-large", "expand to more than 100000 steps"],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("never called"), "{stderr}");
        assert!(!stderr.contains("ends-split"), "{stderr}");
    }
    // A chain 100 deep is refused as too deep, and none of its links is called unused.
    let chain: String = (0..100)
        .map(|i| format!("step c{i}() {{ c{}() }}\n", i + 1))
        .collect();
    std::fs::write(
        dir.join("deep.rollout"),
        format!("{chain}step c100() {{ wait 1m }}\npublish\nc0()\npromote\n"),
    )
    .unwrap();
    let out = limited(&dir, 256 * MB, &["check", "deep.rollout"]);
    says(&out, 2, &["rollout::too-deep"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("never called"));
}

#[test]
fn a_delay_of_centuries_is_refused_before_anything_runs() {
    let dir = temp_dir();
    for (delay, said) in [
        ("100000d", "is longer than a year"),
        ("2d", "a metrics delay of 2d is longer than 1d"),
    ] {
        std::fs::write(
            dir.join("p.rollout"),
            format!("health {{\n  metrics delay {delay}\n  error rate < 1%\n}}\npublish\nshift 5% to new\nwait 10m until healthy\npromote\n"),
        )
        .unwrap();
        for command in ["check", "simulate"] {
            let out = limited(&dir, 256 * MB, &[command, "p.rollout"]);
            says(&out, 2, &[said]);
        }
    }
}

/// `export` answers at once whatever the bakes: a month judged every second or every hour, and
/// a month after a ramp by the second, are refused as too much for what an execution carries
/// between its states, saying what fits; a day judged every 10 seconds, more looks than one
/// execution's history holds, is exported to continue in fresh executions, without the
/// comparison with `run` (beyond its budget); a month that judges nothing without any; a bake
/// short enough is compared, within the time limit.
#[test]
fn export_of_a_long_or_finely_judged_rollout_finishes() {
    let dir = temp_dir();
    let health = |every: &str| {
        format!("function \"f\"\nalias \"live\"\nhealth every {every} {{\n  error rate < 1%\n}}\npublish\n")
    };
    let month = "shift 5% to new\nwait 30d until healthy\npromote\n";
    for (name, every, steps) in [
        ("month-1s", "1s", month),
        ("month-1h", "1h", month),
        (
            "ramp",
            "1s",
            "ramp to 99% by 1% every 1s\nwait 30d until healthy\npromote\n",
        ),
    ] {
        let file = format!("{name}.rollout");
        std::fs::write(dir.join(&file), format!("{}{steps}", health(every))).unwrap();
        let out = limited(&dir, 512 * MB, &["export", &file, "--to", "step-functions"]);
        says(&out, 2, &["KiB of counts", "bake for at most"]);
    }
    for (name, every, steps, said) in [
        (
            "day",
            "10s",
            "shift 5% to new\nwait 12h until healthy\npromote\n",
            "judgment not compared in simulate: a rollout of up to 12h",
        ),
        (
            "two-days",
            "1m",
            "shift 5% to new\nwait 48h until healthy\npromote\n",
            "judgment not compared in simulate: a rollout of up to 2d",
        ),
        ("unjudged", "1h", "shift 5% to new\nwait 30d\npromote\n", ""),
    ] {
        let file = format!("{name}.rollout");
        std::fs::write(dir.join(&file), format!("{}{steps}", health(every))).unwrap();
        let out = limited(&dir, 512 * MB, &["export", &file, "--to", "step-functions"]);
        says(&out, 0, &[said]);
        if said.is_empty() {
            // Nothing judged: nothing to compare, and nothing said about comparing.
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!stderr.contains("judgment"), "{name}: {stderr}");
        }
        let definition: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(definition["States"].is_object(), "{name}: {definition}");
        // The day and the two days look more often than one execution's history holds: they
        // continue.
        let continues = definition["States"]["Continue start"].is_object();
        assert_eq!(continues, name == "day" || name == "two-days", "{name}");
    }
    std::fs::write(
        dir.join("short.rollout"),
        "function \"f\"\nalias \"live\"\nhealth every 10s {\n  error rate < 1%\n}\npublish\nshift 5% to new\nwait 10m until healthy\npromote\n",
    )
    .unwrap();
    let out = limited(
        &dir,
        512 * MB,
        &["export", "short.rollout", "--to", "step-functions"],
    );
    says(&out, 0, &["judgment compared in simulate ("]);
}

/// A fine ramp over many functions makes a state machine over Step Functions' 1 MiB: refused
/// with what to change, and nothing printed as a definition.
#[test]
fn export_over_the_step_functions_limit_is_refused() {
    let dir = temp_dir();
    let functions: Vec<String> = (0..20).map(|i| format!("\"f{i}\"")).collect();
    std::fs::write(
        dir.join("fine.rollout"),
        format!(
            "function {}\nalias \"live\"\nhealth {{\n  error rate < 1%\n}}\npublish\nramp to 99% by 0.5% every 1m\npromote\n",
            functions.join(", ")
        ),
    )
    .unwrap();
    let out = limited(
        &dir,
        512 * MB,
        &["export", "fine.rollout", "--to", "step-functions"],
    );
    says(
        &out,
        2,
        &[
            "more than the 1048576 (1 MiB) Step Functions accepts",
            "ramp in fewer, larger increments",
            "nothing was exported",
        ],
    );
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

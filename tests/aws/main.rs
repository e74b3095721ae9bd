//! End-to-end tests: the real `rollout` binary and the real AWS SDK against a moto server on
//! loopback. `scripts/test` starts the server and sets `ROLLOUT_MOTO_ENDPOINT`; without it these
//! tests fail, saying how to get one. moto does not check RevisionIds, weights or `$LATEST` (the
//! simulated Lambda's tests prove those rules) and does not derive metrics from invocations, so
//! health is driven here by writing `AWS/Lambda` metrics and alarm states.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StateValue};
use aws_sdk_lambda::config::Credentials;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};

const ROLE: &str = "arn:aws:iam::123456789012:role/rollout-test";

fn endpoint() -> String {
    std::env::var("ROLLOUT_MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "the AWS end-to-end tests need a moto server: run `scripts/test`, which installs \
             moto[server]==5.2.5 into .venv and starts it (or start `moto_server -H 127.0.0.1 -p PORT` \
             yourself, POST {{\"lambda\":{{\"use_docker\":false}}}} to /moto-api/config, create the role \
             rollout-test, and set ROLLOUT_MOTO_ENDPOINT=http://127.0.0.1:PORT)"
        )
    })
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn zip(version: u32) -> Vec<u8> {
    std::fs::read(root().join(format!("tests/fixtures/aws/v{version}.zip"))).unwrap()
}

/// A unique name per test, so tests share one server without meeting.
fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

struct Aws {
    lambda: aws_sdk_lambda::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    runtime: tokio::runtime::Runtime,
}

impl Aws {
    fn new() -> Aws {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let config = runtime.block_on(
            aws_config::defaults(BehaviorVersion::latest())
                .endpoint_url(endpoint())
                .region(Region::new("us-east-1"))
                .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
                .load(),
        );
        Aws {
            lambda: aws_sdk_lambda::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
            runtime,
        }
    }

    /// A function whose alias `live` serves version 1 (code v1); `$LATEST` holds `latest`'s code.
    fn function(&self, name: &str, latest: Option<u32>) {
        self.runtime.block_on(async {
            self.lambda
                .create_function()
                .function_name(name)
                .runtime(Runtime::Python312)
                .handler("index.handler")
                .role(ROLE)
                .code(FunctionCode::builder().zip_file(Blob::new(zip(1))).build())
                .send()
                .await
                .expect("create function");
            let v1 = self
                .lambda
                .publish_version()
                .function_name(name)
                .send()
                .await
                .unwrap();
            assert_eq!(v1.version(), Some("1"));
            self.lambda
                .create_alias()
                .function_name(name)
                .name("live")
                .function_version("1")
                .send()
                .await
                .expect("create alias");
            if let Some(code) = latest {
                self.lambda
                    .update_function_code()
                    .function_name(name)
                    .zip_file(Blob::new(zip(code)))
                    .send()
                    .await
                    .expect("update code");
            }
        });
    }

    /// What the alias serves: (version, additional versions).
    fn alias(&self, function: &str) -> (String, Vec<(String, f64)>) {
        self.runtime.block_on(async {
            let out = self
                .lambda
                .get_alias()
                .function_name(function)
                .name("live")
                .send()
                .await
                .unwrap();
            let routing = out
                .routing_config()
                .and_then(|r| r.additional_version_weights())
                .map(|w| w.iter().map(|(k, v)| (k.clone(), *v)).collect())
                .unwrap_or_default();
            (
                out.function_version().unwrap_or_default().to_string(),
                routing,
            )
        })
    }

    /// Writes the per-version metrics Lambda would publish for `version` behind alias `live`.
    fn metrics(&self, function: &str, version: &str, invocations: f64, errors: f64) {
        let dims = |name: &str| {
            MetricDatum::builder()
                .metric_name(name)
                .dimensions(
                    Dimension::builder()
                        .name("FunctionName")
                        .value(function)
                        .build(),
                )
                .dimensions(
                    Dimension::builder()
                        .name("Resource")
                        .value(format!("{function}:live"))
                        .build(),
                )
                .dimensions(
                    Dimension::builder()
                        .name("ExecutedVersion")
                        .value(version)
                        .build(),
                )
        };
        self.runtime.block_on(async {
            self.cloudwatch
                .put_metric_data()
                .namespace("AWS/Lambda")
                .metric_data(dims("Invocations").value(invocations).build())
                .metric_data(dims("Errors").value(errors).build())
                .send()
                .await
                .expect("put metric data");
        });
    }

    fn alarm(&self, name: &str, state: StateValue) {
        self.runtime.block_on(async {
            self.cloudwatch
                .put_metric_alarm()
                .alarm_name(name)
                .namespace("AWS/Lambda")
                .metric_name("Errors")
                .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
                .period(60)
                .evaluation_periods(1)
                .threshold(1.0)
                .comparison_operator(
                    aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold,
                )
                .send()
                .await
                .expect("put alarm");
            self.cloudwatch
                .set_alarm_state()
                .alarm_name(name)
                .state_value(state)
                .state_reason("test")
                .send()
                .await
                .expect("set alarm state");
        });
    }

    fn code_sha(&self, function: &str, qualifier: &str) -> String {
        self.runtime.block_on(async {
            let out = self
                .lambda
                .get_function_configuration()
                .function_name(function)
                .qualifier(qualifier)
                .send()
                .await
                .unwrap();
            out.code_sha256().unwrap_or_default().to_string()
        })
    }
}

/// `rollout ARGS` against the moto server, with test credentials and no way to reach real AWS.
fn command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rollout"));
    command
        .args(args)
        .arg("--endpoint-url")
        .arg(endpoint())
        .current_dir(dir)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null());
    command
}

/// Runs `rollout` to the end.
fn rollout(dir: &Path, args: &[&str]) -> Output {
    command(dir, args).output().expect("run rollout")
}

/// Starts `rollout` and leaves it running.
fn spawn(dir: &Path, args: &[&str]) -> std::process::Child {
    command(dir, args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn temp(playbook: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique("rollout-aws"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("p.rollout"), playbook).unwrap();
    dir
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn canary(functions: &[&str], extra_health: &str) -> String {
    let names: Vec<String> = functions.iter().map(|f| format!("{f:?}")).collect();
    format!(
        "function {}\nalias \"live\"\nhealth every 1s {{\n  min invocations 10\n  error rate < 1%\n{extra_health}}}\npublish \"canary\"\nshift 5% to new\nwait 2s until healthy\npromote\n",
        names.join(", ")
    )
}

#[test]
fn a_healthy_canary_promotes() {
    let aws = Aws::new();
    let f = unique("promote");
    aws.function(&f, Some(2));
    aws.metrics(&f, "2", 1000.0, 2.0);
    let dir = temp(&canary(&[&f], ""));
    let out = rollout(&dir, &["run", "--yes", "p.rollout"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(aws.alias(&f), ("2".to_string(), vec![]), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "{f}: version 1 (100%) -> version 1 (95.00%) + version 2 (5.00%)"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("AWS calls: "), "{stdout}");
}

#[test]
fn a_failing_metric_rolls_back() {
    let aws = Aws::new();
    let f = unique("metric");
    aws.function(&f, Some(2));
    aws.metrics(&f, "2", 1000.0, 50.0);
    let dir = temp(&canary(&[&f], ""));
    let out = rollout(&dir, &["run", "--yes", "p.rollout"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(
        aws.alias(&f),
        ("1".to_string(), vec![]),
        "old serves everything: {}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("error rate of new over 1s = 5%, needs < 1%"),
        "{}",
        text(&out)
    );
}

#[test]
fn an_alarm_in_alarm_rolls_back() {
    let aws = Aws::new();
    let f = unique("alarm");
    let alarm = format!("{f}-errors");
    aws.function(&f, Some(2));
    aws.metrics(&f, "2", 1000.0, 0.0);
    aws.alarm(&alarm, StateValue::Alarm);
    let dir = temp(&canary(&[&f], &format!("  alarm {alarm:?}\n")));
    let out = rollout(&dir, &["run", "--yes", "p.rollout"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(aws.alias(&f), ("1".to_string(), vec![]));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("is in ALARM"),
        "{}",
        text(&out)
    );
}

#[test]
fn an_unchanged_function_has_nothing_to_roll_out() {
    let aws = Aws::new();
    let f = unique("same");
    aws.function(&f, None);
    let dir = temp(&canary(&[&f], ""));
    let out = rollout(&dir, &["run", "--yes", "--format", "json", "p.rollout"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let last: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(
        last["outcome"]["outcome"],
        "nothing_to_roll_out",
        "{}",
        text(&out)
    );
    assert_eq!(aws.alias(&f), ("1".to_string(), vec![]));
}

#[test]
fn update_code_from_a_zip_then_roll_out() {
    let aws = Aws::new();
    let f = unique("zip");
    aws.function(&f, None);
    aws.metrics(&f, "2", 500.0, 0.0);
    let dir = temp(&canary(&[&f], "").replace(
        "publish \"canary\"",
        "update code from \"build/app.zip\"\npublish \"canary\"",
    ));
    std::fs::create_dir_all(dir.join("build")).unwrap();
    std::fs::write(dir.join("build/app.zip"), zip(3)).unwrap();
    let out = rollout(&dir, &["run", "--yes", "p.rollout"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(aws.alias(&f).0, "2");
    assert_eq!(
        aws.code_sha(&f, "2"),
        aws.code_sha(&f, "$LATEST"),
        "version 2 holds the uploaded zip"
    );
    assert_ne!(aws.code_sha(&f, "2"), aws.code_sha(&f, "1"));
}

#[test]
fn a_missing_function_or_alias_is_refused_before_any_change() {
    let aws = Aws::new();
    let dir = temp(&canary(&["no-such-function"], ""));
    let out = rollout(&dir, &["run", "--yes", "p.rollout"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no-such-function:live does not exist"),
        "{}",
        text(&out)
    );

    let f = unique("noalias");
    aws.function(&f, Some(2));
    let out = rollout(
        &dir,
        &[
            "run",
            "--yes",
            "--function",
            &f,
            "--alias",
            "prod",
            "p.rollout",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(aws.alias(&f), ("1".to_string(), vec![]), "live untouched");
    let versions = aws
        .runtime
        .block_on(
            aws.lambda
                .list_versions_by_function()
                .function_name(&f)
                .send(),
        )
        .unwrap();
    assert_eq!(
        versions.versions().len(),
        2,
        "nothing published: $LATEST and 1 only"
    );
}

#[test]
fn two_functions_move_together() {
    let aws = Aws::new();
    let (a, b) = (unique("pair-a"), unique("pair-b"));
    for f in [&a, &b] {
        aws.function(f, Some(2));
        aws.metrics(f, "2", 1000.0, 0.0);
    }
    let dir = temp(&canary(&[&a, &b], ""));
    let out = rollout(&dir, &["run", "--yes", "p.rollout"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(aws.alias(&a).0, "2");
    assert_eq!(aws.alias(&b).0, "2");

    // One unhealthy function rolls both back.
    let (c, d) = (unique("pair-c"), unique("pair-d"));
    for f in [&c, &d] {
        aws.function(f, Some(2));
    }
    aws.metrics(&c, "2", 1000.0, 0.0);
    aws.metrics(&d, "2", 1000.0, 90.0);
    let dir = temp(&canary(&[&c, &d], ""));
    let out = rollout(&dir, &["run", "--yes", "p.rollout"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(aws.alias(&c), ("1".to_string(), vec![]));
    assert_eq!(aws.alias(&d), ("1".to_string(), vec![]));
}

#[test]
fn status_and_live_plan_read_without_writing() {
    let aws = Aws::new();
    let f = unique("status");
    aws.function(&f, Some(2));
    let dir = temp(&canary(&[&f], ""));
    let out = rollout(&dir, &["status", "--function", &f, "--alias", "live"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("{f}:live serves version 1 (100%)")),
        "{stdout}"
    );
    assert!(stdout.contains("no rollout in progress"), "{stdout}");

    let out = rollout(&dir, &["plan", "--live", "p.rollout"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("{f}:live serves version 1 (100%): old = 1")),
        "{stdout}"
    );
    assert!(
        stdout.contains("$LATEST differs from version 1: publish creates a new version"),
        "{stdout}"
    );
    assert_eq!(aws.alias(&f), ("1".to_string(), vec![]));

    let out = rollout(&dir, &["status", "--function", "nope", "--alias", "live"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn a_new_version_with_another_execution_role_is_refused() {
    let aws = Aws::new();
    let f = unique("role");
    aws.function(&f, Some(2));
    aws.runtime.block_on(async {
        aws.lambda
            .update_function_configuration()
            .function_name(&f)
            .role("arn:aws:iam::123456789012:role/rollout-other")
            .send()
            .await
            .expect("change the role");
    });
    let dir = temp(&canary(&[&f], ""));
    let out = rollout(&dir, &["run", "--yes", "p.rollout"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("weighted routing needs one execution role"),
        "{}",
        text(&out)
    );
    assert_eq!(aws.alias(&f), ("1".to_string(), vec![]), "nothing shifted");
}

#[test]
fn ctrl_c_rolls_back_and_exits_3() {
    let aws = Aws::new();
    let f = unique("interrupt");
    aws.function(&f, Some(2));
    aws.metrics(&f, "2", 1000.0, 0.0);
    let dir = temp(&canary(&[&f], "").replace("wait 2s until healthy", "wait 60s until healthy"));
    let child = spawn(&dir, &["run", "--yes", "p.rollout"]);
    // Wait until the canary is live, then interrupt.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while aws.alias(&f).1.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the canary never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // SIGINT, as Ctrl-C sends it; the shell's own `kill` needs no extra package.
    let status = Command::new("sh")
        .args(["-c", &format!("kill -INT {}", child.id())])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("interrupted: rolling back to old"),
        "{}",
        text(&out)
    );
    assert_eq!(
        aws.alias(&f),
        ("1".to_string(), vec![]),
        "old serves everything again"
    );
}

#[test]
fn run_refuses_without_a_terminal_or_yes_and_without_targets() {
    let dir = temp(&canary(&["x"], ""));
    let out = rollout(&dir, &["run", "p.rollout"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --yes"));
    let dir = temp("publish; promote\n");
    let out = rollout(&dir, &["run", "--yes", "p.rollout"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no target"));
}

/// The lease marker on the alias, if any.
fn marker(aws: &Aws, function: &str) -> Option<String> {
    aws.runtime.block_on(async {
        let out = aws
            .lambda
            .get_alias()
            .function_name(function)
            .name("live")
            .send()
            .await
            .unwrap();
        let description = out.description().unwrap_or_default().to_string();
        description.contains("[rollout ").then_some(description)
    })
}

/// Waits until `check` holds, or fails the test after 30 seconds.
fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_second_run_on_a_held_alias_stops_with_exit_4_and_names_the_holder() {
    let aws = Aws::new();
    let f = unique("held");
    aws.function(&f, Some(2));
    aws.metrics(&f, "2", 1000.0, 0.0);
    let dir = temp(&canary(&[&f], "").replace("wait 2s until healthy", "wait 4s until healthy"));
    let first = spawn(&dir, &["run", "--yes", "p.rollout"]);
    wait_for("the first run to take the lease", || {
        marker(&aws, &f).is_some()
    });
    let second = rollout(&dir, &["run", "--yes", "p.rollout"]);
    assert_eq!(second.status.code(), Some(4), "{}", text(&second));
    assert!(
        String::from_utf8_lossy(&second.stdout).contains("is held by another rollout"),
        "{}",
        text(&second)
    );
    let first = first.wait_with_output().unwrap();
    assert_eq!(
        first.status.code(),
        Some(0),
        "the first run is undisturbed: {}",
        text(&first)
    );
    assert_eq!(aws.alias(&f), ("2".to_string(), vec![]));
    assert_eq!(marker(&aws, &f), None, "the lease is released");
}

#[test]
fn killed_at_every_step_then_resumed_or_rolled_back_never_leaves_a_split() {
    let aws = Aws::new();
    let playbook = |f: &str| {
        format!(
            "function {f:?}\nalias \"live\"\nhealth every 1s {{\n  min invocations 10\n  error rate < 1%\n}}\npublish\nwait 2s\nshift 5% to new\nwait 2s until healthy\nshift 50% to new\nwait 2s until healthy\npromote\n"
        )
    };
    let mut kill_points = 0;
    // The runner spends time in steps 2 (after publish), 4 (5% on new) and 6 (50% on new); each
    // is killed once and recovered by resume or rollback in turn.
    for step in [2, 4, 6, 2, 4, 6] {
        let f = unique(&format!("kill{step}"));
        aws.function(&f, Some(2));
        aws.metrics(&f, "2", 1000.0, 0.0);
        let dir = temp(&playbook(&f));
        let mut child = spawn(&dir, &["run", "--yes", "p.rollout"]);
        let needle = format!(" s={step}/7 ");
        wait_for(&format!("step {step}"), || {
            marker(&aws, &f).is_some_and(|m| m.contains(&needle))
        });
        child.kill().unwrap(); // SIGKILL: no chance to clean up
        let _ = child.wait();
        kill_points += 1;
        assert!(marker(&aws, &f).is_some(), "the lease outlives the runner");
        let by_rollback = kill_points % 2 == 1;
        let recover = if by_rollback {
            rollout(
                &dir,
                &["rollback", "--yes", "--function", &f, "--alias", "live"],
            )
        } else {
            rollout(&dir, &["resume", "--yes", "--take-over", "p.rollout"])
        };
        assert_eq!(
            recover.status.code(),
            Some(0),
            "step {step}: {}",
            text(&recover)
        );
        let (version, routing) = aws.alias(&f);
        assert!(
            routing.is_empty(),
            "step {step}: left split: {routing:?}; {}",
            text(&recover)
        );
        let expected = if by_rollback { "1" } else { "2" };
        assert_eq!(version, expected, "step {step}: {}", text(&recover));
        assert_eq!(marker(&aws, &f), None, "step {step}: lease cleared");
    }
    println!("killed the runner at {kill_points} step boundaries; every alias ended on old or new");
}

#[test]
fn approve_releases_a_waiting_gate_from_another_process() {
    let aws = Aws::new();
    let f = unique("gate");
    aws.function(&f, Some(2));
    aws.metrics(&f, "2", 1000.0, 0.0);
    let dir = temp(&canary(&[&f], "").replace("promote", "approve \"ship it?\"\npromote"));
    let runner = spawn(&dir, &["run", "--yes", "p.rollout"]);
    wait_for("the gate", || {
        marker(&aws, &f).is_some_and(|m| m.contains(" g=1 "))
    });
    let approve = rollout(&dir, &["approve", "--function", &f, "--alias", "live"]);
    assert_eq!(approve.status.code(), Some(0), "{}", text(&approve));
    let runner = runner.wait_with_output().unwrap();
    assert_eq!(runner.status.code(), Some(0), "{}", text(&runner));
    assert!(
        String::from_utf8_lossy(&runner.stdout).contains("approved by `rollout approve`"),
        "{}",
        text(&runner)
    );
    assert_eq!(aws.alias(&f), ("2".to_string(), vec![]));
    let again = rollout(&dir, &["approve", "--function", &f, "--alias", "live"]);
    assert_eq!(
        again.status.code(),
        Some(2),
        "nothing waits any more: {}",
        text(&again)
    );
}

#[test]
fn every_event_goes_to_the_journal() {
    let aws = Aws::new();
    let f = unique("journal");
    aws.function(&f, Some(2));
    aws.metrics(&f, "2", 1000.0, 0.0);
    let dir = temp(&canary(&[&f], ""));
    let out = rollout(
        &dir,
        &[
            "run",
            "--yes",
            "--journal",
            "audit/rollouts.jsonl",
            "p.rollout",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let journal = std::fs::read_to_string(dir.join("audit/rollouts.jsonl")).unwrap();
    let events: Vec<serde_json::Value> = journal
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.first().unwrap()["event"], "started");
    assert_eq!(events.last().unwrap()["event"], "finished");
    assert!(events
        .iter()
        .any(|e| e["event"] == "alias_updated" && e["after"]["routing"]["2"] == 0.05));
    assert!(
        !journal.contains("testing"),
        "no credentials in the journal"
    );
}

#[test]
fn rollback_restores_the_primary_of_a_hand_made_split_and_refuses_a_changed_alias() {
    let aws = Aws::new();
    let f = unique("handsplit");
    aws.function(&f, Some(2));
    let split = |version: &str, weights: &[(&str, f64)], description: &str| {
        aws.runtime.block_on(async {
            let routing = aws_sdk_lambda::types::AliasRoutingConfiguration::builder()
                .set_additional_version_weights(Some(
                    weights.iter().map(|(v, w)| (v.to_string(), *w)).collect(),
                ))
                .build();
            aws.lambda
                .publish_version()
                .function_name(&f)
                .send()
                .await
                .unwrap();
            aws.lambda
                .update_alias()
                .function_name(&f)
                .name("live")
                .function_version(version)
                .routing_config(routing)
                .description(description)
                .send()
                .await
                .unwrap();
        })
    };
    split("1", &[("2", 0.3)], "by hand");
    let dir = temp("publish; promote\n");
    let out = rollout(
        &dir,
        &["rollback", "--yes", "--function", &f, "--alias", "live"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(aws.alias(&f), ("1".to_string(), vec![]));

    // A lease that says old 1 / new 2, on an alias someone has since pointed at version 3.
    aws.runtime.block_on(async {
        aws.lambda
            .update_function_code()
            .function_name(&f)
            .zip_file(Blob::new(zip(3)))
            .send()
            .await
            .unwrap();
    });
    split(
        "3",
        &[],
        "[rollout h=x@y:1 p=z s=2/4 o=1 n=2 t=1 b=1 g=0 a=0]",
    );
    let out = rollout(
        &dir,
        &["rollback", "--yes", "--function", &f, "--alias", "live"],
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert_eq!(aws.alias(&f).0, "3", "nothing overwritten");
    let out = rollout(&dir, &["rollback", "--function", &f, "--alias", "live"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "no terminal and no --yes: {}",
        text(&out)
    );
}

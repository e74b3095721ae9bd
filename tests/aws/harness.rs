//! The harness: a moto server's address, test functions and metrics written with the AWS SDK,
//! and the real `rollout` executable run against it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StateValue};
use aws_sdk_lambda::config::Credentials;
use aws_sdk_lambda::operation::get_alias::GetAliasOutput;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};
use serde_json::Value;

pub(crate) use crate::edit::Edit;

pub(crate) const ROLE: &str = "arn:aws:iam::123456789012:role/rollout-test";

/// The arguments of `rollout run --yes --on step-functions --role ROLE`, then `extra`, then
/// `p.rollout`.
pub(crate) fn on_step_functions<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["run", "--yes", "--on", "step-functions", "--role", ROLE];
    args.extend_from_slice(extra);
    args.push("p.rollout");
    args
}

pub(crate) fn endpoint() -> String {
    std::env::var("ROLLOUT_MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "the AWS end-to-end tests need a moto server: run `scripts/test`, which installs \
             moto[server]==5.2.5 into .venv and starts it (or start `moto_server -H 127.0.0.1 -p PORT` \
             yourself, POST {{\"lambda\":{{\"use_docker\":false}}}} to /moto-api/config, create the role \
             rollout-test, and set ROLLOUT_MOTO_ENDPOINT=http://127.0.0.1:PORT)"
        )
    })
}

pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn zip(version: u32) -> Vec<u8> {
    std::fs::read(root().join(format!("tests/fixtures/aws/v{version}.zip"))).unwrap()
}

/// A unique name per test, so tests share one server without meeting.
pub(crate) fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// One `AWS/Lambda` datapoint of `name` for `version` behind `function`:live, at `at` (epoch
/// seconds), as Lambda publishes it.
pub(crate) fn datum(function: &str, version: &str, name: &str, at: i64, value: f64) -> MetricDatum {
    let dimension =
        |name: &str, value: String| Dimension::builder().name(name).value(value).build();
    MetricDatum::builder()
        .metric_name(name)
        .timestamp(aws_sdk_cloudwatch::primitives::DateTime::from_secs(at))
        .dimensions(dimension("FunctionName", function.to_string()))
        .dimensions(dimension("Resource", format!("{function}:live")))
        .dimensions(dimension("ExecutedVersion", version.to_string()))
        .value(value)
        .build()
}

/// SDK clients for the moto server, to set up what tests need and check what `rollout` did.
pub(crate) struct Aws {
    pub(crate) lambda: aws_sdk_lambda::Client,
    pub(crate) cloudwatch: aws_sdk_cloudwatch::Client,
    pub(crate) sfn: aws_sdk_sfn::Client,
    pub(crate) runtime: tokio::runtime::Runtime,
    /// The role the functions it creates run as, in its account.
    role: String,
}

impl Aws {
    /// Clients in `us-east-1`, where most tests work.
    pub(crate) fn new() -> Aws {
        Aws::in_region("us-east-1")
    }

    /// Clients in `region`: moto keeps each region's functions and metrics apart.
    pub(crate) fn in_region(region: &str) -> Aws {
        Aws::connect(region, None)
    }

    /// Clients in `region` of account `account`, reached through its role `rollout` as
    /// `rollout` reaches it (scripts/moto.sh makes the role): moto keeps accounts apart too.
    pub(crate) fn in_account(region: &str, account: &str) -> Aws {
        Aws::connect(region, Some(account))
    }

    fn connect(region: &str, account: Option<&str>) -> Aws {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let config = runtime.block_on(async {
            let base = aws_config::defaults(BehaviorVersion::latest())
                .endpoint_url(endpoint())
                .region(Region::new(region.to_string()))
                .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
                .load()
                .await;
            match account {
                None => base,
                Some(account) => {
                    let role = aws_config::sts::AssumeRoleProvider::builder(format!(
                        "arn:aws:iam::{account}:role/rollout"
                    ))
                    .session_name("tests")
                    .configure(&base)
                    .build()
                    .await;
                    base.into_builder()
                        .credentials_provider(
                            aws_credential_types::provider::SharedCredentialsProvider::new(role),
                        )
                        .build()
                }
            }
        });
        Aws {
            lambda: aws_sdk_lambda::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
            sfn: aws_sdk_sfn::Client::new(&config),
            runtime,
            role: match account {
                Some(account) => format!("arn:aws:iam::{account}:role/rollout-test"),
                None => ROLE.to_string(),
            },
        }
    }

    /// A function whose alias `live` serves version 1 (code v1); `$LATEST` holds `latest`'s code.
    pub(crate) fn function(&self, name: &str, latest: Option<u32>) {
        self.runtime.block_on(async {
            self.lambda
                .create_function()
                .function_name(name)
                .runtime(Runtime::Python312)
                .handler("index.handler")
                .role(&self.role)
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

    /// Alias `live` of `function` as Lambda answers.
    fn get_alias(&self, function: &str) -> GetAliasOutput {
        self.runtime.block_on(async {
            self.lambda
                .get_alias()
                .function_name(function)
                .name("live")
                .send()
                .await
                .expect("get alias")
        })
    }

    /// How many versions `function` has, `$LATEST` included.
    pub(crate) fn versions(&self, function: &str) -> usize {
        self.runtime
            .block_on(
                self.lambda
                    .list_versions_by_function()
                    .function_name(function)
                    .send(),
            )
            .expect("list versions")
            .versions()
            .len()
    }

    /// What the alias serves: (version, additional versions).
    pub(crate) fn alias(&self, function: &str) -> Serves {
        let out = self.get_alias(function);
        let routing = out
            .routing_config()
            .and_then(|r| r.additional_version_weights())
            .map(|w| w.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default();
        (
            out.function_version().unwrap_or_default().to_string(),
            routing,
        )
    }

    /// Writes the per-version metrics Lambda would publish for `version` behind alias `live`:
    /// `invocations` and `errors` in every second from ten seconds ago to two minutes ahead, so
    /// that whatever seconds a rollout judges hold them.
    pub(crate) fn metrics(&self, function: &str, version: &str, invocations: f64, errors: f64) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        self.runtime.block_on(async {
            let mut request = self.cloudwatch.put_metric_data().namespace("AWS/Lambda");
            for at in now - 10..now + 120 {
                request = request
                    .metric_data(datum(function, version, "Invocations", at, invocations))
                    .metric_data(datum(function, version, "Errors", at, errors));
            }
            request.send().await.expect("put metric data");
        });
    }

    pub(crate) fn alarm(&self, name: &str, state: StateValue) {
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

    pub(crate) fn code_sha(&self, function: &str, qualifier: &str) -> String {
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
pub(crate) fn command(dir: &Path, args: &[&str]) -> Command {
    command_at(dir, args, &endpoint())
}

/// `rollout` with `args`, calling AWS at `endpoint`.
pub(crate) fn command_at(dir: &Path, args: &[&str], endpoint: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rollout"));
    command
        .args(args)
        .arg("--endpoint-url")
        .arg(endpoint)
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
pub(crate) fn rollout(dir: &Path, args: &[&str]) -> Output {
    command(dir, args).output().expect("run rollout")
}

/// `rollout status --function FUNCTION --alias live --format json`, run in `dir`.
pub(crate) fn status_json(dir: &Path, function: &str) -> Output {
    rollout(
        dir,
        &[
            "status",
            "--function",
            function,
            "--alias",
            "live",
            "--format",
            "json",
        ],
    )
}

/// Starts `rollout` and leaves it running.
pub(crate) fn spawn(dir: &Path, args: &[&str]) -> std::process::Child {
    spawn_as(dir, args, &whoami())
}

/// Starts `rollout` as `user` (its `USER`) and leaves it running.
pub(crate) fn spawn_as(dir: &Path, args: &[&str], user: &str) -> std::process::Child {
    command(dir, args)
        .env("USER", user)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// This test process's `USER`, as the runners it starts inherit it.
fn whoami() -> String {
    std::env::var("USER").unwrap_or_else(|_| "someone".to_string())
}

pub(crate) fn temp(playbook: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique("rollout-aws"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("p.rollout"), playbook).unwrap();
    dir
}

pub(crate) fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The JSON events `rollout … --format json` printed on stdout, one object a line.
pub(crate) fn events(output: &Output) -> Vec<Value> {
    conform(&output.stdout);
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON event ({e}): {line}\n{}", text(output)))
        })
        .collect()
}

/// Holds JSON event lines to the published schema (schema/events.schema.json), with the
/// `jsonschema` package the venv has for cfn-lint: an event or a field the schema does not
/// describe fails the test that printed it.
pub(crate) fn conform(lines: &[u8]) {
    conform_to(lines, "events.schema.json");
}

/// Holds JSON lines (one object a line) to the published schema `schema/NAME`.
pub(crate) fn conform_to(lines: &[u8], name: &str) {
    let cfn_lint = crate::validated::validator("ROLLOUT_CFN_LINT");
    let python = cfn_lint.with_file_name("python");
    const CHECK: &str = "import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
validator = jsonschema.Draft202012Validator(schema)
bad = 0
for n, line in enumerate(sys.stdin, 1):
    event = json.loads(line)
    error = jsonschema.exceptions.best_match(validator.iter_errors(event))
    if error is not None:
        bad += 1
        print(f'line {n} ({event.get(\"event\")}): {error.message[:300]} at {list(error.absolute_path)}')
sys.exit(1 if bad else 0)
";
    let mut child = Command::new(&python)
        .arg("-c")
        .arg(CHECK)
        .arg(root().join("schema").join(name))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("piped");
        stdin.write_all(lines).expect("write the events");
    }
    let checked = child.wait_with_output().expect("the schema check ends");
    assert!(
        checked.status.success(),
        "JSON lines that schema/{name} does not describe:\n{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}

/// The events named `kind` (`alias_updated`, `health_evaluated`, …), in order.
pub(crate) fn events_of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == kind).collect()
}

/// How a rollout ended, as its one `finished` event says.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// `promoted`, `rolled_back`, `conflict`, …
    pub(crate) name: String,
    /// The exit code the outcome maps to.
    pub(crate) exit_code: i64,
    /// The outcome in words.
    pub(crate) message: String,
}

/// The outcome of a run's `events`: its one `finished` event, which the summary that ends a
/// local run repeats.
pub(crate) fn outcome(events: &[Value]) -> Outcome {
    let finished = events_of_kind(events, "finished");
    assert_eq!(finished.len(), 1, "one finished event: {events:#?}");
    let outcome = Outcome {
        name: finished[0]["outcome"].as_str().unwrap().to_string(),
        exit_code: finished[0]["exit_code"].as_i64().unwrap(),
        message: finished[0]["message"].as_str().unwrap().to_string(),
    };
    if let Some(summary) = events.iter().find(|e| e["event"] == "summary") {
        assert_eq!(summary["outcome"]["outcome"], outcome.name.as_str());
        assert_eq!(summary["exit_code"], outcome.exit_code);
    }
    outcome
}

/// The outcome of a run, which must be `name` with `exit_code`; the run's output is shown when
/// it is not.
pub(crate) fn ended(out: &Output, events: &[Value], name: &str, exit_code: i64) -> Outcome {
    let outcome = outcome(events);
    assert_eq!(
        (outcome.name.as_str(), outcome.exit_code),
        (name, exit_code),
        "{}",
        text(out)
    );
    outcome
}

/// What an alias serves: the primary version and the additional versions with their weights.
pub(crate) type Serves = (String, Vec<(String, f64)>);

fn serves(alias: &Value) -> Serves {
    let routing = alias["routing"]
        .as_object()
        .map(|r| {
            r.iter()
                .map(|(v, w)| (v.clone(), w.as_f64().unwrap()))
                .collect()
        })
        .unwrap_or_default();
    (alias["version"].as_str().unwrap().to_string(), routing)
}

/// What `function`'s alias served after each write of the run that moved traffic, in order
/// (writes that only took, renewed or cleared the lease are left out).
pub(crate) fn traffic(events: &[Value], function: &str) -> Vec<Serves> {
    events_of_kind(events, "alias_updated")
        .into_iter()
        .filter(|e| e["function"] == function)
        .map(|e| (serves(&e["before"]), serves(&e["after"])))
        .filter(|(before, after)| before != after)
        .map(|(_, after)| after)
        .collect()
}

/// `version` alone.
pub(crate) fn unsplit(version: &str) -> Serves {
    (version.to_string(), vec![])
}

/// `old` with `weight` (0 to 1) of the traffic on `new`.
pub(crate) fn split(old: &str, new: &str, weight: f64) -> Serves {
    (old.to_string(), vec![(new.to_string(), weight)])
}

/// The health evaluations of `function` that failed, in order.
pub(crate) fn failed_evaluations<'a>(events: &'a [Value], function: &str) -> Vec<&'a Value> {
    events_of_kind(events, "health_evaluated")
        .into_iter()
        .filter(|e| e["function"] == function && e["verdict"] == "fail")
        .collect()
}

/// A canary of `functions` judged by the second; moto makes metrics readable at once, so the
/// playbook sets `metrics delay 0s`.
pub(crate) fn canary(functions: &[&str], extra_health: &str) -> String {
    let names: Vec<String> = functions.iter().map(|f| format!("{f:?}")).collect();
    format!(
        "function {}\nalias \"live\"\nhealth every 1s {{\n  metrics delay 0s\n  min invocations 10\n  error rate < 1%\n{extra_health}}}\npublish \"canary\"\nshift 5% to new\nwait 2s until healthy\npromote\n",
        names.join(", ")
    )
}

/// The lease marker on the alias, if any.
pub(crate) fn marker(aws: &Aws, function: &str) -> Option<String> {
    let description = aws
        .get_alias(function)
        .description()
        .unwrap_or_default()
        .to_string();
    description.contains("[rollout ").then_some(description)
}

/// Who holds the lease `marker` describes: its `user@host:pid`.
pub(crate) fn holder(marker: &str) -> String {
    let after = marker.split_once(" h=").expect("a holder").1;
    after.split(' ').next().unwrap().to_string()
}

/// Waits until `check` holds, or fails the test after 30 seconds.
pub(crate) fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A TCP proxy in front of the moto server that can go silent: while silent it accepts
/// connections and reads requests but forwards nothing and answers nothing, as a partitioned
/// network or a stalled endpoint does.
pub(crate) struct Proxy {
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    silent: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Proxy {
    /// A proxy to `target` (`http://HOST:PORT`), answering.
    pub(crate) fn start(target: &str) -> Proxy {
        use std::io::{Read, Write};
        use std::net::{TcpListener, TcpStream};
        use std::sync::atomic::AtomicBool;
        use std::sync::Arc;
        let upstream = target.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let silent = Arc::new(AtomicBool::new(false));
        let quiet = silent.clone();
        // Copies `from` to `to` while answering; while silent, what comes is dropped.
        fn pipe(mut from: TcpStream, mut to: TcpStream, silent: Arc<AtomicBool>) {
            let mut buffer = [0u8; 16 * 1024];
            loop {
                match from.read(&mut buffer) {
                    Ok(0) | Err(_) => return,
                    Ok(_) if silent.load(Ordering::SeqCst) => {}
                    Ok(n) => {
                        if to.write_all(&buffer[..n]).is_err() {
                            return;
                        }
                    }
                }
            }
        }
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (a, b) = (quiet.clone(), quiet.clone());
                std::thread::spawn(move || pipe(client, server, a));
                std::thread::spawn(move || pipe(s2, c2, b));
            }
        });
        Proxy { url, silent }
    }

    /// Goes silent, or answers again.
    pub(crate) fn silence(&self, silent: bool) {
        self.silent.store(silent, Ordering::SeqCst);
    }
}

/// A listener that accepts connections and never answers: an endpoint that hangs.
pub(crate) fn silent_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for client in listener.incoming().flatten() {
            held.push(client);
        }
    });
    url
}

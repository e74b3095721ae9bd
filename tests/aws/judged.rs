//! The judge the export writes in JSONata (`rollout::export::JUDGE`) decides exactly as the Rust
//! judge `run` uses: hundreds of random count checks (shares and counts per window, thresholds
//! constant or moving with `old`, upper and lower, missing data, held periods, varying chances,
//! clustered events, bounded and open phases, last looks), each assessed by both, evaluated with
//! the jsonata package Step Functions runs (2.0.6, installed by `scripts/test`; without it these
//! tests fail, saying so). Runs in the end-to-end suite for that install.

use std::path::Path;
use std::process::Command;

use rollout::cloud::sim::rng::Rng;
use rollout::judge::dispersion::Dispersion;
use rollout::judge::form::{Counted, Family, Form};
use rollout::judge::sequential::{assess, Background, Counts, Look, Period, State};
use rollout::plan::{Millis, Which};
use serde_json::{json, Value};

use crate::harness::root;

/// Each value of `expression` (`JUDGE` and a body) on each input, as jsonata 2.0.6 gives it.
fn evaluate(body: &str, inputs: &[Value]) -> Vec<Value> {
    let module = std::env::var("ROLLOUT_JSONATA_MODULE").unwrap_or_else(|_| {
        panic!(
            "ROLLOUT_JSONATA_MODULE is not set: `scripts/test` installs jsonata (npm) and sets it"
        )
    });
    assert!(Path::new(&module).exists(), "{module} does not exist");
    let job = json!({
        "expression": format!("({}\n{body})", rollout::export::JUDGE),
        "inputs": inputs,
    });
    let file = std::env::temp_dir().join(format!("rollout-judged-{}.json", std::process::id()));
    std::fs::write(&file, job.to_string()).expect("job written");
    let output = Command::new("node")
        .arg(root().join("scripts/jsonata.js"))
        .arg(&file)
        .env("ROLLOUT_JSONATA_MODULE", &module)
        .output()
        .expect("node runs");
    let _ = std::fs::remove_file(&file);
    assert!(
        output.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&output.stdout).expect("JSON results");
    assert_eq!(results.len(), inputs.len());
    results
        .into_iter()
        .enumerate()
        .map(|(i, r)| match r.get("error") {
            Some(e) => panic!("case {i}: jsonata failed: {e}\ninput: {}", inputs[i]),
            None => r["value"].clone(),
        })
        .collect()
}

/// One random count check, its periods, what is known before, and where the look stands.
struct Case {
    form: Form,
    periods: Vec<Period>,
    background: Background,
    look: Look,
}

impl Case {
    fn random(rng: &mut Rng) -> Case {
        let pick = |rng: &mut Rng, n: usize| (rng.uniform() * n as f64) as usize;
        let minute = 60_000.0;
        let (family, offset) = match pick(rng, 3) {
            0 => (Family::ErrorRate, [0.001, 0.005, 0.01, 0.05][pick(rng, 4)]),
            1 => (Family::SlowerThan(Millis(800)), [0.01, 0.05][pick(rng, 2)]),
            _ => (
                Family::Events {
                    counted: if rng.uniform() < 0.5 {
                        Counted::Throttles
                    } else {
                        Counted::Errors
                    },
                    window: Millis(300_000),
                },
                [2.0, 5.0, 20.0][pick(rng, 3)] / 300_000.0,
            ),
        };
        let events = matches!(family, Family::Events { .. });
        let upper = rng.uniform() < 0.85;
        let other = (!events && upper && rng.uniform() < 0.4)
            .then(|| (Which::Old, [1.0, 1.5, 2.0][pick(rng, 3)]));
        let (offset, other) = match other {
            Some(o) if rng.uniform() < 0.3 => (0.0, Some(o)),
            o => (offset, o),
        };
        let form = Form {
            family,
            subject: Which::New,
            other,
            offset,
            upper,
        };
        let reads_old = !events;
        let rps = [0.5, 3.0, 50.0][pick(rng, 3)];
        let old_rate = [0.0005, 0.002, 0.01][pick(rng, 3)];
        // New's rate: healthy, near the threshold, or well beyond it.
        let allowed = match other {
            Some((_, a)) => a * old_rate + offset,
            None if events => offset * minute / (rps * minute),
            None => offset,
        };
        let factor = [0.2, 0.7, 1.0, 1.4, 3.0][pick(rng, 5)];
        let new_rate = (allowed * factor).min(0.9);
        // The chance of each minute varies (a gamma of this squared coefficient of variation).
        let c2: f64 = [0.0, 0.3, 1.0][pick(rng, 3)];
        let modulated = |rng: &mut Rng, rate: f64| {
            if c2 == 0.0 {
                return rate;
            }
            let draws = (1.0 / c2).round().max(1.0) as usize;
            let gamma: f64 = (0..draws).map(|_| -rng.uniform().max(1e-12).ln()).sum();
            (rate * gamma / draws as f64).min(1.0)
        };
        let length = [1, 5, 20, 40][pick(rng, 4)];
        let periods = (0..length)
            .map(|i| {
                let calls = rps * minute;
                let n = rng.poisson(calls * 0.05) as f64;
                let m = rng.poisson(calls * 0.95) as f64;
                let shared = rng.uniform() < 0.08;
                let bump = if shared { 0.2 } else { 0.0 };
                let p = modulated(rng, new_rate + bump);
                let x = if events {
                    rng.poisson(n * p) as f64
                } else {
                    rng.poisson(n * p).min(n as u64) as f64
                };
                let q = modulated(rng, old_rate + bump);
                let y = rng.poisson(m * q).min(m as u64) as f64;
                let trials = |t: f64| if events { minute } else { t };
                Period {
                    start: Millis(i * 60_000),
                    subject: (n > 0.0 && rng.uniform() > 0.05).then_some(Counts {
                        trials: trials(n),
                        events: x,
                    }),
                    other: (reads_old && m > 0.0 && rng.uniform() > 0.05).then_some(Counts {
                        trials: m,
                        events: y,
                    }),
                    held: shared && rng.uniform() < 0.8,
                }
            })
            .collect::<Vec<_>>();
        let mut history = Dispersion::default();
        for _ in 0..[0, 5, 60][pick(rng, 3)] {
            let m = rng.poisson(rps * minute * 0.95) as f64;
            let q = modulated(rng, old_rate);
            history.add(m, rng.poisson(m * q).min(m as u64) as f64);
        }
        let bounded = rng.uniform() < 0.7;
        Case {
            form,
            background: Background {
                history,
                cluster: [1.0, 1.0, 1.5, 3.0][pick(rng, 4)],
            },
            look: Look {
                alpha: [0.01, 0.0025, 0.0005][pick(rng, 3)],
                bounded,
                last: bounded && rng.uniform() < 0.5,
                planned: periods.len() + [0, 0, 3, 30][pick(rng, 4)],
            },
            periods,
        }
    }

    fn json(&self) -> Value {
        let family = matches!(self.form.family, Family::ErrorRate | Family::SlowerThan(_));
        json!({
            "form": {
                "upper": self.form.upper,
                "shares": family,
                "other": self.form.other.map(|(_, a)| a),
                "offset": self.form.offset,
            },
            "periods": self.periods,
            "background": self.background,
            "look": {
                "alpha": self.look.alpha,
                "bounded": self.look.bounded,
                "last": self.look.last,
                "planned": self.look.planned,
            },
        })
    }
}

#[test]
fn the_exported_judge_decides_as_run_does_on_hundreds_of_random_checks() {
    let mut rng = Rng::new(20261206);
    let cases: Vec<Case> = (0..400).map(|_| Case::random(&mut rng)).collect();
    let inputs: Vec<Value> = cases.iter().map(Case::json).collect();
    let results = evaluate("$assess($.form, $.periods, $.background, $.look)", &inputs);
    let mut states = [0usize; 3];
    for (i, (case, exported)) in cases.iter().zip(&results).enumerate() {
        let local = assess(&case.form, &case.periods, &case.background, case.look);
        let Some(local) = local else {
            assert!(
                exported.is_null(),
                "case {i}: {exported} but no data\n{}",
                inputs[i]
            );
            continue;
        };
        let state = match local.state {
            State::Violated => "violated",
            State::Satisfied => "satisfied",
            State::Undecided => "undecided",
        };
        states[local.state as usize] += 1;
        assert_eq!(
            exported["state"], state,
            "case {i}: exported {exported}, local {local:?}\n{}",
            inputs[i]
        );
        for (key, value) in [
            ("rollback", local.toward_rollback),
            ("promotion", local.toward_promotion),
        ] {
            let theirs = exported[key].as_f64().expect("a number");
            assert!(
                (theirs - value).abs() < 1e-9,
                "case {i}: {key} {theirs} vs {value}\n{}",
                inputs[i]
            );
        }
        assert_eq!(exported["periods"], local.periods, "case {i}");
        assert_eq!(exported["held"], local.held, "case {i}");
    }
    // The cases reach every verdict, so that agreeing means something.
    assert!(states.iter().all(|n| *n > 40), "{states:?}");
}

/// The judge as a state runs it: a JSONata `Pass` assesses the check its input names and a
/// `Choice` goes on by the verdict. The definition passes asl-validator (AWS's rules for JSONata
/// states), and moto's Step Functions (its JSONata evaluated by jsonata 2.0.6 through
/// scripts/moto_server.py) reaches the verdict the Rust judge reaches.
#[test]
fn a_state_machine_judges_with_it_as_run_does() {
    let definition = json!({
        "QueryLanguage": "JSONata",
        "StartAt": "Judge",
        "States": {
            "Judge": {
                "Type": "Pass",
                "Output": rollout::export::judged(
                    "$assess($states.input.form, $states.input.periods, $states.input.background, $states.input.look)"
                ),
                "Next": "Verdict",
            },
            "Verdict": {
                "Type": "Choice",
                "Choices": [
                    {"Condition": "{% $states.input.state = 'violated' %}", "Next": "Unhealthy"},
                ],
                "Default": "Healthy",
            },
            "Unhealthy": {"Type": "Fail", "Error": "Unhealthy", "Cause": "violated"},
            "Healthy": {"Type": "Succeed"},
        },
    });
    let file = crate::harness::temp("").join("definition.json");
    std::fs::write(&file, definition.to_string()).unwrap();
    let checked = Command::new(crate::validated::validator("ROLLOUT_ASL_VALIDATOR"))
        .arg("--json-path")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "asl-validator refuses the judging state:\n{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );

    let mut rng = Rng::new(7);
    let mut wanted = [None, None];
    while wanted.iter().any(Option::is_none) {
        let case = Case::random(&mut rng);
        if let Some(a) = assess(&case.form, &case.periods, &case.background, case.look) {
            let i = usize::from(a.state == State::Violated);
            wanted[i].get_or_insert(case);
        }
    }
    let aws = crate::harness::Aws::new();
    let name = crate::harness::unique("judged");
    aws.runtime.block_on(async {
        let machine = aws
            .sfn
            .create_state_machine()
            .name(&name)
            .definition(definition.to_string())
            .role_arn("arn:aws:iam::123456789012:role/rollout-test")
            .send()
            .await
            .expect("state machine created")
            .state_machine_arn;
        for (case, status) in wanted.iter().flatten().zip(["SUCCEEDED", "FAILED"]) {
            let execution = aws
                .sfn
                .start_execution()
                .state_machine_arn(&machine)
                .name(status.to_lowercase())
                .input(case.json().to_string())
                .send()
                .await
                .expect("execution started")
                .execution_arn;
            let mut ended = None;
            for _ in 0..600 {
                let described = aws
                    .sfn
                    .describe_execution()
                    .execution_arn(&execution)
                    .send()
                    .await
                    .expect("execution described");
                if described.status.as_str() != "RUNNING" {
                    ended = Some(described);
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            let ended = ended.expect("the execution ends within a minute");
            assert_eq!(
                ended.status.as_str(),
                status,
                "{:?} {:?}\ninput: {}",
                ended.error,
                ended.cause,
                case.json()
            );
        }
    });
}

/// The exported look reads only what settled since the last and adds it to the table of its
/// phase: over random looks (some a period apart, some many), random gaps in CloudWatch's data
/// and points read before they settled, the table ends as the periods of the data themselves: a
/// row for each settled period with data, its index and every column's value, none twice, none
/// unsettled. A wrong row would make the judge count a period twice or miss one.
#[test]
fn a_look_adds_what_settled_since_the_last_to_the_table_of_its_phase() {
    let dir = crate::harness::temp(
        "function \"f\"\nalias \"live\"\nhealth every 1m {\n  metrics delay 1m\n  error rate < 1%\n  p99 duration < 800ms\n}\npublish\nshift 5% to new\nwait 2h until healthy\npromote\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_rollout"))
        .args(["export", "p.rollout", "--to", "step-functions"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", crate::harness::text(&out));
    let definition: Value = serde_json::from_slice(&out.stdout).unwrap();
    let fold = definition["States"]["Counts f0"]["Assign"]["r0"]
        .as_str()
        .expect("the look keeps its table in $r0");
    let fold = fold.trim_start_matches("{%").trim_end_matches("%}");
    let ids = [
        "new_Invocations",
        "new_Errors",
        "new_PR800",
        "old_Invocations",
        "old_Errors",
        "old_PR800",
    ];
    const MINUTE: i64 = 60_000;
    let iso = |ms: i64| {
        aws_sdk_cloudwatch::primitives::DateTime::from_millis(ms)
            .fmt(aws_sdk_cloudwatch::primitives::DateTimeFormat::DateTime)
            .unwrap()
    };
    let base = 1_796_558_400_000_i64; // a minute's start
    let mut rng = Rng::new(11);
    let mut inputs = Vec::new();
    let mut wanted = Vec::new();
    for _ in 0..40 {
        let minutes = 5 + (rng.uniform() * 60.0) as i64;
        // Each column's value in each minute, or none (CloudWatch had no data point).
        let data: Vec<Vec<Option<f64>>> = (0..minutes)
            .map(|_| {
                ids.iter()
                    .map(|id| {
                        (rng.uniform() > 0.15).then(|| {
                            if id.ends_with("PR800") {
                                // Few digits: serde_json reads 17 back to within a unit in the
                                // last place only.
                                ((95.0 + 5.0 * rng.uniform()) * 1e6).round() / 1e6
                            } else {
                                (rng.uniform() * 500.0).floor()
                            }
                        })
                    })
                    .collect()
            })
            .collect();
        let since = base + 10_000;
        // Looks at random moments, the last after every minute settled (the delay is a minute).
        let mut looks = Vec::new();
        let mut at = since;
        while at < base + (minutes + 1) * MINUTE {
            at += 1_000 + (rng.uniform() * 4.0 * MINUTE as f64) as i64;
            looks.push(at.min(base + (minutes + 1) * MINUTE + 5_000));
        }
        // What GetMetricData answers at each look: every point from the table's end on, settled
        // or not (the fold keeps only the settled).
        let answers: Vec<Value> = looks
            .iter()
            .map(|&now| {
                let results: Vec<Value> = ids
                    .iter()
                    .enumerate()
                    .map(|(c, id)| {
                        let (mut stamps, mut values) = (Vec::new(), Vec::new());
                        for (m, row) in data.iter().enumerate() {
                            let start = base + m as i64 * MINUTE;
                            if let Some(v) = row[c].filter(|_| start < now) {
                                stamps.push(iso(start));
                                values.push(v);
                            }
                        }
                        json!({"Id": id, "Timestamps": stamps, "Values": values})
                    })
                    .collect();
                json!({"now": iso(now), "results": results})
            })
            .collect();
        inputs.push(json!({"since": iso(since), "looks": answers}));
        let rows: Vec<Value> = data
            .iter()
            .enumerate()
            .filter(|(_, row)| row.iter().any(Option::is_some))
            .map(|(m, row)| {
                let mut r = vec![json!(m)];
                // JSON writes a whole number without its fraction, as JSONata gives it.
                r.extend(row.iter().map(|v| match v {
                    Some(v) if v.fract() == 0.0 => json!(*v as u64),
                    v => json!(v),
                }));
                Value::Array(r)
            })
            .collect();
        wanted.push(json!({"from": base, "at": base + minutes * MINUTE, "rows": rows}));
    }
    let body = format!(
        "$reduce($.looks, function($r0, $look) {{ (
            $since := $$.since;
            $states := {{'context': {{'State': {{'EnteredTime': $look.now}}}}, 'result': {{'MetricDataResults': $look.results}}}};
            {fold}
        ) }}, null)"
    );
    for (i, (got, want)) in evaluate(&body, &inputs).iter().zip(&wanted).enumerate() {
        assert_eq!(got, want, "case {i}: {}", inputs[i]);
    }
}

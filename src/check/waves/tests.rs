use std::path::Path;

use crate::check::{check_source, Checked, Options};
use crate::diagnostic::{source, Code};
use crate::plan::waves::{Account, Between, Place, Wave, WaveFailure, Waves};
use crate::plan::Millis;

/// A valid playbook around `waves` (and `headers` above it).
fn playbook(headers: &str, waves: &str) -> String {
    format!("function \"f\"\nalias \"live\"\n{headers}{waves}\nhealth {{\n  error rate < 1%\n}}\npublish\nshift 5% to new\nwait 10m until healthy\npromote\n")
}

fn check_with(text: &str, region: Option<&str>) -> Checked {
    check_source(
        source("w.rollout", text.to_string()),
        Path::new("."),
        &Options {
            region: region.map(String::from),
            ..Options::default()
        },
    )
}

fn waves_of(text: &str) -> Waves {
    let checked = check_with(text, None);
    assert!(
        checked.diags.is_empty(),
        "{:?}",
        checked.diags.iter().map(|d| &d.message).collect::<Vec<_>>()
    );
    checked.plan.unwrap().waves.expect("waves in the plan")
}

/// Every diagnostic of `text`: its code, message, and the text under each label.
fn diags_with(text: &str, region: Option<&str>) -> Vec<(Code, String, Vec<String>)> {
    let checked = check_with(text, region);
    assert_eq!(
        checked.plan.is_none(),
        checked.diags.iter().any(|d| d.is_error())
    );
    checked
        .diags
        .iter()
        .map(|d| {
            let labels = d
                .labels
                .iter()
                .map(|l| text[l.span.start..l.span.end].to_string())
                .collect();
            (d.code, d.message.clone(), labels)
        })
        .collect()
}

/// The one diagnostic of `waves` in the playbook.
fn diag(waves: &str) -> (Code, String, Vec<String>) {
    let mut all = diags_with(&playbook("", waves), None);
    assert_eq!(all.len(), 1, "{all:#?}");
    all.remove(0)
}

fn strings(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|t| t.to_string()).collect()
}

#[test]
fn the_waves_reach_the_plan_as_written() {
    let waves = waves_of(&playbook(
        "",
        "waves {\n  wave \"first region\" { region \"us-east-1\" }\n  wave \"europe\" { region \"eu-west-1\", \"eu-central-1\" }\n  wave \"rest\" {\n    region \"us-west-2\"\n    account \"222222222222\" role \"arn:aws:iam::222222222222:role/rollout\" external id \"x-7\"\n    region \"ap-southeast-2\"\n  }\n  between waves wait 30m until healthy\n  on failure rollback every wave\n}",
    ));
    let here = |region: &str| Place {
        region: region.into(),
        account: None,
    };
    let account = Account {
        id: "222222222222".into(),
        role: "arn:aws:iam::222222222222:role/rollout".into(),
        external_id: Some("x-7".into()),
    };
    let there = |region: &str| Place {
        region: region.into(),
        account: Some(account.clone()),
    };
    assert_eq!(
        waves,
        Waves {
            span: waves.span,
            waves: vec![
                Wave {
                    name: "first region".into(),
                    places: vec![here("us-east-1")],
                },
                Wave {
                    name: "europe".into(),
                    places: vec![here("eu-west-1"), here("eu-central-1")],
                },
                Wave {
                    name: "rest".into(),
                    places: vec![there("us-west-2"), there("ap-southeast-2")],
                },
            ],
            between: Some(Between {
                duration: Millis::from_minutes(30),
                healthy: true,
            }),
            on_failure: WaveFailure::EveryWave,
        }
    );
}

#[test]
fn defaults_parameters_and_interpolation() {
    let waves = waves_of(&playbook(
        "param gap = 5m\nparam env = \"prod\"\nparam acct = \"333333333333\"\nparam id = \"ext-prod\"\n",
        "waves {\n  wave \"${env} first\" { region \"us-east-1\" }\n  wave \"other\" { region \"us-east-1\"; account \"${acct}\" role \"arn:aws:iam::${acct}:role/deploy/rollout\" external id \"${id}\" }\n  between waves wait gap\n}",
    ));
    assert_eq!(waves.waves[0].name, "prod first");
    // The same region in another account is another place.
    let other = &waves.waves[1].places[0];
    assert_eq!(other.region, "us-east-1");
    let account = other.account.as_ref().unwrap();
    assert_eq!(account.id, "333333333333");
    assert_eq!(
        account.role,
        "arn:aws:iam::333333333333:role/deploy/rollout"
    );
    assert_eq!(account.external_id.as_deref(), Some("ext-prod"));
    assert_eq!(
        waves.between,
        Some(Between {
            duration: Millis::from_minutes(5),
            healthy: false
        })
    );
    assert_eq!(waves.on_failure, WaveFailure::ThisWave);
    let plan = check_with(
        &playbook(
            "",
            "waves { wave \"a\" { region \"us-east-1\" }; on failure rollback this wave }",
        ),
        None,
    )
    .plan
    .unwrap();
    let waves = plan.waves.unwrap();
    assert_eq!(
        (waves.between, waves.on_failure),
        (None, WaveFailure::ThisWave)
    );
    assert_eq!(plan.targets.region, None);
    // Without a block, no waves.
    assert_eq!(
        check_with(&playbook("", ""), None).plan.unwrap().waves,
        None
    );
}

#[test]
fn a_second_waves_block_and_one_after_a_step_are_header_errors() {
    let text = playbook(
        "waves { wave \"a\" { region \"us-east-1\" } }\n",
        "waves { wave \"b\" { region \"eu-west-1\" } }",
    );
    assert_eq!(
        diags_with(&text, None),
        vec![(
            Code::DuplicateHeader,
            "`waves` is given twice".into(),
            strings(&[
                "waves { wave \"b\" { region \"eu-west-1\" } }",
                "waves { wave \"a\" { region \"us-east-1\" } }"
            ])
        )]
    );
    let late = "publish\npromote\nwaves { wave \"a\" { region \"us-east-1\" } }\n";
    assert_eq!(
        diags_with(late, None),
        vec![(
            Code::HeaderAfterStep,
            "`waves` comes after the first step".into(),
            strings(&["waves { wave \"a\" { region \"us-east-1\" } }", "publish"])
        )]
    );
}

#[test]
fn an_empty_block_and_a_wave_without_a_region() {
    assert_eq!(
        diag("waves {\n  between waves wait 5m\n}"),
        (
            Code::EmptyWaves,
            "the `waves` block has no wave".into(),
            strings(&["waves"])
        )
    );
    assert_eq!(diag("waves {}").0, Code::EmptyWaves);
    assert_eq!(
        diag("waves {\n  wave \"a\" { region \"us-east-1\" }\n  wave \"b\" {\n    account \"222222222222\" role \"arn:aws:iam::222222222222:role/r\"\n  }\n}"),
        (
            Code::WaveWithoutRegion,
            "wave \"b\" names no region".into(),
            strings(&["\"b\""])
        )
    );
    assert_eq!(diag("waves { wave \"c\" {} }").0, Code::WaveWithoutRegion);
}

#[test]
fn names_and_places_are_each_written_once() {
    assert_eq!(
        diag("waves {\n  wave \"a\" { region \"us-east-1\" }\n  wave \"a\" { region \"eu-west-1\" }\n}"),
        (
            Code::DuplicateWave,
            "wave \"a\" is defined twice".into(),
            strings(&["\"a\"", "\"a\""])
        )
    );
    let (code, message, labels) =
        diag("waves {\n  wave \"a\" { region \"us-east-1\" }\n  wave \"b\" { region \"eu-west-1\", \"us-east-1\" }\n}");
    assert_eq!(code, Code::DuplicatePlace);
    assert_eq!(message, "\"us-east-1\" is in two waves, \"a\" and \"b\"");
    assert_eq!(labels, strings(&["\"us-east-1\"", "\"us-east-1\""]));
    assert_eq!(
        diag("waves { wave \"a\" { region \"us-east-1\"; region \"us-east-1\" } }").1,
        "\"us-east-1\" is named twice in wave \"a\""
    );
    assert_eq!(
        diag("waves {\n  wave \"a\" { region \"us-east-1\"; account \"222222222222\" role \"arn:aws:iam::222222222222:role/r\" }\n  wave \"b\" { region \"us-east-1\"; account \"222222222222\" role \"arn:aws:iam::222222222222:role/other\" }\n}").1,
        "\"us-east-1\" of account 222222222222 is in two waves, \"a\" and \"b\""
    );
    assert_eq!(
        diag("waves { wave \"a\" { region \"us-east-1\"; account \"222222222222\" role \"arn:aws:iam::222222222222:role/r\"; account \"222222222222\" role \"arn:aws:iam::222222222222:role/r\" } }").0,
        Code::DuplicateSetting
    );
    for twice in [
        "between waves wait 5m; between waves wait 6m",
        "on failure rollback this wave; on failure rollback every wave",
    ] {
        assert_eq!(
            diag(&format!(
                "waves {{ wave \"a\" {{ region \"us-east-1\" }}; {twice} }}"
            ))
            .0,
            Code::DuplicateSetting,
            "{twice}"
        );
    }
}

#[test]
fn a_region_that_is_not_one_is_a_bad_name() {
    assert_eq!(
        diag("waves { wave \"a\" { region \"us-east-1\", \"Europe\" } }"),
        (
            Code::BadName,
            "\"Europe\" is not a region's name (such as eu-west-1)".into(),
            strings(&["\"Europe\""])
        )
    );
}

#[test]
fn accounts_roles_and_external_ids() {
    let wave =
        |account: &str| format!("waves {{ wave \"a\" {{ region \"us-east-1\"; {account} }} }}");
    assert_eq!(
        diag(&wave(
            "account \"22222222222\" role \"arn:aws:iam::222222222222:role/r\""
        )),
        (
            Code::BadAccount,
            "\"22222222222\" is not an AWS account id: an account id is 12 digits".into(),
            strings(&["\"22222222222\""])
        )
    );
    let (code, message, labels) = diag(&wave(
        "account \"222222222222\" role \"arn:aws:iam::222222222222:user/r\"",
    ));
    assert_eq!(code, Code::BadRole);
    assert!(message.contains("is not an IAM role's ARN"), "{message}");
    assert_eq!(labels, strings(&["\"arn:aws:iam::222222222222:user/r\""]));
    assert_eq!(
        diag(&wave(
            "account \"222222222222\" role \"arn:aws:iam::333333333333:role/rollout\""
        )),
        (
            Code::BadRole,
            "the role is in account 333333333333, not in the wave's account 222222222222".into(),
            strings(&[
                "\"arn:aws:iam::333333333333:role/rollout\"",
                "\"222222222222\""
            ])
        )
    );
    // A wrong account leaves its wave's places out of the comparison.
    assert_eq!(
        diag("waves {\n  wave \"a\" { region \"us-east-1\" }\n  wave \"b\" { region \"us-east-1\"; account \"2\" role \"arn:aws:iam::222222222222:role/r\" }\n}").0,
        Code::BadAccount
    );
    assert_eq!(
        diag(&wave(
            "account \"222222222222\" role \"arn:aws:iam::222222222222:role/r\" external id \"\""
        )),
        (
            Code::BadExternalId,
            "the external id is empty".into(),
            strings(&["\"\""])
        )
    );
}

#[test]
fn a_region_header_or_option_beside_waves_is_refused_with_a_hint_to_use_wave() {
    let text = playbook(
        "region \"us-east-1\"\n",
        "waves { wave \"a\" { region \"us-east-1\" } }",
    );
    let all = diags_with(&text, None);
    assert_eq!(
        all,
        vec![(
            Code::RegionWithWaves,
            "a `region` header beside `waves`: the waves name the regions".into(),
            strings(&["region \"us-east-1\"", "waves"])
        )]
    );
    let checked = check_with(&text, None);
    assert!(checked.diags[0].help.contains("--wave"));
    let text = playbook("", "waves { wave \"a\" { region \"us-east-1\" } }");
    let checked = check_with(&text, Some("eu-west-1"));
    assert_eq!(checked.diags.len(), 1);
    let diag = &checked.diags[0];
    assert_eq!(diag.code, Code::RegionWithWaves);
    assert_eq!(
        diag.message,
        "`--region eu-west-1` with a playbook of waves: the waves name the regions"
    );
    assert!(diag.help.contains("--wave NAME"), "{}", diag.help);
    assert_eq!(
        &text[diag.labels[0].span.start..diag.labels[0].span.end],
        "waves"
    );
}

#[test]
fn the_bake_between_waves_is_a_duration_above_zero_that_judges_enough() {
    let wave =
        |between: &str| format!("waves {{ wave \"a\" {{ region \"us-east-1\" }}; {between} }}");
    assert_eq!(
        diag(&wave("between waves wait 0s")),
        (Code::ZeroDuration, "`0s` is zero".into(), strings(&["0s"]))
    );
    assert_eq!(diag(&wave("between waves wait 5%")).0, Code::ParamType);
    assert_eq!(
        diag(&wave("between waves wait 10s until healthy")).0,
        Code::BakeTooShort
    );
    // A bake that judges nothing may be short.
    assert!(
        check_with(&playbook("", &wave("between waves wait 10s")), None)
            .diags
            .is_empty()
    );
    // Without a health block, `until healthy` between waves says it uses the defaults.
    let text = "function \"f\"\nalias \"live\"\nwaves { wave \"a\" { region \"us-east-1\" }; between waves wait 30m until healthy }\npublish\nshift 5% to new\nwait 10m\npromote\n";
    let all = diags_with(text, None);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0].0, Code::DefaultHealth);
}

#[test]
fn an_imported_file_cannot_hold_waves() {
    let dir = std::env::temp_dir().join(format!("rollout-waves-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("lib.rollout"),
        "waves { wave \"a\" { region \"us-east-1\" } }\n",
    )
    .unwrap();
    let checked = check_source(
        source(
            "w.rollout",
            "import \"lib.rollout\"\npublish\npromote\n".to_string(),
        ),
        &dir,
        &Options::default(),
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(checked.diags.len(), 1);
    assert_eq!(checked.diags[0].code, Code::ImportContent);
    assert_eq!(
        checked.diags[0].message,
        "an imported file cannot hold `waves` headers"
    );
}

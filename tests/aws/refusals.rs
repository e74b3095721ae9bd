//! What `run` refuses before any change: missing functions or aliases, two execution roles,
//! no terminal and no `--yes`, no target.

use crate::harness::*;

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
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
    assert_eq!(aws.versions(&f), 2, "nothing published: $LATEST and 1 only");
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
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
    let out = rollout(&dir, &["run", "--yes", "--format", "json", "p.rollout"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let outcome = ended(&out, &events(&out), "refused", 2);
    assert!(
        outcome
            .message
            .contains("Lambda splits traffic only between versions with the same execution role"),
        "the user is told why: {outcome:?}"
    );
    assert_eq!(aws.alias(&f), ("1".to_string(), vec![]), "nothing shifted");
    assert_eq!(
        marker(&aws, &f),
        None,
        "no lease was taken: nothing written"
    );
    assert_eq!(aws.versions(&f), 2, "nothing published");
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn run_refuses_without_a_terminal_or_yes_and_without_targets() {
    let aws = Aws::new();
    let f = unique("noyes");
    aws.function(&f, Some(2));
    let dir = temp(&canary(&[&f], ""));
    let out = rollout(&dir, &["run", "p.rollout"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --yes"));
    assert_eq!(aws.alias(&f), unsplit("1"), "live untouched");
    assert_eq!(aws.versions(&f), 2, "nothing published: $LATEST and 1 only");
    assert_eq!(marker(&aws, &f), None, "no lease taken");
    let dir = temp("publish; promote\n");
    let out = rollout(&dir, &["run", "--yes", "p.rollout"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no target"));
}

#[test]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs a moto server: `scripts/test` runs these (cargo test --features e2e)"
)]
fn session_credentials_that_expire_before_the_plan_ends_are_warned_about_and_missing_ones_refused()
{
    // A profile whose credentials come from a process, as SSO and assumed roles do, and expire
    // in five minutes; the playbook waits an hour on a function that does not exist.
    let dir = temp(&canary(&["no-such-function"], "").edit("promote", "wait 1h\npromote"));
    let expiry = std::time::SystemTime::now() + std::time::Duration::from_secs(300);
    let expiry = aws_sdk_lambda::primitives::DateTime::from(expiry)
        .fmt(aws_sdk_lambda::primitives::DateTimeFormat::DateTime)
        .unwrap();
    let session = format!(
        r#"{{"Version":1,"AccessKeyId":"testing","SecretAccessKey":"testing","SessionToken":"session","Expiration":"{expiry}"}}"#
    );
    std::fs::write(dir.join("session.json"), &session).unwrap();
    std::fs::write(
        dir.join("config"),
        format!(
            "[profile session]\nregion = us-east-1\ncredential_process = cat {}\n",
            dir.join("session.json").display()
        ),
    )
    .unwrap();
    let out = command(&dir, &["run", "--yes", "--profile", "session", "p.rollout"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_CONFIG_FILE", dir.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("none"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: the credentials expire in 4m") && stderr.contains("up to 1h"),
        "{}",
        text(&out)
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    // No credentials at all: said before anything, exit 2.
    let out = command(&dir, &["run", "--yes", "p.rollout"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_CONFIG_FILE", dir.join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("none"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("error: credentials:"),
        "{}",
        text(&out)
    );
}

//! `rollout status`: what aliases serve now, and which rollout holds them (named aliases, or a
//! playbook's in every region of its waves).

use crate::cloud::executions::ExecutionsApi;
use serde::Serialize;

use super::output::out;
use super::{Format, StatusArgs};
use crate::cloud::lease::Marker;
use crate::cloud::{Alias, CloudError, FunctionInfo, LambdaApi};
use crate::exit;
use crate::plan::Millis;

#[derive(Serialize)]
struct Status {
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    function: String,
    alias: String,
    serves: Alias,
    latest: FunctionInfo,
    split: bool,
    lease: Option<Marker>,
    note: String,
}

/// What a lease says, in words: who holds it, where it is, how long ago its runner was last
/// heard from, and what to do.
fn held(m: &Marker, alias: &str, function: &str) -> String {
    if m.server_side() {
        let gate = if m.gate {
            format!("; waiting for approval: `rollout approve --function {function} --alias {alias}` releases it")
        } else {
            String::new()
        };
        return format!(
            "held by the Step Functions execution {} running {:?}: step {}/{} (old {}, new {}){gate}; `rollout rollback` stops it and restores old",
            m.holder.trim_start_matches(crate::cloud::lease::SERVER_HOLDER),
            m.plan,
            m.step,
            m.steps,
            m.old,
            m.new.as_deref().unwrap_or("not chosen yet")
        );
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let ago = Millis(now.saturating_sub(m.beat).saturating_mul(1000));
    let new = m.new.as_deref().unwrap_or("not chosen yet");
    let mut waiting = if let Some(by) = &m.approved {
        format!("; approved by {by}, going on")
    } else if m.gate {
        format!(
            "; waiting for approval: `rollout approve --function {function} --alias {alias}` releases it"
        )
    } else {
        String::new()
    };
    if let Some(p) = &m.control.paused {
        let why = p
            .reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        waiting.push_str(&format!(
            "; PAUSED by {} at {}{why}: traffic stays, the bake's clock is stopped; `rollout resume --function {function} --alias {alias}` lets it go on",
            p.by,
            crate::cloud::clock::utc(p.at)
        ));
    }
    if let Some(s) = &m.control.skip {
        let then = if s.full { ", then promote" } else { "" };
        waiting.push_str(&format!(
            "; {} asked at {} to end its wait now{then}",
            s.by,
            crate::cloud::clock::utc(s.at)
        ));
    }
    format!(
        "held by {} running {:?}: step {}/{} (old {}, new {new}){waiting}; last heard from {ago} ago; if it is gone: `rollout resume` or `rollout rollback`",
        m.holder, m.plan, m.step, m.steps, m.old
    )
}

/// For a lease a Step Functions execution holds: nothing while the execution runs; otherwise how
/// it ended (or that it cannot be found), the lease left behind, and the command that clears it.
async fn ended(aws: &impl ExecutionsApi, function: &str, alias: &str, m: &Marker) -> String {
    let name = m
        .holder
        .trim_start_matches(crate::cloud::lease::SERVER_HOLDER);
    let parameter = crate::export::execution_parameter(function, alias);
    let how = match aws.parameter(&parameter).await {
        Ok(Some(arn)) if crate::export::runs_rollout(&arn, name) => match aws.execution(&arn).await
        {
            Ok(e) if e.status == "RUNNING" => return String::new(),
            Ok(e) => format!(
                "has ended ({}{})",
                e.status,
                e.error.map(|e| format!(": {e}")).unwrap_or_default()
            ),
            Err(e) => format!("cannot be read ({e})"),
        },
        Ok(None) => format!("cannot be found (no {parameter})"),
        Ok(Some(_)) => format!("is not the one {parameter} names"),
        Err(e) => format!("cannot be found ({parameter}: {e})"),
    };
    format!(
        "; the execution {how}, and its lease is left on the alias: `rollout rollback --function {function} --alias {alias}` restores old and clears it"
    )
}

pub(super) fn run(args: &StatusArgs) -> i32 {
    let target = &args.target;
    let mut statuses = Vec::new();
    let code = super::with_aws(target, async |aws, aliases, _| {
        let (alias, at) = (&aliases.alias, aliases.in_region());
        for function in &aliases.functions {
            let read = async {
                let serves = aws.get_alias(function, alias).await?;
                let latest = aws.get_function(function, None).await?;
                Ok::<_, CloudError>((serves, latest))
            };
            match read.await {
                Ok((serves, latest)) => {
                    let split = serves.additional().is_some();
                    let lease = Marker::parse(&serves.description).1;
                    let note = match (&lease, split) {
                        (Some(m), _) if m.server_side() => {
                            let ended = ended(aws, function, alias, m).await;
                            held(m, alias, function) + ended.as_str()
                        }
                        (Some(m), _) => held(m, alias, function),
                        (None, true) => "traffic is split and no rollout holds the alias: someone changed it by hand; restore one version with `rollout rollback`".to_string(),
                        (None, false) => "one version serves all traffic; no rollout in progress".to_string(),
                    };
                    statuses.push(Status {
                        region: aliases.region.clone(),
                        function: function.clone(),
                        alias: alias.clone(),
                        serves,
                        latest,
                        split,
                        lease,
                        note,
                    });
                }
                Err(CloudError::NotFound(message)) => {
                    eprintln!("error: {function}:{alias}{at} does not exist: {message}");
                    return exit::INVALID;
                }
                Err(other) => {
                    eprintln!("error: cannot read {function}:{alias}{at}: {other}");
                    return super::aws::failed(&other);
                }
            }
        }
        exit::OK
    });
    // One region: all or nothing, as scripts expect. Several (each status names its region):
    // what was read, and the exit code says that something was not.
    let one_region = statuses.iter().all(|s| s.region.is_none());
    if code != exit::OK && one_region {
        return code;
    }
    match args.format {
        Format::Json => out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&statuses).expect("serialises")
        )),
        // Several aliases: one line each.
        Format::Text if statuses.len() > 1 => {
            for s in &statuses {
                out(&format!(
                    "{}:{}{} serves {}: {}\n",
                    s.function,
                    s.alias,
                    s.region
                        .as_ref()
                        .map(|r| format!(" in {r}"))
                        .unwrap_or_default(),
                    s.serves,
                    s.note
                ));
            }
        }
        Format::Text => {
            for s in &statuses {
                out(&format!(
                    "{}:{} serves {} (revision {})\n  $LATEST: {:?}, last update {:?}\n  {}\n",
                    s.function,
                    s.alias,
                    s.serves,
                    s.serves.revision_id,
                    s.latest.state,
                    s.latest.last_update,
                    s.note
                ));
            }
        }
    }
    code
}

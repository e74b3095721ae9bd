//! `rollout rollback` and `rollout approve`: acting on a rollout's lease from any machine.

use crate::cloud::executions::ExecutionsApi;
use std::io::IsTerminal;

use super::output::{ask, out};
use super::LeaseArgs;
use crate::cloud::lease::{self, Asked, Marker, NotAsked, Request};
use crate::cloud::{AliasUpdate, CloudError, LambdaApi};
use crate::exit;

pub(super) fn code_of(error: &CloudError) -> i32 {
    match error {
        CloudError::NotFound(_) | CloudError::InvalidParameter(_) => exit::INVALID,
        e if e.is_setup() => exit::INVALID,
        CloudError::Stale(_) => exit::CONFLICT,
        _ => exit::INFRA,
    }
}

/// `rollout rollback`: `old` (from the lease, else the primary version) serves everything again,
/// and the lease is cleared.
pub(super) fn rollback(args: &LeaseArgs) -> i32 {
    let interactive = std::io::stdin().is_terminal();
    if !args.yes && !interactive {
        eprintln!("error: `rollout rollback` changes live traffic; without a terminal to confirm on, pass --yes. Nothing was done");
        return exit::INVALID;
    }
    if !args.yes && !ask("Restore old on every alias named?") {
        eprintln!("nothing was done");
        return exit::INTERRUPTED;
    }
    let target = &args.target;
    super::with_aws(target, async |lambda, aliases, _| {
        let mut status = exit::OK;
        let at = aliases.in_region();
        for function in &aliases.functions {
            let alias = &aliases.alias;
            let mut current = match lambda.get_alias(function, alias).await {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("error: cannot read {function}:{alias}{at}: {e}");
                    status = status.max(code_of(&e));
                    continue;
                }
            };
            let server = Marker::parse(&current.description)
                .1
                .filter(Marker::server_side);
            if let Some(m) = &server {
                // A Step Functions execution holds the alias: stop it first, so that it writes
                // nothing more, then read what it left.
                if let Err(code) = stop_server_rollout(lambda, function, alias, m).await {
                    status = status.max(code);
                    continue;
                }
                match lambda.get_alias(function, alias).await {
                    Ok(a) => current = a,
                    Err(e) => {
                        eprintln!("error: cannot read {function}:{alias}{at}: {e}");
                        status = status.max(code_of(&e));
                        continue;
                    }
                }
            }
            let (user, marker) = Marker::parse(&current.description);
            let old = match &marker {
                Some(m) => {
                    if !m.matches(&current) {
                        eprintln!(
                            "error: {function}:{alias}{at} serves {current}, which is not what the rollout left (old {}, new {}): someone changed it; nothing was overwritten",
                            m.old,
                            m.new.as_deref().unwrap_or("-")
                        );
                        status = status.max(exit::CONFLICT);
                        continue;
                    }
                    m.old.clone()
                }
                // Without a lease, the primary version is the one the split started from.
                None => current.version.clone(),
            };
            if marker.is_none() && current.routing.is_empty() {
                out(&format!(
                    "{function}:{alias}{at} serves {current}: nothing to roll back\n"
                ));
                continue;
            }
            let update = AliasUpdate {
                version: old.clone(),
                routing: Default::default(),
                revision_id: current.revision_id.clone(),
                description: Some(user),
            };
            match lambda.update_alias(function, alias, &update).await {
                Ok(after) => out(&format!(
                    "{function}:{alias}{at}: {current} -> {after}{}\n",
                    if marker.is_some() {
                        "; lease cleared"
                    } else {
                        ""
                    }
                )),
                Err(e) => {
                    eprintln!(
                        "error: {function}:{alias}{at} was not rolled back: {e}; it serves {current}"
                    );
                    status = status.max(code_of(&e));
                }
            }
        }
        status
    })
}

/// Stops the Step Functions execution that holds `function`:`alias` (when it still runs) and
/// deletes the alarms it created; the exit code after saying why not.
async fn stop_server_rollout(
    aws: &impl ExecutionsApi,
    function: &str,
    alias: &str,
    marker: &Marker,
) -> Result<(), i32> {
    let name = marker
        .holder
        .trim_start_matches(crate::cloud::lease::SERVER_HOLDER);
    let parameter = crate::export::execution_parameter(function, alias);
    let execution = match aws.parameter(&parameter).await {
        Ok(found) => found,
        Err(e) => {
            eprintln!("error: cannot read {parameter}: {e}");
            return Err(code_of(&e));
        }
    };
    if let Some(arn) = execution.filter(|arn| crate::export::runs_rollout(arn, name)) {
        let running = aws
            .execution(&arn)
            .await
            .is_ok_and(|e| e.status == "RUNNING");
        if running {
            let cause = format!(
                "rollout rollback by {}",
                crate::cloud::lease::user_at_host()
            );
            if let Err(e) = aws.stop_execution(&arn, &cause).await {
                eprintln!("error: cannot stop the execution {arn}: {e}; nothing was changed");
                return Err(code_of(&e));
            }
            out(&format!("stopped the Step Functions execution {arn}\n"));
        }
    }
    match aws.delete_alarms_named(&format!("rollout-{name}-")).await {
        Ok(0) => {}
        Ok(1) => out("deleted the 1 alarm it created\n"),
        Ok(n) => out(&format!("deleted the {n} alarms it created\n")),
        Err(e) => {
            eprintln!("warning: the alarms rollout-{name}-… it created were not deleted: {e}")
        }
    }
    Ok(())
}

/// Releases the `approve` gate of a Step Functions execution: its task token waits in an SSM
/// parameter named after the alias.
async fn release_server_gate(
    aws: &impl ExecutionsApi,
    function: &str,
    alias: &str,
    marker: &Marker,
) -> i32 {
    let parameter = crate::export::approval_parameter(function, alias);
    let token = match aws.parameter(&parameter).await {
        Ok(Some(token)) => token,
        Ok(None) => {
            eprintln!("error: the execution {} on {function}:{alias} has not reached its gate yet (no {parameter}); try again in a few seconds", marker.holder);
            return exit::INVALID;
        }
        Err(e) => {
            eprintln!("error: cannot read {parameter}: {e}");
            return code_of(&e);
        }
    };
    let by = crate::cloud::lease::user_at_host();
    let output = serde_json::json!({ "by": by }).to_string();
    match aws.release_gate(&token, &output, &parameter).await {
        Ok(()) => {
            out(&format!(
                "approved: the Step Functions execution {} on {function}:{alias} goes on from step {}/{}\n",
                marker.holder.trim_start_matches(crate::cloud::lease::SERVER_HOLDER),
                marker.step,
                marker.steps
            ));
            exit::OK
        }
        Err(e) => {
            eprintln!("error: the execution was not released: {e}");
            code_of(&e)
        }
    }
}

/// `rollout approve`: releases the `approve` gate a rollout is waiting at, through its lease
/// ([`crate::cloud::lease::ask`]: written again while the rollout's heartbeat races it), or a
/// Step Functions execution's through its task token.
pub(super) fn approve(args: &LeaseArgs) -> i32 {
    let target = &args.target;
    if target.region.len() > 1 || (target.playbook.is_some() && target.region.len() != 1) {
        eprintln!("error: `rollout approve` releases the gate of one rollout in one region: name it with --function, --alias and --region, or a playbook and one --region of its waves (its account's role is assumed). Nothing was done");
        return exit::INVALID;
    }
    let by = crate::cloud::lease::user_at_host();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    super::with_aws(target, async |lambda, aliases, _| {
        // The rollout waits for approval on its first alias.
        let function = &aliases.functions[0];
        let alias = &aliases.alias;
        match lease::ask(lambda, function, alias, &Request::Approve, &by, now).await {
            Ok(Asked::Written(m)) => {
                out(&format!(
                    "approved: the rollout of {} on {function}:{alias} by {} goes on from step {}/{}\n",
                    m.plan, m.holder, m.step, m.steps
                ));
                exit::OK
            }
            Ok(Asked::Already(words)) => {
                out(&format!("{words}; nothing was written\n"));
                exit::OK
            }
            Err(NotAsked::ServerSide { marker, .. }) if marker.gate => {
                release_server_gate(lambda, function, alias, &marker).await
            }
            Err(NotAsked::ServerSide { marker, .. }) => {
                eprintln!(
                    "error: the rollout on {function}:{alias} ({}, step {}/{}) is not waiting for approval",
                    marker.holder, marker.step, marker.steps
                );
                exit::INVALID
            }
            Err(error) => {
                eprintln!("error: {error}; nothing was approved");
                super::control::code(&error)
            }
        }
    })
}

//! `rollout pause`, `rollout resume --function F --alias A` and `rollout promote`: asking a
//! running rollout to hold, to go on, or to end its wait, from any machine, through the lease
//! on its aliases ([`crate::cloud::lease::ask`]).

use std::io::IsTerminal;

use super::output::{ask, out};
use super::{AliasTarget, PauseArgs, PromoteArgs, RunArgs};
use crate::cloud::lease::{self, Asked, Marker, NotAsked, Request};
use crate::exit;

/// `rollout pause`.
pub(super) fn pause(args: &PauseArgs) -> i32 {
    let request = Request::Pause {
        reason: args.reason.clone(),
    };
    steer(&args.target, &request)
}

/// `rollout resume --function F --alias A`: a paused rollout goes on.
pub(super) fn unpause(args: &RunArgs) -> i32 {
    if args.playbook.alias.is_none() {
        eprintln!("error: `rollout resume` without a playbook ends a pause: name the alias with --alias (and the functions with --function). To continue a rollout whose runner died, name its playbook: `rollout resume FILE`. Nothing was done");
        return exit::INVALID;
    }
    steer(&args.named(), &Request::Resume)
}

/// `rollout promote [--full]`.
pub(super) fn promote(args: &PromoteArgs) -> i32 {
    if args.full && !args.yes {
        if !std::io::stdin().is_terminal() {
            eprintln!("error: `rollout promote --full` skips the rollout's remaining steps; without a terminal to confirm on, pass --yes. Nothing was done");
            return exit::INVALID;
        }
        if !ask("End the current wait and promote, skipping the remaining steps?") {
            eprintln!("nothing was done");
            return exit::INTERRUPTED;
        }
    }
    steer(&args.target, &Request::Promote { full: args.full })
}

/// Writes `request` into the lease of every alias `target` names, each in turn; the worst
/// exit code.
fn steer(target: &AliasTarget, request: &Request) -> i32 {
    let by = lease::user_at_host();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    super::with_aws(target, async |lambda, aliases, _| {
        let mut status = exit::OK;
        let at = aliases.in_region();
        for function in &aliases.functions {
            let alias = &aliases.alias;
            match lease::ask(lambda, function, alias, request, &by, now).await {
                Ok(Asked::Written(marker)) => out(&format!(
                    "{function}:{alias}{at}: {}\n",
                    written(request, &marker)
                )),
                Ok(Asked::Already(words)) => out(&format!(
                    "{function}:{alias}{at}: {words}; nothing was written\n"
                )),
                Err(error) => {
                    eprintln!("error: {error}{at}; nothing was written there");
                    status = status.max(code(&error));
                }
            }
        }
        status
    })
}

/// What the rollout will do now, in words.
fn written(request: &Request, m: &Marker) -> String {
    let rollout = format!(
        "the rollout of {} by {} (step {}/{})",
        m.plan, m.holder, m.step, m.steps
    );
    match request {
        Request::Pause { .. } => format!(
            "paused {rollout}: traffic stays where it is and the bake's clock stops within seconds; health is still judged. `rollout resume --function F --alias A` lets it go on"
        ),
        Request::Resume => format!("resumed {rollout}: it goes on within seconds"),
        Request::Promote { full: false } => format!(
            "asked {rollout} to end its current wait now, judged as at its end"
        ),
        Request::Promote { full: true } => format!(
            "asked {rollout} to end its current wait now, judged as at its end, then promote"
        ),
        Request::Approve => format!("approved {rollout}: it goes on within seconds"),
    }
}

/// The exit code of a request not written.
pub(super) fn code(error: &NotAsked) -> i32 {
    match error {
        NotAsked::ChangedHands { .. } | NotAsked::KeptChanging(_) => exit::CONFLICT,
        NotAsked::Cloud { error, .. } => super::lease::code_of(error),
        NotAsked::NoLease(_)
        | NotAsked::ServerSide { .. }
        | NotAsked::NotPaused { .. }
        | NotAsked::NotWaiting { .. }
        | NotAsked::NoRoom(_) => exit::INVALID,
    }
}

//! Each target's calls as `aws` command lines, written from the calls of [`crate::plan::calls`]
//! (the ones the engine makes): `<old>`, `<new>` and `<revision>` stand for what is known only
//! when the rollout runs, unless `plan --live` has read `old`.

use crate::plan::calls::{self, Qualifier, Read, StepCall};
use crate::plan::{Percent, Plan, StepKind};

/// One target as its calls are written: its names, `old` once `plan --live` has read it, and the
/// playbook's number of steps (for the lease marker).
pub(super) struct Calls<'a> {
    pub(super) function: &'a str,
    pub(super) alias: &'a str,
    pub(super) old: Option<&'a str>,
    pub(super) steps: usize,
    /// The plan's fingerprint, which the lease carries.
    pub(super) fingerprint: &'a str,
}

/// What an alias write does to the lease.
#[derive(Clone, Copy)]
enum Lease {
    /// Records the step reached (0: taken before the first step).
    At(usize),
    /// Gives it back: the user's description alone.
    Released,
}

impl Calls<'_> {
    /// `old`, as read live or as a placeholder.
    fn old(&self) -> String {
        self.old.map_or_else(|| shell("<old>"), shell)
    }

    /// An alias write: `version` alone, or with `new` at `weight`, the lease as `lease` says.
    fn update_alias(&self, version: &str, weight: Option<Percent>, lease: Lease) -> String {
        let routing = match weight.filter(|w| w.0 > 0) {
            Some(w) => format!(
                "{{\"AdditionalVersionWeights\":{{\"<new>\":{}}}}}",
                weight_text(w)
            ),
            None => "{\"AdditionalVersionWeights\":{}}".to_string(),
        };
        let description = match lease {
            Lease::At(step) => format!(
                "<the description> [rollout h=<you> i=<identity> p=<playbook> f={} s={step}/{} o=<old> n=<new> t=<began> b=<now> g=<gate> a=0]",
                self.fingerprint, self.steps
            ),
            Lease::Released => "<the description>".to_string(),
        };
        format!(
            "aws lambda update-alias --function-name {} --name {} --function-version {version} --routing-config '{routing}' --description {} --revision-id {}",
            shell(self.function),
            shell(self.alias),
            shell(&description),
            shell("<revision>")
        )
    }

    /// The read-only calls before the first write, then the write that takes the lease.
    pub(super) fn before(&self, plan: &Plan) -> Vec<String> {
        let mut lines: Vec<String> = calls::before(plan)
            .into_iter()
            .map(|read| self.read(read))
            .collect();
        lines.push(self.call(StepCall::Mark, None, 0, Percent(0)));
        lines
    }

    /// A read before the first step.
    fn read(&self, read: Read) -> String {
        let (f, alias) = (shell(self.function), shell(self.alias));
        match read {
            Read::Alias => format!("aws lambda get-alias --function-name {f} --name {alias}"),
            Read::Provisioned => format!(
                "aws lambda get-provisioned-concurrency-config --function-name {f} --qualifier {alias}"
            ),
            Read::Configuration(qualifier) => {
                let qualifier = match qualifier {
                    Qualifier::Old => format!(" --qualifier {}", self.old()),
                    Qualifier::Latest => String::new(),
                    Qualifier::Numbered(version) => format!(" --qualifier {version}"),
                };
                format!("aws lambda get-function-configuration --function-name {f}{qualifier}")
            }
        }
    }

    /// The calls `step` of step `number` of this kind, with `weight` on `new` when it begins.
    pub(super) fn of(
        &self,
        kind: &StepKind,
        step: &calls::StepCalls,
        number: usize,
        weight: Percent,
    ) -> Vec<String> {
        let mut lines: Vec<String> = step
            .calls
            .iter()
            .map(|call| self.call(*call, Some(kind), number, weight))
            .collect();
        if step.heartbeat {
            lines.push(
                "... and the same write every 2m while it waits (the lease's heartbeat)"
                    .to_string(),
            );
        }
        lines
    }

    /// One call of step `number` (0: before the first), of this kind when it has one, with
    /// `weight` on `new` when it begins.
    fn call(
        &self,
        call: StepCall,
        kind: Option<&StepKind>,
        number: usize,
        weight: Percent,
    ) -> String {
        let f = shell(self.function);
        match call {
            StepCall::Mark if weight == Percent::FULL => {
                self.update_alias(&shell("<new>"), None, Lease::At(number))
            }
            StepCall::Mark => self.update_alias(&self.old(), Some(weight), Lease::At(number)),
            StepCall::UpdateCode => {
                let zip = match kind {
                    Some(StepKind::UpdateCode { zip }) => zip.path.display().to_string(),
                    _ => "<zip>".to_string(),
                };
                format!(
                    "aws lambda update-function-code --function-name {f} --zip-file {}",
                    shell(&format!("fileb://{zip}"))
                )
            }
            StepCall::AwaitLatest => {
                format!("aws lambda wait function-updated-v2 --function-name {f}")
            }
            StepCall::Publish => {
                let description = match kind {
                    Some(StepKind::Publish {
                        description: Some(d),
                    }) => format!(" --description {}", shell(d)),
                    _ => String::new(),
                };
                format!(
                    "aws lambda publish-version --function-name {f} --code-sha256 {} --revision-id {}{description}",
                    shell("<the code read>"),
                    shell("<the revision read>"),
                )
            }
            StepCall::AwaitNew => {
                let new = match kind {
                    Some(StepKind::UseVersion { version }) => version.to_string(),
                    _ => shell("<new>"),
                };
                format!("aws lambda wait function-active-v2 --function-name {f} --qualifier {new}")
            }
            StepCall::Route(weight) => {
                self.update_alias(&self.old(), Some(weight), Lease::At(number))
            }
            StepCall::Promote => self.update_alias(&shell("<new>"), None, Lease::Released),
            StepCall::PromoteKept => self.update_alias(&shell("<new>"), None, Lease::At(number)),
            StepCall::Restore => self.update_alias(&self.old(), None, Lease::Released),
            StepCall::Release if weight == Percent::FULL => {
                self.update_alias(&shell("<new>"), None, Lease::Released)
            }
            StepCall::Release => self.update_alias(&self.old(), Some(weight), Lease::Released),
        }
    }

    /// The calls after the last step, with `weight` on `new` then.
    pub(super) fn after(&self, plan: &Plan, weight: Percent) -> Vec<String> {
        calls::after(plan)
            .into_iter()
            .map(|call| self.call(call, None, plan.steps.len(), weight))
            .collect()
    }

    /// The write that restores `old` when a step fails.
    pub(super) fn restore(&self) -> String {
        self.call(StepCall::Restore, None, 0, Percent(0))
    }
}

/// A word or a single-quoted string, as a POSIX shell reads it.
pub(super) fn shell(text: &str) -> String {
    // Placeholders such as `<old>` are quoted too: pasted unquoted, `<` is a redirection.
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:/=,@+".contains(c))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// `0.05` for 5%: the weight Lambda takes.
fn weight_text(weight: Percent) -> String {
    let text = format!("{:.4}", weight.as_weight());
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

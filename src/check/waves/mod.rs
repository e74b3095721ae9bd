//! The `waves` block: the regions (and accounts) a rollout goes to, one wave after another.

use std::collections::HashMap;

use super::values::Scope;
use super::Checker;
use crate::diagnostic::{Code, Diag};
use crate::plan::names;
use crate::plan::waves::{Account, Between, Place, Wave, WaveFailure, Waves};
use crate::span::Span;
use crate::syntax::ast::{self, WaveItemKind, WaveScope, WavesItemKind};

/// What to write instead of a region given beside the waves.
const ONE_WAVE: &str = "to roll out to one wave only, pass `--wave NAME`";

impl Checker {
    /// The waves of `block`, the `waves` header at `span`; `None` when anything in it is wrong
    /// (each problem reported). `default_health_reported`: whether a step already warned that
    /// `until healthy` has no `health` block to judge by.
    pub(super) fn waves(
        &mut self,
        block: &ast::WavesBlock,
        span: Span,
        scope: &Scope,
        default_health_reported: bool,
    ) -> Option<Waves> {
        let mut ok = true;
        let mut waves = Vec::new();
        let mut between = None;
        let mut on_failure = WaveFailure::default();
        let mut between_seen = None;
        let mut failure_seen = None;
        // Each wave's name, where it is written.
        let mut named: HashMap<String, Span> = HashMap::new();
        // Each place (region, account id) with where it is written and its wave's name.
        let mut placed: HashMap<(String, Option<String>), (Span, String)> = HashMap::new();
        for item in &block.items {
            match &item.kind {
                WavesItemKind::Wave(def) => match self.wave(def, scope, &mut named, &mut placed) {
                    Some(wave) => waves.push(wave),
                    None => ok = false,
                },
                WavesItemKind::Between {
                    duration,
                    until_healthy,
                } => {
                    if !self.once(&mut between_seen, item.span, "between waves", scope) {
                        ok = false;
                        continue;
                    }
                    let Some(d) = self.want_duration(duration, "`between waves wait`", scope)
                    else {
                        ok = false;
                        continue;
                    };
                    if *until_healthy {
                        if !self.long_enough(d, duration, scope) {
                            ok = false;
                            continue;
                        }
                        if self.health_defaulted && !default_health_reported {
                            self.diags
                                .push(super::steps::default_health(scope.source(), item.span));
                        }
                    }
                    between = Some(Between {
                        duration: d,
                        healthy: *until_healthy,
                    });
                }
                WavesItemKind::OnFailure(what) => {
                    if self.once(&mut failure_seen, item.span, "on failure rollback", scope) {
                        on_failure = match what {
                            WaveScope::ThisWave => WaveFailure::ThisWave,
                            WaveScope::EveryWave => WaveFailure::EveryWave,
                        };
                    } else {
                        ok = false;
                    }
                }
            }
        }
        let has_wave = block
            .items
            .iter()
            .any(|i| matches!(i.kind, WavesItemKind::Wave(_)));
        if !has_wave {
            self.diags.push(
                Diag::new(Code::EmptyWaves, "the `waves` block has no wave")
                    .at(scope.source(), keyword(span), "no wave in this block")
                    .help("write the waves in the order they run, one per line, such as `wave \"first region\" { region \"us-east-1\" }`; or remove the block to roll out to one region"),
            );
            return None;
        }
        ok.then_some(Waves {
            waves,
            between,
            on_failure,
            span: keyword(span),
        })
    }

    /// One wave: its name, account and regions.
    fn wave(
        &mut self,
        def: &ast::WaveDef,
        scope: &Scope,
        named: &mut HashMap<String, Span>,
        placed: &mut HashMap<(String, Option<String>), (Span, String)>,
    ) -> Option<Wave> {
        let name = self.string(&def.name, scope);
        let mut ok = name.is_some();
        if let Some(name) = &name {
            if let Some(first) = named.get(name) {
                self.diags.push(
                    Diag::new(Code::DuplicateWave, format!("wave {name:?} is defined twice"))
                        .at(scope.source(), def.name.span, "defined again here")
                        .also(*first, "first defined here")
                        .help("give each wave its own name: progress, events and `--wave` name a wave by it"),
                );
                ok = false;
            } else {
                named.insert(name.clone(), def.name.span);
            }
        }
        let mut account_seen = None;
        let mut account = None;
        // An account line that is wrong leaves the wave's places unknown: they are not compared
        // with the others, which would report them as in the base account.
        let mut account_ok = true;
        for item in &def.items {
            if let WaveItemKind::Account {
                id,
                role,
                external_id,
            } = &item.kind
            {
                if !self.once(&mut account_seen, item.span, "account", scope) {
                    ok = false;
                    continue;
                }
                account = self.account(id, role, external_id.as_ref(), scope);
                account_ok = account.is_some();
            }
        }
        let mut places = Vec::new();
        let mut any_region = false;
        for item in &def.items {
            let WaveItemKind::Regions(regions) = &item.kind else {
                continue;
            };
            for region in regions {
                any_region = true;
                let Some(text) = self.named(region, names::region, scope) else {
                    ok = false;
                    continue;
                };
                let place = Place {
                    region: text,
                    account: account.clone(),
                };
                if !account_ok {
                    continue;
                }
                let key = (
                    place.region.clone(),
                    place.account.as_ref().map(|a| a.id.clone()),
                );
                let wave_name = name.clone().unwrap_or_default();
                match placed.get(&key) {
                    Some((first, first_wave)) => {
                        let place = match &place.account {
                            Some(account) => {
                                format!("{:?} of account {}", place.region, account.id)
                            }
                            None => format!("{:?}", place.region),
                        };
                        let (message, help) = if *first_wave == wave_name {
                            (
                                format!("{place} is named twice in wave {wave_name:?}"),
                                "name each region of a wave once",
                            )
                        } else {
                            (
                                format!("{place} is in two waves, {first_wave:?} and {wave_name:?}"),
                                "a rollout goes to each region of an account once: keep it in one wave and remove it from the other",
                            )
                        };
                        self.diags.push(
                            Diag::new(Code::DuplicatePlace, message)
                                .at(scope.source(), region.span, "named again here")
                                .also(*first, "first named here")
                                .help(help),
                        );
                        ok = false;
                    }
                    None => {
                        placed.insert(key, (region.span, wave_name));
                    }
                }
                places.push(place);
            }
        }
        if !any_region {
            self.diags.push(
                Diag::new(
                    Code::WaveWithoutRegion,
                    format!(
                        "wave {} names no region",
                        name.as_deref().map_or_else(|| "…".to_string(), |n| format!("{n:?}"))
                    ),
                )
                .at(scope.source(), def.name.span, "a wave without a region")
                .help("name the regions it rolls out to inside its braces: `region \"eu-west-1\"`, or several, `region \"eu-west-1\", \"eu-central-1\"`"),
            );
            ok = false;
        }
        (ok && account_ok).then(|| Wave {
            name: name.unwrap_or_default(),
            places,
        })
    }

    /// `account "ID" role "ARN" [external id "X"]`: a 12-digit account, an IAM role of that
    /// account, and an external id STS accepts.
    fn account(
        &mut self,
        id: &ast::Str,
        role: &ast::Str,
        external_id: Option<&ast::Str>,
        scope: &Scope,
    ) -> Option<Account> {
        let id_text = self.string(id, scope);
        let role_text = self.string(role, scope);
        let external_text = external_id.map(|x| self.string(x, scope));
        let mut ok = id_text.is_some() && role_text.is_some();
        let id_valid = match &id_text {
            Some(text) => match names::account(text) {
                Some(problem) => {
                    self.diags.push(
                        Diag::new(Code::BadAccount, problem)
                            .at(scope.source(), id.span, "not 12 digits")
                            .help("write the account's id as AWS shows it, all 12 digits, leading zeros included: `account \"012345678901\"`"),
                    );
                    ok = false;
                    false
                }
                None => true,
            },
            None => false,
        };
        if let Some(arn) = &role_text {
            match names::role(arn) {
                Some(problem) => {
                    self.diags.push(
                        Diag::new(Code::BadRole, problem)
                            .at(scope.source(), role.span, "not an IAM role's ARN")
                            .help("name the role rollout assumes in that account by its ARN: `role \"arn:aws:iam::ACCOUNT:role/NAME\"`"),
                    );
                    ok = false;
                }
                None => {
                    let of_role = names::role_account(arn).unwrap_or_default();
                    let account_id = id_text.as_deref().unwrap_or_default();
                    if id_valid && of_role != account_id {
                        self.diags.push(
                            Diag::new(
                                Code::BadRole,
                                format!("the role is in account {of_role}, not in the wave's account {account_id}"),
                            )
                            .at(scope.source(), role.span, format!("a role of account {of_role}"))
                            .also(id.span, "the wave's account")
                            .help(format!("rollout assumes the role to act in the wave's account, so it must be a role of that account: `arn:aws:iam::{account_id}:role/NAME`; or, if the account is wrong, write `account \"{of_role}\"`")),
                        );
                        ok = false;
                    }
                }
            }
        }
        let external_id = match (external_id, external_text) {
            (Some(written), Some(Some(text))) => match names::external_id(&text) {
                Some(problem) => {
                    self.diags.push(
                        Diag::new(Code::BadExternalId, problem)
                            .at(scope.source(), written.span, "STS refuses this external id")
                            .help("write the external id the role's trust policy asks for (`sts:ExternalId`), or leave `external id` out if it asks for none"),
                    );
                    ok = false;
                    None
                }
                None => Some(text),
            },
            (Some(_), _) => {
                ok = false;
                None
            }
            (None, _) => None,
        };
        ok.then(|| Account {
            id: id_text.unwrap_or_default(),
            role: role_text.unwrap_or_default(),
            external_id,
        })
    }

    /// A wave passes when every region of it promoted, so the steps of a playbook with waves
    /// end in `promote`.
    pub(super) fn waves_end_in_promote(
        &mut self,
        steps: &[crate::plan::Step],
        waves: Span,
        scope: &Scope,
    ) {
        let last = steps.last();
        if let Some(watch) = last.filter(|s| matches!(s.kind, crate::plan::StepKind::Watch { .. }))
        {
            let diag = Diag::new(
                Code::WatchWithWaves,
                "`watch` after `promote` with `waves` is not supported yet",
            )
            .at(
                scope.source(),
                watch.span,
                "a promoted wave's region would be watched",
            )
            .also(keyword(waves), "the waves");
            self.diags.push(diag.help(
                "leave out `watch`: the bake between waves (`between waves wait D until healthy`) judges the promoted waves; or roll out to one region",
            ));
            return;
        }
        if last.is_some_and(|s| matches!(s.kind, crate::plan::StepKind::Promote)) {
            return;
        }
        let diag = Diag::new(
            Code::WavesWithoutPromote,
            "the steps of a playbook with waves do not end in `promote`",
        )
        .at(
            scope.source(),
            keyword(waves),
            "a wave passes when each of its regions promoted",
        );
        self.diags.push(diag.help(
            "end the steps with `promote`: the next wave starts only once every region of this one serves new; to stop half way, roll out without waves",
        ));
    }

    /// A `region` header or `--region` beside a `waves` block, the `waves` header at `waves`:
    /// the waves name the regions, so a region of the rollout's own has no meaning.
    pub(super) fn region_with_waves(
        &mut self,
        region_header: Option<Span>,
        option: Option<&str>,
        waves: Span,
        scope: &Scope,
    ) {
        if let Some(header) = region_header {
            self.diags.push(
                Diag::new(
                    Code::RegionWithWaves,
                    "a `region` header beside `waves`: the waves name the regions",
                )
                .at(scope.source(), header, "a region for the whole rollout")
                .also(keyword(waves), "the waves name the regions")
                .help(format!(
                    "remove the `region` header and name each region in its wave; {ONE_WAVE}"
                )),
            );
        }
        if let Some(region) = option {
            self.diags.push(
                Diag::new(
                    Code::RegionWithWaves,
                    format!(
                        "`--region {region}` with a playbook of waves: the waves name the regions"
                    ),
                )
                .at(scope.source(), keyword(waves), "the waves name the regions")
                .help(format!("leave out `--region`; {ONE_WAVE}")),
            );
        }
    }
}

/// The `waves` keyword of the header at `span`.
fn keyword(span: Span) -> Span {
    Span::new(span.start, span.start + "waves".len())
}

#[cfg(test)]
mod tests;

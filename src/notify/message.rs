//! What a notification says, and which engine events become one.
//!
//! Each notification is one JSON object (the EventBridge event's `detail`, the SNS message),
//! described by `schema/notification.schema.json`: what happened, the rollout's name, its
//! targets, the versions known, the step, and why.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::engine::events::{Event, EventKind};
use crate::plan::Plan;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The rollout began (in a waved rollout: in one region).
    Started,
    /// A step began.
    StepStarted,
    /// A person or a tool paused the rollout.
    Paused,
    /// The pause is over.
    Resumed,
    /// A bake holds: `old` fails as much as a check allows `new` (a shared failure).
    Held,
    /// `old` serves all traffic again.
    RolledBack,
    /// `new` serves all traffic.
    Promoted,
    /// The rollout stopped on a failure of AWS, a conflict, an interruption or a refusal.
    Failed,
}

impl Kind {
    /// The EventBridge `detail-type`.
    pub fn detail_type(self) -> &'static str {
        match self {
            Kind::Started => "Rollout Started",
            Kind::StepStarted => "Rollout Step Started",
            Kind::Paused => "Rollout Paused",
            Kind::Resumed => "Rollout Resumed",
            Kind::Held => "Rollout Held",
            Kind::RolledBack => "Rollout Rolled Back",
            Kind::Promoted => "Rollout Promoted",
            Kind::Failed => "Rollout Failed",
        }
    }

    /// As the JSON names it: `step_started`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Started => "started",
            Kind::StepStarted => "step_started",
            Kind::Paused => "paused",
            Kind::Resumed => "resumed",
            Kind::Held => "held",
            Kind::RolledBack => "rolled_back",
            Kind::Promoted => "promoted",
            Kind::Failed => "failed",
        }
    }
}

/// One notification, as sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    /// What happened.
    pub notification: Kind,
    /// The playbook's `rollout "…"` name.
    pub rollout: Option<String>,
    /// What the rollout acts on.
    pub targets: Targets,
    /// `old` and `new` of each function, as far as they are known.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<Versions>,
    /// The step it is at, once one has begun.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<Step>,
    /// The function it is about, when one alone (`held`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// Why, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// How the rollout ended (`promoted`, `rolled_back`, `failed`): the `finished` event's
    /// outcome, such as `conflict`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Who paused or resumed it (`paused`, `resumed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// Until when a pause lasts, as the pause says (`paused`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Milliseconds since the rollout began.
    pub at_ms: u64,
}

/// The functions, alias and region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Targets {
    /// The functions, selections resolved.
    pub functions: Vec<String>,
    /// The alias.
    pub alias: String,
    /// The region; `null` for the end of a waved rollout, which spans its regions
    /// (`ACCOUNT/REGION` in another account).
    pub region: Option<String>,
}

/// The versions of one function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Versions {
    /// The function.
    pub function: String,
    /// What the alias served before the rollout.
    pub old: Option<String>,
    /// What it moves to, once published or chosen.
    pub new: Option<String>,
}

/// A step of the playbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// 1-based.
    pub number: usize,
    /// How many steps the playbook has.
    pub total: usize,
    /// The step as written, values resolved.
    pub text: String,
}

/// What is known of one region's rollout (the one region, when it has no waves).
#[derive(Debug, Default)]
struct Progress {
    functions: Vec<String>,
    steps: usize,
    step: Option<Step>,
    versions: BTreeMap<String, (Option<String>, Option<String>)>,
    /// Why traffic went back to `old`, from `rolling_back`.
    rolling_back: Option<String>,
}

/// Follows the engine's events and says which become notifications.
#[derive(Debug)]
pub struct Mapper {
    rollout: Option<String>,
    alias: String,
    functions: Vec<String>,
    /// The region of events that carry none: the rollout's, when it has no waves.
    region: Option<String>,
    /// By the region events carry (`None`: the rollout's own).
    progress: BTreeMap<Option<String>, Progress>,
}

impl Mapper {
    /// A mapper for `plan`'s rollout on `alias`, whose events without a region are in `region`.
    pub fn new(plan: &Plan, alias: &str, region: Option<String>) -> Mapper {
        Mapper {
            rollout: plan.name.clone(),
            alias: alias.to_string(),
            functions: plan.targets.functions.clone(),
            region,
            progress: BTreeMap::new(),
        }
    }

    /// The notification `event` makes, if any.
    pub fn map(&mut self, event: &Event) -> Option<Notification> {
        let progress = self.progress.entry(event.region.clone()).or_default();
        let (kind, reason) = match &event.kind {
            EventKind::Started {
                functions, steps, ..
            } => {
                progress.functions = functions.clone();
                progress.steps = *steps;
                (Kind::Started, None)
            }
            EventKind::AliasRead { function, alias } => {
                progress.versions.entry(function.clone()).or_default().0 =
                    Some(alias.version.clone());
                return None;
            }
            EventKind::VersionsChosen { function, old, new } => {
                let known = progress.versions.entry(function.clone()).or_default();
                *known = (Some(old.clone()), Some(new.clone()));
                return None;
            }
            EventKind::StepStarted { step, text } => {
                progress.step = Some(Step {
                    number: *step,
                    total: progress.steps,
                    text: text.clone(),
                });
                (Kind::StepStarted, None)
            }
            EventKind::Held { function, reason } => {
                return Some(Notification {
                    function: Some(function.clone()),
                    ..self.notification(event, Kind::Held, Some(reason.clone()))
                });
            }
            EventKind::Paused { by, reason, until } => {
                return Some(Notification {
                    by: Some(by.clone()),
                    until: until.map(crate::cloud::clock::utc),
                    ..self.notification(event, Kind::Paused, reason.clone())
                });
            }
            EventKind::Unpaused { by, .. } => {
                return Some(Notification {
                    by: Some(by.clone()),
                    ..self.notification(event, Kind::Resumed, None)
                });
            }
            EventKind::RollingBack { reason } => {
                progress.rolling_back = Some(reason.clone());
                return None;
            }
            EventKind::Finished {
                outcome, message, ..
            } => {
                let (kind, reason) = match outcome.as_str() {
                    "promoted" => (Kind::Promoted, None),
                    "rolled_back" => (
                        Kind::RolledBack,
                        progress.rolling_back.clone().or(Some(message.clone())),
                    ),
                    // Nothing moved, or the playbook leaves the traffic split as it meant to.
                    "nothing_to_roll_out" | "left_split" => return None,
                    _ => (Kind::Failed, Some(message.clone())),
                };
                return Some(Notification {
                    outcome: Some(outcome.clone()),
                    ..self.notification(event, kind, reason)
                });
            }
            _ => return None,
        };
        Some(self.notification(event, kind, reason))
    }

    /// A notification of `kind` about `event`, with what is known of its region.
    fn notification(&self, event: &Event, kind: Kind, reason: Option<String>) -> Notification {
        let progress = self.progress.get(&event.region);
        let functions = match progress.map(|p| &p.functions) {
            Some(functions) if !functions.is_empty() => functions.clone(),
            // The end of a waved rollout: every region's functions.
            _ => {
                let mut all: Vec<String> = self
                    .progress
                    .values()
                    .flat_map(|p| p.functions.iter().cloned())
                    .collect();
                all.sort();
                all.dedup();
                if all.is_empty() {
                    self.functions.clone()
                } else {
                    all
                }
            }
        };
        let versions = progress
            .map(|p| {
                p.versions
                    .iter()
                    .map(|(function, (old, new))| Versions {
                        function: function.clone(),
                        old: old.clone(),
                        new: new.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Notification {
            notification: kind,
            rollout: self.rollout.clone(),
            targets: Targets {
                functions,
                alias: self.alias.clone(),
                region: event.region.clone().or_else(|| self.region.clone()),
            },
            versions,
            step: progress.and_then(|p| p.step.clone()),
            function: None,
            reason,
            outcome: None,
            by: None,
            until: None,
            at_ms: event.at_ms,
        }
    }
}

impl Notification {
    /// The JSON sent: the event's `detail`, the message.
    pub fn json(&self) -> String {
        serde_json::to_string(self).expect("a notification serialises")
    }

    /// A short subject for SNS (ASCII, one line, shorter than 100 characters): `rollout
    /// "checkout canary" on live: step 2/4 started`.
    pub fn subject(&self) -> String {
        let name = match &self.rollout {
            Some(name) => format!("rollout {name:?}"),
            None => format!("rollout of {}", self.targets.functions.join(", ")),
        };
        let what = match (self.notification, &self.step) {
            (Kind::StepStarted, Some(step)) => {
                format!("step {}/{} started", step.number, step.total)
            }
            (kind, _) => kind.name().replace('_', " "),
        };
        let subject = format!("{name} on {}: {what}", self.targets.alias);
        let mut subject: String = subject
            .chars()
            .map(|c| match c {
                ' '..='~' => c,
                c if c.is_control() => ' ',
                _ => '?',
            })
            .collect();
        if subject.len() > SUBJECT_MAX {
            subject.truncate(SUBJECT_MAX - 3);
            subject.push_str("...");
        }
        subject
    }
}

/// The longest subject SNS takes.
const SUBJECT_MAX: usize = 99;

//! The lease: a marker in the alias's description saying that a rollout holds the alias, who
//! holds it, which step it reached and when it last showed signs of life.
//!
//! It lives on the alias, so its format lives here, beside the alias: the engine writes it,
//! `status`, `approve`, `rollback` and `resume` read it on any machine, and the simulated world
//! names it in its call log. Written with RevisionId compare-and-swap like every alias write, so
//! two runners on two machines cannot both take it. [`Marker::matches`] is the one rule for
//! whether an alias still holds what the rollout left. The user's own description is kept in
//! front of the marker. Lambda allows 256 characters of description, so the marker is compact:
//!
//! ```text
//! deploys by CI [rollout h=ci@build-7:4242 i=5c2f0e1a.9b7d4410 p=checkout-canary f=1f3a9c07 s=3/4 o=1 n=2 t=1796000000 b=1796000060 g=0 a=0]
//! ```
//!
//! `h` holder, `i` its identity (the machine, then the run), `p` plan, `f` the playbook's
//! fingerprint, `s` step reached / steps, `o` old, `n` new (`-` before it is known), `t` when
//! step `s` began and `b` the last heartbeat (Unix seconds), `g` 1 while an `approve` gate
//! waits, `a` who released it with `rollout approve` (`0` before).
//!
//! What people ask of a running rollout from any machine ([`Control`]) follows, only when
//! asked: `z` who paused it (`rollout pause`), `y` when, `r` why (spaces as `_`, `%XX` for `_`,
//! `%`, brackets and `=`); `u` who resumed it last (`rollout resume`); `c` an end to the current
//! wait (`rollout promote`: `now`, or `full` to go on to `promote`) with `k` who asked and `x`
//! when. The runner keeps these in every write until it has done what they ask.
//!
//! Who holds a lease, to people and to programs, is [`identity`]'s to say.

use std::fmt;

use super::Alias;

mod ask;
mod control;
mod identity;

pub use ask::{ask, Asked, NotAsked, Request};
use control::{decode_reason, encode_reason};
pub use control::{Control, Paused, Skip};

pub use identity::{gone_from_here, holder, user_at_host, Identity};

/// Lambda's limit on an alias description.
pub const DESCRIPTION_LIMIT: usize = 256;

/// A lease marker.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Marker {
    /// Who holds the lease: `user@host:pid`.
    pub holder: String,
    /// The holder's identity: `MACHINE.RUN` ([`Identity`]); `None` in markers of Step Functions
    /// executions and of earlier versions.
    pub id: Option<String>,
    /// The playbook's name.
    pub plan: String,
    /// The playbook's fingerprint ([`crate::plan::Plan::fingerprint`]), when the marker has one.
    pub fingerprint: Option<String>,
    /// The step reached (1-based).
    pub step: usize,
    /// The playbook's number of steps.
    pub steps: usize,
    /// `old`.
    pub old: String,
    /// `new`, when known.
    pub new: Option<String>,
    /// When `step` began, Unix seconds.
    pub step_started: u64,
    /// The last heartbeat, Unix seconds.
    pub beat: u64,
    /// An `approve` gate is waiting.
    pub gate: bool,
    /// Who released the gate with `rollout approve` (`user@host`), once someone did.
    pub approved: Option<String>,
    /// What people asked of the running rollout: a pause, an end to its wait.
    #[serde(flatten)]
    pub control: Control,
}

/// A token of the marker without spaces or brackets, at most `max` characters.
fn token(text: &str, max: usize) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_whitespace() || c == '[' || c == ']' || c == '=' {
                '-'
            } else {
                c
            }
        })
        .take(max)
        .collect();
    if cleaned.is_empty() {
        "-".to_string()
    } else {
        cleaned
    }
}

/// The most characters of the approver a marker keeps.
const APPROVER_LIMIT: usize = 32;

/// The most characters of an identity or a fingerprint a marker keeps.
const ID_LIMIT: usize = 20;

/// The most characters of the holder a marker keeps.
const HOLDER_LIMIT: usize = 48;

/// `user@host:pid` as a marker keeps it: a token, and when too long, the user shortened first
/// and then the host, so that the process id, and as much of the host as fits, stay.
pub fn holder_token(holder: &str) -> String {
    let whole = token(holder, usize::MAX);
    let count = |s: &str| s.chars().count();
    if count(&whole) <= HOLDER_LIMIT {
        return whole;
    }
    let (who, pid) = match whole.rsplit_once(':') {
        Some((who, pid)) => (who, format!(":{pid}")),
        None => (whole.as_str(), String::new()),
    };
    let (user, host) = who.split_once('@').unwrap_or(("", who));
    let room = HOLDER_LIMIT.saturating_sub(count(&pid) + 1);
    // The user keeps at least a few characters; the host gets the rest.
    let host_room = room.saturating_sub(count(user).min(8));
    let host: String = host.chars().take(host_room).collect();
    let user: String = user.chars().take(room - count(&host)).collect();
    format!("{user}@{host}{pid}")
}

impl fmt::Display for Marker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[rollout h={}", holder_token(&self.holder))?;
        if let Some(id) = &self.id {
            write!(f, " i={}", token(id, ID_LIMIT))?;
        }
        write!(f, " p={}", token(&self.plan, 32))?;
        if let Some(fingerprint) = &self.fingerprint {
            write!(f, " f={}", token(fingerprint, ID_LIMIT))?;
        }
        write!(
            f,
            " s={}/{} o={} n={} t={} b={} g={} a={}",
            self.step,
            self.steps,
            token(&self.old, 10),
            self.new
                .as_deref()
                .map_or("-".to_string(), |n| token(n, 10)),
            self.step_started,
            self.beat,
            u8::from(self.gate),
            self.approved
                .as_deref()
                .map_or("0".to_string(), |by| token(by, APPROVER_LIMIT))
        )?;
        let control = &self.control;
        if let Some(p) = &control.paused {
            write!(f, " z={} y={}", token(&p.by, APPROVER_LIMIT), p.at)?;
            if let Some(reason) = p.reason.as_deref().filter(|r| !r.is_empty()) {
                write!(f, " r={}", encode_reason(reason))?;
            }
        }
        if let Some(by) = &control.resumed_by {
            write!(f, " u={}", token(by, APPROVER_LIMIT))?;
        }
        if let Some(s) = &control.skip {
            let kind = if s.full { "full" } else { "now" };
            write!(f, " c={kind} k={} x={}", token(&s.by, APPROVER_LIMIT), s.at)?;
        }
        f.write_str("]")
    }
}

impl Marker {
    /// The marker in a description, and the user's text before it.
    pub fn parse(description: &str) -> (String, Option<Marker>) {
        let Some(start) = description.rfind("[rollout ") else {
            return (description.to_string(), None);
        };
        let Some(len) = description[start..].find(']') else {
            return (description.to_string(), None);
        };
        let body = &description[start + "[rollout ".len()..start + len];
        let user = description[..start].trim_end().to_string();
        let mut marker = Marker {
            holder: String::new(),
            id: None,
            plan: String::new(),
            fingerprint: None,
            step: 0,
            steps: 0,
            old: String::new(),
            new: None,
            step_started: 0,
            beat: 0,
            gate: false,
            approved: None,
            control: Control::default(),
        };
        let (mut paused_by, mut paused_at, mut reason) = (None, 0, None);
        let (mut skip, mut skip_by, mut skip_at) = (None, String::new(), 0);
        for field in body.split_whitespace() {
            let Some((key, value)) = field.split_once('=') else {
                continue;
            };
            match key {
                "h" => marker.holder = value.to_string(),
                "i" => marker.id = Some(value.to_string()),
                "p" => marker.plan = value.to_string(),
                "f" => marker.fingerprint = Some(value.to_string()),
                "s" => {
                    let (step, steps) = value.split_once('/').unwrap_or((value, "0"));
                    marker.step = step.parse().unwrap_or(0);
                    marker.steps = steps.parse().unwrap_or(0);
                }
                "o" => marker.old = value.to_string(),
                "n" => marker.new = (value != "-").then(|| value.to_string()),
                "t" => marker.step_started = value.parse().unwrap_or(0),
                "b" => marker.beat = value.parse().unwrap_or(0),
                "g" => marker.gate = value == "1",
                // `a=1` from markers before the approver was recorded.
                "a" => {
                    marker.approved = match value {
                        "0" => None,
                        "1" => Some("someone".to_string()),
                        who => Some(who.to_string()),
                    }
                }
                "z" => paused_by = Some(value.to_string()),
                "y" => paused_at = value.parse().unwrap_or(0),
                "r" => reason = Some(decode_reason(value)),
                "u" => marker.control.resumed_by = Some(value.to_string()),
                "c" => skip = Some(value == "full"),
                "k" => skip_by = value.to_string(),
                "x" => skip_at = value.parse().unwrap_or(0),
                _ => {}
            }
        }
        marker.control.paused = paused_by.map(|by| Paused {
            by,
            at: paused_at,
            reason,
        });
        marker.control.skip = skip.map(|full| Skip {
            full,
            by: skip_by,
            at: skip_at,
        });
        if marker.old.is_empty() {
            return (description.to_string(), None);
        }
        (user, Some(marker))
    }

    /// Whether this marker names `holder` with the identity `id` as its holder (as far as the
    /// marker keeps them).
    pub fn held_by(&self, holder: &str, id: Option<&str>) -> bool {
        self.holder == holder_token(holder) && self.id == id.map(|id| token(id, ID_LIMIT))
    }

    /// Whether `alias` still holds what the rollout this marker describes left on it: `old`
    /// alone, `old` with `new` as the additional version, or `new` alone. Anything else means
    /// someone changed the alias since, and nothing may overwrite it.
    pub fn matches(&self, alias: &Alias) -> bool {
        let new = self.new.as_ref();
        let on_old =
            alias.version == self.old && alias.routing.keys().all(|version| Some(version) == new);
        let on_new = Some(&alias.version) == new && alias.routing.is_empty();
        on_old || on_new
    }

    /// The description with this marker after the user's text, or `None` when it would not fit
    /// in Lambda's 256 characters. A pause's reason is shortened to fit, then who resumed last
    /// is left out: they are told, never needed.
    pub fn describe(&self, user: &str) -> Option<String> {
        let text = |m: &Marker| {
            let text = if user.is_empty() {
                m.to_string()
            } else {
                format!("{user} {m}")
            };
            (text.chars().count() <= DESCRIPTION_LIMIT).then_some(text)
        };
        if let Some(fits) = text(self) {
            return Some(fits);
        }
        let mut shorter = self.clone();
        let reason: Vec<char> = self
            .control
            .paused
            .as_ref()
            .and_then(|p| p.reason.as_deref())
            .map(|r| r.chars().collect())
            .unwrap_or_default();
        for keep in (0..reason.len()).rev() {
            let cut: String = reason[..keep].iter().collect();
            let cut = cut.trim_end();
            if let Some(p) = shorter.control.paused.as_mut() {
                p.reason = (!cut.is_empty()).then(|| format!("{cut}…"));
            }
            if let Some(fits) = text(&shorter) {
                return Some(fits);
            }
        }
        shorter.control.resumed_by = None;
        text(&shorter)
    }
}

/// How the holder of a lease written by a Step Functions execution begins (`sfn:` and the
/// execution's name). Such a lease has no heartbeat: it is live for as long as the execution
/// runs, and no local run takes it over.
pub const SERVER_HOLDER: &str = "sfn:";

impl Marker {
    /// Whether a Step Functions execution holds the lease.
    pub fn server_side(&self) -> bool {
        self.holder.starts_with(SERVER_HOLDER)
    }

    /// The marker a Step Functions execution writes, as a `States.Format` template: `{}`
    /// stands for the execution's name, then `old`, then (once chosen) `new`.
    pub fn server_template(plan: &str, step: usize, steps: usize, new: bool, gate: bool) -> String {
        let safe: String = plan
            .chars()
            .map(|c| if "{}'\\".contains(c) { '-' } else { c })
            .collect();
        let marker = Marker {
            holder: format!("{SERVER_HOLDER}@H@"),
            id: None,
            plan: safe,
            fingerprint: None,
            step,
            steps,
            old: "@O@".into(),
            new: new.then(|| "@N@".into()),
            step_started: 0,
            beat: 0,
            gate,
            approved: None,
            control: Control::default(),
        };
        marker
            .to_string()
            .replace("@H@", "{}")
            .replace("@O@", "{}")
            .replace("@N@", "{}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker() -> Marker {
        Marker {
            holder: "ci@build-7:4242".into(),
            id: None,
            plan: "checkout canary".into(),
            fingerprint: None,
            step: 3,
            steps: 4,
            old: "1".into(),
            new: Some("2".into()),
            step_started: 1_796_000_000,
            beat: 1_796_000_060,
            gate: false,
            approved: None,
            control: Control::default(),
        }
    }

    #[test]
    fn round_trips_behind_the_users_text() {
        let text = marker().describe("deploys by CI").unwrap();
        assert_eq!(
            text,
            "deploys by CI [rollout h=ci@build-7:4242 p=checkout-canary s=3/4 o=1 n=2 t=1796000000 b=1796000060 g=0 a=0]"
        );
        let (user, parsed) = Marker::parse(&text);
        assert_eq!(user, "deploys by CI");
        assert_eq!(
            parsed,
            Some(Marker {
                plan: "checkout-canary".into(),
                ..marker()
            })
        );
        let approved = Marker {
            approved: Some("carol@desk".into()),
            ..marker()
        };
        let (_, parsed) = Marker::parse(&approved.describe("").unwrap());
        assert_eq!(parsed.unwrap().approved.as_deref(), Some("carol@desk"));
        let (_, old) = Marker::parse("[rollout h=x p=y s=1/2 o=1 n=2 t=0 b=0 g=1 a=1]");
        assert!(old.unwrap().approved.is_some(), "a=1 of earlier markers");
        assert_eq!(
            Marker::parse("just words"),
            ("just words".to_string(), None)
        );
        assert_eq!(Marker::parse("").1, None);
    }

    #[test]
    fn an_alias_matches_the_lease_only_as_the_rollout_left_it() {
        let alias = |version: &str, routing: &[(&str, f64)]| Alias {
            version: version.into(),
            routing: routing.iter().map(|(v, w)| (v.to_string(), *w)).collect(),
            revision_id: "r".into(),
            description: String::new(),
        };
        let m = marker();
        assert!(m.matches(&alias("1", &[])), "old alone");
        assert!(
            m.matches(&alias("1", &[("2", 0.05)])),
            "old with new beside it"
        );
        assert!(m.matches(&alias("2", &[])), "new alone: promoted");
        assert!(!m.matches(&alias("2", &[("1", 0.5)])), "the reverse split");
        assert!(!m.matches(&alias("1", &[("3", 0.05)])), "another version");
        assert!(!m.matches(&alias("3", &[])), "another primary");
        let before_publish = Marker { new: None, ..m };
        assert!(before_publish.matches(&alias("1", &[])));
        assert!(!before_publish.matches(&alias("1", &[("2", 0.05)])));
    }

    #[test]
    fn a_long_holder_is_shortened_keeping_the_pid_and_still_recognised() {
        let long = "release-bot-of-the-checkout-platform-team@ip-10-0-12-34.eu-west-1.compute.internal:4242";
        let kept = holder_token(long);
        assert!(kept.chars().count() <= HOLDER_LIMIT, "{kept}");
        assert!(kept.ends_with(":4242"), "{kept}");
        assert!(kept.starts_with("release-"), "{kept}");
        let m = Marker {
            holder: long.into(),
            ..marker()
        };
        let (_, parsed) = Marker::parse(&m.describe("").unwrap());
        let parsed = parsed.unwrap();
        assert_eq!(parsed.holder, kept);
        assert!(!parsed.held_by(long, Some("m.r")), "no identity: not ours");
        let m = Marker {
            id: Some("m.r".into()),
            ..m
        };
        let (_, parsed) = Marker::parse(&m.describe("").unwrap());
        let parsed = parsed.unwrap();
        assert!(parsed.held_by(long, Some("m.r")));
        assert!(
            !parsed.held_by(long, Some("m.other")),
            "the same name, another run"
        );
        assert!(!parsed.held_by(long, None));
        assert!(!parsed.held_by(&long.replace("4242", "4243"), Some("m.r")));
        assert!(
            parsed.held_by(&parsed.holder, Some("m.r")),
            "a short holder is kept as it is"
        );
        assert_eq!(holder_token("ci@build-7:1"), "ci@build-7:1");
    }

    #[test]
    fn a_holder_of_this_machine_whose_process_ended_is_gone() {
        let here = Identity::current();
        assert!(here.machine.is_some(), "a Linux machine is told apart");
        let held = |holder: String, id: Option<String>| Marker {
            holder: holder_token(&holder),
            id,
            ..marker()
        };
        let me = Some(here.token());
        assert!(
            !gone_from_here(&held(holder(), me.clone())),
            "this process runs"
        );
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let ended = format!("{}:{pid}", user_at_host());
        assert!(gone_from_here(&held(ended.clone(), me)));
        // Identical containers: the same user, host name and process id, another machine digest
        // (another process-id namespace).
        let twin = Some(format!("0badc0de.{}", here.run));
        assert!(!gone_from_here(&held(ended.clone(), twin)));
        assert!(
            !gone_from_here(&held(ended, None)),
            "a marker without identity proves nothing"
        );
        assert!(!gone_from_here(&held("someone@elsewhere:1".into(), None)));
        assert!(!gone_from_here(&held("no pid at all".into(), None)));
    }

    #[test]
    fn identities_and_fingerprints_round_trip_and_fit() {
        let m = Marker {
            id: Some(Identity::current().token()),
            fingerprint: Some("1f3a9c07".into()),
            ..marker()
        };
        let text = m.describe("").unwrap();
        assert!(
            text.contains(" i=") && text.contains(" f=1f3a9c07 "),
            "{text}"
        );
        let (_, parsed) = Marker::parse(&text);
        let parsed = parsed.unwrap();
        assert_eq!(parsed.id, m.id);
        assert_eq!(parsed.fingerprint, m.fingerprint);
    }

    #[test]
    fn what_people_ask_round_trips_and_a_long_reason_is_shortened_to_fit() {
        let asked = Marker {
            control: Control {
                paused: Some(Paused {
                    by: "carol@desk".into(),
                    at: 1_796_000_100,
                    reason: Some("p99 [eu] = 2x_normal, 100% sure".into()),
                }),
                resumed_by: Some("dave@desk".into()),
                skip: Some(Skip {
                    full: true,
                    by: "erin@desk".into(),
                    at: 1_796_000_200,
                }),
            },
            ..marker()
        };
        let text = asked.describe("deploys by CI").unwrap();
        assert!(
            text.ends_with(" z=carol@desk y=1796000100 r=p99_%5Beu%5D_%3D_2x%5Fnormal,_100%25_sure u=dave@desk c=full k=erin@desk x=1796000200]"),
            "{text}"
        );
        let (user, parsed) = Marker::parse(&text);
        assert_eq!(user, "deploys by CI");
        assert_eq!(parsed.unwrap().control, asked.control);
        let long = Marker {
            control: Control {
                paused: Some(Paused {
                    reason: Some("word ".repeat(60)),
                    ..asked.control.paused.clone().unwrap()
                }),
                ..asked.control.clone()
            },
            ..marker()
        };
        let text = long.describe("deploys by CI").unwrap();
        assert!(text.chars().count() <= DESCRIPTION_LIMIT, "{text}");
        let kept = Marker::parse(&text).1.unwrap().control;
        let reason = kept.paused.unwrap().reason.unwrap();
        assert!(
            reason.starts_with("word word") && reason.ends_with("word…"),
            "{reason}"
        );
        assert_eq!(
            kept.skip, asked.control.skip,
            "the request itself is kept whole"
        );
    }

    #[test]
    fn never_longer_than_lambda_allows() {
        let m = Marker {
            holder: "x".repeat(500),
            plan: "y".repeat(500),
            ..marker()
        };
        assert!(m.describe("").unwrap().len() <= DESCRIPTION_LIMIT);
        assert_eq!(
            m.describe(&"z".repeat(200)),
            None,
            "the user's text is never cut"
        );
    }
}

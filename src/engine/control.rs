//! What people ask of a running rollout from any machine, through its lease: `rollout pause`
//! holds it (traffic stays where it is, the bake's clock stops, health is still judged and a
//! violation still rolls back), `rollout resume` lets it go on, and `rollout promote` ends the
//! current wait now, judged as at its end, or with `--full` also goes on straight to `promote`.
//!
//! The requests are fields of the lease marker ([`Control`]) that the command writes with the
//! RevisionId it read. The runner meets them when a write of its own finds the alias changed
//! (it reads the alias again and, when only the marker's requests changed, takes them up and
//! writes again), and while it waits it reads its first alias every [`super::Settings::control`].
//! Every write carries the requests on until the runner has done what they ask: a pause stays
//! until `rollout resume` removes it, an end to a wait until the runner has ended one.

use super::events::EventKind;
use super::reasons::{Cause, Change};
use super::stop::Stop;
use super::{Engine, Target};
use crate::cloud::lease::{Control, Marker, Paused, Skip};
use crate::cloud::{Alias, Clock, LambdaApi, MetricsApi};
use crate::plan::{HealthSpec, Millis, Violation};

/// What the run has seen of the requests and done about them.
#[derive(Debug, Default)]
pub(super) struct Controlled {
    /// The pause last told (an event says when it begins and ends).
    pub(super) told: Option<Paused>,
    /// When that pause was first seen (epoch ms).
    pub(super) since: Millis,
    /// A pause of the rollout's own (`on violation pause`), written with the next write.
    pub(super) own: Option<Paused>,
    /// The last end of a wait done: writes no longer carry it.
    pub(super) taken: Option<Skip>,
    /// `--full` was asked: after the current wait, go on to `promote`.
    pub(super) to_promote: bool,
    /// When the first alias was last read for requests (epoch ms).
    pub(super) polled: Millis,
    /// The deploy windows or a calendar hold the rollout: who, why, until when.
    pub(super) closed: Option<Hold>,
    /// When they began to (epoch ms).
    pub(super) closed_since: Millis,
    /// What the change calendars last said, and until when it holds.
    pub(super) calendars: Option<super::window::Asked>,
}

/// A hold by the deploy windows or a change calendar.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Hold {
    /// What holds it.
    pub(super) by: String,
    /// Why, in words.
    pub(super) reason: String,
    /// Until when (Unix seconds), when known.
    pub(super) until: Option<u64>,
}

impl<L: LambdaApi, M: MetricsApi, C: Clock> Engine<'_, L, M, C> {
    /// The requests our next write of `t` carries: what its alias holds now, less an end of a
    /// wait already done. A lease taken over from a runner that died keeps its pause (the
    /// person who paused it has not said go on); what was asked of that runner's wait is not
    /// this run's to do.
    pub(super) fn carried(&self, t: &Target) -> (Control, Option<String>) {
        let Some(marker) = Marker::parse(&t.current.description).1 else {
            return (Control::default(), None);
        };
        let ours = marker.held_by(&self.settings.holder, self.settings.id.as_deref());
        let mut control = marker.control;
        if !ours {
            control.skip = None;
        }
        if control.skip.is_some() && control.skip == self.lease.control.taken {
            control.skip = None;
        }
        // An approval stays until the gate has taken it in.
        let approved = marker.approved.filter(|_| ours && self.lease.gate);
        (control, approved)
    }

    /// The marker on `alias` when this run holds it.
    fn ours(&self, alias: &Alias) -> Option<Marker> {
        Marker::parse(&alias.description)
            .1
            .filter(|m| m.held_by(&self.settings.holder, self.settings.id.as_deref()))
    }

    /// Whether `now`, read after our last read or write of `t`, differs from it only in what
    /// people asked through the marker: the same versions and weights, the user's text and our
    /// lease, and a request changed. A rewrite that changed nothing at all is someone else's,
    /// for a reason we cannot know: a conflict, as ever.
    pub(super) fn only_asked(&self, t: &Target, now: &Alias) -> bool {
        let (user, _) = Marker::parse(&now.description);
        let asks = |m: Option<Marker>| m.map(|m| (m.control, m.approved));
        now.version == t.current.version
            && now.routing == t.current.routing
            && user == t.user_description
            && self.ours(now).is_some()
            && asks(self.ours(now)) != asks(self.ours(&t.current))
    }

    /// What the aliases ask now: the pause of the first alias (the one read every few seconds;
    /// the others' are as last written), and any end of a wait not yet done.
    fn asked(&self) -> Control {
        let mut alive = self.progress.targets.iter().filter(|t| !t.gone);
        let mut asked = alive.next().map(|t| self.carried(t).0).unwrap_or_default();
        for t in alive {
            if asked.skip.is_none() {
                asked.skip = self.carried(t).0.skip;
            }
        }
        asked
    }

    /// Reads the first alias for requests when [`super::Settings::control`] has passed since
    /// the last read: a change of the marker alone is taken up, anything else stops the rollout
    /// as a conflict. Then says when a pause began or ended.
    pub(super) async fn poll_control(&mut self) -> Result<(), Stop> {
        if let Some(every) = self.settings.control {
            let now = self.services.clock.now();
            if now.0.saturating_sub(self.lease.control.polled.0) >= every.0 {
                self.lease.control.polled = now;
                self.read_control(every).await?;
            }
        }
        self.tell_pause();
        Ok(())
    }

    /// Reads the first alias still there, taking up what its marker asks. A read that fails or
    /// has no answer within `limit` is left for the next one: it never holds up a bake, and a
    /// pause it missed still holds the next move of traffic (whose write meets it).
    async fn read_control(&mut self, limit: Millis) -> Result<(), Stop> {
        let Some(i) = self.progress.targets.iter().position(|t| !t.gone) else {
            return Ok(());
        };
        let t = &self.progress.targets[i];
        let (function, alias) = (t.function.clone(), t.alias.clone());
        let read = self.services.lambda.get_alias(&function, &alias);
        let Some(Ok(now)) = self.services.clock.within(limit, read).await else {
            return Ok(());
        };
        let before = &self.progress.targets[i].current;
        if now.revision_id == before.revision_id && now.description == before.description {
            return Ok(());
        }
        if !self.only_asked(&self.progress.targets[i], &now) {
            return Err(Stop::conflict(Change::Waiting {
                function,
                alias,
                serves: now,
            }));
        }
        self.progress.targets[i].current = now;
        Ok(())
    }

    /// Emits `paused` when a pause began since last told, `unpaused` when it ended.
    fn tell_pause(&mut self) {
        let asked = self.asked().paused;
        if asked == self.lease.control.told {
            return;
        }
        if self.lease.control.told.is_some() {
            let paused_ms = Millis(
                self.services
                    .clock
                    .now()
                    .0
                    .saturating_sub(self.lease.control.since.0),
            );
            let by = self
                .asked()
                .resumed_by
                .unwrap_or_else(|| "someone".to_string());
            self.emit(EventKind::Unpaused { by, paused_ms });
        }
        if let Some(p) = &asked {
            self.lease.control.since = self.services.clock.now();
            self.emit(EventKind::Paused {
                by: p.by.clone(),
                reason: p.reason.clone(),
                until: None,
            });
        }
        self.lease.control.told = asked;
    }

    /// Whether a person has paused the rollout.
    pub(super) fn paused(&self) -> bool {
        self.lease.control.told.is_some()
    }

    /// An end of the current wait asked since it began (`began`, Unix seconds), taken: the
    /// next writes no longer carry it. One asked before the wait began was meant for an
    /// earlier one, and is dropped with a word.
    pub(super) fn take_skip(&mut self, began: u64) -> Option<Skip> {
        let skip = self.asked().skip?;
        self.lease.control.taken = Some(skip.clone());
        if skip.at < began {
            self.emit(EventKind::PromoteIgnored {
                by: skip.by,
                reason: "asked before the current wait began".to_string(),
            });
            return None;
        }
        self.lease.control.to_promote |= skip.full;
        self.emit(EventKind::PromoteAsked {
            by: skip.by.clone(),
            full: skip.full,
        });
        Some(skip)
    }

    /// `on violation pause`: a violation in a bake pauses the rollout, with traffic where it is,
    /// for a person to decide. `rollout resume` accepts it (the bake passes and the rollout
    /// goes on); `rollout rollback` restores `old` (this run then stops on the change); after
    /// the policy's limit without a decision, it rolls back. Anything else that stops a bake
    /// stops it as ever.
    pub(super) async fn on_violation(
        &mut self,
        health: &HealthSpec,
        stop: Stop,
    ) -> Result<(), Stop> {
        let Violation::Pause { at_most } = health.violation else {
            return Err(stop);
        };
        let reason = match &stop {
            Stop::Fail(cause) if matches!(**cause, Cause::Unhealthy(_)) => cause.to_string(),
            _ => return Err(stop),
        };
        self.lease.control.own = Some(Paused {
            by: "health-check".to_string(),
            at: self.services.clock.unix(),
            reason: Some(reason.clone()),
        });
        let written = self.hold_all().await;
        self.lease.control.own = None;
        written?;
        self.tell_pause();
        let clock = self.services.clock;
        let deadline = Millis(clock.now().0 + at_most.0);
        let every = self.settings.control.unwrap_or(health.every);
        while self.paused() {
            if clock.now() >= deadline {
                return Err(stop);
            }
            clock
                .sleep(every.min(Millis(deadline.0 - clock.now().0)))
                .await;
            if clock.interrupted() {
                return Err(Stop::Interrupted);
            }
            self.poll_control().await?;
            self.beat().await?;
        }
        let by = self
            .asked()
            .resumed_by
            .unwrap_or_else(|| "someone".to_string());
        self.emit(EventKind::BakePassed {
            reason: format!("the violation ({reason}) accepted by {by} with `rollout resume`"),
        });
        Ok(())
    }

    /// Whether a person or the deploy windows hold the rollout now.
    pub(super) fn holding(&self) -> bool {
        self.paused() || self.outside()
    }

    /// Before traffic moves: while a person has paused the rollout, or the deploy windows or
    /// a change calendar are closed, it holds. Health is judged every interval while `new` has
    /// traffic, and a violation still fails the step.
    pub(super) async fn hold_while_paused(&mut self, health: &HealthSpec) -> Result<(), Stop> {
        // Read now, whenever the last read was: a pause written a moment ago holds this move.
        self.lease.control.polled = Millis(0);
        self.poll_control().await?;
        self.check_window().await?;
        if !self.holding() {
            return Ok(());
        }
        let settlement = self.settlement(health);
        self.start_judging(&settlement);
        let mut since_look = Millis(0);
        while self.holding() {
            let mut pause = health.every;
            if let Some(every) = self.settings.control {
                pause = pause.min(every);
            }
            if let Some(until) = self.lease.control.closed.as_ref().and_then(|h| h.until) {
                let left = (until * 1000).saturating_sub(self.services.clock.epoch().0);
                pause = pause.min(Millis(left.max(1)));
            }
            self.services.clock.sleep(pause).await;
            if self.services.clock.interrupted() {
                return Err(Stop::Interrupted);
            }
            since_look = Millis(since_look.0 + pause.0);
            if since_look >= health.every && self.traffic_on_new() {
                since_look = Millis(0);
                self.judge_open(health, &settlement).await?;
            }
            self.poll_control().await?;
            self.check_window().await?;
            self.beat().await?;
        }
        Ok(())
    }
}

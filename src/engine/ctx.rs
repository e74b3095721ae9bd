//! Hooks at run time: what `ctx` shows a hook running for one target, and answering what the
//! hook asks (`ctx.metric`, `ctx.invoke`, `ctx.log`) through the engine's own services, so a hook
//! behaves the same in `run`, `simulate` and tests.

use super::events::EventKind;
use super::Engine;
use crate::cloud::{Clock, LambdaApi, MetricQuery, MetricsApi};
use crate::hooks::{CtxData, HookVerdict, Request};
use crate::plan::{Script, Which};

impl<L: LambdaApi, M: MetricsApi, C: Clock> Engine<'_, L, M, C> {
    /// What `ctx` shows a hook running for target `i`.
    fn ctx(&self, i: usize) -> CtxData {
        let t = self.progress.targets.get(i);
        let weight = t.map_or(0.0, |t| match (&t.new, t.current.additional()) {
            (_, Some((_, w))) => w * 100.0,
            (Some(new), None) if *new == t.current.version => 100.0,
            _ => 0.0,
        });
        CtxData {
            function: t.map(|t| t.function.clone()).unwrap_or_default(),
            functions: self.playbook.functions.clone(),
            alias: t.map(|t| t.alias.clone()).unwrap_or_default(),
            old: t.map(|t| t.old.clone()).unwrap_or_default(),
            new: t.and_then(|t| t.new.clone()).unwrap_or_default(),
            weight,
            elapsed: self.elapsed() as f64 / 1000.0,
            params: self.playbook.params.clone(),
        }
    }

    /// Runs a hook for target `i`, answering what it asks, and reports its verdict.
    pub(super) async fn run_hook(&mut self, script: &Script, i: usize) -> HookVerdict {
        let data = self.ctx(i);
        let (function, alias, old, new) = (
            data.function.clone(),
            data.alias.clone(),
            data.old.clone(),
            data.new.clone(),
        );
        // A hook reads the periods that have settled, as the checks do.
        let health = self.playbook.health.clone();
        let settlement = self.settlement(&health);
        let mut running = self.services.hooks.start(script, data);
        while let Some(request) = running.receiver.recv().await {
            match request {
                Request::Log(message) => self.emit(EventKind::HookLog {
                    script: script.name.clone(),
                    message,
                }),
                Request::Metric {
                    stat,
                    which,
                    window,
                    reply,
                } => {
                    let version = match which {
                        Which::New => new.clone(),
                        Which::Old => old.clone(),
                    };
                    // The newest settled periods covering the window, as the checks read them.
                    let (start, end) =
                        settlement.window(window, settlement.settled(self.services.clock.epoch()));
                    let query =
                        MetricQuery::lambda(&function, &alias, &version, stat, (start, end));
                    // A failed read is no data: the hook decides, and no data is never healthy.
                    let value = self
                        .services
                        .metrics
                        .stats(&[query])
                        .await
                        .ok()
                        .and_then(|v| v.into_iter().next().flatten());
                    let _ = reply.send(value);
                }
                Request::Invoke {
                    which,
                    payload,
                    reply,
                } => {
                    let qualifier = match which {
                        None => alias.clone(),
                        Some(Which::New) => new.clone(),
                        Some(Which::Old) => old.clone(),
                    };
                    let result = self
                        .services
                        .lambda
                        .invoke(&function, &qualifier, &payload)
                        .await
                        .map_err(|e| e.to_string());
                    let _ = reply.send(result);
                }
            }
        }
        let verdict = running.verdict().await;
        self.emit(EventKind::Hook {
            function,
            script: script.name.clone(),
            verdict: verdict.clone(),
        });
        verdict
    }
}

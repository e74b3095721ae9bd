//! The states of a bake: the CloudWatch alarms created for the metric checks once `new` is
//! chosen, the looks at every alarm while the traffic settles, and their deletion at the end.

use serde_json::json;

use super::steps::seconds;
use super::{health, states, Builder, RESTORE};
use crate::plan::{Inconclusive, Millis};

impl Builder<'_> {
    /// One alarm per metric check and target, on the versions now chosen.
    pub(super) fn create_alarms(&mut self, n: usize) {
        let names = self.created();
        let checks = self.metric_checks.clone();
        for t in 0..self.functions.len() {
            for (c, (text, lhs, op, rhs)) in checks.iter().enumerate() {
                let name = &names[t * checks.len() + c];
                let description = format!(
                    "rollout: `{text}` for {}:{}, created by the execution whose name is in the alarm's; deleted when it ends",
                    self.functions[t], self.alias
                );
                let params = health::alarm(
                    name,
                    description,
                    t,
                    &self.functions[t],
                    &self.alias,
                    self.plan.health.every,
                    lhs,
                    *op,
                    rhs,
                );
                let name = format!("S{n} alarm f{t} c{c}");
                self.unless_dropped(t, &name, |b, _| {
                    b.task(&name, "cloudwatch:putMetricAlarm", params, None, RESTORE);
                });
            }
        }
    }

    /// `wait D until healthy` (`MIN..D` when `shortest`): with count checks, judged as `run`
    /// judges ([`Builder::judged_bake`]); otherwise looks at every alarm each health interval
    /// until the traffic of `duration` has settled; `ALARM` fails it, and at the end missing
    /// data fails it under `inconclusive fail`.
    pub(super) fn bake(
        &mut self,
        n: usize,
        duration: Millis,
        shortest: Option<Millis>,
        part: &str,
    ) {
        let total = Millis(duration.0 + self.settlement.delay.0);
        let names = self.look_names();
        let prefix = format!("S{n}{part}");
        let every = self.plan.health.every.max(Millis(1_000));
        if !self.counted.is_empty() {
            let step = every.max(self.settlement.period);
            self.looks += total.0.div_ceil(step.0) + 1;
            self.judged_bake(&prefix, duration, shortest);
            return;
        }
        if names.is_empty() {
            self.then(
                &format!("{prefix} bake"),
                json!({"Type": "Wait", "Seconds": seconds(total)}),
                false,
            );
            return;
        }
        let looks = total.0.div_ceil(every.0).max(1);
        self.looks += looks;
        let wait = format!("{prefix} wait");
        self.then(
            &format!("{prefix} bake"),
            json!({"Type": "Pass", "Result": {"left": looks}, "ResultPath": "$.bake"}),
            false,
        );
        self.then(
            &wait,
            json!({"Type": "Wait", "Seconds": seconds(every)}),
            false,
        );
        self.look_at_alarms(&prefix, true);
        let done = format!("{prefix} baked");
        let mut choices = vec![
            json!({"Variable": "$.bake.alarm", "BooleanEquals": true, "Next": states::UNHEALTHY}),
            json!({"Variable": "$.bake.composite", "BooleanEquals": true, "Next": states::UNHEALTHY}),
        ];
        choices.extend(self.continue_rule(&prefix, false));
        choices.push(json!({"Variable": "$.bake.left", "NumericGreaterThan": 0, "Next": wait}));
        if self.plan.health.inconclusive == Inconclusive::Fail {
            choices.push(json!({"Variable": "$.bake.missing", "BooleanEquals": true, "Next": states::INCONCLUSIVE}));
        }
        self.then(
            &format!("{prefix} verdict"),
            json!({"Type": "Choice", "Choices": choices, "Default": done}),
            true,
        );
        self.join(&done);
        let mut ends = vec![(
            states::UNHEALTHY,
            "an alarm of the health block is in ALARM",
        )];
        if self.plan.health.inconclusive == Inconclusive::Fail {
            ends.push((
                states::INCONCLUSIVE,
                "the bake ended without data for a check (inconclusive fail)",
            ));
        }
        for (name, why) in ends {
            self.states.insert(
                name.into(),
                json!({"Type": "Pass", "Result": {"Error": name, "Cause": why}, "ResultPath": "$.error", "Next": RESTORE}),
            );
        }
    }

    /// Reads the state of every alarm a look reads into `$.bake`: whether any is in `ALARM`
    /// (`alarm`, `composite`) or without data (`missing`); with `count`, one look fewer left.
    pub(super) fn look_at_alarms(&mut self, prefix: &str, count: bool) {
        let names = self.look_names();
        let look = format!("{prefix} look");
        self.task(
            &look,
            "cloudwatch:describeAlarms",
            json!({"AlarmNames.$": format!("States.Array({})", names.join(", ")), "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]}),
            Some("$.look"),
            RESTORE,
        );
        if let Some(state) = self.states.get_mut(&look) {
            state["ResultSelector"] = json!({"metric.$": "$.MetricAlarms[*].StateValue", "composite.$": "$.CompositeAlarms[*].StateValue"});
        }
        let mut summary = json!({
            "alarm.$": "States.ArrayContains($.look.metric, 'ALARM')",
            "composite.$": "States.ArrayContains($.look.composite, 'ALARM')",
            "missing.$": "States.ArrayContains($.look.metric, 'INSUFFICIENT_DATA')",
        });
        if count {
            summary["left.$"] = json!("States.MathAdd($.bake.left, -1)");
        }
        let name = if count { "judge" } else { "alarm states" };
        self.then(
            &format!("{prefix} {name}"),
            json!({"Type": "Pass", "Parameters": summary, "ResultPath": "$.bake"}),
            false,
        );
    }

    /// Deletes the alarms the execution created, then goes on to `next` whatever happens.
    pub(super) fn delete_alarms(&mut self, name: &str, next: &str) {
        if self.metric_checks.is_empty() {
            return;
        }
        let checks = self.metric_checks.len();
        let created = self.created();
        if self.functions.len() < 2 || !self.chosen {
            self.delete_named(name, &created, next);
            return;
        }
        // A fleet deletes each target's alarms on its own: a dropped target created none, and
        // `DeleteAlarms` naming an alarm that does not exist may fail.
        for t in 0..self.functions.len() {
            let task = format!("{name} f{t}");
            let mine = created[t * checks..(t + 1) * checks].to_vec();
            self.unless_dropped(t, &task, |b, after| b.delete_named(&task, &mine, after));
        }
    }

    /// A `DeleteAlarms` of the alarms `created` (`States.Format` templates), going on to `next`
    /// whatever happens.
    fn delete_named(&mut self, name: &str, created: &[String], next: &str) {
        let names: Vec<String> = created
            .iter()
            .map(|n| format!("States.Format('{n}', $rid)"))
            .collect();
        self.task(
            name,
            "cloudwatch:deleteAlarms",
            json!({"AlarmNames.$": format!("States.Array({})", names.join(", "))}),
            None,
            next,
        );
    }
}

//! The simulated CloudWatch: per-version statistics of the traffic the alias weights sent to
//! each version, and alarm states a test or `simulate --alarm` sets.

use super::clock::VIRTUAL_EPOCH;
use super::SimWorld;
use crate::cloud::call::Call;
use crate::cloud::{
    AlarmKind, AlarmState, Clock, CloudError, MetricQuery, MetricsApi, ALARMS_PER_CALL,
};
use crate::plan::Millis;

impl MetricsApi for SimWorld {
    async fn stats(&self, queries: &[MetricQuery]) -> Result<Vec<Option<f64>>, CloudError> {
        let now = self.clock.now();
        let mut state = self.state.borrow_mut();
        state.calls.push(Call::GetMetricData {
            queries: queries.to_vec(),
        });
        state.generate_all(now);
        // Queries name epoch times; the world's traffic is kept in its own time.
        let world = |at: Millis| Millis(at.0.saturating_sub(VIRTUAL_EPOCH.0));
        Ok(queries
            .iter()
            .map(|q| {
                state.traffic.stat(
                    &q.function,
                    &q.version,
                    q.stat,
                    now,
                    world(q.start),
                    world(q.end),
                )
            })
            .collect())
    }

    async fn describe_alarms(
        &self,
        names: &[String],
        kinds: &[AlarmKind],
    ) -> Result<Vec<(String, AlarmState)>, CloudError> {
        let mut state = self.state.borrow_mut();
        state.calls.push(Call::DescribeAlarms {
            names: names.to_vec(),
            kinds: kinds.to_vec(),
        });
        if names.len() > ALARMS_PER_CALL {
            return Err(CloudError::InvalidParameter(format!(
                "ValidationError: AlarmNames has {} names; at most {ALARMS_PER_CALL} are allowed",
                names.len()
            )));
        }
        // Without `AlarmTypes`, CloudWatch answers for metric alarms only.
        let kinds = if kinds.is_empty() {
            &[AlarmKind::Metric][..]
        } else {
            kinds
        };
        Ok(names
            .iter()
            .filter_map(|name| {
                let (kind, alarm) = state.alarms.get(name)?;
                kinds.contains(kind).then(|| (name.clone(), *alarm))
            })
            .collect())
    }
}

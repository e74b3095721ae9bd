//! The simulated CloudWatch: per-version statistics of the traffic the alias weights sent to
//! each version, and alarm states a test or `simulate --alarm` sets.

use super::clock::VIRTUAL_EPOCH;
use super::SimWorld;
use crate::cloud::call::Call;
use crate::cloud::{AlarmState, Clock, CloudError, MetricQuery, MetricsApi};
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

    async fn alarm_state(&self, name: &str) -> Result<AlarmState, CloudError> {
        let mut state = self.state.borrow_mut();
        state.calls.push(Call::DescribeAlarms {
            name: name.to_string(),
        });
        state
            .alarms
            .get(name)
            .copied()
            .ok_or_else(|| CloudError::NotFound(format!("Alarm not found: {name}")))
    }
}

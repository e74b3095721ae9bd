//! The simulated CloudWatch: per-version statistics of the traffic the alias weights sent to
//! each version, answered page by page as `GetMetricData` does (at most 500 queries a call, a
//! page of so many datapoints, the rest `PartialData` behind a `NextToken`), and alarm states a
//! test or `simulate --alarm` sets, answered for the kinds asked about.

use super::clock::VIRTUAL_EPOCH;
use super::{SimWorld, HISTORY};
use crate::cloud::call::Call;
use crate::cloud::metrics::{
    MetricDataPage, MetricDataRequest, MetricDataResult, ResultStatus, QUERIES_PER_CALL,
};
use crate::cloud::{AlarmKind, AlarmState, Clock, CloudError, MetricsApi, ALARMS_PER_CALL};
use crate::plan::Millis;

impl MetricsApi for SimWorld {
    async fn get_metric_data(
        &self,
        request: &MetricDataRequest,
    ) -> Result<MetricDataPage, CloudError> {
        let now = self.clock.now();
        let mut state = self.state.borrow_mut();
        state.calls.push((
            self.clock.now(),
            Call::GetMetricData {
                queries: request.queries.clone(),
                next_token: request.next_token.clone(),
            },
        ));
        if request.queries.len() > QUERIES_PER_CALL {
            return Err(CloudError::InvalidParameter(format!(
                "ValidationError: {} MetricDataQueries; at most {QUERIES_PER_CALL} are allowed",
                request.queries.len()
            )));
        }
        let first: usize = match &request.next_token {
            None => 0,
            Some(token) => token
                .parse()
                .map_err(|_| CloudError::InvalidParameter(format!("InvalidNextToken: {token}")))?,
        };
        state.generate_all(now);
        // Queries name epoch times; the world's traffic is kept in its own time, which starts
        // its history before the run.
        let world = |at: Millis| Millis((at.0 + HISTORY.0).saturating_sub(VIRTUAL_EPOCH.0));
        let now = world(Millis(VIRTUAL_EPOCH.0 + now.0));
        let values: Vec<Option<f64>> = request
            .queries
            .iter()
            .map(|q| {
                let (start, end) = (world(request.start), world(request.end));
                state
                    .traffic
                    .stat(&q.function, &q.version, q.stat, now, start, end)
            })
            .collect();
        // Each query with data has one datapoint; a page holds so many, the rest is partial.
        let limit = state.datapoints_per_page;
        let mut results = Vec::new();
        let mut datapoint = 0;
        let mut more = false;
        for (query, value) in values.into_iter().enumerate() {
            let Some(value) = value else {
                if first == 0 {
                    results.push(MetricDataResult {
                        query,
                        values: Vec::new(),
                        status: ResultStatus::Complete,
                    });
                }
                continue;
            };
            let on_page = (first..first + limit).contains(&datapoint);
            if on_page {
                results.push(MetricDataResult {
                    query,
                    values: vec![value],
                    status: ResultStatus::Complete,
                });
            } else if datapoint >= first + limit {
                more = true;
                results.push(MetricDataResult {
                    query,
                    values: Vec::new(),
                    status: ResultStatus::PartialData,
                });
            }
            datapoint += 1;
        }
        Ok(MetricDataPage {
            results,
            next_token: more.then(|| (first + limit).to_string()),
        })
    }

    async fn describe_alarms(
        &self,
        names: &[String],
        kinds: &[AlarmKind],
    ) -> Result<Vec<(String, AlarmState)>, CloudError> {
        let mut state = self.state.borrow_mut();
        state.calls.push((
            self.clock.now(),
            Call::DescribeAlarms {
                names: names.to_vec(),
                kinds: kinds.to_vec(),
            },
        ));
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

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
use crate::cloud::{AlarmKind, AlarmState, Clock, CloudError, MetricsApi, Stat, ALARMS_PER_CALL};
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
        let period = request.period.0.max(1);
        // Every datapoint of every query, in order: one per period with data.
        let mut points: Vec<(usize, Millis, f64)> = Vec::new();
        for (query, q) in request.queries.iter().enumerate() {
            let mut at = request.start.0;
            while at < request.end.0 {
                let end = (at + period).min(request.end.0);
                let (from, to) = (world(Millis(at)), world(Millis(end)));
                let value = match q.stat {
                    Stat::ColdStarts | Stat::InitDuration(_) | Stat::Custom(_) => {
                        let custom = q.custom.as_ref().map(|c| c.statistic);
                        state.traffic.signal(
                            &q.function,
                            &q.version,
                            q.stat,
                            custom,
                            now,
                            (from, to),
                        )
                    }
                    _ => state
                        .traffic
                        .stat(&q.function, &q.version, q.stat, now, from, to),
                };
                if let Some(value) = value {
                    points.push((query, Millis(at), value));
                }
                at = end;
            }
        }
        // A page holds so many datapoints; a query with more after it is partial.
        let limit = state.datapoints_per_page;
        let page = first..(first + limit).min(points.len().max(first));
        let more = points.len() > first + limit;
        let mut results: Vec<MetricDataResult> = Vec::new();
        let mut next = 0;
        for query in 0..request.queries.len() {
            // Points are in query order: this query's are the next run of them.
            let from = next;
            while next < points.len() && points[next].0 == query {
                next += 1;
            }
            let mine = from..next;
            let shown = mine.start.max(page.start)..mine.end.min(page.end);
            let after = mine.end > page.end;
            if shown.is_empty() && !after && !(first == 0 && mine.is_empty()) {
                continue;
            }
            let on_page = &points[shown.start..shown.end.max(shown.start)];
            results.push(MetricDataResult {
                query,
                values: on_page.iter().map(|p| p.2).collect(),
                timestamps: on_page.iter().map(|p| p.1).collect(),
                status: if after {
                    ResultStatus::PartialData
                } else {
                    ResultStatus::Complete
                },
            });
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

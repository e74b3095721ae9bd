//! CloudWatch through the SDK: the metrics the health judge reads and the alarms it watches.

use aws_sdk_cloudwatch::types::{
    AlarmType, Dimension, Metric, MetricDataQuery, MetricStat, StateValue, StatusCode,
};

use super::errors::domain;
use super::Aws;
use crate::cloud::metrics::{MetricDataPage, MetricDataRequest, MetricDataResult, ResultStatus};
use crate::cloud::{AlarmKind, AlarmState, CloudError, MetricsApi};
use crate::plan::Millis;

impl MetricsApi for Aws {
    async fn get_metric_data(
        &self,
        request: &MetricDataRequest,
    ) -> Result<MetricDataPage, CloudError> {
        let time = |at: Millis| aws_sdk_cloudwatch::primitives::DateTime::from_millis(at.0 as i64);
        let period = (request.period.0 / 1000).max(1);
        let dimension = |n: &str, v: &str| Dimension::builder().name(n).value(v).build();
        let mut call = self
            .cloudwatch
            .get_metric_data()
            .start_time(time(request.start))
            .end_time(time(request.end))
            .set_next_token(request.next_token.clone());
        for (i, q) in request.queries.iter().enumerate() {
            let source = q.source();
            let metric = Metric::builder()
                .namespace(source.namespace)
                .metric_name(source.metric)
                .set_dimensions(Some(
                    source
                        .dimensions
                        .iter()
                        .map(|(n, v)| dimension(n, v))
                        .collect(),
                ))
                .build();
            call = call.metric_data_queries(
                MetricDataQuery::builder()
                    .id(format!("m{i}"))
                    .metric_stat(
                        MetricStat::builder()
                            .metric(metric)
                            .period(i32::try_from(period).unwrap_or(i32::MAX))
                            .stat(source.statistic)
                            .build(),
                    )
                    .return_data(true)
                    .build(),
            );
        }
        self.call().await;
        let response = call.send().await.map_err(domain)?;
        let results = response
            .metric_data_results()
            .iter()
            .filter_map(|result| {
                let query = result.id()?.strip_prefix('m')?.parse::<usize>().ok()?;
                Some(MetricDataResult {
                    query,
                    values: result.values().to_vec(),
                    timestamps: result
                        .timestamps()
                        .iter()
                        .map(|t| {
                            Millis(
                                (t.secs() * 1000 + i64::from(t.subsec_nanos() / 1_000_000)).max(0)
                                    as u64,
                            )
                        })
                        .collect(),
                    status: match result.status_code() {
                        Some(StatusCode::PartialData) => ResultStatus::PartialData,
                        Some(StatusCode::InternalError) => ResultStatus::InternalError,
                        Some(StatusCode::Forbidden) => ResultStatus::Forbidden,
                        _ => ResultStatus::Complete,
                    },
                })
            })
            .collect();
        Ok(MetricDataPage {
            results,
            next_token: response.next_token().map(str::to_string),
        })
    }

    async fn describe_alarms(
        &self,
        names: &[String],
        kinds: &[AlarmKind],
    ) -> Result<Vec<(String, AlarmState)>, CloudError> {
        let state = |value: Option<&StateValue>| match value {
            Some(StateValue::Alarm) => AlarmState::Alarm,
            Some(StateValue::Ok) => AlarmState::Ok,
            _ => AlarmState::InsufficientData,
        };
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            self.call().await;
            let mut request = self
                .cloudwatch
                .describe_alarms()
                .set_alarm_names(Some(names.to_vec()))
                .set_next_token(token.clone());
            for kind in kinds {
                request = request.alarm_types(match kind {
                    AlarmKind::Metric => AlarmType::MetricAlarm,
                    AlarmKind::Composite => AlarmType::CompositeAlarm,
                });
            }
            let out = request.send().await.map_err(domain)?;
            for a in out.metric_alarms() {
                found.push((
                    a.alarm_name().unwrap_or_default().to_string(),
                    state(a.state_value()),
                ));
            }
            for a in out.composite_alarms() {
                found.push((
                    a.alarm_name().unwrap_or_default().to_string(),
                    state(a.state_value()),
                ));
            }
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(found);
            }
        }
    }
}

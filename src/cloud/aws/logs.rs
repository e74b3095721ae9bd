//! CloudWatch Logs Insights through the SDK: `StartQuery`, `GetQueryResults`, `StopQuery`.

use aws_sdk_cloudwatchlogs::types::{QueryStatus as SdkStatus, ResultField};

use super::errors::domain;
use super::Aws;
use crate::cloud::logs::{LogQuery, LogRow, LogsApi, QueryResults, QueryStatus};
use crate::cloud::CloudError;
use crate::plan::Millis;

impl LogsApi for Aws {
    /// `StartQuery` over whole seconds covering the range (the rows are cut to it after).
    async fn start_query(&self, query: &LogQuery) -> Result<String, CloudError> {
        self.call().await;
        let out = self
            .logs
            .start_query()
            .log_group_name(&query.log_group)
            .start_time((query.start.0 / 1000) as i64)
            .end_time(query.end.0.div_ceil(1000) as i64)
            .query_string(&query.query)
            .send()
            .await
            .map_err(domain)?;
        out.query_id
            .ok_or_else(|| CloudError::Other("StartQuery answered no query id".into()))
    }

    async fn query_results(&self, id: &str) -> Result<QueryResults, CloudError> {
        self.call().await;
        let out = self
            .logs
            .get_query_results()
            .query_id(id)
            .send()
            .await
            .map_err(domain)?;
        let status = match out.status() {
            Some(SdkStatus::Complete) => QueryStatus::Complete,
            Some(SdkStatus::Running | SdkStatus::Scheduled) => QueryStatus::Running,
            Some(other) => QueryStatus::Ended(other.as_str().to_string()),
            None => QueryStatus::Ended("without a status".to_string()),
        };
        Ok(QueryResults {
            status,
            rows: out.results().iter().map(|fields| row(fields)).collect(),
        })
    }

    async fn stop_query(&self, id: &str) -> Result<(), CloudError> {
        self.call().await;
        self.logs
            .stop_query()
            .query_id(id)
            .send()
            .await
            .map_err(domain)?;
        Ok(())
    }
}

/// A result row's `@timestamp`, `@logStream` and `@message`.
fn row(fields: &[ResultField]) -> LogRow {
    let get = |name: &str| {
        fields
            .iter()
            .find(|f| f.field() == Some(name))
            .and_then(ResultField::value)
            .unwrap_or_default()
            .to_string()
    };
    LogRow {
        timestamp: timestamp(&get("@timestamp")),
        stream: get("@logStream"),
        message: get("@message"),
    }
}

/// `@timestamp` as Logs Insights writes it (`2026-12-07 10:00:00.123`, UTC), or as epoch
/// milliseconds (as moto does).
fn timestamp(text: &str) -> Option<Millis> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok().map(Millis);
    }
    let iso = format!("{}Z", text.trim().replacen(' ', "T", 1));
    let at = iso.parse::<jiff::Timestamp>().ok()?;
    u64::try_from(at.as_millisecond()).ok().map(Millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_their_times_read_as_aws_and_moto_write_them() {
        assert_eq!(
            timestamp("2026-12-07 09:00:00.250"),
            Some(Millis(1_796_634_000_250))
        );
        assert_eq!(timestamp("1796634000250"), Some(Millis(1_796_634_000_250)));
        assert_eq!(timestamp(""), None);
        assert_eq!(timestamp("yesterday"), None);
        let field = |f: &str, v: &str| ResultField::builder().field(f).value(v).build();
        let r = row(&[
            field("@ptr", "x"),
            field("@message", "ERROR boom"),
            field("@logStream", "2026/12/07/[2]abc"),
        ]);
        assert_eq!(
            r,
            LogRow {
                timestamp: None,
                stream: "2026/12/07/[2]abc".into(),
                message: "ERROR boom".into()
            }
        );
    }
}

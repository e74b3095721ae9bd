//! The simulated CloudWatch Logs: each version of `/aws/lambda/FUNCTION` logs an error line for
//! each error CloudWatch counts of it, of two kinds both versions share (a timeout, a reset
//! connection, their numbers varying), and `new` also the world's `new error signature` in its
//! share of invocations. A Logs Insights query answers the lines of the version its
//! `@logStream` filter names, oldest first, at most [`ROWS`], complete at once.

use super::clock::VIRTUAL_EPOCH;
use super::{SimWorld, HISTORY};
use crate::cloud::logs::{LogQuery, LogRow, LogsApi, QueryResults, QueryStatus};
use crate::cloud::{Clock, CloudError, Stat};
use crate::plan::signatures::ROWS;
use crate::plan::Millis;

/// Lines are made for each slice of this length.
const SLICE: Millis = Millis(60_000);

impl LogsApi for SimWorld {
    async fn start_query(&self, query: &LogQuery) -> Result<String, CloudError> {
        let now = self.clock.now();
        let mut state = self.state.borrow_mut();
        let not_found = || {
            CloudError::NotFound(format!(
                "ResourceNotFoundException: The specified log group does not exist: {}",
                query.log_group
            ))
        };
        let function = query
            .log_group
            .strip_prefix("/aws/lambda/")
            .filter(|f| state.functions.contains_key(*f))
            .ok_or_else(not_found)?
            .to_string();
        let Some(version) = query
            .query
            .split_once("\\[")
            .and_then(|(_, rest)| rest.split_once("\\]"))
            .map(|(version, _)| version.to_string())
        else {
            return Err(CloudError::InvalidParameter(
                "MalformedQueryException: the simulated world answers queries of one version's @logStream only".into(),
            ));
        };
        state.generate_all(now);
        let world = |at: Millis| Millis((at.0 + HISTORY.0).saturating_sub(VIRTUAL_EPOCH.0));
        let now = world(Millis(VIRTUAL_EPOCH.0 + now.0));
        let is_new = state.old_versions.get(&function) != Some(&version);
        let signature = state.new_signature.clone().filter(|_| is_new);
        let mut rows = Vec::new();
        let mut at = query.start.0 - query.start.0 % SLICE.0;
        while at < query.end.0 && rows.len() < ROWS as usize {
            let (from, to) = (
                Millis(at.max(query.start.0)),
                Millis((at + SLICE.0).min(query.end.0)),
            );
            let mut stat = |stat| {
                state
                    .traffic
                    .stat(&function, &version, stat, now, world(from), world(to))
                    .unwrap_or(0.0)
                    .round() as u64
            };
            let errors = stat(Stat::Errors);
            let special = match &signature {
                Some(s) => (stat(Stat::Invocations) as f64 * s.share).round() as u64,
                None => 0,
            };
            let lines = errors + special;
            for k in 0..lines {
                let t = Millis(from.0 + (to.0 - from.0) * k / lines.max(1));
                let n = at / 1000 + k;
                let message = match (&signature, k < special) {
                    (Some(s), true) => format!("ERROR {} (request {n})", s.message),
                    _ if k % 2 == 0 => {
                        format!("ERROR Upstream timeout after {}ms", 1_000 + n % 2_000)
                    }
                    _ => format!("ERROR Connection reset by peer 10.0.{}.{}", n % 7, n % 250),
                };
                rows.push(LogRow {
                    timestamp: Some(t),
                    stream: format!("2026/12/07/[{version}]{:08x}", n % 0xffff),
                    message: format!("{}\t{message}", crate::cloud::clock::utc(t.0 / 1000)),
                });
            }
            at += SLICE.0;
        }
        rows.truncate(ROWS as usize);
        state.queries.push(rows);
        Ok(format!("sim-query-{}", state.queries.len() - 1))
    }

    async fn query_results(&self, id: &str) -> Result<QueryResults, CloudError> {
        let state = self.state.borrow();
        let rows = id
            .strip_prefix("sim-query-")
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| state.queries.get(n))
            .ok_or_else(|| CloudError::InvalidParameter(format!("no query {id}")))?;
        Ok(QueryResults {
            status: QueryStatus::Complete,
            rows: rows.clone(),
        })
    }

    async fn stop_query(&self, _: &str) -> Result<(), CloudError> {
        Ok(())
    }
}

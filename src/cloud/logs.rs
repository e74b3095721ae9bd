//! CloudWatch Logs Insights, as `no new error signatures` reads it: a query is started
//! (`StartQuery`), polled until it is complete (`GetQueryResults`), and stopped (`StopQuery`)
//! when it takes too long. [`super::aws`] asks CloudWatch Logs, [`super::sim`] answers from the
//! simulated traffic. A query that fails, is cancelled or times out is an error, never an
//! empty answer.

use std::future::Future;
use std::pin::Pin;

use super::{Clock, CloudError};
use crate::plan::Millis;

/// How often a running query is asked for its results.
pub const POLL: Millis = Millis(1_000);

/// How long a query may run before it is stopped and counts as failed.
pub const QUERY_LIMIT: Millis = Millis(60_000);

/// One Logs Insights query over one log group and range of time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogQuery {
    /// The log group.
    pub log_group: String,
    /// The query string.
    pub query: String,
    /// Where the range starts, epoch milliseconds (inclusive; the API takes whole seconds).
    pub start: Millis,
    /// Where it ends, epoch milliseconds (exclusive).
    pub end: Millis,
}

/// One row of a query's results: the fields `no new error signatures` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRow {
    /// `@timestamp`, epoch milliseconds, when the answer had one that reads as a time.
    pub timestamp: Option<Millis>,
    /// `@logStream`.
    pub stream: String,
    /// `@message`.
    pub message: String,
}

/// `GetQueryResults`'s `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryStatus {
    /// `Scheduled` or `Running`: ask again.
    Running,
    /// `Complete`: the rows are all there.
    Complete,
    /// `Failed`, `Cancelled`, `Timeout` or a status this build does not know, as the service
    /// said it.
    Ended(String),
}

/// What `GetQueryResults` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryResults {
    /// Where the query is.
    pub status: QueryStatus,
    /// Its rows so far.
    pub rows: Vec<LogRow>,
}

/// CloudWatch Logs Insights calls.
#[allow(async_fn_in_trait)]
pub trait LogsApi {
    /// `StartQuery`: the query's id.
    async fn start_query(&self, query: &LogQuery) -> Result<String, CloudError>;
    /// `GetQueryResults` of a started query.
    async fn query_results(&self, id: &str) -> Result<QueryResults, CloudError>;
    /// `StopQuery` of a query still running.
    async fn stop_query(&self, id: &str) -> Result<(), CloudError>;
}

/// A boxed future of the logs reader.
type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T, CloudError>> + 'a>>;

/// A Logs Insights reader the engine can hold whatever world it runs in: every [`LogsApi`] is one.
pub trait Logs {
    /// `StartQuery`.
    fn start<'a>(&'a self, query: &'a LogQuery) -> Boxed<'a, String>;
    /// `GetQueryResults`.
    fn results<'a>(&'a self, id: &'a str) -> Boxed<'a, QueryResults>;
    /// `StopQuery`.
    fn stop<'a>(&'a self, id: &'a str) -> Boxed<'a, ()>;
}

impl<A: LogsApi> Logs for A {
    fn start<'a>(&'a self, query: &'a LogQuery) -> Boxed<'a, String> {
        Box::pin(self.start_query(query))
    }

    fn results<'a>(&'a self, id: &'a str) -> Boxed<'a, QueryResults> {
        Box::pin(self.query_results(id))
    }

    fn stop<'a>(&'a self, id: &'a str) -> Boxed<'a, ()> {
        Box::pin(self.stop_query(id))
    }
}

/// Runs `query` to its end: its rows once `Complete`. A query that ends otherwise, or is not
/// complete within [`QUERY_LIMIT`] (then stopped, as far as the service lets it), is an error.
pub async fn run(
    logs: &dyn Logs,
    clock: &impl Clock,
    query: &LogQuery,
) -> Result<Vec<LogRow>, CloudError> {
    let id = logs.start(query).await?;
    let polled = clock.within(QUERY_LIMIT, async {
        loop {
            let results = logs.results(&id).await?;
            match results.status {
                QueryStatus::Complete => return Ok(results.rows),
                QueryStatus::Running => clock.sleep(POLL).await,
                QueryStatus::Ended(status) => {
                    return Err(CloudError::Other(format!(
                        "Logs Insights query {id} ended {status}"
                    )))
                }
            }
        }
    });
    match polled.await {
        Some(answer) => answer,
        None => {
            // Best effort: a query left running only costs what it scans.
            let _ = logs.stop(&id).await;
            Err(CloudError::Transient(format!(
                "Logs Insights query {id} was not complete within {QUERY_LIMIT}: stopped"
            )))
        }
    }
}

/// The version a Lambda log stream's name carries: `2026/12/07/[42]abc…` is version 42's.
pub fn stream_version(stream: &str) -> Option<&str> {
    let open = stream.find('[')?;
    let close = open + stream[open..].find(']')?;
    Some(&stream[open + 1..close])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::sim::clock::VirtualClock;
    use std::cell::Cell;

    /// Answers `Running` so many times, then `status`.
    struct Slow {
        running: Cell<u32>,
        status: QueryStatus,
        stopped: Cell<bool>,
    }

    impl LogsApi for Slow {
        async fn start_query(&self, _: &LogQuery) -> Result<String, CloudError> {
            Ok("q-1".into())
        }
        async fn query_results(&self, _: &str) -> Result<QueryResults, CloudError> {
            let left = self.running.get();
            self.running.set(left.saturating_sub(1));
            let status = if left > 0 {
                QueryStatus::Running
            } else {
                self.status.clone()
            };
            let rows = vec![LogRow {
                timestamp: Some(Millis(1)),
                stream: "2026/12/07/[2]x".into(),
                message: "ERROR x".into(),
            }];
            Ok(QueryResults { status, rows })
        }
        async fn stop_query(&self, _: &str) -> Result<(), CloudError> {
            self.stopped.set(true);
            Ok(())
        }
    }

    fn query() -> LogQuery {
        LogQuery {
            log_group: "/aws/lambda/f".into(),
            query: "fields @message".into(),
            start: Millis(0),
            end: Millis(60_000),
        }
    }

    fn slow(running: u32, status: QueryStatus) -> Slow {
        Slow {
            running: Cell::new(running),
            status,
            stopped: Cell::new(false),
        }
    }

    #[test]
    fn a_query_is_polled_until_complete_and_anything_else_is_an_error() {
        let runtime = crate::cloud::sim::clock::runtime();
        let clock = VirtualClock::new();
        runtime.block_on(async {
            let api = slow(3, QueryStatus::Complete);
            assert_eq!(run(&api, &clock, &query()).await.unwrap().len(), 1);
            let api = slow(0, QueryStatus::Ended("Failed".into()));
            let error = run(&api, &clock, &query()).await.unwrap_err();
            assert!(error.to_string().contains("ended Failed"), "{error}");
            let api = slow(u32::MAX, QueryStatus::Complete);
            let error = run(&api, &clock, &query()).await.unwrap_err();
            assert!(error.to_string().contains("not complete within"), "{error}");
            assert!(api.stopped.get());
        });
    }

    #[test]
    fn a_stream_name_carries_its_version() {
        assert_eq!(stream_version("2026/12/07/[42]abcdef"), Some("42"));
        assert_eq!(
            stream_version("2026/12/07/[$LATEST]abcdef"),
            Some("$LATEST")
        );
        assert_eq!(stream_version("no version"), None);
        assert_eq!(stream_version("x]y[z"), None);
    }
}

//! Reading statistics with `GetMetricData` as the API allows: one time range and period per
//! request (a statistic over a whole range is one period spanning it; a series is one datapoint
//! per period), at most [`QUERIES_PER_CALL`] queries per request, and every page of the
//! answer: a result marked `PartialData` goes on in the page the `NextToken` names. Both back
//! ends answer page by page; the batching and the paging are here, once.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::{CloudError, MetricQuery, MetricsApi, Stat};
use crate::plan::Millis;

/// The most queries one `GetMetricData` call takes.
pub const QUERIES_PER_CALL: usize = 500;

/// Pages followed for one request before giving up on the service.
const MAX_PAGES: usize = 100;

/// One `GetMetricData` call: queries over one time range, or the next page of their answer.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDataRequest {
    /// Where the range starts, epoch milliseconds.
    pub start: Millis,
    /// Where it ends, epoch milliseconds.
    pub end: Millis,
    /// The period of each datapoint.
    pub period: Millis,
    /// The queries; results name them by their index here. Shared, not copied, with the
    /// [`super::call::Call`] each attempt is made as.
    pub queries: Rc<[MetricQuery]>,
    /// The page to read: `None` for the first.
    pub next_token: Option<String>,
}

/// `StatusCode` of one query's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultStatus {
    /// All its values are here.
    Complete,
    /// More of its values are on the next page.
    PartialData,
    /// CloudWatch failed to compute it.
    InternalError,
    /// The identity may not read it.
    Forbidden,
}

/// One query's values on one page.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDataResult {
    /// The query's index in the request.
    pub query: usize,
    /// Its values on this page.
    pub values: Vec<f64>,
    /// Where the period of each value starts (epoch milliseconds).
    pub timestamps: Vec<Millis>,
    /// Whether more follow.
    pub status: ResultStatus,
}

/// One page of an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDataPage {
    /// The results on this page.
    pub results: Vec<MetricDataResult>,
    /// The next page, if any.
    pub next_token: Option<String>,
}

/// Each query's value, or `None` when there is no data for it (or CloudWatch could not compute
/// it): queries grouped by range, [`QUERIES_PER_CALL`] to a call, every page read.
pub(super) async fn stats<M: MetricsApi + ?Sized>(
    metrics: &M,
    queries: &[MetricQuery],
) -> Result<Vec<Option<f64>>, CloudError> {
    let read = read(metrics, queries, None).await?;
    Ok(queries
        .iter()
        .zip(read)
        .map(|(q, points)| {
            let values: Vec<f64> = points?.into_iter().map(|(_, v)| v).collect();
            (!values.is_empty()).then(|| combine(q, &values))
        })
        .collect())
}

/// Each query's datapoints, one per `period` of its range that has data, in time order:
/// queries grouped by range, [`QUERIES_PER_CALL`] to a call, every page read. A query
/// CloudWatch could not compute has none.
pub(super) async fn series<M: MetricsApi + ?Sized>(
    metrics: &M,
    queries: &[MetricQuery],
    period: Millis,
) -> Result<Vec<Vec<(Millis, f64)>>, CloudError> {
    let read = read(metrics, queries, Some(period)).await?;
    Ok(read
        .into_iter()
        .map(|points| {
            let mut points = points.unwrap_or_default();
            points.sort_by_key(|(at, _)| *at);
            points
        })
        .collect())
}

/// Each query's datapoints, or `None` when CloudWatch could not compute it; one period spans
/// each range unless `period` says.
async fn read<M: MetricsApi + ?Sized>(
    metrics: &M,
    queries: &[MetricQuery],
    period: Option<Millis>,
) -> Result<Vec<Option<Vec<(Millis, f64)>>>, CloudError> {
    let mut points: Vec<Vec<(Millis, f64)>> = vec![Vec::new(); queries.len()];
    let mut failed = vec![false; queries.len()];
    let mut by_range: BTreeMap<(Millis, Millis), Vec<usize>> = BTreeMap::new();
    for (i, q) in queries.iter().enumerate() {
        by_range.entry((q.start, q.end)).or_default().push(i);
    }
    for ((start, end), indexes) in by_range {
        for batch in indexes.chunks(QUERIES_PER_CALL) {
            let mut request = MetricDataRequest {
                start,
                end,
                period: period.unwrap_or(Millis(end.0.saturating_sub(start.0))),
                queries: batch.iter().map(|&i| queries[i].clone()).collect(),
                next_token: None,
            };
            for page in 1.. {
                let answer = metrics.get_metric_data(&request).await?;
                for result in answer.results {
                    let Some(&i) = batch.get(result.query) else {
                        continue;
                    };
                    match result.status {
                        ResultStatus::Forbidden => {
                            return Err(CloudError::Denied(format!(
                                "GetMetricData may not read {} of {}:{}",
                                queries[i].version, queries[i].function, queries[i].alias
                            )))
                        }
                        ResultStatus::InternalError => failed[i] = true,
                        ResultStatus::Complete | ResultStatus::PartialData => {}
                    }
                    // A range read as one period has one datapoint, whatever its stamp.
                    let stamps = result
                        .timestamps
                        .iter()
                        .copied()
                        .chain(std::iter::repeat(start));
                    points[i].extend(stamps.zip(result.values));
                }
                match answer.next_token {
                    None => break,
                    Some(_) if page >= MAX_PAGES => {
                        return Err(CloudError::Transient(format!(
                            "GetMetricData still had more pages after {MAX_PAGES}"
                        )))
                    }
                    token => request.next_token = token,
                }
            }
        }
    }
    Ok(points
        .into_iter()
        .zip(failed)
        .map(|(points, failed)| (!failed).then_some(points))
        .collect())
}

/// One period covers each range; should the service split it, sums add up and the other
/// statistics keep their worst value.
fn combine(query: &MetricQuery, values: &[f64]) -> f64 {
    let counts = query.stat.counts()
        || query
            .custom
            .as_ref()
            .is_some_and(|c| matches!(query.stat, Stat::Custom(_)) && c.statistic.counts());
    match query.stat {
        _ if counts => values.iter().sum(),
        Stat::PercentileRank(_) => values.iter().copied().fold(f64::MAX, f64::min),
        _ => values.iter().copied().fold(f64::MIN, f64::max),
    }
}

//! `no new error signatures` at each look: the error lines `new` and `old` logged since the last
//! look are read from CloudWatch Logs Insights (one query each, over the same settled time), added
//! to the phase's tallies, and judged ([`crate::judge::signatures`]): a signature of `new`'s that
//! `old` did not log, seen more than N times, fails the evaluation. A query that fails leaves the
//! check inconclusive at that look (never healthy), and the next look reads that time again.

use std::collections::BTreeMap;

use super::health::{CheckResult, Settled, Verdict, Versions};
use super::Engine;
use crate::cloud::logs::{self, stream_version, LogQuery, LogRow};
use crate::cloud::{Clock, CloudError, LambdaApi, MetricsApi};
use crate::judge::signatures::{listed, new_signatures, violations, Tally};
use crate::plan::signatures::{Signatures, ROWS};
use crate::plan::{Check, Millis};

/// How many new signatures a result lists in words.
const LISTED: usize = 5;

/// What one check of one target has read in the phase.
#[derive(Debug, Default)]
pub(super) struct Read {
    /// The phase: where its counts begin, and `new`.
    since: Millis,
    new_version: String,
    /// Read up to here.
    until: Millis,
    new: Tally,
    old: Tally,
    /// Whether a query of each answered as many rows as it may: lines may be missing.
    new_cut: bool,
    old_cut: bool,
}

/// Each target's reads, by function and check.
pub(super) type Reads = BTreeMap<(String, String), Read>;

impl<L: LambdaApi, M: MetricsApi, C: Clock> Engine<'_, L, M, C> {
    /// Judges `check` of one target: reads what settled since the last look, then compares.
    pub(super) async fn judge_signatures(
        &mut self,
        check: &Check,
        signatures: &Signatures,
        versions: &Versions<'_>,
        settled: &Settled,
    ) -> CheckResult {
        let result = |verdict, detail| CheckResult {
            check: check.to_string(),
            verdict,
            detail,
            evidence: None,
            observed: false,
        };
        let key = (versions.function.to_string(), check.to_string());
        let mut read = self.progress.signatures.remove(&key).unwrap_or_default();
        if read.since != settled.since || read.new_version != versions.new {
            read = Read {
                since: settled.since,
                new_version: versions.new.to_string(),
                until: settled.since,
                ..Read::default()
            };
        }
        let outcome = self
            .read_more(signatures, versions, settled, &mut read)
            .await;
        let verdict = match outcome {
            Ok(()) => judged(check, signatures, &read),
            Err(error) => (
                Verdict::Inconclusive,
                format!("{check}: could not read the logs ({error}): not judged, never healthy"),
            ),
        };
        self.progress.signatures.insert(key, read);
        result(verdict.0, verdict.1)
    }

    /// Reads `new`'s and `old`'s error lines from where `read` ends to the settled time; both
    /// or neither are added.
    async fn read_more(
        &self,
        signatures: &Signatures,
        versions: &Versions<'_>,
        settled: &Settled,
        read: &mut Read,
    ) -> Result<(), CloudError> {
        let (start, end) = (read.until, settled.until);
        if end <= start {
            return Ok(());
        }
        let Some(api) = self.services.logs else {
            return Err(CloudError::Setup(
                "CloudWatch Logs cannot be read in this run".into(),
            ));
        };
        let pattern = regex_lite::Regex::new(&signatures.matching)
            .map_err(|e| CloudError::Setup(format!("the pattern does not compile: {e}")))?;
        let group = signatures.group_of(versions.function);
        let mut answers = Vec::new();
        for version in [versions.new, versions.old] {
            let query = LogQuery {
                log_group: group.clone(),
                query: signatures.query_of(version),
                start,
                end,
            };
            let rows = logs::run(api, self.services.clock, &query).await?;
            answers.push((
                rows.len() >= ROWS as usize,
                errors(rows, version, &pattern, start, end),
            ));
        }
        let mut answers = answers.into_iter();
        if let (Some((new_cut, new)), Some((old_cut, old))) = (answers.next(), answers.next()) {
            new.iter().for_each(|line| read.new.add(line));
            old.iter().for_each(|line| read.old.add(line));
            read.new_cut |= new_cut;
            read.old_cut |= old_cut;
        }
        read.until = end;
        Ok(())
    }
}

/// The error lines of `version` in `[start, end)`, whatever the service's own filters did (moto
/// runs none of them).
fn errors(
    rows: Vec<LogRow>,
    version: &str,
    pattern: &regex_lite::Regex,
    start: Millis,
    end: Millis,
) -> Vec<String> {
    rows.into_iter()
        .filter(|row| stream_version(&row.stream) == Some(version))
        .filter(|row| row.timestamp.is_none_or(|t| start <= t && t < end))
        .filter(|row| pattern.is_match(&row.message))
        .map(|row| row.message)
        .collect()
}

/// The verdict and its words from the tallies so far.
fn judged(check: &Check, signatures: &Signatures, read: &Read) -> (Verdict, String) {
    let found = new_signatures(&read.new, &read.old);
    let over = violations(&found, signatures.more_than);
    let cut = |yes: bool, whose: &str| {
        if yes {
            format!("; a query of {whose}'s answered its most rows ({ROWS}): some of its lines were not read")
        } else {
            String::new()
        }
    };
    let notes = format!("{}{}", cut(read.new_cut, "new"), cut(read.old_cut, "old"));
    if !over.is_empty() {
        return (
            Verdict::Fail,
            format!(
                "{check}: {} new error signature{} that old did not log over the same time: {}{notes}",
                over.len(),
                if over.len() == 1 { "" } else { "s" },
                listed(&over, LISTED)
            ),
        );
    }
    let counts = format!(
        "new logged {} error line{} of {} signature{}, old {} of {}; {} new, none seen more than {} time{}",
        read.new.lines(),
        if read.new.lines() == 1 { "" } else { "s" },
        read.new.signatures(),
        if read.new.signatures() == 1 { "" } else { "s" },
        read.old.lines(),
        read.old.signatures(),
        found.len(),
        signatures.more_than,
        if signatures.more_than == 1 { "" } else { "s" },
    );
    if read.new_cut {
        return (
            Verdict::Inconclusive,
            format!("{check}: {counts}{notes}: not judged, never healthy"),
        );
    }
    (Verdict::Pass, format!("{check}: {counts}{notes}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(at: u64, stream: &str, message: &str) -> LogRow {
        LogRow {
            timestamp: Some(Millis(at)),
            stream: stream.into(),
            message: message.into(),
        }
    }

    #[test]
    fn only_the_versions_error_lines_of_the_range_count_whatever_the_service_answered() {
        let pattern = regex_lite::Regex::new("ERROR").unwrap();
        let rows = vec![
            row(1_000, "2026/12/07/[2]a", "ERROR counted"),
            row(999, "2026/12/07/[2]a", "ERROR too early"),
            row(2_000, "2026/12/07/[2]a", "ERROR too late"),
            row(1_500, "2026/12/07/[1]a", "ERROR old's"),
            row(1_500, "2026/12/07/[22]a", "ERROR another version"),
            row(1_500, "2026/12/07/[2]a", "START RequestId: x"),
            LogRow {
                timestamp: None,
                ..row(0, "2026/12/07/[2]b", "ERROR no time: kept")
            },
        ];
        assert_eq!(
            errors(rows, "2", &pattern, Millis(1_000), Millis(2_000)),
            ["ERROR counted", "ERROR no time: kept"]
        );
    }

    #[test]
    fn a_cut_answer_of_new_never_passes_and_one_of_old_is_noted() {
        let check = Check::Signatures(Signatures::new(0, None, None));
        let Check::Signatures(signatures) = &check else {
            unreachable!()
        };
        let mut read = Read::default();
        read.new.add("ERROR timeout after 1ms");
        read.old.add("ERROR timeout after 2ms");
        assert_eq!(judged(&check, signatures, &read).0, Verdict::Pass);
        read.old_cut = true;
        let (verdict, detail) = judged(&check, signatures, &read);
        assert_eq!(verdict, Verdict::Pass);
        assert!(
            detail.contains("a query of old's answered its most rows"),
            "{detail}"
        );
        read.new_cut = true;
        let (verdict, detail) = judged(&check, signatures, &read);
        assert_eq!(verdict, Verdict::Inconclusive, "{detail}");
        // What was read still fails it.
        read.new.add("ERROR KeyError: 'cart'");
        assert_eq!(judged(&check, signatures, &read).0, Verdict::Fail);
    }
}

//! `no new error signatures`, resolved: which lines count as errors, which log group holds them,
//! and the CloudWatch Logs Insights query that reads one version's error lines. `plan` shows
//! the query; the engine runs it for `new` and for `old` over the same time.

use std::fmt;

use serde::Serialize;

/// Which lines count as errors when a check says no `matching`: the words runtimes and Lambda
/// use for them (`ERROR`, `[ERROR]`, `"level":"ERROR"`, `Traceback`, `…Exception`, `…Error`,
/// `Task timed out`).
pub const DEFAULT_MATCHING: &str = "ERROR|FATAL|Error|Exception|Traceback|Task timed out";

/// The log group when the check names none: Lambda's own, `{function}` standing for the
/// function's name.
pub const DEFAULT_GROUP: &str = "/aws/lambda/{function}";

/// The most rows one Logs Insights query returns.
pub const ROWS: u32 = 10_000;

/// `no new error signatures [seen more than N times] [matching "RE"] [in "GROUP"]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signatures {
    /// A new signature seen more than this many times fails the check (0: any).
    pub more_than: u64,
    /// Which lines count as errors: a regular expression.
    pub matching: String,
    /// The log group, `{function}` standing for the function's name.
    pub log_group: String,
    /// The Logs Insights query, `{version}` standing for the version's number.
    pub query: String,
}

impl Signatures {
    /// The check, with the defaults for what it leaves out.
    pub fn new(more_than: u64, matching: Option<String>, log_group: Option<String>) -> Self {
        let matching = matching.unwrap_or_else(|| DEFAULT_MATCHING.to_string());
        let query = format!(
            "fields @timestamp, @logStream, @message | filter @logStream like /\\[{{version}}\\]/ | filter @message like /{}/ | sort @timestamp asc | limit {ROWS}",
            slashes(&matching)
        );
        Signatures {
            more_than,
            log_group: log_group.unwrap_or_else(|| DEFAULT_GROUP.to_string()),
            matching,
            query,
        }
    }

    /// The log group of `function`.
    pub fn group_of(&self, function: &str) -> String {
        self.log_group.replace("{function}", function)
    }

    /// The query that reads `version`'s error lines. A Lambda log stream is named
    /// `YYYY/MM/DD/[VERSION]ID`.
    pub fn query_of(&self, version: &str) -> String {
        self.query.replace("{version}", version)
    }
}

/// A regular expression between the `/…/` of a Logs Insights query: each `/` escaped.
fn slashes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut escaped = false;
    for c in pattern.chars() {
        if c == '/' && !escaped {
            out.push('\\');
        }
        escaped = c == '\\' && !escaped;
        out.push(c);
    }
    out
}

impl fmt::Display for Signatures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no new error signatures")?;
        if self.more_than > 0 {
            let times = if self.more_than == 1 { "time" } else { "times" };
            write!(f, " seen more than {} {times}", self.more_than)?;
        }
        if self.matching != DEFAULT_MATCHING {
            write!(f, " matching {:?}", self.matching)?;
        }
        if self.log_group != DEFAULT_GROUP {
            write!(f, " in {:?}", self.log_group)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_reads_one_versions_stream_and_error_lines() {
        let check = Signatures::new(0, None, None);
        assert_eq!(check.to_string(), "no new error signatures");
        assert_eq!(check.group_of("checkout"), "/aws/lambda/checkout");
        assert_eq!(
            check.query_of("42"),
            "fields @timestamp, @logStream, @message | filter @logStream like /\\[42\\]/ | filter @message like /ERROR|FATAL|Error|Exception|Traceback|Task timed out/ | sort @timestamp asc | limit 10000"
        );
        let check = Signatures::new(5, Some("a/b|c\\/d".into()), Some("/custom".into()));
        assert_eq!(
            check.to_string(),
            "no new error signatures seen more than 5 times matching \"a/b|c\\\\/d\" in \"/custom\""
        );
        assert!(check.query_of("1").contains("like /a\\/b|c\\/d/"));
        assert_eq!(check.group_of("f"), "/custom");
        assert_eq!(
            Signatures::new(1, None, None).to_string(),
            "no new error signatures seen more than 1 time"
        );
    }
}

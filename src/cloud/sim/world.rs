//! The world file of `simulate --world FILE`: how far the simulated world departs from
//! stationary traffic, one knob a line, in the words of the playbook language.
//!
//! ```text
//! errors vary 100%                       # each version's error rate, minute to minute (CV)
//! shared errors vary 50%                 # a factor both versions share, minute to minute
//! outage at 5m for 3m fails 5%           # both versions fail 5% more meanwhile (repeatable)
//! traffic drifts 50% every 1h            # traffic ±50% over a cycle of an hour
//! errors follow load                     # error rates grow in proportion with the traffic
//! traffic bursts 100%                    # traffic varies minute to minute (CV)
//! cold start 2m slower 3x fails 1%       # new's first 2m of traffic
//! retries 2                              # asynchronous: each failed event retried twice
//! new fails 3% from 9m                   # a regression that starts late
//! latency shock at 4m for 2m slower 2x   # both versions (repeatable)
//! no percentile ranks                    # CloudWatch answers no PR(:D) of Duration
//! business rate 50%                      # a successful call publishes a business event
//! new business rate 40% from 5m          # new's own rate (a regression users feel)
//! no business metric                     # the function publishes none: missing data
//! cold starts 1%                         # calls that start an execution environment
//! new cold starts 3%                     # new's own share
//! init duration 250ms                    # the mean init duration of a cold start
//! new init duration 900ms                # new's own mean
//! new error signature "KeyError: 'cart'" 0.5%   # new logs this error in 0.5% of its calls
//! ```
//!
//! Times are counted from the start of the run; `#` starts a comment.

use super::conditions::{ColdStart, Conditions, Drift, LoggedError, Onset, Spell};
use crate::plan::{Millis, Percent};

/// A line of a world file that says nothing this page knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct WorldError {
    /// 1-based.
    pub line: usize,
    /// What is wrong, and what was expected.
    pub message: String,
}

/// The conditions a world file describes.
pub fn parse(text: &str) -> Result<Conditions, WorldError> {
    let mut conditions = Conditions::default();
    let mut seen: Vec<&'static str> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or_default();
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        let fail = |message: String| WorldError {
            line: i + 1,
            message,
        };
        let knob = knob(&words, &mut conditions).map_err(fail)?;
        if !matches!(knob, "outage" | "latency shock") {
            if seen.contains(&knob) {
                return Err(fail(format!("`{knob}` is given twice")));
            }
            seen.push(knob);
        }
    }
    Ok(conditions)
}

/// Reads one line into `c`; returns which knob it set.
fn knob(words: &[&str], c: &mut Conditions) -> Result<&'static str, String> {
    let mut w = Words { words, at: 0 };
    let name = match words {
        ["errors", "vary", ..] => {
            w.skip(2);
            c.errors_vary = w.share()?;
            "errors vary"
        }
        ["shared", "errors", "vary", ..] => {
            w.skip(3);
            c.shared_errors_vary = w.share()?;
            "shared errors vary"
        }
        ["outage", ..] => {
            w.skip(1);
            let (at, length) = w.spell()?;
            w.keyword("fails")?;
            let amount = w.probability()?;
            c.outages.push(Spell { at, length, amount });
            "outage"
        }
        ["traffic", "drifts", ..] => {
            w.skip(2);
            let amplitude = w.probability()?;
            w.keyword("every")?;
            let cycle = w.duration()?;
            c.drift = Some(Drift { amplitude, cycle });
            "traffic drifts"
        }
        ["errors", "follow", "load", ..] => {
            w.skip(3);
            c.errors_follow_load = true;
            "errors follow load"
        }
        ["traffic", "bursts", ..] => {
            w.skip(2);
            c.bursts = w.share()?;
            "traffic bursts"
        }
        ["cold", "start", ..] => {
            w.skip(2);
            let length = w.duration()?;
            let mut cold = ColdStart {
                length,
                slower: 1.0,
                fails: 0.0,
            };
            while let Some(word) = w.next() {
                match word {
                    "slower" => cold.slower = w.factor()?,
                    "fails" => cold.fails = w.probability()?,
                    other => return Err(format!("expected `slower Nx` or `fails P%`, not `{other}`")),
                }
            }
            c.cold_start = Some(cold);
            "cold start"
        }
        ["retries", ..] => {
            w.skip(1);
            let n = w.word("a number of retries")?;
            c.retries = n
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= 2)
                .ok_or_else(|| format!("Lambda retries a failed event 0, 1 or 2 times, not `{n}`"))?;
            "retries"
        }
        ["new", "fails", ..] => {
            w.skip(2);
            let error_rate = w.probability()?;
            w.keyword("from")?;
            let at = w.duration()?;
            c.onset = Some(Onset { at, error_rate });
            "new fails"
        }
        ["latency", "shock", ..] => {
            w.skip(2);
            let (at, length) = w.spell()?;
            w.keyword("slower")?;
            let amount = w.factor()?;
            c.latency_shocks.push(Spell { at, length, amount });
            "latency shock"
        }
        ["business", "rate", ..] => {
            w.skip(2);
            c.signals.business = w.probability()?;
            "business rate"
        }
        ["new", "business", "rate", ..] => {
            w.skip(3);
            let rate = w.probability()?;
            let from = match w.next() {
                None => Millis(0),
                Some("from") => w.duration()?,
                Some(other) => return Err(format!("expected `from D`, not `{other}`")),
            };
            c.signals.new_business = Some((rate, from));
            "new business rate"
        }
        ["no", "business", "metric", ..] => {
            w.skip(3);
            c.signals.business_published = false;
            "no business metric"
        }
        ["cold", "starts", ..] => {
            w.skip(2);
            c.signals.cold = w.probability()?;
            "cold starts"
        }
        ["new", "cold", "starts", ..] => {
            w.skip(3);
            c.signals.new_cold = Some(w.probability()?);
            "new cold starts"
        }
        ["init", "duration", ..] => {
            w.skip(2);
            c.signals.init_ms = w.duration()?.0 as f64;
            "init duration"
        }
        ["new", "init", "duration", ..] => {
            w.skip(3);
            c.signals.new_init_ms = Some(w.duration()?.0 as f64);
            "new init duration"
        }
        ["new", "error", "signature", ..] => {
            let rest = words[3..].join(" ");
            let (message, share) = rest
                .strip_prefix('"')
                .and_then(|r| r.rsplit_once('"'))
                .filter(|(m, _)| !m.is_empty())
                .ok_or_else(|| "expected the error in double quotes, such as \"KeyError: 'cart'\"".to_string())?;
            let share: Vec<&str> = share.split_whitespace().collect();
            let mut after = Words { words: &share, at: 0 };
            let share = after.probability()?;
            if let Some(extra) = after.next() {
                return Err(format!("`{extra}` is more than `new error signature` takes"));
            }
            c.new_signature = Some(LoggedError {
                message: message.to_string(),
                share,
            });
            w.skip(words.len());
            "new error signature"
        }
        ["no", "percentile", "ranks", ..] => {
            w.skip(3);
            c.no_percentile_ranks = true;
            "no percentile ranks"
        }
        _ => {
            return Err(format!(
                "`{}` is not a knob of the world; expected one of: errors vary, shared errors vary, outage, traffic drifts, errors follow load, traffic bursts, cold start, retries, new fails, latency shock, new error signature, no percentile ranks, business rate, new business rate, no business metric, cold starts, new cold starts, init duration, new init duration",
                words.join(" ")
            ))
        }
    };
    match w.next() {
        None => Ok(name),
        Some(extra) => Err(format!("`{extra}` is more than `{name}` takes")),
    }
}

/// The words of one line, read in turn.
struct Words<'a> {
    words: &'a [&'a str],
    at: usize,
}

impl<'a> Words<'a> {
    fn skip(&mut self, n: usize) {
        self.at += n;
    }

    fn next(&mut self) -> Option<&'a str> {
        let word = self.words.get(self.at).copied();
        self.at += 1;
        word
    }

    fn word(&mut self, what: &str) -> Result<&'a str, String> {
        self.next()
            .ok_or_else(|| format!("expected {what} at the end of the line"))
    }

    fn keyword(&mut self, keyword: &str) -> Result<(), String> {
        match self.next() {
            Some(word) if word == keyword => Ok(()),
            Some(word) => Err(format!("expected `{keyword}`, not `{word}`")),
            None => Err(format!("expected `{keyword}` at the end of the line")),
        }
    }

    fn duration(&mut self) -> Result<Millis, String> {
        let word = self.word("a duration such as `3m`")?;
        Millis::parse(word)
            .ok()
            .filter(|_| word.starts_with(|c: char| c.is_ascii_digit()))
            .ok_or_else(|| format!("expected a duration such as `3m`, not `{word}`"))
    }

    /// `at D for D`.
    fn spell(&mut self) -> Result<(Millis, Millis), String> {
        self.keyword("at")?;
        let word = self.word("a time such as `5m`")?;
        let at = if word == "0s" || word == "0" {
            Millis(0)
        } else {
            Millis::parse(word)
                .map_err(|_| format!("expected a time such as `5m`, not `{word}`"))?
        };
        self.keyword("for")?;
        Ok((at, self.duration()?))
    }

    /// A percentage, as a share: `100%` is 1.
    fn share(&mut self) -> Result<f64, String> {
        let word = self.word("a percentage such as `50%`")?;
        word.strip_suffix('%')
            .and_then(|n| Percent::parse(n).ok())
            .map(|p| p.as_f64() / 100.0)
            .ok_or_else(|| format!("expected a percentage such as `50%`, not `{word}`"))
    }

    /// A percentage of at most 100%, as a share.
    fn probability(&mut self) -> Result<f64, String> {
        let share = self.share()?;
        if share > 1.0 {
            return Err(format!("{}% is more than 100%", share * 100.0));
        }
        Ok(share)
    }

    /// `3x`: a factor of at least 1.
    fn factor(&mut self) -> Result<f64, String> {
        let word = self.word("a factor such as `3x`")?;
        word.strip_suffix('x')
            .and_then(|n| n.parse::<f64>().ok())
            .filter(|f| f.is_finite() && *f >= 1.0 && *f <= 100.0)
            .ok_or_else(|| format!("expected a factor from 1x to 100x such as `3x`, not `{word}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_knob_is_read() {
        let text = "# a messy world\n\
            errors vary 100%\n\
            shared errors vary 50%   # both\n\
            outage at 5m for 3m fails 5%\n\
            outage at 20m for 1m fails 50%\n\
            traffic drifts 50% every 1h\n\
            errors follow load\n\
            traffic bursts 100%\n\
            cold start 2m slower 3x fails 1%\n\
            retries 2\n\
            new fails 3% from 9m\n\
            latency shock at 0s for 2m slower 2x\n\
            no percentile ranks\n\
            new error signature \"KeyError: 'cart'\"  0.5%\n";
        let c = parse(text).expect("a valid world");
        assert_eq!(
            c.new_signature,
            Some(LoggedError {
                message: "KeyError: 'cart'".into(),
                share: 0.005
            })
        );
        assert_eq!(c.errors_vary, 1.0);
        assert_eq!(c.shared_errors_vary, 0.5);
        assert_eq!(c.outages.len(), 2);
        assert_eq!(
            c.outages[0],
            Spell {
                at: Millis::from_minutes(5),
                length: Millis::from_minutes(3),
                amount: 0.05
            }
        );
        assert_eq!(c.drift.map(|d| d.cycle), Some(Millis::from_minutes(60)));
        assert!(c.errors_follow_load);
        assert_eq!(c.bursts, 1.0);
        assert_eq!(
            c.cold_start,
            Some(ColdStart {
                length: Millis::from_minutes(2),
                slower: 3.0,
                fails: 0.01
            })
        );
        assert_eq!(c.retries, 2);
        assert_eq!(
            c.onset,
            Some(Onset {
                at: Millis::from_minutes(9),
                error_rate: 0.03
            })
        );
        assert_eq!(c.latency_shocks[0].at, Millis(0));
        assert!(c.no_percentile_ranks);
        assert!(parse("").expect("empty").is_stationary());
    }

    #[test]
    fn mistakes_name_their_line_and_what_was_expected() {
        for (text, line, says) in [
            ("errors vary 100%\nerrors vary 50%", 2, "given twice"),
            ("outage at 5m fails 5%", 1, "expected `for`"),
            ("outage at 5m for 3m fails 150%", 1, "more than 100%"),
            ("retries 5", 1, "0, 1 or 2"),
            ("\n\ncold start 2m faster 2x", 3, "expected `slower Nx`"),
            ("sunshine", 1, "not a knob"),
            ("errors follow load always", 1, "more than"),
            ("latency shock at 1m for 1m slower 0.5x", 1, "from 1x"),
            ("new error signature KeyError 1%", 1, "in double quotes"),
            ("new error signature \"x\"", 1, "a percentage"),
            ("new error signature \"x\" 1% twice", 1, "more than"),
        ] {
            let error = parse(text).expect_err(text);
            assert_eq!(error.line, line, "{text}");
            assert!(error.message.contains(says), "{text}: {}", error.message);
        }
    }
}

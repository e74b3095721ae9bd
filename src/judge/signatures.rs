//! New error signatures: what `no new error signatures` judges, pure. A logged error line becomes
//! its *signature*, the line with what changes from one occurrence to the next taken out
//! (numbers, hex, ids, timestamps, quoted values that are not names), so that the same error
//! logged twice has one signature. The engine tallies the signatures `new` and `old` logged over
//! the same time; the signatures of `new` that `old` does not have are new, and each seen more
//! often than the check allows fails it, listed with a sample line.

use std::collections::BTreeMap;

use serde::Serialize;

/// Only so many bytes of a line are read: a line of megabytes costs no more than this.
pub const LONGEST_LINE: usize = 8_192;

/// A signature is cut to so many bytes (at a character boundary).
pub const LONGEST_SIGNATURE: usize = 240;

/// A sample line is cut to so many characters.
pub const LONGEST_SAMPLE: usize = 300;

/// What stands for a number, a hex string or any run of digits in a word.
const NUMBER: &str = "<n>";

/// What stands for a UUID (a request id).
const ID: &str = "<id>";

/// What stands for a quoted value that is not a name.
const VALUE: &str = "<v>";

/// The signature of one logged line.
pub fn signature(line: &str) -> String {
    let line = prefix(line, LONGEST_LINE);
    let text = json_error(line).unwrap_or_else(|| line.to_string());
    let normalised = normalise(&text);
    let kept: Vec<&str> = normalised
        .split_whitespace()
        .filter(|token| !noise(token))
        .collect();
    let joined = kept.join(" ");
    prefix(&joined, LONGEST_SIGNATURE).to_string()
}

/// At most `bytes` bytes of `text`, cut at a character boundary.
fn prefix(text: &str, bytes: usize) -> &str {
    if text.len() <= bytes {
        return text;
    }
    let mut end = bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The error of a JSON line (Lambda's JSON log format, or a runtime's error object after a text
/// prefix): its `errorType`, `errorMessage`, `message` (or the error inside it) and `msg`.
fn json_error(line: &str) -> Option<String> {
    let object: serde_json::Value = serde_json::from_str(line[line.find('{')?..].trim()).ok()?;
    let object = object.as_object()?;
    let mut parts: Vec<String> = Vec::new();
    let mut take = |value: Option<&serde_json::Value>| match value {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => parts.push(s.clone()),
        Some(serde_json::Value::Object(inner)) => {
            for key in ["errorType", "errorMessage"] {
                if let Some(serde_json::Value::String(s)) = inner.get(key) {
                    parts.push(s.clone());
                }
            }
        }
        _ => {}
    };
    for key in ["errorType", "errorMessage", "message", "msg"] {
        take(object.get(key));
    }
    (!parts.is_empty()).then(|| parts.join(": "))
}

/// `text` with numbers, hex, UUIDs and quoted values that are not names replaced, and every run
/// of white space one space.
fn normalise(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let starts_word = i == 0 || !chars[i - 1].is_ascii_alphanumeric();
        if starts_word && uuid_at(&chars[i..]) {
            out.push_str(ID);
            i += 36;
        } else if c.is_ascii_alphanumeric() {
            let end = (i..chars.len())
                .find(|&j| !chars[j].is_ascii_alphanumeric())
                .unwrap_or(chars.len());
            word(&chars[i..end], &mut out);
            i = end;
        } else if (c == '\'' || c == '"') && starts_word {
            match quoted(&chars[i..]) {
                Some((inner, len)) => {
                    out.push(c);
                    if name_like(&inner) {
                        out.push_str(&inner);
                    } else {
                        out.push_str(VALUE);
                    }
                    out.push(c);
                    i += len;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else if c.is_whitespace() || c.is_control() {
            if !out.ends_with(' ') {
                out.push(' ');
            }
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Whether a UUID (8-4-4-4-12 hex digits) starts here and no word goes on after it.
fn uuid_at(chars: &[char]) -> bool {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    let mut at = 0;
    for (k, len) in GROUPS.iter().enumerate() {
        if chars.len() < at + len || !chars[at..at + len].iter().all(char::is_ascii_hexdigit) {
            return false;
        }
        at += len;
        if k < 4 {
            if chars.get(at) != Some(&'-') {
                return false;
            }
            at += 1;
        }
    }
    chars.get(at).is_none_or(|c| !c.is_ascii_alphanumeric())
}

/// One word of letters and digits: a number or a hex string (`42`, `0x1f`, `9f86d081`) is
/// [`NUMBER`]; else each run of digits in it is (`3000ms` is `<n>ms`).
fn word(chars: &[char], out: &mut String) {
    let hex = chars.iter().all(char::is_ascii_hexdigit) && chars.iter().any(char::is_ascii_digit);
    let prefixed = chars.len() > 2
        && chars[0] == '0'
        && matches!(chars[1], 'x' | 'X')
        && chars[2..].iter().all(char::is_ascii_hexdigit);
    if hex || prefixed {
        out.push_str(NUMBER);
        return;
    }
    let mut digits = false;
    for &c in chars {
        if c.is_ascii_digit() {
            if !digits {
                out.push_str(NUMBER);
            }
            digits = true;
        } else {
            out.push(c);
            digits = false;
        }
    }
}

/// The text between the quote that starts `chars` and the same quote closing it on the same
/// line, within 120 characters, and how many characters the whole takes.
fn quoted(chars: &[char]) -> Option<(String, usize)> {
    let quote = chars[0];
    let close = chars
        .iter()
        .skip(1)
        .take(120)
        .position(|&c| c == quote || c == '\n')?
        + 1;
    (chars[close] == quote).then(|| (chars[1..close].iter().collect(), close + 1))
}

/// Whether a quoted value is a name (a key, a field, a type), which the signature keeps, rather
/// than data: letters, `_`, `.` and `-` only, at most 40 of them.
fn name_like(text: &str) -> bool {
    !text.is_empty()
        && text.chars().count() <= 40
        && text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && text
            .chars()
            .all(|c| c.is_ascii_alphabetic() || matches!(c, '_' | '.' | '-'))
}

/// Whether a token says nothing of the error: an id, or a time (three numbers or more with
/// `-`, `:`, `.`, `T`, `Z`, `+`, `,` only, a `:` among them).
fn noise(token: &str) -> bool {
    if token == ID {
        return true;
    }
    let rest = token.replace(NUMBER, "");
    token.matches(NUMBER).count() >= 3
        && rest.contains(':')
        && rest
            .chars()
            .all(|c| matches!(c, '-' | ':' | '.' | 'T' | 'Z' | '+' | ','))
}

/// How often a signature was seen, with its first line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Seen {
    /// Lines with this signature.
    pub count: u64,
    /// The first of them, cut to [`LONGEST_SAMPLE`] characters, control characters as spaces.
    pub sample: String,
}

/// The signatures of one version's error lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    by_signature: BTreeMap<String, Seen>,
    lines: u64,
}

impl Tally {
    /// Counts one error line.
    pub fn add(&mut self, line: &str) {
        self.lines += 1;
        let seen = self
            .by_signature
            .entry(signature(line))
            .or_insert_with(|| Seen {
                count: 0,
                sample: sample(line),
            });
        seen.count += 1;
    }

    /// Error lines counted.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Distinct signatures counted.
    pub fn signatures(&self) -> usize {
        self.by_signature.len()
    }
}

/// A line as a sample: its first [`LONGEST_SAMPLE`] characters, control characters (tabs,
/// newlines, escapes) as spaces.
fn sample(line: &str) -> String {
    line.trim()
        .chars()
        .take(LONGEST_SAMPLE)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A signature `new` logged that `old` did not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewSignature {
    /// The signature.
    pub signature: String,
    /// How many of `new`'s lines have it.
    pub count: u64,
    /// The first of them.
    pub sample: String,
}

/// The signatures of `new` that `old` does not have, the most frequent first.
pub fn new_signatures(new: &Tally, old: &Tally) -> Vec<NewSignature> {
    let mut found: Vec<NewSignature> = new
        .by_signature
        .iter()
        .filter(|(signature, _)| !old.by_signature.contains_key(*signature))
        .map(|(signature, seen)| NewSignature {
            signature: signature.clone(),
            count: seen.count,
            sample: seen.sample.clone(),
        })
        .collect();
    found.sort_by(|a, b| b.count.cmp(&a.count).then(a.signature.cmp(&b.signature)));
    found
}

/// The new signatures seen more than `more_than` times, which fail the check.
pub fn violations(found: &[NewSignature], more_than: u64) -> Vec<&NewSignature> {
    found.iter().filter(|s| s.count > more_than).collect()
}

/// New signatures in words, at most `shown` of them: `12× \`KeyError: 'cart' id=<n>\` (e.g.
/// "[ERROR] … KeyError: 'cart' id=1234")`.
pub fn listed(found: &[&NewSignature], shown: usize) -> String {
    let mut words: Vec<String> = found
        .iter()
        .take(shown)
        .map(|s| format!("{}× `{}` (e.g. {:?})", s.count, s.signature, s.sample))
        .collect();
    if found.len() > shown {
        words.push(format!("and {} more", found.len() - shown));
    }
    words.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(lines: &[&str]) -> Tally {
        let mut t = Tally::default();
        for line in lines {
            t.add(line);
        }
        t
    }

    #[test]
    fn numbers_ids_hex_and_timestamps_are_taken_out() {
        let a = "2026-12-07T10:00:01.123Z\t6f1c2a7e-0b7d-4c1e-9d55-2f4b8a1e3c9d\tERROR\ttimeout after 3000ms calling 10.0.3.7 (0x7ffd5e8c)";
        let b = "2026-12-07T11:59:59.999Z\tabcdefab-cdef-abcd-efab-cdefabcdefab\tERROR\ttimeout after 12ms calling 10.0.9.250 (0xdead)";
        assert_eq!(signature(a), signature(b));
        assert_eq!(
            signature(a),
            "ERROR timeout after <n>ms calling <n>.<n>.<n>.<n> (<n>)"
        );
        assert_eq!(
            signature("ERROR KeyError: 'cart' id=1234"),
            "ERROR KeyError: 'cart' id=<n>"
        );
        assert_eq!(
            signature("ERROR KeyError: 'cart' id=98"),
            signature("ERROR KeyError: 'cart' id=1234")
        );
        assert_eq!(signature("sha 9f86d081884c7d65 failed"), "sha <n> failed");
    }

    #[test]
    fn names_in_quotes_are_kept_and_data_in_quotes_is_not() {
        assert_ne!(
            signature("KeyError: 'cart'"),
            signature("KeyError: 'basket'")
        );
        assert_eq!(
            signature("user \"alice@example.com\" not found"),
            signature("user \"bob@example.org\" not found")
        );
        assert_eq!(signature("can't reach 'db 7' now"), "can't reach '<v>' now");
    }

    #[test]
    fn json_lines_are_judged_by_their_error_not_their_timestamps() {
        let a = r#"{"timestamp":"2026-12-07T10:00:00Z","level":"ERROR","message":"boom 42","requestId":"6f1c2a7e-0b7d-4c1e-9d55-2f4b8a1e3c9d","errorType":"ValueError","errorMessage":"bad 42"}"#;
        let b = r#"{"timestamp":"2026-12-07T10:05:00Z","level":"ERROR","message":"boom 7","requestId":"aaaaaaaa-0b7d-4c1e-9d55-2f4b8a1e3c9d","errorType":"ValueError","errorMessage":"bad 7"}"#;
        assert_eq!(signature(a), signature(b));
        assert_eq!(signature(a), "ValueError: bad <n>: boom <n>");
        let node = "2026-12-07T10:00:00.000Z\t6f1c2a7e-0b7d-4c1e-9d55-2f4b8a1e3c9d\tERROR\tInvoke Error \t{\"errorType\":\"TypeError\",\"errorMessage\":\"x is undefined\",\"stack\":[\"at 1\"]}";
        assert_eq!(signature(node), "TypeError: x is undefined");
        let nested =
            r#"{"level":"ERROR","message":{"errorType":"KeyError","errorMessage":"'cart'"}}"#;
        assert_eq!(signature(nested), "KeyError: 'cart'");
        // Not JSON after all: the text.
        assert_eq!(signature("ERROR {not json 12"), "ERROR {not json <n>");
    }

    #[test]
    fn hostile_lines_cost_little_and_never_panic() {
        let long = format!("ERROR {}", "x1".repeat(1_000_000));
        let s = signature(&long);
        assert!(s.chars().count() <= LONGEST_SIGNATURE, "{}", s.len());
        let unicode = "ERROR ошибка 42 — ключ «корзина» 🛒 ".repeat(2_000);
        let s = signature(&unicode);
        assert!(s.starts_with("ERROR ошибка <n> — ключ «корзина» 🛒"), "{s}");
        assert!(s.chars().count() <= LONGEST_SIGNATURE);
        // A cut in the middle of a multi-byte character is moved to its start.
        let mut t = Tally::default();
        t.add(&"é".repeat(LONGEST_LINE));
        t.add("\u{0}\u{1b}[31mERROR\u{1b}[0m\r\n");
        t.add("");
        t.add("\"unterminated 'quote");
        t.add(&"{".repeat(10_000));
        assert_eq!(t.lines(), 5);
        let samples: Vec<&Seen> = t.by_signature.values().collect();
        assert!(samples
            .iter()
            .all(|s| s.sample.chars().count() <= LONGEST_SAMPLE
                && !s.sample.contains(|c: char| c.is_control())));
    }

    #[test]
    fn new_signatures_are_those_old_lacks_counted_with_a_sample() {
        let old = tally(&[
            "ERROR timeout after 3000ms",
            "ERROR timeout after 2999ms",
            "ERROR db pool exhausted",
        ]);
        let new = tally(&[
            "ERROR timeout after 3001ms",
            "ERROR KeyError: 'cart' id=1234",
            "ERROR KeyError: 'cart' id=77",
            "ERROR KeyError: 'cart' id=5",
            "ERROR NoneType has no attribute 'total'",
        ]);
        let found = new_signatures(&new, &old);
        assert_eq!(
            found,
            vec![
                NewSignature {
                    signature: "ERROR KeyError: 'cart' id=<n>".into(),
                    count: 3,
                    sample: "ERROR KeyError: 'cart' id=1234".into(),
                },
                NewSignature {
                    signature: "ERROR NoneType has no attribute 'total'".into(),
                    count: 1,
                    sample: "ERROR NoneType has no attribute 'total'".into(),
                },
            ]
        );
        assert_eq!(violations(&found, 0).len(), 2);
        assert_eq!(violations(&found, 2).len(), 1);
        assert!(violations(&found, 3).is_empty());
        assert_eq!(
            listed(&violations(&found, 0), 1),
            "3× `ERROR KeyError: 'cart' id=<n>` (e.g. \"ERROR KeyError: 'cart' id=1234\"); and 1 more"
        );
        // The same signatures in both: nothing new.
        assert!(new_signatures(&tally(&["ERROR timeout after 1ms"]), &old).is_empty());
        assert!(new_signatures(&Tally::default(), &old).is_empty());
    }
}

//! The wire: JSON-RPC messages framed by `Content-Length` headers, read from stdin on a thread
//! of their own and written to stdout. Everything an editor (or anything else) sends is
//! bounded: a header line, the number of header lines, a message's length. A message that cannot
//! be read is answered with a JSON-RPC error and the next one is read; the server never
//! allocates what a header claims before checking it, and ends when stdin does.

use std::io::{BufRead, Read, Write};
use std::sync::mpsc::SyncSender;

use lsp_server::Message;
use serde_json::{json, Value};

/// The longest message read: a document of the largest size `rollout` reads
/// ([`crate::input::MAX_TEXT_BYTES`]), with room for JSON's escapes.
pub(super) const MAX_MESSAGE: u64 = 8 * crate::input::MAX_TEXT_BYTES;

/// The longest header line.
const MAX_HEADER_LINE: usize = 8 * 1024;

/// The most header lines of one message (the protocol defines two).
const MAX_HEADERS: usize = 32;

/// JSON-RPC: the text is not JSON.
pub(super) const PARSE_ERROR: i32 = -32700;

/// JSON-RPC: JSON, but not a request, a response or a notification (or over the limit).
pub(super) const INVALID_REQUEST: i32 = -32600;

/// What the reader hands the server.
#[derive(Debug)]
pub(super) enum Incoming {
    /// A message.
    Message(Message),
    /// Something that could not be read as one: answered with this error, id `null`.
    Invalid {
        /// The JSON-RPC error code.
        code: i32,
        /// Why.
        message: String,
    },
}

/// Reads messages from `input` into `sender` until `input` ends (or the server stops
/// listening). The channel is bounded, so a flood waits instead of filling memory.
pub(super) fn read_all(mut input: impl BufRead, sender: SyncSender<Incoming>) {
    while let Some(incoming) = read(&mut input) {
        if sender.send(incoming).is_err() {
            return;
        }
    }
}

/// The next message, or `None` when the input has ended.
fn read(input: &mut impl BufRead) -> Option<Incoming> {
    let mut length: Option<u64> = None;
    let mut problem: Option<String> = None;
    let mut lines = 0;
    loop {
        let line = line(input)?;
        let Some(line) = line else {
            lines += 1;
            problem.get_or_insert(format!("a header line longer than {MAX_HEADER_LINE} bytes"));
            continue;
        };
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            if lines == 0 {
                // Blank lines between messages are harmless.
                continue;
            }
            break;
        }
        lines += 1;
        if lines > MAX_HEADERS {
            problem.get_or_insert(format!("more than {MAX_HEADERS} header lines"));
            continue;
        }
        match line.split_once(':') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("content-length") => {
                match value.trim().parse::<u64>() {
                    Ok(n) => length = Some(n),
                    Err(_) => {
                        problem.get_or_insert(format!(
                            "Content-Length `{}` is not a length",
                            value.trim()
                        ));
                    }
                }
            }
            Some(_) => {}
            None => {
                problem.get_or_insert(format!("`{}` is not a header", excerpt(line)));
            }
        }
    }
    let invalid = |code, message| Some(Incoming::Invalid { code, message });
    let Some(length) = length else {
        // Without a length the body cannot be told from the next headers: they are read as
        // headers, and rejected, until a message is whole again.
        return invalid(
            PARSE_ERROR,
            problem.unwrap_or_else(|| "a message without Content-Length".to_string()),
        );
    };
    if length > MAX_MESSAGE {
        // Skipped without being held: `Content-Length: 18446744073709551615` reads to the end.
        std::io::copy(&mut input.take(length), &mut std::io::sink()).ok()?;
        return invalid(
            INVALID_REQUEST,
            format!(
                "a message of {length} bytes is longer than the {} rollout lsp reads",
                crate::input::size(MAX_MESSAGE)
            ),
        );
    }
    let mut body = Vec::new();
    input.take(length).read_to_end(&mut body).ok()?;
    if (body.len() as u64) < length {
        return None;
    }
    if let Some(problem) = problem {
        return invalid(PARSE_ERROR, problem);
    }
    let value: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(e) => return invalid(PARSE_ERROR, format!("the message is not JSON: {e}")),
    };
    match serde_json::from_value::<Message>(value) {
        Ok(message) => Some(Incoming::Message(message)),
        Err(e) => invalid(
            INVALID_REQUEST,
            format!("not a JSON-RPC request, response or notification: {e}"),
        ),
    }
}

/// One line of at most [`MAX_HEADER_LINE`] bytes: `Some(None)` for a longer one (skipped to its
/// end), `None` at the end of the input.
fn line(input: &mut impl BufRead) -> Option<Option<String>> {
    let mut bytes = Vec::new();
    let read = input
        .take(MAX_HEADER_LINE as u64)
        .read_until(b'\n', &mut bytes)
        .ok()?;
    if read == 0 {
        return None;
    }
    if bytes.ends_with(b"\n") || bytes.len() < MAX_HEADER_LINE {
        return Some(Some(String::from_utf8_lossy(&bytes).into_owned()));
    }
    // Too long: skip the rest of it, a bounded piece at a time.
    loop {
        let mut rest = Vec::new();
        let read = input
            .take(MAX_HEADER_LINE as u64)
            .read_until(b'\n', &mut rest)
            .ok()?;
        if read == 0 || rest.ends_with(b"\n") {
            return Some(None);
        }
    }
}

fn excerpt(line: &str) -> String {
    line.chars().take(40).collect()
}

/// Writes `message` with its header; false once the output is gone.
pub(super) fn write(output: &mut impl Write, message: &Message) -> bool {
    let mut value = serde_json::to_value(message).unwrap_or(Value::Null);
    if let Value::Object(object) = &mut value {
        object.insert("jsonrpc".into(), json!("2.0"));
    }
    write_value(output, &value)
}

/// Writes the error answer to a message that could not be read (its id unknown: `null`).
pub(super) fn write_error(output: &mut impl Write, code: i32, message: &str) -> bool {
    let value = json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": { "code": code, "message": message },
    });
    write_value(output, &value)
}

fn write_value(output: &mut impl Write, value: &Value) -> bool {
    let body = value.to_string();
    write!(output, "Content-Length: {}\r\n\r\n{body}", body.len()).is_ok() && output.flush().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8]) -> Vec<Incoming> {
        let (sender, receiver) = std::sync::mpsc::sync_channel(64);
        read_all(std::io::BufReader::new(input), sender);
        receiver.into_iter().collect()
    }

    fn framed(body: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    }

    #[test]
    fn broken_messages_are_answered_and_the_next_one_read() {
        let good = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
        let input = [
            framed("{not json"),
            "Content-Length: 18446744073709551615\r\n\r\n".to_string(),
        ]
        .concat();
        let read = all(input.as_bytes());
        assert!(
            matches!(&read[..], [Incoming::Invalid { code: PARSE_ERROR, .. }, Incoming::Invalid { code: INVALID_REQUEST, message }] if message.contains("longer than")),
            "{read:?}"
        );
        let input = [
            framed(r#"{"valid": "json, no method"}"#),
            "Content-Length: twelve\r\n\r\n".to_string(),
            framed(good),
            format!("X-{}: y\r\n\r\n", "a".repeat(20_000)),
            framed(good),
        ]
        .concat();
        let read = all(input.as_bytes());
        let kinds: Vec<String> = read
            .iter()
            .map(|r| match r {
                Incoming::Message(_) => "message".to_string(),
                Incoming::Invalid { code, .. } => code.to_string(),
            })
            .collect();
        assert_eq!(kinds[0], "-32600", "{read:?}");
        assert_eq!(kinds[1], "-32700", "{read:?}");
        assert!(
            kinds.iter().filter(|k| *k == "message").count() >= 1,
            "{read:?}"
        );
        assert_eq!(
            kinds.last().map(String::as_str),
            Some("message"),
            "{read:?}"
        );
    }
}

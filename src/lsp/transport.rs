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
    let mut found = None;
    loop {
        let Some((incoming, too_long)) = read(&mut input, found) else {
            return;
        };
        if sender.send(incoming).is_err() {
            return;
        }
        // The body of a message too long to read is not waited for: it is skipped up to the
        // next header, so that the answer comes at once and the server goes on, whatever the
        // length claimed (`Content-Length: 18446744073709551615` included).
        found = None;
        if too_long {
            match next_header(&mut input) {
                Some(length) => found = Some(length),
                None => return,
            }
        }
    }
}

/// The next message, or `None` when the input has ended; and whether it was too long to read,
/// its body left unread. `found` is the length of a `Content-Length` header already read.
fn read(input: &mut impl BufRead, found: Option<u64>) -> Option<(Incoming, bool)> {
    let mut length: Option<u64> = found;
    let mut problem: Option<String> = None;
    let mut lines = usize::from(found.is_some());
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
                let value = value.trim();
                match value.parse::<u64>() {
                    Ok(n) => length = Some(n),
                    // Digits past `u64`: a length like any other too long to read.
                    Err(_) if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                        length = Some(u64::MAX);
                    }
                    Err(_) => {
                        problem.get_or_insert(format!("Content-Length `{value}` is not a length"));
                    }
                }
            }
            Some(_) => {}
            None => {
                problem.get_or_insert(format!("`{}` is not a header", excerpt(line)));
            }
        }
    }
    let invalid = |code, message| Some((Incoming::Invalid { code, message }, false));
    let Some(length) = length else {
        // Without a length the body cannot be told from the next headers: they are read as
        // headers, and rejected, until a message is whole again.
        return invalid(
            PARSE_ERROR,
            problem.unwrap_or_else(|| "a message without Content-Length".to_string()),
        );
    };
    if length > MAX_MESSAGE {
        // Answered before its body is read; [`read_all`] then skips the body.
        let message = format!(
            "a message of {length} bytes is longer than the {} rollout lsp reads",
            crate::input::size(MAX_MESSAGE)
        );
        return Some((
            Incoming::Invalid {
                code: INVALID_REQUEST,
                message,
            },
            true,
        ));
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
        Ok(message) => Some((Incoming::Message(message), false)),
        Err(e) => invalid(
            INVALID_REQUEST,
            format!("not a JSON-RPC request, response or notification: {e}"),
        ),
    }
}

/// Skips `input` up to and through the next `Content-Length: N` header line, a bounded piece
/// at a time; `N`, or `None` at the end of the input (a length past `u64` counts as the
/// largest). JSON holds no raw line end inside a string and no bare word outside one, so the
/// body of a message never holds such a line: the one found starts the next message.
fn next_header(input: &mut impl BufRead) -> Option<u64> {
    const NAME: &[u8] = b"content-length:";
    /// How much of a header line is matched so far.
    #[derive(Clone, Copy)]
    enum At {
        /// This many bytes of [`NAME`].
        Name(usize),
        /// The blanks after the name.
        Blank,
        /// Digits, and the length they make so far.
        Digits(u64),
        /// A carriage return after the digits.
        Return(u64),
    }
    let restart = |byte: u8| At::Name(usize::from(byte.eq_ignore_ascii_case(&NAME[0])));
    let mut at = At::Name(0);
    loop {
        let buffer = input.fill_buf().ok()?;
        if buffer.is_empty() {
            return None;
        }
        let mut used = 0;
        let mut length = None;
        for &byte in buffer {
            used += 1;
            at = match at {
                At::Name(n) if byte.eq_ignore_ascii_case(&NAME[n]) => {
                    if n + 1 == NAME.len() {
                        At::Blank
                    } else {
                        At::Name(n + 1)
                    }
                }
                At::Blank if byte == b' ' || byte == b'\t' => At::Blank,
                At::Blank | At::Digits(_) if byte.is_ascii_digit() => {
                    let so_far = match at {
                        At::Digits(so_far) => so_far,
                        _ => 0,
                    };
                    At::Digits(
                        so_far
                            .saturating_mul(10)
                            .saturating_add(u64::from(byte - b'0')),
                    )
                }
                At::Digits(n) if byte == b'\r' => At::Return(n),
                At::Digits(n) | At::Return(n) if byte == b'\n' => {
                    length = Some(n);
                    break;
                }
                _ => restart(byte),
            };
        }
        input.consume(used);
        if length.is_some() {
            return length;
        }
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
    fn a_message_too_long_is_answered_without_its_body_and_the_next_one_read() {
        let good = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
        // A body cut short, holding the words of a header inside a string (escaped, as JSON
        // must): not taken for the next message.
        let cut = r#"{"jsonrpc":"2.0","params":{"text":"Content-Length: 3\r\n\r\nabc"#;
        for length in [
            "2400000000",
            "18446744073709551615",
            "99999999999999999999999",
        ] {
            let input = [
                format!("Content-Length: {length}\r\n\r\n{cut}"),
                framed(good),
            ]
            .concat();
            let read = all(input.as_bytes());
            assert!(
                matches!(&read[..], [Incoming::Invalid { code: INVALID_REQUEST, message }, Incoming::Message(_)] if message.contains("longer than")),
                "{length}: {read:?}"
            );
        }
        // Other headers before the length, and a lower-case name, are read as usual.
        let input = [
            "Content-Length: 40000000\r\n\r\n{}".to_string(),
            format!(
                "Content-Type: application/vscode-jsonrpc\r\ncontent-length: {}\r\n\r\n{good}",
                good.len()
            ),
        ]
        .concat();
        let read = all(input.as_bytes());
        assert!(
            matches!(&read[..], [Incoming::Invalid { .. }, Incoming::Message(_)]),
            "{read:?}"
        );
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

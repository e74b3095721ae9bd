//! `rollout lsp` against an editor that misbehaves: absurd lengths, broken JSON and headers,
//! `exit` without `shutdown`, a closed stdin, a document that is not a file, a document with
//! errors, CRLF line ends, documents that are too large, multiply or import a device. It answers
//! what it can, refuses what it must, stays within a memory limit (`prlimit --as`) and a time
//! limit (`timeout`: a server that hangs is killed, and the test reading its answer fails), and
//! ends when it should.

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::lsp::Editor;

/// Memory the server runs under here: far below what the lengths below claim.
const LIMIT: &str = "--as=1073741824";

/// Seconds the server may live, a test's whole session included.
const TIME_LIMIT: &str = "60";

fn limited() -> Editor {
    let mut command = Command::new("timeout");
    command.args([
        TIME_LIMIT,
        "prlimit",
        LIMIT,
        "--",
        env!("CARGO_BIN_EXE_rollout"),
        "lsp",
    ]);
    let mut editor = Editor::start_as(command);
    editor.request(
        "initialize",
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    );
    editor.notify("initialized", json!({}));
    editor
}

/// The exit code once the server ends, within ten seconds.
fn ends(editor: &mut Editor) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = editor.child.try_wait().unwrap() {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = editor.child.kill();
            panic!("rollout lsp did not end");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn raw(editor: &mut Editor, bytes: &[u8]) {
    editor.input.write_all(bytes).unwrap();
    editor.input.flush().unwrap();
}

/// A request answered by the server still running.
fn still_answers(editor: &mut Editor) {
    let answer = editor.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": "file:///nowhere.rollout"}, "position": {"line": 0, "character": 0}}),
    );
    assert_eq!(answer, Value::Null);
}

#[test]
fn broken_messages_get_errors_and_the_server_goes_on() {
    let mut editor = limited();
    raw(&mut editor, b"Content-Length: 9\r\n\r\n{not json");
    let error = editor.receive();
    assert_eq!(error["id"], Value::Null, "{error}");
    assert_eq!(error["error"]["code"], -32700, "{error}");
    raw(&mut editor, b"Content-Length: nine\r\n\r\n");
    assert_eq!(editor.receive()["error"]["code"], -32700);
    let body = r#"{"jsonrpc":"2.0","result":"not a request"}"#;
    raw(
        &mut editor,
        format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes(),
    );
    assert_eq!(editor.receive()["error"]["code"], -32600);
    // 40 MB claimed and sent: skipped without being held, and said so.
    let big = 40 * 1024 * 1024;
    raw(
        &mut editor,
        format!("Content-Length: {big}\r\n\r\n").as_bytes(),
    );
    let chunk = vec![b' '; 1024 * 1024];
    for _ in 0..40 {
        raw(&mut editor, &chunk);
    }
    let error = editor.receive();
    assert_eq!(error["error"]["code"], -32600, "{error}");
    assert!(error["error"]["message"]
        .as_str()
        .unwrap()
        .contains("longer than"));
    still_answers(&mut editor);
    assert_eq!(editor.request("shutdown", Value::Null), Value::Null);
    editor.notify("exit", Value::Null);
    assert_eq!(ends(&mut editor), Some(0));
}

#[test]
fn absurd_lengths_are_never_allocated_answered_at_once_and_the_server_goes_on() {
    for length in ["2400000000", "18446744073709551615"] {
        let mut editor = limited();
        raw(
            &mut editor,
            format!("Content-Length: {length}\r\n\r\n{{}}").as_bytes(),
        );
        // Answered before any body arrives, as JSON-RPC's Invalid Request.
        let error = editor.receive();
        assert_eq!(error["id"], Value::Null, "{length}: {error}");
        assert_eq!(error["error"]["code"], -32600, "{length}: {error}");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&format!("a message of {length} bytes is longer than")),
            "{error}"
        );
        // What follows the claim is not taken for its body: the next request is answered.
        still_answers(&mut editor);
        // The editor goes away: the server ends, without a crash.
        drop(std::mem::replace(&mut editor.input, take_stdin()));
        assert_eq!(ends(&mut editor), Some(1), "{length}");
    }
}

/// Opens `text` as the document `uri`; its diagnostics.
fn open(editor: &mut Editor, uri: &str, text: &str) -> Vec<Value> {
    editor.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "rollout", "version": 1, "text": text}}),
    );
    editor.diagnostics(uri)
}

fn has(diagnostics: &[Value], code: &str, text: &str) -> bool {
    diagnostics
        .iter()
        .any(|d| d["code"] == code && d["message"].as_str().unwrap().contains(text))
}

#[test]
fn step_definitions_that_multiply_are_bounded_in_the_editor_too() {
    let mut editor = limited();
    // 2^40 steps if expanded, as in `limits.rs`.
    let defs: String = (0..40)
        .map(|i| format!("step s{i}() {{ s{}(); s{}() }}\n", i + 1, i + 1))
        .collect();
    let text = format!("function \"f\"\nalias \"live\"\n{defs}step s40() {{ wait 1m }}\npublish\nshift 5% to new\ns0()\npromote\n");
    let uri = "untitled:multiply.rollout";
    let started = Instant::now();
    let diagnostics = open(&mut editor, uri, &text);
    assert!(
        has(
            &diagnostics,
            "rollout::too-large",
            "expand to more than 100000 steps"
        ),
        "{diagnostics:?}"
    );
    // Each keystroke checks it again: every check is as bounded as the first.
    for version in 2..5 {
        editor.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}),
        );
        let again = editor.diagnostics(uri);
        assert!(
            has(&again, "rollout::too-large", "100000 steps"),
            "{again:?}"
        );
    }
    still_answers(&mut editor);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    editor.request("shutdown", Value::Null);
    editor.notify("exit", Value::Null);
    assert_eq!(ends(&mut editor), Some(0));
}

#[test]
fn an_import_of_a_device_is_a_diagnostic_and_nothing_is_read_from_it() {
    let mut editor = limited();
    let dir = crate::test::temp_dir();
    let file = dir.join("p.rollout");
    let text = "import \"/dev/zero\"\nimport \"/dev/urandom\"\nfunction \"f\"\nalias \"live\"\npublish\nshift 5% to new\nwait 10m until healthy\npromote\n";
    std::fs::write(&file, text).unwrap();
    let uri = format!("file://{}", file.display());
    let diagnostics = open(&mut editor, &uri, text);
    for device in ["/dev/zero", "/dev/urandom"] {
        assert!(
            has(
                &diagnostics,
                "rollout::io",
                &format!("cannot read {device}: it is a device")
            ),
            "{device}: {diagnostics:?}"
        );
    }
    // Completion, hover and definition read the imports too.
    let at = json!({"textDocument": {"uri": uri}, "position": {"line": 6, "character": 0}});
    editor.request("textDocument/completion", at.clone());
    editor.request("textDocument/hover", at.clone());
    let definition = editor.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 10}}),
    );
    assert_eq!(definition, Value::Null);
    still_answers(&mut editor);
    editor.request("shutdown", Value::Null);
    editor.notify("exit", Value::Null);
    assert_eq!(ends(&mut editor), Some(0));
}

#[test]
fn a_document_over_the_limit_is_one_diagnostic_and_the_server_goes_on() {
    let mut editor = limited();
    let uri = "untitled:huge.rollout";
    let huge = "#".repeat(4 * 1024 * 1024 + 1);
    let diagnostics = open(&mut editor, uri, &huge);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert!(
        has(&diagnostics, "rollout::too-large", "larger than 4 MiB"),
        "{diagnostics:?}"
    );
    // Not kept: nothing is answered about it.
    let hover = editor.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}}),
    );
    assert_eq!(hover, Value::Null);
    // The same document, cut to size, is checked as any other.
    editor.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": "publish\nshift 150% to new\n"}]}),
    );
    let checked = editor.diagnostics(uri);
    assert!(
        has(&checked, "rollout::percent-range", "150%"),
        "{checked:?}"
    );
    still_answers(&mut editor);
    editor.request("shutdown", Value::Null);
    editor.notify("exit", Value::Null);
    assert_eq!(ends(&mut editor), Some(0));
}

/// A stand-in for a closed stdin (the real one is dropped in its place).
fn take_stdin() -> std::process::ChildStdin {
    let mut child = Command::new("true")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    child.wait().unwrap();
    stdin
}

#[test]
fn exit_without_shutdown_and_a_closed_stdin_end_the_server_with_1() {
    let mut editor = limited();
    editor.notify("exit", Value::Null);
    assert_eq!(ends(&mut editor), Some(1));
    let mut editor = limited();
    drop(std::mem::replace(&mut editor.input, take_stdin()));
    assert_eq!(ends(&mut editor), Some(1));
    // After shutdown, a request is refused; exit then ends with 0.
    let mut editor = limited();
    editor.request("shutdown", Value::Null);
    editor.send(json!({"jsonrpc": "2.0", "id": 99, "method": "textDocument/hover", "params": {}}));
    let refused = editor.receive();
    assert_eq!(refused["error"]["code"], -32600, "{refused}");
    editor.notify("exit", Value::Null);
    assert_eq!(ends(&mut editor), Some(0));
}

#[test]
fn a_document_that_is_not_a_file_reads_no_file() {
    let mut editor = limited();
    let uri = "https://example.com/deploy/p.rollout";
    let text = "import \"../../../../../../etc/passwd\"\nimport \"/etc/passwd\"\npublish\nshift 5% to new\nwait 10m until healthy\npromote\n";
    editor.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "rollout", "version": 1, "text": text}}),
    );
    let diagnostics = editor.diagnostics(uri);
    let not_read = diagnostics
        .iter()
        .filter(|d| d["message"].as_str().unwrap().contains("is not read"))
        .count();
    assert_eq!(not_read, 2, "{diagnostics:?}");
    assert!(
        !diagnostics
            .iter()
            .any(|d| d["message"].as_str().unwrap().contains("root:")),
        "{diagnostics:?}"
    );
    let definition = editor.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 10}}),
    );
    assert_eq!(definition, Value::Null);
    editor.request("shutdown", Value::Null);
    editor.notify("exit", Value::Null);
    assert_eq!(ends(&mut editor), Some(0));
}

#[test]
fn formatting_keeps_crlf_and_leaves_a_document_with_errors_alone() {
    let mut editor = limited();
    let uri = "untitled:crlf.rollout";
    let crlf = "publish\r\nshift   5% to new\r\nwait 10m until healthy\r\npromote\r\n";
    editor.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "rollout", "version": 1, "text": crlf}}),
    );
    let edits = editor.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    let formatted = edits[0]["newText"].as_str().unwrap();
    assert_eq!(
        formatted,
        "publish\r\nshift 5% to new\r\nwait 10m until healthy\r\npromote\r\n"
    );
    // A header after the steps is an error that formatting would hide by moving it up.
    let late = "publish\nshift 5% to new\nwait 10m until healthy\npromote\nalias \"live\"\n";
    editor.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": late}]}),
    );
    let edits = editor.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    assert_eq!(edits, Value::Null);
    editor.request("shutdown", Value::Null);
    editor.notify("exit", Value::Null);
    assert_eq!(ends(&mut editor), Some(0));
}

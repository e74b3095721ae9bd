//! Hostile input, generated: playbooks of the shapes that broke things (definitions that
//! multiply, thresholds no metric crosses, absurd numbers and durations, deep nesting, devices as
//! imports, CRLF, random bytes) fed to the checker and the formatter (`rollout check`, `rollout
//! fmt --check`) and to the language server (open, change, hover, complete, format, and broken
//! frames in between), each process under a memory limit and a time limit. A fixed budget:
//! four batches of sixteen documents.

use std::io::Write;
use std::process::Command;

use proptest::prelude::*;
use serde_json::{json, Value};

use crate::lsp::Editor;
use crate::test::{rollout_files, root, temp_dir};

/// Address space each process may use.
const MEMORY: &str = "--as=536870912";

/// Seconds each process may take.
const SECONDS: &str = "120";

fn metric() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("error rate"),
        Just("errors"),
        Just("p99 duration"),
        Just("invocations"),
        Just("throttles"),
        Just("avg duration"),
        Just("error rate of old"),
    ]
}

fn threshold() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("100%".to_string()),
        Just("101%".to_string()),
        Just("0%".to_string()),
        Just("0".to_string()),
        Just("1ms - 1ms".to_string()),
        Just("errors / 0".to_string()),
        Just("1.2 * p99 duration of old".to_string()),
        "[0-9]{1,25}(\\.[0-9]{1,3})?(%|ms|s|m|h|d)?",
    ]
}

fn op() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("<"),
        Just("<="),
        Just(">"),
        Just(">="),
        Just("=="),
        Just("!=")
    ]
}

/// One hostile playbook.
fn playbook() -> impl Strategy<Value = String> {
    let corpus: Vec<String> = ["examples", "tests/fixtures/ok", "tests/fixtures/err"]
        .iter()
        .flat_map(|dir| rollout_files(&root().join(dir)))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    prop_oneof![
        // Definitions that call the next `fan` times, `depth` deep.
        (1usize..45, 1usize..4).prop_map(|(depth, fan)| {
            let defs: String = (0..depth)
                .map(|i| {
                    let calls = vec![format!("s{}()", i + 1); fan].join("; ");
                    format!("step s{i}() {{ {calls} }}\n")
                })
                .collect();
            format!("function \"f\"\nalias \"live\"\n{defs}step s{depth}() {{ wait 1m }}\npublish\nshift 5% to new\ns0()\npromote\n")
        }),
        // Thresholds at, past and before the ends of what metrics measure.
        (metric(), op(), threshold()).prop_map(|(m, op, t)| format!(
            "health {{\n  {m} {op} {t}\n}}\npublish\nshift 5% to new\nwait 10m until healthy\npromote\n"
        )),
        // Absurd numbers and durations everywhere a number goes.
        ("[0-9]{1,30}", prop_oneof![Just("ms"), Just("s"), Just("d"), Just("")]).prop_map(
            |(n, unit)| format!(
                "health every {n}{unit} {{\n  metrics delay {n}{unit}\n  min invocations {n}\n  confidence {n}%\n  error rate < 1%\n}}\npublish\nshift {n}% to new\nwait {n}{unit} until healthy\nramp to 99% by 0.01% every {n}{unit}\npromote\n"
            )
        ),
        // Nesting.
        (1usize..300).prop_map(|depth| format!(
            "publish\n{}promote{}\n",
            "{ ".repeat(depth),
            " }".repeat(depth)
        )),
        // Files that are not files.
        prop_oneof![Just("/dev/zero"), Just("/dev/urandom"), Just("/"), Just("../../../../etc/passwd")]
            .prop_map(|path| format!(
                "import \"{path}\"\nhealth {{\n  script \"{path}\"\n}}\nupdate code from \"{path}\"\npublish\npromote\n"
            )),
        // A real playbook with CRLF line ends, or cut anywhere.
        (0..corpus.len(), any::<usize>(), any::<bool>()).prop_map(move |(i, cut, crlf)| {
            let text = &corpus[i];
            let mut cut = cut % (text.len() + 1);
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            if crlf {
                text.replace('\n', "\r\n")
            } else {
                text[..cut].to_string()
            }
        }),
        // Bytes.
        proptest::collection::vec(any::<u8>(), 0..400)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

/// `rollout ARGS` in `dir` under the limits; its exit code, which must be a code, not a signal.
fn limited(dir: &std::path::Path, args: &[&str]) -> i32 {
    let out = Command::new("timeout")
        .args([
            SECONDS,
            "prlimit",
            MEMORY,
            "--",
            env!("CARGO_BIN_EXE_rollout"),
        ])
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        [0, 1, 2].contains(&code),
        "rollout {args:?} ended with {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    code
}

/// Feeds every document to one language server under the limits, with broken frames in
/// between; it must answer each request and end cleanly.
fn serve(dir: &std::path::Path, docs: &[String]) {
    let mut command = Command::new("timeout");
    command.args([
        SECONDS,
        "prlimit",
        MEMORY,
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
    for (i, text) in docs.iter().enumerate() {
        let uri = if i % 2 == 0 {
            format!("file://{}/doc{i}.rollout", dir.display())
        } else {
            format!("https://example.com/doc{i}.rollout")
        };
        editor.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "rollout", "version": 1, "text": text}}),
        );
        editor.diagnostics(&uri);
        // A broken frame: the server answers it and goes on.
        editor
            .input
            .write_all(b"Content-Length: 3\r\n\r\n{x}")
            .unwrap();
        editor.input.flush().unwrap();
        assert_eq!(editor.receive()["error"]["code"], -32700);
        let at = json!({"line": i % 5, "character": i % 17});
        for method in [
            "textDocument/hover",
            "textDocument/completion",
            "textDocument/definition",
        ] {
            editor.request(
                method,
                json!({"textDocument": {"uri": uri}, "position": at}),
            );
        }
        let edits = editor.request(
            "textDocument/formatting",
            json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
        );
        if let Some(formatted) = edits[0]["newText"].as_str() {
            // Formatting twice changes nothing more.
            editor.notify(
                "textDocument/didChange",
                json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": formatted}]}),
            );
            editor.diagnostics(&uri);
            let again = editor.request(
                "textDocument/formatting",
                json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
            );
            assert_eq!(again[0]["newText"].as_str(), Some(formatted), "{text:?}");
        }
    }
    assert_eq!(editor.request("shutdown", Value::Null), Value::Null);
    editor.notify("exit", Value::Null);
    assert_eq!(editor.child.wait().unwrap().code(), Some(0));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]

    #[test]
    fn hostile_playbooks_are_answered_within_memory_and_time(docs in proptest::collection::vec(playbook(), 16)) {
        let dir = temp_dir();
        let mut names = Vec::new();
        for (i, text) in docs.iter().enumerate() {
            let name = format!("doc{i}.rollout");
            std::fs::write(dir.join(&name), text).unwrap();
            names.push(name);
        }
        let mut check = vec!["check", "-q"];
        check.extend(names.iter().map(String::as_str));
        limited(&dir, &check);
        limited(&dir, &["fmt", "--check", "."]);
        serve(&dir, &docs);
    }
}

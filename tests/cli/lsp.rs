//! `rollout lsp` driven as an editor drives it: JSON-RPC over the process's stdin and stdout.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{json, Value};

use crate::edit::Edit;
use crate::test::root;

/// A running `rollout lsp` and the messages it sent that were not yet looked at.
pub(crate) struct Editor {
    pub(crate) child: Child,
    pub(crate) input: ChildStdin,
    output: BufReader<ChildStdout>,
    next_id: i64,
    pending: Vec<Value>,
}

impl Editor {
    pub(crate) fn start() -> Editor {
        let mut command = Command::new(env!("CARGO_BIN_EXE_rollout"));
        command.arg("lsp");
        Editor::start_as(command)
    }

    /// `rollout lsp` as `command` starts it (under a resource limit, say).
    pub(crate) fn start_as(mut command: Command) -> Editor {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stdout.take().unwrap());
        Editor {
            child,
            input,
            output,
            next_id: 1,
            pending: Vec::new(),
        }
    }

    pub(crate) fn send(&mut self, message: Value) {
        let body = message.to_string();
        write!(self.input, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.input.flush().unwrap();
    }

    pub(crate) fn receive(&mut self) -> Value {
        let mut length = 0;
        loop {
            let mut line = String::new();
            self.output.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(n) = line.strip_prefix("Content-Length: ") {
                length = n.parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        self.output.read_exact(&mut body).unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    pub(crate) fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let message = self.receive();
            if message["id"] == id {
                return message["result"].clone();
            }
            self.pending.push(message);
        }
    }

    pub(crate) fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// The next diagnostics published for `uri`.
    pub(crate) fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        loop {
            let message = match self.pending.iter().position(|m| {
                m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri
            }) {
                Some(i) => self.pending.remove(i),
                None => self.receive(),
            };
            if message["method"] == "textDocument/publishDiagnostics"
                && message["params"]["uri"] == uri
            {
                return message["params"]["diagnostics"].as_array().unwrap().clone();
            }
            self.pending.push(message);
        }
    }
}

#[test]
fn an_editor_gets_diagnostics_hovers_completions_definitions_and_formatting() {
    let dir = std::env::temp_dir().join(format!("rollout-lsp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("lib.rollout"),
        "param canary = 5%\nstep stage(weight, time) {\n  shift weight to new\n  wait time until healthy\n}\n",
    )
    .unwrap();
    let broken = "import \"lib.rollout\"\nfunction \"f\"\nalias \"live\"\npublish\nshift 150% to new\nstage(canary, 10m)\npromote\n";
    let file = dir.join("p.rollout");
    std::fs::write(&file, broken).unwrap();
    let uri = format!("file://{}", file.display());

    let mut editor = Editor::start();
    let init = editor.request(
        "initialize",
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    );
    assert_eq!(init["capabilities"]["hoverProvider"], true);
    editor.notify("initialized", json!({}));

    editor.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "rollout", "version": 1, "text": broken}}),
    );
    let diagnostics = editor.diagnostics(&uri);
    // The same problems `rollout check --format json` reports, at the same places.
    let check = Command::new(env!("CARGO_BIN_EXE_rollout"))
        .current_dir(&dir)
        .args(["check", "--format", "json", "p.rollout"])
        .output()
        .unwrap();
    let checked: Value = serde_json::from_slice(&check.stdout).unwrap();
    let all = checked["diagnostics"].as_array().unwrap();
    let expected: Vec<(String, u64, String)> = all
        .iter()
        .filter(|d| d["file"] == "p.rollout")
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["line"].as_u64().unwrap() - 1,
                d["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let got: Vec<(String, u64, String)> = diagnostics
        .iter()
        .map(|d| {
            let message = d["message"].as_str().unwrap();
            (
                d["code"].as_str().unwrap().to_string(),
                d["range"]["start"]["line"].as_u64().unwrap(),
                message.split("\nhelp: ").next().unwrap().to_string(),
            )
        })
        .collect();
    assert!(!got.is_empty());
    assert_eq!(got, expected);
    assert!(diagnostics[0]["message"]
        .as_str()
        .unwrap()
        .contains("\nhelp: "));

    // Fixed: the diagnostics are cleared.
    let fixed = broken.edit("150%", "10%");
    editor.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": fixed}]}),
    );
    let diagnostics = editor.diagnostics(&uri);
    assert!(
        diagnostics.iter().all(|d| d["severity"] != 1),
        "{diagnostics:?}"
    );

    let at = |needle: &str| {
        let offset = fixed.find(needle).unwrap();
        let line = fixed[..offset].matches('\n').count();
        let column = offset - fixed[..offset].rfind('\n').map_or(0, |i| i + 1);
        json!({"line": line, "character": column + 1})
    };
    let hover = editor.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": at("publish")}),
    );
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("publish"),
        "{hover}"
    );
    let hover = editor.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": at("canary")}),
    );
    assert!(
        hover["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("param canary = 5%"),
        "{hover}"
    );

    let items = editor.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": uri}, "position": {"line": 6, "character": 0}}),
    );
    let labels: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"promote") && labels.contains(&"stage(weight, time)"),
        "{labels:?}"
    );

    let definition = editor.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": uri}, "position": at("stage")}),
    );
    assert!(
        definition["uri"]
            .as_str()
            .unwrap()
            .ends_with("/lib.rollout"),
        "{definition}"
    );
    assert_eq!(definition["range"]["start"]["line"], 1);
    let import = editor.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": uri}, "position": at("lib.rollout")}),
    );
    assert!(
        import["uri"].as_str().unwrap().ends_with("/lib.rollout"),
        "{import}"
    );

    let messy = fixed.edit("publish\n", "publish   ;   \n");
    editor.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": messy}]}),
    );
    editor.diagnostics(&uri);
    let edits = editor.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    let formatted = edits[0]["newText"].as_str().unwrap();
    assert!(
        formatted.contains("publish\n") && !formatted.contains("publish   ;"),
        "{formatted}"
    );

    assert_eq!(editor.request("shutdown", Value::Null), Value::Null);
    editor.notify("exit", Value::Null);
    assert!(editor.child.wait().unwrap().success());
    let _ = std::fs::remove_dir_all(&dir);
    let _ = root();
}

#[test]
fn bash_completion_loads_and_completes_subcommands() {
    let script = Command::new(env!("CARGO_BIN_EXE_rollout"))
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(script.status.success());
    let path = std::env::temp_dir().join(format!("rollout-completion-{}.bash", std::process::id()));
    std::fs::write(&path, &script.stdout).unwrap();
    let syntax = Command::new("bash").arg("-n").arg(&path).status().unwrap();
    assert!(syntax.success(), "bash -n accepts the script");
    // A bash session completing `rollout si`, as the shell would on a tab.
    let session = format!(
        "source {}; COMP_WORDS=(rollout si); COMP_CWORD=1; COMP_LINE='rollout si'; COMP_POINT=10; _rollout rollout si rollout; echo \"${{COMPREPLY[@]}}\"",
        path.display()
    );
    let out = Command::new("bash")
        .args(["-c", &session])
        .output()
        .unwrap();
    let words = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        words.trim(),
        "simulate",
        "{words} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_file(&path);
    for shell in ["zsh", "fish", "powershell"] {
        let out = Command::new(env!("CARGO_BIN_EXE_rollout"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success() && out.stdout.len() > 100, "{shell}");
    }
}

#[test]
fn the_manual_page_is_roff_naming_every_command() {
    let out = Command::new(env!("CARGO_BIN_EXE_rollout"))
        .arg("man")
        .output()
        .unwrap();
    assert!(out.status.success());
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH rollout"),
        "{page}"
    );
    for command in ["check", "plan", "simulate", "run", "export", "lsp"] {
        assert!(page.contains(command), "{command}");
    }
    // Every page the main one refers to can be printed.
    let listed: Vec<&str> = page
        .split("rollout\\-")
        .skip(1)
        .filter_map(|rest| rest.split_once("(1)").map(|(name, _)| name))
        .collect();
    assert!(
        listed.len() >= 10 && !listed.contains(&"help"),
        "{listed:?}"
    );
    for name in listed {
        let out = Command::new(env!("CARGO_BIN_EXE_rollout"))
            .args(["man", name])
            .output()
            .unwrap();
        assert!(out.status.success(), "rollout man {name}");
        let sub = String::from_utf8_lossy(&out.stdout);
        assert!(sub.contains(&format!(".TH rollout-{name} 1")), "{sub}");
    }
}

/// The quoted words of the pest grammar's `keyword` rule.
fn pest_keywords() -> std::collections::BTreeSet<String> {
    let grammar = std::fs::read_to_string(root().join("grammar/rollout.pest")).unwrap();
    let start = grammar.find("keyword = _{").expect("the keyword rule");
    let end = start + grammar[start..].find("\n}").unwrap();
    grammar[start..end]
        .split('"')
        .skip(1)
        .step_by(2)
        .map(String::from)
        .collect()
}

#[test]
fn the_highlighting_grammar_knows_exactly_the_languages_keywords() {
    let text =
        std::fs::read_to_string(root().join("editors/vscode/syntaxes/rollout.tmLanguage.json"))
            .unwrap();
    let grammar: Value = serde_json::from_str(&text).unwrap();
    let pattern = grammar["repository"]["keyword"]["match"].as_str().unwrap();
    let inner = pattern
        .strip_prefix("\\b(")
        .and_then(|p| p.strip_suffix(")\\b"))
        .expect("\\b(a|b|…)\\b");
    let highlighted: std::collections::BTreeSet<String> =
        inner.split('|').map(String::from).collect();
    let keywords = pest_keywords();
    assert!(keywords.len() > 40, "{keywords:?}");
    assert_eq!(
        highlighted, keywords,
        "editors/vscode/syntaxes/rollout.tmLanguage.json and grammar/rollout.pest disagree"
    );
    let package: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("editors/vscode/package.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        package["contributes"]["grammars"][0]["scopeName"],
        grammar["scopeName"]
    );
    let extension = std::fs::read_to_string(root().join("editors/vscode/extension.js")).unwrap();
    assert!(
        extension.contains("args: [\"lsp\"]"),
        "the extension starts `rollout lsp`"
    );
}

// Starts `rollout lsp` for .rollout files: diagnostics as you type, hover, completion,
// go to definition and formatting all come from the rollout executable.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("rollout").get("path") || "rollout";
  client = new LanguageClient(
    "rollout",
    "rollout",
    { command, args: ["lsp"] },
    { documentSelector: [{ scheme: "file", language: "rollout" }] }
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };

// Starts `stave lsp` for workflow files of both forms (*.stave, *.stave.yaml) and stave.yaml.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("stave").get("path", "stave");
  const server = { command, args: ["lsp", "--stdio"] };
  client = new LanguageClient(
    "stave",
    "Stave",
    { run: server, debug: server },
    {
      documentSelector: [
        { scheme: "file", language: "stave" },
        { scheme: "file", pattern: "**/*.stave.{yaml,yml}" },
        { scheme: "file", pattern: "**/stave.yaml" },
      ],
      synchronize: {
        fileEvents: vscode.workspace.createFileSystemWatcher("**/{stave.yaml,*.json}"),
      },
    },
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };

//! `stave lsp` driven by a real LSP client over stdio: the `stave` binary is started, and
//! framed JSON-RPC goes in and out exactly as an editor sends it (initialize, didOpen,
//! didChange, completion, hover, definition, references, rename, code actions, shutdown).
//! Responses are snapshots, with the fixture directory's URI replaced by `file:///PROJECT`.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

struct Client {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Value>,
    next_id: i64,
    root: String,
}

impl Client {
    fn start() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_stave"))
            .args(["lsp", "--stdio"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start `stave lsp`");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, incoming) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = None;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 {
                        return;
                    }
                    let header = header.trim_end();
                    if header.is_empty() {
                        break;
                    }
                    if let Some(n) = header.strip_prefix("Content-Length: ") {
                        length = n.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; length.expect("a Content-Length header")];
                reader.read_exact(&mut body).unwrap();
                let message: Value = serde_json::from_slice(&body).unwrap();
                if tx.send(message).is_err() {
                    return;
                }
            }
        });
        let root = url_of(&fixture_dir());
        Client {
            child,
            stdin,
            incoming,
            next_id: 0,
            root: root.trim_end_matches('/').to_string(),
        }
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// Sends a request and returns its response (`result`, or the whole message on error).
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let message = self.next();
            if message["id"] == json!(id) {
                return match message.get("error") {
                    Some(_) => self.redact(message),
                    None => self.redact(message["result"].clone()),
                };
            }
        }
    }

    fn next(&mut self) -> Value {
        self.incoming
            .recv_timeout(Duration::from_secs(60))
            .expect("the server answers within 60 s")
    }

    /// The next diagnostics published for `uri`.
    fn diagnostics(&mut self, uri: &str) -> Value {
        loop {
            let message = self.next();
            if message["method"] == "textDocument/publishDiagnostics"
                && message["params"]["uri"] == uri
            {
                return self.redact(message["params"]["diagnostics"].clone());
            }
        }
    }

    fn open(&mut self, uri: &str, text: &str) -> Value {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "yaml", "version": 1, "text": text } }),
        );
        self.diagnostics(uri)
    }

    fn redact(&self, v: Value) -> Value {
        serde_json::from_str(&v.to_string().replace(&self.root, "file:///PROJECT")).unwrap()
    }

    fn uri(&self, file: &str) -> String {
        format!("{}/{file}", self.root)
    }
}

fn fixture_dir() -> PathBuf {
    std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lsp")).unwrap()
}

fn url_of(path: &Path) -> String {
    format!("file://{}", path.display())
}

fn fixture(file: &str) -> String {
    std::fs::read_to_string(fixture_dir().join(file)).unwrap()
}

/// The LSP position `delta` bytes after the `nth` (0-based) occurrence of `needle` (ASCII text).
fn pos(text: &str, needle: &str, nth: usize, delta: usize) -> Value {
    let at = text
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("`{needle}` occurs {nth} times"))
        .0
        + delta;
    let line = text[..at].matches('\n').count();
    let character = at - text[..at].rfind('\n').map_or(0, |i| i + 1);
    json!({ "line": line, "character": character })
}

fn at(uri: &str, position: Value) -> Value {
    json!({ "textDocument": { "uri": uri }, "position": position })
}

fn labels(items: &Value) -> Vec<String> {
    let list = items.as_array().cloned().unwrap_or_default();
    let mut labels: Vec<String> = list
        .iter()
        .map(|i| i["label"].as_str().unwrap().to_string())
        .collect();
    labels.sort();
    labels
}

#[test]
fn an_editor_session_over_stdio() {
    let mut c = Client::start();
    let init = c.request(
        "initialize",
        json!({ "processId": null, "rootUri": c.root, "capabilities": {} }),
    );
    insta::assert_json_snapshot!("lsp_initialize", init);
    c.notify("initialized", json!({}));

    // A clean file publishes no diagnostics.
    let order_uri = c.uri("order.stave.yaml");
    let order = fixture("order.stave.yaml");
    assert_eq!(c.open(&order_uri, &order), json!([]));

    // Typing a mistake: the diagnostic comes with its code, hint and explain page.
    let typo = order.replacen("activity: payments.charge", "activity: payments.chrage", 1);
    c.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": order_uri, "version": 2 },
            "contentChanges": [{ "text": typo }],
        }),
    );
    let diagnostics = c.diagnostics(&order_uri);
    insta::assert_json_snapshot!("lsp_diagnostics_typo", diagnostics);

    // The "did you mean" is a quick fix.
    let range = diagnostics[0]["range"].clone();
    let actions = c.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": order_uri }, "range": range, "context": { "diagnostics": diagnostics } }),
    );
    insta::assert_json_snapshot!("lsp_code_action", actions);

    // An incremental edit fixing it clears the diagnostics.
    let start = pos(&typo, "chrage", 0, 0);
    let end = pos(&typo, "chrage", 0, 6);
    c.notify(
        "textDocument/didChange",
        json!({
            "textDocument": { "uri": order_uri, "version": 3 },
            "contentChanges": [{ "range": { "start": start, "end": end }, "text": "charge" }],
        }),
    );
    assert_eq!(c.diagnostics(&order_uri), json!([]));

    // Hover: an expression path's type, an activity's description and defaults, a step's result.
    let hover = c.request(
        "textDocument/hover",
        at(&order_uri, pos(&order, "steps.charge.status", 0, 14)),
    );
    insta::assert_json_snapshot!("lsp_hover_path", hover);
    let hover = c.request(
        "textDocument/hover",
        at(&order_uri, pos(&order, "payments.charge", 0, 3)),
    );
    insta::assert_json_snapshot!("lsp_hover_activity", hover);
    let hover = c.request(
        "textDocument/hover",
        at(&order_uri, pos(&order, "id: charge", 0, 5)),
    );
    insta::assert_json_snapshot!("lsp_hover_step", hover);
    let hover = c.request(
        "textDocument/hover",
        at(&order_uri, pos(&order, "shipping", 0, 2)),
    );
    insta::assert_json_snapshot!("lsp_hover_child", hover);
    let hover = c.request(
        "textDocument/hover",
        at(&order_uri, pos(&order, "queue: slow", 0, 8)),
    );
    insta::assert_json_snapshot!("lsp_hover_queue", hover);

    // Go to definition: a step reference to its id; a child workflow to its file.
    let def = c.request(
        "textDocument/definition",
        at(&order_uri, pos(&order, "steps.charge.status", 0, 8)),
    );
    assert_eq!(def["range"]["start"], pos(&order, "id: charge", 0, 4));
    let def = c.request(
        "textDocument/definition",
        at(&order_uri, pos(&order, "workflow: shipping", 0, 12)),
    );
    insta::assert_json_snapshot!("lsp_definition_child", def);
    let def = c.request(
        "textDocument/definition",
        at(&order_uri, pos(&order, "mail.send", 0, 1)),
    );
    assert_eq!(def["uri"], "file:///PROJECT/activities.json");
    let def = c.request(
        "textDocument/definition",
        at(&order_uri, pos(&order, "queue: slow", 0, 8)),
    );
    assert_eq!(def["uri"], "file:///PROJECT/stave.yaml");
    let def = c.request(
        "textDocument/definition",
        at(&order_uri, pos(&order, "vars.attempts", 0, 6)),
    );
    assert_eq!(def["range"]["start"], pos(&order, "attempts: 0", 0, 0));

    // References and rename of a step id: the id and every `steps.charge`.
    let refs = c.request(
        "textDocument/references",
        json!({ "textDocument": { "uri": order_uri }, "position": pos(&order, "id: charge", 0, 5), "context": { "includeDeclaration": true } }),
    );
    assert_eq!(refs.as_array().unwrap().len(), 4, "{refs}");
    let prepared = c.request(
        "textDocument/prepareRename",
        at(&order_uri, pos(&order, "steps.charge.payment_id", 0, 7)),
    );
    assert_eq!(
        prepared["start"],
        pos(&order, "steps.charge.payment_id", 0, 6)
    );
    let mut rename = at(&order_uri, pos(&order, "id: charge", 0, 5));
    rename["newName"] = json!("payment");
    let edit = c.request("textDocument/rename", rename);
    insta::assert_json_snapshot!("lsp_rename", edit);
    let mut clash = at(&order_uri, pos(&order, "id: charge", 0, 5));
    clash["newName"] = json!("ship");
    let refused = c.request("textDocument/rename", clash);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already exists"),
        "{refused}"
    );
    let refused = c.request(
        "textDocument/prepareRename",
        at(&order_uri, pos(&order, "payments.charge", 0, 3)),
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Temporal-visible")
    );

    // Completion: fields of a step's result, the roots, activity names, queues, YAML keys.
    let edited = order.replacen("\"${ steps.charge.status }\"", "\"${ steps.charge. }\"", 1);
    c.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": order_uri, "version": 4 }, "contentChanges": [{ "text": edited }] }),
    );
    c.diagnostics(&order_uri);
    let items = c.request(
        "textDocument/completion",
        at(&order_uri, pos(&edited, "steps.charge. }", 0, 13)),
    );
    assert_eq!(labels(&items), ["payment_id", "status"], "{items}");
    let items = c.request(
        "textDocument/completion",
        at(&order_uri, pos(&edited, "steps.charge. }", 0, 6)),
    );
    assert!(labels(&items).contains(&"charge".to_string()), "{items}");
    let items = c.request(
        "textDocument/completion",
        at(&order_uri, pos(&edited, "${ input.order_id }", 0, 9)),
    );
    assert_eq!(labels(&items), ["amount", "email", "order_id"], "{items}");
    let items = c.request(
        "textDocument/completion",
        at(&order_uri, pos(&edited, "activity: mail.send", 0, 10)),
    );
    insta::assert_json_snapshot!("lsp_completion_activities", items);
    let items = c.request(
        "textDocument/completion",
        at(&order_uri, pos(&edited, "queue: slow", 0, 7)),
    );
    assert_eq!(labels(&items), ["slow", "standard"], "{items}");
    let items = c.request(
        "textDocument/completion",
        at(&order_uri, pos(&edited, "workflow: shipping", 0, 10)),
    );
    assert_eq!(labels(&items), ["order", "shipping"], "{items}");

    let keyed = edited.replacen("    queue: slow\n", "    queue: slow\n    ti\n", 1);
    c.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": order_uri, "version": 5 }, "contentChanges": [{ "text": keyed }] }),
    );
    c.diagnostics(&order_uri);
    let items = c.request(
        "textDocument/completion",
        at(&order_uri, pos(&keyed, "    ti\n", 0, 6)),
    );
    let keys = labels(&items);
    assert!(
        keys.contains(&"timeout".to_string()) && keys.contains(&"retry".to_string()),
        "{keys:?}"
    );
    assert!(
        !keys.contains(&"queue".to_string()),
        "queue is already there: {keys:?}"
    );
    assert!(
        !keys.contains(&"steps".to_string()),
        "not a key of an activity step: {keys:?}"
    );

    // The text form: diagnostics, hover and completion alike.
    let ship_uri = c.uri("shipping.stave");
    let ship = fixture("shipping.stave");
    assert_eq!(c.open(&ship_uri, &ship), json!([]));
    let broken = ship.replacen("input.order_id)", "input.order)", 1);
    c.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": ship_uri, "version": 2 }, "contentChanges": [{ "text": broken }] }),
    );
    insta::assert_json_snapshot!("lsp_text_form_diagnostics", c.diagnostics(&ship_uri));
    let hover = c.request(
        "textDocument/hover",
        at(&ship_uri, pos(&broken, "input.order_id", 0, 7)),
    );
    insta::assert_json_snapshot!("lsp_text_form_hover", hover);
    let items = c.request(
        "textDocument/completion",
        at(&ship_uri, pos(&broken, "input.order)", 0, 6)),
    );
    assert_eq!(labels(&items), ["order_id"], "{items}");

    c.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": order_uri, "version": 6 }, "contentChanges": [{ "text": order }] }),
    );
    assert_eq!(c.diagnostics(&order_uri), json!([]));
    let outline = c.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": order_uri } }),
    );
    insta::assert_json_snapshot!("lsp_outline", outline);

    assert_eq!(c.request("shutdown", Value::Null), Value::Null);
    c.notify("exit", Value::Null);
    let status = c.child.wait().unwrap();
    assert!(
        status.success(),
        "stave lsp exits 0 after shutdown and exit: {status}"
    );
}

/// The editor set-ups in `editors/` start the server this binary serves.
#[test]
fn editor_configurations_start_stave_lsp() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("editors");
    let package: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("vscode/package.json")).unwrap())
            .expect("editors/vscode/package.json is JSON");
    assert_eq!(package["main"], "./extension.js");
    assert_eq!(
        package["contributes"]["languages"][0]["extensions"],
        json!([".stave"])
    );
    let extension = std::fs::read_to_string(root.join("vscode/extension.js")).unwrap();
    assert!(
        extension.contains(r#"args: ["lsp", "--stdio"]"#),
        "{extension}"
    );
    let helix = std::fs::read_to_string(root.join("helix/languages.toml")).unwrap();
    assert!(
        helix.contains("command = \"stave\"\nargs = [\"lsp\", \"--stdio\"]"),
        "{helix}"
    );
    let neovim = std::fs::read_to_string(root.join("neovim/stave.lua")).unwrap();
    assert!(
        neovim.contains(r#"cmd = { "stave", "lsp", "--stdio" }"#),
        "{neovim}"
    );
    // The flag editors pass is accepted.
    let help = Command::new(env!("CARGO_BIN_EXE_stave"))
        .args(["lsp", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("--stdio"));
}

/// Hover, completion, definition and references answer at every position of the sample
/// workflows (every 5th byte, both forms) without failing: the server never errors on a
/// position, whatever is there.
#[test]
fn every_position_of_the_samples_gets_an_answer() {
    use lsp_server::{Connection, Message, Notification, Request, RequestId};
    let root = std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
    let (server, client) = Connection::memory();
    let thread = std::thread::spawn(move || stave::lsp::serve(&server).unwrap());
    let mut id = 0;
    let mut request = |method: &str, params: Value| -> Value {
        id += 1;
        let rid = RequestId::from(id);
        client
            .sender
            .send(Message::Request(Request::new(
                rid.clone(),
                method.into(),
                params,
            )))
            .unwrap();
        loop {
            if let Message::Response(r) = client.receiver.recv().unwrap()
                && r.id == rid
            {
                assert!(r.error.is_none(), "{method}: {:?}", r.error);
                return r.result.unwrap_or(Value::Null);
            }
        }
    };
    request("initialize", json!({ "capabilities": {} }));
    let mut answered = 0;
    for file in [
        "order-fulfilment.stave.yaml",
        "order-fulfilment.stave",
        "learning-path.stave.yaml",
        "image-generation.stave",
    ] {
        let path = root.join("workflows").join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let uri = url_of(&path);
        client
            .sender
            .send(Message::Notification(Notification::new(
                "textDocument/didOpen".into(),
                json!({ "textDocument": { "uri": uri, "languageId": "stave", "version": 1, "text": text } }),
            )))
            .unwrap();
        for offset in (0..text.len())
            .step_by(5)
            .filter(|&o| text.is_char_boundary(o))
        {
            let position = pos(&text, &text[offset..], 0, 0);
            let at = at(&uri, position);
            for method in [
                "textDocument/hover",
                "textDocument/completion",
                "textDocument/definition",
            ] {
                if request(method, at.clone()) != Value::Null {
                    answered += 1;
                }
            }
        }
    }
    assert!(answered > 500, "only {answered} answers");
    request("shutdown", Value::Null);
    client
        .sender
        .send(Message::Notification(Notification::new(
            "exit".into(),
            Value::Null,
        )))
        .unwrap();
    thread.join().unwrap();
}

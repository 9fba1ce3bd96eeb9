//! The language server's latency: from an edit of a 200-step workflow file (`didChange`) to
//! its diagnostics (`publishDiagnostics`), both forms, through the real protocol loop on an
//! in-memory connection. `cargo bench --bench lsp` (release); the target is ≤ 20 ms.

use lsp_server::{Connection, Message, Notification, Request, RequestId};
use serde_json::json;
use std::time::{Duration, Instant};

const STEPS: usize = 200;
const EDITS: usize = 60;

/// What step `i` reads: the last step before it that surely ran (guarded steps are `i % 4 == 3`).
fn previous(i: usize) -> String {
    match i.checked_sub(1) {
        None => "input.order_id".into(),
        Some(p) if p % 4 == 3 => format!("steps.s{}.payment_id", p - 1),
        Some(p) => format!("steps.s{p}.payment_id"),
    }
}

/// A 200-step workflow of the fixture project: activities reading earlier results, guards,
/// loops and sets (YAML form).
fn yaml(steps: usize, amount: usize) -> String {
    let mut s = String::from(
        "stave: 1\nworkflow: big\ninput:\n  type: object\n  required: [order_id, amount, email]\n  properties:\n    order_id: { type: string }\n    amount: { type: number }\n    email: { type: string }\nvars: { count: 0 }\nsteps:\n",
    );
    for i in 0..steps {
        let prev = previous(i);
        match i % 4 {
            3 => s.push_str(&format!(
                "  - id: s{i}\n    if: \"${{ input.amount > {amount} && vars.count < 10 }}\"\n    activity: payments.charge\n    input: {{ order_id: \"${{ {prev} }}\", amount: \"${{ input.amount * 2.0 }}\" }}\n"
            )),
            2 => s.push_str(&format!(
                "  - id: s{i}\n    activity: payments.charge\n    input: {{ order_id: \"${{ {prev} }}\", amount: 1 }}\n  - set: {{ count: \"${{ vars.count + 1 }}\" }}\n"
            )),
            _ => s.push_str(&format!(
                "  - id: s{i}\n    activity: payments.charge\n    input: {{ order_id: \"${{ {prev} }}\", amount: \"${{ input.amount }}\" }}\n  - activity: mail.send\n    input: {{ to: \"${{ input.email }}\", body: \"${{ steps.s{i}.status }}\" }}\n"
            )),
        }
    }
    s.push_str(&format!(
        "output: {{ last: \"${{ {} }}\", count: \"${{ vars.count }}\" }}\n",
        previous(steps)
    ));
    s
}

/// The same workflow in the text form.
fn text(steps: usize, amount: usize) -> String {
    let mut s = String::from(
        "stave 1\n\nworkflow big {\n  input { order_id: string, amount: number, email: string }\n  var count = 0\n\n",
    );
    for i in 0..steps {
        let prev = previous(i);
        match i % 4 {
            3 => s.push_str(&format!(
                "  step s{i} = payments.charge(order_id: {prev}, amount: input.amount * 2.0) when input.amount > {amount} && vars.count < 10\n"
            )),
            2 => s.push_str(&format!(
                "  step s{i} = payments.charge(order_id: {prev}, amount: 1)\n  count = vars.count + 1\n"
            )),
            _ => s.push_str(&format!(
                "  step s{i} = payments.charge(order_id: {prev}, amount: input.amount)\n  mail.send(to: input.email, body: steps.s{i}.status)\n"
            )),
        }
    }
    s.push_str(&format!(
        "\n  output {{\"last\": {}, \"count\": vars.count}}\n}}\n",
        previous(steps)
    ));
    s
}

/// `stave lint`'s report of a generated file, for a failed cleanliness check.
fn stave_lint(dir: &std::path::Path, file: &str, text: &str) -> String {
    let path = dir.join(file);
    let mut sources = stave::diagnostics::Sources::default();
    let mut diagnostics = Vec::new();
    let context = stave::check::load_project_context(dir, &mut sources, &mut diagnostics);
    let id = sources.add(&path, text);
    let form = stave::check::Form::of(&path).unwrap();
    let (_, found) = stave::check::lint_file(&sources, id, form, &context);
    let found: Vec<_> = found
        .into_iter()
        .filter(|d| d.code.reported(&[], &[]))
        .collect();
    found
        .iter()
        .map(|d| {
            format!(
                "{}: {} at {}\n",
                d.code,
                d.message,
                sources.locate(d.span())
            )
        })
        .collect()
}

fn main() {
    let dir = std::fs::canonicalize(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/lsp"))
        .expect("the fixture project");
    let (server, client) = Connection::memory();
    let thread = std::thread::spawn(move || stave::lsp::serve(&server).expect("the server runs"));
    let request = |id: i32, method: &str, params: serde_json::Value| {
        Message::Request(Request::new(RequestId::from(id), method.into(), params))
    };
    let notify = |method: &str, params: serde_json::Value| {
        Message::Notification(Notification::new(method.into(), params))
    };
    client
        .sender
        .send(request(1, "initialize", json!({ "capabilities": {} })))
        .unwrap();
    client.receiver.recv().unwrap();
    client
        .sender
        .send(notify("initialized", json!({})))
        .unwrap();
    let wait_for_diagnostics = || loop {
        if let Message::Notification(n) = client.receiver.recv().unwrap()
            && n.method == "textDocument/publishDiagnostics"
        {
            return n.params["diagnostics"].as_array().map_or(0, Vec::len);
        }
    };
    println!("diagnostics after an edit of a {STEPS}-step file ({EDITS} edits, release):");
    for (form, file, generate) in [
        ("YAML", "big.stave.yaml", yaml as fn(usize, usize) -> String),
        ("text", "big.stave", text as fn(usize, usize) -> String),
    ] {
        let uri = format!("file://{}/{file}", dir.display());
        let first = generate(STEPS, 0);
        client.sender.send(notify("textDocument/didOpen", json!({ "textDocument": { "uri": uri, "languageId": "stave", "version": 0, "text": first } }))).unwrap();
        let found = wait_for_diagnostics();
        assert_eq!(
            found,
            0,
            "the generated {form} file is clean:\n{}",
            stave_lint(&dir, file, &first)
        );
        let mut times = Vec::with_capacity(EDITS);
        for edit in 1..=EDITS {
            // A change to one guard, as typing does; the whole text is sent (the worst case).
            let changed = generate(STEPS, edit);
            let start = Instant::now();
            client.sender.send(notify("textDocument/didChange", json!({ "textDocument": { "uri": uri, "version": edit }, "contentChanges": [{ "text": changed }] }))).unwrap();
            wait_for_diagnostics();
            times.push(start.elapsed());
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "  {form:<4} {} bytes: median {:.2} ms, p95 {:.2} ms, max {:.2} ms (target ≤ 20 ms)",
            first.len(),
            ms(times[EDITS / 2]),
            ms(times[EDITS * 95 / 100]),
            ms(times[EDITS - 1]),
        );
    }
    client
        .sender
        .send(request(2, "shutdown", serde_json::Value::Null))
        .unwrap();
    client.receiver.recv().unwrap();
    client
        .sender
        .send(notify("exit", serde_json::Value::Null))
        .unwrap();
    thread.join().unwrap();
}

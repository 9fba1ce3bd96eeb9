//! `stave lsp`: the language server over stdio. Lint's diagnostics as you type, hover,
//! completion, go to definition, references, rename and quick fixes, for both forms.
//!
//! One thread reads requests in order; an edit re-checks only the edited file against its
//! project (`stave.yaml` and the manifest are loaded once and reloaded when saved). Every
//! feature reads the analysis of the document's current text: `workspace.rs` keeps them,
//! `symbols.rs` indexes the names of a file, and one file per feature answers.

mod actions;
mod completion;
mod document;
mod hover;
mod navigate;
mod outline;
mod publish;
mod symbols;
mod workspace;

pub use document::Document;

use crate::diagnostics::Code;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidChangeWatchedFiles, DidCloseTextDocument, DidOpenTextDocument,
    DidSaveTextDocument, Notification as _, PublishDiagnostics,
};
use lsp_types::request::{
    CodeActionRequest, Completion, DocumentSymbolRequest, GotoDefinition, HoverRequest,
    PrepareRenameRequest, References, Rename, Request as _,
};
use lsp_types::{
    CodeActionProviderCapability, CompletionOptions, HoverContents, HoverProviderCapability,
    MarkupContent, MarkupKind, OneOf, PublishDiagnosticsParams, RenameOptions, SaveOptions,
    ServerCapabilities, ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions, TextDocumentSyncSaveOptions, Url, WorkDoneProgressOptions,
    WorkspaceEdit,
};
use std::collections::HashMap;
use workspace::Workspace;

/// Why the server stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum LspError {
    #[error("the editor broke the protocol: {0}")]
    Protocol(#[from] lsp_server::ProtocolError),
    #[error("cannot encode a reply: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the connection to the editor closed: {0}")]
    Closed(String),
    #[error("stdin/stdout failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves one editor over stdin/stdout until it sends `exit`.
pub fn run_stdio() -> Result<(), LspError> {
    let (connection, io) = Connection::stdio();
    serve(&connection)?;
    drop(connection);
    io.join()?;
    Ok(())
}

/// What the server offers, announced in the `initialize` reply.
pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(false),
                })),
                ..TextDocumentSyncOptions::default()
            },
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".into(), " ".into()]),
            ..CompletionOptions::default()
        }),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        rename_provider: Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: WorkDoneProgressOptions::default(),
        })),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        ..ServerCapabilities::default()
    }
}

/// Runs the protocol on a connection (stdio, or in memory for tests).
pub fn serve(connection: &Connection) -> Result<(), LspError> {
    let init = serde_json::json!({
        "capabilities": capabilities(),
        "serverInfo": ServerInfo { name: "stave".into(), version: Some(env!("CARGO_PKG_VERSION").into()) },
    });
    let (id, params) = connection.initialize_start()?;
    let codes = |key: &str| -> Vec<Code> {
        params["initializationOptions"][key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str().and_then(Code::parse))
            .collect()
    };
    let (allowed, warned) = (codes("allow"), codes("warn"));
    connection
        .sender
        .send(Message::Response(Response::new_ok(id, init)))
        .map_err(|e| LspError::Closed(e.to_string()))?;
    let mut server = Server {
        ws: Workspace::default(),
        connection,
        allowed,
        warned,
    };
    for message in &connection.receiver {
        match message {
            Message::Request(req) => {
                if connection.handle_shutdown(&req)? {
                    return Ok(());
                }
                let id = req.id.clone();
                // A bug in one feature must not take the editor's diagnostics down with it.
                let response =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| server.request(req)))
                        .unwrap_or_else(|_| {
                            Response::new_err(
                        id,
                        ErrorCode::InternalError as i32,
                        "stave lsp failed on this request (a bug: please report it with the file)"
                            .into(),
                    )
                        });
                server.send(Message::Response(response))?;
            }
            Message::Notification(n) => server.notification(n)?,
            Message::Response(_) => {}
        }
    }
    Ok(())
}

struct Server<'c> {
    ws: Workspace,
    connection: &'c Connection,
    /// `initializationOptions: { "allow": [codes], "warn": [codes] }`, as `stave lint`'s
    /// `--allow` and `--warn`.
    allowed: Vec<Code>,
    warned: Vec<Code>,
}

impl Server<'_> {
    fn send(&self, message: Message) -> Result<(), LspError> {
        self.connection
            .sender
            .send(message)
            .map_err(|e| LspError::Closed(e.to_string()))
    }

    fn notification(&mut self, n: Notification) -> Result<(), LspError> {
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let p: lsp_types::DidOpenTextDocumentParams = serde_json::from_value(n.params)?;
                let uri = p.text_document.uri;
                self.ws
                    .open(uri.clone(), p.text_document.text, p.text_document.version);
                self.publish(&uri)?;
            }
            DidChangeTextDocument::METHOD => {
                let p: lsp_types::DidChangeTextDocumentParams = serde_json::from_value(n.params)?;
                let uri = p.text_document.uri;
                if let Some(open) = self.ws.open.get_mut(&uri) {
                    for change in &p.content_changes {
                        open.doc.apply(change);
                    }
                    open.doc.version = p.text_document.version;
                }
                self.ws.analyze(&uri);
                self.publish(&uri)?;
            }
            DidSaveTextDocument::METHOD => {
                let p: lsp_types::DidSaveTextDocumentParams = serde_json::from_value(n.params)?;
                self.changed_on_disk(&p.text_document.uri)?;
            }
            DidChangeWatchedFiles::METHOD => {
                let p: lsp_types::DidChangeWatchedFilesParams = serde_json::from_value(n.params)?;
                for change in p.changes {
                    self.changed_on_disk(&change.uri)?;
                }
            }
            DidCloseTextDocument::METHOD => {
                let p: lsp_types::DidCloseTextDocumentParams = serde_json::from_value(n.params)?;
                self.ws.open.remove(&p.text_document.uri);
                self.send_diagnostics(p.text_document.uri, Vec::new(), None)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// `stave.yaml` or the manifest changed: reload the project and re-check its open files.
    fn changed_on_disk(&mut self, uri: &Url) -> Result<(), LspError> {
        let Ok(path) = uri.to_file_path() else {
            return Ok(());
        };
        if !workspace::is_project_input(&path) {
            return Ok(());
        }
        for uri in self.ws.reload_project_of(&path) {
            self.publish(&uri)?;
        }
        if path
            .file_name()
            .is_some_and(|n| n == crate::check::PROJECT_FILE)
            && self.ws.open.contains_key(uri)
        {
            self.publish_project(uri, &path)?;
        }
        Ok(())
    }

    /// The problems `stave.yaml` itself has, on the open `stave.yaml`.
    fn publish_project(&mut self, uri: &Url, path: &std::path::Path) -> Result<(), LspError> {
        let key = workspace::project_key(path);
        let project = self.ws.project(&key);
        let Some(file) = project.sources.ids().find(|&id| {
            project
                .sources
                .path(id)
                .ends_with(crate::check::PROJECT_FILE)
        }) else {
            return Ok(());
        };
        let doc = Document::new(project.sources.text(file).to_string(), 0);
        let diagnostics = publish::to_lsp(&project.diagnostics, file, &doc, uri);
        self.send_diagnostics(uri.clone(), diagnostics, None)
    }

    fn publish(&mut self, uri: &Url) -> Result<(), LspError> {
        let Some(open) = self.ws.open.get(uri) else {
            return Ok(());
        };
        if open.form.is_none() {
            if open
                .path
                .file_name()
                .is_some_and(|n| n == crate::check::PROJECT_FILE)
            {
                let path = open.path.clone();
                return self.publish_project(uri, &path);
            }
            return Ok(());
        }
        let diagnostics = match &open.analyzed {
            Some(a) => {
                let reported: Vec<crate::diagnostics::Diagnostic> = a
                    .analysis
                    .diagnostics
                    .iter()
                    .filter(|d| d.code.reported(&self.allowed, &self.warned))
                    .cloned()
                    .collect();
                publish::to_lsp(&reported, a.file, &open.doc, uri)
            }
            None => Vec::new(),
        };
        self.send_diagnostics(uri.clone(), diagnostics, Some(open.doc.version))
    }

    fn send_diagnostics(
        &self,
        uri: Url,
        diagnostics: Vec<lsp_types::Diagnostic>,
        version: Option<i32>,
    ) -> Result<(), LspError> {
        let params = PublishDiagnosticsParams {
            uri,
            diagnostics,
            version,
        };
        self.send(Message::Notification(Notification::new(
            PublishDiagnostics::METHOD.into(),
            params,
        )))
    }

    fn request(&mut self, req: Request) -> Response {
        let id = req.id.clone();
        match self.answer(req) {
            Ok(value) => Response::new_ok(id, value),
            Err(Failure(code, message)) => Response::new_err(id, code as i32, message),
        }
    }

    fn answer(&mut self, req: Request) -> Result<serde_json::Value, Failure> {
        let Request { method, params, .. } = req;
        let value = match method.as_str() {
            HoverRequest::METHOD => {
                let p: lsp_types::HoverParams = parse(params)?;
                let uri = p.text_document_position_params.text_document.uri.clone();
                let t = self.target(&p.text_document_position_params)?;
                let Some(a) = &t.analyzed else {
                    return Ok(serde_json::Value::Null);
                };
                hover::hover(&mut self.ws, &uri, &t.path, a, t.offset)
                    .map(|(markdown, span)| lsp_types::Hover {
                        contents: HoverContents::Markup(MarkupContent {
                            kind: MarkupKind::Markdown,
                            value: markdown,
                        }),
                        range: Some(t.doc.range(span.start as usize, span.end as usize)),
                    })
                    .map(serde_json::to_value)
            }
            Completion::METHOD => {
                let p: lsp_types::CompletionParams = parse(params)?;
                let t = self.target(&p.text_document_position)?;
                let Some(form) = t.form else {
                    return Ok(serde_json::Value::Null);
                };
                let items =
                    completion::complete(&mut self.ws, &t.path, &t.doc.text, form, t.offset);
                Some(serde_json::to_value(lsp_types::CompletionResponse::Array(
                    items,
                )))
            }
            GotoDefinition::METHOD => {
                let p: lsp_types::GotoDefinitionParams = parse(params)?;
                let uri = p.text_document_position_params.text_document.uri.clone();
                let t = self.target(&p.text_document_position_params)?;
                let Some(a) = &t.analyzed else {
                    return Ok(serde_json::Value::Null);
                };
                navigate::definition(&mut self.ws, &uri, &t.path, a, &t.doc, t.offset)
                    .map(|l| serde_json::to_value(lsp_types::GotoDefinitionResponse::Scalar(l)))
            }
            References::METHOD => {
                let p: lsp_types::ReferenceParams = parse(params)?;
                let uri = p.text_document_position.text_document.uri.clone();
                let t = self.target(&p.text_document_position)?;
                let Some(a) = &t.analyzed else {
                    return Ok(serde_json::Value::Null);
                };
                navigate::references(&uri, a, &t.doc, t.offset, p.context.include_declaration)
                    .map(serde_json::to_value)
            }
            PrepareRenameRequest::METHOD => {
                let p: lsp_types::TextDocumentPositionParams = parse(params)?;
                let t = self.target(&p)?;
                let Some(a) = &t.analyzed else {
                    return Ok(serde_json::Value::Null);
                };
                let range = navigate::prepare_rename(a, &t.doc, t.offset)
                    .map_err(|m| Failure(ErrorCode::InvalidRequest, m))?;
                Some(serde_json::to_value(
                    lsp_types::PrepareRenameResponse::Range(range),
                ))
            }
            Rename::METHOD => {
                let p: lsp_types::RenameParams = parse(params)?;
                let uri = p.text_document_position.text_document.uri.clone();
                let t = self.target(&p.text_document_position)?;
                let Some(a) = &t.analyzed else {
                    return Ok(serde_json::Value::Null);
                };
                let edits = navigate::rename(a, &t.doc, t.offset, &p.new_name)
                    .map_err(|m| Failure(ErrorCode::InvalidRequest, m))?;
                Some(serde_json::to_value(WorkspaceEdit {
                    changes: Some(HashMap::from([(uri, edits)])),
                    ..WorkspaceEdit::default()
                }))
            }
            CodeActionRequest::METHOD => {
                let p: lsp_types::CodeActionParams = parse(params)?;
                let uri = p.text_document.uri.clone();
                let position = lsp_types::TextDocumentPositionParams {
                    text_document: p.text_document,
                    position: p.range.start,
                };
                let t = self.target(&position)?;
                let Some(a) = &t.analyzed else {
                    return Ok(serde_json::Value::Null);
                };
                let end = t.doc.offset(p.range.end);
                let actions = actions::quick_fixes(
                    &a.analysis.diagnostics,
                    a.file,
                    &t.doc.text,
                    &t.doc,
                    &uri,
                    (t.offset, end),
                );
                let actions: Vec<lsp_types::CodeActionOrCommand> = actions
                    .into_iter()
                    .map(lsp_types::CodeActionOrCommand::CodeAction)
                    .collect();
                Some(serde_json::to_value(actions))
            }
            DocumentSymbolRequest::METHOD => {
                let p: lsp_types::DocumentSymbolParams = parse(params)?;
                let position = lsp_types::TextDocumentPositionParams {
                    text_document: p.text_document,
                    position: lsp_types::Position::new(0, 0),
                };
                let t = self.target(&position)?;
                let Some(wf) = t.analyzed.as_ref().and_then(|a| a.ast()) else {
                    return Ok(serde_json::Value::Null);
                };
                Some(serde_json::to_value(
                    lsp_types::DocumentSymbolResponse::Nested(outline::symbols(wf, &t.doc)),
                ))
            }
            _ => {
                return Err(Failure(
                    ErrorCode::MethodNotFound,
                    format!("`{method}` is not supported by stave lsp"),
                ));
            }
        };
        match value {
            Some(v) => v.map_err(|e| Failure(ErrorCode::InternalError, e.to_string())),
            None => Ok(serde_json::Value::Null),
        }
    }

    /// The open document a request is about, its analysis and the cursor's byte offset.
    fn target(&self, at: &lsp_types::TextDocumentPositionParams) -> Result<Target, Failure> {
        let uri = &at.text_document.uri;
        let open = self.ws.open.get(uri).ok_or_else(|| {
            Failure(
                ErrorCode::InvalidParams,
                format!("`{uri}` is not open: send textDocument/didOpen first"),
            )
        })?;
        Ok(Target {
            path: open.path.clone(),
            form: open.form,
            offset: open.doc.offset(at.position),
            doc: open.doc.clone(),
            analyzed: open.analyzed.clone(),
        })
    }
}

/// What a request about a position works on.
struct Target {
    path: std::path::PathBuf,
    form: Option<crate::check::Form>,
    doc: Document,
    analyzed: Option<std::rc::Rc<workspace::Analyzed>>,
    offset: usize,
}

struct Failure(ErrorCode, String);

fn parse<T: serde::de::DeserializeOwned>(params: serde_json::Value) -> Result<T, Failure> {
    serde_json::from_value(params).map_err(|e| Failure(ErrorCode::InvalidParams, e.to_string()))
}

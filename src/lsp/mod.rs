//! `rollout lsp`: the checker behind the Language Server Protocol, over stdin and stdout.
//!
//! Built on `lsp-server` (rust-analyzer's transport: synchronous, small, no async runtime to
//! share) and `lsp-types`. Documents are kept whole (full sync); each change is checked again
//! and its diagnostics published, with those of the files it imports and the hooks it runs.
//! What each request answers is [`analysis`].

pub mod analysis;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use lsp_server::{Connection, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, Notification as _,
    PublishDiagnostics,
};
use lsp_types::request::{Completion, Formatting, GotoDefinition, HoverRequest, Request as _};
use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionOptions, Diagnostic,
    DiagnosticRelatedInformation, DiagnosticSeverity, GotoDefinitionResponse, Hover, HoverContents,
    HoverProviderCapability, Location, MarkupContent, MarkupKind, NumberOrString, OneOf,
    PublishDiagnosticsParams, ServerCapabilities, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextEdit, Url,
};

use analysis::{Position, Range};

/// Serves until the editor says `exit`; the exit code.
pub fn serve() -> i32 {
    let (connection, threads) = Connection::stdio();
    let capabilities = ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec!["{".into()]),
            ..CompletionOptions::default()
        }),
        definition_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        ..ServerCapabilities::default()
    };
    let capabilities = serde_json::to_value(capabilities).expect("capabilities serialise");
    if let Err(e) = connection.initialize(capabilities) {
        eprintln!("error: rollout lsp: {e}");
        return crate::exit::INVALID;
    }
    let mut server = Server {
        connection: &connection,
        documents: BTreeMap::new(),
        published: BTreeMap::new(),
    };
    let code = server.run();
    drop(connection);
    let _ = threads.join();
    code
}

struct Server<'c> {
    connection: &'c Connection,
    documents: BTreeMap<Url, String>,
    /// Files that got diagnostics because of each open document.
    published: BTreeMap<Url, BTreeSet<Url>>,
}

impl Server<'_> {
    fn run(&mut self) -> i32 {
        for message in &self.connection.receiver {
            match message {
                Message::Request(request) => {
                    match self.connection.handle_shutdown(&request) {
                        Ok(true) => return crate::exit::OK,
                        Ok(false) => {}
                        Err(_) => return crate::exit::INVALID,
                    }
                    let response = self.answer(&request);
                    let _ = self.connection.sender.send(Message::Response(response));
                }
                Message::Notification(notification) => self.notice(notification),
                Message::Response(_) => {}
            }
        }
        crate::exit::OK
    }

    fn notice(&mut self, notification: Notification) {
        match notification.method.as_str() {
            DidOpenTextDocument::METHOD => {
                if let Ok(p) = serde_json::from_value::<lsp_types::DidOpenTextDocumentParams>(
                    notification.params,
                ) {
                    self.documents
                        .insert(p.text_document.uri.clone(), p.text_document.text);
                    self.publish(&p.text_document.uri);
                }
            }
            DidChangeTextDocument::METHOD => {
                if let Ok(p) = serde_json::from_value::<lsp_types::DidChangeTextDocumentParams>(
                    notification.params,
                ) {
                    if let Some(change) = p.content_changes.into_iter().last() {
                        self.documents
                            .insert(p.text_document.uri.clone(), change.text);
                        self.publish(&p.text_document.uri);
                    }
                }
            }
            DidCloseTextDocument::METHOD => {
                if let Ok(p) = serde_json::from_value::<lsp_types::DidCloseTextDocumentParams>(
                    notification.params,
                ) {
                    self.documents.remove(&p.text_document.uri);
                }
            }
            _ => {}
        }
    }

    /// Checks the document and publishes its diagnostics and those of the files it touches,
    /// clearing files that no longer have any.
    fn publish(&mut self, uri: &Url) {
        let Some(text) = self.documents.get(uri) else {
            return;
        };
        let path = path_of(uri);
        let by_file = analysis::diagnostics(&path, text);
        let mut now = BTreeSet::new();
        for (file, shown) in by_file {
            let Ok(file_uri) = Url::from_file_path(&file) else {
                continue;
            };
            let diagnostics = shown
                .into_iter()
                .map(|s| diagnostic(&file_uri, s))
                .collect();
            self.send_diagnostics(file_uri.clone(), diagnostics);
            now.insert(file_uri);
        }
        let before = self
            .published
            .insert(uri.clone(), now.clone())
            .unwrap_or_default();
        for gone in before.difference(&now) {
            self.send_diagnostics(gone.clone(), Vec::new());
        }
    }

    fn send_diagnostics(&self, uri: Url, diagnostics: Vec<Diagnostic>) {
        let params = PublishDiagnosticsParams {
            uri,
            diagnostics,
            version: None,
        };
        let notification = Notification::new(PublishDiagnostics::METHOD.to_string(), params);
        let _ = self
            .connection
            .sender
            .send(Message::Notification(notification));
    }

    fn answer(&self, request: &Request) -> Response {
        let id = request.id.clone();
        let params = request.params.clone();
        let result = match request.method.as_str() {
            HoverRequest::METHOD => serde_json::from_value::<lsp_types::HoverParams>(params)
                .ok()
                .and_then(|p| {
                    let doc = p.text_document_position_params;
                    let text = self.documents.get(&doc.text_document.uri)?;
                    let markdown =
                        analysis::hover(&path_of(&doc.text_document.uri), text, pos(doc.position))?;
                    Some(Hover {
                        contents: HoverContents::Markup(MarkupContent {
                            kind: MarkupKind::Markdown,
                            value: markdown,
                        }),
                        range: None,
                    })
                })
                .map(|h| serde_json::to_value(h).unwrap_or_default()),
            Completion::METHOD => serde_json::from_value::<lsp_types::CompletionParams>(params)
                .ok()
                .and_then(|p| {
                    let doc = p.text_document_position;
                    let text = self.documents.get(&doc.text_document.uri)?;
                    let items: Vec<CompletionItem> = analysis::complete(
                        &path_of(&doc.text_document.uri),
                        text,
                        pos(doc.position),
                    )
                    .into_iter()
                    .map(|c| CompletionItem {
                        label: c.label,
                        kind: Some(match c.kind {
                            "metric" => CompletionItemKind::FIELD,
                            "parameter" => CompletionItemKind::VARIABLE,
                            "step" => CompletionItemKind::FUNCTION,
                            _ => CompletionItemKind::KEYWORD,
                        }),
                        detail: Some(c.detail),
                        ..CompletionItem::default()
                    })
                    .collect();
                    serde_json::to_value(items).ok()
                }),
            GotoDefinition::METHOD => {
                serde_json::from_value::<lsp_types::GotoDefinitionParams>(params)
                    .ok()
                    .and_then(|p| {
                        let doc = p.text_document_position_params;
                        let text = self.documents.get(&doc.text_document.uri)?;
                        let (file, range) = analysis::definition(
                            &path_of(&doc.text_document.uri),
                            text,
                            pos(doc.position),
                        )?;
                        let uri = Url::from_file_path(file).ok()?;
                        serde_json::to_value(GotoDefinitionResponse::Scalar(Location {
                            uri,
                            range: lsp_range(range),
                        }))
                        .ok()
                    })
            }
            Formatting::METHOD => {
                serde_json::from_value::<lsp_types::DocumentFormattingParams>(params)
                    .ok()
                    .and_then(|p| {
                        let text = self.documents.get(&p.text_document.uri)?;
                        let formatted = analysis::format(text)?;
                        let end = analysis::position(text, text.len());
                        let edit = TextEdit {
                            range: lsp_types::Range {
                                start: lsp_types::Position::new(0, 0),
                                end: lsp_types::Position::new(end.line, end.character),
                            },
                            new_text: formatted,
                        };
                        serde_json::to_value(vec![edit]).ok()
                    })
            }
            _ => {
                return Response::new_err(
                    id,
                    lsp_server::ErrorCode::MethodNotFound as i32,
                    format!("rollout lsp does not answer {}", request.method),
                )
            }
        };
        Response::new_ok(id, result.unwrap_or(serde_json::Value::Null))
    }
}

/// The path of a `file:` URI (or its text, for another scheme).
fn path_of(uri: &Url) -> PathBuf {
    uri.to_file_path()
        .unwrap_or_else(|_| Path::new(uri.path()).to_path_buf())
}

fn pos(p: lsp_types::Position) -> Position {
    Position {
        line: p.line,
        character: p.character,
    }
}

fn lsp_range(r: Range) -> lsp_types::Range {
    lsp_types::Range {
        start: lsp_types::Position::new(r.start.line, r.start.character),
        end: lsp_types::Position::new(r.end.line, r.end.character),
    }
}

fn diagnostic(uri: &Url, shown: analysis::Shown) -> Diagnostic {
    Diagnostic {
        range: lsp_range(shown.range),
        severity: Some(if shown.error {
            DiagnosticSeverity::ERROR
        } else {
            DiagnosticSeverity::WARNING
        }),
        code: Some(NumberOrString::String(shown.code)),
        source: Some("rollout".into()),
        message: shown.message,
        related_information: (!shown.related.is_empty()).then(|| {
            shown
                .related
                .into_iter()
                .map(|(range, message)| DiagnosticRelatedInformation {
                    location: Location {
                        uri: uri.clone(),
                        range: lsp_range(range),
                    },
                    message,
                })
                .collect()
        }),
        ..Diagnostic::default()
    }
}

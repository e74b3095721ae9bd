//! `rollout lsp`: the checker behind the Language Server Protocol, over stdin and stdout.
//!
//! Built on `lsp-server` (rust-analyzer's transport: synchronous, small, no async runtime to
//! share) and `lsp-types`. Documents are kept whole (full sync); each change is checked again
//! and its diagnostics published, with those of the files it imports and the hooks it runs.
//! Each request is answered by a module of its own, without I/O beyond reading imported files:
//! [`diagnostics`], [`hover`], [`complete`], [`definition`] and [`formatting`], over a
//! [`document`] and places in its [`text`]. Nothing there may panic on half-typed text: every
//! keystroke of every example is a test.

pub mod complete;
pub mod definition;
pub mod diagnostics;
pub mod document;
pub mod formatting;
pub mod hover;
#[cfg(test)]
mod tests;
pub mod text;
mod transport;
mod words;

use transport::Incoming;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use lsp_server::{Message, Notification, Request, Response};
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
use serde_json::{json, Value};

use document::Doc;
use text::{Position, Range};

/// The exit code when the editor ends the session without `shutdown` first (`exit` alone, or
/// closing stdin), as the protocol specifies.
const EXIT_WITHOUT_SHUTDOWN: i32 = 1;

/// JSON-RPC: a request before `initialize`.
const SERVER_NOT_INITIALIZED: i32 = -32002;

/// Serves until the editor says `exit`, or stdin ends; the exit code.
pub fn serve() -> i32 {
    let (sender, receiver) = std::sync::mpsc::sync_channel(16);
    // The reader may block on stdin after the server is done: it is not waited for.
    std::thread::spawn(move || transport::read_all(std::io::stdin().lock(), sender));
    let mut server = Server {
        output: std::io::stdout(),
        documents: BTreeMap::new(),
        published: BTreeMap::new(),
        state: State::Starting,
    };
    server.run(&receiver)
}

/// Where the session is in the protocol's lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before `initialize`.
    Starting,
    /// Answering.
    Running,
    /// After `shutdown`: only `exit` is expected.
    ShutDown,
}

struct Server {
    output: std::io::Stdout,
    documents: BTreeMap<Url, String>,
    /// Files that got diagnostics because of each open document.
    published: BTreeMap<Url, BTreeSet<Url>>,
    state: State,
}

impl Server {
    fn run(&mut self, receiver: &std::sync::mpsc::Receiver<Incoming>) -> i32 {
        for incoming in receiver {
            let message = match incoming {
                Incoming::Message(message) => message,
                Incoming::Invalid { code, message } => {
                    if !transport::write_error(&mut self.output.lock(), code, &message) {
                        return EXIT_WITHOUT_SHUTDOWN;
                    }
                    continue;
                }
            };
            let sent = match message {
                Message::Request(request) => {
                    let response = self.request(&request);
                    self.send(Message::Response(response))
                }
                Message::Notification(notification) if notification.method == "exit" => {
                    return if self.state == State::ShutDown {
                        crate::exit::OK
                    } else {
                        EXIT_WITHOUT_SHUTDOWN
                    };
                }
                Message::Notification(notification) => {
                    if self.state == State::Running {
                        self.notice(notification);
                    }
                    true
                }
                Message::Response(_) => true,
            };
            if !sent {
                return EXIT_WITHOUT_SHUTDOWN;
            }
        }
        // Stdin ended: the editor is gone.
        if self.state == State::ShutDown {
            crate::exit::OK
        } else {
            EXIT_WITHOUT_SHUTDOWN
        }
    }

    /// Answers a request as the lifecycle allows.
    fn request(&mut self, request: &Request) -> Response {
        let id = request.id.clone();
        let error = |code: i32, message: &str| Response::new_err(id.clone(), code, message.into());
        match (self.state, request.method.as_str()) {
            (State::Starting, "initialize") => {
                self.state = State::Running;
                Response::new_ok(id, json!({ "capabilities": capabilities() }))
            }
            (State::Starting, _) => error(SERVER_NOT_INITIALIZED, "initialize comes first"),
            (State::Running, "initialize") => {
                error(transport::INVALID_REQUEST, "already initialized")
            }
            (State::Running, "shutdown") => {
                self.state = State::ShutDown;
                Response::new_ok(id, Value::Null)
            }
            (State::Running, _) => self.answer(request),
            (State::ShutDown, _) => error(
                transport::INVALID_REQUEST,
                "the server is shut down; only `exit` is expected",
            ),
        }
    }

    fn send(&self, message: Message) -> bool {
        transport::write(&mut self.output.lock(), &message)
    }

    fn notice(&mut self, notification: Notification) {
        match notification.method.as_str() {
            DidOpenTextDocument::METHOD => {
                if let Ok(p) = serde_json::from_value::<lsp_types::DidOpenTextDocumentParams>(
                    notification.params,
                ) {
                    self.open(p.text_document.uri, p.text_document.text);
                }
            }
            DidChangeTextDocument::METHOD => {
                if let Ok(p) = serde_json::from_value::<lsp_types::DidChangeTextDocumentParams>(
                    notification.params,
                ) {
                    if let Some(change) = p.content_changes.into_iter().last() {
                        self.open(p.text_document.uri, change.text);
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

    /// Keeps the text of a document and publishes its diagnostics. A text larger than
    /// `rollout` reads is not kept (nor checked): one diagnostic says so.
    fn open(&mut self, uri: Url, text: String) {
        if text.len() as u64 > crate::input::MAX_TEXT_BYTES {
            self.documents.remove(&uri);
            let too_large = Diagnostic {
                severity: Some(DiagnosticSeverity::ERROR),
                code: Some(NumberOrString::String("rollout::too-large".into())),
                source: Some("rollout".into()),
                message: format!(
                    "this playbook is larger than {}, the most rollout reads\nhelp: {}",
                    crate::input::size(crate::input::MAX_TEXT_BYTES),
                    crate::input::ReadError::TooLarge { limit: 0 }.hint()
                ),
                ..Diagnostic::default()
            };
            self.send_diagnostics(uri, vec![too_large]);
            return;
        }
        self.documents.insert(uri.clone(), text);
        self.publish(&uri);
    }

    /// Checks the document and publishes its diagnostics and those of the files it touches,
    /// clearing files that no longer have any.
    fn publish(&mut self, uri: &Url) {
        let Some(text) = self.documents.get(uri) else {
            return;
        };
        let path = path_of(uri);
        let doc = doc(uri, &path);
        let by_file = diagnostics::diagnostics(doc, text);
        let mut now = BTreeSet::new();
        for (file, shown) in by_file {
            let file_uri = if file == path {
                uri.clone()
            } else {
                match Url::from_file_path(&file) {
                    Ok(file_uri) => file_uri,
                    Err(()) => continue,
                }
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
        self.send(Message::Notification(notification));
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
                    let markdown = hover::hover(
                        self::doc(&doc.text_document.uri, &path_of(&doc.text_document.uri)),
                        text,
                        pos(doc.position),
                    )?;
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
                    let items: Vec<CompletionItem> = complete::complete(
                        self::doc(&doc.text_document.uri, &path_of(&doc.text_document.uri)),
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
                        let (file, range) = definition::definition(
                            self::doc(&doc.text_document.uri, &path_of(&doc.text_document.uri)),
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
                        let uri = &p.text_document.uri;
                        let text = self.documents.get(uri)?;
                        let formatted = formatting::format(doc(uri, &path_of(uri)), text)?;
                        let end = text::position(text, text.len());
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

/// The path of a `file:` URI (or its path, as a name only, for another scheme).
fn path_of(uri: &Url) -> PathBuf {
    uri.to_file_path()
        .unwrap_or_else(|_| Path::new(uri.path()).to_path_buf())
}

/// The document at `uri`: on disk only for a `file:` URI, so that nothing is read on behalf of
/// an untitled or remote document, whatever its imports say.
fn doc<'a>(uri: &Url, path: &'a Path) -> Doc<'a> {
    Doc {
        path,
        on_disk: uri.scheme() == "file" && uri.to_file_path().is_ok(),
    }
}

/// What the server can do.
fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec!["{".into()]),
            ..CompletionOptions::default()
        }),
        definition_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        ..ServerCapabilities::default()
    }
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

fn diagnostic(uri: &Url, shown: diagnostics::Shown) -> Diagnostic {
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

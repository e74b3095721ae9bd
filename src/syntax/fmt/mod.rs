//! The canonical printer behind `rollout fmt`.
//!
//! Layout: headers first in a fixed order (targets and waves, windows, imports, params, health,
//! hooks, notifications, step definitions), a blank line between groups, then the steps; one statement per line, two spaces
//! per block level, single spaces between tokens; a wave of one `region` line on one line when it
//! fits. Comments stay with the statement they were written on or above. Values are printed as
//! written, so formatting never changes meaning.

use super::ast::*;
use super::comments::{self, Comment};
use crate::span::Span;
pub use lines::{expr, string};
use lines::{health_item, hook, literal, metric_item, value, wave_item, window_header};

mod lines;

/// Formats a parsed file; `text` is the source it was parsed from (for the comments, and its
/// line ends: CRLF stays CRLF).
pub fn format(file: &File, text: &str) -> String {
    let comments = comments::scan(text);
    let mut printer = Printer {
        comment_starts: comments.iter().map(|c| c.start).collect(),
        newlines: text.match_indices('\n').map(|(i, _)| i).collect(),
        ..Printer::default()
    };
    let mut headers: Vec<&Header> = file
        .statements
        .iter()
        .filter_map(|s| match s {
            Statement::Header(h) => Some(h),
            Statement::Step(_) => None,
        })
        .collect();
    headers.sort_by_key(|h| order(&h.kind));
    let mut last_group: Option<(u8, bool)> = None;
    for header in headers {
        let rank = group(&header.kind);
        let own_group = matches!(header.kind, HeaderKind::Health(_) | HeaderKind::StepDef(_));
        printer.blank = last_group.is_some_and(|(r, own)| r != rank || own || own_group);
        printer.header(header);
        last_group = Some((rank, own_group));
    }
    printer.blank = last_group.is_some();
    for statement in &file.statements {
        if let Statement::Step(step) = statement {
            printer.step(step, 0);
            printer.blank = false;
        }
    }
    let formatted = printer.render(text, comments);
    // A file written with CRLF line ends (Windows editors) keeps them.
    if text.find('\n').is_some_and(|at| text[..at].ends_with('\r')) {
        formatted.replace("\r\n", "\n").replace('\n', "\r\n")
    } else {
        formatted
    }
}

/// Whether two files say the same thing up to layout: the same headers (in any order) and the
/// same steps in the same order.
pub fn same_statements(a: &File, b: &File) -> bool {
    fn canonical(file: &File) -> Vec<&Statement> {
        let mut headers: Vec<&Statement> = file
            .statements
            .iter()
            .filter(|s| matches!(s, Statement::Header(_)))
            .collect();
        headers.sort_by_key(|s| match s {
            Statement::Header(h) => order(&h.kind),
            Statement::Step(_) => u8::MAX,
        });
        headers.extend(
            file.statements
                .iter()
                .filter(|s| matches!(s, Statement::Step(_))),
        );
        headers
    }
    canonical(a) == canonical(b)
}

/// Headers print in this order.
fn order(kind: &HeaderKind) -> u8 {
    match kind {
        HeaderKind::Rollout(_) => 0,
        HeaderKind::Function(_) => 1,
        HeaderKind::Alias(_) => 2,
        HeaderKind::Region(_) => 3,
        HeaderKind::Waves(_) => 4,
        HeaderKind::Window(WindowHeader::Weekly(_)) => 5,
        HeaderKind::Window(WindowHeader::Calendar(_)) => 6,
        HeaderKind::Window(WindowHeader::Outside(_)) => 7,
        _ => group(kind),
    }
}

/// A blank line separates headers of different groups.
fn group(kind: &HeaderKind) -> u8 {
    match kind {
        HeaderKind::Rollout(_)
        | HeaderKind::Function(_)
        | HeaderKind::Alias(_)
        | HeaderKind::Region(_)
        | HeaderKind::Waves(_) => 0,
        HeaderKind::Window(_) => 5,
        HeaderKind::Import(_) => 10,
        HeaderKind::Param { .. } => 20,
        HeaderKind::Health(_) => 30,
        HeaderKind::OnHook { .. } => 40,
        HeaderKind::Keep(_) => 42,
        HeaderKind::Metric(_) => 25,
        HeaderKind::Notify { .. } => 45,
        HeaderKind::StepDef(_) => 50,
    }
}

#[derive(Debug)]
struct Line {
    indent: usize,
    text: String,
    /// Source offset of what the line prints; comments attach by it.
    anchor: usize,
    /// A closing brace: comments before it belong inside the block.
    closes: bool,
    blank_before: bool,
    leading: Vec<Comment>,
    trailing: Option<String>,
}

/// The widest a one-line wave may be, indentation included; a wider one spreads over lines.
const WIDTH: usize = 100;

#[derive(Debug, Default)]
struct Printer {
    lines: Vec<Line>,
    blank: bool,
    /// Where each comment of the source starts: a block holding one keeps its lines.
    comment_starts: Vec<usize>,
    /// Where each newline of the source is.
    newlines: Vec<usize>,
}

impl Printer {
    fn line(&mut self, indent: usize, text: String, anchor: usize) {
        self.lines.push(Line {
            indent,
            text,
            anchor,
            closes: false,
            blank_before: std::mem::take(&mut self.blank),
            leading: Vec::new(),
            trailing: None,
        });
    }

    fn close(&mut self, indent: usize, anchor: usize) {
        self.line(indent, "}".to_string(), anchor);
        if let Some(last) = self.lines.last_mut() {
            last.closes = true;
        }
    }

    fn header(&mut self, header: &Header) {
        let at = header.span.start;
        match &header.kind {
            HeaderKind::Rollout(s) => self.line(0, format!("rollout {}", string(s)), at),
            HeaderKind::Function(selectors) => {
                let selectors: Vec<String> = selectors
                    .iter()
                    .map(|s| match s.tagged {
                        true => format!("tagged {}", string(&s.text)),
                        false => string(&s.text),
                    })
                    .collect();
                self.line(0, format!("function {}", selectors.join(", ")), at);
            }
            HeaderKind::Alias(s) => self.line(0, format!("alias {}", string(s)), at),
            HeaderKind::Region(s) => self.line(0, format!("region {}", string(s)), at),
            HeaderKind::Param { name, value } => {
                self.line(0, format!("param {} = {}", name.name, literal(value)), at);
            }
            HeaderKind::Import(s) => self.line(0, format!("import {}", string(s)), at),
            HeaderKind::Health(block) => {
                let every = block
                    .every
                    .as_ref()
                    .map(|v| format!(" every {}", value(v)))
                    .unwrap_or_default();
                self.line(0, format!("health{every} {{"), at);
                for item in &block.items {
                    self.line(1, health_item(&item.kind), item.span.start);
                }
                self.close(0, block.close.start);
            }
            HeaderKind::Waves(block) => {
                self.line(0, "waves {".to_string(), at);
                for item in &block.items {
                    match &item.kind {
                        WavesItemKind::Wave(wave) => self.wave(wave, item.span),
                        WavesItemKind::Between {
                            duration,
                            until_healthy,
                        } => self.line(
                            1,
                            format!(
                                "between waves wait {}{}",
                                value(duration),
                                if *until_healthy { " until healthy" } else { "" }
                            ),
                            item.span.start,
                        ),
                        WavesItemKind::OnFailure(scope) => self.line(
                            1,
                            format!("on failure rollback {}", scope.as_str()),
                            item.span.start,
                        ),
                    }
                }
                self.close(0, block.close.start);
            }
            HeaderKind::Window(window) => self.line(0, window_header(window), at),
            HeaderKind::Notify { service, target } => self.line(
                0,
                format!("notify {} {}", service.as_str(), string(target)),
                at,
            ),
            HeaderKind::Keep(n) => self.line(0, format!("keep {} versions", value(n)), at),
            HeaderKind::Metric(def) => {
                self.line(0, format!("metric {} {{", def.name.name), at);
                for item in &def.items {
                    self.line(1, metric_item(&item.kind), item.span.start);
                }
                self.close(0, def.close.start);
            }
            HeaderKind::OnHook { event, hook: h } => {
                let event = match event {
                    HookEvent::Failure => "failure",
                    HookEvent::Success => "success",
                };
                self.line(0, format!("on {event} run {}", hook(h)), at);
            }
            HeaderKind::StepDef(def) => {
                let params: Vec<&str> = def.params.iter().map(|p| p.name.as_str()).collect();
                self.line(
                    0,
                    format!("step {}({}) {{", def.name.name, params.join(", ")),
                    at,
                );
                for step in &def.body.steps {
                    self.step(step, 1);
                }
                self.close(0, def.body.close.start);
            }
        }
    }

    /// `wave "name" { region "a" }` on one line when that is all it holds, it fits in [`WIDTH`]
    /// and no comment would have to leave it; otherwise a line for each of its lines.
    fn wave(&mut self, wave: &WaveDef, span: Span) {
        let head = format!("wave {}", string(&wave.name));
        let items: Vec<String> = wave.items.iter().map(|i| wave_item(&i.kind)).collect();
        let one_line = format!("{head} {{ {} }}", items.join("; "));
        let regions_only = matches!(
            wave.items.as_slice(),
            [WaveItem {
                kind: WaveItemKind::Regions(_),
                ..
            }]
        );
        if regions_only && 2 + one_line.chars().count() <= WIDTH && !self.comment_inside(span) {
            self.line(1, one_line, span.start);
            return;
        }
        self.line(1, format!("{head} {{"), span.start);
        for (item, text) in wave.items.iter().zip(items) {
            self.line(2, text, item.span.start);
        }
        self.close(1, wave.close.start);
    }

    /// Whether a comment starts inside `span`, or, when `span` runs over several lines, after it
    /// on its last line (it ends the line of the closing brace, which one line would not have).
    fn comment_inside(&self, span: Span) -> bool {
        let line_of = |offset: usize| self.newlines.partition_point(|&n| n < offset);
        let end = if line_of(span.start) == line_of(span.end) {
            span.end
        } else {
            self.newlines
                .get(line_of(span.end))
                .copied()
                .unwrap_or(usize::MAX)
        };
        self.comment_starts
            .iter()
            .any(|&c| span.start < c && c < end)
    }

    fn step(&mut self, step: &Step, indent: usize) {
        let at = step.span.start;
        let text = match &step.kind {
            StepKind::UpdateCode(s) => format!("update code from {}", string(s)),
            StepKind::Publish(None) => "publish".to_string(),
            StepKind::Publish(Some(s)) => format!("publish {}", string(s)),
            StepKind::UseVersion(v) => format!("use version {}", value(v)),
            StepKind::Shift(v) => format!("shift {} to new", value(v)),
            StepKind::Ramp { to, by, every } => format!(
                "ramp to {} by {} every {}",
                value(to),
                value(by),
                value(every)
            ),
            StepKind::Wait {
                duration,
                longest,
                until_healthy,
            } => format!(
                "wait {}{}{}",
                value(duration),
                longest
                    .as_ref()
                    .map(|l| format!("..{}", value(l)))
                    .unwrap_or_default(),
                if *until_healthy { " until healthy" } else { "" }
            ),
            StepKind::Approve(None) => "approve".to_string(),
            StepKind::Approve(Some(s)) => format!("approve {}", string(s)),
            StepKind::Run(h) => format!("run {}", hook(h)),
            StepKind::Promote => "promote".to_string(),
            StepKind::Watch(d) => format!("watch {}", value(d)),
            StepKind::Rollback => "rollback".to_string(),
            StepKind::Call { name, args } => {
                let args: Vec<String> = args.iter().map(value).collect();
                format!("{}({})", name.name, args.join(", "))
            }
            StepKind::Block(block) => {
                self.line(indent, "{".to_string(), at);
                for inner in &block.steps {
                    self.step(inner, indent + 1);
                }
                self.close(indent, block.close.start);
                return;
            }
        };
        self.line(indent, text, at);
    }

    /// Attaches comments to lines, then prints.
    fn render(mut self, text: &str, comments: Vec<Comment>) -> String {
        let newlines: Vec<usize> = text.match_indices('\n').map(|(i, _)| i).collect();
        let line_of = |offset: usize| newlines.partition_point(|&n| n < offset);
        // The printed lines in source order, to find each comment's line by bisection.
        let mut by_anchor: Vec<usize> = (0..self.lines.len()).collect();
        by_anchor.sort_by_key(|&i| self.lines[i].anchor);
        // Comments above the first statement and set off from it by a blank line head the file
        // and stay at the top, wherever the statements move.
        let first = self
            .lines
            .iter()
            .map(|l| l.anchor)
            .min()
            .unwrap_or(usize::MAX);
        let before_first = comments
            .iter()
            .take_while(|c| c.start < first && c.own_line)
            .count();
        let head_len = comments[..before_first]
            .iter()
            .rposition(|c| c.blank_after)
            .map_or(0, |i| i + 1);
        let mut comments = comments;
        let rest = comments.split_off(head_len);
        let mut out = String::new();
        for comment in &comments {
            push_line(&mut out, 0, &comment.text);
            if comment.blank_after {
                out.push('\n');
            }
        }
        let mut dangling = Vec::new();
        for comment in rest {
            // The first printed line whose code comes after the comment.
            let after = by_anchor.partition_point(|&i| self.lines[i].anchor <= comment.start);
            if !comment.own_line && after > 0 {
                // A comment after code ends the last line before it, when on the same line.
                let before = by_anchor[after - 1];
                if line_of(self.lines[before].anchor) == line_of(comment.start)
                    && self.lines[before].anchor < comment.start
                {
                    self.lines[before].trailing = Some(comment.text);
                    continue;
                }
            }
            match by_anchor[after..]
                .iter()
                .find(|&&i| self.lines[i].anchor > comment.start)
            {
                Some(&i) => self.lines[i].leading.push(comment),
                None => dangling.push(comment),
            }
        }
        for line in &self.lines {
            if line.blank_before {
                out.push('\n');
            }
            let comment_indent = line.indent + usize::from(line.closes);
            for comment in &line.leading {
                push_line(&mut out, comment_indent, &comment.text);
                if comment.blank_after {
                    out.push('\n');
                }
            }
            match &line.trailing {
                Some(comment) => {
                    push_line(&mut out, line.indent, &format!("{}  {comment}", line.text))
                }
                None => push_line(&mut out, line.indent, &line.text),
            }
        }
        for (i, comment) in dangling.iter().enumerate() {
            if i == 0 && !self.lines.is_empty() {
                out.push('\n');
            }
            push_line(&mut out, 0, &comment.text);
            if comment.blank_after && i + 1 < dangling.len() {
                out.push('\n');
            }
        }
        out
    }
}

fn push_line(out: &mut String, indent: usize, text: &str) {
    for _ in 0..indent {
        out.push_str("  ");
    }
    out.push_str(text);
    out.push('\n');
}

#[cfg(test)]
mod tests;

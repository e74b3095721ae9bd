//! The `waves` block as written.

use super::{Str, Value};
use crate::span::Span;

/// `waves { … }`
#[derive(Debug, Clone, PartialEq)]
pub struct WavesBlock {
    /// The block's lines, in the order written.
    pub items: Vec<WavesItem>,
    /// The closing brace.
    pub close: Span,
}

/// One line of a `waves` block.
#[derive(Debug, Clone, PartialEq)]
pub struct WavesItem {
    /// What the line says.
    pub kind: WavesItemKind,
    /// The whole line, a wave's braces included.
    pub span: Span,
}

/// The lines a `waves` block may hold.
#[derive(Debug, Clone, PartialEq)]
pub enum WavesItemKind {
    /// `wave "name" { … }`
    Wave(WaveDef),
    /// `between waves wait D [until healthy]`
    Between {
        /// How long.
        duration: Value,
        /// Whether the waves done are judged meanwhile.
        until_healthy: bool,
    },
    /// `on failure rollback this wave|every wave`
    OnFailure(WaveScope),
}

/// What `on failure rollback` rolls back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaveScope {
    /// `this wave`
    ThisWave,
    /// `every wave`
    EveryWave,
}

impl WaveScope {
    /// The words after `rollback`.
    pub fn as_str(self) -> &'static str {
        match self {
            WaveScope::ThisWave => "this wave",
            WaveScope::EveryWave => "every wave",
        }
    }
}

/// `wave "name" { … }`
#[derive(Debug, Clone, PartialEq)]
pub struct WaveDef {
    /// Its name.
    pub name: Str,
    /// Its lines, in the order written.
    pub items: Vec<WaveItem>,
    /// The closing brace.
    pub close: Span,
}

/// One line of a `wave` block.
#[derive(Debug, Clone, PartialEq)]
pub struct WaveItem {
    /// What the line says.
    pub kind: WaveItemKind,
    /// The whole line.
    pub span: Span,
}

/// The lines a `wave` block may hold.
#[derive(Debug, Clone, PartialEq)]
pub enum WaveItemKind {
    /// `region "a", "b"`
    Regions(Vec<Str>),
    /// `account "ID" role "ARN" [external id "X"]`
    Account {
        /// The 12-digit account id.
        id: Str,
        /// The role's ARN.
        role: Str,
        /// `external id "X"`, when written.
        external_id: Option<Str>,
    },
}

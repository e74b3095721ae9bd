//! What people ask of a running rollout through its lease marker (`rollout pause`, `resume`,
//! `promote`), and how a pause's reason is kept in one token of the marker.

/// What people ask of a running rollout from any machine, through its lease.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Control {
    /// A pause (`rollout pause`): traffic stays, the bake's clock stops.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<Paused>,
    /// Who last ended a pause (`rollout resume`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed_by: Option<String>,
    /// An end to the current wait (`rollout promote`), not yet done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip: Option<Skip>,
}

/// Who paused a rollout, when and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Paused {
    /// `user@host`.
    pub by: String,
    /// When, Unix seconds.
    pub at: u64,
    /// Why, when they said.
    pub reason: Option<String>,
}

/// `rollout promote`: end the current wait now, judged as at its end; `full` also skips the
/// remaining steps to `promote`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Skip {
    /// Skip to `promote` after the wait.
    pub full: bool,
    /// `user@host`.
    pub by: String,
    /// When, Unix seconds: tells one request from the next.
    pub at: u64,
}

/// A pause's reason as a marker keeps it: one token, lossless.
pub(super) fn encode_reason(reason: &str) -> String {
    let mut out = String::new();
    for c in reason.chars() {
        match c {
            '_' | '%' | '[' | ']' | '=' => out.push_str(&format!("%{:02X}", c as u32)),
            c if c.is_whitespace() => out.push('_'),
            c => out.push(c),
        }
    }
    out
}

/// The reason a marker keeps, as it was written.
pub(super) fn decode_reason(token: &str) -> String {
    let mut out = String::new();
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        match c {
            '_' => out.push(' '),
            '%' => {
                let hex: String = chars.by_ref().take(2).collect();
                match u8::from_str_radix(&hex, 16) {
                    Ok(byte) => out.push(char::from(byte)),
                    Err(_) => {
                        out.push('%');
                        out.push_str(&hex);
                    }
                }
            }
            c => out.push(c),
        }
    }
    out
}

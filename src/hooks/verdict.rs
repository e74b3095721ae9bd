//! What a hook run came to: the hook's own answer, or why it gave none. Anything but an answer
//! of healthy counts as unhealthy (fail closed).

use std::fmt;

use serde::ser::SerializeMap;
use serde::Serialize;

use crate::plan::Millis;

/// The verdict of one hook run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookVerdict {
    /// The hook returned `true`/`false` or `#{ healthy: bool, reason: "…" }`.
    Answered {
        /// Its answer.
        healthy: bool,
        /// Its reason (`returned true`/`returned false` for a bare boolean).
        reason: String,
    },
    /// The hook gave no answer: unhealthy.
    Broken(HookError),
}

/// Why a hook gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookError {
    /// It was still running at its deadline.
    Deadline(Millis),
    /// It ran more operations than the sandbox allows (an endless loop?).
    TooManyOperations(u64),
    /// Its calls nested deeper than the sandbox allows (endless recursion?).
    TooDeep(usize),
    /// A string, array or map grew over the sandbox's limit.
    TooLarge(String),
    /// It threw this.
    Threw(String),
    /// It called a function the sandbox does not offer.
    Unavailable(String),
    /// The error happened in this function of the hook.
    InFunction(String, Box<HookError>),
    /// Any other error, in rhai's words.
    Failed(String),
    /// It returned something other than a verdict.
    NotAVerdict {
        /// The value's type.
        type_name: String,
        /// The value.
        value: String,
    },
    /// It returned a map without a boolean `healthy`.
    NoHealthy {
        /// The map's `reason`, or that there was none.
        reason: String,
    },
    /// It could not be read or compiled when the rollout began.
    NotCompiled {
        /// The hook as the playbook names it.
        name: String,
        /// Why (`cannot read …`, `does not compile: …`).
        why: String,
    },
    /// It was not among the hooks compiled for the rollout.
    Unknown(String),
    /// The thread it ran on crashed.
    Crashed,
}

impl HookVerdict {
    /// True only for an answer of healthy.
    pub fn healthy(&self) -> bool {
        matches!(self, HookVerdict::Answered { healthy: true, .. })
    }
}

impl fmt::Display for HookVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HookVerdict::Answered { reason, .. } => f.write_str(reason),
            HookVerdict::Broken(error) => error.fmt(f),
        }
    }
}

/// `{"healthy": false, "reason": "…"}`.
impl Serialize for HookVerdict {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("healthy", &self.healthy())?;
        map.serialize_entry("reason", &self.to_string())?;
        map.end()
    }
}

impl fmt::Display for HookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HookError::Deadline(timeout) => write!(
                f,
                "stopped: still running after its {}s deadline",
                timeout.0 as f64 / 1000.0
            ),
            HookError::TooManyOperations(limit) => {
                write!(f, "stopped: more than {limit} operations (an endless loop?)")
            }
            HookError::TooDeep(limit) => write!(
                f,
                "stopped: calls nested deeper than {limit} (endless recursion?)"
            ),
            HookError::TooLarge(what) => write!(f, "stopped: {what} over the sandbox's limit"),
            HookError::Threw(value) => write!(f, "threw: {value}"),
            HookError::Unavailable(name) => write!(
                f,
                "calls `{name}`, which the sandbox does not offer (no files, processes or network except through ctx)"
            ),
            HookError::InFunction(name, inner) => write!(f, "in {name}: {inner}"),
            HookError::Failed(message) => write!(f, "failed: {message}"),
            HookError::NotAVerdict { type_name, value } => write!(
                f,
                "returned {type_name} `{value}`; a hook returns true/false or #{{ healthy: bool, reason: \"…\" }}"
            ),
            HookError::NoHealthy { reason } => write!(
                f,
                "returned a map without a boolean `healthy` (reason: {reason})"
            ),
            HookError::NotCompiled { name, why } => write!(f, "{name} {why}"),
            HookError::Unknown(name) => write!(f, "{name} was not compiled before the rollout"),
            HookError::Crashed => f.write_str("the hook's thread crashed"),
        }
    }
}

//! Showing events: plain timestamped lines for people, JSON lines for scripts, a live status line
//! on a terminal, the audit journal and HTML reports. No decisions here.

mod fleet;
pub mod html;
mod journal;
mod progress;
mod sink;
mod words;

pub use journal::Journal;
pub use progress::LiveSink;
pub use sink::{Discard, JsonSink, Left, Pair, Tee, TextSink};

/// `[hh:mm:ss]` of a time since the start.
pub fn clock(ms: u64) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

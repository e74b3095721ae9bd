//! The waves of a waved rollout on one time axis: a lane per wave.

use std::fmt::Write as _;

use super::{escape, minutes};
use crate::plan::Millis;

/// One wave of a waved rollout, as its events tell it.
pub(super) struct Lane {
    pub(super) name: String,
    pub(super) regions: String,
    pub(super) from: f64,
    /// When it passed or failed.
    pub(super) to: Option<f64>,
    pub(super) passed: Option<bool>,
}

/// The waves on one time axis: a bar per wave from its start to its end, green when it passed,
/// red when it failed, grey while it had not ended.
pub(super) fn lane(lanes: &[Lane], x_max: f64) -> String {
    let (w, row, left) = (900.0, 26.0, 200.0);
    let h = row * lanes.len() as f64 + 24.0;
    let x = |v: f64| left + (v / x_max.max(1e-9)) * (w - left - 10.0);
    let mut svg = format!(
        r#"<svg class="chart" id="waves" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="waves">"#
    );
    for (i, l) in lanes.iter().enumerate() {
        let top = i as f64 * row + 4.0;
        let to = l.to.unwrap_or(x_max);
        let colour = match l.passed {
            Some(true) => "--ok",
            Some(false) => "--bad",
            None => "--grid",
        };
        let status = match l.passed {
            Some(true) => "passed",
            Some(false) => "failed",
            None => "did not end",
        };
        let _ = write!(
            svg,
            r#"<text x="4" y="{:.1}">{}</text><rect x="{:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="var({colour})"><title>{}: {} to {}, {status}</title></rect>"#,
            top + row * 0.6,
            escape(&format!("{} ({})", l.name, l.regions)),
            x(l.from),
            (x(to) - x(l.from)).max(2.0),
            row - 8.0,
            escape(&l.name),
            Millis(l.from as u64),
            Millis(to as u64)
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{left}" y="{:.1}">0s</text><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text></svg>"#,
        h - 4.0,
        w - 10.0,
        h - 4.0,
        escape(&minutes(x_max))
    );
    format!("<h2>Waves</h2>{svg}")
}

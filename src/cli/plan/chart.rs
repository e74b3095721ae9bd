//! The traffic timeline of a preview as a chart of text.

use crate::plan::{Millis, Percent};

/// The timeline as a chart: columns are time, rows are weight thresholds.
pub(super) fn chart(timeline: &[(Millis, Percent)], total: Millis, width: usize) -> Vec<String> {
    let weight_at = |t: u64| {
        timeline
            .iter()
            .rfind(|(at, _)| at.0 <= t)
            .map_or(Percent(0), |(_, w)| *w)
    };
    // A little past the end, so that the final weight shows.
    let span = (total.0 + total.0 / 20).max(1);
    let columns: Vec<Percent> = (0..width)
        .map(|c| weight_at(c as u64 * span / width as u64))
        .collect();
    let mut rows = Vec::new();
    for (label, threshold) in [
        ("100%", 10_000),
        (" 75%", 7_500),
        (" 50%", 5_000),
        (" 25%", 2_500),
        ("  >0", 1),
    ] {
        let bar: String = columns
            .iter()
            .map(|w| if w.0 >= threshold { '#' } else { ' ' })
            .collect();
        rows.push(format!("  {label} |{}", bar.trim_end()));
    }
    let end = Millis(span / 1000 * 1000).to_string();
    rows.push(format!("       +{}", "-".repeat(width)));
    rows.push(format!(
        "        0s{}{end}",
        " ".repeat(width.saturating_sub(2 + end.len()))
    ));
    rows
}

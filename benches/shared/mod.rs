//! What the benches that measure judgment share: writing their table into `benches/RESULTS.md`.

use std::path::Path;

/// Replaces what lies between the markers `<!-- MARK:begin -->` and `<!-- MARK:end -->` of
/// `benches/RESULTS.md` with `setting` (what was measured, how), today's date and `table`.
pub(crate) fn record(mark: &str, setting: &str, table: &str) {
    let results = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/RESULTS.md");
    let Ok(text) = std::fs::read_to_string(&results) else {
        return;
    };
    let (begin, end) = (
        format!("<!-- {mark}:begin -->\n"),
        format!("<!-- {mark}:end -->"),
    );
    if let (Some(b), Some(e)) = (text.find(&begin), text.find(&end)) {
        let updated = format!(
            "{}{begin}{setting}; measured {}.\n\n{table}{}",
            &text[..b],
            today(),
            &text[e..]
        );
        let _ = std::fs::write(&results, updated);
    }
}

/// Today's date, from the system's `date`.
fn today() -> String {
    std::process::Command::new("date")
        .arg("+%Y-%m-%d")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map_or_else(|| "today".to_string(), |d| d.trim().to_string())
}

//! The audit journal of every run, appended to a file as events happen.

use std::io::Write;

use crate::engine::events::Event;

/// The audit journal: every event of every run appended as a JSON line, flushed as it happens.
/// Events carry no credentials and no invocation payloads.
pub struct Journal {
    file: std::fs::File,
    path: std::path::PathBuf,
    /// Events that could not be written, and the first reason.
    lost: Option<(usize, String)>,
}

impl Journal {
    /// Opens (creating it and its directory) `path`, or the default under the user's state
    /// directory; the error says why there will be no journal.
    pub fn open(path: Option<std::path::PathBuf>) -> Result<Journal, String> {
        let path = match path {
            Some(path) => path,
            None => {
                let base = std::env::var_os("XDG_STATE_HOME")
                    .map(std::path::PathBuf::from)
                    .or_else(|| {
                        std::env::var_os("HOME")
                            .map(|h| std::path::Path::new(&h).join(".local/state"))
                    })
                    .ok_or(
                        "no journal: neither XDG_STATE_HOME nor HOME is set; pass --journal FILE",
                    )?;
                base.join("rollout/journal.jsonl")
            }
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("no journal: cannot create {}: {e}", dir.display()))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("no journal: cannot open {}: {e}", path.display()))?;
        Ok(Journal {
            file,
            path,
            lost: None,
        })
    }

    /// What was lost, if anything: to be said at the end of the run.
    pub fn problem(&self) -> Option<String> {
        self.lost.as_ref().map(|(count, why)| {
            format!(
                "the journal {} lost {count} event{} ({why}): the audit log of this run is incomplete",
                self.path.display(),
                if *count == 1 { "" } else { "s" }
            )
        })
    }

    /// Appends one event; a failed write is counted, never fatal.
    pub(super) fn append(&mut self, event: &Event) {
        if let Ok(mut line) = serde_json::to_string(event) {
            line.push('\n');
            // One write per line, then to the OS at once: a crash loses nothing written.
            if let Err(e) = self
                .file
                .write_all(line.as_bytes())
                .and_then(|()| self.file.flush())
            {
                let lost = self.lost.get_or_insert((0, e.to_string()));
                lost.0 += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::events::EventKind;

    #[test]
    fn a_journal_that_cannot_be_written_says_how_much_it_lost() {
        let mut journal = Journal::open(Some("/dev/full".into())).expect("opens");
        assert_eq!(journal.problem(), None);
        for _ in 0..3 {
            journal.append(&Event {
                region: None,
                at_ms: 0,
                kind: EventKind::RollingBack { reason: "x".into() },
            });
        }
        let said = journal.problem().expect("said");
        assert!(said.contains("/dev/full lost 3 events"), "{said}");
    }
}

//! `keep N versions`: how many unreferenced versions a successful `promote` leaves behind.

use super::values::Scope;
use super::{Checker, RootHeaders};
use crate::diagnostic::{Code, Diag};
use crate::span::Span;

impl Checker {
    /// The count of the `keep` header, when it is a whole number of at least 1 and the
    /// playbook has no waves (each problem reported).
    pub(super) fn keep(&mut self, headers: &RootHeaders, scope: &Scope) -> Option<u32> {
        let (value, span) = headers.keep.as_ref()?;
        let n = self.want_count(value, 1, "`keep N versions`", scope)?;
        if let Some((_, waves)) = &headers.waves {
            self.diags.push(
                Diag::new(
                    Code::KeepWithWaves,
                    "`keep N versions` with `waves` is not supported yet",
                )
                .at(scope.source(), *span, "versions would be deleted in one wave's region")
                .also(Span::new(waves.start, waves.start + "waves".len()), "the waves")
                .help("leave out `keep` and prune with a separate run after the last wave, or roll out to one region"),
            );
            return None;
        }
        u32::try_from(n).ok()
    }
}

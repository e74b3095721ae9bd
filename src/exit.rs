//! The process exit codes of docs/language.md §8, in one place: the engine maps each outcome to one,
//! and every command returns one.

/// Promoted, nothing to roll out, or the command succeeded.
pub const OK: i32 = 0;
/// Rolled back; for `fmt --check`, files would change.
pub const ROLLED_BACK: i32 = 1;
/// Invalid input: syntax, validation, usage, missing target.
pub const INVALID: i32 = 2;
/// Interrupted or aborted by a person.
pub const INTERRUPTED: i32 = 3;
/// Conflict: someone else changed the alias, or another rollout holds it.
pub const CONFLICT: i32 = 4;
/// AWS or infrastructure failure.
pub const INFRA: i32 = 5;

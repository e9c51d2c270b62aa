//! Repairs on-call makes, shared by the command line (`switchboard
//! quarantine`, `switchboard dlq`) and the HTTP API (`api/repair.rs`), so
//! both take one code path: quarantined records retried with the mapping
//! files in force now (`quarantine.rs`), and dead letters listed and
//! replayed from either transport (`dead_letters.rs`).
//!
//! Inputs and results are typed, and nothing here prints or decides an exit
//! code or a status: the edges do that. The work itself stays where it
//! was: `sync::retry` maps again, `sync::replay` renders again, the store
//! and `transport::dlq` keep what they keep.

pub mod dead_letters;
pub mod quarantine;

pub use dead_letters::{
    DeadLetterError, Kept, Letter, LetterOutcome, LetterReplay, QueuedWork, ReplayOutcome,
    Replayed, Which,
};
pub use quarantine::{QuarantineError, RetryOutcome, RetryWhich, StreamRetry};

//! The run DAG: story → speech and images → music → moderation → video (→ publish), driven by facts on the
//! bus. A run and its steps are rows; every transition locks the run, checks the step's state and
//! attempt, and writes the next jobs through the outbox in the same transaction.

mod jobs;
mod moderation_round;
mod publishing;
mod steps;
mod transitions;
mod watchdog;

#[cfg(test)]
mod tests;

pub use crate::limits::Limits;
pub use jobs::create_run;
pub use steps::cancel;
pub use transitions::apply;
pub use watchdog::tick;

pub const SERVICE: &str = "orchestrator";
/// Steps in the order they appear to users.
pub const STEPS: &[&str] = &["story", "speech", "images", "music", "moderation", "video"];
/// Milliseconds of picture and music after the last spoken word.
pub const TAIL_MS: u64 = 400;

//! The states of a run and of its steps: stored as `text`, shown by the API under the same names.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a run is: queued until its first fact, running, held for a human review, or finished.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    sqlx::Type,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantNames,
)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RunState {
    Queued,
    Running,
    WaitingReview,
    Succeeded,
    /// Succeeded, and published to every account it was asked to.
    Published,
    Failed,
    Cancelled,
}

impl RunState {
    /// Succeeded, published, failed or cancelled: no fact, tick or cancel changes it any more.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Published | Self::Failed | Self::Cancelled
        )
    }
}

/// Where one step of a run is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    sqlx::Type,
    strum::IntoStaticStr,
    strum::Display,
)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum StepState {
    /// Waiting for the steps it depends on.
    Pending,
    /// An attempt is out, with a deadline.
    Running,
    /// An attempt failed; the next one goes out when its backoff elapses.
    Retrying,
    /// Moderation parked the run for a human.
    WaitingReview,
    Succeeded,
    Failed,
    Cancelled,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_stored_and_wire_names() {
        assert_eq!(RunState::WaitingReview.to_string(), "waiting_review");
        assert_eq!(
            serde_json::to_value(StepState::WaitingReview).ok(),
            Some(serde_json::json!("waiting_review"))
        );
        assert_eq!(
            "cancelled".parse::<RunState>().ok(),
            Some(RunState::Cancelled)
        );
        assert!("done".parse::<RunState>().is_err());
    }
}

//! The steps of a run and the states a step or a run goes through.

use serde::{Deserialize, Serialize};

/// A step of a run's DAG, in the order users see them.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Step {
    Story,
    Speech,
    Images,
    Music,
    Moderation,
    Video,
    /// Only in runs asked to publish.
    Publish,
}

impl Step {
    pub const ALL: [Step; 7] = [
        Step::Story,
        Step::Speech,
        Step::Images,
        Step::Music,
        Step::Moderation,
        Step::Video,
        Step::Publish,
    ];

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(name: &str) -> Option<Step> {
        name.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_round_trip_through_their_names() {
        for step in Step::ALL {
            assert_eq!(Step::parse(step.as_str()), Some(step));
            assert_eq!(
                serde_json::to_value(step).ok(),
                Some(serde_json::json!(step.as_str()))
            );
        }
        assert_eq!(Step::parse("rendering"), None);
    }
}

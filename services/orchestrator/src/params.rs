//! What a run is asked to make, and the validation that turns bad input into a 422 naming the field.

use messages::{
    catalogue::Catalogue,
    jobs::{LearnedContext, PublishTarget, SeriesBible},
};
use serde::{Deserialize, Serialize};
use shared::ApiError;
use utoipa::ToSchema;
use uuid::Uuid;

/// The body of `POST /v1/runs`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// What the video is about (1 to 500 characters).
    pub topic: String,
    #[serde(default)]
    pub genre: Option<String>,
    #[serde(default)]
    pub tone: Option<String>,
    /// Target length in seconds, 10 to 180 (default 60).
    #[serde(default)]
    pub length_seconds: Option<u32>,
    /// Narration language (default `en`).
    #[serde(default)]
    pub language: Option<String>,
    /// Aspect ratios to render: any of `16:9`, `9:16`, `1:1` (default all three).
    #[serde(default)]
    pub formats: Option<Vec<String>>,
    /// Same seed, same story and images.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Accounts to publish the finished video to (a `publish` step after `video`).
    #[serde(default)]
    pub publish: Option<Vec<PublishTarget>>,
}

/// A validated request with every default filled in; stored as the run's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunParams {
    pub topic: String,
    pub genre: String,
    pub tone: String,
    pub length_seconds: u32,
    pub language: String,
    pub formats: Vec<String>,
    pub seed: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub publish: Vec<PublishTarget>,
    /// The series the run is an episode of (set by schedules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<SeriesBible>,
    /// What analytics recommended for the choices the request left open, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommendation: Option<RunRecommendation>,
}

/// What analytics recommended for a run and why; the story step sees its context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunRecommendation {
    /// The tenant config version the defaults came from.
    pub config_version: Option<i32>,
    /// The experiment and arm the run was assigned to.
    pub experiment_id: Option<Uuid>,
    pub arm: Option<String>,
    pub reason: String,
    pub context: LearnedContext,
}

pub const FORMATS: &[&str] = &["16:9", "9:16", "1:1"];
const MAX_TOPIC_CHARS: usize = 500;
/// Accounts one run may publish to.
const MAX_PUBLISH_TARGETS: usize = 10;

impl RunRequest {
    /// The learnable choices (genre, tone, length, language) the request makes itself; the rest
    /// analytics may recommend.
    pub fn fixed_choices(&self) -> Vec<&'static str> {
        [
            ("genre", self.genre.is_some()),
            ("tone", self.tone.is_some()),
            ("length_seconds", self.length_seconds.is_some()),
            ("language", self.language.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }

    pub fn validate(self, catalogue: &Catalogue) -> Result<RunParams, ApiError> {
        let topic = self.topic.trim().to_owned();
        if topic.is_empty() {
            return Err(ApiError::validation("topic", "must not be empty"));
        }
        if topic.chars().count() > MAX_TOPIC_CHARS {
            return Err(ApiError::validation(
                "topic",
                format!("must be at most {MAX_TOPIC_CHARS} characters"),
            ));
        }
        let pick =
            |field: &str, value: Option<String>, allowed: &[String], default: &str| match value {
                None => Ok(default.to_owned()),
                Some(v) if allowed.iter().any(|a| a == &v) => Ok(v),
                Some(v) => Err(ApiError::validation(
                    field,
                    format!("`{v}` is not one of {}", allowed.join(", ")),
                )),
            };
        let genre = pick("genre", self.genre, &catalogue.genres, "drama")?;
        let tone = pick("tone", self.tone, &catalogue.tones, "calm")?;
        let language = pick("language", self.language, &catalogue.languages, "en")?;
        let length_seconds = self.length_seconds.unwrap_or(60);
        if !(10..=180).contains(&length_seconds) {
            return Err(ApiError::validation(
                "length_seconds",
                "must be between 10 and 180",
            ));
        }
        let formats = match self.formats {
            None => FORMATS.iter().map(|f| (*f).to_owned()).collect(),
            Some(formats) if formats.is_empty() => {
                return Err(ApiError::validation("formats", "name at least one format"))
            }
            Some(formats) => {
                let mut unique: Vec<String> = Vec::new();
                for format in formats {
                    if !FORMATS.contains(&format.as_str()) {
                        return Err(ApiError::validation(
                            "formats",
                            format!("`{format}` is not one of {}", FORMATS.join(", ")),
                        ));
                    }
                    if !unique.contains(&format) {
                        unique.push(format);
                    }
                }
                unique
            }
        };
        let seed = self.seed.unwrap_or_else(rand::random);
        let publish = self.publish.unwrap_or_default();
        if publish.len() > MAX_PUBLISH_TARGETS {
            return Err(ApiError::validation(
                "publish",
                format!("at most {MAX_PUBLISH_TARGETS} accounts per run"),
            ));
        }
        for (index, target) in publish.iter().enumerate() {
            if publish[..index]
                .iter()
                .any(|t| t.account_id == target.account_id)
            {
                return Err(ApiError::validation(
                    "publish",
                    format!("account {} is named twice", target.account_id),
                ));
            }
            if let Some(format) = &target.format {
                if !formats.contains(format) {
                    return Err(ApiError::validation(
                        "publish",
                        format!(
                            "`{format}` is not among the run's formats ({})",
                            formats.join(", ")
                        ),
                    ));
                }
            }
            if let Some(privacy) = &target.privacy {
                if !["public", "unlisted", "private"].contains(&privacy.as_str()) {
                    return Err(ApiError::validation(
                        "publish",
                        format!("privacy `{privacy}` is not public, unlisted or private"),
                    ));
                }
            }
        }
        Ok(RunParams {
            topic,
            genre,
            tone,
            length_seconds,
            language,
            formats,
            seed,
            publish,
            series: None,
            recommendation: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(topic: &str) -> RunRequest {
        RunRequest {
            topic: topic.to_owned(),
            genre: None,
            tone: None,
            length_seconds: None,
            language: None,
            formats: None,
            seed: Some(7),
            publish: None,
        }
    }

    fn field_of(result: Result<RunParams, ApiError>) -> String {
        result.err().map(|e| format!("{e:?}")).unwrap_or_default()
    }

    #[test]
    fn defaults_fill_in() -> anyhow::Result<()> {
        let params = request("  a storm  ")
            .validate(&Catalogue::default())
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        assert_eq!(params.topic, "a storm");
        assert_eq!(params.formats, vec!["16:9", "9:16", "1:1"]);
        assert_eq!(
            (params.length_seconds, params.language.as_str(), params.seed),
            (60, "en", 7)
        );
        Ok(())
    }

    #[test]
    fn bad_input_names_the_field() {
        let catalogue = Catalogue::default();
        assert!(field_of(request("   ").validate(&catalogue)).contains("topic"));
        assert!(field_of(request(&"x".repeat(10_000)).validate(&catalogue)).contains("topic"));
        assert!(field_of(
            RunRequest {
                length_seconds: Some(5),
                ..request("t")
            }
            .validate(&catalogue)
        )
        .contains("length_seconds"));
        assert!(field_of(
            RunRequest {
                length_seconds: Some(181),
                ..request("t")
            }
            .validate(&catalogue)
        )
        .contains("length_seconds"));
        assert!(field_of(
            RunRequest {
                formats: Some(vec!["4:3".into()]),
                ..request("t")
            }
            .validate(&catalogue)
        )
        .contains("formats"));
        assert!(field_of(
            RunRequest {
                language: Some("tlh".into()),
                ..request("t")
            }
            .validate(&catalogue)
        )
        .contains("language"));
        assert!(field_of(
            RunRequest {
                genre: Some("opera".into()),
                ..request("t")
            }
            .validate(&catalogue)
        )
        .contains("genre"));
    }

    #[test]
    fn publish_targets_are_checked_against_the_run() {
        let catalogue = Catalogue::default();
        let target = |format: Option<&str>, privacy: Option<&str>| PublishTarget {
            account_id: uuid::Uuid::nil(),
            format: format.map(str::to_owned),
            privacy: privacy.map(str::to_owned),
            publish_at: None,
            title: None,
        };
        let with = |targets: Vec<PublishTarget>| RunRequest {
            formats: Some(vec!["9:16".into()]),
            publish: Some(targets),
            ..request("t")
        };
        assert!(with(vec![target(Some("9:16"), Some("public"))])
            .validate(&catalogue)
            .is_ok());
        assert!(
            field_of(with(vec![target(Some("16:9"), None)]).validate(&catalogue))
                .contains("not among the run's formats")
        );
        assert!(
            field_of(with(vec![target(None, Some("everyone"))]).validate(&catalogue))
                .contains("privacy")
        );
        assert!(
            field_of(with(vec![target(None, None), target(None, None)]).validate(&catalogue))
                .contains("named twice")
        );
        let many = (0..11)
            .map(|i| PublishTarget {
                account_id: uuid::Uuid::from_u128(i),
                ..target(None, None)
            })
            .collect();
        assert!(field_of(with(many).validate(&catalogue)).contains("at most 10"));
    }
}

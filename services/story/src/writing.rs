//! Scripts through the provider layer: the structured request every provider answers, the schema
//! the reply must match, and the offline writer that answers stories and copy without a network.

use async_trait::async_trait;
use providers::{
    capability::{Text, TextReply, TextRequest},
    client::{Answer, CallError, Client},
    units::Units,
};
use serde_json::{json, Value};

use crate::{
    copy,
    generator::{generate, Script, StoryRequest, WORDS_PER_SECOND},
};

/// The task name of a story request.
pub const STORY_TASK: &str = "story";

/// The request for a script, readable by remote models (prompt) and the offline writer (params).
pub fn story_request(request: &StoryRequest) -> anyhow::Result<TextRequest> {
    let words = (f64::from(request.length_seconds) * WORDS_PER_SECOND).round();
    let prompt = format!(
        "Write a {genre} short-video script with a {tone} tone about: {topic}.\n\
         Language: {language}. About {words} words of narration in total, split into scenes of 1-3 sentences; \
         each scene has narration, an English visual description for an illustrator (no text in images) and a mood \
         (calm, mysterious, tense, hopeful, melancholic or joyful). Add a title and per-platform posts with hashtags.",
        genre = request.genre,
        tone = request.tone,
        topic = request.topic,
        language = request.language,
    );
    Ok(TextRequest {
        task: STORY_TASK.to_owned(),
        params: serde_json::to_value(request)?,
        system: "You write narrated scripts for short videos. Reply with JSON only.".to_owned(),
        prompt,
        schema_name: "script".to_owned(),
        schema: script_schema(),
        temperature: 0.8,
        max_tokens: 4_000,
    })
}

/// `request` with what the tenant's published videos taught: its top insights and the titles
/// that drew the most views, as guidance rather than text to copy.
pub fn with_learned(
    mut request: TextRequest,
    learned: &messages::jobs::LearnedContext,
) -> TextRequest {
    if !learned.insights.is_empty() {
        request.prompt.push_str(&format!(
            "\nWhat worked for this channel so far: {}.",
            learned.insights.join("; ")
        ));
    }
    if !learned.best_titles.is_empty() {
        request.prompt.push_str(&format!(
            "\nIts most watched titles (match their appeal, do not copy them): {}.",
            learned.best_titles.join("; ")
        ));
    }
    request
}

/// `request` for an episode of `series`: the bible (premise, characters, tone) keeps episodes
/// consistent, and the earlier titles keep them from repeating.
pub fn for_episode(mut request: TextRequest, series: &messages::jobs::SeriesBible) -> TextRequest {
    let mut context = format!(
        "\nThis is episode {} of the series \"{}\": {}.",
        series.episode, series.title, series.premise
    );
    if !series.characters.is_empty() {
        context.push_str(&format!(
            " Recurring characters: {}; keep them consistent.",
            series.characters.join(", ")
        ));
    }
    if let Some(tone) = &series.tone {
        context.push_str(&format!(" The series' tone is {tone}."));
    }
    if !series.earlier_titles.is_empty() {
        context.push_str(&format!(
            " Earlier episodes, whose stories and titles must not be repeated: {}.",
            series.earlier_titles.join("; ")
        ));
    }
    request.prompt.push_str(&context);
    request
}

/// The JSON schema a script must match; empty strings and scene lists are refused here, so a
/// provider's unusable reply is retried or falls back instead of reaching the pipeline.
pub fn script_schema() -> Value {
    let text = json!({ "type": "string", "minLength": 1 });
    let post = json!({
        "type": "object", "additionalProperties": false,
        "required": ["title", "description", "hashtags", "caption"],
        "properties": {
            "title": text, "description": { "type": "string" },
            "hashtags": { "type": "array", "items": { "type": "string" } }, "caption": { "type": "string" }
        }
    });
    json!({
        "type": "object", "additionalProperties": false,
        "required": ["title", "language", "scenes", "metadata"],
        "properties": {
            "title": text,
            "language": { "type": "string" },
            "scenes": { "type": "array", "minItems": 1, "items": {
                "type": "object", "additionalProperties": false, "required": ["narration", "visual", "mood"],
                "properties": { "narration": text, "visual": text, "mood": { "type": "string" } }
            }},
            "metadata": { "type": "object", "additionalProperties": false, "required": ["youtube", "tiktok", "instagram", "facebook"],
                "properties": { "youtube": post, "tiktok": post, "instagram": post, "facebook": post } }
        }
    })
}

/// The built-in writer: seeded templates for stories and every copy kind; free, no network.
pub struct OfflineWriter;

#[async_trait]
impl Client<Text> for OfflineWriter {
    fn provider(&self) -> &str {
        "offline"
    }

    fn model(&self) -> &str {
        "templates"
    }

    fn paid(&self) -> bool {
        false
    }

    async fn call(&self, request: &TextRequest) -> Result<Answer<TextReply>, CallError> {
        let json = if request.task == STORY_TASK {
            let story: StoryRequest =
                serde_json::from_value(request.params.clone()).map_err(|e| CallError::Refused {
                    detail: format!("not a story request: {e}"),
                })?;
            let script: Script = tokio::task::spawn_blocking(move || generate(&story))
                .await
                .map_err(|e| CallError::transient(format!("offline writer: {e}")))?;
            serde_json::to_value(script).map_err(|e| CallError::invalid(e.to_string()))?
        } else if let Some(kind) = request.task.strip_prefix(copy::TASK_PREFIX) {
            copy::offline::write(kind, &request.params)
                .map_err(|detail| CallError::Refused { detail })?
        } else {
            return Err(CallError::Refused {
                detail: format!("the offline writer has no task `{}`", request.task),
            });
        };
        Ok(Answer::new(TextReply { json }, Units::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learned_context_adds_insights_and_best_titles_and_nothing_when_empty() -> anyhow::Result<()>
    {
        let request = story_request(&StoryRequest {
            topic: "tides".into(),
            genre: "drama".into(),
            tone: "calm".into(),
            length_seconds: 30,
            language: "en".into(),
            seed: 1,
        })?;
        let plain = request.prompt.clone();
        let learned = messages::jobs::LearnedContext {
            insights: vec!["calm tone: +23 % completion vs dark (n = 40 vs 38)".into()],
            best_titles: vec!["The last lamp".into()],
        };
        let prompt = with_learned(request.clone(), &learned).prompt;
        assert!(
            prompt.contains("What worked for this channel so far: calm tone: +23 %"),
            "{prompt}"
        );
        assert!(
            prompt.contains("do not copy them): The last lamp."),
            "{prompt}"
        );
        let empty = messages::jobs::LearnedContext::default();
        assert_eq!(with_learned(request, &empty).prompt, plain);
        Ok(())
    }

    #[test]
    fn an_episode_carries_its_series_bible_and_the_titles_not_to_repeat() -> anyhow::Result<()> {
        let request = story_request(&StoryRequest {
            topic: "Keepers, episode 3: lighthouse keepers of the north".into(),
            genre: "drama".into(),
            tone: "calm".into(),
            length_seconds: 30,
            language: "en".into(),
            seed: 1,
        })?;
        let series = messages::jobs::SeriesBible {
            title: "Keepers".into(),
            premise: "lighthouse keepers of the north".into(),
            characters: vec!["Ada".into(), "Ole".into()],
            tone: Some("calm".into()),
            episode: 3,
            earlier_titles: vec!["The first light".into(), "Fog".into()],
        };
        let prompt = for_episode(request, &series).prompt;
        assert!(
            prompt.contains("episode 3 of the series \"Keepers\""),
            "{prompt}"
        );
        assert!(prompt.contains("Ada, Ole"), "{prompt}");
        assert!(
            prompt.contains("must not be repeated: The first light; Fog"),
            "{prompt}"
        );
        Ok(())
    }
}

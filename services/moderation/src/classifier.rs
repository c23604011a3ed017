//! Content classification through the moderation chain: a paid classifier (OpenAI moderation) over
//! the script and every image, with the lexicon as the free last resort.

use std::{collections::BTreeMap, sync::Arc};

use async_trait::async_trait;
use providers::{
    capability::{CategoryScore, ModerationReply, ModerationRequest},
    client::{Answer, CallError, Client},
    units::Units,
};

use crate::text_check::{scan, Category, Severity};

/// The lexicon as a classifier: a category is flagged when a term of it at or above `block_at` occurs.
pub struct LexiconClassifier {
    pub lexicon: Arc<BTreeMap<String, Category>>,
    pub block_at: Severity,
}

#[async_trait]
impl Client<providers::Moderation> for LexiconClassifier {
    fn provider(&self) -> &str {
        "offline"
    }

    fn model(&self) -> &str {
        "lexicon"
    }

    fn paid(&self) -> bool {
        false
    }

    async fn call(
        &self,
        request: &ModerationRequest,
    ) -> Result<Answer<ModerationReply>, CallError> {
        let findings = scan(request.text.as_deref().unwrap_or_default(), &self.lexicon);
        let mut categories: Vec<CategoryScore> = Vec::new();
        for finding in findings {
            let flagged = finding.severity >= self.block_at;
            match categories
                .iter_mut()
                .find(|c| c.category == finding.category)
            {
                Some(existing) => existing.flagged |= flagged,
                None => categories.push(CategoryScore {
                    category: finding.category,
                    flagged,
                    score: 1.0,
                }),
            }
        }
        let flagged = categories.iter().any(|c| c.flagged);
        Ok(Answer::new(
            ModerationReply {
                flagged,
                categories,
            },
            Units::default(),
        ))
    }
}

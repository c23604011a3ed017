//! A tenant's generation defaults as a versioned document: validation against the catalogue and
//! the tenant's budget, versions with their diff and author, rollback as a new version.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use messages::catalogue::Catalogue;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use shared::{peer::Peer, ApiError};
use sqlx::PgPool;
use utoipa::ToSchema;

/// Which provider and model each paid step uses: `provider:model`, or `offline`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderChoices {
    pub text: Option<String>,
    pub speech: Option<String>,
    pub image: Option<String>,
    pub music: Option<String>,
}

/// What a tenant's runs are made with when a run does not say.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct GenerationDefaults {
    pub genre: Option<String>,
    pub tone: Option<String>,
    /// 10 to 180 seconds.
    pub length_seconds: Option<u32>,
    pub language: Option<String>,
    /// The narration voice (`provider/voice`, as the speech step names it).
    pub voice: Option<String>,
    pub providers: ProviderChoices,
    /// Words describing the music bed (`calm`, `tense`, …).
    pub music_mood: Option<String>,
    /// `classic`, `karaoke` or `pop`.
    pub caption_style: Option<String>,
    /// Posting times (`HH:MM`, the schedule's time zone) used when a schedule names none.
    pub posting_slots: Vec<String>,
}

/// One version of a tenant's defaults.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConfigVersion {
    pub tenant: String,
    pub version: i32,
    pub document: GenerationDefaults,
    pub author: String,
    /// `put`, or `rollback to N`.
    pub reason: String,
    /// `{field: {from, to}}` against the version before.
    #[schema(value_type = Object)]
    pub diff: Value,
    pub created_at: DateTime<Utc>,
}

const CAPTION_STYLES: &[&str] = &["classic", "karaoke", "pop"];
const MAX_POSTING_SLOTS: usize = 24;

impl GenerationDefaults {
    /// Checks every field against what the fleet can make; a 422 names the first wrong field.
    pub fn validate(&self, catalogue: &Catalogue) -> Result<(), ApiError> {
        let listed = |field: &str,
                      value: &Option<String>,
                      known: &dyn Fn(&str) -> bool,
                      all: &[String]| match value {
            Some(v) if !known(v) => Err(ApiError::validation(
                field,
                format!("`{v}` is not one of {}", all.join(", ")),
            )),
            _ => Ok(()),
        };
        listed(
            "genre",
            &self.genre,
            &|g| catalogue.has_genre(g),
            &catalogue.genres,
        )?;
        listed(
            "tone",
            &self.tone,
            &|t| catalogue.has_tone(t),
            &catalogue.tones,
        )?;
        listed(
            "language",
            &self.language,
            &|l| catalogue.has_language(l),
            &catalogue.languages,
        )?;
        if let Some(length) = self.length_seconds {
            if !(10..=180).contains(&length) {
                return Err(ApiError::validation(
                    "length_seconds",
                    "must be between 10 and 180",
                ));
            }
        }
        if let Some(style) = &self.caption_style {
            if !CAPTION_STYLES.contains(&style.as_str()) {
                return Err(ApiError::validation(
                    "caption_style",
                    format!("`{style}` is not one of {}", CAPTION_STYLES.join(", ")),
                ));
            }
        }
        let short_words = |field: &str, value: &Option<String>| match value {
            Some(v)
                if v.trim().is_empty()
                    || v.chars().count() > 60
                    || v.chars().any(char::is_control) =>
            {
                Err(ApiError::validation(
                    field,
                    "must be 1 to 60 printable characters",
                ))
            }
            _ => Ok(()),
        };
        short_words("voice", &self.voice)?;
        short_words("music_mood", &self.music_mood)?;
        for (field, choice) in [
            ("providers.text", &self.providers.text),
            ("providers.speech", &self.providers.speech),
            ("providers.image", &self.providers.image),
            ("providers.music", &self.providers.music),
        ] {
            if let Some(choice) = choice {
                let well_formed = choice == "offline"
                    || choice
                        .split_once(':')
                        .is_some_and(|(p, m)| !p.is_empty() && !m.is_empty());
                if !well_formed {
                    return Err(ApiError::validation(
                        field,
                        format!("`{choice}` is not `provider:model` or `offline`"),
                    ));
                }
            }
        }
        if self.posting_slots.len() > MAX_POSTING_SLOTS {
            return Err(ApiError::validation(
                "posting_slots",
                format!("at most {MAX_POSTING_SLOTS} slots"),
            ));
        }
        for slot in &self.posting_slots {
            if chrono::NaiveTime::parse_from_str(slot, "%H:%M").is_err() {
                return Err(ApiError::validation(
                    "posting_slots",
                    format!("`{slot}` is not a time as HH:MM"),
                ));
            }
        }
        Ok(())
    }
}

/// `{field: {from, to}}` for every top-level field that differs.
pub fn diff(before: &GenerationDefaults, after: &GenerationDefaults) -> anyhow::Result<Value> {
    let (Value::Object(before), Value::Object(after)) =
        (serde_json::to_value(before)?, serde_json::to_value(after)?)
    else {
        anyhow::bail!("a config document is not an object");
    };
    let mut changes = BTreeMap::new();
    for (field, to) in &after {
        let from = before.get(field).cloned().unwrap_or(Value::Null);
        if &from != to {
            changes.insert(field.clone(), json!({ "from": from, "to": to }));
        }
    }
    Ok(json!(changes))
}

/// The tenant's version in force, or `None` before the first `PUT`.
pub async fn current(db: &PgPool, tenant: &str) -> anyhow::Result<Option<ConfigVersion>> {
    Ok(newest(db, tenant, 1).await?.into_iter().next())
}

/// Every version of the tenant's defaults, newest first.
pub async fn versions(db: &PgPool, tenant: &str) -> anyhow::Result<Vec<ConfigVersion>> {
    newest(db, tenant, i64::MAX).await
}

/// The tenant's `limit` newest versions, newest first.
async fn newest(db: &PgPool, tenant: &str, limit: i64) -> anyhow::Result<Vec<ConfigVersion>> {
    let rows = sqlx::query!(
        "SELECT version, document, author, reason, diff, created_at FROM analytics.config_versions
         WHERE tenant = $1 ORDER BY version DESC LIMIT $2",
        tenant,
        limit
    )
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(ConfigVersion {
                tenant: tenant.to_owned(),
                version: row.version,
                document: serde_json::from_value(row.document)?,
                author: row.author,
                reason: row.reason,
                diff: row.diff,
                created_at: row.created_at,
            })
        })
        .collect()
}

/// Writes `document` as the tenant's next version; concurrent writers serialise on the tenant.
pub async fn write(
    db: &PgPool,
    tenant: &str,
    document: &GenerationDefaults,
    author: &str,
    reason: &str,
) -> anyhow::Result<ConfigVersion> {
    let mut tx = db.begin().await?;
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtext('analytics.config:' || $1))",
        tenant
    )
    .execute(&mut *tx)
    .await?;
    let previous = sqlx::query!(
        "SELECT version, document FROM analytics.config_versions WHERE tenant = $1 ORDER BY version DESC LIMIT 1",
        tenant
    )
    .fetch_optional(&mut *tx)
    .await?;
    let (version, before) = match previous {
        Some(row) => (row.version + 1, serde_json::from_value(row.document)?),
        None => (1, GenerationDefaults::default()),
    };
    let changes = diff(&before, document)?;
    let row = sqlx::query!(
        "INSERT INTO analytics.config_versions (tenant, version, document, author, reason, diff)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING created_at",
        tenant,
        version,
        serde_json::to_value(document)?,
        author,
        reason,
        &changes
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(tenant, version, author, reason, diff = %changes, "tenant config changed");
    Ok(ConfigVersion {
        tenant: tenant.to_owned(),
        version,
        document: document.clone(),
        author: author.to_owned(),
        reason: reason.to_owned(),
        diff: changes,
        created_at: row.created_at,
    })
}

/// One version's document, or 404.
pub async fn version(
    db: &PgPool,
    tenant: &str,
    version: i32,
) -> Result<GenerationDefaults, ApiError> {
    let document = sqlx::query_scalar!(
        "SELECT document FROM analytics.config_versions WHERE tenant = $1 AND version = $2",
        tenant,
        version
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| {
        ApiError::not_found(format!("tenant `{tenant}` has no config version {version}"))
    })?;
    serde_json::from_value(document).map_err(ApiError::internal)
}

/// Refuses defaults whose estimated cost per run exceeds one of the tenant's budgets (or the
/// global one), asking billing for the estimate with the chosen providers and length. Without a
/// billing peer nothing is checked.
pub async fn check_budget(
    billing: Option<&Peer>,
    tenant: &str,
    document: &GenerationDefaults,
) -> Result<(), ApiError> {
    let Some(billing) = billing else {
        return Ok(());
    };
    let unavailable = |e: &dyn std::fmt::Display| {
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "billing_unavailable",
            format!("cannot check the config against the budget: {e}"),
        )
    };
    let request = json!({
        "length_seconds": document.length_seconds.unwrap_or(60),
        "text": document.providers.text, "speech": document.providers.speech,
        "image": document.providers.image, "music": document.providers.music,
    });
    let reply = billing
        .request(reqwest::Method::POST, "/v1/billing/estimate")
        .map_err(ApiError::internal)?
        .json(&request)
        .send()
        .await
        .map_err(|e| unavailable(&e))?;
    if reply.status() == reqwest::StatusCode::UNPROCESSABLE_ENTITY {
        let body: Value = reply.json().await.unwrap_or_default();
        return Err(ApiError::validation(
            "providers",
            body["detail"]
                .as_str()
                .unwrap_or("billing refused the providers"),
        ));
    }
    if !reply.status().is_success() {
        return Err(unavailable(&format!("billing answered {}", reply.status())));
    }
    let estimate: Value = reply.json().await.map_err(|e| unavailable(&e))?;
    if let Some(step) = estimate["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|step| step["priced"] == json!(false))
    {
        return Err(ApiError::validation(
            "providers",
            format!(
                "`{}:{}` is not in the price table, so its cost is unknown",
                step["provider"].as_str().unwrap_or_default(),
                step["model"].as_str().unwrap_or_default()
            ),
        ));
    }
    let cost = estimate["total_cost_micros"].as_i64().unwrap_or(0);
    let budgets: Vec<Value> = billing
        .request(reqwest::Method::GET, "/v1/billing/budgets")
        .map_err(ApiError::internal)?
        .send()
        .await
        .map_err(|e| unavailable(&e))?
        .error_for_status()
        .map_err(|e| unavailable(&e))?
        .json()
        .await
        .map_err(|e| unavailable(&e))?;
    let applicable = budgets.iter().filter(|budget| {
        budget["scope"] == "global" || (budget["scope"] == "tenant" && budget["subject"] == tenant)
    });
    for budget in applicable {
        let limit = budget["limit_micros"].as_i64().unwrap_or(i64::MAX);
        if cost > limit {
            return Err(ApiError::validation(
                "providers",
                format!(
                    "a run would cost about ${:.4}, more than the {} {} budget of ${:.4}",
                    cost as f64 / 1e6,
                    budget["period"].as_str().unwrap_or_default(),
                    budget["scope"].as_str().unwrap_or_default(),
                    limit as f64 / 1e6
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(result: Result<(), ApiError>) -> String {
        result
            .err()
            .map(|e| e.detail().to_owned())
            .unwrap_or_default()
    }

    #[test]
    fn fields_outside_the_catalogue_are_refused_by_name() {
        let catalogue = Catalogue::default();
        let bad = |document: GenerationDefaults| field_of(document.validate(&catalogue));
        assert!(bad(GenerationDefaults {
            tone: Some("angry".into()),
            ..Default::default()
        })
        .contains("tone"));
        assert!(bad(GenerationDefaults {
            length_seconds: Some(5),
            ..Default::default()
        })
        .contains("length_seconds"));
        assert!(bad(GenerationDefaults {
            caption_style: Some("wobbly".into()),
            ..Default::default()
        })
        .contains("caption_style"));
        assert!(bad(GenerationDefaults {
            posting_slots: vec!["25:00".into()],
            ..Default::default()
        })
        .contains("posting_slots"));
        let providers = ProviderChoices {
            text: Some("gpt".into()),
            ..Default::default()
        };
        assert!(bad(GenerationDefaults {
            providers,
            ..Default::default()
        })
        .contains("providers.text"));
        let good = GenerationDefaults {
            genre: Some("mystery".into()),
            tone: Some("calm".into()),
            length_seconds: Some(45),
            posting_slots: vec!["18:30".into()],
            ..Default::default()
        };
        assert!(good.validate(&catalogue).is_ok());
    }

    #[test]
    fn the_diff_names_each_changed_field_with_both_values() -> anyhow::Result<()> {
        let before = GenerationDefaults {
            tone: Some("calm".into()),
            length_seconds: Some(30),
            ..Default::default()
        };
        let after = GenerationDefaults {
            tone: Some("dark".into()),
            length_seconds: Some(30),
            ..Default::default()
        };
        let changes = diff(&before, &after)?;
        assert_eq!(changes, json!({ "tone": { "from": "calm", "to": "dark" } }));
        Ok(())
    }
}

//! Posting slots analytics learned from engagement (`GET /v1/analytics/slots`), asked for each
//! tenant whose schedules are due; until analytics has enough of a tenant's videos on a platform,
//! or when it cannot be reached, the platform's default slot stands.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use shared::peer::Peer;
use sqlx::PgPool;

/// `(tenant, platform)` → learned `(ISO weekday, UTC hour)` slots, best first.
pub type LearnedSlots = HashMap<(String, String), Vec<(u32, u32)>>;

#[derive(Debug, Deserialize)]
struct Slot {
    platform: String,
    weekday: u32,
    hour: u32,
}

/// The learned slots of every tenant with a schedule due by `now`; empty without analytics.
pub async fn due_tenants(
    db: &PgPool,
    analytics: Option<&Peer>,
    now: DateTime<Utc>,
) -> LearnedSlots {
    let mut learned = LearnedSlots::new();
    let Some(analytics) = analytics else {
        return learned;
    };
    let tenants = sqlx::query_scalar!(
        "SELECT DISTINCT tenant FROM orchestrator.schedules WHERE enabled AND next_fire_at <= $1",
        now
    )
    .fetch_all(db)
    .await;
    for tenant in tenants.unwrap_or_default() {
        match ask(analytics, &tenant).await {
            Ok(slots) => {
                for slot in slots
                    .into_iter()
                    .filter(|s| (1..=7).contains(&s.weekday) && s.hour < 24)
                {
                    learned
                        .entry((tenant.clone(), slot.platform))
                        .or_default()
                        .push((slot.weekday, slot.hour));
                }
            }
            Err(error) => tracing::info!(
                tenant,
                error = format!("{error:#}"),
                "no learned posting slots; using the defaults"
            ),
        }
    }
    learned
}

async fn ask(analytics: &Peer, tenant: &str) -> anyhow::Result<Vec<Slot>> {
    let path = format!(
        "/v1/analytics/slots?tenant={}",
        url::form_urlencoded::byte_serialize(tenant.as_bytes()).collect::<String>()
    );
    Ok(analytics
        .request(reqwest::Method::GET, &path)?
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

//! Each account's posting quota, as a configurable model per platform: YouTube counts uploads
//! per day in units (or a plain upload count) and resets at midnight Pacific time; TikTok,
//! Instagram and Facebook count posts in a rolling 24 hours. A publication is counted when its
//! upload starts; one that would exceed the quota waits (`deferred`) until a slot frees.

use chrono::{DateTime, Days, TimeZone as _, Utc};
use chrono_tz::US::Pacific;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::platform::Platform;

/// `[services.distribution.quotas.<platform>]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlatformQuota {
    /// Uploads per window; overrides the unit model.
    pub uploads_per_window: Option<u32>,
    /// YouTube's daily units and what one upload spends (`videos.insert`, `thumbnails.set`,
    /// `captions.insert`): the uploads per day are their quotient.
    pub units_per_day: Option<u32>,
    pub units_per_upload: Option<u32>,
}

/// `[services.distribution.quotas]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Quotas {
    pub youtube: PlatformQuota,
    pub tiktok: PlatformQuota,
    pub instagram: PlatformQuota,
    pub facebook: PlatformQuota,
}

impl Quotas {
    /// Uploads `platform` takes per window: YouTube 10,000 units ÷ 1,600 per `videos.insert` = 6
    /// a day (projects granted more set `units_per_day`, or `uploads_per_window` for the newer
    /// upload-count model); TikTok 15 a day per creator; Instagram 100 and Facebook 30 Reels in
    /// 24 hours.
    pub fn limit(&self, platform: Platform) -> u32 {
        let youtube = &self.youtube;
        let (quota, default) = match platform {
            Platform::Youtube => (
                youtube,
                youtube.units_per_day.unwrap_or(10_000)
                    / youtube.units_per_upload.unwrap_or(1_600).max(1),
            ),
            Platform::Tiktok => (&self.tiktok, 15),
            Platform::Instagram => (&self.instagram, 100),
            Platform::Facebook => (&self.facebook, 30),
        };
        quota.uploads_per_window.unwrap_or(default)
    }
}

/// Where an account stands against its quota.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Standing {
    pub limit: u32,
    pub used: u32,
    pub remaining: u32,
    /// When a slot frees (YouTube: the next midnight Pacific; elsewhere: 24 hours after the
    /// oldest upload counted); unset while nothing is counted.
    pub resets_at: Option<DateTime<Utc>>,
}

/// Since when uploads count against `platform`'s quota at `now`.
fn window_start(platform: Platform, now: DateTime<Utc>) -> DateTime<Utc> {
    match platform {
        Platform::Youtube => pacific_midnight(now, 0).unwrap_or(now - chrono::Duration::hours(24)),
        Platform::Tiktok | Platform::Instagram | Platform::Facebook => {
            now - chrono::Duration::hours(24)
        }
    }
}

/// The account's standing at `now`, from the uploads it started in the window.
pub async fn standing(
    conn: &mut sqlx::PgConnection,
    quotas: &Quotas,
    platform: Platform,
    account_id: Uuid,
    now: DateTime<Utc>,
) -> sqlx::Result<Standing> {
    let counted = sqlx::query!(
        r#"SELECT count(*) AS "used!", min(sent_at) AS oldest FROM distribution.publications WHERE account_id = $1 AND sent_at >= $2"#,
        account_id,
        window_start(platform, now)
    )
    .fetch_one(conn)
    .await?;
    let limit = quotas.limit(platform);
    let used = u32::try_from(counted.used).unwrap_or(u32::MAX);
    let resets_at = match platform {
        Platform::Youtube => (used > 0).then(|| next_reset(platform, now)),
        _ => counted
            .oldest
            .map(|oldest| oldest + chrono::Duration::hours(24)),
    };
    Ok(Standing {
        limit,
        used,
        remaining: limit.saturating_sub(used),
        resets_at,
    })
}

/// The moment after `now` when `platform` takes posts again.
pub fn next_reset(platform: Platform, now: DateTime<Utc>) -> DateTime<Utc> {
    match platform {
        Platform::Youtube => pacific_midnight(now, 1).unwrap_or(now + chrono::Duration::hours(24)),
        Platform::Tiktok | Platform::Instagram | Platform::Facebook => {
            now + chrono::Duration::hours(24)
        }
    }
}

/// Midnight Pacific time that starts the day `days_later` days after `now`'s Pacific date.
fn pacific_midnight(now: DateTime<Utc>, days_later: u64) -> Option<DateTime<Utc>> {
    let day = now
        .with_timezone(&Pacific)
        .date_naive()
        .checked_add_days(Days::new(days_later))?;
    let midnight = Pacific
        .from_local_datetime(&day.and_hms_opt(0, 0, 0)?)
        .earliest()?;
    Some(midnight.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn youtube_resets_at_midnight_pacific_across_daylight_saving() -> anyhow::Result<()> {
        // 2026-07-01 20:00 UTC is 13:00 PDT: the reset is 2026-07-02 00:00 PDT = 07:00 UTC.
        let summer = Utc
            .with_ymd_and_hms(2026, 7, 1, 20, 0, 0)
            .single()
            .ok_or_else(|| anyhow::anyhow!("date"))?;
        assert_eq!(
            next_reset(Platform::Youtube, summer),
            Utc.with_ymd_and_hms(2026, 7, 2, 7, 0, 0)
                .single()
                .unwrap_or(summer)
        );
        // In winter Pacific is UTC-8: 2026-12-03 07:30 UTC is 23:30 PST the day before.
        let winter = Utc
            .with_ymd_and_hms(2026, 12, 3, 7, 30, 0)
            .single()
            .ok_or_else(|| anyhow::anyhow!("date"))?;
        assert_eq!(
            next_reset(Platform::Youtube, winter),
            Utc.with_ymd_and_hms(2026, 12, 3, 8, 0, 0)
                .single()
                .unwrap_or(winter)
        );
        assert_eq!(
            next_reset(Platform::Tiktok, winter) - winter,
            chrono::Duration::hours(24)
        );
        Ok(())
    }
}

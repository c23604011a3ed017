//! When a platform's spent quota comes back: YouTube's daily quota resets at midnight Pacific
//! time; the others count a rolling 24 hours.

use chrono::{DateTime, Days, TimeZone as _, Utc};
use chrono_tz::US::Pacific;

use crate::platform::Platform;

/// The moment after `now` when `platform` takes posts again.
pub fn next_reset(platform: Platform, now: DateTime<Utc>) -> DateTime<Utc> {
    match platform {
        Platform::Youtube => {
            let today = now.with_timezone(&Pacific).date_naive();
            today
                .checked_add_days(Days::new(1))
                .and_then(|tomorrow| tomorrow.and_hms_opt(0, 0, 0))
                .and_then(|midnight| Pacific.from_local_datetime(&midnight).earliest())
                .map_or(now + chrono::Duration::hours(24), |midnight| {
                    midnight.with_timezone(&Utc)
                })
        }
        Platform::Tiktok | Platform::Instagram | Platform::Facebook => {
            now + chrono::Duration::hours(24)
        }
    }
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

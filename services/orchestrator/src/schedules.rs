//! Schedules: runs made on a cron expression read in the schedule's time zone, from a list of
//! topics taken in turn or from a series (its bible — premise, characters, tone — written into each
//! episode's topic, with the titles already used so topics don't repeat), published to chosen
//! accounts in the posting slots analytics learned (or each platform's default slot); the choices
//! a schedule leaves open come from analytics' recommendation, as for any run. A slot fires once: its `(schedule, slot)` row is
//! unique and the schedule's row is locked while it fires, so replicas never fire it twice. After
//! downtime, missed slots fire by the schedule's catch-up policy.

use std::str::FromStr as _;

use chrono::{DateTime, Datelike as _, TimeZone as _, Utc};
use chrono_tz::Tz;
use messages::{
    catalogue::Catalogue,
    jobs::{PublishTarget, SeriesBible},
};
use serde::{Deserialize, Serialize};
use shared::ApiError;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    learned_slots::LearnedSlots,
    params::{RunParams, RunRequest},
    pipeline::{self, Limits},
};

/// Missed slots a schedule fires at most when its policy is `all`.
const MAX_CATCH_UP: usize = 24;

/// What a scheduler that was down does with the slots it missed.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    strum::Display,
    strum::EnumString,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum CatchUp {
    /// Skip them; fire from the next slot on.
    None,
    /// Fire the latest missed slot once.
    #[default]
    Latest,
    /// Fire every missed slot (at most 24).
    All,
}

/// A series bible: what every episode keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Series {
    pub title: String,
    pub premise: String,
    #[serde(default)]
    pub characters: Vec<String>,
    #[serde(default)]
    pub tone: Option<String>,
}

/// Where a scheduled run publishes: the account and its platform (for the platform's slot).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduledTarget {
    pub account_id: Uuid,
    /// `youtube`, `tiktok`, `instagram` or `facebook`.
    pub platform: String,
    #[serde(default)]
    pub privacy: Option<String>,
}

/// `POST /v1/schedules`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSchedule {
    pub name: String,
    /// Five fields (`minute hour day month weekday`), or six or seven with seconds and year first
    /// and last, read in `time_zone`.
    pub cron: String,
    /// IANA time zone, e.g. `Europe/Paris` (default `UTC`).
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Topics taken in turn, one per slot.
    #[serde(default)]
    pub topics: Vec<String>,
    /// A series, instead of topics.
    #[serde(default)]
    pub series: Option<Series>,
    #[serde(default)]
    pub genre: Option<String>,
    #[serde(default)]
    pub length_seconds: Option<u32>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub formats: Option<Vec<String>>,
    #[serde(default)]
    pub publish: Vec<ScheduledTarget>,
    #[serde(default)]
    pub catch_up: CatchUp,
}

/// A validated schedule, as stored.
#[derive(Debug, Clone)]
pub struct ValidSchedule {
    pub request: NewSchedule,
    pub time_zone: Tz,
    pub cron: cron::Schedule,
}

/// Parses a cron expression: five fields get a seconds field of `0` in front.
pub fn parse_cron(expression: &str) -> Result<cron::Schedule, String> {
    let fields = expression.split_whitespace().count();
    let full = if fields == 5 {
        format!("0 {expression}")
    } else {
        expression.to_owned()
    };
    cron::Schedule::from_str(&full)
        .map_err(|e| format!("`{expression}` is not a cron expression: {e}"))
}

impl NewSchedule {
    pub fn validate(self, catalogue: &Catalogue) -> Result<ValidSchedule, ApiError> {
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            return Err(ApiError::validation("name", "must be 1 to 200 characters"));
        }
        let cron = parse_cron(&self.cron).map_err(|e| ApiError::validation("cron", e))?;
        let zone = self.time_zone.as_deref().unwrap_or("UTC");
        let time_zone: Tz = zone.parse().map_err(|_| {
            ApiError::validation(
                "time_zone",
                format!("`{zone}` is not an IANA time zone (e.g. Europe/Paris)"),
            )
        })?;
        match (&self.series, self.topics.is_empty()) {
            (Some(_), false) => {
                return Err(ApiError::validation(
                    "topics",
                    "give topics or a series, not both",
                ))
            }
            (None, true) => {
                return Err(ApiError::validation(
                    "topics",
                    "give at least one topic, or a series",
                ))
            }
            _ => {}
        }
        if let Some(series) = &self.series {
            if series.title.trim().is_empty() || series.premise.trim().is_empty() {
                return Err(ApiError::validation(
                    "series",
                    "needs a title and a premise",
                ));
            }
        }
        for target in &self.publish {
            if !["youtube", "tiktok", "instagram", "facebook"].contains(&target.platform.as_str()) {
                return Err(ApiError::validation(
                    "publish",
                    format!(
                        "`{}` is not youtube, tiktok, instagram or facebook",
                        target.platform
                    ),
                ));
            }
        }
        // Every run this schedule makes must be a valid run.
        self.run_request("a topic", Vec::new(), None)
            .validate(catalogue)?;
        Ok(ValidSchedule {
            request: self,
            time_zone,
            cron,
        })
    }

    fn run_request(
        &self,
        topic: &str,
        publish: Vec<PublishTarget>,
        tone: Option<String>,
    ) -> RunRequest {
        RunRequest {
            topic: topic.to_owned(),
            genre: self.genre.clone(),
            tone: tone.or_else(|| self.series.as_ref().and_then(|s| s.tone.clone())),
            length_seconds: self.length_seconds,
            language: self.language.clone(),
            formats: self.formats.clone(),
            seed: None,
            publish: Some(publish),
        }
    }
}

/// The slots of `cron` in `zone` after `after` and up to `until`, oldest first.
pub fn slots_between(
    cron: &cron::Schedule,
    zone: Tz,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
    most: usize,
) -> Vec<DateTime<Utc>> {
    cron.after(&after.with_timezone(&zone))
        .map(|slot| slot.with_timezone(&Utc))
        .take_while(|slot| *slot <= until)
        .take(most)
        .collect()
}

/// The first slot of `cron` in `zone` after `after`.
pub fn next_slot(cron: &cron::Schedule, zone: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    cron.after(&after.with_timezone(&zone))
        .next()
        .map(|slot| slot.with_timezone(&Utc))
}

/// Each platform's default posting slot, in the schedule's time zone (until analytics learns them).
fn default_slot_hour(platform: &str) -> u32 {
    match platform {
        "youtube" => 17,
        "tiktok" => 19,
        "instagram" => 11,
        _ => 13,
    }
}

/// When a run fired at `fired` publishes on `platform`: the soonest of the slots analytics learned
/// (`(ISO weekday, UTC hour)`) at least an hour after `fired` (time to render); without any, the
/// platform's first default slot after that hour, in the schedule's time zone.
pub fn publish_slot(
    platform: &str,
    zone: Tz,
    fired: DateTime<Utc>,
    learned: &[(u32, u32)],
) -> DateTime<Utc> {
    let earliest = fired + chrono::Duration::hours(1);
    let soonest_learned = (0..8)
        .flat_map(|days| {
            let date = earliest.date_naive() + chrono::Days::new(days);
            learned.iter().filter_map(move |&(weekday, hour)| {
                (date.weekday().number_from_monday() == weekday)
                    .then(|| date.and_hms_opt(hour, 0, 0))
                    .flatten()
                    .map(|at| Utc.from_utc_datetime(&at))
            })
        })
        .filter(|slot| *slot >= earliest)
        .min();
    if let Some(slot) = soonest_learned {
        return slot;
    }
    let ready = earliest.with_timezone(&zone);
    let hour = default_slot_hour(platform);
    (0..3)
        .filter_map(|days| {
            let date = ready.date_naive() + chrono::Days::new(days);
            zone.from_local_datetime(&date.and_hms_opt(hour, 0, 0)?)
                .earliest()
        })
        .find(|slot| *slot >= ready)
        .map_or(fired + chrono::Duration::hours(24), |slot| {
            slot.with_timezone(&Utc)
        })
}

/// The topic of the `index`-th run of a schedule: the next topic in turn, or the series' next
/// episode (its bible travels beside it, in the story brief).
fn topic_for(request: &NewSchedule, index: usize) -> String {
    match &request.series {
        Some(series) => format!(
            "{}, episode {}: {}",
            series.title,
            index + 1,
            series.premise
        )
        .chars()
        .take(500)
        .collect(),
        None => request.topics[index % request.topics.len()].clone(),
    }
}

/// The bible of the `index`-th episode of `series`, with the titles already used.
fn bible(series: &Series, index: usize, earlier_titles: Vec<String>) -> SeriesBible {
    SeriesBible {
        title: series.title.clone(),
        premise: series.premise.clone(),
        characters: series.characters.clone(),
        tone: series.tone.clone(),
        episode: u32::try_from(index + 1).unwrap_or(u32::MAX),
        earlier_titles,
    }
}

/// The titles the story step wrote for a schedule's latest episodes (or their topics, before it
/// has), newest first.
async fn earlier_titles(tx: &mut PgConnection, schedule_id: Uuid) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        r#"SELECT COALESCE(story.body->'script'->>'title', split_part(r.topic, ': ', 1)) AS "title!"
           FROM orchestrator.schedule_fires f JOIN orchestrator.runs r ON r.id = f.run_id
           LEFT JOIN orchestrator.facts story ON story.run_id = f.run_id AND story.kind = 'story'
           WHERE f.schedule_id = $1 ORDER BY f.slot DESC LIMIT 10"#,
        schedule_id
    )
    .fetch_all(tx)
    .await
}

/// What the learning loop gives the scheduler: analytics, asked for each run's recommendation
/// (its choices the schedule leaves open), and the posting slots it learned.
#[derive(Clone, Copy)]
pub struct Learning<'a> {
    pub analytics: Option<&'a shared::peer::Peer>,
    pub slots: &'a LearnedSlots,
}

/// A schedule row as the scheduler needs it.
struct Due {
    id: Uuid,
    tenant: String,
    request: NewSchedule,
    cron: String,
    time_zone: String,
    next_fire_at: DateTime<Utc>,
    fired: i64,
}

/// Fires every slot that is due, once, across replicas: each due schedule is locked
/// (`SKIP LOCKED`: another replica takes the others), its slots recorded as unique rows, and its
/// next slot stored, in one transaction with the runs it creates. Returns the runs created.
pub async fn fire_due(
    db: &sqlx::PgPool,
    catalogue: &Catalogue,
    limits: &Limits,
    learning: Learning<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Uuid>> {
    let mut created = Vec::new();
    loop {
        let mut tx = db.begin().await?;
        let row = sqlx::query!(
            r#"SELECT s.id, s.tenant, s.request, s.cron, s.time_zone, s.next_fire_at,
                      (SELECT count(*) FROM orchestrator.schedule_fires f WHERE f.schedule_id = s.id) AS "fired!"
               FROM orchestrator.schedules s WHERE s.enabled AND s.next_fire_at <= $1
               ORDER BY s.next_fire_at LIMIT 1 FOR UPDATE OF s SKIP LOCKED"#,
            now
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(created) };
        let due = Due {
            id: row.id,
            tenant: row.tenant,
            request: serde_json::from_value(row.request)?,
            cron: row.cron,
            time_zone: row.time_zone,
            next_fire_at: row.next_fire_at,
            fired: row.fired,
        };
        created.extend(fire(&mut tx, catalogue, limits, learning, &due, now).await?);
        tx.commit().await?;
    }
}

async fn fire(
    tx: &mut PgConnection,
    catalogue: &Catalogue,
    limits: &Limits,
    learning: Learning<'_>,
    due: &Due,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Uuid>> {
    let cron = parse_cron(&due.cron).map_err(anyhow::Error::msg)?;
    let zone: Tz = due
        .time_zone
        .parse()
        .map_err(|_| anyhow::anyhow!("stored time zone {} is unknown", due.time_zone))?;
    let missed = {
        let mut slots = vec![due.next_fire_at];
        slots.extend(slots_between(
            &cron,
            zone,
            due.next_fire_at,
            now,
            MAX_CATCH_UP,
        ));
        slots
    };
    // The newest missed slot is the one that is "now"; older ones are catch-up.
    let to_fire: Vec<DateTime<Utc>> = match due.request.catch_up {
        CatchUp::All => missed
            .iter()
            .rev()
            .take(MAX_CATCH_UP)
            .rev()
            .copied()
            .collect(),
        CatchUp::Latest => missed.last().copied().into_iter().collect(),
        CatchUp::None => missed
            .last()
            .copied()
            .filter(|slot| now - *slot < chrono::Duration::minutes(5))
            .into_iter()
            .collect(),
    };
    let mut created = Vec::new();
    let mut index = usize::try_from(due.fired)?;
    for slot in to_fire {
        let publish = due
            .request
            .publish
            .iter()
            .map(|target| PublishTarget {
                account_id: target.account_id,
                format: None,
                privacy: target.privacy.clone(),
                publish_at: Some(publish_slot(
                    &target.platform,
                    zone,
                    slot,
                    learning
                        .slots
                        .get(&(due.tenant.clone(), target.platform.clone()))
                        .map_or(&[][..], Vec::as_slice),
                )),
                title: None,
            })
            .collect();
        let run_id = Uuid::now_v7();
        let inserted = sqlx::query!(
            "INSERT INTO orchestrator.schedule_fires (schedule_id, slot, run_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            due.id,
            slot,
            run_id
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            continue;
        }
        let topic = topic_for(&due.request, index);
        let request = due.request.run_request(&topic, publish, None);
        let mut params: RunParams = crate::recommendation::resolve_run(
            learning.analytics,
            catalogue,
            &due.tenant,
            run_id,
            request,
        )
        .await
        .map_err(|e| anyhow::anyhow!("schedule {} makes an invalid run: {e:?}", due.id))?;
        if let Some(series) = &due.request.series {
            params.series = Some(bible(series, index, earlier_titles(tx, due.id).await?));
        }
        pipeline::create_run(tx, limits, run_id, &due.tenant, &params).await?;
        created.push(run_id);
        index += 1;
        tracing::info!(schedule_id = %due.id, %slot, %run_id, "scheduled run created");
    }
    let next = next_slot(&cron, zone, now).unwrap_or(now + chrono::Duration::days(3650));
    sqlx::query!(
        "UPDATE orchestrator.schedules SET next_fire_at = $2, updated_at = now() WHERE id = $1",
        due.id,
        next
    )
    .execute(&mut *tx)
    .await?;
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_the_time_zone_across_daylight_saving() -> anyhow::Result<()> {
        let cron = parse_cron("0 9 * * *").map_err(anyhow::Error::msg)?;
        let paris: Tz = "Europe/Paris".parse().map_err(anyhow::Error::msg)?;
        // 09:00 in Paris is 07:00 UTC in summer and 08:00 UTC in winter.
        let summer = Utc
            .with_ymd_and_hms(2026, 7, 1, 0, 0, 0)
            .single()
            .ok_or_else(|| anyhow::anyhow!("date"))?;
        assert_eq!(
            next_slot(&cron, paris, summer),
            Utc.with_ymd_and_hms(2026, 7, 1, 7, 0, 0).single()
        );
        let winter = Utc
            .with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
            .single()
            .ok_or_else(|| anyhow::anyhow!("date"))?;
        assert_eq!(
            next_slot(&cron, paris, winter),
            Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).single()
        );
        assert!(parse_cron("every day").is_err());
        let slots = slots_between(&cron, paris, winter, winter + chrono::Duration::days(3), 10);
        assert_eq!(slots.len(), 3);
        Ok(())
    }

    #[test]
    fn learned_slots_replace_the_default_with_the_soonest_one_after_the_render(
    ) -> anyhow::Result<()> {
        let zone: Tz = "Europe/Paris".parse().map_err(anyhow::Error::msg)?;
        // Thursday 3 December 2026, 09:00 UTC.
        let fired = Utc
            .with_ymd_and_hms(2026, 12, 3, 9, 0, 0)
            .single()
            .ok_or_else(|| anyhow::anyhow!("date"))?;
        let at = |day, hour| Utc.with_ymd_and_hms(2026, 12, day, hour, 0, 0).single();
        // Thursday 09:00 is too soon (the render needs an hour); Saturday 20:00 comes first.
        let learned = [(4, 9), (6, 20), (1, 7)];
        assert_eq!(
            Some(publish_slot("youtube", zone, fired, &learned)),
            at(5, 20)
        );
        assert_eq!(
            Some(publish_slot("youtube", zone, fired, &[(4, 11)])),
            at(3, 11)
        );
        // Only a slot already past this week: next week's.
        assert_eq!(
            Some(publish_slot("youtube", zone, fired, &[(4, 8)])),
            at(10, 8)
        );
        Ok(())
    }

    #[test]
    fn posts_wait_for_the_platforms_slot_after_the_render() -> anyhow::Result<()> {
        let zone: Tz = "UTC".parse().map_err(anyhow::Error::msg)?;
        let morning = Utc
            .with_ymd_and_hms(2026, 12, 3, 9, 0, 0)
            .single()
            .ok_or_else(|| anyhow::anyhow!("date"))?;
        assert_eq!(
            publish_slot("youtube", zone, morning, &[]),
            morning + chrono::Duration::hours(8)
        );
        let late = Utc
            .with_ymd_and_hms(2026, 12, 3, 18, 30, 0)
            .single()
            .ok_or_else(|| anyhow::anyhow!("date"))?;
        assert_eq!(
            publish_slot("youtube", zone, late, &[]),
            Utc.with_ymd_and_hms(2026, 12, 4, 17, 0, 0)
                .single()
                .unwrap_or(late)
        );
        Ok(())
    }

    #[test]
    fn a_series_carries_its_bible_and_the_titles_already_used() {
        let request = NewSchedule {
            name: "Lighthouses".into(),
            cron: "0 9 * * *".into(),
            time_zone: None,
            topics: Vec::new(),
            series: Some(Series {
                title: "Keepers".into(),
                premise: "lighthouse keepers of the north".into(),
                characters: vec!["Ada".into()],
                tone: None,
            }),
            genre: None,
            length_seconds: None,
            language: None,
            formats: None,
            publish: Vec::new(),
            catch_up: CatchUp::Latest,
        };
        assert_eq!(
            topic_for(&request, 2),
            "Keepers, episode 3: lighthouse keepers of the north"
        );
        let series = request
            .series
            .as_ref()
            .map(|series| bible(series, 2, vec!["The first light".into()]));
        assert_eq!(
            series.map(|s| (s.episode, s.characters, s.earlier_titles)),
            Some((
                3,
                vec!["Ada".to_owned()],
                vec!["The first light".to_owned()]
            ))
        );
    }
}

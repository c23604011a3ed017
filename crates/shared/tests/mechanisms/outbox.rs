//! Outbox: rows reach the stream exactly once, even when a relay dies between publishing and committing.

use std::{collections::HashSet, time::Duration};

use shared::{
    bus::{Bus, Envelope},
    outbox::{self, Relay},
};
use tokio_util::sync::CancellationToken;

use crate::{fresh_database, on_redis_and_cluster, test_bus};

async fn outbox_rows_reach_the_stream_exactly_once_across_relay_crashes_and_restarts(
    bus: Bus,
) -> anyhow::Result<()> {
    let pool = fresh_database().await?;

    let mut sent = Vec::new();
    let mut tx = pool.begin().await?;
    for n in 0..30 {
        let envelope = Envelope::new("thing.created", None, serde_json::json!({ "n": n }));
        outbox::enqueue(&mut tx, "svc", "events", &envelope).await?;
        sent.push(envelope);
    }
    tx.commit().await?;

    // A relay that crashed after publishing the first ten rows, before marking them.
    let first_ten: Vec<(String, &Envelope)> = sent[..10]
        .iter()
        .map(|envelope| (outbox::dedup_key(envelope), envelope))
        .collect();
    bus.publish_once("events", &first_ten, Duration::from_secs(60))
        .await?;

    // A relay that is killed at an arbitrary moment, then a fresh one that finishes the job.
    let killed = tokio::spawn(
        Relay::new(pool.clone(), bus.clone(), vec!["svc".into()]).run(CancellationToken::new()),
    );
    tokio::time::sleep(Duration::from_millis(5)).await;
    killed.abort();
    let _ = killed.await;
    let relay = Relay::new(pool.clone(), bus.clone(), vec!["svc".into()]);
    while relay.relay_once().await? > 0 {}

    let published = bus.entries("events").await?;
    assert_eq!(published.len(), 30, "each row published exactly once");
    let ids: HashSet<_> = published.iter().map(|(_, e)| e.id).collect();
    assert_eq!(ids, sent.iter().map(|e| e.id).collect::<HashSet<_>>());
    let unpublished: i64 =
        sqlx::query_scalar("SELECT count(*) FROM fleet.outbox WHERE published_at IS NULL")
            .fetch_one(&pool)
            .await?;
    assert_eq!(unpublished, 0);
    Ok(())
}

on_redis_and_cluster!(
    outbox_rows_reach_the_stream_exactly_once_across_relay_crashes_and_restarts,
    max_deliveries = 5
);

#[tokio::test]
async fn the_relay_only_moves_rows_of_its_own_services() -> anyhow::Result<()> {
    let pool = fresh_database().await?;
    let bus = test_bus(5)?;
    let mut tx = pool.begin().await?;
    outbox::enqueue(
        &mut tx,
        "mine",
        "jobs.a",
        &Envelope::new("a", None, serde_json::json!({})),
    )
    .await?;
    outbox::enqueue(
        &mut tx,
        "theirs",
        "jobs.b",
        &Envelope::new("b", None, serde_json::json!({})),
    )
    .await?;
    tx.commit().await?;
    assert_eq!(
        Relay::new(pool.clone(), bus.clone(), vec!["mine".into()])
            .relay_once()
            .await?,
        1
    );
    assert_eq!(bus.entries("jobs.a").await?.len(), 1);
    assert!(bus.entries("jobs.b").await?.is_empty());
    Ok(())
}

/// A database restored from backup or replaced by a new one restarts its row ids at 1; its rows
/// must still be published on a Redis (and key prefix) that an earlier database used.
async fn a_fresh_database_on_a_used_redis_prefix_loses_no_rows(bus: Bus) -> anyhow::Result<()> {
    let mut published_ids = HashSet::new();
    for lifetime in 0..2 {
        let pool = fresh_database().await?;
        let mut tx = pool.begin().await?;
        for n in 0..5 {
            let envelope = Envelope::new(
                "thing.created",
                None,
                serde_json::json!({ "lifetime": lifetime, "n": n }),
            );
            outbox::enqueue(&mut tx, "svc", "jobs.a", &envelope).await?;
            published_ids.insert(envelope.id);
        }
        tx.commit().await?;
        let first_id: i64 = sqlx::query_scalar("SELECT min(id) FROM fleet.outbox")
            .fetch_one(&pool)
            .await?;
        assert_eq!(first_id, 1, "each database numbers its rows from 1");
        let relay = Relay::new(pool.clone(), bus.clone(), vec!["svc".into()]);
        while relay.relay_once().await? > 0 {}
    }
    let entries = bus.entries("jobs.a").await?;
    assert_eq!(
        entries.iter().map(|(_, e)| e.id).collect::<HashSet<_>>(),
        published_ids,
        "both databases' rows reached the stream"
    );
    assert_eq!(entries.len(), 10);
    Ok(())
}

on_redis_and_cluster!(
    a_fresh_database_on_a_used_redis_prefix_loses_no_rows,
    max_deliveries = 5
);

/// Redis restarted without its data: every relay notices (its epoch key is gone) and publishes
/// its last hour of rows again, so work sent but not yet consumed is not lost. A relay starting
/// against an intact Redis publishes nothing twice.
async fn rows_published_before_redis_lost_its_data_are_published_again(
    bus: Bus,
) -> anyhow::Result<()> {
    let pool = fresh_database().await?;
    let mut tx = pool.begin().await?;
    for n in 0..3 {
        let envelope = Envelope::new("usage.recorded", None, serde_json::json!({ "n": n }));
        outbox::enqueue(&mut tx, "svc", "usage", &envelope).await?;
    }
    tx.commit().await?;
    let mut relay = Relay::new(pool.clone(), bus.clone(), vec!["svc".into()]);
    relay.replay_after_data_loss().await?;
    assert_eq!(relay.relay_once().await?, 3);
    assert_eq!(relay.replay_after_data_loss().await?, 0, "nothing lost yet");
    let mut restarted = Relay::new(pool.clone(), bus.clone(), vec!["svc".into()]);
    assert_eq!(
        restarted.replay_after_data_loss().await?,
        0,
        "a relay (re)starting on an intact Redis replays nothing"
    );

    // Redis loses everything under this prefix.
    let mut conn = bus.redis().await?;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("*{}*", bus.key("")))
        .query_async(&mut conn)
        .await?;
    for key in keys {
        let _: () = redis::cmd("DEL").arg(key).query_async(&mut conn).await?;
    }
    assert!(bus.entries("usage").await?.is_empty());

    assert_eq!(relay.replay_after_data_loss().await?, 3);
    assert_eq!(relay.relay_once().await?, 3);
    // The other relay sees the new epoch too (another process's view of the same loss).
    assert_eq!(restarted.replay_after_data_loss().await?, 3);
    while restarted.relay_once().await? > 0 {}
    let entries = bus.entries("usage").await?;
    assert_eq!(entries.len(), 3, "each row once on the new Redis");
    Ok(())
}

on_redis_and_cluster!(
    rows_published_before_redis_lost_its_data_are_published_again,
    max_deliveries = 5
);

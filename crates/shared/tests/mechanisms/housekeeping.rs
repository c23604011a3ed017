//! Pruning: published outbox rows and idempotency keys go once past their retention; unpublished
//! rows stay however old they are.

use shared::{
    bus::Envelope,
    housekeeping::{prune_once, Pruned, RetentionConfig},
    outbox::{self, Relay},
};

use crate::{fresh_database, test_bus};

#[tokio::test]
async fn old_published_rows_and_expired_keys_are_pruned_and_nothing_else() -> anyhow::Result<()> {
    let pool = fresh_database().await?;
    let bus = test_bus(5)?;
    let mut tx = pool.begin().await?;
    for n in 0..4 {
        let envelope = Envelope::new("thing.created", None, serde_json::json!({ "n": n }));
        outbox::enqueue(&mut tx, "svc", "jobs.a", &envelope).await?;
    }
    tx.commit().await?;
    Relay::new(pool.clone(), bus.clone(), vec!["svc".into()])
        .relay_once()
        .await?;
    // Two published long ago, one published just now, one never published (and old).
    sqlx::query(
        "UPDATE fleet.outbox SET published_at = now() - interval '48 hours' WHERE id IN (1, 2)",
    )
    .execute(&pool)
    .await?;
    sqlx::query("UPDATE fleet.outbox SET published_at = NULL, created_at = now() - interval '30 days' WHERE id = 4")
        .execute(&pool)
        .await?;
    for (key, age_hours) in [("old", 30), ("fresh", 1)] {
        sqlx::query(
            "INSERT INTO fleet.idempotency_keys (scope, key, fingerprint, created_at)
             VALUES ('acme/ana', $1, 'f', now() - make_interval(hours => $2))",
        )
        .bind(key)
        .bind(age_hours)
        .execute(&pool)
        .await?;
    }

    let pruned = prune_once(&pool, &["svc".to_owned()], &RetentionConfig::default()).await?;
    assert_eq!(
        pruned,
        Pruned {
            outbox_rows: 2,
            idempotency_keys: 1
        }
    );
    let left: Vec<i64> = sqlx::query_scalar("SELECT id FROM fleet.outbox ORDER BY id")
        .fetch_all(&pool)
        .await?;
    assert_eq!(left, vec![3, 4]);
    let keys: Vec<String> = sqlx::query_scalar("SELECT key FROM fleet.idempotency_keys")
        .fetch_all(&pool)
        .await?;
    assert_eq!(keys, vec!["fresh".to_owned()]);
    // Another service's rows are its own processes' to prune.
    assert_eq!(
        prune_once(&pool, &["other".to_owned()], &RetentionConfig::default()).await?,
        Pruned::default()
    );
    Ok(())
}

//! Pruning: published outbox rows, idempotency keys and tenant exports go once past their
//! retention; unpublished rows and erasure records stay however old they are.

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
    for (kind, age_hours) in [("export", 200), ("export", 1), ("erasure", 2000)] {
        sqlx::query(
            "WITH request AS (
                 INSERT INTO fleet.privacy_requests (id, kind, tenant, requested_by, services, requested_at)
                 VALUES (gen_random_uuid(), $1, 'acme', 'ana', '{story}', now() - make_interval(hours => $2))
                 RETURNING id)
             INSERT INTO fleet.privacy_parts (request_id, service, rows, files, data)
             SELECT id, 'story', 1, 0, '{\"story.stories\": [{\"title\": \"mine\"}]}' FROM request",
        )
        .bind(kind)
        .bind(age_hours)
        .execute(&pool)
        .await?;
    }

    let pruned = prune_once(&pool, &["svc".to_owned()], &RetentionConfig::default()).await?;
    assert_eq!(
        pruned,
        Pruned {
            outbox_rows: 2,
            idempotency_keys: 1,
            exports: 1,
        }
    );
    let kept: Vec<(String, i64)> = sqlx::query_as(
        "SELECT r.kind, count(p.service) FROM fleet.privacy_requests r
         LEFT JOIN fleet.privacy_parts p ON p.request_id = r.id GROUP BY r.id, r.kind ORDER BY r.kind",
    )
    .fetch_all(&pool)
    .await?;
    assert_eq!(
        kept,
        vec![("erasure".to_owned(), 1), ("export".to_owned(), 1)],
        "the old export went with its data; the fresh one and the erasure record stay"
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

//! Usage ingestion end to end: entries on the `usage` stream → ledger, daily and monthly rollups and
//! monthly charges, through the real consumer, against real Redis and Postgres.
//! Run: `cargo bench -p billing --bench ingest` (Postgres at 127.0.0.1:5432, Redis at 127.0.0.1:6379).

use std::time::{Duration, Instant};

use billing::{alerts::Alerts, config::BillingConfig, ledger::LedgerWriter};
use providers::{
    units::Units,
    usage::{UsageEntry, USAGE_KIND, USAGE_STREAM},
};
use shared::{
    bus::{Bus, Envelope},
    config::BusConfig,
    metrics::Metrics,
};
use tokio_util::sync::CancellationToken;

const ENTRIES: usize = 200_000;

fn entry(i: usize) -> UsageEntry {
    UsageEntry {
        usage_id: uuid::Uuid::now_v7(),
        at: chrono::Utc::now(),
        run_id: Some(uuid::Uuid::now_v7()),
        tenant: format!("tenant-{}", i % 50),
        service: ["story", "tts", "image", "music"][i % 4].to_owned(),
        capability: ["text", "speech", "image", "music"][i % 4].to_owned(),
        provider: ["openai", "anthropic", "elevenlabs", "replicate"][i % 4].to_owned(),
        model: format!("model-{}", i % 3),
        units: Units {
            input_tokens: 1200,
            output_tokens: 380,
            ..Units::default()
        },
        cost_micros: 393 + (i % 7) as u64,
        priced: true,
        latency_ms: 800,
        outcome: if i.is_multiple_of(40) {
            "transient"
        } else {
            "ok"
        }
        .to_owned(),
        cache_hit: i.is_multiple_of(10),
    }
}

/// A new, migrated database, and its name for [`drop_database`].
async fn fresh_database() -> anyhow::Result<(sqlx::PgPool, String)> {
    let name = format!("reelforge_bench_ingest_{}", uuid::Uuid::new_v4().simple());
    let db = shared::db::connect(&format!("postgres://postgres@127.0.0.1:5432/{name}")).await?;
    shared::db::migrate(&db).await?;
    Ok((db, name))
}

async fn drop_database(db: sqlx::PgPool, name: &str) -> anyhow::Result<()> {
    db.close().await;
    let admin = shared::db::connect("postgres://postgres@127.0.0.1:5432/postgres").await?;
    sqlx::query(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&admin)
        .await?;
    Ok(())
}

async fn count(db: &sqlx::PgPool) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM billing.ledger")
        .fetch_one(db)
        .await?)
}

/// Events per second from the first entry read to the last one committed, with `consumers` consumers.
async fn run(consumers: usize, batch: usize) -> anyhow::Result<f64> {
    let (db, name) = fresh_database().await?;
    let bus = Bus::new(
        "redis://127.0.0.1:6379",
        BusConfig {
            prefix: format!("bench-{}", uuid::Uuid::new_v4().simple()),
            max_deliveries: 5,
            reclaim_idle_ms: 60_000,
            block_ms: 100,
            batch: 16,
            max_len: 10_000_000,
        },
    )?;
    for chunk in (0..ENTRIES).collect::<Vec<_>>().chunks(5_000) {
        let envelopes: Vec<Envelope> = chunk
            .iter()
            .map(|&i| {
                let e = entry(i);
                Envelope {
                    id: e.usage_id,
                    kind: USAGE_KIND.to_owned(),
                    run_id: e.run_id,
                    body: serde_json::to_value(&e).unwrap_or_default(),
                    expires_at: None,
                }
            })
            .collect();
        bus.publish_batch(USAGE_STREAM, &envelopes).await?;
    }
    let shutdown = CancellationToken::new();
    let metrics = Metrics::new()?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..consumers {
        let writer = LedgerWriter {
            db: db.clone(),
            alerts: Alerts::new(BillingConfig::default(), &metrics)?,
        };
        let consumer = bus
            .consumer(USAGE_STREAM, "billing", &format!("bench-{c}"))
            .batch_size(batch);
        tasks.push(tokio::spawn(consumer.run_batches(writer, shutdown.clone())));
    }
    while count(&db).await? < ENTRIES as i64 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "ingestion did not finish"
        );
    }
    let elapsed = started.elapsed().as_secs_f64();
    shutdown.cancel();
    for task in tasks {
        task.await??;
    }
    let (ledger, charges): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT sum(cost_micros) FROM billing.ledger)::int8, (SELECT sum(cost_micros) FROM billing.monthly_charges)::int8",
    )
    .fetch_one(&db)
    .await?;
    anyhow::ensure!(
        ledger == charges,
        "charges {charges} differ from the ledger {ledger}"
    );
    drop_database(db, &name).await?;
    Ok(ENTRIES as f64 / elapsed)
}

/// Events per second of the ledger statement alone (no stream, no decoding), in batches of `batch`.
async fn database_only(batch: usize) -> anyhow::Result<f64> {
    let (db, name) = fresh_database().await?;
    let entries: Vec<UsageEntry> = (0..ENTRIES).map(entry).collect();
    let started = Instant::now();
    for chunk in entries.chunks(batch) {
        let mut tx = db.begin().await?;
        billing::ledger::record(&mut tx, chunk).await?;
        tx.commit().await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    drop_database(db, &name).await?;
    Ok(ENTRIES as f64 / elapsed)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    println!("usage ingestion: {ENTRIES} entries, 50 tenants, stream → ledger + rollups + charges");
    let rate = database_only(5000).await?;
    println!("  the ledger statement alone, batches of 5000: {rate:>9.0} events/s");
    for (consumers, batch) in [(1, 1000), (1, 5000), (2, 5000), (3, 5000)] {
        let rate = run(consumers, batch).await?;
        println!("  {consumers} consumer(s), batches of {batch:>5}: {rate:>9.0} events/s");
    }
    Ok(())
}

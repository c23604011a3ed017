//! Streams contract: reclaim, dead letters, redrive, poison entries, draining on shutdown.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use shared::bus::{Bus, Delivery, Envelope, Handler};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{eventually, on_redis_and_cluster, test_bus};

const STREAM: &str = "jobs.test";

/// Forwards every delivery to a channel; fails while `failing` is set.
#[derive(Clone)]
struct Recorder {
    seen: mpsc::UnboundedSender<Delivery>,
    failing: Arc<AtomicBool>,
    calls: Arc<AtomicUsize>,
    delay: Duration,
}

impl Recorder {
    fn new(delay: Duration) -> (Self, mpsc::UnboundedReceiver<Delivery>) {
        let (seen, receiver) = mpsc::unbounded_channel();
        let recorder = Recorder {
            seen,
            failing: Arc::default(),
            calls: Arc::default(),
            delay,
        };
        (recorder, receiver)
    }
}

impl Handler for Recorder {
    async fn handle(&self, delivery: &Delivery) -> anyhow::Result<()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        anyhow::ensure!(!self.failing.load(Ordering::SeqCst), "handler told to fail");
        let _ = self.seen.send(delivery.clone());
        Ok(())
    }
}

fn job(n: i64) -> Envelope {
    Envelope::new("test.job", None, serde_json::json!({ "n": n }))
}

async fn an_entry_left_unacked_by_a_crashed_consumer_is_reclaimed_by_another(
    bus: Bus,
) -> anyhow::Result<()> {
    let key = bus.stream_key(STREAM);
    let sent = job(1);
    bus.publish(STREAM, &sent).await?;

    // The "crashed" consumer takes delivery and dies without acking.
    let mut conn = bus.dedicated_redis().await?;
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&key)
        .arg("workers")
        .arg("0")
        .arg("MKSTREAM")
        .query_async(&mut conn)
        .await?;
    let taken: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("workers")
        .arg("crashed")
        .arg("COUNT")
        .arg(1)
        .arg("STREAMS")
        .arg(&key)
        .arg(">")
        .query_async(&mut conn)
        .await?;
    assert!(
        matches!(taken, redis::Value::Array(ref a) if !a.is_empty()),
        "crashed consumer got nothing"
    );

    let (recorder, mut seen) = Recorder::new(Duration::ZERO);
    let shutdown = CancellationToken::new();
    let survivor = bus
        .consumer(STREAM, "workers", "survivor")
        .reclaim_after(Duration::from_millis(200));
    let running = tokio::spawn(survivor.run(recorder, shutdown.clone()));

    let delivery = tokio::time::timeout(Duration::from_secs(10), seen.recv())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no delivery"))?;
    assert_eq!(delivery.envelope, sent);
    assert_eq!(
        delivery.deliveries, 2,
        "the reclaimed entry counts both deliveries"
    );
    assert!(
        eventually(5, || async {
            bus.stats(STREAM, "workers")
                .await
                .map(|s| s.pending == 0)
                .unwrap_or(false)
        })
        .await
    );
    shutdown.cancel();
    running.await??;
    Ok(())
}

on_redis_and_cluster!(
    an_entry_left_unacked_by_a_crashed_consumer_is_reclaimed_by_another,
    max_deliveries = 5
);

async fn an_entry_failing_n_times_is_dead_lettered_and_redrive_brings_it_back(
    bus: Bus,
) -> anyhow::Result<()> {
    let (recorder, mut seen) = Recorder::new(Duration::ZERO);
    recorder.failing.store(true, Ordering::SeqCst);
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(
        bus.consumer(STREAM, "workers", "w1")
            .run(recorder.clone(), shutdown.clone()),
    );
    let sent = job(2);
    bus.publish(STREAM, &sent).await?;

    assert!(
        eventually(15, || async {
            bus.dead_letters(STREAM)
                .await
                .map(|d| d.len() == 1)
                .unwrap_or(false)
        })
        .await,
        "never dead-lettered"
    );
    assert_eq!(
        recorder.calls.load(Ordering::SeqCst),
        3,
        "delivered exactly max_deliveries times"
    );
    assert_eq!(bus.dead_letters(STREAM).await?[0].1, sent);
    let stats = bus.stats(STREAM, "workers").await?;
    assert_eq!((stats.pending, stats.dead_letters), (0, 1));

    recorder.failing.store(false, Ordering::SeqCst);
    assert_eq!(bus.redrive(STREAM).await?, 1);
    let delivery = tokio::time::timeout(Duration::from_secs(10), seen.recv())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no delivery"))?;
    assert_eq!(delivery.envelope, sent, "the same message id comes back");
    assert_eq!(
        delivery.deliveries, 1,
        "a redriven entry starts a fresh count"
    );
    assert!(bus.dead_letters(STREAM).await?.is_empty());
    shutdown.cancel();
    running.await??;
    Ok(())
}

on_redis_and_cluster!(
    an_entry_failing_n_times_is_dead_lettered_and_redrive_brings_it_back,
    max_deliveries = 3
);

async fn an_undecodable_entry_goes_straight_to_the_dead_letters(bus: Bus) -> anyhow::Result<()> {
    let mut conn = bus.dedicated_redis().await?;
    let _: String = redis::cmd("XADD")
        .arg(bus.stream_key(STREAM))
        .arg("*")
        .arg("envelope")
        .arg("{not json")
        .query_async(&mut conn)
        .await?;
    let (recorder, _seen) = Recorder::new(Duration::ZERO);
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(
        bus.consumer(STREAM, "workers", "w1")
            .run(recorder.clone(), shutdown.clone()),
    );
    assert!(
        eventually(10, || async {
            bus.stats(STREAM, "workers")
                .await
                .map(|s| s.dead_letters == 1)
                .unwrap_or(false)
        })
        .await
    );
    assert_eq!(recorder.calls.load(Ordering::SeqCst), 0);
    shutdown.cancel();
    running.await??;
    Ok(())
}

on_redis_and_cluster!(
    an_undecodable_entry_goes_straight_to_the_dead_letters,
    max_deliveries = 5
);

#[tokio::test]
async fn shutdown_waits_for_the_in_flight_delivery_and_acks_it() -> anyhow::Result<()> {
    let bus = test_bus(5)?;
    let (recorder, mut seen) = Recorder::new(Duration::from_millis(1500));
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(
        bus.consumer(STREAM, "workers", "w1")
            .run(recorder.clone(), shutdown.clone()),
    );
    bus.publish(STREAM, &job(3)).await?;
    assert!(
        eventually(10, || async { recorder.calls.load(Ordering::SeqCst) == 1 }).await,
        "handler never started"
    );

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), running).await???;
    assert!(
        seen.try_recv().is_ok(),
        "the in-flight job finished before the consumer returned"
    );
    let stats = bus.stats(STREAM, "workers").await?;
    assert_eq!(stats.pending, 0, "and it was acked");
    Ok(())
}

/// A handler working longer than the reclaim timeout keeps its entry: neither another consumer
/// nor its own reclaim starts the work a second time (a long render is never run twice).
#[tokio::test]
async fn an_entry_in_progress_is_not_reclaimed_however_long_it_takes() -> anyhow::Result<()> {
    let bus = test_bus(5)?;
    let (recorder, mut seen) = Recorder::new(Duration::from_millis(1500));
    let shutdown = CancellationToken::new();
    let consumers: Vec<_> = ["w1", "w2"]
        .into_iter()
        .map(|name| {
            tokio::spawn(
                bus.consumer(STREAM, "workers", name)
                    .reclaim_after(Duration::from_millis(200))
                    .run(recorder.clone(), shutdown.clone()),
            )
        })
        .collect();
    bus.publish(STREAM, &job(5)).await?;
    let delivery = tokio::time::timeout(Duration::from_secs(10), seen.recv())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no delivery"))?;
    assert_eq!(delivery.deliveries, 1);
    // Long enough for several reclaim rounds to find the entry, had its claim lapsed.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(recorder.calls.load(Ordering::SeqCst), 1, "handled once");
    shutdown.cancel();
    for consumer in consumers {
        consumer.await??;
    }
    Ok(())
}

/// A consumer handles at most `concurrency` entries at once, and a slow one does not hold up the rest.
#[tokio::test]
async fn a_consumer_handles_at_most_its_concurrency_at_once() -> anyhow::Result<()> {
    let bus = test_bus(5)?;
    let (recorder, mut seen) = Recorder::new(Duration::from_millis(300));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    struct Gauged {
        inner: Recorder,
        in_flight: Arc<AtomicUsize>,
        peak: Arc<AtomicUsize>,
    }
    impl Handler for Gauged {
        async fn handle(&self, delivery: &Delivery) -> anyhow::Result<()> {
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            let outcome = self.inner.handle(delivery).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            outcome
        }
    }
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(
        bus.consumer(STREAM, "workers", "w1")
            .batch_size(8)
            .concurrency(2)
            .run(
                Gauged {
                    inner: recorder,
                    in_flight: in_flight.clone(),
                    peak: peak.clone(),
                },
                shutdown.clone(),
            ),
    );
    for n in 0..6 {
        bus.publish(STREAM, &job(n)).await?;
    }
    for _ in 0..6 {
        tokio::time::timeout(Duration::from_secs(10), seen.recv())
            .await?
            .ok_or_else(|| anyhow::anyhow!("missing delivery"))?;
    }
    assert_eq!(
        peak.load(Ordering::SeqCst),
        2,
        "never more than two at once"
    );
    shutdown.cancel();
    running.await??;
    Ok(())
}

/// Redis restarted without its data: the consumer ends with a reason (its supervisor then starts
/// a fresh one), and a fresh one creates the group again and takes new work.
async fn a_consumer_whose_group_vanished_ends_and_a_fresh_one_recovers(
    bus: Bus,
) -> anyhow::Result<()> {
    let (recorder, mut seen) = Recorder::new(Duration::ZERO);
    let shutdown = CancellationToken::new();
    let first = tokio::spawn(
        bus.consumer(STREAM, "workers", "w1")
            .run(recorder.clone(), shutdown.clone()),
    );
    bus.publish(STREAM, &job(1)).await?;
    tokio::time::timeout(Duration::from_secs(10), seen.recv()).await?;
    let mut conn = bus.dedicated_redis().await?;
    let _: () = redis::cmd("DEL")
        .arg(bus.stream_key(STREAM))
        .query_async(&mut conn)
        .await?;
    let ended = tokio::time::timeout(Duration::from_secs(10), first).await??;
    let reason = ended.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(reason.contains("is gone"), "{reason}");

    let second = tokio::spawn(
        bus.consumer(STREAM, "workers", "w2")
            .run(recorder.clone(), shutdown.clone()),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    bus.publish(STREAM, &job(2)).await?;
    let delivery = tokio::time::timeout(Duration::from_secs(10), seen.recv())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no delivery"))?;
    assert_eq!(delivery.envelope.body["n"], 2);
    shutdown.cancel();
    second.await??;
    Ok(())
}

on_redis_and_cluster!(
    a_consumer_whose_group_vanished_ends_and_a_fresh_one_recovers,
    max_deliveries = 5
);

/// Work whose sender has given up on it (past `expires_at`) is acked unhandled: a backed-up queue
/// never spends a render on an attempt nobody waits for, and nothing is dead-lettered.
#[tokio::test]
async fn an_expired_entry_is_skipped_not_handled_nor_dead_lettered() -> anyhow::Result<()> {
    let bus = test_bus(5)?;
    let (recorder, mut seen) = Recorder::new(Duration::ZERO);
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(
        bus.consumer(STREAM, "workers", "w1")
            .run(recorder.clone(), shutdown.clone()),
    );
    let past = chrono::Utc::now() - chrono::Duration::seconds(1);
    let future = chrono::Utc::now() + chrono::Duration::seconds(60);
    bus.publish(STREAM, &job(1).expiring_at(past)).await?;
    bus.publish(STREAM, &job(2).expiring_at(future)).await?;
    let delivery = tokio::time::timeout(Duration::from_secs(10), seen.recv())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no delivery"))?;
    assert_eq!(delivery.envelope.body["n"], 2);
    assert!(
        eventually(5, || async {
            bus.stats(STREAM, "workers")
                .await
                .map(|s| s.pending == 0)
                .unwrap_or(false)
        })
        .await
    );
    assert_eq!(recorder.calls.load(Ordering::SeqCst), 1);
    assert!(bus.dead_letters(STREAM).await?.is_empty());
    shutdown.cancel();
    running.await??;
    Ok(())
}

//! A simulated audience: how much of a video it watches depends on tone and length (plus noise).
//! 200 runs go through the real loop — recommendation (a Thompson-sampling bandit over tone ×
//! length), publication, a measured snapshot, learning passes that promote a winner — and the
//! loop's choices must serve the audience clearly better than uniform random choice.

use chrono::{Duration, Utc};
use rand::{Rng as _, SeedableRng as _};
use reqwest::Method;
use serde_json::json;
use shared::auth::Role;
use uuid::Uuid;

use super::harness::{seed, Harness, Video};

const RUNS: usize = 200;

/// The audience's mean completion for a tone and length.
fn true_completion(tone: &str, length_seconds: i64) -> f64 {
    let tone_effect = match tone {
        "calm" => 0.15,
        "uplifting" => 0.08,
        _ => 0.0,
    };
    let length_effect = if length_seconds <= 30 { 0.10 } else { 0.0 };
    0.35 + tone_effect + length_effect
}

#[tokio::test]
async fn the_loop_beats_uniform_random_choice_on_a_simulated_audience() -> anyhow::Result<()> {
    let harness = Harness::spawn().await?;
    let arms: Vec<(String, &str, i64)> = ["calm", "uplifting", "dark"]
        .iter()
        .flat_map(|tone| [30, 90].map(|length| (format!("{tone}-{length}"), *tone, length)))
        .take(5)
        .collect();
    let arms_json: Vec<_> = arms
        .iter()
        .map(|(name, tone, length)| json!({ "name": name, "params": { "tone": tone, "length_seconds": length } }))
        .collect();
    let experiment = json!({ "name": "what this audience finishes", "method": "bandit", "reward": "completion_rate", "arms": arms_json, "min_exposures": 8 });
    let (status, created) = harness
        .send_json(
            Method::POST,
            "/v1/experiments",
            Role::Operator,
            "acme",
            &experiment,
        )
        .await?;
    assert_eq!(status, 201, "{created}");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2026);
    let published = Utc::now() - Duration::days(3);
    let config = harness.config();
    let (mut loop_total, mut chosen_best) = (0.0, 0);
    for run_index in 0..RUNS {
        let run = Uuid::now_v7();
        let (status, answer) = harness
            .send_json(
                Method::POST,
                "/v1/analytics/recommendations",
                Role::Service,
                "fleet",
                &json!({ "tenant": "acme", "run_id": run }),
            )
            .await?;
        assert_eq!(status, 200, "{answer}");
        let tone = answer["params"]["tone"]
            .as_str()
            .unwrap_or("drama")
            .to_owned();
        let length = answer["params"]["length_seconds"].as_i64().unwrap_or(60);
        let expected = true_completion(&tone, length);
        loop_total += expected;
        chosen_best += usize::from(tone == "calm" && length == 30);
        let observed = (expected + rng.random_range(-0.15..0.15)).clamp(0.0, 1.0);
        let mut params = answer["params"].clone();
        params["recommendation"] =
            json!({ "experiment_id": answer["experiment_id"], "arm": answer["arm"] });
        let video = Video {
            tenant: "acme",
            platform: "youtube",
            post_id: "p",
            params,
            duration_ms: length * 1000,
            published_at: published,
        };
        seed(
            &harness.app.ctx.db,
            &video,
            run,
            &[(
                published + Duration::days(1),
                100,
                1,
                0,
                0,
                None,
                Some(observed),
            )],
        )
        .await?;
        if run_index % 20 == 19 {
            analytics::learner::learn_once(&harness.app.ctx.db, &config, Utc::now()).await?;
        }
    }
    let loop_mean = loop_total / RUNS as f64;
    let random_mean = arms
        .iter()
        .map(|(_, tone, length)| true_completion(tone, *length))
        .sum::<f64>()
        / arms.len() as f64;
    eprintln!(
        "simulation: {RUNS} runs, loop mean completion {loop_mean:.3} vs uniform random {random_mean:.3} ({:+.1} %), best arm chosen {chosen_best} times",
        (loop_mean / random_mean - 1.0) * 100.0
    );
    assert!(
        loop_mean > random_mean + 0.05,
        "loop {loop_mean:.3} vs random {random_mean:.3}"
    );
    let (_, results) = harness
        .get(
            &format!(
                "/v1/experiments/{}",
                created["id"].as_str().unwrap_or_default()
            ),
            Role::Viewer,
            "acme",
        )
        .await?;
    assert_eq!(
        (results["state"].as_str(), results["winner"].as_str()),
        (Some("promoted"), Some("calm-30")),
        "{results}"
    );
    let (_, insights) = harness
        .get("/v1/insights?type=tone", Role::Viewer, "acme")
        .await?;
    let summary = insights[0]["summary"].as_str().unwrap_or_default();
    assert!(
        summary.starts_with("calm tone: +"),
        "the learning pass wrote what it saw: {insights}"
    );
    // Passes that learn nothing new announce nothing and keep the insights' age.
    let announced = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM fleet.outbox WHERE envelope->>'kind' = 'insight.created'",
        )
        .fetch_one(&harness.app.ctx.db)
        .await
    };
    let before = announced().await?;
    analytics::learner::learn_once(&harness.app.ctx.db, &config, Utc::now()).await?;
    analytics::learner::learn_once(&harness.app.ctx.db, &config, Utc::now()).await?;
    assert_eq!(announced().await?, before);
    let (_, again) = harness
        .get("/v1/insights?type=tone", Role::Viewer, "acme")
        .await?;
    assert_eq!(again[0]["created_at"], insights[0]["created_at"]);
    harness.app.stop().await
}

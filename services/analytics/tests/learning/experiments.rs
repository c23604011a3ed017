//! Experiments through the API: validation, one running per tenant, deterministic A/B
//! assignment recorded once per run, a bandit whose clear winner is promoted into the tenant's
//! config by the learning pass.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use shared::auth::Role;
use uuid::Uuid;

use super::harness::{seed, Harness, Video};

fn experiment(method: &str, arms: Value) -> Value {
    json!({ "name": "tone test", "method": method, "reward": "completion_rate", "arms": arms, "min_exposures": 5 })
}

async fn recommend(harness: &Harness, run_id: Uuid) -> anyhow::Result<Value> {
    let body = json!({ "tenant": "acme", "run_id": run_id });
    let (status, answer) = harness
        .send_json(
            Method::POST,
            "/v1/analytics/recommendations",
            Role::Service,
            "fleet",
            &body,
        )
        .await?;
    anyhow::ensure!(status == 200, "recommendation answered {status}: {answer}");
    Ok(answer)
}

#[tokio::test]
async fn experiments_are_validated_and_one_runs_per_tenant() -> anyhow::Result<()> {
    let harness = Harness::spawn().await?;
    for (body, field) in [
        (
            experiment("ab", json!([{ "name": "a", "params": { "tone": "calm" } }])),
            "arms",
        ),
        (
            experiment(
                "ab",
                json!([{ "name": "a", "params": { "tone": "calm" } }, { "name": "b", "params": { "length_seconds": 30 } }]),
            ),
            "same parameters",
        ),
        (
            experiment(
                "ab",
                json!([{ "name": "a", "params": { "tone": "calm" } }, { "name": "a", "params": { "tone": "dark" } }]),
            ),
            "named twice",
        ),
        (
            experiment(
                "ab",
                json!([{ "name": "a", "params": { "tone": "calm" } }, { "name": "b", "params": { "tone": "loud" } }]),
            ),
            "tone",
        ),
        (
            experiment(
                "epsilon",
                json!([{ "name": "a", "params": { "tone": "calm" } }, { "name": "b", "params": { "tone": "dark" } }]),
            ),
            "method",
        ),
    ] {
        let (status, refused) = harness
            .send_json(
                Method::POST,
                "/v1/experiments",
                Role::Operator,
                "acme",
                &body,
            )
            .await?;
        assert_eq!(status, 422, "{body} → {refused}");
        assert!(
            refused["detail"]
                .as_str()
                .unwrap_or_default()
                .contains(field)
                || refused["field"] == field,
            "{field}: {refused}"
        );
    }
    let good = experiment(
        "ab",
        json!([{ "name": "calm", "params": { "tone": "calm" } }, { "name": "dark", "params": { "tone": "dark" } }]),
    );
    let (status, created) = harness
        .send_json(
            Method::POST,
            "/v1/experiments",
            Role::Operator,
            "acme",
            &good,
        )
        .await?;
    assert_eq!(status, 201, "{created}");
    let (status, _) = harness
        .send_json(
            Method::POST,
            "/v1/experiments",
            Role::Operator,
            "acme",
            &good,
        )
        .await?;
    assert_eq!(
        status, 409,
        "a second running experiment would confound the first"
    );
    let (status, _) = harness
        .send_json(
            Method::POST,
            "/v1/experiments",
            Role::Operator,
            "other",
            &good,
        )
        .await?;
    assert_eq!(status, 201, "another tenant runs its own");
    let id = created["id"].as_str().unwrap_or_default();
    assert_eq!(
        harness
            .get(&format!("/v1/experiments/{id}"), Role::Viewer, "other")
            .await?
            .0,
        404
    );
    let (status, stopped) = harness
        .send_json(
            Method::POST,
            &format!("/v1/experiments/{id}/stop"),
            Role::Operator,
            "acme",
            &json!({}),
        )
        .await?;
    assert_eq!((status, stopped["state"].as_str()), (200, Some("stopped")));
    harness.app.stop().await
}

#[tokio::test]
async fn ab_assignment_is_deterministic_recorded_once_and_layered_on_the_config(
) -> anyhow::Result<()> {
    let harness = Harness::spawn().await?;
    let config = json!({ "genre": "mystery", "tone": "calm", "length_seconds": 60 });
    assert_eq!(
        harness
            .send_json(
                Method::PUT,
                "/v1/configs/acme",
                Role::Operator,
                "acme",
                &config
            )
            .await?
            .0,
        200
    );
    let arms = json!([{ "name": "short", "params": { "length_seconds": 30 } }, { "name": "long", "params": { "length_seconds": 90 } }]);
    let (_, created) = harness
        .send_json(
            Method::POST,
            "/v1/experiments",
            Role::Operator,
            "acme",
            &experiment("ab", arms),
        )
        .await?;
    let mut counts = [0, 0];
    for _ in 0..40 {
        let run = Uuid::now_v7();
        let answer = recommend(&harness, run).await?;
        assert_eq!(
            recommend(&harness, run).await?["arm"],
            answer["arm"],
            "asking again answers the same"
        );
        assert_eq!(answer["experiment_id"], created["id"]);
        assert_eq!(answer["config_version"], 1);
        assert_eq!(
            answer["params"]["genre"], "mystery",
            "the config fills what the arm does not set"
        );
        match answer["arm"].as_str() {
            Some("short") => {
                counts[0] += 1;
                assert_eq!(answer["params"]["length_seconds"], 30);
            }
            Some("long") => {
                counts[1] += 1;
                assert_eq!(answer["params"]["length_seconds"], 90);
            }
            other => anyhow::bail!("unexpected arm {other:?}"),
        }
        assert!(
            answer["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("A/B bucket"),
            "{answer}"
        );
    }
    assert!(
        counts.iter().all(|&n| n >= 8),
        "both arms get runs: {counts:?}"
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
    let assigned: i64 = results["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|arm| arm["assigned"].as_i64())
        .sum();
    assert_eq!(assigned, 40, "{results}");
    harness.app.stop().await
}

#[tokio::test]
async fn a_clear_bandit_winner_is_promoted_into_the_config() -> anyhow::Result<()> {
    let harness = Harness::spawn().await?;
    let arms = json!([
        { "name": "calm", "params": { "tone": "calm" } },
        { "name": "dark", "params": { "tone": "dark" } },
        { "name": "whimsical", "params": { "tone": "whimsical" } },
    ]);
    let (_, created) = harness
        .send_json(
            Method::POST,
            "/v1/experiments",
            Role::Operator,
            "acme",
            &experiment("bandit", arms),
        )
        .await?;
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    let published = Utc::now() - Duration::days(3);
    for index in 0..45 {
        let run = Uuid::now_v7();
        let answer = recommend(&harness, run).await?;
        let arm = answer["arm"].as_str().unwrap_or_default();
        // The audience finishes calm videos far more often; a little noise keeps it honest.
        let completion = if arm == "calm" { 0.70 } else { 0.30 } + f64::from(index % 3) * 0.01;
        let mut params = answer["params"].clone();
        params["recommendation"] = json!({ "experiment_id": id, "arm": arm });
        let video = Video {
            tenant: "acme",
            platform: "youtube",
            post_id: "p",
            params,
            duration_ms: 45_000,
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
                Some(3_000),
                Some(completion),
            )],
        )
        .await?;
    }
    let (_, results) = harness
        .get(&format!("/v1/experiments/{id}"), Role::Viewer, "acme")
        .await?;
    let calm = &results["results"][0];
    assert_eq!(calm["name"], "calm");
    assert!(
        calm["probability_best"].as_f64().unwrap_or_default() > 0.95,
        "{results}"
    );
    assert_eq!(calm["posterior"]["kind"], "normal", "{results}");

    let config = harness.config();
    analytics::learner::learn_once(&harness.app.ctx.db, &config, Utc::now()).await?;
    let (_, results) = harness
        .get(&format!("/v1/experiments/{id}"), Role::Viewer, "acme")
        .await?;
    assert_eq!(
        (results["state"].as_str(), results["winner"].as_str()),
        (Some("promoted"), Some("calm")),
        "{results}"
    );
    let (_, current) = harness
        .get("/v1/configs/acme", Role::Viewer, "acme")
        .await?;
    assert_eq!(
        (current["version"].as_i64(), current["tone"].as_str()),
        (Some(1), Some("calm"))
    );
    let (_, versions) = harness
        .get("/v1/configs/acme/versions", Role::Viewer, "acme")
        .await?;
    assert_eq!(versions[0]["author"], format!("experiment:{id}"));
    let promoted: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM fleet.outbox WHERE envelope->>'kind' = 'analytics.notification' AND envelope->'body'->>'kind' = 'experiment.promoted'",
    )
    .fetch_one(&harness.app.ctx.db)
    .await?;
    assert_eq!(promoted, 1);
    // With the experiment over, new runs get the promoted config.
    let answer = recommend(&harness, Uuid::now_v7()).await?;
    assert_eq!(
        (answer["arm"].clone(), answer["params"]["tone"].as_str()),
        (Value::Null, Some("calm"))
    );
    harness.app.stop().await
}

//! Versioned configs: validation against the catalogue and the tenant's budget, versions with
//! author and diff, rollback as a new version, tenants kept apart.

use reqwest::Method;
use serde_json::json;
use shared::auth::Role;

use super::harness::Harness;

#[tokio::test]
async fn configs_are_validated_versioned_audited_and_rolled_back() -> anyhow::Result<()> {
    let harness = Harness::spawn().await?;
    harness.fleet.with(|state| state.estimate_micros = 40_000);
    let (status, empty) = harness
        .get("/v1/configs/acme", Role::Viewer, "acme")
        .await?;
    assert_eq!((status, empty["version"].as_i64()), (200, Some(0)));

    let first = json!({ "genre": "mystery", "tone": "calm", "length_seconds": 45, "caption_style": "karaoke", "posting_slots": ["18:30"] });
    let (status, written) = harness
        .send_json(
            Method::PUT,
            "/v1/configs/acme",
            Role::Operator,
            "acme",
            &first,
        )
        .await?;
    assert_eq!(status, 200, "{written}");
    assert_eq!(
        (written["version"].as_i64(), written["tone"].as_str()),
        (Some(1), Some("calm"))
    );
    let second = json!({ "genre": "mystery", "tone": "dark", "length_seconds": 30 });
    let (_, written) = harness
        .send_json(
            Method::PUT,
            "/v1/configs/acme",
            Role::Operator,
            "acme",
            &second,
        )
        .await?;
    assert_eq!(written["version"], 2);

    for (body, field) in [
        (json!({ "tone": "furious" }), "tone"),
        (json!({ "length_seconds": 500 }), "length_seconds"),
        (json!({ "posting_slots": ["7pm"] }), "posting_slots"),
        (json!({ "providers": { "text": "gpt4" } }), "providers.text"),
        (json!({ "colour": "red" }), "colour"),
        (json!([null, null]), "object"),
    ] {
        let (status, refused) = harness
            .send_json(
                Method::PUT,
                "/v1/configs/acme",
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
            "{body} → {refused}"
        );
    }
    // Billing knows no price for the model, or the run would cost more than a budget allows.
    let unknown = json!({ "providers": { "text": "unknown:model" } });
    let (status, refused) = harness
        .send_json(
            Method::PUT,
            "/v1/configs/acme",
            Role::Operator,
            "acme",
            &unknown,
        )
        .await?;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("price table"),
        "{refused}"
    );
    harness.fleet.with(|state| {
        state.budgets = vec![
            json!({ "scope": "tenant", "subject": "other", "period": "daily", "limit_micros": 1 }),
            json!({ "scope": "tenant", "subject": "acme", "period": "daily", "limit_micros": 30_000 }),
        ]
    });
    let paid = json!({ "providers": { "text": "openai:gpt-4o-mini" } });
    let (status, refused) = harness
        .send_json(
            Method::PUT,
            "/v1/configs/acme",
            Role::Operator,
            "acme",
            &paid,
        )
        .await?;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("daily tenant budget"),
        "{refused}"
    );

    let (_, versions) = harness
        .get("/v1/configs/acme/versions", Role::Viewer, "acme")
        .await?;
    let versions = versions.as_array().cloned().unwrap_or_default();
    assert_eq!(versions.len(), 2, "refused writes leave no version");
    assert_eq!(versions[0]["author"], "test-user");
    assert_eq!(
        versions[0]["diff"],
        json!({
            "tone": { "from": "calm", "to": "dark" },
            "length_seconds": { "from": 45, "to": 30 },
            "caption_style": { "from": "karaoke", "to": null },
            "posting_slots": { "from": ["18:30"], "to": [] },
        })
    );

    let (status, rolled) = harness
        .send_json(
            Method::POST,
            "/v1/configs/acme/rollback",
            Role::Operator,
            "acme",
            &json!({ "version": 1 }),
        )
        .await?;
    assert_eq!(status, 201, "{rolled}");
    assert_eq!(
        (rolled["version"].as_i64(), rolled["tone"].as_str()),
        (Some(3), Some("calm"))
    );
    let (_, versions) = harness
        .get("/v1/configs/acme/versions", Role::Viewer, "acme")
        .await?;
    assert_eq!(versions[0]["reason"], "rollback to 1");
    let (status, _) = harness
        .send_json(
            Method::POST,
            "/v1/configs/acme/rollback",
            Role::Operator,
            "acme",
            &json!({ "version": 9 }),
        )
        .await?;
    assert_eq!(status, 404);

    assert_eq!(
        harness
            .get("/v1/configs/acme", Role::Viewer, "other")
            .await?
            .0,
        403
    );
    assert_eq!(
        harness
            .send_json(
                Method::PUT,
                "/v1/configs/acme",
                Role::Viewer,
                "acme",
                &first
            )
            .await?
            .0,
        403
    );
    harness.app.stop().await
}

//! The cost API: totals and breakdowns, CSV that round-trips, tenant scoping, top spenders, the
//! estimate priced from the table, and auth on every billing route.

use chrono::{TimeZone as _, Utc};
use providers::{
    pricing::{cost_micros, PriceTable},
    units::Units,
};
use reqwest::Method;
use serde_json::{json, Value};
use shared::auth::Role;

use crate::support::{call, entry, publish, spawn, wait_for_ledger};

#[tokio::test]
async fn costs_break_down_a_period_csv_round_trips_and_tenants_see_only_their_own(
) -> anyhow::Result<()> {
    let app = spawn().await?;
    let day = |d: u32| {
        Utc.with_ymd_and_hms(2026, 11, d, 12, 0, 0)
            .single()
            .unwrap_or_else(Utc::now)
    };
    let mut entries = vec![
        entry("acme", "openai", "gpt-4o-mini", day(3), 1_000),
        entry("acme", "openai", "gpt-4o-mini", day(3), 2_000),
        entry("acme", "anthropic", "claude-haiku-4-5", day(4), 4_000),
        entry("globex", "openai", "gpt-4o-mini", day(4), 8_000),
        entry("acme", "openai", "gpt-4o-mini", day(20), 16_000),
    ];
    entries[1].service = "tts".to_owned();
    entries[1].outcome = "transient".to_owned();
    publish(&app, &entries).await?;
    wait_for_ledger(&app, 5).await?;

    let admin = Some((Role::Admin, "ops"));
    let (status, report) = call(
        &app,
        Method::GET,
        "/v1/billing/costs?from=2026-11-01&to=2026-11-10&group_by=provider",
        admin,
        None,
    )
    .await?;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["total"]["cost_micros"], 15_000);
    assert_eq!(report["total"]["calls"], 4);
    assert_eq!(report["total"]["failures"], 1);
    let rows: Vec<(String, i64)> = report["rows"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    (
                        r["group"].as_str().unwrap_or("").to_owned(),
                        r["cost_micros"].as_i64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        rows,
        vec![
            ("openai".to_owned(), 11_000),
            ("anthropic".to_owned(), 4_000)
        ]
    );

    let (_, by_day) = call(
        &app,
        Method::GET,
        "/v1/billing/costs?from=2026-11-01&to=2026-11-30&tenant=acme",
        admin,
        None,
    )
    .await?;
    assert_eq!(by_day["group_by"], "day");
    assert_eq!(by_day["rows"][0]["group"], "2026-11-03");
    assert_eq!(by_day["total"]["cost_micros"], 23_000);
    let (_, feature) = call(
        &app,
        Method::GET,
        "/v1/billing/costs?from=2026-11-01&to=2026-11-30&feature=tts",
        admin,
        None,
    )
    .await?;
    assert_eq!(feature["total"]["cost_micros"], 2_000);

    // CSV, by query or Accept header, parses back to the same totals.
    for (path, accept) in [
        (
            "/v1/billing/costs?from=2026-11-01&to=2026-11-30&group_by=model&format=csv",
            None,
        ),
        (
            "/v1/billing/costs?from=2026-11-01&to=2026-11-30&group_by=model",
            Some("text/csv"),
        ),
    ] {
        let mut request = app
            .client
            .get(app.url(path))
            .bearer_auth(app.token(Role::Admin, "ops"));
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        let response = request.send().await?;
        assert_eq!(response.status().as_u16(), 200);
        assert!(response.headers()["content-type"]
            .to_str()?
            .starts_with("text/csv"));
        let text = response.text().await?;
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(reader.headers()?.get(0), Some("group"));
        let mut total = 0i64;
        let mut calls = 0i64;
        let mut groups = Vec::new();
        for record in reader.records() {
            let record = record?;
            groups.push(record[0].to_owned());
            calls += record[1].parse::<i64>()?;
            total += record[9].parse::<i64>()?;
        }
        assert_eq!((total, calls), (31_000, 5));
        assert_eq!(groups, vec!["gpt-4o-mini", "claude-haiku-4-5"]);
    }

    // Tenants see only their own costs.
    let viewer = Some((Role::Viewer, "acme"));
    let (status, own) = call(
        &app,
        Method::GET,
        "/v1/billing/costs?from=2026-11-01&to=2026-11-30",
        viewer,
        None,
    )
    .await?;
    assert_eq!(
        (status, own["total"]["cost_micros"].as_i64()),
        (200, Some(23_000))
    );
    assert_eq!(own["tenant"], "acme");
    let (status, _) = call(
        &app,
        Method::GET,
        "/v1/billing/costs?tenant=globex",
        Some((Role::Operator, "acme")),
        None,
    )
    .await?;
    assert_eq!(status, 403);

    let (status, top) = call(
        &app,
        Method::GET,
        "/v1/billing/costs/top?limit=1&from=2026-11-01&to=2026-11-30",
        admin,
        None,
    )
    .await?;
    assert_eq!(status, 200);
    assert_eq!(
        top,
        json!([{ "tenant": "acme", "calls": 4, "cost_micros": 23_000 }])
    );
    let (status, _) = call(
        &app,
        Method::GET,
        "/v1/billing/costs/top",
        Some((Role::Operator, "acme")),
        None,
    )
    .await?;
    assert_eq!(status, 403);

    for (query, field) in [
        ("from=2026-13-01", "from"),
        ("from=2026-11-10&to=2026-11-01", "to"),
        ("group_by=colour", "group_by"),
        ("format=xml", "format"),
    ] {
        let (status, error) = call(
            &app,
            Method::GET,
            &format!("/v1/billing/costs?{query}"),
            admin,
            None,
        )
        .await?;
        assert_eq!(
            (status, error["field"].as_str()),
            (422, Some(field)),
            "{query}: {error}"
        );
    }
    app.stop().await
}

#[tokio::test]
async fn the_estimate_prices_each_step_with_the_table() -> anyhow::Result<()> {
    let app = spawn().await?;
    let (status, estimate) = call(
        &app,
        Method::POST,
        "/v1/billing/estimate",
        Some((Role::Viewer, "acme")),
        Some(json!({ "length_seconds": 60, "text": "openai:gpt-4o-mini", "speech": "openai:tts-1", "image": "stability:core" })),
    )
    .await?;
    assert_eq!(status, 200, "{estimate}");
    let prices = PriceTable::builtin()?;
    let today = Utc::now().date_naive();
    let price = |p: &str, m: &str, units: Units| {
        prices
            .price(p, m, today)
            .map_or(0, |price| cost_micros(price, &units))
    };
    let story = price(
        "openai",
        "gpt-4o-mini",
        Units {
            input_tokens: 1_200,
            output_tokens: 60 * 4 + 400,
            ..Units::default()
        },
    );
    let speech = price(
        "openai",
        "tts-1",
        Units {
            characters: 900,
            ..Units::default()
        },
    );
    let images = price(
        "stability",
        "core",
        Units {
            images: 10,
            ..Units::default()
        },
    );
    assert!(story > 0 && speech > 0 && images > 0);
    let steps: Vec<(String, u64)> = estimate["steps"]
        .as_array()
        .map(|s| {
            s.iter()
                .map(|s| {
                    (
                        s["step"].as_str().unwrap_or("").to_owned(),
                        s["cost_micros"].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        steps,
        vec![
            ("story".to_owned(), story),
            ("speech".to_owned(), speech),
            ("images".to_owned(), images),
            ("music".to_owned(), 0)
        ]
    );
    assert_eq!(
        estimate["total_cost_micros"].as_u64(),
        Some(story + speech + images)
    );
    let (status, error) = call(
        &app,
        Method::POST,
        "/v1/billing/estimate",
        Some((Role::Viewer, "acme")),
        Some(json!({ "length_seconds": 60, "text": "gpt-4o" })),
    )
    .await?;
    assert_eq!((status, error["field"].as_str()), (422, Some("text")));
    app.stop().await
}

#[tokio::test]
async fn every_billing_route_needs_a_token_and_admin_routes_an_admin() -> anyhow::Result<()> {
    let app = spawn().await?;
    let id = uuid::Uuid::new_v4();
    let routes: Vec<(Method, String, Option<Value>, Option<Role>)> = vec![
        (Method::GET, "/v1/billing/plans".into(), None, None),
        (
            Method::PUT,
            "/v1/billing/plans/pro".into(),
            Some(json!({ "monthly_quota_micros": 500_000_000, "requests_per_minute": 10_000 })),
            Some(Role::Admin),
        ),
        (
            Method::GET,
            "/v1/billing/tenants/acme/plan".into(),
            None,
            None,
        ),
        (
            Method::PUT,
            "/v1/billing/tenants/acme/plan".into(),
            Some(json!({ "plan": "pro" })),
            Some(Role::Admin),
        ),
        (
            Method::GET,
            "/v1/billing/tenants/acme/quota".into(),
            None,
            None,
        ),
        (
            Method::GET,
            "/v1/billing/tenants/acme/notifications".into(),
            None,
            None,
        ),
        (Method::GET, "/v1/billing/costs".into(), None, None),
        (
            Method::GET,
            "/v1/billing/costs/top".into(),
            None,
            Some(Role::Admin),
        ),
        (
            Method::POST,
            "/v1/billing/estimate".into(),
            Some(json!({ "length_seconds": 30 })),
            None,
        ),
        (Method::GET, "/v1/billing/budgets".into(), None, None),
        (
            Method::PUT,
            "/v1/billing/budgets".into(),
            Some(json!({ "scope": "global", "period": "daily", "limit_micros": 1 })),
            Some(Role::Admin),
        ),
        (
            Method::DELETE,
            format!("/v1/billing/budgets/{id}"),
            None,
            Some(Role::Admin),
        ),
        (
            Method::POST,
            "/v1/billing/reservations".into(),
            Some(json!({ "tenant": "acme", "provider": "x", "estimate_micros": 1 })),
            Some(Role::Service),
        ),
        (
            Method::POST,
            format!("/v1/billing/reservations/{id}/settle"),
            Some(json!({ "cost_micros": 1 })),
            Some(Role::Service),
        ),
        (
            Method::POST,
            format!("/v1/billing/reservations/{id}/release"),
            None,
            Some(Role::Service),
        ),
    ];
    for (method, path, body, needs) in routes {
        let (status, _) = call(&app, method.clone(), &path, None, body.clone()).await?;
        assert_eq!(status, 401, "{method} {path} without a token");
        if let Some(role) = needs {
            let weaker = if role == Role::Admin {
                Role::Operator
            } else {
                Role::Viewer
            };
            let (status, _) = call(
                &app,
                method.clone(),
                &path,
                Some((weaker, "acme")),
                body.clone(),
            )
            .await?;
            assert_eq!(status, 403, "{method} {path} as {weaker:?}");
            let (status, _) = call(&app, method.clone(), &path, Some((role, "acme")), body).await?;
            assert!(
                status < 400 || status == 404,
                "{method} {path} as {role:?}: {status}"
            );
        }
    }
    app.stop().await
}

//! Tenant privacy: a data export holding everything of one tenant and nothing of another, and an
//! erasure that leaves no row naming the tenant and none of its media, while the ledger keeps its
//! totals under a pseudonym and media another tenant shares stays.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use shared::{auth::Role, storage::MediaKey, testing::TestApp};

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    role: Role,
    tenant: &str,
    body: Option<Value>,
) -> anyhow::Result<(StatusCode, Option<String>, Value)> {
    let mut request = app
        .client
        .request(method, app.url(path))
        .bearer_auth(app.token(role, tenant));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await?;
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body = response.json().await.unwrap_or(Value::Null);
    Ok((status, location, body))
}

async fn submit_as(app: &TestApp, tenant: &str, topic: &str, seed: u64) -> anyhow::Result<String> {
    let body = json!({ "topic": topic, "length_seconds": 10, "formats": ["1:1"], "seed": seed });
    let (status, _, created) = send(
        app,
        Method::POST,
        "/v1/runs",
        Role::Operator,
        tenant,
        Some(body),
    )
    .await?;
    anyhow::ensure!(status == StatusCode::CREATED, "{status} {created}");
    Ok(created["id"].as_str().unwrap_or_default().to_owned())
}

/// Waits for `tenant`'s run `id` to finish; returns its final state.
async fn finished(app: &TestApp, tenant: &str, id: &str) -> anyhow::Result<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    loop {
        let path = format!("/v1/runs/{id}");
        let (_, _, run) = send(app, Method::GET, &path, Role::Viewer, tenant, None).await?;
        if run["finished_at"].is_string() {
            return Ok(run);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "run {id} never finished: {run}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Every media key the fleet's tables name, with the tenant naming it.
async fn media_keys(app: &TestApp) -> anyhow::Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT tenant, media_key FROM tts.narrations UNION SELECT tenant, media_key FROM image.images
         UNION SELECT tenant, media_key FROM music.tracks UNION SELECT tenant, media_key FROM video.renders
         UNION SELECT tenant, srt_key FROM video.bundles UNION SELECT tenant, vtt_key FROM video.bundles
         UNION SELECT tenant, t->>'media_key' FROM video.bundles, jsonb_array_elements(thumbnails) t",
    )
    .fetch_all(&app.ctx.db)
    .await?)
}

/// Rows naming `tenant` in any `tenant` column of any table (or as a tenant budget's subject).
async fn rows_naming(app: &TestApp, tenant: &str) -> anyhow::Result<Vec<(String, i64)>> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_schema || '.' || table_name FROM information_schema.columns
         WHERE column_name = 'tenant' AND table_schema NOT IN ('pg_catalog', 'information_schema')
         ORDER BY 1",
    )
    .fetch_all(&app.ctx.db)
    .await?;
    let mut naming = Vec::new();
    for table in tables {
        let rows: i64 =
            sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE tenant = $1"))
                .bind(tenant)
                .fetch_one(&app.ctx.db)
                .await?;
        naming.push((table, rows));
    }
    let budgets: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM billing.budgets WHERE scope = 'tenant' AND subject = $1",
    )
    .bind(tenant)
    .fetch_one(&app.ctx.db)
    .await?;
    naming.push(("billing.budgets".to_owned(), budgets));
    Ok(naming.into_iter().filter(|(_, rows)| *rows > 0).collect())
}

#[tokio::test]
async fn a_tenant_is_exported_whole_then_erased_everywhere_but_its_anonymised_ledger(
) -> anyhow::Result<()> {
    let app = TestApp::spawn_with(reelforge::fleet::all(), &[]).await?;
    // acme's first run and globex's run are the same topic and seed: identical media, shared keys.
    let acme_runs = [
        submit_as(&app, "acme", "a lighthouse keeper", 7).await?,
        submit_as(&app, "acme", "a desert caravan", 8).await?,
    ];
    let globex_run = submit_as(&app, "globex", "a lighthouse keeper", 7).await?;

    let (status, _, busy) = send(
        &app,
        Method::DELETE,
        "/v1/tenants/acme/data",
        Role::Admin,
        "ops",
        None,
    )
    .await?;
    assert_eq!(status, StatusCode::CONFLICT, "{busy}");
    assert_eq!(busy["code"], "tenant_busy");

    for (tenant, id) in [
        ("acme", &acme_runs[0]),
        ("acme", &acme_runs[1]),
        ("globex", &globex_run),
    ] {
        let run = finished(&app, tenant, id).await?;
        assert_eq!(run["state"], "succeeded", "{run}");
    }
    // What other services keep of acme: a plan, a budget, a notification, spend, an audit entry.
    sqlx::raw_sql(
        "INSERT INTO billing.tenant_plans (tenant, plan) VALUES ('acme', 'pro');
         INSERT INTO billing.budgets (id, scope, subject, period, limit_micros)
             VALUES (gen_random_uuid(), 'tenant', 'acme', 'monthly', 5000000);
         INSERT INTO billing.notifications (id, tenant, month, kind, detail)
             VALUES (gen_random_uuid(), 'acme', date_trunc('month', now())::date, 'quota_80', 'acme spent 80%');
         INSERT INTO billing.ledger (usage_id, at, tenant, service, capability, provider, model, cost_micros, priced, latency_ms, outcome, cache_hit)
             VALUES (gen_random_uuid(), now(), 'acme', 'story', 'text', 'openai', 'm', 1234, true, 5, 'ok', false),
                    (gen_random_uuid(), now(), 'globex', 'story', 'text', 'openai', 'm', 99, true, 5, 'ok', false);
         INSERT INTO fleet.audit_log (at, subject, role, tenant, method, path, status)
             VALUES (now(), 'ana', 'admin', 'acme', 'PUT', '/v1/billing/tenants/acme/plan', 200);",
    )
    .execute(&app.ctx.db)
    .await?;

    // The export: acme's operators and admins may have it; another tenant's may not.
    let (status, _, refused) = send(
        &app,
        Method::GET,
        "/v1/tenants/acme/export",
        Role::Operator,
        "globex",
        None,
    )
    .await?;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    let (status, _, export) = send(
        &app,
        Method::GET,
        "/v1/tenants/acme/export",
        Role::Operator,
        "acme",
        None,
    )
    .await?;
    assert_eq!(status, StatusCode::OK, "{export}");
    assert_eq!(export["state"], "completed");
    let data = &export["data"];
    let runs = data["orchestrator"]["orchestrator.runs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut exported_ids: Vec<&str> = runs.iter().filter_map(|r| r["id"].as_str()).collect();
    exported_ids.sort_unstable();
    let mut expected: Vec<&str> = acme_runs.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(exported_ids, expected);
    for (service, table, at_least) in [
        ("story", "story.stories", 2),
        ("tts", "tts.narrations", 2),
        ("image", "image.images", 2),
        ("music", "music.tracks", 2),
        ("video", "video.renders", 2),
        ("moderation", "moderation.checks", 2),
        ("billing", "billing.ledger", 1),
        ("billing", "billing.tenant_plans", 1),
        ("orchestrator", "fleet.audit_log", 1),
    ] {
        let rows = data[service][table].as_array().map_or(0, Vec::len);
        assert!(rows >= at_least, "{table}: {rows} rows exported");
    }
    assert!(
        !data.to_string().contains("globex"),
        "the export holds nothing of another tenant"
    );

    // The erasure.
    let keys_before = media_keys(&app).await?;
    let ledger_before: (i64, i64) =
        sqlx::query_as("SELECT count(*), sum(cost_micros)::int8 FROM billing.ledger")
            .fetch_one(&app.ctx.db)
            .await?;
    let (status, _, refused) = send(
        &app,
        Method::DELETE,
        "/v1/tenants/acme/data",
        Role::Operator,
        "acme",
        None,
    )
    .await?;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "only admins erase: {refused}"
    );
    let (status, location, accepted) = send(
        &app,
        Method::DELETE,
        "/v1/tenants/acme/data",
        Role::Admin,
        "ops",
        None,
    )
    .await?;
    assert!(
        matches!(status, StatusCode::ACCEPTED | StatusCode::OK),
        "{status} {accepted}"
    );
    let location = location.ok_or_else(|| anyhow::anyhow!("no Location"))?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let erasure = loop {
        let (status, _, erasure) =
            send(&app, Method::GET, &location, Role::Admin, "ops", None).await?;
        if status == StatusCode::OK {
            break erasure;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "erasure never completed: {erasure}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(erasure["kind"], "erasure");
    let answered: Vec<&str> = erasure["parts"]
        .as_array()
        .map(|parts| parts.iter().filter_map(|p| p["service"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        answered,
        vec![
            "analytics",
            "billing",
            "distribution",
            "image",
            "moderation",
            "music",
            "orchestrator",
            "story",
            "tts",
            "video"
        ]
    );

    let left = rows_naming(&app, "acme").await?;
    assert_eq!(
        left,
        vec![("fleet.privacy_requests".to_owned(), 1)],
        "only the erasure's own record names the tenant"
    );
    let ledger_after: (i64, i64) =
        sqlx::query_as("SELECT count(*), sum(cost_micros)::int8 FROM billing.ledger")
            .fetch_one(&app.ctx.db)
            .await?;
    assert_eq!(
        ledger_after, ledger_before,
        "the ledger keeps every row and cent"
    );
    let pseudonymous: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM billing.ledger WHERE tenant LIKE 'erased-%' AND cost_micros = 1234",
    )
    .fetch_one(&app.ctx.db)
    .await?;
    assert_eq!(pseudonymous, 1);

    let still_named: Vec<String> = media_keys(&app)
        .await?
        .into_iter()
        .map(|(_, key)| key)
        .collect();
    let (mut deleted, mut kept) = (0, 0);
    for (tenant, key) in keys_before.iter().filter(|(tenant, _)| tenant == "acme") {
        let exists = app.ctx.store.exists(&MediaKey::parse(key)?).await?;
        let shared_with_globex = keys_before
            .iter()
            .any(|(other, other_key)| other == "globex" && other_key == key);
        assert_eq!(exists, shared_with_globex, "{tenant} {key}");
        assert_eq!(still_named.contains(key), shared_with_globex);
        if shared_with_globex {
            kept += 1;
        } else {
            deleted += 1;
        }
    }
    assert!(deleted > 0 && kept > 0, "deleted {deleted}, kept {kept}");
    let files: i64 = erasure["parts"]
        .as_array()
        .map(|parts| parts.iter().filter_map(|p| p["files"].as_i64()).sum())
        .unwrap_or_default();
    assert_eq!(files, deleted, "each part counts the files it deleted");

    // globex is untouched: its run and every one of its files are still there.
    let (status, _, run) = send(
        &app,
        Method::GET,
        &format!("/v1/runs/{globex_run}"),
        Role::Viewer,
        "globex",
        None,
    )
    .await?;
    assert_eq!(
        (status, run["state"].as_str()),
        (StatusCode::OK, Some("succeeded"))
    );
    for (_, key) in keys_before.iter().filter(|(tenant, _)| tenant == "globex") {
        assert!(app.ctx.store.exists(&MediaKey::parse(key)?).await?, "{key}");
    }
    app.stop().await
}

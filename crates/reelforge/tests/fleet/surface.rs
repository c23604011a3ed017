//! Every service served together: auth on protected routes, OpenAPI documents, per-route metrics.

use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use shared::{auth::Role, testing::TestApp};

/// Each service's prefix and one viewer-level read route over its own tables.
const READ_ROUTES: &[(&str, &str)] = &[
    ("/v1/runs", "/v1/runs"),
    ("/v1/stories", "/v1/stories"),
    ("/v1/speech", "/v1/speech"),
    ("/v1/images", "/v1/images"),
    ("/v1/music", "/v1/music"),
    ("/v1/moderation", "/v1/moderation/decisions"),
    ("/v1/videos", "/v1/videos"),
    ("/v1/publications", "/v1/publications"),
    ("/v1/analytics", "/v1/analytics/snapshots"),
    ("/v1/billing", "/v1/billing/plans"),
];

/// A tampered token, an expired one, an `alg: none` forgery and garbage.
fn bad_tokens(app: &TestApp) -> anyhow::Result<Vec<(&'static str, String)>> {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let forged_claims =
        engine.encode(br#"{"sub":"mallory","role":"admin","tenant":"acme","exp":99999999999}"#);
    let valid = app.token(Role::Viewer, "acme");
    let parts: Vec<&str> = valid.split('.').collect();
    anyhow::ensure!(parts.len() == 3, "a JWT has three parts");
    let secret = app
        .ctx
        .config()
        .jwt_secret
        .as_ref()
        .map(|s| s.expose().to_owned())
        .unwrap_or_default();
    let stale = shared::auth::Claims {
        sub: "old".into(),
        role: Role::Admin,
        tenant: None,
        exp: 1_000,
        iat: 0,
    };
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &stale,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )?;
    Ok(vec![
        (
            "tampered",
            format!("{}.{forged_claims}.{}", parts[0], parts[2]),
        ),
        ("expired", expired),
        (
            "alg none",
            format!(
                "{}.{forged_claims}.",
                engine.encode(br#"{"alg":"none","typ":"JWT"}"#)
            ),
        ),
        ("garbage", "not-a-token".to_owned()),
    ])
}

async fn status(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
) -> anyhow::Result<u16> {
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    Ok(request.send().await?.status().as_u16())
}

#[tokio::test]
async fn every_service_guards_its_routes_with_tokens_and_roles() -> anyhow::Result<()> {
    let app = TestApp::spawn(reelforge::fleet::all()).await?;
    let viewer = app.token(Role::Viewer, "acme");
    let operator = app.token(Role::Operator, "acme");
    let admin = app.token(Role::Admin, "ops");
    let bad = bad_tokens(&app)?;
    for (prefix, read) in READ_ROUTES {
        let get = reqwest::Method::GET;
        assert_eq!(
            status(&app, get.clone(), read, None).await?,
            401,
            "{read} without a token"
        );
        for (what, token) in &bad {
            assert_eq!(
                status(&app, get.clone(), read, Some(token)).await?,
                401,
                "{read} with a {what} token"
            );
        }
        assert_eq!(
            status(&app, get.clone(), read, Some(&viewer)).await?,
            200,
            "{read} as viewer"
        );

        let queue = format!("{prefix}/admin/queue");
        assert_eq!(
            status(&app, get.clone(), &queue, Some(&viewer)).await?,
            403,
            "{queue} as viewer"
        );
        assert_eq!(
            status(&app, get.clone(), &queue, Some(&operator)).await?,
            200,
            "{queue} as operator"
        );
        let redrive = format!("{prefix}/admin/queue/redrive");
        assert_eq!(
            status(&app, reqwest::Method::POST, &redrive, Some(&operator)).await?,
            403,
            "{redrive} as operator"
        );
        assert_eq!(
            status(&app, reqwest::Method::POST, &redrive, Some(&admin)).await?,
            200,
            "{redrive} as admin"
        );
    }
    app.stop().await
}

#[tokio::test]
async fn reads_are_scoped_to_the_callers_tenant() -> anyhow::Result<()> {
    let app = TestApp::spawn(vec![orchestrator::service()]).await?;
    for (tenant, topic) in [("acme", "lighthouse"), ("globex", "volcano")] {
        sqlx::query("INSERT INTO orchestrator.runs (id, tenant, topic, params, state) VALUES ($1, $2, $3, '{}', 'queued')")
            .bind(uuid::Uuid::now_v7())
            .bind(tenant)
            .bind(topic)
            .execute(&app.ctx.db)
            .await?;
    }
    let list = |token: String| {
        let request = app.client.get(app.url("/v1/runs")).bearer_auth(token);
        async move { anyhow::Ok(request.send().await?.json::<Value>().await?) }
    };
    let acme = list(app.token(Role::Viewer, "acme")).await?;
    assert_eq!(acme["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(acme["items"][0]["topic"], "lighthouse");
    let all = list(app.token(Role::Admin, "ops")).await?;
    assert_eq!(all["items"].as_array().map(Vec::len), Some(2));
    let other_id = all["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["tenant"] == "globex")
        .map(|r| r["id"].clone());
    let other = other_id
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    assert_eq!(
        status(
            &app,
            reqwest::Method::GET,
            &format!("/v1/runs/{other}"),
            Some(&app.token(Role::Viewer, "acme"))
        )
        .await?,
        404
    );
    assert_eq!(
        status(
            &app,
            reqwest::Method::GET,
            "/v1/runs/not-a-uuid",
            Some(&app.token(Role::Viewer, "acme"))
        )
        .await?,
        400
    );
    assert_eq!(
        status(
            &app,
            reqwest::Method::GET,
            "/v1/runs?limit=0",
            Some(&app.token(Role::Viewer, "acme"))
        )
        .await?,
        422
    );
    assert_eq!(
        status(
            &app,
            reqwest::Method::GET,
            "/v1/runs?state=bogus",
            Some(&app.token(Role::Viewer, "acme"))
        )
        .await?,
        422
    );
    app.stop().await
}

#[tokio::test]
async fn every_service_publishes_an_openapi_3_document_and_metrics_count_requests(
) -> anyhow::Result<()> {
    let app = TestApp::spawn(reelforge::fleet::all()).await?;
    for (prefix, read) in READ_ROUTES {
        let response = app
            .client
            .get(app.url(&format!("{prefix}/openapi.json")))
            .send()
            .await?;
        assert_eq!(response.status().as_u16(), 200, "{prefix}");
        let document: Value = response.json().await?;
        assert!(
            document["openapi"]
                .as_str()
                .is_some_and(|v| v.starts_with("3.")),
            "{prefix}: {document}"
        );
        assert!(
            document["paths"][read].is_object(),
            "{prefix} documents {read}"
        );
        assert!(
            document["components"]["securitySchemes"]["bearer"].is_object(),
            "{prefix} documents bearer auth"
        );
        let mut operation_ids: Vec<&str> = document["paths"]
            .as_object()
            .into_iter()
            .flat_map(|paths| paths.values())
            .filter_map(Value::as_object)
            .flat_map(|methods| methods.values())
            .filter_map(|operation| operation["operationId"].as_str())
            .collect();
        let count = operation_ids.len();
        operation_ids.sort_unstable();
        operation_ids.dedup();
        assert_eq!(
            operation_ids.len(),
            count,
            "{prefix}: operation ids are unique"
        );
    }
    status(
        &app,
        reqwest::Method::GET,
        "/v1/videos",
        Some(&app.token(Role::Viewer, "acme")),
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await?
        .text()
        .await?;
    assert!(
        metrics.contains(
            r#"reelforge_http_requests_total{method="GET",route="/v1/videos",status="200"} 1"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"reelforge_bus_stream_lag{group="video",stream="jobs.video"}"#),
        "{metrics}"
    );
    app.stop().await
}

/// The path prefixes a deployment file routes, read with `pattern` (the text before and after).
fn routed_prefixes(file: &str, before: &str, after: &str) -> anyhow::Result<Vec<String>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../");
    let text = std::fs::read_to_string(format!("{path}{file}"))?;
    Ok(text
        .lines()
        .filter_map(|line| line.trim().strip_prefix(before))
        .filter_map(|rest| rest.split(after).next())
        .map(|prefix| prefix.trim().to_owned())
        .filter(|prefix| prefix.starts_with("/v1/"))
        .collect())
}

/// The gateway (compose) and the ingress (Kubernetes) route every documented API path to some
/// service, and route no prefix that no service serves.
#[test]
fn the_gateway_and_the_ingress_route_exactly_the_documented_paths() -> anyhow::Result<()> {
    let mut documented: Vec<String> = reelforge::fleet::all()
        .iter()
        .map(|service| shared::fleet::openapi_document(service.as_ref()))
        .chain([shared::audit::openapi()])
        .flat_map(|document| document.paths.paths.into_keys())
        .filter(|path| path.starts_with("/v1/"))
        .collect();
    documented.sort();
    documented.dedup();
    assert!(documented.len() > 40, "{documented:?}");
    for (file, prefixes) in [
        (
            "deploy/gateway/Caddyfile",
            routed_prefixes("deploy/gateway/Caddyfile", "handle ", "*")?,
        ),
        (
            "deploy/k8s/base/ingress.yaml",
            routed_prefixes("deploy/k8s/base/ingress.yaml", "- path: ", "\n")?,
        ),
    ] {
        let unrouted: Vec<&String> = documented
            .iter()
            .filter(|path| {
                !prefixes
                    .iter()
                    .any(|prefix| path.starts_with(prefix.as_str()))
            })
            .collect();
        assert!(unrouted.is_empty(), "{file} does not route {unrouted:?}");
        let dead: Vec<&String> = prefixes
            .iter()
            .filter(|prefix| {
                !documented
                    .iter()
                    .any(|path| path.starts_with(prefix.as_str()))
            })
            .collect();
        assert!(
            dead.is_empty(),
            "{file} routes {dead:?}, which no service serves"
        );
    }
    Ok(())
}

//! The HTTP surface every service shares: errors, idempotency keys, readiness.

use std::sync::Arc;

use axum::{http::StatusCode, routing::post, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::{
    auth::{Principal, Role},
    config::toml_value::Value as ConfigValue,
    extract::Json,
    testing::TestApp,
    ApiResult, Context, Service,
};

/// A service whose POST mints a new id each time, so a replayed response is recognisable.
struct Minter;

#[derive(Deserialize, utoipa::ToSchema)]
struct MintRequest {
    count: u32,
}

#[derive(Serialize)]
struct Minted {
    id: uuid::Uuid,
    count: u32,
}

async fn mint(
    principal: Principal,
    Json(request): Json<MintRequest>,
) -> ApiResult<(StatusCode, Json<Minted>)> {
    principal.require(Role::Operator)?;
    Ok((
        StatusCode::CREATED,
        Json(Minted {
            id: uuid::Uuid::new_v4(),
            count: request.count,
        }),
    ))
}

impl Service for Minter {
    fn name(&self) -> &'static str {
        "minter"
    }
    fn prefix(&self) -> &'static str {
        "/v1/mint"
    }
    fn router(&self, _ctx: &Context) -> anyhow::Result<Router> {
        Ok(Router::new().route("/v1/mint", post(mint)))
    }
    fn openapi(&self) -> utoipa::openapi::OpenApi {
        utoipa::openapi::OpenApiBuilder::new().build()
    }
}

async fn post_mint(
    app: &TestApp,
    token: &str,
    key: Option<&str>,
    body: &str,
) -> anyhow::Result<(StatusCode, Option<String>, Value)> {
    let mut request = app
        .client
        .post(app.url("/v1/mint"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await?;
    let status = StatusCode::from_u16(response.status().as_u16())?;
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok((status, replayed, response.json().await?))
}

#[tokio::test]
async fn an_idempotent_post_replays_its_first_response() -> anyhow::Result<()> {
    let app = TestApp::spawn(vec![Arc::new(Minter)]).await?;
    let token = app.token(Role::Operator, "acme");

    let (status, replayed, first) =
        post_mint(&app, &token, Some("key-1"), r#"{"count":1}"#).await?;
    assert_eq!((status, replayed), (StatusCode::CREATED, None));
    let (status, replayed, again) =
        post_mint(&app, &token, Some("key-1"), r#"{"count":1}"#).await?;
    assert_eq!(
        (status, replayed.as_deref()),
        (StatusCode::CREATED, Some("true"))
    );
    assert_eq!(
        first, again,
        "the stored response is replayed byte for byte"
    );

    let (status, _, error) = post_mint(&app, &token, Some("key-1"), r#"{"count":2}"#).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["field"], "idempotency-key");

    let (_, _, fresh) = post_mint(&app, &token, Some("key-2"), r#"{"count":1}"#).await?;
    assert_ne!(fresh["id"], first["id"]);
    let (_, _, unkeyed) = post_mint(&app, &token, None, r#"{"count":1}"#).await?;
    assert_ne!(unkeyed["id"], first["id"]);
    let other_tenant = app.token(Role::Operator, "globex");
    let (_, replayed, theirs) =
        post_mint(&app, &other_tenant, Some("key-1"), r#"{"count":1}"#).await?;
    assert_eq!(replayed, None, "keys are scoped to the caller");
    assert_ne!(theirs["id"], first["id"]);
    app.stop().await
}

/// A key whose request never finished (its process died mid-request) answers 409 only while
/// its lease lasts; after that a retry with the same key runs.
#[tokio::test]
async fn a_key_left_in_progress_by_a_lost_request_is_taken_over_after_its_lease(
) -> anyhow::Result<()> {
    let app = TestApp::spawn(vec![Arc::new(Minter)]).await?;
    let token = app.token(Role::Operator, "acme");
    let (_, _, first) = post_mint(&app, &token, Some("crash-1"), r#"{"count":1}"#).await?;
    // As a request lost mid-flight leaves it: claimed, with no response.
    let lost = "UPDATE fleet.idempotency_keys SET status = NULL, body = NULL, completed_at = NULL,
                created_at = now() - make_interval(secs => $1) WHERE key = 'crash-1'";
    sqlx::query(lost).bind(1.0).execute(&app.ctx.db).await?;
    let (status, _, error) = post_mint(&app, &token, Some("crash-1"), r#"{"count":1}"#).await?;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error["code"], "idempotency_in_progress");

    sqlx::query(lost).bind(3600.0).execute(&app.ctx.db).await?;
    let (status, replayed, retried) =
        post_mint(&app, &token, Some("crash-1"), r#"{"count":1}"#).await?;
    assert_eq!((status, replayed), (StatusCode::CREATED, None));
    assert_ne!(retried["id"], first["id"], "the retry ran the request");
    let (_, replayed, again) = post_mint(&app, &token, Some("crash-1"), r#"{"count":1}"#).await?;
    assert_eq!(replayed.as_deref(), Some("true"));
    assert_eq!(again, retried);
    app.stop().await
}

#[tokio::test]
async fn errors_are_json_with_a_code_and_a_reason() -> anyhow::Result<()> {
    let app = TestApp::spawn(vec![Arc::new(Minter)]).await?;
    let token = app.token(Role::Operator, "acme");

    let (status, _, body) = post_mint(&app, &token, None, r#"{"count": "#).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "malformed_json");

    let (status, _, body) = post_mint(&app, &token, None, r#"{"count": -4}"#).await?;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "count", "{body}");

    let (status, _, body) = post_mint(
        &app,
        &app.token(Role::Viewer, "acme"),
        None,
        r#"{"count": 1}"#,
    )
    .await?;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "forbidden");

    let response = app.client.get(app.url("/v1/nowhere")).send().await?;
    assert_eq!(response.status().as_u16(), 404);
    let body: Value = response.json().await?;
    assert_eq!(body["code"], "not_found");

    let response = app
        .client
        .delete(app.url("/v1/mint"))
        .bearer_auth(&token)
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 405);
    assert!(response.headers().contains_key("x-request-id"));
    app.stop().await
}

#[tokio::test]
async fn readiness_turns_503_and_names_redis_when_redis_is_unreachable() -> anyhow::Result<()> {
    let app = TestApp::spawn_with(
        vec![Arc::new(Minter)],
        &[("redis_url", ConfigValue::from("redis://127.0.0.1:1"))],
    )
    .await?;
    let live = app.client.get(app.url("/health/live")).send().await?;
    assert_eq!(live.status().as_u16(), 204, "liveness has no dependencies");
    let ready = app.client.get(app.url("/health/ready")).send().await?;
    assert_eq!(ready.status().as_u16(), 503);
    let report: Value = ready.json().await?;
    assert_eq!(report["components"]["redis"]["status"], "down", "{report}");
    assert_eq!(report["components"]["postgres"]["status"], "up", "{report}");
    app.stop().await
}

/// Admin actions are written to the audit log with who, what and the outcome; only admins read it.
#[tokio::test]
async fn admin_actions_land_in_the_audit_log_that_only_admins_read() -> anyhow::Result<()> {
    let app = TestApp::spawn(vec![Arc::new(Minter)]).await?;
    let admin = app.token(Role::Admin, "acme");
    let operator = app.token(Role::Operator, "acme");
    post_mint(&app, &admin, None, r#"{"count":1}"#).await?;
    post_mint(&app, &operator, None, r#"{"count":2}"#).await?;
    let redrive = app
        .client
        .post(app.url("/v1/mint/admin/queue/redrive"))
        .bearer_auth(&admin)
        .send()
        .await?;
    assert!(redrive.status().is_success());

    let denied = app
        .client
        .get(app.url("/v1/audit"))
        .bearer_auth(&operator)
        .send()
        .await?;
    assert_eq!(denied.status().as_u16(), 403);
    let log: Value = app
        .client
        .get(app.url("/v1/audit"))
        .bearer_auth(&admin)
        .send()
        .await?
        .json()
        .await?;
    let entries: Vec<(String, String, i64)> = log["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["method"].as_str().unwrap_or_default().to_owned(),
                e["path"].as_str().unwrap_or_default().to_owned(),
                e["status"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        vec![
            (
                "POST".to_owned(),
                "/v1/mint/admin/queue/redrive".to_owned(),
                200
            ),
            ("POST".to_owned(), "/v1/mint".to_owned(), 201),
        ],
        "newest first; the operator's ordinary request is not an admin action"
    );
    assert_eq!(log["items"][0]["role"], "admin");
    app.stop().await
}

/// A body over `max_body_bytes` is refused with 413 and a reason, with or without an
/// idempotency key (which buffers the body itself).
#[tokio::test]
async fn a_body_over_the_limit_gets_a_413() -> anyhow::Result<()> {
    let app = TestApp::spawn_with(
        vec![Arc::new(Minter)],
        &[("max_body_bytes", ConfigValue::from(1024))],
    )
    .await?;
    let token = app.token(Role::Operator, "acme");
    let big = format!(r#"{{"count":1,"padding":"{}"}}"#, "x".repeat(4096));
    for key in [None, Some("big-1")] {
        let (status, _, error) = post_mint(&app, &token, key, &big).await?;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{key:?}: {error}");
        assert_eq!(error["code"], "payload_too_large", "{error}");
    }
    app.stop().await
}

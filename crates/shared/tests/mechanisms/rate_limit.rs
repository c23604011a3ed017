//! Rate limits: exact across processes, per tenant and route class, plan changes at once, the
//! in-process fallback, `Retry-After`, exempt routes, and the wiring in the fleet app.

use std::{sync::Arc, time::Duration};

use axum::{
    http::{HeaderMap, Method, StatusCode},
    middleware::from_fn_with_state,
    routing::{get, post},
    Router,
};
use redis::AsyncCommands as _;
use serde_json::Value;
use shared::{
    auth::{Authenticator, Principal, Role, TokenSigner},
    bus::Bus,
    config::{toml_value::Value as ConfigValue, RateLimitConfig},
    metrics::Metrics,
    rate_limit::{self, RateLimitState, RateLimiter},
    testing::TestApp,
    ApiResult, Context, Service,
};

use crate::{on_redis_and_cluster, test_bus};

const SECRET: &[u8] = b"rate-limit-test-secret-0123456789";

/// A generous Redis timeout: these tests are about the shared window, not the fallback.
fn config(limit: u64, window_secs: u64) -> RateLimitConfig {
    RateLimitConfig {
        enabled: true,
        window_secs,
        default_per_window: limit,
        redis_timeout_ms: 2_000,
    }
}

/// One "process": its own bus connection, limiter and metrics, behind a tiny router.
struct Server {
    base_url: String,
    metrics: Arc<Metrics>,
}

async fn serve(bus: Bus, config: RateLimitConfig) -> anyhow::Result<Server> {
    let metrics = Metrics::new()?;
    let state = RateLimitState {
        limiter: Arc::new(RateLimiter::new(bus, config, &metrics)?),
        auth: Arc::new(Authenticator::hs256(SECRET)),
    };
    let router = Router::new()
        .route("/v1/things", get(|| async { "ok" }).post(|| async { "ok" }))
        .route("/v1/things/openapi.json", get(|| async { "{}" }))
        .route("/health/live", get(|| async { "ok" }))
        .route("/metrics", get(|| async { "ok" }))
        .layer(from_fn_with_state(state, rate_limit::layer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(Server { base_url, metrics })
}

fn token(role: Role, tenant: Option<&str>) -> anyhow::Result<String> {
    TokenSigner::hs256(SECRET).issue("tester", role, tenant, Duration::from_secs(600))
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn number(&self, header: &str) -> Option<u64> {
        self.headers.get(header)?.to_str().ok()?.parse().ok()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_default()
    }
}

async fn call(
    client: &reqwest::Client,
    method: Method,
    url: String,
    token: Option<&str>,
) -> anyhow::Result<Answer> {
    let mut request = client.request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    Ok(Answer {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.text().await?,
    })
}

fn things(server: &Server) -> String {
    format!("{}/v1/things", server.base_url)
}

async fn exactly_the_limit_passes_across_two_processes_per_tenant_and_class(
    first_bus: Bus,
) -> anyhow::Result<()> {
    let second_bus = first_bus.reconnected();
    // Connect up front so the burst measures the window, not connection set-up.
    first_bus.ping().await?;
    second_bus.ping().await?;
    let first = serve(first_bus, config(20, 60)).await?;
    let second = serve(second_bus, config(20, 60)).await?;
    let client = reqwest::Client::new();
    let acme = token(Role::Operator, Some("acme"))?;

    let burst = (0..60).map(|i| {
        let server = if i % 2 == 0 { &first } else { &second };
        call(&client, Method::POST, things(server), Some(&acme))
    });
    let answers = futures::future::try_join_all(burst).await?;

    let (admitted, denied): (Vec<_>, Vec<_>) =
        answers.iter().partition(|a| a.status == StatusCode::OK);
    assert_eq!((admitted.len(), denied.len()), (20, 40));
    assert!(denied
        .iter()
        .all(|a| a.status == StatusCode::TOO_MANY_REQUESTS));
    let mut remaining: Vec<u64> = admitted
        .iter()
        .filter_map(|a| a.number("ratelimit-remaining"))
        .collect();
    remaining.sort_unstable();
    assert_eq!(
        remaining,
        (0..20).collect::<Vec<_>>(),
        "each admission saw the count before it"
    );
    for answer in &answers {
        assert_eq!(answer.number("ratelimit-limit"), Some(20));
        let reset = answer.number("ratelimit-reset").unwrap_or(0);
        assert!((1..=60).contains(&reset), "RateLimit-Reset {reset}");
    }
    for answer in &denied {
        let retry_after = answer.number("retry-after").unwrap_or(0);
        assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
        assert_eq!(answer.number("ratelimit-remaining"), Some(0));
        let body = answer.json();
        assert_eq!(body["code"], "rate_limited", "{body}");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains("20 requests per 60 s for tenant acme (write routes)"),
            "{detail}"
        );
    }

    let globex = token(Role::Operator, Some("globex"))?;
    let other_tenant = call(&client, Method::POST, things(&second), Some(&globex)).await?;
    assert_eq!(
        other_tenant.status,
        StatusCode::OK,
        "another tenant is unaffected"
    );
    assert_eq!(other_tenant.number("ratelimit-remaining"), Some(19));
    let read = call(&client, Method::GET, things(&first), Some(&acme)).await?;
    assert_eq!(read.status, StatusCode::OK, "reads have their own window");
    assert_eq!(read.number("ratelimit-remaining"), Some(19));
    let write = call(&client, Method::POST, things(&first), Some(&acme)).await?;
    assert_eq!(write.status, StatusCode::TOO_MANY_REQUESTS);
    Ok(())
}

on_redis_and_cluster!(
    exactly_the_limit_passes_across_two_processes_per_tenant_and_class,
    max_deliveries = 5,
    tokio(flavor = "multi_thread", worker_threads = 4)
);

async fn a_plan_change_applies_to_the_next_request(bus: Bus) -> anyhow::Result<()> {
    let limits = rate_limit::limits_key(&bus);
    let mut redis = bus.dedicated_redis().await?;
    let server = serve(bus, config(50, 60)).await?;
    let client = reqwest::Client::new();
    let acme = token(Role::Operator, Some("acme"))?;
    let (client, url) = (&client, things(&server));
    let post = |token: &str| {
        let (token, url) = (token.to_owned(), url.clone());
        async move { call(client, Method::POST, url, Some(&token)).await }
    };

    let () = redis.hset(&limits, "acme", 3).await?;
    for _ in 0..3 {
        let answer = post(&acme).await?;
        assert_eq!(
            (answer.status, answer.number("ratelimit-limit")),
            (StatusCode::OK, Some(3))
        );
    }
    assert_eq!(post(&acme).await?.status, StatusCode::TOO_MANY_REQUESTS);

    let () = redis.hset(&limits, "acme", 5).await?;
    let upgraded = post(&acme).await?;
    assert_eq!(
        upgraded.status,
        StatusCode::OK,
        "the upgrade counts at once"
    );
    assert_eq!(upgraded.number("ratelimit-limit"), Some(5));
    assert_eq!(upgraded.number("ratelimit-remaining"), Some(1));

    let () = redis.hset(&limits, "acme", 2).await?;
    let downgraded = post(&acme).await?;
    assert_eq!(downgraded.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(downgraded.number("ratelimit-limit"), Some(2));

    let globex = token(Role::Operator, Some("globex"))?;
    let () = redis
        .hset(&limits, rate_limit::DEFAULT_LIMIT_FIELD, 1)
        .await?;
    let first = post(&globex).await?;
    assert_eq!(
        (first.status, first.number("ratelimit-limit")),
        (StatusCode::OK, Some(1)),
        "`*` is the limit of tenants without a field"
    );
    assert_eq!(post(&globex).await?.status, StatusCode::TOO_MANY_REQUESTS);
    let () = redis.hdel(&limits, rate_limit::DEFAULT_LIMIT_FIELD).await?;
    let configured = post(&globex).await?;
    assert_eq!(
        (configured.status, configured.number("ratelimit-limit")),
        (StatusCode::OK, Some(50)),
        "without either, the configured default applies"
    );
    let () = redis.del(&limits).await?;
    Ok(())
}

on_redis_and_cluster!(
    a_plan_change_applies_to_the_next_request,
    max_deliveries = 5
);

#[tokio::test]
async fn with_redis_unreachable_the_local_window_limits_at_the_default() -> anyhow::Result<()> {
    let unreachable = Bus::new("redis://127.0.0.1:1", test_bus(5)?.config().clone())?;
    let server = serve(
        unreachable,
        RateLimitConfig {
            redis_timeout_ms: 50,
            ..config(3, 60)
        },
    )
    .await?;
    let client = reqwest::Client::new();
    let acme = token(Role::Operator, Some("acme"))?;
    for remaining in [2, 1, 0] {
        let answer = call(&client, Method::POST, things(&server), Some(&acme)).await?;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.number("ratelimit-remaining"), Some(remaining));
    }
    let denied = call(&client, Method::POST, things(&server), Some(&acme)).await?;
    assert_eq!(denied.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(denied
        .number("retry-after")
        .is_some_and(|s| (1..=60).contains(&s)));

    let rendered = server.metrics.render();
    let fallbacks = rendered
        .lines()
        .find_map(|line| line.strip_prefix("reelforge_rate_limit_fallbacks_total "))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(fallbacks > 0.0, "{rendered}");
    assert!(
        rendered.contains(
            r#"reelforge_rate_limit_decisions_total{class="write",decision="denied",source="local"} 1"#
        ),
        "{rendered}"
    );
    Ok(())
}

#[tokio::test]
async fn waiting_retry_after_lets_the_next_request_through() -> anyhow::Result<()> {
    let server = serve(test_bus(5)?, config(2, 2)).await?;
    let client = reqwest::Client::new();
    let acme = token(Role::Viewer, Some("acme"))?;
    let get = || call(&client, Method::GET, things(&server), Some(&acme));
    for _ in 0..2 {
        assert_eq!(get().await?.status, StatusCode::OK);
    }
    let denied = get().await?;
    assert_eq!(denied.status, StatusCode::TOO_MANY_REQUESTS);
    let retry_after = denied.number("retry-after").unwrap_or(0);
    assert!((1..=2).contains(&retry_after), "Retry-After {retry_after}");
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(get().await?.status, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn health_metrics_openapi_tokenless_and_service_calls_are_not_limited() -> anyhow::Result<()>
{
    let server = serve(test_bus(5)?, config(1, 60)).await?;
    let client = reqwest::Client::new();
    let acme = token(Role::Operator, Some("acme"))?;
    let service = token(Role::Service, None)?;
    for path in ["/health/live", "/metrics", "/v1/things/openapi.json"] {
        for _ in 0..3 {
            let url = format!("{}{path}", server.base_url);
            let answer = call(&client, Method::GET, url, Some(&acme)).await?;
            assert_eq!(answer.status, StatusCode::OK, "{path}");
            assert!(!answer.headers.contains_key("ratelimit-limit"), "{path}");
        }
    }
    for token in [None, Some("not-a-token"), Some(service.as_str())] {
        for _ in 0..3 {
            let answer = call(&client, Method::POST, things(&server), token).await?;
            assert_eq!(answer.status, StatusCode::OK);
            assert!(!answer.headers.contains_key("ratelimit-limit"));
        }
    }
    let limited = call(&client, Method::POST, things(&server), Some(&acme)).await?;
    assert_eq!(limited.number("ratelimit-limit"), Some(1));
    let denied = call(&client, Method::POST, things(&server), Some(&acme)).await?;
    assert_eq!(denied.status, StatusCode::TOO_MANY_REQUESTS);
    Ok(())
}

/// A service with one authenticated POST, to see the layer in the fleet app.
struct Creator;

async fn create(principal: Principal) -> ApiResult<StatusCode> {
    principal.require(Role::Operator)?;
    Ok(StatusCode::CREATED)
}

impl Service for Creator {
    fn name(&self) -> &'static str {
        "creator"
    }
    fn prefix(&self) -> &'static str {
        "/v1/create"
    }
    fn router(&self, _ctx: &Context) -> anyhow::Result<Router> {
        Ok(Router::new().route("/v1/create", post(create)))
    }
    fn openapi(&self) -> utoipa::openapi::OpenApi {
        utoipa::openapi::OpenApiBuilder::new().build()
    }
}

#[tokio::test]
async fn the_fleet_app_limits_api_routes_before_idempotency() -> anyhow::Result<()> {
    let app = TestApp::spawn_with(
        vec![Arc::new(Creator)],
        &[
            ("rate_limit.enabled", ConfigValue::from(true)),
            ("rate_limit.default_per_window", ConfigValue::from(2)),
        ],
    )
    .await?;
    let token = app.token(Role::Operator, "acme");
    let create = || {
        app.client
            .post(app.url("/v1/create"))
            .bearer_auth(&token)
            .header("idempotency-key", "once")
            .send()
    };
    let created = create().await?;
    assert_eq!(created.status().as_u16(), 201);
    assert_eq!(
        created
            .headers()
            .get("ratelimit-remaining")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let replayed = create().await?;
    assert_eq!(replayed.status().as_u16(), 201);
    let denied = create().await?;
    assert_eq!(
        denied.status().as_u16(),
        429,
        "a denied request is not replayed"
    );
    let unauthenticated = app.client.post(app.url("/v1/create")).send().await?;
    assert_eq!(
        unauthenticated.status().as_u16(),
        401,
        "auth still rejects tokenless calls"
    );
    for path in ["/health/live", "/metrics", "/v1/create/openapi.json"] {
        let response = app
            .client
            .get(app.url(path))
            .bearer_auth(&token)
            .send()
            .await?;
        assert!(response.status().is_success(), "{path}");
    }
    app.stop().await
}

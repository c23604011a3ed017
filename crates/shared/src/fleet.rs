//! The service runtime: the shared context, the `Service` trait, and serving one or many services.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    extract::{DefaultBodyLimit, State},
    http::header,
    middleware::from_fn_with_state,
    response::IntoResponse,
    routing::get,
    Extension, Router,
};
use futures::FutureExt as _;
use sqlx::PgPool;
use tokio::{net::TcpListener, task::JoinSet};
use tokio_util::sync::CancellationToken;
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::{DefaultOnResponse, TraceLayer},
};

use crate::{
    auth::{Authenticator, TokenSigner},
    bus::{BatchHandler, Bus, Consumer, Handler},
    config::{Config, Settings},
    db,
    error::{method_not_allowed, route_not_found, ApiError},
    health::{Check, Readiness},
    idempotency::{self, IdempotencyState},
    metrics::{self, Metrics},
    outbox::Relay,
    queue_admin,
    rate_limit::{self, RateLimitState, RateLimiter},
    storage::{self, MediaStore},
    supervise::{self, SupervisorMetrics, Worker, WorkerHealth},
    telemetry,
};

/// What every service gets: configuration, database, bus, media store, auth, metrics, shutdown.
#[derive(Clone)]
pub struct Context {
    pub settings: Arc<Settings>,
    pub db: PgPool,
    pub bus: Bus,
    pub store: Arc<dyn MediaStore>,
    pub auth: Arc<Authenticator>,
    pub signer: Option<Arc<TokenSigner>>,
    pub metrics: Arc<Metrics>,
    pub shutdown: CancellationToken,
    watched_streams: Arc<Mutex<Vec<(String, String)>>>,
    workers: WorkerHealth,
}

impl Context {
    /// Connects to every dependency; creates the database and migrates it when configured to.
    pub async fn start(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<Context> {
        let config = &settings.config;
        let (auth, signer) = Authenticator::from_config(config)?;
        let db = db::connect(config.database_url.expose()).await?;
        if config.auto_migrate() {
            db::migrate(&db).await?;
        }
        let bus = Bus::new(config.redis_url.expose(), config.bus.clone())?;
        let store = storage::from_config(config).await?;
        Ok(Context {
            db,
            bus,
            store,
            auth,
            signer: signer.map(Arc::new),
            metrics: Metrics::new()?,
            shutdown,
            watched_streams: Arc::default(),
            workers: WorkerHealth::default(),
            settings: Arc::new(settings),
        })
    }

    pub fn config(&self) -> &Config {
        &self.settings.config
    }

    /// A worker consuming `stream` as consumer group `group`, handling up to `concurrency.<group>`
    /// entries at once (the bus's `batch` when unset); its depth is exported as metrics.
    pub fn consume<H: Handler>(&self, stream: &str, group: &str, handler: H) -> Worker {
        self.consume_at_most(stream, group, self.config().bus.batch, handler)
    }

    /// Like [`Context::consume`], with `default_concurrency` when `concurrency.<group>` is unset.
    pub fn consume_at_most<H: Handler>(
        &self,
        stream: &str,
        group: &str,
        default_concurrency: usize,
        handler: H,
    ) -> Worker {
        let concurrency = self.config().concurrency_of(group, default_concurrency);
        let handler = Arc::new(handler);
        let (ctx, stream_name, group_name) = (self.clone(), stream.to_owned(), group.to_owned());
        Worker::new(format!("{group}:{stream}"), move || {
            ctx.consumer(&stream_name, &group_name)
                .concurrency(concurrency)
                .run(handler.clone(), ctx.shutdown.clone())
        })
    }

    /// Like [`Context::consume`], handing `handler` up to `batch` deliveries at a time.
    pub fn consume_batches<H: BatchHandler>(
        &self,
        stream: &str,
        group: &str,
        batch: usize,
        handler: H,
    ) -> Worker {
        let handler = Arc::new(handler);
        let (ctx, stream_name, group_name) = (self.clone(), stream.to_owned(), group.to_owned());
        Worker::new(format!("{group}:{stream}"), move || {
            ctx.consumer(&stream_name, &group_name)
                .batch_size(batch)
                .run_batches(handler.clone(), ctx.shutdown.clone())
        })
    }

    /// A uniquely named member of `group` on `stream`, whose depth `/metrics` reports.
    fn consumer(&self, stream: &str, group: &str) -> Consumer {
        self.watch_stream(stream, group);
        let consumer_name = format!("{group}-{}", uuid::Uuid::new_v4().simple());
        self.bus.consumer(stream, group, &consumer_name)
    }

    /// Which supervised workers are down, and why.
    pub fn worker_health(&self) -> &WorkerHealth {
        &self.workers
    }

    /// Exports the depth of `stream` for `group` in `/metrics`.
    fn watch_stream(&self, stream: &str, group: &str) {
        if let Ok(mut watched) = self.watched_streams.lock() {
            let entry = (stream.to_owned(), group.to_owned());
            if !watched.contains(&entry) {
                watched.push(entry);
            }
        }
    }

    async fn sample_streams(&self) {
        let watched = self
            .watched_streams
            .lock()
            .map(|w| w.clone())
            .unwrap_or_default();
        for (stream, group) in watched {
            let sampled =
                tokio::time::timeout(Duration::from_secs(1), self.bus.stats(&stream, &group)).await;
            if let Ok(Ok(stats)) = sampled {
                self.metrics.record_stream(&stream, &group, &stats);
            }
        }
    }
}

/// A service: its HTTP routes under its own prefix, its OpenAPI document, its workers.
pub trait Service: Send + Sync {
    fn name(&self) -> &'static str;
    /// The path prefix this service owns; its OpenAPI document is at `<prefix>/openapi.json`.
    fn prefix(&self) -> &'static str;
    fn router(&self, ctx: &Context) -> anyhow::Result<Router>;
    fn openapi(&self) -> utoipa::openapi::OpenApi;
    fn workers(&self, _ctx: &Context) -> anyhow::Result<Vec<Worker>> {
        Ok(Vec::new())
    }
    /// The tenant data this service holds, for privacy exports and erasures; `None` when it holds
    /// none.
    fn tenant_data(&self) -> Option<crate::privacy::TenantData> {
        None
    }
    /// Readiness checks beyond Postgres, Redis and storage (an external binary, say).
    fn readiness(&self, _ctx: &Context) -> Vec<(String, Check)> {
        Vec::new()
    }
}

/// A service's full OpenAPI document: its own routes plus the queue routes the fleet adds.
pub fn openapi_document(service: &dyn Service) -> utoipa::openapi::OpenApi {
    let mut document = service.openapi();
    document.merge(queue_admin::openapi(service.prefix()));
    crate::openapi::document_shared_responses(&mut document);
    document
}

/// The HTTP application serving `services`, with health, metrics and the shared layers.
pub fn app(ctx: &Context, services: &[Arc<dyn Service>]) -> anyhow::Result<Router> {
    let mut api = Router::new();
    let mut readiness = base_readiness(ctx);
    for service in services {
        let document = openapi_document(service.as_ref()).to_json()?;
        ctx.watch_stream(&queue_admin::jobs_stream(service.name()), service.name());
        api = api
            .merge(service.router(ctx)?)
            .merge(queue_admin::router(
                service.prefix(),
                service.name(),
                ctx.bus.clone(),
            ))
            .route(
                &format!("{}/openapi.json", service.prefix()),
                get(
                    move || async move { ([(header::CONTENT_TYPE, "application/json")], document) },
                ),
            );
        for (name, check) in service.readiness(ctx) {
            readiness = readiness.with(name, check);
        }
    }
    let idempotency = IdempotencyState {
        pool: ctx.db.clone(),
        max_body_bytes: ctx.config().max_body_bytes,
        // A request is answered within its timeout; a key held longer belongs to a lost one.
        lease: Duration::from_secs(ctx.config().request_timeout_secs + 5),
    };
    let rate_limit = RateLimitState {
        limiter: Arc::new(RateLimiter::new(
            ctx.bus.clone(),
            ctx.config().rate_limit.clone(),
            &ctx.metrics,
        )?),
        auth: ctx.auth.clone(),
    };
    Ok(api
        .merge(crate::audit::router(ctx.db.clone()))
        .merge(readiness.router())
        .route("/metrics", get(render_metrics).with_state(ctx.clone()))
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(from_fn_with_state(ctx.metrics.clone(), metrics::track_http))
        .layer(from_fn_with_state(ctx.db.clone(), crate::audit::layer))
        .layer(from_fn_with_state(idempotency, idempotency::layer))
        // Outside idempotency, so a denied request neither claims nor replays a key.
        .layer(from_fn_with_state(rate_limit, rate_limit::layer))
        .layer(Extension(ctx.auth.clone()))
        .layer(DefaultBodyLimit::max(ctx.config().max_body_bytes))
        .layer(from_fn_with_state(
            Duration::from_secs(ctx.config().request_timeout_secs),
            within_request_timeout,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal(anyhow::anyhow!("handler panicked")).into_response()
        }))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(telemetry::request_span)
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid)))
}

/// Answers 503 `request_timeout` when the handler has not produced a response within `timeout`
/// (a streamed body, such as server-sent events, may go on after its response started).
async fn within_request_timeout(
    State(timeout): State<Duration>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "request_timeout",
            format!(
                "no response within {} s; retry later",
                timeout.as_secs_f64()
            ),
        )
        .retry_after(1)
        .into_response(),
    }
}

fn base_readiness(ctx: &Context) -> Readiness {
    let db = ctx.db.clone();
    let bus = ctx.bus.clone();
    let store = ctx.store.clone();
    Readiness::default()
        .with(
            "postgres",
            Arc::new(move || {
                let db = db.clone();
                async move {
                    Ok(sqlx::query_scalar!(r#"SELECT 1 AS "alive!""#)
                        .fetch_one(&db)
                        .await
                        .map(|_| ())?)
                }
                .boxed()
            }),
        )
        .with(
            "redis",
            Arc::new(move || {
                let bus = bus.clone();
                async move { bus.ping().await }.boxed()
            }),
        )
        .with(
            "storage",
            Arc::new(move || {
                let store = store.clone();
                async move { store.check().await }.boxed()
            }),
        )
        .with("workers", ctx.workers.check())
}

async fn render_metrics(State(ctx): State<Context>) -> impl IntoResponse {
    ctx.sample_streams().await;
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        ctx.metrics.render(),
    )
}

/// Serves `services` on `listener` with their workers and an outbox relay, until shutdown;
/// then stops accepting, finishes in-flight requests, and drains workers within the grace period.
/// Registers `service` as a participant of privacy requests, then answers them.
fn privacy_worker(
    ctx: &Context,
    service: &'static str,
    data: crate::privacy::TenantData,
) -> Worker {
    let handler = Arc::new(crate::privacy::PrivacyWorker {
        service,
        data,
        db: ctx.db.clone(),
        store: ctx.store.clone(),
    });
    let ctx = ctx.clone();
    Worker::new(format!("{service}:{}", crate::privacy::STREAM), move || {
        let (ctx, handler) = (ctx.clone(), handler.clone());
        async move {
            crate::privacy::register(&ctx.db, service).await?;
            ctx.consumer(crate::privacy::STREAM, service)
                .run(handler, ctx.shutdown.clone())
                .await
        }
    })
}

pub async fn run(
    ctx: Context,
    services: Vec<Arc<dyn Service>>,
    listener: TcpListener,
) -> anyhow::Result<()> {
    let app = app(&ctx, &services)?;
    let mut workers = JoinSet::new();
    let names = services
        .iter()
        .map(|s| s.name().to_owned())
        .collect::<Vec<_>>();
    let relay = {
        let (db, bus, names, shutdown) = (
            ctx.db.clone(),
            ctx.bus.clone(),
            names.clone(),
            ctx.shutdown.clone(),
        );
        Worker::new("outbox-relay", move || {
            Relay::new(db.clone(), bus.clone(), names.clone()).run(shutdown.clone())
        })
    };
    let housekeeping = {
        let (db, names, retention, shutdown) = (
            ctx.db.clone(),
            names.clone(),
            ctx.config().retention.clone(),
            ctx.shutdown.clone(),
        );
        Worker::new("housekeeping", move || {
            crate::housekeeping::run(
                db.clone(),
                names.clone(),
                retention.clone(),
                shutdown.clone(),
            )
        })
    };
    let mut supervised = vec![relay, housekeeping];
    for service in &services {
        supervised.extend(service.workers(&ctx)?);
        if let Some(data) = service.tenant_data() {
            supervised.push(privacy_worker(&ctx, service.name(), data));
        }
    }
    let supervisor_metrics = SupervisorMetrics::register(&ctx.metrics)?;
    for worker in supervised {
        workers.spawn(supervise::supervise(
            worker,
            ctx.shutdown.clone(),
            ctx.workers.clone(),
            supervisor_metrics.clone(),
            supervise::Backoff::default(),
        ));
    }
    tracing::info!(address = %listener.local_addr()?, services = ?names, "serving");
    axum::serve(listener, app)
        .with_graceful_shutdown(ctx.shutdown.clone().cancelled_owned())
        .await?;
    let grace = Duration::from_secs(ctx.config().shutdown_grace_secs);
    let drained = tokio::time::timeout(grace, async {
        while let Some(joined) = workers.join_next().await {
            if let Err(error) = joined {
                tracing::error!(error = %error, "worker supervisor stopped abnormally");
            }
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            ?grace,
            "workers did not drain within the grace period; aborting them"
        );
        workers.abort_all();
    }
    ctx.db.close().await;
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use axum::{body::Body, http::Request};
    use tower::ServiceExt as _;

    use super::*;

    #[tokio::test]
    async fn a_request_slower_than_the_timeout_gets_a_503_with_a_reason() -> anyhow::Result<()> {
        let app = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .route("/quick", get(|| async { "ok" }))
            .layer(from_fn_with_state(
                Duration::from_millis(100),
                within_request_timeout,
            ));
        let slow = app
            .clone()
            .oneshot(Request::get("/slow").body(Body::empty())?)
            .await?;
        assert_eq!(slow.status().as_u16(), 503);
        let body = axum::body::to_bytes(slow.into_body(), 4096).await?;
        let error: serde_json::Value = serde_json::from_slice(&body)?;
        assert_eq!(error["code"], "request_timeout");
        let quick = app
            .oneshot(Request::get("/quick").body(Body::empty())?)
            .await?;
        assert_eq!(quick.status().as_u16(), 200);
        Ok(())
    }
}

//! Tracing: JSON logs carrying request and run ids, plus OpenTelemetry OTLP export when configured.

use anyhow::Context as _;
use axum::http::Request;
use opentelemetry::trace::TracerProvider as _;
use tracing::Span;
use tracing_subscriber::{
    layer::SubscriberExt as _, util::SubscriberInitExt as _, EnvFilter, Layer,
};

/// Keeps the OTLP pipeline alive; flushes spans on drop.
pub struct TelemetryGuard {
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(error) = provider.shutdown() {
                eprintln!("OpenTelemetry shutdown failed: {error}");
            }
        }
    }
}

/// Where JSON log lines go.
pub enum LogTarget {
    Stdout,
    /// Appended to a file, for interactive commands whose terminal shows progress instead.
    File(std::path::PathBuf),
}

/// Installs the global subscriber: JSON lines on stdout (`RUST_LOG` filters, default `info`),
/// and spans exported over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
pub fn init(service_name: &str) -> anyhow::Result<TelemetryGuard> {
    init_to(service_name, LogTarget::Stdout)
}

pub fn init_to(service_name: &str, target: LogTarget) -> anyhow::Result<TelemetryGuard> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let writer = match target {
        LogTarget::Stdout => tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::io::stdout),
        LogTarget::File(path) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?;
            tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::sync::Mutex::new(file))
        }
    };
    let json = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true)
        .with_filter(filter);
    let provider = match std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .build()
                .context("cannot build the OTLP exporter")?;
            let resource = opentelemetry_sdk::Resource::builder()
                .with_service_name(service_name.to_owned())
                .build();
            Some(
                opentelemetry_sdk::trace::SdkTracerProvider::builder()
                    .with_batch_exporter(exporter)
                    .with_resource(resource)
                    .build(),
            )
        }
        _ => None,
    };
    let otel = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("reelforge"))
            .with_filter(EnvFilter::new("info"))
    });
    tracing_subscriber::registry()
        .with(json)
        .with(otel)
        .try_init()
        .context("a tracing subscriber is already installed")?;
    Ok(TelemetryGuard { provider })
}

/// The span of one HTTP request: the request id (set by the request-id layer) on every log line,
/// and an empty `run_id` a handler fills in once it knows which run the request concerns.
pub fn request_span<B>(request: &Request<B>) -> Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id,
        run_id = tracing::field::Empty,
    )
}

/// Records the run a request is about on the current request span.
pub fn record_run_id(run_id: uuid::Uuid) {
    Span::current().record("run_id", tracing::field::display(run_id));
}

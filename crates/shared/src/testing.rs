//! Test helpers: spawn services on port 0 against a fresh database and a random Redis prefix.

use std::{sync::Arc, time::Duration};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{
    auth::{Role, TokenSigner},
    config::{toml_value::Value, Settings},
    fleet::{self, Context, Service},
};

/// The admin database URL tests create their databases through (`TEST_DATABASE_URL`).
pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The seed nodes of the three-master Redis Cluster tests run against (`TEST_REDIS_CLUSTER_URL`).
pub fn redis_cluster_url() -> String {
    std::env::var("TEST_REDIS_CLUSTER_URL").unwrap_or_else(|_| {
        "redis://127.0.0.1:7101,redis://127.0.0.1:7102,redis://127.0.0.1:7103".to_owned()
    })
}

/// Settings for an isolated test: a new database, a random bus prefix, a temporary data dir.
pub fn isolated_settings(
    data_dir: &std::path::Path,
    extra: &[(&str, Value)],
) -> anyhow::Result<Settings> {
    let id = Uuid::new_v4().simple().to_string();
    let mut overrides: Vec<(&str, Value)> = vec![
        (
            "database_url",
            Value::from(format!("{}/reelforge_test_{id}", server_url())),
        ),
        ("redis_url", Value::from(redis_url())),
        ("data_dir", Value::from(data_dir.display().to_string())),
        ("jwt_secret", Value::from(format!("test-secret-{id}"))),
        ("bus.prefix", Value::from(format!("test-{id}"))),
        ("shutdown_grace_secs", Value::from(10)),
        // Tests fire many requests as one tenant, and billing publishes its plans' limits (which
        // win over any configured default); tests about rate limits enable the layer themselves.
        ("rate_limit.enabled", Value::from(false)),
    ];
    overrides.extend(extra.iter().cloned());
    Settings::with_overrides(&overrides)
}

/// A pool on a new, migrated database of its own (dropped with the test's Postgres cluster, like
/// every test database).
pub async fn fresh_database() -> anyhow::Result<sqlx::PgPool> {
    let url = format!(
        "{}/reelforge_test_{}",
        server_url(),
        Uuid::new_v4().simple()
    );
    let pool = crate::db::connect(&url).await?;
    crate::db::migrate(&pool).await?;
    Ok(pool)
}

/// A running fleet of some services, reachable at `base_url`.
pub struct TestApp {
    pub base_url: String,
    pub ctx: Context,
    pub client: reqwest::Client,
    signer: TokenSigner,
    task: JoinHandle<anyhow::Result<()>>,
    _data_dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn spawn(services: Vec<Arc<dyn Service>>) -> anyhow::Result<TestApp> {
        Self::spawn_with(services, &[]).await
    }

    /// Spawns with extra configuration overrides (dotted keys).
    pub async fn spawn_with(
        services: Vec<Arc<dyn Service>>,
        extra: &[(&str, Value)],
    ) -> anyhow::Result<TestApp> {
        Self::spawn_configured(services, extra, |_, _| {}).await
    }

    /// Like [`TestApp::spawn_with`], letting `configure` adjust the settings once the address the
    /// fleet will listen on is known (peers that are this very process, say).
    pub async fn spawn_configured(
        services: Vec<Arc<dyn Service>>,
        extra: &[(&str, Value)],
        configure: impl FnOnce(&mut Settings, std::net::SocketAddr),
    ) -> anyhow::Result<TestApp> {
        let data_dir = tempfile::tempdir()?;
        let mut settings = isolated_settings(data_dir.path(), extra)?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        configure(&mut settings, listener.local_addr()?);
        let secret = settings
            .config
            .jwt_secret
            .as_ref()
            .map(|s| s.expose().to_owned())
            .unwrap_or_default();
        let ctx = Context::start(settings, CancellationToken::new()).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(fleet::run(ctx.clone(), services, listener));
        Ok(TestApp {
            base_url,
            ctx,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
            signer: TokenSigner::hs256(secret.as_bytes()),
            task,
            _data_dir: data_dir,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A valid token for `role` in `tenant`.
    pub fn token(&self, role: Role, tenant: &str) -> String {
        self.signer
            .issue("test-user", role, Some(tenant), Duration::from_secs(600))
            .unwrap_or_default()
    }

    /// Waits for the fleet to stop on its own (e.g. a start-up error).
    pub async fn join(self) -> anyhow::Result<()> {
        self.task.await?
    }

    /// Signals shutdown and waits for the server and its workers to drain.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.ctx.shutdown.cancel();
        self.task.await?
    }
}

//! Postgres: the pool, creating the database when missing, and the fleet's migrations.

use std::time::Duration;

use anyhow::Context as _;
use sqlx::{migrate::MigrateDatabase as _, postgres::PgPoolOptions, PgPool, Postgres};

/// Every service's schema migrations, from the workspace's `migrations/` directory.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Connects, creating the database first if it does not exist.
pub async fn connect(url: &str) -> anyhow::Result<PgPool> {
    let shown = redact(url);
    if !Postgres::database_exists(url)
        .await
        .with_context(|| format!("cannot reach Postgres at {shown}"))?
    {
        Postgres::create_database(url)
            .await
            .with_context(|| format!("cannot create database {shown}"))?;
        tracing::info!(database = %shown, "created database");
    }
    PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(5))
        .connect(url)
        .await
        .with_context(|| format!("cannot connect to Postgres at {shown}"))
}

pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR.run(pool).await.context("migrations failed")
}

/// The URL with any password replaced, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

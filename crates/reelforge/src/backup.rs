//! `reelforge backup` and `reelforge restore`: every schema of the database (pg_dump's custom
//! format) and the local media store, in one directory with a manifest.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use shared::{
    config::{Config, StorageBackend},
    db,
};

const DATABASE_FILE: &str = "database.dump";
const MEDIA_DIR: &str = "media";
const MANIFEST_FILE: &str = "backup.json";

/// What a backup holds, written beside it.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    created_at: chrono::DateTime<chrono::Utc>,
    database: String,
    media_files: usize,
    media_bytes: u64,
}

/// `pg_dump`/`pg_restore` pointed at the configured database through PG* variables, so no
/// password shows in the process list.
fn postgres_tool(program: &str, config: &Config) -> anyhow::Result<Command> {
    let url = url::Url::parse(config.database_url.expose())
        .context("configuration key `database_url` is not a URL")?;
    let mut command = Command::new(program);
    command
        .env("PGHOST", url.host_str().unwrap_or("127.0.0.1"))
        .env("PGPORT", url.port().unwrap_or(5432).to_string())
        .env("PGUSER", url.username())
        .env("PGDATABASE", url.path().trim_start_matches('/'));
    if let Some(password) = url.password() {
        command.env("PGPASSWORD", password);
    }
    Ok(command)
}

fn run(mut command: Command, what: &str) -> anyhow::Result<()> {
    let output = command
        .output()
        .with_context(|| format!("{what}: cannot run it (is postgresql-client installed?)"))?;
    anyhow::ensure!(
        output.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(())
}

fn local_media(config: &Config) -> anyhow::Result<PathBuf> {
    anyhow::ensure!(
        config.storage.backend == StorageBackend::Local,
        "the media store is S3: back the bucket up with its own tools (versioning or \
         replication); reelforge backup copies a local media store"
    );
    Ok(config.media_dir())
}

/// Copies every file under `from` to `to`, keeping relative paths; returns (files, bytes).
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<(usize, u64)> {
    let mut totals = (0, 0);
    if !from.exists() {
        return Ok(totals);
    }
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            let (files, bytes) = copy_tree(&entry.path(), &target)?;
            totals = (totals.0 + files, totals.1 + bytes);
        } else {
            let bytes = std::fs::copy(entry.path(), &target)
                .with_context(|| format!("cannot copy {}", entry.path().display()))?;
            totals = (totals.0 + 1, totals.1 + bytes);
        }
    }
    Ok(totals)
}

/// Writes the database and the media store to `out`, which must not exist yet.
pub fn backup(config: &Config, out: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        !out.exists(),
        "{} exists already: back up into a new directory",
        out.display()
    );
    let media = local_media(config)?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut dump = postgres_tool("pg_dump", config)?;
    dump.args(["--format=custom", "--no-owner", "--file"])
        .arg(out.join(DATABASE_FILE));
    run(dump, "pg_dump")?;
    let (media_files, media_bytes) = copy_tree(&media, &out.join(MEDIA_DIR))?;
    let manifest = Manifest {
        created_at: chrono::Utc::now(),
        database: db::redact(config.database_url.expose()),
        media_files,
        media_bytes,
    };
    std::fs::write(
        out.join(MANIFEST_FILE),
        serde_json::to_vec_pretty(&manifest)?,
    )?;
    println!(
        "backed up {} and {media_files} media files ({media_bytes} bytes) to {}",
        manifest.database,
        out.display()
    );
    Ok(())
}

/// Restores a backup into the configured database (created if missing) and media store. A
/// database that already holds runs is refused unless `replace` is set.
pub async fn restore(config: &Config, from: &Path, replace: bool) -> anyhow::Result<()> {
    let manifest: Manifest = serde_json::from_slice(
        &std::fs::read(from.join(MANIFEST_FILE))
            .with_context(|| format!("{} is not a reelforge backup", from.display()))?,
    )?;
    let media = local_media(config)?;
    let pool = db::connect(config.database_url.expose()).await?;
    let populated: bool = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM information_schema.tables
                        WHERE table_schema = 'orchestrator' AND table_name = 'runs') AS "exists!""#
    )
    .fetch_one(&pool)
    .await?;
    if populated && !replace {
        let runs: i64 =
            sqlx::query_scalar!(r#"SELECT count(*) AS "count!" FROM orchestrator.runs"#)
                .fetch_one(&pool)
                .await?;
        anyhow::ensure!(
            runs == 0,
            "the database holds {runs} runs: restore into an empty database, or pass --replace"
        );
    }
    pool.close().await;
    let mut restore = postgres_tool("pg_restore", config)?;
    restore
        .args([
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--dbname",
        ])
        .arg(
            url::Url::parse(config.database_url.expose())?
                .path()
                .trim_start_matches('/'),
        )
        .arg(from.join(DATABASE_FILE));
    run(restore, "pg_restore")?;
    let (files, bytes) = copy_tree(&from.join(MEDIA_DIR), &media)?;
    println!(
        "restored the backup of {} ({}) and {files} media files ({bytes} bytes)",
        manifest.database, manifest.created_at
    );
    Ok(())
}

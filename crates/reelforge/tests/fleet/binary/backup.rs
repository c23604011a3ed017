//! `backup` and `restore`: the drill that wipes a fleet and brings every row and file back.

use shared::testing::server_url;

use super::Sandbox;

/// A fingerprint of everything a backup must bring back: runs, steps, facts, ledger rows and
/// the bytes of every media file.
async fn fingerprint(database_url: &str, media: &std::path::Path) -> anyhow::Result<Vec<String>> {
    use sha2::Digest as _;
    let pool = sqlx::PgPool::connect(database_url).await?;
    let mut lines = Vec::new();
    for query in [
        "SELECT id::text || state || params::text FROM orchestrator.runs ORDER BY id",
        "SELECT run_id::text || name || state || attempts FROM orchestrator.steps ORDER BY run_id, name",
        "SELECT run_id::text || kind || part || body::text FROM orchestrator.facts ORDER BY run_id, kind, part",
        "SELECT usage_id::text || cost_micros || provider FROM billing.ledger ORDER BY usage_id",
    ] {
        let rows: Vec<String> = sqlx::query_scalar(query).fetch_all(&pool).await?;
        lines.extend(rows);
    }
    pool.close().await;
    let mut files = Vec::new();
    let mut pending = vec![media.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let digest = hex::encode(sha2::Sha256::digest(std::fs::read(&path)?));
                files.push(format!("{} {digest}", path.strip_prefix(media)?.display()));
            }
        }
    }
    files.sort();
    lines.extend(files);
    Ok(lines)
}

/// The drill: make a video, back up, wipe the database and the media store, restore, and find
/// every run, step, fact, ledger row and media file identical.
#[tokio::test]
async fn backup_wipe_and_restore_bring_back_every_run_row_and_file() -> anyhow::Result<()> {
    let sandbox = Sandbox::new()?;
    let out = sandbox.dir.path().join("out").display().to_string();
    let made = sandbox.run(
        &[
            "make",
            "a lantern in the fog",
            "--length",
            "10",
            "--formats",
            "1:1",
            "--seed",
            "5",
            "--out",
            &out,
        ],
        &[("REELFORGE_LISTEN", "127.0.0.1:1")],
    )?;
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let media = sandbox.dir.path().join("data/media");
    let before = fingerprint(&sandbox.database_url, &media).await?;
    assert!(
        before.iter().filter(|l| l.contains(".mp4 ")).count() == 1,
        "{before:?}"
    );

    let backup_dir = sandbox.dir.path().join("backup").display().to_string();
    let backed_up = sandbox.run(&["backup", "--out", &backup_dir], &[])?;
    assert!(
        backed_up.status.success(),
        "{}",
        String::from_utf8_lossy(&backed_up.stderr)
    );
    // Disaster: the database and the media store are gone.
    let admin = sqlx::PgPool::connect(&format!("{}/postgres", server_url())).await?;
    let name = sandbox.database_url.rsplit('/').next().unwrap_or_default();
    sqlx::query(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&admin)
        .await?;
    std::fs::remove_dir_all(&media)?;

    let restored = sandbox.run(&["restore", "--from", &backup_dir], &[])?;
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    assert_eq!(fingerprint(&sandbox.database_url, &media).await?, before);
    // A second restore over a populated database is refused without --replace.
    let again = sandbox.run(&["restore", "--from", &backup_dir], &[])?;
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--replace"));
    admin.close().await;
    Ok(())
}

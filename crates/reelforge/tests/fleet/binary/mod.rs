//! The `reelforge` binary: configuration errors, tokens, `serve --only`, SIGTERM draining, `make`,
//! and backup and restore. This module holds the sandboxed command and the served process that
//! they share.

mod backup;
mod commands;
mod make;
mod serve;

use std::{
    process::{Child, Command, Output},
    time::Duration,
};

use shared::testing::{redis_url, server_url};

const BIN: &str = env!("CARGO_BIN_EXE_reelforge");

/// A `reelforge` command isolated from the developer's environment: fresh database, prefix and data dir.
struct Sandbox {
    dir: tempfile::TempDir,
    database_url: String,
    prefix: String,
}

impl Sandbox {
    fn new() -> anyhow::Result<Self> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        Ok(Self {
            dir: tempfile::tempdir()?,
            database_url: format!("{}/reelforge_test_{id}", server_url()),
            prefix: format!("test-{id}"),
        })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &self.database_url)
            .env("REDIS_URL", redis_url())
            .env("REELFORGE_BUS__PREFIX", &self.prefix)
            .env("REELFORGE_DATA_DIR", self.dir.path().join("data"))
            // These tests poll runs quickly; rate limits have tests of their own.
            .env("REELFORGE_RATE_LIMIT__ENABLED", "false");
        command
    }

    /// A token signed by `reelforge token` with this sandbox's dev key.
    fn token(&self, role: &str) -> anyhow::Result<String> {
        let output = self.run(
            &[
                "token",
                "--role",
                role,
                "--subject",
                "tester",
                "--tenant",
                "acme",
            ],
            &[],
        )?;
        anyhow::ensure!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(String::from_utf8(output.stdout)?.trim().to_owned())
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Output> {
        let mut command = self.command(args);
        command.envs(env.iter().copied());
        Ok(command.output()?)
    }
}

/// A served process killed on drop if a test fails midway.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn wait_ready(base: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(response) = client.get(format!("{base}/health/ready")).send().await {
            if response.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("{base} never became ready")
}

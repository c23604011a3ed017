//! Process bootstrap shared by the `reelforge` command and each service's own binary.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, sync::Arc};

use anyhow::Context as _;
use clap::Parser;

use crate::{
    config::Settings,
    fleet::{self, Context, Service},
    shutdown, telemetry,
};

/// Options every serving process accepts.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file layered over the defaults (the environment still wins).
    #[arg(long, env = "REELFORGE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
}

impl ServeArgs {
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let mut settings = Settings::load(self.config.as_deref())?;
        if let Some(listen) = self.listen {
            settings.config.listen = listen;
        }
        Ok(settings)
    }
}

/// Connects, binds and serves `services` until SIGTERM or ctrl-c, then drains.
pub async fn serve(settings: Settings, services: Vec<Arc<dyn Service>>) -> anyhow::Result<()> {
    let listen = settings.config.listen;
    let ctx = Context::start(settings, shutdown::on_signal()).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    fleet::run(ctx, services, listener).await
}

/// Prints an error chain the way every reelforge command reports failure.
pub fn report(error: &anyhow::Error) -> ExitCode {
    tracing::error!(error = format!("{error:#}"), "fatal");
    eprintln!("error: {error:#}");
    ExitCode::FAILURE
}

#[derive(Debug, Parser)]
struct SingleServiceCli {
    #[command(flatten)]
    serve: ServeArgs,
}

/// `main` of a one-service binary: the same as `reelforge serve --only <name>`.
pub fn service_main(service: Arc<dyn Service>) -> ExitCode {
    let cli = SingleServiceCli::parse();
    let _telemetry = match telemetry::init(service.name()) {
        Ok(guard) => guard,
        Err(error) => return report(&error),
    };
    let outcome = tokio::runtime::Runtime::new()
        .context("cannot start the async runtime")
        .and_then(|runtime| {
            runtime.block_on(async { serve(cli.serve.settings()?, vec![service]).await })
        });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => report(&error),
    }
}

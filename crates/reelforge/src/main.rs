//! `reelforge`: run every service in one process or a chosen few, migrate, issue tokens.

mod backup;
mod make;

use reelforge::fleet;

use std::{process::ExitCode, time::Duration};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use shared::{
    auth::{Authenticator, Role},
    config::Settings,
    db,
    process::{report, ServeArgs},
    telemetry,
};

#[derive(Debug, Parser)]
#[command(
    name = "reelforge",
    version,
    about = "Topic in, finished short videos out."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve every service on one listener, or only those named with --only.
    Serve {
        #[command(flatten)]
        args: ServeArgs,
        /// Comma-separated services to run (default: all).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
    /// Make videos about a topic: story, narration, images, music, moderation, render.
    Make(make::MakeArgs),
    /// Create the database if needed and apply every migration.
    Migrate {
        #[arg(long, env = "REELFORGE_CONFIG")]
        config: Option<std::path::PathBuf>,
    },
    /// Back up every schema of the database and the local media store into a new directory.
    Backup {
        #[arg(long, env = "REELFORGE_CONFIG")]
        config: Option<std::path::PathBuf>,
        /// The directory to create.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Restore a backup into the configured database (created if missing) and media store.
    Restore {
        #[arg(long, env = "REELFORGE_CONFIG")]
        config: Option<std::path::PathBuf>,
        /// A directory written by `reelforge backup`.
        #[arg(long)]
        from: std::path::PathBuf,
        /// Replace a database that already holds runs.
        #[arg(long)]
        replace: bool,
    },
    /// Write every service's OpenAPI document to a directory (`<service>.json`).
    Openapi {
        #[arg(long, default_value = "openapi")]
        out: std::path::PathBuf,
    },
    /// Print the encoder arguments of every output (the benchmark's re-encode uses them).
    #[command(hide = true)]
    EncoderArgs,
    /// Keys that seal secrets at rest (OAuth tokens).
    Secrets {
        #[command(subcommand)]
        action: SecretsAction,
    },
    /// Print a signed JWT for calling the API.
    Token {
        #[arg(long, env = "REELFORGE_CONFIG")]
        config: Option<std::path::PathBuf>,
        /// admin, operator, viewer or service.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Who the token is for.
        #[arg(long)]
        subject: String,
        /// The tenant the token acts for.
        #[arg(long)]
        tenant: Option<String>,
        /// Lifetime, such as 30m, 1h or 7d.
        #[arg(long, default_value = "1h", value_parser = parse_ttl)]
        ttl: Duration,
    },
}

#[derive(Debug, Subcommand)]
enum SecretsAction {
    /// Print a new random key; put it first in REELFORGE_SECRETS_KEY, keeping the old one after it.
    Generate,
    /// Re-seal every stored secret under the first configured key; then the old keys can go.
    Rotate {
        #[arg(long, env = "REELFORGE_CONFIG")]
        config: Option<std::path::PathBuf>,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| {
        format!("unknown role `{text}`: expected admin, operator, viewer or service")
    })
}

/// The longest lifetime a token may have.
const MAX_TTL: Duration = Duration::from_secs(366 * 86_400);

/// A lifetime such as `90s`, `30m`, `1h`, `7d` or `1h 30m` (humantime), at most 366 days.
fn parse_ttl(text: &str) -> Result<Duration, String> {
    let ttl = humantime::parse_duration(text).map_err(|error| {
        format!("`{text}`: {error} (expected a lifetime such as 30m, 1h or 7d)")
    })?;
    if ttl.is_zero() || ttl > MAX_TTL {
        return Err(format!("`{text}`: a token lives between 1 s and 366 days"));
    }
    Ok(ttl)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => report(&error),
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { args, only } => {
            let services = fleet::select(&only)?;
            let _telemetry = telemetry::init("reelforge")?;
            let mut settings = args.settings()?;
            let listen = settings.config.listen;
            fleet::call_peers_locally(&mut settings, &services, listen);
            runtime()?.block_on(shared::process::serve(settings, services))
        }
        Command::Make(args) => {
            let settings = Settings::load(args.config.as_deref())?;
            let log = settings.config.data_dir.join("reelforge.log");
            let _telemetry =
                telemetry::init_to("reelforge", telemetry::LogTarget::File(log.clone()))?;
            let files = runtime()?.block_on(make::make(args, settings))?;
            for file in files {
                println!("{}", file.display());
            }
            eprintln!("logs: {}", log.display());
            Ok(())
        }
        Command::Migrate { config } => {
            let settings = Settings::load(config.as_deref())?;
            runtime()?.block_on(async {
                let pool = db::connect(settings.config.database_url.expose()).await?;
                db::migrate(&pool).await?;
                println!(
                    "migrations applied to {}",
                    db::redact(settings.config.database_url.expose())
                );
                Ok(())
            })
        }
        Command::Backup { config, out } => {
            let settings = Settings::load(config.as_deref())?;
            backup::backup(&settings.config, &out)
        }
        Command::Restore {
            config,
            from,
            replace,
        } => {
            let settings = Settings::load(config.as_deref())?;
            runtime()?.block_on(backup::restore(&settings.config, &from, replace))
        }
        Command::Openapi { out } => {
            std::fs::create_dir_all(&out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            for service in fleet::all() {
                let path = out.join(format!("{}.json", service.name()));
                let document =
                    shared::fleet::openapi_document(service.as_ref()).to_pretty_json()?;
                std::fs::write(&path, document)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                println!("{}", path.display());
            }
            let path = out.join("fleet.json");
            std::fs::write(&path, shared::audit::openapi().to_pretty_json()?)
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!("{}", path.display());
            Ok(())
        }
        Command::EncoderArgs => {
            println!("{}", video::ffmpeg::ENCODER_ARGS.join(" "));
            Ok(())
        }
        Command::Secrets {
            action: SecretsAction::Generate,
        } => {
            println!("{}", shared::secrets::Keyring::generate_key());
            Ok(())
        }
        Command::Secrets {
            action: SecretsAction::Rotate { config },
        } => {
            let settings = Settings::load(config.as_deref())?;
            runtime()?.block_on(async {
                let pool = db::connect(settings.config.database_url.expose()).await?;
                let resealed = distribution::rotate_secrets(&pool, &settings.config).await?;
                println!("{resealed} accounts re-sealed under the first key");
                Ok(())
            })
        }
        Command::Token {
            config,
            role,
            subject,
            tenant,
            ttl,
        } => {
            let settings = Settings::load(config.as_deref())?;
            let (_, signer) = Authenticator::from_config(&settings.config)?;
            let signer = signer.context(
                "this fleet verifies RS256 tokens from your identity provider; it holds no signing key",
            )?;
            println!("{}", signer.issue(&subject, role, tenant.as_deref(), ttl)?);
            Ok(())
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().context("cannot start the async runtime")
}

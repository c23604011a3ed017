//! `cargo xtask <command>`: the everyday commands of the workspace, one place for what the scripts
//! and contributors run (see CONTRIBUTING.md).

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context as _};
use clap::{Parser, Subcommand};

/// The sqlx-cli the query check runs, built once into the cache outside the clone.
const SQLX_CLI_VERSION: &str = "0.8.6";

#[derive(Parser)]
#[command(about = "reelforge's everyday commands")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Formatting and clippy with warnings as errors, as CI runs them.
    Lint,
    /// Refreshes `.sqlx/` (the offline data of sqlx's query macros) against a freshly migrated
    /// database; with `--check`, fails instead when a query no longer matches the migrations.
    Queries {
        #[arg(long)]
        check: bool,
    },
    /// The whole test command (`scripts/test.sh`, what CI runs).
    Test,
    /// The main job against a plain re-encode (`scripts/bench.sh`).
    Bench,
    /// 1,000 runs in flight through a real orchestrator (`scripts/load.sh`).
    Load {
        #[arg(long)]
        release: bool,
    },
    /// The full chaos soak (`scripts/chaos.sh`).
    Chaos,
}

fn main() -> anyhow::Result<()> {
    let root = workspace_root()?;
    match Cli::parse().command {
        Task::Lint => {
            run(cargo(&root).args(["fmt", "--all", "--", "--check"]))?;
            run(cargo(&root).args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--locked",
                "--",
                "-D",
                "warnings",
            ]))
        }
        Task::Queries { check } => queries(&root, check),
        Task::Test => run(Command::new("bash")
            .arg("scripts/test.sh")
            .current_dir(&root)),
        Task::Bench => run(Command::new("bash")
            .arg("scripts/bench.sh")
            .current_dir(&root)),
        Task::Load { release } => {
            let mut load = Command::new("bash");
            load.arg("scripts/load.sh").current_dir(&root);
            if release {
                load.arg("--release");
            }
            run(&mut load)
        }
        Task::Chaos => run(Command::new("bash")
            .arg("scripts/chaos.sh")
            .current_dir(&root)),
    }
}

/// The workspace root: the nearest directory, from where the command runs upwards, holding
/// `xtask/`. Read at run time, not compiled in: checkouts sharing one build directory share one
/// `xtask` binary, which must work on the checkout it is run in.
fn workspace_root() -> anyhow::Result<PathBuf> {
    let here = std::env::current_dir()?;
    here.ancestors()
        .find(|dir| dir.join("xtask").join("Cargo.toml").is_file())
        .map(Path::to_path_buf)
        .context("run cargo xtask inside the reelforge workspace")
}

fn cargo(root: &Path) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command.current_dir(root).env("PATH", tools_path());
    command
}

/// `PATH` with the cached tools first.
fn tools_path() -> String {
    let tools = tools_dir().join("bin");
    match std::env::var("PATH") {
        Ok(path) => format!("{}:{path}", tools.display()),
        Err(_) => tools.display().to_string(),
    }
}

fn tools_dir() -> PathBuf {
    let home = std::env::var("HOME").unwrap_or_else(|_| ".".to_owned());
    Path::new(&home).join(".cache/reelforge/tools")
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let shown = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    let status = command
        .status()
        .with_context(|| format!("cannot start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Prepares (or checks) the queries against a database of their own, dropped afterwards.
fn queries(root: &Path, check: bool) -> anyhow::Result<()> {
    ensure_sqlx_cli(root)?;
    let server = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
    let url = format!("{server}/reelforge_queries_{}", std::process::id());
    let sqlx = |args: &[&str]| {
        let mut command = cargo(root);
        command.arg("sqlx").args(args).env("DATABASE_URL", &url);
        command
    };
    run(&mut sqlx(&["database", "create"]))?;
    let prepared = run(&mut sqlx(&["migrate", "run", "--source", "migrations"])).and_then(|()| {
        let mut prepare = sqlx(&["prepare", "--workspace"]);
        if check {
            prepare.arg("--check");
        }
        run(&mut prepare)
    });
    run(&mut sqlx(&["database", "drop", "-y"]))?;
    prepared
}

fn ensure_sqlx_cli(root: &Path) -> anyhow::Result<()> {
    let installed = cargo(root)
        .args(["sqlx", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    if installed {
        return Ok(());
    }
    eprintln!(
        "installing sqlx-cli {SQLX_CLI_VERSION} into {} (once)",
        tools_dir().display()
    );
    run(cargo(root)
        .args([
            "install",
            "sqlx-cli",
            "--version",
            SQLX_CLI_VERSION,
            "--locked",
            "--quiet",
        ])
        .args([
            "--no-default-features",
            "--features",
            "postgres,rustls",
            "--root",
        ])
        .arg(tools_dir()))
}

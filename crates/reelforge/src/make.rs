//! `reelforge make`: a topic in, finished videos out — against a running fleet or one started in-process.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use shared::{auth::Role, config::Settings, fleet, Context};
use tokio_util::sync::CancellationToken;

/// What to make.
#[derive(Debug, Clone, clap::Args)]
pub struct MakeArgs {
    /// What the video is about.
    pub topic: String,
    #[arg(long)]
    pub genre: Option<String>,
    #[arg(long)]
    pub tone: Option<String>,
    /// Target length in seconds (10-180).
    #[arg(long, default_value_t = 60)]
    pub length: u32,
    #[arg(long, default_value = "en")]
    pub language: String,
    /// Comma-separated aspect ratios.
    #[arg(long, value_delimiter = ',', default_value = "16:9,9:16,1:1")]
    pub formats: Vec<String>,
    /// Same seed, same story and images.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where to write the files.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// A running fleet to use instead of starting one in-process.
    #[arg(long)]
    pub server: Option<String>,
    #[arg(long, env = "REELFORGE_CONFIG")]
    pub config: Option<PathBuf>,
}

/// The fleet a run is submitted to, and how to stop it if this command started it.
struct Fleet {
    base_url: String,
    token: String,
    in_process: Option<(
        CancellationToken,
        tokio::task::JoinHandle<anyhow::Result<()>>,
    )>,
}

impl Fleet {
    async fn connect(
        args: &MakeArgs,
        settings: Settings,
        client: &reqwest::Client,
    ) -> anyhow::Result<Fleet> {
        let sign = |settings: &Settings| -> anyhow::Result<String> {
            if let Ok(token) = std::env::var("REELFORGE_TOKEN") {
                return Ok(token);
            }
            let (_, signer) = shared::auth::Authenticator::from_config(&settings.config)?;
            let signer = signer.context("set REELFORGE_TOKEN: this fleet holds no signing key")?;
            // An operator of one tenant, for as long as a long run may take: this command
            // follows the run's event stream, so it stays well inside the tenant's request limit.
            signer.issue(
                "reelforge-make",
                Role::Operator,
                Some("default"),
                Duration::from_secs(6 * 3600),
            )
        };
        let existing = args
            .server
            .clone()
            .unwrap_or_else(|| format!("http://{}", settings.config.listen));
        let ready = client
            .get(format!("{existing}/health/ready"))
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            eprintln!("using the fleet at {existing}");
            return Ok(Fleet {
                token: sign(&settings)?,
                base_url: existing,
                in_process: None,
            });
        }
        anyhow::ensure!(args.server.is_none(), "no fleet is ready at {existing}");
        let token = sign(&settings)?;
        let shutdown = CancellationToken::new();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let base_url = format!("http://{address}");
        let services = reelforge::fleet::all();
        let mut settings = settings;
        reelforge::fleet::call_peers_locally(&mut settings, &services, address);
        let ctx = Context::start(settings, shutdown.clone()).await?;
        let handle = tokio::spawn(fleet::run(ctx, services, listener));
        eprintln!("started the fleet in-process at {base_url}");
        Ok(Fleet {
            base_url,
            token,
            in_process: Some((shutdown, handle)),
        })
    }

    async fn stop(self) -> anyhow::Result<()> {
        if let Some((shutdown, handle)) = self.in_process {
            shutdown.cancel();
            handle.await??;
        }
        Ok(())
    }
}

async fn api(
    client: &reqwest::Client,
    fleet: &Fleet,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let response = loop {
        let mut request = client
            .request(method.clone(), format!("{}{path}", fleet.base_url))
            .bearer_auth(&fleet.token);
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await?;
        // Over the tenant's request limit (a token other than a service one): wait as told.
        if response.status() != reqwest::StatusCode::TOO_MANY_REQUESTS {
            break response;
        }
        let wait = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .unwrap_or(1);
        tokio::time::sleep(Duration::from_secs(wait.clamp(1, 60))).await;
    };
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(
        status.is_success(),
        "{path}: {status}: {}",
        body["detail"].as_str().unwrap_or("no detail")
    );
    Ok(body)
}

/// Notified whenever the run's server-sent event stream delivers an event, so the run is read
/// once per change instead of polled; a broken stream only leaves the caller's slow poll.
fn follow_events(
    client: &reqwest::Client,
    fleet: &Fleet,
    id: &str,
) -> std::sync::Arc<tokio::sync::Notify> {
    use futures::StreamExt as _;
    let news = std::sync::Arc::new(tokio::sync::Notify::new());
    let request = client
        .get(format!("{}/v1/runs/{id}/events", fleet.base_url))
        .bearer_auth(&fleet.token);
    let notify = news.clone();
    tokio::spawn(async move {
        let Ok(response) = request.send().await else {
            return;
        };
        let mut body = response.bytes_stream();
        while let Some(Ok(chunk)) = body.next().await {
            if chunk.windows(2).any(|w| w == b"\n\n") {
                notify.notify_one();
            }
        }
    });
    news
}

/// One progress line per pipeline step.
struct Progress {
    bars: HashMap<String, ProgressBar>,
}

impl Progress {
    fn new(steps: &[&str]) -> anyhow::Result<Progress> {
        let multi = MultiProgress::new();
        let style =
            ProgressStyle::with_template("{spinner} {prefix:>11} [{elapsed:>4}] {wide_msg}")?;
        let bars = steps
            .iter()
            .map(|step| {
                let bar = multi.add(
                    ProgressBar::new_spinner()
                        .with_style(style.clone())
                        .with_prefix((*step).to_owned()),
                );
                bar.set_message("pending");
                ((*step).to_owned(), bar)
            })
            .collect();
        Ok(Progress { bars })
    }

    fn update(&self, run: &Value) {
        for step in run["steps"].as_array().into_iter().flatten() {
            let Some(bar) = step["name"].as_str().and_then(|name| self.bars.get(name)) else {
                continue;
            };
            let state = step["state"].as_str().unwrap_or("");
            let mut message = state.to_owned();
            if step["total"].as_i64().unwrap_or(1) > 1 {
                message = format!("{message} {}/{}", step["progress"], step["total"]);
            }
            if step["attempts"].as_i64().unwrap_or(0) > 1 {
                message = format!("{message} (attempt {})", step["attempts"]);
            }
            if let Some(error) = step["error"].as_str() {
                message = format!("{message}: {error}");
            }
            match state {
                "pending" => bar.set_message(message),
                "running" | "retrying" | "waiting_review" => {
                    bar.enable_steady_tick(Duration::from_millis(120));
                    bar.set_message(message);
                }
                _ if !bar.is_finished() => bar.finish_with_message(message),
                _ => {}
            }
        }
    }

    fn abandon(&self) {
        for bar in self.bars.values() {
            if !bar.is_finished() {
                bar.abandon();
            }
        }
    }
}

/// Runs the whole job and returns the files written.
pub async fn make(args: MakeArgs, settings: Settings) -> anyhow::Result<Vec<PathBuf>> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?;
    let fleet = Fleet::connect(&args, settings, &client).await?;
    let outcome = drive(&args, &client, &fleet).await;
    fleet.stop().await?;
    outcome
}

async fn drive(
    args: &MakeArgs,
    client: &reqwest::Client,
    fleet: &Fleet,
) -> anyhow::Result<Vec<PathBuf>> {
    let started = Instant::now();
    let mut request = json!({ "topic": args.topic, "length_seconds": args.length, "language": args.language, "formats": args.formats });
    for (field, value) in [("genre", &args.genre), ("tone", &args.tone)] {
        if let Some(value) = value {
            request[field] = json!(value);
        }
    }
    if let Some(seed) = args.seed {
        request["seed"] = json!(seed);
    }
    let created = api(
        client,
        fleet,
        reqwest::Method::POST,
        "/v1/runs",
        Some(request),
    )
    .await?;
    let id = created["id"]
        .as_str()
        .context("the fleet returned no run id")?
        .to_owned();
    eprintln!("run {id}: \"{}\"", args.topic);
    let progress = Progress::new(orchestrator::STEPS)?;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut told_about_review = false;
    let news = follow_events(client, fleet, &id);
    let run = loop {
        let run = api(
            client,
            fleet,
            reqwest::Method::GET,
            &format!("/v1/runs/{id}"),
            None,
        )
        .await?;
        progress.update(&run);
        match run["state"].as_str() {
            Some("succeeded") => break run,
            Some("failed") => {
                progress.abandon();
                anyhow::bail!(
                    "run {id} failed: {}",
                    run["error"].as_str().unwrap_or("no reason given")
                );
            }
            Some("cancelled") => {
                progress.abandon();
                anyhow::bail!("run {id} was cancelled");
            }
            Some("waiting_review") if !told_about_review => {
                told_about_review = true;
                eprintln!("run {id} failed moderation and waits for review: GET /v1/moderation/reviews, then approve or reject it");
            }
            _ => {}
        }
        tokio::select! {
            _ = &mut ctrl_c => {
                progress.abandon();
                api(client, fleet, reqwest::Method::POST, &format!("/v1/runs/{id}/cancel"), None).await.ok();
                anyhow::bail!("cancelled run {id}");
            }
            _ = news.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
    };
    progress.abandon();
    let manifest = api(
        client,
        fleet,
        reqwest::Method::GET,
        &format!("/v1/runs/{id}/manifest"),
        None,
    )
    .await?;
    let files = write_outputs(client, fleet, &manifest, &args.out).await?;
    eprintln!(
        "run {} finished in {:.1} s",
        run["id"].as_str().unwrap_or(&id),
        started.elapsed().as_secs_f64()
    );
    Ok(files)
}

async fn download(
    client: &reqwest::Client,
    fleet: &Fleet,
    key: &str,
    path: &Path,
) -> anyhow::Result<()> {
    let response = client
        .get(format!("{}/v1/videos/media/{key}", fleet.base_url))
        .bearer_auth(&fleet.token)
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "downloading {key}: {}",
        response.status()
    );
    tokio::fs::write(path, response.bytes().await?)
        .await
        .with_context(|| format!("cannot write {}", path.display()))
}

async fn write_outputs(
    client: &reqwest::Client,
    fleet: &Fleet,
    manifest: &Value,
    out: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    tokio::fs::create_dir_all(out)
        .await
        .with_context(|| format!("cannot create {}", out.display()))?;
    let outputs = &manifest["outputs"];
    let mut wanted: Vec<(String, String)> = Vec::new();
    for video in outputs["outputs"].as_array().into_iter().flatten() {
        wanted.push((
            video["name"].as_str().unwrap_or("video.mp4").to_owned(),
            video["media_key"].as_str().unwrap_or("").to_owned(),
        ));
    }
    for (name, field) in [("captions.srt", "srt"), ("captions.vtt", "vtt")] {
        wanted.push((
            name.to_owned(),
            outputs["captions"][field].as_str().unwrap_or("").to_owned(),
        ));
    }
    for thumbnail in outputs["thumbnails"].as_array().into_iter().flatten() {
        wanted.push((
            thumbnail["name"]
                .as_str()
                .unwrap_or("thumbnail.jpg")
                .to_owned(),
            thumbnail["media_key"].as_str().unwrap_or("").to_owned(),
        ));
    }
    let mut files = Vec::new();
    for (name, key) in wanted {
        let path = out.join(&name);
        download(client, fleet, &key, &path).await?;
        files.push(path);
    }
    let metadata = out.join("metadata.json");
    tokio::fs::write(&metadata, serde_json::to_vec_pretty(manifest)?).await?;
    files.push(metadata);
    Ok(files)
}

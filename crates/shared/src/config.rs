//! Layered configuration: embedded defaults, then an optional TOML file, then the environment.

use std::{
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context as _;
use figment::{
    providers::{Env, Format, Toml},
    Figment,
};
use serde::{de::DeserializeOwned, Deserialize};

const DEFAULTS: &str = include_str!("defaults.toml");

/// Whether the process may take development shortcuts (generated keys, automatic migrations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Dev,
    Production,
}

/// A value that must never appear in logs or debug output.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Redis Streams settings shared by every producer and consumer.
#[derive(Debug, Clone, Deserialize)]
pub struct BusConfig {
    pub prefix: String,
    pub max_deliveries: u64,
    pub reclaim_idle_ms: u64,
    pub block_ms: u64,
    pub batch: usize,
    pub max_len: u64,
}

/// The per-tenant request limit every public route enforces (see `rate_limit`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RateLimitConfig {
    pub enabled: bool,
    /// Length of the sliding window.
    pub window_secs: u64,
    /// Requests per window for a tenant the billing service has set no limit for.
    pub default_per_window: u64,
    /// How long a check may wait for Redis before the in-process limiter decides instead.
    pub redis_timeout_ms: u64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window_secs: 60,
            default_per_window: 50,
            redis_timeout_ms: 50,
        }
    }
}

impl RateLimitConfig {
    pub fn window(&self) -> Duration {
        Duration::from_secs(self.window_secs)
    }
}

/// Where media bytes live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    Local,
    S3,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StorageConfig {
    pub backend: StorageBackend,
    /// Directory of the local store; defaults to `<data_dir>/media`.
    pub local_dir: Option<PathBuf>,
    pub s3_bucket: String,
    pub s3_prefix: String,
}

/// The fleet-wide configuration every service process reads at start.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    pub mode: Mode,
    pub listen: SocketAddr,
    pub database_url: Secret,
    /// One server (`redis://host:6379`) or a Redis Cluster's seed nodes separated by commas.
    pub redis_url: Secret,
    pub data_dir: PathBuf,
    /// Apply migrations at start; defaults to true in dev mode and false in production.
    pub auto_migrate: Option<bool>,
    /// Longest a request may take before it is answered 503 `request_timeout` (streams excepted).
    pub request_timeout_secs: u64,
    /// Longest a child process (FFmpeg, espeak-ng) may run unless its caller sets a shorter bound.
    pub child_timeout_secs: u64,
    pub shutdown_grace_secs: u64,
    pub max_body_bytes: usize,
    pub jwt_secret: Option<Secret>,
    pub jwt_secret_file: Option<PathBuf>,
    pub jwt_public_key_file: Option<PathBuf>,
    pub jwks_file: Option<PathBuf>,
    /// Keys sealing secrets at rest (OAuth tokens): base64 32-byte keys separated by commas, the
    /// first sealing new secrets and the others only opening old ones (see `secrets`).
    pub secrets_key: Option<Secret>,
    /// A file holding `secrets_key`'s value (a mounted secret).
    pub secrets_key_file: Option<PathBuf>,
    /// When set, tokens must carry this `iss`.
    pub jwt_issuer: Option<String>,
    /// When set, tokens must carry this `aud`; when unset, tokens carrying any `aud` are accepted.
    pub jwt_audience: Option<String>,
    /// Entries a service's workers handle at once, by service name (`concurrency.video = 1`).
    #[serde(default)]
    pub concurrency: std::collections::BTreeMap<String, usize>,
    pub bus: BusConfig,
    pub storage: StorageConfig,
    #[serde(default)]
    pub rate_limit: RateLimitConfig,
    #[serde(default)]
    pub retention: crate::housekeeping::RetentionConfig,
}

/// The merged configuration sources, kept so each service can read its own `[services.<name>]` table.
#[derive(Debug, Clone)]
pub struct Settings {
    figment: Figment,
    pub config: Config,
}

impl Settings {
    /// Defaults, then `file` if given, then the process environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Toml::string(DEFAULTS));
        if let Some(path) = file {
            anyhow::ensure!(
                path.exists(),
                "config file {} does not exist",
                path.display()
            );
            figment = figment.merge(Toml::file(path));
        }
        figment = figment
            .merge(Env::raw().only(&["database_url", "redis_url"]))
            .merge(Env::prefixed("REELFORGE_").split("__"));
        Self::from_figment(figment)
    }

    /// Defaults overlaid with explicit values; used by tests and embedders.
    pub fn with_overrides(overrides: &[(&str, toml_value::Value)]) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Toml::string(DEFAULTS));
        for (key, value) in overrides {
            figment = figment.merge((*key, value.clone()));
        }
        Self::from_figment(figment)
    }

    fn from_figment(figment: Figment) -> anyhow::Result<Self> {
        let config: Config = figment.extract().map_err(describe_figment_error)?;
        // Tables other crates own are checked when they are read (`service`, `section`).
        refuse_unknown_keys::<Config>(
            &figment,
            "",
            &["services", "providers", "platforms", "catalogue"],
        )?;
        validate(&config)?;
        Ok(Self { figment, config })
    }

    /// Sets `key` to `value` unless a file or the environment already set it (tables other crates
    /// own, such as `providers`, are read from these settings later).
    pub fn default_to(&mut self, key: &str, value: toml_value::Value) {
        if !self.figment.contains(key) {
            self.figment = self.figment.clone().merge((key, value));
        }
    }

    /// The `[services.<name>]` table, or the type's defaults when absent.
    pub fn service<T: DeserializeOwned + Default>(&self, name: &str) -> anyhow::Result<T> {
        self.section(&format!("services.{name}"))
            .with_context(|| format!("invalid configuration for service {name}"))
    }

    /// A top-level table other crates own (e.g. `providers`), or the type's defaults when absent.
    pub fn section<T: DeserializeOwned + Default>(&self, key: &str) -> anyhow::Result<T> {
        if !self.figment.contains(key) {
            return Ok(T::default());
        }
        let value = self
            .figment
            .extract_inner::<T>(key)
            .map_err(describe_figment_error)
            .with_context(|| format!("configuration table `{key}`"))?;
        refuse_unknown_keys::<T>(&self.figment, key, &[])?;
        Ok(value)
    }
}

/// Fails naming every key under `table` ("" for the root) that `T` does not read, so a misspelt
/// key is an error at start instead of a silently ignored setting. Keys under `owned_elsewhere`
/// are skipped; environment variables are not checked (the environment holds unrelated names).
fn refuse_unknown_keys<T: DeserializeOwned>(
    figment: &Figment,
    table: &str,
    owned_elsewhere: &[&str],
) -> anyhow::Result<()> {
    let value = if table.is_empty() {
        figment.extract::<figment::value::Value>().ok()
    } else {
        figment.find_value(table).ok()
    };
    let Some(value) = value else {
        return Ok(());
    };
    let mut unknown = Vec::new();
    let read: Result<T, _> = serde_ignored::deserialize(&value, |path| {
        let path = path.to_string();
        let top = path.split('.').next().unwrap_or_default();
        if !owned_elsewhere.contains(&top) && !from_environment(figment, table, &path) {
            unknown.push(if table.is_empty() {
                path
            } else {
                format!("{table}.{path}")
            });
        }
    });
    drop(read);
    anyhow::ensure!(
        unknown.is_empty(),
        "unknown configuration key{} {} (misspelt?)",
        if unknown.len() == 1 { "" } else { "s" },
        unknown
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

/// Whether the key at `table.path` came from the environment rather than a file or the defaults.
fn from_environment(figment: &Figment, table: &str, path: &str) -> bool {
    let full = if table.is_empty() {
        path.to_owned()
    } else {
        format!("{table}.{path}")
    };
    figment
        .find_metadata(&full)
        .is_some_and(|metadata| metadata.name.contains("environment"))
}

/// Re-exported so callers can build override values without depending on figment.
pub mod toml_value {
    pub use figment::value::Value;
}

fn describe_figment_error(error: figment::Error) -> anyhow::Error {
    let lines: Vec<String> = error
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            if key.is_empty() {
                format!("configuration: {}", e.kind)
            } else {
                format!("configuration key `{key}`: {}", e.kind)
            }
        })
        .collect();
    anyhow::anyhow!(lines.join("; "))
}

fn validate(config: &Config) -> anyhow::Result<()> {
    anyhow::ensure!(
        config.request_timeout_secs >= 1,
        "configuration key `request_timeout_secs`: must be at least 1"
    );
    anyhow::ensure!(
        config.child_timeout_secs >= 1,
        "configuration key `child_timeout_secs`: must be at least 1"
    );
    anyhow::ensure!(
        !config.bus.prefix.is_empty() && !config.bus.prefix.contains(['{', '}']),
        "configuration key `bus.prefix`: must be non-empty and contain no braces"
    );
    anyhow::ensure!(
        config.bus.max_deliveries >= 1,
        "configuration key `bus.max_deliveries`: must be at least 1"
    );
    anyhow::ensure!(
        config.bus.batch >= 1,
        "configuration key `bus.batch`: must be at least 1"
    );
    anyhow::ensure!(
        config.rate_limit.window_secs >= 1,
        "configuration key `rate_limit.window_secs`: must be at least 1"
    );
    anyhow::ensure!(
        config.rate_limit.default_per_window >= 1,
        "configuration key `rate_limit.default_per_window`: must be at least 1"
    );
    anyhow::ensure!(
        config.rate_limit.redis_timeout_ms >= 1,
        "configuration key `rate_limit.redis_timeout_ms`: must be at least 1"
    );
    anyhow::ensure!(
        config.database_url.expose().starts_with("postgres://")
            || config.database_url.expose().starts_with("postgresql://"),
        "configuration key `database_url`: must be a postgres:// URL"
    );
    let redis_nodes = crate::bus::cluster_nodes(config.redis_url.expose());
    anyhow::ensure!(
        !redis_nodes.is_empty()
            && redis_nodes
                .iter()
                .all(|node| node.starts_with("redis://") || node.starts_with("rediss://")),
        "configuration key `redis_url`: must be a redis:// or rediss:// URL, or several separated by commas for a Redis Cluster"
    );
    if let Some(secret) = &config.jwt_secret {
        anyhow::ensure!(
            secret.expose().len() >= 32,
            "configuration key `jwt_secret`: must be at least 32 characters"
        );
    }
    Ok(())
}

impl Config {
    /// Entries the workers of `service` handle at once: `concurrency.<service>`, else `default`.
    pub fn concurrency_of(&self, service: &str, default: usize) -> usize {
        self.concurrency
            .get(service)
            .copied()
            .unwrap_or(default)
            .max(1)
    }

    pub fn child_timeout(&self) -> Duration {
        Duration::from_secs(self.child_timeout_secs)
    }

    pub fn auto_migrate(&self) -> bool {
        self.auto_migrate.unwrap_or(self.mode == Mode::Dev)
    }

    pub fn media_dir(&self) -> PathBuf {
        self.storage
            .local_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("media"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load_and_validate() -> anyhow::Result<()> {
        let settings = Settings::with_overrides(&[])?;
        assert_eq!(settings.config.mode, Mode::Dev);
        assert_eq!(settings.config.listen.port(), 8080);
        assert!(settings.config.auto_migrate());
        Ok(())
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let err = Settings::with_overrides(&[("bus", toml_value::Value::from("nope"))])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("`bus`"), "{err}");
        let err = Settings::with_overrides(&[("listen", toml_value::Value::from("not-an-addr"))])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("`listen`"), "{err}");
    }

    #[test]
    fn a_misspelt_key_is_refused_by_name() {
        let err = Settings::with_overrides(&[
            ("request_timeout_sec", toml_value::Value::from(5)),
            ("bus.max_delivery", toml_value::Value::from(5)),
        ])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("`request_timeout_sec`"), "{err}");
        assert!(err.contains("`bus.max_delivery`"), "{err}");
        // Tables other crates own are not judged here…
        assert!(
            Settings::with_overrides(&[("providers.anything", toml_value::Value::from(1))]).is_ok()
        );
    }

    #[test]
    fn a_section_refuses_keys_its_type_does_not_read() -> anyhow::Result<()> {
        #[derive(Debug, Default, Deserialize)]
        #[serde(default)]
        struct Section {
            #[allow(dead_code)]
            known: u32,
        }
        let settings = Settings::with_overrides(&[
            ("services.thing.known", toml_value::Value::from(1)),
            ("services.thing.unknwon", toml_value::Value::from(2)),
        ])?;
        let err = settings
            .service::<Section>("thing")
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(err.contains("`services.thing.unknwon`"), "{err}");
        Ok(())
    }

    #[test]
    fn redis_url_names_one_server_or_a_clusters_seed_nodes() {
        let cluster = "redis://10.0.0.1:7000, redis://10.0.0.2:7000,redis://10.0.0.3:7000";
        assert!(
            Settings::with_overrides(&[("redis_url", toml_value::Value::from(cluster))]).is_ok()
        );
        assert_eq!(crate::bus::cluster_nodes(cluster).len(), 3);
        for bad in ["redis://a:1,http://b:2", ",", "localhost:6379"] {
            let err = Settings::with_overrides(&[("redis_url", toml_value::Value::from(bad))])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("`redis_url`"), "{bad}: {err}");
        }
    }

    #[test]
    fn short_secrets_are_refused_and_never_printed() {
        let err = Settings::with_overrides(&[("jwt_secret", toml_value::Value::from("short"))])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("jwt_secret"), "{err}");
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "[redacted]");
    }
}

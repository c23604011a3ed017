//! Calls to another reelforge service over HTTP with a `service` token: minted with this process's
//! own signing key (HS256), or read from a mounted token file when the fleet verifies RS256/JWKS.

use std::{path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context as _;
use serde::Deserialize;

use crate::{
    auth::{Role, TokenSigner},
    config::Secret,
    fleet::Context,
};

/// Where a peer service is and how to authenticate to it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PeerConfig {
    /// Base URL, e.g. `http://billing:8080`; unset means the peer is not used.
    pub url: Option<String>,
    /// A file holding a `service` token, for fleets whose tokens this process cannot sign.
    pub token_file: Option<PathBuf>,
    /// Per-request timeout.
    pub timeout_ms: Option<u64>,
}

/// How a peer call is authenticated.
#[derive(Clone)]
pub enum Credentials {
    /// A short-lived `service` token minted per request.
    Signer(Arc<TokenSigner>),
    /// A token read once (a mounted secret).
    Token(Secret),
}

/// A client of one peer service.
#[derive(Clone)]
pub struct Peer {
    base_url: String,
    credentials: Credentials,
    subject: String,
    http: reqwest::Client,
}

impl Peer {
    /// The peer `config` points at, or `None` when no URL is set; `subject` names the caller in tokens.
    pub fn from_config(
        ctx: &Context,
        config: &PeerConfig,
        subject: &str,
    ) -> anyhow::Result<Option<Peer>> {
        let Some(url) = &config.url else {
            return Ok(None);
        };
        let credentials = match (&config.token_file, &ctx.signer) {
            (Some(path), _) => {
                let token = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the token file {}", path.display()))?;
                Credentials::Token(Secret::new(token.trim()))
            }
            (None, Some(signer)) => Credentials::Signer(signer.clone()),
            (None, None) => anyhow::bail!(
                "calling {url} needs a service token: set its token_file (this process verifies RS256/JWKS tokens and cannot sign one)"
            ),
        };
        let timeout = Duration::from_millis(config.timeout_ms.unwrap_or(2_000));
        Peer::new(url, credentials, subject, timeout).map(Some)
    }

    pub fn new(
        base_url: &str,
        credentials: Credentials,
        subject: &str,
        timeout: Duration,
    ) -> anyhow::Result<Peer> {
        Ok(Peer {
            base_url: base_url.trim_end_matches('/').to_owned(),
            credentials,
            subject: subject.to_owned(),
            http: reqwest::Client::builder().timeout(timeout).build()?,
        })
    }

    /// A request to `path` (starting with `/`) carrying the service token.
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
    ) -> anyhow::Result<reqwest::RequestBuilder> {
        let token = match &self.credentials {
            Credentials::Signer(signer) => {
                signer.issue(&self.subject, Role::Service, None, Duration::from_secs(300))?
            }
            Credentials::Token(token) => token.expose().to_owned(),
        };
        Ok(self
            .http
            .request(method, format!("{}{path}", self.base_url))
            .bearer_auth(token))
    }
}

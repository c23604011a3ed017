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

/// Characters kept as they are in a path segment (RFC 3986 unreserved); all else is encoded.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A request path from its segments, each percent-encoded: a tenant id or key holding `/`, `?`,
/// `#` or `%` stays one segment instead of reshaping the URL. `.` and `..` are refused, since
/// URL parsers resolve them (even encoded) and a path could then climb out of its prefix.
pub fn path(segments: &[&str]) -> anyhow::Result<String> {
    let mut path = String::new();
    for segment in segments {
        anyhow::ensure!(
            !matches!(*segment, "" | "." | ".."),
            "`{segment}` cannot be a path segment"
        );
        path.push('/');
        path.extend(percent_encoding::utf8_percent_encode(segment, SEGMENT));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    #[test]
    fn path_segments_are_encoded_one_by_one() -> anyhow::Result<()> {
        assert_eq!(
            super::path(&["v1", "billing", "tenants", "acme.eu-1", "admission"])?,
            "/v1/billing/tenants/acme.eu-1/admission"
        );
        assert_eq!(
            super::path(&["v1", "tenants", "../admin?x=1#frag %é", "admission"])?,
            "/v1/tenants/..%2Fadmin%3Fx%3D1%23frag%20%25%C3%A9/admission"
        );
        assert!(super::path(&["v1", "tenants", ".."]).is_err());
        assert!(super::path(&["v1", "tenants", ""]).is_err());
        Ok(())
    }
}

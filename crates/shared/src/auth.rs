//! JWT bearer authentication: roles admin > operator > viewer, plus `service` for fleet-internal calls.

use std::{fs, path::Path, sync::Arc, time::Duration};

use anyhow::Context as _;
use axum::{extract::FromRequestParts, http::request::Parts};
use jsonwebtoken::{
    decode, decode_header, encode, jwk::JwkSet, Algorithm, DecodingKey, EncodingKey, Header,
    Validation,
};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::{
    config::{Config, Mode},
    error::ApiError,
};

/// What a token holder may do. Admin may do everything; `service` is for calls between services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Operator,
    Viewer,
    Service,
}

impl Role {
    /// Whether a holder of `self` may act where `required` is needed.
    pub fn satisfies(self, required: Role) -> bool {
        use Role::*;
        matches!(
            (self, required),
            (Admin, _)
                | (Service, Service | Operator | Viewer)
                | (Operator, Operator | Viewer)
                | (Viewer, Viewer)
        )
    }

    pub fn parse(name: &str) -> Option<Role> {
        match name {
            "admin" => Some(Role::Admin),
            "operator" => Some(Role::Operator),
            "viewer" => Some(Role::Viewer),
            "service" => Some(Role::Service),
            _ => None,
        }
    }
}

/// The claims every reelforge token carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    /// The tenant the holder acts for; quotas and visibility are scoped to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    pub exp: u64,
    #[serde(default)]
    pub iat: u64,
}

enum VerifyingKeys {
    Single(DecodingKey),
    Jwks(Vec<(Option<String>, Algorithm, DecodingKey)>),
}

/// Verifies bearer tokens with the configured key material, issuer and audience.
pub struct Authenticator {
    keys: VerifyingKeys,
    algorithm: Algorithm,
    issuer: Option<String>,
    audience: Option<String>,
}

/// The signing algorithm a JWK is for: its `alg`, else what its key type implies; `None` for
/// algorithms the fleet does not accept (symmetric keys have no place in a public key set).
fn jwk_algorithm(jwk: &jsonwebtoken::jwk::Jwk) -> Option<Algorithm> {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, KeyAlgorithm};
    match jwk.common.key_algorithm {
        Some(KeyAlgorithm::RS256) => Some(Algorithm::RS256),
        Some(KeyAlgorithm::RS384) => Some(Algorithm::RS384),
        Some(KeyAlgorithm::RS512) => Some(Algorithm::RS512),
        Some(KeyAlgorithm::PS256) => Some(Algorithm::PS256),
        Some(KeyAlgorithm::PS384) => Some(Algorithm::PS384),
        Some(KeyAlgorithm::PS512) => Some(Algorithm::PS512),
        Some(KeyAlgorithm::ES256) => Some(Algorithm::ES256),
        Some(KeyAlgorithm::ES384) => Some(Algorithm::ES384),
        Some(KeyAlgorithm::EdDSA) => Some(Algorithm::EdDSA),
        Some(_) => None,
        None => match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
            AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
                EllipticCurve::P256 => Some(Algorithm::ES256),
                EllipticCurve::P384 => Some(Algorithm::ES384),
                _ => None,
            },
            AlgorithmParameters::OctetKeyPair(_) => Some(Algorithm::EdDSA),
            AlgorithmParameters::OctetKey(_) => None,
        },
    }
}

/// Signs tokens; only available when the fleet holds an HS256 secret.
pub struct TokenSigner {
    key: EncodingKey,
}

impl Authenticator {
    /// Loads key material: a JWKS file or RS256 public key (production), else an HS256 secret.
    /// In dev mode with nothing configured, a random secret is generated once under `data_dir`.
    pub fn from_config(
        config: &Config,
    ) -> anyhow::Result<(Arc<Authenticator>, Option<TokenSigner>)> {
        if let Some(path) = &config.jwks_file {
            let text = fs::read_to_string(path)
                .with_context(|| format!("cannot read jwks_file {}", path.display()))?;
            let set: JwkSet = serde_json::from_str(&text)
                .with_context(|| format!("jwks_file {} is not a JWK set", path.display()))?;
            let mut keys = Vec::new();
            for jwk in &set.keys {
                let kid = jwk.common.key_id.as_deref().unwrap_or("(no kid)");
                let algorithm = jwk_algorithm(jwk).with_context(|| {
                    format!(
                        "jwks_file {}: key {kid} is for an algorithm reelforge does not accept \
                         (RS*, PS*, ES256, ES384 or EdDSA)",
                        path.display()
                    )
                })?;
                keys.push((
                    jwk.common.key_id.clone(),
                    algorithm,
                    DecodingKey::from_jwk(jwk)?,
                ));
            }
            anyhow::ensure!(
                !keys.is_empty(),
                "jwks_file {} holds no keys",
                path.display()
            );
            let auth = Authenticator {
                keys: VerifyingKeys::Jwks(keys),
                algorithm: Algorithm::RS256,
                issuer: config.jwt_issuer.clone(),
                audience: config.jwt_audience.clone(),
            };
            return Ok((Arc::new(auth), None));
        }
        if let Some(path) = &config.jwt_public_key_file {
            let pem = fs::read(path)
                .with_context(|| format!("cannot read jwt_public_key_file {}", path.display()))?;
            let key = DecodingKey::from_rsa_pem(&pem).with_context(|| {
                format!(
                    "jwt_public_key_file {} is not an RSA public key",
                    path.display()
                )
            })?;
            let auth = Authenticator {
                keys: VerifyingKeys::Single(key),
                algorithm: Algorithm::RS256,
                issuer: config.jwt_issuer.clone(),
                audience: config.jwt_audience.clone(),
            };
            return Ok((Arc::new(auth), None));
        }
        let secret = hs256_secret(config)?;
        let auth = Authenticator {
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            ..Self::hs256(secret.as_bytes())
        };
        Ok((Arc::new(auth), Some(TokenSigner::hs256(secret.as_bytes()))))
    }

    pub fn hs256(secret: &[u8]) -> Authenticator {
        Authenticator {
            keys: VerifyingKeys::Single(DecodingKey::from_secret(secret)),
            algorithm: Algorithm::HS256,
            issuer: None,
            audience: None,
        }
    }

    /// Verifies signature, algorithm, expiry, and issuer and audience where configured; any
    /// failure is a 401 with the reason.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let header = decode_header(token)
            .map_err(|e| ApiError::unauthorized(format!("malformed token: {e}")))?;
        let (key, algorithm) = match &self.keys {
            VerifyingKeys::Single(key) => (key, self.algorithm),
            VerifyingKeys::Jwks(keys) => {
                if header.kid.is_none() && keys.len() > 1 {
                    return Err(ApiError::unauthorized(
                        "token has no `kid` header, and the key set holds several keys",
                    ));
                }
                keys.iter()
                    .find(|(kid, _, _)| {
                        header.kid.is_none() || kid.as_deref() == header.kid.as_deref()
                    })
                    .map(|(_, alg, key)| (key, *alg))
                    .ok_or_else(|| ApiError::unauthorized("token signed by an unknown key"))?
            }
        };
        if header.alg != algorithm {
            return Err(ApiError::unauthorized(format!(
                "token algorithm {:?} is not accepted (the key is for {algorithm:?})",
                header.alg
            )));
        }
        let mut validation = Validation::new(algorithm);
        validation.leeway = 5;
        let mut required = vec!["exp", "sub"];
        match &self.issuer {
            Some(issuer) => {
                validation.set_issuer(&[issuer]);
                required.push("iss");
            }
            None => validation.iss = None,
        }
        match &self.audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            // No audience configured: a token naming one is for us as much as any.
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        decode::<Claims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|e| ApiError::unauthorized(format!("invalid token: {e}")))
    }
}

impl TokenSigner {
    pub fn hs256(secret: &[u8]) -> TokenSigner {
        TokenSigner {
            key: EncodingKey::from_secret(secret),
        }
    }

    /// A token for `subject` with `role`, optionally bound to `tenant`, valid for `ttl`.
    pub fn issue(
        &self,
        subject: &str,
        role: Role,
        tenant: Option<&str>,
        ttl: Duration,
    ) -> anyhow::Result<String> {
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        let claims = Claims {
            sub: subject.to_owned(),
            role,
            tenant: tenant.map(str::to_owned),
            iat: now,
            exp: now.saturating_add(ttl.as_secs()),
        };
        Ok(encode(&Header::new(Algorithm::HS256), &claims, &self.key)?)
    }
}

fn hs256_secret(config: &Config) -> anyhow::Result<String> {
    if let Some(secret) = &config.jwt_secret {
        return Ok(secret.expose().to_owned());
    }
    if let Some(path) = &config.jwt_secret_file {
        let secret = fs::read_to_string(path)
            .with_context(|| format!("cannot read jwt_secret_file {}", path.display()))?;
        let secret = secret.trim().to_owned();
        anyhow::ensure!(
            secret.len() >= 32,
            "jwt_secret_file {}: secret must be at least 32 characters",
            path.display()
        );
        return Ok(secret);
    }
    anyhow::ensure!(
        config.mode == Mode::Dev,
        "no JWT key configured: set REELFORGE_JWT_SECRET, REELFORGE_JWT_SECRET_FILE, \
         REELFORGE_JWT_PUBLIC_KEY_FILE or REELFORGE_JWKS_FILE (production mode never generates one)"
    );
    dev_secret(&config.data_dir.join("jwt-secret"))
}

/// Reads the dev secret, creating a random one (mode 0600) on first use.
pub(crate) fn dev_secret(path: &Path) -> anyhow::Result<String> {
    if let Ok(existing) = fs::read_to_string(path) {
        return Ok(existing.trim().to_owned());
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            std::io::Write::write_all(&mut file, secret.as_bytes())?;
            Ok(secret)
        }
        // Another process won the race: use its secret.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(fs::read_to_string(path)?.trim().to_owned())
        }
        Err(e) => Err(e).with_context(|| format!("cannot write {}", path.display())),
    }
}

/// The verified caller of a request.
#[derive(Debug, Clone)]
pub struct Principal(pub Claims);

impl Principal {
    /// The claims, if the caller's role satisfies `role`; otherwise 403.
    pub fn require(&self, role: Role) -> Result<&Claims, ApiError> {
        if self.0.role.satisfies(role) {
            Ok(&self.0)
        } else {
            Err(ApiError::forbidden(format!(
                "this action needs the {role:?} role; the token has {:?}",
                self.0.role
            )))
        }
    }

    /// The tenant filter for reads: admins and services see every tenant, others only their own.
    pub fn tenant_scope(&self) -> Option<&str> {
        match self.0.role {
            Role::Admin | Role::Service => None,
            _ => Some(self.0.tenant.as_deref().unwrap_or("default")),
        }
    }

    /// Refuses (403) a caller that is not an admin or service asking about another tenant.
    pub fn require_tenant(&self, tenant: &str) -> Result<(), ApiError> {
        match self.tenant_scope() {
            Some(own) if own != tenant => Err(ApiError::forbidden(format!(
                "tenant `{own}` cannot read tenant `{tenant}`"
            ))),
            _ => Ok(()),
        }
    }

    /// The tenant new work is attributed to.
    pub fn tenant(&self) -> &str {
        self.0.tenant.as_deref().unwrap_or("default")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // The rate-limit layer has verified this request's token already.
        if let Some(principal) = parts.extensions.get::<Principal>() {
            return Ok(principal.clone());
        }
        let authenticator = parts
            .extensions
            .get::<Arc<Authenticator>>()
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("authenticator layer missing")))?;
        let token = bearer_token(&parts.headers).ok_or_else(|| {
            ApiError::unauthorized("missing `Authorization: Bearer <token>` header")
        })?;
        authenticator.verify(token).map(Principal)
    }
}

/// The token of an `Authorization: Bearer` header, if present.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn role_hierarchy() {
        assert!(Role::Admin.satisfies(Role::Service));
        assert!(Role::Operator.satisfies(Role::Viewer));
        assert!(!Role::Viewer.satisfies(Role::Operator));
        assert!(!Role::Operator.satisfies(Role::Admin));
        assert!(!Role::Service.satisfies(Role::Admin));
        assert!(!Role::Operator.satisfies(Role::Service));
    }

    #[test]
    fn issued_tokens_verify_and_tampering_does_not() -> anyhow::Result<()> {
        let signer = TokenSigner::hs256(SECRET);
        let auth = Authenticator::hs256(SECRET);
        let token = signer.issue("ana", Role::Operator, Some("acme"), Duration::from_secs(60))?;
        let claims = auth.verify(&token).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        assert_eq!(claims.sub, "ana");
        assert_eq!(claims.tenant.as_deref(), Some("acme"));

        let other = Authenticator::hs256(b"another-secret-another-secret-xx");
        assert!(other.verify(&token).is_err());

        let parts: Vec<&str> = token.split('.').collect();
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let forged_claims = engine.encode(br#"{"sub":"ana","role":"admin","exp":99999999999}"#);
        let tampered = format!("{}.{}.{}", parts[0], forged_claims, parts[2]);
        assert!(auth.verify(&tampered).is_err());

        let none_header = engine.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert!(auth
            .verify(&format!("{none_header}.{forged_claims}."))
            .is_err());
        Ok(())
    }
}

//! Connected accounts: grants sealed at rest (bound to the account's id), access tokens refreshed
//! shortly before expiry or after a 401 — one refresh at a time per account, across every process,
//! by locking its row — and a revoked grant turned into `reconnect_required` plus a notification.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use anyhow::Context as _;
use chrono::Utc;
use serde_json::json;
use shared::{bus::Envelope, jobs::EVENTS, outbox, secrets::Keyring};
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    oauth::{self, Grant, Identity, Tokens},
    platform::{Platform, PlatformClient},
    remote::{Failure, Outcome},
};

const SERVICE: &str = "distribution";

/// Grants, their keys, and the platforms' clients.
#[derive(Clone)]
pub struct Accounts {
    pub db: PgPool,
    pub keyring: Arc<Keyring>,
    pub clients: Arc<BTreeMap<Platform, PlatformClient>>,
    pub http: reqwest::Client,
    /// An access token this close to expiry is refreshed before use.
    pub refresh_before: Duration,
}

/// What a publication needs of its account to call the platform.
#[derive(Debug, Clone)]
pub struct Credential {
    pub platform_account_id: String,
    pub access_token: String,
}

/// Seals `tokens` for the account `id`.
pub fn seal(keyring: &Keyring, id: Uuid, tokens: &Tokens) -> anyhow::Result<Vec<u8>> {
    keyring.seal(&serde_json::to_vec(tokens)?, id.as_bytes())
}

/// Opens the tokens sealed for the account `id`.
pub fn open(keyring: &Keyring, id: Uuid, sealed: &[u8]) -> anyhow::Result<Tokens> {
    Ok(serde_json::from_slice(
        &keyring.open(sealed, id.as_bytes())?,
    )?)
}

impl Accounts {
    pub fn client(&self, platform: Platform) -> Option<&PlatformClient> {
        self.clients.get(&platform)
    }

    /// Stores the grant of `identity` for `tenant`: a new account, or the same account renewed
    /// when that channel, user or Page was connected before.
    pub async fn store(
        &self,
        tenant: &str,
        platform: Platform,
        identity: &Identity,
    ) -> anyhow::Result<Uuid> {
        let mut tx = self.db.begin().await?;
        let existing = sqlx::query_scalar!(
            "SELECT id FROM distribution.accounts WHERE tenant = $1 AND platform = $2 AND platform_account_id = $3 FOR UPDATE",
            tenant,
            platform.as_str(),
            &identity.platform_account_id
        )
        .fetch_optional(&mut *tx)
        .await?;
        let id = existing.unwrap_or_else(Uuid::now_v7);
        let sealed = seal(&self.keyring, id, &identity.grant.tokens)?;
        let expires_at = identity
            .grant
            .expires_in_secs
            .map(|secs| Utc::now() + chrono::Duration::seconds(secs));
        sqlx::query!(
            "INSERT INTO distribution.accounts (id, tenant, platform, display_name, token_ciphertext, platform_account_id, token_key_id, access_expires_at, scopes, status)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active')
             ON CONFLICT (id) DO UPDATE SET display_name = EXCLUDED.display_name, token_ciphertext = EXCLUDED.token_ciphertext,
                 token_key_id = EXCLUDED.token_key_id, access_expires_at = EXCLUDED.access_expires_at, scopes = EXCLUDED.scopes,
                 status = 'active', status_reason = NULL, updated_at = now()",
            id,
            tenant,
            platform.as_str(),
            &identity.display_name,
            &sealed,
            &identity.platform_account_id,
            self.keyring.sealing_key_id(),
            expires_at,
            &identity.grant.scopes
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A usable access token for the account, refreshed first when it is about to expire.
    pub async fn credential(&self, account_id: Uuid) -> Outcome<Credential> {
        self.refresh_if(account_id, None).await
    }

    /// A new access token after the platform refused `refused` (unless another call already
    /// replaced it, in which case that one is used).
    pub async fn after_refusal(&self, account_id: Uuid, refused: &str) -> Outcome<Credential> {
        self.refresh_if(account_id, Some(refused)).await
    }

    async fn refresh_if(&self, account_id: Uuid, refused: Option<&str>) -> Outcome<Credential> {
        let mut tx = self.db.begin().await?;
        // The row lock makes this the only refresh of the account in flight, in any process.
        let account = sqlx::query!(
            "SELECT tenant, platform, platform_account_id, status, status_reason, token_ciphertext, access_expires_at
             FROM distribution.accounts WHERE id = $1 FOR UPDATE",
            account_id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Failure::Permanent(format!("account {account_id} no longer exists")))?;
        if account.status != "active" {
            return Err(Failure::Revoked(format!(
                "account {account_id} is {}{}",
                account.status,
                account
                    .status_reason
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            )));
        }
        let tokens = open(&self.keyring, account_id, &account.token_ciphertext)
            .map_err(|e| Failure::Permanent(format!("account {account_id}: {e:#}")))?;
        let stale = match refused {
            Some(refused) => tokens.access_token == refused,
            None => account.access_expires_at.is_some_and(|at| {
                at - chrono::Duration::from_std(self.refresh_before).unwrap_or_default()
                    <= Utc::now()
            }),
        };
        let credential = |access_token: String| Credential {
            platform_account_id: account.platform_account_id.clone(),
            access_token,
        };
        if !stale {
            return Ok(credential(tokens.access_token));
        }
        let platform: Platform = account
            .platform
            .parse()
            .map_err(|_| Failure::Permanent(format!("unknown platform {}", account.platform)))?;
        let client = self
            .client(platform)
            .ok_or_else(|| Failure::Permanent(format!("{platform} is not configured")))?;
        match oauth::refresh(&self.http, client, &tokens).await {
            Ok(grant) => {
                self.save_refreshed(&mut tx, account_id, &grant).await?;
                tx.commit().await?;
                tracing::info!(%account_id, %platform, "access token refreshed");
                Ok(credential(grant.tokens.access_token))
            }
            Err(Failure::Revoked(reason)) => {
                require_reconnection(&mut tx, account_id, &reason).await?;
                tx.commit().await?;
                Err(Failure::Revoked(reason))
            }
            Err(other) => Err(other),
        }
    }

    async fn save_refreshed(
        &self,
        tx: &mut sqlx::PgConnection,
        account_id: Uuid,
        grant: &Grant,
    ) -> anyhow::Result<()> {
        let sealed = seal(&self.keyring, account_id, &grant.tokens)?;
        let expires_at = grant
            .expires_in_secs
            .map(|secs| Utc::now() + chrono::Duration::seconds(secs));
        sqlx::query!(
            "UPDATE distribution.accounts SET token_ciphertext = $2, token_key_id = $3, access_expires_at = $4,
                 refreshed_at = now(), updated_at = now() WHERE id = $1",
            account_id,
            &sealed,
            self.keyring.sealing_key_id(),
            expires_at
        )
        .execute(tx)
        .await?;
        Ok(())
    }
}

/// Marks an account whose grant is gone `reconnect_required` and tells people, once.
pub async fn require_reconnection(
    tx: &mut sqlx::PgConnection,
    account_id: Uuid,
    reason: &str,
) -> anyhow::Result<()> {
    let marked = sqlx::query!(
        "UPDATE distribution.accounts SET status = 'reconnect_required', status_reason = $2, updated_at = now()
         WHERE id = $1 AND status = 'active' RETURNING tenant, platform",
        account_id,
        reason
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(account) = marked {
        notify(
            tx,
            &account.tenant,
            "account.reconnect_required",
            json!({ "account_id": account_id, "platform": account.platform, "reason": reason }),
        )
        .await?;
        tracing::warn!(%account_id, platform = account.platform, reason, "grant revoked; the account must be reconnected");
    }
    Ok(())
}

/// Stores a `distribution.notification` fact for people to act on (reconnect, publish by hand…).
pub async fn notify(
    tx: &mut sqlx::PgConnection,
    tenant: &str,
    kind: &str,
    detail: serde_json::Value,
) -> anyhow::Result<()> {
    let envelope = Envelope::new(
        "distribution.notification",
        None,
        json!({ "tenant": tenant, "kind": kind, "detail": detail }),
    );
    outbox::enqueue(tx, SERVICE, EVENTS, &envelope).await?;
    Ok(())
}

/// Re-seals every account not sealed under the keyring's first key; returns how many it re-sealed.
pub async fn reseal_all(db: &PgPool, keyring: &Keyring) -> anyhow::Result<u64> {
    let mut resealed = 0;
    loop {
        let mut tx = db.begin().await?;
        let batch = sqlx::query!(
            "SELECT id, token_ciphertext FROM distribution.accounts WHERE token_key_id <> $1 AND octet_length(token_ciphertext) > 0
             ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED",
            keyring.sealing_key_id()
        )
        .fetch_all(&mut *tx)
        .await?;
        if batch.is_empty() {
            return Ok(resealed);
        }
        for account in batch {
            let tokens = open(keyring, account.id, &account.token_ciphertext)
                .with_context(|| format!("account {}", account.id))?;
            sqlx::query!(
                "UPDATE distribution.accounts SET token_ciphertext = $2, token_key_id = $3 WHERE id = $1",
                account.id,
                &seal(keyring, account.id, &tokens)?,
                keyring.sealing_key_id()
            )
            .execute(&mut *tx)
            .await?;
            resealed += 1;
        }
        tx.commit().await?;
    }
}

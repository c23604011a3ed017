//! OAuth2 with each platform: the consent URL (state, and PKCE where the platform takes it), the
//! code exchange, token refresh, and who the grant belongs to (channel, open_id, Pages, Instagram
//! users). Google and TikTok hand out refresh tokens; Meta extends a long-lived token instead.

use base64::Engine as _;
use rand::RngCore as _;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{
    platform::{Platform, PlatformClient, GRAPH_VERSION},
    remote::{classify, is_refusal, Failure, Outcome},
};

/// Tokens as the platform issued them; sealed before they are stored.
#[derive(Clone, Serialize, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens([redacted])")
    }
}

/// A grant: tokens, how long the access token lives, and the scopes given.
#[derive(Debug, Clone)]
pub struct Grant {
    pub tokens: Tokens,
    pub expires_in_secs: Option<i64>,
    pub scopes: String,
}

/// An account a grant reaches: a channel, a TikTok user, a Facebook Page or an Instagram user.
#[derive(Debug, Clone)]
pub struct Identity {
    pub platform_account_id: String,
    pub display_name: String,
    /// The grant to store for this account (a Page has its own token).
    pub grant: Grant,
}

/// A random URL-safe string of `bytes` random bytes (states and PKCE verifiers).
pub fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0_u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer)
}

/// The S256 PKCE challenge of `verifier`.
pub fn pkce_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether the platform takes PKCE (Meta's web login does not).
pub fn uses_pkce(platform: Platform) -> bool {
    matches!(platform, Platform::Youtube | Platform::Tiktok)
}

/// The consent page to send the user to.
pub fn authorize_url(
    client: &PlatformClient,
    state: &str,
    redirect_uri: &str,
    challenge: Option<&str>,
) -> anyhow::Result<String> {
    let mut url = url::Url::parse(&client.authorize_url)?;
    {
        let mut query = url.query_pairs_mut();
        match client.platform {
            Platform::Youtube => {
                query
                    .append_pair("client_id", &client.client_id)
                    .append_pair("scope", &client.scopes.join(" "))
                    .append_pair("access_type", "offline")
                    .append_pair("prompt", "consent")
                    .append_pair("include_granted_scopes", "true");
            }
            Platform::Tiktok => {
                query
                    .append_pair("client_key", &client.client_id)
                    .append_pair("scope", &client.scopes.join(","));
            }
            Platform::Instagram | Platform::Facebook => {
                query
                    .append_pair("client_id", &client.client_id)
                    .append_pair("scope", &client.scopes.join(","));
            }
        }
        query
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state);
        if let Some(challenge) = challenge {
            query
                .append_pair("code_challenge", challenge)
                .append_pair("code_challenge_method", "S256");
        }
    }
    Ok(url.into())
}

/// Sends `request` and reads its JSON reply; an error reply is classified for `platform`.
pub async fn call(platform: Platform, request: reqwest::RequestBuilder) -> Outcome<Value> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if is_refusal(platform, status, &body) {
        return Err(classify(platform, status, &headers, &body));
    }
    Ok(body)
}

fn grant_from(body: &Value, previous_refresh: Option<&str>) -> Outcome<Grant> {
    let access_token = body["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Failure::Permanent("the token reply holds no access_token".into()))?;
    // A refresh reply without a refresh token keeps the one already held.
    let refresh_token = body["refresh_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .or(previous_refresh)
        .map(str::to_owned);
    Ok(Grant {
        tokens: Tokens {
            access_token: access_token.to_owned(),
            refresh_token,
        },
        expires_in_secs: body["expires_in"].as_i64(),
        scopes: body["scope"].as_str().unwrap_or_default().to_owned(),
    })
}

/// Where Google or TikTok exchange codes and refresh tokens, and what they call the client id.
fn token_endpoint(client: &PlatformClient) -> (String, &'static str) {
    if client.platform == Platform::Tiktok {
        (
            format!("{}/v2/oauth/token/", client.oauth_base),
            "client_key",
        )
    } else {
        (format!("{}/token", client.oauth_base), "client_id")
    }
}

/// Exchanges an authorization `code` for a grant.
pub async fn exchange_code(
    http: &reqwest::Client,
    client: &PlatformClient,
    code: &str,
    redirect_uri: &str,
    verifier: Option<&str>,
) -> Outcome<Grant> {
    let secret = client.client_secret.expose();
    let body = match client.platform {
        Platform::Youtube | Platform::Tiktok => {
            let (url, id_name) = token_endpoint(client);
            let mut form = vec![
                ("grant_type", "authorization_code"),
                ("code", code),
                (id_name, client.client_id.as_str()),
                ("client_secret", secret),
                ("redirect_uri", redirect_uri),
            ];
            form.extend(verifier.map(|v| ("code_verifier", v)));
            call(client.platform, http.post(url).form(&form)).await?
        }
        Platform::Instagram | Platform::Facebook => {
            let short = call(
                client.platform,
                http.get(format!(
                    "{}/{GRAPH_VERSION}/oauth/access_token",
                    client.oauth_base
                ))
                .query(&[
                    ("client_id", client.client_id.as_str()),
                    ("client_secret", secret),
                    ("redirect_uri", redirect_uri),
                    ("code", code),
                ]),
            )
            .await?;
            let short = grant_from(&short, None)?;
            return extend_meta_token(http, client, &short.tokens.access_token).await;
        }
    };
    grant_from(&body, None)
}

/// Meta's long-lived token for `token` (a short-lived one, or a long-lived one to extend).
async fn extend_meta_token(
    http: &reqwest::Client,
    client: &PlatformClient,
    token: &str,
) -> Outcome<Grant> {
    let body = call(
        client.platform,
        http.get(format!(
            "{}/{GRAPH_VERSION}/oauth/access_token",
            client.oauth_base
        ))
        .query(&[
            ("grant_type", "fb_exchange_token"),
            ("client_id", client.client_id.as_str()),
            ("client_secret", client.client_secret.expose()),
            ("fb_exchange_token", token),
        ]),
    )
    .await?;
    grant_from(&body, None)
}

/// A fresh access token for `tokens`; the refresh token is kept when the reply carries none.
pub async fn refresh(
    http: &reqwest::Client,
    client: &PlatformClient,
    tokens: &Tokens,
) -> Outcome<Grant> {
    let secret = client.client_secret.expose();
    match client.platform {
        Platform::Youtube | Platform::Tiktok => {
            let refresh_token = tokens.refresh_token.as_deref().ok_or_else(|| {
                Failure::Revoked("no refresh token is held for this account".into())
            })?;
            let (url, id_name) = token_endpoint(client);
            let form = [
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
                (id_name, client.client_id.as_str()),
                ("client_secret", secret),
            ];
            let body = call(client.platform, http.post(url).form(&form)).await?;
            grant_from(&body, Some(refresh_token))
        }
        Platform::Instagram => extend_meta_token(http, client, &tokens.access_token).await,
        // A Page token made from a long-lived user token does not expire; when refused, log in again.
        Platform::Facebook => Err(Failure::Revoked(
            "a Facebook Page token cannot be refreshed; reconnect the Page".into(),
        )),
    }
}

/// The accounts `grant` reaches.
pub async fn identities(
    http: &reqwest::Client,
    client: &PlatformClient,
    grant: &Grant,
) -> Outcome<Vec<Identity>> {
    let bearer = grant.tokens.access_token.as_str();
    let get = |url: String| http.request(Method::GET, url).bearer_auth(bearer);
    match client.platform {
        Platform::Youtube => {
            let body = call(
                client.platform,
                get(format!(
                    "{}/youtube/v3/channels?part=snippet&mine=true",
                    client.api_base
                )),
            )
            .await?;
            Ok(body["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|channel| {
                    Some(Identity {
                        platform_account_id: channel["id"].as_str()?.to_owned(),
                        display_name: channel["snippet"]["title"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        grant: grant.clone(),
                    })
                })
                .collect())
        }
        Platform::Tiktok => {
            let body = call(
                client.platform,
                get(format!(
                    "{}/v2/user/info/?fields=open_id,display_name",
                    client.api_base
                )),
            )
            .await?;
            let user = &body["data"]["user"];
            Ok(user["open_id"]
                .as_str()
                .map(|open_id| Identity {
                    platform_account_id: open_id.to_owned(),
                    display_name: user["display_name"].as_str().unwrap_or_default().to_owned(),
                    grant: grant.clone(),
                })
                .into_iter()
                .collect())
        }
        Platform::Facebook => {
            let body = call(
                client.platform,
                get(format!(
                    "{}/{GRAPH_VERSION}/me/accounts?fields=id,name,access_token",
                    client.api_base
                )),
            )
            .await?;
            Ok(body["data"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|page| {
                    Some(Identity {
                        platform_account_id: page["id"].as_str()?.to_owned(),
                        display_name: page["name"].as_str().unwrap_or_default().to_owned(),
                        grant: Grant {
                            tokens: Tokens {
                                access_token: page["access_token"].as_str()?.to_owned(),
                                refresh_token: None,
                            },
                            expires_in_secs: None,
                            scopes: grant.scopes.clone(),
                        },
                    })
                })
                .collect())
        }
        Platform::Instagram => {
            let body = call(
                client.platform,
                get(format!("{}/{GRAPH_VERSION}/me/accounts?fields=id,name,instagram_business_account{{id,username}}", client.api_base)),
            )
            .await?;
            Ok(body["data"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|page| {
                    let instagram = &page["instagram_business_account"];
                    Some(Identity {
                        platform_account_id: instagram["id"].as_str()?.to_owned(),
                        display_name: instagram["username"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        grant: grant.clone(),
                    })
                })
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use shared::config::Secret;

    use super::*;

    fn client(platform: Platform) -> PlatformClient {
        PlatformClient {
            platform,
            client_id: "client-1".into(),
            client_secret: Secret::new("s3cret"),
            authorize_url: "https://consent.example/auth".into(),
            oauth_base: "https://oauth.example".into(),
            api_base: "https://api.example".into(),
            upload_base: "https://upload.example".into(),
            scopes: vec!["a".into(), "b".into()],
        }
    }

    #[test]
    fn consent_urls_carry_state_and_the_pkce_challenge() -> anyhow::Result<()> {
        let challenge = pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        // RFC 7636, appendix B.
        assert_eq!(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        let url = url::Url::parse(&authorize_url(
            &client(Platform::Youtube),
            "st",
            "https://app/cb",
            Some(&challenge),
        )?)?;
        let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(query["client_id"], "client-1");
        assert_eq!(query["scope"], "a b");
        assert_eq!(query["access_type"], "offline");
        assert_eq!(query["state"], "st");
        assert_eq!(query["code_challenge_method"], "S256");
        let url = url::Url::parse(&authorize_url(
            &client(Platform::Tiktok),
            "st",
            "https://app/cb",
            None,
        )?)?;
        let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(query["client_key"], "client-1");
        assert_eq!(query["scope"], "a,b");
        assert!(!query.contains_key("code_challenge"));
        Ok(())
    }

    #[test]
    fn a_refresh_reply_without_a_refresh_token_keeps_the_old_one() -> Result<(), Failure> {
        let grant = grant_from(
            &serde_json::json!({"access_token": "new", "expires_in": 3599, "refresh_token": ""}),
            Some("kept"),
        )?;
        assert_eq!(grant.tokens.refresh_token.as_deref(), Some("kept"));
        assert_eq!(grant.expires_in_secs, Some(3599));
        assert!(grant_from(&serde_json::json!({"access_token": ""}), None).is_err());
        assert_eq!(format!("{:?}", grant.tokens), "Tokens([redacted])");
        Ok(())
    }
}

//! Connecting accounts: the consent URL, single-use states, sealed tokens that never leave the
//! database in plaintext (nor through the API, except to fleet services), disconnection and key
//! rotation.

use serde_json::{json, Value};
use shared::{auth::Role, secrets::Keyring};

use crate::{fake_youtube::Fault, World, SECRETS_KEY};

#[tokio::test]
async fn connecting_takes_a_single_use_state_and_pkce_and_stores_only_sealed_tokens(
) -> anyhow::Result<()> {
    let world = World::start().await?;
    let (status, consent) = world
        .post(
            "/v1/accounts/connect",
            &json!({"platform": "youtube", "redirect_uri": "https://studio.example/callback"}),
        )
        .await?;
    assert_eq!(status, 200, "{consent}");
    let url = url::Url::parse(consent["authorize_url"].as_str().unwrap_or_default())?;
    assert_eq!(url.host_str(), Some("accounts.google.com"));
    let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(query["client_id"], "yt-client");
    assert_eq!(
        query["state"],
        consent["state"].as_str().unwrap_or_default()
    );
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["redirect_uri"], "https://studio.example/callback");

    let callback = |state: &str, code: &str| {
        world.app.url(&format!(
            "/v1/accounts/callback/youtube?code={code}&state={state}"
        ))
    };
    let forged = world
        .app
        .client
        .get(callback("forged", "good-code"))
        .send()
        .await?;
    assert_eq!(forged.status(), 400);
    let state = consent["state"].as_str().unwrap_or_default();
    let bad_code = world
        .app
        .client
        .get(callback(state, "bad-code"))
        .send()
        .await?;
    assert_eq!(bad_code.status(), 502, "the platform's refusal is reported");
    // The state was used up by that attempt: a second use is refused.
    let reused = world
        .app
        .client
        .get(callback(state, "good-code"))
        .send()
        .await?;
    assert_eq!(reused.status(), 400);
    assert_eq!(reused.json::<Value>().await?["code"], "invalid_state");

    let account = world.connect_youtube().await?;
    let (status, listed) = world.get("/v1/accounts").await?;
    assert_eq!(status, 200);
    assert_eq!(listed["items"][0]["id"], account.to_string());
    assert_eq!(listed["items"][0]["platform_account_id"], "UC-fake-channel");
    assert_eq!(listed["items"][0]["display_name"], "Fake Channel");
    let text = listed.to_string();
    assert!(
        !text.contains("ya29.") && !text.contains("1//refresh"),
        "no token in the API: {text}"
    );

    // A plain dump of the database holds no token in plaintext.
    let database = world
        .app
        .ctx
        .db
        .connect_options()
        .get_database()
        .unwrap_or_default()
        .to_owned();
    let dump = std::process::Command::new("pg_dump")
        .args([
            "--data-only",
            "--schema=distribution",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            &database,
        ])
        .output()?;
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(
        dump.contains("UC-fake-channel"),
        "the dump holds the account"
    );
    assert!(
        !dump.contains("ya29.access") && !dump.contains("1//refresh"),
        "no plaintext token in the dump"
    );
    world.app.stop().await
}

#[tokio::test]
async fn an_unconfigured_platform_names_its_key_and_a_declined_consent_is_reported(
) -> anyhow::Result<()> {
    let world = World::youtube_only().await?;
    let (status, error) = world
        .post(
            "/v1/accounts/connect",
            &json!({"platform": "tiktok", "redirect_uri": "https://studio.example/cb"}),
        )
        .await?;
    assert_eq!(
        (status, error["code"].as_str()),
        (422, Some("platform_not_configured")),
        "{error}"
    );
    assert!(error["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("platforms.tiktok.client_id"));
    let (status, error) = world
        .post(
            "/v1/accounts/connect",
            &json!({"platform": "youtube", "redirect_uri": "javascript:alert(1)"}),
        )
        .await?;
    assert_eq!(status, 422, "{error}");
    let (status, error) = world
        .post(
            "/v1/accounts/connect",
            &json!({"platform": "myspace", "redirect_uri": "https://x.example"}),
        )
        .await?;
    assert_eq!(status, 422, "{error}");

    let (_, consent) = world
        .post(
            "/v1/accounts/connect",
            &json!({"platform": "youtube", "redirect_uri": "https://studio.example/cb"}),
        )
        .await?;
    let state = consent["state"].as_str().unwrap_or_default();
    let declined = world
        .app
        .client
        .get(world.app.url(&format!(
            "/v1/accounts/callback/youtube?error=access_denied&state={state}"
        )))
        .send()
        .await?;
    assert_eq!(declined.status(), 400);
    assert_eq!(declined.json::<Value>().await?["code"], "consent_denied");
    // Viewers read accounts but cannot connect them.
    let viewer = world.app.token(shared::auth::Role::Viewer, "acme");
    let refused = world
        .app
        .client
        .post(world.app.url("/v1/accounts/connect"))
        .bearer_auth(viewer)
        .json(&json!({"platform": "youtube", "redirect_uri": "https://studio.example/cb"}))
        .send()
        .await?;
    assert_eq!(refused.status(), 403);
    world.app.stop().await
}

#[tokio::test]
async fn rotation_reseals_every_account_and_disconnecting_erases_the_tokens() -> anyhow::Result<()>
{
    let world = World::start().await?;
    let account = world.connect_youtube().await?;
    let db = &world.app.ctx.db;
    let old = Keyring::parse(SECRETS_KEY)?;
    let (key_id, sealed): (String, Vec<u8>) = sqlx::query_as(
        "SELECT token_key_id, token_ciphertext FROM distribution.accounts WHERE id = $1",
    )
    .bind(account)
    .fetch_one(db)
    .await?;
    assert_eq!(key_id, old.sealing_key_id());
    // The ciphertext is bound to its row: copied onto another account id it does not open.
    assert!(distribution::accounts::open(&old, account, &sealed).is_ok());
    assert!(distribution::accounts::open(&old, uuid::Uuid::now_v7(), &sealed).is_err());

    let new_key = Keyring::generate_key();
    let mut config = world.app.ctx.config().clone();
    config.secrets_key = Some(shared::config::Secret::new(format!(
        "{new_key},{SECRETS_KEY}"
    )));
    assert_eq!(distribution::rotate_secrets(db, &config).await?, 1);
    assert_eq!(
        distribution::rotate_secrets(db, &config).await?,
        0,
        "rotation is idempotent"
    );
    let (key_id, sealed): (String, Vec<u8>) = sqlx::query_as(
        "SELECT token_key_id, token_ciphertext FROM distribution.accounts WHERE id = $1",
    )
    .bind(account)
    .fetch_one(db)
    .await?;
    let new = Keyring::parse(&new_key)?;
    assert_eq!(key_id, new.sealing_key_id());
    let tokens = distribution::accounts::open(&new, account, &sealed)?;
    assert!(tokens.access_token.starts_with("ya29."));
    assert!(tokens.refresh_token.is_some());

    let response = world
        .app
        .client
        .delete(world.app.url(&format!("/v1/accounts/{account}")))
        .bearer_auth(world.operator())
        .send()
        .await?;
    assert_eq!(response.status(), 204);
    let (status, sealed): (String, Vec<u8>) =
        sqlx::query_as("SELECT status, token_ciphertext FROM distribution.accounts WHERE id = $1")
            .bind(account)
            .fetch_one(db)
            .await?;
    assert_eq!(status, "disconnected");
    assert!(sealed.is_empty());
    world.app.stop().await
}

#[tokio::test]
async fn services_read_a_fresh_token_and_people_never_do() -> anyhow::Result<()> {
    let world = World::start().await?;
    let account = world.connect_youtube().await?;
    let path = format!("/v1/accounts/{account}/token");
    let ask = |role: Role, body: serde_json::Value| {
        world
            .app
            .client
            .post(world.app.url(&path))
            .bearer_auth(world.app.token(role, "acme"))
            .json(&body)
            .send()
    };
    assert_eq!(ask(Role::Operator, json!({})).await?.status(), 403);
    assert_eq!(
        ask(Role::Admin, json!({})).await?.status(),
        403,
        "not even admins see tokens"
    );
    let reply = ask(Role::Service, json!({})).await?;
    assert_eq!(reply.status(), 200);
    assert_eq!(
        reply
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let first: serde_json::Value = reply.json().await?;
    let first_token = first["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(first_token.starts_with("ya29."), "{first}");
    assert_eq!(
        world.youtube.refreshes(),
        0,
        "a token far from expiry is handed out as it is"
    );

    let second: serde_json::Value = ask(Role::Service, json!({ "refused": first_token }))
        .await?
        .json()
        .await?;
    assert_ne!(
        second["access_token"], first["access_token"],
        "a refused token is replaced"
    );
    assert_eq!(world.youtube.refreshes(), 1);

    world.youtube.inject(Fault::RevokeRefreshToken);
    let revoked = ask(Role::Service, json!({ "refused": second["access_token"] })).await?;
    assert_eq!(revoked.status(), 409);
    let body: serde_json::Value = revoked.json().await?;
    assert_eq!(body["code"], "reconnect_required");
    let missing = world
        .app
        .client
        .post(
            world
                .app
                .url(&format!("/v1/accounts/{}/token", uuid::Uuid::now_v7())),
        )
        .bearer_auth(world.app.token(Role::Service, "acme"))
        .json(&json!({}))
        .send()
        .await?;
    assert_eq!(missing.status(), 404);
    world.app.stop().await
}

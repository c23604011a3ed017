//! Production identity: RS256 public keys and JWK sets (with rotation), issuer and audience checks,
//! `kid` required when a set holds several keys, unknown algorithms refused.

use std::path::PathBuf;

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;
use shared::{
    auth::Authenticator,
    config::{toml_value::Value, Settings},
};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/jwt/{name}"))
}

fn authenticator(overrides: &[(&str, Value)]) -> anyhow::Result<std::sync::Arc<Authenticator>> {
    let dir = tempfile::tempdir()?;
    let mut all = vec![
        ("mode", Value::from("production")),
        ("data_dir", Value::from(dir.path().display().to_string())),
    ];
    all.extend(overrides.iter().cloned());
    let settings = Settings::with_overrides(&all)?;
    Ok(Authenticator::from_config(&settings.config)?.0)
}

/// A token signed by fixture key `name` (`old` or `new`) with `kid`, carrying `extra` claims.
fn token(name: &str, kid: Option<&str>, extra: serde_json::Value) -> anyhow::Result<String> {
    let pem = std::fs::read(fixture(&format!("{name}-private.pem")))?;
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    let now = chrono::Utc::now().timestamp();
    let mut claims =
        json!({ "sub": "ana", "role": "operator", "tenant": "acme", "exp": now + 600, "iat": now });
    if let (Some(claims), Some(extra)) = (claims.as_object_mut(), extra.as_object()) {
        claims.extend(extra.clone());
    }
    Ok(encode(&header, &claims, &EncodingKey::from_rsa_pem(&pem)?)?)
}

fn reason(result: Result<shared::auth::Claims, shared::ApiError>) -> String {
    match result {
        Ok(claims) => format!("accepted {claims:?}"),
        Err(error) => format!("{error:?}"),
    }
}

#[test]
fn an_rs256_public_key_verifies_its_tokens_including_ones_naming_an_audience() -> anyhow::Result<()>
{
    let auth = authenticator(&[(
        "jwt_public_key_file",
        Value::from(fixture("old-public.pem").display().to_string()),
    )])?;
    let claims = auth
        .verify(&token("old", None, json!({}))?)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    assert_eq!(claims.tenant.as_deref(), Some("acme"));
    // An identity provider adds `aud`; with no audience configured the token is still ours.
    assert!(auth
        .verify(&token("old", None, json!({ "aud": "reelforge" }))?)
        .is_ok());
    // Signed by another key.
    let other = reason(auth.verify(&token("new", None, json!({}))?));
    assert!(other.contains("InvalidSignature"), "{other}");
    // An HS256 token made with the public key as its secret (the classic confusion attack).
    let pem = std::fs::read(fixture("old-public.pem"))?;
    let confused = encode(
        &Header::new(Algorithm::HS256),
        &json!({ "sub": "eve", "role": "admin", "exp": chrono::Utc::now().timestamp() + 600 }),
        &EncodingKey::from_secret(&pem),
    )?;
    let refused = reason(auth.verify(&confused));
    assert!(refused.contains("not accepted"), "{refused}");
    Ok(())
}

#[test]
fn issuer_and_audience_are_enforced_when_configured() -> anyhow::Result<()> {
    let auth = authenticator(&[
        (
            "jwt_public_key_file",
            Value::from(fixture("old-public.pem").display().to_string()),
        ),
        ("jwt_issuer", Value::from("https://id.example.com")),
        ("jwt_audience", Value::from("reelforge")),
    ])?;
    let good = json!({ "iss": "https://id.example.com", "aud": "reelforge" });
    assert!(auth.verify(&token("old", None, good)?).is_ok());
    let cases = [
        (
            json!({ "iss": "https://evil.example.com", "aud": "reelforge" }),
            "InvalidIssuer",
        ),
        (
            json!({ "iss": "https://id.example.com", "aud": "another-app" }),
            "InvalidAudience",
        ),
        (json!({ "iss": "https://id.example.com" }), "aud"),
        (json!({ "aud": "reelforge" }), "iss"),
    ];
    for (claims, expected) in cases {
        let refused = reason(auth.verify(&token("old", None, claims.clone())?));
        assert!(refused.contains(expected), "{claims}: {refused}");
    }
    Ok(())
}

#[test]
fn a_key_set_rotates_and_needs_a_kid_when_it_holds_several_keys() -> anyhow::Result<()> {
    let both = authenticator(&[(
        "jwks_file",
        Value::from(fixture("jwks-both.json").display().to_string()),
    )])?;
    assert!(both
        .verify(&token("old", Some("old-2026"), json!({}))?)
        .is_ok());
    assert!(both
        .verify(&token("new", Some("new-2026"), json!({}))?)
        .is_ok());
    let no_kid = reason(both.verify(&token("new", None, json!({}))?));
    assert!(no_kid.contains("no `kid`"), "{no_kid}");
    let wrong_kid = reason(both.verify(&token("new", Some("old-2026"), json!({}))?));
    assert!(wrong_kid.contains("InvalidSignature"), "{wrong_kid}");

    // The old key is retired: its tokens stop working, the new key's keep working.
    let rotated = authenticator(&[(
        "jwks_file",
        Value::from(fixture("jwks-rotated.json").display().to_string()),
    )])?;
    let retired = reason(rotated.verify(&token("old", Some("old-2026"), json!({}))?));
    assert!(retired.contains("unknown key"), "{retired}");
    assert!(rotated
        .verify(&token("new", Some("new-2026"), json!({}))?)
        .is_ok());
    // With one key in the set a token without `kid` is unambiguous.
    assert!(rotated.verify(&token("new", None, json!({}))?).is_ok());
    Ok(())
}

#[test]
fn a_key_set_with_an_unsupported_algorithm_is_refused_at_start() {
    let refused = authenticator(&[(
        "jwks_file",
        Value::from(fixture("jwks-unsupported.json").display().to_string()),
    )])
    .err()
    .map(|e| format!("{e:#}"))
    .unwrap_or_default();
    assert!(
        refused.contains("odd") && refused.contains("does not accept"),
        "{refused}"
    );
}

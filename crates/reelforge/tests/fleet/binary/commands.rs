//! The short commands: a bad setting or a missing production key refused, token lifetimes, migrate.

use base64::Engine as _;

use super::Sandbox;

#[test]
fn a_bad_setting_is_refused_with_the_key_named() -> anyhow::Result<()> {
    let sandbox = Sandbox::new()?;
    let output = sandbox.run(&["serve"], &[("REELFORGE_BUS__MAX_DELIVERIES", "many")])?;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("`bus.max_deliveries`"), "{stderr}");
    Ok(())
}

/// Token lifetimes are humantime durations; an absurd one is refused, not overflowed.
#[test]
fn token_lifetimes_read_like_durations_and_overflow_is_refused() -> anyhow::Result<()> {
    let sandbox = Sandbox::new()?;
    let token = |ttl: &str| {
        sandbox.run(
            &["token", "--role", "viewer", "--subject", "t", "--ttl", ttl],
            &[],
        )
    };
    let output = token("1h 30m")?;
    assert!(output.status.success(), "{output:?}");
    let jwt = String::from_utf8(output.stdout)?;
    let payload = jwt.split('.').nth(1).unwrap_or_default();
    let claims: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload)?)?;
    let lifetime = claims["exp"].as_u64().unwrap_or(0) - claims["iat"].as_u64().unwrap_or(0);
    assert_eq!(lifetime, 5_400);
    for absurd in ["99999999999999999999d", "400d", "0s", "soon"] {
        let output = token(absurd)?;
        assert!(!output.status.success(), "{absurd} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(absurd) && !stderr.contains("panicked"),
            "{stderr}"
        );
    }
    Ok(())
}

#[test]
fn production_mode_refuses_to_start_without_a_key() -> anyhow::Result<()> {
    let sandbox = Sandbox::new()?;
    let output = sandbox.run(&["serve"], &[("REELFORGE_MODE", "production")])?;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no JWT key configured"), "{stderr}");
    Ok(())
}

#[test]
fn migrate_creates_the_database_and_applies_every_schema() -> anyhow::Result<()> {
    let sandbox = Sandbox::new()?;
    let output = sandbox.run(&["migrate"], &[])?;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let again = sandbox.run(&["migrate"], &[])?;
    assert!(again.status.success(), "migrating twice is harmless");
    Ok(())
}

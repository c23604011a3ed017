//! Chains built from configuration: defaults from the keys that are set, validation with clear errors.

use std::{collections::HashMap, sync::Arc};

use providers::{
    catalogue, chain::Describe as _, config::ProvidersConfig, registry::build, setup::Env,
};

use crate::support::{idle_layer, Harness, OfflineTitles};

fn env(pairs: &[(&str, &str)]) -> Env {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Arc::new(move |name| map.get(name).cloned())
}

fn config(toml: &str) -> anyhow::Result<ProvidersConfig> {
    use figment::providers::Format as _;
    Ok(figment::Figment::from(figment::providers::Toml::string(toml)).extract()?)
}

fn chain_names(config: &ProvidersConfig, env: &Env) -> anyhow::Result<Vec<String>> {
    let chain = build(
        config,
        &config.text,
        &catalogue::text(Arc::new(OfflineTitles)),
        &idle_layer()?,
        env,
    )?;
    Ok(chain
        .describe()
        .providers
        .into_iter()
        .map(|p| format!("{}:{}", p.provider, p.model))
        .collect())
}

#[tokio::test]
async fn without_a_chain_every_provider_with_a_key_comes_before_offline() -> anyhow::Result<()> {
    let defaults = ProvidersConfig::default();
    assert_eq!(chain_names(&defaults, &env(&[]))?, ["offline:offline"]);
    let keys = env(&[
        ("ANTHROPIC_API_KEY", "a"),
        ("OPENAI_API_KEY", "o"),
        ("OLLAMA_BASE_URL", "http://127.0.0.1:11434/v1"),
    ]);
    assert_eq!(
        chain_names(&defaults, &keys)?,
        [
            "openai:gpt-4o-mini",
            "anthropic:claude-haiku-4-5",
            "ollama:llama3.2",
            "offline:offline"
        ]
    );
    Ok(())
}

#[tokio::test]
async fn a_configured_chain_is_taken_in_order_with_its_limits() -> anyhow::Result<()> {
    let config = config(
        r#"
        [text]
        attempt_budget = 4
        chain = ["gemini:gemini-2.0-flash", { provider = "openai-compatible", base_url = "http://127.0.0.1:9/v1", model = "qwen", timeout_ms = 1500, max_attempts = 2 }, "offline"]
        "#,
    )?;
    let harness = Harness::new().await?;
    let chain = build(
        &config,
        &config.text,
        &catalogue::text(Arc::new(OfflineTitles)),
        &harness.layer,
        &env(&[("GOOGLE_API_KEY", "g")]),
    )?;
    let view = chain.describe();
    assert_eq!(view.attempt_budget, 4);
    let links: Vec<(String, String, u64, u32)> = view
        .providers
        .into_iter()
        .map(|p| (p.provider, p.model, p.timeout_ms, p.max_attempts))
        .collect();
    assert_eq!(
        links,
        [
            (
                "gemini".to_owned(),
                "gemini-2.0-flash".to_owned(),
                120_000,
                3
            ),
            ("openai-compatible".to_owned(), "qwen".to_owned(), 1500, 2),
            ("offline".to_owned(), "offline".to_owned(), 120_000, 3),
        ]
    );
    Ok(())
}

#[tokio::test]
async fn unknown_providers_and_missing_keys_are_refused_by_name() -> anyhow::Result<()> {
    let error = |toml: &str| -> anyhow::Result<String> {
        let config = config(toml)?;
        Ok(chain_names(&config, &env(&[]))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default())
    };
    let unknown = error(r#"text.chain = ["chatgpt", "offline"]"#)?;
    assert!(
        unknown.contains("`providers.text.chain`")
            && unknown.contains("unknown text provider `chatgpt`"),
        "{unknown}"
    );
    assert!(
        unknown.contains("anthropic"),
        "lists the known providers: {unknown}"
    );
    let missing = error(r#"text.chain = ["anthropic", "offline"]"#)?;
    assert!(
        missing.contains("provider `anthropic` is listed but ANTHROPIC_API_KEY is not set"),
        "{missing}"
    );
    let no_base = error(r#"text.chain = [{ provider = "openai-compatible" }]"#)?;
    assert!(no_base.contains("needs a base_url"), "{no_base}");
    let bad_field = config(r#"text.chain = [{ provider = "openai", modle = "x" }]"#)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(!bad_field.is_empty(), "a misspelt key is refused");
    let empty = config("text.chain = []")?
        .validate()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        empty.contains("`providers.text.chain`: lists no provider"),
        "{empty}"
    );
    Ok(())
}

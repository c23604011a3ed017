//! The ten services of the fleet, and choosing some of them by name.

use std::{net::SocketAddr, sync::Arc};

use shared::{config::Settings, Service};

/// Every service, in pipeline order.
pub fn all() -> Vec<Arc<dyn Service>> {
    vec![
        orchestrator::service(),
        story::service(),
        tts::service(),
        image::service(),
        music::service(),
        moderation::service(),
        video::service(),
        distribution::service(),
        analytics::service(),
        billing::service(),
    ]
}

/// The services named in `only`, or all of them when it is empty; an unknown name is an error.
pub fn select(only: &[String]) -> anyhow::Result<Vec<Arc<dyn Service>>> {
    let all = all();
    if only.is_empty() {
        return Ok(all);
    }
    let known: Vec<&str> = all.iter().map(|s| s.name()).collect();
    if let Some(unknown) = only.iter().find(|name| !known.contains(&name.as_str())) {
        anyhow::bail!(
            "unknown service `{unknown}`; known services: {}",
            known.join(", ")
        );
    }
    Ok(all
        .into_iter()
        .filter(|s| only.iter().any(|name| name == s.name()))
        .collect())
}

/// Peers this process serves itself are called over `address`, unless configured otherwise: paid
/// calls, new runs and tenant configs check their budgets with billing; publishing and analytics
/// read run manifests from the orchestrator; analytics reads metric tokens from distribution; new
/// runs ask analytics for a recommendation. Skipped when this process cannot sign the service token those calls carry
/// (RS256/JWKS verification: configure each peer's `token_file` instead).
pub fn call_peers_locally(
    settings: &mut Settings,
    services: &[Arc<dyn Service>],
    address: SocketAddr,
) {
    let config = &settings.config;
    let can_sign = config.jwks_file.is_none() && config.jwt_public_key_file.is_none();
    if !can_sign {
        return;
    }
    let host = if address.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], address.port()))
    } else {
        address
    };
    let url = format!("http://{host}");
    let peers: [(&str, &[&str]); 4] = [
        (
            "billing",
            &[
                "providers.billing.url",
                "services.orchestrator.billing.url",
                "services.analytics.billing.url",
            ],
        ),
        (
            "orchestrator",
            &[
                "services.distribution.orchestrator.url",
                "services.analytics.orchestrator.url",
            ],
        ),
        ("distribution", &["services.analytics.distribution.url"]),
        ("analytics", &["services.orchestrator.analytics.url"]),
    ];
    for (peer, keys) in peers {
        if services.iter().any(|s| s.name() == peer) {
            for key in keys {
                settings.default_to(key, url.clone().into());
            }
        }
    }
}

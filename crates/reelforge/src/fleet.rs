//! The ten services of the fleet, and choosing some of them by name.

use std::sync::Arc;

use shared::Service;

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

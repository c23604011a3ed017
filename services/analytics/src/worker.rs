//! The analytics workers: the `events` consumer that starts tracking published videos, the
//! puller that collects their metrics on the cadence, and the learning pass.

use std::{sync::Arc, time::Duration};

use shared::{peer::Peer, Context, Worker};

use crate::{
    config::AnalyticsConfig, learner, pulls::Puller, routes::AppState, tracking::Tracker, SERVICE,
};

/// What routes and workers share, built from the configuration.
pub fn state(ctx: &Context) -> anyhow::Result<AppState> {
    let config: AnalyticsConfig = ctx.settings.service(SERVICE)?;
    config.cadence()?;
    Ok(AppState {
        db: ctx.db.clone(),
        billing: Peer::from_config(ctx, &config.billing, SERVICE)?,
        catalogue: Arc::new(ctx.settings.section("catalogue")?),
        config: Arc::new(config),
    })
}

pub fn workers(ctx: &Context) -> anyhow::Result<Vec<Worker>> {
    let state = state(ctx)?;
    let config = state.config.clone();
    let tracker = Tracker {
        db: ctx.db.clone(),
        orchestrator: Peer::from_config(ctx, &config.orchestrator, SERVICE)?,
        cadence: config.cadence()?,
    };
    let distribution = Peer::from_config(ctx, &config.distribution, SERVICE)?;
    if distribution.is_none() {
        tracing::warn!(
            "services.analytics.distribution.url is not set: metric pulls wait until it is"
        );
    }
    let pulls_wanted = distribution.is_some();
    let puller = Puller {
        db: ctx.db.clone(),
        distribution,
        http: reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(config.request_timeout_secs.max(1)))
            .build()?,
        config: config.clone(),
    };
    let (db, shutdown) = (ctx.db.clone(), ctx.shutdown.clone());
    let pull_shutdown = ctx.shutdown.clone();
    let mut workers = vec![
        ctx.consume(shared::jobs::EVENTS, SERVICE, tracker),
        Worker::new("analytics:learner", move || {
            learner::run(db.clone(), config.clone(), shutdown.clone())
        }),
    ];
    if pulls_wanted {
        workers.push(Worker::new("analytics:puller", move || {
            puller.clone().run(pull_shutdown.clone())
        }));
    }
    Ok(workers)
}

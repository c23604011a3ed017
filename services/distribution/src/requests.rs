//! A run's `publish` step (`publication.request`): every target is checked as
//! `POST /v1/publications` checks it before any publication is stored; then one publication per
//! target, each remembering the step's attempt so its facts reach the run. A target this run
//! already published to is not sent again: its fact is repeated for the new attempt.

use messages::{
    events::report_failure,
    jobs::{Job, PublicationRequest},
    steps::Step,
};
use serde_json::json;
use shared::bus::Delivery;
use uuid::Uuid;

use crate::{
    manifest::RunSource,
    platform::Platform,
    publications::{self, NewPublication},
    routes::AppState,
};

const SERVICE: &str = "distribution";

/// What becomes of one target.
enum Plan {
    /// A publication of this run to the account is published or on its way.
    Existing {
        id: Uuid,
        state: String,
    },
    New(Box<(NewPublication, crate::preflight::PreflightReport)>),
}

pub async fn handle(state: &AppState, delivery: &Delivery) -> anyhow::Result<()> {
    let job: Job<PublicationRequest> = messages::decode(delivery)?;
    let (db, run_id, attempt) = (&state.db, job.run_id, job.attempt);
    let fail = |reason: String| async move {
        report_failure(db, SERVICE, Step::Publish, run_id, attempt, &reason).await
    };
    let Some(orchestrator) = &state.orchestrator else {
        return fail(
            "services.distribution.orchestrator.url is not set, so the run cannot be read".into(),
        )
        .await;
    };
    let source = match RunSource::fetch(orchestrator, job.run_id).await {
        Ok(source) => source,
        Err(error) if error.status().is_client_error() => return fail(format!("{error:?}")).await,
        // The orchestrator is unreachable: the delivery is retried.
        Err(error) => anyhow::bail!("cannot read run {}: {error:?}", job.run_id),
    };
    let mut plans = Vec::new();
    for target in &job.targets {
        let existing = sqlx::query!(
            "SELECT id, state FROM distribution.publications WHERE run_id = $1 AND account_id = $2 AND state NOT IN ('failed', 'cancelled')
             ORDER BY created_at DESC LIMIT 1",
            job.run_id,
            target.account_id
        )
        .fetch_optional(&state.db)
        .await?;
        if let Some(existing) = existing {
            plans.push(Plan::Existing {
                id: existing.id,
                state: existing.state,
            });
            continue;
        }
        let account = sqlx::query!(
            "SELECT platform, status FROM distribution.accounts WHERE id = $1 AND tenant = $2",
            target.account_id,
            &job.tenant
        )
        .fetch_optional(&state.db)
        .await?;
        let Some(account) = account else {
            return fail(format!(
                "account {} is not connected for tenant {}",
                target.account_id, job.tenant
            ))
            .await;
        };
        let Ok(platform) = account.platform.parse::<Platform>() else {
            return fail(format!(
                "account {} has an unknown platform",
                target.account_id
            ))
            .await;
        };
        if state.accounts.client(platform).is_none() {
            return fail(
                crate::platform::not_configured(platform)
                    .detail()
                    .to_owned(),
            )
            .await;
        }
        let request = NewPublication {
            run_id: job.run_id,
            account_id: target.account_id,
            format: target.format.clone(),
            title: target.title.clone(),
            description: None,
            tags: None,
            privacy: target.privacy.clone(),
            publish_at: target.publish_at,
            made_for_kids: None,
            dry_run: false,
            force: false,
        };
        let checked = publications::preflight(
            state.store.as_ref(),
            platform,
            &account.status,
            &request,
            &source,
        )
        .await;
        match checked {
            Ok(report) if report.ok => plans.push(Plan::New(Box::new((request, report)))),
            Ok(report) => return fail(publications::refusal(&report).detail().to_owned()).await,
            Err(error) => return fail(error.detail().to_owned()).await,
        }
    }
    for plan in plans {
        match plan {
            Plan::New(planned) => {
                let (request, report) = *planned;
                match publications::insert(
                    &state.db,
                    &job.tenant,
                    &request,
                    &report,
                    &source,
                    Some(job.attempt),
                )
                .await
                {
                    Ok(_) => {}
                    Err(error) if error.status().is_client_error() => {
                        return fail(error.detail().to_owned()).await
                    }
                    Err(error) => anyhow::bail!("cannot store a publication: {error:?}"),
                }
            }
            Plan::Existing {
                id,
                state: publication_state,
            } => adopt(state, &job, id, &publication_state).await?,
        }
    }
    tracing::info!(run_id = %job.run_id, attempt = job.attempt, targets = job.targets.len(), "publications requested");
    Ok(())
}

/// Carries an earlier publication of the run into this attempt: a published one's fact is
/// repeated now; one still on its way reports to this attempt when it settles.
async fn adopt(
    state: &AppState,
    job: &Job<PublicationRequest>,
    id: Uuid,
    publication_state: &str,
) -> anyhow::Result<()> {
    let mut tx = state.db.begin().await?;
    let adopted = sqlx::query!(
        "UPDATE distribution.publications SET run_attempt = $2 WHERE id = $1 RETURNING account_id, platform, platform_post_id, permalink, published_at",
        id,
        job.attempt
    )
    .fetch_one(&mut *tx)
    .await?;
    if publication_state == "published" {
        let body = json!({
            "attempt": job.attempt, "publication_id": id, "account_id": adopted.account_id, "platform": adopted.platform,
            "platform_post_id": adopted.platform_post_id, "permalink": adopted.permalink, "published_at": adopted.published_at,
        });
        shared::jobs::emit(&mut tx, SERVICE, "publication.published", job.run_id, body).await?;
    }
    tx.commit().await?;
    Ok(())
}

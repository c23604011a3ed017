//! The orchestrator's HTTP surface: runs (create, batch, list, show, events, cancel), schedules
//! and the calendar, and the tenant privacy requests it owns.

mod commands;
mod privacy;
mod runs;
mod schedules;

use axum::{
    routing::{delete, get, post},
    Router,
};
use utoipa::OpenApi as _;

use crate::AppState;

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/runs", get(runs::list).post(commands::create))
        .route("/v1/runs/{id}", get(runs::get))
        .route("/v1/runs/{id}/manifest", get(runs::manifest))
        .route("/v1/runs/{id}/events", get(runs::events))
        .route("/v1/runs/{id}/cancel", post(commands::cancel))
        .route("/v1/runs/batch", post(schedules::batch))
        .route(
            "/v1/schedules",
            get(schedules::list).post(schedules::create),
        )
        .route(
            "/v1/schedules/{id}",
            get(schedules::get).delete(schedules::delete),
        )
        .route("/v1/calendar", get(schedules::calendar))
        .route(
            "/v1/tenants/{tenant}/data",
            delete(privacy::erase_tenant_data),
        )
        .route(
            "/v1/tenants/{tenant}/export",
            get(privacy::export_tenant_data),
        )
        .route(
            "/v1/tenants/{tenant}/privacy-requests/{id}",
            get(privacy::privacy_request),
        )
        .with_state(state)
}

pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    let mut document = runs::ApiDoc::openapi();
    document.merge(commands::ApiDoc::openapi());
    document.merge(privacy::ApiDoc::openapi());
    document.merge(schedules::ApiDoc::openapi());
    document
}

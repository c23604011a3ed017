//! The review queue: runs whose assets kept failing moderation wait here for a human decision.

use axum::{body::Bytes, extract::State};
use chrono::{DateTime, Utc};
use messages::events::{self, ReviewDecided, ReviewDecision};
use serde::{Deserialize, Serialize};
use shared::{
    auth::{Principal, Role},
    extract::{Json, Path, Query},
    openapi::BearerAuth,
    page::{Page, PageQuery},
    ApiError, ApiResult,
};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct Review {
    pub id: Uuid,
    pub run_id: Uuid,
    pub tenant: String,
    pub state: String,
    /// The failing subjects and the rules they broke.
    #[schema(value_type = Vec<Object>)]
    pub reasons: sqlx::types::Json<serde_json::Value>,
    pub decided_by: Option<String>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ReviewFilter {
    /// `pending` (default), `approved` or `rejected`.
    pub state: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct DecisionNote {
    /// Why the reviewer decided so; kept in the audit log.
    pub note: Option<String>,
}

const COLUMNS: &str =
    "id, run_id, tenant, state, reasons, decided_by, note, created_at, decided_at";

/// Reviews, oldest first; non-admins see only their tenant's.
#[utoipa::path(get, path = "/v1/moderation/reviews", operation_id = "list_reviews", params(ReviewFilter, PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<Review>), (status = 422, body = shared::error::ErrorBody)))]
pub async fn list(
    principal: Principal,
    State(db): State<PgPool>,
    Query(filter): Query<ReviewFilter>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Page<Review>>> {
    principal.require(Role::Viewer)?;
    let state = filter.state.unwrap_or_else(|| "pending".to_owned());
    if !["pending", "approved", "rejected"].contains(&state.as_str()) {
        return Err(ApiError::validation(
            "state",
            "must be pending, approved or rejected",
        ));
    }
    let (limit, offset) = page.bounds()?;
    let rows = sqlx::query_as::<_, Review>(&format!(
        "SELECT {COLUMNS} FROM moderation.reviews WHERE state = $1 AND ($2::text IS NULL OR tenant = $2)
         ORDER BY created_at, id LIMIT $3 OFFSET $4"
    ))
    .bind(&state)
    .bind(principal.tenant_scope())
    .bind(limit + 1)
    .bind(offset)
    .fetch_all(&db)
    .await?;
    Ok(Json(Page::from_overfetch(rows, limit, offset)))
}

/// Approves a review: the run goes on to render.
#[utoipa::path(post, path = "/v1/moderation/reviews/{id}/approve", params(("id" = Uuid, Path)), request_body(content = DecisionNote, description = "optional"), security(("bearer" = [])),
    responses((status = 200, body = Review), (status = 404, body = shared::error::ErrorBody), (status = 409, body = shared::error::ErrorBody)))]
pub async fn approve(
    principal: Principal,
    State(db): State<PgPool>,
    Path(id): Path<Uuid>,
    body: Bytes,
) -> ApiResult<Json<Review>> {
    decide(principal, db, id, ReviewDecision::Approved, note(&body)?).await
}

/// Rejects a review: the run fails and never renders.
#[utoipa::path(post, path = "/v1/moderation/reviews/{id}/reject", params(("id" = Uuid, Path)), request_body(content = DecisionNote, description = "optional"), security(("bearer" = [])),
    responses((status = 200, body = Review), (status = 404, body = shared::error::ErrorBody), (status = 409, body = shared::error::ErrorBody)))]
pub async fn reject(
    principal: Principal,
    State(db): State<PgPool>,
    Path(id): Path<Uuid>,
    body: Bytes,
) -> ApiResult<Json<Review>> {
    decide(principal, db, id, ReviewDecision::Rejected, note(&body)?).await
}

/// The optional JSON body of a decision; an empty body means no note.
fn note(body: &[u8]) -> Result<DecisionNote, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(DecisionNote::default());
    }
    serde_json::from_slice(body).map_err(|e| ApiError::validation("note", e))
}

async fn decide(
    principal: Principal,
    db: PgPool,
    id: Uuid,
    decision: ReviewDecision,
    note: DecisionNote,
) -> ApiResult<Json<Review>> {
    let claims = principal.require(Role::Operator)?;
    let mut tx = db.begin().await?;
    let current: Option<(String, String)> = sqlx::query!(
        "SELECT state, tenant FROM moderation.reviews WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .map(|review| (review.state, review.tenant));
    match current {
        None => return Err(ApiError::not_found(format!("review {id} not found"))),
        Some((_, tenant))
            if principal
                .tenant_scope()
                .is_some_and(|scope| scope != tenant) =>
        {
            return Err(ApiError::not_found(format!("review {id} not found")))
        }
        Some((state, _)) if state != "pending" => {
            return Err(ApiError::conflict(
                "review_decided",
                format!("review {id} is already {state}"),
            ))
        }
        _ => {}
    }
    let review = sqlx::query_as::<_, Review>(&format!(
        "UPDATE moderation.reviews SET state = $2, decided_by = $3, note = $4, decided_at = now() WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(decision.as_str())
    .bind(&claims.sub)
    .bind(&note.note)
    .fetch_one(&mut *tx)
    .await?;
    let decided = ReviewDecided {
        review_id: id,
        decision,
        reviewer: Some(claims.sub.clone()),
        note: note.note,
    };
    events::emit(&mut tx, "moderation", review.run_id, &decided).await?;
    tx.commit().await?;
    Ok(Json(review))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(list, approve, reject), components(schemas(Review, DecisionNote)), modifiers(&BearerAuth))]
pub struct ApiDoc;

//! Admission of new runs: billing decides whether the tenant's quota and budgets leave room; when
//! billing is configured but cannot answer, runs are refused (budgets fail closed).

use axum::http::StatusCode;
use shared::{error::ErrorBody, peer::Peer, ApiError};

/// `Ok` when `tenant` may start a run; `402` naming the quota or budget, or `503` when unknown.
pub async fn admit(billing: Option<&Peer>, tenant: &str) -> Result<(), ApiError> {
    let Some(billing) = billing else {
        return Ok(());
    };
    let unverifiable = |reason: String| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "budget_unverifiable",
            format!("cannot verify the budget of tenant `{tenant}` with billing ({reason}); runs are refused until it answers"),
        )
    };
    let path = shared::peer::path(&["v1", "billing", "tenants", tenant, "admission"])
        .map_err(|e| ApiError::validation("tenant", e))?;
    let response = billing
        .request(reqwest::Method::GET, &path)
        .map_err(|e| unverifiable(format!("{e:#}")))?
        .send()
        .await
        .map_err(|e| unverifiable(e.to_string()))?;
    match response.status().as_u16() {
        200 => Ok(()),
        402 => {
            let refusal: ErrorBody = response
                .json()
                .await
                .map_err(|e| unverifiable(format!("unreadable refusal: {e}")))?;
            let code = if refusal.code == "quota_exhausted" {
                "quota_exhausted"
            } else {
                "budget_exhausted"
            };
            Err(ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                code,
                refusal.detail,
            ))
        }
        status => Err(unverifiable(format!("status {status}"))),
    }
}

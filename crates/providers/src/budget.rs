//! The budget gate: before a paid call the chain reserves its estimated cost with billing, after it
//! settles the real cost (or releases the estimate). A refusal or an unanswered reservation skips the
//! paid provider — budgets fail closed — so the chain moves on to the next one (offline last).

use serde::Deserialize;
use shared::peer::Peer;
use uuid::Uuid;

use crate::usage::CallContext;

/// Billing's reservation API.
pub struct BudgetGate {
    billing: Peer,
    lease_secs: u64,
}

/// A held reservation.
#[derive(Debug, Clone, Copy)]
pub struct Lease {
    id: Uuid,
}

#[derive(Deserialize)]
struct Reserved {
    id: Uuid,
}

impl BudgetGate {
    /// Leases last `lease_secs`: longer than the slowest call, so a lease only expires when its caller died.
    pub fn new(billing: Peer, lease_secs: u64) -> Self {
        Self {
            billing,
            lease_secs,
        }
    }

    /// Holds `estimate_micros` for a call of `context` to `provider`; `Err` says why the call may not go out.
    pub async fn reserve(
        &self,
        context: &CallContext,
        provider: &str,
        estimate_micros: u64,
    ) -> Result<Lease, String> {
        let unverifiable = |reason: String| format!("budget cannot be verified ({reason})");
        let body = serde_json::json!({
            "tenant": context.tenant,
            "provider": provider,
            "estimate_micros": estimate_micros,
            "run_id": context.run_id,
            "ttl_secs": self.lease_secs,
        });
        let response = self
            .billing
            .request(reqwest::Method::POST, "/v1/billing/reservations")
            .map_err(|e| unverifiable(format!("{e:#}")))?
            .json(&body)
            .send()
            .await
            .map_err(|e| unverifiable(e.to_string()))?;
        match response.status().as_u16() {
            201 => response
                .json::<Reserved>()
                .await
                .map(|reserved| Lease { id: reserved.id })
                .map_err(|e| unverifiable(format!("unreadable reservation: {e}"))),
            402 => Err(response
                .json::<shared::error::ErrorBody>()
                .await
                .map_or_else(
                    |e| unverifiable(format!("unreadable refusal: {e}")),
                    |r| format!("budget: {}", r.detail),
                )),
            status => Err(unverifiable(format!("billing answered {status}"))),
        }
    }

    /// Settles the call's real cost, or releases the estimate when it cost nothing. A failure is
    /// logged: the lease then expires and frees its estimate.
    pub async fn close(&self, lease: Lease, cost_micros: u64) {
        let (path, body) = if cost_micros > 0 {
            (
                format!("/v1/billing/reservations/{}/settle", lease.id),
                Some(serde_json::json!({ "cost_micros": cost_micros })),
            )
        } else {
            (
                format!("/v1/billing/reservations/{}/release", lease.id),
                None,
            )
        };
        let request = self.billing.request(reqwest::Method::POST, &path);
        let sent = match (request, body) {
            (Ok(request), Some(body)) => {
                request.json(&body).send().await.map_err(|e| e.to_string())
            }
            (Ok(request), None) => request.send().await.map_err(|e| e.to_string()),
            (Err(e), _) => Err(format!("{e:#}")),
        };
        match sent {
            Ok(response) if response.status().is_success() => {}
            Ok(response) => {
                tracing::warn!(reservation = %lease.id, status = %response.status(), "billing refused to close a reservation")
            }
            Err(error) => {
                tracing::warn!(reservation = %lease.id, error, "could not close a reservation; its lease will expire")
            }
        }
    }
}

//! The fleet peers analytics calls, faked on one port: the orchestrator's run manifests,
//! distribution's account tokens (`POST /v1/accounts/{id}/token`, service tokens only) and
//! billing's estimate and budgets.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::fake_server::{Canned, Fake, Received};

#[derive(Default)]
pub struct State {
    /// Run id → manifest.
    pub manifests: HashMap<String, Value>,
    /// Account id → the token distribution hands out for it.
    pub tokens: HashMap<String, String>,
    /// Accounts whose grant is gone (409 `reconnect_required`).
    pub revoked: Vec<String>,
    pub estimate_micros: i64,
    pub budgets: Vec<Value>,
}

pub type FakeFleet = Fake<State>;

pub async fn start() -> std::io::Result<FakeFleet> {
    Fake::start(State::default(), route).await
}

fn error(status: u16, code: &str, detail: &str) -> Canned {
    Canned::json(status, &json!({ "code": code, "detail": detail }))
}

fn route(state: &mut State, _base_url: &str, request: &Received) -> Canned {
    if request.authorization.is_none() {
        return error(401, "unauthorized", "no token");
    }
    let segments = request.segments();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["v1", "runs", id, "manifest"]) => match state.manifests.get(*id) {
            Some(manifest) => Canned::json(200, manifest),
            None => error(404, "not_found", "no such run"),
        },
        ("POST", ["v1", "accounts", id, "token"]) => {
            if state.revoked.iter().any(|revoked| revoked == id) {
                return error(409, "reconnect_required", "the grant was revoked");
            }
            match state.tokens.get(*id) {
                Some(token) => Canned::json(
                    200,
                    &json!({ "platform": "any", "platform_account_id": "channel-1", "access_token": token }),
                ),
                None => error(404, "not_found", "no such account"),
            }
        }
        ("POST", ["v1", "billing", "estimate"]) => {
            let unknown = request.body["text"]
                .as_str()
                .is_some_and(|text| text.starts_with("unknown:"));
            Canned::json(
                200,
                &json!({
                    "steps": [{ "step": "story", "provider": "unknown", "model": "x", "priced": !unknown, "cost_micros": state.estimate_micros }],
                    "total_cost_micros": state.estimate_micros,
                    "assumptions": "test",
                }),
            )
        }
        ("GET", ["v1", "billing", "budgets"]) => Canned::json(200, &json!(state.budgets)),
        _ => error(404, "not_found", "no such route"),
    }
}

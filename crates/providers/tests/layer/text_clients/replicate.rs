//! Replicate's prediction API, shared by its text, image and music clients: the fakes for a
//! prediction's life, and the tests of that life (versions, polling, failure, giving up).

use std::time::Duration;

use providers::{
    clients::replicate::{ReplicateConfig, ReplicateImage, ReplicateMusic, ReplicateText},
    CallError, Capability, Client,
};
use serde_json::{json, Value};
use shared::config::Secret;
use wiremock::{
    matchers::{body_partial_json, header, method, path},
    Mock, MockServer, ResponseTemplate,
};

use super::{failure, is_transient_after, text_request};

pub(super) const REPLICATE_TOKEN: &str = "r8_test_token";
const FAST_POLL: Duration = Duration::from_millis(10);

pub(super) const LLAMA: &str = "meta/meta-llama-3-8b-instruct";
pub(super) const LLAMA_PREDICTIONS: &str = "/v1/models/meta/meta-llama-3-8b-instruct/predictions";
const SDXL: &str = "stability-ai/sdxl";
pub(super) const SDXL_PREDICTIONS: &str = "/v1/models/stability-ai/sdxl/predictions";
const MUSICGEN: &str = "meta/musicgen";
pub(super) const MUSICGEN_PREDICTIONS: &str = "/v1/models/meta/musicgen/predictions";

fn replicate_config(server: &MockServer, model: &str) -> ReplicateConfig {
    let mut config = ReplicateConfig::new(Secret::new(REPLICATE_TOKEN), model);
    config.base_url = server.uri();
    config
}

pub(super) fn replicate_text(server: &MockServer, model: &str) -> anyhow::Result<ReplicateText> {
    Ok(ReplicateText::new(replicate_config(server, model))?.with_poll_interval(FAST_POLL))
}

pub(super) fn replicate_image(server: &MockServer) -> anyhow::Result<ReplicateImage> {
    Ok(ReplicateImage::new(replicate_config(server, SDXL))?.with_poll_interval(FAST_POLL))
}

pub(super) fn replicate_music(server: &MockServer) -> anyhow::Result<ReplicateMusic> {
    Ok(ReplicateMusic::new(replicate_config(server, MUSICGEN))?.with_poll_interval(FAST_POLL))
}

/// A prediction object as Replicate returns it.
pub(super) fn prediction(
    server: &MockServer,
    id: &str,
    status: &str,
    output: Value,
    metrics: Value,
) -> Value {
    json!({
        "id": id,
        "model": "owner/model",
        "version": "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa",
        "status": status,
        "output": output,
        "error": null,
        "metrics": metrics,
        "urls": {
            "get": format!("{}/v1/predictions/{id}", server.uri()),
            "cancel": format!("{}/v1/predictions/{id}/cancel", server.uri())
        }
    })
}

pub(super) fn failed_prediction(id: &str, message: &str) -> Value {
    json!({ "id": id, "status": "failed", "output": null, "error": message, "metrics": {} })
}

/// A Replicate-style error body.
fn replicate_error(status: u16, title: &str, detail: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({ "title": title, "detail": detail, "status": status }))
}

/// The classification of each documented error status on `route`, for one client.
pub(super) async fn replicate_errors_are_classified<C, F>(
    route: &str,
    client: F,
    request: &C::Request,
) -> anyhow::Result<()>
where
    C: Capability,
    F: Fn(&MockServer) -> anyhow::Result<Box<dyn Client<C>>>,
{
    let cases = [
        (
            replicate_error(
                429,
                "Request was throttled",
                "Expected available in 4 seconds.",
            )
            .insert_header("retry-after", "4"),
            "transient after 4s",
        ),
        (
            replicate_error(500, "Internal server error", "oops"),
            "transient",
        ),
        (
            replicate_error(503, "Service unavailable", "busy"),
            "transient",
        ),
        (
            replicate_error(
                401,
                "Unauthenticated",
                "You did not pass a valid authentication token",
            ),
            "auth",
        ),
        (
            replicate_error(
                402,
                "Insufficient credit",
                "You have insufficient credit to run this model.",
            ),
            "quota",
        ),
        (
            replicate_error(
                422,
                "Input validation failed",
                "width: must be a multiple of 8",
            ),
            "refused",
        ),
    ];
    for (response, expected) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(route))
            .respond_with(response)
            .expect(1)
            .mount(&server)
            .await;
        let error = failure(client(&server)?.call(request).await)?;
        let ok = match expected {
            "transient after 4s" => is_transient_after(&error, Duration::from_secs(4)),
            "transient" => matches!(
                error,
                CallError::Transient {
                    retry_after: None,
                    ..
                }
            ),
            "auth" => matches!(error, CallError::Auth { .. }),
            "quota" => matches!(error, CallError::Quota { .. }),
            _ => matches!(error, CallError::Refused { .. }),
        };
        assert!(ok, "expected {expected}, got {error:?}");
    }
    Ok(())
}

/// Mounts a prediction route answering `first`, and a poll route answering `polls` in order
/// (the last one repeating).
pub(super) async fn mount_prediction(
    server: &MockServer,
    route: &str,
    first: Value,
    id: &str,
    polls: &[Value],
) {
    Mock::given(method("POST"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(201).set_body_json(first))
        .expect(1)
        .mount(server)
        .await;
    let poll_route = format!("/v1/predictions/{id}");
    let count = polls.len();
    for (i, poll) in polls.iter().enumerate() {
        let mock = Mock::given(method("GET"))
            .and(path(poll_route.as_str()))
            .and(header(
                "authorization",
                format!("Bearer {REPLICATE_TOKEN}").as_str(),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(poll));
        let mock = if i + 1 < count {
            mock.up_to_n_times(1)
        } else {
            mock
        };
        mock.mount(server).await;
    }
}

#[tokio::test]
async fn replicate_with_a_version_posts_to_the_predictions_endpoint() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/predictions"))
        .and(body_partial_json(json!({
            "version": "9dcd6d78e7c6560c340d916fe32e9f24aabfa331e5cce95fe31f77fb03121426",
            "input": { "max_new_tokens": 800 }
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
            &server,
            "p-version",
            "succeeded",
            json!("{\"title\": \"Versioned\"}"),
            json!({ "predict_time": 0.5 }),
        )))
        .expect(1)
        .mount(&server)
        .await;
    let client = replicate_text(
        &server,
        "replicate/hello-world:9dcd6d78e7c6560c340d916fe32e9f24aabfa331e5cce95fe31f77fb03121426",
    )?;
    let answer = client.call(&text_request()).await?;
    assert_eq!(answer.reply.json, json!({ "title": "Versioned" }));
    assert_eq!(answer.units.millis, 500);
    Ok(())
}

#[tokio::test]
async fn replicate_polls_a_running_prediction_until_it_succeeds() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    mount_prediction(
        &server,
        LLAMA_PREDICTIONS,
        prediction(&server, "p-poll", "starting", Value::Null, json!({})),
        "p-poll",
        &[
            prediction(
                &server,
                "p-poll",
                "processing",
                json!(["{\"title\""]),
                json!({}),
            ),
            prediction(
                &server,
                "p-poll",
                "succeeded",
                json!(["{\"title\"", ": \"Polled\"}"]),
                json!({ "predict_time": 2.0 }),
            ),
        ],
    )
    .await;

    let answer = replicate_text(&server, LLAMA)?
        .call(&text_request())
        .await?;
    assert_eq!(answer.reply.json, json!({ "title": "Polled" }));
    assert_eq!(answer.units.millis, 2000);
    let polls = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() == "GET")
        .count();
    assert_eq!(polls, 2, "starting → processing → succeeded is two polls");
    Ok(())
}

#[tokio::test]
async fn replicate_failed_and_canceled_predictions_are_errors() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    mount_prediction(
        &server,
        LLAMA_PREDICTIONS,
        prediction(&server, "p-fail", "starting", Value::Null, json!({})),
        "p-fail",
        &[failed_prediction("p-fail", "CUDA out of memory")],
    )
    .await;
    let error = failure(replicate_text(&server, LLAMA)?.call(&text_request()).await)?;
    assert!(matches!(error, CallError::Transient { .. }), "{error:?}");
    assert!(error.to_string().contains("CUDA out of memory"), "{error}");

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(LLAMA_PREDICTIONS))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": "p-cancel", "status": "canceled", "output": null, "error": null
        })))
        .mount(&server)
        .await;
    let error = failure(replicate_text(&server, LLAMA)?.call(&text_request()).await)?;
    assert!(matches!(error, CallError::Transient { .. }), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn replicate_gives_up_on_a_prediction_running_too_long() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    mount_prediction(
        &server,
        LLAMA_PREDICTIONS,
        prediction(&server, "p-slow", "starting", Value::Null, json!({})),
        "p-slow",
        &[prediction(
            &server,
            "p-slow",
            "processing",
            Value::Null,
            json!({}),
        )],
    )
    .await;
    let client = replicate_text(&server, LLAMA)?.with_max_wait(Duration::from_millis(60));
    let error = failure(client.call(&text_request()).await)?;
    assert!(matches!(error, CallError::Transient { .. }), "{error:?}");
    Ok(())
}

#[test]
fn replicate_rejects_a_model_that_is_not_owner_and_name() {
    for model in ["sdxl", "/sdxl", "a/b/c"] {
        let config = ReplicateConfig::new(Secret::new(REPLICATE_TOKEN), model);
        assert!(
            matches!(ReplicateImage::new(config), Err(CallError::Refused { .. })),
            "{model}"
        );
    }
}

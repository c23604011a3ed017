//! The Replicate image client: downloads and data URLs, NSFW refusals, and output that is no image.

use anyhow::{anyhow, bail};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use providers::{CallError, Client, Units};
use serde_json::{json, Value};
use wiremock::{
    matchers::{body_partial_json, header, method, path},
    Mock, MockServer, ResponseTemplate,
};

use super::{
    failure, image_request,
    replicate::{
        failed_prediction, mount_prediction, prediction, replicate_errors_are_classified,
        replicate_image, REPLICATE_TOKEN, SDXL_PREDICTIONS,
    },
};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-rest-of-a-png";
const JPEG: &[u8] = &[0xff, 0xd8, 0xff, 0xe0, 0, 16, b'J', b'F', b'I', b'F'];

#[tokio::test]
async fn replicate_image_downloads_the_first_output_without_credentials() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let request = image_request();
    Mock::given(method("POST"))
        .and(path(SDXL_PREDICTIONS))
        .and(header(
            "authorization",
            format!("Bearer {REPLICATE_TOKEN}").as_str(),
        ))
        .and(body_partial_json(json!({
            "input": {
                "prompt": request.prompt, "negative_prompt": request.negative_prompt,
                "width": 768, "height": 1344, "seed": 42
            }
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
            &server,
            "p-image",
            "succeeded",
            json!([
                format!("{}/files/out-0.png", server.uri()),
                format!("{}/files/out-1.png", server.uri())
            ]),
            json!({ "predict_time": 3.2 }),
        )))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/files/out-0.png"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(PNG))
        .expect(1)
        .mount(&server)
        .await;

    let answer = replicate_image(&server)?.call(&request).await?;
    assert_eq!(answer.reply.image.as_ref(), PNG);
    assert_eq!(answer.reply.format, "png");
    assert_eq!(
        answer.units,
        Units {
            images: 1,
            millis: 3200,
            ..Units::default()
        }
    );
    let downloads = server.received_requests().await.unwrap_or_default();
    let download = downloads
        .iter()
        .find(|r| r.url.path() == "/files/out-0.png")
        .ok_or_else(|| anyhow!("no download"))?;
    assert!(
        download.headers.get("authorization").is_none(),
        "the token stays on the API"
    );
    Ok(())
}

#[tokio::test]
async fn replicate_image_reads_a_data_url_output() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SDXL_PREDICTIONS))
        .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
            &server,
            "p-data",
            "succeeded",
            json!(format!("data:image/jpeg;base64,{}", STANDARD.encode(JPEG))),
            json!({ "predict_time": 0.4 }),
        )))
        .mount(&server)
        .await;
    let answer = replicate_image(&server)?.call(&image_request()).await?;
    assert_eq!(answer.reply.image.as_ref(), JPEG);
    assert_eq!(answer.reply.format, "jpeg");
    Ok(())
}

#[tokio::test]
async fn replicate_image_flagged_as_nsfw_is_refused() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    mount_prediction(
        &server,
        SDXL_PREDICTIONS,
        prediction(&server, "p-nsfw", "processing", Value::Null, json!({})),
        "p-nsfw",
        &[failed_prediction(
            "p-nsfw",
            "NSFW content detected. Try running it again, or try a different prompt.",
        )],
    )
    .await;
    let error = failure(replicate_image(&server)?.call(&image_request()).await)?;
    assert!(matches!(error, CallError::Refused { .. }), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn replicate_image_errors_are_classified() -> anyhow::Result<()> {
    replicate_errors_are_classified::<providers::Image, _>(
        SDXL_PREDICTIONS,
        |server| Ok(Box::new(replicate_image(server)?)),
        &image_request(),
    )
    .await
}

#[tokio::test]
async fn replicate_image_that_is_not_an_image_is_invalid_output() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SDXL_PREDICTIONS))
        .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
            &server,
            "p-html",
            "succeeded",
            json!(format!("{}/files/out.png", server.uri())),
            json!({ "predict_time": 1.0 }),
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/files/out.png"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>not an image</html>"))
        .mount(&server)
        .await;
    let error = failure(replicate_image(&server)?.call(&image_request()).await)?;
    let CallError::InvalidOutput { units, .. } = error else {
        bail!("expected invalid output, got {error:?}");
    };
    assert_eq!((units.images, units.millis), (1, 1000));

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SDXL_PREDICTIONS))
        .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
            &server,
            "p-none",
            "succeeded",
            json!({ "unexpected": true }),
            json!({}),
        )))
        .mount(&server)
        .await;
    let error = failure(replicate_image(&server)?.call(&image_request()).await)?;
    assert!(
        matches!(error, CallError::InvalidOutput { .. }),
        "{error:?}"
    );
    Ok(())
}

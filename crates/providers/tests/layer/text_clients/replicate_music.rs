//! The Replicate music client: whole seconds of WAV, the audio format, and its errors.

use anyhow::bail;
use providers::{CallError, Client, Units};
use serde_json::{json, Value};
use wiremock::{
    matchers::{body_partial_json, header, method, path},
    Mock, MockServer, ResponseTemplate,
};

use super::{
    failure, music_request,
    replicate::{
        failed_prediction, prediction, replicate_errors_are_classified, replicate_music,
        MUSICGEN_PREDICTIONS, REPLICATE_TOKEN,
    },
};

/// A minimal WAV header and a few samples.
fn wav_bytes() -> Vec<u8> {
    let mut wav = b"RIFF\x28\0\0\0WAVEfmt ".to_vec();
    wav.extend_from_slice(&[
        16, 0, 0, 0, 1, 0, 1, 0, 0x44, 0xac, 0, 0, 0x88, 0x58, 1, 0, 2, 0, 16, 0,
    ]);
    wav.extend_from_slice(b"data\x04\0\0\0\x01\0\x02\0");
    wav
}

#[tokio::test]
async fn replicate_music_asks_for_whole_seconds_of_wav_and_downloads_it() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    let wav = wav_bytes();
    let output = json!(format!("{}/files/music.wav", server.uri()));
    Mock::given(method("POST"))
        .and(path(MUSICGEN_PREDICTIONS))
        .and(header("authorization", format!("Bearer {REPLICATE_TOKEN}").as_str()))
        .and(header("prefer", "wait=60"))
        .and(body_partial_json(json!({
            "input": { "prompt": "calm ambient piano", "duration": 13, "seed": 7, "output_format": "wav" }
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
            &server,
            "p-music",
            "starting",
            Value::Null,
            json!({}),
        )))
        .expect(1)
        .mount(&server)
        .await;
    for (status, times) in [("processing", Some(1)), ("succeeded", None)] {
        let mock = Mock::given(method("GET"))
            .and(path("/v1/predictions/p-music"))
            .respond_with(ResponseTemplate::new(200).set_body_json(prediction(
                &server,
                "p-music",
                status,
                if status == "succeeded" {
                    output.clone()
                } else {
                    Value::Null
                },
                json!({ "predict_time": 14.5 }),
            )));
        match times {
            Some(n) => mock.up_to_n_times(n).mount(&server).await,
            None => mock.mount(&server).await,
        }
    }
    Mock::given(method("GET"))
        .and(path("/files/music.wav"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(wav.clone()))
        .expect(1)
        .mount(&server)
        .await;

    let answer = replicate_music(&server)?.call(&music_request()).await?;
    assert_eq!(answer.reply.audio.as_ref(), wav.as_slice());
    assert_eq!(answer.reply.format, "wav");
    assert_eq!(
        answer.units,
        Units {
            millis: 14_500,
            ..Units::default()
        }
    );
    Ok(())
}

#[tokio::test]
async fn replicate_music_format_comes_from_the_bytes_or_the_url() -> anyhow::Result<()> {
    for (file, bytes, format) in [
        ("a.bin", b"ID3\x04\0\0\0\0\0\0frames".to_vec(), "mp3"),
        ("b.bin", vec![0xff, 0xfb, 0x90, 0x64, 0, 0], "mp3"),
        ("c.mp3?download=1", b"\0\0\0\0unknown".to_vec(), "mp3"),
        ("d.wav", b"\0\0\0\0unknown".to_vec(), "wav"),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(MUSICGEN_PREDICTIONS))
            .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
                &server,
                "p-mp3",
                "succeeded",
                json!(format!("{}/files/{file}", server.uri())),
                json!({ "predict_time": 1.0 }),
            )))
            .mount(&server)
            .await;
        let route = format!("/files/{}", file.split('?').next().unwrap_or(file));
        Mock::given(method("GET"))
            .and(path(route.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(bytes.clone()))
            .mount(&server)
            .await;
        let answer = replicate_music(&server)?.call(&music_request()).await?;
        assert_eq!(answer.reply.format, format, "{file}");
        assert_eq!(answer.reply.audio.as_ref(), bytes.as_slice());
    }
    Ok(())
}

#[tokio::test]
async fn replicate_music_errors_are_classified() -> anyhow::Result<()> {
    replicate_errors_are_classified::<providers::Music, _>(
        MUSICGEN_PREDICTIONS,
        |server| Ok(Box::new(replicate_music(server)?)),
        &music_request(),
    )
    .await
}

#[tokio::test]
async fn replicate_music_failure_and_unknown_audio_are_errors() -> anyhow::Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MUSICGEN_PREDICTIONS))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(failed_prediction("p-fail", "prediction interrupted")),
        )
        .mount(&server)
        .await;
    let error = failure(replicate_music(&server)?.call(&music_request()).await)?;
    assert!(matches!(error, CallError::Transient { .. }), "{error:?}");

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MUSICGEN_PREDICTIONS))
        .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
            &server,
            "p-ogg",
            "succeeded",
            json!(format!("{}/files/music.ogg", server.uri())),
            json!({ "predict_time": 2.0 }),
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/files/music.ogg"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"OggS\0\x02".to_vec()))
        .mount(&server)
        .await;
    let error = failure(replicate_music(&server)?.call(&music_request()).await)?;
    let CallError::InvalidOutput { units, .. } = error else {
        bail!("expected invalid output, got {error:?}");
    };
    assert_eq!(units.millis, 2000);

    // A vanished output file is invalid output too, still billed.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MUSICGEN_PREDICTIONS))
        .respond_with(ResponseTemplate::new(201).set_body_json(prediction(
            &server,
            "p-gone",
            "succeeded",
            json!(format!("{}/files/gone.wav", server.uri())),
            json!({ "predict_time": 2.0 }),
        )))
        .mount(&server)
        .await;
    let error = failure(replicate_music(&server)?.call(&music_request()).await)?;
    assert!(
        matches!(error, CallError::InvalidOutput { .. }),
        "{error:?}"
    );
    Ok(())
}

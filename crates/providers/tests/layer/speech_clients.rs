//! The speech clients (ElevenLabs, OpenAI TTS, Azure Speech) against fake servers speaking each wire format.

use std::{io::Cursor, time::Duration};

use anyhow::{anyhow, ensure, Result};
use base64::{engine::general_purpose::STANDARD, Engine as _};
use providers::{
    capability::{CharTiming, SpeechReply, SpeechRequest},
    clients::{
        azure_speech::{AzureSpeech, AzureSpeechConfig},
        elevenlabs::{ElevenLabs, ElevenLabsConfig},
        openai_tts::{OpenAiTts, OpenAiTtsConfig},
    },
    Answer, CallError, Capability, Client, Speech, Units,
};
use serde_json::{json, Value};
use shared::config::Secret;
use wiremock::{
    matchers::{
        body_partial_json, body_string_contains, header, header_exists, method, path, query_param,
    },
    Mock, MockServer, ResponseTemplate,
};

// ---------------------------------------------------------------------------------------------
// Payloads and helpers

/// A 440 Hz tone of `count` samples at `rate`.
fn tone(count: usize, rate: u32) -> Vec<i16> {
    (0..count)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            ((t * 440.0 * std::f64::consts::TAU).sin() * 12_000.0).round() as i16
        })
        .collect()
}

fn pcm16_le(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

/// A real 16-bit mono WAV file written by hound.
fn wav(samples: &[i16], rate: u32) -> Result<Vec<u8>> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut cursor = Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut cursor, spec)?;
    for &sample in samples {
        writer.write_sample(sample)?;
    }
    writer.finalize()?;
    Ok(cursor.into_inner())
}

/// The spec and samples of a WAV file.
fn decode(bytes: &[u8]) -> Result<(hound::WavSpec, Vec<i16>)> {
    let mut reader = hound::WavReader::new(Cursor::new(bytes))?;
    let spec = reader.spec();
    let samples = reader.samples::<i16>().collect::<Result<Vec<_>, _>>()?;
    Ok((spec, samples))
}

fn request(text: &str, language: &str, voice: Option<&str>, speed: f32) -> SpeechRequest {
    SpeechRequest {
        text: text.to_owned(),
        language: language.to_owned(),
        voice: voice.map(str::to_owned),
        speed,
    }
}

fn characters(text: &str) -> Units {
    Units {
        characters: text.chars().count() as u64,
        ..Units::default()
    }
}

/// The error of a call that must fail.
fn failure(result: Result<Answer<SpeechReply>, CallError>) -> Result<CallError> {
    match result {
        Ok(answer) => Err(anyhow!(
            "expected an error, got {} bytes of audio",
            answer.reply.wav.len()
        )),
        Err(error) => Ok(error),
    }
}

fn expect_transient(error: &CallError, wait: Option<Duration>) -> Result<()> {
    match error {
        CallError::Transient { retry_after, .. } => {
            ensure!(
                *retry_after == wait,
                "retry_after {retry_after:?}, expected {wait:?}"
            );
            Ok(())
        }
        other => Err(anyhow!("expected Transient, got {other:?}")),
    }
}

fn expect_outcome(error: &CallError, outcome: &str) -> Result<()> {
    ensure!(
        error.outcome() == outcome,
        "expected {outcome}, got {error:?}"
    );
    Ok(())
}

fn expect_invalid(error: &CallError, units: Units) -> Result<()> {
    match error {
        CallError::InvalidOutput { units: got, .. } => {
            ensure!(*got == units, "units {got:?}, expected {units:?}");
            Ok(())
        }
        other => Err(anyhow!("expected InvalidOutput, got {other:?}")),
    }
}

/// A server answering every POST with `response`.
async fn answering(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

// ---------------------------------------------------------------------------------------------
// ElevenLabs

fn elevenlabs(server: &MockServer) -> Result<ElevenLabs> {
    let mut config = ElevenLabsConfig::new(Secret::new("el-key"));
    config.base_url = server.uri();
    config.voice = "default-voice".to_owned();
    Ok(ElevenLabs::new(config)?)
}

fn elevenlabs_error(status: &str) -> Value {
    json!({ "detail": { "status": status, "message": "fake error" } })
}

#[tokio::test]
async fn elevenlabs_decodes_pcm_into_wav_and_maps_alignment_to_ms() -> Result<()> {
    let text = "Héllo & bye";
    let samples = tone(4_800, 24_000);
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/text-to-speech/default-voice/with-timestamps"))
        .and(query_param("output_format", "pcm_24000"))
        .and(header("xi-api-key", "el-key"))
        .and(body_partial_json(json!({
            "text": text,
            "model_id": "eleven_multilingual_v2",
            "voice_settings": { "stability": 0.5, "similarity_boost": 0.75, "speed": 1.1 }
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "audio_base64": STANDARD.encode(pcm16_le(&samples)),
            "alignment": {
                "characters": ["H", "é", "l"],
                "character_start_times_seconds": [0.0, 0.1234, 0.25],
                "character_end_times_seconds": [0.1234, 0.2496, 0.3006]
            },
            "normalized_alignment": {
                "characters": ["h"],
                "character_start_times_seconds": [0.0],
                "character_end_times_seconds": [9.0]
            }
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = elevenlabs(&server)?;
    ensure!(Client::<Speech>::provider(&client) == "elevenlabs");
    ensure!(Client::<Speech>::model(&client) == "eleven_multilingual_v2");

    let request = request(text, "en", None, 1.1);
    let answer = client.call(&request).await?;

    ensure!(answer.units == characters(text), "units {:?}", answer.units);
    ensure!(answer.units.characters == 11);
    Speech::check(&request, &answer.reply).map_err(|e| anyhow!(e))?;
    let (spec, decoded) = decode(&answer.reply.wav)?;
    ensure!(spec.sample_rate == 24_000 && spec.channels == 1 && spec.bits_per_sample == 16);
    ensure!(decoded.len() == 4_800, "{} samples", decoded.len());
    ensure!(decoded == samples, "the PCM changed on the way");
    let timing = |character: &str, start_ms, end_ms| CharTiming {
        character: character.to_owned(),
        start_ms,
        end_ms,
    };
    ensure!(
        answer.reply.alignment
            == vec![
                timing("H", 0, 123),
                timing("é", 123, 250),
                timing("l", 250, 301)
            ],
        "alignment {:?}",
        answer.reply.alignment
    );
    Ok(())
}

#[tokio::test]
async fn elevenlabs_uses_the_requested_voice_and_clamps_speed() -> Result<()> {
    let samples = tone(240, 24_000);
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/text-to-speech/chosen-voice/with-timestamps"))
        .and(body_partial_json(
            json!({ "voice_settings": { "speed": 1.2 } }),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "audio_base64": STANDARD.encode(pcm16_le(&samples)),
            "alignment": null
        })))
        .expect(1)
        .mount(&server)
        .await;

    let answer = elevenlabs(&server)?
        .call(&request("Hi", "en", Some("chosen-voice"), 3.0))
        .await?;

    ensure!(answer.reply.alignment.is_empty());
    ensure!(decode(&answer.reply.wav)?.1.len() == 240);
    Ok(())
}

#[tokio::test]
async fn elevenlabs_concurrency_429_is_transient_with_retry_after() -> Result<()> {
    let server = answering(
        ResponseTemplate::new(429)
            .insert_header("retry-after", "7")
            .set_body_json(elevenlabs_error("too_many_concurrent_requests")),
    )
    .await;
    let error = failure(
        elevenlabs(&server)?
            .call(&request("Hi", "en", None, 1.0))
            .await,
    )?;
    expect_transient(&error, Some(Duration::from_secs(7)))
}

#[tokio::test]
async fn elevenlabs_system_busy_is_transient() -> Result<()> {
    let server =
        answering(ResponseTemplate::new(429).set_body_json(elevenlabs_error("system_busy"))).await;
    let error = failure(
        elevenlabs(&server)?
            .call(&request("Hi", "en", None, 1.0))
            .await,
    )?;
    expect_transient(&error, None)
}

#[tokio::test]
async fn elevenlabs_5xx_is_transient() -> Result<()> {
    let server = answering(ResponseTemplate::new(503).set_body_string("upstream down")).await;
    let error = failure(
        elevenlabs(&server)?
            .call(&request("Hi", "en", None, 1.0))
            .await,
    )?;
    expect_transient(&error, None)
}

#[tokio::test]
async fn elevenlabs_bad_key_is_auth() -> Result<()> {
    let server =
        answering(ResponseTemplate::new(401).set_body_json(elevenlabs_error("invalid_api_key")))
            .await;
    let error = failure(
        elevenlabs(&server)?
            .call(&request("Hi", "en", None, 1.0))
            .await,
    )?;
    expect_outcome(&error, "auth")
}

#[tokio::test]
async fn elevenlabs_quota_exceeded_is_quota_whether_401_or_429() -> Result<()> {
    for status in [401, 429] {
        let server = answering(
            ResponseTemplate::new(status).set_body_json(elevenlabs_error("quota_exceeded")),
        )
        .await;
        let error = failure(
            elevenlabs(&server)?
                .call(&request("Hi", "en", None, 1.0))
                .await,
        )?;
        expect_outcome(&error, "quota")?;
    }
    Ok(())
}

#[tokio::test]
async fn elevenlabs_validation_errors_are_refused() -> Result<()> {
    for status in [400, 422] {
        let server = answering(ResponseTemplate::new(status).set_body_json(
            json!({ "detail": [{ "loc": ["body", "text"], "msg": "field required" }] }),
        ))
        .await;
        let error = failure(
            elevenlabs(&server)?
                .call(&request("Hi", "en", None, 1.0))
                .await,
        )?;
        expect_outcome(&error, "refused")?;
    }
    Ok(())
}

#[tokio::test]
async fn elevenlabs_malformed_replies_are_invalid_output_with_units() -> Result<()> {
    let text = "Hi there";
    let good_audio = STANDARD.encode(pcm16_le(&tone(10, 24_000)));
    let bodies = [
        ResponseTemplate::new(200).set_body_string("{not json"),
        ResponseTemplate::new(200).set_body_json(json!({ "alignment": null })),
        ResponseTemplate::new(200).set_body_json(json!({ "audio_base64": "%%% not base64 %%%" })),
        ResponseTemplate::new(200).set_body_json(json!({ "audio_base64": "" })),
        ResponseTemplate::new(200).set_body_json(json!({
            "audio_base64": good_audio,
            "alignment": {
                "characters": ["H", "i"],
                "character_start_times_seconds": [0.0],
                "character_end_times_seconds": [0.1, 0.2]
            }
        })),
    ];
    for body in bodies {
        let server = answering(body).await;
        let error = failure(
            elevenlabs(&server)?
                .call(&request(text, "en", None, 1.0))
                .await,
        )?;
        expect_invalid(&error, characters(text))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// OpenAI TTS

fn openai(server: &MockServer) -> Result<OpenAiTts> {
    let mut config = OpenAiTtsConfig::new(Secret::new("oa-key"));
    config.base_url = format!("{}/v1/", server.uri());
    Ok(OpenAiTts::new(config)?)
}

fn openai_error(kind: &str, code: &str) -> Value {
    json!({ "error": { "message": "fake error", "type": kind, "code": code } })
}

#[tokio::test]
async fn openai_returns_the_wav_it_was_sent() -> Result<()> {
    let text = "Ça va? <très> bien";
    let samples = tone(12_000, 24_000);
    let payload = wav(&samples, 24_000)?;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/audio/speech"))
        .and(header("authorization", "Bearer oa-key"))
        .and(body_partial_json(json!({
            "model": "tts-1",
            "input": text,
            "voice": "alloy",
            "response_format": "wav",
            "speed": 1.25
        })))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "audio/wav")
                .set_body_bytes(payload.clone()),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = openai(&server)?;
    ensure!(Client::<Speech>::provider(&client) == "openai");
    ensure!(Client::<Speech>::model(&client) == "tts-1");

    let request = request(text, "fr", None, 1.25);
    let answer = client.call(&request).await?;

    ensure!(answer.units == characters(text), "units {:?}", answer.units);
    ensure!(answer.units.characters == 18);
    ensure!(answer.reply.wav.as_ref() == payload.as_slice());
    ensure!(answer.reply.alignment.is_empty());
    Speech::check(&request, &answer.reply).map_err(|e| anyhow!(e))?;
    let (spec, decoded) = decode(&answer.reply.wav)?;
    ensure!(spec.sample_rate == 24_000 && spec.channels == 1);
    ensure!(decoded.len() == 12_000, "{} samples", decoded.len());
    Ok(())
}

#[tokio::test]
async fn openai_sends_the_requested_voice_and_configured_model() -> Result<()> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/audio/speech"))
        .and(body_partial_json(
            json!({ "model": "gpt-4o-mini-tts", "voice": "nova", "speed": 4.0 }),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(wav(&tone(100, 24_000), 24_000)?))
        .expect(1)
        .mount(&server)
        .await;
    let mut config = OpenAiTtsConfig::new(Secret::new("oa-key"));
    config.base_url = format!("{}/v1", server.uri());
    config.model = "gpt-4o-mini-tts".to_owned();
    let answer = OpenAiTts::new(config)?
        .call(&request("Hi", "en", Some("nova"), 9.0))
        .await?;
    ensure!(decode(&answer.reply.wav)?.1.len() == 100);
    Ok(())
}

#[tokio::test]
async fn openai_rate_limit_is_transient_with_retry_after() -> Result<()> {
    let server = answering(
        ResponseTemplate::new(429)
            .insert_header("retry-after", "2")
            .set_body_json(openai_error("requests", "rate_limit_exceeded")),
    )
    .await;
    let error = failure(openai(&server)?.call(&request("Hi", "en", None, 1.0)).await)?;
    expect_transient(&error, Some(Duration::from_secs(2)))
}

#[tokio::test]
async fn openai_insufficient_quota_is_quota() -> Result<()> {
    let server = answering(
        ResponseTemplate::new(429)
            .insert_header("retry-after", "2")
            .set_body_json(openai_error("insufficient_quota", "insufficient_quota")),
    )
    .await;
    let error = failure(openai(&server)?.call(&request("Hi", "en", None, 1.0)).await)?;
    expect_outcome(&error, "quota")
}

#[tokio::test]
async fn openai_5xx_is_transient() -> Result<()> {
    let server =
        answering(ResponseTemplate::new(500).set_body_json(openai_error("server_error", ""))).await;
    let error = failure(openai(&server)?.call(&request("Hi", "en", None, 1.0)).await)?;
    expect_transient(&error, None)
}

#[tokio::test]
async fn openai_bad_key_is_auth() -> Result<()> {
    let server = answering(
        ResponseTemplate::new(401)
            .set_body_json(openai_error("invalid_request_error", "invalid_api_key")),
    )
    .await;
    let error = failure(openai(&server)?.call(&request("Hi", "en", None, 1.0)).await)?;
    expect_outcome(&error, "auth")
}

#[tokio::test]
async fn openai_bad_request_is_refused() -> Result<()> {
    let server = answering(
        ResponseTemplate::new(400).set_body_json(openai_error("invalid_request_error", "")),
    )
    .await;
    let error = failure(openai(&server)?.call(&request("Hi", "en", None, 1.0)).await)?;
    expect_outcome(&error, "refused")
}

#[tokio::test]
async fn openai_empty_audio_is_invalid_output_and_non_wav_fails_the_check() -> Result<()> {
    let text = "Hi";
    let server = answering(ResponseTemplate::new(200)).await;
    let error = failure(openai(&server)?.call(&request(text, "en", None, 1.0)).await)?;
    expect_invalid(&error, characters(text))?;

    let server =
        answering(ResponseTemplate::new(200).set_body_bytes(b"ID3 not a wav".to_vec())).await;
    let request = request(text, "en", None, 1.0);
    let answer = openai(&server)?.call(&request).await?;
    ensure!(
        Speech::check(&request, &answer.reply).is_err(),
        "an MP3-ish body passed the WAV check"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Azure Speech

fn azure(server: &MockServer) -> Result<AzureSpeech> {
    let mut config = AzureSpeechConfig::new("westeurope", Secret::new("az-key"));
    config.endpoint = Some(format!("{}/", server.uri()));
    config.voice = "it-IT-ElsaNeural".to_owned();
    Ok(AzureSpeech::new(config)?)
}

#[tokio::test]
async fn azure_sends_escaped_ssml_and_returns_the_wav() -> Result<()> {
    let text = r#"Tom & "Jerry" <3 l'été"#;
    let samples = tone(2_400, 24_000);
    let payload = wav(&samples, 24_000)?;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/cognitiveservices/v1"))
        .and(header("Ocp-Apim-Subscription-Key", "az-key"))
        .and(header("content-type", "application/ssml+xml"))
        .and(header(
            "X-Microsoft-OutputFormat",
            "riff-24khz-16bit-mono-pcm",
        ))
        .and(header_exists("user-agent"))
        .and(body_string_contains(
            "Tom &amp; &quot;Jerry&quot; &lt;3 l&apos;été",
        ))
        .and(body_string_contains(r#"<voice name="fr-FR-DeniseNeural">"#))
        .and(body_string_contains(r#"xml:lang="fr-FR""#))
        .and(body_string_contains(r#"<prosody rate="+20.00%">"#))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "audio/x-wav")
                .set_body_bytes(payload.clone()),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = azure(&server)?;
    ensure!(Client::<Speech>::provider(&client) == "azure");
    ensure!(Client::<Speech>::model(&client) == "neural");

    let request = request(text, "fr", None, 1.2);
    let answer = client.call(&request).await?;

    ensure!(answer.units == characters(text), "units {:?}", answer.units);
    ensure!(answer.units.characters == 22);
    ensure!(answer.reply.wav.as_ref() == payload.as_slice());
    Speech::check(&request, &answer.reply).map_err(|e| anyhow!(e))?;
    let (spec, decoded) = decode(&answer.reply.wav)?;
    ensure!(spec.sample_rate == 24_000 && spec.channels == 1);
    ensure!(decoded.len() == 2_400, "{} samples", decoded.len());

    let received = server
        .received_requests()
        .await
        .ok_or_else(|| anyhow!("request recording is off"))?;
    let body = String::from_utf8(
        received
            .first()
            .ok_or_else(|| anyhow!("no request"))?
            .body
            .clone(),
    )?;
    ensure!(
        body == concat!(
            r#"<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" xml:lang="fr-FR">"#,
            r#"<voice name="fr-FR-DeniseNeural"><prosody rate="+20.00%">"#,
            r#"Tom &amp; &quot;Jerry&quot; &lt;3 l&apos;été</prosody></voice></speak>"#
        ),
        "SSML {body}"
    );
    Ok(())
}

#[tokio::test]
async fn azure_picks_voices_by_request_language_and_configuration() -> Result<()> {
    let server = MockServer::start().await;
    let payload = wav(&tone(10, 24_000), 24_000)?;
    let ok = || ResponseTemplate::new(200).set_body_bytes(payload.clone());
    // The requested voice wins; the locale is passed through.
    Mock::given(method("POST"))
        .and(body_string_contains(
            r#"xml:lang="pt-BR"><voice name="pt-BR-FranciscaNeural"><prosody rate="-10.00%">"#,
        ))
        .respond_with(ok())
        .expect(1)
        .mount(&server)
        .await;
    // A regional English locale gets the English default voice.
    Mock::given(method("POST"))
        .and(body_string_contains(
            r#"xml:lang="en-GB"><voice name="en-US-JennyNeural"><prosody rate="+0.00%">"#,
        ))
        .respond_with(ok())
        .expect(1)
        .mount(&server)
        .await;
    // Bare German maps to de-DE and its default voice.
    Mock::given(method("POST"))
        .and(body_string_contains(
            r#"xml:lang="de-DE"><voice name="de-DE-KatjaNeural">"#,
        ))
        .respond_with(ok())
        .expect(1)
        .mount(&server)
        .await;
    // A language without a built-in default falls back to the configured voice.
    Mock::given(method("POST"))
        .and(body_string_contains(
            r#"xml:lang="it"><voice name="it-IT-ElsaNeural">"#,
        ))
        .respond_with(ok())
        .expect(1)
        .mount(&server)
        .await;

    let client = azure(&server)?;
    client
        .call(&request("Olá", "pt-BR", Some("pt-BR-FranciscaNeural"), 0.9))
        .await?;
    client.call(&request("Hello", "en-GB", None, 1.0)).await?;
    client.call(&request("Hallo", "de", None, 1.0)).await?;
    client.call(&request("Ciao", "it", None, 1.0)).await?;
    Ok(())
}

#[tokio::test]
async fn azure_needs_a_region_or_an_endpoint() -> Result<()> {
    let config = AzureSpeechConfig::new("  ", Secret::new("az-key"));
    match AzureSpeech::new(config) {
        Err(CallError::Refused { .. }) => Ok(()),
        Err(other) => Err(anyhow!("expected Refused, got {other:?}")),
        Ok(_) => Err(anyhow!("a client without region or endpoint was built")),
    }
}

#[tokio::test]
async fn azure_throttling_is_transient_with_retry_after() -> Result<()> {
    let server = answering(ResponseTemplate::new(429).insert_header("retry-after", "3")).await;
    let error = failure(azure(&server)?.call(&request("Hi", "en", None, 1.0)).await)?;
    expect_transient(&error, Some(Duration::from_secs(3)))
}

#[tokio::test]
async fn azure_5xx_is_transient() -> Result<()> {
    let server = answering(ResponseTemplate::new(502)).await;
    let error = failure(azure(&server)?.call(&request("Hi", "en", None, 1.0)).await)?;
    expect_transient(&error, None)
}

#[tokio::test]
async fn azure_bad_key_is_auth() -> Result<()> {
    for status in [401, 403] {
        let server = answering(ResponseTemplate::new(status).set_body_json(json!({
            "error": { "code": "401", "message": "Access denied due to invalid subscription key." }
        })))
        .await;
        let error = failure(azure(&server)?.call(&request("Hi", "en", None, 1.0)).await)?;
        expect_outcome(&error, "auth")?;
    }
    Ok(())
}

#[tokio::test]
async fn azure_exhausted_free_tier_is_quota() -> Result<()> {
    let server = answering(ResponseTemplate::new(403).set_body_json(json!({
        "statusCode": 403,
        "message": "Out of call volume quota for SpeechServices F0 pricing tier. Quota will be replenished in 2.12 days."
    })))
    .await;
    let error = failure(azure(&server)?.call(&request("Hi", "en", None, 1.0)).await)?;
    expect_outcome(&error, "quota")
}

#[tokio::test]
async fn azure_bad_ssml_is_refused() -> Result<()> {
    let server = answering(ResponseTemplate::new(400)).await;
    let error = failure(azure(&server)?.call(&request("Hi", "en", None, 1.0)).await)?;
    expect_outcome(&error, "refused")
}

#[tokio::test]
async fn azure_empty_audio_is_invalid_output_and_non_wav_fails_the_check() -> Result<()> {
    let text = "Hello";
    let server = answering(ResponseTemplate::new(200)).await;
    let error = failure(azure(&server)?.call(&request(text, "en", None, 1.0)).await)?;
    expect_invalid(&error, characters(text))?;

    let server =
        answering(ResponseTemplate::new(200).set_body_string("<html>proxy page</html>")).await;
    let request = request(text, "en", None, 1.0);
    let answer = azure(&server)?.call(&request).await?;
    ensure!(Speech::check(&request, &answer.reply).is_err());
    Ok(())
}

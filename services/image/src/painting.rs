//! Scene images through the image chain: the prompt every provider reads, the offline painter as
//! the free last resort, and normalising a provider's image to the pipeline's square PNG.

use std::path::Path;

use async_trait::async_trait;
use providers::{
    capability::{ImageReply, ImageRequest},
    client::{Answer, CallError, Client},
    units::Units,
};

use crate::render::{render_png, SceneArt};

/// Square, so every aspect ratio can be cropped from it with room for a slow pan.
pub const SIZE: u32 = 2048;
/// What remote models are asked for; their image is scaled up to `SIZE`.
const REMOTE_SIZE: u32 = 1024;
const MOOD_MARK: &str = ". Mood: ";
const STYLE: &str = ". Painterly cinematic illustration, no text, no letters.";

/// The request for one scene: a prompt remote models read and the painter can parse back.
pub fn scene_request(description: &str, mood: &str, seed: u64) -> ImageRequest {
    ImageRequest {
        prompt: format!(
            "{}{MOOD_MARK}{mood}{STYLE}",
            description.trim().trim_end_matches('.')
        ),
        negative_prompt: "text, letters, words, watermark, logo, signature".to_owned(),
        width: REMOTE_SIZE,
        height: REMOTE_SIZE,
        seed,
    }
}

/// The description and mood inside a scene prompt (the whole prompt and `calm` for any other prompt).
fn parse_prompt(prompt: &str) -> (&str, &str) {
    let body = prompt.strip_suffix(STYLE).unwrap_or(prompt);
    match body.rsplit_once(MOOD_MARK) {
        Some((description, mood)) => (description, mood),
        None => (body, "calm"),
    }
}

/// The procedural painter: 2048² PNG from keywords and mood; free, same seed → same image.
pub struct Painter;

#[async_trait]
impl Client<providers::Image> for Painter {
    fn provider(&self) -> &str {
        "offline"
    }

    fn model(&self) -> &str {
        "procedural"
    }

    fn paid(&self) -> bool {
        false
    }

    async fn call(&self, request: &ImageRequest) -> Result<Answer<ImageReply>, CallError> {
        let (description, mood) = parse_prompt(&request.prompt);
        let (description, mood, seed) = (description.to_owned(), mood.to_owned(), request.seed);
        let png = tokio::task::spawn_blocking(move || {
            render_png(&SceneArt {
                description: &description,
                mood: &mood,
                seed,
                width: SIZE,
                height: SIZE,
            })
        })
        .await
        .map_err(|e| CallError::transient(format!("painter: {e}")))?
        .map_err(|e| CallError::Refused {
            detail: format!("{e:#}"),
        })?;
        Ok(Answer::new(
            ImageReply {
                image: png.into(),
                format: "png".to_owned(),
            },
            Units::default(),
        ))
    }
}

/// A provider's image as a `SIZE`² PNG (scaled to cover and centre-cropped), with FFmpeg.
pub async fn normalise(
    ffmpeg: &str,
    image: &[u8],
    format: &str,
    scratch: &Path,
) -> anyhow::Result<Vec<u8>> {
    let filter = format!("scale={SIZE}:{SIZE}:force_original_aspect_ratio=increase:flags=lanczos,crop={SIZE}:{SIZE},format=rgb24");
    shared::ffmpeg::convert(
        ffmpeg,
        image,
        &format!("provider.{format}"),
        &["-frames:v", "1", "-vf", &filter],
        "scene.png",
        scratch,
        "the provider's image",
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_painter_reads_description_and_mood_back_from_the_prompt() {
        let request = scene_request("A lighthouse on a cliff at night.", "mysterious", 7);
        assert_eq!(
            parse_prompt(&request.prompt),
            ("A lighthouse on a cliff at night", "mysterious")
        );
        assert_eq!(parse_prompt("a red fox"), ("a red fox", "calm"));
    }

    fn landscape_png(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut encoder = png::Encoder::new(&mut bytes, width, height);
        encoder.set_color(png::ColorType::Rgb);
        let pixels: Vec<u8> = (0..width * height * 3).map(|i| (i % 251) as u8).collect();
        let written = encoder
            .write_header()
            .and_then(|mut writer| writer.write_image_data(&pixels));
        assert!(written.is_ok(), "{written:?}");
        bytes
    }

    #[tokio::test]
    async fn a_provider_image_is_scaled_to_cover_the_square_and_garbage_is_refused(
    ) -> anyhow::Result<()> {
        let scratch = tempfile::tempdir()?;
        let square = normalise("ffmpeg", &landscape_png(320, 180), "png", scratch.path()).await?;
        let decoder = png::Decoder::new(std::io::Cursor::new(square));
        let info = decoder.read_info()?.info().clone();
        assert_eq!((info.width, info.height), (SIZE, SIZE));

        let error = normalise("ffmpeg", b"not an image", "png", scratch.path())
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("could not read the provider's image"),
            "{error}"
        );
        let missing = normalise("/nonexistent/ffmpeg", b"", "png", scratch.path())
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(missing.contains("FFmpeg is not available"), "{missing}");
        Ok(())
    }
}

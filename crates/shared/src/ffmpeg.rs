//! One FFmpeg conversion of bytes to bytes through a scratch directory, with a clear error when
//! FFmpeg is missing or cannot read the input.

use std::{path::Path, time::Duration};

use crate::child::Child;

/// Longest one conversion may take: they handle a single image or a few minutes of audio.
const CONVERT_TIMEOUT: Duration = Duration::from_secs(120);

/// Writes `input` to `scratch/<input_name>`, runs `ffmpeg -i <input> <args…> <output>` and returns
/// the bytes of `scratch/<output_name>`. `what` names the input in errors ("the provider's image").
pub async fn convert(
    ffmpeg: &str,
    input: &[u8],
    input_name: &str,
    args: &[&str],
    output_name: &str,
    scratch: &Path,
    what: &str,
) -> anyhow::Result<Vec<u8>> {
    let input_path = scratch.join(input_name);
    let output_path = scratch.join(output_name);
    tokio::fs::write(&input_path, input).await?;
    let result = Child::new(ffmpeg, CONVERT_TIMEOUT)
        .named("FFmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i"])
        .arg(&input_path)
        .args(args)
        .arg(&output_path)
        .output()
        .await?;
    anyhow::ensure!(
        result.status.success(),
        "FFmpeg could not read {what}: {}",
        String::from_utf8_lossy(&result.stderr).trim()
    );
    Ok(tokio::fs::read(&output_path).await?)
}

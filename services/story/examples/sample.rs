//! Prints the script the offline writer makes for a topic, and its narration length against the
//! target: `cargo run -p story --example sample -- "a lighthouse keeper's last night" [genre]
//! [tone] [seconds] [language] [seed]`.

use story::generator::{generate, target_words, StoryRequest};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut next = |default: &str| args.next().unwrap_or_else(|| default.to_owned());
    let request = StoryRequest {
        topic: next("a lighthouse keeper's last night"),
        genre: next("mystery"),
        tone: next("calm"),
        length_seconds: next("60").parse()?,
        language: next("en"),
        seed: next("1").parse()?,
    };
    let script = generate(&request);
    println!("{}", serde_json::to_string_pretty(&script)?);
    let words: usize = script
        .scenes
        .iter()
        .map(|scene| scene.narration.split_whitespace().count())
        .sum();
    println!(
        "words: {words} (target {})",
        target_words(request.length_seconds)
    );
    Ok(())
}

//! Titles and platform copy: lengths, hashtags and captions within each platform's limits, and
//! the text helpers behind them.

use std::collections::HashSet;

use anyhow::{ensure, Context as _};

use super::{matrix, request, requests, sentences};
use crate::generator::{
    generate,
    metadata::{fit_caption, hashtag, title_case, truncate_chars},
    normalize_topic,
    writer::capitalize_first,
    PlatformPost, Script, LANGUAGES,
};

#[test]
fn titles_are_short_and_localised() -> anyhow::Result<()> {
    for (_, script) in matrix() {
        ensure!(!script.title.trim().is_empty(), "empty title");
        ensure!(
            script.title.chars().count() <= 70,
            "long title: {}",
            script.title
        );
    }
    let long = "an extraordinarily long and winding topic about a lighthouse keeper who kept a diary for sixty years";
    let script = generate(&request(long, "mystery", "calm", 30, "en", 1));
    ensure!(script.title.chars().count() <= 70, "{}", script.title);
    Ok(())
}

fn check_tags(tags: &[String], range: std::ops::RangeInclusive<usize>) -> anyhow::Result<()> {
    ensure!(
        range.contains(&tags.len()),
        "{} hashtags: {tags:?}",
        tags.len()
    );
    let unique: HashSet<&String> = tags.iter().collect();
    ensure!(unique.len() == tags.len(), "duplicate hashtags {tags:?}");
    for tag in tags {
        let body = tag.strip_prefix('#').context("no #")?;
        ensure!(
            body.chars().count() >= 2
                && body
                    .chars()
                    .all(|c| c.is_alphanumeric() && !c.is_uppercase()),
            "bad hashtag {tag}"
        );
    }
    Ok(())
}

fn check_post(post: &PlatformPost) -> anyhow::Result<()> {
    for field in [&post.title, &post.description, &post.caption] {
        ensure!(!field.trim().is_empty(), "empty field in {post:?}");
        ensure!(!field.contains('{'), "unfilled slot in {field}");
    }
    Ok(())
}

#[test]
fn metadata_respects_platform_limits() -> anyhow::Result<()> {
    let mut requests = requests();
    let long = "an extraordinarily long and winding topic about a lighthouse keeper who kept a diary for sixty years";
    requests.extend(
        LANGUAGES
            .iter()
            .map(|l| request(long, "romance", "whimsical", 60, l, 8)),
    );
    requests.extend(
        LANGUAGES
            .iter()
            .map(|l| request("", "horror", "dark", 60, l, 8)),
    );
    for req in requests {
        let m = generate(&req).metadata;
        for post in [&m.youtube, &m.tiktok, &m.instagram, &m.facebook] {
            check_post(post)?;
        }

        ensure!(
            m.youtube.title.chars().count() <= 100,
            "youtube title {}",
            m.youtube.title
        );
        let (text, tags) = m
            .youtube
            .description
            .split_once("\n\n")
            .context("youtube description has no hashtags")?;
        let count = sentences(text).len();
        ensure!(
            (2..=4).contains(&count),
            "youtube description has {count} sentences: {text}"
        );
        ensure!(
            tags == m.youtube.hashtags.join(" "),
            "youtube hashtags line"
        );
        ensure!(
            m.youtube.hashtags.first().map(String::as_str) == Some("#shorts"),
            "#shorts"
        );
        check_tags(&m.youtube.hashtags, 2..=5)?;

        ensure!(
            m.tiktok.caption.chars().count() <= 150,
            "tiktok caption {}",
            m.tiktok.caption
        );
        ensure!(
            m.tiktok.hashtags.first().map(String::as_str) == Some("#fyp"),
            "#fyp"
        );
        ensure!(
            m.tiktok
                .hashtags
                .iter()
                .all(|t| m.tiktok.caption.contains(t.as_str())),
            "tiktok tags in caption"
        );
        check_tags(&m.tiktok.hashtags, 1..=5)?;

        ensure!(
            m.instagram.caption.contains('\n'),
            "instagram caption needs line breaks"
        );
        ensure!(
            m.instagram.hashtags.first().map(String::as_str) == Some("#reels"),
            "#reels"
        );
        ensure!(
            m.instagram
                .caption
                .ends_with(&m.instagram.hashtags.join(" ")),
            "instagram tags in caption"
        );
        check_tags(&m.instagram.hashtags, 5..=10)?;

        ensure!(
            m.facebook.caption.contains(&m.facebook.hashtags.join(" ")),
            "facebook tags in caption"
        );
        check_tags(&m.facebook.hashtags, 2..=4)?;
    }
    let m = generate(&request(
        "a lighthouse keeper's last night",
        "mystery",
        "calm",
        60,
        "en",
        1,
    ))
    .metadata;
    for tag in ["#lighthouse", "#keeper", "#mystery"] {
        ensure!(
            m.instagram.hashtags.iter().any(|t| t == tag),
            "{tag} missing from {:?}",
            m.instagram.hashtags
        );
    }
    Ok(())
}

#[test]
fn helpers_behave() {
    assert_eq!(
        normalize_topic("  a   quiet   harbor?!  "),
        "a quiet harbor"
    );
    assert_eq!(capitalize_first("¿qué pasó?"), "¿Qué pasó?");
    assert_eq!(capitalize_first("à l'aube"), "À l'aube");
    assert_eq!(
        title_case("a lighthouse keeper's last night", false),
        "a Lighthouse Keeper's Last Night"
    );
    assert_eq!(
        title_case("a lighthouse keeper's last night", true),
        "A Lighthouse Keeper's Last Night"
    );
    assert_eq!(
        hashtag("Leuchtturmwärter's").as_deref(),
        Some("#leuchtturmwaerters")
    );
    assert_eq!(
        hashtag("ciencia ficción").as_deref(),
        Some("#cienciaficcion")
    );
    assert_eq!(hashtag("Łódź"), Some("#lodz".to_owned()));
    assert_eq!(hashtag("Nguyễn Trãi"), Some("#nguyentrai".to_owned()));
    assert_eq!(hashtag("Москва"), Some("#москва".to_owned()));
    assert_eq!(hashtag("東京タワー"), Some("#東京タワー".to_owned()));
    assert_eq!(hashtag("Αθήνα!"), Some("#αθήνα".to_owned()));
    assert_eq!(hashtag("!"), None);
    assert_eq!(hashtag("é"), None);
    assert!(truncate_chars("one two three four", 10).chars().count() <= 10);
    let (caption, tags) = fit_caption(
        &"word ".repeat(60),
        &["#fyp".to_owned(), "#story".to_owned()],
        150,
    );
    assert!(caption.chars().count() <= 150 && tags.first().map(String::as_str) == Some("#fyp"));
}

#[test]
fn serde_round_trip() -> anyhow::Result<()> {
    let script = generate(&request(
        "a lighthouse keeper's last night",
        "mystery",
        "calm",
        30,
        "fr",
        1,
    ));
    let json = serde_json::to_string(&script)?;
    let back: Script = serde_json::from_str(&json)?;
    ensure!(back == script, "round trip");
    Ok(())
}

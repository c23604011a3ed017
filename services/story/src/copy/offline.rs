//! The offline copywriter: deterministic, seeded templates for every copy kind, within each
//! platform's limits, in English, Spanish, French and German.

use rand::{seq::IndexedRandom as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use super::{schema, CopyKind, CopyRequest};

/// Phrases of one language.
struct Phrases {
    discover: &'static [&'static str],
    cta: &'static [&'static str],
    follow: &'static str,
    why: &'static str,
    how: &'static str,
    next: &'static str,
    subject: &'static [&'static str],
    greeting: &'static str,
    sign_off: &'static str,
    guide: &'static str,
}

fn phrases(language: &str) -> Phrases {
    match language {
        "es" => Phrases {
            discover: &[
                "Descubre",
                "Todo sobre",
                "La historia de",
                "Lo que nadie te contó de",
            ],
            cta: &[
                "Síguenos para más",
                "Guárdalo para después",
                "Compártelo con alguien",
                "Cuéntanos qué opinas",
            ],
            follow: "Síguenos para más",
            why: "Por qué importa",
            how: "Cómo empezar",
            next: "Qué sigue",
            subject: &["Lo nuevo sobre", "Tu guía de", "Una idea sobre"],
            greeting: "Hola",
            sign_off: "Hasta pronto",
            guide: "Guía",
        },
        "fr" => Phrases {
            discover: &[
                "Découvrez",
                "Tout sur",
                "L'histoire de",
                "Ce qu'on ne vous dit pas sur",
            ],
            cta: &[
                "Abonnez-vous pour la suite",
                "Enregistrez pour plus tard",
                "Partagez avec un ami",
                "Dites-nous ce que vous en pensez",
            ],
            follow: "Abonnez-vous pour la suite",
            why: "Pourquoi c'est important",
            how: "Comment commencer",
            next: "Et ensuite",
            subject: &["Du nouveau sur", "Votre guide de", "Une idée sur"],
            greeting: "Bonjour",
            sign_off: "À bientôt",
            guide: "Guide",
        },
        "de" => Phrases {
            discover: &[
                "Entdecke",
                "Alles über",
                "Die Geschichte von",
                "Was dir keiner über",
            ],
            cta: &[
                "Folge uns für mehr",
                "Für später speichern",
                "Teile es mit jemandem",
                "Sag uns deine Meinung",
            ],
            follow: "Folge uns für mehr",
            why: "Warum es wichtig ist",
            how: "So fängst du an",
            next: "Wie es weitergeht",
            subject: &["Neues über", "Dein Leitfaden zu", "Eine Idee zu"],
            greeting: "Hallo",
            sign_off: "Bis bald",
            guide: "Leitfaden",
        },
        _ => Phrases {
            discover: &[
                "Discover",
                "All about",
                "The story of",
                "What nobody tells you about",
            ],
            cta: &[
                "Follow for more",
                "Save this for later",
                "Share it with a friend",
                "Tell us what you think",
            ],
            follow: "Follow for more",
            why: "Why it matters",
            how: "How to get started",
            next: "What comes next",
            subject: &["New on", "Your guide to", "An idea about"],
            greeting: "Hi",
            sign_off: "See you soon",
            guide: "Guide",
        },
    }
}

const STOPWORDS: &[&str] = &[
    "the", "and", "for", "with", "that", "this", "from", "about", "into", "your", "what", "when",
    "where", "how", "los", "las", "del", "para", "con", "une", "des", "les", "pour", "avec", "der",
    "die", "das", "und", "mit", "für",
];

/// Writes `kind` for the request in `params`; an error names what is wrong with the request.
pub fn write(kind: &str, params: &Value) -> Result<Value, String> {
    let kind = CopyKind::from_name(kind).ok_or_else(|| format!("unknown copy kind `{kind}`"))?;
    let request: CopyRequest =
        serde_json::from_value(params.clone()).map_err(|e| format!("not a copy request: {e}"))?;
    Ok(compose(kind, &request))
}

fn seed(request: &CopyRequest) -> u64 {
    // FNV-1a over the fields that change the copy, mixed with the caller's seed.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [
        request.kind.name(),
        &request.topic,
        &request.platform,
        &request.tone,
        &request.audience,
        &request.language,
        &request.details,
    ] {
        for byte in part.bytes().chain([0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash ^ request.seed.rotate_left(29)
}

/// Words of the topic worth a hashtag or keyword, in order, without duplicates.
fn keywords(topic: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for word in topic.split(|c: char| !c.is_alphanumeric()) {
        let lower = word.to_lowercase();
        if lower.chars().count() >= 3
            && !STOPWORDS.contains(&lower.as_str())
            && !words.contains(&lower)
        {
            words.push(lower);
        }
    }
    if words.is_empty() {
        words.push("story".to_owned());
    }
    words
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// At most `max` characters, cut at a word boundary.
fn fit(text: &str, max: u32) -> String {
    let max = max as usize;
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    let trimmed = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{}…", trimmed.trim_end_matches([',', '.', ';', ':']))
}

fn hashtags(words: &[String], platform: &str, max: u32) -> Vec<String> {
    let mut tags: Vec<String> = words
        .iter()
        .map(|w| format!("#{}", w.replace(char::is_whitespace, "")))
        .collect();
    if words.len() > 1 {
        tags.push(format!(
            "#{}",
            words
                .iter()
                .take(3)
                .map(|w| capitalise(w))
                .collect::<String>()
        ));
    }
    let platform_tag = match platform {
        "youtube" => Some("#shorts"),
        "tiktok" => Some("#fyp"),
        "instagram" => Some("#reels"),
        _ => None,
    };
    tags.extend(platform_tag.map(str::to_owned));
    tags.dedup();
    tags.truncate(max as usize);
    tags
}

fn slug(text: &str) -> String {
    let mut slug = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() {
        "post".to_owned()
    } else {
        slug
    }
}

fn compose(kind: CopyKind, request: &CopyRequest) -> Value {
    let mut rng = ChaCha8Rng::seed_from_u64(seed(request));
    let limits = schema::limits(&request.platform);
    let words_of_topic = keywords(&request.topic);
    let topic = request.topic.trim();
    let say = phrases(&request.language);
    let discover = say.discover.choose(&mut rng).copied().unwrap_or("Discover");
    let cta = say.cta.choose(&mut rng).copied().unwrap_or(say.follow);
    let details = request.details.trim();
    let detail_line = if details.is_empty() {
        String::new()
    } else {
        format!(" {details}")
    };
    let tags = hashtags(&words_of_topic, &request.platform, limits.hashtags);
    let headline = capitalise(&format!("{discover} {topic}"));
    let audience = request.audience.trim();
    match kind {
        CopyKind::CaptionHashtags => json!({
            "caption": fit(&format!("{headline}.{detail_line} {cta}!"), limits.text),
            "hashtags": tags,
        }),
        CopyKind::SocialPost => json!({
            "text": fit(&format!("{headline} — {audience}.{detail_line}"), limits.text),
            "hashtags": tags,
            "call_to_action": fit(cta, 120),
        }),
        CopyKind::AdCopy => json!({
            "headline": fit(&capitalise(topic), 40),
            "primary_text": fit(&format!("{headline}.{detail_line} {cta}."), limits.text.min(500)),
            "description": fit(&format!("{} · {}", capitalise(topic), capitalise(audience)), 90),
            "call_to_action": fit(cta, 30),
        }),
        CopyKind::Email => {
            let opener = say.subject.choose(&mut rng).copied().unwrap_or("New on");
            json!({
                "subject": fit(&format!("{opener} {topic}"), 80),
                "preview_text": fit(&format!("{headline}.{detail_line}"), 140),
                "body": fit(&format!("{},\n\n{headline}.{detail_line}\n\n{}: {}.\n\n{cta}.\n\n{}", say.greeting, say.why, words_of_topic.join(", "), say.sign_off), 5000),
                "call_to_action": fit(cta, 60),
            })
        }
        CopyKind::BlogPost => {
            let title = fit(
                &format!("{}: {}", capitalise(topic), say.guide),
                limits.title,
            );
            json!({
                "title": title,
                "slug": slug(&title),
                "meta_description": fit(&format!("{headline} — {audience}.{detail_line}"), 160),
                "sections": [
                    { "heading": say.why, "body": fit(&format!("{headline}.{detail_line}"), 5000) },
                    { "heading": say.how, "body": fit(&format!("{}: {}.", say.how, words_of_topic.join(", ")), 5000) },
                    { "heading": say.next, "body": fit(&format!("{cta}."), 5000) },
                ],
                "tags": words_of_topic.iter().take(10).cloned().collect::<Vec<_>>(),
            })
        }
        CopyKind::VideoMetadata => json!({
            "title": fit(&headline, limits.title),
            "description": fit(&format!("{headline}.{detail_line}\n\n{cta}."), limits.text),
            "tags": words_of_topic.iter().take(30).cloned().collect::<Vec<_>>(),
            "hashtags": tags,
        }),
        CopyKind::MusicReleaseMetadata => {
            let moods = [
                "uplifting",
                "dreamy",
                "dark",
                "calm",
                "energetic",
                "nostalgic",
            ];
            let genres = [
                "electronic",
                "ambient",
                "pop",
                "cinematic",
                "lo-fi",
                "indie",
            ];
            let mood: Vec<&str> = moods.choose_multiple(&mut rng, 2).copied().collect();
            let genre: Vec<&str> = genres.choose_multiple(&mut rng, 2).copied().collect();
            json!({
                "title": fit(&capitalise(topic), 100),
                "description": fit(&format!("{headline}.{detail_line}"), 2000),
                "genres": genre,
                "moods": mood,
                "tags": words_of_topic.iter().take(15).cloned().collect::<Vec<_>>(),
            })
        }
        CopyKind::BookMetadata => json!({
            "title": fit(&capitalise(topic), 200),
            "subtitle": fit(&format!("{} — {}", say.guide, capitalise(audience)), 200),
            "description": fit(&format!("{headline}.{detail_line} {cta}."), 4000),
            "keywords": words_of_topic.iter().take(7).cloned().collect::<Vec<_>>(),
            "categories": [capitalise(&words_of_topic[0])],
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(kind: CopyKind, platform: &str, language: &str) -> anyhow::Result<CopyRequest> {
        Ok(serde_json::from_value(json!({
            "kind": kind, "topic": "The lighthouse keeper's last night on the northern coast",
            "platform": platform, "language": language, "details": "New episode every Friday."
        }))?)
    }

    #[test]
    fn every_kind_in_every_language_and_platform_matches_its_schema_and_repeats(
    ) -> anyhow::Result<()> {
        for kind in CopyKind::ALL {
            for language in super::super::LANGUAGES {
                for platform in super::super::PLATFORMS {
                    let request = request(kind, platform, language)?;
                    let text = request.text_request()?;
                    let written = write(kind.name(), &text.params).map_err(anyhow::Error::msg)?;
                    providers::schema::validate(&text.schema, &written).map_err(|e| {
                        anyhow::anyhow!("{} {language} {platform}: {e}: {written}", kind.name())
                    })?;
                    assert_eq!(
                        write(kind.name(), &text.params).map_err(anyhow::Error::msg)?,
                        written,
                        "deterministic"
                    );
                }
            }
        }
        Ok(())
    }

    #[test]
    fn x_posts_fit_in_280_characters() -> anyhow::Result<()> {
        let mut request = request(CopyKind::SocialPost, "x", "en")?;
        request.details = "word ".repeat(400);
        let written =
            write("social_post", &request.text_request()?.params).map_err(anyhow::Error::msg)?;
        let text = written["text"].as_str().unwrap_or_default();
        assert!(
            text.chars().count() <= 280 && !text.is_empty(),
            "{}",
            text.chars().count()
        );
        Ok(())
    }
}

//! The JSON schema of each copy kind, with the platform's length limits written into it.

use serde_json::{json, Value};

use super::CopyKind;

/// Length limits of a platform.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Captions, posts and descriptions.
    pub text: u32,
    pub title: u32,
    pub hashtags: u32,
}

/// Limits from each platform's published maximums (X: 280 characters; YouTube titles 100;
/// Instagram 30 hashtags and 2,200-character captions).
pub fn limits(platform: &str) -> Limits {
    match platform {
        "x" => Limits {
            text: 280,
            title: 100,
            hashtags: 3,
        },
        "youtube" => Limits {
            text: 5000,
            title: 100,
            hashtags: 15,
        },
        "tiktok" => Limits {
            text: 2200,
            title: 100,
            hashtags: 8,
        },
        "instagram" => Limits {
            text: 2200,
            title: 100,
            hashtags: 30,
        },
        "linkedin" => Limits {
            text: 3000,
            title: 150,
            hashtags: 5,
        },
        "facebook" => Limits {
            text: 5000,
            title: 100,
            hashtags: 10,
        },
        _ => Limits {
            text: 2200,
            title: 100,
            hashtags: 10,
        },
    }
}

fn text(max: u32) -> Value {
    json!({ "type": "string", "minLength": 1, "maxLength": max })
}

fn list(max: u32) -> Value {
    json!({ "type": "array", "minItems": 1, "maxItems": max, "items": { "type": "string", "minLength": 1 } })
}

fn hashtags(max: u32) -> Value {
    json!({ "type": "array", "minItems": 1, "maxItems": max, "items": { "type": "string", "pattern": "^#[^\\s#]+$" } })
}

fn object(properties: Value) -> Value {
    let required: Vec<Value> = properties
        .as_object()
        .map(|map| map.keys().map(|k| Value::String(k.clone())).collect())
        .unwrap_or_default();
    json!({ "type": "object", "additionalProperties": false, "required": required, "properties": properties })
}

/// The schema a reply of `kind` must match.
pub fn for_kind(kind: CopyKind, limits: &Limits) -> Value {
    match kind {
        CopyKind::CaptionHashtags => {
            object(json!({ "caption": text(limits.text), "hashtags": hashtags(limits.hashtags) }))
        }
        CopyKind::SocialPost => object(json!({
            "text": text(limits.text), "hashtags": hashtags(limits.hashtags), "call_to_action": text(120)
        })),
        CopyKind::AdCopy => object(json!({
            "headline": text(40), "primary_text": text(limits.text.min(500)), "description": text(90), "call_to_action": text(30)
        })),
        CopyKind::Email => object(json!({
            "subject": text(80), "preview_text": text(140), "body": text(5000), "call_to_action": text(60)
        })),
        CopyKind::BlogPost => object(json!({
            "title": text(limits.title), "slug": { "type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$" },
            "meta_description": text(160),
            "sections": { "type": "array", "minItems": 2, "items": object(json!({ "heading": text(120), "body": text(5000) })) },
            "tags": list(10)
        })),
        CopyKind::VideoMetadata => object(json!({
            "title": text(limits.title), "description": text(limits.text), "tags": list(30), "hashtags": hashtags(limits.hashtags)
        })),
        CopyKind::MusicReleaseMetadata => object(json!({
            "title": text(100), "description": text(2000), "genres": list(3), "moods": list(5), "tags": list(15)
        })),
        CopyKind::BookMetadata => object(json!({
            "title": text(200), "subtitle": text(200), "description": text(4000), "keywords": list(7), "categories": list(3)
        })),
    }
}

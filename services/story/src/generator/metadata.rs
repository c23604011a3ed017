//! Platform metadata: the title, and each platform's title, description, caption and hashtags.

use rand::{seq::SliceRandom as _, Rng as _};

use super::{
    data::GRAMMAR,
    types::{PlatformMetadata, PlatformPost},
    world::pick,
    writer::{capitalize_first, Writer},
};

const MAX_TITLE_CHARS: usize = 70;
const MAX_YOUTUBE_TITLE_CHARS: usize = 100;
const MAX_TIKTOK_CAPTION_CHARS: usize = 150;

/// Replaces each `{key}` with its value.
fn fill_pairs(template: &str, pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .fold(template.to_owned(), |text, (key, value)| {
            text.replace(&format!("{{{key}}}"), value)
        })
}

/// English title case: every word capitalised except small words after the first.
pub(super) fn title_case(text: &str, capitalize_first_word: bool) -> String {
    text.split_whitespace()
        .enumerate()
        .map(|(i, word)| {
            if (i > 0 || !capitalize_first_word)
                && GRAMMAR.title_small_words.contains(&word.to_lowercase())
            {
                word.to_lowercase()
            } else {
                capitalize_first(word)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// At most `max` chars, cut at a word boundary and marked with an ellipsis when shortened.
pub(super) fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out = String::new();
    for word in text.split_whitespace() {
        let extra = usize::from(!out.is_empty()) + word.chars().count();
        if out.chars().count() + extra + 1 > max {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.is_empty() {
        out = text.chars().take(max.saturating_sub(1)).collect();
    }
    out.push('…');
    out
}

/// `#` plus the word lowercased, without spaces or punctuation; `None` if too short. Latin letters
/// are folded to ASCII (German and Nordic ones as their usual digraphs: ä → ae, ß → ss), so a tag
/// reads the same typed with or without accents; other scripts stay as they are (#москва,
/// #東京): every platform takes Unicode hashtags, and a transliteration is not what their
/// audiences search for.
pub(super) fn hashtag(word: &str) -> Option<String> {
    let mut body = String::new();
    for c in word.chars().flat_map(char::to_lowercase) {
        match c {
            'ä' | 'æ' => body.push_str("ae"),
            'ö' | 'ø' | 'œ' => body.push_str("oe"),
            'ü' => body.push_str("ue"),
            'ß' => body.push_str("ss"),
            c if c.is_ascii_alphanumeric() => body.push(c),
            c if is_latin(c) => body.extend(
                deunicode::deunicode_char(c)
                    .unwrap_or_default()
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .flat_map(|c| c.to_lowercase()),
            ),
            c if c.is_alphanumeric() => body.push(c),
            _ => {}
        }
    }
    (body.chars().count() >= 2).then(|| format!("#{body}"))
}

/// A letter of the Latin script (Latin-1 Supplement, Extended-A and -B, Extended Additional).
fn is_latin(c: char) -> bool {
    c.is_alphabetic() && matches!(u32::from(c), 0x00C0..=0x024F | 0x1E00..=0x1EFF)
}

/// Appends tags that are not there yet, up to `max` in all.
fn add_tags(tags: &mut Vec<String>, more: impl IntoIterator<Item = String>, max: usize) {
    for tag in more {
        if tags.len() >= max {
            break;
        }
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
}

/// `text` followed by as many `tags` as fit in `max` chars (at least one, shortening the text).
/// Returns the caption and the tags it carries.
pub(super) fn fit_caption(text: &str, tags: &[String], max: usize) -> (String, Vec<String>) {
    let first = tags.first().map_or(0, |t| t.chars().count() + 1);
    let mut caption = truncate_chars(text, max.saturating_sub(first));
    let mut kept = Vec::new();
    for tag in tags {
        if caption.chars().count() + 1 + tag.chars().count() <= max {
            caption.push(' ');
            caption.push_str(tag);
            kept.push(tag.clone());
        }
    }
    (caption, kept)
}

impl Writer<'_> {
    /// A catchy title of at most 70 chars in the script's language.
    pub(super) fn title(&mut self) -> String {
        let w = self.world;
        let mut pool: Vec<&'static str> = w
            .genre
            .titles
            .iter()
            .chain(&w.lang.meta.titles)
            .map(String::as_str)
            .collect();
        pool.shuffle(&mut self.rng);
        let english = w.lang.code == "en";
        for template in pool {
            let topic = if english {
                title_case(&w.topic, template.starts_with("{topic}"))
            } else {
                w.topic.clone()
            };
            let title = capitalize_first(&fill_pairs(
                template,
                &[("topic", &topic), ("label", &w.genre.label)],
            ));
            if title.chars().count() <= MAX_TITLE_CHARS {
                return title;
            }
        }
        let topic = if english {
            title_case(&w.topic, true)
        } else {
            capitalize_first(&w.topic)
        };
        truncate_chars(&topic, MAX_TITLE_CHARS)
    }

    pub(super) fn metadata(&mut self, title: &str) -> PlatformMetadata {
        let w = self.world;
        let m = &w.lang.meta;
        let vars: [(&str, &str); 8] = [
            ("title", title),
            ("topic", &w.topic),
            ("label", &w.genre.label),
            ("story", &w.genre.story),
            ("hero", w.hero),
            ("at_place", &w.place_text.at),
            ("place", &w.place_text.name),
            ("tone_adj", &w.tone.adjective),
        ];
        let rng = &mut self.rng;
        let mut line = |pool: &[String]| capitalize_first(&fill_pairs(pick(rng, pool), &vars));
        let about = line(&m.about);
        let follow = line(&m.follow);
        let comment = line(&m.comment);
        let subscribe = line(&m.subscribe);
        let youtube_title = line(&m.youtube_titles);
        let youtube_caption = line(&m.youtube_captions);
        let tiktok_text = line(&m.tiktok_captions);
        let instagram_hook = line(&m.instagram_hooks);
        let instagram_call = line(&m.instagram_calls);
        let facebook_intro = line(&m.facebook_intros);
        let facebook_call = line(&m.facebook_calls);

        let subject_tags: Vec<String> =
            w.subjects.iter().filter_map(|s| hashtag(&s.word)).collect();
        let genre_tag = hashtag(&w.genre.tag).into_iter();
        let story_tag = hashtag(&m.story_tag).into_iter();
        let platform = |tag: &str, subjects: usize, max: usize, extra: &[&str]| {
            let mut tags = Vec::new();
            add_tags(&mut tags, hashtag(tag), max);
            add_tags(&mut tags, subject_tags.iter().take(subjects).cloned(), max);
            add_tags(&mut tags, genre_tag.clone().chain(story_tag.clone()), max);
            add_tags(&mut tags, extra.iter().filter_map(|t| hashtag(t)), max);
            tags
        };

        let extra_sentences = self.rng.random_range(0..=2);
        let mut youtube_sentences = vec![about.clone(), follow.clone()];
        youtube_sentences.extend(
            [comment.clone(), subscribe]
                .into_iter()
                .take(extra_sentences),
        );
        let youtube_tags = platform("shorts", 2, 5, &[]);
        let youtube = PlatformPost {
            title: if youtube_title.chars().count() <= MAX_YOUTUBE_TITLE_CHARS {
                youtube_title
            } else {
                truncate_chars(title, MAX_YOUTUBE_TITLE_CHARS)
            },
            description: format!(
                "{}\n\n{}",
                youtube_sentences.join(" "),
                youtube_tags.join(" ")
            ),
            hashtags: youtube_tags,
            caption: youtube_caption,
        };

        let tiktok_tags = platform("fyp", 2, 5, &[]);
        let (tiktok_caption, tiktok_tags) =
            fit_caption(&tiktok_text, &tiktok_tags, MAX_TIKTOK_CAPTION_CHARS);
        let tiktok = PlatformPost {
            title: title.to_owned(),
            description: format!("{about} {follow}"),
            hashtags: tiktok_tags,
            caption: tiktok_caption,
        };

        let mut instagram_extra: Vec<&str> = m.extra_tags.iter().map(String::as_str).collect();
        instagram_extra.push("reelsinstagram");
        let instagram_tags = platform("reels", 3, 10, &instagram_extra);
        let instagram = PlatformPost {
            title: title.to_owned(),
            description: format!("{about} {follow}"),
            caption: format!(
                "{instagram_hook}\n\n{about} {follow}\n\n{instagram_call}\n\n{}",
                instagram_tags.join(" ")
            ),
            hashtags: instagram_tags,
        };

        let mut facebook_tags = Vec::new();
        add_tags(&mut facebook_tags, subject_tags.iter().take(2).cloned(), 4);
        add_tags(&mut facebook_tags, genre_tag.chain(story_tag), 4);
        let facebook = PlatformPost {
            title: title.to_owned(),
            description: format!("{facebook_intro} {about} {follow}"),
            caption: format!(
                "{facebook_intro}\n\n{about} {facebook_call}\n\n{}",
                facebook_tags.join(" ")
            ),
            hashtags: facebook_tags,
        };

        PlatformMetadata {
            youtube,
            tiktok,
            instagram,
            facebook,
        }
    }
}

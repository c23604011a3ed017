//! Topic analysis: the subject words a topic is about and the place it names.

use std::collections::HashSet;

use super::data::{languages, Place, GRAMMAR, PLACES, STOPWORDS};

/// Subject words taken from a topic.
const MAX_SUBJECTS: usize = 4;

/// A content word of the topic.
#[derive(Debug, Clone)]
pub(super) struct Subject {
    pub(super) word: String,
    /// Capitalised mid-topic in a topic that is not title-cased: a name, used without article.
    pub(super) proper: bool,
}

/// A topic token without surrounding punctuation, possessive or French elision.
fn clean_token(token: &str) -> &str {
    let mut word = token.trim_matches(|c: char| !c.is_alphanumeric());
    for suffix in ["'s", "’s"] {
        if let Some(stripped) = word.strip_suffix(suffix) {
            word = stripped;
        }
    }
    if let Some((head, tail)) = word.split_once(['\'', '’']) {
        if head.chars().count() <= 2 {
            word = tail;
        }
    }
    word
}

fn letters(word: &str) -> usize {
    word.chars().filter(|c| c.is_alphabetic()).count()
}

/// Content words of at least four letters, minus stopwords, in topic order. In a German script
/// whose topic capitalises nouns, only capitalised words count.
pub(super) fn subject_words(topic: &str, language: &str) -> Vec<Subject> {
    let tokens: Vec<&str> = topic.split_whitespace().map(clean_token).collect();
    let capitalised = |t: &&str| t.chars().next().is_some_and(char::is_uppercase);
    let title_cased = tokens.iter().filter(|t| letters(t) >= 4).all(capitalised);
    let german_nouns = language == "de" && !title_cased && tokens.iter().skip(1).any(capitalised);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, word) in tokens.iter().enumerate() {
        if letters(word) < 4 || !word.chars().all(|c| c.is_alphanumeric() || c == '-') {
            continue;
        }
        let lower = word.to_lowercase();
        let adverb = lower.ends_with("ly") && lower.chars().count() > 5;
        // "learning to run", "building a boat": an -ing word before an object is a verb.
        let verb = lower.ends_with("ing")
            && tokens
                .get(i + 1)
                .is_some_and(|next| GRAMMAR.verb_followers.contains(&next.to_lowercase()));
        // "learned to paint": a lowercase word after "to" is an infinitive.
        let infinitive = i > 0 && tokens[i - 1].eq_ignore_ascii_case("to") && !capitalised(word);
        let not_noun = german_nouns && !capitalised(word);
        if adverb
            || verb
            || infinitive
            || not_noun
            || STOPWORDS.contains(&lower.as_str())
            || !seen.insert(lower)
        {
            continue;
        }
        let proper = i > 0 && !title_cased && word.chars().next().is_some_and(char::is_uppercase);
        out.push(Subject {
            word: (*word).to_owned(),
            proper,
        });
        if out.len() == MAX_SUBJECTS {
            break;
        }
    }
    out
}

/// The place a topic names, if any: the first place with a keyword, in any language, that a
/// topic word is or begins with.
pub(super) fn place_from_topic(topic: &str) -> Option<&'static Place> {
    topic
        .split_whitespace()
        .map(|t| clean_token(t).to_lowercase())
        .find_map(|token| {
            PLACES.iter().find(|place| {
                languages().any(|lang| {
                    lang.place(&place.key).keywords.iter().any(|k| {
                        *k == token || (k.chars().count() >= 4 && token.starts_with(k.as_str()))
                    })
                })
            })
        })
}

//! Text rules: configurable lexicons per category, each with a severity; whole-word, case-insensitive.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

/// One category of the lexicon.
#[derive(Debug, Clone, Deserialize)]
pub struct Category {
    pub severity: Severity,
    pub terms: Vec<String>,
}

/// A term found in the text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub category: String,
    pub severity: Severity,
    pub term: String,
}

/// The built-in lexicon: clear-cut terms only, so ordinary storytelling (a mystery's "murder") passes.
pub fn default_lexicon() -> BTreeMap<String, Category> {
    let category = |severity, terms: &[&str]| Category {
        severity,
        terms: terms.iter().map(|t| (*t).to_owned()).collect(),
    };
    BTreeMap::from([
        (
            "self_harm".to_owned(),
            category(
                Severity::High,
                &["kill yourself", "suicide method", "how to self-harm"],
            ),
        ),
        (
            "sexual".to_owned(),
            category(
                Severity::High,
                &["porn", "pornography", "explicit sex", "nude photos"],
            ),
        ),
        (
            "violence".to_owned(),
            category(
                Severity::Medium,
                &["behead", "beheading", "massacre them", "torture them"],
            ),
        ),
        (
            "drugs".to_owned(),
            category(
                Severity::Medium,
                &["buy cocaine", "cook meth", "heroin dealer"],
            ),
        ),
        (
            "violence_mild".to_owned(),
            category(Severity::Low, &["murder", "blood", "weapon"]),
        ),
    ])
}

/// Every lexicon term present in `text` as whole words.
pub fn scan(text: &str, lexicon: &BTreeMap<String, Category>) -> Vec<Finding> {
    let normalised = format!(" {} ", normalise(text));
    let mut findings = Vec::new();
    for (name, category) in lexicon {
        for term in &category.terms {
            let needle = format!(" {} ", normalise(term));
            if needle.trim().is_empty() {
                continue;
            }
            if normalised.contains(&needle) {
                findings.push(Finding {
                    category: name.clone(),
                    severity: category.severity,
                    term: term.clone(),
                });
            }
        }
    }
    findings
}

/// Lowercase words separated by single spaces; punctuation becomes a separator.
fn normalise(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '\'' {
                c
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_match_whole_words_case_insensitively() {
        let lexicon = default_lexicon();
        let findings = scan("The detective found the MURDER weapon.", &lexicon);
        assert_eq!(
            findings.iter().map(|f| f.term.as_str()).collect::<Vec<_>>(),
            vec!["murder", "weapon"]
        );
        assert!(findings.iter().all(|f| f.severity == Severity::Low));
        assert!(
            scan("Bloodhounds bay at the moon.", &lexicon).is_empty(),
            "no partial-word matches"
        );
        let severe = scan("Someone said: kill yourself!", &lexicon);
        assert_eq!(severe.first().map(|f| f.severity), Some(Severity::High));
    }
}

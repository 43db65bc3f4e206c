//! Which words of a text a search's words mark: the search results' snippets and the document a
//! result opens use the same rules. Knows no feature.

const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "how", "in", "is", "it", "of", "on", "or", "that",
    "the", "this", "to", "was", "what", "when", "where", "which", "who", "why", "with",
];

/// A crude English stem, for highlighting only ("lamps" and "lamp" both mark).
fn stem(w: &str) -> String {
    let w = w.to_lowercase();
    for suffix in ["ing", "ed", "es", "s", "ly"] {
        if suffix == "s" && (w.ends_with("ss") || w.ends_with("us") || w.ends_with("is")) {
            continue;
        }
        if let Some(s) = w.strip_suffix(suffix) {
            if s.chars().count() >= 3 {
                return s.to_owned();
            }
        }
    }
    w
}

/// The words of a search worth marking: no stopwords, none shorter than two letters, stemmed,
/// sorted, each once.
pub fn query_terms(q: &str) -> Vec<String> {
    let mut terms: Vec<String> = q
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2 && !STOPWORDS.contains(&w.to_lowercase().as_str()))
        .map(stem)
        .collect();
    terms.sort();
    terms.dedup();
    terms
}

/// Whether `word` (punctuation around it allowed) is one of `terms`, or begins with one of four
/// letters or more.
pub fn is_hit(word: &str, terms: &[String]) -> bool {
    let core: String = word.chars().filter(|c| c.is_alphanumeric()).collect();
    if core.is_empty() {
        return false;
    }
    let s = stem(&core);
    let lower = core.to_lowercase();
    terms.iter().any(|t| *t == s || (t.chars().count() >= 4 && lower.starts_with(t.as_str())))
}

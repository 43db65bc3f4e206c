//! Cutting extracted text into passages for search: a few hundred tokens each, on sentence or
//! paragraph boundaries, overlapping by a sentence or two so no idea is cut in half. A passage never
//! spans two pages, so every hit has a page number.

/// Target passage length in words (~200 model tokens; the local model reads at most 256).
const TARGET_WORDS: usize = 150;
/// Words carried over from the end of one passage to the start of the next.
const OVERLAP_WORDS: usize = 30;
/// A single "sentence" longer than this (a table, a list without stops) is cut by words.
const MAX_WORDS: usize = 200;

#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// 1-based page number.
    pub page: i32,
    pub text: String,
}

/// Splits text into sentences: after `.`, `!`, `?` followed by white space, and at blank lines.
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for para in text.split("\n\n") {
        let para = para.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut start = 0;
        let bytes = para.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            if matches!(b, b'.' | b'!' | b'?') && bytes.get(i + 1) == Some(&b' ') {
                // "e.g. x", "Mr. X", "J. Smith": a stop after an abbreviation is not a sentence end
                let word = para[start..=i].rsplit(' ').next().unwrap_or("").trim_end_matches('.');
                if b == b'.' && is_abbreviation(word) {
                    continue;
                }
                out.push(para[start..=i].trim().to_owned());
                start = i + 1;
            }
        }
        let rest = para[start..].trim();
        if !rest.is_empty() {
            out.push(rest.to_owned());
        }
    }
    out
}

const ABBREVIATIONS: &[&str] =
    &["mr", "mrs", "ms", "dr", "st", "jr", "sr", "vs", "etc", "fig", "cf", "no", "prof", "approx"];

fn is_abbreviation(word: &str) -> bool {
    word.chars().count() == 1 || word.contains('.') || ABBREVIATIONS.contains(&word.to_lowercase().as_str())
}

fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

/// Cuts each page into passages.
pub fn chunk_pages(pages: &[String]) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    for (i, page) in pages.iter().enumerate() {
        let page_no = i32::try_from(i + 1).unwrap_or(i32::MAX);
        // very long sentences are cut into word windows first
        let mut units: Vec<String> = Vec::new();
        for s in sentences(page) {
            if words(&s) <= MAX_WORDS {
                units.push(s);
            } else {
                let w: Vec<&str> = s.split_whitespace().collect();
                units.extend(w.chunks(TARGET_WORDS).map(|c| c.join(" ")));
            }
        }
        let mut current: Vec<String> = Vec::new();
        let mut count = 0;
        for unit in units {
            let n = words(&unit);
            if count + n > TARGET_WORDS && count > 0 {
                chunks.push(Chunk { page: page_no, text: current.join(" ") });
                // carry the last sentences, up to the overlap, into the next passage
                let mut carried = Vec::new();
                let mut carried_words = 0;
                for s in current.iter().rev() {
                    let k = words(s);
                    if carried_words + k > OVERLAP_WORDS {
                        break;
                    }
                    carried_words += k;
                    carried.push(s.clone());
                }
                carried.reverse();
                current = carried;
                count = carried_words;
            }
            count += n;
            current.push(unit);
        }
        if !current.is_empty() {
            let text = current.join(" ");
            // a tail that is only the carried overlap adds nothing
            let only_overlap = chunks.last().is_some_and(|c: &Chunk| c.page == page_no && c.text.ends_with(&text));
            if !only_overlap {
                chunks.push(Chunk { page: page_no, text });
            }
        }
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Any pages of text are cut into passages without a panic (no split inside a character).
        #[test]
        fn any_text_is_chunked(pages in proptest::collection::vec("\\PC{0,3000}", 0..4)) {
            let _ = chunk_pages(&pages);
        }
    }

    #[test]
    fn splits_sentences_but_not_abbreviations() {
        let s = sentences("Dr. Who came. He left! Did he? Yes.\n\nNew paragraph");
        assert_eq!(s, vec!["Dr. Who came.", "He left!", "Did he?", "Yes.", "New paragraph"]);
    }

    #[test]
    fn passages_stay_near_the_target_and_overlap() {
        let sentence = "The quick brown fox jumps over the lazy dog near the river bank today.";
        let page = vec![sentence; 60].join(" "); // 14 words × 60 = 840 words
        let chunks = chunk_pages(&[page]);
        assert!(chunks.len() >= 5 && chunks.len() <= 8, "{} chunks", chunks.len());
        for c in &chunks {
            assert!(words(&c.text) <= TARGET_WORDS + 14, "{} words", words(&c.text));
            assert_eq!(c.page, 1);
        }
        // the second passage starts with the end of the first
        let first_last = sentences(&chunks[0].text).last().cloned().unwrap_or_default();
        assert!(chunks[1].text.starts_with(&first_last));
    }

    #[test]
    fn pages_are_kept_apart_and_numbered() {
        let chunks = chunk_pages(&["Page one text.".into(), String::new(), "Page three text.".into()]);
        assert_eq!(
            chunks,
            vec![Chunk { page: 1, text: "Page one text.".into() }, Chunk { page: 3, text: "Page three text.".into() },]
        );
    }

    #[test]
    fn a_sentence_without_stops_is_cut_by_words() {
        let long = vec!["word"; 500].join(" ");
        let chunks = chunk_pages(&[long]);
        assert!(chunks.iter().all(|c| words(&c.text) <= MAX_WORDS));
        assert!(chunks.len() >= 3);
    }
}

//! Why an upload was refused: one list for the server, which refuses with it (a JSON answer, or a
//! redirect back to the form when the browser posted without JavaScript), and for the pages, which
//! say it. The limits in the messages are the configured ones: the server puts them in the
//! redirect (`limit_mb`, `max_files`), and the pages read them back as numbers only.

/// At most this many photos in one upload.
pub const PHOTOS_PER_UPLOAD: u64 = 20;
/// At most this many documents in one upload (a folder, say).
pub const DOCUMENTS_PER_UPLOAD: u64 = 200;
/// The largest CSV file an import takes.
pub const IMPORT_MAX_BYTES: u64 = 20 * 1024 * 1024;

/// What was being uploaded: the words differ ("that photo", "a file").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upload {
    Photos,
    Documents,
    Import,
}

/// Why an upload (or one of its files) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// larger than the limit (MB, when known)
    TooLarge {
        limit_mb: Option<u64>,
    },
    /// more files than one upload takes
    TooMany {
        max: Option<u64>,
    },
    /// a photo with more pixels than Bartleby decodes
    TooManyPixels,
    NotImage,
    /// not a document type Bartleby reads
    Unsupported,
    Empty,
    NoneChosen,
    /// the request was cut off or is not multipart
    Malformed,
    /// storage or the database did not answer
    Unavailable,
    /// the pending import is gone (imported or discarded)
    Gone,
    Other,
}

impl Refusal {
    const CODES: [(&'static str, Refusal); 11] = [
        ("too_large", Self::TooLarge { limit_mb: None }),
        ("too_many", Self::TooMany { max: None }),
        ("too_many_pixels", Self::TooManyPixels),
        ("not_image", Self::NotImage),
        ("unsupported", Self::Unsupported),
        ("empty", Self::Empty),
        ("none_chosen", Self::NoneChosen),
        ("malformed", Self::Malformed),
        ("unavailable", Self::Unavailable),
        ("not_found", Self::Gone),
        ("internal", Self::Other),
    ];

    /// The fixed code a redirect carries.
    pub fn code(self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "too_large",
            Self::TooMany { .. } => "too_many",
            Self::TooManyPixels => "too_many_pixels",
            Self::NotImage => "not_image",
            Self::Unsupported => "unsupported",
            Self::Empty => "empty",
            Self::NoneChosen => "none_chosen",
            Self::Malformed => "malformed",
            Self::Unavailable => "unavailable",
            Self::Gone => "not_found",
            Self::Other => "internal",
        }
    }

    /// The query a redirect back to the form carries: `{key}=<code>` and the limit it names.
    pub fn query(self, key: &str) -> String {
        format!("{key}={}{}", self.code(), self.limits())
    }

    /// The limit this refusal names, as query parameters (`&limit_mb=7`), or nothing.
    pub fn limits(self) -> String {
        match self {
            Self::TooLarge { limit_mb: Some(mb) } => format!("&limit_mb={mb}"),
            Self::TooMany { max: Some(n) } => format!("&max_files={n}"),
            _ => String::new(),
        }
    }

    /// Read back from a page's query (`get` returns a query value): the code under `key` and the
    /// limits as numbers; anything else is ignored.
    pub fn from_query(get: impl Fn(&str) -> Option<String>, key: &str) -> Option<Self> {
        let code = get(key)?;
        let number = |k: &str| get(k).and_then(|n| n.parse::<u64>().ok());
        let found = Self::CODES.iter().find(|(c, _)| *c == code).map(|(_, r)| *r).unwrap_or(Self::Other);
        Some(match found {
            Self::TooLarge { .. } => Self::TooLarge { limit_mb: number("limit_mb") },
            Self::TooMany { .. } => Self::TooMany { max: number("max_files") },
            other => other,
        })
    }

    /// What the page says.
    pub fn message(self, what: Upload) -> String {
        use Upload::*;
        match (self, what) {
            (Self::TooLarge { limit_mb: Some(mb) }, Photos) => {
                format!("That photo is larger than the {mb} MB limit. Nothing was added.")
            }
            (Self::TooLarge { limit_mb: None }, Photos) => {
                "That photo is larger than the upload limit. Nothing was added.".into()
            }
            (Self::TooLarge { limit_mb: Some(mb) }, Documents) => {
                format!("A file was larger than the {mb} MB limit; it was not added.")
            }
            (Self::TooLarge { limit_mb: None }, Documents) => {
                "A file was larger than the upload limit; it was not added.".into()
            }
            (Self::TooLarge { .. }, Import) => {
                format!(
                    "That file is larger than {} MB. Split it into smaller files.",
                    IMPORT_MAX_BYTES / (1024 * 1024)
                )
            }
            (Self::TooMany { max }, Photos) => {
                format!("Upload at most {} photos at once. Nothing was added.", max.unwrap_or(PHOTOS_PER_UPLOAD))
            }
            (Self::TooMany { max }, _) => format!(
                "Upload at most {} files at once; the rest were not added.",
                max.unwrap_or(DOCUMENTS_PER_UPLOAD)
            ),
            (Self::TooManyPixels, _) => "That photo has more pixels than Bartleby takes. Nothing was added.".into(),
            (Self::NotImage, _) => "That file is not a JPEG, PNG, WebP or HEIC image. Nothing was added.".into(),
            (Self::Unsupported, _) => {
                "A file was not a PDF, Word (DOCX), Excel (XLSX), HTML, Markdown or plain text file; it was not added."
                    .into()
            }
            (Self::Empty, Photos) => "That file is empty. Nothing was added.".into(),
            (Self::Empty, Documents) => "A file was empty; it was not added.".into(),
            (Self::Empty, Import) => "That file is empty.".into(),
            (Self::NoneChosen, Photos) => "Choose one or more photos first.".into(),
            (Self::NoneChosen, Documents) => "Choose one or more files first.".into(),
            (Self::NoneChosen, Import) => "Choose a CSV file first.".into(),
            (Self::Malformed, _) => "The upload was interrupted. Please try again.".into(),
            (Self::Unavailable, Photos) => {
                "Bartleby could not store the photo just now. Please try again in a moment.".into()
            }
            (Self::Unavailable, _) => {
                "Bartleby could not store the file just now. Please try again in a moment.".into()
            }
            (Self::Gone, Import) => {
                "That import is no longer waiting (it was imported or discarded). Upload the file again.".into()
            }
            (Self::Other | Self::Gone, Photos) => "The photo could not be added.".into(),
            (Self::Other | Self::Gone, Documents) => "A file could not be added.".into(),
            (Self::Other, Import) => "The file could not be read. Please try again.".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_survives_the_redirect_with_its_limit() {
        for r in [
            Refusal::TooLarge { limit_mb: Some(7) },
            Refusal::TooMany { max: Some(3) },
            Refusal::NotImage,
            Refusal::Gone,
        ] {
            let q = r.query("error");
            let pairs: Vec<(String, String)> =
                q.split('&').filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned()))).collect();
            let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
            assert_eq!(Refusal::from_query(get, "error"), Some(r), "{q}");
        }
        assert!(Refusal::TooLarge { limit_mb: Some(7) }.message(Upload::Photos).contains("7 MB"));
    }

    #[test]
    fn an_unknown_code_or_a_limit_that_is_not_a_number_says_nothing_it_was_not_given() {
        let get = |k: &str| match k {
            "error" => Some("<script>".to_owned()),
            _ => None,
        };
        assert_eq!(Refusal::from_query(get, "error"), Some(Refusal::Other));
        let get = |k: &str| match k {
            "error" => Some("too_large".to_owned()),
            "limit_mb" => Some("12<b>".to_owned()),
            _ => None,
        };
        assert_eq!(Refusal::from_query(get, "error"), Some(Refusal::TooLarge { limit_mb: None }));
    }
}

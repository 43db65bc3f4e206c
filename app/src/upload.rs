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
                "A file was not a PDF, Word (DOCX), Excel (XLSX), HTML, Markdown or plain text file, nor an image (JPEG, PNG, WebP, HEIC, TIFF); it was not added."
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

use leptos::prelude::*;

/// One chosen file in an upload the page is watching.
#[derive(Clone, Debug, PartialEq)]
pub struct Sending {
    pub name: String,
    pub size: f64,
    pub sent: f64,
    pub state: SendState,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SendState {
    Waiting,
    Sending,
    /// what the server said of it ("Added", "You already have this file")
    Done(String),
    Refused(String),
    Cancelled,
}

/// Makes the upload form `form_id` one you can watch, once the page is live: files dropped
/// anywhere on the page go into it; the chosen files are listed; *Upload* sends them one at a time
/// with a progress bar each and one for all, *Cancel* stops, and each file says how it went (the
/// server's own words for a refusal). Then the page's `regions` are read again and follow what
/// the new files become (documents being read, thumbnails being made). Without JavaScript the form
/// posts as it is and the page it returns to says how it went.
#[island]
pub fn UploadWatch(form_id: String, regions: Vec<String>) -> impl IntoView {
    let files = RwSignal::new(Vec::<Sending>::new());
    let sending = RwSignal::new(false);
    let cancel = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    watch::attach(&form_id, regions, files, sending, cancel);
    #[cfg(not(feature = "hydrate"))]
    let _ = (form_id, regions);
    let total = move || files.with(|f| f.iter().map(|s| s.size).sum::<f64>()).max(1.0);
    let sent = move || files.with(|f| f.iter().map(|s| s.sent).sum::<f64>());
    let summary = move || {
        files.with(|f| {
            let done = f.iter().filter(|s| matches!(s.state, SendState::Done(_))).count();
            let refused = f.iter().filter(|s| matches!(s.state, SendState::Refused(_))).count();
            let mut line =
                format!("{} of {} sent", done + refused, crate::format::count(f.len() as u32, "file", "files"));
            if refused > 0 {
                line.push_str(&format!(", {refused} refused"));
            }
            line
        })
    };
    view! {
        <div class="upload-watch" hidden=move || files.with(Vec::is_empty) data-testid="upload-watch">
            <p class="muted" role="status">
                {summary} " "
                <progress max=total value=sent aria-label="All files"></progress>
            </p>
            <ul class="upload-files">
                {move || {
                    files
                        .get()
                        .into_iter()
                        .map(|f| {
                            let (class, said) = match &f.state {
                                SendState::Waiting => ("", "Waiting".to_owned()),
                                SendState::Sending => ("", format!("Sending… {}%", (100.0 * f.sent / f.size.max(1.0)).round())),
                                SendState::Done(s) => ("status ok", s.clone()),
                                SendState::Refused(s) => ("status bad", s.clone()),
                                SendState::Cancelled => ("muted", "Cancelled".to_owned()),
                            };
                            view! {
                                <li data-testid="upload-file">
                                    <span class="file-name">{f.name.clone()}</span>
                                    <span class="hint">{crate::format::bytes(f.size as i64)}</span>
                                    <progress max=f.size.max(1.0) value=f.sent aria-label=format!("Sending {}", f.name)></progress>
                                    <span class=class data-testid="upload-file-state">{said}</span>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
            <button
                type="button"
                class="secondary"
                hidden=move || !sending.get()
                on:click=move |_| {
                    cancel.set(true);
                    #[cfg(feature = "hydrate")]
                    watch::abort_current();
                }
            >
                "Cancel"
            </button>
        </div>
    }
}

#[cfg(feature = "hydrate")]
mod watch {
    use leptos::prelude::*;
    use leptos::wasm_bindgen::closure::Closure;
    use leptos::wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{DragEvent, File, FormData, HtmlFormElement, HtmlInputElement, ProgressEvent, XmlHttpRequest};

    use super::{SendState, Sending};
    use crate::widgets::listen;

    thread_local! {
        /// The file on its way, for Cancel to stop.
        static CURRENT: std::cell::RefCell<Option<XmlHttpRequest>> = const { std::cell::RefCell::new(None) };
    }

    /// Stops the file on its way (the ones after it are not sent).
    pub fn abort_current() {
        CURRENT.with(|c| {
            if let Some(x) = c.borrow().as_ref() {
                let _ = x.abort();
            }
        });
    }

    fn inputs(form: &HtmlFormElement) -> Vec<HtmlInputElement> {
        let Ok(list) = form.query_selector_all(r#"input[type="file"]"#) else { return Vec::new() };
        (0..list.length()).filter_map(|i| list.item(i)?.dyn_into().ok()).collect()
    }

    /// Every chosen file, with the name of the field it was chosen in.
    fn chosen(form: &HtmlFormElement) -> Vec<(String, File)> {
        let mut out = Vec::new();
        for input in inputs(form) {
            if let Some(files) = input.files() {
                out.extend((0..files.length()).filter_map(|i| files.get(i)).map(|f| (input.name(), f)));
            }
        }
        out
    }

    fn rows(files: &[(String, File)]) -> Vec<Sending> {
        files
            .iter()
            .map(|(_, f)| Sending { name: f.name(), size: f.size(), sent: 0.0, state: SendState::Waiting })
            .collect()
    }

    pub fn attach(
        form_id: &str,
        regions: Vec<String>,
        files: RwSignal<Vec<Sending>>,
        sending: RwSignal<bool>,
        cancel: RwSignal<bool>,
    ) {
        let Some(form) = document().get_element_by_id(form_id).and_then(|e| e.dyn_into::<HtmlFormElement>().ok())
        else {
            return;
        };
        for input in inputs(&form) {
            let form = form.clone();
            listen(&input, "change", move |_: web_sys::Event| {
                if !sending.get_untracked() {
                    files.set(rows(&chosen(&form)));
                }
            });
        }
        // a drop anywhere on the page lands in the form's first file field
        let doc: web_sys::EventTarget = document().into();
        let f = form.clone();
        // only files: text dragged into a field is left to the browser
        let carries_files =
            |ev: &DragEvent| ev.data_transfer().is_some_and(|d| d.types().includes(&JsValue::from_str("Files"), 0));
        listen(&doc, "dragover", move |ev: DragEvent| {
            if carries_files(&ev) {
                ev.prevent_default();
                let _ = f.class_list().add_1("dragging");
            }
        });
        let f = form.clone();
        listen(&doc, "dragleave", move |_: DragEvent| {
            let _ = f.class_list().remove_1("dragging");
        });
        let f = form.clone();
        listen(&doc, "drop", move |ev: DragEvent| {
            if !carries_files(&ev) {
                return;
            }
            ev.prevent_default();
            let _ = f.class_list().remove_1("dragging");
            if sending.get_untracked() {
                return;
            }
            let dropped = ev.data_transfer().and_then(|d| d.files()).filter(|l| l.length() > 0);
            if let (Some(dropped), Some(input)) = (dropped, inputs(&f).into_iter().next()) {
                input.set_files(Some(&dropped));
                for other in inputs(&f).into_iter().skip(1) {
                    other.set_value("");
                }
                files.set(rows(&chosen(&f)));
            }
        });
        let f = form.clone();
        listen(&form, "submit", move |ev: web_sys::Event| {
            let picked = chosen(&f);
            // nothing chosen: the plain post says so, as without JavaScript
            if picked.is_empty() {
                return;
            }
            ev.prevent_default();
            if sending.get_untracked() {
                return;
            }
            let (form, regions) = (f.clone(), regions.clone());
            leptos::task::spawn_local(async move {
                send_all(form, picked, files, sending, cancel).await;
                crate::widgets::follow_regions(regions).await;
            });
        });
    }

    async fn send_all(
        form: HtmlFormElement,
        picked: Vec<(String, File)>,
        files: RwSignal<Vec<Sending>>,
        sending: RwSignal<bool>,
        cancel: RwSignal<bool>,
    ) {
        files.set(rows(&picked));
        sending.set(true);
        cancel.set(false);
        let submit = form.query_selector(r#"button[type="submit"]"#).ok().flatten();
        if let Some(b) = &submit {
            let _ = b.set_attribute("disabled", "");
        }
        for (i, (field, file)) in picked.iter().enumerate() {
            let set = |state: SendState| {
                files.update(|f| {
                    if let Some(row) = f.get_mut(i) {
                        if matches!(state, SendState::Done(_)) {
                            row.sent = row.size;
                        }
                        row.state = state;
                    }
                })
            };
            if cancel.get_untracked() {
                set(SendState::Cancelled);
                continue;
            }
            set(SendState::Sending);
            let state = match send_one(&form, field, file, i, files, cancel).await {
                Ok(state) => state,
                Err(_) => SendState::Refused("The file could not be sent. Check the connection and try again.".into()),
            };
            set(state);
        }
        sending.set(false);
        if let Some(b) = &submit {
            let _ = b.remove_attribute("disabled");
        }
        for input in inputs(&form) {
            input.set_value("");
        }
    }

    /// Sends one file as the form would (its other fields included) and reads the answer.
    async fn send_one(
        form: &HtmlFormElement,
        field: &str,
        file: &File,
        i: usize,
        files: RwSignal<Vec<Sending>>,
        cancel: RwSignal<bool>,
    ) -> Result<SendState, JsValue> {
        let data = FormData::new()?;
        if let Ok(hidden) = form.query_selector_all(r#"input[type="hidden"]"#) {
            for n in 0..hidden.length() {
                if let Some(h) = hidden.item(n).and_then(|h| h.dyn_into::<HtmlInputElement>().ok()) {
                    data.append_with_str(&h.name(), &h.value())?;
                }
            }
        }
        data.append_with_blob_and_filename(field, file, &file.name())?;
        let xhr = XmlHttpRequest::new()?;
        xhr.open("POST", &form.action())?;
        xhr.set_request_header("Accept", "application/json")?;
        let progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |ev: ProgressEvent| {
            files.update(|f| {
                if let Some(row) = f.get_mut(i) {
                    row.sent = ev.loaded();
                }
            });
        });
        xhr.upload()?.set_onprogress(Some(progress.as_ref().unchecked_ref()));
        let done = js_sys::Promise::new(&mut |resolve, _| xhr.set_onloadend(Some(&resolve)));
        CURRENT.with(|c| *c.borrow_mut() = Some(xhr.clone()));
        xhr.send_with_opt_form_data(Some(&data))?;
        JsFuture::from(done).await?;
        CURRENT.with(|c| c.borrow_mut().take());
        drop(progress);
        let status = xhr.status()?;
        // cancelled before the server answered (an answer that came first stands)
        if cancel.get_untracked() && status == 0 {
            return Ok(SendState::Cancelled);
        }
        let body: serde_json::Value =
            xhr.response_text()?.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
        Ok(super::answer(status, &body))
    }
}

/// What the server's answer to one file means, in words (both upload endpoints: documents answer
/// with a report, photos with `{stored}`, refusals with an `AppError`).
pub fn answer(status: u16, body: &serde_json::Value) -> SendState {
    let count = |k: &str| body.get(k).and_then(|v| v.as_array()).map_or(0, Vec::len);
    if status == 0 {
        return SendState::Refused("The connection was lost. Try again.".into());
    }
    if let Some(e) = body.get("rejected").and_then(|r| r.get(0)).and_then(|r| r.get("error")).and_then(|e| e.as_str()) {
        return SendState::Refused(e.to_owned());
    }
    if (200..300).contains(&status) {
        return if count("added") > 0 {
            SendState::Done("Added; reading it now".into())
        } else if count("duplicates") > 0 {
            SendState::Done("You already have this file (same content); skipped".into())
        } else if body.get("unsupported").and_then(|u| u.as_u64()).unwrap_or(0) > 0 {
            SendState::Refused("Bartleby does not read this type of file; skipped".into())
        } else {
            SendState::Done("Added".into())
        };
    }
    match serde_json::from_value::<crate::error::AppError>(body.clone()) {
        Ok(e) => SendState::Refused(e.to_string()),
        Err(_) if status == 413 => SendState::Refused("The file is larger than this Bartleby takes.".into()),
        Err(_) => SendState::Refused(format!("The server did not take the file (HTTP {status}).")),
    }
}

//! Documents pages: the list with uploads and live ingest status, and a document with its text and
//! sharing. Every control is a plain link or form, so the pages work before
//! the WASM loads; once it has, the list and a document refresh themselves while ingest runs.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::{
    get_document, list_documents, DeleteDocument, RenameDocument, RetryDocument, RevokeDocument, ShareDocument,
};
use super::types::{DocStatus, DocType, DocumentDetail, DocumentRow};
use crate::error::AppError;
use crate::upload::{Refusal, Upload, UploadWatch};
use crate::widgets::{form_flash, FormError, FormFlash};
use crate::widgets::{id_param, set_error_status, ErrorNotice, LiveRegions};

/// A file input that picks a whole folder (`webkitdirectory`, which has no typed attribute in Leptos).
fn folder_input() -> impl IntoView {
    use leptos::tachys::html::attribute::custom::custom_attribute;
    use leptos::tachys::view::add_attr::AddAnyAttr;
    view! { <input id="folder-input" type="file" name="files" multiple=true/> }
        .add_any_attr(custom_attribute("webkitdirectory", ""))
}

#[component]
pub fn DocumentsPage() -> impl IntoView {
    let docs = Resource::new_blocking(|| (), |_| list_documents());
    let query = use_query_map();
    let num = move |k: &str| query.read().get(k).and_then(|n| n.parse::<u32>().ok()).unwrap_or(0);
    let status = move || {
        let mut parts = Vec::new();
        if num("uploaded") > 0 {
            parts.push(format!(
                "{} added; reading them now.",
                crate::format::count(num("uploaded"), "document", "documents")
            ));
        }
        if num("duplicates") > 0 {
            parts.push(format!(
                "{} you already had (same content) skipped.",
                crate::format::count(num("duplicates"), "file", "files")
            ));
        }
        if num("skipped") > 0 {
            parts.push(format!(
                "{} of a type Bartleby does not read skipped.",
                crate::format::count(num("skipped"), "file", "files")
            ));
        }
        if query.read().get("deleted").is_some() {
            parts.push("Document deleted.".into());
        }
        parts.join(" ")
    };
    let error = move || {
        let q = query.read();
        Refusal::from_query(|k| q.get(k), "error").map(|r| r.message(Upload::Documents))
    };
    view! {
        <Title text="Documents · Bartleby"/>
        <div class="page-head">
            <h1>"Documents"</h1>
            <div class="actions">
                <a href="/search" class="button">"Search documents"</a>
            </div>
        </div>
        <section class="upload-panel" aria-labelledby="upload-title">
            <h2 id="upload-title" class="visually-hidden">"Upload"</h2>
            <p class="form-error" role="alert" data-testid="upload-error" hidden=move || error().is_none()>{error}</p>
            <p class="muted" role="status" data-testid="upload-status">{status}</p>
            <form method="post" action="/documents/upload" enctype="multipart/form-data" class="upload" id="document-upload">
                <label for="document-input" class="dropzone">
                    <span>"Drop files here, or choose files: PDF, Word, Excel, HTML, Markdown, text, or scans and photos of papers (read by OCR)"</span>
                    <input
                        id="document-input"
                        type="file"
                        name="files"
                        multiple=true
                        accept=".pdf,.docx,.xlsx,.html,.htm,.md,.markdown,.txt,.jpg,.jpeg,.png,.webp,.heic,.heif,.tif,.tiff,application/pdf,text/plain,text/html,text/markdown,image/*"
                    />
                </label>
                <label for="folder-input" class="dropzone small">
                    <span>"…or a whole folder"</span>
                    {folder_input()}
                </label>
                <button type="submit" class="primary">"Upload"</button>
            </form>
            <UploadWatch form_id="document-upload".to_owned() regions=vec!["document-lists".to_owned()]/>
        </section>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match docs.await {
                    Ok(list) => view! {
                        // refreshed in place while any document is still being read
                        <div id="document-lists" data-pending=list.pending().then_some("")>
                            {list.pending().then(|| view! {
                                <p class="muted" role="status">
                                    "Documents are being read; this list updates itself (without JavaScript, "
                                    <a href="/documents">"reload it"</a>
                                    ")."
                                </p>
                            })}
                            <DocumentTable rows=list.mine.clone() shared=false/>
                            {(!list.shared.is_empty()).then(|| view! {
                                <h2>"Shared with you"</h2>
                                <DocumentTable rows=list.shared.clone() shared=true/>
                            })}
                        </div>
                        {list.pending().then(|| view! { <LiveRegions ids=vec!["document-lists".to_owned()] reload_when_done=false/> })}
                    }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn StatusCell(row: DocumentRow) -> impl IntoView {
    let class = match row.status {
        DocStatus::Ready => "status ok",
        DocStatus::Failed | DocStatus::NoText => "status bad",
        _ => "status busy",
    };
    view! {
        <span class=class data-testid="doc-status">{row.status_text()}</span>
        // the detail, unless the status already says it (OCR's progress)
        {row.status_detail.clone().filter(|d| *d != row.status_text()).map(|d| view! { <span class="hint status-detail">{d}</span> })}
        {((row.ocr_pages > 0 || row.ocr_skipped > 0) && !row.status.is_pending()).then(|| view! {
            <span class="hint" data-testid="ocr-note">{ocr_note(row.ocr_pages, row.ocr_skipped, row.doc_type)}</span>
        })}
    }
}

/// "Text of 3 pages read by OCR: it may hold mistakes." (and what the page limit left unread)
fn ocr_note(pages: i32, skipped: i32, doc_type: DocType) -> String {
    let read = match (pages, doc_type) {
        (0, _) => String::new(),
        (1, DocType::Image) => "Text read by OCR from the image: it may hold mistakes.".to_owned(),
        (1, _) => "Text of 1 page read by OCR: it may hold mistakes.".to_owned(),
        (n, _) => format!("Text of {n} pages read by OCR: it may hold mistakes."),
    };
    let unread = match skipped {
        0 => String::new(),
        1 => " 1 more page without text was not read: Bartleby reads at most OCR_MAX_PAGES pages of one PDF by OCR."
            .to_owned(),
        n => format!(
            " {n} more pages without text were not read: Bartleby reads at most OCR_MAX_PAGES pages of one PDF by OCR."
        ),
    };
    format!("{read}{unread}").trim().to_owned()
}

#[component]
fn DocumentTable(rows: Vec<DocumentRow>, shared: bool) -> impl IntoView {
    if rows.is_empty() {
        return view! {
            <p class="empty" data-testid="no-documents">
                "No documents yet. Upload PDFs, Word or Excel files, web pages, Markdown, text, or scans and photos of papers, and search them by meaning."
            </p>
        }
        .into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="items documents" data-testid=if shared { "shared-documents" } else { "my-documents" }>
                <thead>
                    <tr>
                        <th scope="col">"Title"</th>
                        <th scope="col">"Type"</th>
                        <th scope="col" class="num">"Size"</th>
                        <th scope="col" class="num">"Pages"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">{if shared { "Shared by" } else { "Added" }}</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|row| {
                            let last = if shared { row.owner_email.clone().unwrap_or_default() } else { row.created_at.clone() };
                            let (href, title, label) = (format!("/documents/{}", row.id), row.title.clone(), row.doc_type.label());
                            let (size, pages) = (crate::format::bytes(row.bytes), row.pages.map(|p| p.to_string()).unwrap_or_default());
                            view! {
                                <tr data-testid="document-row">
                                    <td><a href=href>{title}</a></td>
                                    <td>{label}</td>
                                    <td class="num">{size}</td>
                                    <td class="num">{pages}</td>
                                    <td><StatusCell row=row/></td>
                                    <td>{last}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

async fn load_document(id: Option<i64>) -> Result<DocumentDetail, AppError> {
    match id {
        Some(id) => get_document(id).await,
        None => Err(AppError::NotFound),
    }
}

#[component]
pub fn DocumentPage() -> impl IntoView {
    let id = id_param();
    let share = ServerAction::<ShareDocument>::new();
    let revoke = ServerAction::<RevokeDocument>::new();
    let delete = ServerAction::<DeleteDocument>::new();
    let retry = ServerAction::<RetryDocument>::new();
    let rename = ServerAction::<RenameDocument>::new();
    let doc = Resource::new_blocking(move || id.get(), load_document);
    let flash = form_flash();
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let flash = flash.await.unwrap_or_default();
                match doc.await {
                    Ok(d) => view! { <DocumentDetails doc=d share revoke delete retry rename flash/> }.into_any(),
                    Err(e) => view! { <DocumentMissing error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn DocumentMissing(error: AppError) -> impl IntoView {
    set_error_status(&error);
    if error == AppError::NotFound {
        view! {
            <Title text="Document not found · Bartleby"/>
            <section class="notice">
                <h1>"Document not found"</h1>
                <p>"There is no such document among yours or those shared with you. It may have been deleted."</p>
                <p><a href="/documents">"Back to your documents"</a></p>
            </section>
        }
        .into_any()
    } else {
        view! { <ErrorNotice error=error/> }.into_any()
    }
}

#[component]
fn DocumentDetails(
    doc: DocumentDetail,
    share: ServerAction<ShareDocument>,
    revoke: ServerAction<RevokeDocument>,
    delete: ServerAction<DeleteDocument>,
    retry: ServerAction<RetryDocument>,
    rename: ServerAction<RenameDocument>,
    flash: FormFlash,
) -> impl IntoView {
    let row = doc.row.clone();
    let id = row.id;
    let query = use_query_map();
    let wanted_page = move || query.read().get("page").and_then(|p| p.parse::<i32>().ok());
    // from a search result: the words searched for, marked on the page it led to (every page of
    // a document without pages)
    let terms = crate::words::query_terms(&query.read_untracked().get("q").unwrap_or_default());
    let wanted = query.read_untracked().get("page").and_then(|p| p.parse::<i32>().ok());
    // a refused change (sharing with an unknown email, …) comes back with its reason
    // (the share form's beside it, with the email typed; any other at the top of the page)
    let typed_email = flash.text("email");
    let (share_error, page_error) = if typed_email.is_some() { (flash.error, None) } else { (None, flash.error) };
    let share_error = Signal::derive(move || share_error.clone());

    let paged = row.doc_type.is_paged();
    let page_label = if row.doc_type == DocType::Xlsx { "Sheet" } else { "Page" };
    let reflowed = matches!(row.doc_type, DocType::Pdf | DocType::Image);
    let shared_with = doc.shared_with.clone();
    view! {
        <Title text=format!("{} · Bartleby", row.title)/>
        <p class="crumbs"><a href="/documents">"Documents"</a> " / "</p>
        <div class="page-head">
            <h1 data-testid="document-title">{row.title.clone()}</h1>
            <div class="actions">
                <a href=format!("/documents/{id}/file") class="button" download=row.file_name.clone()>"Download"</a>
            </div>
        </div>
        {doc.is_owner.then(|| {
            let title = row.title.clone();
            view! {
            <details class="rename">
                <summary>"Rename"</summary>
                <ActionForm action=rename attr:class="inline">
                    <input type="hidden" name="id" value=id/>
                    <label for="document-title-input">"Title"</label>
                    <input id="document-title-input" name="title" value=title maxlength="200" required=true autocomplete="off"/>
                    <button type="submit">"Save the title"</button>
                </ActionForm>
            </details>
            }
        })}
        {page_error.map(|e| view! { <FormError error=Signal::derive(move || Some(e.clone()))/> })}
        {row.owner_email.clone().map(|e| view! { <p class="notice" data-testid="shared-by">"Shared with you by " {e} " (read-only)."</p> })}
        // while the document is read, its details, summary and text follow it in place
        <dl class="details" id="document-details">
            <dt>"Status"</dt>
            <dd data-pending=row.status.is_pending().then_some("")><StatusCell row=row.clone()/></dd>
            <dt>"File"</dt><dd>{row.file_name.clone()}</dd>
            <dt>"Type"</dt><dd>{row.doc_type.label()}</dd>
            <dt>"Size"</dt><dd>{crate::format::bytes(row.bytes)}</dd>
            {row.pages.map(|p| view! { <dt>{if paged && row.doc_type == DocType::Xlsx { "Sheets" } else { "Pages" }}</dt><dd>{p}</dd> })}
            <dt>"Added"</dt><dd>{row.created_at.clone()}</dd>
        </dl>
        {row.status.is_pending().then(|| {
            let ids = ["document-details", "document-after", "document-text"].map(str::to_owned).to_vec();
            view! { <LiveRegions ids reload_when_done=false/> }
        })}
        <div id="document-after">
        {(doc.is_owner && matches!(row.status, DocStatus::Failed | DocStatus::NoText)).then(|| view! {
            <ActionForm action=retry attr:class="inline">
                <input type="hidden" name="id" value=id/>
                <button type="submit" data-testid="retry">"Try again"</button>
            </ActionForm>
        })}
        {doc.summary.clone().map(|s| view! {
            <section aria-labelledby="summary-title">
                <h2 id="summary-title">"Summary"</h2>
                <p class="summary" data-testid="summary">{s}</p>
                <p class="hint">"Sentences taken from the passage most representative of the whole document."</p>
            </section>
        })}
        </div>
        {doc.is_owner.then(|| view! {
            <section class="sharing" aria-labelledby="sharing-title">
                <h2 id="sharing-title">"Sharing"</h2>
                {if shared_with.clone().is_empty() {
                    view! { <p class="muted">"Only you can see this document."</p> }.into_any()
                } else {
                    view! {
                        <ul class="grantees" data-testid="grantees">
                            {shared_with.clone().into_iter().map(|g| view! {
                                <li>
                                    {g.email.clone()} <span class="hint">" since " {g.granted_at.clone()}</span>
                                    <ActionForm action=revoke attr:class="inline">
                                        <input type="hidden" name="id" value=id/>
                                        <input type="hidden" name="grantee" value=g.user_id/>
                                        <button type="submit" class="link">"Stop sharing"</button>
                                    </ActionForm>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
                <ActionForm action=share attr:class="share-form">
                    <FormError error=share_error/>
                    <input type="hidden" name="id" value=id/>
                    <label for="share-email">"Share with (their Bartleby email)"</label>
                    <input id="share-email" name="email" type="email" value=typed_email required=true autocomplete="off"/>
                    <button type="submit">"Share, read-only"</button>
                </ActionForm>
            </section>
            <details class="danger-zone">
                <summary>"Delete this document"</summary>
                <p>"The file, its text and its search index are removed. People you shared it with lose access."</p>
                <ActionForm action=delete attr:class="inline">
                    <input type="hidden" name="id" value=id/>
                    <button type="submit" class="danger" data-testid="confirm-delete">"Delete for good"</button>
                </ActionForm>
            </details>
        })}
        <section class="document-text" id="document-text" aria-labelledby="text-title">
            <h2 id="text-title">"Text"</h2>
            {if doc.pages.is_empty() {
                view! { <p class="muted">"No text yet."</p> }.into_any()
            } else {
                doc.pages
                    .into_iter()
                    .map(|p| {
                        let n = p.page;
                        let terms = if !paged || wanted == Some(n) { terms.clone() } else { Vec::new() };
                        view! {
                            <section id=format!("page-{n}") class="page" class:wanted=move || wanted_page() == Some(n)>
                                {paged.then(|| view! { <h3>{page_label} " " {n}</h3> })}
                                {if reflowed {
                                    // a PDF's text keeps the lines of its printed column: shown as paragraphs
                                    view! {
                                        <div class="extracted">
                                            {reflow(&p.text).into_iter().map(|para| view! { <p>{marked(&para, &terms)}</p> }).collect_view()}
                                        </div>
                                    }
                                        .into_any()
                                } else {
                                    view! { <pre class="extracted">{marked(&p.text, &terms)}</pre> }.into_any()
                                }}
                            </section>
                        }
                    })
                    .collect_view()
                    .into_any()
            }}
        </section>
    }
}

/// `text` with every word a search's `terms` match (`words::is_hit`, as in the results'
/// snippets) in `<mark>` (as text: nothing is written as markup).
fn marked(text: &str, terms: &[String]) -> impl IntoView {
    let mut out: Vec<AnyView> = Vec::new();
    let mut plain = String::new();
    let mut word = String::new();
    let flush_word = |word: &mut String, plain: &mut String, out: &mut Vec<AnyView>| {
        if word.is_empty() {
            return;
        }
        if crate::words::is_hit(word, terms) {
            if !plain.is_empty() {
                out.push(std::mem::take(plain).into_any());
            }
            let w = std::mem::take(word);
            out.push(view! { <mark>{w}</mark> }.into_any());
        } else {
            plain.push_str(word);
            word.clear();
        }
    };
    for c in text.chars() {
        if c.is_alphanumeric() {
            word.push(c);
        } else {
            flush_word(&mut word, &mut plain, &mut out);
            plain.push(c);
        }
    }
    flush_word(&mut word, &mut plain, &mut out);
    if !plain.is_empty() {
        out.push(plain.into_any());
    }
    out
}

/// A PDF page's text as paragraphs: lines of one paragraph (as `pdftotext` prints them, one per
/// printed line) joined with spaces, a word broken after a hyphen at a line's end joined again, and a
/// blank line (or a line that ends a sentence and is much shorter than its neighbours) ending a
/// paragraph.
pub fn reflow(text: &str) -> Vec<String> {
    let mut paragraphs = Vec::new();
    let mut current = String::new();
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let longest = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    for line in &lines {
        if line.is_empty() {
            if !current.is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
            continue;
        }
        if current.is_empty() {
            current.push_str(line);
        } else if current.ends_with('-')
            && current.chars().rev().nth(1).is_some_and(char::is_alphabetic)
            && line.chars().next().is_some_and(char::is_lowercase)
        {
            // "well-" + "fed": the hyphen may be the word's own, so it stays; only the break goes
            current.push_str(line);
        } else {
            current.push(' ');
            current.push_str(line);
        }
        // a short line that ends a sentence ends its paragraph
        let short = line.chars().count() * 3 < longest * 2;
        if short && line.ends_with(['.', '!', '?', ':']) {
            paragraphs.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        paragraphs.push(current);
    }
    paragraphs
}

#[cfg(test)]
mod tests {
    use super::{marked, reflow};
    use crate::words::query_terms;
    use leptos::prelude::RenderHtml;

    #[test]
    fn the_words_searched_for_are_marked_as_text() {
        let terms = query_terms("the Tomato <b>sun");
        let html = marked("Tomatoes need <full> sun, the gardener says.", &terms).to_html();
        assert!(html.contains("<mark>Tomatoes</mark>") && html.contains("<mark>sun</mark>"), "{html}");
        assert!(html.contains("&lt;full&gt;") && !html.contains("<full>"), "{html}");
        // the words the results' snippets would not mark are not marked here either
        assert!(!html.contains("<mark>the</mark>") && !html.contains("<mark>b</mark>"), "{html}");
        assert!(!marked("nothing here", &terms).to_html().contains("<mark>"));
    }

    #[test]
    fn a_pdf_column_becomes_paragraphs() {
        let page = "Pinch out the side shoots of tomatoes\nevery week, and water them at the\nroots, never the leaves.\n\nA well-\nfed plant fruits longer; a starved\none drops its flowers.\nHarvest when red.\n";
        assert_eq!(
            reflow(page),
            [
                "Pinch out the side shoots of tomatoes every week, and water them at the roots, never the leaves.",
                "A well-fed plant fruits longer; a starved one drops its flowers.",
                "Harvest when red.",
            ]
        );
        // a hyphen that belongs to the words stays
        assert_eq!(reflow("Bartleby-\nStyle"), ["Bartleby- Style"]);
        assert_eq!(reflow("state-of-the-\nart"), ["state-of-the-art"]);
        assert!(reflow("\n\n").is_empty());
    }
}

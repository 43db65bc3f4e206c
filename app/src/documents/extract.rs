//! Recognising a document's type by its content and extracting its text, page by page.
//!
//! Every file here is untrusted: PDFs go to poppler's `pdftotext` in a separate process with a time
//! and memory limit; zip-based formats (DOCX, XLSX) are checked for their expanded size before
//! anything is decompressed, and reads are capped.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use super::types::DocType;

/// The most text taken from one document (a 100 MB file of text is a lot of reading already).
const MAX_TEXT_BYTES: u64 = 64 * 1024 * 1024;
/// The most a zip-based document may expand to, all entries together.
const MAX_UNZIPPED_BYTES: u64 = 256 * 1024 * 1024;
const MAX_ZIP_ENTRIES: usize = 10_000;
const PDF_TIMEOUT: Duration = Duration::from_secs(120);
/// Address-space limit for `pdftotext` (prlimit --as).
const PDF_MEMORY: u64 = 1024 * 1024 * 1024;

/// Why no text came out. Each has a message for the documents page.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ExtractError {
    #[error("No text found: the file has no text layer (a scanned document?) or is empty.")]
    NoText,
    #[error("This PDF is password-protected; Bartleby cannot read it.")]
    Encrypted,
    #[error("The file is damaged and could not be read ({0}).")]
    Damaged(String),
    #[error("The file expands to more than {} MB when unpacked; refused as a possible zip bomb.", MAX_UNZIPPED_BYTES / (1024 * 1024))]
    ZipBomb,
    #[error("Reading the file took longer than {} seconds; stopped.", PDF_TIMEOUT.as_secs())]
    Timeout,
    #[error("The text extractor is not installed ({0}); run scripts/setup.sh.")]
    ToolMissing(&'static str),
}

impl ExtractError {
    /// Worth retrying later (the file itself is fine)?
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::ToolMissing(_))
    }
}

/// The text of a document: one entry per page (formats without pages have one).
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    pub pages: Vec<String>,
    /// True when the format has real pages (PDF) or sheets (XLSX).
    pub paged: bool,
}

/// Recognises a document by its first bytes and, for zip containers, its entries; text formats by
/// their name's extension once the content is known to be text. `None`: not a type Bartleby reads.
pub fn detect(path: &Path, file_name: &str) -> Option<DocType> {
    let mut head = [0u8; 8192];
    let n = std::fs::File::open(path).and_then(|mut f| f.read(&mut head)).ok()?;
    let head = &head[..n];
    if head.len() >= 5 && head[..head.len().min(1024)].windows(5).any(|w| w == b"%PDF-") {
        return Some(DocType::Pdf);
    }
    if head.starts_with(b"PK\x03\x04") {
        let archive = zip::ZipArchive::new(std::fs::File::open(path).ok()?).ok()?;
        let has = |name: &str| archive.index_for_name(name).is_some();
        return if has("word/document.xml") {
            Some(DocType::Docx)
        } else if has("xl/workbook.xml") {
            Some(DocType::Xlsx)
        } else {
            None
        };
    }
    // text: no NUL bytes, and UTF-8 (a multi-byte character cut at the end of the sample is fine)
    if head.contains(&0) {
        return None;
    }
    if let Err(e) = std::str::from_utf8(head) {
        if e.error_len().is_some() {
            return None;
        }
    }
    let ext = file_name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    let lower = String::from_utf8_lossy(&head[..head.len().min(512)]).to_ascii_lowercase();
    Some(match ext.as_str() {
        "html" | "htm" | "xhtml" => DocType::Html,
        "md" | "markdown" => DocType::Md,
        _ if lower.trim_start().starts_with("<!doctype html") || lower.trim_start().starts_with("<html") => {
            DocType::Html
        }
        _ => DocType::Txt,
    })
}

/// Extracts the text of a file of a known type. Blocking for the in-process formats: call from
/// `spawn_blocking`, except PDF which is async (a subprocess).
pub async fn extract(path: &Path, doc_type: DocType) -> Result<Extracted, ExtractError> {
    let extracted = match doc_type {
        DocType::Pdf => pdf(path).await?,
        other => {
            let path = path.to_owned();
            tokio::task::spawn_blocking(move || match other {
                DocType::Docx => docx(&path),
                DocType::Xlsx => xlsx(&path),
                DocType::Html => html(&path),
                DocType::Md | DocType::Txt => text(&path),
                DocType::Pdf => Err(ExtractError::Damaged("unreachable".into())),
            })
            .await
            .map_err(|e| ExtractError::Damaged(format!("extractor crashed: {e}")))??
        }
    };
    if extracted.pages.iter().all(|p| p.trim().is_empty()) {
        return Err(ExtractError::NoText);
    }
    Ok(extracted)
}

/// pdfinfo and pdftotext, limited: a hostile PDF cannot take the machine's memory or time.
async fn run_limited(program: &'static str, args: &[&std::ffi::OsStr]) -> Result<std::process::Output, ExtractError> {
    use crate::server::limited::{run, ToolError};
    run(program, args, PDF_MEMORY, PDF_TIMEOUT).await.map_err(|e| match e {
        ToolError::Timeout => ExtractError::Timeout,
        ToolError::Missing(tool) => ExtractError::ToolMissing(tool),
        ToolError::Io(e) => ExtractError::Damaged(e),
    })
}

async fn pdf(path: &Path) -> Result<Extracted, ExtractError> {
    let p = path.as_os_str();
    let info = run_limited("pdfinfo", &[p]).await?;
    let info_err = String::from_utf8_lossy(&info.stderr);
    // a PDF with only an owner password (print/copy restrictions) still opens; a user password does not
    if info_err.contains("Incorrect password") {
        return Err(ExtractError::Encrypted);
    }
    if !info.status.success() {
        let reason = info_err.lines().find(|l| !l.trim().is_empty()).unwrap_or("unreadable").trim().to_owned();
        return Err(ExtractError::Damaged(reason));
    }
    let out = run_limited("pdftotext", &["-enc".as_ref(), "UTF-8".as_ref(), "-q".as_ref(), p, "-".as_ref()]).await?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        if err.contains("password") {
            return Err(ExtractError::Encrypted);
        }
        return Err(ExtractError::Damaged(format!("pdftotext exit {}", out.status.code().unwrap_or(-1))));
    }
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.truncate(floor_char_boundary(&text, MAX_TEXT_BYTES as usize));
    // pdftotext ends every page with a form feed
    let mut pages: Vec<String> = text.split('\x0c').map(tidy).collect();
    if pages.len() > 1 && pages.last().is_some_and(|p| p.is_empty()) {
        pages.pop();
    }
    Ok(Extracted { pages, paged: true })
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    (0..=max).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0)
}

/// Collapses runs of spaces, trims lines and drops runs of blank lines beyond one.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.lines() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.trim().to_owned()
}

/// Opens a zip container after checking its entry count and declared expanded size.
fn open_zip(path: &Path) -> Result<zip::ZipArchive<std::fs::File>, ExtractError> {
    let file = std::fs::File::open(path).map_err(|e| ExtractError::Damaged(e.to_string()))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| ExtractError::Damaged(e.to_string()))?;
    if archive.len() > MAX_ZIP_ENTRIES {
        return Err(ExtractError::ZipBomb);
    }
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|e| ExtractError::Damaged(e.to_string()))?;
        total = total.saturating_add(entry.size());
    }
    if total > MAX_UNZIPPED_BYTES {
        return Err(ExtractError::ZipBomb);
    }
    Ok(archive)
}

/// Reads one entry, never more than `MAX_TEXT_BYTES` (declared sizes can lie).
fn read_entry(archive: &mut zip::ZipArchive<std::fs::File>, name: &str) -> Result<String, ExtractError> {
    let entry = archive.by_name(name).map_err(|e| ExtractError::Damaged(e.to_string()))?;
    let mut bytes = Vec::new();
    entry.take(MAX_TEXT_BYTES + 1).read_to_end(&mut bytes).map_err(|e| ExtractError::Damaged(e.to_string()))?;
    if bytes.len() as u64 > MAX_TEXT_BYTES {
        return Err(ExtractError::ZipBomb);
    }
    String::from_utf8(bytes).map_err(|_| ExtractError::Damaged("not UTF-8 XML".into()))
}

/// DOCX: the `w:t` runs of `word/document.xml`, a newline per paragraph, a tab per table cell.
fn docx(path: &Path) -> Result<Extracted, ExtractError> {
    use quick_xml::events::Event;
    let mut archive = open_zip(path)?;
    let xml = read_entry(&mut archive, "word/document.xml")?;
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut out = String::new();
    let mut in_text = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) if e.name().as_ref() == "w:t" => in_text = true,
            Ok(Event::End(e)) => match e.name().as_ref() {
                "w:t" => in_text = false,
                "w:p" => out.push('\n'),
                "w:tc" => out.push('\t'),
                _ => {}
            },
            Ok(Event::Empty(e)) => match e.name().as_ref() {
                "w:tab" => out.push('\t'),
                "w:br" | "w:cr" => out.push('\n'),
                _ => {}
            },
            Ok(Event::Text(t)) if in_text => out.push_str(&t.xml10_content()),
            Ok(Event::GeneralRef(r)) if in_text => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    out.push(c);
                } else if let Some(s) = quick_xml::escape::resolve_predefined_entity(&r.into_inner()) {
                    out.push_str(s);
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(ExtractError::Damaged(format!("document.xml: {e}"))),
        }
    }
    Ok(Extracted { pages: vec![tidy(&out)], paged: false })
}

/// XLSX: each sheet's cached cell values, a row per line, cells separated by tabs; one page per sheet.
fn xlsx(path: &Path) -> Result<Extracted, ExtractError> {
    use calamine::Reader;
    drop(open_zip(path)?); // the size checks, before calamine decompresses anything
    let mut book = calamine::open_workbook_auto(path).map_err(|e| ExtractError::Damaged(e.to_string()))?;
    let mut pages = Vec::new();
    for name in book.sheet_names() {
        let Ok(range) = book.worksheet_range(&name) else { continue };
        let mut page = format!("{name}\n");
        for row in range.rows() {
            let cells: Vec<String> = row.iter().map(|c| c.to_string()).collect();
            if cells.iter().any(|c| !c.trim().is_empty()) {
                page.push_str(cells.join("\t").trim_end());
                page.push('\n');
            }
        }
        pages.push(page.trim().to_owned());
    }
    if pages.is_empty() {
        return Err(ExtractError::NoText);
    }
    Ok(Extracted { pages, paged: true })
}

fn read_text(path: &Path) -> Result<String, ExtractError> {
    let file = std::fs::File::open(path).map_err(|e| ExtractError::Damaged(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_TEXT_BYTES).read_to_end(&mut bytes).map_err(|e| ExtractError::Damaged(e.to_string()))?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok(text.strip_prefix('\u{feff}').map(str::to_owned).unwrap_or(text))
}

/// HTML: the visible text (scripts and styles dropped), links kept as footnotes.
fn html(path: &Path) -> Result<Extracted, ExtractError> {
    let raw = read_text(path)?;
    let text = html2text::from_read(raw.as_bytes(), 100).map_err(|e| ExtractError::Damaged(e.to_string()))?;
    Ok(Extracted { pages: vec![tidy(&text)], paged: false })
}

fn text(path: &Path) -> Result<Extracted, ExtractError> {
    Ok(Extracted { pages: vec![tidy(&read_text(path)?)], paged: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_collapses_space_and_blank_lines() {
        assert_eq!(tidy("  a   b \n\n\n\n c\n"), "a b\n\nc");
    }

    #[test]
    fn char_boundary_never_splits_a_character() {
        let s = "aé";
        assert_eq!(floor_char_boundary(s, 2), 1);
        assert_eq!(floor_char_boundary(s, 10), 3);
    }
}

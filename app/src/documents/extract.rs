//! Recognising a document's type by its content and extracting its text, page by page.
//!
//! Every file here is untrusted. PDFs go to poppler's `pdftotext`, and every other format to a
//! child process of Bartleby itself (`bartleby parse extract`, [`crate::platform::sandbox`]), each
//! under a memory, CPU and time limit: a parser that blows up fails that one document, never the
//! server. Inside the child the parsers are bounded too: zip containers (DOCX, XLSX) are checked for
//! their expanded size before anything is decompressed, sheets are read cell by cell (never as a
//! dense rectangle sized by the cells' addresses), and reads are capped.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use super::types::DocType;
use crate::format::tidy;
use crate::platform::ocr::{self, OcrError};

/// The most text taken from one document (a 100 MB file of text is a lot of reading already).
const MAX_TEXT_BYTES: u64 = 64 * 1024 * 1024;
/// The most a zip-based document may expand to, all entries together.
const MAX_UNZIPPED_BYTES: u64 = 256 * 1024 * 1024;
const MAX_ZIP_ENTRIES: usize = 10_000;
const PDF_TIMEOUT: Duration = Duration::from_secs(120);
/// Address-space limit for `pdftotext` (prlimit --as).
const PDF_MEMORY: u64 = 1024 * 1024 * 1024;
/// The most cells read from one workbook, all sheets together.
const MAX_CELLS: usize = 5_000_000;

/// Why no text came out. Each has a message for the documents page.
#[derive(Debug, thiserror::Error, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ExtractError {
    #[error("No text found: the file is empty, or OCR found no words in it.")]
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
    ToolMissing(String),
    #[error("Reading this file needed more memory or time than Bartleby gives one document; it was stopped.")]
    Limits,
    #[error("The spreadsheet has more than {} cells; Bartleby reads spreadsheets up to that size.", MAX_CELLS)]
    TooManyCells,
    #[error("The image is larger than 100 megapixels; Bartleby reads scans and photos up to that size.")]
    TooManyPixels,
}

/// What OCR's failures mean for a document.
impl From<OcrError> for ExtractError {
    fn from(e: OcrError) -> Self {
        match e {
            OcrError::Timeout => Self::Timeout,
            OcrError::Missing(tool) => Self::ToolMissing(tool),
            OcrError::Limits => Self::Limits,
            OcrError::TooManyPixels => Self::TooManyPixels,
            OcrError::Damaged(why) => Self::Damaged(why),
        }
    }
}

/// A parser child that gave no answer: the file failed to read (as OCR's child reads it).
impl From<crate::platform::sandbox::SandboxError> for ExtractError {
    fn from(e: crate::platform::sandbox::SandboxError) -> Self {
        OcrError::from(e).into()
    }
}

impl ExtractError {
    /// Worth retrying later (the file itself is fine)?
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::ToolMissing(_))
    }
}

/// The text of a document: one entry per page (formats without pages have one).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Extracted {
    pub pages: Vec<String>,
    /// True when the format has real pages (PDF) or sheets (XLSX).
    pub paged: bool,
    /// How many pages' text was read by OCR.
    #[serde(default)]
    pub ocr_pages: usize,
    /// How many pages without text were not read by OCR (past the limit).
    #[serde(default)]
    pub ocr_skipped: usize,
    /// The title the document gives itself (a PDF's metadata, a page's `<title>`, a Markdown
    /// file's first heading), when it looks like one.
    #[serde(default)]
    pub title: Option<String>,
}

/// Recognises a document by its first bytes and, for zip containers, its entries; text formats by
/// their name's extension once the content is known to be text. `None`: not a type Bartleby reads.
pub fn detect(path: &Path, file_name: &str) -> Option<DocType> {
    let mut head = [0u8; 8192];
    let n = std::fs::File::open(path).and_then(|mut f| f.read(&mut head)).ok()?;
    let head = &head[..n];
    if ocr::ScanFormat::sniff(head).is_some() {
        return Some(DocType::Image);
    }
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

/// Extracts the text of a file of a known type: PDFs with poppler, every other format in a
/// limited child process (`bartleby parse extract TYPE PATH`). The text that comes back holds
/// nothing Postgres cannot store (NUL).
#[tracing::instrument(skip_all, fields(doc_type = doc_type.as_str()))]
pub async fn extract(
    path: &Path,
    doc_type: DocType,
    parser: &crate::platform::config::ParserLimits,
    progress: Option<&ocr::Progress>,
) -> Result<Extracted, ExtractError> {
    use crate::platform::sandbox;
    let mut extracted = match doc_type {
        DocType::Pdf => {
            let mut pdf = pdf(path).await?;
            (pdf.ocr_pages, pdf.ocr_skipped) = ocr::pdf_pages(path, &mut pdf.pages, parser, progress).await?;
            pdf
        }
        DocType::Image => {
            let pages = ocr::image(path, parser, progress).await?;
            let ocr_pages = pages.iter().filter(|p| ocr::letters(p) > 0).count();
            Extracted { paged: pages.len() > 1, pages, ocr_pages, ocr_skipped: 0, title: None }
        }
        other => {
            let args = ["extract".as_ref(), other.as_str().as_ref(), path.as_os_str()];
            let answer: Result<Extracted, ExtractError> =
                sandbox::run(&parser.exe, &args, parser.memory, parser.time).await.map_err(ExtractError::from)?;
            answer?
        }
    };
    for page in &mut extracted.pages {
        if page.contains('\0') {
            *page = page.replace('\0', "");
        }
    }
    if extracted.pages.iter().all(|p| p.trim().is_empty()) {
        return Err(ExtractError::NoText);
    }
    Ok(extracted)
}

/// The child's side of [`extract`]: reads a DOCX, XLSX, HTML or text file in this process.
/// Blocking; only for the parser child (and tests), which runs under limits.
pub fn extract_here(path: &Path, doc_type: DocType) -> Result<Extracted, ExtractError> {
    match doc_type {
        DocType::Docx => docx(path),
        DocType::Xlsx => xlsx(path),
        DocType::Html => html(path),
        DocType::Md => text(path, true),
        DocType::Txt => text(path, false),
        DocType::Pdf => Err(ExtractError::Damaged("PDFs are read by pdftotext".into())),
        DocType::Image => Err(ExtractError::Damaged("images are read by tesseract".into())),
    }
}

/// pdfinfo and pdftotext, limited: a hostile PDF cannot take the machine's memory or time.
async fn run_limited(program: &'static str, args: &[&std::ffi::OsStr]) -> Result<std::process::Output, ExtractError> {
    use crate::platform::limited::{run, ToolError};
    run(program, args, PDF_MEMORY, PDF_TIMEOUT).await.map_err(|e| match e {
        ToolError::Timeout => ExtractError::Timeout,
        ToolError::Missing(tool) => ExtractError::ToolMissing(tool.to_owned()),
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
    let title =
        String::from_utf8_lossy(&info.stdout).lines().find_map(|l| l.strip_prefix("Title:")).and_then(title_if_real);
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.truncate(floor_char_boundary(&text, MAX_TEXT_BYTES as usize));
    // pdftotext ends every page with a form feed
    let mut pages: Vec<String> = text.split('\x0c').map(tidy).collect();
    if pages.len() > 1 && pages.last().is_some_and(|p| p.is_empty()) {
        pages.pop();
    }
    Ok(Extracted { pages, paged: true, ocr_pages: 0, ocr_skipped: 0, title })
}

/// A title as a document gives it, unless it is empty, a file's name or a word processor's
/// placeholder ("Microsoft Word - report.docx", "untitled"), or too long to be one.
fn title_if_real(raw: &str) -> Option<String> {
    let title = super::service::clean_title(raw);
    let lower = title.to_lowercase();
    let placeholder = ["untitled", "microsoft word", "document1"].iter().any(|p| lower.starts_with(p))
        || lower == "title"
        || [".doc", ".pdf", ".odt", ".txt", ".rtf", ".xls"].iter().any(|e| lower.contains(e));
    let letters = title.chars().filter(|c| c.is_alphabetic()).count();
    (letters >= 3 && !placeholder && title.chars().count() <= super::service::TITLE_MAX).then_some(title)
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    (0..=max).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0)
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
    // the title in its properties, if it has them
    let title = read_entry(&mut archive, "docProps/core.xml").ok().and_then(|core| element_text(&core, "dc:title"));
    Ok(Extracted { pages: vec![tidy(&out)], paged: false, ocr_pages: 0, ocr_skipped: 0, title })
}

/// XLSX: each sheet's cached cell values, a row per line, cells separated by tabs; one page per
/// sheet. Cells are streamed in file order: a sheet with cells at `A1` and `XFD1048576` is two
/// cells, not the 17-billion-cell rectangle between them.
fn xlsx(path: &Path) -> Result<Extracted, ExtractError> {
    use calamine::Reader;
    drop(open_zip(path)?); // the size checks, before calamine decompresses anything
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook(path).map_err(|e: calamine::XlsxError| ExtractError::Damaged(e.to_string()))?;
    let mut pages = Vec::new();
    let (mut cells, mut bytes) = (0usize, 0usize);
    for name in book.sheet_names() {
        let Ok(mut reader) = book.worksheet_cells_reader(&name) else { continue };
        let mut page = format!("{name}\n");
        let mut line = String::new();
        let mut row = None;
        loop {
            let cell = match reader.next_cell() {
                Ok(Some(cell)) => cell,
                Ok(None) => break,
                Err(e) => return Err(ExtractError::Damaged(e.to_string())),
            };
            cells += 1;
            if cells > MAX_CELLS {
                return Err(ExtractError::TooManyCells);
            }
            let (r, _) = cell.get_position();
            let value = calamine::Data::from(cell.get_value().clone()).to_string();
            if value.trim().is_empty() {
                continue;
            }
            if row != Some(r) {
                if !line.is_empty() {
                    page.push_str(line.trim_end());
                    page.push('\n');
                    line.clear();
                }
                row = Some(r);
            } else {
                line.push('\t');
            }
            bytes += value.len() + 1;
            if bytes as u64 > MAX_TEXT_BYTES {
                break;
            }
            line.push_str(&value);
        }
        page.push_str(line.trim_end());
        pages.push(page.trim().to_owned());
        if bytes as u64 > MAX_TEXT_BYTES {
            break;
        }
    }
    if pages.is_empty() {
        return Err(ExtractError::NoText);
    }
    Ok(Extracted { pages, paged: true, ocr_pages: 0, ocr_skipped: 0, title: None })
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
    Ok(Extracted { pages: vec![tidy(&text)], paged: false, ocr_pages: 0, ocr_skipped: 0, title: html_title(&raw) })
}

/// The text of a page's `<title>`, its five named entities decoded.
fn html_title(raw: &str) -> Option<String> {
    element_text(raw, "title")
}

/// The text of the first `<name>` element (names compared without case), its five named
/// entities decoded, if it looks like a title.
fn element_text(raw: &str, name: &str) -> Option<String> {
    let lower = raw.to_ascii_lowercase();
    let start = lower.find(&format!("<{name}"))?;
    let open_end = start + lower[start..].find('>')? + 1;
    let end = open_end + lower[open_end..].find(&format!("</{name}"))?;
    let text = raw.get(open_end..end)?;
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    title_if_real(&text)
}

fn text(path: &Path, markdown: bool) -> Result<Extracted, ExtractError> {
    let text = read_text(path)?;
    // a Markdown file's first heading, when it is the first thing in it
    let title = markdown
        .then(|| {
            text.lines()
                .find(|l| !l.trim().is_empty())
                .and_then(|l| l.trim().strip_prefix("# "))
                .and_then(title_if_real)
        })
        .flatten();
    Ok(Extracted { pages: vec![tidy(&text)], paged: false, ocr_pages: 0, ocr_skipped: 0, title })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_collapses_space_and_blank_lines() {
        assert_eq!(tidy("  a   b \n\n\n\n c\n"), "a b\n\nc");
    }

    #[test]
    fn nul_and_control_characters_never_reach_the_text() {
        assert_eq!(tidy("a\0b\x07c\td"), "a b c d");
    }

    /// A small valid file of each zip-based type, for the mutation fuzzers below.
    fn valid_zip(doc_type: DocType) -> Vec<u8> {
        use std::io::Write;
        let entries: Vec<(&str, String)> = match doc_type {
            DocType::Docx => vec![(
                "word/document.xml",
                r#"<w:document xmlns:w="w"><w:body><w:p><w:r><w:t>Hello &amp; welcome</w:t></w:r></w:p></w:body></w:document>"#.into(),
            )],
            _ => vec![
                ("[Content_Types].xml", r#"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>"#.into()),
                ("_rels/.rels", r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.into()),
                ("xl/workbook.xml", r#"<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>"#.into()),
                ("xl/_rels/workbook.xml.rels", r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#.into()),
                ("xl/worksheets/sheet1.xml", r#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>cell</t></is></c><c r="B1"><v>42</v></c></row></sheetData></worksheet>"#.into()),
            ],
        };
        let mut buf = std::io::Cursor::new(Vec::new());
        let mut z = zip::ZipWriter::new(&mut buf);
        for (name, data) in entries {
            z.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
            z.write_all(data.as_bytes()).unwrap();
        }
        z.finish().unwrap();
        buf.into_inner()
    }

    fn extract_bytes(bytes: &[u8], doc_type: DocType) -> Result<Extracted, ExtractError> {
        let path =
            std::env::temp_dir().join(format!("bartleby-fuzz-{}-{:016x}", std::process::id(), rand::random::<u64>()));
        std::fs::write(&path, bytes).unwrap();
        let detected = detect(&path, "file.txt");
        let result = extract_here(&path, doc_type);
        let _ = std::fs::remove_file(&path);
        let _ = detected;
        result
    }

    #[test]
    fn the_valid_samples_are_read() {
        assert!(extract_bytes(&valid_zip(DocType::Docx), DocType::Docx).unwrap().pages[0].contains("Hello & welcome"));
        assert!(extract_bytes(&valid_zip(DocType::Xlsx), DocType::Xlsx).unwrap().pages[0].contains("cell\t42"));
    }

    proptest::proptest! {
        /// Any bytes under any type: an answer (text or a reason), never a panic.
        #[test]
        fn any_bytes_get_an_answer(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048), kind in 0usize..4) {
            let doc_type = [DocType::Docx, DocType::Xlsx, DocType::Html, DocType::Txt][kind];
            let _ = extract_bytes(&bytes, doc_type);
        }

        /// Valid DOCX and XLSX files with bytes changed: an answer, never a panic.
        #[test]
        fn damaged_office_files_get_an_answer(
            flips in proptest::collection::vec((proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>()), 1..16),
            xlsx in proptest::prelude::any::<bool>(),
        ) {
            let doc_type = if xlsx { DocType::Xlsx } else { DocType::Docx };
            let mut bytes = valid_zip(doc_type);
            for (at, value) in flips {
                let n = bytes.len();
                bytes[at % n] = value;
            }
            let _ = extract_bytes(&bytes, doc_type);
        }

        /// Text of any kind comes out without NUL or other control characters but tabs and newlines.
        #[test]
        fn extracted_text_is_storable(s in "\\PC*|[\\x00-\\x1f]*") {
            let t = tidy(&s);
            proptest::prop_assert!(!t.chars().any(|c| c.is_control() && c != '\t' && c != '\n'), "{:?}", t);
        }
    }

    #[test]
    fn a_document_s_own_title_is_taken_when_it_looks_like_one() {
        assert_eq!(title_if_real("  Boiler   service\tmanual "), Some("Boiler service manual".into()));
        assert_eq!(title_if_real("Microsoft Word - report.docx"), None);
        assert_eq!(title_if_real("scan0001.pdf"), None);
        assert_eq!(title_if_real("Untitled"), None);
        assert_eq!(title_if_real("12"), None);
        assert_eq!(title_if_real(&"long ".repeat(60)), None);
        assert_eq!(
            html_title("<html><head><TITLE>Fish &amp; Chips</TITLE></head></html>"),
            Some("Fish & Chips".into())
        );
        assert_eq!(html_title("<title>a</title"), None);
        assert_eq!(html_title("<p>no title</p>"), None);
        let core = r#"<cp:coreProperties xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Lease &amp; deposit</dc:title></cp:coreProperties>"#;
        assert_eq!(element_text(core, "dc:title"), Some("Lease & deposit".into()));
    }

    #[test]
    fn char_boundary_never_splits_a_character() {
        let s = "aé";
        assert_eq!(floor_char_boundary(s, 2), 1);
        assert_eq!(floor_char_boundary(s, 10), 3);
    }
}

//! OCR: the text of scans and photographed papers, read by Tesseract (Debian's `tesseract-ocr`).
//!
//! Image documents (JPEG, PNG, WebP, HEIC, TIFF with any number of pages) go to Tesseract whole;
//! the pages of a PDF that have no text layer are rasterised by poppler's `pdftoppm`, one at a
//! time, and read the same way. Every tool runs as a separate process under the parser's limits
//! (address space, CPU time, wall clock: [`crate::platform::limited`]), one core each. Tesseract
//! runs in its "automatic page segmentation with orientation and script detection" mode: a photo
//! taken sideways or upside down is turned as its orientation model says, and a few degrees of
//! skew are taken out by its layout analysis.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::config::ParserLimits;
use super::limited::{run, ToolError};
use crate::format::tidy;
use crate::storage::ImageExt;

/// Why OCR read nothing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OcrError {
    #[error("it took longer than its time limit")]
    Timeout,
    /// A tool (or one of Tesseract's languages: its Debian package) is not installed.
    #[error("{0} is not installed")]
    Missing(String),
    #[error("it needed more memory or time than one file may use")]
    Limits,
    #[error("the image is larger than 100 megapixels")]
    TooManyPixels,
    #[error("{0}")]
    Damaged(String),
}

impl From<super::sandbox::SandboxError> for OcrError {
    fn from(e: super::sandbox::SandboxError) -> Self {
        use super::sandbox::SandboxError;
        match e {
            SandboxError::Limits => Self::Limits,
            SandboxError::Timeout(_) => Self::Timeout,
            SandboxError::Missing(tool) => Self::Missing(tool.to_owned()),
            SandboxError::Crashed(why) | SandboxError::Io(why) => Self::Damaged(why),
        }
    }
}

/// The most pixels of an image read by OCR (a 100-megapixel scan is A4 at 1,200 dpi).
const MAX_PIXELS: u64 = 100_000_000;
/// A page whose text layer has fewer letters and digits than this is read by OCR.
pub const MIN_LETTERS: usize = 20;
/// Rasterising a PDF page: 300 dpi, but never more than this many pixels on its longer side.
const RASTER_DPI: f64 = 300.0;
const RASTER_MAX_SIDE: f64 = 7_000.0;

/// The image formats Bartleby reads as documents, recognised by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanFormat {
    Photo(ImageExt),
    /// Any number of pages (a fax, a scanner's multi-page output).
    Tiff,
}

impl ScanFormat {
    pub fn sniff(head: &[u8]) -> Option<Self> {
        if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
            return Some(Self::Tiff);
        }
        ImageExt::sniff(head).map(Self::Photo)
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Photo(ext) => ext.content_type(),
            Self::Tiff => "image/tiff",
        }
    }
    pub fn of_file(path: &Path) -> Option<Self> {
        use std::io::Read;
        let mut head = [0u8; 16];
        let n = std::fs::File::open(path).and_then(|mut f| f.read(&mut head)).ok()?;
        Self::sniff(&head[..n])
    }
}

/// OCR's progress, for the document's status: pages read, pages to read.
pub type Progress = tokio::sync::watch::Sender<Option<(usize, usize)>>;

/// Letters and digits: how much text a page really has.
pub fn letters(text: &str) -> usize {
    text.chars().filter(|c| c.is_alphanumeric()).count()
}

/// A scratch directory for one document's page images, removed with everything in it when
/// dropped (on every path out, errors included).
struct Scratch(PathBuf);

impl Scratch {
    fn new(beside: &Path) -> Result<Self, OcrError> {
        let dir = beside.with_extension(format!("ocr-{:016x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).map_err(|e| OcrError::Damaged(format!("scratch directory: {e}")))?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tool_error(e: ToolError) -> OcrError {
    match e {
        ToolError::Timeout => OcrError::Timeout,
        ToolError::Missing(tool) => OcrError::Missing(tool.to_owned()),
        ToolError::Io(e) => OcrError::Damaged(e),
    }
}

/// What a failed run of a tool means: killed by a limit, out of memory, or a file it cannot read.
fn failure(out: &std::process::Output, tool: &str) -> OcrError {
    use std::os::unix::process::ExitStatusExt;
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.signal().is_some() || err.contains("alloc") || err.contains("memory") {
        return OcrError::Limits;
    }
    // Leptonica refuses an image of more than 2 GB before reading it
    if err.contains("requested bytes >= 2^31") {
        return OcrError::TooManyPixels;
    }
    if let Some(lang) = err.lines().find_map(|l| l.split("Failed loading language '").nth(1)) {
        let lang = lang.split('\'').next().unwrap_or("eng");
        return OcrError::Missing(format!("tesseract-ocr-{}", lang.replace('_', "-")));
    }
    let reason =
        err.lines().map(str::trim).find(|l| l.starts_with("Error") || l.contains("rror:")).unwrap_or("no output");
    OcrError::Damaged(format!("{tool}: {}", reason.chars().take(200).collect::<String>()))
}

/// The parser child's side of [`prepare`]: decodes an image (JPEG, PNG, WebP, or the PGM poppler
/// draws a PDF page as), turns it as its EXIF orientation says, makes it grey and takes out
/// speckle noise (a 3 × 3 median), and writes it to `output` as PGM for Tesseract. Without the
/// median, Tesseract's page layout took a noisy photographed page for a picture and read a
/// few lines of it, or none (`bartleby-bench ocr`). Blocking; only for the parser child.
pub fn prepare_here(input: &Path, output: &Path) -> Result<(), String> {
    use image::ImageDecoder;
    let mut reader = image::ImageReader::open(input).map_err(|e| e.to_string())?;
    reader.no_limits(); // the size was checked before; the child's address space is the limit
    let mut decoder =
        reader.with_guessed_format().map_err(|e| e.to_string())?.into_decoder().map_err(|e| e.to_string())?;
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = image::DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?;
    img.apply_orientation(orientation);
    let mut gray = median3(&img.into_luma8());
    let skew = skew_degrees(&gray);
    if skew.abs() >= 0.2 {
        gray = turned(&gray, skew);
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(output).map_err(|e| e.to_string())?);
    use std::io::Write;
    write!(out, "P5\n{} {}\n255\n", gray.width(), gray.height()).map_err(|e| e.to_string())?;
    out.write_all(gray.as_raw()).and_then(|()| out.flush()).map_err(|e| e.to_string())
}

/// The angle of a page's lines of text, in degrees (positive: they fall to the right), within
/// ±6°: the angle at which the dark pixels of a reduced copy stack into the sharpest rows (the
/// projection-profile method), to a tenth of a degree. Tesseract reads lines a few degrees off
/// the level poorly: pages turned 2.5-4° lost most of their words.
fn skew_degrees(img: &image::GrayImage) -> f64 {
    let (w, h) = img.dimensions();
    let step = (w.max(h) / 1000).max(1);
    let mut dark: Vec<(f64, f64)> = Vec::new();
    for y in (0..h).step_by(step as usize) {
        for x in (0..w).step_by(step as usize) {
            if img.get_pixel(x, y).0[0] < 128 {
                dark.push((f64::from(x / step), f64::from(y / step)));
            }
        }
    }
    if dark.len() < 100 || dark.len() > 2_000_000 {
        return 0.0;
    }
    let rows = (f64::from(w.max(h) / step) * 2.0) as usize + 2;
    let mut counts = vec![0u32; rows];
    let mut score = |degrees: f64| -> f64 {
        let (sin, cos) = degrees.to_radians().sin_cos();
        counts.iter_mut().for_each(|c| *c = 0);
        let offset = rows as f64 / 2.0;
        for &(x, y) in &dark {
            let r = (y * cos - x * sin + offset) as usize;
            if let Some(c) = counts.get_mut(r) {
                *c += 1;
            }
        }
        counts.iter().map(|&c| f64::from(c) * f64::from(c)).sum()
    };
    let best = |from: f64, to: f64, by: f64, score: &mut dyn FnMut(f64) -> f64| -> f64 {
        let n = ((to - from) / by).round() as i32;
        (0..=n)
            .map(|i| from + f64::from(i) * by)
            .map(|a| (a, score(a)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(0.0, |(a, _)| a)
    };
    let coarse = best(-6.0, 6.0, 0.5, &mut score);
    best(coarse - 0.5, coarse + 0.5, 0.1, &mut score)
}

/// The page turned so that lines at `degrees` become level (bilinear; white where there was no
/// paper). The OCR benchmark turns its pages askew with it.
pub fn turned(img: &image::GrayImage, degrees: f64) -> image::GrayImage {
    let (w, h) = img.dimensions();
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = (f64::from(w) / 2.0, f64::from(h) / 2.0);
    let src = img.as_raw();
    let (wi, hi) = (i64::from(w), i64::from(h));
    let at = |x: i64, y: i64| -> f64 {
        if x < 0 || y < 0 || x >= wi || y >= hi {
            255.0
        } else {
            f64::from(src[(y * wi + x) as usize])
        }
    };
    image::GrayImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (f64::from(x) - cx, f64::from(y) - cy);
        let (sx, sy) = (cos * dx - sin * dy + cx, sin * dx + cos * dy + cy);
        let (x0, y0) = (sx.floor(), sy.floor());
        let (fx, fy) = (sx - x0, sy - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        let v = at(x0, y0) * (1.0 - fx) * (1.0 - fy)
            + at(x0 + 1, y0) * fx * (1.0 - fy)
            + at(x0, y0 + 1) * (1.0 - fx) * fy
            + at(x0 + 1, y0 + 1) * fx * fy;
        image::Luma([v.round() as u8])
    })
}

/// Each pixel the median of its 3 × 3 neighbourhood (the edges keep their own).
fn median3(img: &image::GrayImage) -> image::GrayImage {
    let (w, h) = img.dimensions();
    let src = img.as_raw();
    let mut out = src.clone();
    let (w, h) = (w as usize, h as usize);
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let mut v = [0u8; 9];
            for (k, dy) in [y - 1, y, y + 1].into_iter().enumerate() {
                v[k * 3..k * 3 + 3].copy_from_slice(&src[dy * w + x - 1..dy * w + x + 2]);
            }
            v.sort_unstable();
            out[y * w + x] = v[4];
        }
    }
    image::GrayImage::from_raw(w as u32, h as u32, out).unwrap_or_else(|| img.clone())
}

/// Runs [`prepare_here`] in the limited parser child: `input` → `output` (PGM).
async fn prepare(input: &Path, output: &Path, limits: &ParserLimits) -> Result<(), OcrError> {
    let args = ["ocr-prepare".as_ref(), input.as_os_str(), output.as_os_str()];
    let answer: Result<(), String> = super::sandbox::run(&limits.exe, &args, limits.memory, limits.time).await?;
    answer.map_err(|why| OcrError::Damaged(format!("the image could not be decoded: {why}")))
}

/// Tesseract on one image file: its text, one entry per page (a multi-page TIFF has several).
async fn tesseract(image: &Path, limits: &ParserLimits) -> Result<Vec<String>, OcrError> {
    let args: [&OsStr; 6] = [
        image.as_os_str(),
        "stdout".as_ref(),
        "-l".as_ref(),
        limits.ocr_languages.as_ref(),
        "--psm".as_ref(),
        "1".as_ref(),
    ];
    let out = run("tesseract", &args, limits.memory, limits.time).await.map_err(tool_error)?;
    if !out.status.success() {
        return Err(failure(&out, "tesseract"));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    // an image Leptonica could not read is an empty page and a success, with the reason on stderr
    if text.trim().is_empty() && String::from_utf8_lossy(&out.stderr).contains("Error in ") {
        return Err(failure(&out, "tesseract"));
    }
    // Tesseract ends every page with a form feed
    let mut pages: Vec<String> = text.split('\x0c').map(tidy).collect();
    while pages.len() > 1 && pages.last().is_some_and(String::is_empty) {
        pages.pop();
    }
    Ok(pages)
}

/// An image (a scan, a photographed paper, a photo of a thing): its text, a page per page (a
/// multi-page TIFF has several). HEIC is decoded to PNG first (libheif's tool, as
/// for photos); an image of more than 100 megapixels is refused before anything decodes it.
pub async fn image(path: &Path, limits: &ParserLimits, progress: Option<&Progress>) -> Result<Vec<String>, OcrError> {
    let format = ScanFormat::of_file(path).ok_or_else(|| OcrError::Damaged("not an image".into()))?;
    let too_big = |(w, h): (u32, u32)| u64::from(w) * u64::from(h) > MAX_PIXELS;
    let scratch = Scratch::new(path)?;
    // what the parser child decodes and prepares (a TIFF goes to Tesseract as it is)
    let decodable = match format {
        ScanFormat::Photo(ImageExt::Heic) => {
            let size = super::heic::dimensions(path)
                .await
                .map_err(|_| OcrError::Damaged("the HEIC file could not be read".into()))?;
            if too_big(size) {
                return Err(OcrError::TooManyPixels);
            }
            let png = scratch.0.join("photo.png");
            super::heic::to_png(path, &png).await.map_err(OcrError::Damaged)?;
            Some(png)
        }
        ScanFormat::Photo(_) => {
            let p = path.to_owned();
            let size = tokio::task::spawn_blocking(move || {
                let mut reader = image::ImageReader::open(&p).ok()?.with_guessed_format().ok()?;
                // only the header is read: the size is judged here, not by the decoder's limits
                reader.no_limits();
                reader.into_dimensions().ok()
            })
            .await
            .ok()
            .flatten()
            .ok_or_else(|| OcrError::Damaged("the image's header could not be read".into()))?;
            if too_big(size) {
                return Err(OcrError::TooManyPixels);
            }
            Some(path.to_owned())
        }
        // read by Tesseract page by page, within the parser's memory limit
        ScanFormat::Tiff => None,
    };
    let source = match decodable {
        Some(image) => {
            let ready = scratch.0.join("photo.pgm");
            prepare(&image, &ready, limits).await?;
            ready
        }
        None => path.to_owned(),
    };
    if let Some(p) = progress {
        let _ = p.send(Some((0, 1)));
    }
    tesseract(&source, limits).await
}

/// The pages of a PDF whose text layer is (nearly) empty, read by OCR: each rasterised alone,
/// then read; a page keeps whichever text has more in it. At most `ocr_max_pages` pages are
/// read. A page that fails (a limit, a damaged image) keeps its own text; a missing tool fails
/// the whole (it is worth a retry once installed). Returns how many pages took OCR's text, and
/// how many pages without text were left unread by the limit.
pub async fn pdf_pages(
    path: &Path,
    pages: &mut [String],
    limits: &ParserLimits,
    progress: Option<&Progress>,
) -> Result<(usize, usize), OcrError> {
    let mut wanted: Vec<usize> = (0..pages.len()).filter(|&i| letters(&pages[i]) < MIN_LETTERS).collect();
    let skipped = wanted.len().saturating_sub(limits.ocr_max_pages);
    wanted.truncate(limits.ocr_max_pages);
    let (Some(&first), Some(&last)) = (wanted.first(), wanted.last()) else { return Ok((0, skipped)) };
    let sizes = page_sizes(path, first + 1, last + 1, limits).await?;
    let scratch = Scratch::new(path)?;
    let mut used = 0;
    for (k, &i) in wanted.iter().enumerate() {
        if let Some(p) = progress {
            let _ = p.send(Some((k, wanted.len())));
        }
        let n = (i + 1).to_string();
        let dpi = sizes.get(&(i + 1)).map_or(RASTER_DPI, |&(w, h)| dpi_for(w, h));
        let prefix = scratch.0.join("page");
        let dpi = format!("{dpi:.0}");
        let args: Vec<&OsStr> = vec![
            "-r".as_ref(),
            dpi.as_ref(),
            // PGM: poppler spent 13 s of every 14 compressing a 300-dpi page as PNG
            "-gray".as_ref(),
            "-singlefile".as_ref(),
            "-f".as_ref(),
            n.as_ref(),
            "-l".as_ref(),
            n.as_ref(),
            path.as_os_str(),
            prefix.as_os_str(),
        ];
        let (drawn, ready) = (scratch.0.join("page.pgm"), scratch.0.join("ready.pgm"));
        let read = async {
            let out = run("pdftoppm", &args, limits.memory, limits.time).await.map_err(tool_error)?;
            if !out.status.success() || !drawn.exists() {
                return Err(failure(&out, "pdftoppm"));
            }
            prepare(&drawn, &ready, limits).await?;
            tesseract(&ready, limits).await
        }
        .await;
        let _ = std::fs::remove_file(&drawn);
        let _ = std::fs::remove_file(&ready);
        match read {
            Ok(text) => {
                let text = text.join("\n\n");
                if letters(&text) > letters(&pages[i]) {
                    pages[i] = text;
                    used += 1;
                }
            }
            Err(e @ OcrError::Missing(_)) => return Err(e),
            Err(e) => tracing::warn!(page = i + 1, error = %e, "a page could not be read by OCR"),
        }
    }
    Ok((used, skipped))
}

/// 300 dpi, or less for a page so large its image would pass 7,000 pixels on a side.
fn dpi_for(width_pts: f64, height_pts: f64) -> f64 {
    let longest_inches = width_pts.max(height_pts) / 72.0;
    if longest_inches <= 0.0 || !longest_inches.is_finite() {
        return RASTER_DPI;
    }
    RASTER_DPI.min(RASTER_MAX_SIDE / longest_inches).max(10.0).floor()
}

/// The sizes of pages `first..=last` in points, by `pdfinfo -f first -l last`.
async fn page_sizes(
    path: &Path,
    first: usize,
    last: usize,
    limits: &ParserLimits,
) -> Result<std::collections::HashMap<usize, (f64, f64)>, OcrError> {
    let (f, l) = (first.to_string(), last.to_string());
    let args: [&OsStr; 5] = ["-f".as_ref(), f.as_ref(), "-l".as_ref(), l.as_ref(), path.as_os_str()];
    let out = run("pdfinfo", &args, limits.memory, limits.time).await.map_err(tool_error)?;
    Ok(parse_page_sizes(&String::from_utf8_lossy(&out.stdout)))
}

/// `Page    3 size: 612 x 792 pts (letter)` → {3: (612, 792)}.
fn parse_page_sizes(info: &str) -> std::collections::HashMap<usize, (f64, f64)> {
    info.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("Page")?;
            let (n, size) = rest.split_once("size:")?;
            let mut parts = size.split_whitespace();
            let w = parts.next()?.parse().ok()?;
            (parts.next()? == "x").then_some(())?;
            let h = parts.next()?.parse().ok()?;
            Some((n.trim().parse().ok()?, (w, h)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_recognised_by_their_first_bytes() {
        assert_eq!(ScanFormat::sniff(b"II*\0\x08\0\0\0"), Some(ScanFormat::Tiff));
        assert_eq!(ScanFormat::sniff(b"MM\0*\0\0\0\x08"), Some(ScanFormat::Tiff));
        assert_eq!(ScanFormat::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(ScanFormat::Photo(ImageExt::Jpeg)));
        assert_eq!(ScanFormat::sniff(b"%PDF-1.4"), None);
        assert_eq!(ScanFormat::sniff(b"II"), None);
    }

    #[test]
    fn page_sizes_are_read_from_pdfinfo() {
        let info = "Pages:          3\nPage    2 size: 612 x 792 pts (letter)\nPage    2 rot:  0\nPage    3 size: 595.276 x 841.89 pts (A4)\n";
        let sizes = parse_page_sizes(info);
        assert_eq!(sizes.get(&2), Some(&(612.0, 792.0)));
        assert_eq!(sizes.get(&3), Some(&(595.276, 841.89)));
        assert_eq!(sizes.len(), 2);
    }

    #[test]
    fn pages_are_rasterised_at_300_dpi_up_to_7000_pixels() {
        assert_eq!(dpi_for(612.0, 792.0), 300.0);
        // a poster two metres high: fewer dots per inch, the same bounded image
        assert!(dpi_for(2000.0, 5670.0) * 5670.0 / 72.0 <= 7000.0);
        assert_eq!(dpi_for(1e9, 1e9), 10.0);
        assert_eq!(dpi_for(0.0, f64::NAN), 300.0);
    }

    /// Lines of dark dashes, like lines of text, drawn at `degrees`.
    fn lines_at(degrees: f64) -> image::GrayImage {
        let (sin, cos) = degrees.to_radians().sin_cos();
        image::GrayImage::from_fn(800, 600, |x, y| {
            let (dx, dy) = (f64::from(x) - 400.0, f64::from(y) - 300.0);
            // the line coordinate across the text, and along it
            let (across, along) = (dy * cos - dx * sin, dx * cos + dy * sin);
            let ink = across.rem_euclid(30.0) < 6.0 && along.rem_euclid(20.0) < 14.0 && dx.abs() < 300.0;
            image::Luma([if ink { 0 } else { 255 }])
        })
    }

    #[test]
    fn a_skewed_page_is_measured_and_turned_level() {
        for degrees in [-4.0, -1.5, 0.0, 2.5, 3.7] {
            let page = lines_at(degrees);
            let found = skew_degrees(&page);
            assert!((found - degrees).abs() <= 0.15, "{degrees}° measured as {found}°");
            let level = turned(&page, found);
            assert!(skew_degrees(&level).abs() <= 0.15, "{degrees}° turned still {}", skew_degrees(&level));
        }
        // nothing to measure on a blank page
        assert_eq!(skew_degrees(&image::GrayImage::from_pixel(100, 100, image::Luma([255]))), 0.0);
    }

    #[test]
    fn a_page_turned_by_nothing_is_the_same_page() {
        let page = image::GrayImage::from_fn(30, 20, |x, y| image::Luma([((x * 7 + y * 3) % 256) as u8]));
        assert_eq!(turned(&page, 0.0), page);
    }

    #[test]
    fn the_median_takes_out_specks_and_keeps_strokes() {
        let mut page = image::GrayImage::from_pixel(20, 20, image::Luma([255]));
        page.put_pixel(5, 5, image::Luma([0])); // a speck
        for x in 2..18 {
            for y in 10..13 {
                page.put_pixel(x, y, image::Luma([0])); // a stroke three pixels wide
            }
        }
        let clean = median3(&page);
        assert_eq!(clean.get_pixel(5, 5).0[0], 255);
        assert_eq!(clean.get_pixel(9, 11).0[0], 0);
    }
}

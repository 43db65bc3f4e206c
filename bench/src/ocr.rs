//! OCR quality and speed: pages of known public-domain text (the State of the Union addresses of
//! `bench/retrieval`) printed to a PDF in three typefaces, drawn by poppler as a scanner would see
//! them, then made worse — turned a little, blurred, speckled, JPEG-compressed — and read back by
//! Bartleby's own OCR path (`extract` on an image document, and on a scanned PDF of the same
//! pages). Every page is made twice: clean-ish (300 dpi, under a degree of skew, light noise,
//! JPEG quality 80) and degraded (200 dpi, 2.5-4 degrees, a blur, heavy noise and specks, JPEG
//! quality 30). The same seed makes the same pages every run; `--out DIR` keeps them.
//!
//! Character accuracy is 1 - (edit distance ÷ characters of the text), spaces collapsed; word
//! accuracy the same over words (runs of letters and digits, as the ISRI OCR tools count them).
//! Beside it, the word accuracy of Tesseract alone on the same images (without the page turned
//! level and despeckled first): what that preparation is worth.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use app::documents::types::DocType;
use image::GrayImage;
use rand::{Rng, SeedableRng};

const PAGES: usize = 12;
/// Typeface, size in points, characters a line (a 6.5-inch measure).
type Face = (&'static str, f32, usize);
const FACES: [Face; 3] = [("Times-Roman", 11.0, 88), ("Helvetica", 10.0, 84), ("Courier", 10.0, 72)];
const LINES: usize = 42;

/// How a page is spoiled.
#[derive(Clone, Copy)]
struct Spoil {
    name: &'static str,
    dpi: u32,
    degrees: (f64, f64),
    blur: f32,
    noise: f64,
    specks: f64,
    quality: u8,
}

const CLEAN: Spoil =
    Spoil { name: "clean-ish", dpi: 300, degrees: (0.2, 0.9), blur: 0.0, noise: 6.0, specks: 0.0, quality: 80 };
const DEGRADED: Spoil =
    Spoil { name: "degraded", dpi: 200, degrees: (2.5, 4.0), blur: 0.8, noise: 22.0, specks: 0.002, quality: 30 };

pub async fn ocr(parser: app::platform::config::ParserLimits, out: Option<PathBuf>) -> Result<()> {
    let dir = std::env::var("BENCH_RETRIEVAL_DIR").unwrap_or_else(|_| "bench/retrieval".into());
    let pages = pages_of_text(Path::new(&dir).join("docs").as_path())?;
    let work = out.clone().unwrap_or_else(|| std::env::temp_dir().join(format!("bartleby-ocr-{}", std::process::id())));
    std::fs::create_dir_all(&work)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(1853);
    println!(
        "ocr: {} pages of known text, each clean-ish and degraded; Tesseract, languages {}",
        pages.len(),
        parser.ocr_languages
    );
    for spoil in [CLEAN, DEGRADED] {
        let (mut char_errors, mut chars, mut word_errors, mut words) = (0usize, 0usize, 0usize, 0usize);
        let mut alone_errors = 0usize;
        let mut worst = 1.0f64;
        let mut times = Vec::new();
        let mut jpegs = Vec::new();
        for (i, (face, lines)) in pages.iter().enumerate() {
            let truth = lines.join(" ");
            let page = doubles::files::Page::Text { font: face.0, size: face.1, lines: lines.clone() };
            let png = doubles::files::render(&doubles::files::pdf(&[page]), 1, spoil.dpi, "png")
                .context("pdftoppm (poppler-utils) draws the pages")?;
            let clean = image::load_from_memory(&png)?.to_luma8();
            let jpeg = spoiled(&clean, spoil, &mut rng)?;
            let path = work.join(format!("{}-{:02}.jpg", spoil.name, i + 1));
            std::fs::write(&path, &jpeg)?;
            std::fs::write(work.join(format!("{}-{:02}.txt", spoil.name, i + 1)), &truth)?;
            let started = Instant::now();
            let read = app::documents::extract::extract(&path, DocType::Image, &parser, None).await;
            times.push(started.elapsed().as_secs_f64());
            let text = read.map(|x| x.pages.join(" ")).unwrap_or_default();
            let (ce, cn) = char_errors_of(&truth, &text);
            let (we, wn) = word_errors_of(&truth, &text);
            // Tesseract alone on the same image, without Bartleby's turning level and despeckling
            let alone = std::process::Command::new("tesseract")
                .arg(&path)
                .args(["stdout", "-l", &parser.ocr_languages, "--psm", "1"])
                .env("OMP_THREAD_LIMIT", "1")
                .output()?;
            alone_errors += word_errors_of(&truth, &String::from_utf8_lossy(&alone.stdout)).0;
            char_errors += ce;
            chars += cn;
            word_errors += we;
            words += wn;
            worst = worst.min(1.0 - we as f64 / wn.max(1) as f64);
            jpegs.push(jpeg);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "ocr {}: {} dpi, {:.1}-{:.1} degrees, blur {}, noise {}, JPEG {}: character accuracy {:.1} %, word accuracy {:.1} % (worst page {:.1} %; Tesseract alone {:.1} %); {:.2} s a page (median, image documents)",
            spoil.name,
            spoil.dpi,
            spoil.degrees.0,
            spoil.degrees.1,
            spoil.blur,
            spoil.noise,
            spoil.quality,
            100.0 * (1.0 - char_errors as f64 / chars.max(1) as f64),
            100.0 * (1.0 - word_errors as f64 / words.max(1) as f64),
            100.0 * worst,
            100.0 * (1.0 - alone_errors as f64 / words.max(1) as f64),
            times[times.len() / 2],
        );
        // the same pages as one scanned PDF: every page rasterised again by poppler, then read
        let scan: Vec<doubles::files::Page> = jpegs.iter().map(|j| doubles::files::Page::Jpeg(j)).collect();
        let pdf = work.join(format!("{}.pdf", spoil.name));
        std::fs::write(&pdf, doubles::files::pdf(&scan))?;
        let started = Instant::now();
        let read = app::documents::extract::extract(&pdf, DocType::Pdf, &parser, None).await?;
        let took = started.elapsed().as_secs_f64();
        println!(
            "ocr {}: a scanned PDF of {} pages read in {took:.1} s ({:.2} s a page; {} pages by OCR)",
            spoil.name,
            scan.len(),
            took / scan.len() as f64,
            read.ocr_pages
        );
    }
    if out.is_none() {
        let _ = std::fs::remove_dir_all(&work);
    } else {
        println!("ocr: the pages and their texts are in {}", work.display());
    }
    Ok(())
}

/// Twelve pages: the opening of every fourth address, in ASCII, wrapped for each typeface.
fn pages_of_text(docs: &Path) -> Result<Vec<(Face, Vec<String>)>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(docs)
        .with_context(|| format!("{} (the retrieval set)", docs.display()))?
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let step = (files.len() / PAGES).max(1);
    let mut pages = Vec::new();
    for (i, file) in files.iter().step_by(step).take(PAGES).enumerate() {
        let face = FACES[i % FACES.len()];
        let text = ascii(&std::fs::read_to_string(file)?);
        let mut lines = vec![String::new()];
        for word in text.split_whitespace() {
            if lines.last().is_some_and(|l| l.len() + 1 + word.len() > face.2) {
                if lines.len() == LINES {
                    break;
                }
                lines.push(String::new());
            }
            if let Some(line) = lines.last_mut() {
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(word);
            }
        }
        pages.push((face, lines));
    }
    Ok(pages)
}

/// Curly quotes and dashes as ASCII; anything else outside ASCII dropped (the standard PDF fonts
/// print ASCII as it is).
fn ascii(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\u{2018}' | '\u{2019}' => Some('\''),
            '\u{201c}' | '\u{201d}' => Some('"'),
            '\u{2013}' | '\u{2014}' => Some('-'),
            c if c.is_ascii() => Some(c),
            _ => None,
        })
        .collect()
}

/// Turns, blurs, speckles and compresses a page: the JPEG's bytes.
fn spoiled(page: &GrayImage, spoil: Spoil, rng: &mut impl Rng) -> Result<Vec<u8>> {
    let degrees = rng.gen_range(spoil.degrees.0..spoil.degrees.1) * if rng.gen_bool(0.5) { 1.0 } else { -1.0 };
    let mut img = app::platform::ocr::turned(page, degrees);
    if spoil.blur > 0.0 {
        img = image::imageops::blur(&img, spoil.blur);
    }
    for p in img.pixels_mut() {
        // Gaussian noise (Box-Muller), and now and then a speck of dust
        let (u1, u2): (f64, f64) = (rng.gen_range(f64::EPSILON..1.0), rng.gen());
        let n = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos() * spoil.noise;
        let mut v = f64::from(p.0[0]) + n;
        if spoil.specks > 0.0 && rng.gen_bool(spoil.specks) {
            v = if rng.gen_bool(0.5) { 0.0 } else { 255.0 };
        }
        p.0[0] = v.clamp(0.0, 255.0) as u8;
    }
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, spoil.quality).encode_image(&img)?;
    Ok(jpeg)
}

/// Edit distance between two sequences (one row at a time).
fn edit_distance<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let next = (diagonal + usize::from(x != y)).min(row[j] + 1).min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// Character errors and characters of the truth (spaces collapsed; OCR's typographic quotes and
/// dashes read as ASCII, as they were printed).
fn char_errors_of(truth: &str, read: &str) -> (usize, usize) {
    let norm = |s: &str| ascii(s).split_whitespace().collect::<Vec<_>>().join(" ").chars().collect::<Vec<char>>();
    let (t, r) = (norm(truth), norm(read));
    (edit_distance(&t, &r).min(t.len()), t.len())
}

/// Word errors and words of the truth (words: runs of letters and digits).
fn word_errors_of(truth: &str, read: &str) -> (usize, usize) {
    let words = |s: &str| {
        s.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_owned).collect::<Vec<_>>()
    };
    let (t, r) = (words(truth), words(read));
    (edit_distance(&t, &r).min(t.len()), t.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_counts_edits_against_the_truth() {
        assert_eq!(edit_distance(&['k', 'i', 't', 't', 'e', 'n'], &['s', 'i', 't', 't', 'i', 'n', 'g']), 3);
        assert_eq!(char_errors_of("a  b", "a b"), (0, 3));
        assert_eq!(word_errors_of("the old house, by the lake", "the o1d house by the lake"), (1, 6));
        assert_eq!(word_errors_of("two words", ""), (2, 2));
        assert_eq!(char_errors_of("\u{201c}x\u{201d}", "\"x\""), (0, 3));
    }
}

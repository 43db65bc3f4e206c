//! Files made for the tests and the benchmarks: PDFs with a text layer, "scanned" PDFs whose pages
//! are only images, multi-page TIFFs, and page images rendered by poppler (`pdftoppm`, which
//! Bartleby needs anyway). Written by hand, byte by byte, so that a test knows exactly what a file
//! holds.

use std::process::Command;

/// One page of a PDF made by [`pdf`] (US Letter, 612 × 792 points).
pub enum Page<'a> {
    /// Lines of text in one of PDF's standard fonts (`Helvetica`, `Times-Roman`, `Courier`, …),
    /// `size` points, from the top left margin; the line spacing is 1.3 × the size.
    Text { font: &'a str, size: f32, lines: Vec<String> },
    /// A JPEG drawn over the whole page, as a scanner makes it: no text layer at all.
    Jpeg(&'a [u8]),
}

/// Text pages in Helvetica 11, one entry of lines per page.
pub fn text_pdf(pages: &[&[&str]]) -> Vec<u8> {
    let pages: Vec<Page> = pages
        .iter()
        .map(|lines| Page::Text {
            font: "Helvetica",
            size: 11.0,
            lines: lines.iter().map(|l| (*l).to_owned()).collect(),
        })
        .collect();
    pdf(&pages)
}

/// A PDF of these pages (ASCII text only: each byte is a character of the font's standard encoding).
pub fn pdf(pages: &[Page]) -> Vec<u8> {
    assemble(&objects_of(pages), "/Root 1 0 R")
}

/// The numbered objects of a PDF of these pages: the catalog first.
fn objects_of(pages: &[Page]) -> Vec<Vec<u8>> {
    let esc = |s: &str| s.replace('\\', "\\\\").replace('(', "\\(").replace(')', "\\)");
    let n = pages.len();
    // objects: 1 catalog, 2 pages, then per page: the page, its contents, its resource (font or image)
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {n} >>",
            (0..n).map(|i| format!("{} 0 R", 3 + 3 * i)).collect::<Vec<_>>().join(" ")
        )
        .into_bytes(),
    ];
    for (i, page) in pages.iter().enumerate() {
        let (contents, resources, resource): (Vec<u8>, String, Vec<u8>) = match page {
            Page::Text { font, size, lines } => (
                format!(
                    "BT /F1 {size} Tf {} TL 72 720 Td {} ET",
                    size * 1.3,
                    lines.iter().map(|l| format!("({}) Tj T*", esc(l))).collect::<Vec<_>>().join(" ")
                )
                .into_bytes(),
                format!("<< /Font << /F1 {} 0 R >> >>", 5 + 3 * i),
                format!("<< /Type /Font /Subtype /Type1 /BaseFont /{font} >>").into_bytes(),
            ),
            Page::Jpeg(bytes) => {
                let (width, height, components) = jpeg_frame(bytes).unwrap_or((1, 1, 3));
                let mut image = format!(
                    "<< /Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace /{} \
                     /BitsPerComponent 8 /Filter /DCTDecode /Length {} >>\nstream\n",
                    if components == 1 { "DeviceGray" } else { "DeviceRGB" },
                    bytes.len()
                )
                .into_bytes();
                image.extend_from_slice(bytes);
                image.extend_from_slice(b"\nendstream");
                (
                    b"q 612 0 0 792 0 0 cm /Im1 Do Q".to_vec(),
                    format!("<< /XObject << /Im1 {} 0 R >> >>", 5 + 3 * i),
                    image,
                )
            }
        };
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {} 0 R /Resources {resources} >>",
                4 + 3 * i
            )
            .into_bytes(),
        );
        let mut stream = format!("<< /Length {} >>\nstream\n", contents.len()).into_bytes();
        stream.extend(contents);
        stream.extend_from_slice(b"\nendstream");
        objects.push(stream);
        objects.push(resource);
    }
    objects
}

/// As [`pdf`], with a title in the document's metadata (its Info dictionary).
pub fn pdf_titled(pages: &[Page], title: &str) -> Vec<u8> {
    let mut objects = objects_of(pages);
    let esc = title.replace('\\', "\\\\").replace('(', "\\(").replace(')', "\\)");
    objects.push(format!("<< /Title ({esc}) >>").into_bytes());
    assemble(&objects, &format!("/Root 1 0 R /Info {} 0 R", objects.len()))
}

/// A JPEG's width, height and number of colour components, from its frame header.
pub fn jpeg_frame(jpeg: &[u8]) -> Option<(u32, u32, u8)> {
    let mut i = 2;
    while i + 9 < jpeg.len() && jpeg[i] == 0xFF {
        let marker = jpeg[i + 1];
        let length = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        if matches!(marker, 0xC0..=0xC3) {
            let height = u16::from_be_bytes([jpeg[i + 5], jpeg[i + 6]]);
            let width = u16::from_be_bytes([jpeg[i + 7], jpeg[i + 8]]);
            return Some((u32::from(width), u32::from(height), jpeg[i + 9]));
        }
        i += 2 + length;
    }
    None
}

/// A PDF file of numbered objects (1, 2, …) with its cross-reference table; `trailer` is what the
/// trailer holds besides `/Size`.
pub fn assemble(objects: &[Vec<u8>], trailer: &str) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} {trailer} >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    out
}

/// Page `page` (from 1) of a PDF as poppler draws it in grey at `dpi`: `format` is `png`, `jpeg`
/// or `tiff`; the image file's bytes.
pub fn render(pdf: &[u8], page: u32, dpi: u32, format: &str) -> std::io::Result<Vec<u8>> {
    let dir = std::env::temp_dir().join(format!("bartleby-render-{}-{:x}", std::process::id(), nanos()));
    std::fs::create_dir_all(&dir)?;
    let input = dir.join("in.pdf");
    std::fs::write(&input, pdf)?;
    let out = Command::new("pdftoppm")
        .args(["-r", &dpi.to_string(), "-gray", &format!("-{format}"), "-singlefile"])
        .args(["-f", &page.to_string(), "-l", &page.to_string()])
        .arg(&input)
        .arg(dir.join("out"))
        .output()?;
    let ext = match format {
        "jpeg" => "jpg",
        "tiff" => "tif",
        other => other,
    };
    let result = if out.status.success() {
        std::fs::read(dir.join(format!("out.{ext}")))
    } else {
        Err(std::io::Error::other(String::from_utf8_lossy(&out.stderr).into_owned()))
    };
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn nanos() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

/// A baseline TIFF with one uncompressed 8-bit grey image per page (`width`, `height`, pixels
/// row by row), at 300 dpi: what a scanner's multi-page output looks like to a reader.
pub fn tiff(pages: &[(u32, u32, &[u8])]) -> Vec<u8> {
    let mut out: Vec<u8> = b"II*\0\0\0\0\0".to_vec();
    let mut link_at = 4usize; // where the offset of the next IFD goes
    for &(width, height, pixels) in pages {
        let data_at = out.len() as u32;
        out.extend_from_slice(pixels);
        if out.len() % 2 == 1 {
            out.push(0);
        }
        // the resolution, a RATIONAL: 300/1
        let resolution_at = out.len() as u32;
        out.extend_from_slice(&300u32.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        let ifd_at = out.len() as u32;
        out[link_at..link_at + 4].copy_from_slice(&ifd_at.to_le_bytes());
        // tag, type (3 SHORT, 4 LONG, 5 RATIONAL), count, value
        let entries: [(u16, u16, u32, u32); 11] = [
            (256, 4, 1, width),
            (257, 4, 1, height),
            (258, 3, 1, 8),
            (259, 3, 1, 1),
            (262, 3, 1, 1),
            (273, 4, 1, data_at),
            (277, 3, 1, 1),
            (278, 4, 1, height),
            (279, 4, 1, pixels.len() as u32),
            (282, 5, 1, resolution_at),
            (283, 5, 1, resolution_at),
        ];
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        for (tag, kind, count, value) in entries {
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&count.to_le_bytes());
            if kind == 3 {
                out.extend_from_slice(&(value as u16).to_le_bytes());
                out.extend_from_slice(&[0, 0]);
            } else {
                out.extend_from_slice(&value.to_le_bytes());
            }
        }
        link_at = out.len();
        out.extend_from_slice(&[0, 0, 0, 0]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tiff_has_one_directory_per_page_chained() {
        let (a, b) = (vec![255u8; 6], vec![0u8; 4]);
        let t = tiff(&[(3, 2, &a), (2, 2, &b)]);
        let u32_at = |i: usize| u32::from_le_bytes([t[i], t[i + 1], t[i + 2], t[i + 3]]) as usize;
        let first = u32_at(4);
        let entries = u16::from_le_bytes([t[first], t[first + 1]]) as usize;
        let second = u32_at(first + 2 + 12 * entries);
        assert!(second > first);
        let entries2 = u16::from_le_bytes([t[second], t[second + 1]]) as usize;
        assert_eq!(u32_at(second + 2 + 12 * entries2), 0, "the last page ends the chain");
    }
}

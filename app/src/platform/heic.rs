//! HEIC/HEIF photos (an iPhone's default): read by libheif's command-line tools (Debian's
//! `libheif-examples`: `heif-info`, `heif-convert`) in a separate process under a memory limit and
//! a time limit, like PDFs — the file is untrusted, and no crate on crates.io decodes HEVC
//! without the system libheif. The thumbnails are made from a PNG the tool writes.

use std::path::Path;
use std::time::Duration;

use crate::error::AppError;
use crate::platform::limited::ToolError;

/// Address-space limit for the tools, in bytes (prlimit takes no suffixes): a 48-megapixel photo
/// decodes well within it.
const MEMORY: u64 = 1024 * 1024 * 1024;
const TIME_LIMIT: Duration = Duration::from_secs(30);

async fn run(program: &'static str, args: &[&std::ffi::OsStr]) -> Result<std::process::Output, ToolError> {
    crate::platform::limited::run(program, args, MEMORY, TIME_LIMIT).await
}

fn not_readable() -> AppError {
    AppError::validation("photos", "That HEIC file could not be read: it may be damaged.")
}

/// The primary image's size, read from the file's boxes (no decoding); fails for a file that is
/// not a readable HEIF.
pub async fn dimensions(path: &Path) -> Result<(u32, u32), AppError> {
    let out = run("heif-info", &[path.as_os_str()]).await.map_err(|e| {
        tracing::warn!(error = ?e, "heif-info failed");
        match e {
            ToolError::Missing(_) => AppError::Unavailable,
            ToolError::Timeout | ToolError::Io(_) => not_readable(),
        }
    })?;
    if !out.status.success() {
        return Err(not_readable());
    }
    parse_size(&String::from_utf8_lossy(&out.stdout)).ok_or_else(not_readable)
}

/// `image: 4032x3024 (id=1), primary` → (4032, 3024).
fn parse_size(info: &str) -> Option<(u32, u32)> {
    let line = info.lines().find(|l| l.starts_with("image: ") && l.contains("primary"))?;
    let size = line.strip_prefix("image: ")?.split_whitespace().next()?;
    let (w, h) = size.split_once('x')?;
    Some((w.parse().ok()?, h.parse().ok()?))
}

/// Decodes the primary image (rotation and mirroring applied, as the file says) to a PNG at `png`.
pub async fn to_png(heic: &Path, png: &Path) -> Result<(), String> {
    let _ = tokio::fs::remove_file(png).await;
    let out = run("heif-convert", &[heic.as_os_str(), png.as_os_str()]).await.map_err(|e| match e {
        ToolError::Timeout => format!("heif-convert took longer than {} s", TIME_LIMIT.as_secs()),
        ToolError::Missing(tool) => format!("{tool} is not installed (run scripts/setup.sh)"),
        ToolError::Io(e) => e,
    })?;
    // heif-convert can report success without writing: the file is the proof
    if !out.status.success() || !tokio::fs::try_exists(png).await.unwrap_or(false) {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "the HEIC file could not be decoded ({})",
            err.lines().next().unwrap_or("no output").trim()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_primary_image_size_is_read_from_heif_info() {
        let info = "MIME type: image/heic\nmain brand: heic\n\nimage: 4032x3024 (id=1), primary\n  alpha channel: no\n";
        assert_eq!(parse_size(info), Some((4032, 3024)));
        assert_eq!(parse_size("MIME type: image/heic\n"), None);
    }
}

//! How pages and the bundle travel: compressed (gzip or brotli, as the browser asks), the bundle
//! under a directory named by its content and cached for a year, pages never cached by a proxy.

use crate::helpers::*;
use reqwest::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, VARY};
use std::io::Read;

const HASH: &str = "0123456789abcdef";

/// A built site as `scripts/build-site.sh` leaves it: `pkg/<hash>/` and `pkg/current`.
fn site() -> std::path::PathBuf {
    let root = test_tmp().join(format!("site-{:08x}", rand::random::<u32>()));
    let pkg = root.join("pkg").join(HASH);
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(root.join("pkg/current"), format!("{HASH}\n")).unwrap();
    std::fs::write(pkg.join("bartleby.css"), "body { margin: 0; }\n".repeat(200)).unwrap();
    std::fs::write(pkg.join("bartleby.js"), "export default function () {}\n".repeat(100)).unwrap();
    root
}

fn gunzip(bytes: &[u8]) -> String {
    let mut out = String::new();
    flate2::read::GzDecoder::new(bytes).read_to_string(&mut out).unwrap();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_are_compressed_and_the_bundle_is_named_by_its_content_and_kept_a_year() {
    let url = fresh_database(cluster().await).await;
    let root = site();
    let app = TestApp::spawn_with(test_config(&url, &[("LEPTOS_SITE_ROOT", root.to_str().unwrap())]), None).await;
    app.sign_up(&email("speedy"), "Speedy").await;
    let get = |path: &str, encoding: &str| {
        app.client.get(app.url(path)).header(ACCEPT_ENCODING, encoding).header("accept", "text/html").send()
    };

    let r = get("/", "gzip").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[CONTENT_ENCODING], "gzip");
    assert_eq!(r.headers()[CACHE_CONTROL], "private, no-cache");
    assert!(r.headers()[VARY].to_str().unwrap().contains("accept-encoding"));
    let html = gunzip(&r.bytes().await.unwrap());
    for want in [
        format!(r#"href="/pkg/{HASH}/bartleby.css""#),
        format!(r#"href="/pkg/{HASH}/bartleby.js""#),
        format!(r#"href="/pkg/{HASH}/bartleby_bg.wasm""#),
    ] {
        assert!(html.contains(&want), "{want}: {html}");
    }
    let r = get("/", "br").await.unwrap();
    assert_eq!(r.headers()[CONTENT_ENCODING], "br");
    let br = r.bytes().await.unwrap();
    assert!(br.len() * 2 < html.len(), "brotli: {} bytes of {}", br.len(), html.len());
    let r = get("/", "identity").await.unwrap();
    assert!(r.headers().get(CONTENT_ENCODING).is_none());
    assert!(r.text().await.unwrap().starts_with("<!DOCTYPE html>"));
    // server functions' JSON too, when worth it
    let r = app.client.post(app.url("/api/inventory/list")).header(ACCEPT_ENCODING, "gzip").send().await.unwrap();
    assert!(r.headers().get(CONTENT_ENCODING).is_none(), "a short answer is sent as it is");

    // the bundle: a year, compressed
    for file in ["bartleby.css", "bartleby.js"] {
        let r = get(&format!("/pkg/{HASH}/{file}"), "gzip").await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{file}");
        assert_eq!(r.headers()[CACHE_CONTROL], "public, max-age=31536000, immutable", "{file}");
        assert_eq!(r.headers()[CONTENT_ENCODING], "gzip", "{file}");
        let body = gunzip(&r.bytes().await.unwrap());
        assert_eq!(body, std::fs::read_to_string(root.join("pkg").join(HASH).join(file)).unwrap());
    }
    // a file someone uploaded comes back byte for byte, never re-encoded
    let text = "A long note. ".repeat(500);
    let (_, up) = crate::documents::upload_docs(&app, vec![("note.txt", text.clone().into_bytes())]).await;
    let doc = crate::documents::ids(&up, "added")[0];
    let r = get(&format!("/documents/{doc}/file"), "gzip, br").await.unwrap();
    assert!(r.headers().get(CONTENT_ENCODING).is_none());
    assert_eq!(r.text().await.unwrap(), text);
}

/// Without a built site (`pkg/current` missing) pages still render, naming plain `pkg/`.
#[tokio::test(flavor = "multi_thread")]
async fn a_site_never_built_still_serves_its_pages() {
    let url = fresh_database(cluster().await).await;
    let empty = test_tmp().join(format!("no-site-{:08x}", rand::random::<u32>()));
    let app = TestApp::spawn_with(test_config(&url, &[("LEPTOS_SITE_ROOT", empty.to_str().unwrap())]), None).await;
    let r = app.get("/login").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains(r#"href="/pkg/bartleby.css""#));
}

//! Documents and search, end to end over HTTP against the embedded Postgres with pgvector and the
//! local embedding model. Ingest runs through the real job queue (`jobs::drain` plays the worker).

use super::*;
use app::documents::jobs::INGEST;
use app::jobs;

// ---- files made for the tests -------------------------------------------------------------

/// A minimal PDF, one page per entry, each line drawn in Helvetica (real text that pdftotext reads).
fn pdf(pages: &[&[&str]]) -> Vec<u8> {
    doubles::files::text_pdf(pages)
}

/// A one-page PDF encrypted with the standard security handler (revision 2, 40-bit RC4) and a
/// user password: poppler opens it only with that password.
fn encrypted_pdf(text: &str, user_password: &[u8]) -> Vec<u8> {
    use md5::{Digest, Md5};
    const PAD: [u8; 32] = [
        0x28, 0xBF, 0x4E, 0x5E, 0x4E, 0x75, 0x8A, 0x41, 0x64, 0x00, 0x4E, 0x56, 0xFF, 0xFA, 0x01, 0x08, 0x2E, 0x2E,
        0x00, 0xB6, 0xD0, 0x68, 0x3E, 0x80, 0x2F, 0x0C, 0xA9, 0xFE, 0x64, 0x53, 0x69, 0x7A,
    ];
    fn rc4(key: &[u8], data: &[u8]) -> Vec<u8> {
        let mut s: Vec<u8> = (0..=255).collect();
        let mut j = 0u8;
        for i in 0..256 {
            j = j.wrapping_add(s[i]).wrapping_add(key[i % key.len()]);
            s.swap(i, j as usize);
        }
        let (mut i, mut j) = (0u8, 0u8);
        data.iter()
            .map(|b| {
                i = i.wrapping_add(1);
                j = j.wrapping_add(s[i as usize]);
                s.swap(i as usize, j as usize);
                b ^ s[s[i as usize].wrapping_add(s[j as usize]) as usize]
            })
            .collect()
    }
    let pad = |pw: &[u8]| -> Vec<u8> { pw.iter().chain(PAD.iter()).take(32).copied().collect() };
    let md5 = |parts: &[&[u8]]| -> Vec<u8> {
        let mut h = Md5::new();
        parts.iter().for_each(|p| h.update(p));
        h.finalize().to_vec()
    };
    let id = b"0123456789abcdef";
    let owner = rc4(&md5(&[&pad(b"owner")])[..5], &pad(user_password));
    let key = md5(&[&pad(user_password), &owner, &(-4i32).to_le_bytes(), id])[..5].to_vec();
    let user = rc4(&key, &PAD);
    let content = format!("BT /F1 24 Tf 72 720 Td ({text}) Tj ET");
    let stream = rc4(&md5(&[&key, &[4, 0, 0], &[0, 0]])[..10], content.as_bytes());
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_vec(),
    ];
    let mut contents = format!("<< /Length {} >>\nstream\n", stream.len()).into_bytes();
    contents.extend(&stream);
    contents.extend(b"\nendstream");
    objects.push(contents);
    objects.push(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec());
    objects
        .push(format!("<< /Filter /Standard /V 1 /R 2 /O <{}> /U <{}> /P -4 >>", hex(&owner), hex(&user)).into_bytes());
    doubles::files::assemble(&objects, &format!("/Root 1 0 R /Encrypt 6 0 R /ID [<{}> <{}>]", hex(id), hex(id)))
}

#[test]
fn the_encrypted_test_pdf_opens_with_its_password_only() {
    let dir = test_tmp().join(format!("bartleby-encrypted-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("locked.pdf");
    std::fs::write(&path, encrypted_pdf("Plum jam recipe", b"secret")).unwrap();
    let with = std::process::Command::new("pdftotext").args(["-upw", "secret"]).arg(&path).arg("-").output().unwrap();
    assert!(String::from_utf8_lossy(&with.stdout).contains("Plum jam recipe"), "{with:?}");
    let without = std::process::Command::new("pdftotext").arg(&path).arg("-").output().unwrap();
    assert!(!without.status.success() && String::from_utf8_lossy(&without.stderr).contains("Incorrect password"));
    let _ = std::fs::remove_dir_all(&dir);
}

fn wrap(text: &str) -> Vec<String> {
    let mut lines = vec![String::new()];
    for w in text.split_whitespace() {
        if lines.last().unwrap().len() + w.len() > 60 {
            lines.push(String::new());
        }
        let last = lines.last_mut().unwrap();
        if !last.is_empty() {
            last.push(' ');
        }
        last.push_str(w);
    }
    lines
}

pub(crate) fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in entries {
            z.start_file(*name, opts).unwrap();
            z.write_all(data).unwrap();
        }
        z.finish().unwrap();
    }
    buf.into_inner()
}

pub(crate) fn docx(paragraphs: &[&str]) -> Vec<u8> {
    let body: String = paragraphs.iter().map(|p| format!("<w:p><w:r><w:t>{p}</w:t></w:r></w:p>")).collect();
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>"#
    );
    zip_of(&[("[Content_Types].xml", b"<Types/>"), ("word/document.xml", xml.as_bytes())])
}

const BOILER: &str = "The boiler was installed in March 2024 by Acme Heating. The manufacturer's warranty covers \
parts and labour for five years, provided the boiler is serviced every year by a registered engineer.";
const GARDEN: &str = "Tomatoes need full sun and regular watering. Pinch out the side shoots of cordon varieties \
and feed them weekly with a potash-rich fertiliser once the first truss has set.";
const TRAINS: &str = "The night train to Vienna leaves at nine in the evening. Sleeper cabins have two or three \
berths, and breakfast is served before arrival.";

// ---- helpers --------------------------------------------------------------------------------

pub(crate) async fn upload_docs(app: &TestApp, files: Vec<(&str, Vec<u8>)>) -> (StatusCode, Value) {
    let mut form = reqwest::multipart::Form::new();
    for (name, bytes) in files {
        form = form.part("files", reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()));
    }
    let r = app
        .client
        .post(app.url("/documents/upload"))
        .header(ACCEPT, "application/json")
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

pub(crate) fn ids(v: &Value, key: &str) -> Vec<i64> {
    v[key].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect()
}

pub(crate) async fn ingest(app: &TestApp) -> usize {
    jobs::drain(&app.state, "test-worker").await.unwrap()
}

pub(crate) async fn documents(app: &TestApp) -> Value {
    let r = app.call("documents/list", &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

pub(crate) async fn document(app: &TestApp, id: i64) -> reqwest::Response {
    app.call("documents/get", &[("id", &id.to_string())]).await
}

pub(crate) async fn search(app: &TestApp, q: &str, extra: &[(&str, &str)]) -> Value {
    let mut form = vec![
        ("query[q]".to_owned(), q.to_owned()),
        ("query[doc_type]".to_owned(), String::new()),
        ("query[from]".to_owned(), String::new()),
        ("query[to]".to_owned(), String::new()),
        ("query[page]".to_owned(), "1".to_owned()),
    ];
    for (k, v) in extra {
        let key = format!("query[{k}]");
        form.iter_mut().find(|(fk, _)| *fk == key).unwrap().1 = (*v).to_owned();
    }
    let r = app.client.post(app.url("/api/search")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

pub(crate) fn titles(results: &Value) -> Vec<String> {
    results["groups"].as_array().unwrap().iter().map(|g| g["title"].as_str().unwrap().to_owned()).collect()
}

pub(crate) fn status_of(list: &Value, title: &str) -> (String, Value) {
    let row = list["mine"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["title"] == title)
        .unwrap_or_else(|| panic!("{title}: {list}"));
    (row["status"].as_str().unwrap().to_owned(), row["status_detail"].clone())
}

async fn vector_count(app: &TestApp, document: i64) -> i64 {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut c = app.state.vector.pool().unwrap().get().await.unwrap();
    let row: N = diesel::sql_query("SELECT count(*) AS n FROM document_vectors WHERE document_id = $1")
        .bind::<diesel::sql_types::BigInt, _>(document)
        .get_result(&mut c)
        .await
        .unwrap();
    row.n
}

async fn chunk_ids(c: &mut diesel_async::AsyncPgConnection, id: i64) -> Vec<i64> {
    use app::platform::schema::document_chunks::dsl as ch;
    use diesel::{ExpressionMethods, QueryDsl};
    use diesel_async::RunQueryDsl;
    ch::document_chunks.filter(ch::document_id.eq(id)).order(ch::id).select(ch::id).load::<i64>(c).await.unwrap()
}

// ---- tests ----------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn documents_are_ingested_and_found_by_meaning_with_pages_and_snippets() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("docs"), "Docs").await;
    let wrapped = wrap(BOILER);
    let lines: Vec<&str> = wrapped.iter().map(String::as_str).collect();
    let report = pdf(&[&["Annual household report."], &lines, &["Nothing else to report."]]);
    let (status, up) = upload_docs(
        &app,
        vec![
            ("House_Report.pdf", report),
            ("garden.docx", docx(&[GARDEN])),
            ("travel.md", format!("# Travel\n\n{TRAINS}\n").into_bytes()),
            (
                "notes.html",
                b"<html><body><h1>Notes</h1><p>Buy a new lamp.</p><script>alert('x')</script></body></html>".to_vec(),
            ),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{up}");
    assert_eq!(ids(&up, "added").len(), 4, "{up}");
    let list = documents(&app).await;
    assert!(list["mine"].as_array().unwrap().iter().all(|d| d["status"] == "Queued"), "{list}");

    assert!(ingest(&app).await >= 4);
    let list = documents(&app).await;
    // a Markdown file is titled by its first heading
    for title in ["House Report", "garden", "Travel", "notes"] {
        assert_eq!(status_of(&list, title).0, "Ready", "{title}: {list}");
    }
    let report_row = list["mine"].as_array().unwrap().iter().find(|d| d["title"] == "House Report").unwrap();
    assert_eq!(report_row["pages"], 3);
    assert_eq!(report_row["chunks_total"], report_row["chunks_embedded"]);

    // by meaning: none of these words is in the boiler passage
    let r = search(&app, "how long is the heating system guaranteed", &[]).await;
    assert_eq!(r["mode"], "Hybrid", "{r}");
    assert_eq!(titles(&r)[0], "House Report", "{r}");
    let passage = &r["groups"][0]["passages"][0];
    assert_eq!(passage["page"], 2, "the passage is on page 2: {r}");
    // by words, with the words marked
    let r = search(&app, "tomatoes", &[]).await;
    assert_eq!(titles(&r), vec!["garden"], "{r}");
    let marked: Vec<&str> = r["groups"][0]["passages"][0]["snippet"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["hit"] == true)
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    assert_eq!(marked, vec!["Tomatoes"]);
    // filters
    let r = search(&app, "sleeper train to Vienna", &[("doc_type", "md")]).await;
    assert_eq!(titles(&r), vec!["Travel"]);
    let r = search(&app, "sleeper train to Vienna", &[("doc_type", "pdf")]).await;
    assert!(!titles(&r).contains(&"Travel".to_owned()), "{r}");
    let r = search(&app, "sleeper train to Vienna", &[("to", "2000-01-01")]).await;
    assert!(titles(&r).is_empty(), "nothing was added before 2000: {r}");

    // the document page: text by page, a summary, the file
    let id = report_row["id"].as_i64().unwrap();
    let d: Value = document(&app, id).await.json().await.unwrap();
    assert_eq!(d["pages"].as_array().unwrap().len(), 3);
    assert!(d["pages"][1]["text"].as_str().unwrap().contains("registered engineer"), "{d}");
    assert!(d["summary"].as_str().is_some_and(|s| !s.is_empty()), "{d}");
    let html = app.get(&format!("/documents/{id}?page=2")).await.text().await.unwrap();
    assert!(html.contains("id=\"page-2\"") && html.contains("registered engineer"), "{html}");
    let file = app.get(&format!("/documents/{id}/file")).await;
    assert_eq!(file.status(), StatusCode::OK);
    assert_eq!(file.headers()["content-type"], "application/pdf");
    assert!(file.bytes().await.unwrap().starts_with(b"%PDF-1.4"));

    // script in an HTML document never runs: it is not in the text, and the page escapes what is
    let notes =
        list["mine"].as_array().unwrap().iter().find(|d| d["title"] == "notes").unwrap()["id"].as_i64().unwrap();
    let html = app.get(&format!("/documents/{notes}")).await.text().await.unwrap();
    assert!(html.contains("Buy a new lamp") && !html.contains("alert('x')"), "{html}");

    // the search page itself, rendered on the server
    let page = app.get("/search?q=heating+guarantee").await.text().await.unwrap();
    assert!(page.contains("House Report") && page.contains("<mark>"), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn markup_in_a_text_document_is_shown_as_text() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("xss"), "Xss").await;
    let (_, up) =
        upload_docs(&app, vec![("evil.txt", b"<script>alert(1)</script> <b>lamp</b> in the hall".to_vec())]).await;
    assert_eq!(ids(&up, "added").len(), 1, "{up}");
    ingest(&app).await;
    let page = app.get("/search?q=lamp").await.text().await.unwrap();
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{page}");
    assert!(!page.contains("<script>alert(1)"), "{page}");
    let id = ids(&up, "added")[0];
    let page = app.get(&format!("/documents/{id}")).await.text().await.unwrap();
    assert!(!page.contains("<script>alert(1)") && page.contains("&lt;b&gt;lamp"), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_javascript_a_page_with_work_going_on_loads_itself_again_until_done() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("nojs-live"), "Plain").await;
    let (_, up) = upload_docs(&app, vec![("keys.txt", b"The spare keys are in the blue box.".to_vec())]).await;
    assert_eq!(ids(&up, "added").len(), 1, "{up}");
    // the address is the page's own, escaped as any attribute
    let page = app.get("/documents?uploaded=1&x=%22%3E%3Cscript%3E").await.text().await.unwrap();
    let refresh =
        page.split("<noscript>").nth(1).expect("a refresh for browsers without scripts").split("</noscript>").next();
    assert_eq!(
        refresh,
        Some("<meta http-equiv=\"refresh\" content=\"3; url=/documents?uploaded=1&amp;x=%22%3E%3Cscript%3E\">"),
        "{page}"
    );
    ingest(&app).await;
    let page = app.get("/documents").await.text().await.unwrap();
    assert!(!page.contains("<noscript>"), "nothing pending, no refresh: {page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_file_twice_is_recognised() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("dup"), "Dup").await;
    let (_, first) = upload_docs(&app, vec![("a.txt", b"Just one note about the attic.".to_vec())]).await;
    let (_, second) = upload_docs(&app, vec![("copy of a.txt", b"Just one note about the attic.".to_vec())]).await;
    assert_eq!(ids(&second, "added"), Vec::<i64>::new());
    assert_eq!(ids(&second, "duplicates"), ids(&first, "added"));
    assert_eq!(documents(&app).await["mine"].as_array().unwrap().len(), 1);
}

/// A PNG of a grey image `width` × `height` with a few bytes of pixel data: a header that lies.
fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    use std::io::Write;
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        png.extend((data.len() as u32).to_be_bytes());
        png.extend(kind);
        png.extend(data);
        png.extend(crc.sum().to_be_bytes());
    };
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&[0; 64]).unwrap();
    chunk(b"IDAT", &z.finish().unwrap());
    chunk(b"IEND", &[]);
    png
}

/// A page of printed text as a scanner or a phone sees it: drawn by poppler in grey at `dpi`.
fn scan_of(lines: &[&str], dpi: u32, format: &str) -> Vec<u8> {
    let page = doubles::files::Page::Text {
        font: "Helvetica",
        size: 14.0,
        lines: lines.iter().map(|l| (*l).to_owned()).collect(),
    };
    doubles::files::render(&doubles::files::pdf(&[page]), 1, dpi, format).unwrap()
}

const RECEIPT: [&str; 5] = [
    "RECEIPT Hardware Store of Springfield",
    "Cordless drill model DX-400 129.99",
    "Serial number SN 4471-2209",
    "Warranty two years from purchase",
    "Thank you for shopping with us",
];

#[tokio::test(flavor = "multi_thread")]
async fn scans_and_photos_of_papers_are_read_by_ocr_page_by_page() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("ocr"), "Ocr").await;
    // a PDF whose first page has text and whose second is a scan (an image, no text layer)
    let scan = scan_of(&RECEIPT, 200, "jpeg");
    let letter = doubles::files::Page::Text {
        font: "Times-Roman",
        size: 12.0,
        lines: vec!["Dear customer, your order of the cordless drill has been shipped today.".into()],
    };
    let mixed = doubles::files::pdf(&[letter, doubles::files::Page::Jpeg(&scan)]);
    // a phone photo of a letter, taken sideways
    let upright = scan_of(
        &["The boiler service is booked for Thursday morning", "at nine by Acme Heating engineers."],
        300,
        "png",
    );
    let mut sideways = Vec::new();
    image::load_from_memory(&upright)
        .unwrap()
        .rotate90()
        .write_to(&mut std::io::Cursor::new(&mut sideways), image::ImageFormat::Png)
        .unwrap();
    // a two-page fax as one TIFF
    let gray = |png: &[u8]| image::load_from_memory(png).unwrap().to_luma8();
    let (p1, p2) = (
        gray(&scan_of(&["Fax page one: the lease of the garden allotment"], 200, "png")),
        gray(&scan_of(&["Fax page two: the rent is due every quarter"], 200, "png")),
    );
    let fax = doubles::files::tiff(&[(p1.width(), p1.height(), p1.as_raw()), (p2.width(), p2.height(), p2.as_raw())]);

    // an iPhone's photo of a letter
    let letter = heic_of(&scan_of(&["The insurance renewal is due in May"], 200, "png"));

    let (status, up) = upload_docs(
        &app,
        vec![("order.pdf", mixed), ("boiler-photo.png", sideways), ("fax.tif", fax), ("letter.heic", letter)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{up}");
    assert_eq!(ids(&up, "added").len(), 4, "{up}");
    ingest(&app).await;
    let list = documents(&app).await;
    let row = |title: &str| list["mine"].as_array().unwrap().iter().find(|d| d["title"] == title).unwrap().clone();
    for title in ["order", "boiler-photo", "fax", "letter"] {
        assert_eq!(status_of(&list, title).0, "Ready", "{title}: {list}");
    }

    // only the scanned page was read by OCR, and it keeps its page number
    let order = row("order");
    assert_eq!((order["pages"].as_i64(), order["ocr_pages"].as_i64()), (Some(2), Some(1)), "{order}");
    let d: Value = document(&app, order["id"].as_i64().unwrap()).await.json().await.unwrap();
    assert!(d["pages"][0]["text"].as_str().unwrap().contains("has been shipped today"), "{d}");
    let scanned = d["pages"][1]["text"].as_str().unwrap();
    for words in ["Hardware Store of Springfield", "Serial number SN 4471-2209", "Warranty two years"] {
        assert!(scanned.contains(words), "{words:?} in {scanned:?}");
    }
    let r = search(&app, "serial 4471-2209", &[]).await;
    assert_eq!(titles(&r)[0], "order", "{r}");
    assert_eq!(r["groups"][0]["passages"][0]["page"], 2, "{r}");
    let html = app.get(&format!("/documents/{}", order["id"])).await.text().await.unwrap();
    assert!(html.contains("Text of 1 page read by OCR"), "{html}");

    // the sideways photo is turned as Tesseract's orientation model says
    let photo = row("boiler-photo");
    assert_eq!((photo["doc_type"].as_str(), photo["ocr_pages"].as_i64()), (Some("Image"), Some(1)), "{photo}");
    let r = search(&app, "boiler service Thursday", &[("doc_type", "image")]).await;
    assert_eq!(titles(&r), vec!["boiler-photo"], "{r}");
    // the original is served as the image it is, shown by the browser
    let file = app.get(&format!("/documents/{}/file", photo["id"])).await;
    assert_eq!(file.headers()["content-type"], "image/png");
    assert!(file.headers()["content-disposition"].to_str().unwrap().starts_with("inline"));

    // each page of the TIFF is a page of the document
    let fax = row("fax");
    assert_eq!((fax["pages"].as_i64(), fax["ocr_pages"].as_i64()), (Some(2), Some(2)), "{fax}");
    let d: Value = document(&app, fax["id"].as_i64().unwrap()).await.json().await.unwrap();
    assert!(d["pages"][0]["text"].as_str().unwrap().contains("garden allotment"), "{d}");
    assert!(d["pages"][1]["text"].as_str().unwrap().contains("due every quarter"), "{d}");
    let file = app.get(&format!("/documents/{}/file", fax["id"])).await;
    assert_eq!(file.headers()["content-type"], "image/tiff");
    // HEIC is decoded by libheif's tool first, as photos are
    let letter = row("letter");
    let d: Value = document(&app, letter["id"].as_i64().unwrap()).await.json().await.unwrap();
    assert!(d["pages"][0]["text"].as_str().unwrap().contains("insurance renewal is due"), "{d}");
    assert!(file.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
}

#[tokio::test(flavor = "multi_thread")]
async fn documents_take_the_title_they_give_themselves_and_can_be_renamed() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("titles"), "Titles").await;
    let page = || doubles::files::Page::Text { font: "Helvetica", size: 11.0, lines: vec![BOILER[..60].to_owned()] };
    let (status, up) = upload_docs(
        &app,
        vec![
            ("scan_0042.pdf", doubles::files::pdf_titled(&[page()], "Boiler service agreement (2024)")),
            ("export.pdf", doubles::files::pdf_titled(&[page()], "Microsoft Word - export.docx")),
            ("notes.md", b"\n# Garden plan\n\nTomatoes by the south wall.\n".to_vec()),
            (
                "page.html",
                b"<html><head><title>Fish &amp; Chips</title></head><body>Friday supper.</body></html>".to_vec(),
            ),
            ("lease_v3.docx", {
                let body = r#"<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>The rent is due monthly.</w:t></w:r></w:p></w:body></w:document>"#;
                let core = r#"<cp:coreProperties xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Flat lease</dc:title></cp:coreProperties>"#;
                zip_of(&[("word/document.xml", body.as_bytes()), ("docProps/core.xml", core.as_bytes())])
            }),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{up}");
    ingest(&app).await;
    let list = documents(&app).await;
    let mut titles: Vec<String> =
        list["mine"].as_array().unwrap().iter().map(|d| d["title"].as_str().unwrap().to_owned()).collect();
    titles.sort();
    // a word processor's placeholder is no title: the file's name stays
    assert_eq!(
        titles,
        vec!["Boiler service agreement (2024)", "Fish & Chips", "Flat lease", "Garden plan", "export"],
        "{list}"
    );

    // renamed by its owner, escaped wherever a page writes it, and kept when it is read again
    let id = list["mine"].as_array().unwrap().iter().find(|d| d["title"] == "Garden plan").unwrap()["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let r =
        app.call("documents/rename", &[("id", &id), ("title", "  <script>alert(1)</script>\u{7} Veg\n patch ")]).await;
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    let d: Value = document(&app, id.parse().unwrap()).await.json().await.unwrap();
    assert_eq!(d["row"]["title"], "<script>alert(1)</script> Veg patch");
    let html = app.get(&format!("/documents/{id}")).await.text().await.unwrap();
    assert!(!html.contains("<script>alert(1)"), "{html}");
    assert!(html.contains("<title>&lt;script&gt;alert(1)&lt;/script&gt; Veg patch · Bartleby</title>"), "{html}");
    assert!(app.call("documents/retry", &[("id", &id)]).await.status().is_success());
    ingest(&app).await;
    let d: Value = document(&app, id.parse().unwrap()).await.json().await.unwrap();
    assert_eq!(d["row"]["title"], "<script>alert(1)</script> Veg patch", "a title the owner gave stays");

    // an empty or overlong title is refused with the reason; another user cannot rename it
    for bad in ["   ", &"x".repeat(201)] {
        let r = app.call("documents/rename", &[("id", &id), ("title", bad)]).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
    }
    let bob = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    bob.sign_up(&email("titles-bob"), "Bob").await;
    assert_eq!(
        bob.call("documents/rename", &[("id", &id), ("title", "Mine now")]).await.status(),
        StatusCode::NOT_FOUND
    );
    let d: Value = document(&app, id.parse().unwrap()).await.json().await.unwrap();
    assert_eq!(d["row"]["title"], "<script>alert(1)</script> Veg patch");
}

#[tokio::test(flavor = "multi_thread")]
async fn ocr_stops_at_its_page_limit_and_says_so() {
    let url = fresh_database(cluster().await).await;
    let app = TestApp::spawn_with(test_config(&url, &[("OCR_MAX_PAGES", "1")]), None).await;
    app.sign_up(&email("ocrlimit"), "Limit").await;
    let (one, two) = (
        scan_of(&["The first scanned page of the manual"], 150, "jpeg"),
        scan_of(&["The second scanned page of the manual"], 150, "jpeg"),
    );
    let manual = doubles::files::pdf(&[doubles::files::Page::Jpeg(&one), doubles::files::Page::Jpeg(&two)]);
    upload_docs(&app, vec![("manual.pdf", manual)]).await;
    ingest(&app).await;
    let list = documents(&app).await;
    let row = list["mine"][0].clone();
    assert_eq!((row["ocr_pages"].as_i64(), row["ocr_skipped"].as_i64()), (Some(1), Some(1)), "{row}");
    let d: Value = document(&app, row["id"].as_i64().unwrap()).await.json().await.unwrap();
    assert!(d["pages"][0]["text"].as_str().unwrap().contains("first scanned page"), "{d}");
    assert_eq!(d["pages"][1]["text"], "", "{d}");
    let html = app.get(&format!("/documents/{}", row["id"])).await.text().await.unwrap();
    assert!(html.contains("1 more page without text was not read"), "{html}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_words_on_an_items_photo_are_read_shown_and_found() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("label"), "Label").await;
    let drill = add_item(&app, "Cordless drill", &[]).await;
    let label = scan_of(&["BOSCH PSB 18 LI-2", "Serial 4471-2209", "Made in Malaysia"], 300, "jpeg");
    assert_eq!(upload(&app, drill, "label.jpg", label, "application/json").await.status(), StatusCode::OK);
    // a plain photo (no words) beside it
    assert_eq!(upload(&app, drill, "side.jpg", jpeg(640, 480), "application/json").await.status(), StatusCode::OK);
    ingest(&app).await;
    let item = item_json(&app, drill).await;
    let photos = item["photos"].as_array().unwrap();
    let text = photos[0]["text"].as_str().unwrap_or_else(|| panic!("read: {item}"));
    assert!(text.contains("BOSCH PSB 18") && text.contains("4471-2209"), "{text:?}");
    assert_eq!(photos[1]["text"], "", "a photo with no words has none: {item}");
    // shown on the item's page, and found by the table's search
    let html = app.get(&format!("/inventory/{drill}")).await.text().await.unwrap();
    assert!(html.contains("Words on its photos") && html.contains("Serial 4471-2209"), "{html}");
    assert_eq!(names(&list(&app, &[("q", "bosch")]).await), vec!["Cordless drill"]);
    assert_eq!(names(&list(&app, &[("q", "malaysia")]).await), vec!["Cordless drill"]);
    // the photo removed, its words go with it
    let id = photos[0]["id"].as_i64().unwrap().to_string();
    assert!(app.call("inventory/delete_photo", &[("photo_id", &id)]).await.status().is_success());
    assert!(names(&list(&app, &[("q", "bosch")]).await).is_empty());
    // another user's search never sees them
    let other = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    other.sign_up(&email("label-other"), "Other").await;
    assert!(names(&list(&other, &[("q", "malaysia")]).await).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_documents_get_a_clear_status_and_the_rest_still_ingest() {
    let url = fresh_database(cluster().await).await;
    let app = TestApp::spawn_with(test_config(&url, &[("DOCUMENT_MAX_MB", "1")]), None).await;
    app.sign_up(&email("bad"), "Bad").await;
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(vec![0u8; 100]);
    // a PNG whose header claims 60,000 × 60,000 pixels: 3.6 gigapixels, in 80 bytes
    let huge_png = png_header_only(60_000, 60_000);
    // 300 MB of one byte, deflated to a few hundred KB: a zip bomb
    let bomb = zip_of(&[("word/document.xml", &vec![b' '; 300 * 1024 * 1024])]);
    assert!(bomb.len() < 1024 * 1024, "{}", bomb.len());
    let (status, up) = upload_docs(
        &app,
        vec![
            ("corrupt.pdf", b"%PDF-1.7\n1 0 obj garbage that is not a PDF at all".to_vec()),
            ("scanned.pdf", pdf(&[&[]])),
            ("locked.pdf", encrypted_pdf("The combination of the safe", b"secret")),
            ("bomb.docx", bomb),
            ("photo.pdf", png),
            ("bigpng.png", huge_png),
            ("bigtiff.tif", doubles::files::tiff(&[(60_000, 60_000, &[0u8; 64])])),
            ("empty.txt", Vec::new()),
            ("huge.txt", vec![b'a'; 1024 * 1024 + 1]),
            ("good.txt", b"The spare keys are in the blue box on the top shelf.".to_vec()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{up}");
    assert_eq!(ids(&up, "added").len(), 8, "all but the empty and the huge text are taken: {up}");
    let rejected = up["rejected"].as_array().unwrap();
    let reason = |f: &str| rejected.iter().find(|r| r["file"] == f).map(|r| r["error"].as_str().unwrap().to_owned());
    assert!(reason("empty.txt").unwrap().contains("empty"), "{up}");
    assert!(reason("huge.txt").unwrap().contains("larger than the 1 MB limit"), "{up}");

    ingest(&app).await;
    let list = documents(&app).await;
    let (s, detail) = status_of(&list, "corrupt");
    assert_eq!(s, "Failed", "{list}");
    assert!(detail.as_str().unwrap().contains("damaged"), "{detail}");
    let (s, detail) = status_of(&list, "scanned");
    assert_eq!(s, "NoText", "{list}");
    assert!(detail.as_str().unwrap().contains("No text found"), "{detail}");
    let (s, detail) = status_of(&list, "locked");
    assert_eq!(s, "Failed", "{list}");
    assert!(detail.as_str().unwrap().contains("password-protected"), "{detail}");
    let (s, detail) = status_of(&list, "bomb");
    assert_eq!(s, "Failed");
    assert!(detail.as_str().unwrap().contains("zip bomb"), "{detail}");
    // an image is recognised by its content whatever its name, and a broken one fails alone
    let (s, detail) = status_of(&list, "photo");
    assert_eq!(s, "Failed", "{list}");
    assert!(detail.as_str().unwrap().contains("damaged"), "{detail}");
    // the pixels an image claims are counted before anything decodes it
    let (s, detail) = status_of(&list, "bigpng");
    assert_eq!(s, "Failed", "{list}");
    assert!(detail.as_str().unwrap().contains("larger than 100 megapixels"), "{detail}");
    // a TIFF is read by Tesseract alone, within the parser's memory limit
    let (s, detail) = status_of(&list, "bigtiff");
    assert_eq!(s, "Failed", "{list}");
    assert!(detail.as_str().unwrap().contains("larger than 100 megapixels"), "{detail}");
    assert_eq!(status_of(&list, "good").0, "Ready", "{list}");
    assert_eq!(titles(&search(&app, "where are the spare keys", &[]).await), vec!["good"]);

    // the page explains it, and the owner can try again
    let id = list["mine"].as_array().unwrap().iter().find(|d| d["title"] == "corrupt").unwrap()["id"].as_i64().unwrap();
    let html = app.get(&format!("/documents/{id}")).await.text().await.unwrap();
    assert!(html.contains("damaged") && html.contains("Try again"), "{html}");
    let r = app.call("documents/retry", &[("id", &id.to_string())]).await;
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    assert_eq!(status_of(&documents(&app).await, "corrupt").0, "Queued");
    ingest(&app).await;
    assert_eq!(status_of(&documents(&app).await, "corrupt").0, "Failed");

    // a plain form post gets a page with the message, not JSON
    let form = reqwest::multipart::Form::new()
        .part("files", reqwest::multipart::Part::bytes(b"\x00\x01binary".to_vec()).file_name("x.bin"));
    let r =
        app.client.post(app.url("/documents/upload")).header(ACCEPT, "text/html").multipart(form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(to.contains("error=unsupported"), "{to}");
    let page = app.get(&to).await.text().await.unwrap();
    assert!(page.contains("was not a PDF, Word"), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn documents_are_private_until_shared_and_sharing_can_be_revoked() {
    let owner = TestApp::spawn().await;
    let (a, b) = (email("owner"), email("reader"));
    owner.sign_up(&a, "Owner").await;
    let (_, up) = upload_docs(&owner, vec![("deeds.txt", format!("Title deeds. {BOILER}").into_bytes())]).await;
    let id = ids(&up, "added")[0];
    ingest(&owner).await;

    let reader = TestApp::serve(owner.state.clone(), owner.db_url.clone(), client()).await;
    reader.sign_up(&b, "Reader").await;
    let sid = id.to_string();
    // by id, by page, by file, by search, by every server function
    assert_eq!(document(&reader, id).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(reader.get(&format!("/documents/{id}")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(reader.get(&format!("/documents/{id}/file")).await.status(), StatusCode::NOT_FOUND);
    assert!(titles(&search(&reader, "boiler warranty", &[]).await).is_empty());
    for f in ["documents/delete", "documents/retry"] {
        assert_eq!(reader.call(f, &[("id", &sid)]).await.status(), StatusCode::NOT_FOUND, "{f}");
    }
    assert_eq!(reader.call("documents/share", &[("id", &sid), ("email", &b)]).await.status(), StatusCode::NOT_FOUND);

    // unknown email and oneself: clear messages
    let (s, e) =
        error_json(owner.call("documents/share", &[("id", &sid), ("email", "nobody@example.com")]).await).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["message"].as_str().unwrap().contains("No Bartleby user"), "{e}");
    let (s, _) = error_json(owner.call("documents/share", &[("id", &sid), ("email", &a)]).await).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    let r = owner.call("documents/share", &[("id", &sid), ("email", &b.to_uppercase())]).await;
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    let list = documents(&reader).await;
    assert_eq!(list["shared"][0]["title"], "deeds", "{list}");
    assert_eq!(list["shared"][0]["owner_email"], a.as_str());
    assert_eq!(reader.get(&format!("/documents/{id}/file")).await.status(), StatusCode::OK);
    let d: Value = document(&reader, id).await.json().await.unwrap();
    assert_eq!(d["is_owner"], false);
    let r = search(&reader, "boiler warranty", &[]).await;
    assert_eq!(titles(&r), vec!["deeds"]);
    assert_eq!(r["groups"][0]["owner_email"], a.as_str());
    // read-only
    assert_eq!(reader.call("documents/delete", &[("id", &sid)]).await.status(), StatusCode::NOT_FOUND);

    let reader_id = reader.me().await["id"].as_i64().unwrap().to_string();
    let r = owner.call("documents/revoke", &[("id", &sid), ("grantee", &reader_id)]).await;
    assert!(r.status().is_success() || r.status().is_redirection());
    assert_eq!(reader.get(&format!("/documents/{id}/file")).await.status(), StatusCode::NOT_FOUND);
    assert!(titles(&search(&reader, "boiler warranty", &[]).await).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_document_removes_its_file_text_and_vectors() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("del"), "Del").await;
    let (_, up) = upload_docs(&app, vec![("gone.md", format!("# Gone\n\n{GARDEN}").into_bytes())]).await;
    let id = ids(&up, "added")[0];
    ingest(&app).await;
    assert!(vector_count(&app, id).await > 0);
    let user = app.me().await["id"].as_i64().unwrap();
    let file = app.state.config.dirs.documents.join(format!("users/{user}/documents/{id}.md"));
    assert!(file.exists(), "{}", file.display());

    let r = app.call("documents/delete", &[("id", &id.to_string())]).await;
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    assert!(!file.exists());
    assert_eq!(document(&app, id).await.status(), StatusCode::NOT_FOUND);
    assert!(titles(&search(&app, "tomatoes", &[]).await).is_empty());
    ingest(&app).await; // the vector clean-up job
    assert_eq!(vector_count(&app, id).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_ingest_resumes_where_it_stopped() {
    use diesel_async::RunQueryDsl;
    let app = TestApp::spawn().await;
    app.sign_up(&email("crash"), "Crash").await;
    let long: String = (0..40).map(|i| format!("Paragraph {i} of the manual. {BOILER} ")).collect();
    let (_, up) = upload_docs(&app, vec![("manual.txt", long.into_bytes())]).await;
    let id = ids(&up, "added")[0];

    // a worker claims the job and dies (no heartbeat, no answer)
    let mut c = app.state.db.get().await.unwrap();
    let here = [app.state.documents.local_store_id().unwrap()];
    let job =
        jobs::claim(&mut c, "doomed-worker", &app.state.jobs.kinds(jobs::Lane::Model), &here).await.unwrap().unwrap();
    assert_eq!(job.subject_id, id);
    // nobody else may take it while the lease holds
    assert!(jobs::claim(&mut c, "other", &app.state.jobs.kinds(jobs::Lane::Model), &here).await.unwrap().is_none());
    assert_eq!(ingest(&app).await, 0);
    diesel::sql_query("UPDATE jobs SET locked_until = now() - interval '1 second' WHERE id = $1")
        .bind::<diesel::sql_types::BigInt, _>(job.id)
        .execute(&mut c)
        .await
        .unwrap();
    assert_eq!(ingest(&app).await, 1, "the lapsed job is taken over");
    let list = documents(&app).await;
    assert_eq!(status_of(&list, "manual").0, "Ready");
    let total = list["mine"][0]["chunks_total"].as_i64().unwrap();
    assert!(total > 5, "{list}");
    assert_eq!(vector_count(&app, id).await, total);

    // a crash half-way through embedding: half the vectors are gone, the job runs again and only
    // embeds the missing ones (the passages keep their ids: the text was not extracted again)
    let before = chunk_ids(&mut c, id).await;
    {
        let mut vc = app.state.vector.pool().unwrap().get().await.unwrap();
        diesel::sql_query("DELETE FROM document_vectors WHERE document_id = $1 AND chunk_id % 2 = 0")
            .bind::<diesel::sql_types::BigInt, _>(id)
            .execute(&mut vc)
            .await
            .unwrap();
    }
    diesel::sql_query("UPDATE user_documents SET status = 'embedding' WHERE id = $1")
        .bind::<diesel::sql_types::BigInt, _>(id)
        .execute(&mut c)
        .await
        .unwrap();
    let user = app.me().await["id"].as_i64().unwrap();
    jobs::enqueue(&mut c, INGEST, user, id).await.unwrap();
    ingest(&app).await;
    assert_eq!(chunk_ids(&mut c, id).await, before);
    assert_eq!(vector_count(&app, id).await, total);
    assert_eq!(status_of(&documents(&app).await, "manual").0, "Ready");
}

#[tokio::test(flavor = "multi_thread")]
async fn search_falls_back_to_full_text_when_the_vector_database_is_down_and_recovers() {
    // the vector database on a cluster of its own (NEON_DATABASE_URL), so it can be stopped
    let root = std::env::var("BARTLEBY_TEST_PG_DIR").unwrap_or_else(|_| "/tmp/bartleby-test-pg".into());
    let neon = start_cluster(&format!("{root}-neon"), DEFAULT_PORT).await;
    let vec_url = fresh_database(&neon).await;
    let url = fresh_database(cluster().await).await;
    let app = TestApp::spawn_with(test_config(&url, &[("NEON_DATABASE_URL", &vec_url)]), None).await;
    assert!(matches!(app.state.vector, VectorDb::Separate(_)));
    app.sign_up(&email("neon"), "Neon").await;
    let (_, up) =
        upload_docs(&app, vec![("boiler.txt", BOILER.as_bytes().to_vec()), ("garden.txt", GARDEN.as_bytes().to_vec())])
            .await;
    ingest(&app).await;
    let id = ids(&up, "added")[0];
    assert!(vector_count(&app, id).await > 0, "vectors live in the second database");
    assert_eq!(search(&app, "heating guarantee length", &[]).await["mode"], "Hybrid");

    neon.stop().await.unwrap();
    let r = search(&app, "boiler", &[]).await;
    assert!(r["mode"]["TextOnly"]["reason"].as_str().unwrap().contains("vector database"), "{r}");
    assert_eq!(titles(&r), vec!["boiler"], "words still find it");
    let page = app.get("/search?q=boiler").await.text().await.unwrap();
    assert!(page.contains("data-testid=\"search-fallback\"") && page.contains("boiler"), "{page}");
    let h: Value = app.get("/api/health").await.json().await.unwrap();
    assert_eq!(h["vector_db"]["status"], "down", "{h}");
    // uploads still work and are searchable by their words; their vectors wait
    let (_, up) = upload_docs(&app, vec![("trains.txt", TRAINS.as_bytes().to_vec())]).await;
    assert_eq!(ids(&up, "added").len(), 1);
    ingest(&app).await;
    let (s, detail) = status_of(&documents(&app).await, "trains");
    assert_eq!(s, "Embedding", "the text is in, the vectors wait: {detail}");
    assert!(detail.as_str().unwrap().contains("Retrying automatically"), "{detail}");
    assert_eq!(titles(&search(&app, "Vienna", &[]).await), vec!["trains"]);

    neon.start().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while search(&app, "heating guarantee length", &[]).await["mode"] != "Hybrid" {
        assert!(Instant::now() < deadline, "search did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // the waiting job runs once its backoff is over
    {
        use diesel_async::RunQueryDsl;
        let mut c = app.state.db.get().await.unwrap();
        diesel::sql_query("UPDATE jobs SET run_at = now()").execute(&mut c).await.unwrap();
    }
    ingest(&app).await;
    assert_eq!(status_of(&documents(&app).await, "trains").0, "Ready");
    neon.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_vector_database_documents_are_searchable_by_words() {
    let url = fresh_database(cluster().await).await;
    let app = TestApp::spawn_with(test_config(&url, &[]), Some(VectorDb::Absent)).await;
    app.sign_up(&email("novec"), "NoVec").await;
    upload_docs(&app, vec![("boiler.txt", BOILER.as_bytes().to_vec())]).await;
    ingest(&app).await;
    let (s, detail) = status_of(&documents(&app).await, "boiler");
    assert_eq!(s, "Ready");
    assert!(detail.as_str().unwrap().contains("words only"), "{detail}");
    let r = search(&app, "warranty", &[]).await;
    assert_eq!(titles(&r), vec!["boiler"]);
    assert!(r["mode"]["TextOnly"]["reason"].as_str().unwrap().contains("no vector database"), "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn approximate_search_never_drops_a_users_passages_among_many_others() {
    use app::vectors;
    let app = TestApp::spawn().await;
    let pool = app.state.vector.pool().unwrap().clone();
    let mut vc = pool.get().await.unwrap();
    // 6,000 passages of other users, all closer to the query than ours, and 10 of ours
    let dims = app.state.embedder.as_ref().unwrap().dimensions();
    let unit = |seed: u64, closeness: f32| {
        let mut v: Vec<f32> = (0..dims).map(|i| (((seed * 31 + i as u64) % 97) as f32 / 97.0) - 0.5).collect();
        v[0] += closeness;
        app::embedding::normalise(v)
    };
    for batch in 0..6 {
        let rows = (0..1000).map(|i| {
            let n = batch * 1000 + i;
            passage(1_000_000 + n as i64, 500_000 + (n % 50) as i64, 999, unit(n as u64, 5.0))
        });
        vectors::insert(&mut vc, "test-model", rows.collect()).await.unwrap();
    }
    let ours: Vec<vectors::PassageVector> =
        (0..10).map(|i| passage(2_000_000 + i, 7, 1, unit(90_000 + i as u64, 0.0))).collect();
    vectors::insert(&mut vc, "test-model", ours).await.unwrap();
    let mut q = vec![0f32; dims];
    q[0] = 1.0;
    // the HNSW path on its own, where the scope is dense
    let theirs: Vec<i64> = (500_000..500_050).collect();
    let hits =
        vectors::approximate(&mut vc, &vectors::Scope::documents(&theirs), &pgvector::Vector::from(q.clone()), 10)
            .await
            .unwrap();
    assert_eq!(hits.len(), 10, "{hits:?}");
    // both paths: exact for a small scope, HNSW with iterative scan for a large one
    for in_scope in [10, vectors::EXACT_SCAN_LIMIT + 1] {
        let hits = vectors::nearest(&mut vc, &vectors::Scope::documents(&[7]), in_scope, &q, 10).await.unwrap();
        assert_eq!(hits.len(), 10, "in_scope {in_scope}: {hits:?}");
        // the same by owner: user 1 owns document 7's passages
        let hits = vectors::nearest(&mut vc, &vectors::Scope::owner(1, &[]), in_scope, &q, 10).await.unwrap();
        assert_eq!(hits.len(), 10, "in_scope {in_scope}: {hits:?}");
        assert!(hits.iter().all(|h| h.document_id == 7));
        assert!(hits.windows(2).all(|w| w[0].distance <= w[1].distance), "ordered by distance");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_different_embedding_model_is_refused_until_reindexed() {
    use app::vectors;
    let app = TestApp::spawn().await;
    let mut vc = app.state.vector.pool().unwrap().get().await.unwrap();
    let e = app.state.embedder.as_ref().unwrap();
    vectors::check_model(&mut vc, e.model_id(), e.dimensions()).await.unwrap();
    vectors::insert(&mut vc, e.model_id(), vec![passage(1, 1, 1, vec![0.1; e.dimensions()])]).await.unwrap();
    let err = vectors::check_model(&mut vc, "openai/text-embedding-3-small@1536", 1536).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("bartleby reindex") && msg.contains("1536"), "{msg}");
    // reindex adopts the new model: the column takes its dimension and the old vectors go
    vectors::adopt_model(&mut vc, "openai/text-embedding-3-small@1536", 1536).await.unwrap();
    vectors::check_model(&mut vc, "openai/text-embedding-3-small@1536", 1536).await.unwrap();
    vectors::insert(&mut vc, "openai/text-embedding-3-small@1536", vec![passage(1, 1, 1, vec![0.1; 1536])])
        .await
        .unwrap();
}

async fn spawn_openai_double() -> (doubles::openai::OpenAiDouble, String) {
    let double = doubles::openai::OpenAiDouble::new("sk-test-key");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    let router = double.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (double, base)
}

#[tokio::test(flavor = "multi_thread")]
async fn switching_to_an_openai_compatible_api_needs_a_reindex_then_searches_with_it() {
    use std::sync::atomic::Ordering;
    let local = TestApp::spawn().await;
    local.sign_up(&email("switch"), "Switch").await;
    upload_docs(&local, vec![("boiler.txt", BOILER.as_bytes().to_vec()), ("garden.txt", GARDEN.as_bytes().to_vec())])
        .await;
    ingest(&local).await;

    let (double, base) = spawn_openai_double().await;
    let openai = [("OPENAI_API_KEY", "sk-test-key"), ("OPENAI_BASE_URL", base.as_str())];
    // start-up refuses: the stored vectors are the local model's
    let err = server::build_state(test_config(&local.db_url, &openai), &local.db_url).await.err().unwrap();
    let msg = format!("{err:#}");
    assert!(msg.contains("bartleby reindex") && msg.contains("local/all-MiniLM-L6-v2"), "{msg}");

    let state = server::build_state_with(test_config(&local.db_url, &openai), &local.db_url, false).await.unwrap();
    let mut lines = Vec::new();
    let left = server::reindex(&state, |l| lines.push(l), |_, _| {}).await.unwrap();
    assert_eq!(left, 0, "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("2 document(s)")), "{lines:?}");
    assert!(double.calls.load(Ordering::Relaxed) >= 2);
    // a second run has nothing left to do, and start-up is happy now
    server::reindex(&state, |_| {}, |_, _| {}).await.unwrap();
    let app = TestApp::serve(
        server::build_state(test_config(&local.db_url, &openai), &local.db_url).await.unwrap(),
        local.db_url.clone(),
        local.client.clone(),
    )
    .await;
    let id = documents(&app).await["mine"].as_array().unwrap().iter().find(|d| d["title"] == "boiler").unwrap()["id"]
        .as_i64()
        .unwrap();
    assert!(vector_count(&app, id).await > 0);
    let r = search(&app, "warranty engineer", &[]).await;
    assert_eq!(r["mode"], "Hybrid", "{r}");
    assert_eq!(titles(&r)[0], "boiler");

    // the API failing: search says so and answers by words
    double.fail_with.store(503, Ordering::Relaxed);
    let r = search(&app, "warranty", &[]).await;
    assert!(r["mode"]["TextOnly"]["reason"].as_str().unwrap().contains("embedding model"), "{r}");
    assert_eq!(titles(&r), vec!["boiler"]);
    double.fail_with.store(0, Ordering::Relaxed);
    assert_eq!(search(&app, "warranty", &[]).await["mode"], "Hybrid");

    // a wrong key is an error from the embedder, with the API's message
    let bad = app::embedding::OpenAiEmbedder::new(&base, "sk-wrong", "text-embedding-3-small", 1536).unwrap();
    use app::embedding::Embedder;
    let e = bad.embed(&["x".to_owned()]).await.unwrap_err().to_string();
    assert!(e.contains("401") && e.contains("Incorrect API key"), "{e}");
}

/// A minimal XLSX workbook: one sheet per entry, rows of inline strings.
fn xlsx(sheets: &[(&str, &[&[&str]])]) -> Vec<u8> {
    let cols = ["A", "B", "C", "D"];
    let sheets: Vec<(&str, String)> = sheets
        .iter()
        .map(|(name, rows)| {
            let body: String = rows
                .iter()
                .enumerate()
                .map(|(r, cells)| {
                    let cs: String = cells
                        .iter()
                        .enumerate()
                        .map(|(c, v)| format!(r#"<c r="{}{}" t="inlineStr"><is><t>{v}</t></is></c>"#, cols[c], r + 1))
                        .collect();
                    format!(r#"<row r="{}">{cs}</row>"#, r + 1)
                })
                .collect();
            (*name, body)
        })
        .collect();
    xlsx_raw(&sheets, "")
}

/// A workbook whose sheets hold the given `<sheetData>` XML, each after `before_data` (a
/// `<dimension>` element, say).
pub(crate) fn xlsx_raw(sheets: &[(&str, String)], before_data: &str) -> Vec<u8> {
    const MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
    const REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    let book_sheets: String = sheets
        .iter()
        .enumerate()
        .map(|(i, (name, _))| format!(r#"<sheet name="{name}" sheetId="{}" r:id="rId{}"/>"#, i + 1, i + 1))
        .collect();
    let rels: String = (1..=sheets.len())
        .map(|i| format!(r#"<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>"#))
        .collect();
    let overrides: String = (1..=sheets.len())
        .map(|i| format!(r#"<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#))
        .collect();
    let mut files: Vec<(String, String)> = vec![
        (
            "[Content_Types].xml".into(),
            format!(
                r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>{overrides}</Types>"#
            ),
        ),
        (
            "_rels/.rels".into(),
            format!(
                r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
            ),
        ),
        (
            "xl/workbook.xml".into(),
            format!(
                r#"<?xml version="1.0"?><workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>{book_sheets}</sheets></workbook>"#
            ),
        ),
        (
            "xl/_rels/workbook.xml.rels".into(),
            format!(
                r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>"#
            ),
        ),
    ];
    for (i, (_, body)) in sheets.iter().enumerate() {
        files.push((
            format!("xl/worksheets/sheet{}.xml", i + 1),
            format!(
                r#"<?xml version="1.0"?><worksheet xmlns="{MAIN}">{before_data}<sheetData>{body}</sheetData></worksheet>"#
            ),
        ));
    }
    let entries: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (n.as_str(), d.as_bytes())).collect();
    zip_of(&entries)
}

#[tokio::test(flavor = "multi_thread")]
async fn spreadsheets_are_read_sheet_by_sheet() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("xlsx"), "Xlsx").await;
    let book = xlsx(&[
        (
            "Appliances",
            &[&["Item", "Installed", "Note"], &["Boiler", "2024", "Warranty five years, yearly service required"]],
        ),
        ("Garden", &[&["Plant", "Care"], &["Tomatoes", "Full sun, water daily"]]),
    ]);
    let (_, up) = upload_docs(&app, vec![("house.xlsx", book)]).await;
    let id = ids(&up, "added")[0];
    ingest(&app).await;
    let d: Value = document(&app, id).await.json().await.unwrap();
    assert_eq!(d["row"]["status"], "Ready", "{d}");
    assert_eq!(d["row"]["doc_type"], "Xlsx");
    assert_eq!(d["row"]["pages"], 2, "one page per sheet: {d}");
    assert!(d["pages"][0]["text"].as_str().unwrap().contains("Boiler\t2024"), "{d}");
    let r = search(&app, "tomatoes", &[]).await;
    assert_eq!(r["groups"][0]["passages"][0]["page"], 2, "the Garden sheet: {r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn search_also_lists_matching_inventory_items() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("items"), "Items").await;
    let lamp = add_item(&app, "Brass lamp", &[("description", "A brass desk lamp with a green shade")]).await;
    add_item(&app, "Oak chair", &[]).await;
    upload(&app, lamp, "lamp.jpg", jpeg(64, 48), "application/json").await;
    let photo = wait_for_thumbnails(&app, lamp).await;
    upload_docs(&app, vec![("lamps.txt", b"Notes on restoring old lamps and their wiring.".to_vec())]).await;
    ingest(&app).await;
    let r = search(&app, "lamp", &[]).await;
    let items: Vec<&str> = r["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(items, vec!["Brass lamp"], "{r}");
    // with its photo's small thumbnail
    assert_eq!(r["items"][0]["cover"], photo["thumb_256"], "{r}");
    assert_eq!(titles(&r), vec!["lamps"]);
    // another user's items never show
    let other = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    other.sign_up(&email("other"), "Other").await;
    assert!(search(&other, "lamp", &[]).await["items"].as_array().unwrap().is_empty());
}

async fn item_vector_count(app: &TestApp, user_item: Option<i64>) -> i64 {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut c = app.state.vector.pool().unwrap().get().await.unwrap();
    let row: N = diesel::sql_query("SELECT count(*) AS n FROM item_vectors WHERE $1::int8 IS NULL OR item_id = $1")
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::BigInt>, _>(user_item)
        .get_result(&mut c)
        .await
        .unwrap();
    row.n
}

fn item_names(r: &Value) -> Vec<String> {
    r["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn inventory_items_are_embedded_found_by_meaning_and_kept_up_to_date() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("meaning"), "Meaning").await;
    let chair = add_item(&app, "Oak dining chair", &[("category", "Furniture")]).await;
    add_item(&app, "Brass table lamp", &[("category", "Lighting"), ("description", "Green glass shade")]).await;
    let rug = add_item(&app, "Wool rug", &[("category", "Textiles")]).await;
    ingest(&app).await; // the embedding job queued by the creates
    assert_eq!(item_vector_count(&app, None).await, 3);

    // no word of the query is in any item: found by meaning alone, the unrelated ones left out
    let r = search(&app, "somewhere to sit", &[]).await;
    assert_eq!(r["mode"], "Hybrid", "{r}");
    assert_eq!(item_names(&r), vec!["Oak dining chair"], "{r}");
    assert_eq!(r["items_total"], 0, "no item has these words: {r}");
    // words still count: both rankings meet
    assert_eq!(item_names(&search(&app, "lamp", &[]).await), vec!["Brass table lamp"]);

    // an edit is embedded again: the rug becomes a bench
    let r = app
        .client
        .post(app.url("/api/inventory/update"))
        .form(&[("id", rug.to_string().as_str()), ("form[name]", "Garden bench"), ("form[category]", "Furniture")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    ingest(&app).await;
    let mut names = item_names(&search(&app, "somewhere to sit", &[]).await);
    names.sort();
    assert_eq!(names, vec!["Garden bench", "Oak dining chair"]);

    // a deleted item's vector goes with it
    assert_eq!(item_vector_count(&app, Some(chair)).await, 1);
    assert!(app.call("inventory/delete", &[("id", &chair.to_string())]).await.status().is_success());
    assert_eq!(item_vector_count(&app, Some(chair)).await, 0);
    assert_eq!(item_names(&search(&app, "somewhere to sit", &[]).await), vec!["Garden bench"]);

    // another user finds none of them
    let other = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    other.sign_up(&email("meaning-other"), "Other").await;
    add_item(&other, "Kitchen stool", &[]).await;
    ingest(&other).await;
    assert_eq!(item_names(&search(&other, "somewhere to sit", &[]).await), vec!["Kitchen stool"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn items_left_waiting_are_embedded_and_an_edit_during_embedding_stays_due() {
    use diesel_async::RunQueryDsl;
    let app = TestApp::spawn().await;
    app.sign_up(&email("waiting"), "Waiting").await;
    let id = add_item(&app, "Copper kettle", &[]).await;
    ingest(&app).await;
    let mut c = app.state.db.get().await.unwrap();
    // an item changed behind the queue's back (written while the model was off, say): the
    // start-up sweep queues it
    diesel::sql_query("UPDATE user_inventory SET description = 'Whistles when the water boils' WHERE id = $1")
        .bind::<diesel::sql_types::BigInt, _>(id)
        .execute(&mut c)
        .await
        .unwrap();
    assert_eq!(app::inventory::embedding::queue_item_embedding(&mut c).await.unwrap(), 1);
    assert_eq!(ingest(&app).await, 1);
    assert_eq!(app::inventory::embedding::queue_item_embedding(&mut c).await.unwrap(), 0, "nothing left waiting");
    // the version an embedding recorded is the one it read: an edit after the read stays due
    #[derive(diesel::QueryableByName)]
    struct V {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        text_version: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        embedded_version: i64,
    }
    let v: V = diesel::sql_query("SELECT text_version, embedded_version FROM user_inventory WHERE id = $1")
        .bind::<diesel::sql_types::BigInt, _>(id)
        .get_result(&mut c)
        .await
        .unwrap();
    assert_eq!((v.text_version, v.embedded_version), (2, 2));
    // an edit while the job embeds the text it read: recording the version it read leaves the item due
    diesel::sql_query("UPDATE user_inventory SET name = 'Copper tea kettle' WHERE id = $1")
        .bind::<diesel::sql_types::BigInt, _>(id)
        .execute(&mut c)
        .await
        .unwrap();
    let user = app.me().await["id"].as_i64().unwrap();
    assert_eq!(app::inventory::repo::record_embedded(&mut c, user, &[id], &[2]).await.unwrap(), 0);
    assert_eq!(app::inventory::embedding::queue_item_embedding(&mut c).await.unwrap(), 1, "still due");
    ingest(&app).await;
    assert_eq!(app::inventory::embedding::queue_item_embedding(&mut c).await.unwrap(), 0);
    // a change to the quantity is not a change of words: nothing to embed
    diesel::sql_query("UPDATE user_inventory SET quantity = 3 WHERE id = $1")
        .bind::<diesel::sql_types::BigInt, _>(id)
        .execute(&mut c)
        .await
        .unwrap();
    assert_eq!(app::inventory::embedding::queue_item_embedding(&mut c).await.unwrap(), 0);
    let r = search(&app, "boiling water", &[]).await;
    assert_eq!(item_names(&r), vec!["Copper tea kettle"], "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn queries_embedded_together_and_beside_ingest_match_queries_embedded_alone() {
    let app = TestApp::spawn().await;
    let e = app.state.embedder.clone().unwrap();
    let short = "where are the spare keys";
    let long = "a much longer question about the garden shed, the tools kept in it and who borrowed the saw";
    let (alone_short, alone_long) = (e.embed_query(short).await.unwrap(), e.embed_query(long).await.unwrap());
    // an ingest batch running while queries of different lengths arrive together (and are batched,
    // padded to the longest)
    let batch: Vec<String> = (0..16).map(|i| format!("{i}: {}", BOILER)).collect();
    let (passages, a, b, c) =
        tokio::join!(e.embed(&batch), e.embed_query(short), e.embed_query(long), e.embed_query(short));
    assert_eq!(passages.unwrap().len(), 16);
    let cos = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(a, b)| a * b).sum::<f32>();
    for (together, alone) in [(a.unwrap(), &alone_short), (b.unwrap(), &alone_long), (c.unwrap(), &alone_short)] {
        assert!(cos(&together, alone) > 0.9999, "{}", cos(&together, alone));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn finished_jobs_are_pruned_and_failures_kept_longer() {
    use diesel_async::RunQueryDsl;
    let app = TestApp::spawn().await;
    app.sign_up(&email("prune"), "Prune").await;
    upload_docs(&app, vec![("a.txt", b"The first note.".to_vec()), ("b.txt", b"The second note.".to_vec())]).await;
    ingest(&app).await;
    let mut c = app.state.db.get().await.unwrap();
    // one finished two days ago, the other failed two days ago
    diesel::sql_query(
        "UPDATE jobs SET updated_at = now() - interval '2 days', \
         state = CASE WHEN id = (SELECT min(id) FROM jobs) THEN 'done' ELSE 'failed' END",
    )
    .execute(&mut c)
    .await
    .unwrap();
    let now = time::OffsetDateTime::now_utc();
    let pruned = jobs::prune(&mut c, now - time::Duration::days(1), now - time::Duration::days(30)).await.unwrap();
    assert_eq!(pruned, 1, "the done job goes, the failed one stays");
    let pruned = jobs::prune(&mut c, now - time::Duration::days(1), now - time::Duration::days(1)).await.unwrap();
    assert_eq!(pruned, 1, "the failed one goes once it is old enough");
}

/// A passage's vector row.
fn passage(chunk_id: i64, document_id: i64, user_id: i64, embedding: Vec<f32>) -> app::vectors::PassageVector {
    app::vectors::PassageVector { chunk_id, document_id, user_id, embedding }
}

/// The local model is read on first use, not at start-up, and given back after its idle time; the
/// next text reads it again. (`/api/health` reports which: `model_loaded`.)
#[tokio::test(flavor = "multi_thread")]
async fn the_local_model_loads_on_first_use_and_unloads_when_idle() {
    use app::embedding::{Embedder, LocalEmbedder};
    let config = test_config("postgres://unused", &[]);
    let app::platform::config::EmbeddingConfig::Local { model_dir, .. } = &config.embedding else {
        panic!("the tests run the local model")
    };
    let e = LocalEmbedder::load(model_dir, Duration::from_millis(1500)).unwrap();
    assert_eq!(e.loaded(), Some(false), "opening the model reads no weights");
    assert_eq!(e.dimensions(), 384);
    let first = e.embed_query("a brass barometer").await.unwrap();
    assert_eq!(e.loaded(), Some(true));
    tokio::time::sleep(Duration::from_millis(3000)).await;
    assert_eq!(e.loaded(), Some(false), "given back after its idle time");
    let again = e.embed_query("a brass barometer").await.unwrap();
    assert_eq!(first, again, "read again, the same model");

    let app = TestApp::spawn().await;
    let health: Value = app.get("/api/health").await.json().await.unwrap();
    assert!(health["model_loaded"].is_boolean(), "{health}");
}

/// A model whose weights turn out damaged when first read fails each text with a clear error, and
/// the model's thread keeps answering (a later text gets the same answer, not a hang).
#[tokio::test(flavor = "multi_thread")]
async fn a_model_whose_weights_are_damaged_fails_each_text_and_never_hangs() {
    use app::embedding::{EmbedError, Embedder, LocalEmbedder};
    let config = test_config("postgres://unused", &[]);
    let app::platform::config::EmbeddingConfig::Local { model_dir, .. } = &config.embedding else {
        panic!("the tests run the local model")
    };
    let dir = test_tmp().join(format!("damaged-model-{:08x}", rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["config.json", "tokenizer.json"] {
        std::fs::copy(model_dir.join(f), dir.join(f)).unwrap();
    }
    std::fs::write(dir.join("model.safetensors"), b"\xff\xff\xff\xff not weights").unwrap();
    let e = LocalEmbedder::load(&dir, Duration::from_secs(60)).unwrap();
    for _ in 0..2 {
        let r = tokio::time::timeout(Duration::from_secs(30), e.embed_query("a brass barometer")).await;
        match r.expect("an answer, not a hang") {
            Err(EmbedError::Load(m)) => {
                assert!(m.contains("model.safetensors") && !m.contains("could not be loaded"), "{m}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(e.loaded(), Some(false));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn words_only_search_finds_the_passage_of_a_rare_word_among_many_with_a_common_one() {
    use app::documents::repo::{text_candidates, TEXT_MATCH_CAP};
    use app::vectors::Scope;
    use diesel::sql_types::{BigInt, Text};
    use diesel_async::RunQueryDsl;
    let app = TestApp::spawn().await;
    app.sign_up(&email("rare"), "Rare").await;
    let user = app.me().await["id"].as_i64().unwrap();
    let mut c = app.state.db.get().await.unwrap();
    let common = TEXT_MATCH_CAP + 100;
    // more passages with the common word than one source of candidates takes, then the one with
    // the rare word, added last (the first matches taken used to be the first added)
    diesel::sql_query(
        "INSERT INTO user_documents (id, user_id, title, file_name, doc_type, content_type, bytes, sha256, backend, key, \
         status, chunks_total, chunks_embedded) VALUES (900001, $1, 'Lamps', 'lamps.txt', 'txt', 'text/plain', 1, 'x', 'local', 'k', 'ready', $2, 0)",
    )
    .bind::<BigInt, _>(user)
    .bind::<diesel::sql_types::Integer, _>(common as i32 + 2)
    .execute(&mut c)
    .await
    .unwrap();
    diesel::sql_query(
        "INSERT INTO document_chunks (document_id, user_id, ordinal, page, text) \
         SELECT 900001, $1, g, 1, 'The brass lamp stands in room ' || g FROM generate_series(1, $2) g",
    )
    .bind::<BigInt, _>(user)
    .bind::<BigInt, _>(common)
    .execute(&mut c)
    .await
    .unwrap();
    for (ordinal, text) in [(common + 1, "A zeppelin drifted over the lake."), (common + 2, "The zeppelin had a lamp.")]
    {
        diesel::sql_query(
            "INSERT INTO document_chunks (document_id, user_id, ordinal, page, text) VALUES (900001, $1, $2, 1, $3)",
        )
        .bind::<BigInt, _>(user)
        .bind::<diesel::sql_types::Integer, _>(ordinal as i32)
        .bind::<Text, _>(text)
        .execute(&mut c)
        .await
        .unwrap();
    }
    let scope = Scope::owner(user, &[]);
    let db = app.state.db.clone();
    let texts = |hits: Vec<app::documents::repo::TextHit>| {
        let (ids, db): (Vec<i64>, _) = (hits.iter().map(|h| h.chunk_id).collect(), db.clone());
        async move {
            let rows = app::documents::repo::passages(&mut db.get().await.unwrap(), &ids, &[900001]).await.unwrap();
            ids.iter().map(|id| rows.iter().find(|r| r.id == *id).unwrap().text.clone()).collect::<Vec<String>>()
        }
    };
    let n = common + 2;
    // every word: that passage first; then the rare word's passage above the common word's many
    let found = texts(text_candidates(&mut c, &scope, "zeppelin lamp", n, 10).await.unwrap()).await;
    assert_eq!(found[..2], ["The zeppelin had a lamp.", "A zeppelin drifted over the lake."], "{found:?}");
    let found = texts(text_candidates(&mut c, &scope, "lake lamps", n, 10).await.unwrap()).await;
    assert_eq!(found[0], "A zeppelin drifted over the lake.", "{found:?}");
    assert_eq!(found.len(), 10);
    // an excluded word keeps its passages out
    let found = texts(text_candidates(&mut c, &scope, "lake lamp -zeppelin", n, 10).await.unwrap()).await;
    assert!(found.iter().all(|t| !t.contains("zeppelin")), "{found:?}");
    // a word in no passage finds nothing by itself; quotes and backslashes are only words
    assert!(text_candidates(&mut c, &scope, "xylophone", n, 10).await.unwrap().is_empty());
    for odd in ["it's", "a\\b", "'", "\"", "!", "&|", "-", "--x"] {
        text_candidates(&mut c, &scope, odd, n, 10).await.unwrap();
    }
}

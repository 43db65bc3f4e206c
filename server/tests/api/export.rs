//! Exports: CSV, Excel, JSON and ZIP, complete, safe and only for their owner.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn csv_export_is_complete_safe_and_only_for_its_owner() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("export"), "Export").await;
    let user_id = app.me().await["id"].as_i64().unwrap();
    add_item(
        &app,
        "Oak chair",
        &[("category", "Furniture"), ("quantity", "4"), ("tags", "oak, vintage"), ("retail_price", "120")],
    )
    .await;
    add_item(&app, "=HYPERLINK(\"http://evil.example\")", &[("description", "line one\nline, two \"quoted\"")]).await;

    let other = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    other.sign_up(&email("other"), "Other").await;
    add_item(&other, "Other's secret", &[]).await;

    // a plain form post (no JavaScript) is answered with a redirect to the download
    let r = app
        .client
        .post(app.url("/api/inventory/export"))
        .header(ACCEPT, "text/html")
        .header("origin", format!("http://{}", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let location = r.headers()[LOCATION].to_str().unwrap().to_owned();
    let id: i64 = location.trim_start_matches("/exports/").parse().unwrap();
    let stored = app.state.config.dirs.exports.join(format!("users/{user_id}/exports/{id}.csv"));
    assert!(stored.exists(), "written under users/{{id}}/exports/");

    let r = app.get(&location).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"bartleby-inventory-"));
    let body = r.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "name");
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2, "{body}");
    assert_eq!(&rows[0][0], "Oak chair");
    assert_eq!(&rows[0][col("quantity")], "4");
    assert_eq!(&rows[0][col("tags")], "oak, vintage");
    assert_eq!(&rows[0][col("retail_price")], "120.00");
    assert_eq!(&rows[1][0], "'=HYPERLINK(\"http://evil.example\")", "formulas are neutralised");
    assert_eq!(&rows[1][1], "line one\nline, two \"quoted\"", "quoting round-trips");
    assert!(!body.contains("Other's secret"));

    // another user cannot fetch it
    assert_eq!(other.get(&location).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn exports_as_excel_json_and_a_zip_with_the_photos() {
    use std::io::Read;
    let app = TestApp::spawn().await;
    app.sign_up(&email("formats"), "Formats").await;
    let chair = add_item(
        &app,
        "Oak chair <antique> & co",
        &[("location", "Hall / Cupboard"), ("quantity", "2"), ("tags", "oak, old"), ("retail_price", "99.5")],
    )
    .await;
    add_item(&app, "=1+1", &[]).await;
    let photo = jpeg(320, 240);
    assert_eq!(upload(&app, chair, "chair.jpg", photo.clone(), "application/json").await.status(), StatusCode::OK);

    // Excel: a real workbook, numbers as numbers, text as text (no formula ever runs)
    let (headers, bytes) = export_file(&app, "xlsx").await;
    assert_eq!(headers["content-type"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    assert!(headers["content-disposition"].to_str().unwrap().ends_with(".xlsx\""));
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let sheet = calamine::Reader::worksheet_range(&mut book, "Inventory").unwrap();
    let rows: Vec<Vec<String>> = sheet.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
    let col = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1][0], "Oak chair <antique> & co");
    assert_eq!(rows[1][col("location")], "Hall / Cupboard");
    assert_eq!(rows[1][col("retail_price")], "99.5");
    assert_eq!(sheet.get((1, col("quantity"))), Some(&calamine::Data::Float(2.0)));
    assert_eq!(rows[2][0], "=1+1", "text, not a formula");

    // JSON: one object per item, exact prices as text
    let (headers, bytes) = export_file(&app, "json").await;
    assert_eq!(headers["content-type"], "application/json");
    let items: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(items.as_array().unwrap().len(), 2);
    assert_eq!(items[0]["tags"], serde_json::json!(["oak", "old"]));
    assert_eq!(items[0]["retail_price"], "99.50");
    assert_eq!(items[0]["quantity"], 2);
    assert_eq!(items[1]["location"], Value::Null);

    // ZIP: the CSV, naming each item's photos, and the photos themselves, byte for byte
    let (headers, bytes) = export_file(&app, "zip").await;
    assert_eq!(headers["content-type"], "application/zip");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut csv_text = String::new();
    zip.by_name("items.csv").unwrap().read_to_string(&mut csv_text).unwrap();
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let photos_col = reader.headers().unwrap().iter().position(|h| h == "photos").unwrap();
    let first = reader.records().next().unwrap().unwrap();
    let name = first[photos_col].to_owned();
    assert!(name.starts_with(&format!("photos/{chair}-")) && name.ends_with(".jpg"), "{csv_text}");
    let mut stored = Vec::new();
    zip.by_name(&name).unwrap().read_to_end(&mut stored).unwrap();
    assert_eq!(stored, photo);

    // an unknown format is refused, and nobody else can download these
    let (status, body) = error_json(app.call("inventory/export", &[("format", "exe")]).await).await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("format")));
}

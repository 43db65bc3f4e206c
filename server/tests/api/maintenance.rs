//! Maintenance: the orphan check on every backend, the rebuild of bloated indexes, the hourly
//! upkeep, and the report.

use crate::documents::{ids, upload_docs};
use crate::helpers::*;
use server::maintenance::{self, Options};

#[tokio::test(flavor = "multi_thread")]
async fn maintenance_finds_orphans_on_every_backend_and_removes_only_old_ones_when_asked() {
    let s3 = spawn_s3().await;
    let url = fresh_database(cluster().await).await;
    let app = TestApp::spawn_with(test_config(&url, &s3_vars(&s3.endpoint, S3_SECRET)), None).await;
    app.sign_up(&email("keeper"), "Keeper").await;
    let user = app.me().await["id"].as_i64().unwrap();
    let item = add_item(&app, "Barometer", &[]).await;
    assert_eq!(upload(&app, item, "b.jpg", jpeg(300, 200), "application/json").await.status(), StatusCode::OK);
    let photo = wait_for_thumbnails(&app, item).await["id"].as_i64().unwrap();
    let (_, up) = upload_docs(&app, vec![("manual.txt", b"Tap the glass gently.".to_vec())]).await;
    let doc = ids(&up, "added")[0];

    // an object on S3 and one on local disk that no row names, a half-written copy (not an
    // orphan: its writer is still at it), and a document whose object is gone
    let bucket = s3.root.join(S3_BUCKET);
    let s3_orphan = bucket.join(format!("users/{user}/inventory/999_999.jpg"));
    std::fs::write(&s3_orphan, b"stray").unwrap();
    let local = app.state.config.dirs.inventory_images.join(format!("users/{user}/inventory"));
    std::fs::create_dir_all(&local).unwrap();
    let local_orphan = local.join("998_998.jpg");
    std::fs::write(&local_orphan, b"stray too").unwrap();
    std::fs::write(local.join("997_997.jpg.partial-42"), b"being written").unwrap();
    let doc_file = bucket.join(format!("users/{user}/documents/{doc}.txt"));
    std::fs::remove_file(&doc_file).unwrap();

    let check =
        |fix: bool, grace: Duration| Options { fix, reindex: false, grace, bloat_floor: maintenance::BLOAT_FLOOR };
    let r = maintenance::run(&app.state, &check(false, Duration::ZERO)).await.unwrap();
    assert_eq!(r.rows_checked, 4, "photo, two thumbnails, document");
    assert_eq!(r.rows_without_object.len(), 1, "{:?}", r.rows_without_object);
    assert!(r.rows_without_object[0].2.ends_with(&format!("documents/{doc}.txt")));
    let mut found: Vec<(String, String)> =
        r.objects_without_row.iter().map(|o| (o.backend.to_string(), o.key.clone())).collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            ("local".to_owned(), format!("users/{user}/inventory/998_998.jpg")),
            ("s3".to_owned(), format!("users/{user}/inventory/999_999.jpg")),
        ]
    );
    assert!(r.objects_without_row.iter().all(|o| !o.removed));
    assert!(r.sizes.iter().any(|t| t.table == "user_inventory"), "{:?}", r.sizes);
    assert!(r.vacuumed.contains(&"metadata"));
    let text = maintenance::render(&r);
    assert!(text.contains("object without a row") && text.contains("row without its object"), "{text}");

    // --fix leaves what is younger than the grace period, then removes the rest
    let r = maintenance::run(&app.state, &check(true, Duration::from_secs(3600))).await.unwrap();
    assert!(r.objects_without_row.iter().all(|o| !o.removed));
    assert!(s3_orphan.exists() && local_orphan.exists());
    let r = maintenance::run(&app.state, &check(true, Duration::ZERO)).await.unwrap();
    assert!(r.objects_without_row.iter().all(|o| o.removed), "{:?}", r.objects_without_row);
    assert!(!s3_orphan.exists() && !local_orphan.exists());
    // nothing recorded was touched
    assert_eq!(app.get(&format!("/media/{photo}")).await.status(), StatusCode::OK);
    assert!(local.join("997_997.jpg.partial-42").exists());
    // each run is on the administrator's page
    let overview: Value = app.call("admin/overview", &[]).await.json().await.unwrap();
    let runs = overview["runs"].as_array().unwrap();
    assert_eq!(runs.iter().filter(|r| r["kind"] == "maintenance").count(), 3, "{overview}");
    assert!(runs[0]["detail"].as_str().unwrap().contains("2 objects without a row (2 removed)"), "{overview}");
}

#[tokio::test(flavor = "multi_thread")]
async fn maintenance_lists_vercel_blob_for_orphans_too() {
    let (double, api) = spawn_vercel_double().await;
    let app = spawn_with_vercel(&api, BLOB_TOKEN).await;
    app.sign_up(&email("vcl"), "Vercel").await;
    let user = app.me().await["id"].as_i64().unwrap();
    let item = add_item(&app, "Sextant", &[]).await;
    assert_eq!(upload(&app, item, "s.jpg", jpeg(300, 200), "application/json").await.status(), StatusCode::OK);
    wait_for_thumbnails(&app, item).await;
    // an object no row names, put through the API as any client would
    let stray = format!("users/{user}/inventory/996_996.jpg");
    let r = reqwest::Client::new()
        .put(format!("{api}/"))
        .query(&[("pathname", stray.as_str())])
        .bearer_auth(BLOB_TOKEN)
        .body(b"stray".to_vec())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(double.pathnames().len(), 4);

    let r = maintenance::run(
        &app.state,
        &Options { fix: true, reindex: false, grace: Duration::ZERO, bloat_floor: maintenance::BLOAT_FLOOR },
    )
    .await
    .unwrap();
    assert!(r.not_listed.is_empty(), "{:?}", r.not_listed);
    let found: Vec<(String, bool)> =
        r.objects_without_row.iter().map(|o| (format!("{}:{}", o.backend, o.key), o.removed)).collect();
    assert_eq!(found, vec![(format!("vercel:{stray}"), true)]);
    assert_eq!(double.pathnames().len(), 3, "the photo and its thumbnails stay");
}

/// An index is rebuilt when it has bloated (here: nine rows in ten deleted), not before and not
/// again after; the hourly upkeep does the same and is recorded for the administrator.
#[tokio::test(flavor = "multi_thread")]
async fn maintenance_rebuilds_an_index_only_when_it_has_bloated() {
    use diesel_async::RunQueryDsl;
    async fn pkey_bytes(app: &TestApp) -> i64 {
        let mut c = app.state.db.get().await.unwrap();
        count(&mut c, "SELECT pg_relation_size('user_inventory_pkey') AS n").await
    }
    let app = TestApp::spawn().await;
    app.sign_up(&email("tidy"), "Tidy").await;
    let user = app.me().await["id"].as_i64().unwrap();
    let mut c = app.state.db.get().await.unwrap();
    diesel::sql_query(format!(
        "INSERT INTO user_inventory (user_id, name) SELECT {user}, 'thing ' || g FROM generate_series(1, 20000) g"
    ))
    .execute(&mut c)
    .await
    .unwrap();
    drop(c);
    let opts = Options { fix: false, reindex: false, grace: Duration::from_secs(86_400), bloat_floor: 0 };
    let pkey = |r: &maintenance::Report| r.reindexed.iter().find(|i| i.starts_with("user_inventory_pkey ")).cloned();

    let first = maintenance::run(&app.state, &opts).await.unwrap();
    assert_eq!(pkey(&first), None, "the first run only measures: {:?}", first.reindexed);
    let full = pkey_bytes(&app).await;

    let mut c = app.state.db.get().await.unwrap();
    diesel::sql_query(format!("DELETE FROM user_inventory WHERE user_id = {user} AND id % 10 <> 0"))
        .execute(&mut c)
        .await
        .unwrap();
    drop(c);
    let second = maintenance::run(&app.state, &opts).await.unwrap();
    let rebuilt = pkey(&second).unwrap_or_else(|| panic!("bloated, so rebuilt: {:?}", second.reindexed));
    assert!(rebuilt.contains("× its best size per row"), "{rebuilt}");
    let after = pkey_bytes(&app).await;
    assert!(after * 4 < full, "the rebuilt index is smaller: {full} → {after} bytes");
    assert!(maintenance::render(&second).contains("Reindexed: "), "{}", maintenance::render(&second));

    let third = maintenance::run(&app.state, &opts).await.unwrap();
    assert_eq!(pkey(&third), None, "not bloated any more: {:?}", third.reindexed);
    let mut c = app.state.db.get().await.unwrap();
    let left = count(&mut c, "SELECT count(*) AS n FROM user_inventory").await;
    assert_eq!(left, 2_000, "nothing lost");
    drop(c);

    // the hourly upkeep, recorded and shown to the administrator
    maintenance::upkeep(&app.state).await;
    let html = app.get("/admin").await.text().await.unwrap();
    assert!(html.contains("upkeep<!>, <!>done<!>: <!>pruned 0 temporary files"), "{html}");
    assert!(html.contains("No backup yet"), "{html}");
}

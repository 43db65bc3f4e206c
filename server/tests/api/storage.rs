//! Storage backends: Vercel Blob (through the stand-in), S3 (a real S3-compatible server), the fallback to local disk, `storage sync` and `storage migrate`.

use super::*;
use app::ids::{AssetId, ItemId, UserId};

#[tokio::test(flavor = "multi_thread")]
async fn heic_photos_are_taken_and_thumbnailed_and_a_damaged_one_is_refused() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("heic"), "Heic").await;
    let user_id = app.me().await["id"].as_i64().unwrap();
    let item = add_item(&app, "Phone photo", &[]).await;
    let original = heic(1200, 900);
    // recognised by its content, whatever its name
    let r = upload(&app, item, "IMG_0001.bin", original.clone(), "application/json").await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let photo = wait_for_thumbnails(&app, item).await;
    assert_eq!((photo["width"].as_i64(), photo["height"].as_i64()), (Some(1200), Some(900)), "{photo}");
    let id = photo["id"].as_i64().unwrap();
    let stored = app.state.config.dirs.inventory_images.join(format!("users/{user_id}/inventory/{item}_{id}.heic"));
    assert_eq!(std::fs::read(&stored).unwrap(), original, "the original is kept as it came");
    let r = app.get(&format!("/media/{id}")).await;
    assert_eq!(r.headers()["content-type"], "image/heic");
    // the thumbnails are JPEGs any browser shows
    let t = app.get(&format!("/media/{}", photo["thumb_1024"].as_i64().unwrap())).await;
    assert_eq!(t.headers()["content-type"], "image/jpeg");
    let thumb = image::load_from_memory(&t.bytes().await.unwrap()).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (1024, 768));

    // a HEIC that is cut short is refused with a message, and nothing is stored
    let item2 = add_item(&app, "Broken", &[]).await;
    let r = upload(&app, item2, "broken.heic", original[..original.len() / 3].to_vec(), "application/json").await;
    let (status, body) = error_json(r).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("HEIC"), "{body}");
    assert!(item_json(&app, item2).await["photos"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn photos_go_to_vercel_blob_when_configured() {
    let (double, api) = spawn_vercel_double().await;
    let app = spawn_with_vercel(&api, BLOB_TOKEN).await;
    app.sign_up(&email("vercel"), "Vercel").await;
    let user_id = app.me().await["id"].as_i64().unwrap();
    let item = add_item(&app, "Lamp", &[]).await;
    let original = jpeg(300, 200);
    assert_eq!(upload(&app, item, "lamp.jpg", original.clone(), "application/json").await.status(), StatusCode::OK);
    let photo = wait_for_thumbnails(&app, item).await;
    assert_eq!(photo["backend"], "vercel");
    let id = photo["id"].as_i64().unwrap();
    assert_eq!(
        double.pathnames(),
        vec![
            format!("users/{user_id}/inventory/{item}_{id}.jpg"),
            format!("users/{user_id}/thumbnails/{item}_{id}_thumb1024.jpg"),
            format!("users/{user_id}/thumbnails/{item}_{id}_thumb256.jpg"),
        ]
    );
    // served through Bartleby, to the owner
    assert_eq!(app.get(&format!("/media/{id}")).await.bytes().await.unwrap().to_vec(), original);
    let local = app.state.config.dirs.inventory_images.join(format!("users/{user_id}"));
    assert!(!local.exists(), "nothing on local disk");
    // deleting the item deletes the objects at the provider
    app.call("inventory/delete", &[("id", &item.to_string())]).await;
    assert!(double.pathnames().is_empty(), "{:?}", double.pathnames());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_provider_falls_back_to_local_disk_and_says_so() {
    let (double, api) = spawn_vercel_double().await;
    // the provider answers 500, refuses our token (403), or is not there at all
    let dead_api = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        format!("http://127.0.0.1:{port}/api/blob")
    };
    double.fail_with.store(500, std::sync::atomic::Ordering::SeqCst);
    let cases =
        [(api.clone(), BLOB_TOKEN), (api.clone(), "vercel_blob_rw_teststore_wrongsecret"), (dead_api, BLOB_TOKEN)];
    for (i, (api, token)) in cases.into_iter().enumerate() {
        if i == 1 {
            double.fail_with.store(0, std::sync::atomic::Ordering::SeqCst);
        }
        let app = spawn_with_vercel(&api, token).await;
        app.sign_up(&email("fallback"), "Fallback").await;
        let item = add_item(&app, "Kettle", &[]).await;
        let original = jpeg(64, 64);
        let r = upload(&app, item, "kettle.jpg", original.clone(), "application/json").await;
        assert_eq!(r.status(), StatusCode::OK, "case {i}: the upload still succeeds");
        let photo = wait_for_thumbnails(&app, item).await;
        assert_eq!(photo["backend"], "local", "case {i}");
        assert_eq!(photo["preferred_backend"], "vercel");
        let id = photo["id"].as_i64().unwrap();
        assert_eq!(app.get(&format!("/media/{id}")).await.bytes().await.unwrap().to_vec(), original, "case {i}");
        let html = app.get(&format!("/inventory/{item}")).await.text().await.unwrap();
        assert!(html.contains("Vercel Blob did not answer"), "case {i}: the item page says so");
    }
    assert!(double.pathnames().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn every_backend_keeps_the_same_contract() {
    use app::storage::{
        s3::S3BlobStore, vercel::VercelBlobStore, BlobKey, BlobStore, ImageExt, LocalBlobStore, StorageError,
    };
    let (_double, api) = spawn_vercel_double().await;
    let s3 = spawn_s3().await;
    let s3_config = test_config("postgres://unused@localhost/x", &s3_vars(&s3.endpoint, S3_SECRET)).s3;
    let dir = test_tmp().join(format!("bartleby-contract-{:08x}", rand::random::<u32>()));
    let stores: Vec<Box<dyn BlobStore>> = vec![
        Box::new(LocalBlobStore::new(dir.join("store"))),
        Box::new(VercelBlobStore::new(&api, app::platform::config::Secret::new(BLOB_TOKEN)).unwrap()),
        Box::new(S3BlobStore::new(&s3_config).unwrap()),
    ];
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("src");
    std::fs::write(&src, b"first version").unwrap();
    for store in stores {
        let name = store.backend();
        let key = BlobKey::inventory_photo(UserId(1), ItemId(2), AssetId(3), ImageExt::Png);
        assert!(matches!(store.get(&key).await, Err(StorageError::NotFound)), "{name}: missing before put");
        store.put_file(&key, &src, "image/png").await.unwrap();
        let body = axum::body::to_bytes(store.get(&key).await.unwrap(), 1 << 20).await.unwrap();
        assert_eq!(&body[..], b"first version", "{name}");
        std::fs::write(&src, b"second").unwrap();
        store.put_file(&key, &src, "image/png").await.unwrap();
        let body = axum::body::to_bytes(store.get(&key).await.unwrap(), 1 << 20).await.unwrap();
        assert_eq!(&body[..], b"second", "{name}: overwrite");
        store.delete(&key).await.unwrap();
        store.delete(&key).await.unwrap();
        assert!(matches!(store.get(&key).await, Err(StorageError::NotFound)), "{name}: gone after delete");
        std::fs::write(&src, b"first version").unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn storage_sync_moves_fallen_back_photos_once_the_provider_answers() {
    let (double, api) = spawn_vercel_double().await;
    double.fail_with.store(503, std::sync::atomic::Ordering::SeqCst);
    let app = spawn_with_vercel(&api, BLOB_TOKEN).await;
    app.sign_up(&email("sync"), "Sync").await;
    let user_id = app.me().await["id"].as_i64().unwrap();
    let item = add_item(&app, "Radio", &[]).await;
    let original = jpeg(120, 80);
    upload(&app, item, "radio.jpg", original.clone(), "application/json").await;
    let photo = wait_for_thumbnails(&app, item).await;
    assert_eq!(photo["backend"], "local");
    let id = photo["id"].as_i64().unwrap();
    let local = app.state.config.dirs.inventory_images.join(format!("users/{user_id}/inventory/{item}_{id}.jpg"));
    assert!(local.exists());

    // still down: nothing moves, nothing is lost
    let r = app::storage::relocate::sync(&app.state, &app.state.holdings, |_| {}).await.unwrap();
    assert_eq!((r.moved, r.failed), (0, 3));
    assert!(local.exists());

    double.fail_with.store(0, std::sync::atomic::Ordering::SeqCst);
    let r = app::storage::relocate::sync(&app.state, &app.state.holdings, |_| {}).await.unwrap();
    assert_eq!((r.moved, r.failed), (3, 0));
    assert!(!local.exists(), "the local copy goes once the provider has it");
    assert_eq!(double.pathnames().len(), 3);
    let photo = item_json(&app, item).await["photos"][0].clone();
    assert_eq!(photo["backend"], "vercel");
    assert_eq!(app.get(&format!("/media/{id}")).await.bytes().await.unwrap().to_vec(), original);
    let html = app.get(&format!("/inventory/{item}")).await.text().await.unwrap();
    assert!(!html.contains("did not answer"));
    // a second run has nothing to do
    let r = app::storage::relocate::sync(&app.state, &app.state.holdings, |_| {}).await.unwrap();
    assert_eq!((r.moved, r.failed), (0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn photos_go_to_s3_when_configured_and_fall_back_when_it_refuses() {
    let s3 = spawn_s3().await;
    let url = fresh_database(cluster().await).await;
    let app = TestApp::spawn_with(test_config(&url, &s3_vars(&s3.endpoint, S3_SECRET)), None).await;
    app.sign_up(&email("s3"), "S3").await;
    let user_id = app.me().await["id"].as_i64().unwrap();
    let item = add_item(&app, "Clock", &[]).await;
    let original = jpeg(200, 100);
    assert_eq!(upload(&app, item, "clock.jpg", original.clone(), "application/json").await.status(), StatusCode::OK);
    let photo = wait_for_thumbnails(&app, item).await;
    assert_eq!(photo["backend"], "s3");
    let id = photo["id"].as_i64().unwrap();
    let object = s3.root.join(S3_BUCKET).join(format!("users/{user_id}/inventory/{item}_{id}.jpg"));
    assert_eq!(std::fs::read(&object).unwrap(), original, "the object is in the bucket");
    assert_eq!(app.get(&format!("/media/{id}")).await.bytes().await.unwrap().to_vec(), original);
    app.call("inventory/delete", &[("id", &item.to_string())]).await;
    assert!(!object.exists(), "deleted with the item");

    // a wrong secret: S3 answers 403, the photo goes to local disk
    let url = fresh_database(cluster().await).await;
    let app = TestApp::spawn_with(test_config(&url, &s3_vars(&s3.endpoint, "wrong-secret")), None).await;
    app.sign_up(&email("s3bad"), "S3 bad").await;
    let item = add_item(&app, "Clock", &[]).await;
    assert_eq!(upload(&app, item, "clock.jpg", jpeg(50, 50), "application/json").await.status(), StatusCode::OK);
    let photo = wait_for_thumbnails(&app, item).await;
    assert_eq!((photo["backend"].as_str(), photo["preferred_backend"].as_str()), (Some("local"), Some("s3")));
    let html = app.get(&format!("/inventory/{item}")).await.text().await.unwrap();
    assert!(html.contains("S3 did not answer"), "the item page says so");
    let _ = std::fs::remove_dir_all(&s3.root);
}

#[tokio::test(flavor = "multi_thread")]
async fn storage_migrate_moves_every_object_and_verifies_it() {
    let (double, api) = spawn_vercel_double().await;
    // photos uploaded while Bartleby stored on local disk
    let url = fresh_database(cluster().await).await;
    let vars =
        [("STORAGE_BACKEND", "local"), ("VERCEL_BLOB_API_URL", api.as_str()), ("BLOB_READ_WRITE_TOKEN", BLOB_TOKEN)];
    let app = TestApp::spawn_with(test_config(&url, &vars), None).await;
    app.sign_up(&email("migrate"), "Migrate").await;
    let item = add_item(&app, "Globe", &[]).await;
    let original = jpeg(90, 90);
    upload(&app, item, "globe.jpg", original.clone(), "application/json").await;
    let photo = wait_for_thumbnails(&app, item).await;
    assert_eq!(photo["backend"], "local");
    let id = photo["id"].as_i64().unwrap();

    let images = holdings(&app, "photos and thumbnails");
    let backends = backends_for(&app, images.as_ref());
    let target = backends[&Backend::Vercel].clone();
    let to_vercel = Selection::NotOn(Backend::Vercel);
    let dry = relocate(&app.state, images.as_ref(), to_vercel, &backends, target.as_ref(), true, |_| {}).await.unwrap();
    assert_eq!((dry.total, dry.moved), (3, 0));
    assert!(double.pathnames().is_empty(), "a dry run changes nothing");

    let mut lines = Vec::new();
    let r = relocate(&app.state, images.as_ref(), to_vercel, &backends, target.as_ref(), false, |s| {
        lines.push(format!("{}/{} {}", s.done, s.total, s.key));
    })
    .await
    .unwrap();
    assert_eq!((r.moved, r.failed), (3, 0));
    assert_eq!(lines.len(), 3, "progress for every object");
    assert_eq!(double.pathnames().len(), 3);
    // a second run has nothing left to do
    let again =
        relocate(&app.state, images.as_ref(), to_vercel, &backends, target.as_ref(), false, |_| {}).await.unwrap();
    assert_eq!(again.total, 0);

    // Bartleby configured for Vercel Blob now serves the photo from there
    let vercel_app = TestApp::serve(
        server::build_state(
            test_config(
                &url,
                &[("STORAGE_BACKEND", "vercel"), ("VERCEL_BLOB_API_URL", &api), ("BLOB_READ_WRITE_TOKEN", BLOB_TOKEN)],
            ),
            &url,
        )
        .await
        .unwrap(),
        url.clone(),
        app.client.clone(),
    )
    .await;
    assert_eq!(vercel_app.get(&format!("/media/{id}")).await.bytes().await.unwrap().to_vec(), original);
    let user_dir = app.state.config.dirs.inventory_images.join("users");
    let left: usize = walk_files(&user_dir);
    assert_eq!(left, 0, "no local copies left");
}

#[tokio::test(flavor = "multi_thread")]
async fn documents_and_exports_that_fell_back_are_moved_to_s3_by_storage_sync() {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Backend {
        #[diesel(sql_type = diesel::sql_types::Text)]
        backend: String,
    }
    async fn backends(app: &TestApp, table: &str) -> Vec<String> {
        let mut c = app.state.db.get().await.unwrap();
        let rows: Vec<Backend> =
            diesel::sql_query(format!("SELECT backend FROM {table} ORDER BY id")).load(&mut c).await.unwrap();
        rows.into_iter().map(|r| r.backend).collect()
    }
    let s3 = spawn_s3().await;
    let url = fresh_database(cluster().await).await;
    // S3 refuses (a wrong secret): the document and the export are kept on local disk
    let app = TestApp::spawn_with(test_config(&url, &s3_vars(&s3.endpoint, "wrong-secret")), None).await;
    app.sign_up(&email("docsync"), "Doc sync").await;
    let user_id = app.me().await["id"].as_i64().unwrap();
    let (status, _) = documents::upload_docs(&app, vec![("notes.txt", b"Boiler serviced in March.".to_vec())]).await;
    assert_eq!(status, StatusCode::OK);
    add_item(&app, "Kettle", &[]).await;
    let (_, csv) = export_file(&app, "csv").await;
    assert_eq!(backends(&app, "user_documents").await, ["local"]);
    assert_eq!(backends(&app, "user_exports").await, ["local"]);

    // the secret fixed (the same data, restarted with the right configuration): sync moves both
    let data = app.state.config.dirs.data.display().to_string();
    let mut vars = s3_vars(&s3.endpoint, S3_SECRET);
    vars.push(("DATA_DIR", data.as_str()));
    let fixed = TestApp::spawn_with(test_config(&url, &vars), None).await;
    let r = app::storage::relocate::sync(&fixed.state, &fixed.state.holdings, |_| {}).await.unwrap();
    assert_eq!((r.moved, r.failed), (2, 0));
    assert_eq!(backends(&fixed, "user_documents").await, ["s3"]);
    assert_eq!(backends(&fixed, "user_exports").await, ["s3"]);
    let bucket = s3.root.join(S3_BUCKET).join(format!("users/{user_id}"));
    assert_eq!(std::fs::read_dir(bucket.join("documents")).unwrap().count(), 1);
    assert_eq!(std::fs::read_dir(bucket.join("exports")).unwrap().count(), 1);
    let local_docs = app.state.config.dirs.documents.join(format!("users/{user_id}/documents"));
    assert_eq!(std::fs::read_dir(&local_docs).map(|d| d.count()).unwrap_or(0), 0, "the local copies go");
    // and the export still downloads, now from S3 (the session lives in the shared database)
    let export_id: i64 = {
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            id: i64,
        }
        let mut c = fixed.state.db.get().await.unwrap();
        let row: Id = diesel::sql_query("SELECT id FROM user_exports").get_result(&mut c).await.unwrap();
        row.id
    };
    let again = app.client.get(fixed.url(&format!("/exports/{export_id}"))).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    let again = again.bytes().await.unwrap().to_vec();
    assert_eq!(again, csv);
    let _ = std::fs::remove_dir_all(&s3.root);
}

#[tokio::test(flavor = "multi_thread")]
async fn storage_migrate_moves_documents_and_exports_to_s3_and_they_still_download() {
    let s3 = spawn_s3().await;
    let url = fresh_database(cluster().await).await;
    // stored while Bartleby kept everything on local disk (S3 configured but not chosen)
    let mut vars = s3_vars(&s3.endpoint, S3_SECRET);
    vars[0] = ("STORAGE_BACKEND", "local");
    vars.push(("BLOB_READ_WRITE_TOKEN", BLOB_TOKEN));
    vars.push(("VERCEL_BLOB_API_URL", "http://127.0.0.1:9/api/blob"));
    let app = TestApp::spawn_with(test_config(&url, &vars), None).await;
    app.sign_up(&email("migdocs"), "Migrate docs").await;
    let user_id = app.me().await["id"].as_i64().unwrap();
    let (status, _) = documents::upload_docs(&app, vec![("ledger.txt", b"Paid the roofer in May.".to_vec())]).await;
    assert_eq!(status, StatusCode::OK);
    add_item(&app, "Kettle", &[]).await;
    let (_, csv) = export_file(&app, "csv").await;

    for kind in ["documents", "exports"] {
        let kind = holdings(&app, kind);
        let backends = backends_for(&app, kind.as_ref());
        // Vercel Blob holds images only: documents and exports cannot be moved there
        let vercel = &backends[&Backend::Vercel];
        let refused = relocate(
            &app.state,
            kind.as_ref(),
            Selection::NotOn(Backend::Vercel),
            &backends,
            vercel.as_ref(),
            false,
            |_| {},
        )
        .await;
        assert!(matches!(refused, Err(RelocateError::NotHere { .. })));
        let to_s3 = Selection::NotOn(Backend::S3);
        let r = relocate(&app.state, kind.as_ref(), to_s3, &backends, backends[&Backend::S3].as_ref(), false, |_| {})
            .await
            .unwrap();
        assert_eq!((r.total, r.moved, r.failed), (1, 1, 0), "{}", kind.label());
    }
    let bucket = s3.root.join(S3_BUCKET).join(format!("users/{user_id}"));
    assert_eq!(std::fs::read_dir(bucket.join("documents")).unwrap().count(), 1);
    assert_eq!(std::fs::read_dir(bucket.join("exports")).unwrap().count(), 1);
    let local = app.state.config.dirs.exports.join(format!("users/{user_id}/exports"));
    assert_eq!(std::fs::read_dir(&local).map(|d| d.count()).unwrap_or(0), 0, "the local copy goes");

    // Bartleby configured for S3 serves both from the bucket
    let data = app.state.config.dirs.data.display().to_string();
    let mut vars = s3_vars(&s3.endpoint, S3_SECRET);
    vars.push(("DATA_DIR", data.as_str()));
    let on_s3 = TestApp::spawn_with(test_config(&url, &vars), None).await;
    #[derive(diesel::QueryableByName)]
    struct Ids {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        doc: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        export: i64,
    }
    let ids: Ids = {
        use diesel_async::RunQueryDsl;
        let mut c = on_s3.state.db.get().await.unwrap();
        diesel::sql_query("SELECT (SELECT id FROM user_documents) AS doc, (SELECT id FROM user_exports) AS export")
            .get_result(&mut c)
            .await
            .unwrap()
    };
    let get = |path: String| app.client.get(on_s3.url(&path)).send();
    let doc = get(format!("/documents/{}/file", ids.doc)).await.unwrap();
    assert_eq!(doc.status(), StatusCode::OK);
    assert_eq!(doc.bytes().await.unwrap().to_vec(), b"Paid the roofer in May.".to_vec());
    let export = get(format!("/exports/{}", ids.export)).await.unwrap();
    assert_eq!(export.bytes().await.unwrap().to_vec(), csv);
    let _ = std::fs::remove_dir_all(&s3.root);
}

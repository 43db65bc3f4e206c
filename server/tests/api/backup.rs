//! Backup and restore: the round trip into a fresh installation, and backups that are damaged.

use crate::documents::{ids, ingest, search, upload_docs};
use crate::helpers::*;
use server::backup::{self, Target, Tools};

fn tools(pg: &EmbeddedPg) -> Tools {
    Tools { pg_dump: pg.tool("pg_dump"), pg_restore: pg.tool("pg_restore") }
}

fn backups_dir() -> std::path::PathBuf {
    test_tmp().join(format!("backups-{:08x}", rand::random::<u32>()))
}

/// Every table's row count (both databases are one here: pgvector lives in the metadata database),
/// but for the record of backups and restores, which a restore adds to.
async fn row_counts(url: &str) -> Vec<(String, i64)> {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        tablename: String,
    }
    let mut c = app::platform::db::establish(url).await.unwrap();
    let tables: Vec<Name> =
        diesel::sql_query("SELECT tablename::text AS tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
            .load(&mut c)
            .await
            .unwrap();
    let mut out = Vec::new();
    for t in tables.into_iter().filter(|t| t.tablename != "maintenance_runs") {
        let n = count(&mut c, &format!("SELECT count(*) AS n FROM \"{}\"", t.tablename)).await;
        out.push((t.tablename, n));
    }
    out
}

async fn bytes(app: &TestApp, path: &str) -> Vec<u8> {
    let r = app.get(path).await;
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.bytes().await.unwrap().to_vec()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_restores_into_a_fresh_installation_with_everything_identical() {
    let app = TestApp::spawn().await;
    let (ann, bob) = (email("ann"), email("bob"));
    app.sign_up(&ann, "Ann").await;
    let chair =
        add_item(&app, "Oak chair", &[("location", "House / Hall"), ("tags", "oak"), ("retail_price", "120")]).await;
    add_item(&app, "Brass lamp", &[("location", "House / Study"), ("quantity", "2")]).await;
    let r = upload(&app, chair, "chair.jpg", jpeg(640, 480), "application/json").await;
    assert_eq!(r.status(), StatusCode::OK);
    let photo = wait_for_thumbnails(&app, chair).await;
    let boiler = "The boiler was installed in March 2024 by Acme Heating; its warranty runs for five years.";
    let (_, up) = upload_docs(&app, vec![("boiler.txt", boiler.as_bytes().to_vec())]).await;
    let doc = ids(&up, "added")[0];
    ingest(&app).await;
    let r = app.client.post(app.url("/api/inventory/export")).header(ACCEPT, "text/html").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let export = r.headers()[LOCATION].to_str().unwrap().to_owned();
    let other = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    other.sign_up(&bob, "Bob").await;
    let r = app.call("documents/share", &[("id", &doc.to_string()), ("email", &bob)]).await;
    assert!(r.status().is_success() || r.status().is_redirection());

    // what Ann and Bob see now
    let photo_paths: Vec<String> =
        ["id", "thumb_256", "thumb_1024"].iter().map(|k| format!("/media/{}", photo[*k].as_i64().unwrap())).collect();
    let pages = ["/", "/inventory", &format!("/inventory/{chair}"), "/inventory/locations", "/documents"];
    let mut before = Vec::new();
    for p in pages {
        before.push(page_text(&app.get(p).await.text().await.unwrap()));
    }
    let searched = async |app: &TestApp| {
        let mut found = search(app, "when was the heating put in", &[]).await;
        found.as_object_mut().unwrap().remove("took_ms");
        found
    };
    let found = searched(&app).await;
    assert!(!found["groups"].as_array().unwrap().is_empty(), "{found}");

    let pg = cluster().await;
    let dir = backups_dir();
    let (made, report) =
        backup::backup(&app.state, &app.db_url, None, &tools(pg), &dir, false, |_, _| {}).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    // photo, two thumbnails, the document, the export
    assert_eq!((report.objects, report.copied), (5, 5));
    assert!(made.file_name().unwrap().to_str().unwrap().starts_with("bartleby-backup-"));
    let manifest = backup::verify(&made).await.unwrap();
    assert_eq!(manifest.vectors, backup::Vectors::Metadata);
    assert_eq!(manifest.embedding_model.as_deref(), Some(app.state.embedder.as_ref().unwrap().model_id()));
    assert!(manifest.metadata.migrations.len() > 10, "{:?}", manifest.metadata.migrations);

    // into a fresh installation: a new database and a new DATA_DIR
    let url = fresh_database(pg).await;
    let config = test_config(&url, &[]);
    let report = backup::restore(
        config.clone(),
        Target { meta_url: &url, vector_url: None },
        &tools(pg),
        &made,
        false,
        |_, _| {},
    )
    .await
    .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(row_counts(&url).await, row_counts(&app.db_url).await);

    let restored = TestApp::spawn_with(config, None).await;
    restored.sign_in(&ann, PASSWORD).await;
    for (p, was) in pages.iter().zip(&before) {
        assert_eq!(&page_text(&restored.get(p).await.text().await.unwrap()), was, "{p}");
    }
    for p in &photo_paths {
        assert_eq!(bytes(&restored, p).await, bytes(&app, p).await, "{p}");
    }
    let file = format!("/documents/{doc}/file");
    assert_eq!(bytes(&restored, &file).await, boiler.as_bytes());
    assert_eq!(bytes(&restored, &export).await, bytes(&app, &export).await);
    assert_eq!(searched(&restored).await, found);
    // Bob's share came along
    let bobs = TestApp::serve(restored.state.clone(), restored.db_url.clone(), client()).await;
    bobs.sign_in(&bob, PASSWORD).await;
    assert_eq!(bytes(&bobs, &file).await, boiler.as_bytes());
    // and the restored installation works on: a new item, a new photo
    let lamp = add_item(&restored, "Desk lamp", &[]).await;
    assert_eq!(upload(&restored, lamp, "lamp.jpg", jpeg(300, 200), "application/json").await.status(), StatusCode::OK);

    // a second restore over it is refused; with --force too while a server is connected to it
    let again = async |url: &str, force: bool| {
        backup::restore(
            test_config(url, &[]),
            Target { meta_url: url, vector_url: None },
            &tools(pg),
            &made,
            force,
            |_, _| {},
        )
        .await
    };
    let err = again(&url, false).await.unwrap_err();
    assert!(format!("{err:#}").contains("is not empty"), "{err:#}");
    let err = again(&url, true).await.unwrap_err();
    assert!(format!("{err:#}").contains("other connection(s): stop Bartleby"), "{err:#}");
    // with nothing connected, --force replaces what is there
    let other = fresh_database(pg).await;
    again(&other, false).await.unwrap();
    let mut c = app::platform::db::establish(&other).await.unwrap();
    diesel_async::RunQueryDsl::execute(diesel::sql_query("DELETE FROM user_locations"), &mut c).await.unwrap();
    drop(c);
    let report = again(&other, true).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(row_counts(&other).await, row_counts(&app.db_url).await, "the deleted places are back");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_backup_is_refused_naming_what_is_wrong_before_anything_is_written() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("dmg"), "Damage").await;
    let item = add_item(&app, "Camera", &[]).await;
    assert_eq!(upload(&app, item, "c.jpg", jpeg(200, 100), "application/json").await.status(), StatusCode::OK);
    wait_for_thumbnails(&app, item).await;
    let pg = cluster().await;
    let dir = backups_dir();
    let (made, _) = backup::backup(&app.state, &app.db_url, None, &tools(pg), &dir, false, |_, _| {}).await.unwrap();
    backup::verify(&made).await.unwrap();

    let copy = |tag: &str| {
        let to = dir.join(tag);
        let status = std::process::Command::new("cp").arg("-a").arg(&made).arg(&to).status().unwrap();
        assert!(status.success());
        to
    };
    let flip = |path: &std::path::Path, at: usize| {
        let mut b = std::fs::read(path).unwrap();
        let at = at.min(b.len() - 1);
        b[at] ^= 0x01;
        std::fs::write(path, b).unwrap();
    };
    let refused = async |path: &std::path::Path| format!("{:#}", backup::verify(path).await.unwrap_err());

    let a = copy("object");
    let photo = walk(&a.join("objects")).into_iter().find(|p| p.to_str().unwrap().ends_with(".jpg")).unwrap();
    flip(&photo, 100);
    let e = refused(&a).await;
    assert!(e.contains("is damaged") && e.contains(".jpg") && e.contains("sha256"), "{e}");

    let b = copy("dump");
    flip(&b.join("metadata.pgdump"), 5000);
    let e = refused(&b).await;
    assert!(e.contains("metadata.pgdump is damaged"), "{e}");

    let c = copy("manifest");
    let text = std::fs::read_to_string(c.join("manifest.json")).unwrap().replacen("\"bytes\": ", "\"bytes\": 1", 1);
    std::fs::write(c.join("manifest.json"), text).unwrap();
    assert!(refused(&c).await.contains("manifest.json is damaged"));

    let d = copy("extra");
    std::fs::write(d.join("objects/users/stray.jpg"), b"x").unwrap();
    assert!(refused(&d).await.contains("stray.jpg is not in the manifest"));

    let e = copy("missing");
    std::fs::remove_file(&walk(&e.join("objects"))[0]).unwrap();
    assert!(refused(&e).await.contains("is missing"));

    assert!(refused(&dir.join("nothing-here")).await.contains("is not a Bartleby backup"));

    // restore checks first: a damaged backup leaves the empty target empty
    let url = fresh_database(pg).await;
    let err = backup::restore(
        test_config(&url, &[]),
        Target { meta_url: &url, vector_url: None },
        &tools(pg),
        &a,
        false,
        |_, _| {},
    )
    .await
    .unwrap_err();
    assert!(format!("{err:#}").contains("is damaged"), "{err:#}");
    assert!(row_counts(&url).await.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn objects_on_s3_and_vectors_in_a_second_database_come_back_too() {
    let s3 = spawn_s3().await;
    let pg = cluster().await;
    let (url, vec_url) = (fresh_database(pg).await, fresh_database(pg).await);
    let mut vars = s3_vars(&s3.endpoint, S3_SECRET);
    vars.push(("NEON_DATABASE_URL", &vec_url));
    let app = TestApp::spawn_with(test_config(&url, &vars), None).await;
    assert!(matches!(app.state.vector, VectorDb::Separate(_)));
    let ann = email("s3ann");
    app.sign_up(&ann, "Ann").await;
    let item = add_item(&app, "Theodolite", &[]).await;
    assert_eq!(upload(&app, item, "t.jpg", jpeg(400, 300), "application/json").await.status(), StatusCode::OK);
    let photo = wait_for_thumbnails(&app, item).await;
    let text = "The theodolite was calibrated by the survey office in May; the next check is due in a year.";
    let (_, up) = upload_docs(&app, vec![("calibration.txt", text.as_bytes().to_vec())]).await;
    let doc = ids(&up, "added")[0];
    ingest(&app).await;
    let searched = async |app: &TestApp| {
        let mut found = search(app, "when is the instrument checked", &[]).await;
        found.as_object_mut().unwrap().remove("took_ms");
        found
    };
    let found = searched(&app).await;
    assert_eq!(found["mode"], "Hybrid", "{found}");
    let photo_path = format!("/media/{}", photo["id"].as_i64().unwrap());
    let original = bytes(&app, &photo_path).await;

    // without --include-remote the objects on S3 are checked, not copied
    let dir = backups_dir();
    let (plain, report) =
        backup::backup(&app.state, &url, Some(&vec_url), &tools(pg), &dir, false, |_, _| {}).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!((report.objects, report.copied), (4, 0));
    assert!(matches!(backup::verify(&plain).await.unwrap().vectors, backup::Vectors::Separate { .. }));
    tokio::time::sleep(Duration::from_secs(1)).await; // the next backup's name has another second
    let (full, report) =
        backup::backup(&app.state, &url, Some(&vec_url), &tools(pg), &dir, true, |_, _| {}).await.unwrap();
    assert_eq!((report.objects, report.copied), (4, 4));

    // the bucket is lost: the plain backup says which objects are gone, the full one puts them back
    std::fs::remove_dir_all(s3.root.join(S3_BUCKET).join("users")).unwrap();
    let restore_into = async |from: &std::path::Path| {
        let (url, vec_url) = (fresh_database(pg).await, fresh_database(pg).await);
        let mut vars = s3_vars(&s3.endpoint, S3_SECRET);
        vars.push(("NEON_DATABASE_URL", &vec_url));
        let config = test_config(&url, &vars);
        let target = Target { meta_url: &url, vector_url: Some(&vec_url) };
        let report = backup::restore(config.clone(), target, &tools(pg), from, false, |_, _| {}).await.unwrap();
        (config, report)
    };
    let (_, report) = restore_into(&plain).await;
    assert_eq!(report.problems.len(), 4, "{:?}", report.problems);
    assert!(report.problems[0].contains("--include-remote"), "{:?}", report.problems);
    let (config, report) = restore_into(&full).await;
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.copied, 4);

    let restored = TestApp::spawn_with(config, None).await;
    restored.sign_in(&ann, PASSWORD).await;
    assert_eq!(bytes(&restored, &photo_path).await, original);
    assert_eq!(bytes(&restored, &format!("/documents/{doc}/file")).await, text.as_bytes());
    assert_eq!(searched(&restored).await, found);
    // without the vector database's URL a restore of this backup is refused, naming it
    let url = fresh_database(pg).await;
    let err = backup::restore(
        test_config(&url, &[]),
        Target { meta_url: &url, vector_url: None },
        &tools(pg),
        &full,
        false,
        |_, _| {},
    )
    .await
    .unwrap_err();
    assert!(format!("{err:#}").contains("NEON_DATABASE_URL"), "{err:#}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn scheduled_backups_keep_the_newest_and_report_in_health() {
    let pg = cluster().await;
    let url = fresh_database(pg).await;
    let dir = backups_dir();
    let config =
        test_config(&url, &[("BACKUP_SCHEDULE", "2s"), ("BACKUP_KEEP", "2"), ("BACKUP_DIR", dir.to_str().unwrap())]);
    let app = TestApp::spawn_with(config, None).await;
    let health = |app: &TestApp| {
        let url = app.url("/api/health");
        async move { reqwest::get(url).await.unwrap().json::<Value>().await.unwrap() }
    };
    let h = health(&app).await;
    assert_eq!(h["backup"]["status"], "never");
    assert_eq!(h["row_level_security"]["status"], "ok", "{h}");
    app.sign_up(&email("sched"), "Sched").await;
    add_item(&app, "Clock", &[]).await;
    let schedule = backup::spawn_schedule(app.state.clone(), url.clone(), None, tools(pg)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let backups = || {
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        names.sort();
        names
    };
    loop {
        let runs = {
            let mut c = app.state.db.get().await.unwrap();
            count(&mut c, "SELECT count(*) AS n FROM maintenance_runs WHERE kind = 'backup' AND ok").await
        };
        if runs >= 3 {
            break;
        }
        assert!(Instant::now() < deadline, "{runs} backups in a minute: {:?}", backups());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    schedule.abort();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let kept: Vec<String> = backups().into_iter().filter(|n| !n.ends_with(".partial")).collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    let h = health(&app).await;
    assert_eq!(h["backup"]["status"], "ok", "{h}");
    assert!(h["backup"]["detail"].as_str().unwrap().contains(kept[1].as_str()), "{h}");
    backup::verify(&dir.join(&kept[1])).await.unwrap();

    // a backup that cannot be written shows as failed, and the instance as degraded
    let blocked = test_tmp().join(format!("not-a-dir-{:08x}", rand::random::<u32>()));
    std::fs::write(&blocked, b"a file where the backups should go").unwrap();
    let mut config = (*app.state.config).clone();
    config.dirs.backups = blocked.clone();
    let mut state = app.state.clone();
    state.config = std::sync::Arc::new(config);
    let schedule = backup::spawn_schedule(state, url.clone(), None, tools(pg)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let h = loop {
        let h = health(&app).await;
        if h["backup"]["status"] == "failed" {
            break h;
        }
        assert!(Instant::now() < deadline, "{h}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    schedule.abort();
    assert_eq!(h["status"], "degraded", "{h}");
    assert!(h["backup"]["detail"].as_str().unwrap().contains("not-a-dir"), "{h}");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&blocked);
}

/// An upgrade from the previous release: a backup its own binary wrote (commit 202fc33, migrations
/// to 000021 and 900003; Una's items in places, a photo and its thumbnails, a note shared with
/// Ivo, the note's vectors) restored into today's Bartleby, which migrates it forward. Everything
/// is there and works, search by meaning included, and Ivo still sees only what was shared.
/// (Remake the fixture with each release that changes the schema: see the README.)
#[tokio::test(flavor = "multi_thread")]
async fn the_previous_releases_backup_upgrades_to_this_one() {
    let pg = cluster().await;
    let from = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/backup-of-release-202fc33"));
    let url = fresh_database(pg).await;
    let config = test_config(&url, &[]);
    let report = backup::restore(
        config.clone(),
        Target { meta_url: &url, vector_url: None },
        &tools(pg),
        from,
        false,
        |_, _| {},
    )
    .await
    .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.copied, 4);

    let app = TestApp::spawn_with(config, None).await;
    // every migration this release knows is applied
    let manifest: Value = serde_json::from_slice(&std::fs::read(from.join("manifest.json")).unwrap()).unwrap();
    let before = manifest["metadata"]["migrations"].as_array().unwrap().len();
    let now = {
        let mut c = app.state.db.get().await.unwrap();
        count(&mut c, "SELECT count(*) AS n FROM __diesel_schema_migrations").await
    };
    let known = ["meta", "vector"]
        .iter()
        .map(|d| std::fs::read_dir(format!("{}/../migrations/{d}", env!("CARGO_MANIFEST_DIR"))).unwrap().count())
        .sum::<usize>();
    assert_eq!(now as usize, known, "migrated forward from {before}");
    assert!(known > before, "this release adds migrations: the test would prove nothing otherwise");

    assert_eq!(app.sign_in("upgrade@example.com", PASSWORD).await.status(), StatusCode::OK);
    let item = item_json(&app, 1).await;
    assert_eq!(item["name"], "Brass barometer");
    assert_eq!(item["location"], "House / Hall");
    assert_eq!(item["tags"], serde_json::json!(["antique", "weather"]));
    let photo = item["photos"][0]["id"].as_i64().unwrap();
    let original = std::fs::read(from.join("objects/users/1/inventory/1_1.jpg")).unwrap();
    assert_eq!(bytes(&app, &format!("/media/{photo}")).await, original);
    let thumb = item["photos"][0]["thumb_256"].as_i64().unwrap();
    assert_eq!(bytes(&app, &format!("/media/{thumb}")).await.len(), 865);
    let desk = app.get("/inventory?q=desk").await.text().await.unwrap();
    assert!(desk.contains("Oak writing desk") && desk.contains("House / Study"), "{desk}");
    let note = bytes(&app, "/documents/1/file").await;
    assert!(String::from_utf8(note).unwrap().starts_with("Barometer care"));
    // by meaning: no word of the query is in the note
    let found = search(&app, "how often should the instrument be serviced", &[]).await;
    assert_eq!(found["mode"], "Hybrid", "{found}");
    assert_eq!(found["groups"][0]["title"], "fx-care", "{found}");

    let ivo = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    assert_eq!(ivo.sign_in("second@example.com", PASSWORD).await.status(), StatusCode::OK);
    assert_eq!(search(&ivo, "barometer radiators", &[]).await["groups"][0]["title"], "fx-care");
    assert_eq!(ivo.call("inventory/get", &[("id", "1")]).await.status(), StatusCode::NOT_FOUND);
    assert!(!ivo.get("/inventory").await.text().await.unwrap().contains("Brass barometer"));
}

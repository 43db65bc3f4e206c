//! Leaving: deleting an account removes every row, vector and stored object of the user, on
//! every backend, and nothing of anyone else's.

use crate::documents::{ids, ingest, search, titles, upload_docs};
use crate::helpers::*;
use diesel_async::RunQueryDsl;

#[derive(diesel::QueryableByName)]
struct Hit {
    #[diesel(sql_type = diesel::sql_types::Text)]
    hit: String,
}

/// Every row in the database that names `user` in a column about users, as `table.column`.
async fn rows_naming(url: &str, user: i64) -> Vec<String> {
    let mut c = app::platform::db::establish(url).await.unwrap();
    #[derive(diesel::QueryableByName)]
    struct Col {
        #[diesel(sql_type = diesel::sql_types::Text)]
        table_name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        column_name: String,
    }
    let cols: Vec<Col> = diesel::sql_query(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND column_name IN ('user_id', 'owner_id', 'grantee_id') \
         OR (table_schema = 'public' AND table_name = 'users' AND column_name = 'id')",
    )
    .load(&mut c)
    .await
    .unwrap();
    let mut out = Vec::new();
    for col in cols {
        let q = format!(
            "SELECT '{t}.{k}'::text AS hit FROM \"{t}\" WHERE \"{k}\" = {user} LIMIT 1",
            t = col.table_name,
            k = col.column_name
        );
        let hits: Vec<Hit> = diesel::sql_query(q).load(&mut c).await.unwrap();
        out.extend(hits.into_iter().map(|h| h.hit));
    }
    let sessions: Vec<Hit> =
        diesel::sql_query(format!("SELECT 'sessions'::text AS hit FROM sessions WHERE data->>'user_id' = '{user}'"))
            .load(&mut c)
            .await
            .unwrap();
    out.extend(sessions.into_iter().map(|h| h.hit));
    out.sort();
    out.dedup();
    out
}

fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

/// Two users who share documents both ways, with items, places, photos, documents and exports.
async fn two_users(app: &TestApp) -> (TestApp, String, String) {
    let (ann, bob) = (email("ann"), email("bob"));
    app.sign_up(&ann, "Ann").await;
    let chair = add_item(app, "Oak chair", &[("location", "House / Hall"), ("tags", "oak")]).await;
    assert_eq!(upload(app, chair, "c.jpg", jpeg(300, 200), "application/json").await.status(), StatusCode::OK);
    wait_for_thumbnails(app, chair).await;
    let (_, up) = upload_docs(app, vec![("boiler.txt", b"The boiler warranty runs five years.".to_vec())]).await;
    let anns_doc = ids(&up, "added")[0];
    crate::helpers::export_file(app, "zip").await;
    let other = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    other.sign_up(&bob, "Bob").await;
    let lamp = add_item(&other, "Brass lamp", &[("location", "Flat / Study")]).await;
    assert_eq!(upload(&other, lamp, "l.jpg", jpeg(200, 300), "application/json").await.status(), StatusCode::OK);
    wait_for_thumbnails(&other, lamp).await;
    let (_, up) = upload_docs(&other, vec![("garden.txt", b"Tomatoes need full sun and water.".to_vec())]).await;
    let bobs_doc = ids(&up, "added")[0];
    ingest(app).await;
    for (who, doc, to) in [(app, anns_doc, &bob), (&other, bobs_doc, &ann)] {
        let r = who.call("documents/share", &[("id", &doc.to_string()), ("email", to)]).await;
        assert!(r.status().is_success() || r.status().is_redirection());
    }
    (other, ann, bob)
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_an_account_removes_everything_of_it_on_s3_and_nothing_of_anyone_else() {
    let s3 = spawn_s3().await;
    let url = fresh_database(cluster().await).await;
    let app = TestApp::spawn_with(test_config(&url, &s3_vars(&s3.endpoint, S3_SECRET)), None).await;
    let (bob, ann, _) = two_users(&app).await;
    let ann_id = app.me().await["id"].as_i64().unwrap();
    let bob_id = bob.me().await["id"].as_i64().unwrap();
    let on_s3 = |user: i64| files_under(&s3.root.join(S3_BUCKET).join(format!("users/{user}")));
    assert_eq!(on_s3(ann_id).len(), 5, "photo, 2 thumbnails, document, export");
    app.call("account/archive", &[]).await;
    archive_when_ready(&app).await;
    assert_eq!(on_s3(ann_id).len(), 6, "and her archive");
    assert!(!rows_naming(&url, ann_id).await.is_empty());
    let bobs_before = (page_text(&bob.get("/inventory").await.text().await.unwrap()), on_s3(bob_id));

    // a second browser of Ann's, signed in too
    let elsewhere = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    elsewhere.sign_in(&ann, PASSWORD).await;

    // the wrong password deletes nothing
    let (status, e) = error_json(app.call("account/delete", &[("password", "not my password")]).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["message"], "That is not your password.");
    assert_eq!(on_s3(ann_id).len(), 6);

    let r = app.call("account/delete", &[("password", PASSWORD)]).await;
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    assert_eq!(rows_naming(&url, ann_id).await, Vec::<String>::new());
    assert_eq!(on_s3(ann_id), Vec::<String>::new());
    let mut vc = app.state.vector.pool().unwrap().get().await.unwrap();
    for table in ["document_vectors", "item_vectors"] {
        let q = format!("SELECT '{table}'::text AS hit FROM {table} WHERE user_id = {ann_id}");
        assert!(diesel::sql_query(q).load::<Hit>(&mut vc).await.unwrap().is_empty(), "{table}");
    }
    // both of Ann's browsers are signed out, and she cannot sign in again
    for b in [&app, &elsewhere] {
        let r = b.get("/inventory").await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.status());
    }
    let (status, _) = error_json(app.sign_in(&ann, PASSWORD).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(app.get("/login?deleted=1").await.text().await.unwrap().contains("have been deleted"));

    // Bob keeps everything of his; Ann's shared document is gone from his list
    assert_eq!((page_text(&bob.get("/inventory").await.text().await.unwrap()), on_s3(bob_id)), bobs_before);
    assert!(!rows_naming(&url, bob_id).await.is_empty());
    let list = crate::documents::documents(&bob).await;
    assert_eq!(list["shared"].as_array().unwrap().len(), 0, "{list}");
    assert_eq!(titles(&search(&bob, "tomatoes", &[]).await), vec!["garden"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_an_account_removes_its_photos_from_vercel_blob() {
    let (double, api) = spawn_vercel_double().await;
    let app = spawn_with_vercel(&api, BLOB_TOKEN).await;
    app.sign_up(&email("vera"), "Vera").await;
    let id = app.me().await["id"].as_i64().unwrap();
    let item = add_item(&app, "Camera", &[]).await;
    assert_eq!(upload(&app, item, "c.jpg", jpeg(300, 200), "application/json").await.status(), StatusCode::OK);
    wait_for_thumbnails(&app, item).await;
    let other = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    other.sign_up(&email("otto"), "Otto").await;
    let theirs = add_item(&other, "Lens", &[]).await;
    assert_eq!(upload(&other, theirs, "l.jpg", jpeg(200, 200), "application/json").await.status(), StatusCode::OK);
    wait_for_thumbnails(&other, theirs).await;
    let mine = |p: &Vec<String>| p.iter().filter(|p| p.starts_with(&format!("users/{id}/"))).count();
    assert_eq!(mine(&double.pathnames()), 3);
    let total = double.pathnames().len();

    let r = app.call("account/delete", &[("password", PASSWORD)]).await;
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    assert_eq!(mine(&double.pathnames()), 0);
    assert_eq!(double.pathnames().len(), total - 3, "the other user's photos stay");
    assert_eq!(rows_naming(&app.db_url, id).await, Vec::<String>::new());
}

async fn archive_when_ready(app: &TestApp) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = app.call("account/archive_status", &[]).await;
        assert_eq!(r.status(), StatusCode::OK);
        let run: Value = r.json().await.unwrap();
        match run["status"].as_str() {
            Some("Ready") => return run,
            Some("Failed") => panic!("{run}"),
            _ => {}
        }
        assert!(Instant::now() < deadline, "{run}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_archive_holds_everything_a_user_keeps_and_only_for_them() {
    use std::io::Read;
    let app = TestApp::spawn().await;
    let (bob, _, bob_email) = two_users(&app).await;
    let photo = jpeg(300, 200); // as uploaded by two_users
    let r = app.call("account/archive", &[]).await;
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    let run = archive_when_ready(&app).await;
    assert_eq!(run["done"], run["total"], "{run}");
    let path = format!("/account/archives/{}", run["archive_id"]);
    let r = app.get(&path).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/zip");
    assert!(r.headers()["content-disposition"].to_str().unwrap().contains("bartleby-archive-"));
    let bytes = r.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut read = |name: &str| {
        let mut f = zip.by_name(name).unwrap_or_else(|_| panic!("{name} missing"));
        let mut out = Vec::new();
        f.read_to_end(&mut out).unwrap();
        out
    };
    assert!(String::from_utf8(read("README.txt")).unwrap().contains("everything you kept"));
    let csv = String::from_utf8(read("inventory/items.csv")).unwrap();
    assert!(csv.contains("Oak chair") && !csv.contains("Brass lamp"), "{csv}");
    let json: Value = serde_json::from_slice(&read("inventory/items.json")).unwrap();
    assert_eq!(json[0]["location"], "House / Hall", "{json}");
    let names: Vec<String> = zip.file_names().map(str::to_owned).collect();
    let photos: Vec<&String> = names.iter().filter(|n| n.starts_with("inventory/photos/")).collect();
    assert_eq!(photos.len(), 1, "{names:?}");
    let mut read = |name: &str| {
        let mut f = zip.by_name(name).unwrap();
        let mut out = Vec::new();
        f.read_to_end(&mut out).unwrap();
        out
    };
    assert_eq!(read(photos[0]), photo);
    let doc = names.iter().find(|n| n.starts_with("documents/") && n.ends_with("boiler.txt")).unwrap().clone();
    assert_eq!(read(&doc), b"The boiler warranty runs five years.");
    assert!(String::from_utf8(read(&format!("{doc}.txt"))).unwrap().contains("warranty runs five years"));
    let shares: Value = serde_json::from_slice(&read("documents/shares.json")).unwrap();
    assert_eq!(shares[0]["shared_with"][0], bob_email.as_str(), "{shares}");
    assert!(!names.iter().any(|n| n.contains("garden")), "Bob's document is his: {names:?}");

    // only its owner gets it; a new archive replaces the old one
    assert_eq!(bob.get(&path).await.status(), StatusCode::NOT_FOUND);
    app.call("account/archive", &[]).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let newer = archive_when_ready(&app).await;
    assert_ne!(newer["archive_id"], run["archive_id"]);
    assert_eq!(app.get(&path).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/account/archives/{}", newer["archive_id"])).await.status(), StatusCode::OK);
    // the account page shows it
    let page = app.get("/account").await.text().await.unwrap();
    assert!(
        page.contains("is ready") && page.contains(&format!("/account/archives/{}", newer["archive_id"])),
        "{page}"
    );
}

//! Migrations roll back: every migration's down.sql undoes exactly what its up.sql did, with data
//! in the tables, and the migrations apply again afterwards.

use crate::helpers::*;
use app::platform::db::{self, META_MIGRATIONS, VECTOR_MIGRATIONS};
use diesel_migrations::EmbeddedMigrations;

/// The database's schema as `pg_dump --schema-only` prints it, without its comments and settings.
async fn schema(pg: &EmbeddedPg, url: &str) -> String {
    let out = tokio::process::Command::new(pg.tool("pg_dump"))
        .args(["--schema-only", "--no-owner", "--no-privileges", "--exclude-table=public.__diesel_schema_migrations"])
        .arg(format!("--dbname={url}"))
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    // comments, settings, and the random key pg_dump 18 puts around its output
    let lines = text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("--") && !l.starts_with("SET ") && !l.starts_with('\\'))
        .filter(|l| !l.starts_with("SELECT pg_catalog.set_config"));
    // a column dropped and added again comes back last: a table's columns are compared as a set
    let mut out = Vec::new();
    let mut columns: Option<Vec<String>> = None;
    for l in lines {
        match &mut columns {
            Some(cols) if l.starts_with(')') => {
                cols.sort();
                out.append(cols);
                out.push(l.to_owned());
                columns = None;
            }
            Some(cols) => cols.push(l.trim_end_matches(',').to_owned()),
            None => {
                out.push(l.to_owned());
                if l.starts_with("CREATE TABLE") && l.ends_with('(') {
                    columns = Some(Vec::new());
                }
            }
        }
    }
    out.join("\n")
}

/// Up one at a time, recording the schema after each; then down one at a time, each time
/// comparing with the schema before that migration; then all the way up again.
async fn up_down_up(pg: &EmbeddedPg, url: &str, source: fn() -> EmbeddedMigrations) -> usize {
    let mut schemas = vec![schema(pg, url).await];
    loop {
        let applied = db::run_next_migrations(url, source(), 1).await.unwrap();
        if applied.is_empty() {
            break;
        }
        schemas.push(schema(pg, url).await);
    }
    let n = schemas.len() - 1;
    assert!(n >= 3, "{n} migrations");
    for i in (1..=n).rev() {
        let reverted = db::revert_migrations(url, source(), 1).await.unwrap();
        assert_eq!(reverted.len(), 1);
        let now = schema(pg, url).await;
        assert!(
            now == schemas[i - 1],
            "reverting {} left a different schema than before it:\n{}",
            reverted[0],
            diff(&schemas[i - 1], &now)
        );
    }
    assert!(db::revert_migrations(url, source(), 1).await.unwrap().is_empty(), "nothing left to revert");
    assert_eq!(db::run_migrations(url, source()).await.unwrap().len(), n);
    assert!(schema(pg, url).await == schemas[n], "up again differs");
    n
}

fn diff(before: &str, after: &str) -> String {
    let b: std::collections::BTreeSet<&str> = before.lines().collect();
    let a: std::collections::BTreeSet<&str> = after.lines().collect();
    let gone = b.difference(&a).map(|l| format!("- {l}"));
    let new = a.difference(&b).map(|l| format!("+ {l}"));
    gone.chain(new).collect::<Vec<_>>().join("\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_migration_rolls_back_to_the_schema_before_it_and_applies_again() {
    let pg = cluster().await;
    let meta = fresh_database(pg).await;
    up_down_up(pg, &meta, || META_MIGRATIONS).await;
    let vectors = fresh_database(pg).await;
    up_down_up(pg, &vectors, || VECTOR_MIGRATIONS).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn migrations_roll_back_with_data_in_the_tables() {
    // an installation in use: a user with places, items, a photo and its thumbnails, a document
    // with passages and vectors, a share, an export, jobs done
    let app = TestApp::spawn().await;
    let ann = email("ann");
    app.sign_up(&ann, "Ann").await;
    let item =
        add_item(&app, "Oak chair", &[("location", "House / Hall"), ("tags", "oak"), ("retail_price", "12")]).await;
    assert_eq!(upload(&app, item, "c.jpg", jpeg(300, 200), "application/json").await.status(), StatusCode::OK);
    wait_for_thumbnails(&app, item).await;
    let (_, up) = crate::documents::upload_docs(&app, vec![("note.txt", b"A note about the chair.".to_vec())]).await;
    crate::documents::ingest(&app).await;
    let doc = crate::documents::ids(&up, "added")[0];
    let bob = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    bob.sign_up(&email("bob"), "Bob").await;
    let bob_email = bob.me().await["email"].as_str().unwrap().to_owned();
    let r = app.call("documents/share", &[("id", &doc.to_string()), ("email", &bob_email)]).await;
    assert!(r.status().is_success() || r.status().is_redirection());
    crate::helpers::export_file(&app, "csv").await;
    let photo = wait_for_thumbnails(&app, item).await["id"].as_i64().unwrap();
    let photo_bytes = app.get(&format!("/media/{photo}")).await.bytes().await.unwrap();
    drop(bob);
    let url = app.db_url.clone();
    let config = (*app.state.config).clone();
    drop(app);

    // an upgrade: the schema of a few migrations ago, with its data, then today's server starts
    // (and migrates forward); everything is still there and works
    let back = db::revert_migrations(&url, META_MIGRATIONS, 3).await.unwrap();
    assert_eq!(back.len(), 3);
    let upgraded = TestApp::spawn_with(config, None).await;
    upgraded.sign_in(&ann, PASSWORD).await;
    assert_eq!(item_json(&upgraded, item).await["location"], "House / Hall");
    assert_eq!(upgraded.get(&format!("/media/{photo}")).await.bytes().await.unwrap(), photo_bytes);
    let file = upgraded.get(&format!("/documents/{doc}/file")).await;
    assert_eq!(file.bytes().await.unwrap().as_ref(), b"A note about the chair.");
    assert_eq!(upgraded.get(&format!("/inventory/{item}")).await.status(), StatusCode::OK);
    drop(upgraded);

    // everything down (vectors first: they live in this database too), then up again
    let n = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/meta")).unwrap().count();
    let v = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/vector")).unwrap().count();
    assert_eq!(db::revert_migrations(&url, VECTOR_MIGRATIONS, 99).await.unwrap().len(), v);
    assert_eq!(db::revert_migrations(&url, META_MIGRATIONS, 99).await.unwrap().len(), n);
    assert_eq!(db::run_migrations(&url, META_MIGRATIONS).await.unwrap().len(), n);
    assert_eq!(db::run_migrations(&url, VECTOR_MIGRATIONS).await.unwrap().len(), v);
}

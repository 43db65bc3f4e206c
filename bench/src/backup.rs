//! The backup figures: `bartleby backup` and `bartleby restore` of one account with N items (with
//! places, categories and tags), P passages with their vectors in documents whose files exist, and
//! a number of 3 MB photos; the time of each, the backup's size, and the restored row counts
//! checked against the original; then `bartleby maintenance --reindex` of the same data.

use std::time::Instant;

use anyhow::{ensure, Context, Result};
use app::platform::AppState;
use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;
use server::backup::{self, Target, Tools};
use server::embedded_pg::EmbeddedPg;

use crate::common::{exec, make_user};

#[derive(diesel::QueryableByName)]
struct Doc {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    key: String,
}

#[derive(diesel::QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn count(url: &str, table: &str) -> Result<i64> {
    let mut c = app::platform::db::establish(url).await?;
    let n: N = diesel::sql_query(format!("SELECT count(*) AS n FROM {table}")).get_result(&mut c).await?;
    Ok(n.n)
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

pub async fn backup_figures(
    state: AppState,
    meta_url: String,
    items: usize,
    passages: usize,
    photos: usize,
) -> Result<()> {
    println!(
        "Bartleby backup benchmark ({} cores): {items} items, {passages} passages, {photos} photos of 3 MB",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    let user = make_user(&state, "backup@bench.invalid").await?;
    let started = Instant::now();
    crate::inventory::load_user(&state, user, items, 7).await?;
    crate::documents::load_passages(&state, user, passages).await?;
    // the documents' files, as their rows now say
    let mut c = state.db.get().await?;
    let docs: Vec<Doc> = diesel::sql_query("SELECT id, key FROM user_documents WHERE user_id = $1")
        .bind::<BigInt, _>(user)
        .load(&mut c)
        .await?;
    for d in &docs {
        let path = state.config.dirs.documents.join(&d.key);
        std::fs::create_dir_all(path.parent().context("a key without a directory")?)?;
        std::fs::write(&path, format!("Bench document {}\n", d.id))?;
        let (bytes, sha) = app::storage::sha256_file(&path).await?;
        diesel::sql_query("UPDATE user_documents SET bytes = $1, sha256 = $2 WHERE id = $3")
            .bind::<BigInt, _>(bytes as i64)
            .bind::<Text, _>(sha)
            .bind::<BigInt, _>(d.id)
            .execute(&mut c)
            .await?;
    }
    // the photos: one 3 MB JPEG each, recorded like an upload (no thumbnails: they do not change
    // what a backup is)
    let jpeg = crate::inventory::three_mb_jpeg()?;
    let item: N = diesel::sql_query("SELECT min(id) AS n FROM user_inventory WHERE user_id = $1")
        .bind::<BigInt, _>(user)
        .get_result(&mut c)
        .await?;
    for i in 0..photos {
        let key = format!("users/{user}/inventory/{}_{}.jpg", item.n, 9_000_000 + i);
        let path = state.config.dirs.inventory_images.join(&key);
        std::fs::create_dir_all(path.parent().context("a key without a directory")?)?;
        std::fs::write(&path, &jpeg)?;
        let (bytes, sha) = app::storage::sha256_file(&path).await?;
        diesel::sql_query(
            "INSERT INTO inventory_assets (user_id, item_id, kind, backend, key, content_type, bytes, width, height, sha256) \
             VALUES ($1, $2, 'original', 'local', $3, 'image/jpeg', $4, 3000, 2250, $5)",
        )
        .bind::<BigInt, _>(user)
        .bind::<BigInt, _>(item.n)
        .bind::<Text, _>(key)
        .bind::<BigInt, _>(bytes as i64)
        .bind::<Text, _>(sha)
        .execute(&mut c)
        .await?;
    }
    drop(c);
    exec(&state, "ANALYZE").await?;
    println!("load: {:.1} s", started.elapsed().as_secs_f64());

    let pg = EmbeddedPg::from_config(&state.config)?;
    let tools = Tools { pg_dump: pg.tool("pg_dump"), pg_restore: pg.tool("pg_restore") };
    let to = std::env::temp_dir().join(format!("bartleby-bench-backup-{}", std::process::id()));
    let started = Instant::now();
    let (made, report) = backup::backup(&state, &meta_url, None, &tools, &to, false, |_, _| {}).await?;
    let took = started.elapsed();
    ensure!(report.problems.is_empty(), "the backup found problems: {:?}", report.problems);
    let manifest = backup::verify(&made).await?;
    println!(
        "backup: {:.1} s; {:.1} MB in all (database dump {:.1} MB, {} objects {:.1} MB)",
        took.as_secs_f64(),
        dir_bytes(&made) as f64 / 1e6,
        manifest.metadata.bytes as f64 / 1e6,
        report.copied,
        (report.bytes - manifest.metadata.bytes) as f64 / 1e6
    );
    let started = Instant::now();
    backup::verify(&made).await?;
    println!("verify (every checksum): {:.1} s", started.elapsed().as_secs_f64());

    // into a fresh database and fresh directories of the same cluster
    pg.drop_database("bartleby_bench_restore").await?;
    pg.ensure_database("bartleby_bench_restore").await?;
    let url = pg.url("bartleby_bench_restore");
    let mut config = (*state.config).clone();
    let scratch = to.join("restored");
    config.dirs.documents = scratch.join("documents");
    config.dirs.inventory_images = scratch.join("images");
    config.dirs.exports = scratch.join("exports");
    config.dirs.uploads = scratch.join("uploads");
    let started = Instant::now();
    let restored =
        backup::restore(config, Target { meta_url: &url, vector_url: None }, &tools, &made, false, |_, _| {}).await?;
    ensure!(restored.problems.is_empty(), "the restore found problems: {:?}", restored.problems);
    println!("restore (databases, then objects): {:.1} s", started.elapsed().as_secs_f64());
    for table in ["user_inventory", "document_chunks", "document_vectors", "inventory_assets"] {
        let (a, b) = (count(&meta_url, table).await?, count(&url, table).await?);
        ensure!(a == b, "{table}: {a} rows, {b} restored");
    }
    println!("restored row counts match (items, passages, vectors, photos)");
    pg.drop_database("bartleby_bench_restore").await?;
    let _ = std::fs::remove_dir_all(&to);

    // maintenance of the same installation: the orphan check reads every object's row and file
    let opts = server::maintenance::Options {
        fix: false,
        reindex: true,
        grace: std::time::Duration::from_secs(86_400),
        bloat_floor: server::maintenance::BLOAT_FLOOR,
    };
    let report = server::maintenance::run(&state, &opts).await?;
    println!("maintenance --reindex: {:.1} s; {}", report.took.as_secs_f64(), report.summary());
    print!("{}", server::maintenance::render(&report));
    Ok(())
}

//! `bartleby-bench inventory`: the figures of the inventory issue, printed.
//!
//! 1. Load: one user with N items (default 100,000) and U−1 other users with N each (default 10),
//!    every user with 1,110 places (10 rooms × 10 shelves × 10 boxes) and items spread over the
//!    boxes, 20 categories and 40 tags, names and descriptions from a 200-word vocabulary.
//! 2. The inventory page (50 rows, HTML rendered on the server) over HTTP for the owner of the
//!    first N items: sorts, filters (category, tag, a room and everything in it) and text search,
//!    p50 and p95 at 1 and at 32 concurrent clients.
//! 3. Photo ingest: 3 MB JPEGs uploaded over HTTP, until both thumbnails of each exist: photos/s.
//! 4. The process's peak RSS.
//!
//! Runs in its own database (`bartleby_bench`); `BENCH_REUSE=1` keeps items loaded by an earlier run.
//! `BENCH_PAGES=default,dashboard` measures only the pages whose names contain one of the words
//! (and the sign-in page, the ceiling; `import` the 50,000-row import), `BENCH_PER_CLIENT` sets
//! each of the 32 clients' requests (default 5): for profiling.

use std::time::{Duration, Instant};

use anyhow::Result;
use app::platform::AppState;
use diesel::sql_types::{BigInt, Integer, Text};
use diesel_async::RunQueryDsl;

use crate::common::{exec, make_user, peak_rss_mb, percentile, run_clients, set_password, signed_in};

const WORDS: &str = "oak walnut pine maple cherry birch teak cedar ash elm brass copper iron steel silver gold tin \
    bronze glass crystal porcelain ceramic stone marble granite slate leather wool linen cotton silk velvet \
    chair table desk lamp vase bowl plate cup mug jug pitcher teapot kettle clock mirror frame painting print \
    poster rug carpet cushion blanket quilt curtain basket box chest trunk crate shelf cabinet drawer stool \
    bench sofa bed lantern candle candlestick sconce chandelier bell whistle compass telescope camera radio \
    record guitar violin drum flute piano book atlas map globe letter stamp coin medal badge button \
    brooch ring necklace bracelet watch pen pencil inkwell typewriter scissors knife fork spoon ladle \
    hammer saw chisel plane drill wrench spanner screwdriver pliers vice anvil tongs bucket spade rake hoe \
    antique vintage modern rustic painted carved polished hammered woven embroidered engraved gilded \
    small large tall short round square oval narrow wide heavy light old new fine rough smooth \
    red blue green yellow black white grey brown cream ivory amber ochre teal navy crimson \
    french english italian spanish danish swedish german dutch japanese chinese indian moroccan \
    victorian edwardian georgian regency deco nouveau baroque gothic shaker mission colonial";

const CATEGORIES: [&str; 20] = [
    "Furniture",
    "Lighting",
    "Kitchen",
    "Tableware",
    "Textiles",
    "Art",
    "Books",
    "Tools",
    "Garden",
    "Music",
    "Clocks",
    "Jewellery",
    "Silverware",
    "Glassware",
    "Ceramics",
    "Toys",
    "Maps",
    "Stationery",
    "Cameras",
    "Curios",
];

fn words() -> Vec<&'static str> {
    WORDS.split_whitespace().collect()
}

/// Loads `items` items and 1,110 places for `user`, in SQL (pseudo-random, seeded per user).
pub async fn load_user(state: &AppState, user: i64, items: usize, seed: u32) -> Result<()> {
    let mut c = state.db.get().await?;
    diesel::sql_query("SELECT setseed($1)")
        .bind::<diesel::sql_types::Double, _>(f64::from(seed % 1000) / 1000.0)
        .execute(&mut c)
        .await?;
    diesel::sql_query(
        "INSERT INTO user_locations (user_id, parent_id, name, path) \
         SELECT $1, NULL, 'Room ' || r, 'Room ' || r FROM generate_series(1, 10) r",
    )
    .bind::<BigInt, _>(user)
    .execute(&mut c)
    .await?;
    diesel::sql_query(
        "INSERT INTO user_locations (user_id, parent_id, name, path) \
         SELECT $1, p.id, 'Shelf ' || s, p.path || ' / Shelf ' || s \
           FROM user_locations p, generate_series(1, 10) s WHERE p.user_id = $1 AND p.parent_id IS NULL",
    )
    .bind::<BigInt, _>(user)
    .execute(&mut c)
    .await?;
    diesel::sql_query(
        "INSERT INTO user_locations (user_id, parent_id, name, path) \
         SELECT $1, p.id, 'Box ' || b, p.path || ' / Box ' || b \
           FROM user_locations p JOIN user_locations g ON p.parent_id = g.id AND g.parent_id IS NULL, \
                generate_series(1, 10) b WHERE p.user_id = $1",
    )
    .bind::<BigInt, _>(user)
    .execute(&mut c)
    .await?;
    let words = words();
    diesel::sql_query(
        "WITH w AS (SELECT $3::text[] AS w, cardinality($3::text[]) AS n, $4::text[] AS cats), \
              boxes AS (SELECT array_agg(id) AS ids FROM user_locations WHERE user_id = $1 AND path LIKE '%Box%') \
         INSERT INTO user_inventory (user_id, name, description, category, material, colour, quantity, tags, \
                                     import_cost, retail_price, currency, location_id, created_at, updated_at) \
         SELECT $1, \
                initcap(w[1 + floor(random() * n)::int]) || ' ' || w[1 + floor(random() * n)::int] || ' ' || i, \
                w[1 + floor(random() * n)::int] || ' ' || w[1 + floor(random() * n)::int] || ' ' || \
                  w[1 + floor(random() * n)::int] || ' ' || w[1 + floor(random() * n)::int] || ' ' || \
                  w[1 + floor(random() * n)::int] || ' ' || w[1 + floor(random() * n)::int], \
                cats[1 + floor(random() * 20)::int], \
                w[1 + floor(random() * n)::int], w[1 + floor(random() * n)::int], \
                1 + floor(random() * 5)::int, \
                CASE WHEN random() < 0.5 THEN ARRAY['tag' || floor(random() * 40)::int] \
                     ELSE ARRAY['tag' || floor(random() * 40)::int, 'tag' || (40 + floor(random() * 10)::int)] END, \
                round((random() * 500)::numeric, 2), round((random() * 900 + 10)::numeric, 2), \
                CASE WHEN random() < 0.8 THEN 'USD' ELSE 'EUR' END, \
                (SELECT ids FROM boxes)[1 + floor(random() * 1000)::int], \
                now() - (random() * interval '900 days'), now() - (random() * interval '300 days') \
           FROM generate_series(1, $2) i, w",
    )
    .bind::<BigInt, _>(user)
    .bind::<Integer, _>(i32::try_from(items)?)
    .bind::<diesel::sql_types::Array<Text>, _>(&words)
    .bind::<diesel::sql_types::Array<Text>, _>(&CATEGORIES[..])
    .execute(&mut c)
    .await?;
    Ok(())
}

#[derive(diesel::QueryableByName)]
pub(crate) struct N {
    #[diesel(sql_type = BigInt)]
    pub(crate) n: i64,
}

/// What every inventory table page shows.
const TABLE: &str = "data-testid=\"item-count\"";

/// The page views measured: (what, URL, what the right page contains).
fn scenarios(room: i64) -> Vec<(&'static str, String, &'static str)> {
    vec![
        ("newest first (default)", "/inventory".into(), TABLE),
        ("sort by name", "/inventory?sort=name&dir=asc".into(), TABLE),
        ("sort by name, page 40", "/inventory?sort=name&dir=asc&page=40".into(), TABLE),
        ("sort by price", "/inventory?sort=retail_price&dir=desc".into(), TABLE),
        ("sort by location", "/inventory?sort=location&dir=asc".into(), TABLE),
        ("filter: category", "/inventory?category=Lighting".into(), TABLE),
        ("filter: tag", "/inventory?tag=tag7".into(), TABLE),
        ("filter: a room and all in it", format!("/inventory?location={room}"), TABLE),
        ("filter: category + tag + room", format!("/inventory?category=Tools&tag=tag3&location={room}"), TABLE),
        ("search: one word", "/inventory?q=walnut".into(), TABLE),
        ("search: two words", "/inventory?q=brass+lamp".into(), TABLE),
        ("search: a typo", "/inventory?q=chandelir".into(), TABLE),
        ("search: no match", "/inventory?q=zzzzqqq".into(), TABLE),
        ("dashboard (figures, charts)", "/".into(), "data-testid=\"value-total\""),
        ("Locations page (every place)", "/inventory/locations".into(), "data-testid=\"places\""),
    ]
}

/// The page at `url`, fetched by `clients` concurrent clients `per_client` times each; every
/// answer must be the right page (contain `marker`).
pub(crate) async fn measure(
    client: &reqwest::Client,
    url: &str,
    marker: &'static str,
    clients: usize,
    per_client: usize,
) -> Result<(Vec<Duration>, f64)> {
    let (client, page) = (client.clone(), url.to_owned());
    let (all, wall) = run_clients(clients, per_client, move |_, _| {
        let (client, page) = (client.clone(), page.clone());
        async move {
            match client.get(&page).header("Accept", "text/html").send().await {
                Ok(r) if r.status().is_success() => r.text().await.map(|b| b.contains(marker)).unwrap_or(false),
                _ => false,
            }
        }
    })
    .await?;
    anyhow::ensure!(
        all.len() == clients * per_client,
        "{url}: {} of {} answers failed",
        clients * per_client - all.len(),
        clients * per_client
    );
    Ok((all, wall))
}

pub async fn inventory(state: AppState, items: usize, users: usize) -> Result<()> {
    println!(
        "Bartleby inventory benchmark ({} cores): {users} users × {items} items",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    let owner = make_user(&state, "inventory@bench.invalid").await?;
    set_password(&state, owner).await?;
    let mut c = state.db.get().await?;
    let loaded: N = diesel::sql_query("SELECT count(*) AS n FROM user_inventory").get_result(&mut c).await?;
    drop(c);
    if loaded.n as usize == items * users {
        println!("load: reusing the {} items loaded by an earlier run (BENCH_REUSE=1)", loaded.n);
    } else {
        exec(&state, "TRUNCATE user_inventory, user_locations, user_categories, user_tags CASCADE").await?;
        let started = Instant::now();
        for u in 0..users {
            let user = if u == 0 { owner } else { make_user(&state, &format!("other{u}@bench.invalid")).await? };
            load_user(&state, user, items, u as u32 * 7 + 1).await?;
            eprint!("\r  {} of {users} users loaded", u + 1);
        }
        eprintln!();
        // what autovacuum does over time to a table loaded at once (and `bartleby maintenance`)
        exec(&state, "VACUUM ANALYZE").await?;
        let took = started.elapsed().as_secs_f64();
        println!("load: {} items in {took:.0} s ({:.0} items/s)", items * users, (items * users) as f64 / took);
    }

    let base = crate::common::serve_here(&state).await?;
    let client = signed_in(&base, "inventory@bench.invalid").await?;
    let mut c = state.db.get().await?;
    let room: N = diesel::sql_query(
        "SELECT id AS n FROM user_locations WHERE user_id = $1 AND parent_id IS NULL ORDER BY path LIMIT 1",
    )
    .bind::<BigInt, _>(owner)
    .get_result(&mut c)
    .await?;
    drop(c);

    println!("inventory pages (server-rendered HTML; the table shows 50 rows) over HTTP, signed in as the owner of {items} items:");
    println!("  {:<32} {:>22} {:>30} {:>10}", "", "1 client: p50 / p95", "32 clients: p50 / p95 (pages/s)", "÷ /login");
    // the sign-in page, served by the same process the same way to a client not signed in: what
    // the framework, the middleware and the connection cost alone (the ceiling here)
    let anonymous = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let only = std::env::var("BENCH_PAGES").ok();
    let per_client = std::env::var("BENCH_PER_CLIENT").ok().and_then(|n| n.parse().ok()).unwrap_or(5);
    let mut ceiling: Option<f64> = None;
    let pages = std::iter::once(("sign-in page (the ceiling)", "/login".to_owned(), "type=\"password\""))
        .chain(scenarios(room.n));
    for (what, path, marker) in pages {
        let is_ceiling = path == "/login";
        if !is_ceiling && only.as_deref().is_some_and(|o| !o.split(',').any(|w| what.contains(w))) {
            continue;
        }
        let url = format!("{base}{path}");
        let client = if is_ceiling { &anonymous } else { &client };
        measure(client, &url, marker, 1, 3).await?; // warm up
        let (one, _) = measure(client, &url, marker, 1, 40).await?;
        let (many, wall) = measure(client, &url, marker, 32, per_client).await?;
        let rate = many.len() as f64 / wall;
        if is_ceiling {
            ceiling = Some(rate);
        }
        println!(
            "  {what:<32} {:>9.1} / {:>6.1} ms {:>12.1} / {:>6.1} ms ({rate:.0}/s) {:>9}",
            percentile(&one, 0.5),
            percentile(&one, 0.95),
            percentile(&many, 0.5),
            percentile(&many, 0.95),
            ceiling.map(|c| format!("{:.1}×", c / rate)).unwrap_or_default()
        );
    }
    if let Some(only) = only {
        if only.split(',').any(|w| w == "import") {
            import(&state, &base).await?;
        }
        return Ok(());
    }

    photo_ingest(&state, &base, &client, owner).await?;
    import(&state, &base).await?;
    println!("peak RSS of this process (server code and benchmark): {:.0} MB", peak_rss_mb());
    Ok(())
}

/// A JPEG of about 3 MB (a noisy gradient, as photos are to a JPEG encoder).
pub fn three_mb_jpeg() -> Result<Vec<u8>> {
    let (w, h) = (3000u32, 2250u32);
    let mut seed = 0x2545_f491u32;
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let n = (seed % 56) as u8;
        image::Rgb([
            ((x * 255 / w) as u8).saturating_add(n),
            ((y * 255 / h) as u8).saturating_add(n),
            128u8.saturating_add(n),
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90).encode_image(&img)?;
    Ok(out)
}

async fn photo_ingest(state: &AppState, base: &str, client: &reqwest::Client, owner: i64) -> Result<()> {
    const PHOTOS: usize = 24;
    const UPLOADERS: usize = 4;
    let jpeg = three_mb_jpeg()?;
    server::spawn_photo_workers(state);
    let mut c = state.db.get().await?;
    let item: N = diesel::sql_query("SELECT id AS n FROM user_inventory WHERE user_id = $1 ORDER BY id LIMIT 1")
        .bind::<BigInt, _>(owner)
        .get_result(&mut c)
        .await?;
    let count_thumbs =
        "SELECT count(*) AS n FROM inventory_assets WHERE user_id = $1 AND item_id = $2 AND kind <> 'original'";
    let before: N =
        diesel::sql_query(count_thumbs).bind::<BigInt, _>(owner).bind::<BigInt, _>(item.n).get_result(&mut c).await?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for u in 0..UPLOADERS {
        let (client, url, jpeg) = (client.clone(), format!("{base}/inventory/{}/photos", item.n), jpeg.clone());
        let base = base.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut ok = 0;
            for i in 0..PHOTOS / UPLOADERS {
                let part = reqwest::multipart::Part::bytes(jpeg.clone()).file_name(format!("photo-{u}-{i}.jpg"));
                let form = reqwest::multipart::Form::new().part("photos", part);
                let r = client
                    .post(&url)
                    .header("Accept", "application/json")
                    .header("Origin", base.clone())
                    .multipart(form)
                    .send()
                    .await;
                if r.is_ok_and(|r| r.status().is_success()) {
                    ok += 1;
                }
            }
            ok
        }));
    }
    let mut stored = 0;
    for t in tasks {
        stored += t.await?;
    }
    let uploaded = started.elapsed().as_secs_f64();
    // thumbnails are made off the request path: wait until both sizes of every photo exist
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let n: N = diesel::sql_query(count_thumbs)
            .bind::<BigInt, _>(owner)
            .bind::<BigInt, _>(item.n)
            .get_result(&mut c)
            .await?;
        if (n.n - before.n) as usize >= 2 * stored || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let done = started.elapsed().as_secs_f64();
    println!(
        "photo ingest: {stored} JPEGs of {:.1} MB over HTTP ({UPLOADERS} uploaders): stored in {uploaded:.1} s ({:.1} photos/s, {:.0} MB/s); \
         with both thumbnails in {done:.1} s ({:.2} photos/s)",
        jpeg.len() as f64 / 1e6,
        stored as f64 / uploaded,
        stored as f64 * jpeg.len() as f64 / 1e6 / uploaded,
        stored as f64 / done
    );
    anyhow::ensure!(stored == PHOTOS, "{} uploads failed", PHOTOS - stored);
    Ok(())
}

/// A 50,000-row CSV (the most one import takes) uploaded, checked and committed over HTTP by an
/// account of its own, which is deleted afterwards (the items of the others are untouched).
async fn import(state: &AppState, base: &str) -> Result<()> {
    const ROWS: usize = 50_000;
    let user = make_user(state, "import@bench.invalid").await?;
    set_password(state, user).await?;
    let client = signed_in(base, "import@bench.invalid").await?;
    let mut csv = String::from("name,category,location,quantity,tags,retail_price,currency,description\n");
    for i in 0..ROWS {
        csv.push_str(&format!(
            "Imported thing {i},Cat {},Room {} / Shelf {} / Box {},{},\"t{}, t{}\",{}.50,{},A description of thing {i}\n",
            i % 20,
            i % 10,
            i % 10,
            i % 10,
            1 + i % 4,
            i % 50,
            i % 37,
            i % 900,
            if i % 3 == 0 { "EUR" } else { "USD" }
        ));
    }
    let bytes = csv.len();
    let started = Instant::now();
    let part = reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("items.csv");
    let r = client
        .post(format!("{base}/inventory/import"))
        .header("Accept", "application/json")
        .header("Origin", base)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "import upload: {}", r.status());
    let token = r.json::<serde_json::Value>().await?["token"].as_str().unwrap_or_default().to_owned();
    let checked = started.elapsed();
    let r = client
        .post(format!("{base}/api/inventory/import/commit"))
        .header("Origin", base)
        .form(&[("token", token.as_str())])
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "import commit: {}", r.status());
    // the import runs on the job queue: done when its status says so
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        anyhow::ensure!(Instant::now() < deadline, "the import did not finish in 10 minutes");
        let run: serde_json::Value = client
            .post(format!("{base}/api/inventory/import/status"))
            .header("Origin", base)
            .form(&[("token", token.as_str())])
            .send()
            .await?
            .json()
            .await?;
        match run["status"].as_str() {
            Some("done") => break,
            Some("failed") => anyhow::bail!("the import failed: {run}"),
            _ => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    }
    let all = started.elapsed();
    println!(
        "import: {ROWS} rows ({:.1} MB of CSV) uploaded in {:.1} s, checked and committed in {:.1} s ({:.0} rows/s)",
        bytes as f64 / 1e6,
        checked.as_secs_f64(),
        (all - checked).as_secs_f64(),
        ROWS as f64 / (all - checked).as_secs_f64()
    );
    exec(state, &format!("DELETE FROM users WHERE id = {user}")).await?;
    Ok(())
}

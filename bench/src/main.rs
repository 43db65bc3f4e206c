//! `bartleby-bench`: the figure commands. Each prints the figures the README quotes, measured in a
//! database of its own (the embedded Postgres's `bartleby_bench`, recreated each run, or
//! `BENCH_DATABASE_URL`), never in the configured databases or storage. Build it in release:
//! `cargo run --release -p bench -- inventory`.

mod backup;
mod common;
mod documents;
mod figures;
mod inventory;
mod ocr;

use anyhow::Result;
use app::platform::config::Config;
use clap::{Parser, Subcommand};
use server::embedded_pg::EmbeddedPg;
use tracing_subscriber::EnvFilter;

/// Bartleby's performance figures, each in a database of its own (bartleby_bench, recreated each
/// run; BENCH_REUSE=1 keeps what an earlier run loaded).
#[derive(Parser)]
#[command(name = "bartleby-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Ingest and search figures: documents/s and passages/s, HNSW build, recall@10, search
    /// latency over HTTP at 1 and 16 clients, peak RSS.
    Documents {
        #[arg(long, default_value_t = 100_000)]
        passages: usize,
    },
    /// Inventory figures: the server-rendered inventory page for sorts, filters and searches at
    /// 1 and 32 clients, 3 MB JPEG ingest with thumbnails, peak RSS.
    Inventory {
        #[arg(long, default_value_t = 100_000)]
        items: usize,
        #[arg(long, default_value_t = 11)]
        users: usize,
    },
    /// Backup and restore figures: time and size of `bartleby backup`, `verify` and `restore` for
    /// an account with N items, P passages (with vectors) and a number of 3 MB photos.
    Backup {
        #[arg(long, default_value_t = 100_000)]
        items: usize,
        #[arg(long, default_value_t = 100_000)]
        passages: usize,
        #[arg(long, default_value_t = 20)]
        photos: usize,
    },
    /// A small, quick version of the page figures for CI (its own database, bartleby_figures):
    /// each page's median time at one client as a multiple of the sign-in page's, compared with
    /// a baseline (`--check bench/baseline.json`, fails when one is 30 % worse) or written as one.
    Figures {
        #[arg(long, default_value_t = 5_000)]
        items: usize,
        #[arg(long)]
        check: Option<std::path::PathBuf>,
        #[arg(long)]
        write: Option<std::path::PathBuf>,
    },
    /// OCR quality and speed: pages of known text drawn clean-ish and degraded, read back by
    /// Bartleby's OCR (character and word accuracy, seconds a page); no database.
    Ocr {
        /// Keep the page images, the scanned PDFs and the texts here.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Search quality on bench/retrieval (recall@10 of HNSW, nDCG@10 by ranking);
    /// BENCH_RETRIEVAL_DIR for another set.
    Retrieval,
}

fn main() -> Result<()> {
    let command = Cli::parse().command;
    let mut config = Config::from_env()?;
    tracing_subscriber::fmt().with_env_filter(EnvFilter::new(&config.log_filter)).with_writer(std::io::stderr).init();
    // the untrusted-file parser is `bartleby parse …`, beside this binary
    if std::env::var_os("BARTLEBY_PARSER_EXE").is_none() {
        if let Some(dir) = std::env::current_exe()?.parent() {
            config.parser.exe = dir.join("bartleby");
        }
    }
    anyhow::ensure!(
        config.parser.exe.is_file(),
        "{} is missing: build it first (cargo build --release -p server), or set BARTLEBY_PARSER_EXE",
        config.parser.exe.display()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match command {
            Command::Documents { passages } => {
                in_own_database(config, move |state| documents::documents(state, passages)).await
            }
            Command::Inventory { items, users } => {
                in_own_database(config, move |state| inventory::inventory(state, items, users)).await
            }
            Command::Backup { items, passages, photos } => {
                let url = bench_url(&config)?;
                in_own_database(config, move |state| backup::backup_figures(state, url, items, passages, photos)).await
            }
            Command::Figures { items, check, write } => {
                in_database(config, "bartleby_figures", false, move |state| async move {
                    figures::figures(state, items, check.as_deref(), write.as_deref()).await
                })
                .await
            }
            Command::Ocr { out } => ocr::ocr(config.parser, out).await,
            Command::Retrieval => {
                in_own_database(config, |state| async move {
                    let dir = std::env::var("BENCH_RETRIEVAL_DIR").unwrap_or_else(|_| "bench/retrieval".into());
                    documents::retrieval(state, std::path::Path::new(&dir)).await
                })
                .await
            }
        }
    })
}

/// The benchmarks' database URL (as `in_own_database` makes it).
fn bench_url(config: &Config) -> Result<String> {
    match std::env::var("BENCH_DATABASE_URL") {
        Ok(url) => Ok(url),
        Err(_) => Ok(EmbeddedPg::from_config(config)?.url("bartleby_bench")),
    }
}

/// Runs a benchmark against a database of its own (`bartleby_bench`, recreated each run).
async fn in_own_database<F, Fut>(config: Config, run: F) -> Result<()>
where
    F: FnOnce(app::platform::AppState) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    in_database(config, "bartleby_bench", std::env::var("BENCH_REUSE").is_ok(), run).await
}

/// Runs a benchmark against the database `name` (recreated unless `reuse`), or `BENCH_DATABASE_URL`.
async fn in_database<F, Fut>(config: Config, name: &str, reuse: bool, run: F) -> Result<()>
where
    F: FnOnce(app::platform::AppState) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    // never in the configured databases: the benchmark writes and drops freely
    let mut config = config;
    config.vector_database_url = None;
    config.storage_backend = app::platform::config::StorageBackend::Local;
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
            let pg = EmbeddedPg::from_config(&config)?;
            let started = pg.start().await?;
            // BENCH_REUSE=1 keeps what an earlier run loaded (a million vectors take ~20 minutes)
            if !reuse {
                pg.drop_database(name).await?;
            }
            pg.ensure_database(name).await?;
            (pg.url(name), started.then_some(pg))
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

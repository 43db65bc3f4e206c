//! `bartleby`: the command line (clap). `serve` (the default) runs the web app; the other
//! commands manage the databases, move stored objects and re-embed.
//! `bartleby --help` and each command's `--help` are the reference.

use std::net::SocketAddr;

use anyhow::{bail, Context, Result};
use app::server::config::Config;
use app::server::db::{self, META_MIGRATIONS, VECTOR_MIGRATIONS};
use clap::{Parser, Subcommand, ValueEnum};
use server::embedded_pg::EmbeddedPg;
use tracing_subscriber::EnvFilter;

/// Bartleby — a web clerk for your things and papers.
///
/// With no command, serves the web app. Configuration comes from the environment (every variable
/// is listed, with its default, in .env.example); with none set, Bartleby runs on its own embedded
/// Postgres and local disk.
#[derive(Parser)]
#[command(name = "bartleby", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web app (http://localhost:3000 unless BIND_ADDR or PORT say otherwise).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// The embedded Postgres (used when DATABASE_URL is unset).
    #[command(subcommand)]
    Db(DbCommand),
    /// Move stored objects (photos, thumbnails, documents, exports) between backends.
    #[command(subcommand)]
    Storage(StorageCommand),
    /// Re-embed every document and inventory item with the configured embedding model (after
    /// changing it). Resumable: run it again after an interruption.
    Reindex,
}

#[derive(Subcommand)]
enum DbCommand {
    /// Start the embedded Postgres and print its connection URL.
    Start,
    /// Stop the embedded Postgres.
    Stop,
    /// Say whether the embedded Postgres runs (exit status 3 when it does not).
    Status,
    /// Print the embedded database's connection URL.
    Url,
    /// Create a database in the embedded Postgres (starting it if needed) and print its URL.
    Create { name: String },
}

#[derive(Subcommand)]
enum StorageCommand {
    /// Move photos, documents and exports that fell back to local disk (the provider did not
    /// answer when they were stored) to the configured provider.
    Sync,
    /// Move every stored object to another backend, verified by size and sha256 (photos to any;
    /// documents and exports to s3 or local).
    Migrate {
        /// The backend every object moves to.
        #[arg(long, value_enum)]
        to: Backend,
        /// Count what would move; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Backend {
    Local,
    S3,
    Vercel,
}

impl From<Backend> for app::storage::Backend {
    fn from(b: Backend) -> Self {
        match b {
            Backend::Local => Self::Local,
            Backend::S3 => Self::S3,
            Backend::Vercel => Self::Vercel,
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(app::server::sandbox::CHILD_COMMAND) {
        std::process::exit(parse_child(&args[1..]));
    }
    let cli = Cli::parse();
    if let Err(e) = real_main(cli.command.unwrap_or(Command::Serve)) {
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

fn real_main(command: Command) -> Result<()> {
    let config = Config::from_env()?;
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(&config.log_filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match command {
            Command::Serve => serve(config).await,
            Command::Migrate => migrate(config).await,
            Command::Db(cmd) => db_command(config, cmd).await,
            Command::Storage(StorageCommand::Sync) => storage_sync(config).await,
            Command::Storage(StorageCommand::Migrate { to, dry_run }) => {
                storage_migrate(config, to.into(), dry_run).await
            }
            Command::Reindex => reindex(config).await,
        }
    })
}

/// Runs `work` with the metadata database's URL: when `DATABASE_URL` is unset, the embedded
/// Postgres is started first and, if this command started it, stopped afterwards (whatever `work`
/// returned). Every command but `serve` (which supervises it) goes through here.
async fn with_metadata_db<F, Fut>(config: &Config, work: F) -> Result<()>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let (url, started) = match &config.database_url {
        Some(url) => (url.expose().to_owned(), None),
        None => {
            let pg = EmbeddedPg::from_config(config)?;
            let started = pg.start().await?;
            pg.ensure_database("bartleby").await?;
            (pg.url("bartleby"), started.then_some(pg))
        }
    };
    let result = work(url).await;
    if let Some(pg) = started {
        let stopped = pg.stop().await;
        result?;
        stopped?;
        return Ok(());
    }
    result
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
            let pg = std::sync::Arc::new(EmbeddedPg::from_config(&config)?);
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
    with_metadata_db(&config.clone(), |url| async move {
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
        Ok(())
    })
    .await
}

async fn db_command(config: Config, cmd: DbCommand) -> Result<()> {
    if config.database_url.is_some() {
        bail!("DATABASE_URL is set: Bartleby is using that server, not the embedded one");
    }
    let pg = EmbeddedPg::from_config(&config)?;
    match cmd {
        DbCommand::Start => {
            pg.start().await?;
            pg.ensure_database("bartleby").await?;
            println!("{}", pg.url("bartleby"));
        }
        DbCommand::Stop => pg.stop().await?,
        DbCommand::Status => {
            if pg.is_running().await {
                println!("running ({})", pg.socket_dir().display());
            } else {
                println!("stopped");
                std::process::exit(3);
            }
        }
        DbCommand::Url => println!("{}", pg.url("bartleby")),
        DbCommand::Create { name } => {
            pg.start().await?;
            pg.ensure_database(&name).await?;
            println!("{}", pg.url(&name));
        }
    }
    Ok(())
}

async fn reindex(config: Config) -> Result<()> {
    with_metadata_db(&config.clone(), |url| async move {
        let state = server::build_state_with(config, &url, false).await?;
        let mut progress: Option<server::progress::Progress> = None;
        let left = server::reindex(
            &state,
            |line| eprintln!("{line}"),
            |done, total| {
                let bar = progress.get_or_insert_with(|| server::progress::Progress::new("embedding", Some(total)));
                bar.set(done, || format!("{done}/{total} job(s) done"));
            },
        )
        .await?;
        if let Some(bar) = progress {
            bar.finish();
        }
        if left > 0 {
            bail!(
                "{left} document(s) are waiting to retry (see the documents page); run `bartleby reindex` again later"
            );
        }
        println!("Reindex complete.");
        Ok(())
    })
    .await
}

async fn storage_sync(config: Config) -> Result<()> {
    with_metadata_db(&config.clone(), |url| async move {
        let state = server::build_state(config, &url).await?;
        let stores = [&state.images, &state.documents, &state.exports];
        if stores.iter().all(|s| s.preferred_backend() == s.local_backend()) {
            println!("Everything is configured to stay on local disk (STORAGE_BACKEND): nothing to sync.");
            return Ok(());
        }
        let preferred = "the configured provider";
        let progress = server::progress::Progress::new(&format!("moving to {preferred}"), None);
        let report = app::storage::relocate::sync(&state, &state.holdings, |r| {
            progress.set(r.moved, || format!("moved {} to {preferred}, {} still failing", r.moved, r.failed));
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        progress.finish();
        println!("{} object(s) moved to {preferred}; {} could not be moved yet.", report.moved, report.failed);
        if report.failed > 0 {
            anyhow::bail!(
                "{} object(s) are still on local disk; run this again when {preferred} answers",
                report.failed
            );
        }
        Ok(())
    })
    .await
}

async fn storage_migrate(config: Config, to: app::storage::Backend, dry_run: bool) -> Result<()> {
    use app::storage::relocate::{relocate, Selection};
    if !app::storage::build::backends(&config, config.dirs.inventory_images.clone())?.contains_key(&to) {
        bail!(
            "cannot migrate to `{to}`: it is not configured (s3 needs AWS_S3_EXPRESS_BUCKET and keys, vercel needs \
             BLOB_READ_WRITE_TOKEN; local is always there)"
        );
    }
    with_metadata_db(&config.clone(), |url| async move {
        let state = server::build_state(config.clone(), &url).await?;
        let mut failed = 0;
        // photos and thumbnails, documents, exports: each kind's local disk is its own directory
        for holdings in state.holdings.iter() {
            let label = holdings.label();
            if !holdings.can_live_on(to) {
                println!("{label} stay where they are: {to} holds photos only.");
                continue;
            }
            let backends = app::storage::build::backends(&config, holdings.local_dir(&config))?;
            let target = backends.get(&to).cloned().context("target backend")?;
            let mut progress: Option<server::progress::Progress> = None;
            let which = Selection::NotOn(to);
            let report = relocate(&state, holdings.as_ref(), which, &backends, target.as_ref(), dry_run, |step| {
                let bar = progress.get_or_insert_with(|| {
                    server::progress::Progress::new(&format!("{label} → {to}"), Some(step.total))
                });
                match &step.outcome {
                    Ok(()) => bar.step(|| format!("[{}/{}] {} {} → {to}", step.done, step.total, step.key, step.from)),
                    Err(e) => {
                        bar.note(format!("[{}/{}] {} stays on {}: {e}", step.done, step.total, step.key, step.from));
                        bar.advance();
                    }
                }
            })
            .await?;
            if let Some(bar) = progress {
                bar.finish();
            }
            if dry_run {
                println!("dry run: {} {label} would move to {to}; nothing was changed.", report.total);
            } else {
                println!("{label}: {} moved to {to} and verified; {} failed.", report.moved, report.failed);
            }
            failed += report.failed;
        }
        if failed > 0 {
            bail!("{failed} object(s) did not move; run the same command again to retry them");
        }
        Ok(())
    })
    .await
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

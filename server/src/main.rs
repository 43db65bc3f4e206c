//! `bartleby`: the command line (clap). `serve` (the default) runs the web app; the other
//! commands manage the databases, move stored objects and re-embed.
//! `bartleby --help` and each command's `--help` are the reference.

mod cli;

use anyhow::Result;
use app::platform::config::Config;
use clap::{Parser, Subcommand, ValueEnum};
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
    /// Apply the database migrations and exit; or, with --down N, revert the N newest.
    Migrate {
        /// Revert the N newest migrations (each one's down.sql) instead of applying.
        #[arg(long, value_name = "N")]
        down: Option<usize>,
        /// With --down: revert the vector database's migrations instead of the metadata database's.
        #[arg(long, requires = "down")]
        vectors: bool,
    },
    /// The embedded Postgres (used when DATABASE_URL is unset).
    #[command(subcommand)]
    Db(DbCommand),
    /// Move stored objects (photos, thumbnails, documents, exports) between backends.
    #[command(subcommand)]
    Storage(StorageCommand),
    /// Re-embed every document and inventory item with the configured embedding model (after
    /// changing it). Resumable: run it again after an interruption.
    Reindex,
    /// Prune, VACUUM ANALYZE, rebuild bloated indexes, check every stored object against its row
    /// on every backend, and report sizes, the slowest statements and the pool.
    Maintenance {
        /// Remove objects that no row names (older than --grace-hours).
        #[arg(long)]
        fix: bool,
        /// Rebuild every index (REINDEX INDEX CONCURRENTLY), not only those that have bloated to
        /// more than 1.5 times their best size per row.
        #[arg(long)]
        reindex: bool,
        /// An object without a row is only removed when older than this (an upload in progress
        /// has its object before its row).
        #[arg(long, default_value_t = 24, value_name = "HOURS")]
        grace_hours: u64,
    },
    /// Write a backup of everything: both databases and every stored object on local disk (and,
    /// with --include-remote, on S3 or Vercel Blob). Safe while Bartleby serves.
    Backup {
        /// The directory the backup is written in (default: BACKUP_DIR, else DATA_DIR/backups).
        #[arg(long)]
        to: Option<std::path::PathBuf>,
        /// Copy the objects on S3 or Vercel Blob too (otherwise they are checked to be there).
        #[arg(long)]
        include_remote: bool,
    },
    /// Restore a backup into an empty installation (a new DATA_DIR, or empty databases). Every
    /// file is checked before anything is written.
    Restore {
        /// The backup's directory (bartleby-backup-…).
        from: std::path::PathBuf,
        /// Replace whatever the target databases hold.
        #[arg(long)]
        force: bool,
        /// Only check the backup; write nothing.
        #[arg(long)]
        check: bool,
    },
}

#[derive(Subcommand)]
pub enum DbCommand {
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
    if args.first().map(String::as_str) == Some(app::platform::sandbox::CHILD_COMMAND) {
        std::process::exit(parse_child(&args[1..]));
    }
    let cli = Cli::parse();
    if let Err(e) = real_main(cli.command.unwrap_or(Command::Serve)) {
        eprintln!("bartleby: {e:#}");
        std::process::exit(1);
    }
}

/// `bartleby parse …`: the limited child that reads one untrusted file and answers in JSON on
/// stdout (see `app::platform::sandbox`). Not for people: the server starts it under prlimit.
fn parse_child(args: &[String]) -> i32 {
    use app::platform::sandbox::answer;
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["extract", doc_type, path] => match app::documents::types::DocType::parse(doc_type) {
            Some(t) => answer(&app::documents::extract::extract_here(std::path::Path::new(path), t)),
            None => {
                eprintln!("bartleby parse: unknown document type `{doc_type}`");
                2
            }
        },
        ["ocr-prepare", input, output] => {
            answer(&app::platform::ocr::prepare_here(std::path::Path::new(input), std::path::Path::new(output)))
        }
        ["thumbnails", source] => answer(&app::inventory::photos::render_thumbnails(std::path::Path::new(source))),
        _ => {
            eprintln!("bartleby parse: usage: bartleby parse extract TYPE PATH | ocr-prepare INPUT OUTPUT | thumbnails SOURCE");
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
            Command::Serve => cli::serve::serve(config).await,
            Command::Migrate { down: None, .. } => cli::db::migrate(config).await,
            Command::Migrate { down: Some(n), vectors } => cli::db::migrate_down(config, n, vectors).await,
            Command::Db(cmd) => cli::db::db_command(config, cmd).await,
            Command::Storage(StorageCommand::Sync) => cli::storage::storage_sync(config).await,
            Command::Storage(StorageCommand::Migrate { to, dry_run }) => {
                cli::storage::storage_migrate(config, to.into(), dry_run).await
            }
            Command::Reindex => cli::reindex::reindex(config).await,
            Command::Maintenance { fix, reindex, grace_hours } => {
                let grace = std::time::Duration::from_secs(grace_hours.saturating_mul(3600));
                cli::maintenance::maintenance(
                    config,
                    server::maintenance::Options { fix, reindex, grace, bloat_floor: server::maintenance::BLOAT_FLOOR },
                )
                .await
            }
            Command::Backup { to, include_remote } => cli::backup::backup(config, to, include_remote).await,
            Command::Restore { from, force, check } => cli::backup::restore(config, &from, force, check).await,
        }
    })
}

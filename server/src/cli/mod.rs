//! The commands behind `bartleby`'s subcommands, one module each; `main.rs` parses the command
//! line and calls them.

pub mod backup;
pub mod db;
pub mod maintenance;
pub mod reindex;
pub mod serve;
pub mod storage;

use anyhow::Result;
use app::platform::config::Config;
use server::embedded_pg::EmbeddedPg;

/// Runs `work` with the metadata database's URL: when `DATABASE_URL` is unset, the embedded
/// Postgres is started first and, if this command started it, stopped afterwards (whatever `work`
/// returned). Every command but `serve` (which supervises it) goes through here.
pub async fn with_metadata_db<F, Fut>(config: &Config, work: F) -> Result<()>
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

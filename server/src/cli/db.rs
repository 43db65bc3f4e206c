//! `bartleby migrate` and `bartleby db …`: the databases' schema and the embedded Postgres.

use anyhow::{bail, Result};
use app::platform::config::Config;
use app::platform::db::{self, META_MIGRATIONS, VECTOR_MIGRATIONS};
use server::embedded_pg::EmbeddedPg;

use super::with_metadata_db;
use crate::DbCommand;

pub async fn migrate(config: Config) -> Result<()> {
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

/// Reverts the `n` newest migrations of the metadata database (or, with `vectors`, of the vector
/// database).
pub async fn migrate_down(config: Config, n: usize, vectors: bool) -> Result<()> {
    with_metadata_db(&config.clone(), |url| async move {
        let (what, target, source) = if vectors {
            let v = match &config.vector_database_url {
                Some(v) => v.expose().to_owned(),
                None if db::has_pgvector(&url).await? => url.clone(),
                None => {
                    bail!("there is no vector database (no NEON_DATABASE_URL, no pgvector in the metadata database)")
                }
            };
            ("vector database", v, VECTOR_MIGRATIONS)
        } else {
            ("metadata database", url, META_MIGRATIONS)
        };
        let reverted = db::revert_migrations(&target, source, n).await?;
        if reverted.is_empty() {
            println!("{what}: no migration to revert");
        }
        for v in &reverted {
            println!("{what}: reverted {v}");
        }
        if reverted.len() < n {
            println!("{what}: only {} migration(s) were applied", reverted.len());
        }
        Ok(())
    })
    .await
}

pub async fn db_command(config: Config, cmd: DbCommand) -> Result<()> {
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

//! `bartleby maintenance` (the work is in `server::maintenance`).

use anyhow::Result;
use app::platform::config::Config;
use server::maintenance::{self, Options};

use super::with_metadata_db;

pub async fn maintenance(config: Config, opts: Options) -> Result<()> {
    with_metadata_db(&config.clone(), |url| async move {
        let state = server::build_state_with(config, &url, false).await?;
        let report = maintenance::run(&state, &opts).await?;
        print!("{}", maintenance::render(&report));
        Ok(())
    })
    .await
}

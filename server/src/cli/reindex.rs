//! `bartleby reindex`: re-embed everything with the configured model.

use anyhow::{bail, Result};
use app::platform::config::Config;

use super::with_metadata_db;

pub async fn reindex(config: Config) -> Result<()> {
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

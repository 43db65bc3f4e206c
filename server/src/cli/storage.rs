//! `bartleby storage sync|migrate`: move stored objects between backends.

use anyhow::{bail, Context, Result};
use app::platform::config::Config;

use super::with_metadata_db;

pub async fn storage_sync(config: Config) -> Result<()> {
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

pub async fn storage_migrate(config: Config, to: app::storage::Backend, dry_run: bool) -> Result<()> {
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

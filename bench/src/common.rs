//! What every benchmark shares: percentiles, peak memory, users signed in over HTTP, many clients.

use std::time::{Duration, Instant};

use anyhow::Result;
use app::platform::AppState;
use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;

pub const BENCH_PASSWORD: &str = "benchmark password";

pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

pub async fn exec(state: &AppState, sql: &str) -> Result<()> {
    let mut c = state.db.get().await?;
    diesel::sql_query(sql).execute(&mut c).await?;
    Ok(())
}

pub async fn make_user(state: &AppState, email: &str) -> Result<i64> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let mut c = state.db.get().await?;
    let row: Id = diesel::sql_query(
        "INSERT INTO users (email, display_name, password_hash) VALUES ($1, 'Bench', 'x') \
         ON CONFLICT (email) DO UPDATE SET display_name = 'Bench' RETURNING id",
    )
    .bind::<Text, _>(email)
    .get_result(&mut c)
    .await?;
    Ok(row.id)
}

/// A client signed in as `email` (the session cookie kept), against the server at `base`.
pub async fn signed_in(base: &str, email: &str) -> Result<reqwest::Client> {
    let client = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build()?;
    let r = client
        .post(format!("{base}/api/auth/sign_in"))
        .header("Origin", base)
        .form(&[("email", email), ("password", BENCH_PASSWORD)])
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success() || r.status().is_redirection(), "sign in: {}", r.status());
    Ok(client)
}

/// Runs `clients` concurrent clients, each making `per_client` requests through `request(client
/// number, request number)`, which answers whether the response was the right one. Returns the
/// times of the right answers, sorted, and the wall time in seconds.
pub async fn run_clients<F, Fut>(clients: usize, per_client: usize, request: F) -> Result<(Vec<Duration>, f64)>
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let t = Instant::now();
                if request(c, i).await {
                    times.push(t.elapsed());
                }
            }
            times
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await?);
    }
    all.sort();
    Ok((all, started.elapsed().as_secs_f64()))
}

/// Serves `state` with the real router and the production accept loop on a free local port, in
/// this process; its base URL. (The benchmark's clients all come from one address.)
pub async fn serve_here(state: &AppState) -> Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let router = server::router(state.clone());
    let limits = state.config.http.clone();
    tokio::spawn(async move {
        server::listen::serve(listener, router, &limits, false, std::future::pending()).await;
    });
    Ok(format!("http://{addr}"))
}

/// Gives the benchmark account the password its HTTP clients sign in with.
pub async fn set_password(state: &AppState, user: i64) -> Result<()> {
    let hash = app::auth::service::hash_password(BENCH_PASSWORD.into()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut c = state.db.get().await?;
    diesel::sql_query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind::<Text, _>(hash)
        .bind::<BigInt, _>(user)
        .execute(&mut c)
        .await?;
    Ok(())
}

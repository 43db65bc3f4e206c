//! Request guards: the client address, cross-site request refusal, the `Secure` cookie flag,
//! sign-in redirects for pages, and friendly pages for failures (never a stack trace).

use std::net::{IpAddr, SocketAddr};

use app::auth::api::ClientIp;
use app::auth::service::session_user_id;
use app::error::AppError;
use app::platform::AppState;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::{Expiry, Session};

/// The configured idle timeout as tower-sessions wants it.
pub fn idle_timeout(state: &AppState) -> time::Duration {
    time::Duration::seconds(i64::try_from(state.config.session_idle_timeout.as_secs()).unwrap_or(i64::MAX))
}

/// Paths anyone may load without signing in.
fn is_public(path: &str) -> bool {
    matches!(path, "/login" | "/signup" | "/favicon.svg" | "/favicon.ico" | "/robots.txt")
        || path.starts_with("/api/")
        || path.starts_with("/pkg/")
}

/// The context of every page render: its Content-Security-Policy ([`page_csp`]) and the
/// signed-in user, looked up once for all the page's parts (`app::auth::api::RenderUser`).
pub fn page_context() {
    leptos::prelude::provide_context(app::auth::api::RenderUser::default());
    page_csp();
}

/// The Content-Security-Policy of a rendered page: scripts only from this origin or carrying the
/// nonce leptos_axum makes for each page (and puts on its own inline scripts), WebAssembly allowed,
/// no inline styles, no framing. Called in the Leptos context of every page render; requests
/// without a nonce (server functions, files) get [`FALLBACK_CSP`] from [`guard`] instead.
pub fn page_csp() {
    use leptos::prelude::use_context;
    let (Some(nonce), Some(res)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) else {
        return;
    };
    let csp = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.insert_header(header::CONTENT_SECURITY_POLICY, v);
    }
}

/// The policy of everything that is not a rendered page (error pages, JSON, files): no script at
/// all; the plain error pages keep their one inline style.
const FALLBACK_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; \
                            form-action 'self'; frame-ancestors 'none'";

/// Headers every answer carries: no framing, no type sniffing, no full URLs to other sites.
fn add_security_headers(headers: &mut HeaderMap) {
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(FALLBACK_CSP));
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
}

/// The largest server-function body read whole to look for NUL (server functions take forms and
/// small JSON; files go to the upload routes).
const MAX_FN_BODY: usize = 2 * 1024 * 1024;

/// True when percent-encoded text holds a NUL (`%00`).
fn has_encoded_nul(s: &[u8]) -> bool {
    s.windows(3).any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
}

/// Refuses NUL at the edge, whatever field it is in: Postgres cannot store it, so a NUL in an
/// email, a tag, a search or a filter would otherwise end as a database error. Looks at the query
/// string of every request and at the body of server-function calls (form or JSON).
pub async fn refuse_nul(req: Request, next: Next) -> Response {
    let in_uri = req.uri().query().is_some_and(|q| has_encoded_nul(q.as_bytes())) || req.uri().path().contains("%00");
    let is_fn_call = req.method() == Method::POST && req.uri().path().starts_with("/api/");
    if in_uri {
        return nul_refused(is_fn_call || req.uri().path().starts_with("/api/"));
    }
    if !is_fn_call {
        return next.run(req).await;
    }
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let (form, json) = (content_type.starts_with("application/x-www-form-urlencoded"), content_type.contains("json"));
    if !form && !json {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FN_BODY).await else {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            axum::Json(app::error::AppError::validation("request", "That request is too large.")),
        )
            .into_response();
    };
    let nul =
        bytes.contains(&0) || (form && has_encoded_nul(&bytes)) || (json && bytes.windows(6).any(|w| w == b"\\u0000"));
    if nul {
        return nul_refused(true);
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

fn nul_refused(json: bool) -> Response {
    const MESSAGE: &str = "Text cannot contain the NUL character (\\0). Remove it and try again.";
    if json {
        (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(app::error::AppError::validation("input", MESSAGE)))
            .into_response()
    } else {
        html_page(StatusCode::BAD_REQUEST, "That address cannot be used", MESSAGE)
    }
}

/// Refuses state-changing requests that a browser sent from another site (403), records the client
/// address for the rate limiter, and marks the session cookie `Secure` on https.
pub async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) && is_cross_site(req.headers()) {
        tracing::warn!(path = %req.uri().path(), "cross-site request refused");
        return (StatusCode::FORBIDDEN, "Cross-site request refused.").into_response();
    }
    let trust = state.config.trust_proxy_headers;
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let ip = if trust { forwarded_for(req.headers(), state.config.trust_proxy_hops).or(peer) } else { peer };
    req.extensions_mut().insert(ClientIp(ip));
    let https = match state.config.session_secure {
        app::platform::config::CookieSecure::Always => true,
        app::platform::config::CookieSecure::Never => false,
        app::platform::config::CookieSecure::Auto => {
            req.uri().scheme_str() == Some("https")
                || (trust && req.headers().get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https"))
        }
    };
    let is_api = req.uri().path().starts_with("/api/");
    let caching = caching(req.uri().path());
    let mut res = next.run(req).await;
    if is_api && res.status() == StatusCode::INTERNAL_SERVER_ERROR {
        res = fix_server_fn_status(res).await;
    }
    if https {
        mark_cookies_secure(res.headers_mut(), &state.config.session_cookie_name);
    }
    add_security_headers(res.headers_mut());
    if res.status().is_success() && !res.headers().contains_key(header::CACHE_CONTROL) {
        res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(caching));
    }
    res
}

/// How long a browser may keep what a path answers, unless the handler said otherwise. A bundle
/// under `pkg/<hash>/` never changes (a new build gets a new hash): a year. The site's icons: a
/// day. Everything else (pages, server functions) is one user's, and fresh each time.
fn caching(path: &str) -> &'static str {
    let hashed_bundle = path
        .strip_prefix("/pkg/")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(dir, _)| dir.len() >= 16 && dir.chars().all(|c| c.is_ascii_hexdigit()));
    if hashed_bundle {
        "public, max-age=31536000, immutable"
    } else if matches!(path, "/favicon.svg" | "/favicon.ico" | "/robots.txt") {
        "public, max-age=86400"
    } else if path.starts_with("/pkg/") {
        "no-cache"
    } else {
        "private, no-cache"
    }
}

/// Which answers are compressed on the way out (gzip or brotli, as the browser accepts): text —
/// pages, server functions' JSON, CSS, JS, SVG, CSV (of 1 KiB or more: see `router`). Not files people upload
/// and download (`Content-Disposition`), not what is already compressed (the bundle is stored
/// precompressed, and photos are JPEG), not a server-sent stream.
pub fn worth_compressing(
    _status: StatusCode,
    _version: axum::http::Version,
    headers: &HeaderMap,
    _extensions: &axum::http::Extensions,
) -> bool {
    if headers.contains_key(header::CONTENT_DISPOSITION) || headers.contains_key(header::CONTENT_ENCODING) {
        return false;
    }
    let kind = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    [
        "text/html",
        "text/css",
        "text/plain",
        "text/csv",
        "application/json",
        "text/javascript",
        "application/javascript",
        "image/svg+xml",
    ]
    .iter()
    .any(|t| kind.starts_with(t))
}

/// Errors raised before a server function runs (bad arguments) carry our JSON error but a 500
/// status: answer with the status that error stands for.
async fn fix_server_fn_status(res: Response) -> Response {
    let is_json =
        res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("json"));
    if !is_json {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "").into_response();
    };
    if let Ok(err) = serde_json::from_slice::<app::error::AppError>(&bytes) {
        if let Ok(status) = StatusCode::from_u16(err.status_code()) {
            parts.status = status;
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn is_cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        // no Origin and no Sec-Fetch-Site: not a modern browser's cross-site form or fetch
        None => false,
        Some(origin) => {
            let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
            let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or("");
            origin == "null" || !origin_host.eq_ignore_ascii_case(host)
        }
    }
}

/// The client as the trusted proxies saw it: each proxy appends the address it was reached from,
/// so the entry `hops` from the right is the first one no client could write (a client can put
/// anything on the left). Several `X-Forwarded-For` headers count as one list, in order.
fn forwarded_for(headers: &HeaderMap, hops: usize) -> Option<IpAddr> {
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let i = entries.len().checked_sub(hops.max(1))?;
    entries.get(i).and_then(|ip| ip.parse().ok())
}

fn mark_cookies_secure(headers: &mut HeaderMap, cookie_name: &str) {
    let prefix = format!("{cookie_name}=");
    let cookies: Vec<HeaderValue> = headers.get_all(header::SET_COOKIE).iter().cloned().collect();
    if cookies.is_empty() {
        return;
    }
    headers.remove(header::SET_COOKIE);
    for c in cookies {
        let value = match c.to_str() {
            Ok(s) if s.starts_with(&prefix) && !s.to_ascii_lowercase().contains("; secure") => {
                HeaderValue::from_str(&format!("{s}; Secure")).unwrap_or(c)
            }
            _ => c,
        };
        headers.append(header::SET_COOKIE, value);
    }
}

/// Sends signed-out visitors of a page to `/login?next=…`, and signed-in ones away from the sign-in pages.
pub async fn require_sign_in(State(state): State<AppState>, session: Session, req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    let path = req.uri().path().to_owned();
    let public = is_public(&path);
    if public && !matches!(path.as_str(), "/login" | "/signup") {
        return next.run(req).await;
    }
    let signed_in = match session_user_id(&session).await {
        Ok(id) => id.is_some(),
        Err(_) => return unavailable_page(),
    };
    if public {
        if signed_in {
            let next_param = req
                .uri()
                .query()
                .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("next=")).map(percent_decode));
            return Redirect::to(&app::auth::types::safe_next(next_param.as_deref())).into_response();
        }
        return next.run(req).await;
    }
    if signed_in {
        // a page a live region reads again is not the person at work: it keeps no session alive
        if !req.headers().contains_key(app::widgets::POLL_HEADER) {
            rearm(&state, &session).await;
        }
        return next.run(req).await;
    }
    let here = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let target = if here == "/" { "/login".to_owned() } else { format!("/login?next={}", percent_encode(here)) };
    Redirect::to(&target).into_response()
}

/// When the session's idle expiry was last moved (seconds since the epoch).
const ARMED_KEY: &str = "armed_at";

/// Idle expiry counts from the last page load, not from sign-in: re-arms it — but at most once a
/// minute (or a tenth of the idle time, if shorter), since re-arming writes the session: every
/// page load used to write it, a database write per page.
async fn rearm(state: &AppState, session: &Session) {
    let idle = idle_timeout(state);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let every = (idle.whole_seconds() / 10).clamp(0, 60);
    let armed: Option<i64> = session.get(ARMED_KEY).await.ok().flatten();
    if armed.is_none_or(|t| now - t >= every || t > now) {
        session.set_expiry(Some(Expiry::OnInactivity(idle)));
        if let Err(e) = session.insert(ARMED_KEY, now).await {
            tracing::warn!(error = %e, "could not re-arm the session's idle expiry");
        }
    }
}

use app::format::url as percent_encode;

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

const PAGE_STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;\
line-height:1.5;color:#1f2328}h1{font-size:1.5rem}a{color:#0b5cad}";

fn html_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>{title} · Bartleby</title><style>{PAGE_STYLE}</style>\
         </head><body><h1>{title}</h1><p>{message}</p><p><a href=\"/\">Back to Bartleby</a></p></body></html>"
    );
    let mut res = (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    res
}

pub fn unavailable_page() -> Response {
    html_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Temporarily unavailable",
        "Bartleby cannot reach its database right now. Your data is safe; please try again in a moment.",
    )
}

/// A panic in a handler becomes a plain 500 page; the panic itself goes to the log only.
pub fn panic_page(err: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    let detail = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = detail, "handler panicked");
    html_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Bartleby hit an unexpected problem. It has been logged; please try again.",
    )
}

/// Replaces the body of a bare 5xx answer with a readable page. JSON answers (server functions,
/// the health check) are left alone: their callers read them.
pub async fn friendly_errors(req: Request, next: Next) -> Response {
    let wants_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.contains("text/html"))
        .unwrap_or(false);
    let wants_json =
        req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("application/json"));
    let res = next.run(req).await;
    let status = res.status();
    if let Some(error) = res.extensions().get::<AppError>() {
        // an AppError answer (`IntoResponse`): JSON as it is, or a page for a browser
        return if wants_html && !wants_json { error_page(status, error) } else { res };
    }
    if !status.is_server_error() {
        return res;
    }
    let content_type = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type.contains("json")
        || (content_type.contains("text/html") && status != StatusCode::INTERNAL_SERVER_ERROR)
    {
        return res;
    }
    if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::GATEWAY_TIMEOUT {
        return unavailable_page();
    }
    if wants_html || content_type.is_empty() || content_type.starts_with("text/plain") {
        // a session store failure (database down) surfaces as a bare 500 from tower-sessions
        return unavailable_page_for(status);
    }
    res
}

/// A page for an [`AppError`] answer; its message is escaped (it may quote what a user sent).
fn error_page(status: StatusCode, error: &AppError) -> Response {
    if status == StatusCode::SERVICE_UNAVAILABLE {
        return unavailable_page();
    }
    let title = match error {
        AppError::NotFound => "Not found",
        AppError::Unauthorized => "Please sign in",
        AppError::Forbidden => "Not allowed",
        AppError::RateLimited { .. } => "Too many attempts",
        AppError::Validation { .. } | AppError::Conflict { .. } => "That did not work",
        _ => "Something went wrong",
    };
    html_page(status, title, &app::escape_html(&error.to_string()))
}

fn unavailable_page_for(status: StatusCode) -> Response {
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        // tower-sessions answers 500 with no body when its store is unreachable; the usual cause is
        // the database, which is temporary: say so.
        return unavailable_page();
    }
    html_page(status, "Something went wrong", "Bartleby hit an unexpected problem. Please try again.")
}

/// A page (a `GET` the app renders) that has not rendered within `PAGE_RENDER_TIMEOUT_SECS` is
/// rendered once more from scratch, and answered 503 if that stalls too; its body is collected
/// within the same deadline.
///
/// Why: in tests about one page load in a few hundred never finished rendering: the resources had
/// loaded (their server functions had returned) but the render kept waiting, with nothing running
/// and the connection open. This matches leptos 0.8's known lost wake-ups in `Suspense`
/// (leptos-rs/leptos#4851, #4673; partly fixed in 0.8.23, `Suspense` rewritten as polling in 0.9).
/// A fresh render does not share the lost state. Pages only read, so rendering one twice is safe;
/// server functions (`POST`) are never repeated.
pub async fn render_deadline(State(deadline): State<std::time::Duration>, req: Request, next: Next) -> Response {
    if req.method() != Method::GET || req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let again = {
        let mut r = Request::new(Body::empty());
        *r.method_mut() = parts.method.clone();
        *r.uri_mut() = parts.uri.clone();
        *r.version_mut() = parts.version;
        *r.headers_mut() = parts.headers.clone();
        *r.extensions_mut() = parts.extensions.clone();
        r
    };
    let path = parts.uri.path().to_owned();
    let first = Request::from_parts(parts, body);
    for (attempt, req) in [first, again].into_iter().enumerate() {
        let render = async {
            let (parts, body) = next.clone().run(req).await.into_parts();
            match axum::body::to_bytes(body, MAX_PAGE_BYTES).await {
                Ok(bytes) => Response::from_parts(parts, Body::from(bytes)),
                Err(e) => {
                    tracing::error!(path, error = %e, "a page's body failed");
                    html_page(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Something went wrong",
                        "Bartleby could not finish this page. It has been logged; please try again.",
                    )
                }
            }
        };
        match tokio::time::timeout(deadline, render).await {
            Ok(res) => return res,
            Err(_) => tracing::warn!(path, attempt = attempt + 1, ?deadline, "a page did not render in time"),
        }
    }
    html_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "This page took too long",
        "Bartleby could not put this page together in time. Nothing was changed; please try again.",
    )
}

/// A rendered page larger than this is an error, not a page (a 50-row table is ~100 KB).
const MAX_PAGE_BYTES: usize = 32 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn cross_site_detection() {
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(!is_cross_site(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(is_cross_site(&headers(&[("origin", "https://evil.example"), ("host", "bartleby.example")])));
        assert!(!is_cross_site(&headers(&[("origin", "http://localhost:3000"), ("host", "localhost:3000")])));
        assert!(is_cross_site(&headers(&[("origin", "null"), ("host", "localhost:3000")])));
        assert!(!is_cross_site(&headers(&[("host", "localhost:3000")])));
    }

    #[test]
    fn secure_flag_added_to_the_session_cookie_only() {
        let mut h = HeaderMap::new();
        h.append(header::SET_COOKIE, HeaderValue::from_static("bartleby_session=abc; HttpOnly; Path=/"));
        h.append(header::SET_COOKIE, HeaderValue::from_static("other=1"));
        mark_cookies_secure(&mut h, "bartleby_session");
        let all: Vec<_> = h.get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        assert_eq!(all, vec!["bartleby_session=abc; HttpOnly; Path=/; Secure", "other=1"]);
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_hop() {
        let spoofed = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.9")]);
        assert_eq!(forwarded_for(&spoofed, 1), Some("203.0.113.9".parse().unwrap()));
        assert_eq!(forwarded_for(&spoofed, 2), Some("6.6.6.6".parse().unwrap()));
        assert_eq!(forwarded_for(&spoofed, 3), None);
        assert_eq!(forwarded_for(&headers(&[("x-forwarded-for", "garbage")]), 1), None);
        let mut two = HeaderMap::new();
        two.append("x-forwarded-for", HeaderValue::from_static("1.1.1.1"));
        two.append("x-forwarded-for", HeaderValue::from_static("2.2.2.2"));
        assert_eq!(forwarded_for(&two, 1), Some("2.2.2.2".parse().unwrap()));
    }

    #[test]
    fn percent_round_trip() {
        let p = "/inventory?page=2&q=a b";
        assert_eq!(percent_decode(&percent_encode(p)), p);
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    /// A page that stalls is rendered again; one that always stalls is a 503 page; a server
    /// function (`POST`) is never run twice.
    #[tokio::test]
    async fn a_stalled_page_is_rendered_again_then_refused() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        use tower::ServiceExt;
        let calls = Arc::new(AtomicUsize::new(0));
        let handler = {
            let calls = calls.clone();
            move |req: Request| {
                let calls = calls.clone();
                async move {
                    let n = calls.fetch_add(1, Ordering::SeqCst);
                    let stalls = match req.uri().path() {
                        "/once" => n == 0,
                        _ => true,
                    };
                    if stalls {
                        std::future::pending::<()>().await;
                    }
                    "rendered"
                }
            }
        };
        let app = axum::Router::new()
            .route("/once", axum::routing::get(handler.clone()))
            .route("/always", axum::routing::get(handler.clone()).post(handler))
            .layer(axum::middleware::from_fn_with_state(std::time::Duration::from_millis(100), render_deadline));
        let call = |method: &str, path: &str| {
            let req = Request::builder().method(method).uri(path).body(Body::empty()).unwrap();
            let app = app.clone();
            async move { tokio::time::timeout(std::time::Duration::from_secs(1), app.oneshot(req)).await }
        };

        let res = call("GET", "/once").await.unwrap().unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(&axum::body::to_bytes(res.into_body(), 1000).await.unwrap()[..], b"rendered");
        assert_eq!(calls.swap(0, Ordering::SeqCst), 2);

        let res = call("GET", "/always").await.unwrap().unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        let page = String::from_utf8(axum::body::to_bytes(res.into_body(), 10_000).await.unwrap().to_vec()).unwrap();
        assert!(page.contains("This page took too long"), "{page}");
        assert_eq!(calls.swap(0, Ordering::SeqCst), 2);

        assert!(call("POST", "/always").await.is_err(), "a server function is not cut off");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}

//! The platform every feature stands on, server side only: configuration, databases and their
//! schemas, sessions, the file-parsing sandbox and the tools it runs (HEIC decoding, OCR), and the helpers server functions share. Compiled
//! with the `ssr` feature only; nothing here reaches the WASM bundle.

pub mod config;
pub mod db;
pub mod heic;
pub mod limited;
pub mod ocr;
pub mod runs;
pub mod sandbox;
pub mod schema;
pub mod session_store;
pub mod state;
/// Tables of the vector database (generated from `migrations/vector`).
pub mod vector_schema;

use leptos::prelude::*;
use leptos_axum::ResponseOptions;

use crate::error::AppError;
pub use state::{AppState, VectorDb};

/// A timestamp as pages show it: `2026-11-25 14:03` (UTC).
pub fn format_time(t: time::OffsetDateTime) -> String {
    format!("{} {:02}:{:02}", t.date(), t.hour(), t.minute())
}

/// The application state, as provided to every server function and page render.
pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        match use_context::<http::request::Parts>() {
            // The request is there but the state is not: a wiring bug.
            Some(parts) => tracing::error!(path = %parts.uri, "AppState missing from the Leptos context"),
            // No request context at all: a data load that outlived its request (the browser left
            // mid-page and the render was dropped). Nobody is waiting for the answer.
            None => tracing::debug!("data load after its request ended"),
        }
        AppError::Internal
    })
}

/// True when the request is a plain HTML form post (every form of the pages is one): the browser
/// expects a page or a redirect, not JSON.
pub fn plain_form_post() -> bool {
    use_context::<http::request::Parts>()
        .and_then(|p| {
            p.headers.get(http::header::ACCEPT).and_then(|v| v.to_str().ok()).map(|v| v.contains("text/html"))
        })
        .unwrap_or(false)
}

/// Finishes a server function behind a form on `page`: for a plain form post, an error becomes a
/// redirect back to the form with `?error=<code>` (the form shows the message); otherwise as [`respond`].
pub fn respond_form<T>(result: Result<T, AppError>, page: &str, next: Option<&str>) -> Result<T, AppError> {
    if let Err(e) = &result {
        if plain_form_post() {
            let mut url = format!("{page}?error={}", e.code());
            if let Some(next) = next.filter(|n| !n.is_empty()) {
                url.push_str("&next=");
                url.push_str(&crate::format::url(next));
            }
            leptos_axum::redirect(&url);
            return result;
        }
    }
    respond(result)
}

/// The session key of a failed form post's (also removed when someone signs in) [`crate::widgets::FormFlash`] and the page it is for.
pub const FORM_FLASH_KEY: &str = "form_flash";

/// Finishes a server function behind a form, for a signed-in user: for a plain form post (every
/// form: the pages are server-rendered), an error sends the browser back to `back` (the form's
/// page, with its query) and leaves that page, in the session, the error and `kept` — what was
/// typed (never a password), so the form comes back filled in. Otherwise as [`respond`].
pub async fn respond_page_form<T>(
    result: Result<T, AppError>,
    back: &str,
    kept: impl serde::Serialize,
) -> Result<T, AppError> {
    let page = back.split('?').next().unwrap_or(back);
    if let Err(e) = &result {
        // signed out meanwhile: to sign in, and back to the form; nothing typed is kept in a
        // session the next person on this browser may sign in to
        if plain_form_post() && *e == AppError::Unauthorized {
            leptos_axum::redirect(&format!("/login?next={}", crate::format::url(back)));
            return result;
        }
        if plain_form_post() {
            let flash = crate::widgets::FormFlash {
                error: Some(e.clone()),
                values: serde_json::to_value(kept).unwrap_or_default(),
            };
            if let Ok(session) = leptos_axum::extract::<tower_sessions::Session>().await {
                if let Err(err) = session.insert(FORM_FLASH_KEY, (page, flash)).await {
                    tracing::warn!(error = %err, "could not keep a form's error in the session");
                }
            }
            leptos_axum::redirect(back);
            return result;
        }
    }
    respond(result)
}

/// The failed form post `page` came back from, if any: taken once (a reload shows the form
/// clean); a flash left for another page stays for it.
pub async fn take_form_flash(page: &str) -> Option<crate::widgets::FormFlash> {
    // a page read again by a live region is not the person coming back to the form
    let polled =
        use_context::<http::request::Parts>().is_some_and(|p| p.headers.contains_key(crate::widgets::POLL_HEADER));
    if polled {
        return None;
    }
    let session = leptos_axum::extract::<tower_sessions::Session>().await.ok()?;
    let (for_page, flash): (String, crate::widgets::FormFlash) = session.get(FORM_FLASH_KEY).await.ok().flatten()?;
    if for_page != page {
        return None;
    }
    let _ = session.remove::<serde_json::Value>(FORM_FLASH_KEY).await;
    Some(flash)
}

/// Finishes a server function: on error, sets the HTTP status that matches it.
pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(e) = &result {
        if let Some(opts) = use_context::<ResponseOptions>() {
            if let Ok(status) = http::StatusCode::from_u16(e.status_code()) {
                opts.set_status(status);
            }
        }
    }
    result
}

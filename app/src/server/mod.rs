//! Server-only code: configuration, databases, sessions and the helpers server functions share.
//! Compiled with the `ssr` feature only; nothing here reaches the WASM bundle.

pub mod config;
pub mod db;
pub mod schema;
pub mod session_store;
pub mod state;
/// Tables of the vector database (generated from `migrations/vector`).
pub mod vector_schema;

use leptos::prelude::*;
use leptos_axum::ResponseOptions;

use crate::error::AppError;
pub use state::{AppState, VectorDb};

/// The application state, as provided to every server function and page render.
pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the Leptos context");
        AppError::Internal
    })
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

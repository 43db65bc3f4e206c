//! Widgets every feature's pages share: the error notice and the form alert, the HTTP status of
//! a failed page, the route's id. Knows no feature.

use leptos::prelude::*;

use crate::error::AppError;

/// The numeric `:id` of the current route, if it is one.
pub fn id_param() -> Memo<Option<i64>> {
    let params = leptos_router::hooks::use_params_map();
    Memo::new(move |_| params.read().get("id").and_then(|s| s.parse().ok()))
}

/// While rendering on the server, answers with the HTTP status that matches `e` (404 for a
/// missing item or document, …).
pub fn set_error_status(e: &AppError) {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        if let Ok(s) = http::StatusCode::from_u16(e.status_code()) {
            resp.set_status(s);
        }
    }
    #[cfg(not(feature = "ssr"))]
    let _ = e;
}

/// What a page shows when its data could not be loaded; the answer carries the error's status
/// (404 for a place or item that is not there, 503 while the database is away).
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    set_error_status(&error);
    view! {
        <div class="notice error" role="alert">
            <h2>"We could not load this page"</h2>
            <p>{error.to_string()}</p>
        </div>
    }
}

/// The alert above a form that shows the last submission's error (shared by every form).
#[component]
pub fn FormError(error: Signal<Option<AppError>>) -> impl IntoView {
    view! {
        <div class="form-error" role="alert" data-testid="form-error" hidden=move || error.get().is_none()>
            {move || error.get().map(|e| e.to_string())}
        </div>
    }
}

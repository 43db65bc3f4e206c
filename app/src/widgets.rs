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

/// What a failed form post leaves for the page it returns to: the error, and what was typed (each
/// form's own fields, as JSON), so nothing typed is lost.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct FormFlash {
    pub error: Option<AppError>,
    pub values: serde_json::Value,
}

impl FormFlash {
    /// What was typed into field `name` (a text field), if the form kept it.
    pub fn text(&self, name: &str) -> Option<String> {
        self.values.get(name).and_then(|v| v.as_str()).map(str::to_owned)
    }

    /// What was typed, read back as the form's own type.
    pub fn values_as<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_value(self.values.clone()).ok()
    }
}

/// The failed form post this page came back from (server side; taken once). Create it at the top
/// of a page, never inside a Suspense.
pub fn form_flash() -> Resource<Option<FormFlash>> {
    let page = leptos_router::hooks::use_location().pathname.get_untracked();
    Resource::new_blocking(
        || (),
        move |_| {
            let page = page.clone();
            async move {
                #[cfg(feature = "ssr")]
                return crate::platform::take_form_flash(&page).await;
                #[cfg(not(feature = "ssr"))]
                {
                    let _ = page;
                    None
                }
            }
        },
    )
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

/// Keeps the regions named by `ids` (element ids) up to date while the server says work is going
/// on: every two seconds it reads this page's address again and puts each region's new content in
/// place of the old, until no region holds a `data-pending` element any more; then, with
/// `reload_when_done`, it loads the page once more (what finished work adds may stand outside the
/// regions). Only the regions change, so what someone is typing elsewhere stays. Render it only
/// while something is pending, outside the regions. It gives up after a minute of failed reads
/// (the server away) or when a region is gone (signed out, page deleted).
///
/// Without JavaScript the whole page is loaded again every few seconds instead, for as long as it
/// renders this (a refresh inside `<noscript>`, which a browser running scripts never reads).
#[component]
pub fn LiveRegions(ids: Vec<String>, reload_when_done: bool) -> impl IntoView {
    let here = leptos_router::hooks::use_location();
    let (path, query) = (here.pathname.get_untracked(), here.search.get_untracked());
    // this page's own address, never another site's ("//host" would be one)
    let refresh = (path.starts_with('/') && !path.starts_with("//")).then(|| {
        let address = if query.is_empty() { path } else { format!("{path}?{}", query.trim_start_matches('?')) };
        view! {
            <noscript>
                <meta http-equiv="refresh" content=format!("{NO_SCRIPT_REFRESH_SECONDS}; url={address}")/>
            </noscript>
        }
    });
    view! {
        <FollowRegions ids reload_when_done/>
        {refresh}
    }
}

/// How often a page with work going on is loaded again when the browser runs no scripts.
const NO_SCRIPT_REFRESH_SECONDS: u32 = 3;

#[island]
fn FollowRegions(ids: Vec<String>, reload_when_done: bool) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(live::follow(ids, reload_when_done, true));
    #[cfg(not(feature = "hydrate"))]
    let _ = (ids, reload_when_done);
}

/// Calls `f` on every `event` at `target`, for as long as the page lives (the islands' listeners on
/// elements the server rendered outside them).
#[cfg(feature = "hydrate")]
pub fn listen<E>(target: &web_sys::EventTarget, event: &str, f: impl FnMut(E) + 'static)
where
    E: leptos::wasm_bindgen::convert::FromWasmAbi + 'static,
{
    use leptos::wasm_bindgen::{closure::Closure, JsCast};
    let closure = Closure::<dyn FnMut(E)>::new(f);
    let _ = target.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
    closure.forget();
}

/// The header of a page read by [`LiveRegions`] rather than by a person.
pub const POLL_HEADER: &str = "x-bartleby-poll";

/// Reads the page again at once, puts the new content of the regions `ids` in place, and follows
/// them as [`LiveRegions`] does while any is pending (after an upload made from the page).
#[cfg(feature = "hydrate")]
pub async fn follow_regions(ids: Vec<String>) {
    live::follow(ids, false, false).await
}

#[cfg(feature = "hydrate")]
mod live {
    use leptos::prelude::{document, window};
    use leptos::wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{Document, DomParser, Response, SupportedType};

    use super::POLL_HEADER;

    const EVERY_MS: i32 = 2_000;
    const MAX_FAILURES: u32 = 30;
    /// A page left open is followed for ten minutes at most (then a reload shows where it stands).
    const MAX_READS: u32 = 300;

    pub async fn follow(ids: Vec<String>, reload_when_done: bool, wait_first: bool) {
        let mut failures = 0;
        let mut wait = wait_first;
        for _ in 0..MAX_READS {
            if wait {
                sleep(EVERY_MS).await;
            }
            wait = true;
            let fresh = match read_page().await {
                Ok(Some(doc)) => doc,
                Ok(None) => return,
                Err(_) if failures < MAX_FAILURES => {
                    failures += 1;
                    continue;
                }
                Err(_) => return,
            };
            failures = 0;
            let (mut pending, mut held) = (false, false);
            for id in &ids {
                let (Some(old), Some(new)) = (document().get_element_by_id(id), fresh.get_element_by_id(id)) else {
                    return;
                };
                pending |=
                    new.has_attribute("data-pending") || matches!(new.query_selector("[data-pending]"), Ok(Some(_)));
                // unchanged: left alone; with the keyboard focus or the open photo (`#target`) in
                // it: left alone for now, not pulled from under the person
                if old.outer_html() == new.outer_html() {
                    continue;
                }
                if in_use(&old) {
                    held = true;
                    continue;
                }
                // replaceWith adopts the node from the parsed document; its scripts never run
                let _ = old.replace_with_with_node_1(&new);
            }
            if !pending && !held {
                if reload_when_done {
                    let _ = window().location().reload();
                }
                return;
            }
        }
    }

    /// Whether the keyboard focus or the `:target` (an open photo) is inside `region`.
    fn in_use(region: &web_sys::Element) -> bool {
        let focused = document().active_element().is_some_and(|a| region.contains(Some(&a)));
        let hash = window().location().hash().unwrap_or_default();
        let target = hash
            .strip_prefix('#')
            .filter(|h| !h.is_empty())
            .and_then(|h| document().get_element_by_id(h))
            .is_some_and(|t| region.contains(Some(&t)));
        focused || target
    }

    /// This page again, parsed (not shown); `None` when the answer is another page (a redirect to
    /// sign in) or says the page is gone.
    async fn read_page() -> Result<Option<Document>, JsValue> {
        let href = window().location().href()?;
        // marked as a poll: it takes no form's one-time message and does not keep the session alive
        let init = web_sys::RequestInit::new();
        let headers = web_sys::Headers::new()?;
        headers.set(POLL_HEADER, "1")?;
        init.set_headers(&headers);
        let response: Response = JsFuture::from(window().fetch_with_str_and_init(&href, &init)).await?.dyn_into()?;
        if response.redirected() || (400..500).contains(&response.status()) {
            return Ok(None);
        }
        if !response.ok() {
            return Err(JsValue::from_str("the server did not answer"));
        }
        let text = JsFuture::from(response.text()?).await?.as_string().unwrap_or_default();
        DomParser::new()?.parse_from_string(&text, SupportedType::TextHtml).map(Some)
    }

    async fn sleep(ms: i32) {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        });
        let _ = JsFuture::from(promise).await;
    }
}

//! Bartleby's pages, components and server functions, shared by the server (feature `ssr`) and the
//! WASM bundle (feature `hydrate`). Server-only code lives in [`server`] and in each feature's
//! `repo`/`service` modules, behind `ssr`.

pub mod account;
pub mod admin;
pub mod auth;
pub mod documents;
/// The embedding model (local or an OpenAI-compatible API). Knows no feature.
#[cfg(feature = "ssr")]
pub mod embedding;
pub mod error;
pub mod format;
pub mod ids;
pub mod inventory;
/// The durable job queue, its workers and the registry of job kinds. Knows no feature.
#[cfg(feature = "ssr")]
pub mod jobs;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod platform;
pub mod search;
#[cfg(feature = "ssr")]
pub mod storage;
pub mod upload;
/// The vector store (document passages and inventory items, pgvector). Knows no feature.
#[cfg(feature = "ssr")]
pub mod vectors;
pub mod widgets;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::{path, SsrMode};

use auth::api::{current_user, SignIn, SignOut, SignUp};
use auth::types::UserView;
use error::AppError;

/// Text for an element whose content the server writes unescaped: `<title>` (leptos_meta writes
/// the title as it is) and `<textarea>` (tachys does not escape its children). A name such as
/// `</title><script>` or a description such as `</textarea><script>` would otherwise end the
/// element and run. The browser decodes the references, so the text reads as typed; in the
/// browser itself (hydrated, `document.title`) the text is set as plain text and stays as it is.
pub fn raw_text_content(text: String) -> String {
    if cfg!(feature = "ssr") {
        escape_html(&text)
    } else {
        text
    }
}

/// `&`, `<`, `>`, `"` and `'` as character references.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The HTML document around the app (rendered on the server only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <link rel="stylesheet" href=format!("/{}/bartleby.css", options.site_pkg_dir)/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// After a navigation inside the app (not the first load), puts the keyboard focus on the new
/// page's main heading (or the main region), as a full page load puts a screen reader at the top:
/// otherwise focus stays on the link that was clicked, in a header the page has left behind. Focus
/// that is already inside the page (someone typing there) is not taken.
#[component]
fn FocusOnNavigation() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    Effect::new(move |previous: Option<String>| {
        let path = location.pathname.get();
        if previous.is_some_and(|p| p != path) {
            focus_main_heading();
        }
        path
    });
}

#[cfg(feature = "hydrate")]
fn focus_main_heading() {
    use leptos::wasm_bindgen::JsCast;
    request_animation_frame(|| {
        let doc = document();
        let Some(main) = doc.get_element_by_id("main") else { return };
        if doc.active_element().is_some_and(|a| main.contains(Some(&a))) {
            return;
        }
        let target = main.query_selector("h1").ok().flatten().unwrap_or(main);
        if let Ok(el) = target.dyn_into::<leptos::web_sys::HtmlElement>() {
            if !el.has_attribute("tabindex") {
                let _ = el.set_attribute("tabindex", "-1");
            }
            let _ = el.focus();
        }
    });
}

#[cfg(not(feature = "hydrate"))]
fn focus_main_heading() {}

/// The account actions and the "who am I" resource, shared by the header and the pages.
#[derive(Clone, Copy)]
pub struct AuthContext {
    pub sign_in: ServerAction<SignIn>,
    pub sign_up: ServerAction<SignUp>,
    pub sign_out: ServerAction<SignOut>,
    pub user: Resource<Result<Option<UserView>, AppError>>,
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let sign_in = ServerAction::<SignIn>::new();
    let sign_up = ServerAction::<SignUp>::new();
    let sign_out = ServerAction::<SignOut>::new();
    // Pages render whole (`SsrMode::Async`): the server waits for every resource, then sends the
    // page, complete without JavaScript and with its status known (a 404 set by a part that loads
    // late would otherwise come after a 200 had been sent).
    let user = Resource::new_blocking(
        move || (sign_in.version().get(), sign_up.version().get(), sign_out.version().get()),
        |_| current_user(),
    );
    provide_context(AuthContext { sign_in, sign_up, sign_out, user });

    // Effects never run on the server: this flips only once the WASM has taken over the page.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    view! {
        // every page's <Title text=…/> goes through this formatter: user text is escaped in <title>
        <Title formatter=raw_text_content/>
        <Router>
            <div class="app" data-hydrated=move || hydrated.get().to_string()>
                <a class="skip-link" href="#main">"Skip to content"</a>
                <Header/>
                <FocusOnNavigation/>
                <main id="main" tabindex="-1">
                    <Routes fallback=pages::NotFound>
                        <Route path=path!("/") view=pages::Dashboard ssr=SsrMode::Async/>
                        <Route path=path!("/login") view=auth::views::LoginPage ssr=SsrMode::Async/>
                        <Route path=path!("/signup") view=auth::views::SignupPage ssr=SsrMode::Async/>
                        <Route path=path!("/inventory") view=inventory::views::InventoryPage ssr=SsrMode::Async/>
                        <Route path=path!("/inventory/new") view=inventory::views::NewItemPage ssr=SsrMode::Async/>
                        <Route path=path!("/inventory/import") view=inventory::import_views::ImportPage ssr=SsrMode::Async/>
                        <Route path=path!("/inventory/import/:token") view=inventory::import_views::ImportPreviewPage ssr=SsrMode::Async/>
                        <Route path=path!("/inventory/locations") view=inventory::location_views::LocationsPage ssr=SsrMode::Async/>
                        <Route path=path!("/inventory/locations/:id") view=inventory::location_views::LocationPage ssr=SsrMode::Async/>
                        <Route path=path!("/inventory/:id") view=inventory::views::ItemPage ssr=SsrMode::Async/>
                        <Route path=path!("/inventory/:id/edit") view=inventory::views::EditItemPage ssr=SsrMode::Async/>
                        <Route path=path!("/inventory/:id/delete") view=inventory::views::DeleteItemPage ssr=SsrMode::Async/>
                        <Route path=path!("/documents") view=documents::views::DocumentsPage ssr=SsrMode::Async/>
                        <Route path=path!("/documents/:id") view=documents::views::DocumentPage ssr=SsrMode::Async/>
                        <Route path=path!("/search") view=search::views::SearchPage ssr=SsrMode::Async/>
                        <Route path=path!("/account") view=account::views::AccountPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin") view=admin::views::AdminPage ssr=SsrMode::Async/>
                    </Routes>
                </main>
            </div>
        </Router>
    }
}

#[component]
fn Header() -> impl IntoView {
    let auth = expect_context::<AuthContext>();
    let menu_open = RwSignal::new(false);
    view! {
        <header class="site-header">
            <A href="/" attr:class="brand">
                <span class="brand-mark" aria-hidden="true">"B"</span>
                "Bartleby"
            </A>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match auth.user.await {
                        Ok(Some(user)) => {
                            view! {
                                <button
                                    type="button"
                                    class="menu-toggle secondary"
                                    aria-expanded=move || menu_open.get().to_string()
                                    aria-controls="site-nav"
                                    on:click=move |_| menu_open.update(|o| *o = !*o)
                                >
                                    "Menu"
                                </button>
                                <nav
                                    id="site-nav"
                                    aria-label="Main"
                                    class:open=move || menu_open.get()
                                    on:click=move |_| menu_open.set(false)
                                >
                                    <A href="/" exact=true>"Dashboard"</A>
                                    <A href="/inventory" exact=true>"Inventory"</A>
                                    <A href="/inventory/locations">"Locations"</A>
                                    <A href="/documents">"Documents"</A>
                                    <A href="/search">"Search"</A>
                                </nav>
                                <form method="get" action="/search" role="search" class="header-search">
                                    <input name="q" type="search" placeholder="Search documents" aria-label="Search documents"/>
                                </form>
                                <div class="account">
                                    <A href="/account" attr:class="who" attr:data-testid="who-am-i" attr:title=user.email.clone()>
                                        {user.display_name.clone()}
                                    </A>
                                    <ActionForm action=auth.sign_out attr:class="inline">
                                        <button type="submit" class="secondary">"Sign out"</button>
                                    </ActionForm>
                                </div>
                            }
                                .into_any()
                        }
                        Ok(None) => ().into_any(),
                        Err(e) => view! { <p class="banner" role="status">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </header>
    }
}

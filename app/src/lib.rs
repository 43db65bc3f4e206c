//! Bartleby's pages, components and server functions. Pages render on the server (feature `ssr`)
//! as whole HTML documents whose links and forms work without JavaScript; the WASM bundle (feature
//! `hydrate`) holds only the islands — the components marked `#[island]`: a password's Show
//! button, the Menu button, "select all", parts of a page that follow work in progress — and
//! hydrates nothing else. Server-only code lives in [`platform`] and in each feature's
//! `repo`/`service` modules, behind `ssr`.

// the pages' view types are deep (a table of rows of cells in a form in a Suspense): the compiler
// needs more than its default 128 levels to lay them out
#![recursion_limit = "256"]

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
pub mod words;

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
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Marks the page as live once the browser has hydrated its islands (they hydrate in the order
/// of the page, and this one comes last): `data-hydrated` on the app's root goes to `true`.
#[island]
fn HydratedMark() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    Effect::new(|| {
        if let Ok(Some(root)) = document().query_selector(".app") {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
}

/// The phone-width Menu button: opens and closes the main navigation (`#site-nav`), which the
/// server renders whole. It is a link to the navigation: without JavaScript (or before the page
/// is live) following it shows the navigation (`#site-nav:target` in the style sheet); once live,
/// it opens and closes it in place.
#[island]
fn MenuButton() -> impl IntoView {
    let open = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    Effect::new(move || {
        if let Some(nav) = document().get_element_by_id("site-nav") {
            let _ = nav.class_list().toggle_with_force("open", open.get());
        }
    });
    view! {
        <a
            href="#site-nav"
            role="button"
            class="menu-toggle button secondary"
            aria-expanded=move || open.get().to_string()
            aria-controls="site-nav"
            on:click=move |ev| {
                ev.prevent_default();
                open.update(|o| *o = !*o)
            }
        >
            "Menu"
        </a>
    }
}

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
    let user = Resource::new_blocking(|| (), |_| current_user());
    provide_context(AuthContext { sign_in, sign_up, sign_out, user });

    view! {
        // every page's <Title text=…/> goes through this formatter: user text is escaped in <title>
        <Title formatter=raw_text_content/>
        <Router>
            <div class="app" data-hydrated="false">
                <a class="skip-link" href="#main">"Skip to content"</a>
                <Header/>
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
                <HydratedMark/>
            </div>
        </Router>
    }
}

#[component]
fn Header() -> impl IntoView {
    let auth = expect_context::<AuthContext>();
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
                                <MenuButton/>
                                <nav id="site-nav" aria-label="Main">
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

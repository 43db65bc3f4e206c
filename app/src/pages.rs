//! The dashboard, the section pages and the 404 page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Redirect, A};
use leptos_router::hooks::use_location;

use crate::auth::types::UserView;
use crate::error::AppError;
use crate::AuthContext;

/// Renders `content` for the signed-in user; sends a signed-out visitor to the sign-in page.
/// (The server already redirects page loads; this covers navigation inside the hydrated app.)
#[component]
fn SignedIn<F, V>(content: F) -> impl IntoView
where
    F: Fn(UserView) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let auth = expect_context::<AuthContext>();
    let location = use_location();
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {
                let content = content.clone();
                move || {
                    let content = content.clone();
                    Suspend::new(async move {
                        match auth.user.await {
                            Ok(Some(user)) => content(user).into_any(),
                            Ok(None) => {
                                let here = format!("{}{}", location.pathname.get_untracked(), location.search.get_untracked());
                                let path = format!("/login?next={}", crate::url_encode(&here));
                                view! { <Redirect path=path/> }.into_any()
                            }
                            Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                        }
                    })
                }
            }
        </Suspense>
    }
}

#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    view! {
        <div class="notice error" role="alert">
            <h2>"We could not load this page"</h2>
            <p>{error.to_string()}</p>
        </div>
    }
}

#[component]
pub fn Dashboard() -> impl IntoView {
    view! {
        <Title text="Dashboard · Bartleby"/>
        <SignedIn content=|user: UserView| {
            view! {
                <h1 data-testid="greeting">"Welcome, " {user.display_name.clone()}</h1>
                <p class="lede">"This is your desk. Your things and papers will gather here."</p>
                <div class="cards">
                    <section class="card">
                        <h2>"Inventory"</h2>
                        <p>"Record your things with photos, where they are and what they are worth."</p>
                        <A href="/inventory">"Open inventory"</A>
                    </section>
                    <section class="card">
                        <h2>"Documents"</h2>
                        <p>"Upload PDFs, Word files and notes, and find them again by what they say."</p>
                        <A href="/documents">"Open documents"</A>
                    </section>
                    <section class="card">
                        <h2>"Your account"</h2>
                        <dl>
                            <dt>"Email"</dt>
                            <dd>{user.email.clone()}</dd>
                            <dt>"Member since"</dt>
                            <dd>{user.member_since.clone()}</dd>
                        </dl>
                    </section>
                </div>
            }
        }/>
    }
}

/// A section whose feature has not shipped yet: says so plainly.
#[component]
fn NotYet(title: &'static str, what: &'static str) -> impl IntoView {
    view! {
        <Title text=format!("{title} · Bartleby")/>
        <SignedIn content=move |_user: UserView| {
            view! {
                <h1>{title}</h1>
                <div class="notice" role="status">
                    <p>{what} " is not available in this version of Bartleby yet."</p>
                </div>
            }
        }/>
    }
}

#[component]
pub fn DocumentsPage() -> impl IntoView {
    view! { <NotYet title="Documents" what="Document storage"/> }
}

#[component]
pub fn SearchPage() -> impl IntoView {
    view! { <NotYet title="Search" what="Search"/> }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
            resp.set_status(http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <Title text="Page not found · Bartleby"/>
        <section class="notice">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. It may have moved, or the link may be mistyped."</p>
            <p><A href="/">"Go to your dashboard"</A></p>
        </section>
    }
}

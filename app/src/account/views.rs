//! The account page: who you are, and deleting the account.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::{archive_status, DeleteAccount, StartArchive};
use super::types::{ArchiveRun, ArchiveStatus};
use crate::auth::types::UserView;
use crate::auth::views::SignedIn;
use crate::error::AppError;
use crate::widgets::FormError;

/// The error a plain form post came back with (`?error=<code>`); fixed codes only.
fn error_from_code(code: &str) -> Option<AppError> {
    Some(match code {
        "" => return None,
        "password" => AppError::validation("password", "That is not your password."),
        "rate_limited" => AppError::RateLimited { retry_after_secs: 15 * 60 },
        "unavailable" => AppError::Unavailable,
        _ => AppError::Internal,
    })
}

/// "Take your data and go": make an archive of everything, watch it being made, download it.
#[component]
fn ArchiveSection() -> impl IntoView {
    let start = ServerAction::<StartArchive>::new();
    // refetched after a start, and every two seconds (in the browser) while one is being made
    let tick = RwSignal::new(0u32);
    let run = Resource::new_blocking(move || (start.version().get(), tick.get()), |_| archive_status());
    Effect::new(move |_| {
        let busy = run
            .get()
            .and_then(Result::ok)
            .flatten()
            .is_some_and(|r| matches!(r.status, ArchiveStatus::Queued | ArchiveStatus::Building));
        if busy {
            set_timeout(move || tick.update(|t| *t += 1), std::time::Duration::from_secs(2));
        }
    });
    view! {
        <section class="card" aria-labelledby="archive-title">
            <h2 id="archive-title">"Take your data with you"</h2>
            <p>
                "One ZIP file with everything you keep here: your items as a spreadsheet (CSV) and as "
                "JSON, every photo, every document as you uploaded it with the text Bartleby read from "
                "it, and whom you shared documents with."
            </p>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match run.await {
                        Ok(Some(r)) => view! { <ArchiveState run=r/> }.into_any(),
                        Ok(None) => ().into_any(),
                        Err(e) => view! { <p class="banner">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            <ActionForm action=start attr:class="inline" attr:aria-label="Make an archive">
                <button type="submit" class="secondary">"Make an archive of everything"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn ArchiveState(run: ArchiveRun) -> impl IntoView {
    let total = run.total.max(1);
    match run.status {
        ArchiveStatus::Ready => view! {
            <p data-testid="archive-state">
                "Your archive from " {run.started.clone()} " is ready: "
                <a href=format!("/account/archives/{}", run.archive_id.unwrap_or(0)) download="">
                    "Download (" {crate::format::bytes(run.bytes)} ")"
                </a>
            </p>
        }
        .into_any(),
        ArchiveStatus::Failed => view! {
            <p class="banner" data-testid="archive-state">
                {run.detail.clone().unwrap_or_else(|| "The archive could not be made.".to_owned())}
            </p>
        }
        .into_any(),
        _ => view! {
            <p data-testid="archive-state" role="status">
                "Making your archive: " {run.done} " of " {run.total} " steps. "
                <progress max=total value=run.done></progress>
                " This page updates itself; without JavaScript, "
                <a href="/account">"reload it"</a>
                "."
            </p>
        }
        .into_any(),
    }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let delete = ServerAction::<DeleteAccount>::new();
    let query = use_query_map();
    let error = Signal::derive(move || match delete.value().get() {
        Some(result) => result.err(),
        None => error_from_code(&query.read().get("error").unwrap_or_default()),
    });
    view! {
        <Title text="Your account · Bartleby"/>
        <SignedIn content=move |user: UserView| {
            view! {
                <h1>"Your account"</h1>
                <dl class="facts">
                    <dt>"Name"</dt>
                    <dd>{user.display_name.clone()}</dd>
                    <dt>"Email"</dt>
                    <dd data-testid="account-email">{user.email.clone()}</dd>
                    <dt>"Member since"</dt>
                    <dd>{user.member_since.clone()}</dd>
                </dl>
                <ArchiveSection/>
                <section class="notice confirm" aria-labelledby="delete-title">
                    <h2 id="delete-title">"Delete your account"</h2>
                    <p>
                        "Your items, places, photos, documents, exports and everything Bartleby made "
                        "from them (text, thumbnails, search data) are deleted from this server and from "
                        "every storage it uses. Documents you shared are no longer readable by anyone. "
                        "This cannot be undone."
                    </p>
                    <FormError error=error/>
                    <ActionForm action=delete attr:class="stack" attr:aria-label="Delete your account">
                        <div class="field">
                            <label for="delete-password">"Your password, to confirm"</label>
                            <input
                                id="delete-password"
                                name="password"
                                type="password"
                                autocomplete="current-password"
                                required=true
                                aria-invalid=move || {
                                    error.get().and_then(|e| e.field().map(|f| f == "password")).unwrap_or(false).to_string()
                                }
                            />
                        </div>
                        <button type="submit" class="danger" disabled=move || delete.pending().get()>
                            {move || if delete.pending().get() { "Deleting…" } else { "Delete my account and everything in it" }}
                        </button>
                    </ActionForm>
                </section>
            }
        }/>
    }
}

//! The account page: who you are, and deleting the account.

use leptos::prelude::*;
use leptos_meta::Title;

use super::api::{archive_status, DeleteAccount, StartArchive};
use super::types::{ArchiveRun, ArchiveStatus};
use crate::auth::types::UserView;
use crate::auth::views::SignedIn;
use crate::error::AppError;
use crate::widgets::{form_flash, FormError, LiveRegions};

/// "Take your data and go": make an archive of everything, watch it being made, download it.
#[component]
fn ArchiveSection(run: Resource<Result<Option<ArchiveRun>, AppError>>) -> impl IntoView {
    let start = ServerAction::<StartArchive>::new();
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
                        Ok(Some(r)) => {
                            // followed in place while it is being made
                            let busy = matches!(r.status, ArchiveStatus::Queued | ArchiveStatus::Building);
                            view! {
                                <div id="archive-state" data-pending=busy.then_some("")><ArchiveState run=r/></div>
                                {busy.then(|| view! { <LiveRegions ids=vec!["archive-state".to_owned()] reload_when_done=false/> })}
                            }
                            .into_any()
                        }
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
    let flash = form_flash();
    // created here, not inside the Suspense below (see `form_flash`)
    let run = Resource::new_blocking(|| (), |_| archive_status());
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
                <ArchiveSection run/>
                <section class="notice confirm" aria-labelledby="delete-title">
                    <h2 id="delete-title">"Delete your account"</h2>
                    <p>
                        "Your items, places, photos, documents, exports and everything Bartleby made "
                        "from them (text, thumbnails, search data) are deleted from this server and from "
                        "every storage it uses. Documents you shared are no longer readable by anyone. "
                        "This cannot be undone."
                    </p>
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            let error = flash.await.unwrap_or_default().error;
                            let wrong = error.as_ref().and_then(AppError::field) == Some("password");
                            view! {
                                <FormError error=Signal::derive(move || error.clone())/>
                                <ActionForm action=delete attr:class="stack" attr:aria-label="Delete your account">
                                    <div class="field">
                                        <label for="delete-password">"Your password, to confirm"</label>
                                        <input
                                            id="delete-password"
                                            name="password"
                                            type="password"
                                            autocomplete="current-password"
                                            required=true
                                            aria-invalid=wrong.to_string()
                                        />
                                    </div>
                                    <button type="submit" class="danger">"Delete my account and everything in it"</button>
                                </ActionForm>
                            }
                        })}
                    </Suspense>
                </section>
            }
        }/>
    }
}

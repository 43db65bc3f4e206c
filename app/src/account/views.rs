//! The account page: who you are, and deleting the account.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::DeleteAccount;
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

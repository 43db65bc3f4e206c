//! The account's server functions.

use leptos::prelude::*;

use crate::error::AppError;

/// Deletes the signed-in user's account, everything in it, and signs them out. Asks for the
/// password again.
#[server(prefix = "/api", endpoint = "account/delete")]
pub async fn delete_account(password: String) -> Result<(), AppError> {
    use crate::platform::{app_state, respond_form};
    respond_form(
        async {
            let user = crate::auth::api::require_user().await?;
            let state = app_state()?;
            super::service::delete_account(&state, &user, &password).await?;
            let session = crate::auth::api::ctx::session().await?;
            crate::auth::service::end_session(&session).await?;
            leptos_axum::redirect("/login?deleted=1");
            Ok(())
        }
        .await,
        "/account",
        None,
    )
}

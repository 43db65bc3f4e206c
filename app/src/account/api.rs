//! The account's server functions.

use leptos::prelude::*;

use super::types::ArchiveRun;
use crate::error::AppError;

/// Starts an archive of everything the user keeps (nothing new if one is being made).
#[server(prefix = "/api", endpoint = "account/archive")]
pub async fn start_archive() -> Result<(), AppError> {
    use crate::platform::{app_state, respond_page_form};
    respond_page_form(
        async {
            let user = crate::auth::api::require_user().await?;
            super::archive::start(&app_state()?, user.id).await?;
            leptos_axum::redirect("/account");
            Ok(())
        }
        .await,
        "/account",
        (),
    )
    .await
}

/// The user's newest archive and how far it has got.
#[server(prefix = "/api", endpoint = "account/archive_status")]
pub async fn archive_status() -> Result<Option<ArchiveRun>, AppError> {
    use crate::platform::{app_state, respond};
    respond(
        async {
            let user = crate::auth::api::require_user().await?;
            let state = app_state()?;
            let mut c = crate::platform::db::conn_as(&state.db, user.id).await?;
            super::archive::latest(&mut c, user.id).await
        }
        .await,
    )
}

/// Deletes the signed-in user's account, everything in it, and signs them out. Asks for the
/// password again.
#[server(prefix = "/api", endpoint = "account/delete")]
pub async fn delete_account(password: String) -> Result<(), AppError> {
    use crate::platform::{app_state, respond_page_form};
    respond_page_form(
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
        (),
    )
    .await
}

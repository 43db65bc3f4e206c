//! Documents server functions: check the user, call the service, answer DTOs.

use leptos::prelude::*;

use super::types::{DocumentDetail, DocumentList, DocumentStats};
use crate::error::AppError;

#[server(prefix = "/api", endpoint = "documents/list")]
pub async fn list_documents() -> Result<DocumentList, AppError> {
    use crate::platform::{app_state, respond};
    respond(
        async {
            let user = crate::auth::api::require_user().await?;
            super::service::list(&app_state()?, user.id).await
        }
        .await,
    )
}

/// The dashboard's document figures.
#[server(prefix = "/api", endpoint = "documents/stats")]
pub async fn documents_overview() -> Result<DocumentStats, AppError> {
    use crate::platform::{app_state, respond};
    respond(
        async {
            let user = crate::auth::api::require_user().await?;
            super::service::stats(&app_state()?, user.id).await
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "documents/get")]
pub async fn get_document(id: i64) -> Result<DocumentDetail, AppError> {
    use crate::platform::{app_state, respond};
    respond(
        async {
            let user = crate::auth::api::require_user().await?;
            super::service::get(&app_state()?, user.id, id).await
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "documents/delete")]
pub async fn delete_document(id: i64) -> Result<(), AppError> {
    use crate::platform::{app_state, respond_page_form};
    respond_page_form(
        async {
            let user = crate::auth::api::require_user().await?;
            super::service::delete(&app_state()?, user.id, id).await?;
            leptos_axum::redirect("/documents?deleted=1");
            Ok(())
        }
        .await,
        &format!("/documents/{id}"),
        (),
    )
    .await
}

#[server(prefix = "/api", endpoint = "documents/share")]
pub async fn share_document(id: i64, email: String) -> Result<(), AppError> {
    use crate::platform::{app_state, respond_page_form};
    respond_page_form(
        async {
            let user = crate::auth::api::require_user().await?;
            super::service::share(&app_state()?, user.id, id, &email).await?;
            leptos_axum::redirect(&format!("/documents/{id}?shared=1"));
            Ok(())
        }
        .await,
        &format!("/documents/{id}"),
        serde_json::json!({ "email": email }),
    )
    .await
}

#[server(prefix = "/api", endpoint = "documents/revoke")]
pub async fn revoke_document(id: i64, grantee: i64) -> Result<(), AppError> {
    use crate::platform::{app_state, respond_page_form};
    respond_page_form(
        async {
            let user = crate::auth::api::require_user().await?;
            super::service::revoke(&app_state()?, user.id, id, grantee).await?;
            leptos_axum::redirect(&format!("/documents/{id}"));
            Ok(())
        }
        .await,
        &format!("/documents/{id}"),
        (),
    )
    .await
}

#[server(prefix = "/api", endpoint = "documents/rename")]
pub async fn rename_document(id: i64, title: String) -> Result<(), AppError> {
    use crate::platform::{app_state, respond_page_form};
    respond_page_form(
        async {
            let user = crate::auth::api::require_user().await?;
            super::service::rename(&app_state()?, user.id, id, &title).await?;
            leptos_axum::redirect(&format!("/documents/{id}"));
            Ok(())
        }
        .await,
        &format!("/documents/{id}"),
        serde_json::json!({ "title": title }),
    )
    .await
}

#[server(prefix = "/api", endpoint = "documents/retry")]
pub async fn retry_document(id: i64) -> Result<(), AppError> {
    use crate::platform::{app_state, respond_page_form};
    respond_page_form(
        async {
            let user = crate::auth::api::require_user().await?;
            super::service::retry(&app_state()?, user.id, id).await?;
            leptos_axum::redirect(&format!("/documents/{id}"));
            Ok(())
        }
        .await,
        &format!("/documents/{id}"),
        (),
    )
    .await
}

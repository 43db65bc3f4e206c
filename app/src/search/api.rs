//! The search server function: check the user, call the service, answer DTOs.

use leptos::prelude::*;

use super::types::{SearchQuery, SearchResults};
use crate::error::AppError;

#[server(prefix = "/api", endpoint = "search")]
pub async fn search(query: SearchQuery) -> Result<SearchResults, AppError> {
    use crate::platform::{app_state, respond};
    respond(
        async {
            let user = crate::auth::api::require_user().await?;
            super::service::search(&app_state()?, user.id, &query).await
        }
        .await,
    )
}

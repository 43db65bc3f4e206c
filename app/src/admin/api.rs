//! The admin page's server function: the administrator only; anyone else gets 404.

use leptos::prelude::*;

use super::types::AdminOverview;
use crate::error::AppError;

#[server(prefix = "/api", endpoint = "admin/overview")]
pub async fn get_overview() -> Result<AdminOverview, AppError> {
    use super::types::DatabaseSize;
    use crate::platform::db::{conn, query_failed};
    use crate::platform::{app_state, respond};
    respond(
        async {
            let user = crate::auth::api::require_user().await?;
            if !user.is_admin {
                return Err(AppError::NotFound);
            }
            let state = app_state()?;
            let mut c = conn(&state.db).await?;
            let users = super::repo::users(&mut c, 500).await.map_err(query_failed)?;
            let (bytes, tables) = super::repo::database_size(&mut c).await.map_err(query_failed)?;
            let mut databases = vec![DatabaseSize { name: "metadata".into(), bytes, tables }];
            if let crate::platform::VectorDb::Separate(pool) = &state.vector {
                // a vector database that is away is shown as away, not as an error of the page
                if let Ok(mut vc) = pool.get().await {
                    if let Ok((bytes, tables)) = super::repo::database_size(&mut vc).await {
                        databases.push(DatabaseSize { name: "vectors".into(), bytes, tables });
                    }
                }
            }
            let queue = super::repo::queue(&mut c).await.map_err(query_failed)?;
            let runs = super::repo::runs(&mut c, 10).await.map_err(query_failed)?;
            let rls_enforced = crate::platform::db::rls_enforced(&state.db).await;
            Ok(AdminOverview { users, databases, queue, runs, rls_enforced })
        }
        .await,
    )
}

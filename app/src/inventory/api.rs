//! Inventory server functions: check the user, call the service, answer DTOs.

use leptos::prelude::*;

use super::types::{
    ImportPreview, ImportRun, InventoryStats, ItemForm, ItemPage, ItemPatch, ItemQuery, ItemView, LocationTree,
    Suggestions,
};
use crate::error::AppError;

#[server(prefix = "/api", endpoint = "inventory/list")]
pub async fn list_items(query: ItemQuery) -> Result<ItemPage, AppError> {
    use crate::platform::{app_state, respond};
    respond(
        async {
            let user = crate::auth::api::require_user().await?;
            super::service::list(&app_state()?, user.id, &query).await
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "inventory/get")]
pub async fn get_item(id: i64) -> Result<ItemView, AppError> {
    use crate::platform::{app_state, respond};
    respond(
        async {
            let user = crate::auth::api::require_user().await?;
            super::service::get(&app_state()?, user.id, id).await
        }
        .await,
    )
}

/// The user's categories and tags, suggested while typing in the form.
#[server(prefix = "/api", endpoint = "inventory/suggestions")]
pub async fn item_suggestions() -> Result<Suggestions, AppError> {
    use crate::platform::{app_state, db, respond};
    respond(
        async {
            let user = crate::auth::api::require_user().await?;
            let state = app_state()?;
            let mut c = db::conn_as(&state.db, user.id).await?;
            let (categories, tags) = super::repo::categories_and_tags(&c, user.id).await?;
            let locations = super::locations::all(&mut c, user.id).await?.into_iter().map(|l| l.path).collect();
            Ok(Suggestions { categories, tags, locations })
        }
        .await,
    )
}

#[server(prefix = "/api", endpoint = "inventory/create")]
pub async fn create_item(form: ItemForm) -> Result<(), AppError> {
    use crate::platform::{app_state, respond_page_form};
    let typed = form.clone();
    respond_page_form(
        async {
            let user = crate::auth::api::require_user().await?;
            let item = super::service::create(&app_state()?, user.id, &form).await?;
            leptos_axum::redirect(&format!("/inventory/{}", item.id));
            Ok(())
        }
        .await,
        "/inventory/new",
        typed,
    )
    .await
}

#[server(prefix = "/api", endpoint = "inventory/update")]
pub async fn update_item(id: i64, form: ItemPatch) -> Result<(), AppError> {
    use crate::platform::{app_state, respond_page_form};
    let typed = form.clone().apply(ItemForm::default());
    respond_page_form(
        async {
            let user = crate::auth::api::require_user().await?;
            let item = super::service::patch(&app_state()?, user.id, id, form).await?;
            leptos_axum::redirect(&format!("/inventory/{}", item.id));
            Ok(())
        }
        .await,
        &format!("/inventory/{id}/edit"),
        typed,
    )
    .await
}

#[server(prefix = "/api", endpoint = "inventory/delete")]
pub async fn delete_item(id: i64) -> Result<(), AppError> {
    use crate::platform::{app_state, respond_page_form};
    respond_page_form(
        async {
            let user = crate::auth::api::require_user().await?;
            super::service::delete(&app_state()?, user.id, id).await?;
            leptos_axum::redirect("/inventory");
            Ok(())
        }
        .await,
        &format!("/inventory/{id}/delete"),
        (),
    )
    .await
}

/// The dashboard's figures.
#[server(prefix = "/api", endpoint = "inventory/summary")]
pub async fn inventory_summary() -> Result<InventoryStats, AppError> {
    use crate::platform::{app_state, respond};
    respond(
        async {
            let user = crate::auth::api::require_user().await?;
            super::service::summary(&app_state()?, user.id).await
        }
        .await,
    )
}

/// Removes one photo (and its thumbnails) from an item.
#[server(prefix = "/api", endpoint = "inventory/delete_photo")]
pub async fn delete_photo(photo_id: i64) -> Result<(), AppError> {
    use crate::platform::{app_state, respond};
    respond(
        async {
            let user = crate::auth::api::require_user().await?;
            let item_id = super::photos::delete_photo(&app_state()?, user.id, photo_id).await?;
            leptos_axum::redirect(&format!("/inventory/{item_id}"));
            Ok(())
        }
        .await,
    )
}

/// Writes the user's items as `format` (csv, xlsx, json, or zip with the photos) and sends the
/// browser to download the file.
#[server(prefix = "/api", endpoint = "inventory/export")]
pub async fn export_items(#[server(default)] format: String) -> Result<(), AppError> {
    use crate::platform::{app_state, respond_page_form};
    respond_page_form(
        async {
            let user = crate::auth::api::require_user().await?;
            let format = super::export::ExportFormat::parse(&format)?;
            let id = super::export::export(&app_state()?, user.id, format).await?;
            leptos_axum::redirect(&format!("/exports/{id}"));
            Ok(())
        }
        .await,
        "/inventory",
        (),
    )
    .await
}

/// The user's places, depth first, with what is inside each.
#[server(prefix = "/api", endpoint = "locations/tree")]
pub async fn get_location_tree() -> Result<LocationTree, AppError> {
    use crate::platform::{app_state, respond};
    respond(
        async {
            let user = crate::auth::api::require_user().await?;
            super::locations::tree(&app_state()?, user.id).await
        }
        .await,
    )
}

/// Adds a place; `parent` is a place id, or "" for the top level.
#[server(prefix = "/api", endpoint = "locations/create")]
pub async fn create_location(name: String, parent: String) -> Result<(), AppError> {
    use crate::platform::{app_state, respond_page_form};
    let back = if parent.trim().is_empty() {
        "/inventory/locations".to_owned()
    } else {
        format!("/inventory/locations/{}", parent.trim())
    };
    respond_page_form(
        async {
            let user = crate::auth::api::require_user().await?;
            let parent = super::locations::parse_parent(&parent)?;
            let id = super::locations::create(&app_state()?, user.id, &name, parent).await?;
            leptos_axum::redirect(&format!("/inventory/locations/{id}"));
            Ok(())
        }
        .await,
        &back,
        serde_json::json!({ "form": "create", "name": name }),
    )
    .await
}

#[server(prefix = "/api", endpoint = "locations/rename")]
pub async fn rename_location(id: i64, name: String) -> Result<(), AppError> {
    use crate::platform::{app_state, respond_page_form};
    respond_page_form(
        async {
            let user = crate::auth::api::require_user().await?;
            super::locations::rename(&app_state()?, user.id, id, &name).await?;
            leptos_axum::redirect(&format!("/inventory/locations/{id}"));
            Ok(())
        }
        .await,
        &format!("/inventory/locations/{id}"),
        serde_json::json!({ "form": "rename", "name": name }),
    )
    .await
}

/// Moves a place, with everything in it, under `parent` ("" for the top level).
#[server(prefix = "/api", endpoint = "locations/move")]
pub async fn move_location(id: i64, parent: String) -> Result<(), AppError> {
    use crate::platform::{app_state, respond_page_form};
    respond_page_form(
        async {
            let user = crate::auth::api::require_user().await?;
            let parent = super::locations::parse_parent(&parent)?;
            super::locations::move_to(&app_state()?, user.id, id, parent).await?;
            leptos_axum::redirect(&format!("/inventory/locations/{id}"));
            Ok(())
        }
        .await,
        &format!("/inventory/locations/{id}"),
        (),
    )
    .await
}

/// Deletes a place; its items and places move up one level.
#[server(prefix = "/api", endpoint = "locations/delete")]
pub async fn delete_location(id: i64) -> Result<(), AppError> {
    use crate::platform::{app_state, respond_page_form};
    respond_page_form(
        async {
            let user = crate::auth::api::require_user().await?;
            let parent = super::locations::delete(&app_state()?, user.id, id).await?;
            leptos_axum::redirect(
                &parent.map(|p| format!("/inventory/locations/{p}")).unwrap_or_else(|| "/inventory/locations".into()),
            );
            Ok(())
        }
        .await,
        &format!("/inventory/locations/{id}"),
        (),
    )
    .await
}

/// Applies one change to the checked rows of the table: `op` is `set_category`, `set_location`,
/// `add_tags`, `remove_tags` or `delete` (which needs `confirm`). Answers how many items changed.
#[server(prefix = "/api", endpoint = "inventory/bulk")]
pub async fn bulk_edit(
    #[server(default)] ids: Vec<i64>,
    op: String,
    #[server(default)] value: String,
    #[server(default)] confirm: String,
    #[server(default)] back: String,
) -> Result<u64, AppError> {
    use crate::platform::{app_state, plain_form_post, respond_page_form};
    // only ever back to the table
    let back = if back.starts_with("/inventory") && !back.starts_with("//") { back } else { "/inventory".to_owned() };
    let typed = serde_json::json!({ "op": op, "value": value, "ids": ids });
    respond_page_form(
        async {
            let user = crate::auth::api::require_user().await?;
            let op = super::types::BulkOp::parse(&op, &value, !confirm.is_empty())?;
            let n = super::service::bulk(&app_state()?, user.id, &ids, &op).await?;
            if plain_form_post() {
                let sep = if back.contains('?') { '&' } else { '?' };
                leptos_axum::redirect(&format!("{back}{sep}changed={n}"));
            }
            Ok(n)
        }
        .await,
        &back,
        typed,
    )
    .await
}

/// A pending CSV import, checked row by row.
#[server(prefix = "/api", endpoint = "inventory/import/preview")]
pub async fn get_import_preview(token: String) -> Result<ImportPreview, AppError> {
    use crate::platform::{app_state, respond};
    respond(
        async {
            let user = crate::auth::api::require_user().await?;
            super::import::preview(&app_state()?, user.id, &token).await
        }
        .await,
    )
}

/// Starts importing a pending CSV file, all of it or (if any row has a problem) nothing: the
/// import runs in the background and its page (`/inventory/import/{token}`) follows it.
#[server(prefix = "/api", endpoint = "inventory/import/commit")]
pub async fn import_commit(token: String) -> Result<ImportRun, AppError> {
    use crate::platform::{app_state, plain_form_post, respond_page_form};
    let page = format!("/inventory/import/{}", super::types::url_segment(&token));
    respond_page_form(
        async {
            let user = crate::auth::api::require_user().await?;
            let run = super::import::start(&app_state()?, user.id, &token).await?;
            if plain_form_post() {
                leptos_axum::redirect(&page);
            }
            Ok(run)
        }
        .await,
        &page,
        (),
    )
    .await
}

/// How far the import of a pending file has got (`None` before it was started).
#[server(prefix = "/api", endpoint = "inventory/import/status")]
pub async fn import_status(token: String) -> Result<Option<ImportRun>, AppError> {
    use crate::platform::{app_state, respond};
    respond(
        async {
            let user = crate::auth::api::require_user().await?;
            super::import::run_status(&app_state()?, user.id, &token).await
        }
        .await,
    )
}

/// Throws a pending CSV import away.
#[server(prefix = "/api", endpoint = "inventory/import/discard")]
pub async fn import_discard(token: String) -> Result<(), AppError> {
    use crate::platform::{app_state, respond_page_form};
    respond_page_form(
        async {
            let user = crate::auth::api::require_user().await?;
            super::import::discard(&app_state()?, user.id, &token).await?;
            leptos_axum::redirect("/inventory/import");
            Ok(())
        }
        .await,
        "/inventory/import",
        (),
    )
    .await
}

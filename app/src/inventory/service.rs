//! Inventory rules: checking the form, and turning rows into what the pages show.
//! Every call is scoped to the signed-in user's id.

use std::str::FromStr;

use bigdecimal::BigDecimal;

use diesel_async::{AsyncConnection, AsyncPgConnection};

use super::locations;
use super::repo::{self, Item, ItemChanges};
use super::types::{
    parse_currency, parse_price, parse_quantity, parse_tags, BulkOp, InventoryStats, ItemForm, ItemPage, ItemPatch,
    ItemQuery, ItemView, BULK_MAX, NAME_MAX,
};
use crate::error::AppError;
use crate::platform::db::{conn_as, query_failed};
use crate::platform::AppState;

fn short_text(field: &str, label: &str, raw: &str, max: usize) -> Result<String, AppError> {
    let v = raw.trim();
    if v.chars().count() > max {
        return Err(AppError::validation(field, format!("Keep the {label} to {max} characters or fewer.")));
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(AppError::validation(field, format!("The {label} contains characters that cannot be stored.")));
    }
    Ok(v.to_owned())
}

fn decimal(s: Option<String>) -> Option<BigDecimal> {
    s.and_then(|s| BigDecimal::from_str(&s).ok())
}

/// Checks every field of the form; the first problem is reported against its field.
pub fn check_form(form: &ItemForm) -> Result<ItemChanges, AppError> {
    let name = short_text("name", "name", &form.name, NAME_MAX)?;
    if name.is_empty() {
        return Err(AppError::validation("name", "Give the item a name."));
    }
    Ok(ItemChanges {
        name,
        description: short_text("description", "description", &form.description, 10_000)?,
        category: short_text("category", "category", &form.category, 100)?,
        material: short_text("material", "material", &form.material, 200)?,
        colour: short_text("colour", "colour", &form.colour, 100)?,
        dimensions: short_text("dimensions", "dimensions", &form.dimensions, 200)?,
        origin: short_text("origin", "origin", &form.origin, 200)?,
        quantity: parse_quantity(&form.quantity)?,
        tags: parse_tags(&form.tags)?.into_iter().map(Some).collect(),
        import_cost: decimal(parse_price("import_cost", &form.import_cost)?),
        retail_price: decimal(parse_price("retail_price", &form.retail_price)?),
        currency: parse_currency(&form.currency)?,
        // resolved (and created if new) by the caller, inside its transaction
        location_id: None,
    })
}

use crate::platform::format_time as stamp;

fn money(d: &BigDecimal) -> String {
    d.with_scale(2).to_string()
}

impl Item {
    /// The item's settable columns, as they are now.
    pub fn changes(&self) -> ItemChanges {
        ItemChanges {
            name: self.name.clone(),
            description: self.description.clone(),
            category: self.category.clone(),
            material: self.material.clone(),
            colour: self.colour.clone(),
            dimensions: self.dimensions.clone(),
            origin: self.origin.clone(),
            quantity: self.quantity,
            tags: self.tags.clone(),
            import_cost: self.import_cost.clone(),
            retail_price: self.retail_price.clone(),
            currency: self.currency.clone(),
            location_id: self.location_id,
        }
    }

    /// The item as pages show it.
    pub fn into_view(self) -> ItemView {
        ItemView {
            id: self.id,
            name: self.name,
            description: self.description,
            category: self.category,
            material: self.material,
            colour: self.colour,
            dimensions: self.dimensions,
            origin: self.origin,
            quantity: self.quantity,
            location_id: self.location_id,
            location: self.location_path.unwrap_or_default(),
            tags: self.tags.into_iter().flatten().collect(),
            import_cost: self.import_cost.as_ref().map(money),
            retail_price: self.retail_price.as_ref().map(money),
            currency: self.currency,
            created_at: stamp(self.created_at),
            updated_at: stamp(self.updated_at),
            photos: Vec::new(),
            cover: self.cover_id,
        }
    }
}

/// One page of the user's items as the query asks and how many match, without the table's menus
/// (for other pages that show matching items, such as search).
#[tracing::instrument(skip_all, fields(user_id = user_id))]
pub async fn page_items(state: &AppState, user_id: i64, query: &ItemQuery) -> Result<(Vec<ItemView>, i64), AppError> {
    let c = conn_as(&state.db, user_id).await?;
    let found = repo::list_items(&c, user_id, query, query.per_page()).await.map_err(query_failed)?;
    Ok((found.items.into_iter().map(Item::into_view).collect(), found.total))
}

pub async fn create(state: &AppState, user_id: i64, form: &ItemForm) -> Result<ItemView, AppError> {
    let mut changes = check_form(form)?;
    let mut c = conn_as(&state.db, user_id).await?;
    let item = c
        .transaction::<Item, AppError, _>(async |c| {
            changes.location_id = locations::place_for(c, user_id, &form.location).await?;
            Ok(repo::insert_item(c, user_id, &changes).await?)
        })
        .await?;
    tracing::info!(user_id, item_id = item.id, "item created");
    super::embedding::items_changed(state, &mut c, user_id).await;
    Ok(item.into_view())
}

pub async fn get(state: &AppState, user_id: i64, id: i64) -> Result<ItemView, AppError> {
    let mut c = conn_as(&state.db, user_id).await?;
    let item = repo::find_item(&mut c, user_id, id).await.map_err(query_failed)?.ok_or(AppError::NotFound)?;
    let mut view = item.into_view();
    view.photos = super::photos::item_photos(&mut c, state.images.preferred_backend(), user_id, id).await?;
    Ok(view)
}

pub async fn update(state: &AppState, user_id: i64, id: i64, form: &ItemForm) -> Result<ItemView, AppError> {
    let mut changes = check_form(form)?;
    let mut c = conn_as(&state.db, user_id).await?;
    let item = c
        .transaction::<Item, AppError, _>(async |c| {
            // another user's item is "not found" before any place is created
            repo::find_item(c, user_id, id).await?.ok_or(AppError::NotFound)?;
            changes.location_id = locations::place_for(c, user_id, &form.location).await?;
            repo::update_item(c, user_id, id, &changes).await?.ok_or(AppError::NotFound)
        })
        .await?;
    super::embedding::items_changed(state, &mut c, user_id).await;
    Ok(item.into_view())
}

/// Applies an edit that may leave fields out: those keep the item's current values.
pub async fn patch(state: &AppState, user_id: i64, id: i64, patch: ItemPatch) -> Result<ItemView, AppError> {
    let current = {
        let mut c = conn_as(&state.db, user_id).await?;
        let item = repo::find_item(&mut c, user_id, id).await.map_err(query_failed)?.ok_or(AppError::NotFound)?;
        item.into_view()
    };
    update(state, user_id, id, &patch.apply(ItemForm::from_item(&current))).await
}

pub async fn delete(state: &AppState, user_id: i64, id: i64) -> Result<(), AppError> {
    let mut c = conn_as(&state.db, user_id).await?;
    if remove(state, &mut c, user_id, id).await? {
        tracing::info!(user_id, item_id = id, "item deleted");
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// Deletes one of the user's items and then its stored objects; false when there was no such item.
async fn remove(state: &AppState, c: &mut AsyncPgConnection, user_id: i64, id: i64) -> Result<bool, AppError> {
    let keys = super::photos::item_keys(c, user_id, id).await?;
    let deleted = repo::delete_item(c, user_id, id).await.map_err(query_failed)?;
    if deleted {
        // the rows went with the item (ON DELETE CASCADE); now the stored objects and its vector
        super::photos::delete_objects(&state.images, keys).await;
        if let Some(pool) = state.vector.pool() {
            // if the vector database is down the vector stays behind, unseen: search only shows
            // items that are still in the metadata database
            match crate::platform::db::conn_as_reader(pool, user_id, &[]).await {
                Ok(mut vc) => {
                    if let Err(e) = crate::vectors::delete_items(&mut vc, user_id, &[id]).await {
                        tracing::warn!(error = %e, item_id = id, "could not delete the item's vector");
                    }
                }
                Err(e) => tracing::warn!(error = %e, item_id = id, "could not delete the item's vector"),
            }
        }
    }
    Ok(deleted)
}

pub async fn list(state: &AppState, user_id: i64, query: &ItemQuery) -> Result<ItemPage, AppError> {
    let c = conn_as(&state.db, user_id).await?;
    // the page and the menus, all sent at once (pipelined), then the rows' places and photos
    let shared: &AsyncPgConnection = &c;
    let (found, (categories, tags), places) = futures::try_join!(
        repo::list_items(shared, user_id, query, query.per_page()),
        repo::categories_and_tags(shared, user_id),
        locations::for_filter(shared, user_id, query.location),
    )
    .map_err(query_failed)?;
    Ok(ItemPage {
        items: found.items.into_iter().map(Item::into_view).collect(),
        total: found.total,
        total_capped: found.capped,
        has_next: found.has_next,
        page: query.page,
        per_page: query.per_page(),
        categories,
        tags,
        locations: places,
    })
}

/// Applies one change to the user's items among `ids` (others' ids are ignored); the number changed.
pub async fn bulk(state: &AppState, user_id: i64, ids: &[i64], op: &BulkOp) -> Result<u64, AppError> {
    if ids.is_empty() {
        return Err(AppError::validation("ids", "Select one or more items first."));
    }
    if ids.len() > BULK_MAX {
        return Err(AppError::validation("ids", format!("Select at most {BULK_MAX} items at a time.")));
    }
    let mut c = conn_as(&state.db, user_id).await?;
    if *op == BulkOp::Delete {
        let mut n = 0;
        for id in ids {
            if remove(state, &mut c, user_id, *id).await? {
                n += 1;
            }
        }
        tracing::info!(user_id, items = n, "items deleted in bulk");
        return Ok(n);
    }
    let n = c
        .transaction::<u64, AppError, _>(async |c| {
            let items = repo::find_items(c, user_id, ids).await?;
            let place = match op {
                BulkOp::SetLocation(path) => locations::place_for(c, user_id, path).await?,
                _ => None,
            };
            for item in &items {
                let mut changes = item.changes();
                match op {
                    BulkOp::SetCategory(cat) => changes.category = cat.clone(),
                    BulkOp::SetLocation(_) => changes.location_id = place,
                    BulkOp::AddTags(add) => {
                        let mut all: Vec<String> = changes.tags.iter().flatten().cloned().collect();
                        all.extend(add.iter().cloned());
                        changes.tags = parse_tags(&all.join(","))
                            .map_err(|e| match e {
                                AppError::Validation { message, .. } => {
                                    AppError::validation("value", format!("{}: {message}", item.name))
                                }
                                other => other,
                            })?
                            .into_iter()
                            .map(Some)
                            .collect();
                    }
                    BulkOp::RemoveTags(remove) => changes
                        .tags
                        .retain(|t| !t.as_ref().is_some_and(|t| remove.iter().any(|r| r.eq_ignore_ascii_case(t)))),
                    BulkOp::Delete => unreachable!("handled above"),
                }
                repo::update_item(c, user_id, item.id, &changes).await?;
            }
            Ok(items.len() as u64)
        })
        .await?;
    tracing::info!(user_id, items = n, "items changed in bulk");
    super::embedding::items_changed(state, &mut c, user_id).await;
    Ok(n)
}

pub async fn summary(state: &AppState, user_id: i64) -> Result<InventoryStats, AppError> {
    let mut c = conn_as(&state.db, user_id).await?;
    let (totals, values, categories) = repo::summary(&mut c, user_id).await.map_err(query_failed)?;
    let recent = repo::recent_items(&mut c, user_id, 5).await.map_err(query_failed)?;
    let recent: Vec<ItemView> = recent.into_iter().map(Item::into_view).collect();
    let storage = repo::storage_use(&mut c, user_id).await?;
    let mut by_location: Vec<(String, i64)> = locations::items_by_room(&mut c, user_id)
        .await
        .map_err(query_failed)?
        .into_iter()
        .map(|(room, items)| (room.unwrap_or_default(), items))
        .collect();
    by_location.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    by_location.truncate(8);
    Ok(InventoryStats {
        item_count: totals.items,
        total_quantity: totals.quantity,
        value_by_currency: values.iter().map(|v| (v.currency.clone(), money(&v.value))).collect(),
        by_category: categories.into_iter().map(|c| (c.category, c.items)).collect(),
        by_location,
        storage,
        recent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_is_checked_field_by_field() {
        let ok = ItemForm {
            name: " Oak chair ".into(),
            retail_price: "120".into(),
            tags: "oak, chair".into(),
            ..Default::default()
        };
        let c = check_form(&ok).unwrap();
        assert_eq!(c.name, "Oak chair");
        assert_eq!(c.quantity, 1);
        assert_eq!(c.currency, "USD");
        assert_eq!(c.retail_price.as_ref().map(money).as_deref(), Some("120.00"));
        assert_eq!(c.tags, vec![Some("oak".to_owned()), Some("chair".to_owned())]);

        let no_name = ItemForm { name: "  ".into(), ..Default::default() };
        assert_eq!(check_form(&no_name).unwrap_err().field(), Some("name"));
        let bad_price = ItemForm { name: "x".into(), import_cost: "twelve".into(), ..Default::default() };
        assert_eq!(check_form(&bad_price).unwrap_err().field(), Some("import_cost"));
        let bad_qty = ItemForm { name: "x".into(), quantity: "-2".into(), ..Default::default() };
        assert_eq!(check_form(&bad_qty).unwrap_err().field(), Some("quantity"));
    }
}

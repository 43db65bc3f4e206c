//! Location pages: the tree of places, and one place with everything inside it (nested places
//! included), where it can be renamed, moved (its contents go with it) or deleted.

use leptos::prelude::*;
use leptos_meta::Title;

use super::api::{get_location_tree, list_items, CreateLocation, DeleteLocation, MoveLocation, RenameLocation};
use super::types::{ItemPage, ItemQuery, LocationTree, LocationView, SortKey};
use crate::error::AppError;
use crate::widgets::{form_flash, FormError};
use crate::widgets::{id_param, set_error_status, ErrorNotice};

fn count(n: i64) -> String {
    match n {
        1 => "1 item".to_owned(),
        n => format!("{n} items"),
    }
}

fn value(l: &LocationView) -> String {
    l.value_by_currency.iter().map(|(c, v)| format!("{v} {c}")).collect::<Vec<_>>().join(" · ")
}

/// `<option>`s for every place, indented by depth, except those `skip` says no to.
fn place_options(tree: &LocationTree, selected: Option<i64>, skip: impl Fn(i64) -> bool) -> Vec<AnyView> {
    tree.locations
        .iter()
        .filter(|l| !skip(l.id))
        .map(|l| {
            let label = format!("{}{}", "\u{a0}\u{a0}\u{a0}".repeat(l.depth as usize), l.name);
            view! { <option value=l.id.to_string() selected=selected == Some(l.id)>{label}</option> }.into_any()
        })
        .collect()
}

#[component]
pub fn LocationsPage() -> impl IntoView {
    let create = ServerAction::<CreateLocation>::new();
    let tree = Resource::new_blocking(|| (), |_| get_location_tree());
    let flash = form_flash();
    view! {
        <Title text="Locations · Bartleby"/>
        <p class="crumbs"><a href="/inventory">"Inventory"</a> " / "</p>
        <h1>"Locations"</h1>
        <p class="lede">"Where your things are: rooms hold shelves, shelves hold boxes. Moving a box moves what is in it."</p>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let flash = flash.await.unwrap_or_default();
                let typed = flash.text("name");
                let error = flash.error;
                let error = Signal::derive(move || error.clone());
                match tree.await {
                    Ok(tree) => {
                        let unplaced = tree.unplaced;
                        let options = place_options(&tree, None, |_| false);
                        view! {
                        <FormError error=error/>
                        <ActionForm action=create attr:class="filters" attr:aria-label="Add a place">
                            <div class="field grow">
                                <label for="place-name">"New place"</label>
                                <input id="place-name" name="name" value=typed required=true maxlength=100 placeholder="Garage"/>
                            </div>
                            <div class="field">
                                <label for="place-parent">"Inside"</label>
                                <select id="place-parent" name="parent">
                                    <option value="">"(top level)"</option>
                                    {options}
                                </select>
                            </div>
                            <button type="submit" class="primary">"Add place"</button>
                        </ActionForm>
                        <PlaceList tree=tree.clone() parent=None/>
                        {(unplaced > 0).then(|| view! {
                            <p class="muted" data-testid="unplaced">{format!("{} not in any place.", count(unplaced))}</p>
                        })}
                    }
                    .into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The places below `parent` (all levels), as an indented table.
#[component]
fn PlaceList(tree: LocationTree, parent: Option<i64>) -> impl IntoView {
    let base = parent.and_then(|p| tree.get(p)).map(|p| p.depth + 1).unwrap_or(0);
    let rows: Vec<LocationView> =
        tree.locations.iter().filter(|l| parent.is_none_or(|p| l.id != p && tree.within(p, l.id))).cloned().collect();
    if rows.is_empty() {
        return view! { <p class="notice">"No places here yet."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="items places" data-testid="places">
                <thead>
                    <tr>
                        <th scope="col">"Place"</th>
                        <th scope="col" class="num">"Items"</th>
                        <th scope="col" class="num">"Pieces"</th>
                        <th scope="col" class="num">"Value"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|l| {
                            // a class per depth, not a style attribute: the CSP allows no inline styles
                            let indent = format!("depth-{}", (l.depth - base).clamp(0, 12));
                            let v = value(&l);
                            view! {
                                <tr>
                                    <td class=indent><a href=format!("/inventory/locations/{}", l.id)>{l.name.clone()}</a></td>
                                    <td class="num">{l.items}</td>
                                    <td class="num">{l.quantity}</td>
                                    <td class="num">{v}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

async fn place_items(id: Option<i64>) -> Result<ItemPage, AppError> {
    match id {
        Some(id) => {
            list_items(ItemQuery { location: Some(id), sort: SortKey::Location, desc: false, ..ItemQuery::default() })
                .await
        }
        None => Err(AppError::NotFound),
    }
}

#[component]
pub fn LocationPage() -> impl IntoView {
    let id = id_param();
    let rename = ServerAction::<RenameLocation>::new();
    let moved = ServerAction::<MoveLocation>::new();
    let create = ServerAction::<CreateLocation>::new();
    let delete = ServerAction::<DeleteLocation>::new();
    let tree = Resource::new_blocking(|| (), |_| get_location_tree());
    let items = Resource::new_blocking(move || id.get(), place_items);
    let flash = form_flash();
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let flash = flash.await.unwrap_or_default();
                // a refused name comes back in the field it was typed in
                let (typed_inner, typed_rename) = match flash.text("form").as_deref() {
                    Some("create") => (flash.text("name"), None),
                    Some("rename") => (None, flash.text("name")),
                    _ => (None, None),
                };
                let error = flash.error;
                let error = Signal::derive(move || error.clone());
                let (tree, items) = match (tree.await, items.await) {
                    (Ok(t), Ok(i)) => (t, i),
                    (Err(e), _) | (_, Err(e)) => return view! { <ErrorNotice error=e/> }.into_any(),
                };
                let Some(place) = id.get_untracked().and_then(|id| tree.get(id)).cloned() else {
                    set_error_status(&AppError::NotFound);
                    return view! {
                        <section class="notice">
                            <h1>"Place not found"</h1>
                            <p>"There is no such place among your locations. It may have been deleted."</p>
                            <p><a href="/inventory/locations">"All locations"</a></p>
                        </section>
                    }
                    .into_any();
                };
                let ancestors: Vec<(i64, String)> = tree.ancestors(place.id).iter().map(|a| (a.id, a.name.clone())).collect();
                let up = ancestors.last().map(|(_, n)| n.clone()).unwrap_or_else(|| "the top level".into());
                let inside = tree.children(Some(place.id)).len();
                let v = value(&place);
                let all_href = ItemQuery { location: Some(place.id), ..ItemQuery::default() }.href();
                let shown = items.items.len();
                let move_options = place_options(&tree, place.parent_id, |l| tree.within(place.id, l));
                let title = format!("{} · Locations · Bartleby", place.name);
                let current_name = place.name.clone();
                let delete_label = format!("Delete {}", place.name);
                view! {
                    <Title text=title/>
                    <p class="crumbs">
                        <a href="/inventory">"Inventory"</a> " / " <a href="/inventory/locations">"Locations"</a> " / "
                        {ancestors
                            .into_iter()
                            .map(|(id, name)| view! { <a href=format!("/inventory/locations/{id}")>{name}</a> " / " })
                            .collect_view()}
                    </p>
                    <h1 data-testid="place-name">{place.name.clone()}</h1>
                    <p class="lede" data-testid="place-figures">
                        {format!(
                            "{} ({} directly here) · {} pieces{}",
                            count(place.items),
                            place.own_items,
                            place.quantity,
                            if v.is_empty() { String::new() } else { format!(" · worth {v}") },
                        )}
                    </p>
                    <FormError error=error/>
                    <h2>"Places inside"</h2>
                    <PlaceList tree=tree.clone() parent=Some(place.id)/>
                    <h2>"Items here and below"</h2>
                    {if shown == 0 {
                        view! { <p class="notice">"Nothing is kept here yet. Set an item's location to put it here."</p> }.into_any()
                    } else {
                        view! {
                            <div class="table-wrap">
                                <table class="items" data-testid="place-items">
                                    <thead><tr><th scope="col">"Name"</th><th scope="col">"Where"</th><th scope="col" class="num">"Qty"</th></tr></thead>
                                    <tbody>
                                        {items.items.into_iter().map(|i| view! {
                                            <tr>
                                                <td><a href=format!("/inventory/{}", i.id)>{i.name}</a></td>
                                                <td>{i.location}</td>
                                                <td class="num">{i.quantity}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <p><a href=all_href>{format!("Show {} in the inventory table", if items.total as usize > shown { format!("all {}", count(items.total)) } else { "them".to_owned() })}</a></p>
                        }.into_any()
                    }}
                    <h2>"Change this place"</h2>
                    <div class="manage">
                        <ActionForm action=create attr:class="filters" attr:aria-label="Add a place inside">
                            <input type="hidden" name="parent" value=place.id.to_string()/>
                            <div class="field grow">
                                <label for="inner-name">"Add a place inside"</label>
                                <input id="inner-name" name="name" value=typed_inner required=true maxlength=100 placeholder="Box 1"/>
                            </div>
                            <button type="submit">"Add"</button>
                        </ActionForm>
                        <ActionForm action=rename attr:class="filters" attr:aria-label="Rename">
                            <input type="hidden" name="id" value=place.id/>
                            <div class="field grow">
                                <label for="place-rename">"Name"</label>
                                <input id="place-rename" name="name" value=typed_rename.unwrap_or(current_name) required=true maxlength=100/>
                            </div>
                            <button type="submit">"Rename"</button>
                        </ActionForm>
                        <ActionForm action=moved attr:class="filters" attr:aria-label="Move">
                            <input type="hidden" name="id" value=place.id/>
                            <div class="field grow">
                                <label for="place-move">"Move into"</label>
                                <select id="place-move" name="parent">
                                    <option value="" selected=place.parent_id.is_none()>"(top level)"</option>
                                    {move_options}
                                </select>
                            </div>
                            <button type="submit">"Move"</button>
                        </ActionForm>
                        <details class="confirm">
                            <summary>"Delete this place…"</summary>
                            <p>
                                {format!(
                                    "Nothing inside is deleted: the {} directly in it and the {} inside it move up to {up}.",
                                    count(place.own_items),
                                    match inside { 1 => "1 place".to_owned(), n => format!("{n} places") },
                                )}
                            </p>
                            <ActionForm action=delete attr:class="actions" attr:aria-label="Confirm deletion">
                                <input type="hidden" name="id" value=place.id/>
                                <button type="submit" class="danger">{delete_label.clone()}</button>
                            </ActionForm>
                        </details>
                    </div>
                }
                .into_any()
            })}
        </Suspense>
    }
}

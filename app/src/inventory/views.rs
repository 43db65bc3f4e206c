//! Inventory pages: the table, an item, and the create/edit/delete forms. The table's state lives
//! in the URL and its controls are plain links and GET forms; "select all" is an island.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use super::api::{get_item, item_suggestions, list_items, BulkEdit, CreateItem, DeleteItem, DeletePhoto, UpdateItem};
use super::types::{ItemForm, ItemPage, ItemQuery, ItemView, SortKey, Suggestions, PAGE_SIZES};
use crate::error::AppError;
use crate::upload::{Refusal, Upload, UploadWatch};
use crate::widgets::{form_flash, FormError, FormFlash};
use crate::widgets::{id_param, set_error_status, ErrorNotice, LiveRegions};

fn current_query() -> Memo<ItemQuery> {
    let query = use_query_map();
    Memo::new(move |_| {
        let map = query.read();
        ItemQuery::from_pairs(|k| map.get(k))
    })
}

fn price(item: &ItemView) -> String {
    item.retail_price.as_ref().map(|p| format!("{p} {}", item.currency)).unwrap_or_default()
}

#[component]
pub fn InventoryPage() -> impl IntoView {
    let query = current_query();
    let bulk = ServerAction::<BulkEdit>::new();
    let page = Resource::new_blocking(move || query.get(), list_items);
    let flash = form_flash();
    view! {
        <Title text="Inventory · Bartleby"/>
        <div class="page-head">
            <h1>"Inventory"</h1>
            <div class="actions">
                // on a phone behind one button (see `details.panel` in the style sheet)
                <details class="panel more-panel">
                    <summary class="button">"More…"</summary>
                    <div class="actions">
                        // a plain form: the answer is a file download
                        <form method="post" action="/api/inventory/export" class="inline export">
                            <select name="format" aria-label="Export as">
                                <option value="csv">"CSV"</option>
                                <option value="xlsx">"Excel (XLSX)"</option>
                                <option value="json">"JSON"</option>
                                <option value="zip">"ZIP with photos"</option>
                            </select>
                            <button type="submit">"Export"</button>
                        </form>
                        <a href="/inventory/import" class="button">"Import CSV"</a>
                        <a href="/inventory/locations" class="button">"Locations"</a>
                    </div>
                </details>
                <a href="/inventory/new" class="button primary">"Add item"</a>
            </div>
        </div>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let flash = flash.await.unwrap_or_default();
                match page.await {
                    Ok(p) => view! { <InventoryTable page=p query=query.get_untracked() bulk flash/> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The inventory page's body: the filters, the count, the bulk bar and the rows in one form (the
/// rows' checkboxes are its fields), and the pager.
#[component]
fn InventoryTable(page: ItemPage, query: ItemQuery, bulk: ServerAction<BulkEdit>, flash: FormFlash) -> impl IntoView {
    let filtered = query.is_filtered();
    let count = match page.total {
        n if page.total_capped => format!("More than {n} items"),
        0 => "No items".to_owned(),
        1 => "1 item".to_owned(),
        n => format!("{n} items"),
    };
    let pages = (!page.total_capped).then(|| page.pages());
    let (number, has_next) = (page.page, page.has_next);
    let (back, rows_query, pager_query) = (query.href(), query.clone(), query.clone());
    let ItemPage { items, categories, tags, locations, .. } = page;
    let checked: Vec<i64> =
        flash.values.get("ids").and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default();
    // a phone shows the filters and the bulk bar behind a button each; open when in use
    // a refused bulk change shows its reason in the bulk bar; any other (an export) at the top
    let from_bulk = flash.values.get("op").is_some();
    let other_error = if from_bulk { None } else { flash.error.clone() };
    let flash = if from_bulk { flash } else { FormFlash::default() };
    let bulk_open = flash.error.is_some() || use_query_map().read_untracked().get("changed").is_some();
    view! {
        {other_error.map(|e| view! { <FormError error=Signal::derive(move || Some(e.clone()))/> })}
        <details class="panel filters-panel" open=filtered>
            <summary class="button">{if filtered { "Search and filters (on)" } else { "Search and filters" }}</summary>
            <Filters query=query.clone() categories tags locations/>
        </details>
        <div class="count-bar">
            <p class="muted" data-testid="item-count" role="status">{count}</p>
            <ViewSwitch query=query.clone()/>
        </div>
        {if items.is_empty() {
            if filtered {
                view! { <p class="notice">"No items match these filters."</p> }.into_any()
            } else {
                view! {
                    <div class="notice">
                        <p>"Nothing here yet. Add the first thing you want to keep track of."</p>
                        <a href="/inventory/new">"Add an item"</a>
                    </div>
                }
                    .into_any()
            }
        } else {
            view! {
                <ActionForm action=bulk attr:class="bulk" attr:id="bulk-form" attr:aria-label="Change the selected items">
                    <details class="panel bulk-panel" open=bulk_open>
                        <summary class="button">"Select and change several…"</summary>
                        <BulkBar back flash/>
                    </details>
                    {if rows_query.grid {
                        view! { <Tiles items query=rows_query checked/> }.into_any()
                    } else {
                        view! { <Rows items query=rows_query checked/> }.into_any()
                    }}
                </ActionForm>
            }
                .into_any()
        }}
        <Pager query=pager_query number has_next pages/>
    }
}

/// The search box and the category, tag and location menus (a plain GET form: links work).
#[component]
fn Filters(
    query: ItemQuery,
    categories: Vec<String>,
    tags: Vec<String>,
    locations: Vec<(i64, String)>,
) -> impl IntoView {
    let filtered = query.is_filtered();
    view! {
        <Form method="GET" action="/inventory" attr:class="filters" attr:id="inventory-filters" attr:role="search" attr:aria-label="Filter items">
            <div class="field grow">
                <label for="inv-q">"Search"</label>
                <input id="inv-q" type="search" name="q" value=query.q.clone() placeholder="Name, description or tag"/>
            </div>
            <div class="field">
                <label for="inv-category">"Category"</label>
                <select id="inv-category" name="category">
                    <option value="" selected=query.category.is_empty()>"All categories"</option>
                    {categories
                        .into_iter()
                        .map(|c| {
                            let selected = c == query.category;
                            let label = c.clone();
                            view! { <option value=c selected=selected>{label}</option> }
                        })
                        .collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="inv-tag">"Tag"</label>
                <select id="inv-tag" name="tag">
                    <option value="" selected=query.tag.is_empty()>"All tags"</option>
                    {tags
                        .into_iter()
                        .map(|t| {
                            let selected = t == query.tag;
                            let label = t.clone();
                            view! { <option value=t selected=selected>{label}</option> }
                        })
                        .collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="inv-location">"Location"</label>
                <select id="inv-location" name="location">
                    <option value="" selected=query.location.is_none()>"Everywhere"</option>
                    {locations
                        .into_iter()
                        .map(|(id, path)| {
                            view! { <option value=id.to_string() selected=query.location == Some(id)>{path}</option> }
                        })
                        .collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="inv-per">"Rows a page"</label>
                <select id="inv-per" name="per">
                    {PAGE_SIZES
                        .into_iter()
                        .map(|n| view! { <option value=n.to_string() selected=query.per_page() == n>{n}</option> })
                        .collect_view()}
                </select>
            </div>
            <input type="hidden" name="sort" value=query.sort.as_str()/>
            <input type="hidden" name="dir" value=if query.desc { "desc" } else { "asc" }/>
            {query.grid.then(|| view! { <input type="hidden" name="view" value="grid"/> })}
            // once the page is live a menu applies as soon as it changes; the button stays for the
            // search box and for a browser without JavaScript
            <button type="submit">"Apply"</button>
            <SubmitOnChange form_id="inventory-filters".to_owned()/>
            {filtered.then(|| view! { <a href=query.cleared().href() class="button">"Clear"</a> })}
        </Form>
    }
}

/// What to do with the selected items, and how the last change went: `?changed=` after a change,
/// or the error with the form as it was sent.
#[component]
fn BulkBar(back: String, flash: FormFlash) -> impl IntoView {
    let params = use_query_map();
    let error = flash.error.clone();
    let done = {
        let params = params.read_untracked();
        let n = params.get("changed").and_then(|n| n.parse::<u64>().ok());
        let imported = params.get("imported").and_then(|n| n.parse::<u64>().ok());
        match (n, imported) {
            (Some(0), _) => Some("No items changed.".to_owned()),
            (Some(n), _) => Some(format!("{} changed.", crate::format::count(n as u32, "item", "items"))),
            (None, Some(n)) => Some(format!("{} imported.", crate::format::count(n as u32, "item", "items"))),
            (None, None) => None,
        }
    };
    let op = flash.text("op").unwrap_or_default();
    let ops = [
        ("", "Choose…"),
        ("set_category", "Set category to"),
        ("set_location", "Move to location"),
        ("add_tags", "Add tags"),
        ("remove_tags", "Remove tags"),
        ("delete", "Delete"),
    ];
    view! {
        <div class="bulk-bar">
            <div class="field">
                <label for="bulk-op">"With the selected items"</label>
                <select id="bulk-op" name="op">
                    {ops.into_iter().map(|(v, label)| view! { <option value=v selected=op == v>{label}</option> }).collect_view()}
                </select>
            </div>
            <div class="field grow">
                <label for="bulk-value">"Category, location or tags"</label>
                <input id="bulk-value" name="value" value=flash.text("value") placeholder="Furniture · Garage / Shelf 1 · vintage, oak"/>
            </div>
            <label class="check">
                <input type="checkbox" name="confirm" value="yes"/>
                " Yes, delete them"
            </label>
            <input type="hidden" name="back" value=back/>
            <button type="submit">"Change selected"</button>
            <SelectedCount form_id="bulk-form".to_owned()/>
        </div>
        <FormError error=Signal::derive(move || error.clone())/>
        <p class="muted" role="status" data-testid="bulk-status">{done}</p>
    }
}

/// The items of this page, with sortable column headers and a checkbox each.
#[component]
fn Rows(items: Vec<ItemView>, query: ItemQuery, checked: Vec<i64>) -> impl IntoView {
    let header = move |key: SortKey, label: &'static str| {
        let (aria, arrow) = sort_mark(&query, key);
        view! {
            <th scope="col" aria-sort=aria>
                <a href=query.sorted_by(key).href()>{label}{arrow}</a>
            </th>
        }
    };
    view! {
        <div class="table-wrap">
            <table class="items inventory">
                <thead>
                    <tr>
                        <th scope="col" class="select">
                            <SelectAll/>
                        </th>
                        <th scope="col" class="photo"><span class="visually-hidden">"Photo"</span></th>
                        {header(SortKey::Name, "Name")}
                        {header(SortKey::Category, "Category")}
                        <th scope="col">"Tags"</th>
                        {header(SortKey::Location, "Location")}
                        {header(SortKey::Quantity, "Qty")}
                        {header(SortKey::RetailPrice, "Retail price")}
                        {header(SortKey::Updated, "Updated")}
                    </tr>
                </thead>
                <tbody>
                    {items
                        .into_iter()
                        .enumerate()
                        .map(|(i, item)| {
                            let price = price(&item);
                            let href = format!("/inventory/{}", item.id);
                            let was_checked = checked.contains(&item.id);
                            view! {
                                <tr>
                                    <td class="select">
                                        <SelectBox index=i item=item.id name=item.name.clone() checked=was_checked/>
                                    </td>
                                    <td class="photo">
                                        {item.cover.map(|t| view! { <img src=format!("/media/{t}") alt="" width="48" height="48" loading="lazy"/> })}
                                    </td>
                                    <td class="name"><a href=href>{item.name}</a></td>
                                    <td class="category">{item.category}</td>
                                    <td class="tags">{item.tags.join(", ")}</td>
                                    <td class="place">
                                        {item.location_id.map(|l| view! { <a href=format!("/inventory/locations/{l}")>{item.location.clone()}</a> })}
                                    </td>
                                    <td class="num qty">{item.quantity}</td>
                                    <td class="num price">{price}</td>
                                    <td class="muted updated">{item.updated_at}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// "Show as: Table | Photos", keeping the filters, the order and the page.
#[component]
fn ViewSwitch(query: ItemQuery) -> impl IntoView {
    let link = move |grid: bool, label: &'static str| {
        let current = (query.grid == grid).then_some("page");
        view! { <a href=query.shown_as(grid).href() aria-current=current>{label}</a> }
    };
    view! {
        <nav class="view-switch" aria-label="Show the items as">
            {link(false, "Table")}
            {link(true, "Photos")}
        </nav>
    }
}

/// The items as a grid of photos: each tile its thumbnail (or a blank), name, place and quantity,
/// with the same checkbox as a table row (the bulk changes work the same), and the table's sort
/// orders as links above it.
#[component]
fn Tiles(items: Vec<ItemView>, query: ItemQuery, checked: Vec<i64>) -> impl IntoView {
    let sort = move |key: SortKey, label: &'static str| {
        let (_, arrow) = sort_mark(&query, key);
        view! { <a href=query.sorted_by(key).href() aria-current=(query.sort == key).then_some("true")>{label}{arrow}</a> }
    };
    view! {
        <nav class="tile-sort" aria-label="Sort the items">
            <span class="muted">"Sort by"</span>
            {sort(SortKey::Name, "Name")}
            {sort(SortKey::Category, "Category")}
            {sort(SortKey::Location, "Location")}
            {sort(SortKey::Quantity, "Qty")}
            {sort(SortKey::RetailPrice, "Retail price")}
            {sort(SortKey::Updated, "Updated")}
        </nav>
        <ul class="tiles" data-testid="tiles">
            {items
                .into_iter()
                .enumerate()
                .map(|(i, item)| {
                    let href = format!("/inventory/{}", item.id);
                    let was_checked = checked.contains(&item.id);
                    let quantity = (item.quantity != 1).then(|| format!("× {}", item.quantity));
                    view! {
                        <li class="tile">
                            <a href=href.clone() class="tile-photo" tabindex="-1" aria-hidden="true">
                                {match item.cover {
                                    Some(t) => view! { <img src=format!("/media/{t}") alt="" width="256" height="256" loading="lazy"/> }.into_any(),
                                    None => view! { <span class="no-photo">"No photo"</span> }.into_any(),
                                }}
                            </a>
                            <div class="tile-text">
                                <SelectBox index=i item=item.id name=item.name.clone() checked=was_checked/>
                                <a href=href class="tile-name">{item.name}</a>
                                <span class="muted tile-place">{item.location}</span>
                                {quantity.map(|q| view! { <span class="tile-qty">{q}</span> })}
                            </div>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

/// How the items are sorted by `key`: its `aria-sort` and the arrow after its label.
fn sort_mark(query: &ItemQuery, key: SortKey) -> (&'static str, &'static str) {
    match (query.sort == key, query.desc) {
        (false, _) => ("none", ""),
        (true, true) => ("descending", " ↓"),
        (true, false) => ("ascending", " ↑"),
    }
}

/// A row's or a tile's checkbox, the `index`th field `ids[…]` of the bulk form. Its label is the
/// hit area (a whole table cell; 44 px on a phone).
#[component]
fn SelectBox(index: usize, item: i64, name: String, checked: bool) -> impl IntoView {
    view! {
        <label class="hit">
            <input
                type="checkbox"
                name=format!("ids[{index}]")
                value=item
                aria-label=format!("Select {name}")
                checked=checked
            />
        </label>
    }
}

/// Applies the form `form_id` as soon as one of its menus changes.
#[island]
fn SubmitOnChange(form_id: String) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        if let Some(form) =
            document().get_element_by_id(&form_id).and_then(|f| f.dyn_into::<web_sys::HtmlFormElement>().ok())
        {
            let f = form.clone();
            crate::widgets::listen(&form, "change", move |ev: web_sys::Event| {
                let is_menu = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok()).is_some();
                if is_menu {
                    let _ = f.request_submit();
                }
            });
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = form_id;
}

/// "n selected": how many rows of the form `form_id` are ticked, as they are ticked.
#[island]
fn SelectedCount(form_id: String) -> impl IntoView {
    let count = RwSignal::new(0u32);
    #[cfg(feature = "hydrate")]
    {
        if let Some(form) = document().get_element_by_id(&form_id) {
            let f = form.clone();
            let recount = move || {
                let n =
                    f.query_selector_all(r#"input[type="checkbox"][name^="ids["]:checked"#).map_or(0, |l| l.length());
                count.set(n);
            };
            recount();
            crate::widgets::listen(&form, "change", move |_: web_sys::Event| recount());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = form_id;
    view! {
        <span class="selected-count" role="status" data-testid="selected-count">
            {move || match count.get() {
                0 => String::new(),
                n => format!("{n} selected"),
            }}
        </span>
    }
}

/// The "select all on this page" checkbox: ticks or clears every row's checkbox in its form.
#[island]
fn SelectAll() -> impl IntoView {
    let toggle = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use leptos::wasm_bindgen::JsCast;
            let checked = event_target_checked(&ev);
            let boxes = event_target::<web_sys::Element>(&ev)
                .closest("form")
                .ok()
                .flatten()
                .and_then(|form| form.query_selector_all(r#"input[type="checkbox"][name^="ids["]"#).ok());
            for i in 0..boxes.as_ref().map_or(0, |b| b.length()) {
                if let Some(input) =
                    boxes.as_ref().and_then(|b| b.item(i)).and_then(|n| n.dyn_into::<web_sys::HtmlInputElement>().ok())
                {
                    input.set_checked(checked);
                }
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    view! {
        <label class="hit">
            <input type="checkbox" aria-label="Select all on this page" on:change=toggle/>
        </label>
    }
}

/// Previous and next pages, when there are any (`pages` is unknown when the count was capped).
#[component]
fn Pager(query: ItemQuery, number: u32, has_next: bool, pages: Option<u32>) -> impl IntoView {
    let prev = (number > 1).then(|| query.at_page(number - 1).href());
    let next = has_next.then(|| query.at_page(number + 1).href());
    let of_pages = pages.map(|p| format!(" of {p}")).unwrap_or_default();
    (number > 1 || has_next).then(|| {
        view! {
            <nav class="pager" aria-label="Pages">
                {prev.map(|h| view! { <a href=h rel="prev">"← Previous"</a> })}
                <span>{format!("Page {number}{of_pages}")}</span>
                {next.map(|h| view! { <a href=h rel="next">"Next →"</a> })}
            </nav>
        }
    })
}

async fn load_item(id: Option<i64>) -> Result<ItemView, AppError> {
    match id {
        Some(id) => get_item(id).await,
        None => Err(AppError::NotFound),
    }
}

#[component]
fn ItemMissing(error: AppError) -> impl IntoView {
    set_error_status(&error);
    if error == AppError::NotFound {
        view! {
            <section class="notice">
                <h1>"Item not found"</h1>
                <p>"There is no such item in your inventory. It may have been deleted."</p>
                <p><a href="/inventory">"Back to the inventory"</a></p>
            </section>
        }
        .into_any()
    } else {
        view! { <ErrorNotice error=error/> }.into_any()
    }
}

#[component]
pub fn ItemPage() -> impl IntoView {
    let id = id_param();
    let item = Resource::new_blocking(move || id.get(), load_item);
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match item.await {
                    Ok(item) => view! { <ItemDetails item=item/> }.into_any(),
                    Err(e) => view! { <ItemMissing error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ItemDetails(item: ItemView) -> impl IntoView {
    let row =
        |label: &'static str, value: String| (!value.is_empty()).then(|| view! { <dt>{label}</dt><dd>{value}</dd> });
    let money = |v: &Option<String>| v.as_ref().map(|p| format!("{p} {}", item.currency)).unwrap_or_default();
    view! {
        <Title text=format!("{} · Bartleby", item.name)/>
        <p class="crumbs"><a href="/inventory">"Inventory"</a> " / "</p>
        <div class="page-head">
            <h1 data-testid="item-name">{item.name.clone()}</h1>
            <div class="actions">
                <a href=format!("/inventory/{}/edit", item.id) class="button">"Edit"</a>
                <a href=format!("/inventory/{}/delete", item.id) class="button danger">"Delete"</a>
            </div>
        </div>
        {(!item.description.is_empty()).then(|| view! { <p class="description">{item.description.clone()}</p> })}
        <Photos item_id=item.id name=item.name.clone() photos=item.photos.clone()/>
        <dl class="details">
            {row("Category", item.category.clone())}
            {item.location_id.map(|l| view! {
                <dt>"Location"</dt>
                <dd data-testid="item-location"><a href=format!("/inventory/locations/{l}")>{item.location.clone()}</a></dd>
            })}
            {row("Quantity", item.quantity.to_string())}
            {row("Material", item.material.clone())}
            {row("Colour", item.colour.clone())}
            {row("Dimensions", item.dimensions.clone())}
            {row("Origin", item.origin.clone())}
            {row("Tags", item.tags.join(", "))}
            {row("Import cost", money(&item.import_cost))}
            {row("Retail price", money(&item.retail_price))}
            {row("Added", item.created_at.clone())}
            {row("Updated", item.updated_at.clone())}
        </dl>
    }
}

#[component]
fn Photos(item_id: i64, name: String, photos: Vec<super::types::PhotoView>) -> impl IntoView {
    let query = use_query_map();
    let error = move || {
        let q = query.read();
        Refusal::from_query(|k| q.get(k), "photo_error").map(|r| r.message(Upload::Photos))
    };
    let added = move || {
        query.read().get("photos_added").and_then(|n| n.parse::<u32>().ok()).filter(|n| *n > 0).map(|n| match n {
            1 => "1 photo added.".to_owned(),
            n => format!("{n} photos added."),
        })
    };
    let delete = ServerAction::<DeletePhoto>::new();
    let count = photos.len();
    // thumbnails first, then the words on the photos: the gallery follows both
    let reading = photos.iter().any(|p| p.text.is_none());
    let making = reading || photos.iter().any(|p| p.thumb_256.is_none() || p.thumb_1024.is_none());
    let words: Vec<String> = photos.iter().filter_map(|p| p.text.clone()).filter(|t| !t.is_empty()).collect();
    let fallen_back = photos.iter().find(|p| p.backend != p.preferred_backend).map(|p| {
        let provider = match p.preferred_backend.as_str() {
            "vercel" => "Vercel Blob",
            "s3" => "S3",
            other => other,
        };
        format!(
            "Some photos are kept on this server's disk for now: {provider} did not answer when they were uploaded. \
             They are safe and shown as usual."
        )
    });
    view! {
        <section class="photos" aria-labelledby="photos-title">
            <h2 id="photos-title">"Photos"</h2>
            <p class="form-error" role="alert" data-testid="photo-error" hidden=move || error().is_none()>{error}</p>
            <p class="muted" role="status" data-testid="photo-status">{added}</p>
            {fallen_back.map(|m| view! { <p class="notice" data-testid="photo-fallback">{m}</p> })}
            // a tile shows the small thumbnail, never the original; until the thumbnails are made
            // (moments after an upload) it says so and the gallery follows them
            <div id="photo-gallery" data-pending=making.then_some("")>
            {(count > 0)
                .then(|| {
                    let lightboxes = photos.clone();
                    view! {
                        <ul class="gallery">
                            {photos
                                .into_iter()
                                .enumerate()
                                .map(|(i, p)| {
                                    let alt = format!("Photo {} of {}", i + 1, name);
                                    // shown once both sizes are made: the tile opens the large one
                                    let tile = match p.thumb_256.filter(|_| p.thumb_1024.is_some()) {
                                        Some(t) => view! {
                                            <a href=format!("#photo-{}", i + 1) aria-label=format!("Open photo {} of {count}", i + 1)>
                                                <img src=format!("/media/{t}") alt=alt width="140" height="140" loading="lazy" data-testid="photo"/>
                                            </a>
                                        }
                                        .into_any(),
                                        // (if making it failed, the tile still leads to the photo)
                                        None => view! {
                                            <a href=format!("/media/{}", p.id) aria-label=alt>
                                                <span class="thumb-pending">"Making the thumbnail…"</span>
                                            </a>
                                        }
                                        .into_any(),
                                    };
                                    view! {
                                        <li>
                                            {tile}
                                            <ActionForm action=delete attr:class="inline">
                                                <input type="hidden" name="photo_id" value=p.id/>
                                                <button type="submit" class="link">"Remove"</button>
                                            </ActionForm>
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                        <Lightboxes photos=lightboxes name=name.clone()/>
                    }
                })}
            {(!words.is_empty()).then(|| view! {
                <h3>"Words on its photos"</h3>
                <ul class="photo-text" data-testid="photo-text">
                    {words.into_iter().map(|t| view! { <li>{t}</li> }).collect_view()}
                </ul>
                <p class="hint">"Read by OCR, so they may hold mistakes; the table's search finds the item by them."</p>
            })}
            {reading.then(|| view! { <p class="muted" data-testid="photo-reading">"Reading the words on its photos…"</p> })}
            </div>
            {making.then(|| view! { <LiveRegions ids=vec!["photo-gallery".to_owned()] reload_when_done=false/> })}
            <form
                method="post"
                action=format!("/inventory/{item_id}/photos")
                enctype="multipart/form-data"
                class="upload"
                id="photo-upload"
            >
                <label for="photo-input" class="dropzone">
                    <span>"Drop photos here, or choose files (JPEG, PNG, WebP or HEIC)"</span>
                    <input id="photo-input" type="file" name="photos" accept="image/jpeg,image/png,image/webp,image/heic,image/heif,.heic,.heif" multiple=true/>
                </label>
                <button type="submit">"Upload photos"</button>
            </form>
            <UploadWatch form_id="photo-upload".to_owned() regions=vec!["photo-gallery".to_owned()]/>
        </section>
    }
}

/// Each photo large, over the page, opened by its tile's `#photo-N` link (the `:target`; no
/// JavaScript), with the previous and next photo, the original, and a way back.
#[component]
fn Lightboxes(photos: Vec<super::types::PhotoView>, name: String) -> impl IntoView {
    let count = photos.len();
    photos
        .into_iter()
        .enumerate()
        .filter_map(|(i, p)| p.thumb_1024.map(|large| (i + 1, p.id, large)))
        .map(|(n, original, large)| {
            let alt = format!("Photo {n} of {name}");
            let label = alt.clone();
            view! {
                <div class="lightbox" id=format!("photo-{n}") role="dialog" aria-label=label>
                    <a href="#photos-title" class="lightbox-backdrop" aria-hidden="true" tabindex="-1"></a>
                    <figure>
                        <img src=format!("/media/{large}") alt=alt loading="lazy"/>
                        <figcaption>
                            {(n > 1).then(|| view! { <a href=format!("#photo-{}", n - 1)>"← Previous"</a> })}
                            <span>{format!("{n} of {count}")}</span>
                            {(n < count).then(|| view! { <a href=format!("#photo-{}", n + 1)>"Next →"</a> })}
                            <a href=format!("/media/{original}") target="_blank" rel="noopener">"Original"</a>
                            <a href="#photos-title" class="button">"Close"</a>
                        </figcaption>
                    </figure>
                </div>
            }
        })
        .collect_view()
}

/// The create/edit form. Field names are `form[...]`: the server functions take an `ItemForm`.
type SuggestionsResource = Resource<Result<Suggestions, AppError>>;

/// The user's categories and tags. Create it at the top of a page, never inside a Suspense (a
/// resource made while a Suspense resolves may be numbered differently in the browser).
fn suggestions() -> SuggestionsResource {
    Resource::new(|| (), |_| item_suggestions())
}

#[component]
fn ItemFields(initial: ItemForm, error: Signal<Option<AppError>>, suggestions: SuggestionsResource) -> impl IntoView {
    let invalid = move |name: &'static str| {
        move || (error.get().and_then(|e| e.field().map(|f| f == name)) == Some(true)).to_string()
    };
    let text = move |name: &'static str, label: &'static str, value: String, list: Option<&'static str>| {
        view! {
            <div class="field">
                <label for=format!("item-{name}")>{label}</label>
                <input
                    id=format!("item-{name}")
                    name=format!("form[{name}]")
                    value=value
                    list=list
                    aria-invalid=invalid(name)
                />
            </div>
        }
    };
    view! {
        <div class="field">
            <label for="item-name">"Name"</label>
            <input id="item-name" name="form[name]" value=initial.name.clone() required=true maxlength=200 aria-invalid=invalid("name")/>
        </div>
        <div class="field">
            <label for="item-description">"Description"</label>
            // a textarea's content is written unescaped by the renderer: escape it here
            <textarea id="item-description" name="form[description]" rows=4 aria-invalid=invalid("description")>
                {crate::raw_text_content(initial.description.clone())}
            </textarea>
        </div>
        <div class="grid-2">
            {text("category", "Category", initial.category.clone(), Some("category-suggestions"))}
            <div class="field">
                <label for="item-quantity">"Quantity"</label>
                <input id="item-quantity" name="form[quantity]" inputmode="numeric" value=initial.quantity.clone() aria-invalid=invalid("quantity")/>
            </div>
            {text("material", "Material", initial.material.clone(), None)}
            {text("colour", "Colour", initial.colour.clone(), None)}
            {text("dimensions", "Dimensions", initial.dimensions.clone(), None)}
            {text("origin", "Origin", initial.origin.clone(), None)}
        </div>
        <div class="field">
            <label for="item-location">"Location"</label>
            <input
                id="item-location"
                name="form[location]"
                value=initial.location.clone()
                list="location-suggestions"
                placeholder="Kitchen / Shelf 2 / Blue box"
                aria-describedby="location-hint"
                aria-invalid=invalid("location")
            />
            <p class="hint" id="location-hint">"Where it is, outermost place first, levels separated by “/”. New places are created as you type them."</p>
        </div>
        <div class="field">
            <label for="item-tags">"Tags"</label>
            <input id="item-tags" name="form[tags]" value=initial.tags.clone() aria-describedby="tags-hint tags-known" aria-invalid=invalid("tags")/>
            <p class="hint" id="tags-hint">"Separate tags with commas."</p>
            // One boundary reads the suggestions for all three fields (the datalists may stand
            // anywhere in the form): fewer boundaries waiting on one resource.
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let Suggestions { categories, tags, locations } = suggestions.await.unwrap_or_default();
                    view! {
                        <p class="hint" id="tags-known">
                            {(!tags.is_empty()).then(|| format!("Yours so far: {}.", tags.join(", ")))}
                        </p>
                        <datalist id="category-suggestions">
                            {categories.into_iter().map(|c| view! { <option value=c/> }).collect_view()}
                        </datalist>
                        <datalist id="location-suggestions">
                            {locations.into_iter().map(|l| view! { <option value=l/> }).collect_view()}
                        </datalist>
                    }
                })}
            </Transition>
        </div>
        <div class="grid-3">
            {text("import_cost", "Import cost", initial.import_cost.clone(), None)}
            {text("retail_price", "Retail price", initial.retail_price.clone(), None)}
            {text("currency", "Currency", if initial.currency.is_empty() { "USD".into() } else { initial.currency.clone() }, None)}
        </div>
    }
}

#[component]
pub fn NewItemPage() -> impl IntoView {
    let suggestions = suggestions();
    let action = ServerAction::<CreateItem>::new();
    let flash = form_flash();
    view! {
        <Title text="Add an item · Bartleby"/>
        <p class="crumbs"><a href="/inventory">"Inventory"</a> " / "</p>
        <h1>"Add an item"</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                // after a refused save, the form comes back as it was typed, with the reason
                let flash = flash.await.unwrap_or_default();
                let initial = flash.values_as::<ItemForm>().unwrap_or_default();
                let error = flash.error;
                let error = Signal::derive(move || error.clone());
                view! {
                    <FormError error=error/>
                    <ActionForm action=action attr:class="stack item-form" attr:aria-label="Add an item">
                        <ItemFields initial error suggestions/>
                        <div class="actions">
                            <button type="submit" class="primary">"Save item"</button>
                            <a href="/inventory" class="button">"Cancel"</a>
                        </div>
                    </ActionForm>
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn EditItemPage() -> impl IntoView {
    let suggestions = suggestions();
    let id = id_param();
    let item = Resource::new_blocking(move || id.get(), load_item);
    let action = ServerAction::<UpdateItem>::new();
    let flash = form_flash();
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let flash = flash.await.unwrap_or_default();
                match item.await {
                    Ok(item) => {
                        let (name, crumb) = (item.name.clone(), item.name.clone());
                        let initial = flash.values_as::<ItemForm>().unwrap_or_else(|| ItemForm::from_item(&item));
                        let error = flash.error;
                        let error = Signal::derive(move || error.clone());
                        view! {
                        <Title text=format!("Edit {name} · Bartleby")/>
                        <p class="crumbs">
                            <a href="/inventory">"Inventory"</a> " / "
                            <a href=format!("/inventory/{}", item.id)>{crumb}</a> " / "
                        </p>
                        <h1>"Edit " {name.clone()}</h1>
                        <FormError error=error/>
                        <ActionForm action=action attr:class="stack item-form" attr:aria-label="Edit item">
                            <input type="hidden" name="id" value=item.id/>
                            <ItemFields initial error suggestions/>
                            <div class="actions">
                                <button type="submit" class="primary">"Save changes"</button>
                                <a href=format!("/inventory/{}", item.id) class="button">"Cancel"</a>
                            </div>
                        </ActionForm>
                    }
                    .into_any()
                    }
                    Err(e) => view! { <ItemMissing error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn DeleteItemPage() -> impl IntoView {
    let id = id_param();
    let item = Resource::new_blocking(move || id.get(), load_item);
    let action = ServerAction::<DeleteItem>::new();
    let flash = form_flash();
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let error = flash.await.unwrap_or_default().error;
                let error = Signal::derive(move || error.clone());
                match item.await {
                    Ok(item) => view! {
                        <Title text=format!("Delete {} · Bartleby", item.name)/>
                        <section class="notice confirm">
                            <h1>"Delete " {item.name.clone()} "?"</h1>
                            <p>"The item and everything recorded about it will be gone. This cannot be undone."</p>
                            <FormError error=error/>
                            <ActionForm action=action attr:class="actions" attr:aria-label="Confirm deletion">
                                <input type="hidden" name="id" value=item.id/>
                                <button type="submit" class="danger">"Delete item"</button>
                                <a href=format!("/inventory/{}", item.id) class="button">"Keep it"</a>
                            </ActionForm>
                        </section>
                    }
                    .into_any(),
                    Err(e) => view! { <ItemMissing error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

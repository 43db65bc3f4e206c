//! Import pages: choose a CSV file, then a preview with every problem by line and column; only a
//! file without problems can be imported (all of it at once).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::api::{get_import_preview, import_status, ImportCommit, ImportDiscard};
use super::types::{ImportRun, ImportStatus, IMPORT_MAX_ROWS};
use crate::error::AppError;
use crate::upload::{Refusal, Upload};
use crate::widgets::FormError;
use crate::widgets::{form_flash, set_error_status, ErrorNotice, LiveRegions};

#[component]
pub fn ImportPage() -> impl IntoView {
    let query = use_query_map();
    let error = move || {
        let q = query.read();
        Refusal::from_query(|k| q.get(k), "error").map(|r| r.message(Upload::Import))
    };
    // a refused Discard comes back here
    let flash = form_flash();
    view! {
        <Title text="Import items · Bartleby"/>
        <p class="crumbs"><a href="/inventory">"Inventory"</a> " / "</p>
        <h1>"Import items from a CSV file"</h1>
        <p class="lede">
            "You will see every row checked before anything is added. If any row has a problem, nothing is imported until the file is fixed."
        </p>
        <p class="form-error" role="alert" data-testid="import-error" hidden=move || error().is_none()>{error}</p>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let error = flash.await.unwrap_or_default().error;
                view! { <FormError error=Signal::derive(move || error.clone())/> }
            })}
        </Suspense>
        <form method="post" action="/inventory/import" enctype="multipart/form-data" class="upload stack">
            <label for="import-file" class="dropzone">
                <span>"Drop a CSV file here, or choose one (at most 20 MB)"</span>
                <input id="import-file" type="file" name="file" accept=".csv,text/csv" required=true/>
            </label>
            <div class="actions">
                <button type="submit" class="primary">"Check the file"</button>
                <a href="/inventory" class="button">"Cancel"</a>
            </div>
        </form>
        <section class="notice">
            <h2>"The columns"</h2>
            <p>
                "The first line names the columns. Only " <code>"name"</code> " is required; the others are "
                <code>"description, category, location, material, colour, dimensions, origin, quantity, tags, import_cost, retail_price, currency"</code>
                ". A file exported from Bartleby imports as it is."
            </p>
            <ul>
                <li>"Location is a path, outermost first: " <code>"Garage / Shelf 2"</code> ". Missing places are created."</li>
                <li>"Tags are separated by commas; prices are amounts like " <code>"12.50"</code> "; currency is a code like " <code>"EUR"</code> " (USD if empty)."</li>
                <li>{format!("At most {IMPORT_MAX_ROWS} items per file. Save from your spreadsheet as “CSV UTF-8”.")}</li>
            </ul>
        </section>
    }
}

#[component]
pub fn ImportPreviewPage() -> impl IntoView {
    let params = use_params_map();
    let token = Memo::new(move |_| params.read().get("token").unwrap_or_default());
    // an import started (under way or done): its run; otherwise (or when it failed) the preview.
    // The preview is not read once the import has begun: the file goes when it is done, and
    // asking for it would answer this page with a 404.
    let page = Resource::new_blocking(
        move || token.get(),
        |token| async move {
            let run = import_status(token.clone()).await.ok().flatten();
            if run.as_ref().is_some_and(|r| r.status != ImportStatus::Failed) {
                return (run, None);
            }
            (run, Some(get_import_preview(token).await))
        },
    );
    let commit = ServerAction::<ImportCommit>::new();
    let discard = ServerAction::<ImportDiscard>::new();
    let flash = form_flash();
    view! {
        <Title text="Check the import · Bartleby"/>
        <p class="crumbs"><a href="/inventory">"Inventory"</a> " / " <a href="/inventory/import">"Import"</a> " / "</p>
        <Suspense fallback=|| view! { <p class="muted">"Checking…"</p> }>
            {move || Suspend::new(async move {
                let error = flash.await.unwrap_or_default().error;
                let error = Signal::derive(move || error.clone());
                // started: the import's progress or result; failed: the preview again, with why
                let (run, preview) = page.await;
                let Some(preview) = preview else {
                    return run.map(|run| view! { <ImportProgress run/> }.into_any()).unwrap_or_else(|| ().into_any());
                };
                let failed = run.and_then(|r| r.detail);
                let p = match preview {
                    Ok(p) => p,
                    Err(AppError::NotFound) => {
                        set_error_status(&AppError::NotFound);
                        return view! {
                            <section class="notice">
                                <h1>"Nothing waiting to import"</h1>
                                <p>{Refusal::Gone.message(Upload::Import)}</p>
                                <p><a href="/inventory/import">"Import a file"</a></p>
                            </section>
                        }
                        .into_any();
                    }
                    Err(e @ AppError::Validation { .. }) => {
                        return view! {
                            <section class="notice error">
                                <h1>"This file cannot be imported"</h1>
                                <p data-testid="import-error">{e.to_string()}</p>
                                <p><a href="/inventory/import">"Choose another file"</a></p>
                            </section>
                        }
                        .into_any();
                    }
                    Err(e) => return view! { <ErrorNotice error=e/> }.into_any(),
                };
                let ok = p.problem_count == 0;
                let summary = match (p.items, p.problem_count) {
                    (n, 0) => format!("{} ready to import.", crate::format::count(n as u32, "item", "items")),
                    (n, k) => format!(
                        "{n} rows read; {} to fix before anything can be imported.",
                        crate::format::count(k as u32, "problem", "problems")
                    ),
                };
                let shown = p.problems.len();
                let more = p.problem_count.saturating_sub(shown);
                let token = p.token.clone();
                let token2 = p.token.clone();
                let button = format!("Import {}", crate::format::count(p.items as u32, "item", "items"));
                view! {
                    <h1>"Check the import"</h1>
                    <p class=if ok { "lede" } else { "lede warn" } data-testid="import-summary">{summary}</p>
                    <FormError error=error/>
                    // where a followed import's progress stood: its failure, when it failed
                    <div id="import-run">
                        {failed.map(|d| view! { <p class="form-error" role="alert" data-testid="import-failed">{d}</p> })}
                    </div>
                    {(!p.ignored_columns.is_empty()).then(|| view! {
                        <p class="muted">{format!("These columns are not item fields and will be left out: {}.", p.ignored_columns.join(", "))}</p>
                    })}
                    {(!ok).then(|| view! {
                        <div class="table-wrap">
                            <table class="items" data-testid="import-problems">
                                <caption class="visually-hidden">"Problems by line"</caption>
                                <thead><tr><th scope="col" class="num">"Line"</th><th scope="col">"Column"</th><th scope="col">"Problem"</th></tr></thead>
                                <tbody>
                                    {p.problems.into_iter().map(|r| view! {
                                        <tr><td class="num">{r.line}</td><td>{r.column.replace('_', " ")}</td><td>{r.message}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        {(more > 0).then(|| view! { <p class="muted">{format!("…and {more} more.")}</p> })}
                        <p>"Fix these in your spreadsheet and upload the file again. Nothing has been imported."</p>
                    })}
                    <h2>"The first rows"</h2>
                    <div class="table-wrap">
                        <table class="items" data-testid="import-sample">
                            <thead><tr>
                                <th scope="col">"Name"</th><th scope="col">"Category"</th><th scope="col">"Location"</th>
                                <th scope="col" class="num">"Qty"</th><th scope="col" class="num">"Retail price"</th><th scope="col">"Tags"</th>
                            </tr></thead>
                            <tbody>
                                {p.sample.into_iter().map(|f| view! {
                                    <tr>
                                        <td>{f.name}</td><td>{f.category}</td><td>{f.location}</td>
                                        <td class="num">{if f.quantity.is_empty() { "1".to_owned() } else { f.quantity }}</td>
                                        <td class="num">{f.retail_price}</td><td>{f.tags}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    <div class="actions">
                        {ok.then(|| view! {
                            <ActionForm action=commit attr:class="inline">
                                <input type="hidden" name="token" value=token.clone()/>
                                <button type="submit" class="primary" >{button.clone()}</button>
                            </ActionForm>
                        })}
                        <ActionForm action=discard attr:class="inline">
                            <input type="hidden" name="token" value=token2.clone()/>
                            <button type="submit">{if ok { "Cancel" } else { "Discard this file" }}</button>
                        </ActionForm>
                    </div>
                }
                .into_any()
            })}
        </Suspense>
    }
}

/// An import under way (followed in place until it is done) or done.
#[component]
fn ImportProgress(run: ImportRun) -> impl IntoView {
    let pending = run.status.is_pending();
    let total = run.total.max(1);
    view! {
        <h1>{if pending { "Importing" } else { "Imported" }}</h1>
        <div id="import-run" data-pending=pending.then_some("")>
            {if pending {
                view! {
                    <p role="status" data-testid="import-progress">
                        {format!("Importing your items: {} of {} rows written. ", run.done, run.total)}
                        <progress max=total value=run.done></progress>
                    </p>
                    <p class="muted">
                        "You can leave this page: the import goes on, all of it or nothing, and this page shows the result when you come back. "
                        "It updates itself; without JavaScript, "
                        <a href="">"reload it"</a>
                        "."
                    </p>
                }
                .into_any()
            } else {
                view! {
                    <p class="lede" data-testid="import-done">
                        {format!("{} imported.", crate::format::count(u32::try_from(run.done).unwrap_or(0), "item", "items"))}
                    </p>
                    <p><a href="/inventory" class="button primary">"Open the inventory"</a></p>
                }
                .into_any()
            }}
        </div>
        {pending.then(|| view! { <LiveRegions ids=vec!["import-run".to_owned()] reload_when_done=true/> })}
    }
}

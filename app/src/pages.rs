//! The shell's own pages: the dashboard (it reads the features) and the 404 page. Shared
//! widgets live in `widgets`.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::auth::types::UserView;
use crate::auth::views::SignedIn;
use crate::documents::api::documents_overview;
use crate::documents::types::DocumentStats;
use crate::error::AppError;
use crate::inventory::api::inventory_summary;
use crate::inventory::types::InventoryStats;

#[component]
pub fn Dashboard() -> impl IntoView {
    // Created here, not inside a Suspense: resources made while a Suspense resolves can be numbered
    // differently on the server and in the browser, and then hydrate with each other's data.
    let summary = Resource::new_blocking(|| (), |_| inventory_summary());
    let documents = Resource::new_blocking(|| (), |_| documents_overview());
    view! {
        <Title text="Dashboard · Bartleby"/>
        <SignedIn content=move |user: UserView| {
            view! {
                <h1 data-testid="greeting">"Welcome, " {user.display_name.clone()}</h1>
                <p class="lede">"This is your desk. Your things and papers will gather here."</p>
                <div class="cards">
                    <InventoryCard summary=summary/>
                    <DocumentsCard stats=documents/>
                    <section class="card">
                        <h2>"Your account"</h2>
                        <dl>
                            <dt>"Email"</dt>
                            <dd>{user.email.clone()}</dd>
                            <dt>"Member since"</dt>
                            <dd>{user.member_since.clone()}</dd>
                        </dl>
                        <a href="/account">"Account, archive and deletion"</a>
                        {user.is_admin.then(|| view! {
                            <p>"You administer this Bartleby. " <a href="/admin">"Administration"</a></p>
                        })}
                    </section>
                </div>
            }
        }/>
    }
}

#[component]
fn InventoryCard(summary: Resource<Result<InventoryStats, AppError>>) -> impl IntoView {
    view! {
        <section class="card wide" aria-labelledby="inv-card-title">
            <h2 id="inv-card-title">"Inventory"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match summary.await {
                        Ok(s) if s.item_count == 0 => view! {
                            <p>"Record your things: what they are, where they came from and what they are worth."</p>
                            <a href="/inventory/new">"Add your first item"</a>
                        }
                        .into_any(),
                        Ok(s) => view! { <InventoryFigures summary=s/> }.into_any(),
                        Err(e) => view! { <p class="banner">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn DocumentsCard(stats: Resource<Result<DocumentStats, AppError>>) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="doc-card-title">
            <h2 id="doc-card-title">"Documents"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match stats.await {
                        Ok(s) if s.count == 0 && s.shared_with_me == 0 => view! {
                            <p>"Upload PDFs, Word files and notes, and find them again by what they say."</p>
                            <a href="/documents">"Add your first document"</a>
                        }
                        .into_any(),
                        Ok(s) => view! { <DocumentFigures stats=s/> }.into_any(),
                        Err(e) => view! { <p class="banner">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn DocumentFigures(stats: DocumentStats) -> impl IntoView {
    let count = |n: i64, one: &str, many: &str| crate::format::count(u32::try_from(n).unwrap_or(u32::MAX), one, many);
    let headline = count(stats.count, "document", "documents");
    let detail = {
        let mut parts = vec![count(stats.pages, "page read", "pages read")];
        if stats.shared_with_me > 0 {
            parts.push(format!("{} shared with you", count(stats.shared_with_me, "more", "more")));
        }
        parts.join(" · ")
    };
    let types: Vec<String> = stats.by_type.iter().map(|(t, n)| format!("{t} {n}")).collect();
    view! {
        <p><strong data-testid="document-total">{headline}</strong><br/><span class="muted">{detail}</span></p>
        {(!types.is_empty()).then(|| view! { <p class="muted">{types.join(" · ")}</p> })}
        {(stats.reading > 0).then(|| view! {
            <p role="status">{format!("{} being read now.", count(stats.reading, "document is", "documents are"))}</p>
        })}
        {(stats.attention > 0).then(|| view! {
            <p class="banner">{format!("{} could not be read: see Documents.", count(stats.attention, "document", "documents"))}</p>
        })}
        {(!stats.recent.is_empty()).then(|| view! {
            <h3>"Recently added"</h3>
            <ul class="recent" data-testid="recent-documents">
                {stats
                    .recent
                    .into_iter()
                    .map(|d| view! { <li><a href=format!("/documents/{}", d.id)>{d.title}</a> <span class="hint">{d.doc_type.label()}</span></li> })
                    .collect_view()}
            </ul>
        })}
        <a href="/documents">"Open documents"</a>
    }
}

#[component]
fn InventoryFigures(summary: InventoryStats) -> impl IntoView {
    let items = match summary.item_count {
        1 => "1 item".to_owned(),
        n => format!("{n} items"),
    };
    let pieces = format!("{} pieces in all", summary.total_quantity);
    let values: Vec<String> = summary.value_by_currency.iter().map(|(c, v)| format!("{v} {c}")).collect();
    let categories: Vec<(String, i64)> = summary
        .by_category
        .iter()
        .map(|(c, n)| (if c.is_empty() { "No category".to_owned() } else { c.clone() }, *n))
        .collect();
    let mut places: Vec<(String, i64)> = summary
        .by_location
        .iter()
        .map(|(l, n)| (if l.is_empty() { "No location".to_owned() } else { l.clone() }, *n))
        .collect();
    // the charts show the largest eight: what the rest hold is one more line, so the bars add up
    let mut categories = categories;
    for (rows, label) in [(&mut categories, "All other categories"), (&mut places, "All other places")] {
        let rest = summary.item_count - rows.iter().map(|(_, n)| n).sum::<i64>();
        if rest > 0 && !rows.is_empty() {
            rows.push((label.to_owned(), rest));
        }
    }
    let storage: Vec<String> = summary
        .storage
        .iter()
        .map(|s| {
            let backend = match s.backend.as_str() {
                "local" => "This server's disk",
                "s3" => "Amazon S3",
                "vercel" => "Vercel Blob",
                other => other,
            };
            let files = crate::format::count(u32::try_from(s.objects).unwrap_or(u32::MAX), "file", "files");
            format!("{backend}: {} in {files}", crate::format::bytes(s.bytes))
        })
        .collect();
    view! {
        <div class="figures">
            <p><strong data-testid="item-total">{items}</strong><br/><span class="muted">{pieces}</span></p>
            <p>
                <strong data-testid="value-total">
                    {if values.is_empty() { "No prices yet".to_owned() } else { values.join(" · ") }}
                </strong>
                <br/>
                <span class="muted">"retail value (price × quantity)"</span>
            </p>
        </div>
        <BarChart title="Items by category" rows=categories/>
        {(!summary.by_location.is_empty()).then(|| view! { <BarChart title="Items by location" rows=places/> })}
        {(!storage.is_empty())
            .then(|| {
                view! {
                    <h3>"Storage used"</h3>
                    <ul class="storage" data-testid="storage-used">
                        {storage.into_iter().map(|s| view! { <li>{s}</li> }).collect_view()}
                    </ul>
                }
            })}
        <h3>"Recently changed"</h3>
        <ul class="recent">
            {summary
                .recent
                .into_iter()
                .map(|i| {
                    view! {
                        <li>
                            {i.cover.map(|t| view! { <img src=format!("/media/{t}") alt="" width="32" height="32" loading="lazy"/> })}
                            <a href=format!("/inventory/{}", i.id)>{i.name}</a>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
        <a href="/inventory">"Open inventory"</a>
    }
}

/// A horizontal bar chart drawn on the server as SVG (readable without JavaScript, and by screen
/// readers through its label).
#[component]
fn BarChart(title: &'static str, rows: Vec<(String, i64)>) -> impl IntoView {
    const BAR_H: i64 = 22;
    // labels take the first 140 units; the longest value's digits (about 7 units each) must fit
    // after the longest bar within the 400 units of the chart
    const LABEL_CHARS: usize = 20;
    let max = rows.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);
    let digits = i64::try_from(max.to_string().len()).unwrap_or(12);
    let room = (400 - 140 - 8 - 7 * digits - 4).max(40);
    let height = BAR_H * i64::try_from(rows.len()).unwrap_or(0);
    let description: Vec<String> = rows.iter().map(|(label, n)| format!("{label}: {n}")).collect();
    view! {
        <figure class="chart">
            <figcaption>{title}</figcaption>
            <svg
                viewBox=format!("0 0 400 {height}")
                width="100%"
                role="img"
                aria-label=format!("{title}. {}", description.join(", "))
            >
                {rows
                    .into_iter()
                    .enumerate()
                    .map(|(i, (label, n))| {
                        let y = i64::try_from(i).unwrap_or(0) * BAR_H;
                        let w = 8 + (room - 8) * n / max;
                        let shown = if label.chars().count() > LABEL_CHARS {
                            format!("{}…", label.chars().take(LABEL_CHARS - 1).collect::<String>())
                        } else {
                            label.clone()
                        };
                        view! {
                            <g>
                                <title>{format!("{label}: {n}")}</title>
                                <text x="0" y=y + 15 class="chart-label">{shown}</text>
                                <rect x="140" y=y + 4 width=w height="14" rx="3" class="chart-bar"></rect>
                                <text x=148 + w y=y + 15 class="chart-value">{n}</text>
                            </g>
                        }
                    })
                    .collect_view()}
            </svg>
        </figure>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
            resp.set_status(http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <Title text="Page not found · Bartleby"/>
        <section class="notice">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. It may have moved, or the link may be mistyped."</p>
            <p><a href="/">"Go to your dashboard"</a></p>
        </section>
    }
}

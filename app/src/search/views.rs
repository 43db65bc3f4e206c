//! The search page: one box over the user's papers and things, all of its state in the URL, so
//! every result page can be linked.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

use super::api::search;
use super::types::{ResultGroup, SearchMode, SearchQuery, SearchResults};
use crate::documents::types::DocType;
use crate::widgets::ErrorNotice;

fn current_search() -> Memo<SearchQuery> {
    let query = use_query_map();
    Memo::new(move |_| {
        let m = query.read();
        SearchQuery {
            q: m.get("q").unwrap_or_default(),
            doc_type: m.get("type").unwrap_or_default(),
            from: m.get("from").unwrap_or_default(),
            to: m.get("to").unwrap_or_default(),
            page: m.get("page").and_then(|p| p.parse().ok()).unwrap_or(1),
        }
    })
}

fn search_url(q: &SearchQuery, page: u32) -> String {
    let enc = crate::format::url;
    format!("/search?q={}&type={}&from={}&to={}&page={page}", enc(&q.q), enc(&q.doc_type), enc(&q.from), enc(&q.to))
}

#[component]
pub fn SearchPage() -> impl IntoView {
    let query = current_search();
    let results = Resource::new_blocking(
        move || query.get(),
        |q| async move {
            if q.q.trim().is_empty() {
                Ok(None)
            } else {
                search(q).await.map(Some)
            }
        },
    );
    view! {
        <Title text="Search · Bartleby"/>
        <h1>"Search"</h1>
        <Form method="GET" action="/search" attr:class="search-form" attr:role="search">
            <div class="field grow">
                <label for="search-q">"Search your documents by meaning or by words"</label>
                <input id="search-q" name="q" type="search" value=move || query.get().q placeholder="e.g. how long is the warranty on the boiler?"/>
            </div>
            <div class="field">
                <label for="search-type">"Type"</label>
                <select id="search-type" name="type">
                    <option value="" selected=move || query.get().doc_type.is_empty()>"All types"</option>
                    {DocType::ALL.into_iter().map(|t| view! {
                        <option value=t.as_str() selected=move || query.get().doc_type == t.as_str()>{t.label()}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="search-from">"Added from"</label>
                <input id="search-from" name="from" type="date" value=move || query.get().from/>
            </div>
            <div class="field">
                <label for="search-to">"to"</label>
                <input id="search-to" name="to" type="date" value=move || query.get().to/>
            </div>
            <button type="submit" class="primary">"Search"</button>
        </Form>
        <Transition fallback=|| view! { <p class="muted">"Searching…"</p> }>
            {move || Suspend::new(async move {
                match results.await {
                    Ok(Some(r)) => view! { <Results results=r query=query.get_untracked()/> }.into_any(),
                    Ok(None) => view! {
                        <p class="muted">"Results show the best passages of each document, with the matching words marked."</p>
                    }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Results(results: SearchResults, query: SearchQuery) -> impl IntoView {
    let notice = match &results.mode {
        SearchMode::TextOnly { reason } => Some(reason.clone()),
        SearchMode::Hybrid => None,
    };
    let count = results.groups.len();
    let items = results.items.clone();
    let items_total = results.items_total;
    let all_items = format!("/inventory?q={}", crate::format::url(&query.q));
    let prev = (results.page > 1).then(|| search_url(&query, results.page - 1));
    let next = results.has_more.then(|| search_url(&query, results.page + 1));
    let (weak, strong): (Vec<ResultGroup>, Vec<ResultGroup>) = results.groups.into_iter().partition(|g| g.weak);
    view! {
        {notice.map(|n| view! { <p class="notice" role="status" data-testid="search-fallback">{n}</p> })}
        <p class="muted" data-testid="search-meta">
            {if count == 0 {
                "No documents match.".to_owned()
            } else {
                format!("Page {} · {} · {} ms", results.page, crate::format::count(count as u32, "document", "documents"), results.took_ms)
            }}
        </p>
        {(!items.is_empty()).then(|| view! {
            <section class="item-hits" aria-labelledby="item-hits-title" data-testid="item-hits">
                <h2 id="item-hits-title">"Inventory"</h2>
                <ul>
                    {items.into_iter().map(|i| view! {
                        <li>
                            {i.cover.map(|t| view! { <img src=format!("/media/{t}") alt="" width="32" height="32" loading="lazy" class="thumb"/> })}
                            <a href=format!("/inventory/{}", i.id)>{i.name}</a>
                            {(!i.category.is_empty()).then(|| view! { <span class="hint">" " {i.category}</span> })}
                            {(!i.snippet.is_empty()).then(|| view! {
                                <span class="item-snippet">
                                    " — "
                                    {i.snippet.into_iter().map(|s| if s.hit {
                                        view! { <mark>{s.text}</mark> }.into_any()
                                    } else {
                                        view! { <span>{s.text}</span> }.into_any()
                                    }).collect_view()}
                                </span>
                            })}
                        </li>
                    }).collect_view()}
                </ul>
                {(items_total > 5).then(|| view! { <a href=all_items>"All " {items_total} " items with these words"</a> })}
            </section>
            <h2 class="visually-hidden">"Documents"</h2>
        })}
        <ol class="results" data-testid="results">
            {strong.into_iter().map(|g| view! { <ResultItem group=g q=query.q.clone()/> }).collect_view()}
        </ol>
        // found by meaning alone and much less close than the best: apart, not as their equals
        {(!weak.is_empty()).then(|| {
            let summary = format!("{} less closely related", crate::format::count(weak.len() as u32, "document", "documents"));
            view! {
                <details class="weaker" data-testid="weaker-results">
                    <summary>{summary}</summary>
                    <ol class="results">
                        {weak.into_iter().map(|g| view! { <ResultItem group=g q=query.q.clone()/> }).collect_view()}
                    </ol>
                </details>
            }
        })}
        <nav class="pager" aria-label="Result pages">
            {prev.map(|u| view! { <a href=u>"← Previous"</a> })}
            {next.map(|u| view! { <a href=u>"Next →"</a> })}
        </nav>
    }
}

#[component]
fn ResultItem(group: ResultGroup, q: String) -> impl IntoView {
    let paged = group.doc_type.is_paged();
    let id = group.document_id;
    let first_page = group.passages.first().map(|p| p.page).unwrap_or(1);
    // the document opens at the passage's page with the words searched for marked there
    let words = crate::format::url(&q);
    let href = move |page: i32| {
        if paged {
            format!("/documents/{id}?page={page}&q={words}#page-{page}")
        } else {
            format!("/documents/{id}?q={words}")
        }
    };
    view! {
        <li class="result" data-testid="result">
            <h2 class="result-title">
                <a href=href(first_page)>{group.title.clone()}</a>
                <span class="hint">" " {group.doc_type.label()}</span>
            </h2>
            <p class="cue" data-testid="match-cue">{group.cue.label()}</p>
            {group.owner_email.clone().map(|e| view! { <p class="hint">"Shared by " {e}</p> })}
            {group.passages.into_iter().map(|p| {
                let page = p.page;
                view! {
                    <blockquote class="passage" data-testid="passage">
                        {paged.then(|| view! { <a href=href(page) class="page-link">"Page " {page}</a> " " })}
                        {p.snippet.into_iter().map(|s| if s.hit {
                            view! { <mark>{s.text}</mark> }.into_any()
                        } else {
                            view! { <span>{s.text}</span> }.into_any()
                        }).collect_view()}
                    </blockquote>
                }
            }).collect_view()}
        </li>
    }
}

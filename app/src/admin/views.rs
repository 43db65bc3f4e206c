//! The admin page (`/admin`).

use leptos::prelude::*;
use leptos_meta::Title;

use super::api::get_overview;
use super::types::AdminOverview;
use crate::auth::types::UserView;
use crate::auth::views::SignedIn;
use crate::format::bytes;
use crate::widgets::ErrorNotice;

#[component]
pub fn AdminPage() -> impl IntoView {
    let overview = Resource::new_blocking(|| (), |_| get_overview());
    view! {
        <SignedIn content=move |_user: UserView| {
            view! {
                <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match overview.await {
                            Ok(o) => view! { <Overview o=o/> }.into_any(),
                            // anyone but the administrator: there is no such page (404)
                            Err(e) => view! { <Title text="Not found · Bartleby"/> <ErrorNotice error=e/> }.into_any(),
                        }
                    })}
                </Suspense>
            }
        }/>
    }
}

#[component]
fn Overview(o: AdminOverview) -> impl IntoView {
    let AdminOverview { users, databases, queue, runs, rls_enforced } = o;
    view! {
        <Title text="Administration · Bartleby"/>
        <h1>"Administration"</h1>
        <p class="lede">
            "This installation's users, storage, databases, work queue and backups. "
            <a href="/api/health">"Health (JSON)"</a>
        </p>
        <section class="card wide" aria-labelledby="admin-users">
            <h2 id="admin-users">{crate::format::count(users.len() as u32, "user", "users")}</h2>
            <div class="table-scroll">
                <table class="admin" data-testid="admin-users">
                    <thead>
                        <tr>
                            <th scope="col">"Name"</th>
                            <th scope="col">"Email"</th>
                            <th scope="col">"Joined"</th>
                            <th scope="col" class="num">"Items"</th>
                            <th scope="col" class="num">"Documents"</th>
                            <th scope="col">"Storage"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {users
                            .into_iter()
                            .map(|u| {
                                let storage = u
                                    .storage
                                    .iter()
                                    .map(|(backend, b, n)| format!("{backend}: {} in {n}", bytes(*b)))
                                    .collect::<Vec<_>>()
                                    .join(", ");
                                view! {
                                    <tr>
                                        <td>{u.display_name} {u.is_admin.then_some(" (administrator)")}</td>
                                        <td>{u.email}</td>
                                        <td>{u.joined}</td>
                                        <td class="num">{u.items}</td>
                                        <td class="num">{u.documents}</td>
                                        <td>{storage}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
        <section class="card wide" aria-labelledby="admin-db">
            <h2 id="admin-db">"Databases"</h2>
            <p data-testid="admin-rls">
                {if rls_enforced {
                    "Row-level security is enforced: each user's requests run as bartleby_user and see only their own rows."
                } else {
                    "Row-level security is not enforced: the database user cannot create the role bartleby_user. The app's own filters remain."
                }}
            </p>
            {databases
                .into_iter()
                .map(|d| {
                    view! {
                        <h3>{d.name} ": " {bytes(d.bytes)}</h3>
                        <ul>
                            {d.tables.into_iter().map(|(t, b)| view! { <li>{t} ": " {bytes(b)}</li> }).collect_view()}
                        </ul>
                    }
                })
                .collect_view()}
        </section>
        <section class="card wide" aria-labelledby="admin-queue">
            <h2 id="admin-queue">"Work queue"</h2>
            {if queue.is_empty() {
                view! { <p>"Nothing queued."</p> }.into_any()
            } else {
                view! {
                    <ul data-testid="admin-queue">
                        {queue
                            .into_iter()
                            .map(|q| view! { <li>{q.kind} ", " {q.state} ": " {q.count}</li> })
                            .collect_view()}
                    </ul>
                }
                .into_any()
            }}
        </section>
        <section class="card wide" aria-labelledby="admin-runs">
            <h2 id="admin-runs">"Backups and maintenance"</h2>
            {(!runs.iter().any(|r| r.kind == "backup"))
                .then(|| {
                    view! {
                        <p data-testid="admin-no-backup">
                            "No backup yet. Run " <code>"bartleby backup"</code> ", or set " <code>"BACKUP_SCHEDULE"</code>
                            "."
                        </p>
                    }
                })}
            {if runs.is_empty() {
                ().into_any()
            } else {
                view! {
                    <ul data-testid="admin-runs">
                        {runs
                            .into_iter()
                            .map(|r| {
                                view! {
                                    <li class:failed=!r.ok>
                                        {r.when} " UTC, " {r.kind} ", " {if r.ok { "done" } else { "FAILED" }} ": " {r.detail}
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                .into_any()
            }}
        </section>
    }
}

//! Accounts and sessions, the edge (cross-site refusal, redirects) and the databases: health, pool exhaustion, restarts, migrations.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn sign_up_signs_in_and_shows_the_dashboard() {
    let app = TestApp::spawn().await;
    assert_eq!(app.me().await, Value::Null);

    let e = email("ada");
    let r = app.sign_up(&e, "  Ada Lovelace ").await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(r.headers().get(LOCATION).unwrap(), "/");
    let cookie = session_cookie(&r).expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http must not get a Secure cookie: {cookie}");

    let me = app.me().await;
    assert_eq!(me["display_name"], "Ada Lovelace");
    assert_eq!(me["email"], e);

    let page = app.get("/").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Welcome, <!-- -->Ada Lovelace") || html.contains("Ada Lovelace"), "{html}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_up_rejects_bad_input_with_field_messages() {
    let app = TestApp::spawn().await;
    let cases = [
        (("not-an-email", "Ada", PASSWORD), "email"),
        (("ada@example.com", "   ", PASSWORD), "display_name"),
        (("ada@example.com", "Ada", "short"), "password"),
    ];
    for ((mail, name, pw), field) in cases {
        let r = app.call("auth/sign_up", &[("email", mail), ("display_name", name), ("password", pw)]).await;
        let (status, body) = error_json(r).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["kind"], "Validation");
        assert_eq!(body["field"], field, "{body}");
    }
    let long = "x".repeat(129);
    let r = app.call("auth/sign_up", &[("email", "a@example.com"), ("display_name", "A"), ("password", &long)]).await;
    let (status, body) = error_json(r).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["message"].as_str().unwrap().contains("at most 128"), "{body}");

    let e = email("dup");
    assert!(app.sign_up(&e, "First").await.status().is_success());
    let other = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    let (status, body) = error_json(other.sign_up(&e.to_uppercase(), "Second").await).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body["message"].as_str().unwrap().contains("already exists"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let e = email("grace");
    app.sign_up(&e, "Grace").await;
    app.call("auth/sign_out", &[]).await;

    let (s1, wrong) = error_json(app.sign_in(&e, "not the password").await).await;
    let (s2, unknown) = error_json(app.sign_in(&email("nobody"), "not the password").await).await;
    assert_eq!(s1, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(s1, s2);
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["message"], "That email and password do not match an account.");
    assert_eq!(app.me().await, Value::Null);

    let r = app.sign_in(&format!("  {}  ", e.to_uppercase()), PASSWORD).await;
    assert!(r.status().is_success());
    assert_eq!(app.me().await["display_name"], "Grace");
}

#[tokio::test(flavor = "multi_thread")]
async fn repeated_failures_lock_the_account_and_say_when_to_retry() {
    let app = TestApp::spawn().await;
    let e = email("locked");
    app.sign_up(&e, "Locked").await;
    app.call("auth/sign_out", &[]).await;
    for _ in 0..5 {
        assert_eq!(app.sign_in(&e, "wrong password").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    // even the right password is refused while locked
    let (status, body) = error_json(app.sign_in(&e, PASSWORD).await).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["kind"], "RateLimited");
    let secs = body["retry_after_secs"].as_u64().unwrap();
    assert!((14 * 60..=15 * 60).contains(&secs), "{secs}");

    // other accounts are not affected (this client is below the per-address limit)
    let other = email("free");
    app.sign_up(&other, "Free").await;
    assert_eq!(app.me().await["display_name"], "Free");
}

#[tokio::test(flavor = "multi_thread")]
async fn too_many_failures_from_one_address_are_throttled() {
    let app = TestApp::spawn().await;
    for i in 0..20 {
        let r = app.sign_in(&format!("victim{i}@example.com"), "guess").await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "attempt {i}");
    }
    let (status, body) = error_json(app.sign_in("victim99@example.com", "guess").await).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body.to_string().contains("retry_after_secs"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_survives_an_app_restart() {
    let app = TestApp::spawn().await;
    let e = email("restart");
    app.sign_up(&e, "Restart").await;
    assert_eq!(app.me().await["display_name"], "Restart");
    let app = app.restart().await;
    assert_eq!(app.me().await["display_name"], "Restart");
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_rotates_the_session_id_and_sign_out_deletes_it() {
    let app = TestApp::spawn().await;
    let e = email("rotate");
    let first = session_cookie(&app.sign_up(&e, "Rotate").await).unwrap();
    let second = session_cookie(&app.sign_in(&e, PASSWORD).await).unwrap();
    assert_ne!(cookie_pair(&first), cookie_pair(&second), "the session id must change at sign-in");

    // the old id no longer works
    let stale =
        reqwest::Client::new().post(app.url("/api/auth/me")).header(COOKIE, cookie_pair(&first)).send().await.unwrap();
    assert_eq!(stale.json::<Value>().await.unwrap(), Value::Null);

    let r = app.call("auth/sign_out", &[]).await;
    assert!(r.status().is_success());
    // replaying the signed-out cookie from another client gets nothing: the server deleted it
    let replay =
        reqwest::Client::new().post(app.url("/api/auth/me")).header(COOKIE, cookie_pair(&second)).send().await.unwrap();
    assert_eq!(replay.json::<Value>().await.unwrap(), Value::Null);
    let id = cookie_pair(&second).trim_start_matches("bartleby_session=").to_owned();
    let mut conn = diesel_async::AsyncPgConnection::establish(&app.db_url).await.unwrap();
    use diesel::prelude::*;
    use diesel_async::{AsyncConnection, RunQueryDsl};
    let left: i64 = app::platform::schema::sessions::table
        .filter(app::platform::schema::sessions::id.eq(&id))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_session_expires_and_page_loads_keep_it_alive() {
    use app::platform::schema::sessions::dsl as s;
    use diesel::prelude::*;
    use diesel_async::{AsyncConnection, RunQueryDsl};
    let app = TestApp::spawn().await;
    app.sign_up(&email("idle"), "Idle").await;
    let mut conn = diesel_async::AsyncPgConnection::establish(&app.db_url).await.unwrap();
    let expiry = || async {
        let mut c = diesel_async::AsyncPgConnection::establish(&app.db_url).await.unwrap();
        s::sessions.select(s::expiry_date).first::<time::OffsetDateTime>(&mut c).await.unwrap()
    };

    // a page load pushes the expiry to a full idle period from now
    diesel::update(s::sessions)
        .set(s::expiry_date.eq(time::OffsetDateTime::now_utc() + time::Duration::days(1)))
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(app.get("/").await.status(), StatusCode::OK);
    let left = expiry().await - time::OffsetDateTime::now_utc();
    assert!(left > time::Duration::days(13), "expiry not extended: {left}");
    // but not at every page load: that wrote the session each time (a write per page)
    let armed = expiry().await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(app.get("/inventory").await.status(), StatusCode::OK);
    assert_eq!(expiry().await, armed, "re-armed at most once a minute");

    // past its expiry, the session no longer signs anyone in
    diesel::update(s::sessions)
        .set(s::expiry_date.eq(time::OffsetDateTime::now_utc() - time::Duration::seconds(1)))
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(app.me().await, Value::Null);
    assert_eq!(app.get("/").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread")]
async fn protected_pages_redirect_to_sign_in_with_next() {
    let app = TestApp::spawn().await;
    for (path, location) in [
        ("/", "/login"),
        ("/inventory", "/login?next=/inventory"),
        ("/search?q=lamp%20shade", "/login?next=/search%3Fq%3Dlamp%2520shade"),
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.headers().get(LOCATION).unwrap(), location, "{path}");
    }
    for public in ["/login", "/signup", "/api/health", "/pkg/bartleby.css"] {
        let r = app.get(public).await;
        assert_ne!(r.status(), StatusCode::SEE_OTHER, "{public}");
    }
    // a signed-in visitor of /login?next=… goes straight there
    app.sign_up(&email("next"), "Next").await;
    let r = app.get("/login?next=%2Fdocuments").await;
    assert_eq!(r.headers().get(LOCATION).unwrap(), "/documents");
    // and an open redirect is not possible
    let r = app.get("/login?next=https%3A%2F%2Fevil.example").await;
    assert_eq!(r.headers().get(LOCATION).unwrap(), "/");
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_in_unknown_page_is_a_404_page() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("lost"), "Lost").await;
    let r = app.get("/no/such/page").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("Page not found"));
}

#[tokio::test(flavor = "multi_thread")]
async fn cross_site_posts_are_refused() {
    let app = TestApp::spawn().await;
    let e = email("csrf");
    let form = [("email", e.as_str()), ("display_name", "Csrf"), ("password", PASSWORD)];
    let mut evil = HeaderMap::new();
    evil.insert("origin", HeaderValue::from_static("https://evil.example"));
    let r = app.client.post(app.url("/api/auth/sign_up")).headers(evil).form(&form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .client
        .post(app.url("/api/auth/sign_up"))
        .header("sec-fetch-site", "cross-site")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.me().await, Value::Null, "nothing happened");
    // the same request from the app's own origin works
    let r = app
        .client
        .post(app.url("/api/auth/sign_up"))
        .header("origin", format!("http://{}", app.addr))
        .header("sec-fetch-site", "same-origin")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

#[tokio::test(flavor = "multi_thread")]
async fn users_only_ever_see_themselves() {
    let app = TestApp::spawn().await;
    let (a, b) = (email("alice"), email("bob"));
    app.sign_up(&a, "Alice").await;
    let bob = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    bob.sign_up(&b, "Bob").await;
    assert_eq!(app.me().await["email"], a);
    assert_eq!(bob.me().await["email"], b);
    // Bob's page shows Bob, never Alice
    let html = bob.get("/").await.text().await.unwrap();
    assert!(html.contains("Bob") && !html.contains("Alice") && !html.contains(&a));
}

#[tokio::test(flavor = "multi_thread")]
async fn secure_cookie_behind_an_https_proxy() {
    let url = fresh_database(cluster().await).await;
    let config = test_config(&url, &[("TRUST_PROXY_HEADERS", "true")]);
    let app = TestApp::spawn_with(config, None).await;
    let r = app
        .client
        .post(app.url("/api/auth/sign_up"))
        .header("x-forwarded-proto", "https")
        .form(&[("email", email("tls").as_str()), ("display_name", "Tls"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookie = session_cookie(&r).unwrap();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
}

#[tokio::test(flavor = "multi_thread")]
async fn health_reports_each_component() {
    let app = TestApp::spawn().await;
    let r = app.get("/api/health").await;
    assert_eq!(r.status(), StatusCode::OK);
    let h: Value = r.json().await.unwrap();
    assert_eq!(h["status"], "ok", "{h}");
    assert_eq!(h["metadata_db"]["status"], "ok");
    assert_eq!(h["vector_db"]["status"], "ok", "the embedded Postgres has pgvector");
    assert_eq!(h["embedder"]["status"], "ok", "{h}");
    assert!(h["embedder"]["detail"].as_str().unwrap().contains("all-MiniLM-L6-v2"), "{h}");
    assert_eq!(h["storage"][0]["backend"], "local");
    assert_eq!(h["storage"][0]["status"], "ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn health_with_the_vector_database_absent_or_down() {
    let url = fresh_database(cluster().await).await;
    let absent = TestApp::spawn_with(test_config(&url, &[]), Some(VectorDb::Absent)).await;
    let r = absent.get("/api/health").await;
    assert_eq!(r.status(), StatusCode::OK, "a missing vector database only degrades search");
    let h: Value = r.json().await.unwrap();
    assert_eq!(h["vector_db"]["status"], "absent", "{h}");
    assert_eq!(h["status"], "degraded");
    // everything else still works
    absent.sign_up(&email("novec"), "NoVec").await;
    assert_eq!(absent.me().await["display_name"], "NoVec");

    // NEON_DATABASE_URL pointing at a server that is not there: start-up goes on, health says down
    let url2 = fresh_database(cluster().await).await;
    let dead = "postgresql:///vectors?host=/nonexistent-bartleby-socket&port=1&user=postgres";
    let down = TestApp::spawn_with(test_config(&url2, &[("NEON_DATABASE_URL", dead)]), None).await;
    let h: Value = down.get("/api/health").await.json().await.unwrap();
    assert_eq!(h["vector_db"]["status"], "down", "{h}");
    assert_eq!(h["metadata_db"]["status"], "ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exhausted_pool_answers_temporarily_unavailable_then_recovers() {
    let url = fresh_database(cluster().await).await;
    let config = test_config(&url, &[("DATABASE_POOL_SIZE", "1"), ("DATABASE_TIMEOUT_SECS", "1")]);
    let app = TestApp::spawn_with(config, None).await;
    app.sign_up(&email("pool"), "Pool").await;

    let held = app.state.db.get().await.unwrap();
    let started = Instant::now();
    let r = app.call("auth/me", &[]).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < Duration::from_secs(5), "waited {:?}", started.elapsed());
    let page = app.get("/").await;
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    let html = page.text().await.unwrap();
    assert!(html.contains("Temporarily unavailable"), "{html}");
    drop(held);
    assert_eq!(app.me().await["display_name"], "Pool");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_restart_is_survived() {
    // a cluster of its own, so stopping it disturbs no other test
    let root = std::env::var("BARTLEBY_TEST_PG_DIR").unwrap_or_else(|_| "/tmp/bartleby-test-pg".into());
    let pg = start_cluster(&format!("{root}-restart"), DEFAULT_PORT).await;
    let url = fresh_database(&pg).await;
    let app = TestApp::spawn_with(test_config(&url, &[]), None).await;
    app.sign_up(&email("bounce"), "Bounce").await;

    pg.stop().await.unwrap();
    let page = app.get("/").await;
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    let html = page.text().await.unwrap();
    assert!(html.contains("Temporarily unavailable") && !html.contains("panicked"), "{html}");
    let h = app.get("/api/health").await;
    assert_eq!(h.status(), StatusCode::SERVICE_UNAVAILABLE);

    pg.start().await.unwrap();
    // the pool reconnects by itself
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = app.call("auth/me", &[]).await;
        if r.status() == StatusCode::OK {
            assert_eq!(r.json::<Value>().await.unwrap()["display_name"], "Bounce");
            break;
        }
        assert!(Instant::now() < deadline, "did not recover: {}", r.status());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    pg.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_migrations_wait_for_each_other() {
    let url = fresh_database(cluster().await).await;
    let (a, b) = tokio::join!(
        app::platform::db::run_migrations(&url, app::platform::db::META_MIGRATIONS),
        app::platform::db::run_migrations(&url, app::platform::db::META_MIGRATIONS),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.is_empty() != b.is_empty(), "exactly one of them applied the migrations: {a:?} {b:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_requests_get_a_clear_error_not_a_crash() {
    let app = TestApp::spawn().await;
    let r = app.call("auth/sign_in", &[("nothing", "here")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["message"], "The request was malformed.");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_account_administers_the_installation_and_nobody_else_sees_the_admin_page() {
    let app = TestApp::spawn().await;
    let (first, second) = (email("first"), email("second"));
    assert!(app
        .get("/signup")
        .await
        .text()
        .await
        .unwrap()
        .contains("The first account created on a Bartleby administers it"));
    app.sign_up(&first, "First").await;
    assert_eq!(app.me().await["is_admin"], true);
    add_item(&app, "Ledger", &[]).await;
    let other = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    other.sign_up(&second, "Second").await;
    assert_eq!(other.me().await["is_admin"], false);

    let r = app.get("/admin").await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    for want in [
        first.as_str(),
        second.as_str(),
        "(administrator)",
        "metadata",
        "No backup yet",
        "Row-level security is enforced",
    ] {
        assert!(html.contains(want), "{want}: {html}");
    }
    assert!(app.get("/").await.text().await.unwrap().contains("You administer this Bartleby"));
    let overview: Value = app.call("admin/overview", &[]).await.json().await.unwrap();
    assert_eq!(overview["users"][0]["items"], 1, "{overview}");
    assert!(overview["databases"][0]["bytes"].as_i64().unwrap() > 0);

    // anyone else: there is no such page
    assert_eq!(other.get("/admin").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(other.call("admin/overview", &[]).await.status(), StatusCode::NOT_FOUND);
    assert!(!other.get("/").await.text().await.unwrap().contains("You administer"));
    let anonymous = client();
    let r = anonymous.get(app.url("/admin")).header(ACCEPT, "text/html").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

/// Row-level security, the hard way: on a connection taken for Bob, queries that forget their
/// user filter, or ask for Ann's rows by her id, still see and change only Bob's rows and the
/// documents shared with him.
#[tokio::test(flavor = "multi_thread")]
async fn row_level_security_holds_when_a_query_forgets_its_filter() {
    use app::platform::db::{conn, conn_as, conn_as_reader, rls_enforced};
    use diesel_async::RunQueryDsl;
    let app = TestApp::spawn().await;
    let (ann, bob) = (email("ann"), email("bob"));
    app.sign_up(&ann, "Ann").await;
    let anns_item = add_item(&app, "Ann's clock", &[("location", "Hall")]).await;
    let (_, up) = crate::documents::upload_docs(&app, vec![("a.txt", b"Ann's shared note.".to_vec())]).await;
    let shared = crate::documents::ids(&up, "added")[0];
    crate::documents::upload_docs(&app, vec![("b.txt", b"Ann's private note.".to_vec())]).await;
    let other = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    other.sign_up(&bob, "Bob").await;
    add_item(&other, "Bob's kettle", &[]).await;
    crate::documents::ingest(&app).await;
    let r = app.call("documents/share", &[("id", &shared.to_string()), ("email", &bob)]).await;
    assert!(r.status().is_success() || r.status().is_redirection());
    let ann_id = app.me().await["id"].as_i64().unwrap();
    let bob_id = other.me().await["id"].as_i64().unwrap();
    assert!(rls_enforced(&app.state.db).await, "the test cluster can create the role");

    let mut c = conn_as(&app.state.db, bob_id).await.unwrap();
    // a repository query given Ann's id: the filter says Ann, the database says Bob
    assert!(app::inventory::repo::find_item(&mut c, ann_id, anns_item).await.unwrap().is_none());
    assert!(app::inventory::repo::find_items(&mut c, ann_id, &[anns_item]).await.unwrap().is_empty());
    // queries with no filter at all
    assert_eq!(count(&mut c, "SELECT count(*) AS n FROM user_inventory").await, 1);
    assert_eq!(count(&mut c, "SELECT count(*) AS n FROM user_locations").await, 0);
    assert_eq!(count(&mut c, "SELECT count(*) AS n FROM user_documents").await, 1, "only the one shared with him");
    assert_eq!(count(&mut c, "SELECT count(*) AS n FROM document_chunks").await, 1);
    assert_eq!(diesel::sql_query("UPDATE user_inventory SET name = 'mine now'").execute(&mut c).await.unwrap(), 1);
    assert_eq!(
        diesel::sql_query("DELETE FROM user_documents").execute(&mut c).await.unwrap(),
        0,
        "shared is read-only"
    );
    let stolen = diesel::sql_query(format!("INSERT INTO user_inventory (user_id, name) VALUES ({ann_id}, 'planted')"))
        .execute(&mut c)
        .await;
    assert!(stolen.is_err(), "a row for Ann cannot be written as Bob");
    drop(c);

    // the same pool's next connection is not Bob's any more; jobs and commands see everything
    let mut c = conn(&app.state.db).await.unwrap();
    assert_eq!(count(&mut c, "SELECT count(*) AS n FROM user_inventory").await, 2);
    assert_eq!(item_json(&app, anns_item).await["name"], "Ann's clock");
    assert_eq!(count(&mut c, "SELECT count(*) AS n FROM user_documents").await, 2);
    drop(c);

    // the vectors: Bob's search reads his own and those of the documents shared with him, nothing else
    let vpool = app.state.vector.pool().expect("the test cluster has pgvector");
    let mut vc = conn(vpool).await.unwrap();
    let anns_passages =
        count(&mut vc, &format!("SELECT count(*) AS n FROM document_vectors WHERE user_id = {ann_id}")).await;
    assert!(anns_passages >= 2, "both of Ann's notes were embedded ({anns_passages})");
    drop(vc);
    let mut vc = conn_as_reader(vpool, bob_id, &[]).await.unwrap();
    assert_eq!(count(&mut vc, "SELECT count(*) AS n FROM document_vectors").await, 0);
    assert_eq!(count(&mut vc, &format!("SELECT count(*) AS n FROM item_vectors WHERE user_id <> {bob_id}")).await, 0);
    assert_eq!(diesel::sql_query("DELETE FROM document_vectors").execute(&mut vc).await.unwrap(), 0);
    drop(vc);
    let mut vc = conn_as_reader(vpool, bob_id, &[shared]).await.unwrap();
    assert_eq!(count(&mut vc, "SELECT count(*) AS n FROM document_vectors").await, 1, "the shared note's passage");
    assert_eq!(diesel::sql_query("DELETE FROM document_vectors").execute(&mut vc).await.unwrap(), 0, "read-only");
    drop(vc);
    // a connection taken for a user again is set anew, never left with the last reader's documents
    // (the pool hands the one just returned back first)
    let mut vc = conn_as_reader(vpool, bob_id, &[]).await.unwrap();
    assert_eq!(count(&mut vc, "SELECT count(*) AS n FROM document_vectors").await, 0);
    drop(vc);
    let mut c = conn_as(&app.state.db, ann_id).await.unwrap();
    assert_eq!(count(&mut c, "SELECT count(*) AS n FROM user_inventory WHERE name <> 'mine now'").await, 1, "Ann's");
    assert_eq!(count(&mut c, "SELECT count(*) AS n FROM user_inventory WHERE name = 'mine now'").await, 0, "not Bob's");
    drop(c);
    let mut vc = conn(vpool).await.unwrap();
    assert_eq!(
        count(&mut vc, &format!("SELECT count(*) AS n FROM document_vectors WHERE user_id = {ann_id}")).await,
        anns_passages
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_signed_in_account_comes_with_the_session_fresh_on_every_page_and_is_never_stored() {
    use app::platform::schema::sessions::dsl as s;
    use app::platform::session_store::SIGNED_IN_ROW;
    use diesel::prelude::*;
    use diesel_async::{AsyncConnection, RunQueryDsl};
    let app = TestApp::spawn().await;
    app.sign_up(&email("carol"), "Carol").await;
    let other = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    other.sign_up(&email("mallory"), "Mallory").await;
    let mallory_id = other.me().await["id"].as_i64().unwrap();
    let mut conn = diesel_async::AsyncPgConnection::establish(&app.db_url).await.unwrap();
    assert!(page_text(&app.get("/").await.text().await.unwrap()).contains("Carol"));

    // a change to the account shows on the next page (read with the session, not kept)
    diesel::sql_query("UPDATE users SET display_name = 'Caroline' WHERE display_name = 'Carol'")
        .execute(&mut conn)
        .await
        .unwrap();
    assert!(page_text(&app.get("/").await.text().await.unwrap()).contains("Caroline"));

    // a write of the session (a refused form keeps what was typed in it) stores no account row
    app.call("inventory/create", &[("form[name]", "")]).await;
    let stored: Vec<serde_json::Value> = s::sessions.select(s::data).load(&mut conn).await.unwrap();
    assert!(!stored.is_empty());
    assert!(stored.iter().all(|d| d.get(SIGNED_IN_ROW).is_none()), "{stored:?}");

    // a row planted in a stored session (by whatever means) is never believed: the one read with
    // the session replaces it
    let planted = serde_json::json!({ SIGNED_IN_ROW: {
        "id": mallory_id, "email": "x@example.com", "display_name": "Planted", "created_at": 0, "is_admin": true } });
    diesel::sql_query("UPDATE sessions SET data = data || $1")
        .bind::<diesel::sql_types::Jsonb, _>(planted)
        .execute(&mut conn)
        .await
        .unwrap();
    let me = app.me().await;
    assert_eq!(me["display_name"], "Caroline");
    assert_eq!(me["is_admin"], true, "Carol signed up first: she administers");
    let me = other.me().await;
    assert_eq!((me["display_name"].as_str(), me["is_admin"].as_bool()), (Some("Mallory"), Some(false)));
    assert!(!page_text(&other.get("/").await.text().await.unwrap()).contains("Planted"));
}

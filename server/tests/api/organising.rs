//! Organising the inventory: a tree of places per user (a place counts everything inside it, moving
//! a box moves its contents), bulk changes to checked rows, and the storage figures. Nothing of
//! another user's is reachable.

use super::*;

async fn tree(app: &TestApp) -> Value {
    let r = app.call("locations/tree", &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// The id of the place at `path` in the tree.
fn place(tree: &Value, path: &str) -> i64 {
    tree["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["path"] == path)
        .unwrap_or_else(|| panic!("no {path} in {tree}"))["id"]
        .as_i64()
        .unwrap()
}

fn figures(tree: &Value, path: &str) -> (i64, i64, i64) {
    let l = tree["locations"].as_array().unwrap().iter().find(|l| l["path"] == path).unwrap();
    (l["own_items"].as_i64().unwrap(), l["items"].as_i64().unwrap(), l["quantity"].as_i64().unwrap())
}

async fn in_place(app: &TestApp, id: i64) -> Vec<String> {
    let mut n = names(&list(app, &[("location", &id.to_string()), ("sort", "name"), ("desc", "false")]).await);
    n.sort();
    n
}

#[tokio::test(flavor = "multi_thread")]
async fn places_nest_count_what_is_inside_and_move_with_their_contents() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("places"), "Places").await;
    let kettle =
        add_item(&app, "Kettle", &[("location", "House / Kitchen"), ("retail_price", "30"), ("quantity", "1")]).await;
    add_item(&app, "Mugs", &[("location", " house/ KITCHEN /Shelf "), ("retail_price", "5"), ("quantity", "6")]).await;
    add_item(&app, "Skis", &[("location", "House / Attic / Box")]).await;
    add_item(&app, "Loose", &[]).await;

    // typed paths reuse places whatever the case and spacing, and create the missing levels
    let t = tree(&app).await;
    let paths: Vec<&str> = t["locations"].as_array().unwrap().iter().map(|l| l["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["House", "House / Attic", "House / Attic / Box", "House / Kitchen", "House / Kitchen / Shelf"]);
    assert_eq!(figures(&t, "House"), (0, 3, 8));
    assert_eq!(figures(&t, "House / Kitchen"), (1, 2, 7));
    assert_eq!(t["unplaced"], 1);
    let kitchen_value = t["locations"].as_array().unwrap().iter().find(|l| l["path"] == "House / Kitchen").unwrap()
        ["value_by_currency"]
        .clone();
    assert_eq!(kitchen_value, serde_json::json!([["USD", "60.00"]]));
    let (house, kitchen, shelf, attic, bx) = (
        place(&t, "House"),
        place(&t, "House / Kitchen"),
        place(&t, "House / Kitchen / Shelf"),
        place(&t, "House / Attic"),
        place(&t, "House / Attic / Box"),
    );
    assert_eq!(item_json(&app, kettle).await["location"], "House / Kitchen");

    // the table filters by a place and everything below it
    assert_eq!(in_place(&app, house).await, ["Kettle", "Mugs", "Skis"]);
    assert_eq!(in_place(&app, kitchen).await, ["Kettle", "Mugs"]);

    // moving the box into the shelf moves the skis with it
    let r = app.call("locations/move", &[("id", &bx.to_string()), ("parent", &shelf.to_string())]).await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(in_place(&app, kitchen).await, ["Kettle", "Mugs", "Skis"]);
    assert!(in_place(&app, attic).await.is_empty());
    let t = tree(&app).await;
    assert_eq!(figures(&t, "House / Kitchen / Shelf / Box"), (1, 1, 1));

    // a place cannot go inside itself, nor next to a namesake
    let (status, body) =
        error_json(app.call("locations/move", &[("id", &house.to_string()), ("parent", &bx.to_string())]).await).await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("parent")), "{body}");
    let (status, body) =
        error_json(app.call("locations/create", &[("name", "kitchen"), ("parent", &house.to_string())]).await).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["message"].as_str().unwrap().contains("already a place called kitchen in House"), "{body}");
    let (status, _) = error_json(app.call("locations/create", &[("name", "a/b"), ("parent", "")]).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // renaming rewrites the paths below
    assert!(app
        .call("locations/rename", &[("id", &kitchen.to_string()), ("name", "Galley")])
        .await
        .status()
        .is_success());
    let skis = list(&app, &[("q", "Skis")]).await["items"][0].clone();
    assert_eq!(skis["location"], "House / Galley / Shelf / Box");

    // sorting by location: by path, unplaced last
    let by_place = names(&list(&app, &[("sort", "location"), ("desc", "false")]).await);
    assert_eq!(by_place, ["Kettle", "Mugs", "Skis", "Loose"]);

    // deleting a place loses nothing: its items and places move up a level
    assert!(app.call("locations/delete", &[("id", &kitchen.to_string())]).await.status().is_success());
    let t = tree(&app).await;
    assert_eq!(figures(&t, "House"), (1, 3, 8));
    assert_eq!(figures(&t, "House / Shelf / Box"), (1, 1, 1));
    assert_eq!(item_json(&app, kettle).await["location"], "House");

    // an item can be taken out of every place
    let r = app
        .client
        .post(app.url("/api/inventory/update"))
        .form(&[("id", kettle.to_string().as_str()), ("form[name]", "Kettle"), ("form[location]", "")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert_eq!(item_json(&app, kettle).await["location_id"], Value::Null);

    // the pages render, with the figures
    let html = app.get(&format!("/inventory/locations/{house}")).await.text().await.unwrap();
    assert!(html.contains("data-testid=\"place-figures\"") && html.contains("Skis"), "{html}");
    assert_eq!(app.get("/inventory/locations").await.status(), StatusCode::OK);

    // the dashboard counts items by top-level place
    let stats: Value = app.call("inventory/summary", &[]).await.json().await.unwrap();
    assert_eq!(stats["by_location"], serde_json::json!([["", 2], ["House", 2]]));
    kept_figures_match_the_items(&app).await;

    // prices, quantities and currencies changing, items going: the kept figures follow
    let mut c = app.state.db.get().await.unwrap();
    for sql in [
        "UPDATE user_inventory SET retail_price = 7.25, quantity = 4 WHERE name = 'Mugs'",
        "UPDATE user_inventory SET currency = 'EUR' WHERE name = 'Kettle'",
        "UPDATE user_inventory SET retail_price = NULL WHERE name = 'Kettle'",
        "DELETE FROM user_inventory WHERE name = 'Skis'",
    ] {
        diesel_async::RunQueryDsl::execute(diesel::sql_query(sql), &mut c).await.unwrap();
        kept_figures_match_the_items(&app).await;
    }
    let stats: Value = app.call("inventory/summary", &[]).await.json().await.unwrap();
    assert_eq!(stats["value_by_currency"], serde_json::json!([["USD", "29.00"]]), "{stats}");
    assert_eq!(stats["item_count"], 3);
}

/// The figures triggers keep per user, place and currency equal a count over the items.
pub(crate) async fn kept_figures_match_the_items(app: &TestApp) {
    #[derive(diesel::QueryableByName, Debug)]
    struct Diff {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    const LIVE: &str =
        "SELECT user_id, COALESCE(location_id, 0), currency, count(*), sum(quantity), count(retail_price), \
                               COALESCE(sum(retail_price * quantity), 0) FROM user_inventory GROUP BY 1, 2, 3";
    const KEPT: &str =
        "SELECT user_id, location_key, currency, items, quantity, priced, value FROM user_place_figures \
                         WHERE items <> 0 OR quantity <> 0 OR priced <> 0 OR value <> 0";
    let mut c = app.state.db.get().await.unwrap();
    let d: Diff = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query(format!(
            "SELECT count(*) AS n FROM (({KEPT} EXCEPT {LIVE}) UNION ALL ({LIVE} EXCEPT {KEPT})) d"
        )),
        &mut c,
    )
    .await
    .unwrap();
    assert_eq!(d.n, 0, "the kept figures differ from the items");
}

#[tokio::test(flavor = "multi_thread")]
async fn another_users_places_are_out_of_reach() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("alice"), "Alice").await;
    add_item(&app, "Diary", &[("location", "Bedroom / Drawer")]).await;
    let t = tree(&app).await;
    let drawer = place(&t, "Bedroom / Drawer").to_string();

    let bob = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    bob.sign_up(&email("bob"), "Bob").await;
    add_item(&bob, "Hat", &[("location", "Bedroom")]).await;
    let bob_bedroom = place(&tree(&bob).await, "Bedroom").to_string();
    assert_eq!(tree(&bob).await["locations"].as_array().unwrap().len(), 1, "Bob sees only his own places");
    assert!(names(&list(&bob, &[("location", &drawer)]).await).is_empty());
    for (endpoint, form) in [
        ("locations/rename", vec![("id", drawer.as_str()), ("name", "Mine")]),
        ("locations/move", vec![("id", drawer.as_str()), ("parent", "")]),
        ("locations/delete", vec![("id", drawer.as_str())]),
    ] {
        assert_eq!(bob.call(endpoint, &form).await.status(), StatusCode::NOT_FOUND, "{endpoint}");
    }
    // nor can he hang his places or items under hers
    let (status, _) = error_json(bob.call("locations/move", &[("id", &bob_bedroom), ("parent", &drawer)]).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = error_json(bob.call("locations/create", &[("name", "Sock"), ("parent", &drawer)]).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bob.get(&format!("/inventory/locations/{drawer}")).await.status(), StatusCode::NOT_FOUND);
    // Alice's tree is as she left it
    assert_eq!(place(&tree(&app).await, "Bedroom / Drawer").to_string(), drawer);
}

#[tokio::test(flavor = "multi_thread")]
async fn storage_used_is_counted_per_backend_and_released_on_delete() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("storage"), "Storage").await;
    let item = add_item(&app, "Camera", &[]).await;
    let photo = jpeg(640, 480);
    let size = photo.len() as i64;
    assert_eq!(upload(&app, item, "a.jpg", photo, "application/json").await.status(), StatusCode::OK);
    wait_for_thumbnails(&app, item).await;
    let stats: Value = app.call("inventory/summary", &[]).await.json().await.unwrap();
    let local = &stats["storage"][0];
    assert_eq!((local["backend"].as_str(), local["objects"].as_i64()), (Some("local"), Some(3)), "{stats}");
    assert!(local["bytes"].as_i64().unwrap() > size, "the photo and its two thumbnails: {stats}");
    let html = app.get("/").await.text().await.unwrap();
    assert!(html.contains("This server&#x27;s disk") || html.contains("This server's disk"), "{html}");

    // another user's figures are their own
    let bob = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    bob.sign_up(&email("bob"), "Bob").await;
    let theirs: Value = bob.call("inventory/summary", &[]).await.json().await.unwrap();
    assert_eq!(theirs["storage"], serde_json::json!([]));

    assert!(app.call("inventory/delete", &[("id", &item.to_string())]).await.status().is_success());
    let stats: Value = app.call("inventory/summary", &[]).await.json().await.unwrap();
    assert_eq!(stats["storage"], serde_json::json!([]), "nothing stored any more");
}

/// Posts the table's bulk form as the browser does: checked rows only, as `ids[row]`.
async fn bulk(app: &TestApp, rows: &[(usize, i64)], op: &str, value: &str, confirm: bool) -> reqwest::Response {
    let mut form: Vec<(String, String)> = rows.iter().map(|(i, id)| (format!("ids[{i}]"), id.to_string())).collect();
    form.push(("op".into(), op.into()));
    form.push(("value".into(), value.into()));
    if confirm {
        form.push(("confirm".into(), "yes".into()));
    }
    form.push(("back".into(), "/inventory?sort=name".into()));
    app.client.post(app.url("/api/inventory/bulk")).form(&form).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn checked_rows_change_together_and_only_your_own() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("bulk"), "Bulk").await;
    let a = add_item(&app, "Alpha", &[("tags", "old, keep")]).await;
    let b = add_item(&app, "Beta", &[("tags", "OLD")]).await;
    let c = add_item(&app, "Gamma", &[]).await;

    let bob = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    bob.sign_up(&email("bob"), "Bob").await;
    let theirs = add_item(&bob, "Bob's", &[("category", "Mine")]).await;

    // rows 0 and 2 checked (row 1 not): sparse indexes, as a browser sends them
    let r = bulk(&app, &[(0, a), (2, c), (3, theirs)], "set_category", "Tools", false).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap(), 2, "Bob's item is not counted");
    assert_eq!(item_json(&app, a).await["category"], "Tools");
    assert_eq!(item_json(&app, b).await["category"], "");
    assert_eq!(item_json(&bob, theirs).await["category"], "Mine");

    assert_eq!(bulk(&app, &[(0, a), (1, b)], "add_tags", "new, Keep", false).await.status(), StatusCode::OK);
    assert_eq!(item_json(&app, a).await["tags"], serde_json::json!(["old", "keep", "new"]));
    assert_eq!(item_json(&app, b).await["tags"], serde_json::json!(["OLD", "new", "Keep"]));
    assert_eq!(bulk(&app, &[(0, a), (1, b)], "remove_tags", "old", false).await.status(), StatusCode::OK);
    assert_eq!(item_json(&app, b).await["tags"], serde_json::json!(["new", "Keep"]));
    // the filter menus follow: a name goes when its last item does
    let page = list(&app, &[]).await;
    assert_eq!(page["categories"], serde_json::json!(["Tools"]));
    assert_eq!(page["tags"], serde_json::json!(["Keep", "keep", "new"]));
    assert_eq!(list(&bob, &[]).await["categories"], serde_json::json!(["Mine"]));

    assert_eq!(bulk(&app, &[(1, b), (2, c)], "set_location", "Shed / Bench", false).await.status(), StatusCode::OK);
    assert_eq!(item_json(&app, c).await["location"], "Shed / Bench");

    // delete needs the confirmation, and nothing is lost without it
    let (status, body) = error_json(bulk(&app, &[(0, a), (1, b)], "delete", "", false).await).await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("confirm")));
    let (status, body) = error_json(bulk(&app, &[], "set_category", "x", false).await).await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("ids")));
    let (status, body) = error_json(bulk(&app, &[(0, a)], "launch", "", false).await).await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("op")));
    assert_eq!(names(&list(&app, &[]).await).len(), 3);

    let r = bulk(&app, &[(0, a), (1, b), (5, theirs)], "delete", "", true).await;
    assert_eq!(r.json::<Value>().await.unwrap(), 2);
    assert_eq!(names(&list(&app, &[]).await), ["Gamma"]);
    assert_eq!(names(&list(&bob, &[]).await), ["Bob's"]);

    // without JavaScript the form posts and comes back to the same view of the table
    let r = app
        .client
        .post(app.url("/api/inventory/bulk"))
        .header(ACCEPT, "text/html")
        .form(&[
            ("ids[0]", c.to_string().as_str()),
            ("op", "set_category"),
            ("value", "Garden"),
            ("back", "/inventory?sort=name"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()[LOCATION], "/inventory?sort=name&changed=1");
    let r = app
        .client
        .post(app.url("/api/inventory/bulk"))
        .header(ACCEPT, "text/html")
        .form(&[("op", "set_category"), ("value", "Garden"), ("back", "https://evil.example/")])
        .send()
        .await
        .unwrap();
    // refused: back to the table (never elsewhere), which says why, with the form as it was sent
    assert_eq!(r.headers()[LOCATION], "/inventory");
    let html = app.get("/inventory").await.text().await.unwrap();
    assert!(html.contains("Select one or more items first."), "{html}");
    assert!(html.contains(r#"value="Garden""#) && html.contains(r#"<option value="set_category" selected"#), "{html}");
    kept_figures_match_the_items(&app).await;
}

async fn upload_csv(app: &TestApp, body: &str, accept: &str) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(body.as_bytes().to_vec()).file_name("items.csv");
    let form = reqwest::multipart::Form::new().part("file", part);
    app.client.post(app.url("/inventory/import")).header(ACCEPT, accept).multipart(form).send().await.unwrap()
}

/// Starts importing a pending file and waits for the job to finish it: the run as it ended.
pub(crate) async fn import_and_wait(app: &TestApp, token: &str) -> Value {
    let r = app.call("inventory/import/commit", &[("token", token)]).await;
    assert!(r.status().is_success(), "{}", r.status());
    let started: Value = r.json().await.unwrap();
    assert!(["queued", "importing", "done"].contains(&started["status"].as_str().unwrap()), "{started}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let run: Value = app.call("inventory/import/status", &[("token", token)]).await.json().await.unwrap();
        if matches!(run["status"].as_str(), Some("done" | "failed")) {
            return run;
        }
        assert!(Instant::now() < deadline, "the import did not finish: {run}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn pending(app: &TestApp, body: &str) -> String {
    let r = upload_csv(app, body, "application/json").await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_csv_import_is_previewed_with_row_problems_and_is_all_or_nothing() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("import"), "Import").await;

    // a file with problems: the preview names them by line and column; importing is refused
    let bad = "name,quantity,retail_price,location,notes\nChair,2,40,Hall,x\nLamp,-1,5,,\n,1,,,\nVase,1,1.234,Hall / Shelf,\n";
    let token = pending(&app, bad).await;
    let preview: Value = app.call("inventory/import/preview", &[("token", &token)]).await.json().await.unwrap();
    assert_eq!(preview["items"], 4);
    assert_eq!(preview["problem_count"], 3);
    let found: Vec<(i64, &str)> = preview["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["line"].as_i64().unwrap(), p["column"].as_str().unwrap()))
        .collect();
    assert_eq!(found, [(3, "quantity"), (4, "name"), (5, "retail_price")]);
    assert_eq!(preview["ignored_columns"], serde_json::json!(["notes"]));
    let (status, body) = error_json(app.call("inventory/import/commit", &[("token", &token)]).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(names(&list(&app, &[]).await).is_empty(), "nothing half-imported");
    assert!(tree(&app).await["locations"].as_array().unwrap().is_empty(), "not even a place");

    // a good file: previewed, then imported whole, places and all
    let good = "Name,Category,Location,Quantity,Tags,Retail price,Currency\n\
                Oak chair,Furniture,House / Hall,4,\"oak, old\",120,eur\n\
                Brass lamp,Lighting,house / hall,,,85.50,\n\
                '=1+1,,,,,,\n";
    let token = pending(&app, good).await;
    let preview: Value = app.call("inventory/import/preview", &[("token", &token)]).await.json().await.unwrap();
    assert_eq!((preview["items"].as_i64(), preview["problem_count"].as_i64()), (Some(3), Some(0)), "{preview}");
    assert_eq!(preview["sample"][0]["name"], "Oak chair");

    // another user cannot see or import it
    let bob = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    bob.sign_up(&email("bob"), "Bob").await;
    assert_eq!(bob.call("inventory/import/preview", &[("token", &token)]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(bob.call("inventory/import/commit", &[("token", &token)]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(bob.get(&format!("/inventory/import/{token}")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.call("inventory/import/preview", &[("token", "../../x")]).await.status(), StatusCode::NOT_FOUND);

    // the import runs in the background; its status says how far it got, then that it is done
    let run = import_and_wait(&app, &token).await;
    assert_eq!(
        (run["status"].as_str(), run["done"].as_i64(), run["total"].as_i64()),
        (Some("done"), Some(3), Some(3)),
        "{run}"
    );
    // its page shows the result (the person may have left and come back)
    let r = app.get(&format!("/inventory/import/{token}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("3 items imported."), "{html}");
    // importing again does nothing more
    assert!(app.call("inventory/import/commit", &[("token", &token)]).await.status().is_client_error());
    // nor does the job claimed a second time (a lease that ran out while the first finished)
    {
        use diesel_async::RunQueryDsl;
        let mut c = app.state.db.get().await.unwrap();
        diesel::sql_query(format!(
            "INSERT INTO jobs (kind, user_id, subject_id) \
             SELECT 'inventory_import', user_id, id FROM inventory_import_runs WHERE token = '{token}'"
        ))
        .execute(&mut c)
        .await
        .unwrap();
        app.state.jobs_added.notify_waiters();
        let deadline = Instant::now() + Duration::from_secs(20);
        while count(&mut c, "SELECT count(*) AS n FROM jobs WHERE kind = 'inventory_import' AND state <> 'done'").await
            > 0
        {
            assert!(Instant::now() < deadline, "the second claim did not finish");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(names(&list(&app, &[]).await).len(), 3, "imported twice");
    let run: Value = app.call("inventory/import/status", &[("token", &token)]).await.json().await.unwrap();
    assert_eq!(run["status"], "done", "a second claim must not turn a finished import into a failed one: {run}");
    let mut imported = names(&list(&app, &[]).await);
    imported.sort();
    assert_eq!(imported, ["=1+1", "Brass lamp", "Oak chair"]);
    let chair = list(&app, &[("q", "Oak chair")]).await["items"][0].clone();
    assert_eq!((chair["quantity"].as_i64(), chair["currency"].as_str()), (Some(4), Some("EUR")));
    assert_eq!(chair["tags"], serde_json::json!(["oak", "old"]));
    assert_eq!(chair["location"], "House / Hall");
    assert_eq!(tree(&app).await["locations"].as_array().unwrap().len(), 2, "one House, one Hall");
    // the pending file is gone once imported
    assert_eq!(app.call("inventory/import/preview", &[("token", &token)]).await.status(), StatusCode::NOT_FOUND);

    // Bartleby's own CSV export imports as it is, into another account
    let (_, csv) = super::export_file(&app, "csv").await;
    let token = pending(&bob, std::str::from_utf8(&csv).unwrap()).await;
    assert_eq!(import_and_wait(&bob, &token).await["status"], "done");
    let theirs = list(&bob, &[("q", "Oak chair")]).await["items"][0].clone();
    assert_eq!((theirs["retail_price"].as_str(), theirs["location"].as_str()), (Some("120.00"), Some("House / Hall")));
    assert_eq!(names(&list(&bob, &[("q", "1")]).await).len(), 1);

    // without JavaScript: upload answers with the preview page; refusals come back as codes
    let r = upload_csv(&app, good, "text/html").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let preview_page = r.headers()[LOCATION].to_str().unwrap().to_owned();
    let html = app.get(&preview_page).await.text().await.unwrap();
    assert!(html.contains("3 items ready to import."), "{html}");
    let r = upload_csv(&app, "", "text/html").await;
    assert_eq!(r.headers()[LOCATION], "/inventory/import?error=empty");
    let html = app.get("/inventory/import?error=empty").await.text().await.unwrap();
    assert!(html.contains("That file is empty."));
    let r = upload_csv(&app, "foo,bar\n1,2\n", "application/json").await;
    let token = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let (status, body) = error_json(app.call("inventory/import/preview", &[("token", &token)]).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["message"].as_str().unwrap().contains("no “name” column"), "{body}");
    kept_figures_match_the_items(&app).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn large_tables_count_to_a_cap_and_still_page_to_the_end() {
    use diesel_async::RunQueryDsl;
    let app = TestApp::spawn().await;
    app.sign_up(&email("big"), "Big").await;
    let user = app.me().await["id"].as_i64().unwrap();
    let mut c = app.state.db.get().await.unwrap();
    diesel::sql_query(
        "INSERT INTO user_inventory (user_id, name, category) SELECT $1, 'Widget ' || i, 'Parts' FROM generate_series(1, 10050) i",
    )
    .bind::<diesel::sql_types::BigInt, _>(user)
    .execute(&mut c)
    .await
    .unwrap();
    drop(c);
    // unfiltered: the exact count, kept by a trigger
    let page = list(&app, &[]).await;
    assert_eq!((page["total"].as_i64(), page["total_capped"].as_bool()), (Some(10050), Some(false)));
    // filtered: exact up to 10,000, then "more than"
    let page = list(&app, &[("category", "Parts")]).await;
    assert_eq!((page["total"].as_i64(), page["total_capped"].as_bool()), (Some(10000), Some(true)));
    assert_eq!(page["has_next"], true);
    let last = list(&app, &[("category", "Parts"), ("page", "202"), ("sort", "name"), ("desc", "false")]).await;
    assert_eq!((last["items"].as_array().unwrap().len(), last["has_next"].as_bool()), (0, Some(false)));
    let last = list(&app, &[("category", "Parts"), ("page", "201"), ("sort", "name"), ("desc", "false")]).await;
    assert_eq!((last["items"].as_array().unwrap().len(), last["has_next"].as_bool()), (50, Some(false)));
    let html = app.get("/inventory?category=Parts").await.text().await.unwrap();
    assert!(html.contains("More than 10000 items") && html.contains("Next"), "{html}");
    // deleting keeps the exact count right
    let id = page["items"][0]["id"].as_i64().unwrap().to_string();
    assert!(app.call("inventory/delete", &[("id", &id)]).await.status().is_success());
    assert_eq!(list(&app, &[]).await["total"], 10049);
}

#[tokio::test(flavor = "multi_thread")]
async fn thumbnails_are_made_even_if_the_server_stopped_right_after_the_upload() {
    let url = fresh_database(cluster().await).await;
    let state = server::build_state(test_config(&url, &[]), &url).await.unwrap();
    // a server with no photo workers: the upload answers, the thumbnails job waits in the queue
    let app = TestApp::serve_with_workers(state, url.clone(), client(), false).await;
    app.sign_up(&email("durable"), "Durable").await;
    let item = add_item(&app, "Camera", &[]).await;
    assert_eq!(upload(&app, item, "a.jpg", jpeg(400, 300), "application/json").await.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(item_json(&app, item).await["photos"][0]["thumb_256"], Value::Null);
    // "restarted": a server with workers picks the job up from the database
    let app = app.restart().await;
    let photo = wait_for_thumbnails(&app, item).await;
    assert!(photo["thumb_256"].is_i64() && photo["thumb_1024"].is_i64(), "{photo}");
}

/// A large import goes in batches (one statement per thousand rows; the counters' triggers run
/// once per statement) and lands whole: the figures the triggers keep match the items exactly,
/// the last, partial batch included.
#[tokio::test(flavor = "multi_thread")]
async fn a_large_import_lands_whole_with_its_figures() {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Check {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        ok: bool,
    }
    let app = TestApp::spawn().await;
    app.sign_up(&email("bulk"), "Bulk").await;
    let mut csv = String::from("name,category,location,quantity,tags,retail_price,currency\n");
    for i in 0..12_345 {
        csv.push_str(&format!(
            "Thing {i},Cat {},Room {} / Shelf {},{},\"t{}, t{}\",{}.50,{}\n",
            i % 17,
            i % 5,
            i % 7,
            1 + i % 3,
            i % 11,
            i % 13,
            i % 90,
            if i % 2 == 0 { "EUR" } else { "USD" }
        ));
    }
    let token = pending(&app, &csv).await;
    assert_eq!(import_and_wait(&app, &token).await["status"], "done");
    assert_eq!(list(&app, &[]).await["total"], 12_345);
    let mut c = app.state.db.get().await.unwrap();
    let check: Check = diesel::sql_query(
        "SELECT (SELECT items FROM user_item_totals) = (SELECT count(*) FROM user_inventory) \
            AND (SELECT sum(items) FROM user_categories) = (SELECT count(*) FROM user_inventory) \
            AND (SELECT count(*) FROM user_categories) = 17 \
            AND (SELECT sum(items) FROM user_tags) = \
                (SELECT count(*) FROM (SELECT DISTINCT id, t FROM user_inventory, unnest(tags) t) d) \
            AND (SELECT sum(items) FROM user_place_figures) = 12345 \
            AND (SELECT sum(value) FROM user_place_figures) = (SELECT sum(retail_price * quantity) FROM user_inventory) \
            AND (SELECT count(*) FROM user_locations) = 5 + 35 AS ok",
    )
    .get_result(&mut c)
    .await
    .unwrap();
    assert!(check.ok, "the triggers' figures match the items");
    drop(c);
    // and a bulk delete takes them down again, as one statement
    let mut c = app.state.db.get().await.unwrap();
    diesel::sql_query("DELETE FROM user_inventory WHERE name LIKE 'Thing 1%'").execute(&mut c).await.unwrap();
    let check: Check = diesel::sql_query(
        "SELECT (SELECT items FROM user_item_totals) = (SELECT count(*) FROM user_inventory) \
            AND (SELECT sum(items) FROM user_tags) = \
                (SELECT count(*) FROM (SELECT DISTINCT id, t FROM user_inventory, unnest(tags) t) d) \
            AND (SELECT sum(items) FROM user_place_figures) = (SELECT count(*) FROM user_inventory) AS ok",
    )
    .get_result(&mut c)
    .await
    .unwrap();
    assert!(check.ok, "and after a delete");
}

/// The dashboard's charts: the largest eight and one line for the rest (the bars add up to the
/// items), long names shortened with the whole name kept for hovering and screen readers, and
/// every value inside the chart.
#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_charts_add_up_and_fit() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("charts"), "Charts").await;
    let long = "Scientific instruments and measuring devices";
    for i in 0..10 {
        let category = if i == 0 { long.to_owned() } else { format!("Cat {i}") };
        for _ in 0..(if i == 0 { 3 } else { 1 }) {
            add_item(&app, &format!("Thing {i}"), &[("category", &category)]).await;
        }
    }
    // and one category of six-digit size (the triggers count a statement's rows at once)
    let user = app.me().await["id"].as_i64().unwrap();
    let mut c = app.state.db.get().await.unwrap();
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "INSERT INTO user_inventory (user_id, name, category) \
             SELECT {user}, 'Bulk ' || g, 'Cat 1' FROM generate_series(1, 123456) g"
        )),
        &mut c,
    )
    .await
    .unwrap();
    drop(c);
    let html = app.get("/").await.text().await.unwrap();
    assert!(html.contains("All other categories"), "{html}");
    assert!(html.contains(">123457<"), "the largest category's count");
    assert!(html.contains(&format!("{long}: 3")), "the whole name in the bar's title");
    assert!(html.contains("Scientific instrume…"), "shortened on the chart");
    // the value after the longest bar stays inside the 400 units of the chart
    for cap in html.match_indices("<text x=\"").map(|(i, _)| &html[i + 9..]) {
        let x: i64 = cap.split('"').next().unwrap().parse().unwrap();
        let value: String = cap.split('>').nth(1).unwrap().chars().take_while(|c| c.is_ascii_digit()).collect();
        if !value.is_empty() && x > 0 {
            assert!(x + 7 * value.len() as i64 <= 400, "value {value} at {x}");
        }
    }
}

//! Inventory items and their photos: create, read, isolation, the table, the dashboard, uploads.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn items_are_created_checked_and_read_back_exactly() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("inv"), "Inv").await;
    let id = add_item(
        &app,
        "  Oak chair ",
        &[("quantity", "4"), ("tags", "oak, vintage, Oak"), ("retail_price", "1,299.9"), ("currency", "eur")],
    )
    .await;
    let r = app.call("inventory/get", &[("id", &id.to_string())]).await;
    let item: Value = r.json().await.unwrap();
    assert_eq!(item["name"], "Oak chair");
    assert_eq!(item["quantity"], 4);
    assert_eq!(item["tags"], serde_json::json!(["oak", "vintage"]));
    assert_eq!(item["retail_price"], "1299.90");
    assert_eq!(item["currency"], "EUR");
    assert_eq!(item["import_cost"], Value::Null);

    for (field, value) in [("quantity", "-3"), ("retail_price", "12.345"), ("currency", "euro")] {
        let r = app
            .client
            .post(app.url("/api/inventory/create"))
            .form(&[("form[name]", "x"), (&format!("form[{field}]"), value)])
            .send()
            .await
            .unwrap();
        let (status, body) = error_json(r).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["field"], field, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn another_users_items_are_not_found_by_any_route() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("alice"), "Alice").await;
    let id = add_item(&app, "Alice's diary", &[]).await.to_string();

    let bob = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    bob.sign_up(&email("bob"), "Bob").await;
    let (status, body) = error_json(bob.call("inventory/get", &[("id", &id)]).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let r = bob
        .client
        .post(bob.url("/api/inventory/update"))
        .form(&[("id", id.as_str()), ("form[name]", "Bob was here")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(bob.call("inventory/delete", &[("id", &id)]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(bob.get(&format!("/inventory/{id}")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(bob.get(&format!("/inventory/{id}/edit")).await.status(), StatusCode::NOT_FOUND);
    assert!(names(&list(&bob, &[]).await).is_empty());

    // untouched for its owner
    let item: Value = app.call("inventory/get", &[("id", &id)]).await.json().await.unwrap();
    assert_eq!(item["name"], "Alice's diary");
    // and nobody signed out gets anything
    let anon = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    assert_eq!(anon.call("inventory/get", &[("id", &id)]).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_table_sorts_filters_searches_and_pages() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("table"), "Table").await;
    add_item(
        &app,
        "Oak chair",
        &[("category", "Furniture"), ("quantity", "4"), ("tags", "oak"), ("retail_price", "120")],
    )
    .await;
    add_item(&app, "Brass lamp", &[("category", "Lighting"), ("retail_price", "85.50")]).await;
    add_item(&app, "walnut table", &[("category", "Furniture"), ("description", "Mid-century, seats six")]).await;

    assert_eq!(names(&list(&app, &[]).await), ["walnut table", "Brass lamp", "Oak chair"]);
    assert_eq!(
        names(&list(&app, &[("sort", "name"), ("desc", "false")]).await),
        ["Brass lamp", "Oak chair", "walnut table"]
    );
    assert_eq!(names(&list(&app, &[("sort", "quantity"), ("desc", "true")]).await)[0], "Oak chair");
    let by_price = names(&list(&app, &[("sort", "retail_price"), ("desc", "false")]).await);
    assert_eq!(by_price, ["Brass lamp", "Oak chair", "walnut table"], "no price sorts last");
    assert_eq!(
        names(&list(&app, &[("category", "Furniture"), ("sort", "name"), ("desc", "false")]).await),
        ["Oak chair", "walnut table"]
    );
    assert_eq!(names(&list(&app, &[("tag", "oak")]).await), ["Oak chair"]);
    assert_eq!(names(&list(&app, &[("q", "seats")]).await), ["walnut table"], "description words");
    assert_eq!(names(&list(&app, &[("q", "lamb")]).await), ["Brass lamp"], "a typo");
    assert_eq!(names(&list(&app, &[("q", "50% off")]).await), Vec::<String>::new(), "wildcards are literal");

    let page = list(&app, &[]).await;
    assert_eq!(page["total"], 3);
    assert_eq!(page["categories"], serde_json::json!(["Furniture", "Lighting"]));

    for i in 0..60 {
        add_item(&app, &format!("Box {i:02}"), &[]).await;
    }
    let first = list(&app, &[("sort", "name"), ("desc", "false")]).await;
    assert_eq!(first["total"], 63);
    assert_eq!(first["items"].as_array().unwrap().len(), 50);
    let second = list(&app, &[("sort", "name"), ("desc", "false"), ("page", "2")]).await;
    assert_eq!(second["items"].as_array().unwrap().len(), 13);
    assert_eq!(names(&second)[12], "walnut table");
    assert_eq!((second["total"].as_i64(), second["has_next"].as_bool()), (Some(63), Some(false)));
    // past the last page: no rows, and still the count (read on its own then)
    let past = list(&app, &[("page", "3")]).await;
    assert_eq!((past["total"].as_i64(), past["items"].as_array().unwrap().len()), (Some(63), 0));
    // a filtered first page that is not full counts itself; a full one, or a later page, is counted
    let boxes = list(&app, &[("q", "box")]).await;
    assert_eq!((boxes["total"].as_i64(), boxes["has_next"].as_bool()), (Some(60), Some(true)));
    let later = list(&app, &[("q", "box"), ("page", "2")]).await;
    assert_eq!((later["total"].as_i64(), later["items"].as_array().unwrap().len()), (Some(60), 10));
    assert_eq!(list(&app, &[("q", "walnut")]).await["total"], 1);
    // a typo on a later page: still the near misses' count, and an empty page
    let beyond = list(&app, &[("q", "lamb"), ("page", "2")]).await;
    assert_eq!((beyond["total"].as_i64(), beyond["items"].as_array().unwrap().len()), (Some(1), 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_figures_count_only_your_own_items() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("stats"), "Stats").await;
    add_item(&app, "Oak chair", &[("category", "Furniture"), ("quantity", "4"), ("retail_price", "120")]).await;
    add_item(&app, "Brass lamp", &[("category", "Lighting"), ("retail_price", "85.50")]).await;
    add_item(&app, "Teapot", &[("retail_price", "30"), ("currency", "GBP"), ("quantity", "2")]).await;
    add_item(&app, "Walnut table", &[("category", "Furniture")]).await;

    let other = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    other.sign_up(&email("other"), "Other").await;
    add_item(&other, "Gold bar", &[("category", "Furniture"), ("retail_price", "99999")]).await;

    let stats: Value = app.call("inventory/summary", &[]).await.json().await.unwrap();
    assert_eq!(stats["item_count"], 4);
    assert_eq!(stats["total_quantity"], 8);
    assert_eq!(stats["value_by_currency"], serde_json::json!([["GBP", "60.00"], ["USD", "565.50"]]));
    assert_eq!(stats["by_category"], serde_json::json!([["Furniture", 2], ["", 1], ["Lighting", 1]]));
    assert_eq!(stats["recent"][0]["name"], "Walnut table");

    let html = app.get("/").await.text().await.unwrap();
    assert!(html.contains("565.50 USD") && !html.contains("Gold bar"), "{html}");
}

#[tokio::test(flavor = "multi_thread")]
async fn photos_are_stored_thumbnailed_and_served_to_their_owner_only() {
    let app = TestApp::spawn().await;
    app.sign_up(&email("photo"), "Photo").await;
    let user_id = app.me().await["id"].as_i64().unwrap();
    let item = add_item(&app, "Camera", &[]).await;
    let original = jpeg(800, 600);
    let r = upload(&app, item, "../../etc/passwd.jpg", original.clone(), "application/json").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["stored"], 1);

    let photo = item_json(&app, item).await["photos"][0].clone();
    assert_eq!((photo["width"].as_i64(), photo["height"].as_i64()), (Some(800), Some(600)));
    assert_eq!(photo["backend"], "local");
    let id = photo["id"].as_i64().unwrap();
    // the user's name for the file never becomes a path
    let stored = app.state.config.dirs.inventory_images.join(format!("users/{user_id}/inventory/{item}_{id}.jpg"));
    assert_eq!(std::fs::read(&stored).unwrap(), original);

    let r = app.get(&format!("/media/{id}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert_eq!(r.bytes().await.unwrap().to_vec(), original);

    // thumbnails are made after the upload has answered
    let deadline = Instant::now() + Duration::from_secs(20);
    let thumb = loop {
        let p = item_json(&app, item).await["photos"][0].clone();
        if let Some(t) = p["thumb_256"].as_i64() {
            break t;
        }
        assert!(Instant::now() < deadline, "no thumbnail");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let bytes = app.get(&format!("/media/{thumb}")).await.bytes().await.unwrap();
    let img = image::load_from_memory(&bytes).unwrap();
    assert_eq!((img.width(), img.height()), (256, 192));
    // the table's row shows that thumbnail, never the original; an item without photos shows none
    let other = add_item(&app, "Bare shelf", &[]).await;
    let page = list(&app, &[]).await;
    let row = |id: i64| page["items"].as_array().unwrap().iter().find(|i| i["id"] == id).cloned().unwrap();
    assert_eq!(row(item)["cover"], thumb, "{page}");
    assert!(row(other)["cover"].is_null(), "{page}");
    // the grid of photos: the same thumbnail, a blank for the bare shelf, and every link (sort,
    // the table and back, the filters) keeps to the grid
    let grid = app.get("/inventory?view=grid&sort=name&dir=asc").await.text().await.unwrap();
    let tiles = grid.split("data-testid=\"tiles\"").nth(1).expect("a grid of tiles").split("</ul>").next().unwrap();
    assert!(
        tiles.contains(&format!("src=\"/media/{thumb}\"")) && !tiles.contains(&format!("/media/{id}\"")),
        "{tiles}"
    );
    assert_eq!(tiles.matches("<li class=\"tile\"").count(), 2);
    assert_eq!(tiles.matches("No photo").count(), 1);
    assert!(tiles.find("Bare shelf") < tiles.find(&format!("/inventory/{item}\"")), "sorted by name: {tiles}");
    assert!(tiles.contains(&format!("name=\"ids[0]\" value=\"{other}\"")), "tiles select for bulk changes");
    assert!(grid.contains("href=\"/inventory?dir=desc&amp;sort=name&amp;view=grid\""), "sort keeps the grid");
    assert!(grid.contains("href=\"/inventory?dir=asc&amp;sort=name\""), "back to the table, same order");
    assert!(grid.contains("<input type=\"hidden\" name=\"view\" value=\"grid\""), "the filters keep the grid");
    let table = app.get("/inventory").await.text().await.unwrap();
    assert!(!table.contains("data-testid=\"tiles\"") && table.contains("<table class=\"items inventory\""));

    // another user: nothing, by any route
    let bob = TestApp::serve(app.state.clone(), app.db_url.clone(), client()).await;
    bob.sign_up(&email("bob"), "Bob").await;
    assert_eq!(bob.get(&format!("/media/{id}")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(bob.get(&format!("/media/{thumb}")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(upload(&bob, item, "x.jpg", jpeg(10, 10), "application/json").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        bob.call("inventory/delete_photo", &[("photo_id", &id.to_string())]).await.status(),
        StatusCode::NOT_FOUND
    );
    assert!(stored.exists());

    // a second photo; deleting the first makes the second's thumbnail the cover, deleting that
    // leaves none (the cover is kept on the item by triggers)
    assert_eq!(upload(&app, item, "b.jpg", jpeg(300, 200), "application/json").await.status(), StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(20);
    let second = loop {
        let p = item_json(&app, item).await["photos"][1].clone();
        if let (Some(photo), Some(t)) = (p["id"].as_i64(), p["thumb_256"].as_i64()) {
            break (photo, t);
        }
        assert!(Instant::now() < deadline, "no thumbnail of the second photo");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let cover =
        |page: Value| page["items"].as_array().unwrap().iter().find(|i| i["id"] == item).unwrap()["cover"].clone();
    assert_eq!(cover(list(&app, &[]).await), thumb, "the first photo stays the cover");
    assert!(app.call("inventory/delete_photo", &[("photo_id", &id.to_string())]).await.status().is_success());
    assert_eq!(cover(list(&app, &[]).await), second.1);
    assert!(app.call("inventory/delete_photo", &[("photo_id", &second.0.to_string())]).await.status().is_success());
    assert!(cover(list(&app, &[]).await).is_null());
    assert_eq!(upload(&app, item, "c.jpg", original.clone(), "application/json").await.status(), StatusCode::OK);
    let stored = app.state.config.dirs.inventory_images.join(format!(
        "users/{user_id}/inventory/{item}_{}.jpg",
        item_json(&app, item).await["photos"][0]["id"].as_i64().unwrap()
    ));

    // deleting the item deletes its objects
    assert!(app.call("inventory/delete", &[("id", &item.to_string())]).await.status().is_success());
    assert!(!stored.exists(), "the photo file must go with the item");
    let thumbs = app.state.config.dirs.inventory_images.join(format!("users/{user_id}/thumbnails"));
    assert_eq!(std::fs::read_dir(&thumbs).map(|d| d.count()).unwrap_or(0), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_uploads_are_refused_with_clear_messages() {
    let url = fresh_database(cluster().await).await;
    let app = TestApp::spawn_with(test_config(&url, &[("PHOTO_MAX_MB", "1")]), None).await;
    app.sign_up(&email("bad"), "Bad").await;
    let item = add_item(&app, "Thing", &[]).await;

    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "notes.jpg",
            b"just some text, renamed".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not a JPEG, PNG, WebP or HEIC",
        ),
        ("empty.jpg", Vec::new(), StatusCode::UNPROCESSABLE_ENTITY, "empty"),
        (
            "huge.jpg",
            [vec![0xFF, 0xD8, 0xFF], vec![0u8; 1_200_000]].concat(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "1 MB limit",
        ),
        (
            "broken.jpg",
            [vec![0xFF, 0xD8, 0xFF, 0xE0], vec![7u8; 500]].concat(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not a readable",
        ),
    ];
    for (name, bytes, status, message) in cases {
        let r = upload(&app, item, name, bytes, "application/json").await;
        let (got, body) = error_json(r).await;
        assert_eq!(got, status, "{name}: {body}");
        assert!(body["message"].as_str().unwrap().contains(message), "{name}: {body}");
    }
    assert_eq!(item_json(&app, item).await["photos"], serde_json::json!([]), "nothing half-stored");

    // a plain form post is sent back to the item page with the reason
    let r = upload(&app, item, "notes.jpg", b"text".to_vec(), "text/html").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], format!("/inventory/{item}?photo_error=not_image&photos_added=0"));
    let html = app.get(&format!("/inventory/{item}?photo_error=not_image")).await.text().await.unwrap();
    assert!(html.contains("is not a JPEG, PNG, WebP or HEIC image"), "{html}");
}

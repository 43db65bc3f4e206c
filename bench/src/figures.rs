//! `bartleby-bench figures`: a small, quick version of the page figures, for CI. Each page's
//! median time at one client is divided by the sign-in page's in the same run (machines differ;
//! the ratio to what the framework costs alone holds), and compared with a committed baseline:
//! a page more than 30 % slower than its baseline ratio fails the run.
//!
//! `--write bench/baseline.json` records the ratios; `--check bench/baseline.json` compares.
//! The baseline is made with the same build CI uses (debug), on one user with 5,000 items.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use app::platform::AppState;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;

use crate::common::{exec, make_user, percentile, serve_here, set_password, signed_in};
use crate::inventory::{load_user, measure, N};

/// How much worse than its baseline a ratio may get.
const TOLERANCE: f64 = 1.3;
/// Rounds over all the pages; each page's best median counts (noise only ever slows).
const ROUNDS: usize = 3;
const PER_ROUND: usize = 40;

pub async fn figures(state: AppState, items: usize, check: Option<&Path>, write: Option<&Path>) -> Result<()> {
    let owner = make_user(&state, "figures@bench.invalid").await?;
    set_password(&state, owner).await?;
    load_user(&state, owner, items, 1).await?;
    exec(&state, "VACUUM ANALYZE").await?;
    let mut c = state.db.get().await?;
    let item: N = diesel::sql_query("SELECT min(id) AS n FROM user_inventory WHERE user_id = $1")
        .bind::<BigInt, _>(owner)
        .get_result(&mut c)
        .await?;
    drop(c);

    let base = serve_here(&state).await?;
    let signed = signed_in(&base, "figures@bench.invalid").await?;
    let anonymous = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let pages: Vec<(&str, String, &str, &reqwest::Client)> = vec![
        ("sign-in page", "/login".into(), "type=\"password\"", &anonymous),
        ("inventory table", "/inventory".into(), "data-testid=\"item-count\"", &signed),
        (
            "inventory sorted by price",
            "/inventory?sort=retail_price&dir=desc".into(),
            "data-testid=\"item-count\"",
            &signed,
        ),
        ("inventory search", "/inventory?q=walnut".into(), "data-testid=\"item-count\"", &signed),
        ("item page", format!("/inventory/{}", item.n), "data-testid=\"item-name\"", &signed),
        ("dashboard", "/".into(), "data-testid=\"value-total\"", &signed),
        ("locations", "/inventory/locations".into(), "data-testid=\"places\"", &signed),
        ("documents list", "/documents".into(), "data-testid=\"no-documents\"", &signed),
    ];
    let mut best: BTreeMap<&str, f64> = BTreeMap::new();
    for _ in 0..ROUNDS {
        for (name, path, marker, client) in &pages {
            let median = median_ms(client, &format!("{base}{path}"), marker).await?;
            let e = best.entry(name).or_insert(f64::MAX);
            *e = e.min(median);
        }
    }
    let ceiling = best["sign-in page"];
    let ratios: BTreeMap<String, f64> = best
        .iter()
        .filter(|(n, _)| **n != "sign-in page")
        .map(|(n, ms)| ((*n).to_owned(), (ms / ceiling * 100.0).round() / 100.0))
        .collect();
    let baseline: Option<BTreeMap<String, f64>> = match check {
        Some(path) => Some(serde_json::from_str(&std::fs::read_to_string(path)?)?),
        None => None,
    };
    println!("page figures at one client ({items} items; median of {PER_ROUND}, best of {ROUNDS} rounds), as a multiple of the sign-in page ({ceiling:.2} ms):");
    let mut worse = Vec::new();
    for (name, ratio) in &ratios {
        let (base_text, verdict) = match baseline.as_ref().and_then(|b| b.get(name)) {
            Some(b) if *ratio > b * TOLERANCE => {
                worse.push(format!("{name}: {ratio:.1}× against {b:.1}×"));
                (format!("{b:>6.1}×"), "WORSE by more than 30 %")
            }
            Some(b) => (format!("{b:>6.1}×"), "ok"),
            None => (String::new(), ""),
        };
        println!("  {name:<28} {:>8.2} ms {ratio:>7.1}×   baseline {base_text:>8} {verdict}", best[name.as_str()]);
    }
    if let Some(path) = write {
        std::fs::write(path, serde_json::to_string_pretty(&ratios)? + "\n")?;
        println!("baseline written to {}", path.display());
    }
    anyhow::ensure!(worse.is_empty(), "figures got worse than the baseline: {}", worse.join("; "));
    Ok(())
}

/// The median time of `PER_ROUND` sequential fetches of a page (after one to warm up); each must
/// be the page (contain `marker`).
async fn median_ms(client: &reqwest::Client, url: &str, marker: &'static str) -> Result<f64> {
    measure(client, url, marker, 1, 1).await?;
    let (times, _) = measure(client, url, marker, 1, PER_ROUND).await?;
    Ok(percentile(&times, 0.5))
}

//! The user's places: a tree per user (a room holds a shelf holds a box). Items point at one
//! place; a place's figures count everything below it, so moving a box moves its contents.
//!
//! Paths ("Kitchen / Shelf 2") are stored on each row for display and sorting, and rewritten in the
//! same transaction whenever a rename or move changes them. Changes to the tree lock the user's
//! places first (`FOR UPDATE`), so two concurrent moves can never make a cycle.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use bigdecimal::BigDecimal;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Numeric, Text};
use diesel::QueryResult;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::types::{check_location_name, parse_location_path, LocationTree, LocationView, LOCATION_DEPTH_MAX};
use crate::error::AppError;
use crate::platform::db::conn_as;
use crate::platform::schema::user_inventory::dsl as inv;
use crate::platform::schema::user_locations::{self, dsl as l};
use crate::platform::AppState;

/// Levels are joined with this in stored paths.
pub const SEPARATOR: &str = " / ";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = user_locations, check_for_backend(Pg))]
pub struct Location {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
    pub path: String,
}

/// Every place of the user, A→Z by path.
pub async fn all(conn: &mut AsyncPgConnection, user_id: i64) -> QueryResult<Vec<Location>> {
    l::user_locations
        .filter(l::user_id.eq(user_id))
        .order((l::path.asc(), l::id.asc()))
        .select(Location::as_select())
        .load(conn)
        .await
}

/// Most places a filter menu offers (see [`for_filter`]).
pub const FILTER_PLACES_MAX: i64 = 300;

/// The places the table's location menu offers: the top two levels (rooms and what is directly in
/// them), and around the chosen place its ancestors and what is directly in it — a menu that
/// drills down as the person chooses, instead of every box of a large house (1,110 places made
/// the page 14 times the cost of the sign-in page). Deeper places are one choice away, and the
/// *Locations* page links each place's items. A→Z by path, at most [`FILTER_PLACES_MAX`].
pub async fn for_filter(
    conn: &AsyncPgConnection,
    user_id: i64,
    chosen: Option<i64>,
) -> QueryResult<Vec<(i64, String)>> {
    #[derive(QueryableByName)]
    struct Place {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = Text)]
        path: String,
    }
    let Some(chosen) = chosen else {
        // the table as it first opens: one prepared statement, kept by the connection (the
        // general query below is planned anew each time)
        let top = diesel::alias!(user_locations as top);
        return l::user_locations
            .filter(l::user_id.eq(user_id))
            .filter(
                l::parent_id.is_null().or(l::parent_id.eq_any(
                    top.filter(top.field(l::user_id).eq(user_id))
                        .filter(top.field(l::parent_id).is_null())
                        .select(top.field(l::id).nullable()),
                )),
            )
            .select((l::id, l::path))
            .order((l::path, l::id))
            .limit(FILTER_PLACES_MAX)
            .load(&mut &*conn)
            .await;
    };
    let rows: Vec<Place> = diesel::sql_query(
        "WITH chosen AS (SELECT id, path FROM user_locations WHERE user_id = $1 AND id = $2), \
              top AS (SELECT id FROM user_locations WHERE user_id = $1 AND parent_id IS NULL) \
         SELECT l.id, l.path FROM user_locations l \
         WHERE l.user_id = $1 AND (l.parent_id IS NULL OR l.parent_id IN (SELECT id FROM top) \
            OR l.id IN (SELECT id FROM chosen) OR l.parent_id IN (SELECT id FROM chosen) \
            OR EXISTS (SELECT 1 FROM chosen c WHERE starts_with(c.path, l.path || ' / '))) \
         ORDER BY l.path, l.id LIMIT $3",
    )
    .bind::<BigInt, _>(user_id)
    .bind::<BigInt, _>(chosen)
    .bind::<BigInt, _>(FILTER_PLACES_MAX)
    .load(&mut &*conn)
    .await?;
    Ok(rows.into_iter().map(|p| (p.id, p.path)).collect())
}

/// How many items each top-level place holds with everything in it (`Some(room name)`), and how
/// many are in no place (`None`), for the dashboard: summed by Postgres from the per-place
/// counters and grouped by the first part of each place's path (a name never contains "/"), so
/// the dashboard reads a row a room instead of every place and every counter (1,110 places and
/// 4,000 counters made it a tenth as fast as the table).
pub async fn items_by_room(conn: &mut AsyncPgConnection, user_id: i64) -> QueryResult<Vec<(Option<String>, i64)>> {
    #[derive(QueryableByName)]
    struct Room {
        #[diesel(sql_type = Nullable<Text>)]
        room: Option<String>,
        #[diesel(sql_type = BigInt)]
        items: i64,
    }
    let rows: Vec<Room> = diesel::sql_query(
        "SELECT split_part(l.path, ' / ', 1) AS room, sum(f.items)::BIGINT AS items \
           FROM user_place_figures f \
           LEFT JOIN user_locations l ON l.user_id = f.user_id AND l.id = f.location_key \
          WHERE f.user_id = $1 AND f.items > 0 \
          GROUP BY 1",
    )
    .bind::<BigInt, _>(user_id)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.room, r.items)).collect())
}

/// Finds the place at `levels` under the user's top level, creating any level that is missing.
/// Returns `None` for an empty path.
pub async fn resolve(conn: &mut AsyncPgConnection, user_id: i64, levels: &[String]) -> QueryResult<Option<i64>> {
    let mut parent: Option<(i64, String)> = None;
    for name in levels {
        let parent_id = parent.as_ref().map(|p| p.0);
        parent = Some(match find_child(conn, user_id, parent_id, name).await? {
            Some(found) => found,
            None => {
                // the path as stored above (existing places keep their spelling), then the new name
                let path = match &parent {
                    Some((_, above)) => format!("{above}{SEPARATOR}{name}"),
                    None => name.clone(),
                };
                // a concurrent request may create the same place: the unique index decides, we re-read
                diesel::sql_query(
                    "INSERT INTO user_locations (user_id, parent_id, name, path) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (user_id, COALESCE(parent_id, 0), lower(name)) DO NOTHING",
                )
                .bind::<BigInt, _>(user_id)
                .bind::<Nullable<BigInt>, _>(parent_id)
                .bind::<Text, _>(name)
                .bind::<Text, _>(&path)
                .execute(conn)
                .await?;
                find_child(conn, user_id, parent_id, name).await?.ok_or(diesel::result::Error::NotFound)?
            }
        });
    }
    Ok(parent.map(|p| p.0))
}

async fn find_child(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    parent: Option<i64>,
    name: &str,
) -> QueryResult<Option<(i64, String)>> {
    let mut q = l::user_locations
        .filter(l::user_id.eq(user_id))
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("lower(name) = lower(")
                .bind::<Text, _>(name.to_owned())
                .sql(")"),
        )
        .select((l::id, l::path))
        .into_boxed();
    q = match parent {
        Some(p) => q.filter(l::parent_id.eq(p)),
        None => q.filter(l::parent_id.is_null()),
    };
    q.first(conn).await.optional()
}

/// Paths for every place, computed from names and parents.
fn compute_paths(places: &[Location]) -> HashMap<i64, String> {
    let by_id: HashMap<i64, &Location> = places.iter().map(|p| (p.id, p)).collect();
    let mut out = HashMap::with_capacity(places.len());
    for p in places {
        let mut names = vec![p.name.as_str()];
        let mut next = p.parent_id;
        while let Some(parent) = next.and_then(|id| by_id.get(&id)) {
            if names.len() > LOCATION_DEPTH_MAX * 2 {
                break;
            }
            names.push(&parent.name);
            next = parent.parent_id;
        }
        names.reverse();
        out.insert(p.id, names.join(SEPARATOR));
    }
    out
}

/// Locks the user's places for the rest of the transaction and returns them.
async fn lock_all(c: &mut AsyncPgConnection, user_id: i64) -> QueryResult<Vec<Location>> {
    l::user_locations.filter(l::user_id.eq(user_id)).select(Location::as_select()).for_update().load(c).await
}

/// Rewrites the stored path of every place whose path changed.
async fn rewrite_paths(c: &mut AsyncPgConnection, user_id: i64) -> QueryResult<()> {
    let places = l::user_locations.filter(l::user_id.eq(user_id)).select(Location::as_select()).load(c).await?;
    let mut paths = compute_paths(&places);
    for p in &places {
        match paths.remove(&p.id) {
            Some(path) if path != p.path => {
                diesel::update(l::user_locations.filter(l::user_id.eq(user_id)).filter(l::id.eq(p.id)))
                    .set(l::path.eq(path))
                    .execute(c)
                    .await?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn depth_of(places: &[Location], id: Option<i64>) -> usize {
    let mut depth = 0;
    let mut next = id;
    while let Some(p) = next.and_then(|id| places.iter().find(|p| p.id == id)) {
        depth += 1;
        next = p.parent_id;
        if depth > LOCATION_DEPTH_MAX * 2 {
            break;
        }
    }
    depth
}

/// How many levels the subtree at `id` has (1 for a place with nothing below it).
fn height_of(places: &[Location], id: i64) -> usize {
    1 + places.iter().filter(|p| p.parent_id == Some(id)).map(|p| height_of(places, p.id)).max().unwrap_or(0)
}

fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(e, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
}

fn sibling_exists(name: &str, parent_path: Option<&str>) -> AppError {
    let where_ = parent_path.map(|p| format!("in {p}")).unwrap_or_else(|| "at the top level".to_owned());
    AppError::Conflict { field: "name".into(), message: format!("There is already a place called {name} {where_}.") }
}

fn parent_of(places: &[Location], parent: Option<i64>) -> Result<Option<&Location>, AppError> {
    match parent {
        None => Ok(None),
        Some(p) => places
            .iter()
            .find(|x| x.id == p)
            .map(Some)
            .ok_or_else(|| AppError::validation("parent", "That place no longer exists.")),
    }
}

/// Adds a place under `parent` (or at the top level).
pub async fn create(state: &AppState, user_id: i64, name: &str, parent: Option<i64>) -> Result<i64, AppError> {
    let name = check_location_name(name)?;
    let mut c = conn_as(&state.db, user_id).await?;
    c.transaction::<i64, AppError, _>(async |c| {
        let places = lock_all(c, user_id).await?;
        let parent = parent_of(&places, parent)?;
        if depth_of(&places, parent.map(|p| p.id)) + 1 > LOCATION_DEPTH_MAX {
            return Err(AppError::validation(
                "parent",
                format!("Places nest at most {LOCATION_DEPTH_MAX} levels deep."),
            ));
        }
        let path = match parent {
            Some(p) => format!("{}{SEPARATOR}{name}", p.path),
            None => name.clone(),
        };
        diesel::insert_into(l::user_locations)
            .values((
                l::user_id.eq(user_id),
                l::parent_id.eq(parent.map(|p| p.id)),
                l::name.eq(&name),
                l::path.eq(path),
            ))
            .returning(l::id)
            .get_result(c)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    sibling_exists(&name, parent.map(|p| p.path.as_str()))
                } else {
                    e.into()
                }
            })
    })
    .await
}

/// Renames a place; the paths of everything below it follow.
pub async fn rename(state: &AppState, user_id: i64, id: i64, name: &str) -> Result<(), AppError> {
    let name = check_location_name(name)?;
    let mut c = conn_as(&state.db, user_id).await?;
    c.transaction::<(), AppError, _>(async |c| {
        let places = lock_all(c, user_id).await?;
        let place = places.iter().find(|p| p.id == id).ok_or(AppError::NotFound)?;
        let parent_path = place.parent_id.and_then(|p| places.iter().find(|x| x.id == p)).map(|p| p.path.clone());
        diesel::update(l::user_locations.filter(l::user_id.eq(user_id)).filter(l::id.eq(id)))
            .set(l::name.eq(&name))
            .execute(c)
            .await
            .map_err(
                |e| if is_unique_violation(&e) { sibling_exists(&name, parent_path.as_deref()) } else { e.into() },
            )?;
        rewrite_paths(c, user_id).await?;
        Ok(())
    })
    .await
}

/// Moves a place (and so everything in it) under `parent`, or to the top level.
pub async fn move_to(state: &AppState, user_id: i64, id: i64, parent: Option<i64>) -> Result<(), AppError> {
    let mut c = conn_as(&state.db, user_id).await?;
    c.transaction::<(), AppError, _>(async |c| {
        let places = lock_all(c, user_id).await?;
        let place = places.iter().find(|p| p.id == id).ok_or(AppError::NotFound)?;
        let target = parent_of(&places, parent)?;
        if let Some(t) = target {
            // t must not be the place itself or anything inside it
            let mut next = Some(t.id);
            while let Some(n) = next {
                if n == id {
                    return Err(AppError::validation("parent", "A place cannot go inside itself."));
                }
                next = places.iter().find(|p| p.id == n).and_then(|p| p.parent_id);
            }
        }
        if depth_of(&places, parent) + height_of(&places, id) > LOCATION_DEPTH_MAX {
            return Err(AppError::validation(
                "parent",
                format!("Places nest at most {LOCATION_DEPTH_MAX} levels deep."),
            ));
        }
        diesel::update(l::user_locations.filter(l::user_id.eq(user_id)).filter(l::id.eq(id)))
            .set(l::parent_id.eq(parent))
            .execute(c)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    sibling_exists(&place.name, target.map(|t| t.path.as_str()))
                } else {
                    e.into()
                }
            })?;
        rewrite_paths(c, user_id).await?;
        Ok(())
    })
    .await
}

/// Deletes a place. What was in it (items and places) moves up to the place that held it; nothing
/// is lost. Returns the parent, where the user is sent next.
pub async fn delete(state: &AppState, user_id: i64, id: i64) -> Result<Option<i64>, AppError> {
    let mut c = conn_as(&state.db, user_id).await?;
    c.transaction::<Option<i64>, AppError, _>(async |c| {
        let places = lock_all(c, user_id).await?;
        let place = places.iter().find(|p| p.id == id).ok_or(AppError::NotFound)?;
        let parent = place.parent_id;
        let parent_path = parent.and_then(|p| places.iter().find(|x| x.id == p)).map(|p| p.path.clone());
        for child in places.iter().filter(|p| p.parent_id == Some(id)) {
            diesel::update(l::user_locations.filter(l::user_id.eq(user_id)).filter(l::id.eq(child.id)))
                .set(l::parent_id.eq(parent))
                .execute(c)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        AppError::Conflict {
                            field: "name".into(),
                            message: format!(
                                "{} holds a place called {}, and so does {}; rename one of them first.",
                                place.name,
                                child.name,
                                parent_path.as_deref().unwrap_or("the top level")
                            ),
                        }
                    } else {
                        e.into()
                    }
                })?;
        }
        diesel::update(inv::user_inventory.filter(inv::user_id.eq(user_id)).filter(inv::location_id.eq(id)))
            .set(inv::location_id.eq(parent))
            .execute(c)
            .await?;
        diesel::delete(l::user_locations.filter(l::user_id.eq(user_id)).filter(l::id.eq(id))).execute(c).await?;
        rewrite_paths(c, user_id).await?;
        tracing::info!(user_id, location_id = id, "place deleted");
        Ok(parent)
    })
    .await
}

/// The item form's location: finds or creates the typed path.
pub async fn place_for(c: &mut AsyncPgConnection, user_id: i64, typed: &str) -> Result<Option<i64>, AppError> {
    let levels = parse_location_path(typed)?;
    Ok(resolve(c, user_id, &levels).await?)
}

#[derive(QueryableByName)]
struct PlaceFigures {
    #[diesel(sql_type = Nullable<BigInt>)]
    location_id: Option<i64>,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = BigInt)]
    items: i64,
    #[diesel(sql_type = BigInt)]
    quantity: i64,
    #[diesel(sql_type = Nullable<Numeric>)]
    value: Option<BigDecimal>,
}

#[derive(Default)]
struct Figures {
    own_items: i64,
    items: i64,
    quantity: i64,
    value: BTreeMap<String, BigDecimal>,
}

impl Figures {
    fn add(&mut self, other: &Figures) {
        self.items += other.items;
        self.quantity += other.quantity;
        for (cur, v) in &other.value {
            *self.value.entry(cur.clone()).or_insert_with(|| BigDecimal::from(0)) += v;
        }
    }
}

/// The user's whole tree, depth first, with items, quantities and values rolled up.
pub async fn tree(state: &AppState, user_id: i64) -> Result<LocationTree, AppError> {
    let mut c = conn_as(&state.db, user_id).await?;
    let places = all(&mut c, user_id).await?;
    // kept by triggers per place and currency: a few rows per place, however many items
    let rows: Vec<PlaceFigures> = diesel::sql_query(
        "SELECT NULLIF(location_key, 0) AS location_id, currency, items, quantity, \
                CASE WHEN priced > 0 THEN value END AS value \
           FROM user_place_figures WHERE user_id = $1 AND items > 0",
    )
    .bind::<BigInt, _>(user_id)
    .load(&mut c)
    .await?;
    Ok(build_tree(&places, &rows))
}

fn build_tree(places: &[Location], rows: &[PlaceFigures]) -> LocationTree {
    let mut own: HashMap<Option<i64>, Figures> = HashMap::new();
    for r in rows {
        let f = own.entry(r.location_id).or_default();
        f.own_items += r.items;
        f.items += r.items;
        f.quantity += r.quantity;
        if let Some(v) = &r.value {
            *f.value.entry(r.currency.clone()).or_insert_with(|| BigDecimal::from(0)) += v;
        }
    }
    let unplaced = own.get(&None).map(|f| f.own_items).unwrap_or(0);
    let mut children: BTreeMap<Option<i64>, Vec<&Location>> = BTreeMap::new();
    for p in places {
        children.entry(p.parent_id).or_default().push(p);
    }
    for list in children.values_mut() {
        list.sort_by_key(|p| (p.name.to_lowercase(), p.id));
    }
    // depth-first order, then roll the figures up from the deepest places
    let mut order: Vec<(&Location, u32)> = Vec::with_capacity(places.len());
    let mut stack: Vec<(&Location, u32)> =
        children.get(&None).map(|v| v.iter().rev().map(|p| (*p, 0)).collect()).unwrap_or_default();
    while let Some((p, depth)) = stack.pop() {
        order.push((p, depth));
        if let Some(kids) = children.get(&Some(p.id)) {
            stack.extend(kids.iter().rev().map(|k| (*k, depth + 1)));
        }
    }
    let mut totals: HashMap<i64, Figures> = HashMap::new();
    for (p, _) in order.iter().rev() {
        let mut f = Figures::default();
        if let Some(o) = own.get(&Some(p.id)) {
            f.add(o);
            f.own_items = o.own_items;
        }
        for k in children.get(&Some(p.id)).into_iter().flatten() {
            if let Some(kf) = totals.get(&k.id) {
                f.add(kf);
            }
        }
        totals.insert(p.id, f);
    }
    let locations = order
        .iter()
        .map(|(p, depth)| {
            let f = totals.remove(&p.id).unwrap_or_default();
            LocationView {
                id: p.id,
                parent_id: p.parent_id,
                name: p.name.clone(),
                path: p.path.clone(),
                depth: *depth,
                own_items: f.own_items,
                items: f.items,
                quantity: f.quantity,
                value_by_currency: f.value.iter().map(|(c, v)| (c.clone(), v.with_scale(2).to_string())).collect(),
            }
        })
        .collect();
    LocationTree { locations, unplaced }
}

/// Parses a parent chosen in a form: "" is the top level.
pub fn parse_parent(raw: &str) -> Result<Option<i64>, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    i64::from_str(raw).map(Some).map_err(|_| AppError::validation("parent", "Choose a place from the list."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(id: i64, parent: Option<i64>, name: &str) -> Location {
        Location { id, parent_id: parent, name: name.into(), path: String::new() }
    }

    #[test]
    fn paths_and_figures_follow_the_tree() {
        let places = vec![
            place(1, None, "Kitchen"),
            place(2, Some(1), "Shelf"),
            place(3, Some(2), "Box"),
            place(4, None, "Attic"),
        ];
        let paths = compute_paths(&places);
        assert_eq!(paths[&3], "Kitchen / Shelf / Box");
        assert_eq!(paths[&4], "Attic");
        assert_eq!(height_of(&places, 1), 3);
        assert_eq!(depth_of(&places, Some(3)), 3);

        let rows = vec![
            PlaceFigures {
                location_id: Some(3),
                currency: "EUR".into(),
                items: 2,
                quantity: 5,
                value: Some(BigDecimal::from(50)),
            },
            PlaceFigures {
                location_id: Some(1),
                currency: "EUR".into(),
                items: 1,
                quantity: 1,
                value: Some(BigDecimal::from(7)),
            },
            PlaceFigures { location_id: Some(1), currency: "USD".into(), items: 1, quantity: 2, value: None },
            PlaceFigures { location_id: None, currency: "USD".into(), items: 4, quantity: 4, value: None },
        ];
        let tree = build_tree(&places, &rows);
        let names: Vec<(&str, u32)> = tree.locations.iter().map(|l| (l.name.as_str(), l.depth)).collect();
        assert_eq!(names, vec![("Attic", 0), ("Kitchen", 0), ("Shelf", 1), ("Box", 2)]);
        let kitchen = tree.get(1).unwrap();
        assert_eq!((kitchen.own_items, kitchen.items, kitchen.quantity), (2, 4, 8));
        assert_eq!(kitchen.value_by_currency, vec![("EUR".to_owned(), "57.00".to_owned())]);
        assert_eq!(tree.get(2).unwrap().items, 2);
        assert_eq!(tree.unplaced, 4);
        assert!(tree.within(1, 3));
        assert!(!tree.within(3, 1));
        assert_eq!(tree.ancestors(3).iter().map(|l| l.id).collect::<Vec<_>>(), vec![1, 2]);
    }
}

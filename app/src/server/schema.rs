// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "tsvector", schema = "pg_catalog"))]
    pub struct Tsvector;
}

diesel::table! {
    inventory_assets (id) {
        id -> Int8,
        user_id -> Int8,
        item_id -> Int8,
        parent_id -> Nullable<Int8>,
        kind -> Text,
        backend -> Text,
        key -> Text,
        content_type -> Text,
        bytes -> Int8,
        width -> Int4,
        height -> Int4,
        sha256 -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        data -> Jsonb,
        expiry_date -> Timestamptz,
    }
}

diesel::table! {
    sign_in_failures (id) {
        id -> Int8,
        scope -> Text,
        key -> Text,
        failed_at -> Timestamptz,
    }
}

diesel::table! {
    user_exports (id) {
        id -> Int8,
        user_id -> Int8,
        format -> Text,
        backend -> Text,
        key -> Text,
        bytes -> Int8,
        items -> Int4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Tsvector;

    user_inventory (id) {
        id -> Int8,
        user_id -> Int8,
        name -> Text,
        description -> Text,
        category -> Text,
        material -> Text,
        colour -> Text,
        dimensions -> Text,
        origin -> Text,
        quantity -> Int4,
        tags -> Array<Nullable<Text>>,
        import_cost -> Nullable<Numeric>,
        retail_price -> Nullable<Numeric>,
        currency -> Text,
        search -> Nullable<Tsvector>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Int8,
        email -> Text,
        display_name -> Text,
        password_hash -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(inventory_assets -> user_inventory (item_id));
diesel::joinable!(inventory_assets -> users (user_id));
diesel::joinable!(user_exports -> users (user_id));
diesel::joinable!(user_inventory -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    inventory_assets,
    sessions,
    sign_in_failures,
    user_exports,
    user_inventory,
    users,
);

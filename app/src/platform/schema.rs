// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "tsvector", schema = "pg_catalog"))]
    pub struct Tsvector;
}

diesel::table! {
    account_archive_runs (id) {
        id -> Int8,
        user_id -> Int8,
        status -> Text,
        done -> Int4,
        total -> Int4,
        detail -> Nullable<Text>,
        archive_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    account_archives (id) {
        id -> Int8,
        user_id -> Int8,
        backend -> Text,
        key -> Text,
        content_type -> Text,
        bytes -> Int8,
        sha256 -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    document_access (document_id, grantee_id) {
        document_id -> Int8,
        owner_id -> Int8,
        grantee_id -> Int8,
        granted_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Tsvector;

    document_chunks (id) {
        id -> Int8,
        document_id -> Int8,
        user_id -> Int8,
        ordinal -> Int4,
        page -> Int4,
        text -> Text,
        tsv -> Tsvector,
    }
}

diesel::table! {
    document_pages (document_id, page) {
        document_id -> Int8,
        user_id -> Int8,
        page -> Int4,
        text -> Text,
    }
}

diesel::table! {
    index_baselines (name) {
        name -> Text,
        bytes_per_row -> Float8,
        measured_at -> Timestamptz,
    }
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
        ocr_text -> Nullable<Text>,
    }
}

diesel::table! {
    inventory_import_runs (id) {
        id -> Int8,
        user_id -> Int8,
        token -> Text,
        status -> Text,
        done -> Int4,
        total -> Int4,
        detail -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    jobs (id) {
        id -> Int8,
        kind -> Text,
        user_id -> Int8,
        subject_id -> Int8,
        state -> Text,
        attempts -> Int4,
        max_attempts -> Int4,
        run_at -> Timestamptz,
        locked_until -> Nullable<Timestamptz>,
        locked_by -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        local_store -> Nullable<Text>,
    }
}

diesel::table! {
    maintenance_runs (id) {
        id -> Int8,
        kind -> Text,
        started_at -> Timestamptz,
        finished_at -> Timestamptz,
        ok -> Bool,
        detail -> Text,
        bytes -> Nullable<Int8>,
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
    user_categories (user_id, name) {
        user_id -> Int8,
        name -> Text,
        items -> Int8,
    }
}

diesel::table! {
    user_documents (id) {
        id -> Int8,
        user_id -> Int8,
        title -> Text,
        file_name -> Text,
        doc_type -> Text,
        content_type -> Text,
        bytes -> Int8,
        sha256 -> Text,
        backend -> Text,
        key -> Text,
        pages -> Nullable<Int4>,
        status -> Text,
        status_detail -> Nullable<Text>,
        chunks_total -> Int4,
        chunks_embedded -> Int4,
        summary -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        ocr_pages -> Int4,
        ocr_skipped -> Int4,
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
        sha256 -> Nullable<Text>,
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
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        location_id -> Nullable<Int8>,
        location_sort -> Nullable<Text>,
        text_version -> Int8,
        embedded_version -> Int8,
        location_path -> Nullable<Text>,
        cover_id -> Nullable<Int8>,
        photo_text -> Text,
        search -> Nullable<Tsvector>,
    }
}

diesel::table! {
    user_item_totals (user_id) {
        user_id -> Int8,
        items -> Int8,
    }
}

diesel::table! {
    user_locations (id) {
        id -> Int8,
        user_id -> Int8,
        parent_id -> Nullable<Int8>,
        name -> Text,
        path -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    user_place_figures (user_id, location_key, currency) {
        user_id -> Int8,
        location_key -> Int8,
        currency -> Text,
        items -> Int8,
        quantity -> Int8,
        priced -> Int8,
        value -> Numeric,
    }
}

diesel::table! {
    user_storage (user_id, backend) {
        user_id -> Int8,
        backend -> Text,
        bytes -> Int8,
        objects -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    user_tags (user_id, name) {
        user_id -> Int8,
        name -> Text,
        items -> Int8,
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
        is_admin -> Bool,
    }
}

diesel::joinable!(account_archive_runs -> account_archives (archive_id));
diesel::joinable!(account_archive_runs -> users (user_id));
diesel::joinable!(account_archives -> users (user_id));
diesel::joinable!(document_access -> user_documents (document_id));
diesel::joinable!(document_chunks -> user_documents (document_id));
diesel::joinable!(document_chunks -> users (user_id));
diesel::joinable!(document_pages -> user_documents (document_id));
diesel::joinable!(document_pages -> users (user_id));
diesel::joinable!(inventory_assets -> user_inventory (item_id));
diesel::joinable!(inventory_assets -> users (user_id));
diesel::joinable!(inventory_import_runs -> users (user_id));
diesel::joinable!(jobs -> users (user_id));
diesel::joinable!(user_categories -> users (user_id));
diesel::joinable!(user_documents -> users (user_id));
diesel::joinable!(user_exports -> users (user_id));
diesel::joinable!(user_inventory -> users (user_id));
diesel::joinable!(user_item_totals -> users (user_id));
diesel::joinable!(user_locations -> users (user_id));
diesel::joinable!(user_place_figures -> users (user_id));
diesel::joinable!(user_storage -> users (user_id));
diesel::joinable!(user_tags -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    account_archive_runs,
    account_archives,
    document_access,
    document_chunks,
    document_pages,
    index_baselines,
    inventory_assets,
    inventory_import_runs,
    jobs,
    maintenance_runs,
    sessions,
    sign_in_failures,
    user_categories,
    user_documents,
    user_exports,
    user_inventory,
    user_item_totals,
    user_locations,
    user_place_figures,
    user_storage,
    user_tags,
    users,
);

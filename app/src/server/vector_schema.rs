// @generated automatically by Diesel CLI.

diesel::table! {
    embedding_models (id) {
        id -> Text,
        dimensions -> Int4,
        recorded_at -> Timestamptz,
    }
}

// @generated automatically by Diesel CLI.

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    document_vectors (chunk_id) {
        chunk_id -> Int8,
        document_id -> Int8,
        user_id -> Int8,
        model_id -> Text,
        embedding -> Vector,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    embedding_models (id) {
        id -> Text,
        dimensions -> Int4,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use pgvector::sql_types::*;

    item_vectors (item_id) {
        item_id -> Int8,
        user_id -> Int8,
        model_id -> Text,
        embedding -> Vector,
    }
}

diesel::allow_tables_to_appear_in_same_query!(document_vectors, embedding_models, item_vectors,);

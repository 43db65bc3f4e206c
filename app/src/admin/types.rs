//! What the admin page shows.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminOverview {
    pub users: Vec<UserRow>,
    pub databases: Vec<DatabaseSize>,
    pub queue: Vec<QueueRow>,
    pub runs: Vec<RunRow>,
    /// whether Postgres limits each user's work to their own rows (row-level security)
    pub rls_enforced: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub joined: String,
    pub is_admin: bool,
    pub items: i64,
    pub documents: i64,
    /// (backend, bytes, objects)
    pub storage: Vec<(String, i64, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseSize {
    /// "metadata" or "vectors"
    pub name: String,
    pub bytes: i64,
    /// the largest tables with their indexes: (table, bytes)
    pub tables: Vec<(String, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueRow {
    pub kind: String,
    pub state: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRow {
    pub kind: String,
    pub when: String,
    pub ok: bool,
    pub detail: String,
}

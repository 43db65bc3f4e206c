//! The account: a user's own archive of everything they keep, and deleting the account with every
//! row, vector and stored object of theirs. A feature of its own: it reads documents and the
//! inventory; nothing but the shell reads it.

pub mod api;
pub mod types;
pub mod views;

#[cfg(feature = "ssr")]
pub mod archive;
#[cfg(feature = "ssr")]
pub mod service;

/// The account's job kinds, for the registry the server assembles.
#[cfg(feature = "ssr")]
pub fn jobs() -> Vec<std::sync::Arc<dyn crate::jobs::Job>> {
    vec![std::sync::Arc::new(archive::BuildArchive)]
}

/// The account's stored objects (archives), for backups, relocation and deletion.
#[cfg(feature = "ssr")]
pub fn holdings() -> Vec<std::sync::Arc<dyn crate::storage::relocate::Holdings>> {
    vec![std::sync::Arc::new(archive::Archives)]
}

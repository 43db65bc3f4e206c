//! Inventory: the user's things, in a table to sort, filter, search and page through.

pub mod api;
pub mod import_views;
pub mod location_views;
pub mod types;
pub mod views;

#[cfg(feature = "ssr")]
pub mod embedding;
#[cfg(feature = "ssr")]
pub mod export;
#[cfg(feature = "ssr")]
pub mod import;
#[cfg(feature = "ssr")]
pub mod locations;
#[cfg(feature = "ssr")]
pub mod photo_text;
#[cfg(feature = "ssr")]
pub mod photos;
#[cfg(feature = "ssr")]
pub mod repo;
#[cfg(feature = "ssr")]
pub mod service;

/// The inventory's jobs, for the server's registry.
#[cfg(feature = "ssr")]
pub fn jobs() -> Vec<std::sync::Arc<dyn crate::jobs::Job>> {
    vec![
        std::sync::Arc::new(embedding::EmbedItems),
        std::sync::Arc::new(photos::Thumbnails),
        photo_text::job(),
        std::sync::Arc::new(import::ImportItems),
    ]
}

/// The inventory's stored objects (photos and thumbnails, exports), for storage relocation.
#[cfg(feature = "ssr")]
pub fn holdings() -> Vec<std::sync::Arc<dyn crate::storage::relocate::Holdings>> {
    vec![std::sync::Arc::new(photos::Photos), std::sync::Arc::new(export::Exports)]
}

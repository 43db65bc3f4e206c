//! Inventory: the user's things, in a table to sort, filter, search and page through.

pub mod api;
pub mod import_views;
pub mod location_views;
pub mod types;
pub mod views;

#[cfg(feature = "ssr")]
pub mod export;
#[cfg(feature = "ssr")]
pub mod heic;
#[cfg(feature = "ssr")]
pub mod import;
#[cfg(feature = "ssr")]
pub mod locations;
#[cfg(feature = "ssr")]
pub mod photos;
#[cfg(feature = "ssr")]
pub mod repo;
#[cfg(feature = "ssr")]
pub mod service;

//! Documents: uploads ingested by the job queue (extract text, cut passages, embed) and a page per
//! document with sharing. Search over them is the `search` feature.

pub mod api;
pub mod types;
pub mod views;

#[cfg(feature = "ssr")]
pub mod chunk;
#[cfg(feature = "ssr")]
pub mod extract;
#[cfg(feature = "ssr")]
pub mod jobs;
#[cfg(feature = "ssr")]
pub mod repo;
#[cfg(feature = "ssr")]
pub mod service;

/// The documents feature's stored objects, for storage relocation.
#[cfg(feature = "ssr")]
pub fn holdings() -> Vec<std::sync::Arc<dyn crate::storage::relocate::Holdings>> {
    vec![std::sync::Arc::new(service::Documents)]
}

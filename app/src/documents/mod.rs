//! Documents and search: uploads ingested by a durable job queue (extract text, cut passages,
//! embed), a page per document with sharing, and hybrid (meaning + words) search.

pub mod api;
pub mod types;
pub mod views;

#[cfg(feature = "ssr")]
pub mod chunk;
#[cfg(feature = "ssr")]
pub mod embed;
#[cfg(feature = "ssr")]
pub mod extract;
#[cfg(feature = "ssr")]
pub mod jobs;
#[cfg(feature = "ssr")]
pub mod search;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod vectors;

//! Search: one query over the papers and things a user may read, by meaning (the vector store)
//! and by words (Postgres full text), fused. A feature of its own: it reads documents and the
//! inventory; neither of them, nor any shared module, reads it.

pub mod api;
pub mod types;
pub mod views;

#[cfg(feature = "ssr")]
pub mod service;

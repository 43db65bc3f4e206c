//! The account: a user's own archive of everything they keep, and deleting the account with every
//! row, vector and stored object of theirs. A feature of its own: it reads documents and the
//! inventory; nothing but the shell reads it.

pub mod api;
pub mod views;

#[cfg(feature = "ssr")]
pub mod service;

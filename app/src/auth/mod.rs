//! Accounts: sign-up, sign-in, sign-out and "who am I".

pub mod api;
pub mod types;
pub mod views;

#[cfg(feature = "ssr")]
pub mod repo;
#[cfg(feature = "ssr")]
pub mod service;

//! The administrator's page: the installation's users, storage, databases, queue, backups and
//! maintenance. Only the administrator (the first account created) may open it; to anyone else it
//! does not exist (404). Reads every feature's tables (through its own aggregate queries) and is
//! read by nothing but the shell.

pub mod api;
pub mod types;
pub mod views;

#[cfg(feature = "ssr")]
pub mod repo;

//! Integration tests: the real app on port 0 against throwaway databases on the embedded Postgres.
//! One test binary (so the cluster starts once). Each test gets its own database.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod helpers;
use helpers::*;

mod accounts;
mod backup;
mod cli;
mod documents;
mod export;
mod hostile;
mod inventory;
mod leaving;
mod maintenance;
mod migrations;
mod organising;
mod serving;
mod storage;

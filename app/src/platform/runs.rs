//! What backups, restores and maintenance did (`maintenance_runs`): the last of each is shown to
//! the administrator and in `/api/health`.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;

use crate::platform::schema::maintenance_runs::{self, dsl as r};

/// Which kind of run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    Backup,
    Restore,
    Maintenance,
    /// the hourly light maintenance while serving
    Upkeep,
}

impl RunKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Backup => "backup",
            Self::Restore => "restore",
            Self::Maintenance => "maintenance",
            Self::Upkeep => "upkeep",
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = maintenance_runs, check_for_backend(diesel::pg::Pg))]
pub struct Run {
    pub started_at: OffsetDateTime,
    pub finished_at: OffsetDateTime,
    pub ok: bool,
    pub detail: String,
    pub bytes: Option<i64>,
}

/// Records a finished run.
pub async fn record(
    c: &mut AsyncPgConnection,
    kind: RunKind,
    started_at: OffsetDateTime,
    ok: bool,
    detail: &str,
    bytes: Option<i64>,
) -> QueryResult<usize> {
    diesel::insert_into(r::maintenance_runs)
        .values((
            r::kind.eq(kind.as_str()),
            r::started_at.eq(started_at),
            r::ok.eq(ok),
            r::detail.eq(detail),
            r::bytes.eq(bytes),
        ))
        .execute(c)
        .await
}

/// The newest run of `kind`, if any; with `ok_only`, the newest that succeeded.
pub async fn last(c: &mut AsyncPgConnection, kind: RunKind, ok_only: bool) -> QueryResult<Option<Run>> {
    let mut q = r::maintenance_runs.filter(r::kind.eq(kind.as_str())).into_boxed();
    if ok_only {
        q = q.filter(r::ok.eq(true));
    }
    q.order(r::started_at.desc()).select(Run::as_select()).first(c).await.optional()
}

/// Forgets the runs of `kind` started before `before`.
pub async fn forget(c: &mut AsyncPgConnection, kind: RunKind, before: OffsetDateTime) -> QueryResult<usize> {
    diesel::delete(r::maintenance_runs.filter(r::kind.eq(kind.as_str())).filter(r::started_at.lt(before)))
        .execute(c)
        .await
}

//! The durable job queue (table `jobs`): a worker claims a job with `FOR UPDATE SKIP LOCKED`, so
//! several workers, in one server or many, never take the same job. A claim is a lease
//! (`locked_until`), renewed while the job makes progress; a worker that dies lets it lapse and
//! another resumes the job. A claim counts as an attempt before the work starts, and a job whose
//! worker died on its last attempt is failed, never claimed again. Passing failures are retried
//! with exponential backoff; a job at fault ([`JobError::Permanent`]) fails at once.
//!
//! This module knows no feature: each feature lists its jobs (`documents::jobs::jobs()`,
//! `inventory::jobs()`), the server assembles them into the [`Registry`] in `AppState`, and the
//! registry is the one list of job kinds.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::error::AppError;
use crate::platform::db::{conn, query_failed};
use crate::platform::schema::jobs::dsl as j;
use crate::platform::AppState;

/// How long a claim lasts without a heartbeat.
const LEASE_SECS: i32 = 120;

/// Which workers take a job: the model's (one at a time per worker: it runs the embedding model),
/// the quick ones (photos, which should not wait behind a long document), or the long one (an
/// account's archive: minutes of copying that should hold up neither).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    Model,
    Quick,
    Long,
}

/// Where a job is (`jobs.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
}

impl JobState {
    pub const ALL: [JobState; 4] = [Self::Queued, Self::Running, Self::Done, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
}

crate::text_column_enum!(JobState);

/// Why a job did not finish.
#[derive(Debug)]
pub enum JobError {
    /// A passing problem (a provider or database away): tried again with backoff.
    Retry(String),
    /// The input is at fault (a photo that does not decode): failed at once.
    Permanent(String),
}

impl From<String> for JobError {
    fn from(reason: String) -> Self {
        Self::Retry(reason)
    }
}

/// One kind of job.
#[async_trait]
pub trait Job: Send + Sync + 'static {
    fn kind(&self) -> &'static str;
    fn lane(&self) -> Lane;
    async fn run(&self, state: &AppState, job: &Claimed) -> Result<(), JobError>;
    /// After a failed run: `gave_up` when it will not run again (the reason is for the page).
    async fn failed(&self, _state: &AppState, _job: &Claimed, _reason: &str, _gave_up: bool) {}
}

/// Every kind of job the server runs, assembled from each feature's list.
pub struct Registry {
    jobs: Vec<Arc<dyn Job>>,
}

impl Registry {
    pub fn new(jobs: Vec<Arc<dyn Job>>) -> Self {
        Self { jobs }
    }

    fn get(&self, kind: &str) -> Option<&Arc<dyn Job>> {
        self.jobs.iter().find(|j| j.kind() == kind)
    }

    /// The kinds a lane's workers take.
    pub fn kinds(&self, lane: Lane) -> Vec<&'static str> {
        self.jobs.iter().filter(|j| j.lane() == lane).map(|j| j.kind()).collect()
    }

    pub fn all_kinds(&self) -> Vec<&'static str> {
        self.jobs.iter().map(|j| j.kind()).collect()
    }
}

pub async fn enqueue(c: &mut AsyncPgConnection, kind: &str, user_id: i64, subject: i64) -> QueryResult<()> {
    enqueue_on(c, kind, user_id, subject, None).await
}

/// As [`enqueue`], for a job that reads an object on one server's local disk (`local_store`, see
/// `Stores::local_store`): only servers that see that disk claim it.
pub async fn enqueue_on(
    c: &mut AsyncPgConnection,
    kind: &str,
    user_id: i64,
    subject: i64,
    local_store: Option<String>,
) -> QueryResult<()> {
    diesel::insert_into(j::jobs)
        .values((j::kind.eq(kind), j::user_id.eq(user_id), j::subject_id.eq(subject), j::local_store.eq(local_store)))
        .on_conflict_do_nothing() // one live job per document and kind
        .execute(c)
        .await?;
    Ok(())
}

/// Drops the queued job of `kind` about `subject` (a running one notices its subject is gone).
pub async fn cancel(c: &mut AsyncPgConnection, kind: &str, subject: i64) -> QueryResult<()> {
    diesel::delete(j::jobs.filter(j::subject_id.eq(subject).and(j::kind.eq(kind)).and(j::state.eq(JobState::Queued))))
        .execute(c)
        .await?;
    Ok(())
}

#[derive(QueryableByName, Debug, Clone)]
pub struct Claimed {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = BigInt)]
    pub user_id: i64,
    #[diesel(sql_type = BigInt)]
    pub subject_id: i64,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Integer)]
    pub max_attempts: i32,
}

/// What a job that killed its worker on every attempt says on its document.
pub const STOPPED_THE_WORKER: &str =
    "Reading this file stopped the worker on every attempt, so Bartleby gave up on it. Delete it, or retry it.";

/// Fails the jobs whose worker died (the lease lapsed) on their last attempt: a job that takes
/// its worker down with it must not be claimed again and again. Returns the jobs it failed.
pub async fn reap_abandoned(c: &mut AsyncPgConnection, kinds: &[&str]) -> QueryResult<Vec<Claimed>> {
    diesel::sql_query(
        "UPDATE jobs SET state = $3, last_error = $1, locked_until = NULL, updated_at = now() \
         WHERE kind = ANY($2) AND state = $4 AND locked_until < now() AND attempts >= max_attempts \
         RETURNING id, kind, user_id, subject_id, attempts, max_attempts",
    )
    .bind::<Text, _>(STOPPED_THE_WORKER)
    .bind::<diesel::sql_types::Array<Text>, _>(kinds)
    .bind::<Text, _>(JobState::Failed)
    .bind::<Text, _>(JobState::Running)
    .get_results(c)
    .await
}

/// Takes the next due job of one of `kinds`, or one whose worker's lease lapsed (with attempts
/// left: [`reap_abandoned`] fails the others first). The claim counts as an attempt before the
/// work starts, so a job that kills its worker uses up its attempts like any other failure.
pub async fn claim(
    c: &mut AsyncPgConnection,
    worker: &str,
    kinds: &[&str],
    my_stores: &[String],
) -> QueryResult<Option<Claimed>> {
    diesel::sql_query(
        "UPDATE jobs SET state = $5, attempts = attempts + 1, locked_by = $1, \
             locked_until = now() + make_interval(secs => $2), updated_at = now() \
         WHERE id = (SELECT id FROM jobs \
                     WHERE kind = ANY($3) \
                       AND ((state = $6 AND run_at <= now()) \
                            OR (state = $5 AND locked_until < now() AND attempts < max_attempts)) \
                       AND (local_store IS NULL OR local_store = ANY($4)) \
                     ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
         RETURNING id, kind, user_id, subject_id, attempts, max_attempts",
    )
    .bind::<Text, _>(worker)
    .bind::<Integer, _>(LEASE_SECS)
    .bind::<diesel::sql_types::Array<Text>, _>(kinds)
    .bind::<diesel::sql_types::Array<Text>, _>(my_stores)
    .bind::<Text, _>(JobState::Running)
    .bind::<Text, _>(JobState::Queued)
    .get_result(c)
    .await
    .optional()
}

/// Renews the lease of a job that is making progress.
pub async fn heartbeat(state: &AppState, job: &Claimed) {
    if let Ok(mut c) = conn(&state.db).await {
        let _ = diesel::sql_query("UPDATE jobs SET locked_until = now() + make_interval(secs => $2) WHERE id = $1")
            .bind::<BigInt, _>(job.id)
            .bind::<Integer, _>(LEASE_SECS)
            .execute(&mut c)
            .await;
    }
}

async fn finish(state: &AppState, job: &Claimed) {
    if let Ok(mut c) = conn(&state.db).await {
        let _ = diesel::update(j::jobs.filter(j::id.eq(job.id)))
            .set((
                j::state.eq(JobState::Done),
                j::locked_until.eq(None::<time::OffsetDateTime>),
                j::updated_at.eq(diesel::dsl::now),
            ))
            .execute(&mut c)
            .await;
    }
}

/// Retries later with backoff (5 s, 10 s, 20 s, … up to 10 minutes), or gives up.
/// Returns true when the job will not run again.
async fn retry_or_fail(state: &AppState, job: &Claimed, reason: &str, permanent: bool) -> bool {
    let give_up = permanent || job.attempts >= job.max_attempts;
    let delay = (5i64 << job.attempts.clamp(0, 7)).min(600);
    if let Ok(mut c) = conn(&state.db).await {
        let _ = diesel::sql_query(
            "UPDATE jobs SET state = $2, last_error = $3, \
                 run_at = now() + make_interval(secs => $4), locked_until = NULL, updated_at = now() WHERE id = $1",
        )
        .bind::<BigInt, _>(job.id)
        .bind::<Text, _>(if give_up { JobState::Failed } else { JobState::Queued })
        .bind::<Text, _>(reason)
        .bind::<diesel::sql_types::Double, _>(delay as f64)
        .execute(&mut c)
        .await;
    }
    give_up
}

/// Runs one job of `kinds`, if one is due. Returns false when the queue had nothing to do.
#[tracing::instrument(skip_all, fields(worker = worker, job = tracing::field::Empty, kind = tracing::field::Empty))]
pub async fn run_one(state: &AppState, worker: &str, kinds: &[&str]) -> Result<bool, AppError> {
    let (job, abandoned) = {
        let mut c = conn(&state.db).await?;
        let abandoned = reap_abandoned(&mut c, kinds).await.map_err(query_failed)?;
        let mine: Vec<String> = [&state.documents, &state.images].iter().filter_map(|s| s.local_store_id()).collect();
        (claim(&mut c, worker, kinds, &mine).await.map_err(query_failed)?, abandoned)
    };
    for dead in abandoned {
        tracing::error!(
            job = dead.id,
            kind = dead.kind,
            attempts = dead.attempts,
            "a job stopped its worker every time; failed"
        );
        if let Some(handler) = state.jobs.get(&dead.kind) {
            handler.failed(state, &dead, STOPPED_THE_WORKER, true).await;
        }
    }
    let Some(job) = job else { return Ok(false) };
    tracing::Span::current().record("job", job.id).record("kind", job.kind.as_str());
    tracing::debug!(job = job.id, kind = job.kind, attempt = job.attempts, "job claimed");
    let outcome = match state.jobs.get(&job.kind) {
        Some(handler) => handler.run(state, &job).await,
        None => Err(JobError::Retry(format!("unknown job kind {}", job.kind))),
    };
    let (reason, permanent) = match outcome {
        Ok(()) => {
            finish(state, &job).await;
            return Ok(true);
        }
        Err(JobError::Retry(reason)) => (reason, false),
        Err(JobError::Permanent(reason)) => (reason, true),
    };
    tracing::warn!(job = job.id, attempt = job.attempts, reason, permanent, "job failed");
    let gave_up = retry_or_fail(state, &job, &reason, permanent).await;
    if let Some(handler) = state.jobs.get(&job.kind) {
        handler.failed(state, &job, &reason, gave_up).await;
    }
    Ok(true)
}

/// Deletes finished jobs: done ones finished before `done_before`, failed ones before
/// `failed_before` (kept longer: the reason a document failed stays on the document itself, the
/// job row is for whoever looks into it). Returns how many.
pub async fn prune(
    c: &mut AsyncPgConnection,
    done_before: time::OffsetDateTime,
    failed_before: time::OffsetDateTime,
) -> QueryResult<usize> {
    diesel::delete(
        j::jobs.filter(
            (j::state.eq(JobState::Done).and(j::updated_at.lt(done_before)))
                .or(j::state.eq(JobState::Failed).and(j::updated_at.lt(failed_before))),
        ),
    )
    .execute(c)
    .await
}

/// Jobs still queued or running (waiting for a retry, say).
pub async fn unfinished(state: &AppState) -> Result<i64, AppError> {
    let mut c = conn(&state.db).await?;
    j::jobs
        .filter(j::state.eq_any([JobState::Queued, JobState::Running]))
        .count()
        .get_result(&mut c)
        .await
        .map_err(query_failed)
}

/// Runs the queue until it is empty (the `reindex` command and tests use this).
pub async fn drain(state: &AppState, worker: &str) -> Result<usize, AppError> {
    let kinds = state.jobs.all_kinds();
    let mut n = 0;
    while run_one(state, worker, &kinds).await? {
        n += 1;
    }
    Ok(n)
}

/// A worker loop for one lane: when idle it waits for a nudge (`AppState::jobs_added`) or a second.
pub async fn work(state: AppState, worker: String, lane: Lane) {
    let kinds = state.jobs.kinds(lane);
    loop {
        match run_one(&state, &worker, &kinds).await {
            Ok(true) => {}
            Ok(false) => {
                tokio::select! {
                    _ = state.jobs_added.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "job queue unavailable");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

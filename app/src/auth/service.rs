//! Account rules: sign-up, sign-in with throttling, sessions, and "who is this request".
//!
//! Password hashing runs on the blocking pool (Argon2id is deliberately slow). Unknown emails and
//! wrong passwords take the same time and get the same message.

use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use time::OffsetDateTime;
use tower_sessions::Session;

use super::repo::{self, NewUser, User};
use super::types::{check_new_password, normalize_display_name, normalize_email, UserView, PASSWORD_MAX_CHARS};
use crate::error::AppError;
use crate::platform::db::{conn, conn_unscoped, query_failed};
use crate::platform::AppState;

/// The session key that holds the signed-in user's id.
pub const SESSION_USER_KEY: &str = "user_id";

/// How many failed sign-ins are tolerated within [`FAILURE_WINDOW`].
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 5;
pub const MAX_FAILURES_PER_IP: i64 = 20;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

const BAD_CREDENTIALS: &str = "That email and password do not match an account.";

impl User {
    pub fn view(&self) -> UserView {
        UserView {
            id: self.id,
            email: self.email.clone(),
            display_name: self.display_name.clone(),
            member_since: self.created_at.date().to_string(),
            is_admin: self.is_admin,
        }
    }
}

pub async fn hash_password(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "password hashing task failed");
        AppError::Internal
    })?
    .map_err(|e| {
        tracing::error!(error = %e, "password hashing failed");
        AppError::Internal
    })
}

/// Checks a password against a stored hash; `None` runs a dummy check so timing reveals nothing.
async fn verify_password(password: String, stored: Option<String>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let result = tokio::task::spawn_blocking(move || {
        let stored_or_dummy = stored.clone().unwrap_or_else(|| {
            DUMMY
                .get_or_init(|| {
                    let salt = SaltString::generate(&mut OsRng);
                    Argon2::default()
                        .hash_password(b"not a real password", &salt)
                        .map(|h| h.to_string())
                        .unwrap_or_default()
                })
                .clone()
        });
        let ok = PasswordHash::new(&stored_or_dummy)
            .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
            .unwrap_or(false);
        ok && stored.is_some()
    })
    .await;
    result.unwrap_or(false)
}

pub async fn sign_up(state: &AppState, email: &str, display_name: &str, password: &str) -> Result<User, AppError> {
    let email = normalize_email(email)?;
    let display_name = normalize_display_name(display_name)?;
    check_new_password(password)?;
    let password_hash = hash_password(password.to_owned()).await?;
    let mut c = conn(&state.db).await?;
    let new = NewUser { email: &email, display_name: &display_name, password_hash: &password_hash };
    match repo::insert_user(&mut c, &new).await {
        Ok(user) => {
            tracing::info!(user_id = user.id, "account created");
            Ok(user)
        }
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
            Err(AppError::Conflict {
                field: "email".into(),
                message: "An account with this email already exists. Sign in instead?".into(),
            })
        }
        Err(e) => Err(query_failed(e)),
    }
}

/// Seconds until the oldest failure in a full window expires, if `count` reached `limit`.
fn lockout(count: i64, oldest: Option<OffsetDateTime>, limit: i64, now: OffsetDateTime) -> Option<u64> {
    if count < limit {
        return None;
    }
    let until = oldest? + FAILURE_WINDOW;
    let secs = (until - now).whole_seconds().max(1);
    Some(u64::try_from(secs).unwrap_or(1))
}

pub async fn sign_in(state: &AppState, email: &str, password: &str, ip: Option<IpAddr>) -> Result<User, AppError> {
    let account_key = email.trim().to_lowercase();
    if account_key.is_empty() {
        return Err(AppError::validation("email", "Enter your email address."));
    }
    if password.is_empty() {
        return Err(AppError::validation("password", "Enter your password."));
    }
    let ip_key = ip.map(|ip| ip.to_string());
    let mut c = conn(&state.db).await?;
    let now = OffsetDateTime::now_utc();
    let since = now - FAILURE_WINDOW;

    // Throttle before checking the password, so a locked account costs an attacker nothing to learn.
    let (n, oldest) = repo::recent_failures(&mut c, "account", &account_key, since).await.map_err(query_failed)?;
    let mut wait = lockout(n, oldest, MAX_FAILURES_PER_ACCOUNT, now);
    if let Some(ip_key) = &ip_key {
        let (n, oldest) = repo::recent_failures(&mut c, "ip", ip_key, since).await.map_err(query_failed)?;
        wait = wait.max(lockout(n, oldest, MAX_FAILURES_PER_IP, now));
    }
    if let Some(retry_after_secs) = wait {
        tracing::warn!(ip = ?ip, "sign-in throttled");
        return Err(AppError::RateLimited { retry_after_secs });
    }

    let login = repo::find_login(&mut c, &account_key).await.map_err(query_failed)?;
    // An over-long password can never match: skip the hash, keep the same answer.
    let candidate = if password.chars().count() > PASSWORD_MAX_CHARS { String::new() } else { password.to_owned() };
    let (user, hash) = login.unzip();
    let ok = verify_password(candidate, hash).await;
    match user {
        Some(user) if ok => {
            repo::clear_failures(&mut c, "account", &account_key).await.map_err(query_failed)?;
            tracing::info!(user_id = user.id, "signed in");
            Ok(user)
        }
        _ => {
            repo::record_failure(&mut c, "account", &account_key).await.map_err(query_failed)?;
            if let Some(ip_key) = &ip_key {
                repo::record_failure(&mut c, "ip", ip_key).await.map_err(query_failed)?;
            }
            Err(AppError::Validation { field: "password".into(), message: BAD_CREDENTIALS.into() })
        }
    }
}

/// Asks for the signed-in user's password again before something that cannot be undone. Wrong
/// guesses count towards the same lockout as sign-in's.
pub async fn confirm_password(state: &AppState, user: &User, password: &str) -> Result<(), AppError> {
    let mut c = conn(&state.db).await?;
    let now = OffsetDateTime::now_utc();
    let key = user.email.to_lowercase();
    let (n, oldest) =
        repo::recent_failures(&mut c, "account", &key, now - FAILURE_WINDOW).await.map_err(query_failed)?;
    if let Some(retry_after_secs) = lockout(n, oldest, MAX_FAILURES_PER_ACCOUNT, now) {
        return Err(AppError::RateLimited { retry_after_secs });
    }
    let candidate = if password.chars().count() > PASSWORD_MAX_CHARS { String::new() } else { password.to_owned() };
    let hash = repo::password_hash(&mut c, user.id).await.map_err(query_failed)?;
    if verify_password(candidate, hash).await {
        return Ok(());
    }
    repo::record_failure(&mut c, "account", &key).await.map_err(query_failed)?;
    Err(AppError::validation("password", "That is not your password."))
}

fn session_failed(e: tower_sessions::session::Error) -> AppError {
    tracing::warn!(error = %e, "session store unavailable");
    AppError::Unavailable
}

/// Marks the session as signed in as `user_id`, under a fresh session id (no fixation).
pub async fn start_session(session: &Session, user_id: i64) -> Result<(), AppError> {
    // nothing a previous visitor of this browser left behind carries over
    let _ = session.remove::<serde_json::Value>(crate::platform::FORM_FLASH_KEY).await;
    session.insert(SESSION_USER_KEY, user_id).await.map_err(session_failed)?;
    session.cycle_id().await.map_err(session_failed)
}

/// Signs out: the session record is deleted server-side and the cookie cleared.
pub async fn end_session(session: &Session) -> Result<(), AppError> {
    session.flush().await.map_err(session_failed)
}

/// The user id in this session, if signed in.
pub async fn session_user_id(session: &Session) -> Result<Option<i64>, AppError> {
    session.get::<i64>(SESSION_USER_KEY).await.map_err(session_failed)
}

/// The account row the session store read with the session (see
/// [`SIGNED_IN_ROW`](crate::platform::session_store::SIGNED_IN_ROW)).
#[derive(serde::Deserialize)]
struct SignedInRow {
    id: i64,
    email: String,
    display_name: String,
    created_at: i64,
    is_admin: bool,
}

/// The signed-in user of this session, if any (a deleted account counts as signed out).
pub async fn session_user(state: &AppState, session: &Session) -> Result<Option<User>, AppError> {
    let Some(id) = session_user_id(session).await? else { return Ok(None) };
    // read with the session, when the session was read for this request and still names them
    if let Ok(Some(row)) = session.get::<SignedInRow>(crate::platform::session_store::SIGNED_IN_ROW).await {
        if row.id == id {
            if let Ok(created_at) = OffsetDateTime::from_unix_timestamp(row.created_at) {
                let SignedInRow { id, email, display_name, is_admin, .. } = row;
                return Ok(Some(User { id, email, display_name, created_at, is_admin }));
            }
        }
    }
    // `users` is no user's rows (no policy covers it): a connection in any state will do
    let mut c = conn_unscoped(&state.db).await?;
    repo::find_user(&mut c, id).await.map_err(query_failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_only_at_the_limit_and_until_the_window_ends() {
        let now = OffsetDateTime::now_utc();
        assert_eq!(lockout(4, Some(now), 5, now), None);
        let oldest = now - Duration::from_secs(60);
        assert_eq!(lockout(5, Some(oldest), 5, now), Some(14 * 60));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn hashes_verify_and_wrong_passwords_fail() {
        let h = hash_password("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), Some(h.clone())).await);
        assert!(!verify_password("wrong horse".into(), Some(h)).await);
        assert!(!verify_password("correct horse".into(), None).await);
    }
}

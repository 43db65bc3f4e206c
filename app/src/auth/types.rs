//! Account DTOs and the input rules shared by the browser and the server.

use serde::{Deserialize, Serialize};

use crate::error::AppError;

pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_CHARS: usize = 128;
pub const DISPLAY_NAME_MAX_CHARS: usize = 80;
const EMAIL_MAX_CHARS: usize = 254;

/// The signed-in user, as the pages see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    /// ISO 8601 date the account was created (YYYY-MM-DD).
    pub member_since: String,
    /// administers this installation
    pub is_admin: bool,
}

/// Trims and lower-cases an email address and checks its shape.
pub fn normalize_email(raw: &str) -> Result<String, AppError> {
    let email = raw.trim().to_lowercase();
    let invalid = || AppError::validation("email", "Enter a valid email address, like name@example.com.");
    if email.is_empty() {
        return Err(AppError::validation("email", "Enter your email address."));
    }
    if email.chars().count() > EMAIL_MAX_CHARS || email.chars().any(char::is_whitespace) {
        return Err(invalid());
    }
    match email.split_once('@') {
        Some((local, domain)) if !local.is_empty() && domain.contains('.') && !domain.contains('@') => {
            if domain.starts_with('.') || domain.ends_with('.') {
                return Err(invalid());
            }
            Ok(email)
        }
        _ => Err(invalid()),
    }
}

pub fn normalize_display_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(AppError::validation("display_name", "Enter the name Bartleby should call you."));
    }
    if name.chars().count() > DISPLAY_NAME_MAX_CHARS {
        return Err(AppError::validation(
            "display_name",
            format!("Keep your name to {DISPLAY_NAME_MAX_CHARS} characters or fewer."),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::validation("display_name", "Your name cannot contain control characters."));
    }
    Ok(name.to_owned())
}

pub fn check_new_password(password: &str) -> Result<(), AppError> {
    let n = password.chars().count();
    if n < PASSWORD_MIN_CHARS {
        return Err(AppError::validation(
            "password",
            format!("Use at least {PASSWORD_MIN_CHARS} characters for your password."),
        ));
    }
    if n > PASSWORD_MAX_CHARS {
        return Err(AppError::validation(
            "password",
            format!("Use at most {PASSWORD_MAX_CHARS} characters for your password."),
        ));
    }
    Ok(())
}

/// Where to go after signing in: only a path on this site, never another origin.
pub fn safe_next(next: Option<&str>) -> String {
    match next.map(str::trim) {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && !p.chars().any(char::is_control)
                && !p.starts_with("/login")
                && !p.starts_with("/signup") =>
        {
            p.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(normalize_email("  Ada@Example.COM ").unwrap(), "ada@example.com");
        for bad in ["", "ada", "ada@", "@example.com", "ada@example", "a da@example.com", "ada@.com", "a@b@c.com"] {
            let e = normalize_email(bad).unwrap_err();
            assert_eq!(e.field(), Some("email"), "{bad}");
        }
    }

    #[test]
    fn password_length_bounds() {
        assert!(check_new_password("1234567").is_err());
        assert!(check_new_password("12345678").is_ok());
        assert!(check_new_password(&"x".repeat(128)).is_ok());
        assert!(check_new_password(&"x".repeat(129)).is_err());
        // characters, not bytes
        assert!(check_new_password("ééééééé").is_err());
    }

    #[test]
    fn display_names() {
        assert_eq!(normalize_display_name("  Ada Lovelace ").unwrap(), "Ada Lovelace");
        assert!(normalize_display_name("   ").is_err());
        assert!(normalize_display_name(&"n".repeat(81)).is_err());
    }

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/inventory?page=2")), "/inventory?page=2");
        for evil in ["https://evil.example", "//evil.example", "/\\evil.example", "javascript:alert(1)", "/login"] {
            assert_eq!(safe_next(Some(evil)), "/", "{evil}");
        }
        assert_eq!(safe_next(None), "/");
    }
}

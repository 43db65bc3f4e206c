//! The one error type that crosses the wire. Server functions and services return `AppError`;
//! internal causes are logged on the server and never sent to the browser.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What went wrong, phrased for the person using Bartleby.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind")]
pub enum AppError {
    #[error("Not found.")]
    NotFound,
    #[error("Please sign in to continue.")]
    Unauthorized,
    #[error("You do not have access to this.")]
    Forbidden,
    /// A form field holds a value we cannot accept; `field` is the form field's name.
    #[error("{message}")]
    Validation { field: String, message: String },
    #[error("{message}")]
    Conflict { field: String, message: String },
    #[error("{}", rate_limited_message(*retry_after_secs))]
    RateLimited { retry_after_secs: u64 },
    #[error("Bartleby is temporarily unavailable. Please try again in a moment.")]
    Unavailable,
    #[error("Something went wrong on our side. It has been logged; please try again.")]
    Internal,
    /// The request never got a proper answer (network down, server restarting, …).
    #[error("Could not reach Bartleby: {message}")]
    Transport { message: String },
}

fn rate_limited_message(secs: u64) -> String {
    let minutes = secs.div_ceil(60).max(1);
    let wait = crate::format::count(u32::try_from(minutes).unwrap_or(u32::MAX), "minute", "minutes");
    format!("Too many failed sign-in attempts. Try again in {wait}.")
}

impl AppError {
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        Self::Validation { field: field.to_owned(), message: message.into() }
    }

    /// The form field this error is about, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Validation { field, .. } | Self::Conflict { field, .. } => Some(field),
            _ => None,
        }
    }

    /// A short fixed code for this error, safe to put in a URL (used when a form was posted
    /// without JavaScript and the answer has to be a redirect back to the form).
    pub fn code(&self) -> &str {
        match self {
            Self::NotFound => "not_found",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::Validation { field, .. } if !field.is_empty() => field,
            Self::Validation { .. } => "invalid",
            Self::Conflict { .. } => "exists",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::Internal | Self::Transport { .. } => "internal",
        }
    }

    /// The HTTP status a server function answers with when it fails this way.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::NotFound => 404,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::Validation { .. } => 422,
            Self::Conflict { .. } => 409,
            Self::RateLimited { .. } => 429,
            Self::Unavailable => 503,
            Self::Internal => 500,
            Self::Transport { .. } => 502,
        }
    }
}

/// The answer for a request that failed outside the server functions (uploads, downloads):
/// the error's status and the error as JSON. The error also rides along in the response's
/// extensions, so the server's `friendly_errors` layer can answer a browser that asked for HTML
/// with a page instead: one error type, HTML or JSON as the request wants.
#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        let status = http::StatusCode::from_u16(self.status_code()).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = (status, axum::Json(&self)).into_response();
        res.extensions_mut().insert(self);
        res
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // Bad arguments from a hand-made request: say so, without internals.
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) | ServerFnErrorErr::Deserialization(_) => {
                Self::validation("", "The request was malformed.")
            }
            ServerFnErrorErr::Request(message) | ServerFnErrorErr::Response(message) => Self::Transport { message },
            _ => Self::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_message_rounds_up_to_minutes() {
        assert_eq!(
            AppError::RateLimited { retry_after_secs: 61 }.to_string(),
            "Too many failed sign-in attempts. Try again in 2 minutes."
        );
        assert_eq!(
            AppError::RateLimited { retry_after_secs: 5 }.to_string(),
            "Too many failed sign-in attempts. Try again in 1 minute."
        );
    }

    #[test]
    fn round_trips_through_json() {
        let e = AppError::validation("email", "Enter an email address.");
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<AppError>(&json).unwrap(), e);
        assert_eq!(e.field(), Some("email"));
        assert_eq!(e.status_code(), 422);
    }
}

//! Account server functions: thin HTTP endpoints over `service`. Each checks its own inputs and auth.

use leptos::prelude::*;

use super::types::UserView;
use crate::error::AppError;

#[cfg(feature = "ssr")]
pub(crate) mod ctx {
    use std::net::IpAddr;

    use tower_sessions::Session;

    use crate::error::AppError;

    /// The address the request came from, set by the server's client-address middleware.
    #[derive(Debug, Clone, Copy)]
    pub struct ClientIp(pub Option<IpAddr>);

    pub async fn session() -> Result<Session, AppError> {
        leptos_axum::extract::<Session>().await.map_err(|e| {
            tracing::error!(error = %e, "no session layer");
            AppError::Internal
        })
    }

    pub async fn client_ip() -> Option<IpAddr> {
        leptos_axum::extract::<axum::Extension<ClientIp>>().await.ok().and_then(|ip| ip.0 .0)
    }
}
#[cfg(feature = "ssr")]
pub use ctx::ClientIp;

/// The signed-in user of one page render, looked up once: a page's parts (the header's "who am
/// I", the table, …) each ask, and all but the first are answered from here. The server provides
/// it in the context of every page render; a server function called on its own looks the user up.
#[cfg(feature = "ssr")]
#[derive(Clone, Default)]
pub struct RenderUser(std::sync::Arc<tokio::sync::OnceCell<Option<super::repo::User>>>);

/// The signed-in user of this request, if any (see [`RenderUser`]).
#[cfg(feature = "ssr")]
pub async fn signed_in_user() -> Result<Option<super::repo::User>, AppError> {
    let state = crate::platform::app_state()?;
    let session = ctx::session().await?;
    match use_context::<RenderUser>() {
        Some(once) => once.0.get_or_try_init(|| super::service::session_user(&state, &session)).await.cloned(),
        None => super::service::session_user(&state, &session).await,
    }
}

/// The signed-in user of this request, or `Unauthorized`. Every protected server function starts here.
#[cfg(feature = "ssr")]
pub async fn require_user() -> Result<super::repo::User, AppError> {
    signed_in_user().await?.ok_or(AppError::Unauthorized)
}

#[server(prefix = "/api", endpoint = "auth/sign_up")]
pub async fn sign_up(
    email: String,
    display_name: String,
    password: String,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::platform::{app_state, respond_form};
    respond_form(
        async {
            let state = app_state()?;
            let session = ctx::session().await?;
            let user = super::service::sign_up(&state, &email, &display_name, &password).await?;
            super::service::start_session(&session, user.id).await?;
            leptos_axum::redirect(&super::types::safe_next(next.as_deref()));
            Ok(())
        }
        .await,
        "/signup",
        next.as_deref(),
    )
}

#[server(prefix = "/api", endpoint = "auth/sign_in")]
pub async fn sign_in(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use crate::platform::{app_state, respond_form};
    respond_form(
        async {
            let state = app_state()?;
            let session = ctx::session().await?;
            let ip = ctx::client_ip().await;
            let user = super::service::sign_in(&state, &email, &password, ip).await?;
            super::service::start_session(&session, user.id).await?;
            leptos_axum::redirect(&super::types::safe_next(next.as_deref()));
            Ok(())
        }
        .await,
        "/login",
        next.as_deref(),
    )
}

#[server(prefix = "/api", endpoint = "auth/sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    use crate::platform::respond;
    respond(
        async {
            let session = ctx::session().await?;
            super::service::end_session(&session).await?;
            leptos_axum::redirect("/login");
            Ok(())
        }
        .await,
    )
}

/// Who am I? `None` when signed out.
#[server(prefix = "/api", endpoint = "auth/me")]
pub async fn current_user() -> Result<Option<UserView>, AppError> {
    use crate::platform::respond;
    respond(async { Ok(signed_in_user().await?.map(|u| u.view())) }.await)
}

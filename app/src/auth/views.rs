//! Sign-in and sign-up pages: plain forms; the password's Show button is an island.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::{use_location, use_query_map};

use super::api::{SignIn, SignUp};
use super::types::{UserView, DISPLAY_NAME_MAX_CHARS, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS};
use crate::error::AppError;
use crate::widgets::{ErrorNotice, FormError};
use crate::AuthContext;

/// The `next` query parameter, passed through sign-in and sign-up.
fn next_param() -> Signal<String> {
    let query = use_query_map();
    Signal::derive(move || query.read().get("next").unwrap_or_default())
}

fn with_next(path: &str, next: &str) -> String {
    if next.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?next={}", crate::format::url(next))
    }
}

/// Which form an `?error=<code>` redirect came back to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FormPage {
    SignIn,
    SignUp,
}

/// The error a form post came back with, as `?error=<code>`. Only fixed
/// codes are read, so a crafted link cannot put words on the page.
fn error_from_code(page: FormPage, code: &str) -> Option<AppError> {
    let v = |field: &str, message: &str| AppError::validation(field, message);
    Some(match (page, code) {
        (FormPage::SignIn, "password") => v("password", "That email and password do not match an account."),
        (FormPage::SignIn, "email") => v("email", "Enter your email address."),
        (FormPage::SignIn, "rate_limited") => AppError::RateLimited { retry_after_secs: FAILURE_WINDOW_SECS },
        (FormPage::SignUp, "email") => v("email", "Enter a valid email address, like name@example.com."),
        (FormPage::SignUp, "display_name") => v("display_name", "Enter the name Bartleby should call you."),
        (FormPage::SignUp, "password") => v(
            "password",
            &format!("Use between {PASSWORD_MIN_CHARS} and {PASSWORD_MAX_CHARS} characters for your password."),
        ),
        (FormPage::SignUp, "exists") => AppError::Conflict {
            field: "email".into(),
            message: "An account with this email already exists. Sign in instead?".into(),
        },
        (_, "unavailable") => AppError::Unavailable,
        (_, "") => return None,
        _ => AppError::Internal,
    })
}

/// Sign-in lockouts last at most this long (the message rounds up to minutes).
const FAILURE_WINDOW_SECS: u64 = 15 * 60;

/// The error the last post of this form came back with (the pages are server-rendered: a form
/// always posts and comes back).
fn last_error(page: FormPage) -> Signal<Option<AppError>> {
    let query = use_query_map();
    Signal::derive(move || query.read().get("error").and_then(|code| error_from_code(page, &code)))
}

/// A labelled text input that marks itself invalid when the last error names it.
#[component]
fn Field(
    name: &'static str,
    label: &'static str,
    #[prop(default = "text")] kind: &'static str,
    autocomplete: &'static str,
    error: Signal<Option<AppError>>,
    #[prop(optional)] maxlength: Option<usize>,
    #[prop(optional)] autofocus: bool,
) -> impl IntoView {
    let id = format!("field-{name}");
    let invalid = move || error.get().and_then(|e| e.field().map(|f| f == name)).unwrap_or(false);
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                required=true
                maxlength=maxlength
                autofocus=autofocus
                aria-invalid=move || invalid().to_string()
            />
        </div>
    }
}

/// A password input with a Show/Hide button (the button works once its island has hydrated).
#[component]
fn PasswordField(
    label: &'static str,
    autocomplete: &'static str,
    error: Signal<Option<AppError>>,
    #[prop(optional)] hint: Option<String>,
    #[prop(optional)] minlength: Option<usize>,
) -> impl IntoView {
    let invalid = error.get_untracked().and_then(|e| e.field().map(|f| f == "password")).unwrap_or(false);
    let has_hint = hint.is_some();
    view! {
        <div class="field">
            <label for="field-password">{label}</label>
            <PasswordInput autocomplete=autocomplete.to_owned() invalid has_hint minlength/>
            {hint.map(|h| view! { <p class="hint" id="password-hint">{h}</p> })}
        </div>
    }
}

/// The input and its Show/Hide button: the only part of the sign-in and sign-up forms that runs in
/// the browser.
#[island]
fn PasswordInput(autocomplete: String, invalid: bool, has_hint: bool, minlength: Option<usize>) -> impl IntoView {
    let shown = RwSignal::new(false);
    view! {
        <div class="password-row">
            <input
                id="field-password"
                name="password"
                type=move || if shown.get() { "text" } else { "password" }
                autocomplete=autocomplete
                required=true
                minlength=minlength
                maxlength=PASSWORD_MAX_CHARS
                aria-invalid=invalid.to_string()
                aria-describedby=has_hint.then_some("password-hint")
            />
            <button
                type="button"
                class="secondary toggle-password"
                aria-controls="field-password"
                aria-pressed=move || shown.get().to_string()
                on:click=move |_| shown.update(|s| *s = !*s)
            >
                {move || if shown.get() { "Hide" } else { "Show" }}
            </button>
        </div>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = expect_context::<AuthContext>();
    let action: ServerAction<SignIn> = auth.sign_in;
    let error = last_error(FormPage::SignIn);
    let next = next_param();
    let query = use_query_map();
    let deleted = move || query.read().get("deleted").is_some();
    view! {
        <Title text="Sign in · Bartleby"/>
        <section class="auth-card">
            <Show when=deleted>
                <p class="banner" role="status" data-testid="account-deleted">
                    "Your account and everything in it have been deleted."
                </p>
            </Show>
            <h1>"Sign in"</h1>
            <p class="lede">"Welcome back to Bartleby, your clerk for things and papers."</p>
            <FormError error=error/>
            <ActionForm action=action attr:class="stack" attr:aria-label="Sign in">
                <input type="hidden" name="next" value=next/>
                <Field name="email" label="Email" kind="email" autocomplete="username" error=error autofocus=true/>
                <PasswordField label="Password" autocomplete="current-password" error=error/>
                <button type="submit" class="primary">"Sign in"</button>
            </ActionForm>
            <p class="switch">
                "New here? " <a href=move || with_next("/signup", &next.get())>"Create an account"</a>
            </p>
        </section>
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let auth = expect_context::<AuthContext>();
    let action: ServerAction<SignUp> = auth.sign_up;
    let error = last_error(FormPage::SignUp);
    let next = next_param();
    view! {
        <Title text="Create an account · Bartleby"/>
        <section class="auth-card">
            <h1>"Create your account"</h1>
            <p class="lede">"Keep track of your things and papers. Everything stays on this server."</p>
            <p class="hint">"The first account created on a Bartleby administers it."</p>
            <FormError error=error/>
            <ActionForm action=action attr:class="stack" attr:aria-label="Create an account">
                <input type="hidden" name="next" value=next/>
                <Field name="email" label="Email" kind="email" autocomplete="email" error=error autofocus=true/>
                <Field
                    name="display_name"
                    label="Your name"
                    autocomplete="name"
                    error=error
                    maxlength=DISPLAY_NAME_MAX_CHARS
                />
                <PasswordField
                    label="Password"
                    autocomplete="new-password"
                    error=error
                    minlength=PASSWORD_MIN_CHARS
                    hint=format!("At least {PASSWORD_MIN_CHARS} characters.")
                />
                <button type="submit" class="primary">"Create account"</button>
            </ActionForm>
            <p class="switch">
                "Already have an account? " <a href=move || with_next("/login", &next.get())>"Sign in"</a>
            </p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_error_codes_become_messages() {
        let e = error_from_code(FormPage::SignIn, "password").unwrap();
        assert_eq!(e.to_string(), "That email and password do not match an account.");
        assert_eq!(error_from_code(FormPage::SignUp, "exists").unwrap().field(), Some("email"));
        // anything else is a generic message, never the text of the link
        let e = error_from_code(FormPage::SignIn, "Your account is suspended, call 555").unwrap();
        assert_eq!(e, AppError::Internal);
        assert_eq!(error_from_code(FormPage::SignIn, ""), None);
    }

    #[test]
    fn next_is_percent_encoded() {
        assert_eq!(with_next("/login", ""), "/login");
        assert_eq!(with_next("/login", "/inventory?page=2&q=a b"), "/login?next=/inventory%3Fpage%3D2%26q%3Da%20b");
    }
}

/// Renders `content` for the signed-in user; sends a signed-out visitor to the sign-in page.
/// (The server's sign-in guard already redirects page loads; this covers a page rendered anyway.)
#[component]
pub fn SignedIn<F, V>(content: F) -> impl IntoView
where
    F: Fn(UserView) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let auth = expect_context::<AuthContext>();
    let location = use_location();
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {
                let content = content.clone();
                move || {
                    let content = content.clone();
                    Suspend::new(async move {
                        match auth.user.await {
                            Ok(Some(user)) => content(user).into_any(),
                            Ok(None) => {
                                let here = format!("{}{}", location.pathname.get_untracked(), location.search.get_untracked());
                                let path = format!("/login?next={}", crate::format::url(&here));
                                view! { <Redirect path=path/> }.into_any()
                            }
                            Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                        }
                    })
                }
            }
        </Suspense>
    }
}

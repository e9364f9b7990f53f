//! The member's account pages the mailed links open — verify the email, choose a new password
//! (after asking for a link), accept an invitation — and opening another store.

use gloo_net::http::Method;
use leptos::{ev::SubmitEvent, prelude::*};
use leptos_router::hooks::{use_navigate, use_query_map};
use techverse_frontend::api::{self, ApiResult, Failure};
use techverse_shared::StoreProfile;

use crate::{
    auth::{Field, field_error},
    session::use_session,
    widgets::{Failed, Loading},
};

/// The `?token=` of a mailed link.
fn token() -> Memo<String> {
    let query = use_query_map();
    Memo::new(move |_| query.with(|q| q.get("token")).unwrap_or_default())
}

/// A request of the staff realm before signing in (the token or the email is the credential).
async fn public(path: &str, body: serde_json::Value) -> ApiResult<serde_json::Value> {
    api::call(Method::POST, path, Some(&body), None, &[]).await
}

/// What a form of these pages did: nothing yet, done (with what to say), or refused.
type Outcome = RwSignal<Option<Result<String, Failure>>>;

#[component]
fn Shown(outcome: Outcome) -> impl IntoView {
    move || {
        outcome.get().map(|result| match result {
            Ok(text) => view! {
                <p class="ok" role="status" data-test="done">{text}" "<a href="/admin/sign-in">"Sign in"</a></p>
            }
            .into_any(),
            Err(failure) => view! { <Failed failure=failure/> }.into_any(),
        })
    }
}

#[component]
pub fn VerifyEmail() -> impl IntoView {
    let token = token();
    let verified = LocalResource::new(move || {
        let token = token.get();
        async move {
            public(
                "/api/v1/auth/verify-email",
                serde_json::json!({ "token": token }),
            )
            .await
        }
    });
    let email = RwSignal::new(String::new());
    let again: Outcome = RwSignal::new(None);
    let resend = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = serde_json::json!({ "email": email.get_untracked() });
        leptos::task::spawn_local(async move {
            let sent = public("/api/v1/auth/verify-email/request", body).await;
            again.set(Some(sent.map(|_| {
                "If that address has an account, a new link is on its way.".to_owned()
            })));
        });
    };
    view! {
        <section class="auth">
            <h1>"Verify your email"</h1>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || verified.get().map(|result| match result {
                    Ok(_) => view! { <p class="ok" role="status" data-test="verified">"Your email is verified. "<a href="/admin/">"Go to your store"</a></p> }.into_any(),
                    Err(failure) => view! {
                        <Failed failure=failure/>
                        <form on:submit=resend class="inline-form">
                            <Field id="email" label="Send a new link to" value=email kind="email"/>
                            <button type="submit">"Send"</button>
                        </form>
                        <Shown outcome=again/>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[component]
pub fn ForgotPassword() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let outcome: Outcome = RwSignal::new(None);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = serde_json::json!({ "email": email.get_untracked() });
        leptos::task::spawn_local(async move {
            let sent = public("/api/v1/auth/password-reset/request", body).await;
            outcome.set(Some(sent.map(|_| {
                "If that address has an account, a link to choose a new password is on its way."
                    .to_owned()
            })));
        });
    };
    view! {
        <section class="auth">
            <h1>"Forgot your password?"</h1>
            <form on:submit=submit>
                <Field id="email" label="Your account's email" value=email kind="email"/>
                <button type="submit" data-test="send-reset">"Send me a link"</button>
            </form>
            <Shown outcome=outcome/>
        </section>
    }
}

#[component]
pub fn ResetPassword() -> impl IntoView {
    let token = token();
    let password = RwSignal::new(String::new());
    let outcome: Outcome = RwSignal::new(None);
    let error = RwSignal::new(None::<Failure>);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = serde_json::json!({ "token": token.get_untracked(), "password": password.get_untracked() });
        leptos::task::spawn_local(async move {
            let changed = public("/api/v1/auth/password-reset", body).await;
            error.set(changed.as_ref().err().cloned());
            outcome.set(Some(changed.map(|_| {
                "Password changed; every session was signed out.".to_owned()
            })));
        });
    };
    view! {
        <section class="auth">
            <h1>"Choose a new password"</h1>
            <form on:submit=submit>
                <Field id="new-password" label="New password (10 characters or more)" value=password kind="password" error=field_error(error, "password")/>
                <button type="submit" data-test="save-password">"Save password"</button>
            </form>
            <Shown outcome=outcome/>
        </section>
    }
}

/// Joins the store that invited this address: a new account needs a name and a password; an
/// existing one just accepts (and signs in as usual).
#[component]
pub fn AcceptInvitation() -> impl IntoView {
    let token = token();
    let (name, password) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let outcome: Outcome = RwSignal::new(None);
    let error = RwSignal::new(None::<Failure>);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let given = |s: RwSignal<String>| Some(s.get_untracked()).filter(|v| !v.trim().is_empty());
        let body = serde_json::json!({ "token": token.get_untracked(), "name": given(name), "password": given(password) });
        leptos::task::spawn_local(async move {
            let joined = public("/api/v1/invitations/accept", body).await;
            error.set(joined.as_ref().err().cloned());
            outcome.set(Some(joined.map(|answer| {
                let store = answer["store"]["name"]
                    .as_str()
                    .unwrap_or("the store")
                    .to_owned();
                format!("You are now a member of {store}.")
            })));
        });
    };
    view! {
        <section class="auth">
            <h1>"Join a store"</h1>
            <p class="hint">"New to TechVerse? Give your name and a password. Already have an account? Leave both empty."</p>
            <form on:submit=submit>
                <Field id="name" label="Your name" value=name error=field_error(error, "name")/>
                <Field id="password" label="Password (10 characters or more)" value=password kind="password" error=field_error(error, "password")/>
                <button type="submit" data-test="accept-invitation">"Join"</button>
            </form>
            <Shown outcome=outcome/>
        </section>
    }
}

/// A signed-in member opens one more store, and runs it at once.
#[component]
pub fn OpenStore() -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let (name, slug) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let currency = RwSignal::new("NGN".to_owned());
    let timezone = RwSignal::new("Africa/Lagos".to_owned());
    let failure = RwSignal::new(None::<Failure>);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = serde_json::json!({
            "name": name.get_untracked(),
            "slug": slug.get_untracked(),
            "currency": currency.get_untracked(),
            "timezone": timezone.get_untracked(),
        });
        let navigate = navigate.clone();
        session.act(
            Method::POST,
            "/api/v1/stores".to_owned(),
            Some(body),
            failure,
            move |store: StoreProfile| {
                leptos::task::spawn_local(async move {
                    if session.load_me().await.is_ok() {
                        session.choose(store.slug.as_str());
                    }
                    navigate("/", Default::default());
                });
            },
        );
    };
    view! {
        <section class="auth">
            <h1>"Open another store"</h1>
            <form on:submit=submit>
                <Field id="store-name" label="Store name" value=name error=field_error(failure, "name")/>
                <Field id="store-slug" label="Store address (letters, digits, dashes)" value=slug error=field_error(failure, "slug")/>
                <Field id="currency" label="Currency (ISO code)" value=currency error=field_error(failure, "currency")/>
                <Field id="timezone" label="Time zone" value=timezone error=field_error(failure, "timezone")/>
                {move || failure.get().map(|f| view! { <Failed failure=f/> })}
                <button type="submit" data-test="open-store">"Open store"</button>
            </form>
        </section>
    }
}

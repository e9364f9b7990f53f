//! Sign in, sign up (which opens the first store) and the store switcher; the mailed-link
//! pages and opening another store are in `account`.

use leptos::{ev::SubmitEvent, prelude::*};
use leptos_router::hooks::use_navigate;
use techverse_frontend::api::Failure;

use crate::session::use_session;

/// A labelled input bound to a signal, with the API's error for its field under it.
#[component]
pub fn Field(
    #[prop(into)] id: String,
    #[prop(into)] label: String,
    value: RwSignal<String>,
    #[prop(default = "text")] kind: &'static str,
    #[prop(into, default = Signal::derive(|| None))] error: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input id=id.clone() name=id type=kind prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
                aria-invalid=move || error.get().is_some().to_string()/>
            {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
        </div>
    }
}

/// A labelled multi-line text bound to a signal.
#[component]
pub fn TextArea(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    #[prop(default = 4)] rows: u32,
    #[prop(into, default = Signal::derive(|| None))] error: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <textarea id=id rows=rows.to_string() prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
                aria-invalid=move || error.get().is_some().to_string()></textarea>
            {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
        </div>
    }
}

/// The message of the first field error whose name ends with `field`.
pub fn field_error(
    failure: RwSignal<Option<Failure>>,
    field: &'static str,
) -> Signal<Option<String>> {
    Signal::derive(move || {
        failure.with(|f| {
            f.as_ref()?
                .field_errors()
                .into_iter()
                .find(|(name, _)| name == field || name.ends_with(&format!(".{field}")))
                .map(|(_, message)| message)
        })
    })
}

#[component]
pub fn SignIn() -> impl IntoView {
    let session = use_session();
    let (email, password) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let failure = RwSignal::new(None::<Failure>);
    let navigate = use_navigate();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match session
                .sign_in(&email.get_untracked(), &password.get_untracked())
                .await
            {
                Ok(()) => navigate("/", Default::default()),
                Err(error) => failure.set(Some(error)),
            }
        });
    };
    view! {
        <section class="auth">
            <h1>"Sign in to your store"</h1>
            <form on:submit=submit>
                <Field id="email" label="Email" value=email kind="email"/>
                <Field id="password" label="Password" value=password kind="password"/>
                {move || failure.get().map(|f| view! { <p class="error" role="alert">{f.text()}</p> })}
                <button type="submit" data-test="sign-in">"Sign in"</button>
            </form>
            <p><a href="/admin/forgot-password">"Forgot your password?"</a></p>
            <p><a href="/admin/sign-up">"Open a new store"</a></p>
        </section>
    }
}

#[component]
pub fn SignUp() -> impl IntoView {
    let session = use_session();
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let store_name = RwSignal::new(String::new());
    let slug = RwSignal::new(String::new());
    let currency = RwSignal::new("NGN".to_owned());
    let timezone = RwSignal::new("Africa/Lagos".to_owned());
    let failure = RwSignal::new(None::<Failure>);
    let navigate = use_navigate();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let navigate = navigate.clone();
        let body = serde_json::json!({
            "name": name.get_untracked(),
            "email": email.get_untracked(),
            "password": password.get_untracked(),
            "cookie": true,
            "store": {
                "name": store_name.get_untracked(),
                "slug": slug.get_untracked(),
                "currency": currency.get_untracked(),
                "timezone": timezone.get_untracked(),
            },
        });
        leptos::task::spawn_local(async move {
            match session.sign_up(&body).await {
                Ok(()) => navigate("/", Default::default()),
                Err(error) => failure.set(Some(error)),
            }
        });
    };
    view! {
        <section class="auth">
            <h1>"Open your store"</h1>
            <form on:submit=submit>
                <Field id="name" label="Your name" value=name error=field_error(failure, "name")/>
                <Field id="email" label="Email" value=email kind="email" error=field_error(failure, "email")/>
                <Field id="password" label="Password (10 characters or more)" value=password kind="password" error=field_error(failure, "password")/>
                <Field id="store-name" label="Store name" value=store_name error=field_error(failure, "store.name")/>
                <Field id="store-slug" label="Store address (letters, digits, dashes)" value=slug error=field_error(failure, "slug")/>
                <Field id="currency" label="Currency (ISO code)" value=currency error=field_error(failure, "currency")/>
                <Field id="timezone" label="Time zone" value=timezone error=field_error(failure, "timezone")/>
                {move || failure.get().map(|f| view! { <p class="error" role="alert">{f.text()}</p> })}
                <button type="submit" data-test="sign-up">"Open store"</button>
            </form>
            <p><a href="/admin/sign-in">"I already have an account"</a></p>
        </section>
    }
}

/// The store being run, switchable when the member works for several.
#[component]
pub fn StoreSwitcher() -> impl IntoView {
    let session = use_session();
    let stores = move || {
        session
            .me
            .with(|me| me.as_ref().map(|me| me.stores.clone()).unwrap_or_default())
    };
    view! {
        <label class="switcher">
            <span class="visually-hidden">"Store"</span>
            <select data-test="store-switcher" on:change=move |ev| session.choose(&event_target_value(&ev))>
                {move || stores().into_iter().map(|s| {
                    let slug = s.store.slug.as_str().to_owned();
                    let selected = session.store.get().as_deref() == Some(slug.as_str());
                    view! { <option value=slug.clone() selected=selected>{s.store.name}</option> }
                }).collect_view()}
            </select>
        </label>
    }
}

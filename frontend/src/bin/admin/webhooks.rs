//! Merchant webhooks: the endpoints (the signing secret shown once, on creating or rotating),
//! each endpoint's settings, pause and resume, and its delivery log with every attempt and a
//! manual retry.

use gloo_net::http::Method;
use leptos::{ev::SubmitEvent, prelude::*};
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::Deserialize;
use techverse_frontend::api::{Failure, query};

use crate::{
    auth::{Field, field_error},
    session::use_session,
    widgets::{Failed, Loading, confirmed},
};

#[derive(Debug, Clone, Deserialize)]
struct Endpoint {
    id: String,
    url: String,
    events: Vec<String>,
    #[serde(default)]
    description: Option<String>,
    active: bool,
    #[serde(default)]
    disabled_reason: Option<String>,
    #[serde(default)]
    secret: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Endpoints {
    items: Vec<Endpoint>,
}

#[derive(Debug, Clone, Deserialize)]
struct Attempt {
    at: String,
    status: Option<u16>,
    error: Option<String>,
    latency_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
struct Delivery {
    id: String,
    kind: String,
    state: String,
    attempts: Vec<Attempt>,
    next_attempt_at: Option<String>,
    created_at: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Deliveries {
    items: Vec<Delivery>,
    next_before: Option<String>,
}

/// The events field as the API takes it: comma-separated kinds, blanks dropped.
fn event_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty())
        .collect()
}

/// `2026-12-01T22:25:20.123Z` as people read it: `2026-12-01 22:25:20 UTC`.
fn when(timestamp: &str) -> String {
    match (timestamp.get(..10), timestamp.get(11..19)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => timestamp.to_owned(),
    }
}

fn attempt_outcome(attempt: &Attempt) -> String {
    let answer = match (attempt.status, &attempt.error) {
        (Some(status), _) => format!("HTTP {status}"),
        (None, Some(error)) => error.clone(),
        (None, None) => "no answer".to_owned(),
    };
    format!(
        "{}: {answer} in {} ms",
        when(&attempt.at),
        attempt.latency_ms
    )
}

/// The secret of an endpoint just created or rotated, shown once.
#[component]
fn Secret(secret: RwSignal<Option<String>>) -> impl IntoView {
    move || {
        secret.get().map(|s| view! {
            <p role="status" data-test="webhook-secret">"Signing secret (shown once; keep it now): "<code>{s}</code></p>
        })
    }
}

#[component]
pub fn Webhooks() -> impl IntoView {
    let session = use_session();
    let version = RwSignal::new(0_u32);
    let list = session.reloading::<Endpoints>(version, "/webhooks");
    let (url, events) = (
        RwSignal::new(String::new()),
        RwSignal::new("order.created, order.paid".to_owned()),
    );
    let secret = RwSignal::new(None::<String>);
    let failure = RwSignal::new(None::<Failure>);
    let create = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = serde_json::json!({
            "url": url.get_untracked(),
            "events": event_list(&events.get_untracked()),
        });
        let path = session.admin_path("/webhooks");
        session.act(
            Method::POST,
            path,
            Some(body),
            failure,
            move |made: Endpoint| {
                secret.set(made.secret);
                url.set(String::new());
                version.update(|v| *v += 1);
            },
        );
    };
    view! {
        <section>
            <h1>"Webhooks"</h1>
            <Secret secret=secret/>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || list.get().map(|result| match result {
                    Ok(list) if list.items.is_empty() => view! { <p class="empty">"No endpoints yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <table data-test="webhooks">
                            <thead><tr><th>"URL"</th><th>"Events"</th><th>"State"</th></tr></thead>
                            <tbody>
                                {list.items.into_iter().map(|e| {
                                    let state = state_of(&e);
                                    view! {
                                    <tr data-test="webhook">
                                        <td><a href=format!("/admin/settings/webhooks/{}", e.id)>{e.url}</a></td>
                                        <td>{e.events.join(", ")}</td>
                                        <td>{state}</td>
                                    </tr>
                                }}).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(failure) => view! { <Failed failure=failure/> }.into_any(),
                })}
            </Suspense>
            <form on:submit=create class="inline-form">
                <h2>"New endpoint"</h2>
                <Field id="webhook-url" label="URL (https)" value=url kind="url" error=field_error(failure, "url")/>
                <Field id="webhook-events" label="Events (comma-separated; * for all)" value=events error=field_error(failure, "events")/>
                {move || failure.get().map(|f| view! { <Failed failure=f/> })}
                <button type="submit" data-test="create-webhook">"Add endpoint"</button>
            </form>
        </section>
    }
}

fn state_of(endpoint: &Endpoint) -> String {
    match (&endpoint.disabled_reason, endpoint.active) {
        (Some(reason), false) => format!("disabled: {reason}"),
        (_, true) => "active".to_owned(),
        (None, false) => "paused".to_owned(),
    }
}

/// One endpoint: its settings, pause/resume, secret rotation, deletion and delivery log.
#[component]
pub fn WebhookDetail() -> impl IntoView {
    let session = use_session();
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id")).unwrap_or_default();
    let version = RwSignal::new(0_u32);
    let endpoint = LocalResource::new(move || {
        let (id, _) = (id(), version.get());
        async move {
            session
                .get::<Endpoint>(&session.admin_path(&format!("/webhooks/{id}")))
                .await
        }
    });
    view! {
        <section>
            <p><a href="/admin/settings/webhooks">"← Webhooks"</a></p>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || endpoint.get().map(|result| match result {
                    Ok(found) => view! { <EndpointCard endpoint=found version=version/> }.into_any(),
                    Err(failure) => view! { <Failed failure=failure/> }.into_any(),
                })}
            </Suspense>
            <DeliveryLog id=Signal::derive(id)/>
        </section>
    }
}

#[component]
fn EndpointCard(endpoint: Endpoint, version: RwSignal<u32>) -> impl IntoView {
    let session = use_session();
    let navigate = leptos_router::hooks::use_navigate();
    let path = session.admin_path(&format!("/webhooks/{}", endpoint.id));
    let url = RwSignal::new(endpoint.url.clone());
    let events = RwSignal::new(endpoint.events.join(", "));
    let description = RwSignal::new(endpoint.description.clone().unwrap_or_default());
    let (failure, secret) = (
        RwSignal::new(None::<Failure>),
        RwSignal::new(None::<String>),
    );
    let saved = RwSignal::new(false);
    let reload = move |_: serde_json::Value| version.update(|v| *v += 1);
    let save = {
        let path = path.clone();
        move |ev: SubmitEvent| {
            ev.prevent_default();
            let text = description.get_untracked();
            let body = serde_json::json!({
                "url": url.get_untracked(),
                "events": event_list(&events.get_untracked()),
                "description": (!text.trim().is_empty()).then_some(text),
            });
            session.act(
                Method::PATCH,
                path.clone(),
                Some(body),
                failure,
                move |_: serde_json::Value| saved.set(true),
            );
        }
    };
    let toggle = {
        let (path, active) = (path.clone(), endpoint.active);
        move |_| {
            let body = serde_json::json!({ "active": !active });
            session.act(Method::PATCH, path.clone(), Some(body), failure, reload);
        }
    };
    let rotate = {
        let path = format!("{path}/rotate-secret");
        move |_| {
            if confirmed(
                "Rotate the signing secret? The old one keeps signing beside it for 24 hours.",
            ) {
                session.act(
                    Method::POST,
                    path.clone(),
                    None,
                    failure,
                    move |made: Endpoint| secret.set(made.secret),
                );
            }
        }
    };
    let delete = move |_| {
        if confirmed("Delete this endpoint? Its deliveries stop.") {
            let navigate = navigate.clone();
            session.act(
                Method::DELETE,
                path.clone(),
                None,
                failure,
                move |_: serde_json::Value| {
                    navigate("/settings/webhooks", Default::default());
                },
            );
        }
    };
    let state = state_of(&endpoint);
    view! {
        <h1>{endpoint.url.clone()}</h1>
        <p data-test="webhook-state">{state}</p>
        <Secret secret=secret/>
        <form on:submit=save class="inline-form">
            <Field id="webhook-url" label="URL (https)" value=url kind="url" error=field_error(failure, "url")/>
            <Field id="webhook-events" label="Events (comma-separated; * for all)" value=events error=field_error(failure, "events")/>
            <Field id="webhook-description" label="Description" value=description error=field_error(failure, "description")/>
            {move || failure.get().map(|f| view! { <Failed failure=f/> })}
            {move || saved.get().then(|| view! { <p role="status" data-test="saved">"Saved."</p> })}
            <button type="submit" data-test="save-webhook">"Save"</button>
        </form>
        <p class="actions">
            <button type="button" data-test="toggle-webhook" on:click=toggle>
                {if endpoint.active { "Pause deliveries" } else { "Resume deliveries" }}
            </button>
            <button type="button" data-test="rotate-secret" on:click=rotate>"Rotate secret"</button>
            <button type="button" class="danger" data-test="delete-webhook" on:click=delete>"Delete endpoint"</button>
        </p>
    }
}

/// The endpoint's deliveries, newest first, a page at a time (`?before=` in the URL).
#[component]
fn DeliveryLog(id: Signal<String>) -> impl IntoView {
    let session = use_session();
    let params = use_query_map();
    let version = RwSignal::new(0_u32);
    let failure = RwSignal::new(None::<Failure>);
    let page = LocalResource::new(move || {
        let (id, _) = (id.get(), version.get());
        let before: Vec<(String, String)> = params
            .with(|p| p.get("before"))
            .map(|b| ("before".to_owned(), b))
            .into_iter()
            .collect();
        async move {
            let path = format!("/webhooks/{id}/deliveries{}", query(&before));
            session.get::<Deliveries>(&session.admin_path(&path)).await
        }
    });
    let retry = move |delivery: String| {
        let path = session.admin_path(&format!(
            "/webhooks/{}/deliveries/{delivery}/retry",
            id.get_untracked()
        ));
        session.act(
            Method::POST,
            path,
            None,
            failure,
            move |_: serde_json::Value| {
                version.update(|v| *v += 1);
            },
        );
    };
    view! {
        <h2>"Deliveries"</h2>
        <button type="button" on:click=move |_| version.update(|v| *v += 1)>"Refresh"</button>
        {move || failure.get().map(|f| view! { <Failed failure=f/> })}
        <Suspense fallback=|| view! { <Loading/> }>
            {move || page.get().map(|result| match result {
                Ok(page) if page.items.is_empty() => view! { <p class="empty">"Nothing delivered yet."</p> }.into_any(),
                Ok(page) => view! {
                    <table data-test="deliveries">
                        <thead><tr><th>"Event"</th><th>"Created"</th><th>"State"</th><th>"Attempts"</th><th></th></tr></thead>
                        <tbody>
                            {page.items.into_iter().map(|d| view! { <DeliveryRow delivery=d retry=retry/> }).collect_view()}
                        </tbody>
                    </table>
                    {page.next_before.map(|b| view! {
                        <a class="next" href=format!("/admin/settings/webhooks/{}?before={b}", id.get_untracked())>"Older"</a>
                    })}
                }.into_any(),
                Err(failure) => view! { <Failed failure=failure/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn DeliveryRow(delivery: Delivery, retry: impl Fn(String) + Copy + 'static) -> impl IntoView {
    let state = match (&delivery.next_attempt_at, delivery.state.as_str()) {
        (Some(next), "pending") => format!("pending, next attempt {}", when(next)),
        (_, state) => state.to_owned(),
    };
    let label = if delivery.state == "succeeded" {
        "Send again"
    } else {
        "Retry now"
    };
    let id = delivery.id.clone();
    view! {
        <tr data-test="delivery" data-state=delivery.state.clone()>
            <td>{delivery.kind}</td>
            <td>{when(&delivery.created_at)}</td>
            <td>{state}</td>
            <td>
                <details>
                    <summary>{format!("{} attempt(s)", delivery.attempts.len())}</summary>
                    <ol>{delivery.attempts.iter().map(|a| view! { <li>{attempt_outcome(a)}</li> }).collect_view()}</ol>
                </details>
            </td>
            <td><button type="button" data-test="retry-delivery" on:click=move |_| retry(id.clone())>{label}</button></td>
        </tr>
    }
}

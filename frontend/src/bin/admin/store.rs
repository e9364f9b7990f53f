//! The store's own pages: its profile (name, description, logo, contact email, time zone; the
//! currency shown, changeable only until the first order), review moderation and the audit log.

use gloo_net::http::Method;
use leptos::{ev::SubmitEvent, prelude::*};
use leptos_router::hooks::use_query_map;
use serde::Deserialize;
use techverse_frontend::api::{Failure, query};
use techverse_shared::{AuditPage, ReviewStatus, ReviewView, StoreProfile};

use crate::{
    auth::{Field, field_error},
    session::use_session,
    widgets::{Failed, Loading},
};

#[component]
pub fn Profile() -> impl IntoView {
    let session = use_session();
    let profile = session.current().map(|s| s.store);
    let text = |pick: fn(&StoreProfile) -> String| {
        RwSignal::new(profile.as_ref().map(pick).unwrap_or_default())
    };
    let name = text(|p| p.name.clone());
    let description = text(|p| p.description.clone());
    let logo = text(|p| p.logo_url.clone().unwrap_or_default());
    let contact = text(|p| p.contact_email.clone().unwrap_or_default());
    let timezone = text(|p| p.timezone.clone());
    let currency = text(|p| p.currency.code().to_owned());
    let failure = RwSignal::new(None::<Failure>);
    let saved = RwSignal::new(false);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = serde_json::json!({
            "name": name.get_untracked(),
            "description": description.get_untracked(),
            "logo_url": logo.get_untracked(),
            "contact_email": contact.get_untracked(),
            "timezone": timezone.get_untracked(),
            "currency": currency.get_untracked(),
        });
        leptos::task::spawn_local(async move {
            let result: Result<StoreProfile, Failure> = session
                .request(Method::PATCH, &session.admin_path(""), Some(&body))
                .await;
            match result {
                Ok(_) => {
                    failure.set(None);
                    saved.set(true);
                    let _ = session.load_me().await;
                }
                Err(error) => {
                    saved.set(false);
                    failure.set(Some(error));
                }
            }
        });
    };
    view! {
        <section class="auth">
            <nav class="ranges" aria-label="Settings">
                <a href="/admin/settings/checkout">"Checkout"</a>
                {session.can(techverse_shared::Permission::SettingsWrite).then(|| view! { <a href="/admin/settings/payments">"Card payments"</a> })}
                {session.can(techverse_shared::Permission::WebhooksManage).then(|| view! { <a href="/admin/settings/webhooks">"Webhooks"</a> })}
            </nav>
            <h1>"Store profile"</h1>
            <form on:submit=submit>
                <Field id="store-name" label="Name" value=name error=field_error(failure, "name")/>
                <div class="field">
                    <label for="store-description">"Description"</label>
                    <textarea id="store-description" rows="4" prop:value=move || description.get() on:input=move |ev| description.set(event_target_value(&ev))></textarea>
                    {move || field_error(failure, "description").get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                </div>
                <Field id="store-logo" label="Logo URL (an uploaded image or https)" value=logo error=field_error(failure, "logo_url")/>
                <Field id="store-contact" label="Contact email" value=contact kind="email" error=field_error(failure, "contact_email")/>
                <Field id="store-timezone" label="Time zone (e.g. Africa/Lagos)" value=timezone error=field_error(failure, "timezone")/>
                <Field id="store-currency" label="Currency (fixed once the store has orders)" value=currency error=field_error(failure, "currency")/>
                {move || failure.get().map(|f| view! { <Failed failure=f/> })}
                {move || saved.get().then(|| view! { <p role="status" data-test="saved">"Saved."</p> })}
                <button type="submit" data-test="save-profile">"Save"</button>
            </form>
        </section>
    }
}

#[derive(Debug, Clone, Deserialize)]
struct Reviews {
    items: Vec<ReviewView>,
    next_cursor: Option<String>,
}

#[component]
pub fn Moderation() -> impl IntoView {
    let session = use_session();
    let params = use_query_map();
    let version = RwSignal::new(0_u32);
    let status = move || {
        params
            .with(|p| p.get("status"))
            .unwrap_or_else(|| "pending".into())
    };
    let cursor = move || params.with(|p| p.get("cursor"));
    let list = LocalResource::new(move || {
        let (status, cursor, _) = (status(), cursor(), version.get());
        let mut pairs = vec![("status".to_owned(), status)];
        pairs.extend(cursor.map(|c| ("cursor".to_owned(), c)));
        async move {
            session
                .get::<Reviews>(&session.admin_path(&format!("/reviews{}", query(&pairs))))
                .await
        }
    });
    let failure = RwSignal::new(None::<Failure>);
    let moderate = move |id: String, action: &'static str| {
        let body = serde_json::json!({ "action": action });
        let path = session.admin_path(&format!("/reviews/{id}/moderation"));
        session.act(
            Method::POST,
            path,
            Some(body),
            failure,
            move |_: serde_json::Value| {
                version.update(|v| *v += 1);
            },
        );
    };
    view! {
        <section>
            <h1>"Reviews"</h1>
            <nav class="ranges" aria-label="Review status">
                {[ReviewStatus::Pending, ReviewStatus::Approved, ReviewStatus::Rejected, ReviewStatus::Hidden].into_iter().map(|s| view! {
                    <a href=format!("/admin/reviews?status={}", s.as_str()) class:active=move || status() == s.as_str()>{s.as_str()}</a>
                }).collect_view()}
            </nav>
            {move || failure.get().map(|f| view! { <Failed failure=f/> })}
            <Suspense fallback=|| view! { <Loading/> }>
                {move || list.get().map(|result| match result {
                    Ok(list) if list.items.is_empty() => view! { <p class="empty">"No reviews here."</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="review-list" data-test="reviews">
                            {list.items.into_iter().map(|r| {
                                let (a, b, c) = (r.id.to_string(), r.id.to_string(), r.id.to_string());
                                view! {
                                    <li data-test="review">
                                        <p class="rating">{"★".repeat(usize::from(r.rating))}</p>
                                        {r.title.map(|t| view! { <h3>{t}</h3> })}
                                        <p>{r.body}</p>
                                        <p class="meta">{r.author_name}{r.verified_purchase.then_some(" · verified purchase")}</p>
                                        <button type="button" on:click=move |_| moderate(a.clone(), "approve")>"Approve"</button>
                                        <button type="button" on:click=move |_| moderate(b.clone(), "reject")>"Reject"</button>
                                        <button type="button" on:click=move |_| moderate(c.clone(), "hide")>"Hide"</button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        {list.next_cursor.map(|c| view! {
                            <a class="next" href=format!("/admin/reviews{}", query(&[("status".into(), status()), ("cursor".into(), c)]))>"Next page"</a>
                        })}
                    }.into_any(),
                    Err(failure) => view! { <Failed failure=failure/> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// The audit log's filters the URL keeps (`GET …/audit-log` takes each).
const AUDIT_FILTERS: [&str; 5] = ["action", "actor", "from", "to", "cursor"];

#[component]
pub fn AuditLog() -> impl IntoView {
    let session = use_session();
    let params = use_query_map();
    // The filters as the URL keeps them (days as `YYYY-MM-DD`); the API takes instants.
    let filters = move || -> Vec<(String, String)> {
        AUDIT_FILTERS
            .into_iter()
            .filter_map(|k| params.with(|p| p.get(k)).map(|v| (k.to_owned(), v)))
            .filter(|(_, v)| !v.is_empty())
            .collect()
    };
    let page = LocalResource::new(move || {
        let mut pairs = filters();
        for (key, value) in &mut pairs {
            match key.as_str() {
                "from" => *value = format!("{value}T00:00:00Z"),
                "to" => *value = format!("{value}T23:59:59Z"),
                _ => {}
            }
        }
        async move {
            session
                .get::<AuditPage>(&session.admin_path(&format!("/audit-log{}", query(&pairs))))
                .await
        }
    });
    // Who can be picked: the members, when this member may list them.
    let members = LocalResource::new(move || async move {
        session
            .get::<crate::people::Members>(&session.admin_path("/staff"))
            .await
    });
    let chosen = move |key: &str| params.with(|p| p.get(key)).unwrap_or_default();
    view! {
        <section>
            <h1>"Audit log"</h1>
            <form class="filters" method="get" action="/admin/audit-log">
                <label for="action">"Action (e.g. order.refunded)"</label>
                <input id="action" name="action" prop:value=move || chosen("action")/>
                {move || members.get().and_then(Result::ok).map(|list| view! {
                    <label for="actor">"Who"</label>
                    <select id="actor" name="actor">
                        <option value="">"Anyone"</option>
                        {list.items.into_iter().map(|m| {
                            let id = m.user_id.to_string();
                            let selected = chosen("actor") == id;
                            view! { <option value=id selected=selected>{format!("{} ({})", m.name, m.email)}</option> }
                        }).collect_view()}
                    </select>
                })}
                <label for="from">"From (UTC day)"</label>
                <input id="from" name="from" type="date" prop:value=move || chosen("from")/>
                <label for="to">"To (UTC day)"</label>
                <input id="to" name="to" type="date" prop:value=move || chosen("to")/>
                <button type="submit" data-test="filter-audit">"Filter"</button>
            </form>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || page.get().map(|result| match result {
                    Ok(page) if page.items.is_empty() => view! { <p class="empty">"Nothing recorded yet."</p> }.into_any(),
                    Ok(page) => view! {
                        <table data-test="audit">
                            <thead><tr><th>"When"</th><th>"Who"</th><th>"Action"</th><th>"What"</th></tr></thead>
                            <tbody>
                                {page.items.into_iter().map(|e| view! {
                                    <tr><td>{e.at.0}</td><td>{e.actor.email}</td><td>{e.action}</td><td>{e.target}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        {page.next_cursor.map(|c| {
                            let mut pairs: Vec<(String, String)> = filters().into_iter().filter(|(k, _)| k != "cursor").collect();
                            pairs.push(("cursor".into(), c));
                            view! { <a class="next" href=format!("/admin/audit-log{}", query(&pairs))>"Older"</a> }
                        })}
                    }.into_any(),
                    Err(failure) => view! { <Failed failure=failure/> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

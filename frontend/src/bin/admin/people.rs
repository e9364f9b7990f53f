//! Customers (list with email search and cursor pages, one customer with addresses and
//! orders) and the team (members, invitations, custom roles from the permission catalogue).

use gloo_net::http::Method;
use leptos::{ev::SubmitEvent, prelude::*};
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::Deserialize;
use techverse_frontend::api::{Failure, query};
use techverse_shared::{CustomerDetail, CustomerPage, MemberView, Permission, RoleView};

use crate::{
    auth::{Field, field_error},
    session::use_session,
    widgets::{Failed, Loading},
};

#[component]
pub fn Customers() -> impl IntoView {
    let session = use_session();
    let params = use_query_map();
    let page = LocalResource::new(move || {
        let pairs: Vec<(String, String)> = ["q", "cursor"]
            .into_iter()
            .filter_map(|k| params.with(|p| p.get(k)).map(|v| (k.to_owned(), v)))
            .collect();
        async move {
            session
                .get::<CustomerPage>(&session.admin_path(&format!("/customers{}", query(&pairs))))
                .await
        }
    });
    view! {
        <section>
            <h1>"Customers"</h1>
            <form class="filters" method="get" action="/admin/customers">
                <label for="q">"Email starts with"</label>
                <input id="q" name="q" type="search" prop:value=move || params.with(|p| p.get("q")).unwrap_or_default()/>
                <button type="submit">"Search"</button>
            </form>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || page.get().map(|result| match result {
                    Ok(page) if page.items.is_empty() => view! { <p class="empty">"No customers yet."</p> }.into_any(),
                    Ok(page) => view! {
                        <table data-test="customers">
                            <thead><tr><th>"Name"</th><th>"Email"</th><th>"Verified"</th><th>"Since"</th></tr></thead>
                            <tbody>
                                {page.items.into_iter().map(|c| view! {
                                    <tr data-test="customer-row">
                                        <td><a href=format!("/admin/customers/{}", c.id)>{c.name}</a></td>
                                        <td>{c.email}</td>
                                        <td>{if c.email_verified { "yes" } else { "no" }}</td>
                                        <td>{c.created_at.0.chars().take(10).collect::<String>()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        {page.next_cursor.map(|c| {
                            let q = params.with_untracked(|p| p.get("q")).unwrap_or_default();
                            view! { <a class="next" href=format!("/admin/customers{}", query(&[("q".into(), q), ("cursor".into(), c)]))>"Next page"</a> }
                        })}
                    }.into_any(),
                    Err(failure) => view! { <Failed failure=failure/> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[component]
pub fn CustomerCard() -> impl IntoView {
    let session = use_session();
    let params = use_params_map();
    let detail = LocalResource::new(move || {
        let id = params.with(|p| p.get("id")).unwrap_or_default();
        async move {
            session
                .get::<CustomerDetail>(&session.admin_path(&format!("/customers/{id}")))
                .await
        }
    });
    view! {
        <Suspense fallback=|| view! { <Loading/> }>
            {move || detail.get().map(|result| match result {
                Ok(d) => view! {
                    <article data-test="customer">
                        <h1>{d.customer.name.clone()}</h1>
                        <p>{d.customer.email.clone()}{d.customer.phone.clone().map(|p| format!(" · {p}"))}</p>
                        <h2>"Addresses"</h2>
                        {if d.addresses.is_empty() {
                            view! { <p class="empty">"No saved addresses."</p> }.into_any()
                        } else {
                            view! { <ul>{d.addresses.into_iter().map(|a| view! {
                                <li>{format!("{}, {}, {} {}", a.name, a.line1, a.city, a.country.as_str())}</li>
                            }).collect_view()}</ul> }.into_any()
                        }}
                        <h2>"Orders"</h2>
                        {if d.orders.items.is_empty() {
                            view! { <p class="empty">"No orders yet."</p> }.into_any()
                        } else {
                            view! { <ul>{d.orders.items.into_iter().map(|o| view! {
                                <li><a href=format!("/admin/orders/{}", o.id)>{format!("#{}", o.number)}</a>
                                    {format!(" · {} · {}", o.status.as_str().replace('_', " "), o.total.format())}</li>
                            }).collect_view()}</ul> }.into_any()
                        }}
                    </article>
                }.into_any(),
                Err(failure) => view! { <Failed failure=failure/> }.into_any(),
            })}
        </Suspense>
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Members {
    pub items: Vec<MemberView>,
}

#[derive(Debug, Clone, Deserialize)]
struct Roles {
    items: Vec<RoleView>,
    catalogue: Vec<Permission>,
}

/// Members with their roles, an invitation form, and custom roles.
#[component]
pub fn Team() -> impl IntoView {
    let session = use_session();
    let version = RwSignal::new(0_u32);
    let members = session.reloading::<Members>(version, "/staff");
    let roles = session.reloading::<Roles>(version, "/roles");
    let failure = RwSignal::new(None::<Failure>);
    let refresh = move |_: serde_json::Value| version.update(|v| *v += 1);
    let change_role = move |user: String, role: String| {
        let body = serde_json::json!({ "role": role });
        let path = session.admin_path(&format!("/staff/{user}"));
        session.act(Method::PATCH, path, Some(body), failure, refresh);
    };
    let remove = move |user: String| {
        if crate::widgets::confirmed("Remove this member from the store?") {
            let path = session.admin_path(&format!("/staff/{user}"));
            session.act(Method::DELETE, path, None, failure, refresh);
        }
    };
    let (email, invite_role) = (
        RwSignal::new(String::new()),
        RwSignal::new("staff".to_owned()),
    );
    let invite = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = serde_json::json!({ "email": email.get_untracked(), "role": invite_role.get_untracked() });
        let path = session.admin_path("/staff/invitations");
        session.act(Method::POST, path, Some(body), failure, move |answer| {
            email.set(String::new());
            refresh(answer);
        });
    };
    let (role_name, granted) = (
        RwSignal::new(String::new()),
        RwSignal::new(Vec::<Permission>::new()),
    );
    let create_role = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = serde_json::json!({ "name": role_name.get_untracked(), "permissions": granted.get_untracked() });
        session.act(
            Method::POST,
            session.admin_path("/roles"),
            Some(body),
            failure,
            move |answer| {
                role_name.set(String::new());
                granted.set(Vec::new());
                refresh(answer);
            },
        );
    };
    let role_options = move |selected: String| {
        roles
            .get()
            .and_then(Result::ok)
            .map(|r| r.items)
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.key != "owner")
            .map(|r| {
                let is = r.key == selected;
                view! { <option value=r.key.clone() selected=is>{r.name}</option> }
            })
            .collect_view()
    };
    view! {
        <section>
            <h1>"Staff and roles"</h1>
            {move || failure.get().map(|f| view! { <Failed failure=f/> })}
            <Suspense fallback=|| view! { <Loading/> }>
                {move || members.get().map(|result| match result {
                    Ok(list) => view! {
                        <table data-test="members">
                            <thead><tr><th>"Member"</th><th>"Role"</th><th></th></tr></thead>
                            <tbody>
                                {list.items.into_iter().map(|m| {
                                    let (user, user2, role) = (m.user_id.to_string(), m.user_id.to_string(), m.role.clone());
                                    let owner = m.role == "owner";
                                    view! {
                                        <tr data-test="member-row">
                                            <td>{format!("{} ({})", m.name, m.email)}</td>
                                            <td>{if owner {
                                                view! { <span>{m.role_name.clone()}</span> }.into_any()
                                            } else {
                                                view! {
                                                    <label class="visually-hidden" for=format!("role-{user}")>"Role"</label>
                                                    <select id=format!("role-{user}") on:change=move |ev| change_role(user.clone(), event_target_value(&ev))>
                                                        {role_options(role.clone())}
                                                    </select>
                                                }.into_any()
                                            }}</td>
                                            <td>{(!owner).then(|| view! { <button type="button" on:click=move |_| remove(user2.clone())>"Remove"</button> })}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(failure) => view! { <Failed failure=failure/> }.into_any(),
                })}
            </Suspense>
            <form on:submit=invite class="inline-form">
                <h2>"Invite someone"</h2>
                <Field id="invite-email" label="Email" value=email kind="email" error=field_error(failure, "email")/>
                <label for="invite-role">"Role"</label>
                <select id="invite-role" on:change=move |ev| invite_role.set(event_target_value(&ev))>
                    {move || role_options(invite_role.get_untracked())}
                </select>
                <button type="submit" data-test="invite">"Send invitation"</button>
            </form>
            <form on:submit=create_role class="inline-form">
                <h2>"New role"</h2>
                <Field id="role-name" label="Name" value=role_name error=field_error(failure, "name")/>
                <fieldset>
                    <legend>"Permissions"</legend>
                    {move || roles.get().and_then(Result::ok).map(|r| r.catalogue).unwrap_or_default().into_iter().map(|p| view! {
                        <label class="check">
                            <input type="checkbox" value=p.as_str()
                                prop:checked=move || granted.with(|g| g.contains(&p))
                                on:change=move |ev| granted.update(|g| if event_target_checked(&ev) { g.push(p) } else { g.retain(|x| *x != p) })/>
                            {p.as_str()}
                        </label>
                    }).collect_view()}
                </fieldset>
                <button type="submit" data-test="create-role">"Create role"</button>
            </form>
        </section>
    }
}

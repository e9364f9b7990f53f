//! The category tree (add, rename, move up or down among its siblings, delete) and discount
//! codes (list, create as a percentage or a fixed amount, switch off, delete).

use gloo_net::http::Method;
use leptos::{ev::SubmitEvent, prelude::*};
use serde::Deserialize;
use techverse_frontend::api::Failure;
use techverse_shared::CategoryNode;

use crate::{
    auth::{Field, field_error},
    orders::minor_units,
    session::use_session,
    widgets::{Failed, Loading},
};

#[derive(Debug, Clone, Deserialize)]
struct Tree {
    tree: Vec<CategoryNode>,
}

/// A node with its depth and its siblings' order, for a flat, indented list.
#[derive(Debug, Clone)]
struct Row {
    node: CategoryNode,
    depth: usize,
    parent: Option<String>,
    /// The sibling before and after it, as (id, name, position).
    before: Option<CategoryNode>,
    after: Option<CategoryNode>,
}

fn flatten(nodes: &[CategoryNode], depth: usize, parent: Option<String>, out: &mut Vec<Row>) {
    for (index, node) in nodes.iter().enumerate() {
        out.push(Row {
            node: node.clone(),
            depth,
            parent: parent.clone(),
            before: index.checked_sub(1).and_then(|i| nodes.get(i)).cloned(),
            after: nodes.get(index + 1).cloned(),
        });
        flatten(&node.children, depth + 1, Some(node.id.to_string()), out);
    }
}

#[component]
pub fn Categories() -> impl IntoView {
    let session = use_session();
    let version = RwSignal::new(0_u32);
    let tree = LocalResource::new(move || {
        let _ = version.get();
        async move {
            session
                .get::<Tree>(&session.admin_path("/categories"))
                .await
        }
    });
    let failure = RwSignal::new(None::<Failure>);
    let save = move |id: String, body: serde_json::Value| async move {
        let path = session.admin_path(&format!("/categories/{id}"));
        session
            .request::<_, serde_json::Value>(Method::PATCH, &path, Some(&body))
            .await
    };
    let finish = move |result: Result<(), Failure>| match result {
        Ok(()) => {
            failure.set(None);
            version.update(|v| *v += 1);
        }
        Err(error) => failure.set(Some(error)),
    };
    // Swaps the row's position with a sibling's.
    let swap = move |row: Row, other: CategoryNode| {
        leptos::task::spawn_local(async move {
            let body = |node: &CategoryNode, position: u32| serde_json::json!({ "name": node.name, "parent_id": row.parent, "position": position });
            let first = save(row.node.id.to_string(), body(&row.node, other.position)).await;
            let second = match first {
                Ok(_) => save(other.id.to_string(), body(&other, row.node.position)).await,
                Err(error) => Err(error),
            };
            finish(second.map(drop));
        });
    };
    let rename = move |row: Row| {
        let Some(name) = web_sys::window()
            .and_then(|w| {
                w.prompt_with_message_and_default("New name", &row.node.name)
                    .ok()
            })
            .flatten()
        else {
            return;
        };
        leptos::task::spawn_local(async move {
            let body = serde_json::json!({ "name": name, "parent_id": row.parent, "position": row.node.position });
            finish(save(row.node.id.to_string(), body).await.map(drop));
        });
    };
    let delete = move |id: String| {
        let sure = crate::widgets::confirmed("Delete this category? Its products stay.");
        if sure {
            leptos::task::spawn_local(async move {
                let path = session.admin_path(&format!("/categories/{id}"));
                finish(
                    session
                        .request::<(), serde_json::Value>(Method::DELETE, &path, None)
                        .await
                        .map(drop),
                );
            });
        }
    };
    let (name, parent) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let add = move |ev: SubmitEvent| {
        ev.prevent_default();
        let parent_id = Some(parent.get_untracked()).filter(|p| !p.is_empty());
        let body = serde_json::json!({ "name": name.get_untracked(), "parent_id": parent_id });
        leptos::task::spawn_local(async move {
            let made = session
                .request::<_, serde_json::Value>(
                    Method::POST,
                    &session.admin_path("/categories"),
                    Some(&body),
                )
                .await;
            if made.is_ok() {
                name.set(String::new());
            }
            finish(made.map(drop));
        });
    };
    view! {
        <section>
            <h1>"Categories"</h1>
            {move || failure.get().map(|f| view! { <Failed failure=f/> })}
            <Suspense fallback=|| view! { <Loading/> }>
                {move || tree.get().map(|result| match result {
                    Ok(tree) if tree.tree.is_empty() => view! { <p class="empty">"No categories yet."</p> }.into_any(),
                    Ok(tree) => {
                        let mut rows = Vec::new();
                        flatten(&tree.tree, 0, None, &mut rows);
                        view! {
                            <ul class="tree" data-test="categories">
                                {rows.into_iter().map(|row| {
                                    let (up, down, again, gone) = (row.clone(), row.clone(), row.clone(), row.node.id.to_string());
                                    view! {
                                        <li data-test="category" style:padding-left=format!("{}rem", row.depth * 2)>
                                            <span>{row.node.name.clone()}</span>
                                            {row.before.clone().map(|before| view! { <button type="button" aria-label="Move up" on:click=move |_| swap(up.clone(), before.clone())>"↑"</button> })}
                                            {row.after.clone().map(|after| view! { <button type="button" aria-label="Move down" on:click=move |_| swap(down.clone(), after.clone())>"↓"</button> })}
                                            <button type="button" on:click=move |_| rename(again.clone())>"Rename"</button>
                                            <button type="button" on:click=move |_| delete(gone.clone())>"Delete"</button>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }
                    Err(failure) => view! { <Failed failure=failure/> }.into_any(),
                })}
            </Suspense>
            <form on:submit=add class="inline-form">
                <h2>"Add a category"</h2>
                <Field id="category-name" label="Name" value=name error=field_error(failure, "name")/>
                <label for="category-parent">"Inside"</label>
                <select id="category-parent" on:change=move |ev| parent.set(event_target_value(&ev))>
                    <option value="">"(top level)"</option>
                    {move || tree.get().and_then(Result::ok).map(|tree| {
                        let mut rows = Vec::new();
                        flatten(&tree.tree, 0, None, &mut rows);
                        rows.into_iter().map(|row| view! {
                            <option value=row.node.id.to_string()>{format!("{}{}", "— ".repeat(row.depth), row.node.name)}</option>
                        }).collect_view()
                    })}
                </select>
                <button type="submit" data-test="add-category">"Add"</button>
            </form>
        </section>
    }
}

/// A discount as the API lists it (only what the page shows).
#[derive(Debug, Clone, Deserialize)]
struct Code {
    id: String,
    code: String,
    kind: serde_json::Value,
    used: i64,
    usage_limit: Option<i64>,
    active: bool,
}

#[derive(Debug, Clone, Deserialize)]
struct Codes {
    items: Vec<Code>,
}

#[component]
pub fn Discounts() -> impl IntoView {
    let session = use_session();
    let version = RwSignal::new(0_u32);
    let list = LocalResource::new(move || {
        let _ = version.get();
        async move {
            session
                .get::<Codes>(&session.admin_path("/discounts"))
                .await
        }
    });
    let failure = RwSignal::new(None::<Failure>);
    let exponent = session
        .current()
        .map(|s| s.store.currency_exponent)
        .unwrap_or(2);
    let currency = session.current().map(|s| s.store.currency);
    let (code, kind, value, limit) = (
        RwSignal::new(String::new()),
        RwSignal::new("percentage".to_owned()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let create = move |ev: SubmitEvent| {
        ev.prevent_default();
        let amount = value.get_untracked();
        let discount = if kind.get_untracked() == "percentage" {
            minor_units(&amount, 2)
                .map(|bps| serde_json::json!({ "type": "percentage", "bps": bps }))
        } else {
            minor_units(&amount, exponent)
                .map(|minor| serde_json::json!({ "type": "fixed_amount", "minor": minor }))
        };
        let Some(discount) = discount else {
            failure.set(Some(Failure {
                code: None,
                message: "Type the amount, like 10 or 1,500.00.".into(),
                details: None,
            }));
            return;
        };
        let usage_limit = limit.get_untracked().trim().parse::<i64>().ok();
        let body = serde_json::json!({ "code": code.get_untracked(), "kind": discount, "usage_limit": usage_limit });
        leptos::task::spawn_local(async move {
            match session
                .request::<_, serde_json::Value>(
                    Method::POST,
                    &session.admin_path("/discounts"),
                    Some(&body),
                )
                .await
            {
                Ok(_) => {
                    failure.set(None);
                    code.set(String::new());
                    value.set(String::new());
                    version.update(|v| *v += 1);
                }
                Err(error) => failure.set(Some(error)),
            }
        });
    };
    let delete = move |id: String| {
        let sure = crate::widgets::confirmed("Delete this code? Orders keep their discount.");
        if sure {
            leptos::task::spawn_local(async move {
                let path = session.admin_path(&format!("/discounts/{id}"));
                match session
                    .request::<(), serde_json::Value>(Method::DELETE, &path, None)
                    .await
                {
                    Ok(_) => version.update(|v| *v += 1),
                    Err(error) => failure.set(Some(error)),
                }
            });
        }
    };
    let describe = move |kind: &serde_json::Value| match kind["type"].as_str() {
        Some("percentage") => format!(
            "{}.{:02} % off",
            kind["bps"].as_i64().unwrap_or(0) / 100,
            kind["bps"].as_i64().unwrap_or(0) % 100
        ),
        Some("fixed_amount") => currency
            .map(|c| {
                format!(
                    "{} off",
                    techverse_shared::Money::new(kind["minor"].as_i64().unwrap_or(0), c).format()
                )
            })
            .unwrap_or_default(),
        _ => String::new(),
    };
    view! {
        <section>
            <h1>"Discount codes"</h1>
            {move || failure.get().map(|f| view! { <Failed failure=f/> })}
            <Suspense fallback=|| view! { <Loading/> }>
                {move || list.get().map(|result| match result {
                    Ok(list) if list.items.is_empty() => view! { <p class="empty">"No discount codes yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <table data-test="discounts">
                            <thead><tr><th>"Code"</th><th>"Discount"</th><th>"Used"</th><th>"Active"</th><th></th></tr></thead>
                            <tbody>
                                {list.items.into_iter().map(|d| {
                                    let id = d.id.clone();
                                    view! {
                                        <tr data-test="discount-row">
                                            <td>{d.code.clone()}</td>
                                            <td>{describe(&d.kind)}</td>
                                            <td>{match d.usage_limit { Some(limit) => format!("{} of {limit}", d.used), None => d.used.to_string() }}</td>
                                            <td>{if d.active { "yes" } else { "no" }}</td>
                                            <td><button type="button" on:click=move |_| delete(id.clone())>"Delete"</button></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(failure) => view! { <Failed failure=failure/> }.into_any(),
                })}
            </Suspense>
            <form on:submit=create class="inline-form">
                <h2>"New code"</h2>
                <Field id="discount-code" label="Code" value=code error=field_error(failure, "code")/>
                <label for="discount-kind">"Kind"</label>
                <select id="discount-kind" on:change=move |ev| kind.set(event_target_value(&ev))>
                    <option value="percentage">"Percentage off"</option>
                    <option value="fixed_amount">"Amount off"</option>
                </select>
                <Field id="discount-value" label="Value (10 = 10 %, or an amount)" value=value/>
                <Field id="discount-limit" label="Uses allowed (empty: no limit)" value=limit/>
                <button type="submit" data-test="create-discount">"Create code"</button>
            </form>
        </section>
    }
}

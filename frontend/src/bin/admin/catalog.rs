//! The category tree (add, rename, drag or move up/down among its siblings, delete) and discount
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

/// A node with its depth, parent and siblings, for a flat, indented list.
#[derive(Debug, Clone)]
struct Row {
    node: CategoryNode,
    depth: usize,
    parent: Option<String>,
    /// Its level in order, itself included.
    siblings: Vec<CategoryNode>,
    /// The ids above it, to refuse dropping a category into its own branch.
    ancestors: Vec<String>,
}

impl Row {
    fn sibling(&self, offset: isize) -> Option<&CategoryNode> {
        let index = self.siblings.iter().position(|n| n.id == self.node.id)?;
        self.siblings.get(index.checked_add_signed(offset)?)
    }
}

fn flatten(nodes: &[CategoryNode], ancestors: &[String], out: &mut Vec<Row>) {
    for node in nodes {
        out.push(Row {
            node: node.clone(),
            depth: ancestors.len(),
            parent: ancestors.last().cloned(),
            siblings: nodes.to_vec(),
            ancestors: ancestors.to_vec(),
        });
        let mut below = ancestors.to_vec();
        below.push(node.id.to_string());
        flatten(&node.children, &below, out);
    }
}

/// One category's new place: `PATCH …/categories/{id}` with this parent and position.
#[derive(Debug, Clone, PartialEq)]
struct Move {
    node: CategoryNode,
    parent: Option<String>,
    position: u32,
}

/// What puts `moved` just before `target` among `target`'s siblings (under `target`'s
/// parent): every node of that level whose position changes, numbered 0, 1, 2… in the new
/// order. Nothing when `target` lies in `moved`'s own branch (the tree would lose it).
fn placement(moved: &Row, target: &Row) -> Vec<Move> {
    let id = moved.node.id.to_string();
    if moved.node.id == target.node.id || target.ancestors.contains(&id) {
        return Vec::new();
    }
    let mut level: Vec<CategoryNode> = target
        .siblings
        .iter()
        .filter(|n| n.id != moved.node.id)
        .cloned()
        .collect();
    let at = level
        .iter()
        .position(|n| n.id == target.node.id)
        .unwrap_or(level.len());
    level.insert(at, moved.node.clone());
    level
        .into_iter()
        .zip(0_u32..)
        .filter(|(node, position)| {
            node.position != *position
                || (node.id == moved.node.id && moved.parent != target.parent)
        })
        .map(|(node, position)| Move {
            node,
            parent: target.parent.clone(),
            position,
        })
        .collect()
}

#[component]
pub fn Categories() -> impl IntoView {
    let session = use_session();
    let version = RwSignal::new(0_u32);
    let tree = session.reloading::<Tree>(version, "/categories");
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
    // Moves `moved` just before `target`: one PATCH per category whose place changes.
    let place = move |moved: Row, target: Row| {
        let moves = placement(&moved, &target);
        if moves.is_empty() {
            return;
        }
        leptos::task::spawn_local(async move {
            let mut result = Ok(());
            for m in moves {
                let body = serde_json::json!({ "name": m.node.name, "parent_id": m.parent, "position": m.position });
                if let Err(error) = save(m.node.id.to_string(), body).await {
                    result = Err(error);
                    break;
                }
            }
            finish(result);
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
        if crate::widgets::confirmed("Delete this category? Its products stay.") {
            let path = session.admin_path(&format!("/categories/{id}"));
            session.act(
                Method::DELETE,
                path,
                None,
                failure,
                move |_: serde_json::Value| {
                    version.update(|v| *v += 1);
                },
            );
        }
    };
    let (name, parent) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let add = move |ev: SubmitEvent| {
        ev.prevent_default();
        let parent_id = Some(parent.get_untracked()).filter(|p| !p.is_empty());
        let body = serde_json::json!({ "name": name.get_untracked(), "parent_id": parent_id });
        session.act(
            Method::POST,
            session.admin_path("/categories"),
            Some(body),
            failure,
            move |_: serde_json::Value| {
                name.set(String::new());
                version.update(|v| *v += 1);
            },
        );
    };
    let rows = move || {
        let mut rows = Vec::new();
        if let Some(Ok(tree)) = tree.get() {
            flatten(&tree.tree, &[], &mut rows);
        }
        rows
    };
    view! {
        <section>
            <h1>"Categories"</h1>
            <p class="hint">"Drag a category onto another to put it just before that one, or use the arrows."</p>
            {move || failure.get().map(|f| view! { <Failed failure=f/> })}
            <Suspense fallback=|| view! { <Loading/> }>
                {move || tree.get().map(|result| match result {
                    Ok(tree) if tree.tree.is_empty() => view! { <p class="empty">"No categories yet."</p> }.into_any(),
                    Ok(_) => view! { <CategoryRows rows=rows() place=place rename=rename delete=delete/> }.into_any(),
                    Err(failure) => view! { <Failed failure=failure/> }.into_any(),
                })}
            </Suspense>
            <form on:submit=add class="inline-form">
                <h2>"Add a category"</h2>
                <Field id="category-name" label="Name" value=name error=field_error(failure, "name")/>
                <label for="category-parent">"Inside"</label>
                <select id="category-parent" on:change=move |ev| parent.set(event_target_value(&ev))>
                    <option value="">"(top level)"</option>
                    {move || rows().into_iter().map(|row| view! {
                        <option value=row.node.id.to_string()>{format!("{}{}", "— ".repeat(row.depth), row.node.name)}</option>
                    }).collect_view()}
                </select>
                <button type="submit" data-test="add-category">"Add"</button>
            </form>
        </section>
    }
}

/// The tree as an indented list: each row draggable onto another, with move up/down,
/// rename and delete buttons for the keyboard.
#[component]
fn CategoryRows(
    rows: Vec<Row>,
    place: impl Fn(Row, Row) + Copy + 'static,
    rename: impl Fn(Row) + Copy + 'static,
    delete: impl Fn(String) + Copy + 'static,
) -> impl IntoView {
    let dragging = RwSignal::new(None::<Row>);
    view! {
        <ul class="tree" data-test="categories">
            {rows.into_iter().map(|row| {
                let up = row.sibling(-1).map(|n| Row { node: n.clone(), ..row.clone() });
                let down = row.sibling(1).map(|n| Row { node: n.clone(), ..row.clone() });
                let (this, target, again) = (row.clone(), row.clone(), row.clone());
                let (above, below) = (row.clone(), row.clone());
                let gone = row.node.id.to_string();
                view! {
                    <li data-test="category" draggable="true" style:padding-left=format!("{}rem", row.depth * 2)
                        on:dragstart=move |_| dragging.set(Some(this.clone()))
                        on:dragend=move |_| dragging.set(None)
                        on:dragover=|ev| ev.prevent_default()
                        on:drop=move |ev| {
                            ev.prevent_default();
                            if let Some(moved) = dragging.get_untracked() {
                                place(moved, target.clone());
                            }
                        }>
                        <span>{row.node.name.clone()}</span>
                        {up.map(|before| view! { <button type="button" aria-label="Move up" on:click=move |_| place(above.clone(), before.clone())>"↑"</button> })}
                        {down.map(|after| view! { <button type="button" aria-label="Move down" on:click=move |_| place(after.clone(), below.clone())>"↓"</button> })}
                        <button type="button" on:click=move |_| rename(again.clone())>"Rename"</button>
                        <button type="button" on:click=move |_| delete(gone.clone())>"Delete"</button>
                    </li>
                }
            }).collect_view()}
        </ul>
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
    let list = session.reloading::<Codes>(version, "/discounts");
    let failure = RwSignal::new(None::<Failure>);
    let exponent = session.currency_exponent();
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
        let done = move |_: serde_json::Value| {
            code.set(String::new());
            value.set(String::new());
            version.update(|v| *v += 1);
        };
        session.act(
            Method::POST,
            session.admin_path("/discounts"),
            Some(body),
            failure,
            done,
        );
    };
    let delete = move |id: String| {
        let sure = crate::widgets::confirmed("Delete this code? Orders keep their discount.");
        if sure {
            let path = session.admin_path(&format!("/discounts/{id}"));
            session.act(
                Method::DELETE,
                path,
                None,
                failure,
                move |_: serde_json::Value| {
                    version.update(|v| *v += 1);
                },
            );
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

#[cfg(test)]
mod tests {
    use super::*;
    use techverse_shared::CategoryId;

    fn node(n: u128, name: &str, position: u32, children: Vec<CategoryNode>) -> CategoryNode {
        CategoryNode {
            id: CategoryId::from_uuid(uuid::Uuid::from_u128(n)),
            name: name.to_owned(),
            slug: name.to_lowercase(),
            position,
            children,
        }
    }

    /// Phones (Android, iPhone), Laptops, Audio: the rows by name.
    fn rows() -> std::collections::HashMap<String, Row> {
        let tree = vec![
            node(
                1,
                "Phones",
                0,
                vec![
                    node(11, "Android", 0, vec![]),
                    node(12, "iPhone", 1, vec![]),
                ],
            ),
            node(2, "Laptops", 1, vec![]),
            node(3, "Audio", 2, vec![]),
        ];
        let mut out = Vec::new();
        flatten(&tree, &[], &mut out);
        out.into_iter().map(|r| (r.node.name.clone(), r)).collect()
    }

    fn summary(moves: &[Move]) -> Vec<(String, bool, u32)> {
        moves
            .iter()
            .map(|m| (m.node.name.clone(), m.parent.is_some(), m.position))
            .collect()
    }

    #[test]
    fn moving_before_a_sibling_renumbers_only_what_changes() {
        let r = rows();
        let moves = placement(&r["Audio"], &r["Laptops"]);
        assert_eq!(
            summary(&moves),
            [("Audio".into(), false, 1), ("Laptops".into(), false, 2)]
        );
        // Up from the top of a level is no move at all.
        assert!(placement(&r["Phones"], &r["Phones"]).is_empty());
    }

    #[test]
    fn dropping_on_another_level_reparents_under_the_targets_parent() {
        let r = rows();
        let moves = placement(&r["Audio"], &r["iPhone"]);
        assert_eq!(
            summary(&moves),
            [("Audio".into(), true, 1), ("iPhone".into(), true, 2)]
        );
        assert!(
            moves
                .iter()
                .all(|m| m.parent == Some(r["Phones"].node.id.to_string()))
        );
        // Back to the top level before Phones.
        let moves = placement(&r["Android"], &r["Phones"]);
        assert_eq!(moves[0].node.name, "Android");
        assert_eq!((moves[0].parent.clone(), moves[0].position), (None, 0));
    }

    #[test]
    fn a_category_cannot_be_dropped_into_its_own_branch() {
        let r = rows();
        assert!(placement(&r["Phones"], &r["Android"]).is_empty());
        assert!(placement(&r["Phones"], &r["iPhone"]).is_empty());
    }
}

//! A product's categories (ticked in the store's tree) and specs (rows of group, name and
//! value, each filterable in the storefront or not), for the new-product and edit forms alike.
//! Rows of one group go out together, groups in the order they first appear.

use leptos::prelude::*;
use serde::Deserialize;
use techverse_shared::CategoryNode;

use crate::{auth::Field, session::use_session, widgets::Failed};

#[derive(Debug, Clone)]
struct SpecRow {
    key: u32,
    group: RwSignal<String>,
    name: RwSignal<String>,
    value: RwSignal<String>,
    filterable: RwSignal<bool>,
}

/// The categories and specs of one product form.
#[derive(Debug, Clone, Copy)]
pub struct Details {
    categories: RwSignal<Vec<String>>,
    specs: RwSignal<Vec<SpecRow>>,
    next_key: StoredValue<u32>,
}

impl Details {
    pub fn new() -> Self {
        Self {
            categories: RwSignal::new(Vec::new()),
            specs: RwSignal::new(Vec::new()),
            next_key: StoredValue::new(0),
        }
    }

    /// A saved product's (the admin product as the API gives it).
    pub fn of(product: &serde_json::Value) -> Self {
        let made = Self::new();
        let ids = product["category_ids"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        made.categories.set(
            ids.iter()
                .filter_map(|id| id.as_str().map(str::to_owned))
                .collect(),
        );
        for group in product["specs"].as_array().cloned().unwrap_or_default() {
            for spec in group["specs"].as_array().cloned().unwrap_or_default() {
                let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
                made.push(
                    text(&group["name"]),
                    text(&spec["key"]),
                    text(&spec["value"]),
                    spec["filterable"].as_bool().unwrap_or(false),
                );
            }
        }
        made
    }

    fn push(&self, group: String, name: String, value: String, filterable: bool) {
        let key = self.next_key.get_value();
        self.next_key.set_value(key + 1);
        let row = SpecRow {
            key,
            group: RwSignal::new(group),
            name: RwSignal::new(name),
            value: RwSignal::new(value),
            filterable: RwSignal::new(filterable),
        };
        self.specs.update(|rows| rows.push(row));
    }

    /// `(category_ids, specs)` of the product input; rows without a name are left out.
    pub fn input(&self) -> (serde_json::Value, serde_json::Value) {
        let mut groups: Vec<(String, Vec<serde_json::Value>)> = Vec::new();
        for row in self.specs.get_untracked() {
            let name = row.name.get_untracked().trim().to_owned();
            if name.is_empty() {
                continue;
            }
            let group = row.group.get_untracked().trim().to_owned();
            let spec = serde_json::json!({
                "key": name,
                "value": row.value.get_untracked().trim(),
                "filterable": row.filterable.get_untracked(),
            });
            match groups.iter_mut().find(|(g, _)| *g == group) {
                Some((_, specs)) => specs.push(spec),
                None => groups.push((group, vec![spec])),
            }
        }
        let specs = groups
            .into_iter()
            .map(|(name, specs)| serde_json::json!({ "name": name, "specs": specs }))
            .collect();
        (
            serde_json::json!(self.categories.get_untracked()),
            serde_json::Value::Array(specs),
        )
    }
}

#[derive(Debug, Clone, Deserialize)]
struct Tree {
    tree: Vec<CategoryNode>,
}

/// The tree as `(id, name, depth)` rows, parents first.
fn rows(nodes: &[CategoryNode], depth: usize, out: &mut Vec<(String, String, usize)>) {
    for node in nodes {
        out.push((node.id.to_string(), node.name.clone(), depth));
        rows(&node.children, depth + 1, out);
    }
}

#[component]
pub fn DetailsEditor(details: Details) -> impl IntoView {
    let session = use_session();
    let tree = LocalResource::new(move || async move {
        session
            .get::<Tree>(&session.admin_path("/categories"))
            .await
    });
    let toggle = move |id: String, on: bool| {
        details.categories.update(|ids| {
            ids.retain(|i| *i != id);
            if on {
                ids.push(id);
            }
        });
    };
    view! {
        <fieldset data-test="product-categories">
            <legend>"Categories"</legend>
            {move || tree.get().map(|result| match result {
                Ok(tree) if tree.tree.is_empty() => view! { <p class="hint">"The store has no categories yet."</p> }.into_any(),
                Ok(tree) => {
                    let mut list = Vec::new();
                    rows(&tree.tree, 0, &mut list);
                    list.into_iter().map(|(id, name, depth)| {
                        let (checked, changed) = (id.clone(), id.clone());
                        view! {
                            <label class="check" style:margin-left=format!("{depth}rem")>
                                <input type="checkbox" prop:checked=move || details.categories.with(|ids| ids.contains(&checked))
                                    on:change=move |ev| toggle(changed.clone(), event_target_checked(&ev))/>
                                {name}
                            </label>
                        }
                    }).collect_view().into_any()
                }
                Err(failure) => view! { <Failed failure=failure/> }.into_any(),
            })}
        </fieldset>
        <fieldset data-test="product-specs">
            <legend>"Specs (e.g. Display · Screen · 6.1\" OLED; filterable ones become storefront filters)"</legend>
            <For each=move || details.specs.get() key=|row| row.key let:row>
                <div class="variant-row" data-test="spec-row">
                    <Field id=format!("spec-group-{}", row.key) label="Group" value=row.group/>
                    <Field id=format!("spec-name-{}", row.key) label="Spec" value=row.name/>
                    <Field id=format!("spec-value-{}", row.key) label="Value" value=row.value/>
                    <label class="check"><input type="checkbox" id=format!("spec-filterable-{}", row.key)
                        prop:checked=move || row.filterable.get() on:change=move |ev| row.filterable.set(event_target_checked(&ev))/>" Filterable"</label>
                    <button type="button" on:click=move |_| details.specs.update(|rows| rows.retain(|r| r.key != row.key))>"Remove"</button>
                </div>
            </For>
            <button type="button" data-test="add-spec" on:click=move |_| details.push(String::new(), String::new(), String::new(), false)>"Add a spec"</button>
        </fieldset>
    }
}

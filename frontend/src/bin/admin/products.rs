//! Products: the list with search and status filters kept in the URL, archive/activate, and a
//! new product with options, variants (SKU, price, compare-at, stock, low-stock threshold),
//! a Markdown description and uploaded images with alt text.

use gloo_net::http::Method;
use leptos::{ev::SubmitEvent, prelude::*};
use leptos_router::hooks::{use_navigate, use_query_map};
use serde::Deserialize;
use techverse_frontend::api::{self, Failure, query};
use techverse_shared::{Money, Permission, ProductStatus};
use wasm_bindgen::JsCast;

use crate::{
    auth::{Field, field_error},
    details::{Details, DetailsEditor},
    markdown::DescriptionEditor,
    session::use_session,
    variants::{Variants, VariantsEditor},
    widgets::{Failed, Loading},
};

/// A product as the admin list gives it (only what the page shows).
#[derive(Debug, Clone, Deserialize)]
struct Listed {
    id: String,
    title: String,
    status: ProductStatus,
    price_min: Money,
    variants: Vec<ListedVariant>,
}

#[derive(Debug, Clone, Deserialize)]
struct ListedVariant {
    stock_on_hand: i64,
    reserved: i64,
}

#[derive(Debug, Clone, Deserialize)]
struct ListPage {
    items: Vec<Listed>,
    total: u64,
    #[serde(default)]
    next_cursor: Option<String>,
}

#[component]
pub fn Products() -> impl IntoView {
    let session = use_session();
    let params = use_query_map();
    let version = RwSignal::new(0_u32);
    let list = LocalResource::new(move || {
        let pairs: Vec<(String, String)> = ["q", "status", "in_stock", "cursor"]
            .into_iter()
            .filter_map(|k| params.with(|p| p.get(k)).map(|v| (k.to_owned(), v)))
            .collect();
        let _ = (version.get(), session.store.get());
        async move {
            session
                .get::<ListPage>(&session.admin_path(&format!("/products{}", query(&pairs))))
                .await
        }
    });
    let writer = session.can(Permission::ProductsWrite);
    let set_status = move |id: String, status: &'static str| {
        leptos::task::spawn_local(async move {
            let path = session.admin_path(&format!("/products/{id}"));
            let body = serde_json::json!({ "status": status });
            if session
                .request::<_, serde_json::Value>(Method::PATCH, &path, Some(&body))
                .await
                .is_ok()
            {
                version.update(|v| *v += 1);
            }
        });
    };
    view! {
        <section>
            <header class="page-head">
                <h1>"Products"</h1>
                {writer.then(|| view! { <a class="button" href="/admin/products/new" data-test="new-product">"New product"</a> })}
            </header>
            {writer.then(|| view! { <Import changed=Callback::new(move |()| version.update(|v| *v += 1))/> })}
            <form class="filters" method="get" action="/admin/products">
                <label for="q">"Search"</label>
                <input id="q" name="q" prop:value=move || params.with(|p| p.get("q")).unwrap_or_default()/>
                <label for="status">"Status"</label>
                <select id="status" name="status">
                    <option value="">"Any"</option>
                    {["draft", "active", "archived"].into_iter().map(|s| view! {
                        <option value=s selected=move || params.with(|p| p.get("status")).as_deref() == Some(s)>{s}</option>
                    }).collect_view()}
                </select>
                <label class="check">
                    <input type="checkbox" name="in_stock" value="true" prop:checked=move || params.with(|p| p.get("in_stock")).as_deref() == Some("true")/>
                    "In stock only"
                </label>
                <button type="submit">"Filter"</button>
            </form>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || list.get().map(|result| match result {
                    Ok(page) if page.items.is_empty() => {
                        let filtered = params.with(|p| ["q", "status", "in_stock"].iter().any(|k| p.get(k).is_some()));
                        view! { <p class="empty">{if filtered { "No products match." } else { "No products yet." }}</p> }.into_any()
                    }
                    Ok(page) => view! {
                        <p>{format!("{} products", page.total)}</p>
                        <table data-test="products">
                            <thead><tr><th>"Title"</th><th>"Status"</th><th>"From"</th><th>"Available"</th><th></th></tr></thead>
                            <tbody>
                                {page.items.into_iter().map(|p| {
                                    let available: i64 = p.variants.iter().map(|v| (v.stock_on_hand - v.reserved).max(0)).sum();
                                    let (id, next, label) = match p.status {
                                        ProductStatus::Archived => (p.id.clone(), "active", "Activate"),
                                        _ => (p.id.clone(), "archived", "Archive"),
                                    };
                                    view! {
                                        <tr data-test="product-row">
                                            <td><a href=format!("/admin/products/{}", p.id)>{p.title}</a></td>
                                            <td>{p.status.as_str()}</td>
                                            <td>{p.price_min.format()}</td>
                                            <td>{available}</td>
                                            <td>{writer.then(|| view! {
                                                <button type="button" on:click=move |_| set_status(id.clone(), next)>{label}</button>
                                            })}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        {page.next_cursor.map(|c| {
                            let mut pairs: Vec<(String, String)> = ["q", "status", "in_stock"].into_iter()
                                .filter_map(|k| params.with_untracked(|p| p.get(k)).map(|v| (k.to_owned(), v))).collect();
                            pairs.push(("cursor".into(), c));
                            view! { <a class="next" href=format!("/admin/products{}", query(&pairs))>"Next page"</a> }
                        })}
                    }.into_any(),
                    Err(failure) => view! { <Failed failure=failure/> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// The file picked in the `<input type=file>` that fired `ev`.
fn chosen_file(ev: &leptos::ev::Event) -> Option<web_sys::File> {
    ev.target()?
        .dyn_into::<web_sys::HtmlInputElement>()
        .ok()?
        .files()?
        .get(0)
}

#[derive(Debug, Clone, Deserialize)]
struct Uploaded {
    url: String,
}

#[component]
pub fn NewProduct() -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    let title = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let active = RwSignal::new(true);
    let images = RwSignal::new(Vec::<(String, RwSignal<String>)>::new());
    let failure = RwSignal::new(None::<Failure>);
    let uploading = RwSignal::new(false);
    let exponent = session.currency_exponent();
    let variants = Variants::new(exponent);
    let details = Details::new();
    let upload = move |ev: leptos::ev::Event| {
        let Some(file) = chosen_file(&ev) else {
            return;
        };
        uploading.set(true);
        leptos::task::spawn_local(async move {
            let access = session.access.get_untracked();
            let done: Result<Uploaded, Failure> =
                api::upload(&session.admin_path("/media"), &file, access.as_deref()).await;
            match done {
                Ok(image) => {
                    images.update(|list| list.push((image.url, RwSignal::new(String::new()))))
                }
                Err(error) => failure.set(Some(error)),
            }
            uploading.set(false);
        });
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let (options, variants) = match variants.input() {
            Ok(input) => input,
            Err(error) => return failure.set(Some(error)),
        };
        let (category_ids, specs) = details.input();
        let body = serde_json::json!({
            "title": title.get_untracked(),
            "description": description.get_untracked(),
            "status": if active.get_untracked() { "active" } else { "draft" },
            "options": options,
            "variants": variants,
            "category_ids": category_ids,
            "specs": specs,
            "images": images.get_untracked().iter().map(|(url, alt)| serde_json::json!({ "url": url, "alt": alt.get_untracked() })).collect::<Vec<_>>(),
        });
        let navigate = navigate.clone();
        let path = session.admin_path("/products");
        session.act(
            Method::POST,
            path,
            Some(body),
            failure,
            move |_: serde_json::Value| {
                navigate("/products", Default::default());
            },
        );
    };
    view! {
        <section class="product-form">
            <h1>"New product"</h1>
            <form on:submit=submit>
                <Field id="title" label="Title" value=title error=field_error(failure, "title")/>
                <DescriptionEditor value=description failure=failure/>
                <div class="field">
                    <label><input type="checkbox" prop:checked=move || active.get() on:change=move |ev| active.set(event_target_checked(&ev))/>" Active (shown in the store)"</label>
                </div>
                <VariantsEditor variants=variants/>
                <DetailsEditor details=details/>
                <fieldset>
                    <legend>"Images"</legend>
                    <label for="image-file">"Upload an image (PNG, JPEG, GIF or WebP, 5 MB)"</label>
                    <input id="image-file" type="file" accept="image/png,image/jpeg,image/gif,image/webp" on:change=upload/>
                    {move || uploading.get().then(|| view! { <p role="status">"Uploading…"</p> })}
                    <ul class="images">
                        {move || images.get().into_iter().enumerate().map(|(index, (url, alt))| view! {
                            <li data-test="uploaded-image">
                                <img src=url.clone() alt="" width="96"/>
                                <label for=format!("alt-{index}")>"Alt text"</label>
                                <input id=format!("alt-{index}") prop:value=move || alt.get() on:input=move |ev| alt.set(event_target_value(&ev))/>
                            </li>
                        }).collect_view()}
                    </ul>
                </fieldset>
                {move || failure.get().map(|f| view! { <Failed failure=f/> })}
                <button type="submit" data-test="save-product">"Save product"</button>
            </form>
        </section>
    }
}

/// Where an import stands.
#[derive(Debug, Clone, PartialEq)]
enum Importing {
    Idle,
    Running { done: u64, total: u64 },
    Done { created: u64, updated: u64 },
    Refused { rows: Vec<String>, message: String },
}

/// CSV import (Shopify's product layout) with a progress bar and the rows at fault; export.
#[component]
fn Import(changed: Callback<()>) -> impl IntoView {
    let session = use_session();
    let state = RwSignal::new(Importing::Idle);
    let start = move |ev: leptos::ev::Event| {
        let Some(file) = chosen_file(&ev) else {
            return;
        };
        state.set(Importing::Running { done: 0, total: 0 });
        leptos::task::spawn_local(async move {
            let access = session.access.get_untracked();
            let path = session.admin_path("/products/import");
            let result = api::upload_lines(&path, &file, access.as_deref(), |line| {
                if let Some(progress) = line.get("progress") {
                    let number = |key: &str| progress[key].as_u64().unwrap_or(0);
                    state.set(Importing::Running {
                        done: number("done"),
                        total: number("total"),
                    });
                } else if let Some(report) = line.get("report") {
                    let number = |key: &str| report[key].as_u64().unwrap_or(0);
                    state.set(Importing::Done {
                        created: number("created"),
                        updated: number("updated"),
                    });
                } else if let Some(error) = line.get("error") {
                    let rows = error["details"]["rows"]
                        .as_array()
                        .map(|rows| {
                            rows.iter()
                                .map(|r| {
                                    format!(
                                        "row {}, column {}: {}",
                                        r["row"],
                                        r["column"].as_str().unwrap_or("?"),
                                        r["message"].as_str().unwrap_or("")
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    let message = error["message"]
                        .as_str()
                        .unwrap_or("the import failed")
                        .to_owned();
                    state.set(Importing::Refused { rows, message });
                }
            })
            .await;
            if let Err(failure) = result {
                state.set(Importing::Refused {
                    rows: Vec::new(),
                    message: failure.text(),
                });
            }
            changed.run(());
        });
    };
    let percent = move || match state.get() {
        Importing::Running { done, total } if total > 0 => done * 100 / total,
        Importing::Done { .. } => 100,
        _ => 0,
    };
    view! {
        <section class="import" aria-labelledby="import-title">
            <h2 id="import-title">"Import or export"</h2>
            <label for="import-file">"Import products from a CSV (Shopify's product layout, 10 MB)"</label>
            <input id="import-file" type="file" accept=".csv,text/csv" on:change=start/>
            <a href="#" on:click=move |ev| {
                ev.prevent_default();
                leptos::task::spawn_local(async move { download_export(session).await; });
            }>"Export all products as CSV"</a>
            {move || (state.get() != Importing::Idle).then(|| view! {
                <progress data-test="import-progress" max="100" value=move || percent().to_string() aria-label="Import progress"></progress>
                <span data-test="import-percent">{move || format!("{} %", percent())}</span>
            })}
            {move || match state.get() {
                Importing::Done { created, updated } => view! {
                    <p role="status" data-test="import-done">{format!("Imported: {created} new, {updated} updated.")}</p>
                }.into_any(),
                Importing::Refused { rows, message } => view! {
                    <div role="alert" class="error" data-test="import-refused">
                        <p>{message}</p>
                        <ul>{rows.into_iter().map(|r| view! { <li data-test="import-row-error">{r}</li> }).collect_view()}</ul>
                    </div>
                }.into_any(),
                _ => ().into_any(),
            }}
        </section>
    }
}

/// Fetches the export with the member's token and hands it to the browser as a download.
async fn download_export(session: crate::session::Session) {
    let Ok(text) = session
        .request_text(Method::GET, &session.admin_path("/products/export.csv"))
        .await
    else {
        return;
    };
    let parts = js_sys::Array::of1(&text.into());
    let Ok(blob) = web_sys::Blob::new_with_str_sequence(&parts) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Some(document) = web_sys::window().and_then(|w| w.document())
        && let Ok(link) = document.create_element("a")
    {
        let _ = link.set_attribute("href", &url);
        let _ = link.set_attribute("download", "products.csv");
        if let Ok(link) = link.dyn_into::<web_sys::HtmlElement>() {
            link.click();
        }
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// One product as the admin API gives it, editable: every field of the product input is read
/// from it and sent back, so nothing the page does not show is lost on save.
#[component]
pub fn EditProduct() -> impl IntoView {
    let session = use_session();
    let params = leptos_router::hooks::use_params_map();
    let version = RwSignal::new(0_u32);
    let loaded = LocalResource::new(move || {
        let (id, _) = (
            params.with(|p| p.get("id")).unwrap_or_default(),
            version.get(),
        );
        async move {
            session
                .get::<serde_json::Value>(&session.admin_path(&format!("/products/{id}")))
                .await
        }
    });
    view! {
        <Suspense fallback=|| view! { <Loading/> }>
            {move || loaded.get().map(|result| match result {
                Ok(product) => view! { <EditForm product=product/> }.into_any(),
                Err(failure) => view! { <Failed failure=failure/> }.into_any(),
            })}
        </Suspense>
    }
}

/// The product input (`PUT …/products/{id}`) holding everything `product` has.
fn input_of(product: &serde_json::Value) -> serde_json::Value {
    let pick = |value: &serde_json::Value, keys: &[&str]| {
        serde_json::Value::Object(
            keys.iter()
                .map(|k| ((*k).to_owned(), value[*k].clone()))
                .collect(),
        )
    };
    let list = |key: &str, keys: &[&str]| {
        serde_json::Value::Array(
            product[key]
                .as_array()
                .map(|items| items.iter().map(|item| pick(item, keys)).collect())
                .unwrap_or_default(),
        )
    };
    let mut input = pick(
        product,
        &[
            "title",
            "slug",
            "description",
            "brand",
            "category_ids",
            "tags",
            "status",
            "seo_title",
            "seo_description",
            "options",
            "specs",
        ],
    );
    input["images"] = list("images", &["url", "alt"]);
    input["variants"] = list(
        "variants",
        &[
            "id",
            "sku",
            "options",
            "price",
            "compare_at",
            "weight_grams",
            "track_inventory",
            "low_stock_threshold",
        ],
    );
    input
}

#[component]
fn EditForm(product: serde_json::Value) -> impl IntoView {
    let session = use_session();
    let exponent = session.currency_exponent();
    let id = product["id"].as_str().unwrap_or_default().to_owned();
    let input = RwSignal::new(input_of(&product));
    let variants = Variants::of(&product, exponent);
    let details = Details::of(&product);
    // The product as last saved: the stock table follows it.
    let current = RwSignal::new(product.clone());
    let field = |key: &'static str| {
        let value = RwSignal::new(product[key].as_str().unwrap_or_default().to_owned());
        Effect::new(move |_| {
            let text = value.get();
            input.update(|i| {
                i[key] = if text.is_empty() && key.starts_with("seo") {
                    serde_json::Value::Null
                } else {
                    text.into()
                }
            });
        });
        value
    };
    let (title, description, seo_title, seo_description) = (
        field("title"),
        field("description"),
        field("seo_title"),
        field("seo_description"),
    );
    let status = RwSignal::new(product["status"].as_str().unwrap_or("draft").to_owned());
    let failure = RwSignal::new(None::<Failure>);
    let saved = RwSignal::new(false);
    let path = StoredValue::new(session.admin_path(&format!("/products/{id}")));
    let save = move |ev: SubmitEvent| {
        ev.prevent_default();
        saved.set(false);
        let (options, rows) = match variants.input() {
            Ok(input) => input,
            Err(error) => return failure.set(Some(error)),
        };
        let (category_ids, specs) = details.input();
        input.update(|i| {
            i["status"] = status.get_untracked().into();
            i["options"] = options;
            i["variants"] = rows;
            i["category_ids"] = category_ids;
            i["specs"] = specs;
        });
        let body = input.get_untracked();
        // The answer is the product as saved: new variants now have ids (and stock rows).
        let done = move |product: serde_json::Value| {
            variants.load(&product);
            current.set(product);
            saved.set(true);
        };
        session.act(Method::PUT, path.get_value(), Some(body), failure, done);
    };
    let move_image = move |from: usize, to: usize| {
        input.update(|i| {
            if let Some(images) = i["images"].as_array_mut()
                && to < images.len()
            {
                images.swap(from, to);
            }
        });
    };
    view! {
        <section class="product-form">
            <h1>{format!("Edit {}", product["title"].as_str().unwrap_or(""))}</h1>
            <form on:submit=save>
                <Field id="title" label="Title" value=title error=field_error(failure, "title")/>
                <DescriptionEditor value=description saved_html=product["description_html"].as_str().unwrap_or("").to_owned() failure=failure/>
                <label for="status">"Status"</label>
                <select id="status" on:change=move |ev| status.set(event_target_value(&ev))>
                    {["draft", "active", "archived"].into_iter().map(|s| view! { <option value=s selected=move || status.get() == s>{s}</option> }).collect_view()}
                </select>
                <Field id="seo-title" label="SEO title" value=seo_title error=field_error(failure, "seo_title")/>
                <Field id="seo-description" label="SEO description" value=seo_description error=field_error(failure, "seo_description")/>
                <fieldset>
                    <legend>"Images (the first is the main one)"</legend>
                    {move || {
                        let images = input.with(|i| i["images"].as_array().cloned().unwrap_or_default());
                        let count = images.len();
                        images.into_iter().enumerate().map(move |(index, image)| {
                        let alt = RwSignal::new(image["alt"].as_str().unwrap_or_default().to_owned());
                        view! {
                            <div class="image-row" data-test="image-row">
                                <img src=image["url"].as_str().unwrap_or_default().to_owned() alt="" width="64"/>
                                <label for=format!("alt-{index}")>"Alt text"</label>
                                <input id=format!("alt-{index}") prop:value=move || alt.get()
                                    on:change=move |ev| { let text = event_target_value(&ev); input.update(|i| i["images"][index]["alt"] = text.into()); }/>
                                {(index > 0).then(|| view! { <button type="button" aria-label="Move earlier" on:click=move |_| move_image(index, index - 1)>"↑"</button> })}
                                {(index + 1 < count).then(|| view! { <button type="button" aria-label="Move later" on:click=move |_| move_image(index, index + 1)>"↓"</button> })}
                            </div>
                        }
                    }).collect_view()
                    }}
                </fieldset>
                <VariantsEditor variants=variants/>
                <DetailsEditor details=details/>
                {move || failure.get().map(|f| view! { <Failed failure=f/> })}
                {move || saved.get().then(|| view! { <p role="status" data-test="saved">"Saved."</p> })}
                <button type="submit" data-test="save-product">"Save product"</button>
            </form>
            {move || view! { <Stock product_id=id.clone() variants=current.with(|p| p["variants"].as_array().cloned().unwrap_or_default())/> }}
        </section>
    }
}

/// Stock on hand per variant, changed by adjustments with a reason (never by editing a number:
/// a sale happening meanwhile is never overwritten).
#[component]
fn Stock(product_id: String, variants: Vec<serde_json::Value>) -> impl IntoView {
    let session = use_session();
    let failure = RwSignal::new(None::<Failure>);
    view! {
        <section>
            <h2>"Stock"</h2>
            <table data-test="stock">
                <thead><tr><th>"SKU"</th><th>"On hand"</th><th>"Reserved"</th><th>"Adjust by"</th><th>"Reason"</th><th></th></tr></thead>
                <tbody>
                    {variants.into_iter().enumerate().map(|(index, v)| {
                        let (delta, reason) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
                        let on_hand = RwSignal::new(v["stock_on_hand"].as_i64().unwrap_or(0));
                        let variant_id = v["id"].as_str().unwrap_or_default().to_owned();
                        let path = session.admin_path(&format!("/products/{product_id}/variants/{}/stock", v["id"].as_str().unwrap_or_default()));
                        let adjust = move |_| {
                            let Ok(units) = delta.get_untracked().trim().parse::<i64>() else {
                                failure.set(Some(Failure { code: None, message: "Type a whole number of units, like 5 or -2.".into(), details: None }));
                                return;
                            };
                            let body = serde_json::json!({ "delta": units, "reason": reason.get_untracked() });
                            let (path, variant_id) = (path.clone(), variant_id.clone());
                            leptos::task::spawn_local(async move {
                                match session.request::<_, serde_json::Value>(Method::POST, &path, Some(&body)).await {
                                    // The product as it now stands: this variant's stock from it.
                                    Ok(product) => {
                                        if let Some(units) = product["variants"].as_array().and_then(|vs| {
                                            vs.iter().find(|x| x["id"] == variant_id.as_str())?["stock_on_hand"].as_i64()
                                        }) {
                                            on_hand.set(units);
                                        }
                                        delta.set(String::new());
                                        failure.set(None);
                                    }
                                    Err(error) => failure.set(Some(error)),
                                }
                            });
                        };
                        view! {
                            <tr data-test="stock-row">
                                <td>{v["sku"].as_str().unwrap_or_default().to_owned()}</td>
                                <td data-test="on-hand">{move || on_hand.get()}</td>
                                <td>{v["reserved"].as_i64().unwrap_or(0)}</td>
                                <td><label class="visually-hidden" for=format!("delta-{index}")>"Adjust by"</label>
                                    <input id=format!("delta-{index}") inputmode="numeric" prop:value=move || delta.get() on:input=move |ev| delta.set(event_target_value(&ev))/></td>
                                <td><label class="visually-hidden" for=format!("reason-{index}")>"Reason"</label>
                                    <input id=format!("reason-{index}") prop:value=move || reason.get() on:input=move |ev| reason.set(event_target_value(&ev))/></td>
                                <td><button type="button" data-test=format!("adjust-{index}") on:click=adjust>"Adjust"</button></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            {move || failure.get().map(|f| view! { <Failed failure=f/> })}
        </section>
    }
}

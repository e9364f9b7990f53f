//! The product list: search, category, brand, spec facets, price range, in-stock, sort and
//! cursor pages. Every filter lives in the URL, so a listing can be shared and reloaded.

use leptos::{ev::SubmitEvent, prelude::*};
use leptos_router::{
    NavigateOptions,
    hooks::{use_navigate, use_query_map},
};
use techverse_shared::{FacetValue, ProductPage};

use crate::{
    api,
    state::use_shop,
    widgets::{ErrorNote, Loading, ProductCard, price},
};

/// The query as ordered pairs (the URL's own order).
fn pairs(map: &leptos_router::params::ParamsMap) -> Vec<(String, String)> {
    map.into_iter()
        .map(|(k, v)| (k.to_string(), v.to_owned()))
        .collect()
}

/// The pairs with `key` set to `value` (or removed when `None`), back on the first page.
fn with(pairs: &[(String, String)], key: &str, value: Option<&str>) -> Vec<(String, String)> {
    let mut next: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != key && k != "cursor")
        .cloned()
        .collect();
    if let Some(value) = value {
        next.push((key.to_owned(), value.to_owned()));
    }
    next
}

const SORTS: [(&str, &str); 6] = [
    ("relevance", "Relevance"),
    ("best_selling", "Best selling"),
    ("newest", "Newest"),
    ("price_asc", "Price: low to high"),
    ("price_desc", "Price: high to low"),
    ("rating", "Top rated"),
];

#[component]
pub fn Listing() -> impl IntoView {
    let shop = use_shop();
    let query = use_query_map();
    let navigate = use_navigate();
    let current = move || pairs(&query.get());
    let page = LocalResource::new(move || {
        let qs = api::query(&current());
        async move { shop.get::<ProductPage>(&format!("/products{qs}")).await }
    });
    let href =
        move |pairs: Vec<(String, String)>| shop.link(&format!("/products{}", api::query(&pairs)));
    let go = {
        let navigate = navigate.clone();
        move |pairs: Vec<(String, String)>| {
            navigate(
                &shop.link(&format!("/products{}", api::query(&pairs))),
                NavigateOptions {
                    resolve: false,
                    ..Default::default()
                },
            );
        }
    };
    let selected = move |key: &str| query.with(|q| q.get(key));

    let on_sort = {
        let go = go.clone();
        move |ev| {
            let value = event_target_value(&ev);
            go(with(&current(), "sort", Some(&value)));
        }
    };
    let on_stock = {
        let go = go.clone();
        move |ev| {
            let checked = event_target_checked(&ev);
            go(with(&current(), "in_stock", checked.then_some("true")));
        }
    };
    let exponent = move || {
        shop.profile
            .with(|p| p.as_ref().map_or(2, |p| p.currency_exponent))
    };
    let min_price = RwSignal::new(String::new());
    let max_price = RwSignal::new(String::new());
    Effect::new(move |_| {
        let scale = 10_i64.pow(u32::from(exponent()));
        let major = |key: &str| {
            selected(key)
                .and_then(|v| v.parse::<i64>().ok())
                .map(|minor| (minor / scale).to_string())
                .unwrap_or_default()
        };
        min_price.set(major("min_price"));
        max_price.set(major("max_price"));
    });
    let on_price = {
        let go = go.clone();
        move |ev: SubmitEvent| {
            ev.prevent_default();
            let scale = 10_i64.pow(u32::from(exponent()));
            // Whole units typed by the shopper become minor units: integers only, no floats.
            let minor = |text: String| {
                text.trim()
                    .replace(',', "")
                    .parse::<i64>()
                    .ok()
                    .filter(|v| *v >= 0)
                    .and_then(|v| v.checked_mul(scale))
                    .map(|v| v.to_string())
            };
            let mut next = with(
                &current(),
                "min_price",
                minor(min_price.get_untracked()).as_deref(),
            );
            next = with(
                &next,
                "max_price",
                minor(max_price.get_untracked()).as_deref(),
            );
            go(next);
        }
    };

    let facet_list = move |title: String, key: String, values: Vec<FacetValue>| {
        let active = selected(&key);
        view! {
            <fieldset class="facet">
                <legend>{title}</legend>
                <ul>
                    {values.into_iter().map(|value| {
                        let on = active.as_deref() == Some(value.value.as_str());
                        let target = if on {
                            with(&current(), &key, None)
                        } else {
                            with(&current(), &key, Some(&value.value))
                        };
                        view! {
                            <li>
                                <a href=href(target) class:active=on aria-current=move || on.then_some("true")>
                                    {value.label}" ("{value.count}")"
                                </a>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </fieldset>
        }
    };

    view! {
        <h1>
            {move || match selected("q") {
                Some(q) if !q.is_empty() => format!("Results for “{q}”"),
                _ => "All products".to_owned(),
            }}
        </h1>
        <div class="listing">
            <aside class="filters" aria-label="Filters">
                <Suspense fallback=|| ()>
                    {move || page.get().and_then(Result::ok).map(|page| {
                        let facets = page.facets;
                        view! {
                            {facet_list("Category".into(), "category".into(), facets.categories)}
                            {facet_list("Brand".into(), "brand".into(), facets.brands)}
                            {facets.specs.into_iter().map(|spec| {
                                let key = format!("spec.{}", spec.key);
                                facet_list(spec.key, key, spec.values)
                            }).collect_view()}
                        }
                    })}
                </Suspense>
                <form class="facet price-range" on:submit=on_price>
                    <fieldset>
                        <legend>"Price"</legend>
                        <label for="min-price">"From"</label>
                        <input id="min-price" inputmode="numeric" prop:value=move || min_price.get()
                            on:input=move |ev| min_price.set(event_target_value(&ev))/>
                        <label for="max-price">"To"</label>
                        <input id="max-price" inputmode="numeric" prop:value=move || max_price.get()
                            on:input=move |ev| max_price.set(event_target_value(&ev))/>
                        <button type="submit">"Apply"</button>
                    </fieldset>
                </form>
                <label class="check">
                    <input type="checkbox" name="in_stock"
                        prop:checked=move || selected("in_stock").as_deref() == Some("true")
                        on:change=on_stock/>
                    " In stock only"
                </label>
            </aside>
            <section class="results" aria-live="polite">
                <div class="toolbar">
                    <Suspense fallback=|| ()>
                        {move || page.get().and_then(Result::ok).map(|page| {
                            let range = match (page.facets.price_min, page.facets.price_max) {
                                (Some(low), Some(high)) => format!(" · {} – {}", price(&low), price(&high)),
                                _ => String::new(),
                            };
                            view! { <p class="count">{page.total}" products"{range}</p> }
                        })}
                    </Suspense>
                    <label for="sort">"Sort by "</label>
                    <select id="sort" name="sort" on:change=on_sort>
                        {SORTS.into_iter().map(|(value, label)| {
                            let is = move || selected("sort").as_deref().unwrap_or("relevance") == value;
                            view! { <option value=value selected=is>{label}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <Suspense fallback=|| view! { <Loading/> }>
                    {move || page.get().map(|result| match result {
                        Ok(page) if page.items.is_empty() => view! {
                            <div class="empty">
                                <p>"No products match these filters."</p>
                                <a href=shop.link("/products")>"Clear all filters"</a>
                            </div>
                        }.into_any(),
                        Ok(page) => {
                            let next = page.next_cursor.clone().map(|cursor| {
                                let mut pairs = current();
                                pairs.retain(|(k, _)| k != "cursor");
                                pairs.push(("cursor".into(), cursor));
                                href(pairs)
                            });
                            let first = selected("cursor").map(|_| href(with(&current(), "cursor", None)));
                            view! {
                                <div class="grid">
                                    {page.items.into_iter().map(|product| view! { <ProductCard product/> }).collect_view()}
                                </div>
                                <nav class="pager" aria-label="Pages">
                                    {first.map(|h| view! { <a href=h>"First page"</a> })}
                                    {next.map(|h| view! { <a href=h rel="next" data-test="next-page">"Next page"</a> })}
                                </nav>
                            }.into_any()
                        }
                        Err(failure) => view! { <ErrorNote failure/> }.into_any(),
                    })}
                </Suspense>
            </section>
        </div>
    }
}

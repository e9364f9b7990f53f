//! Pieces shared by pages: the header (search with suggestions, cart, account), prices,
//! loading and error states.

use leptos::{ev::SubmitEvent, prelude::*};
use leptos_router::hooks::use_navigate;
use techverse_shared::{Money, ProductSummary};

use crate::{
    api::{self, Failure},
    state::use_shop,
};

/// Money as the store shows it, formatted once from minor units.
pub fn price(money: &Money) -> String {
    money.format()
}

#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="loading" role="status" aria-live="polite">"Loading…"</p> }
}

#[component]
pub fn ErrorNote(failure: Failure) -> impl IntoView {
    view! { <p class="error" role="alert">{failure.text()}</p> }
}

/// A labelled text input bound to a signal (required fields are marked with *).
#[component]
pub fn TextField(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    #[prop(optional)] required: bool,
    #[prop(optional)] kind: &'static str,
    #[prop(optional)] autocomplete: &'static str,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}{required.then_some(" *")}</label>
            <input id=id name=id type=if kind.is_empty() { "text" } else { kind } required=required
                autocomplete=autocomplete prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))/>
        </div>
    }
}

#[component]
pub fn Header() -> impl IntoView {
    let shop = use_shop();
    let navigate = use_navigate();
    let query = RwSignal::new(String::new());
    let suggestions = RwSignal::new(Vec::<String>::new());
    let name = move || {
        shop.profile.with(|p| {
            p.as_ref()
                .map(|p| p.name.clone())
                .unwrap_or_else(|| "Shop".into())
        })
    };
    let on_input = move |ev| {
        let text = event_target_value(&ev);
        query.set(text.clone());
        if text.trim().len() < 2 {
            suggestions.set(Vec::new());
            return;
        }
        leptos::task::spawn_local(async move {
            gloo_timers::future::TimeoutFuture::new(150).await;
            if query.get_untracked() != text {
                return;
            }
            let path = format!("/search/suggest{}", api::query(&[("q".into(), text)]));
            if let Ok(found) = shop.get::<serde_json::Value>(&path).await {
                let items = found["items"]
                    .as_array()
                    .map(|items| {
                        items
                            .iter()
                            .filter_map(|i| i.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                suggestions.set(items);
            }
        });
    };
    let search = move |ev: SubmitEvent| {
        ev.prevent_default();
        let q = query.get_untracked();
        let target = shop.link(&format!(
            "/products{}",
            api::query(&[("q".into(), q.trim().to_owned())])
        ));
        navigate(
            &target,
            leptos_router::NavigateOptions {
                resolve: false,
                ..Default::default()
            },
        );
    };
    let count = move || shop.cart_count();
    let account = move || {
        shop.customer.with(|c| match c {
            Some(customer) => customer.name.clone(),
            None => "Sign in".to_owned(),
        })
    };
    let account_href = move || {
        if shop.customer.with(Option::is_some) {
            shop.link("/account")
        } else {
            shop.link("/sign-in")
        }
    };
    view! {
        <a class="skip" href="#content">"Skip to content"</a>
        <header class="header">
            <div class="container header-row">
                <a class="brand" href=shop.link("/")>{name}</a>
                <form class="search" role="search" on:submit=search>
                    <label for="search-box" class="visually-hidden">"Search products"</label>
                    <input
                        id="search-box"
                        name="q"
                        type="search"
                        list="search-suggestions"
                        placeholder="Search phones, laptops, audio…"
                        autocomplete="off"
                        prop:value=move || query.get()
                        on:input=on_input
                    />
                    <datalist id="search-suggestions">
                        {move || {
                            suggestions
                                .get()
                                .into_iter()
                                .map(|s| view! { <option value=s.clone()></option> })
                                .collect_view()
                        }}
                    </datalist>
                    <button type="submit">"Search"</button>
                </form>
                <nav class="header-links" aria-label="Shop">
                    <a href=shop.link("/products")>"All products"</a>
                    <a href=account_href data-test="account-link">{account}</a>
                    <a href=shop.link("/cart") class="cart-link" data-test="cart-link">
                        "Cart "
                        <span class="badge" aria-label="items in cart">{count}</span>
                    </a>
                </nav>
            </div>
        </header>
    }
}

/// A product card for lists.
#[component]
pub fn ProductCard(product: ProductSummary) -> impl IntoView {
    let shop = use_shop();
    let href = shop.link(&format!("/products/{}", product.slug));
    let image = product.image.clone();
    let range = if product.price_min == product.price_max {
        price(&product.price_min)
    } else {
        format!(
            "{} – {}",
            price(&product.price_min),
            price(&product.price_max)
        )
    };
    let rating = product.rating.map(|r| {
        format!(
            "★ {}.{:02} ({})",
            r.average_x100 / 100,
            r.average_x100 % 100,
            r.count
        )
    });
    view! {
        <article class="card">
            <a href=href class="card-link">
                {image.map(|img| view! { <img src=img.url alt=img.alt loading="lazy" width="240" height="180"/> })}
                <h3>{product.title.clone()}</h3>
            </a>
            <p class="price">
                {range}
                {product.compare_at.map(|c| view! { <s class="compare">{price(&c)}</s> })}
            </p>
            <p class="meta">
                {product.brand.clone().unwrap_or_default()}
                {if product.in_stock { " · In stock" } else { " · Out of stock" }}
            </p>
            {rating.map(|r| view! { <p class="rating">{r}</p> })}
        </article>
    }
}
